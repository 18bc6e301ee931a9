-- commitopt install script, part 8.9: the audit trail's contract.
--
-- Provisional: the audit engineer's version of this file replaces it with
-- the real audit trail (retention, partitions, protection).  Until then,
-- audit_record() appends to a plain table so that sessions and user
-- management can record what they must.  Callers never pass secrets.

CREATE TABLE commitopt.audit_log (
	tenant_id uuid,
	entry_id bigint GENERATED ALWAYS AS IDENTITY,
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	actor_user uuid,
	actor_role text,
	client_addr inet,
	action text NOT NULL,
	object text,
	details jsonb,
	PRIMARY KEY (entry_id)
);

-- audit_record(tenant, actor_user, actor_role, client_addr, action, object,
-- details): appends one entry to the audit trail.
CREATE FUNCTION commitopt.audit_record(tenant uuid, actor_user uuid,
									   actor_role text, client_addr inet,
									   action text, object text,
									   details jsonb)
RETURNS void LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	INSERT INTO commitopt.audit_log (tenant_id, actor_user, actor_role,
									 client_addr, action, object, details)
	VALUES (tenant, actor_user, actor_role, client_addr, action, object,
			details);
END;
REVOKE ALL ON FUNCTION commitopt.audit_record(uuid, uuid, text, inet, text,
											  text, jsonb) FROM PUBLIC;

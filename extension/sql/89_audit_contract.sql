-- commitopt install script, part 8.9: the audit log.
--
-- Every security-relevant event (logins, logouts, session revocations, user
-- and role changes, password changes, authenticated API requests) is
-- written by commitopt.audit_record() in the same transaction as the event,
-- so the entry commits or rolls back with it.
--
-- The log is append-only (triggers refuse UPDATE, DELETE and TRUNCATE for
-- every role, also under session_replication_role = replica) and
-- tamper-evident: each tenant's entries form a SHA-256 hash chain, each
-- entry hashing its predecessor's hash and its own fields, and
-- commitopt.verify_audit(tenant) reports the first broken link.  A
-- superuser can still disable the triggers; the chain is what catches it.
-- The newest link of each chain (its head) is kept in audit_chain_heads and
-- written to the server log at each verification and at each retention
-- run, so that cutting off the newest entries is detected too.
--
-- Entries live in monthly range partitions (UTC), created on demand; old
-- entries leave only as whole partitions, through commitopt.audit_retention(),
-- which first writes a checkpoint entry into each affected chain saying
-- where the chain now starts.
--
-- XXX: nothing stops a superuser from dropping a partition or rewriting
-- audit_chain_heads by hand; verify_audit() then reports the gap, and
-- only the heads written to the server log catch a rewritten head.
-- XXX: a writer that must create a new month's partition takes a lock that
-- waits for open DDL on audit_log; audit_retention() creates next month's
-- partition ahead of time so that this is rare.
--
-- Events that belong to no tenant (a failed login for an unknown e-mail)
-- are recorded in the service's own chain, under the nil UUID.

-- The service's own chain: events that belong to no tenant.
CREATE FUNCTION commitopt.audit_service_tenant()
RETURNS uuid LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '00000000-0000-0000-0000-000000000000'::uuid;

CREATE TABLE commitopt.audit_log (
	tenant_id uuid NOT NULL,
	-- 1, 2, 3, ... within each tenant's chain, without gaps
	entry_id bigint NOT NULL CHECK (entry_id > 0),
	-- when the entry was written; never earlier than its predecessor, so
	-- that dropping old partitions removes a prefix of every chain
	at timestamptz NOT NULL,
	actor_user uuid,
	actor_role text,
	client_addr inet,
	action text NOT NULL,
	object text,
	details jsonb NOT NULL CHECK (jsonb_typeof(details) = 'object'),
	prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
	entry_hash bytea NOT NULL CHECK (length(entry_hash) = 32),
	PRIMARY KEY (tenant_id, entry_id, at)
) PARTITION BY RANGE (at);
COMMENT ON TABLE commitopt.audit_log IS
	'Append-only, hash-chained audit trail of each tenant (monthly partitions)';

-- The newest entry of each chain.  Writers lock their tenant's row, which
-- serializes them per tenant: two concurrent writers can never both link
-- to the same predecessor.
-- Each row is rewritten at every entry of its tenant: a page mostly kept
-- free lets every new version stay on its page (a HOT update, pruned as it
-- goes), so neither the table nor its index grows with the traffic.
CREATE TABLE commitopt.audit_chain_heads (
	tenant_id uuid PRIMARY KEY,
	last_entry_id bigint NOT NULL,
	last_hash bytea NOT NULL,
	last_at timestamptz NOT NULL
) WITH (fillfactor = 10);
COMMENT ON TABLE commitopt.audit_chain_heads IS
	'The newest link of each tenant''s audit chain';

-- Tenants' administrators read their own trail through RLS: the claim of
-- their console session must name the tenant and the role admin.  Nobody
-- else reads or writes either table directly; analysts (no claim, so no
-- console role) read nothing of it.  Superusers and commitopt_auth, which
-- owns the SECURITY DEFINER functions below (91_rls.sql), bypass RLS.
-- audit_reader_tenant(): the tenant whose trail the caller may read: the
-- claim's tenant if its console role is admin, else NULL (no rows).
-- PL/pgSQL because the claim functions are created later (90_identity.sql).
CREATE FUNCTION commitopt.audit_reader_tenant()
RETURNS uuid LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF commitopt.current_user_role() = 'admin' THEN
		RETURN commitopt.current_tenant();
	END IF;
	RETURN NULL;
END
$$;
ALTER TABLE commitopt.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE commitopt.audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_tenant_read ON commitopt.audit_log
	FOR SELECT
	USING (tenant_id OPERATOR(pg_catalog.=) commitopt.audit_reader_tenant());
ALTER TABLE commitopt.audit_chain_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE commitopt.audit_chain_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_chain_heads_tenant_read ON commitopt.audit_chain_heads
	FOR SELECT
	USING (tenant_id OPERATOR(pg_catalog.=) commitopt.audit_reader_tenant());
REVOKE ALL ON commitopt.audit_log, commitopt.audit_chain_heads FROM PUBLIC;

-- audit_refuse_change(): the trigger that makes the log append-only.
CREATE FUNCTION commitopt.audit_refuse_change()
RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'audit log entries cannot be changed or removed'
		USING ERRCODE = 'insufficient_privilege',
			  DETAIL = format('%s was refused: the audit log is append-only.',
							  TG_OP),
			  HINT = 'Old entries leave only as whole partitions, through commitopt.audit_retention().';
END
$$;

-- Row triggers on a partitioned table are cloned to every partition;
-- TRUNCATE triggers are not, so audit_partition() adds one to each.
-- ALWAYS: session_replication_role = replica must not silence them.
CREATE TRIGGER audit_log_append_only
	BEFORE UPDATE OR DELETE ON commitopt.audit_log
	FOR EACH ROW EXECUTE FUNCTION commitopt.audit_refuse_change();
ALTER TABLE commitopt.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
CREATE TRIGGER audit_log_no_truncate
	BEFORE TRUNCATE ON commitopt.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION commitopt.audit_refuse_change();
ALTER TABLE commitopt.audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;

-- audit_partition_name(at): the name of the partition holding time at.
CREATE FUNCTION commitopt.audit_partition_name(at timestamptz)
RETURNS text LANGUAGE sql STABLE PARALLEL SAFE
RETURN 'audit_log_p' || pg_catalog.to_char(
	pg_catalog.date_trunc('month', at, 'UTC') AT TIME ZONE 'UTC', 'YYYYMM');

-- audit_partition(at): makes sure the month of at has its partition.
-- The partition is created alone and then attached, which locks the parent
-- only against other DDL, not against concurrent writers; an advisory lock
-- keeps two sessions from creating the same month at once.
CREATE FUNCTION commitopt.audit_partition(at timestamptz)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
-- Bounds are written in UTC, whatever the caller's time zone.
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC' AS $$
DECLARE
	name text := commitopt.audit_partition_name(at);
	low timestamptz := date_trunc('month', at, 'UTC');
	high timestamptz := date_trunc('month', at, 'UTC') + interval '1 month';
BEGIN
	IF to_regclass('commitopt.' || quote_ident(name)) IS NOT NULL THEN
		RETURN;
	END IF;
	PERFORM pg_advisory_xact_lock(hashtext('commitopt.audit_partition'));
	IF to_regclass('commitopt.' || quote_ident(name)) IS NOT NULL THEN
		RETURN;
	END IF;
	EXECUTE format('CREATE TABLE commitopt.%I (LIKE commitopt.audit_log '
				   'INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
	EXECUTE format('ALTER TABLE commitopt.%I ADD PRIMARY KEY '
				   '(tenant_id, entry_id, at)', name);
	EXECUTE format('ALTER TABLE commitopt.%I ADD CHECK (at >= %L AND at < %L)',
				   name, low, high);
	EXECUTE format('ALTER TABLE commitopt.audit_log ATTACH PARTITION '
				   'commitopt.%I FOR VALUES FROM (%L) TO (%L)',
				   name, low, high);
	EXECUTE format('REVOKE ALL ON commitopt.%I FROM PUBLIC', name);
	EXECUTE format('ALTER TABLE commitopt.%I ENABLE ROW LEVEL SECURITY', name);
	EXECUTE format('ALTER TABLE commitopt.%I FORCE ROW LEVEL SECURITY', name);
	-- the parent's policy, for whoever is granted the partition itself
	EXECUTE format('CREATE POLICY audit_log_tenant_read ON commitopt.%I '
				   'FOR SELECT USING (tenant_id OPERATOR(pg_catalog.=) '
				   'commitopt.audit_reader_tenant())', name);
	EXECUTE format('CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE '
				   'ON commitopt.%I FOR EACH STATEMENT '
				   'EXECUTE FUNCTION commitopt.audit_refuse_change()', name);
	EXECUTE format('ALTER TABLE commitopt.%I ENABLE ALWAYS TRIGGER '
				   'audit_log_no_truncate', name);
	EXECUTE format('ALTER TABLE commitopt.%I ENABLE ALWAYS TRIGGER '
				   'audit_log_append_only', name);
END
$$;
REVOKE EXECUTE ON FUNCTION commitopt.audit_partition(timestamptz) FROM PUBLIC;

-- audit_genesis_hash(tenant): the predecessor hash of a chain's entry 1.
CREATE FUNCTION commitopt.audit_genesis_hash(tenant uuid)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.sha256(pg_catalog.convert_to(
	'commitopt audit chain ' || tenant::text, 'UTF8'));

-- audit_entry_hash(...): the hash of one entry: SHA-256 of the
-- predecessor's hash followed by the entry's fields as a JSON array.  The
-- array is unambiguous (every value quoted or null), the time is written
-- in UTC with microseconds whatever the session's time zone, and jsonb's
-- text form is canonical (sorted keys, one spelling per number).
CREATE FUNCTION commitopt.audit_entry_hash(prev_hash bytea, tenant_id uuid,
										   entry_id bigint, at timestamptz,
										   actor_user uuid, actor_role text,
										   client_addr inet, action text,
										   object text, details jsonb)
RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.sha256(prev_hash OPERATOR(pg_catalog.||)
	pg_catalog.convert_to(pg_catalog.jsonb_build_array(
		tenant_id::text, entry_id,
		pg_catalog.to_char(at AT TIME ZONE 'UTC',
						   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		actor_user::text, actor_role, client_addr::text,
		action, object, details)::text, 'UTF8'));

-- audit_secret_key(key): whether a JSON key may name a secret.  The key
-- is cut into words (at punctuation and at camelCase humps), so that
-- AccessKeyId and api_key are caught while keyword is not.
CREATE FUNCTION commitopt.audit_secret_key(key text)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN lower(key) ~ ('pass(word|wd|phrase)|secret|token|authori[sz]ation'
					 '|cookie|credential|apikey|accesskey|privatekey')
	OR regexp_split_to_array(
		   lower(regexp_replace(key, '([a-z0-9])([A-Z])', '\1_\2', 'g')),
		   '[^a-z0-9]+')
	   OPERATOR(pg_catalog.&&) ARRAY['pwd', 'key', 'keys', 'hash', 'otp',
									 'signature', 'sig', 'jwt', 'bearer'];

-- audit_redact(details): details with the value of every key that may name
-- a secret (password, token, key, cookie, ...) replaced by "[redacted]", at
-- any depth: the trail must never hold a password, token or key, even if
-- a caller passes one by mistake.
CREATE FUNCTION commitopt.audit_redact(details jsonb)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	result jsonb;
BEGIN
	CASE jsonb_typeof(details)
	WHEN 'object' THEN
		SELECT coalesce(jsonb_object_agg(e.key,
				   CASE WHEN commitopt.audit_secret_key(e.key)
						THEN '"[redacted]"'::jsonb
						ELSE commitopt.audit_redact(e.value) END),
				   '{}'::jsonb)
		  INTO result
		  FROM jsonb_each(details) e;
		RETURN result;
	WHEN 'array' THEN
		SELECT coalesce(jsonb_agg(commitopt.audit_redact(e.value)
								  ORDER BY e.ord), '[]'::jsonb)
		  INTO result
		  FROM jsonb_array_elements(details) WITH ORDINALITY e(value, ord);
		RETURN result;
	ELSE
		RETURN details;
	END CASE;
END
$$;

-- audit_append(at, tenant, ...): links one entry to its tenant's chain at
-- time at (or later: never before the chain's newest entry) and returns
-- its entry_id.  Only audit_record() (at = now) and audit_retention()
-- call it; superusers may call it to write entries with a past time, in
-- tests and when loading a trail from elsewhere.
--
-- Locking the head row serializes writers of one tenant: the second waits
-- for the first to commit or abort and then links to whatever is newest.
-- XXX: under REPEATABLE READ or SERIALIZABLE the second gets a
-- serialization failure instead (it cannot see the newer head); retrying
-- it is safe, and the chain never forks.
CREATE FUNCTION commitopt.audit_append(at timestamptz, tenant uuid,
									   actor_user uuid, actor_role text,
									   client_addr inet, action text,
									   object text, details jsonb)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	head commitopt.audit_chain_heads;
	entry commitopt.audit_log;
BEGIN
	-- The head usually exists: lock it; only a new chain inserts one first.
	SELECT * INTO head FROM commitopt.audit_chain_heads h
	 WHERE h.tenant_id = tenant
	   FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO commitopt.audit_chain_heads AS h
			(tenant_id, last_entry_id, last_hash, last_at)
		VALUES (tenant, 0, commitopt.audit_genesis_hash(tenant), '-infinity')
		ON CONFLICT (tenant_id) DO NOTHING;
		SELECT * INTO STRICT head FROM commitopt.audit_chain_heads h
		 WHERE h.tenant_id = tenant
		   FOR UPDATE;
	END IF;

	entry.tenant_id := tenant;
	entry.entry_id := head.last_entry_id + 1;
	entry.at := greatest(at, head.last_at);
	entry.actor_user := actor_user;
	entry.actor_role := actor_role;
	entry.client_addr := client_addr;
	entry.action := action;
	entry.object := object;
	entry.details := details;
	entry.prev_hash := head.last_hash;
	entry.entry_hash := commitopt.audit_entry_hash(
		entry.prev_hash, entry.tenant_id, entry.entry_id, entry.at,
		entry.actor_user, entry.actor_role, entry.client_addr, entry.action,
		entry.object, entry.details);

	-- The month of the chain's newest entry has its partition (retention
	-- drops only months older than every kept entry); only a new month
	-- needs the catalog lookup.
	IF date_trunc('month', entry.at, 'UTC')
	   IS DISTINCT FROM date_trunc('month', head.last_at, 'UTC') THEN
		PERFORM commitopt.audit_partition(entry.at);
	END IF;
	INSERT INTO commitopt.audit_log VALUES (entry.*);
	UPDATE commitopt.audit_chain_heads h
	   SET last_entry_id = entry.entry_id, last_hash = entry.entry_hash,
		   last_at = entry.at
	 WHERE h.tenant_id = tenant;
	RETURN entry.entry_id;
END
$$;
REVOKE EXECUTE ON FUNCTION commitopt.audit_append(timestamptz, uuid, uuid,
	text, inet, text, text, jsonb) FROM PUBLIC;

-- audit_record(tenant, actor_user, actor_role, client_addr, action, object,
-- details): records one event in the caller's transaction.
--   tenant       the tenant the event belongs to; NULL: the service's chain
--   actor_user   the console user who acted, if any
--   actor_role   the database role who acted; NULL: the session user
--   client_addr  the client's address; NULL: this connection's peer
--   action       what happened, lower-case dotted words: login.success,
--                login.failure, login.locked, logout, session.revoked,
--                user.created, user.changed, user.disabled, user.deleted,
--                user.role_changed, grant.changed, password.changed,
--                password.reset, api.request, ...  ("audit." is reserved)
--   object       what it happened to (a user id, a route); anything after
--                a "?" is dropped, as query strings may carry tokens
--   details      a JSON object (old and new values, route and status...);
--                never a body; values under secret-like keys are redacted
-- EXECUTE is revoked from PUBLIC: the entry point's SECURITY DEFINER
-- functions call it, so that nobody can write another tenant's trail.
CREATE FUNCTION commitopt.audit_record(tenant uuid, actor_user uuid,
									   actor_role text, client_addr inet,
									   action text, object text,
									   details jsonb)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF action IS NULL OR action !~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'
	   OR length(action) > 64 THEN
		RAISE EXCEPTION 'invalid audit action "%"', action
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'An action is one or more lower-case words joined by dots, at most 64 characters.';
	END IF;
	IF action ~ '^audit(\.|$)' THEN
		RAISE EXCEPTION 'audit action "%" is reserved', action
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Actions starting with "audit" are written by the audit log itself.';
	END IF;
	IF details IS NOT NULL AND jsonb_typeof(details) <> 'object' THEN
		RAISE EXCEPTION 'audit details must be a JSON object, not %',
			jsonb_typeof(details)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF tenant IS NOT NULL
	   AND tenant <> commitopt.audit_service_tenant()
	   AND NOT EXISTS (SELECT 1 FROM commitopt.tenants t
						WHERE t.tenant_id = tenant) THEN
		RAISE EXCEPTION 'tenant % does not exist', tenant
			USING ERRCODE = 'foreign_key_violation';
	END IF;

	PERFORM commitopt.audit_append(
		clock_timestamp(),
		coalesce(tenant, commitopt.audit_service_tenant()),
		actor_user,
		coalesce(actor_role, session_user::text),
		coalesce(client_addr, inet_client_addr()),
		action,
		split_part(object, '?', 1),
		commitopt.audit_redact(coalesce(details, '{}'::jsonb)));
END
$$;
REVOKE EXECUTE ON FUNCTION commitopt.audit_record(uuid, uuid, text, inet,
	text, text, jsonb) FROM PUBLIC;
COMMENT ON FUNCTION commitopt.audit_record(uuid, uuid, text, inet, text,
										   text, jsonb)
	IS 'Appends one event to a tenant''s hash-chained audit trail, in the caller''s transaction';

-- audit_log_head(tenant, entries, hash, why): writes a chain's head to the
-- server log only (never to the client), where a superuser cannot erase
-- it from SQL.  An operator compares a logged head with the table through
-- commitopt.verify_audit_head().
CREATE FUNCTION commitopt.audit_log_head(tenant uuid, last_entry_id bigint,
										 last_hash bytea, why text)
RETURNS void LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET client_min_messages = error AS $$
BEGIN
	RAISE LOG 'commitopt audit chain head (%): tenant % entry % hash %',
		why, tenant, last_entry_id, encode(last_hash, 'hex');
END
$$;
REVOKE EXECUTE ON FUNCTION commitopt.audit_log_head(uuid, bigint, bytea, text)
	FROM PUBLIC;

-- audit_check_reader(tenant): raises unless the caller may read the trail
-- of tenant: a superuser any, a console administrator (claim with role
-- admin) only their own tenant's, nobody else any.
CREATE FUNCTION commitopt.audit_check_reader(tenant uuid)
RETURNS void LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF tenant IS NULL THEN
		RAISE EXCEPTION 'tenant must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- the caller's role, not session_user: a superuser's connection that
	-- did SET ROLE acts as that role
	IF NOT commitopt.caller_is_superuser()
	   AND tenant IS DISTINCT FROM commitopt.audit_reader_tenant() THEN
		RAISE EXCEPTION 'permission denied to read the audit trail of tenant %',
			tenant
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only the tenant''s own administrators and superusers read a trail.';
	END IF;
END
$$;

-- audit_missing(first, last): says that entries first to last are missing.
CREATE FUNCTION commitopt.audit_missing(first bigint, last bigint)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN first = last THEN format('entry %s is missing', first)
			ELSE format('entries %s to %s are missing', first, last) END;

-- verify_audit(tenant): checks a tenant's chain from its first remaining
-- entry to the head recorded in audit_chain_heads.  ok is false when a
-- link is broken; first_broken_entry is then the entry_id at which the
-- chain stops being provable, and reason says why.  The head is written to
-- the server log.  Superusers verify any tenant, others their own.
CREATE FUNCTION commitopt.verify_audit(tenant uuid)
RETURNS TABLE (ok boolean, entries bigint, first_broken_entry bigint,
			   reason text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	head commitopt.audit_chain_heads;
	n bigint;
	last_id bigint;
	last_hash bytea;
	broken record;
BEGIN
	PERFORM commitopt.audit_check_reader(tenant);

	SELECT * INTO head FROM commitopt.audit_chain_heads h
	 WHERE h.tenant_id = tenant;

	-- Each entry against its own fields and against its predecessor: the
	-- previous remaining entry, or for the first one a legitimate start
	-- (entry 1 after the genesis hash, or the start a checkpoint names).
	WITH e AS (
		SELECT l.*,
			   lag(l.entry_id) OVER w AS before_id,
			   lag(l.entry_hash) OVER w AS before_hash,
			   lag(l.at) OVER w AS before_at,
			   row_number() OVER w AS ord
		  FROM commitopt.audit_log l
		 WHERE l.tenant_id = tenant
		WINDOW w AS (ORDER BY l.entry_id)
	), starts AS (
		SELECT 1::bigint AS start_id,
			   commitopt.audit_genesis_hash(tenant) AS start_prev
		UNION ALL
		SELECT (c.details->>'first_kept_entry')::bigint,
			   decode(c.details->>'first_kept_prev_hash', 'hex')
		  FROM commitopt.audit_log c
		 WHERE c.tenant_id = tenant AND c.action = 'audit.checkpoint'
	), checked AS (
		SELECT e.entry_id,
			   CASE
			   WHEN e.entry_hash <> commitopt.audit_entry_hash(
						e.prev_hash, e.tenant_id, e.entry_id, e.at,
						e.actor_user, e.actor_role, e.client_addr, e.action,
						e.object, e.details)
				   THEN format('entry %s does not match its hash', e.entry_id)
			   WHEN e.ord = 1 AND NOT EXISTS (
						SELECT 1 FROM starts s
						 WHERE s.start_id = e.entry_id
						   AND s.start_prev = e.prev_hash)
				   THEN CASE WHEN e.entry_id = 1
							 THEN 'entry 1 does not start the chain'
							 ELSE format('entries before %s are missing and no checkpoint accounts for them',
										 e.entry_id) END
			   WHEN e.ord > 1 AND e.entry_id <> e.before_id + 1
				   THEN commitopt.audit_missing(e.before_id + 1, e.entry_id - 1)
			   WHEN e.ord > 1 AND e.prev_hash <> e.before_hash
				   THEN format('entry %s does not link to entry %s',
							   e.entry_id, e.before_id)
			   WHEN e.ord > 1 AND e.at < e.before_at
				   THEN format('entry %s is older than entry %s',
							   e.entry_id, e.before_id)
			   END AS why
		  FROM e
	)
	SELECT c.entry_id, c.why INTO broken
	  FROM checked c
	 WHERE c.why IS NOT NULL
	 ORDER BY c.entry_id
	 LIMIT 1;

	SELECT count(*), max(l.entry_id) INTO n, last_id
	  FROM commitopt.audit_log l
	 WHERE l.tenant_id = tenant;
	SELECT l.entry_hash INTO last_hash
	  FROM commitopt.audit_log l
	 WHERE l.tenant_id = tenant AND l.entry_id = last_id;

	IF head.tenant_id IS NOT NULL THEN
		PERFORM commitopt.audit_log_head(tenant, head.last_entry_id,
										 head.last_hash, 'verification');
	END IF;

	IF broken.entry_id IS NOT NULL THEN
		RETURN QUERY SELECT false, n, broken.entry_id, broken.why;
	ELSIF head.tenant_id IS NULL AND n > 0 THEN
		RETURN QUERY SELECT false, n, NULL::bigint,
			'the chain has entries but no recorded head'::text;
	ELSIF coalesce(last_id, 0) < coalesce(head.last_entry_id, 0) THEN
		RETURN QUERY SELECT false, n, coalesce(last_id, 0) + 1,
			format('%s (the recorded head is entry %s)',
				   commitopt.audit_missing(coalesce(last_id, 0) + 1,
										   head.last_entry_id),
				   head.last_entry_id);
	ELSIF last_id > head.last_entry_id THEN
		RETURN QUERY SELECT false, n, head.last_entry_id + 1,
			format('entries after the head (entry %s) were added outside audit_record()',
				   head.last_entry_id);
	ELSIF last_id IS NOT NULL AND last_hash <> head.last_hash THEN
		RETURN QUERY SELECT false, n, last_id,
			format('entry %s does not match the recorded head', last_id);
	ELSE
		RETURN QUERY SELECT true, n, NULL::bigint, NULL::text;
	END IF;
END
$$;
COMMENT ON FUNCTION commitopt.verify_audit(uuid)
	IS 'Verifies a tenant''s audit hash chain and reports its first broken link';

-- verify_audit_head(tenant, entry_id, hash): whether a head taken from the
-- server log (entry and hex hash) is still part of the chain.  A head
-- missing from the table means entries were cut off, even if the table's
-- own head was rewritten with them.
CREATE FUNCTION commitopt.verify_audit_head(tenant uuid, entry_id bigint,
											hash text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM commitopt.audit_check_reader(tenant);
	IF hash IS NULL OR hash !~ '^[0-9a-f]{64}$' THEN
		RAISE EXCEPTION 'invalid audit hash "%"', hash
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A hash is 64 lower-case hexadecimal digits, as the server log shows it.';
	END IF;
	RETURN EXISTS (SELECT 1 FROM commitopt.audit_log l
					WHERE l.tenant_id = tenant
					  AND l.entry_id = verify_audit_head.entry_id
					  AND l.entry_hash = decode(hash, 'hex'))
		-- a head older than the latest checkpoint's start was legitimately
		-- dropped with its partition
		OR EXISTS (SELECT 1 FROM commitopt.audit_log c
					WHERE c.tenant_id = tenant
					  AND c.action = 'audit.checkpoint'
					  AND (c.details->>'first_kept_entry')::bigint
						  > verify_audit_head.entry_id);
END
$$;

-- audit_retention(): the housekeeping run of the audit log, for the
-- extension's background worker (or pg_cron) once a day, as a superuser.
-- It drops every monthly partition that ended more than
-- commitopt.audit_retention_days ago.  Before the drop, each chain with
-- entries in those partitions gets a checkpoint entry (action
-- audit.checkpoint) naming its first kept entry and that entry's
-- predecessor hash, so verify_audit() still proves the rest of the chain.
-- It also creates this month's and next month's partitions ahead of time
-- and writes every chain's head to the server log.  Returns the names of
-- the dropped partitions.
CREATE FUNCTION commitopt.audit_retention()
RETURNS SETOF text LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	days int := current_setting('commitopt.audit_retention_days')::int;
	cutoff timestamptz := now() - days * interval '1 day';
	doomed text[];
	keep_from timestamptz;
	t record;
	first_kept commitopt.audit_log;
	head commitopt.audit_chain_heads;
	h record;
BEGIN
	IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
		RAISE EXCEPTION 'permission denied to run the audit retention'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only a superuser (the background worker) drops audit partitions.';
	END IF;
	PERFORM commitopt.audit_partition(now());
	PERFORM commitopt.audit_partition(now() + interval '1 month');

	-- Partitions whose whole month ended before the cutoff.
	SELECT array_agg(p.name ORDER BY p.name), max(p.high)
	  INTO doomed, keep_from
	  FROM (SELECT c.relname::text AS name,
				   (to_date(substr(c.relname, 12), 'YYYYMM')::timestamp
					+ interval '1 month') AT TIME ZONE 'UTC' AS high
			  FROM pg_inherits i
			  JOIN pg_class c ON c.oid = i.inhrelid
			 WHERE i.inhparent = 'commitopt.audit_log'::regclass
			   AND c.relname ~ '^audit_log_p[0-9]{6}$') p
	 WHERE p.high <= cutoff;

	IF doomed IS NOT NULL THEN
		FOR t IN SELECT DISTINCT l.tenant_id
				   FROM commitopt.audit_log l
				  WHERE l.at < keep_from
				  ORDER BY 1
		LOOP
			-- Lock the chain first: the kept suffix must not change under us.
			PERFORM 1 FROM commitopt.audit_chain_heads x
			  WHERE x.tenant_id = t.tenant_id FOR UPDATE;
			SELECT * INTO head FROM commitopt.audit_chain_heads x
			 WHERE x.tenant_id = t.tenant_id;
			first_kept := NULL;
			SELECT * INTO first_kept FROM commitopt.audit_log l
			 WHERE l.tenant_id = t.tenant_id AND l.at >= keep_from
			 ORDER BY l.entry_id
			 LIMIT 1;
			PERFORM commitopt.audit_append(
				clock_timestamp(), t.tenant_id, NULL, session_user::text,
				NULL, 'audit.checkpoint', 'audit_log',
				jsonb_build_object(
					'dropped_partitions', to_jsonb(doomed),
					'dropped_before', to_char(keep_from AT TIME ZONE 'UTC',
											  'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
					'retention_days', days,
					'first_kept_entry',
						coalesce(first_kept.entry_id, head.last_entry_id + 1),
					'first_kept_prev_hash',
						encode(coalesce(first_kept.prev_hash, head.last_hash),
							   'hex')));
		END LOOP;

		FOR i IN 1 .. array_length(doomed, 1) LOOP
			EXECUTE format('DROP TABLE commitopt.%I', doomed[i]);
			RAISE LOG 'commitopt audit retention dropped partition %', doomed[i];
			RETURN NEXT doomed[i];
		END LOOP;
	END IF;

	FOR h IN SELECT * FROM commitopt.audit_chain_heads ORDER BY tenant_id LOOP
		PERFORM commitopt.audit_log_head(h.tenant_id, h.last_entry_id,
										 h.last_hash, 'retention');
	END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION commitopt.audit_retention() FROM PUBLIC;
COMMENT ON FUNCTION commitopt.audit_retention()
	IS 'Drops audit partitions older than commitopt.audit_retention_days after checkpointing each chain; run daily by the worker';

-- No partition is created here: a table created by CREATE EXTENSION would
-- belong to the extension, and DROP TABLE refuses to drop such a member.
-- The first audit_record() or audit_retention() run creates them.

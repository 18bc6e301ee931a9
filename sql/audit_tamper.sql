-- Tampering by a superuser, who can switch the append-only triggers off:
-- verify_audit() must find the first broken link each time.
SET client_min_messages = warning;
\pset null '(null)'

-- Seven tenants, each with the same four entries (ids 1 to 4).
INSERT INTO commitopt.tenants (tenant_id, slug, name)
SELECT format('d000000%s-0000-0000-0000-000000000000', i)::uuid,
	   'audit-tamper-' || i, 'Tamper case ' || i
  FROM generate_series(1, 7) i;
SELECT count(*) AS entries_written
  FROM generate_series(1, 7) t, generate_series(1, 4) e,
	   LATERAL commitopt.audit_record(
		   format('d000000%s-0000-0000-0000-000000000000', t)::uuid,
		   NULL, 'analyst_' || t, '192.0.2.1', 'api.request',
		   'GET /v1/reports/' || e, jsonb_build_object('status', 200));
-- Expected: every chain intact, 4 entries.
SELECT t.slug, v.*
  FROM commitopt.tenants t, commitopt.verify_audit(t.tenant_id) v
 WHERE t.slug LIKE 'audit-tamper-%'
 ORDER BY t.slug;

-- The heads as the server log saw them at that verification.
CREATE TEMP TABLE logged_heads AS
SELECT tenant_id, last_entry_id, encode(last_hash, 'hex') AS last_hash
  FROM commitopt.audit_chain_heads;

ALTER TABLE commitopt.audit_log DISABLE TRIGGER audit_log_append_only;

-- 1: a field of entry 2 changed.
UPDATE commitopt.audit_log SET details = '{"status": 404}'
 WHERE tenant_id = 'd0000001-0000-0000-0000-000000000000' AND entry_id = 2;
-- 2: entry 2 changed and its hash recomputed, so it matches itself but
-- no longer its successor.
UPDATE commitopt.audit_log
   SET object = 'GET /v1/nothing',
	   entry_hash = commitopt.audit_entry_hash(prev_hash, tenant_id, entry_id,
											   at, actor_user, actor_role,
											   client_addr, action,
											   'GET /v1/nothing', details)
 WHERE tenant_id = 'd0000002-0000-0000-0000-000000000000' AND entry_id = 2;
-- 3: entry 2 deleted.
DELETE FROM commitopt.audit_log
 WHERE tenant_id = 'd0000003-0000-0000-0000-000000000000' AND entry_id = 2;
-- 4: entry 1 deleted (no checkpoint accounts for it).
DELETE FROM commitopt.audit_log
 WHERE tenant_id = 'd0000004-0000-0000-0000-000000000000' AND entry_id = 1;
-- 5: the newest entry deleted.
DELETE FROM commitopt.audit_log
 WHERE tenant_id = 'd0000005-0000-0000-0000-000000000000' AND entry_id = 4;
-- 6: an entry added behind audit_record()'s back, correctly hashed but
-- not moving the head.
INSERT INTO commitopt.audit_log
SELECT tenant_id, 5, at, actor_user, actor_role, client_addr, action, object,
	   details, entry_hash,
	   commitopt.audit_entry_hash(entry_hash, tenant_id, 5, at, actor_user,
								  actor_role, client_addr, action, object,
								  details)
  FROM commitopt.audit_log
 WHERE tenant_id = 'd0000006-0000-0000-0000-000000000000' AND entry_id = 4;
-- 7: the whole chain rewritten from entry 2 on, head included: only the
-- head written to the server log can tell.
DO $$
DECLARE
	t uuid := 'd0000007-0000-0000-0000-000000000000';
	prev bytea;
	e record;
BEGIN
	SELECT entry_hash INTO prev FROM commitopt.audit_log
	 WHERE tenant_id = t AND entry_id = 1;
	FOR e IN SELECT * FROM commitopt.audit_log
			  WHERE tenant_id = t AND entry_id >= 2 ORDER BY entry_id LOOP
		UPDATE commitopt.audit_log
		   SET actor_role = 'someone_else', prev_hash = prev,
			   entry_hash = commitopt.audit_entry_hash(
				   prev, e.tenant_id, e.entry_id, e.at, e.actor_user,
				   'someone_else', e.client_addr, e.action, e.object,
				   e.details)
		 WHERE tenant_id = t AND entry_id = e.entry_id
		RETURNING entry_hash INTO prev;
	END LOOP;
	UPDATE commitopt.audit_chain_heads SET last_hash = prev
	 WHERE tenant_id = t;
END
$$;

ALTER TABLE commitopt.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;

-- Expected, case by case:
--   1: f, 4 entries, broken at 2, entry 2 does not match its hash
--   2: f, 4, broken at 3, entry 3 does not link to entry 2
--   3: f, 3, broken at 3, entry 2 is missing
--   4: f, 3, broken at 2, entries before 2 are missing, no checkpoint
--   5: f, 3, broken at 4, entry 4 is missing (head is 4)
--   6: f, 5, broken at 5, added after the head (entry 4)
--   7: t, 4 (the rewritten chain is consistent in itself)
SELECT t.slug, v.*
  FROM commitopt.tenants t, commitopt.verify_audit(t.tenant_id) v
 WHERE t.slug LIKE 'audit-tamper-%'
 ORDER BY t.slug;

-- The heads logged before tampering, checked against the table.
-- Expected: t for 1, 2, 3, 4, 6 (entry 4 is untouched there), f for 5
-- (entry 4 gone) and 7 (entry 4 rewritten).
SELECT t.slug,
	   commitopt.verify_audit_head(h.tenant_id, h.last_entry_id,
								   h.last_hash) AS logged_head_holds
  FROM logged_heads h
  JOIN commitopt.tenants t USING (tenant_id)
 WHERE t.slug LIKE 'audit-tamper-%'
 ORDER BY t.slug;

-- Bad input to verify_audit_head.
SELECT commitopt.verify_audit_head('d0000001-0000-0000-0000-000000000000', 4,
	'XYZ');
SELECT commitopt.verify_audit_head('d0000001-0000-0000-0000-000000000000', 4,
	NULL);

-- A tenant whose head row was deleted: entries without a head.
DELETE FROM commitopt.audit_chain_heads
 WHERE tenant_id = 'd0000001-0000-0000-0000-000000000000';
-- Expected: f, 4, broken at 2 (the link is reported first).
SELECT * FROM commitopt.verify_audit('d0000001-0000-0000-0000-000000000000');
-- A head row removed from an intact chain (tenant 7).  Expected: f, 4,
-- no entry, the chain has entries but no recorded head.
DELETE FROM commitopt.audit_chain_heads
 WHERE tenant_id = 'd0000007-0000-0000-0000-000000000000';
SELECT * FROM commitopt.verify_audit('d0000007-0000-0000-0000-000000000000');

-- The audit log: what audit_record() writes, refusals of bad input, the
-- hash chain computed by hand, append-only even for a superuser, tenant
-- isolation of reading and verifying.
SET client_min_messages = warning;
\pset null '(null)'

-- Fixed tenant ids, so that hashes can be computed by hand.
INSERT INTO commitopt.tenants (tenant_id, slug, name) VALUES
	('11111111-1111-1111-1111-111111111111', 'audit-a', 'Audit tenant A'),
	('22222222-2222-2222-2222-222222222222', 'audit-b', 'Audit tenant B'),
	('33333333-3333-3333-3333-333333333333', 'audit-c', 'Audit tenant C');

--
-- Bad input: each is refused, nothing is written.
--
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, NULL, NULL, 'x', '{}');
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, NULL, 'Login.Success', 'x', '{}');
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, NULL, 'login..success', 'x', '{}');
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, NULL, 'login.success ', 'x', '{}');
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, NULL, repeat('a', 65), 'x', '{}');
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, NULL, 'audit.checkpoint', 'x', '{}');
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, NULL, 'login.success', 'x', '["password"]');
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, NULL, 'login.success', 'x', '"text"');
SELECT commitopt.audit_record('99999999-9999-9999-9999-999999999999', NULL,
	NULL, NULL, 'login.success', 'x', '{}');
SELECT count(*) AS entries_after_refusals FROM commitopt.audit_log
 WHERE tenant_id IN ('11111111-1111-1111-1111-111111111111',
					 '99999999-9999-9999-9999-999999999999');

--
-- Content.  A login, a failed login carrying secrets by mistake, an API
-- request whose path has a query string, a user change with old and new
-- values, and a failed login for an unknown e-mail (no tenant).
--
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111',
	'aaaaaaaa-0000-0000-0000-000000000001', 'commitopt_gateway',
	'198.51.100.7', 'login.success', 'user:aaaaaaaa-0000-0000-0000-000000000001',
	'{"method": "password"}');
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, '198.51.100.8', 'login.failure', 'admin@a.example',
	'{"reason": "bad password", "password": "Hunter2!",
	  "Session_Token": "tok_test_abcd1234",
	  "request": {"headers": [{"Authorization": "Bearer tok_test_abcd1234"},
							  {"Cookie": "__Host-s=tok_test_abcd1234"}],
				  "api_key": "AKIAEXAMPLE", "AccessKeyId": "AKIAEXAMPLE",
				  "keyword": "kept", "newPassword": "Hunter2!x",
				  "password_hash": "$argon2id$Hunter2", "keys": ["AKIAEXAMPLE"]}}');
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111',
	'aaaaaaaa-0000-0000-0000-000000000001', 'commitopt_gateway',
	'2001:db8::1', 'api.request', 'GET /v1/reports?session=tok_test_abcd1234',
	'{"status": 200}');
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111',
	'aaaaaaaa-0000-0000-0000-000000000001', 'commitopt_gateway',
	'198.51.100.7', 'user.role_changed', 'user:aaaaaaaa-0000-0000-0000-000000000002',
	'{"old": {"role": "viewer"}, "new": {"role": "admin"}}');
SELECT commitopt.audit_record(NULL, NULL, 'commitopt_gateway', '203.0.113.9',
	'login.failure', 'nobody@x.example', NULL);
SELECT commitopt.audit_record('22222222-2222-2222-2222-222222222222', NULL,
	NULL, NULL, 'grant.changed', 'role:analyst_b',
	'{"old": null, "new": {"tenant": "audit-b"}}');

-- Expected by hand, from the calls above: per tenant, entry ids 1, 2, ...
-- in call order; actor_role NULL became the session user (postgres, the
-- regression user); the client address of a Unix-socket connection is
-- NULL; every value under password, *token*, authorization, cookie,
-- *key (api_key, AccessKeyId), keys, newPassword, password_hash is
-- "[redacted]" while "keyword" is kept;
-- the query string is cut from the path; NULL details became {}; the
-- tenant-less failure went to the service chain (nil UUID).
SELECT tenant_id, entry_id, actor_user, actor_role, client_addr, action,
	   object, details
  FROM commitopt.audit_log
 WHERE tenant_id IN ('11111111-1111-1111-1111-111111111111',
					 '22222222-2222-2222-2222-222222222222',
					 '00000000-0000-0000-0000-000000000000')
 ORDER BY tenant_id, entry_id;

-- No secret reached the table in any column.
SELECT count(*) AS rows_with_secrets
  FROM commitopt.audit_log l
 WHERE l::text ~ '(tok_test_abcd1234|Hunter2|AKIAEXAMPLE)';

-- Each entry links to its predecessor and is not older than it; entry 1
-- links to the tenant's genesis hash, SHA-256('commitopt audit chain ' ||
-- tenant).  Expected: every row t.
SELECT tenant_id, entry_id,
	   prev_hash = coalesce(lag(entry_hash) OVER w,
							sha256(convert_to('commitopt audit chain '
											  || tenant_id, 'UTF8'))) AS linked,
	   at >= coalesce(lag(at) OVER w, '-infinity') AS in_order,
	   at <= clock_timestamp() AS not_future
  FROM commitopt.audit_log
 WHERE tenant_id IN ('11111111-1111-1111-1111-111111111111',
					 '00000000-0000-0000-0000-000000000000')
WINDOW w AS (PARTITION BY tenant_id ORDER BY entry_id)
 ORDER BY tenant_id, entry_id;

-- The entry is part of the caller's transaction: rolled back with it.
BEGIN;
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, NULL, 'logout', 'session:1', '{}');
ROLLBACK;
-- Expected: 4 entries, head 4, chain intact.
SELECT * FROM commitopt.verify_audit('11111111-1111-1111-1111-111111111111');
SELECT last_entry_id FROM commitopt.audit_chain_heads
 WHERE tenant_id = '11111111-1111-1111-1111-111111111111';
-- Expected: service chain 1 entry, B 1 entry, C none yet (0, ok).
SELECT * FROM commitopt.verify_audit('00000000-0000-0000-0000-000000000000');
SELECT * FROM commitopt.verify_audit('22222222-2222-2222-2222-222222222222');
SELECT * FROM commitopt.verify_audit('33333333-3333-3333-3333-333333333333');
SELECT * FROM commitopt.verify_audit(NULL);

--
-- The hash, computed by hand.  Entries written at fixed times (superuser
-- only, through audit_append) for tenant C:
--   genesis = SHA-256("commitopt audit chain 33333333-3333-3333-3333-333333333333")
--	   = 83cf561c9bfd67624e3ffaadf6bd84e672d7d3f23d18fbbf50443b221b38138d
--   entry 1 = SHA-256(genesis bytes || '["33333333-3333-3333-3333-333333333333", 1,
--	   "2024-01-15T10:00:00.000000Z", null, "alice", "192.0.2.10/32",
--	   "login.success", "user:1", {"method": "password"}]')
--	   = cfb5b605cd98e2d6c610cc6851d8ebf90d7318f03bcea100e644cd3861bd82bb
--   entry 2 = SHA-256(entry 1 bytes || '["33333333-3333-3333-3333-333333333333", 2,
--	   "2024-01-15T10:05:00.500000Z", "aaaaaaaa-0000-0000-0000-000000000001",
--	   null, null, "logout", null, {}]')
--	   = eacb2f3e2796c0b4ce67c1341b32ff89a45cbab073a3526bd6c6a06afdecabd3
--   entry 3 = SHA-256(entry 2 bytes || '["33333333-3333-3333-3333-333333333333", 3,
--	   "2024-01-15T10:05:00.500000Z", null, "bob", null, "user.created",
--	   "user:2", {"role": "viewer"}]')
--	   = 6e36cab1e5e7c0b7592d0f0e80efc64dcd968ec34eb16356e7732b0b52501677
-- (computed with Python's hashlib on these literal strings).  The session
-- time zone must not matter: it is set to something far from UTC.
-- Entry 3 is given an earlier time than entry 2: it is stored at entry 2's
-- time, so time never goes backwards along a chain.
SET TimeZone = 'Pacific/Kiritimati';
SELECT commitopt.audit_append('2024-01-15 10:00:00+00',
	'33333333-3333-3333-3333-333333333333', NULL, 'alice', '192.0.2.10',
	'login.success', 'user:1', '{"method": "password"}');
SELECT commitopt.audit_append('2024-01-15 10:05:00.5+00',
	'33333333-3333-3333-3333-333333333333',
	'aaaaaaaa-0000-0000-0000-000000000001', NULL, NULL, 'logout', NULL, '{}');
SELECT commitopt.audit_append('2024-01-15 09:00:00+00',
	'33333333-3333-3333-3333-333333333333', NULL, 'bob', NULL,
	'user.created', 'user:2', '{"role": "viewer"}');
RESET TimeZone;
SELECT entry_id, at, encode(prev_hash, 'hex') AS prev_hash,
	   encode(entry_hash, 'hex') AS entry_hash
  FROM commitopt.audit_log
 WHERE tenant_id = '33333333-3333-3333-3333-333333333333'
 ORDER BY entry_id;
SELECT * FROM commitopt.verify_audit('33333333-3333-3333-3333-333333333333');

--
-- Append-only, for a superuser too, on the parent and on a partition, and
-- with replication-role triggers off.  Expected: four refusals, and the
-- chain of C unchanged.
--
UPDATE commitopt.audit_log SET details = '{}'
 WHERE tenant_id = '33333333-3333-3333-3333-333333333333';
DELETE FROM commitopt.audit_log
 WHERE tenant_id = '33333333-3333-3333-3333-333333333333';
TRUNCATE commitopt.audit_log;
TRUNCATE commitopt.audit_log_p202401;
DELETE FROM commitopt.audit_log_p202401;
SET session_replication_role = replica;
UPDATE commitopt.audit_log SET action = 'logout';
RESET session_replication_role;
SELECT * FROM commitopt.verify_audit('33333333-3333-3333-3333-333333333333');

--
-- Reading.  An analyst of tenant A, even granted SELECT on the log, reads
-- nothing of it (only a console administrator of A reads A's trail: see
-- audit_readers), cannot write one, and verifies no chain.
--
DROP ROLE IF EXISTS regress_audit_analyst;
CREATE ROLE regress_audit_analyst;
INSERT INTO commitopt.analyst_grants VALUES
	('regress_audit_analyst', '11111111-1111-1111-1111-111111111111');
GRANT USAGE ON SCHEMA commitopt TO regress_audit_analyst;
GRANT SELECT ON commitopt.audit_log TO regress_audit_analyst;
-- current_tenant() reads the grants as the caller.
GRANT SELECT ON commitopt.analyst_grants TO regress_audit_analyst;
SET SESSION AUTHORIZATION regress_audit_analyst;
-- Expected: no row (no console claim, so no administrator).
SELECT tenant_id, count(*) FROM commitopt.audit_log GROUP BY 1;
-- The partition directly: no privilege.
SELECT count(*) FROM commitopt.audit_log_p202401;
SELECT count(*) FROM commitopt.audit_chain_heads;
SELECT commitopt.audit_record('11111111-1111-1111-1111-111111111111', NULL,
	NULL, NULL, 'login.success', 'x', '{}');
SELECT commitopt.audit_append(now(), '11111111-1111-1111-1111-111111111111',
	NULL, NULL, NULL, 'login.success', 'x', '{}');
INSERT INTO commitopt.audit_log (tenant_id, entry_id, at, action, details,
								 prev_hash, entry_hash)
VALUES ('11111111-1111-1111-1111-111111111111', 99, now(), 'x', '{}',
		'\x00', '\x00');
SELECT * FROM commitopt.verify_audit('11111111-1111-1111-1111-111111111111');
SELECT * FROM commitopt.verify_audit('22222222-2222-2222-2222-222222222222');
SELECT commitopt.verify_audit_head('22222222-2222-2222-2222-222222222222', 1,
	repeat('0', 64));
RESET SESSION AUTHORIZATION;
DELETE FROM commitopt.analyst_grants WHERE role_name = 'regress_audit_analyst';
REVOKE ALL ON commitopt.audit_log, commitopt.analyst_grants
	FROM regress_audit_analyst;
REVOKE ALL ON SCHEMA commitopt FROM regress_audit_analyst;
DROP ROLE regress_audit_analyst;

-- Who reads the audit trail: only a console administrator of the tenant
-- (a verified claim with role admin), and only that tenant's entries; a
-- member of the same tenant, an analyst and a caller without a claim read
-- nothing.  Failed logins, for known and unknown e-mails alike, go to the
-- service's own chain (the nil UUID), which no tenant reads.
\getenv datadir COMMITOPT_DATA
\i :datadir/fixtures/sessions/helpers.sql

SELECT commitopt.create_tenant_with_admin('ar-a', 'A', 'adm@ar-a.example',
	'Ann', 'Admin', 'Gr3en#Field') AS adm_a \gset
SELECT commitopt.create_tenant_with_admin('ar-b', 'B', 'adm@ar-b.example',
	'Bob', 'Admin', 'Gr3en#Field') AS adm_b \gset
SELECT commitopt.create_user(:'adm_a', 'mem@ar-a.example', 'Max', 'Member',
	'member', 'Bl4ck#Stone') AS mem_a \gset
SELECT commitopt.tenant_id('ar-a') AS ten_a \gset
SELECT commitopt.tenant_id('ar-b') AS ten_b \gset
-- pg_temp.err(query): the SQLSTATE and message of the error a query
-- raises (tenant ids are random: the caller names them).
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT coalesce(max(entry_id), 0) AS svc_before FROM commitopt.audit_log
 WHERE tenant_id = commitopt.audit_service_tenant() \gset

SELECT pg_temp.login('adm@ar-a.example', 'Gr3en#Field') AS tok_adm \gset
SELECT pg_temp.login('mem@ar-a.example', 'Bl4ck#Stone') AS tok_mem \gset
SELECT pg_temp.login('adm@ar-b.example', 'Gr3en#Field') IS NOT NULL AS b_in;
-- Two failures: a known e-mail with a wrong password, an unknown e-mail.
SELECT pg_temp.login('mem@ar-a.example', 'wrong') IS NULL AS failed_known;
SELECT pg_temp.login('ghost@ar-a.example', 'wrong') IS NULL AS failed_unknown;

-- Hand count, as the superuser.  A: user_created x2 (admin, member),
-- login_success x2 = 4.  B: user_created, login_success = 2.  The API
-- requests of the logins carry no claim yet, so their api_request entries
-- go to the service chain, as do the failures: after svc_before, the
-- three successful logins' api_request (200), then for each failure its
-- login_failure (bad_credentials, no user: known and unknown e-mail look
-- the same) followed by its api_request (401): 7 entries.
SELECT tenant_id = :'ten_a' AS is_a, action, count(*)
  FROM commitopt.audit_log WHERE tenant_id IN (:'ten_a', :'ten_b')
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT entry_id - :svc_before AS n, action, actor_user, details
  FROM commitopt.audit_log
 WHERE tenant_id = commitopt.audit_service_tenant()
   AND entry_id > :svc_before
 ORDER BY entry_id;

-- The entry point's situation: a non-superuser session acting as the
-- owner role, with the claim that session_authenticate() sets.
CREATE ROLE regress_ar_console;
GRANT commitopt_owner TO regress_ar_console;
SET SESSION AUTHORIZATION regress_ar_console;
SET ROLE commitopt_owner;

-- A's administrator: A's 4 entries and A's head (1) and nothing else; A's chain verifies;
-- B's chain and the service chain are refused.
BEGIN;
SELECT role FROM commitopt.session_authenticate(:'tok_adm');
SELECT count(*) FILTER (WHERE tenant_id = :'ten_a') AS a_entries,
	   count(*) FILTER (WHERE tenant_id <> :'ten_a') AS other_entries
  FROM commitopt.audit_log;
SELECT count(*) AS a_heads FROM commitopt.audit_chain_heads;
SELECT ok, entries FROM commitopt.verify_audit(:'ten_a');
SELECT replace(pg_temp.err(format('SELECT commitopt.verify_audit(%L)', :'ten_b')),
			   :'ten_b', '<B>') AS verify_b;
SELECT pg_temp.err('SELECT commitopt.verify_audit(commitopt.audit_service_tenant())')
	AS verify_service;
ROLLBACK;

-- A's member: nothing, and no verification.
BEGIN;
SELECT role FROM commitopt.session_authenticate(:'tok_mem');
SELECT count(*) AS entries FROM commitopt.audit_log;
SELECT count(*) AS heads FROM commitopt.audit_chain_heads;
SELECT replace(pg_temp.err(format('SELECT commitopt.verify_audit(%L)', :'ten_a')),
			   :'ten_a', '<A>') AS verify_a;
ROLLBACK;

-- No claim at all (the claim ended with the transaction): nothing.
SELECT count(*) AS entries FROM commitopt.audit_log;
SELECT replace(pg_temp.err(format('SELECT commitopt.verify_audit(%L)', :'ten_a')),
			   :'ten_a', '<A>') AS verify_a;
-- A forged claim: nothing.
BEGIN;
SET LOCAL commitopt.claim = 'v1:forged';
SELECT count(*) AS entries FROM commitopt.audit_log;
ROLLBACK;
RESET ROLE;
RESET SESSION AUTHORIZATION;

-- A's analyst: no privilege on the log at all, nor on verification.
CREATE ROLE regress_ar_analyst;
SELECT commitopt.grant_analyst('regress_ar_analyst', 'ar-a');
SET SESSION AUTHORIZATION regress_ar_analyst;
SELECT commitopt.current_tenant() = :'ten_a' AS analyst_of_a;
SELECT count(*) FROM commitopt.audit_log;
SELECT count(*) FROM commitopt.audit_chain_heads;
SELECT ok FROM commitopt.verify_audit(:'ten_a');
RESET SESSION AUTHORIZATION;

SELECT commitopt.revoke_analyst('regress_ar_analyst');
DROP ROLE regress_ar_analyst;
DROP ROLE regress_ar_console;

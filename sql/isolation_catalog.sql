-- Tenant isolation, from the catalog: every relation of the extension has
-- forced row-level security unless it is on the allow-list below, every
-- view is security_invoker, every SECURITY DEFINER function fixes its
-- search_path; then tenant A's analyst and the gateway role try B's rows.
\getenv datadir COMMITOPT_DATA
\i :datadir/fixtures/sessions/helpers.sql

-- Relations without forced RLS, minus the allow-list: must be none.
-- Allow-list: shared reference data (no tenant rows): prices, platforms,
-- instance catalogue, analyst grants (read only by the owner role), the
-- API's routing table.
SELECT n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('commitopt', 'api') AND c.relkind IN ('r', 'p')
   AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
   AND (n.nspname, c.relname) NOT IN (
		('commitopt', 'platforms'), ('commitopt', 'tenancies'),
		('commitopt', 'instance_sizes'), ('commitopt', 'instance_families'),
		('commitopt', 'instance_types'), ('commitopt', 'od_rates'),
		('commitopt', 'ri_rates'), ('commitopt', 'sp_rates'),
		('commitopt', 'analyst_grants'), ('api', 'routes'))
 ORDER BY 1, 2;
-- Tables with tenant_id but no policy: none.
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'commitopt'::regnamespace AND c.relkind IN ('r', 'p')
   AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')
   AND NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid)
   AND c.relname <> 'analyst_grants';
-- Views without security_invoker (FC-12): none.
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace IN ('commitopt'::regnamespace, 'api'::regnamespace)
   AND c.relkind = 'v'
   AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false);
-- SECURITY DEFINER functions without a fixed search_path: none.
SELECT p.oid::regprocedure FROM pg_proc p
 WHERE p.pronamespace IN ('commitopt'::regnamespace, 'api'::regnamespace)
   AND p.prosecdef
   AND NOT coalesce(array_to_string(p.proconfig, ',') LIKE '%search_path=%', false);
-- Roles (FC-11): the gateway and analysts neither superuser nor BYPASSRLS;
-- the owner not BYPASSRLS; only commitopt_auth bypasses.
SELECT rolname, rolsuper, rolbypassrls, rolcanlogin FROM pg_roles
 WHERE rolname LIKE 'commitopt\_%' ORDER BY 1;
-- Functions that run with RLS bypassed (owned by a superuser or BYPASSRLS
-- role and SECURITY DEFINER), and whether PUBLIC may call them: only the
-- reviewed ones, none callable by PUBLIC.
SELECT p.oid::regprocedure AS function, r.rolname AS owner,
	   has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
  FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
 WHERE p.pronamespace IN ('commitopt'::regnamespace, 'api'::regnamespace)
   AND p.prosecdef AND (r.rolsuper OR r.rolbypassrls)
   AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1;

-- Two tenants with one user each and 3 AWS accounts each.
SELECT commitopt.create_tenant_with_admin('iso-a', 'A', 'a@iso-a.example', 'Al', 'Alpha', 'Gr3en#Field') AS ua \gset
SELECT commitopt.create_tenant_with_admin('iso-b', 'B', 'b@iso-b.example', 'Bo', 'Beta', 'Gr3en#Field') AS ub \gset
INSERT INTO commitopt.aws_accounts (tenant_id, account_id, name)
SELECT commitopt.tenant_id(t), (CASE t WHEN 'iso-a' THEN 100 ELSE 200 END + i)::text, t || '-' || i
  FROM unnest(ARRAY['iso-a', 'iso-b']) t, generate_series(1, 3) i;
SELECT pg_temp.login('b@iso-b.example', 'Gr3en#Field') AS tok_b \gset
SELECT pg_temp.login('a@iso-a.example', 'Gr3en#Field') AS tok_a \gset

-- The analyst of tenant A.
CREATE ROLE iso_analyst_a LOGIN;
SELECT commitopt.grant_analyst('iso_analyst_a', 'iso-a');
SET ROLE iso_analyst_a;
SELECT count(*) AS accounts_seen, count(*) FILTER (WHERE name LIKE 'iso-b%') AS b_seen
  FROM commitopt.aws_accounts WHERE name LIKE 'iso-%';
-- Every relation the analyst can read: no row of B.
DO $$
DECLARE
	r record;
	n bigint;
	b uuid;
BEGIN
	RESET ROLE;
	b := commitopt.tenant_id('iso-b');
	SET ROLE iso_analyst_a;
	FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
			  WHERE c.relnamespace = 'commitopt'::regnamespace AND c.relkind IN ('r', 'p', 'v')
				AND has_table_privilege(c.oid, 'SELECT')
				AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')
	LOOP
		EXECUTE format('SELECT count(*) FROM %s WHERE tenant_id = $1', r.rel) INTO n USING b;
		IF n <> 0 THEN
			RAISE EXCEPTION 'analyst of A sees % rows of B in %', n, r.rel;
		END IF;
	END LOOP;
END
$$;
-- Writes: the analyst has no write privilege at all.
UPDATE commitopt.aws_accounts SET name = 'x' WHERE account_id = '201';
DELETE FROM commitopt.aws_accounts WHERE account_id = '201';
INSERT INTO commitopt.aws_accounts (tenant_id, account_id) VALUES (commitopt.tenant_id('iso-b'), '299');
-- Hidden rows cannot be found through a non-leakproof filter (FC-12): the
-- filter is evaluated after the policy, so B's rows never reach it.
SELECT * FROM commitopt.aws_accounts WHERE account_id = '201' AND 1 / (length(name) - length(name)) = 1;
CREATE FUNCTION pg_temp.peek(text) RETURNS bool LANGUAGE plpgsql COST 0.0001 AS
	$$BEGIN RAISE NOTICE 'saw %', $1; RETURN true; END$$;
SELECT account_id FROM commitopt.aws_accounts WHERE pg_temp.peek(name) ORDER BY 1;
-- A hand-set claim (FC-11) gives nothing more.
SET commitopt.claim = 'v1:forged';
SELECT count(*) AS still_a_only FROM commitopt.aws_accounts WHERE name LIKE 'iso-%';
RESET commitopt.claim;
-- Users' hashes and sessions are not readable at all.
SELECT count(*) FROM commitopt.users;
SELECT count(*) FROM commitopt.sessions;
RESET ROLE;
SELECT commitopt.revoke_analyst('iso_analyst_a');
-- Without a grant: no tenant, no rows (never all rows).
SET ROLE iso_analyst_a;
SELECT count(*) AS after_revoke FROM commitopt.aws_accounts;
RESET ROLE;
DROP FUNCTION pg_temp.peek(text);
DROP ROLE iso_analyst_a;

-- The gateway role: only the entry point.
SET ROLE commitopt_gateway;
SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user;
SELECT count(*) FROM commitopt.aws_accounts;
SELECT commitopt.current_tenant();
SELECT status FROM api.dispatch('GET', '/v1/me', '', jsonb_build_object('authorization', 'Bearer ' || :'tok_a'), NULL, NULL);
-- A's token cannot end B's session, which answers as if it did not exist.
RESET ROLE;
SELECT session_id AS sid_b FROM commitopt.sessions WHERE user_id = :'ub' \gset
SET ROLE commitopt_gateway;
SELECT status, body FROM api.dispatch('DELETE', '/v1/sessions/' || :'sid_b', '', jsonb_build_object('authorization', 'Bearer ' || :'tok_a'), NULL, NULL);
SELECT status, body::jsonb -> 'sessions' -> 0 ->> 'current' AS only_own
  FROM api.dispatch('GET', '/v1/sessions', '', jsonb_build_object('authorization', 'Bearer ' || :'tok_a'), NULL, NULL);
-- A session-level SET of a claim does not survive into the next request.
SET commitopt.claim = 'v1:anything';
SELECT status FROM api.dispatch('GET', '/v1/me', '', '{}', NULL, NULL);
RESET commitopt.claim;
RESET ROLE;
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_b');

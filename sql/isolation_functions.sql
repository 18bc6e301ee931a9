-- Tenant isolation through every function of the extension, found in
-- pg_proc (schemas commitopt and api), so that a function added later is
-- covered without anyone remembering.
--
-- Each function is called with plausible arguments that name tenant B (its
-- uuid, slug, a B user's id and e-mail, a B session id, a B run id), and
-- again with the same arguments naming a tenant that does not exist (the
-- "ghost").  The two outcomes (result rows, or SQLSTATE, message and
-- detail), with each identifier replaced by a stand-in name, must be equal:
-- otherwise the function answers differently because B's rows exist,
-- which is a leak (of the rows, or of their existence through an error).
-- After each call on B, B's rows in every tenant table must be unchanged.
-- Every call runs in a subtransaction that is rolled back afterwards.
--
-- Principals:
--   analyst       tenant A's analyst (a database role with A's grant)
--   claim_a       commitopt_owner under a valid claim of A's session: what
--                 a route handler runs as when the gateway presents A's
--                 token (the gateway itself may only call api.dispatch,
--                 shown below, and every route is tried through it)
--   forged, altered, expired, session_set
--                 commitopt_owner under a hand-set claim, A's claim
--                 altered to name B, B's claim expired, and B's valid
--                 claim SET for the session instead of the transaction:
--                 all must act as if there were no tenant
-- A function is skipped only when neither the analyst nor the gateway may
-- execute it (listed below with has_function_privilege), or when it is on
-- the allow-list in pg_temp.allowed().
\getenv datadir COMMITOPT_DATA
\i :datadir/fixtures/sessions/helpers.sql
SET client_min_messages = warning;

SELECT commitopt.create_tenant_with_admin('iso-fn-a', 'A', 'a@iso-fn-a.example', 'Al', 'Alpha', 'Gr3en#Field') AS ua \gset
SELECT commitopt.create_tenant_with_admin('iso-fn-b', 'B', 'b@iso-fn-b.example', 'Bo', 'Beta', 'Gr3en#Field') AS ub \gset
SELECT commitopt.tenant_id('iso-fn-a') AS ta, commitopt.tenant_id('iso-fn-b') AS tb \gset
-- Rows of both tenants: accounts and a simulation run with a fixed id.
INSERT INTO commitopt.aws_accounts (tenant_id, account_id, name)
VALUES (:'ta', '111111111111', 'a-1'), (:'tb', '222222222222', 'b-1');
INSERT INTO commitopt.simulation_runs (tenant_id, run_id, window_start, window_end)
OVERRIDING SYSTEM VALUE
VALUES (:'tb', 770001, '2024-01-01', '2024-02-01'),
	   (:'ta', 770003, '2024-01-01', '2024-02-01');
SELECT pg_temp.login('b@iso-fn-b.example', 'Gr3en#Field') AS tok_b \gset
SELECT pg_temp.login('a@iso-fn-a.example', 'Gr3en#Field') AS tok_a \gset
SELECT session_id AS sa FROM commitopt.sessions WHERE user_id = :'ua' \gset
SELECT session_id AS sb FROM commitopt.sessions WHERE user_id = :'ub' \gset
CREATE ROLE iso_fn_analyst LOGIN;
SELECT commitopt.grant_analyst('iso_fn_analyst', 'iso-fn-a');

-- The claims of the principals (minted by the superuser; the key file is
-- the server's).
CREATE TEMP TABLE principals (name text PRIMARY KEY, claim text, local boolean);
INSERT INTO principals VALUES
	('analyst', NULL, NULL),
	('claim_a', commitopt.claim_mint(:'ta', :'ua', 'admin', :'sa', now() + interval '1 hour'), true),
	('forged', 'v1:' || :'tb' || ':' || :'ub' || ':admin:' || :'sb' || ':999999999999999:' || repeat('ab', 32), true),
	('altered', replace(commitopt.claim_mint(:'ta', :'ua', 'admin', :'sa', now() + interval '1 hour'), :'ta', :'tb'), true),
	('expired', commitopt.claim_mint(:'tb', :'ub', 'admin', :'sb', '2000-01-01 00:00+00'), true),
	('session_set', commitopt.claim_mint(:'tb', :'ub', 'admin', :'sb', now() + interval '1 hour'), false);
GRANT SELECT ON principals TO PUBLIC;

-- The identifiers of B and of the ghost, by stand-in name.
CREATE TEMP TABLE ids (side text, key text, val text, PRIMARY KEY (side, key));
INSERT INTO ids VALUES
	('b', 'TENANT', :'tb'), ('b', 'USER', :'ub'), ('b', 'SESSION', :'sb'),
	('b', 'SLUG', 'iso-fn-b'), ('b', 'EMAIL', 'b@iso-fn-b.example'),
	('b', 'RUN', '770001'),
	('ghost', 'TENANT', '6a1f0c3e-5b7d-4e29-9c8a-0d4b2e7f1a55'),
	('ghost', 'USER', '0b9e4d2c-7a16-4f83-8e5d-3c2a1f9b6d44'),
	('ghost', 'SESSION', 'f3c2a1b0-9d8e-4c7b-a6f5-e4d3c2b1a099'),
	('ghost', 'SLUG', 'iso-fn-g'), ('ghost', 'EMAIL', 'g@iso-fn-g.example'),
	('ghost', 'RUN', '770002');

-- pg_temp.id(side, key): one identifier.
CREATE FUNCTION pg_temp.id(s text, k text) RETURNS text LANGUAGE sql STABLE
	AS $$ SELECT val FROM ids WHERE side = s AND key = k $$;

-- pg_temp.normalize(side, text): the text with the side's identifiers
-- replaced by their stand-in names.
CREATE FUNCTION pg_temp.normalize(s text, t text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT key, val FROM ids WHERE side = s ORDER BY length(val) DESC LOOP
		t := replace(t, r.val, '<' || r.key || '>');
	END LOOP;
	RETURN t;
END
$$;

-- pg_temp.arg(type, variant, side): an SQL expression of the type naming
-- the side's tenant.  uuid arguments are in turn the tenant, a user and a
-- session; text ones the slug, the e-mail, the tenant uuid.
CREATE FUNCTION pg_temp.arg(t regtype, v int, s text) RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT CASE t
		WHEN 'uuid'::regtype THEN
			quote_literal(pg_temp.id(s, (ARRAY['TENANT', 'USER', 'SESSION'])[v])) || '::uuid'
		WHEN 'text'::regtype THEN
			quote_literal(pg_temp.id(s, (ARRAY['SLUG', 'EMAIL', 'TENANT'])[v]))
		WHEN 'name'::regtype THEN
			quote_literal(pg_temp.id(s, 'SLUG')) || '::name'
		WHEN 'text[]'::regtype THEN
			format('ARRAY[%L, %L]', pg_temp.id(s, 'SLUG'), pg_temp.id(s, 'EMAIL'))
		WHEN 'bigint'::regtype THEN pg_temp.id(s, 'RUN') || '::bigint'
		WHEN 'integer'::regtype THEN '1'
		WHEN 'double precision'::regtype THEN '1::float8'
		WHEN 'boolean'::regtype THEN 'false'
		WHEN 'timestamp with time zone'::regtype THEN '''2024-01-01 00:00+00''::timestamptz'
		WHEN 'inet'::regtype THEN '''192.0.2.7''::inet'
		WHEN 'bytea'::regtype THEN format('convert_to(%L, ''UTF8'')', pg_temp.id(s, 'SLUG'))
		WHEN 'jsonb'::regtype THEN
			format('jsonb_build_object(''tenant_id'', %L, ''user_id'', %L, ''session_id'', %L, ''slug'', %L, ''email'', %L)',
				   pg_temp.id(s, 'TENANT'), pg_temp.id(s, 'USER'),
				   pg_temp.id(s, 'SESSION'), pg_temp.id(s, 'SLUG'),
				   pg_temp.id(s, 'EMAIL'))
		WHEN 'api.request'::regtype THEN
			format('ROW(''GET'', ''/v1/x'', '''', ''{}''::jsonb, jsonb_build_object(''tenant_id'', %L, ''email'', %L, ''password'', ''x'', ''current_password'', ''x'', ''new_password'', ''x''), ''192.0.2.7''::inet, ARRAY[%L])::api.request',
				   pg_temp.id(s, 'TENANT'), pg_temp.id(s, 'EMAIL'),
				   pg_temp.id(s, (ARRAY['TENANT', 'USER', 'SESSION'])[v]))
		ELSE 'NULL::' || t::text
	END
$$;

-- pg_temp.b_rows(): a digest of B's rows in every tenant table (read as
-- the superuser, so row-level security hides nothing).
CREATE FUNCTION pg_temp.b_rows() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	d text;
	acc text := '';
BEGIN
	FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
			  WHERE c.relnamespace = 'commitopt'::regnamespace
				AND c.relkind IN ('r', 'p') AND NOT c.relispartition
				AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
							   AND a.attname = 'tenant_id' AND NOT a.attisdropped)
			  ORDER BY 1
	LOOP
		EXECUTE format('SELECT md5(coalesce(string_agg(t::text, %L ORDER BY t::text), %L)) FROM %s t WHERE tenant_id = %L',
					   E'\n', '', r.rel, pg_temp.id('b', 'TENANT'))
			INTO d;
		acc := acc || r.rel::text || '=' || d || ';';
	END LOOP;
	RETURN md5(acc);
END
$$;

-- Functions whose outcome on B is not compared with the ghost's (they are
-- still called, and B's rows must not change): IMMUTABLE functions, which
-- by contract read no rows, so their result is a function of the
-- identifiers passed (a hash, a seeded draw), and this allow-list.
CREATE FUNCTION pg_temp.allowed(f regprocedure) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT (SELECT provolatile = 'i' FROM pg_proc WHERE oid = f)
		OR f::text IN (
		-- a fresh random salt in every hash
		'commitopt.password_hash(text)',
		-- the SHA-256 of its arguments (STABLE only for the time zone of
		-- its timestamptz argument)
		'commitopt.audit_entry_hash(bytea,uuid,bigint,timestamp with time zone,uuid,text,inet,text,text,jsonb)')
$$;

-- pg_temp.attempt(principal, function, variant, side): the outcome of one
-- call; *changed* says whether B's rows changed.  Rolled back.
CREATE FUNCTION pg_temp.attempt(pr text, f regprocedure, v int, s text,
								OUT outcome text, OUT changed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	p principals;
	sql text;
	before text := pg_temp.b_rows();
BEGIN
	SELECT * INTO p FROM principals WHERE name = pr;
	SELECT format('SELECT coalesce(string_agg(r::text, %L), %L) FROM %s(%s) r',
				  ' | ', '', f::regproc::text,
				  coalesce(string_agg(pg_temp.arg(t, v, s), ', ' ORDER BY i), ''))
	  INTO sql
	  FROM pg_proc pp, unnest(pp.proargtypes::regtype[]) WITH ORDINALITY AS a(t, i)
	 WHERE pp.oid = f;
	IF sql IS NULL THEN
		sql := format('SELECT coalesce(string_agg(r::text, %L), %L) FROM %s() r',
					  ' | ', '', f::regproc::text);
	END IF;
	BEGIN
		IF pr = 'analyst' THEN
			SET LOCAL ROLE iso_fn_analyst;
		ELSE
			-- set by the superuser: only superusers may read it back
			PERFORM set_config('commitopt.claim', p.claim, p.local);
			SET LOCAL ROLE commitopt_owner;
		END IF;
		BEGIN
			EXECUTE sql INTO outcome;
			outcome := 'ok: ' || outcome;
		EXCEPTION WHEN OTHERS THEN
			DECLARE
				st text;
				msg text;
				det text;
			BEGIN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE,
					msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
				outcome := st || ': ' || msg || coalesce(' / ' || nullif(det, ''), '');
			END;
		END;
		RESET ROLE;
		changed := pg_temp.b_rows() IS DISTINCT FROM before;
		RAISE EXCEPTION USING ERRCODE = 'P0004';	-- roll everything back
	EXCEPTION WHEN assert_failure THEN
		NULL;
	END;
	outcome := pg_temp.normalize(s, outcome);
END
$$;

-- The gateway may call api.dispatch and nothing else: no USAGE on the
-- schema commitopt, no EXECUTE on any other function of api.
SELECT has_schema_privilege('commitopt_gateway', 'commitopt', 'USAGE') AS gateway_commitopt,
	   has_schema_privilege('commitopt_gateway', 'api', 'USAGE') AS gateway_api;
SELECT p.oid::regprocedure AS gateway_may_execute FROM pg_proc p
 WHERE p.pronamespace = 'api'::regnamespace
   AND has_function_privilege('commitopt_gateway', p.oid, 'EXECUTE');

-- Skipped: functions neither the analyst nor the gateway may execute
-- (superuser-only housekeeping, the reviewed definer functions, the
-- handlers reached only through api.dispatch).  Each is still called
-- below as claim_a when commitopt_owner may execute it.
SELECT p.oid::regprocedure::text AS not_executable_by_analyst_or_gateway
  FROM pg_proc p
 WHERE p.pronamespace IN ('commitopt'::regnamespace, 'api'::regnamespace)
   AND NOT has_function_privilege('iso_fn_analyst', p.oid, 'EXECUTE')
   AND NOT (has_function_privilege('commitopt_gateway', p.oid, 'EXECUTE')
			AND has_schema_privilege('commitopt_gateway', p.pronamespace, 'USAGE'))
 ORDER BY 1;

-- Every function every principal may execute, three variants of B's
-- identifiers against the ghost's.
CREATE TEMP TABLE outcomes AS
SELECT pr.name AS principal, p.oid::regprocedure AS fn, v,
	   b.outcome AS on_b, b.changed, g.outcome AS on_ghost
  FROM principals pr
 CROSS JOIN pg_proc p
 CROSS JOIN generate_series(1, 3) v
 CROSS JOIN LATERAL pg_temp.attempt(pr.name, p.oid, v, 'b') b
 CROSS JOIN LATERAL pg_temp.attempt(pr.name, p.oid, v, 'ghost') g
 WHERE p.pronamespace IN ('commitopt'::regnamespace, 'api'::regnamespace)
   AND has_function_privilege(CASE pr.name WHEN 'analyst' THEN 'iso_fn_analyst'
								ELSE 'commitopt_owner' END, p.oid, 'EXECUTE')
   AND (v = 1 OR pr.name IN ('analyst', 'claim_a'));

-- How many functions each principal called: they are all of the
-- extension's functions it may execute.
SELECT principal, count(DISTINCT fn) AS functions, count(*) AS calls
  FROM outcomes GROUP BY 1 ORDER BY 1;
-- Leaks: an outcome that differs between B and the ghost, or a change of
-- B's rows.  None.
SELECT principal, fn, v, on_b, on_ghost, changed
  FROM outcomes
 WHERE (on_b IS DISTINCT FROM on_ghost AND NOT pg_temp.allowed(fn)) OR changed
 ORDER BY principal, fn::text, v;
-- The functions not compared (those above, of which the analyst or the
-- owner may execute).
SELECT DISTINCT fn::text AS not_compared FROM outcomes WHERE pg_temp.allowed(fn)
 ORDER BY 1;
-- No outcome names one of B's identifiers (they were all replaced by the
-- stand-in names; A's may appear, B's values must not remain).
SELECT count(*) AS outcomes_naming_b FROM outcomes o, ids
 WHERE ids.side = 'b' AND o.on_b LIKE '%' || ids.val || '%' AND ids.key <> 'RUN';
-- Under the bad claims a function sees no tenant at all: what it answers
-- is what it answers with no claim (the first variant).
SELECT o.principal, count(*) AS functions,
	   count(*) FILTER (WHERE o.on_b IS DISTINCT FROM n.on_b) AS differ_from_no_claim
  FROM outcomes o
  JOIN (SELECT fn, on_b FROM outcomes WHERE principal = 'expired' AND v = 1) n USING (fn)
 WHERE o.principal IN ('forged', 'altered', 'session_set') AND o.v = 1
 GROUP BY 1 ORDER BY 1;
-- A few representative functions, per principal, first variant.
SELECT principal, fn, left(on_b, 70) AS on_b
  FROM outcomes
 WHERE v = 1 AND fn::text IN ('commitopt.tenant_id(text)',
							  'commitopt.latest_run(uuid)',
							  'commitopt.usage_extent(uuid)',
							  'commitopt.ensure_tenant(text,text)',
							  'api.sessions(api.request)')
 ORDER BY fn::text, principal;

-- The gateway with A's token, every route, with B's ids in the path
-- (capture groups) and in the body; the outcome equals the ghost's and
-- B's rows stay.
CREATE FUNCTION pg_temp.route_attempt(m text, pat text, v int, s text,
									  OUT outcome text, OUT changed boolean)
LANGUAGE plpgsql AS $$
DECLARE
	before text := pg_temp.b_rows();
	idv text := pg_temp.id(s, (ARRAY['TENANT', 'USER', 'SESSION'])[v]);
	path text := regexp_replace(pat, '\([^)]*\)', idv, 'g');
	body text := jsonb_build_object('email', pg_temp.id(s, 'EMAIL'),
									'password', 'Wr0ng#Guess',
									'tenant_id', pg_temp.id(s, 'TENANT'),
									'user_id', pg_temp.id(s, 'USER'),
									'session_id', pg_temp.id(s, 'SESSION'),
									'current_password', 'Wr0ng#Guess',
									'new_password', 'N3w#Password-long')::text;
BEGIN
	BEGIN
		SET LOCAL ROLE commitopt_gateway;
		SELECT d.status || ' ' || d.body INTO outcome
		  FROM api.dispatch(m, path, '', jsonb_build_object('authorization', 'Bearer ' || current_setting('iso.tok_a')),
							body, '192.0.2.7') d;
		RESET ROLE;
		changed := pg_temp.b_rows() IS DISTINCT FROM before;
		RAISE EXCEPTION USING ERRCODE = 'P0004';
	EXCEPTION WHEN assert_failure THEN
		NULL;
	END;
	outcome := pg_temp.normalize(s, outcome);
END
$$;
SELECT set_config('iso.tok_a', :'tok_a', false) IS NOT NULL AS token_set;
SELECT r.method, r.pattern, v, left(b.outcome, 3) AS status_on_b,
	   b.outcome = g.outcome AS same_as_ghost, b.changed
  FROM api.routes r
 CROSS JOIN generate_series(1, 3) v
 CROSS JOIN LATERAL pg_temp.route_attempt(r.method, r.pattern, v, 'b') b
 CROSS JOIN LATERAL pg_temp.route_attempt(r.method, r.pattern, v, 'ghost') g
 WHERE v = 1 OR r.pattern LIKE '%(%'
 ORDER BY 1, 2, 3;
RESET iso.tok_a;
-- B's session is untouched and still works; A's too.
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_b');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_a');
RESET client_min_messages;
SELECT commitopt.revoke_analyst('iso_fn_analyst');
DROP ROLE iso_fn_analyst;

-- The tenant's figures, inventories, recommendations, audit trail, AWS
-- accounts, jobs and the OpenAPI document through api.dispatch: success,
-- 401, 403, bad input, another tenant's rows never seen (404 for one
-- object), pagination across pages, and the audit entry of each call.
\getenv datadir COMMITOPT_DATA
-- One transaction, rolled back at the end: the audit entries of this
-- file's unauthenticated calls must not stay in the service's chain,
-- which later tests read from its first entry.
BEGIN;
\i :datadir/fixtures/api/helpers.sql
SELECT pg_temp.at('2024-06-01 10:00:00+00');

SELECT commitopt.create_tenant_with_admin('ad-a', 'A', 'ada@ad-a.example',
	'Ada', 'Admin', 'Gr3en#Field') AS ada \gset
SELECT commitopt.create_user(:'ada', 'max@ad-a.example', 'Max', 'Member',
							 'member', 'Tr4vel#Kite') AS max \gset
SELECT commitopt.create_user(:'ada', 'vic@ad-a.example', 'Vic', 'Viewer',
							 'viewer', 'Bl4ck#Stone') AS vic \gset
SELECT commitopt.create_tenant_with_admin('ad-b', 'B', 'bob@ad-b.example',
	'Bob', 'Boss', 'Gr3en#Field') AS bob \gset
SELECT commitopt.tenant_id('ad-a') AS ta, commitopt.tenant_id('ad-b') AS tb \gset
SELECT pg_temp.user_login('ada@ad-a.example', 'Gr3en#Field') AS tok_a \gset
SELECT pg_temp.user_login('max@ad-a.example', 'Tr4vel#Kite') AS tok_m \gset
SELECT pg_temp.user_login('vic@ad-a.example', 'Bl4ck#Stone') AS tok_v \gset
SELECT pg_temp.user_login('bob@ad-b.example', 'Gr3en#Field') AS tok_b \gset

-- Before any simulation: no run, no months.
SELECT status, body FROM pg_temp.req('GET', '/v1/summary', '', :'tok_v');

-- A simulation run of A with two days (January, February 2024) and one
-- of B that must never show.
INSERT INTO commitopt.simulation_runs (tenant_id, window_start, window_end)
VALUES (:'ta', '2024-01-01', '2024-03-01'), (:'tb', '2024-01-01', '2024-02-01');
INSERT INTO commitopt.simulation_daily
SELECT r.tenant_id, r.run_id, d.*
  FROM commitopt.simulation_runs r,
	   (VALUES ('2024-01-10'::date, '111111111111', 'us-east-1', 'm5',
				100, 400, 50, 40, 160, 20, 20, 80, 10, 20, 12, 2, 8, 7, 50, 40, 200, 160),
			   ('2024-02-05'::date, '111111111111', 'us-east-1', 'm5',
				10, 40, 30, 0, 0, 0, 5, 20, 15, 15, 0, 0, 10, 9, 0, 0, 0, 0))
		   AS d(day, account_id, region, family, usage_hours, usage_nu, ode,
				ri_covered_hours, ri_covered_nu, ri_covered_ode,
				sp_covered_hours, sp_covered_nu, sp_covered_ode, od_cost,
				ri_cost, ri_unused_cost, sp_cost, sp_used,
				ri_purchased_hours, ri_used_hours, ri_purchased_nu, ri_used_nu)
 WHERE r.tenant_id = :'ta';
INSERT INTO commitopt.simulation_daily
SELECT r.tenant_id, r.run_id, '2024-01-02', '2', 'us-east-1', 'c5',
	   1, 1, 999, 0, 0, 0, 0, 0, 0, 999, 0, 0, 0, 0, 0, 0, 0, 0
  FROM commitopt.simulation_runs r WHERE r.tenant_id = :'tb';
-- By hand:
--   2024-01: ode 50, cost 20+12+8 = 40, savings 10, esr 10/50 = 20.0 %,
--            coverage (20+10)/50 = 60.0 %, hours (40+20)/100 = 60.0 %,
--            RI 160/200 = 80.0 %, SP 7/8 = 87.5 %
--   2024-02: ode 30, cost 15+0+10 = 25, savings 5, esr 5/30 = 16.7 %,
--            coverage 15/30 = 50.0 %, hours 5/10 = 50.0 %, RI none (null),
--            SP 9/10 = 90.0 %
--   total:   ode 80, cost 65, savings 15, esr 15/80 = 18.75 -> 18.8 %,
--            coverage 45/80 = 56.25 -> 56.3 %, hours 65/110 = 59.09 -> 59.1 %,
--            RI 160/200 = 80.0 %, SP 16/18 = 88.89 -> 88.9 %
SELECT status, (body -> 'run') - 'id' AS run FROM pg_temp.req('GET', '/v1/summary', '', :'tok_v');
SELECT m ->> 'month' AS month, m - 'month' AS figures
  FROM pg_temp.req('GET', '/v1/summary', '', :'tok_v'),
	   jsonb_array_elements(body -> 'months') m;
SELECT body -> 'total' AS total FROM pg_temp.req('GET', '/v1/summary', '', :'tok_v');
-- B sees its own run only: ode 999, cost 999, savings 0.
SELECT body -> 'total' ->> 'on_demand_equivalent' AS ode,
	   body -> 'total' ->> 'savings' AS savings,
	   jsonb_array_length(body -> 'months') AS months
  FROM pg_temp.req('GET', '/v1/summary', '', :'tok_b');
SELECT status, body FROM pg_temp.req('GET', '/v1/summary', '');
SELECT * FROM pg_temp.last_audit('ad-a');

-- Usage: three series of A (744 hours of 1.0 in January; 696 hours of 0.5
-- in February 2024 = 348; none), one of B.
INSERT INTO commitopt.aws_accounts (tenant_id, account_id) VALUES
	(:'ta', '111111111111'), (:'tb', '222222222222');
INSERT INTO commitopt.usage_series (tenant_id, account_id, region,
	availability_zone, instance_type, platform, tenancy)
VALUES (:'ta', '111111111111', 'us-east-1', '', 'm5.large', 'linux', 'default'),
	   (:'ta', '111111111111', 'us-east-1', 'us-east-1a', 'c5.xlarge', 'windows', 'default'),
	   (:'ta', '111111111111', 'eu-west-1', '', 'r5.large', 'linux', 'dedicated'),
	   (:'tb', '222222222222', 'us-east-1', '', 'm5.large', 'linux', 'default');
INSERT INTO commitopt.usage_hourly (tenant_id, series_id, period_start, amounts)
SELECT s.tenant_id, s.series_id, p.start, array_fill(p.v, ARRAY[p.hours])
  FROM commitopt.usage_series s
  JOIN (VALUES ('m5.large', '2024-01-01'::timestamptz, 1.0::float8, 744),
			   ('c5.xlarge', '2024-02-01', 0.5, 696)) p(itype, start, v, hours)
	ON p.itype = s.instance_type
 WHERE s.tenant_id IN (:'ta', :'tb');
SELECT body ->> 'next' AS cur FROM pg_temp.req('GET', '/v1/usage', 'limit=2', :'tok_v') \gset
SELECT i - 'id' AS item
  FROM pg_temp.req('GET', '/v1/usage', 'limit=2', :'tok_v'),
	   jsonb_array_elements(body -> 'items') i;
SELECT i - 'id' AS item, body -> 'next' AS next
  FROM pg_temp.req('GET', '/v1/usage', 'limit=2&after=' || :'cur', :'tok_v'),
	   jsonb_array_elements(body -> 'items') i;
-- B: one series, the m5.large of 744 hours (hours are B's, not A's).
SELECT jsonb_array_length(body -> 'items') AS n, body -> 'items' -> 0 ->> 'account_id' AS account
  FROM pg_temp.req('GET', '/v1/usage', '', :'tok_b');
SELECT status, body -> 'error' ->> 'code' AS code
  FROM pg_temp.req('GET', '/v1/usage', 'after=' || api.cursor_encode('usage', '["x"]'), :'tok_v');
SELECT status, body -> 'error' ->> 'code' AS code
  FROM pg_temp.req('GET', '/v1/usage', 'limit=1000', :'tok_v');
SELECT status FROM pg_temp.req('GET', '/v1/usage', '');
SELECT * FROM pg_temp.last_audit('ad-a');

-- Reserved Instances: three of A, one of B; pages of 2.
INSERT INTO commitopt.reserved_instances (tenant_id, ri_id, owner_account_id,
	region, instance_type, platform, tenancy, instance_count, start_time,
	end_time, effective_hourly_usd)
SELECT t, id, acct, 'us-east-1', 'm5.large', 'linux', 'default', 2,
	   '2024-01-01', '2025-01-01', 0.06
  FROM (VALUES (:'ta'::uuid, 'ri-a1', '111111111111'), (:'ta', 'ri-a2', '111111111111'),
			   (:'ta', 'ri-a3', '111111111111'), (:'tb', 'ri-b1', '222222222222')) v(t, id, acct);
SELECT body ->> 'next' AS cur FROM pg_temp.req('GET', '/v1/reserved-instances', 'limit=2', :'tok_v') \gset
SELECT jsonb_path_query_array(body, '$.items[*].id') AS page1
  FROM pg_temp.req('GET', '/v1/reserved-instances', 'limit=2', :'tok_v');
SELECT jsonb_path_query_array(body, '$.items[*].id') AS page2, body -> 'next' AS next
  FROM pg_temp.req('GET', '/v1/reserved-instances', 'limit=2&after=' || :'cur', :'tok_v');
SELECT body -> 'items' -> 0 AS first FROM pg_temp.req('GET', '/v1/reserved-instances', 'limit=1', :'tok_m');
SELECT jsonb_path_query_array(body, '$.items[*].id') AS b_sees
  FROM pg_temp.req('GET', '/v1/reserved-instances', '', :'tok_b');
SELECT status, body FROM pg_temp.req('GET', '/v1/reserved-instances', 'page=2', :'tok_v');

-- Savings Plans: one of A, one of B.
INSERT INTO commitopt.savings_plans (tenant_id, sp_id, owner_account_id,
	plan_type, term_years, hourly_commitment_usd, start_time, end_time)
VALUES (:'ta', 'sp-a1', '111111111111', 'compute', 1, 1.25, '2024-01-01', '2025-01-01'),
	   (:'tb', 'sp-b1', '222222222222', 'compute', 3, 9, '2024-01-01', '2027-01-01');
SELECT status, body FROM pg_temp.req('GET', '/v1/savings-plans', '', :'tok_v');
SELECT status FROM pg_temp.req('GET', '/v1/savings-plans', '');
SELECT * FROM pg_temp.last_audit('ad-a');

-- Recommendations: two of A (the 3-year one newer), one of B.  By hand,
-- the 1-year one: commitment 1.5; net savings 172 - 100 = 72.00 over a
-- 30-day (720 h) window, so 72.00 per 30 days; coverage 50.0 -> 75.0 %,
-- utilization 96.0 %, ESR 10.0 -> 20.0 %.
INSERT INTO commitopt.recommendations (tenant_id, term_years, lookback_days,
	window_start, window_end, hourly_commitment, ode, net_savings_before,
	net_savings_after, coverage_before, coverage_after, utilization,
	esr_before, esr_after, estimated_rates)
VALUES (:'ta', 1, 30, '2024-01-01', '2024-01-31', 1.5, 1000, 100, 172, 0.5, 0.75, 0.96, 0.1, 0.2, false),
	   (:'ta', 3, 7, '2024-01-24', '2024-01-31', 2, 500, 10, 24, 0.25, 0.5, 0.9, 0.05, 0.1, true),
	   (:'tb', 1, 30, '2024-01-01', '2024-01-31', 9, 900, 0, 1, 0, 0.1, 1, 0, 0.01, false);
SELECT recommendation_id AS rec_a1 FROM commitopt.recommendations
 WHERE tenant_id = :'ta' AND term_years = 1 \gset
SELECT recommendation_id AS rec_b FROM commitopt.recommendations WHERE tenant_id = :'tb' \gset
INSERT INTO commitopt.recommendation_curve VALUES
	(:'ta', :rec_a1, 1, 0, 0, 0.5, NULL, 0.1),
	(:'ta', :rec_a1, 2, 1.5, 72, 0.75, 0.96, 0.2);
-- Newest first: the 3-year one, then the 1-year one on the next page.
-- 3-year by hand: 24 - 10 = 14.00 over 7 days (168 h), 14 * 720 / 168 = 60.00.
SELECT body ->> 'next' AS cur FROM pg_temp.req('GET', '/v1/recommendations', 'limit=1', :'tok_v') \gset
SELECT (body -> 'items' -> 0) - 'id' - 'created_at' AS page1
  FROM pg_temp.req('GET', '/v1/recommendations', 'limit=1', :'tok_v');
SELECT body -> 'items' -> 0 ->> 'term_years' AS page2_term, body -> 'next' AS next
  FROM pg_temp.req('GET', '/v1/recommendations', 'limit=1&after=' || :'cur', :'tok_v');
SELECT status, body - 'id' - 'created_at' AS body
  FROM pg_temp.req('GET', '/v1/recommendations/' || :rec_a1, '', :'tok_v');
-- B's recommendation, an unknown id, or no number: 404 alike.
SELECT status, body FROM pg_temp.req('GET', '/v1/recommendations/' || :rec_b, '', :'tok_v');
SELECT status, body FROM pg_temp.req('GET', '/v1/recommendations/99999999', '', :'tok_v');
SELECT status, body FROM pg_temp.req('GET', '/v1/recommendations/1x', '', :'tok_v');
SELECT jsonb_array_length(body -> 'items') AS b_sees
  FROM pg_temp.req('GET', '/v1/recommendations', '', :'tok_b');
SELECT status FROM pg_temp.req('GET', '/v1/recommendations', '');
SELECT * FROM pg_temp.last_audit('ad-a');

-- The audit trail: admins only; pages are consecutive, newest first, and
-- hold A's entries only.
SELECT status, body FROM pg_temp.req('GET', '/v1/audit', '', :'tok_m');
SELECT status FROM pg_temp.req('GET', '/v1/audit', '', :'tok_v');
SELECT status FROM pg_temp.req('GET', '/v1/audit', '');
SELECT body ->> 'next' AS cur,
	   jsonb_path_query_array(body, '$.items[*].id') AS p1
  FROM pg_temp.req('GET', '/v1/audit', 'limit=3', :'tok_a') \gset
SELECT jsonb_path_query_array(body, '$.items[*].id') AS p2
  FROM pg_temp.req('GET', '/v1/audit', 'limit=3&after=' || :'cur', :'tok_a') \gset
-- page 1 is the 3 newest entries of A when it was asked for; page 2 the
-- 3 before them
SELECT :'p1'::jsonb = (SELECT jsonb_agg(entry_id ORDER BY entry_id DESC) FROM (
		SELECT entry_id FROM commitopt.audit_log WHERE tenant_id = :'ta'
		   AND entry_id <= (:'p1'::jsonb ->> 0)::bigint
		 ORDER BY entry_id DESC LIMIT 3) x) AS page1_ok,
	   :'p2'::jsonb = (SELECT jsonb_agg(entry_id ORDER BY entry_id DESC) FROM (
		SELECT entry_id FROM commitopt.audit_log WHERE tenant_id = :'ta'
		   AND entry_id < (:'p1'::jsonb ->> 2)::bigint
		 ORDER BY entry_id DESC LIMIT 3) x) AS page2_ok;
-- The newest entry A's admin sees is the request before: GET /v1/audit.
SELECT body -> 'items' -> 0 ->> 'action' AS action, body -> 'items' -> 0 ->> 'object' AS object,
	   body -> 'items' -> 0 -> 'details' AS details
  FROM pg_temp.req('GET', '/v1/audit', 'limit=1', :'tok_a');
SELECT status, body -> 'error' ->> 'code' AS code
  FROM pg_temp.req('GET', '/v1/audit', 'after=' || api.cursor_encode('audit', '["1"]'), :'tok_a');
SELECT count(*) AS b_entries_seen_by_a
  FROM pg_temp.req('GET', '/v1/audit', 'limit=500', :'tok_a'),
	   jsonb_array_elements(body -> 'items') i
 WHERE i ->> 'actor_user' = :'bob';

-- AWS accounts: register (admin only), with the external ID and the
-- policies to review; list with status; bad input.
SET commitopt.aws_principal_arn = 'arn:aws:iam::000000000000:role/commitopt-platform';
SELECT status, body -> 'error' ->> 'code' AS code
  FROM pg_temp.req('POST', '/v1/aws-accounts', '', :'tok_m',
	'{"account_id": "123456789012", "role_arn": "arn:aws:iam::123456789012:role/commitopt"}');
SELECT status, body ->> 'account_id' AS account, body ->> 'status' AS st,
	   body ->> 'external_id' ~ '^[A-Za-z0-9_-]{16,}$' AS external_id_ok,
	   body #>> '{policies,trust,Statement,0,Condition,StringEquals,sts:ExternalId}'
		 = body ->> 'external_id' AS trust_names_it,
	   body #>> '{policies,trust,Statement,0,Principal,AWS}' AS principal,
	   body #> '{policies,read_only,Statement,0,Action}' = to_jsonb(commitopt.aws_read_actions()) AS read_only_ok,
	   body ? 'role_arn' AS shows_role_arn
  FROM pg_temp.req('POST', '/v1/aws-accounts', '', :'tok_a',
	'{"account_id": "123456789012", "role_arn": "arn:aws:iam::123456789012:role/commitopt", "name": "prod"}');
SELECT * FROM pg_temp.last_audit('ad-a');
SELECT status, body FROM pg_temp.req('POST', '/v1/aws-accounts', '', :'tok_a',
	'{"account_id": "123456789012", "role_arn": "arn:aws:iam::123456789012:role/commitopt"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/aws-accounts', '', :'tok_a',
	'{"account_id": "12345", "role_arn": "arn:aws:iam::12345:role/x"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/aws-accounts', '', :'tok_a',
	'{"account_id": "123456789013", "role_arn": "arn:aws:iam::123456789012:role/commitopt"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/aws-accounts', '', :'tok_a',
	'{"account_id": "123456789013", "role_arn": "arn:aws:iam::123456789013:role/x", "region": "mars-1"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/aws-accounts', '', :'tok_a',
	'{"account_id": "123456789013"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/aws-accounts', '', :'tok_a',
	'{"account_id": 123456789013, "role_arn": "arn:aws:iam::123456789013:role/x"}');
SET commitopt.aws_principal_arn = '';
SELECT status, body FROM pg_temp.req('POST', '/v1/aws-accounts', '', :'tok_a',
	'{"account_id": "123456789013", "role_arn": "arn:aws:iam::123456789013:role/x"}');
RESET commitopt.aws_principal_arn;
SELECT status, (body -> 'items' -> 0) - 'created_at' AS item,
	   jsonb_array_length(body -> 'items') AS n, body -> 'next' AS next
  FROM pg_temp.req('GET', '/v1/aws-accounts', '', :'tok_a');
SELECT status FROM pg_temp.req('GET', '/v1/aws-accounts', '', :'tok_v');
SELECT jsonb_array_length(body -> 'items') AS b_sees
  FROM pg_temp.req('GET', '/v1/aws-accounts', '', :'tok_b');
-- The external ID is in no audit entry.
SELECT count(*) AS external_id_in_trail
  FROM commitopt.audit_log l, commitopt.aws_connections c
 WHERE c.tenant_id = :'ta'
   AND l.details::text LIKE '%' || commitopt.secret_decrypt(c.tenant_id, 'aws_connections',
		'external_id', c.account_id, c.external_id_sealed) || '%';

-- Jobs: a member queues a simulation (202), again gets the same job;
-- other kinds are refused (422); viewers cannot (403).  Admins list jobs,
-- newest first: the simulation, then the account's verification.
SELECT status, body ->> 'kind' AS kind, body ->> 'status' AS st
  FROM pg_temp.req('POST', '/v1/jobs', '', :'tok_m', '{"kind": "simulate"}');
SELECT (SELECT body ->> 'id' FROM pg_temp.req('POST', '/v1/jobs', '', :'tok_m', '{"kind": "simulate"}'))
	 = (SELECT body ->> 'id' FROM pg_temp.req('POST', '/v1/jobs', '', :'tok_a', '{"kind": "simulate"}'))
	   AS same_job;
SELECT count(*) AS simulate_jobs FROM commitopt.jobs
 WHERE tenant_id = :'ta' AND kind = 'simulate';
SELECT status, body FROM pg_temp.req('POST', '/v1/jobs', '', :'tok_m', '{"kind": "sync_account"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/jobs', '', :'tok_m', '{"kind": ["simulate"]}');
SELECT status, body FROM pg_temp.req('POST', '/v1/jobs', '', :'tok_v', '{"kind": "simulate"}');
SELECT body ->> 'next' AS cur FROM pg_temp.req('GET', '/v1/jobs', 'limit=1', :'tok_a') \gset
SELECT i ->> 'kind' AS kind, i ->> 'account_id' AS account, i ->> 'status' AS st
  FROM pg_temp.req('GET', '/v1/jobs', 'limit=1', :'tok_a'), jsonb_array_elements(body -> 'items') i;
SELECT i ->> 'kind' AS kind, i ->> 'account_id' AS account, i ->> 'status' AS st, body -> 'next' AS next
  FROM pg_temp.req('GET', '/v1/jobs', 'limit=1&after=' || :'cur', :'tok_a'), jsonb_array_elements(body -> 'items') i;
SELECT status FROM pg_temp.req('GET', '/v1/jobs', '', :'tok_m');
SELECT jsonb_array_length(body -> 'items') AS b_sees FROM pg_temp.req('GET', '/v1/jobs', '', :'tok_b');
SELECT count(*) AS b_jobs FROM commitopt.jobs WHERE tenant_id = :'tb';
SELECT * FROM pg_temp.last_audit('ad-a');

-- The OpenAPI document: served without a session, OpenAPI 3.1, and its
-- operations are exactly the routes api.dispatch serves.  Each path
-- template is turned back into a route pattern ({x} -> ([^/]+), "." ->
-- "\."), independently of how the document was made.
SELECT status, body ->> 'openapi' AS openapi, body #>> '{info,title}' AS title
  FROM pg_temp.req('GET', '/v1/openapi.json', '');
CREATE TEMP TABLE doc_ops AS
SELECT upper(m) AS method,
	   replace(regexp_replace(p, '\{[^}/]+\}', '([^/]+)', 'g'), '.', '\.') AS pattern,
	   op
  FROM pg_temp.req('GET', '/v1/openapi.json', '') d,
	   jsonb_each(d.body -> 'paths') AS x(p, ops),
	   jsonb_each(x.ops) AS y(m, op);
-- Routes missing from the document, and operations no route serves: none.
(SELECT 'missing from the document' AS problem, method, pattern FROM api.routes
 EXCEPT SELECT 'missing from the document', method, pattern FROM doc_ops)
UNION ALL
(SELECT 'not served', method, pattern FROM doc_ops
 EXCEPT SELECT 'not served', method, pattern FROM api.routes)
ORDER BY 1, 2, 3;
-- 7 session routes + 6 user + 6 tenant data + 5 operations + openapi = 25.
SELECT (SELECT count(*) FROM doc_ops) AS operations, (SELECT count(*) FROM api.routes) AS routes;
-- Every operation has a summary and a success response; every path
-- parameter of the template is declared; paginated routes declare limit
-- and after; session routes carry security and their least role.
SELECT o.method, o.pattern
  FROM doc_ops o JOIN api.routes r USING (method, pattern)
 WHERE o.op ->> 'summary' IS NULL
	OR NOT o.op -> 'responses' ? r.success_status::text
	OR (SELECT count(*) FROM jsonb_array_elements(coalesce(o.op -> 'parameters', '[]')) p
		 WHERE p ->> 'in' = 'path') <> cardinality(r.param_names)
	OR r.paginated <> coalesce(o.op -> 'parameters' @> '[{"name": "limit"}, {"name": "after"}]', false)
	OR r.needs_session <> (jsonb_array_length(o.op -> 'security') > 0)
	OR (r.needs_session AND o.op ->> 'x-min-role' IS DISTINCT FROM r.min_role)
	OR (r.request_schema IS NOT NULL) <> (o.op ? 'requestBody');
-- Who may do what, as documented.
SELECT op ->> 'x-min-role' AS min_role, string_agg(method || ' ' || pattern, ', ' ORDER BY pattern, method)
  FROM doc_ops GROUP BY 1 ORDER BY 1;
-- Every $ref points at a schema of the document.
SELECT DISTINCT r #>> '{}' AS dangling_ref
  FROM pg_temp.req('GET', '/v1/openapi.json', '') d,
	   jsonb_path_query(d.body, 'strict $.**."$ref"') r
 WHERE NOT (d.body #> '{components,schemas}') ? split_part(r #>> '{}', '/', 4);

-- Every call of this file left one audit entry in A's trail, by route and
-- status (counted by hand above), with the status only.
SELECT object AS route, details ->> 'status' AS status, count(*)
  FROM commitopt.audit_log
 WHERE tenant_id = :'ta' AND action = 'api_request'
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS entries_with_more_than_status
  FROM commitopt.audit_log
 WHERE action = 'api_request' AND details - 'status' <> '{}';

ROLLBACK;

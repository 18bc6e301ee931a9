-- The user routes through api.dispatch: who may call them (401 without a
-- session, 403 below admin), bad input (400 malformed, 422 invalid
-- values, 409 conflicts), another tenant's user as 404, pagination and
-- its bad parameters, and an audit entry (route and status, no body) for
-- each call.
\getenv datadir COMMITOPT_DATA
-- One transaction, rolled back at the end: the audit entries of this
-- file's unauthenticated calls must not stay in the service's chain,
-- which later tests read from its first entry.
BEGIN;
\i :datadir/fixtures/api/helpers.sql
SELECT pg_temp.at('2024-06-01 10:00:00+00');

-- Tenant A: Ada (admin), Max (member), Vic (viewer); tenant B: Bob.
SELECT commitopt.create_tenant_with_admin('au-a', 'A', 'ada@au-a.example',
	'Ada', 'Admin', 'Gr3en#Field') AS ada \gset
SELECT commitopt.create_user(:'ada', 'max@au-a.example', 'Max', 'Member',
							 'member', 'Tr4vel#Kite') AS max \gset
SELECT commitopt.create_user(:'ada', 'vic@au-a.example', 'Vic', 'Viewer',
							 'viewer', 'Bl4ck#Stone') AS vic \gset
SELECT commitopt.create_tenant_with_admin('au-b', 'B', 'bob@au-b.example',
	'Bob', 'Boss', 'Gr3en#Field') AS bob \gset
SELECT pg_temp.user_login('ada@au-a.example', 'Gr3en#Field') AS tok_a \gset
SELECT pg_temp.user_login('max@au-a.example', 'Tr4vel#Kite') AS tok_m \gset
SELECT pg_temp.user_login('vic@au-a.example', 'Bl4ck#Stone') AS tok_v \gset
SELECT pg_temp.user_login('bob@au-b.example', 'Gr3en#Field') AS tok_b \gset

-- Who may list: nobody without a session (401), not a viewer or a member
-- (403), an admin (200).  Each call leaves an entry with its route and
-- status only.
SELECT status, body FROM pg_temp.req('GET', '/v1/users', '');
SELECT status, body FROM pg_temp.req('GET', '/v1/users', '', :'tok_v');
SELECT * FROM pg_temp.last_audit('au-a');
SELECT status, body FROM pg_temp.req('GET', '/v1/users', '', :'tok_m');
-- Ada's tenant only, by e-mail address: ada, max, vic; no next page.
SELECT status, jsonb_path_query_array(body, '$.items[*].email') AS emails,
	   body -> 'next' AS next
  FROM pg_temp.req('GET', '/v1/users', '', :'tok_a');
SELECT * FROM pg_temp.last_audit('au-a');
-- No hash in what is shown of a user.
SELECT jsonb_object_keys(body -> 'items' -> 0) AS user_fields
  FROM pg_temp.req('GET', '/v1/users', '', :'tok_a') ORDER BY 1;

-- Pages of 2: ada, max, then vic, and no further page.
SELECT body ->> 'next' AS cur1,
	   jsonb_path_query_array(body, '$.items[*].email') AS page1
  FROM pg_temp.req('GET', '/v1/users', 'limit=2', :'tok_a') \gset
SELECT :'page1' AS page1, :'cur1' <> '' AS has_next;
SELECT jsonb_path_query_array(body, '$.items[*].email') AS page2,
	   body -> 'next' AS next
  FROM pg_temp.req('GET', '/v1/users', 'limit=2&after=' || :'cur1', :'tok_a');
-- A page of exactly the rest: limit=1 after max gives vic, next null.
SELECT body ->> 'next' AS cur_max
  FROM pg_temp.req('GET', '/v1/users', 'limit=2', :'tok_a') \gset
SELECT jsonb_path_query_array(body, '$.items[*].email') AS page, body -> 'next' AS next
  FROM pg_temp.req('GET', '/v1/users', 'limit=1&after=' || :'cur_max', :'tok_a');
-- The cursor is percent-decoded like any query value.
SELECT jsonb_path_query_array(body, '$.items[*].email') AS page
  FROM pg_temp.req('GET', '/v1/users', 'limit=1&%61fter=' || :'cur_max', :'tok_a');

-- Bad pagination parameters: 400 each, naming the value.
SELECT q, status, body -> 'error' AS error
  FROM unnest(ARRAY['limit=0', 'limit=501', 'limit=abc', 'limit=', 'limit=-1',
					'limit=2&limit=3', 'sort=email', '=1', 'limit=%zz',
					'after=not*base64', 'after=AAAA', 'limit=%FF']) q,
	   LATERAL pg_temp.req('GET', '/v1/users', q, :'tok_a')
 ORDER BY q;
-- A cursor of another route, or one that is not a JSON array: 400.
SELECT status, body -> 'error' ->> 'code' AS code
  FROM pg_temp.req('GET', '/v1/users',
				   'after=' || api.cursor_encode('usage', '[1]'), :'tok_a');
SELECT status, body -> 'error' ->> 'code' AS code
  FROM pg_temp.req('GET', '/v1/users',
				   'after=' || rtrim(translate(encode(convert_to('{"a":1}', 'UTF8'), 'base64'), '+/', '-_'), '='),
				   :'tok_a');
SELECT * FROM pg_temp.last_audit('au-a');
-- The largest page is accepted.
SELECT status, jsonb_array_length(body -> 'items') AS n
  FROM pg_temp.req('GET', '/v1/users', 'limit=500', :'tok_a');

-- Create: 201 with the new user, who must change the password.
SELECT status, body - 'id' - 'created_at' AS body
  FROM pg_temp.req('POST', '/v1/users', '', :'tok_a',
	'{"email": "nia@au-a.example", "first_name": "Nia", "last_name": "New",
	  "role": "member", "password": "Qzx7#Wvk9"}');
SELECT user_id AS nia FROM commitopt.users WHERE email = 'nia@au-a.example' \gset
SELECT * FROM pg_temp.last_audit('au-a');
-- Malformed bodies: 400.
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_a',
	'{"email": "x@au-a.example", "first_name": "X", "last_name": "Y", "role": "member"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_a',
	'{"email": "x@au-a.example", "first_name": "X", "last_name": "Y", "role": "member", "password": 12345678}');
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_a',
	'{"email": "x@au-a.example", "first_name": "X", "last_name": "Y", "role": "member", "password": "Qzx7#Wvk9", "tenant_id": "x"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_a', '["not", "an", "object"]');
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_a', '{oops');
-- escapes that jsonb cannot store: the client's error, not a server failure
-- (an uncaught 22P05 would also put the body, password and all, in the
-- server log's JSON context line)
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_a',
	'{"email": "x@a.example", "password": "Secret#Pass-1", "x": "\u0000"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/me/password', '', :'tok_a',
	'{"current_password": "\ud800", "new_password": "x"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_a');
-- Invalid values: 422 naming them; an address in use (in any tenant): 409.
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_a',
	'{"email": "x@au-a.example", "first_name": "X", "last_name": "Y", "role": "owner", "password": "Qzx7#Wvk9"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_a',
	'{"email": "not an address", "first_name": "X", "last_name": "Y", "role": "viewer", "password": "Qzx7#Wvk9"}');
SELECT status, body -> 'error' ->> 'code' AS code,
	   body -> 'error' ->> 'message' LIKE '%policy: The password must have at least 8 characters.' AS names_rule
  FROM pg_temp.req('POST', '/v1/users', '', :'tok_a',
	'{"email": "x@au-a.example", "first_name": "X", "last_name": "Y", "role": "viewer", "password": "Ab1#"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_a',
	'{"email": "BOB@au-b.example", "first_name": "X", "last_name": "Y", "role": "viewer", "password": "Qzx7#Wvk9"}');
SELECT * FROM pg_temp.last_audit('au-a');
-- Below admin: 403, and nothing created.
SELECT status, body FROM pg_temp.req('POST', '/v1/users', '', :'tok_m',
	'{"email": "y@au-a.example", "first_name": "X", "last_name": "Y", "role": "viewer", "password": "Qzx7#Wvk9"}');
SELECT count(*) AS created FROM commitopt.users WHERE email IN ('x@au-a.example', 'y@au-a.example');

-- Read one: 200; Bob of tenant B, an unknown id or no uuid: the same 404.
SELECT status, body ->> 'email' AS email, body ->> 'must_change_password' AS must_change
  FROM pg_temp.req('GET', '/v1/users/' || :'nia', '', :'tok_a');
SELECT status, body FROM pg_temp.req('GET', '/v1/users/' || :'bob', '', :'tok_a');
SELECT status, body FROM pg_temp.req('GET', '/v1/users/' || gen_random_uuid(), '', :'tok_a');
SELECT status, body FROM pg_temp.req('GET', '/v1/users/nope', '', :'tok_a');
SELECT status FROM pg_temp.req('GET', '/v1/users/' || :'nia', '', :'tok_v');
SELECT * FROM pg_temp.last_audit('au-a');

-- Change: Max member -> viewer (narrower: applied to his session at once).
SELECT status, body ->> 'role' AS role
  FROM pg_temp.req('PATCH', '/v1/users/' || :'max', '', :'tok_a', '{"role": "viewer"}');
SELECT status, body -> 'user' ->> 'role' AS role FROM pg_temp.call('GET', '/v1/me', :'tok_m');
SELECT status, body ->> 'first_name' AS first_name, body ->> 'role' AS role
  FROM pg_temp.req('PATCH', '/v1/users/' || :'max', '', :'tok_a',
				   '{"first_name": "Maxim", "role": "member"}');
-- A wider role ends Max's sessions: he logs in again to get it.
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_m');
SELECT pg_temp.user_login('max@au-a.example', 'Tr4vel#Kite') AS tok_m \gset
SELECT status, body -> 'user' ->> 'role' AS role FROM pg_temp.call('GET', '/v1/me', :'tok_m');
SELECT status, body FROM pg_temp.req('PATCH', '/v1/users/' || :'bob', '', :'tok_a', '{"role": "viewer"}');
SELECT role FROM commitopt.users WHERE user_id = :'bob';
SELECT status, body FROM pg_temp.req('PATCH', '/v1/users/' || :'max', '', :'tok_a', '{"role": "boss"}');
SELECT status, body FROM pg_temp.req('PATCH', '/v1/users/' || :'max', '', :'tok_a', '{}');
SELECT status, body FROM pg_temp.req('PATCH', '/v1/users/' || :'max', '', :'tok_a', '{"disabled": "yes"}');
SELECT status, body FROM pg_temp.req('PATCH', '/v1/users/' || :'max', '', :'tok_a', '{"password": "x"}');
-- All or nothing: a valid first name with an invalid e-mail changes nothing.
SELECT status, body FROM pg_temp.req('PATCH', '/v1/users/' || :'max', '', :'tok_a',
									 '{"first_name": "Mx", "email": "bad"}');
SELECT first_name FROM commitopt.users WHERE user_id = :'max';
-- Ada is the only admin: she cannot demote or disable herself.
SELECT status, body FROM pg_temp.req('PATCH', '/v1/users/' || :'ada', '', :'tok_a', '{"role": "member"}');
SELECT status, body FROM pg_temp.req('PATCH', '/v1/users/' || :'ada', '', :'tok_a', '{"disabled": true}');
SELECT status, body FROM pg_temp.req('PATCH', '/v1/users/' || :'vic', '', :'tok_m', '{"role": "admin"}');
-- Disable Vic: her session ends; enable her again.
SELECT status, body ->> 'disabled' AS disabled
  FROM pg_temp.req('PATCH', '/v1/users/' || :'vic', '', :'tok_a', '{"disabled": true}');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_v');
SELECT status, body ->> 'disabled' AS disabled
  FROM pg_temp.req('PATCH', '/v1/users/' || :'vic', '', :'tok_a', '{"disabled": false}');
SELECT * FROM pg_temp.last_audit('au-a');

-- Reset a password: 200, Nia must change it; bad input 400/422; Bob 404;
-- one's own 409 (POST /v1/me/password is for that).
SELECT status, body FROM pg_temp.req('POST', '/v1/users/' || :'nia' || '/password', '', :'tok_a',
									 '{"temporary_password": "Temp#0rary1"}');
SELECT must_change_password FROM commitopt.users WHERE user_id = :'nia';
SELECT status, body FROM pg_temp.req('POST', '/v1/users/' || :'nia' || '/password', '', :'tok_a', '{}');
SELECT status, body -> 'error' ->> 'code' AS code
  FROM pg_temp.req('POST', '/v1/users/' || :'nia' || '/password', '', :'tok_a',
				   '{"temporary_password": "password"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/users/' || :'bob' || '/password', '', :'tok_a',
									 '{"temporary_password": "Temp#0rary1"}');
SELECT status, body FROM pg_temp.req('POST', '/v1/users/' || :'ada' || '/password', '', :'tok_a',
									 '{"temporary_password": "Temp#0rary1"}');
SELECT status FROM pg_temp.req('POST', '/v1/users/' || :'nia' || '/password', '', :'tok_m',
							   '{"temporary_password": "Temp#0rary1"}');
SELECT * FROM pg_temp.last_audit('au-a');

-- Delete: Bob (tenant B) 404 and still there; herself 409; Nia 200, then
-- 404; a member 403.
SELECT status, body FROM pg_temp.req('DELETE', '/v1/users/' || :'bob', '', :'tok_a');
SELECT count(*) AS bob_exists FROM commitopt.users WHERE user_id = :'bob';
SELECT status, body FROM pg_temp.req('DELETE', '/v1/users/' || :'ada', '', :'tok_a');
SELECT status, body FROM pg_temp.req('DELETE', '/v1/users/' || :'nia', '', :'tok_m');
SELECT status, body ->> 'deleted' = :'nia' AS deleted
  FROM pg_temp.req('DELETE', '/v1/users/' || :'nia', '', :'tok_a');
SELECT status, body FROM pg_temp.req('DELETE', '/v1/users/' || :'nia', '', :'tok_a');
SELECT * FROM pg_temp.last_audit('au-a');

-- Bob sees only tenant B.
SELECT jsonb_path_query_array(body, '$.items[*].email') AS emails
  FROM pg_temp.req('GET', '/v1/users', '', :'tok_b');

-- The audit trail: one api_request entry per call above, by route and
-- status (counted by hand from the calls of this file), details holding
-- the status only, and no password or body anywhere in the trail.
SELECT object AS route, details ->> 'status' AS status, count(*)
  FROM commitopt.audit_log
 WHERE tenant_id = commitopt.tenant_id('au-a') AND action = 'api_request'
   AND object ~ '/v1/users'
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS entries_with_more_than_status
  FROM commitopt.audit_log
 WHERE action = 'api_request' AND details - 'status' <> '{}';
SELECT count(*) AS password_in_trail
  FROM commitopt.audit_log
 WHERE details::text ~ '(Qzx7|Temp#0|Gr3en|Tr4vel|Bl4ck)';
-- Calls without a session are in the service's chain, not the tenant's.
SELECT count(*) > 0 AS unauthenticated_recorded
  FROM commitopt.audit_log
 WHERE tenant_id = commitopt.audit_service_tenant() AND action = 'api_request'
   AND object = 'GET /v1/users' AND details ->> 'status' = '401';

ROLLBACK;

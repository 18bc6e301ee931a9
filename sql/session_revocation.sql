-- Revocation in the same transaction as each kind of change, the session
-- routes, the forced password change, lockout, and tokens never accepted
-- from the query string (FC-10).
\getenv datadir COMMITOPT_DATA
\i :datadir/fixtures/sessions/helpers.sql
SELECT pg_temp.at('2024-06-01 10:00:00+00');
SELECT commitopt.create_tenant_with_admin('sr-acme', 'Acme', 'ada@sr-acme.example',
	'Ada', 'Admin', 'Gr3en#Field') AS ada \gset
SELECT commitopt.create_user(:'ada', 'max@sr-acme.example', 'Max', 'Member',
							 'member', 'Tr4vel#Kite') AS max \gset

-- Max must change the password first: every route but the password change
-- is 403; a wrong current password 403; a weak new one 422.
SELECT pg_temp.login('max@sr-acme.example', 'Tr4vel#Kite') AS tok_m \gset
SELECT status, body FROM pg_temp.call('GET', '/v1/me', :'tok_m');
SELECT status, body FROM pg_temp.call('GET', '/v1/sessions', :'tok_m');
SELECT status, body FROM pg_temp.call('POST', '/v1/me/password', :'tok_m',
	'{"current_password": "wrong", "new_password": "Bl4ck#Stone"}');
SELECT status, body -> 'error' ->> 'code' AS code,
	   body -> 'error' ->> 'message' AS message
  FROM pg_temp.call('POST', '/v1/me/password', :'tok_m',
	'{"current_password": "Tr4vel#Kite", "new_password": "short"}');
SELECT status, body FROM pg_temp.call('POST', '/v1/me/password', :'tok_m', '{"new_password": 5}');
SELECT status, body FROM pg_temp.call('POST', '/v1/me/password', :'tok_m', '{not json');
-- JSON nested 50,000 deep exhausts the parser's stack: still a 400
SELECT status, body FROM pg_temp.call('POST', '/v1/me/password', :'tok_m',
	repeat('[', 50000) || repeat(']', 50000));
SELECT status, body FROM pg_temp.call('POST', '/v1/me/password', :'tok_m',
	'{"current_password": "Tr4vel#Kite", "new_password": "Bl4ck#Stone"}');
SELECT status, body -> 'user' ->> 'role' AS role,
	   body -> 'user' ->> 'must_change_password' AS must_change
  FROM pg_temp.call('GET', '/v1/me', :'tok_m');

-- A second session of Max; changing the password keeps the session that
-- made the change and ends the other one.
SELECT pg_temp.login('max@sr-acme.example', 'Bl4ck#Stone') AS tok_m2 \gset
SELECT jsonb_array_length(body -> 'sessions') AS live_sessions
  FROM pg_temp.call('GET', '/v1/sessions', :'tok_m');
SELECT status FROM pg_temp.call('POST', '/v1/me/password', :'tok_m',
	'{"current_password": "Bl4ck#Stone", "new_password": "Qzx7#Wvk9"}');
SELECT (SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_m')) AS changer,
	   (SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_m2')) AS other;

-- A narrower role (member -> viewer) is applied to live sessions at once.
SELECT commitopt.update_user(:'ada', :'max', role => 'viewer');
SELECT status, body -> 'user' ->> 'role' AS role FROM pg_temp.call('GET', '/v1/me', :'tok_m');
-- A wider one (viewer -> admin) ends them: log in again to get it.
SELECT commitopt.update_user(:'ada', :'max', role => 'admin');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_m');
SELECT commitopt.update_user(:'ada', :'max', role => 'member');
-- A profile change without a role change keeps sessions.
SELECT pg_temp.login('max@sr-acme.example', 'Qzx7#Wvk9') AS tok_m \gset
SELECT commitopt.update_user(:'ada', :'max', first_name => 'Maxim');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_m');
-- Reset by an admin: ended, and the new session must change the password.
SELECT commitopt.reset_password(:'ada', :'max', 'Temp#0rary1');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_m');
-- Such a session may still end itself (a shared machine): logout works
-- before the change, and the session is gone.
SELECT pg_temp.login('max@sr-acme.example', 'Temp#0rary1') AS tok_gone \gset
SELECT status, body FROM pg_temp.call('POST', '/v1/logout', :'tok_gone');
SELECT status FROM pg_temp.call('POST', '/v1/me/password', :'tok_gone',
	'{"current_password": "Temp#0rary1", "new_password": "Zebra#Run55"}');
SELECT pg_temp.login('max@sr-acme.example', 'Temp#0rary1') AS tok_m \gset
SELECT status, body -> 'error' ->> 'code' AS code FROM pg_temp.call('GET', '/v1/me', :'tok_m');
SELECT status FROM pg_temp.call('POST', '/v1/me/password', :'tok_m',
	'{"current_password": "Temp#0rary1", "new_password": "Zebra#Run55"}');
-- An admin ends a user's sessions.
SELECT commitopt.revoke_user_sessions(:'ada', :'max') AS ended;
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_m');
-- Disabling ends them, and the user cannot log in.
SELECT pg_temp.login('max@sr-acme.example', 'Zebra#Run55') AS tok_m \gset
SELECT commitopt.disable_user(:'ada', :'max');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_m');
SELECT pg_temp.login('max@sr-acme.example', 'Zebra#Run55') IS NULL AS refused;
SELECT commitopt.disable_user(:'ada', :'max', false);
-- Deletion ends them.
SELECT pg_temp.login('max@sr-acme.example', 'Zebra#Run55') AS tok_m \gset
SELECT commitopt.delete_user(:'ada', :'max');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_m');
-- Every revocation is in the audit trail with its reason.
SELECT details ->> 'reason' AS reason, count(*)
  FROM commitopt.audit_log
 WHERE action = 'session_revoked' AND details ->> 'user' = :'max'
 GROUP BY 1 ORDER BY 1;
SELECT action, count(*) FROM commitopt.audit_log
 WHERE tenant_id = commitopt.tenant_id('sr-acme')
   AND action IN ('role_changed', 'password_changed', 'password_reset',
				  'user_created', 'user_changed', 'user_disabled', 'user_deleted')
 GROUP BY 1 ORDER BY 1;

-- Logout, logout of all sessions, and ending one session by id.
SELECT pg_temp.login('ada@sr-acme.example', 'Gr3en#Field') AS tok_1 \gset
SELECT pg_temp.login('ada@sr-acme.example', 'Gr3en#Field') AS tok_2 \gset
SELECT pg_temp.login('ada@sr-acme.example', 'Gr3en#Field') AS tok_3 \gset
SELECT status, body, headers ->> 'Set-Cookie' AS cookie FROM pg_temp.call('POST', '/v1/logout', :'tok_1');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_1');
SELECT session_id AS sid3 FROM commitopt.sessions WHERE token_hash = commitopt.token_hash(:'tok_3') \gset
SELECT status, body FROM pg_temp.call('DELETE', '/v1/sessions/' || :'sid3', :'tok_2');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_3');
SELECT status, body FROM pg_temp.call('DELETE', '/v1/sessions/' || :'sid3', :'tok_2');
SELECT status, body FROM pg_temp.call('DELETE', '/v1/sessions/not-a-uuid', :'tok_2');
SELECT pg_temp.login('ada@sr-acme.example', 'Gr3en#Field') AS tok_4 \gset
SELECT status, body FROM pg_temp.call('POST', '/v1/logout-all', :'tok_2');
SELECT (SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_2')) AS s2,
	   (SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_4')) AS s4;

-- Routing: unknown route 404, wrong method 405 with Allow, no session 401.
SELECT pg_temp.login('ada@sr-acme.example', 'Gr3en#Field') AS tok \gset
SELECT status, body FROM pg_temp.call('GET', '/v1/nothing', :'tok');
SELECT status, headers ->> 'Allow' AS allow, body FROM pg_temp.call('DELETE', '/v1/me', :'tok');
SELECT status, body FROM pg_temp.call('GET', '/v1/me');
SELECT status, body FROM pg_temp.call('GET', '/v1/me', 'not a token');
-- The login response: token of 43 base64url characters (256 bits), cookie.
SELECT status, d.body::jsonb ->> 'token' ~ '^[A-Za-z0-9_-]{43}$' AS token_format,
	   regexp_replace(headers ->> 'Set-Cookie', '=[A-Za-z0-9_-]{43};', '=<token>;') AS cookie,
	   d.body::jsonb -> 'user' ->> 'role' AS role
  FROM api.dispatch('POST', '/v1/login', '', '{}',
					'{"email": "ADA@sr-acme.example", "password": "Gr3en#Field"}', '192.0.2.10') d;
-- Only the hash is stored: 32 bytes, and no stored value equals a token.
SELECT octet_length(token_hash) AS hash_bytes, count(*) > 0 AS some
  FROM commitopt.sessions GROUP BY 1;
-- The cookie is accepted; the query string never is (FC-10).
SELECT status FROM api.dispatch('GET', '/v1/me', '', jsonb_build_object('cookie', 'theme=dark; __Host-commitopt_session=' || :'tok'), NULL, NULL);
SELECT status FROM api.dispatch('GET', '/v1/me', 'session=' || :'tok', '{}', NULL, NULL);
SELECT status FROM api.dispatch('GET', '/v1/me', 'token=' || :'tok', '{}', NULL, NULL);
-- The token appears nowhere in the audit trail.
SELECT count(*) AS token_in_audit FROM commitopt.audit_log
 WHERE details::text LIKE '%' || :'tok' || '%' OR object LIKE '%' || :'tok' || '%';

-- Login failures: one answer for an unknown address, a wrong password and
-- a disabled user; bad bodies are 400.
SELECT status, body FROM api.dispatch('POST', '/v1/login', '', '{}',
	'{"email": "nobody@sr-acme.example", "password": "Gr3en#Field"}', '192.0.2.20');
SELECT status, body FROM api.dispatch('POST', '/v1/login', '', '{}',
	'{"email": "ada@sr-acme.example", "password": "wrong"}', '192.0.2.20');
SELECT status, body FROM api.dispatch('POST', '/v1/login', '', '{}', '{"email": "ada@sr-acme.example"}', '192.0.2.20');
SELECT status, body FROM api.dispatch('POST', '/v1/login', '', '{}', '[1, 2]', '192.0.2.20');
SELECT status, body FROM api.dispatch('POST', '/v1/login', '', '{}', NULL, '192.0.2.20');

-- Lockout: with 3 failures in 15 min allowed, the 3rd locks the account
-- (the wrong password at 10:00 above is the 1st; 10:05 the 2nd and 3rd,
-- both still 401); then even the right password is refused (429) until
-- 15 min after the lock.
SET commitopt.login_max_failures = 3;
SELECT pg_temp.at('2024-06-01 10:05:00+00');
SELECT status FROM api.dispatch('POST', '/v1/login', '', '{}',
	'{"email": "ada@sr-acme.example", "password": "wrong2"}', '192.0.2.21');
SELECT status FROM api.dispatch('POST', '/v1/login', '', '{}',
	'{"email": "ada@sr-acme.example", "password": "wrong3"}', '192.0.2.21');
SELECT status, body FROM api.dispatch('POST', '/v1/login', '', '{}',
	'{"email": "ada@sr-acme.example", "password": "Gr3en#Field"}', '192.0.2.21');
SELECT count(*) AS lock_entries FROM commitopt.audit_log
 WHERE action = 'account_locked' AND actor_user = :'ada';
-- 10:05 + 15 min = 10:20: 10:19:59 still locked, 10:20:00 open
SELECT pg_temp.at('2024-06-01 10:19:59+00');
SELECT status FROM api.dispatch('POST', '/v1/login', '', '{}',
	'{"email": "ada@sr-acme.example", "password": "Gr3en#Field"}', '192.0.2.21');
SELECT pg_temp.at('2024-06-01 10:20:00+00');
SELECT status FROM api.dispatch('POST', '/v1/login', '', '{}',
	'{"email": "ada@sr-acme.example", "password": "Gr3en#Field"}', '192.0.2.21');
-- An unknown address is locked the same way (3 failures, then 429), so a
-- lockout tells nothing.
SELECT i, d.status FROM generate_series(1, 4) i,
	LATERAL api.dispatch('POST', '/v1/login', '', '{}',
		jsonb_build_object('email', 'ghost@sr-acme.example', 'password', 'x' || i)::text,
		'192.0.2.22') d;
-- Per client address: 5 failures (401) in the window, then 429 for any
-- account, the right password included.
SET commitopt.login_max_address_failures = 5;
SELECT pg_temp.at('2024-06-01 11:00:00+00');
SELECT i, d.status FROM generate_series(1, 6) i,
	LATERAL api.dispatch('POST', '/v1/login', '', '{}',
		jsonb_build_object('email', 'user' || i || '@sr-acme.example', 'password', 'x')::text,
		'198.51.100.7') d;
SELECT status FROM api.dispatch('POST', '/v1/login', '', '{}',
	'{"email": "ada@sr-acme.example", "password": "Gr3en#Field"}', '198.51.100.7');
SELECT details ->> 'reason' AS reason, count(*) FROM commitopt.audit_log
 WHERE action = 'login_failure' AND client_addr = '198.51.100.7' GROUP BY 1 ORDER BY 1;
RESET commitopt.login_max_failures;
RESET commitopt.login_max_address_failures;

-- The reaper removes ended sessions only.
SELECT pg_temp.at('2024-06-01 12:00:00+00');
SELECT pg_temp.login('ada@sr-acme.example', 'Gr3en#Field') IS NOT NULL AS live;
SELECT commitopt.sessions_reap() > 0 AS reaped_some;
SELECT count(*) AS left_sessions FROM commitopt.sessions
 WHERE tenant_id = commitopt.tenant_id('sr-acme');
RESET commitopt.clock;

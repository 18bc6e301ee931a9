-- Session time limits at their exact boundaries (idle 30 min, absolute
-- 1 h, FC-09), the throttle of activity writes, and the claim: hand-set,
-- altered, expired, session-level SET.
\getenv datadir COMMITOPT_DATA
\i :datadir/fixtures/sessions/helpers.sql
SELECT commitopt.create_tenant_with_admin('sx-acme', 'Acme', 'ann@sx-acme.example',
	'Ann', 'Admin', 'Gr3en#Field') AS ann \gset

-- FC-09 timeline A: login 09:00:00; requests at 09:10, 09:35 and 09:59:59
-- are 200 (each within 30 min of the previous, and before 10:00:00);
-- 10:00:00 and 10:00:01 are 401 (elapsed >= 1 h, although active).
SELECT pg_temp.at('2024-05-01 09:00:00+00');
SELECT pg_temp.login('ann@sx-acme.example', 'Gr3en#Field') AS tok_a \gset
SELECT pg_temp.at('2024-05-01 09:10:00+00');
-- expires_at = least(09:10 + 30 min, 09:00 + 1 h) = 09:40 UTC, shown in
-- pg_regress's time zone PST8PDT as 02:40-07:00
SELECT status, body -> 'session' ->> 'expires_at' AS expires_at FROM pg_temp.call('GET', '/v1/me', :'tok_a');
SELECT pg_temp.at('2024-05-01 09:35:00+00');
-- least(09:35 + 30 min, 10:00) = 10:00 UTC = 03:00-07:00
SELECT status, body -> 'session' ->> 'expires_at' AS expires_at FROM pg_temp.call('GET', '/v1/me', :'tok_a');
SELECT pg_temp.at('2024-05-01 09:59:59+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_a');
SELECT pg_temp.at('2024-05-01 10:00:00+00');
SELECT status, body FROM pg_temp.call('GET', '/v1/me', :'tok_a');
SELECT pg_temp.at('2024-05-01 10:00:01+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_a');
-- Logging in again makes a new session; the old token stays invalid.
SELECT pg_temp.login('ann@sx-acme.example', 'Gr3en#Field') AS tok_a2 \gset
SELECT :'tok_a' <> :'tok_a2' AS new_token,
	   (SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_a2')) AS new_status,
	   (SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_a')) AS old_status;

-- FC-09 timeline B: login 12:00:00; 12:10:00 is 200; 12:40:00 (exactly
-- 30 min idle) is 401, and so is 12:40:01.
SELECT pg_temp.at('2024-05-01 12:00:00+00');
SELECT pg_temp.login('ann@sx-acme.example', 'Gr3en#Field') AS tok_b \gset
SELECT pg_temp.at('2024-05-01 12:10:00+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_b');
SELECT pg_temp.at('2024-05-01 12:40:00+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_b');
SELECT pg_temp.at('2024-05-01 12:40:01+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_b');

-- Idle 29:59 is valid, and the absolute limit at 59:59 and 60:00 with an
-- active user: login 14:00:00, 14:29:59 (idle 29:59) 200, 14:59:58 (idle
-- 29:59) 200, 14:59:59 (age 59:59) 200, 15:00:00 (age 60:00) 401.
SELECT pg_temp.at('2024-05-01 14:00:00+00');
SELECT pg_temp.login('ann@sx-acme.example', 'Gr3en#Field') AS tok_c \gset
SELECT pg_temp.at('2024-05-01 14:29:59+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_c');
SELECT pg_temp.at('2024-05-01 14:59:58+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_c');
SELECT pg_temp.at('2024-05-01 14:59:59+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_c');
SELECT pg_temp.at('2024-05-01 15:00:00+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_c');

-- Throttled activity writes end a session early, never late: with a 60 s
-- interval, the request at 16:00:30 is not recorded, so the session ends
-- at 16:30:00 (30 min after the recorded 16:00:00), not at 16:30:30.
SET commitopt.session_touch_interval = 60;
SELECT pg_temp.at('2024-05-01 16:00:00+00');
SELECT pg_temp.login('ann@sx-acme.example', 'Gr3en#Field') AS tok_d \gset
SELECT pg_temp.at('2024-05-01 16:00:30+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_d');
SELECT last_activity FROM commitopt.sessions WHERE token_hash = commitopt.token_hash(:'tok_d');
SELECT pg_temp.at('2024-05-01 16:30:00+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_d');
SET commitopt.session_touch_interval = 0;
-- A shorter idle timeout applies to live sessions at once.
SELECT pg_temp.at('2024-05-01 17:00:00+00');
SELECT pg_temp.login('ann@sx-acme.example', 'Gr3en#Field') AS tok_e \gset
SET commitopt.session_idle_timeout = '5min';
SELECT pg_temp.at('2024-05-01 17:05:00+00');
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_e');
RESET commitopt.session_idle_timeout;

-- The settings are superuser-only, and bad values are refused.
SET commitopt.session_max_age = '10s';
SET commitopt.clock = 'not a time';
SELECT commitopt.clock_now();
RESET commitopt.clock;
CREATE ROLE sx_plain;
SET ROLE sx_plain;
SET commitopt.session_idle_timeout = '2h';
SET commitopt.clock = '2030-01-01 00:00:00+00';
RESET ROLE;
DROP ROLE sx_plain;

-- The claim.  No claim after a request: it is dropped before the entry
-- point returns, and a transaction-local setting ends with its
-- transaction anyway.
SELECT pg_temp.at('2024-05-01 18:00:00+00');
SELECT pg_temp.login('ann@sx-acme.example', 'Gr3en#Field') AS tok_f \gset
SELECT status FROM pg_temp.call('GET', '/v1/me', :'tok_f');
SELECT commitopt.current_tenant() IS NULL AS no_tenant,
	   commitopt.current_user_id() IS NULL AS no_user;
SELECT commitopt.tenant_id('sx-acme') AS acme \gset
SELECT commitopt.ensure_tenant('sx-globex', 'Globex') AS globex \gset
SELECT session_id AS sid FROM commitopt.sessions WHERE user_id = :'ann'
 ORDER BY created_at DESC LIMIT 1 \gset
-- A claim signed by the server (minted here by the superuser), valid until
-- 18:30, set locally: it gives the tenant, user, role and session.
SELECT commitopt.claim_mint(:'acme', :'ann', 'admin', :'sid', '2024-05-01 18:30:00+00') AS claim \gset
SELECT :'claim' ~ '^v1:[0-9a-f-]{36}:[0-9a-f-]{36}:admin:[0-9a-f-]{36}:[0-9]+:[0-9a-f]{64}$' AS claim_format;
BEGIN;
SELECT set_config('commitopt.claim', :'claim', true) IS NOT NULL AS set;
SELECT commitopt.current_tenant() = :'acme' AS tenant,
	   commitopt.current_user_id() = :'ann' AS user_id,
	   commitopt.current_user_role() AS role,
	   commitopt.current_session_id() = :'sid' AS session;
-- the same value SET for the session within the transaction: ignored
SET commitopt.claim = :'claim';
SELECT commitopt.current_tenant() IS NULL AS no_tenant;
SET LOCAL commitopt.claim = :'claim';
SELECT commitopt.current_tenant() = :'acme' AS tenant;
COMMIT;
-- after commit: gone
SELECT commitopt.current_tenant() IS NULL AS no_tenant;
-- session-level SET of a valid claim: ignored
SET commitopt.claim = :'claim';
SELECT commitopt.current_tenant() IS NULL AS no_tenant;
RESET commitopt.claim;
-- hand-set, altered (another tenant's id, same signature), bad signature,
-- truncated, and expired (18:30 <= 18:30) claims: no tenant
BEGIN;
SET LOCAL commitopt.claim = 'v1:00000000-0000-0000-0000-000000000001:00000000-0000-0000-0000-000000000002:admin:00000000-0000-0000-0000-000000000003:999999999999999:00';
SELECT commitopt.current_tenant() IS NULL AS hand_set;
SELECT set_config('commitopt.claim', regexp_replace(:'claim', '^v1:[^:]+', 'v1:' || :'globex'), true) IS NOT NULL AS set;
SELECT commitopt.current_tenant() IS NULL AS altered;
SELECT set_config('commitopt.claim', left(:'claim', -1) || CASE right(:'claim', 1) WHEN '0' THEN '1' ELSE '0' END, true) IS NOT NULL AS set;
SELECT commitopt.current_tenant() IS NULL AS bad_signature;
SELECT set_config('commitopt.claim', left(:'claim', 50), true) IS NOT NULL AS set;
SELECT commitopt.current_tenant() IS NULL AS truncated;
COMMIT;
SELECT pg_temp.at('2024-05-01 18:30:00+00');
BEGIN;
SET LOCAL commitopt.claim = :'claim';
SELECT commitopt.current_tenant() IS NULL AS expired;
COMMIT;
SELECT pg_temp.at('2024-05-01 18:29:59+00');
BEGIN;
SET LOCAL commitopt.claim = :'claim';
SELECT commitopt.current_tenant() = :'acme' AS valid_until_expiry;
COMMIT;
-- Only a superuser may read the setting, so a caller cannot read a live
-- claim back.
CREATE ROLE sx_reader;
SET ROLE sx_reader;
SHOW commitopt.claim;
RESET ROLE;
DROP ROLE sx_reader;
-- The server key file is private to the server's user.
SELECT (pg_stat_file('commitopt_claim.key')).size AS key_bytes;
RESET commitopt.clock;

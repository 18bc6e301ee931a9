-- FC-08: password history.  A rejected change records nothing; the 24
-- most recent passwords count, the current one included; reuse is found
-- by hashing the candidate under each entry's own salt and cost, also
-- after the cost settings change.
SET commitopt.password_hash_memory = 64;   -- tests only: cheap hashes
SET commitopt.password_hash_iterations = 1;

SELECT commitopt.create_tenant_with_admin('users-fc08', 'FC-08', 'u1@fc08.example',
	'Uma', 'Ulrich', 'Gr3en#Field') AS u1 \gset
-- history(): how many entries u1 has.
CREATE FUNCTION pg_temp.history() RETURNS bigint LANGUAGE sql
RETURN (SELECT count(*) FROM commitopt.password_history h
		 JOIN commitopt.users u USING (tenant_id, user_id)
		 WHERE u.email = 'u1@fc08.example');
-- p(n): the n-th password.  P0 is 'Gr3en#Field', P1 'Bl4ck#Stone', then
-- 'Pw02#Kqzv' .. 'Pw24#Kqzv' (9 characters, 4 classes, not on the list).
CREATE FUNCTION pg_temp.p(n int) RETURNS text LANGUAGE sql
RETURN CASE n WHEN 0 THEN 'Gr3en#Field' WHEN 1 THEN 'Bl4ck#Stone'
		 ELSE format('Pw%s#Kqzv', lpad(n::text, 2, '0')) END;

-- Step 1: a wrong current password: rejected, the history keeps its one
-- entry (P0).
SELECT pg_temp.history() AS before;
SELECT commitopt.change_password(:'u1', 'Wr0ng#Field', pg_temp.p(1));
SELECT pg_temp.history() AS after;
-- A change another rule rejects records nothing either.
SELECT commitopt.change_password(:'u1', pg_temp.p(0), 'short');
SELECT pg_temp.history() AS after_policy_failure;

-- Step 2: the right current password: P1 is set; 2 entries.
SELECT commitopt.change_password(:'u1', pg_temp.p(0), pg_temp.p(1));
SELECT pg_temp.history() AS entries;

-- Step 3: P2..P23, half of them after the cost rises (m=64,t=1 for P0..P11,
-- m=128,t=2 from P12 on).  History: P0..P23, 24 entries.
DO $$
BEGIN
	FOR n IN 2..23 LOOP
		IF n = 12 THEN
			SET commitopt.password_hash_memory = 128;
			SET commitopt.password_hash_iterations = 2;
		END IF;
		PERFORM commitopt.change_password(
			(SELECT user_id FROM commitopt.users WHERE email = 'u1@fc08.example'),
			pg_temp.p(n - 1), pg_temp.p(n));
	END LOOP;
END
$$;
SELECT pg_temp.history() AS entries;
SELECT substring(h.password_hash from '^\$argon2id\$v=19\$([^$]*)\$') AS cost,
	   count(*)
  FROM commitopt.password_history h WHERE h.user_id = :'u1'
 GROUP BY 1 ORDER BY 1;
-- P0 is the 24th most recent (P0..P23): refused, though hashed at the old
-- cost; P11, the last at the old cost, too; P12 at the new cost too.
SELECT commitopt.change_password(:'u1', pg_temp.p(23), pg_temp.p(0));
SELECT rule FROM commitopt.password_check_for_user(:'u1', pg_temp.p(11));
SELECT rule FROM commitopt.password_check_for_user(:'u1', pg_temp.p(12));
SELECT rule FROM commitopt.password_check_for_user(:'u1', pg_temp.p(23));
-- Set P24: the last 24 are P1..P24, P0 is the 25th and accepted; P1, now
-- the 24th, is still refused.  The history stays at 24 entries.
SELECT commitopt.change_password(:'u1', pg_temp.p(23), pg_temp.p(24));
SELECT pg_temp.history() AS entries;
SELECT rule FROM commitopt.password_check_for_user(:'u1', pg_temp.p(1));
SELECT commitopt.change_password(:'u1', pg_temp.p(24), pg_temp.p(0));
SELECT pg_temp.history() AS entries;
SELECT count(*) AS p0_logs_in FROM commitopt.verify_login('u1@fc08.example', pg_temp.p(0));

-- No entry is a plain or unsalted digest: every one (P2..P24, P0) is an
-- argon2id string with its own salt, none holds the password.
SELECT count(*) AS entries,
	   count(*) FILTER (WHERE h.password_hash ~ '^\$argon2id\$v=19\$m=[0-9]+,t=[0-9]+,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$') AS argon2id,
	   count(DISTINCT h.password_hash) AS distinct_hashes,
	   count(*) FILTER (WHERE position('Gr3en' in h.password_hash) > 0) AS plain
  FROM commitopt.password_history h WHERE h.user_id = :'u1';

-- A smaller history setting shortens what counts: with 3, only P0, P24
-- and P23 count: P23 is refused, P22 (the 4th most recent) allowed.
SET commitopt.password_history = 3;
SELECT rule FROM commitopt.password_check_for_user(:'u1', pg_temp.p(23));
SELECT rule FROM commitopt.password_check_for_user(:'u1', pg_temp.p(22));
RESET commitopt.password_history;

-- Leave nothing behind for other tests.
DELETE FROM commitopt.tenants WHERE slug LIKE 'users-%';

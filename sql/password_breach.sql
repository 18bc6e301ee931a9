-- The breached-password check against a local HTTPS fake of a k-anonymity
-- range service (test/fakes/breach_fake.py).  The fake knows one breached
-- password, 'Bre4ched#Pass', and lists 'Pa55ed#Pad' as padding (count 0).
-- SHA-1 by hand (sha1sum):
--   Bre4ched#Pass  B1FA1 77A6F48ED2F855D418A7741BF1D38F5099F
--   Pa55ed#Pad     9B185 F27D2AED5A6244444399375197D4D8BBBEF
--   Qzx7#Wvk       2148D BB718FC53A61F3D76253A6B50D9D2D63537
-- Only the five-digit prefixes may reach the service.
\getenv datadir COMMITOPT_DATA
\! bash "$PG_ABS_SRCDIR/test/fakes/breach_fake.sh" start "$COMMITOPT_DATA/breach-fake" 'Bre4ched#Pass' 'pad:Pa55ed#Pad'
\set port `cat "$COMMITOPT_DATA/breach-fake/port"`
\set url 'https://127.0.0.1:' :port '/range/'
\set cafile :datadir '/breach-fake/ca.crt'
SET commitopt.password_hash_memory = 64;   -- tests only: cheap hashes
SET commitopt.password_hash_iterations = 1;

-- Off by default: nothing is asked.
SHOW commitopt.password_breach_check;
SELECT rule FROM commitopt.password_check('Bre4ched#Pass');

SET commitopt.password_breach_url = :'url';
SET commitopt.password_breach_ca_file = :'cafile';
SET commitopt.password_breach_check = on;
-- Known: refused; padding (count 0) and unknown: accepted.
SELECT * FROM commitopt.password_check('Bre4ched#Pass');
SELECT rule FROM commitopt.password_check('Pa55ed#Pad');
SELECT rule FROM commitopt.password_check('Qzx7#Wvk');
-- As one more rule in the one error.
SELECT commitopt.password_enforce('Bre4ched#Pass', 'Bob', 'Breached',
								  'bre4ched@example.com', NULL);
-- What the fake received: exactly five hex digits each time.
SELECT pg_read_file(:'cafile' || '/../requests.log');

-- Fail open, with a warning: a certificate not trusted (the system's CAs
-- do not know the fake), nobody listening.
SET commitopt.password_breach_ca_file = '';
\set VERBOSITY terse
SELECT rule FROM commitopt.password_check('Bre4ched#Pass');
SET commitopt.password_breach_ca_file = :'cafile';
-- Plain http is refused when set, so no lookup goes out in clear text;
-- the https URL stays.
SET commitopt.password_breach_url = 'http://127.0.0.1/range/';
SELECT current_setting('commitopt.password_breach_url') = :'url' AS still_https;
\! bash "$PG_ABS_SRCDIR/test/fakes/breach_fake.sh" stop "$COMMITOPT_DATA/breach-fake"
SELECT rule FROM commitopt.password_check('Bre4ched#Pass');
-- The password is then accepted (hashed) despite the failed check.
SELECT commitopt.password_enforce('Bre4ched#Pass', NULL, NULL, NULL, NULL)
	   LIKE '$argon2id$%' AS stored;
\set VERBOSITY default
-- The failed attempts were never answered with a breach; the log has
-- only the four lookups made while the fake was trusted.
SELECT pg_read_file(:'cafile' || '/../requests.log');

-- Superuser-only settings.
CREATE ROLE breach_user;
SET ROLE breach_user;
SET commitopt.password_breach_url = 'https://attacker.example/';
SET commitopt.password_breach_check = off;
RESET ROLE;
DROP ROLE breach_user;

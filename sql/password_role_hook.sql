-- Database roles' passwords meet the same policy (length, classes,
-- blocklist, and the role name as personal data) through PostgreSQL's
-- check_password_hook.  Roles without a password are not affected.
CREATE ROLE hook_nopass;
-- 'Qzx7#Wvk': 8 characters, 4 classes, not listed: accepted.
CREATE ROLE hook_analyst LOGIN PASSWORD 'Qzx7#Wvk';
-- 7 characters; 2 classes; 'P@ssw0rd1!' is common; all three at once.
CREATE ROLE hook_short LOGIN PASSWORD 'Qzx7#Wv';
CREATE ROLE hook_classes LOGIN PASSWORD 'qzxwvkmp7';
CREATE ROLE hook_common LOGIN PASSWORD 'P@ssw0rd1!';
CREATE ROLE hook_all LOGIN PASSWORD 'abc';
-- The role name (and its pieces split on . _ - +): 'analyst' is a piece of
-- hook_analyst; in any case, and reversed.
ALTER ROLE hook_analyst PASSWORD 'ANALYST#2024q';
ALTER ROLE hook_analyst PASSWORD 'tsylana#2024Q';
-- Multibyte characters count once: 'Ółęśąźż1' is 8 characters.
ALTER ROLE hook_analyst PASSWORD 'Ółęśąźż1';
ALTER ROLE hook_analyst PASSWORD 'Ółęśąź1';
SELECT rolname FROM pg_roles WHERE rolname LIKE 'hook\_%' ORDER BY 1;

-- Pre-hashed passwords cannot be checked: refused unless a superuser
-- allows them.  SCRAM and MD5 forms (psql's \password sends SCRAM).
ALTER ROLE hook_analyst PASSWORD 'SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$4WhAeMdeErz2ABgASwnbQkf3Ev8KZTtJJ8mbF9ByA8E=:pchxmA5bDLUdo56djV2S3BBz1UK0nL8Au9ts9lu3G2E=';
ALTER ROLE hook_analyst PASSWORD 'md5a3556571e93b0d20722ba62be61e8c2d';
SET commitopt.password_allow_prehashed = on;
ALTER ROLE hook_analyst PASSWORD 'md5a3556571e93b0d20722ba62be61e8c2d';
RESET commitopt.password_allow_prehashed;
SELECT rolname, left(rolpassword, 3) AS stored FROM pg_authid WHERE rolname = 'hook_analyst';

-- Removing a password is not a password to check.
ALTER ROLE hook_analyst PASSWORD NULL;

-- The hook can be switched off by a superuser only.
SET commitopt.password_role_check = off;
CREATE ROLE hook_weak LOGIN PASSWORD 'abc';
RESET commitopt.password_role_check;
SET ROLE hook_nopass;
SET commitopt.password_role_check = off;
SET commitopt.password_allow_prehashed = on;
RESET ROLE;

DROP ROLE hook_nopass, hook_analyst, hook_weak;

-- Console users: the operator's first admin, admin rights, the last admin,
-- password changes and resets, verify_login and its hash upgrade.
SET commitopt.password_hash_memory = 64;   -- tests only: cheap hashes
SET commitopt.password_hash_iterations = 1;

-- The operator creates a tenant with its first admin (no forced change).
SELECT commitopt.create_tenant_with_admin('users-acme', 'Acme Corp',
	'Ada.Admin@Acme.example', 'Ada', 'Admin', 'Gr3en#Field') AS ada \gset
-- Again, same tenant and e-mail in another case: the same user, unchanged.
SELECT commitopt.create_tenant_with_admin('users-acme', 'Acme Corp',
	'ada.admin@acme.EXAMPLE', 'Ada', 'Admin', 'Other#Pass1') = :'ada' AS same_user;
SELECT t.slug, u.email, u.first_name, u.last_name, u.role, u.disabled,
	   u.must_change_password,
	   u.password_hash ~ '^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$' AS argon2id_hash,
	   (SELECT count(*) FROM commitopt.password_history h
		 WHERE h.user_id = u.user_id AND h.password_hash = u.password_hash) AS history_entries
  FROM commitopt.users u JOIN commitopt.tenants t USING (tenant_id)
 WHERE t.slug = 'users-acme';
-- The address is unique across tenants, in any case.
SELECT commitopt.create_tenant_with_admin('users-globex', 'Globex',
	'ADA.ADMIN@acme.example', 'Ada', 'Admin', 'Gr3en#Field');
SELECT count(*) AS globex_tenants FROM commitopt.tenants WHERE slug = 'users-globex';
-- The first admin's password meets the policy too: 'Gus' is 3 letters,
-- the first name and the whole e-mail local part; nothing is created.
SELECT commitopt.create_tenant_with_admin('users-globex', 'Globex',
	'gus@globex.example', 'Gus', 'Grant', 'Gus#2024xyz');
SELECT count(*) AS globex_tenants FROM commitopt.tenants WHERE slug = 'users-globex';
SELECT commitopt.create_tenant_with_admin('users-globex', 'Globex',
	'gus@globex.example', 'Gus', 'Grant', 'Bl4ck#Stone') AS gus \gset

-- The admin creates users, who must choose a new password at first login.
SELECT commitopt.create_user(:'ada', 'Max.Member@acme.example', 'Max',
							 'Member', 'member', 'Tr4vel#Kite') AS max \gset
SELECT commitopt.create_user(:'ada', 'vic@acme.example', 'Vic', 'Viewer',
							 'viewer', 'Qzx7#Wvk') AS vic \gset
SELECT email, first_name, last_name, role, disabled, must_change_password
  FROM commitopt.tenant_users(:'max');

-- Bad input, each named in its error.
SELECT commitopt.create_user(:'ada', 'not-an-address', 'Nat', 'Nobody', 'member', 'Qzx7#Wvk');
SELECT commitopt.create_user(:'ada', 'two@@acme.example', 'Nat', 'Nobody', 'member', 'Qzx7#Wvk');
SELECT commitopt.create_user(:'ada', 'nat@acme.example', '  ', 'Nobody', 'member', 'Qzx7#Wvk');
SELECT commitopt.create_user(:'ada', 'nat@acme.example', 'Nat', repeat('x', 101), 'member', 'Qzx7#Wvk');
SELECT commitopt.create_user(:'ada', 'nat@acme.example', 'Nat', 'Nobody', 'owner', 'Qzx7#Wvk');
SELECT commitopt.create_user(:'ada', 'nat@acme.example', 'Nat', 'Nobody', NULL, 'Qzx7#Wvk');
SELECT commitopt.create_user(:'ada', 'MAX.member@acme.example', 'Nat', 'Nobody', 'member', 'Qzx7#Wvk');
-- 'Nobody1' is 7 characters and contains the last name.
SELECT commitopt.create_user(:'ada', 'nat@acme.example', 'Nat', 'Nobody', 'member', 'Nobody1');
SELECT commitopt.create_user(:'ada', 'nat@acme.example', 'Nat', 'Nobody', 'member', NULL);
-- Control and invisible characters are named by field, position and code
-- point, never quoted: a zero-width space (U+200B) is character 4 of
-- 'nat<ZWSP>@acme.example'; the line feed ends 'nat@acme.example' (16
-- characters) as character 17; a byte-order mark (U+FEFF) opens the
-- address; BEL (U+0007) is character 4 of the first name 'Nat<BEL>'; a
-- right-to-left override (U+202E) is character 3 of 'No<RLO>body'.
SELECT commitopt.create_user(:'ada', E'nat\u200b@acme.example', 'Nat', 'Nobody', 'member', 'Qzx7#Wvk');
SELECT commitopt.create_user(:'ada', E'nat@acme.example\n', 'Nat', 'Nobody', 'member', 'Qzx7#Wvk');
\set VERBOSITY terse
SELECT commitopt.create_user(:'ada', E'\ufeffnat@acme.example', 'Nat', 'Nobody', 'member', 'Qzx7#Wvk');
\set VERBOSITY default
SELECT commitopt.create_user(:'ada', 'nat@acme.example', E'Nat\u0007', 'Nobody', 'member', 'Qzx7#Wvk');
SELECT commitopt.create_user(:'ada', 'nat@acme.example', 'Nat', E'No\u202ebody', 'member', 'Qzx7#Wvk');
-- Names of white space only, in any script, are blank: a no-break space
-- and an ideographic space (U+00A0 U+3000); a zero-width joiner alone
-- (U+200D).  A tab alone is a control character (character 1, U+0009).
\set VERBOSITY terse
SELECT commitopt.create_user(:'ada', 'nat@acme.example', E'\u00a0\u3000', 'Nobody', 'member', 'Qzx7#Wvk');
SELECT commitopt.create_user(:'ada', 'nat@acme.example', 'Nat', E'\u200d', 'member', 'Qzx7#Wvk');
SELECT commitopt.create_user(:'ada', 'nat@acme.example', E'\t', 'Nobody', 'member', 'Qzx7#Wvk');
-- update_user checks the same way: U+200B is character 4 of the address.
SELECT commitopt.update_user(:'ada', :'max', email => E'max\u200b@acme.example');
\set VERBOSITY default
-- A zero-width non-joiner inside a name is allowed (Persian and Indic
-- names need it): no error, one empty row.
SELECT commitopt.user_check_profile('mina@acme.example', E'Mi\u200cna', 'Nobody', 'member');
-- A password with a control character (a tab at the end) is refused with
-- the policy's error, naming the field and not the password.
SELECT commitopt.create_user(:'ada', 'nat@acme.example', 'Nat', 'Nobody', 'member', E'Qzx7#Wvk\t');
SELECT count(*) AS acme_users FROM commitopt.users WHERE tenant_id = commitopt.tenant_id('users-acme');

-- Rights: members and viewers manage nobody; an admin of another tenant
-- does not see this tenant's users; an unknown acting user is refused.
SELECT commitopt.create_user(:'max', 'nat@acme.example', 'Nat', 'Nobody', 'member', 'Qzx7#Wvk');
SELECT commitopt.update_user(:'vic', :'max', role => 'admin');
SELECT commitopt.delete_user(:'max', :'vic');
\set VERBOSITY terse
SELECT commitopt.update_user(:'gus', :'max', first_name => 'Maxime');
SELECT commitopt.delete_user(:'gus', :'vic');
SELECT commitopt.reset_password(:'gus', :'max', 'Qzx7#Wvk');
SELECT commitopt.create_user('00000000-0000-0000-0000-000000000000', 'nat@acme.example', 'Nat', 'Nobody', 'member', 'Qzx7#Wvk');
SELECT * FROM commitopt.tenant_users('00000000-0000-0000-0000-000000000000');
\set VERBOSITY default
SELECT count(*) AS globex_sees FROM commitopt.tenant_users(:'gus');

-- Updates; NULL keeps a value; the address stays unique.
SELECT commitopt.update_user(:'ada', :'max', first_name => 'Maxime', email => 'maxime@acme.example');
SELECT commitopt.update_user(:'ada', :'max', email => 'VIC@acme.example');
SELECT commitopt.update_user(:'ada', :'max', role => 'superhero');
SELECT email, first_name, last_name, role FROM commitopt.users WHERE user_id = :'max';

-- The last admin cannot be demoted, disabled or deleted, not even by
-- themself; once a second admin exists, one of them can go.
SELECT commitopt.update_user(:'ada', :'ada', role => 'member');
SELECT commitopt.disable_user(:'ada', :'ada');
SELECT commitopt.delete_user(:'ada', :'ada');
SELECT commitopt.update_user(:'ada', :'max', role => 'admin');
SELECT commitopt.update_user(:'max', :'ada', role => 'member');
SELECT commitopt.update_user(:'max', :'max', role => 'viewer');
SELECT commitopt.update_user(:'max', :'ada', role => 'admin');
-- A disabled admin does not count: with Max disabled Ada is the last one.
SELECT commitopt.disable_user(:'ada', :'max');
SELECT commitopt.update_user(:'ada', :'ada', role => 'member');
SELECT email, role, disabled FROM commitopt.tenant_users(:'ada');

-- A disabled user cannot log in nor act; enabled again, both work.
\set VERBOSITY terse
SELECT commitopt.change_password(:'max', 'Tr4vel#Kite', 'Fr3sh#Meadow');
\set VERBOSITY default
SELECT count(*) AS logins FROM commitopt.verify_login('maxime@acme.example', 'Tr4vel#Kite');
SELECT commitopt.disable_user(:'ada', :'max', false);
SELECT role, must_change_password
  FROM commitopt.verify_login('maxime@acme.example', 'Tr4vel#Kite');

-- verify_login: case-insensitive address; wrong password, unknown address
-- and null give no row.
SELECT role, must_change_password, user_id = :'ada' AS is_ada,
	   tenant_id = commitopt.tenant_id('users-acme') AS in_acme
  FROM commitopt.verify_login('ADA.admin@ACME.example', 'Gr3en#Field');
SELECT count(*) AS wrong FROM commitopt.verify_login('ada.admin@acme.example', 'Gr3en#Fielc');
SELECT count(*) AS unknown FROM commitopt.verify_login('nobody@acme.example', 'Gr3en#Field');
SELECT count(*) AS null_password FROM commitopt.verify_login('ada.admin@acme.example', NULL);

-- Changing one's own password needs the current one (28P01 otherwise,
-- nothing changes); the new one gets one error listing every failure.
SELECT password_changed_at AS before_change FROM commitopt.users WHERE user_id = :'max' \gset
SELECT commitopt.change_password(:'max', 'wrong', 'Fr3sh#Meadow');
SELECT commitopt.change_password(:'max', NULL, 'Fr3sh#Meadow');
-- 'maxime' is 6 characters, 1 class, and the first name.
SELECT commitopt.change_password(:'max', 'Tr4vel#Kite', 'maxime');
-- The current password is the most recent of the history.
SELECT commitopt.change_password(:'max', 'Tr4vel#Kite', 'Tr4vel#Kite');
SELECT commitopt.change_password(:'max', 'Tr4vel#Kite', 'Fr3sh#Meadow');
SELECT must_change_password, password_changed_at > :'before_change' AS changed
  FROM commitopt.users WHERE user_id = :'max';
SELECT count(*) AS old_works FROM commitopt.verify_login('maxime@acme.example', 'Tr4vel#Kite');
SELECT count(*) AS new_works FROM commitopt.verify_login('maxime@acme.example', 'Fr3sh#Meadow');

-- An admin reset: a temporary password (policy and history apply) and
-- a forced change at next login, which the user's own change clears.
SELECT commitopt.reset_password(:'ada', :'max', 'Fr3sh#Meadow');
SELECT commitopt.reset_password(:'ada', :'max', 'Temp#Qzx71');
SELECT must_change_password FROM commitopt.verify_login('maxime@acme.example', 'Temp#Qzx71');
SELECT commitopt.change_password(:'max', 'Temp#Qzx71', 'Rive7#Stones');
SELECT must_change_password FROM commitopt.verify_login('maxime@acme.example', 'Rive7#Stones');

-- Checking as the user types: the acting user's names and history count.
SELECT * FROM commitopt.password_check_for_user(:'max', 'Rive7#Stones');
SELECT rule FROM commitopt.password_check_for_user(:'max', 'MAXIME#1234');
SELECT rule FROM commitopt.password_check_for_user(:'max', 'Qzx7#Wvkmp');

-- A hash made at a lower cost is upgraded at the next successful login,
-- not at a failed one; the password keeps working.
SET commitopt.password_hash_memory = 128;
SELECT count(*) FROM commitopt.verify_login('vic@acme.example', 'wrong#Pass1');
SELECT substring(password_hash from '^\$argon2id\$v=19\$([^$]*)\$') AS cost
  FROM commitopt.users WHERE user_id = :'vic';
SELECT count(*) FROM commitopt.verify_login('vic@acme.example', 'Qzx7#Wvk');
SELECT substring(password_hash from '^\$argon2id\$v=19\$([^$]*)\$') AS cost
  FROM commitopt.users WHERE user_id = :'vic';
-- vic's one history entry (set at creation) is the current password: it
-- is upgraded too, to the very string the user row now holds.  Expected:
-- 1 entry, 1 equal to the user's hash, cost m=128,t=1,p=1 (before the
-- fix: 1, 0, m=64,t=1,p=1).
SELECT count(*) AS entries,
	   count(*) FILTER (WHERE h.password_hash = u.password_hash) AS same_as_user,
	   min(substring(h.password_hash from '^\$argon2id\$v=19\$([^$]*)\$')) AS cost
  FROM commitopt.password_history h JOIN commitopt.users u USING (tenant_id, user_id)
 WHERE u.user_id = :'vic';
SELECT count(*) FROM commitopt.verify_login('vic@acme.example', 'Qzx7#Wvk');
SET commitopt.password_hash_memory = 64;

-- Deleting a user removes their history; a deleted user cannot log in.
SELECT commitopt.delete_user(:'ada', :'vic');
SELECT count(*) AS vic_history FROM commitopt.password_history WHERE user_id = :'vic';
SELECT count(*) AS vic_logins FROM commitopt.verify_login('vic@acme.example', 'Qzx7#Wvk');

-- Nobody but a superuser (later: the entry point) calls these, and no
-- other role reads hashes.
CREATE ROLE users_outsider;
GRANT USAGE ON SCHEMA commitopt TO users_outsider;
SELECT has_table_privilege('users_outsider', 'commitopt.users', 'SELECT') AS users_readable,
	   has_table_privilege('users_outsider', 'commitopt.password_history', 'SELECT') AS history_readable;
SET ROLE users_outsider;
SELECT commitopt.verify_login('ada.admin@acme.example', 'Gr3en#Field');
SELECT commitopt.create_tenant_with_admin('users-evil', 'Evil', 'e@evil.example', 'Eve', 'Evil', 'Qzx7#Wvk');
RESET ROLE;
REVOKE USAGE ON SCHEMA commitopt FROM users_outsider;
DROP ROLE users_outsider;

-- Leave nothing behind for other tests.
DELETE FROM commitopt.tenants WHERE slug LIKE 'users-%';

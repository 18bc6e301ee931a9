-- The password policy, rule by rule (commitopt.password_check returns the
-- failed rules without raising; password_enforce raises one error).
-- Shipped defaults: 8..256 code points, 3 of 4 classes, blocklist and
-- personal-data checks on.
SET commitopt.password_hash_memory = 64;   -- tests only: cheap hashes
SET commitopt.password_hash_iterations = 1;

-- rules(password, first, last, email): the failed rule codes, in order.
CREATE FUNCTION pg_temp.rules(p text, f text DEFAULT NULL, l text DEFAULT NULL,
							  e text DEFAULT NULL)
RETURNS text[] LANGUAGE sql
RETURN array(SELECT rule FROM commitopt.password_check(p, f, l, e));
CREATE FUNCTION pg_temp.rules(p bytea)
RETURNS text[] LANGUAGE sql
RETURN array(SELECT rule FROM commitopt.password_check(p));

-- Length, counted in code points.  'Qzx7#Wv' has 7 characters (4 classes),
-- 'Qzx7#Wvk' 8: too_short for the first only.  'ółęśąźż' is 7 characters
-- but 14 bytes: too_short, and 1 class (lower case): too_few_classes.
-- 'Ółęśąź1' is 7 characters, 13 bytes, 3 classes: too_short only.
-- 'Ółęśąźż1' is 8 characters (15 bytes), upper 'Ó', lower, digit: 3
-- classes, passes.
SELECT p, length(p) AS chars, octet_length(p) AS bytes, pg_temp.rules(p)
  FROM unnest(ARRAY['Qzx7#Wv', 'Qzx7#Wvk', 'ółęśąźż', 'Ółęśąź1',
					'Ółęśąźż1']) AS p;

-- Emoji count as one character each and belong to no class:
-- 4 emoji + 'ab1!' = 8 characters, lower+digit+special = 3 classes: ok;
-- 4 emoji + 'a1!' = 7: too_short; 8 emoji: no class at all.
SELECT p, length(p) AS chars, octet_length(p) AS bytes, pg_temp.rules(p)
  FROM unnest(ARRAY['🔒🔑🐘🌍ab1!', '🔒🔑🐘🌍a1!', '🔒🔑🐘🌍🔒🔑🐘🌍']) AS p;

-- Maximum 256, never truncated: repeat('Qz9#', 64) is 256 characters,
-- ok; one more character is too_long; 1,000 characters too.
SELECT length(p) AS chars, pg_temp.rules(p)
  FROM unnest(ARRAY[repeat('Qz9#', 64), repeat('Qz9#', 64) || 'x',
					repeat('Qz9#', 250)]) AS p;

-- Classes: exactly 3 of 4 pass, 2 fail.  Only !@#$%^&* are special: '.'
-- and '~' are allowed but count for nothing, so 'Qzxwvkmp.' has 2 classes.
--   qzxwvkmp7#   lower digit special  3  ok
--   QZXWVKMP#7   upper special digit  3  ok
--   Qzxwvkmp7    upper lower digit    3  ok
--   qzxwvkmp7    lower digit          2  too_few_classes
--   Qzxwvkmp.    upper lower (.)      2  too_few_classes
--   Qzxwvkmp~    upper lower (~)      2  too_few_classes
--   Qzxwvkmp*    upper lower special  3  ok
--   qzxwvkmp     lower                1  too_few_classes
SELECT p, pg_temp.rules(p)
  FROM unnest(ARRAY['qzxwvkmp7#', 'QZXWVKMP#7', 'Qzxwvkmp7', 'qzxwvkmp7',
					'Qzxwvkmp.', 'Qzxwvkmp~', 'Qzxwvkmp*', 'qzxwvkmp']) AS p;

-- The blocklist, case-insensitive and after undoing substitutions and
-- trimming digits and symbols at either end:
--   P@ssw0rd1!   trim -> p@ssw0rd (listed as is) -> password      t
--   PASSWORD     lower case: password                            t
--   p4ssw0rd     4->a 0->o: password                             t
--   Dr@g0n2024!  trim -> dr@g0n -> dragon                        t
--   !!Monkey99   trim -> monkey                                  t
--   L3tm31n!     3->e 1->i, trim: letmein                        t
--   $unsh1ne     $->s 1->i: sunshine                             t
--   Tr4vel#Kite  no variant is listed                            f
--   Qzx7#Wvk     no variant is listed                            f
SELECT p, commitopt.password_is_common(p)
  FROM unnest(ARRAY['P@ssw0rd1!', 'PASSWORD', 'p4ssw0rd', 'Dr@g0n2024!',
					'!!Monkey99', 'L3tm31n!', '$unsh1ne', 'Tr4vel#Kite',
					'Qzx7#Wvk']) AS p;
-- ... and as a rule: 'P@ssw0rd1!' has 10 characters and 4 classes, so
-- common is its only failure.
SELECT pg_temp.rules('P@ssw0rd1!');

-- Personal data, names with accents and mixed case.  The user:
-- Élodie Müller-Lüdenscheidt, elodie.mueller+ops@example.com.
--   ÉLODIE#2024x      contains élodie                  first_name
--   lüdenSCHEIDT#A1   piece of the last name           last_name
--   MÜLLER#99ab       piece of the last name           last_name
--   Mue11er#99ab      1->l: mueller, e-mail piece      email
--   xOPS#99ab         'ops' is an e-mail piece (3)     email
--   Eidole#99ab       reversed e-mail piece 'elodie'   email
--                     (the first name reversed is 'eidolé': accents
--                     are not folded)
--   Qzx7#Wvk          nothing                          {}
SELECT p, pg_temp.rules(p, 'Élodie', 'Müller-Lüdenscheidt',
						'elodie.mueller+ops@example.com')
  FROM unnest(ARRAY['ÉLODIE#2024x', 'lüdenSCHEIDT#A1', 'MÜLLER#99ab',
					'Mue11er#99ab', 'xOPS#99ab', 'Eidole#99ab',
					'Qzx7#Wvk']) AS p;

-- Pieces shorter than 3 characters are not matched: user Al Wu,
-- al@example.com; 'Caldera#19' contains 'al', and no personal-data rule
-- fires.  It is refused all the same as common: trimmed, it is 'caldera',
-- line 57,033 of the upstream list.  Without the blocklist it passes.
SELECT pg_temp.rules('Caldera#19', 'Al', 'Wu', 'al@example.com');
SET commitopt.password_blocklist = off;
SELECT pg_temp.rules('Caldera#19', 'Al', 'Wu', 'al@example.com');
RESET commitopt.password_blocklist;

-- FC-07: login znowak, Zofia Nowak.  First five rejected with a reason
-- each, 'Tr4vel#Kite' (11 characters, 4 classes) accepted, the reversed
-- name rejected.  'Znowak#777' contains both the login and the last name.
SELECT p, pg_temp.rules(p, 'Zofia', 'Nowak', 'znowak@example.com')
  FROM unnest(ARRAY['nOWAK#2024', 'ZOFIA!ab12', 'Znowak#777', 'P@SSW0RD',
					'p@ssw0rd', 'Tr4vel#Kite', 'kawoN#2024']) AS p;

-- Every rule at once: 'zofia' is 5 characters (too_short), lower case only
-- (too_few_classes), not on the list, and the first name.
SELECT * FROM commitopt.password_check('zofia', 'Zofia', 'Nowak',
									   'znowak@example.com');
-- One error lists them all; the password is in no message.
SELECT commitopt.password_enforce('zofia', 'Zofia', 'Nowak',
								  'znowak@example.com', NULL);
SELECT commitopt.password_enforce('P@ssw0rd1!', NULL, NULL, NULL, NULL);

-- A NUL byte and invalid UTF-8 (a lone 0xff, an overlong '/', a cut-off
-- euro sign) can only arrive as bytes: refused with a clear error.
SELECT pg_temp.rules('\x5170783723570076'::bytea);
SELECT pg_temp.rules(p)
  FROM unnest(ARRAY['\x517a7837235776ff'::bytea, '\x517a783723c0af6b',
					'\x517a78372357e282']) AS p;
SELECT commitopt.password_enforce('\x5170783723570076'::bytea, NULL, NULL,
								  NULL, NULL);
SELECT commitopt.password_enforce('\x517a7837235776ff'::bytea, NULL, NULL,
								  NULL, NULL);
-- Valid bytes are judged like text: 'Qzx7#Wvk' passes.
SELECT pg_temp.rules(convert_to('Qzx7#Wvk', 'UTF8'));

-- Control characters: C0 (tab, line feed), DEL and C1 (NEL, U+0085) are
-- refused; a no-break space (U+00A0) is not a control character.  Each
-- password is otherwise 'Qzx7#Wvk' (passes) plus that one character.
SELECT pg_temp.rules(E'Qzx7#Wvk\t') AS tab,
	   pg_temp.rules(E'Qzx7#\nWvk') AS line_feed,
	   pg_temp.rules(E'Qzx7#Wvk\u007f') AS del,
	   pg_temp.rules(E'Qzx7#Wvk\u0085') AS nel,
	   pg_temp.rules(E'Qzx7#Wvk\u00a0') AS nbsp;
SELECT commitopt.password_enforce(E'Qzx7#Wvk\r', NULL, NULL, NULL, NULL);

-- A damaged history entry never makes the check raise: it is skipped
-- with a warning naming its position (never its text).  Entry 1 is not
-- a hash, entry 2 parses but its salt and hash are not base64, entry 3
-- is the real hash of 'Qzx7#Wvk': 'reused' still comes from entry 3,
-- and 'Qzx7#Wvkm' (no match) fails nothing.
SELECT commitopt.password_hash('Qzx7#Wvk') AS qzx_hash \gset
SELECT * FROM commitopt.password_check('Qzx7#Wvk', NULL, NULL, NULL,
	ARRAY['not a hash', '$argon2id$v=19$m=64,t=1,p=1$!!!!$????', :'qzx_hash']);
SELECT rule FROM commitopt.password_check('Qzx7#Wvkm', NULL, NULL, NULL,
	ARRAY['not a hash', '$argon2id$v=19$m=64,t=1,p=1$!!!!$????', :'qzx_hash']);

-- A null password is an error, not a pass.
SELECT * FROM commitopt.password_check(NULL::text);

-- The settings: superuser-only, with bounds.
SET commitopt.password_min_length = 12;
SELECT pg_temp.rules('Qzx7#Wvkmp1');   -- 11 characters
RESET commitopt.password_min_length;
SET commitopt.password_max_length = 63;
SET commitopt.password_min_classes = 4;
SELECT pg_temp.rules('qzxwvkmp7#Q'), pg_temp.rules('qzxwvkmp7#');
RESET commitopt.password_min_classes;
SET commitopt.password_blocklist = off;
SELECT pg_temp.rules('P@ssw0rd1!');
RESET commitopt.password_blocklist;
SET commitopt.password_personal_data = off;
SELECT pg_temp.rules('nOWAK#2024', 'Zofia', 'Nowak', 'znowak@example.com');
RESET commitopt.password_personal_data;
-- The minimum may not exceed the maximum (every password would be
-- refused): SET refuses either side, naming both values; raising the
-- maximum first works.
SET commitopt.password_min_length = 300;
SET commitopt.password_max_length = 100;
SET commitopt.password_max_length = 64;
SET commitopt.password_min_length = 65;
SET commitopt.password_max_length = 400;
SET commitopt.password_min_length = 300;
SELECT pg_temp.rules(repeat('Qz9#', 74)) AS chars_296,
	   pg_temp.rules(repeat('Qz9#', 75)) AS chars_300;
RESET commitopt.password_min_length;
RESET commitopt.password_max_length;
-- The breached-password service: https only, with a host.
SET commitopt.password_breach_url = 'http://api.pwnedpasswords.com/range/';
SET commitopt.password_breach_url = 'file:///etc/passwd#';
SET commitopt.password_breach_url = 'https:///range/';
SET commitopt.password_breach_url = 'HTTPS://breach.example/range/';
SHOW commitopt.password_breach_url;
RESET commitopt.password_breach_url;
SELECT name, setting, unit, context FROM pg_settings
 WHERE name LIKE 'commitopt.password%' ORDER BY name;
CREATE ROLE policy_reader;
SET ROLE policy_reader;
SET commitopt.password_min_length = 1;
SET commitopt.password_blocklist = off;
RESET ROLE;
DROP ROLE policy_reader;

-- Values that do not come from SET (the configuration file, ALTER
-- DATABASE/ROLE, connection options) can still disagree, in either
-- order: then every check fails with a configuration error (F0000) naming
-- both values, rather than refusing every password as too short or long.
\c -reuse-previous=on "options='-c commitopt.password_min_length=300'"
SHOW commitopt.password_min_length;
SHOW commitopt.password_max_length;
SELECT * FROM commitopt.password_check('Qzx7#Wvk');
SELECT commitopt.password_enforce('Qzx7#Wvk', NULL, NULL, NULL, NULL);
\set VERBOSITY terse
CREATE ROLE policy_misconfigured PASSWORD 'Qzx7#Wvkmp';
\set VERBOSITY default

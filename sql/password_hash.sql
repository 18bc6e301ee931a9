-- argon2id hashes at the shipped cost (OWASP minimum: 19 MiB, 2 passes,
-- 1 lane), self-describing, salted, never truncating the password.
SHOW commitopt.password_hash_memory;
SHOW commitopt.password_hash_iterations;
SHOW commitopt.password_hash_parallelism;
SELECT commitopt.password_hash('Tr4vel#Kite') AS h1 \gset
SELECT commitopt.password_hash('Tr4vel#Kite') AS h2 \gset
-- The encoded form names algorithm, version, cost, a 16-byte salt and a
-- 32-byte hash (22 and 43 base64 characters).
SELECT :'h1' ~ '^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$' AS shipped_format,
	   :'h1' <> :'h2' AS salted;
SELECT commitopt.password_verify('Tr4vel#Kite', :'h1') AS right_password,
	   commitopt.password_verify('Tr4vel#Kite', :'h2') AS other_salt,
	   commitopt.password_verify('tr4vel#Kite', :'h1') AS other_case,
	   commitopt.password_verify('Tr4vel#Kit', :'h1') AS prefix,
	   commitopt.password_hash_needs_upgrade(:'h1') AS needs_upgrade;
-- A console user at the shipped cost logs in.
SELECT commitopt.create_tenant_with_admin('users-hash', 'Hash', 'hana@hash.example',
	'Hana', 'Hashimoto', 'Qzx7#Wvk') AS hana \gset
SELECT role FROM commitopt.verify_login('hana@hash.example', 'Qzx7#Wvk');
SELECT count(*) FROM commitopt.verify_login('hana@hash.example', 'Qzx7#Wvj');
DELETE FROM commitopt.tenants WHERE slug = 'users-hash';

-- From here, cheap hashes to stay fast.
SET commitopt.password_hash_memory = 64;
SET commitopt.password_hash_iterations = 1;
-- Never truncated: with the maximum raised to 1,000, a 1,000-character
-- password is hashed whole; its 999-character prefix does not match.
SET commitopt.password_max_length = 1000;
SELECT commitopt.password_enforce(repeat('Qz9#', 250), NULL, NULL, NULL, NULL) AS long \gset
SELECT commitopt.password_verify(repeat('Qz9#', 250), :'long') AS whole,
	   commitopt.password_verify(left(repeat('Qz9#', 250), 999), :'long') AS prefix;
RESET commitopt.password_max_length;
-- At the default maximum (256) the same password is refused, not cut.
SELECT commitopt.password_enforce(repeat('Qz9#', 250), NULL, NULL, NULL, NULL);
-- Multibyte and emoji passwords hash and verify byte for byte.
SELECT commitopt.password_hash('🔒🔑🐘🌍ab1!') AS emoji \gset
SELECT commitopt.password_verify('🔒🔑🐘🌍ab1!', :'emoji') AS same,
	   commitopt.password_verify('🔒🔑🐘🌎ab1!', :'emoji') AS other_globe;

-- Stored hashes that this module could not have written are errors,
-- and the message never quotes them.
SELECT commitopt.password_verify('Qzx7#Wvk', 'not a hash');
SELECT commitopt.password_verify('Qzx7#Wvk', '$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA');
SELECT commitopt.password_verify('Qzx7#Wvk', '$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA');
SELECT commitopt.password_verify('Qzx7#Wvk', '$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA');
SELECT commitopt.password_verify('Qzx7#Wvk', '$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0');
SELECT commitopt.password_verify('Qzx7#Wvk', '$argon2id$v=19$m=64,t=1,p=1$!!!!$????');
SELECT commitopt.password_hash_needs_upgrade('$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA') AS cheap_needs_upgrade;
RESET commitopt.password_hash_memory;
SELECT commitopt.password_hash_needs_upgrade('$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA') AS cheap_needs_upgrade,
	   commitopt.password_hash_needs_upgrade('$argon2id$v=19$m=47104,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaA') AS stronger_needs_upgrade;
-- Hash settings: bounded, superuser-only.
SET commitopt.password_hash_memory = 32;
SET commitopt.password_hash_iterations = 0;

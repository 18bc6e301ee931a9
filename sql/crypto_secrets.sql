-- Secrets at rest: AES-256-GCM under per-tenant data keys wrapped by the
-- master key file.  Shows the round trip, the binding of each ciphertext to
-- tenant, table, column and row, tampering, master key rotation, and that
-- no plaintext reaches an error message.
\getenv datadir COMMITOPT_DATA
SET client_min_messages = warning;
SELECT current_setting('commitopt.master_key_file') AS original_key \gset
SELECT commitopt.ensure_tenant('crypto-a', 'Crypto A') AS ta \gset
SELECT commitopt.ensure_tenant('crypto-b', 'Crypto B') AS tb \gset

-- err(sql): runs sql and shows its SQLSTATE and message, with paths and
-- tenant ids and key fingerprints (random per run) masked so the output is stable.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN sqlstate || ': ' ||
		regexp_replace(regexp_replace(regexp_replace(sqlerrm,
			'"/[^"]*/', '"<dir>/', 'g'),
			'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<tenant>', 'g'),
			'[0-9a-f]{16}', '<fp>', 'g');
END
$$;

CREATE TEMP TABLE sealed AS
SELECT commitopt.secret_encrypt(:'ta', 'aws_connections', 'external_id', '111122223333',
								'ext-id-secret-value') AS c;

-- Round trip; the ciphertext is 1 + 12 + 16 bytes longer than the 19-byte
-- plaintext (version, IV, tag) = 48 bytes and does not contain it.
SELECT commitopt.secret_decrypt(:'ta', 'aws_connections', 'external_id', '111122223333', c) AS plain,
	   length(c) AS bytes,
	   position('ext-id-secret-value'::bytea IN c) = 0 AS plaintext_absent
  FROM sealed;
-- Two seals of one value differ (random IV).
SELECT commitopt.secret_encrypt(:'ta', 't', 'c', 'r', 'same') <>
	   commitopt.secret_encrypt(:'ta', 't', 'c', 'r', 'same') AS differ;
-- One data key per tenant, wrapped, after first use.
SELECT count(*) FROM commitopt.tenant_data_keys WHERE tenant_id = :'ta';

-- Moved anywhere else, it fails to open: other row, column, table, tenant.
SELECT pg_temp.err(format('SELECT commitopt.secret_decrypt(%L, %L, %L, %L, %L)',
						  :'ta', 'aws_connections', 'external_id', '999999999999', c)) FROM sealed;
SELECT pg_temp.err(format('SELECT commitopt.secret_decrypt(%L, %L, %L, %L, %L)',
						  :'ta', 'aws_connections', 'role_arn', '111122223333', c)) FROM sealed;
SELECT pg_temp.err(format('SELECT commitopt.secret_decrypt(%L, %L, %L, %L, %L)',
						  :'ta', 'aws_credentials', 'external_id', '111122223333', c)) FROM sealed;
SELECT pg_temp.err(format('SELECT commitopt.secret_decrypt(%L, %L, %L, %L, %L)',
						  :'tb', 'aws_connections', 'external_id', '111122223333', c)) FROM sealed;
-- One flipped bit of the ciphertext, a truncated one, an empty one.
SELECT pg_temp.err(format('SELECT commitopt.secret_decrypt(%L, %L, %L, %L, %L)',
						  :'ta', 'aws_connections', 'external_id', '111122223333',
						  set_byte(c, 40, get_byte(c, 40) # 1))) FROM sealed;
SELECT pg_temp.err(format('SELECT commitopt.secret_decrypt(%L, %L, %L, %L, %L)',
						  :'ta', 'aws_connections', 'external_id', '111122223333',
						  substr(c, 1, 20))) FROM sealed;
SELECT pg_temp.err(format('SELECT commitopt.secret_decrypt(%L, %L, %L, %L, %L)',
						  :'ta', 'aws_connections', 'external_id', '111122223333', ''::bytea));
-- NULL stays NULL; a NULL place is refused.
SELECT commitopt.secret_encrypt(:'ta', 't', 'c', 'r', NULL) IS NULL AS null_in_null_out;
SELECT pg_temp.err(format('SELECT commitopt.secret_encrypt(%L, NULL, %L, %L, %L)', :'ta', 'c', 'r', 'x'));

-- Master key rotation.  A new key file (mode 0600, owned by the server's
-- user), outside the data directory.
\! openssl rand -hex 32 > "$COMMITOPT_DATA/../rotated.key" && chmod 600 "$COMMITOPT_DATA/../rotated.key" && chown postgres "$COMMITOPT_DATA/../rotated.key" 2>/dev/null; true
\set rotated :datadir '/../rotated.key'
SELECT count(*) AS keys_before FROM commitopt.tenant_data_keys \gset
SELECT commitopt.rotate_master_key(:'rotated') = :keys_before AS all_rewrapped;
-- Still wrapped by the old key as far as the setting says: refused clearly.
SELECT pg_temp.err(format('SELECT commitopt.secret_decrypt(%L, %L, %L, %L, %L)',
						  :'ta', 'aws_connections', 'external_id', '111122223333', c)) FROM sealed;
-- With the setting on the new file, the old ciphertext opens unchanged.
SET commitopt.master_key_file = :'rotated';
SELECT commitopt.secret_decrypt(:'ta', 'aws_connections', 'external_id', '111122223333', c) AS plain
  FROM sealed;
-- A second rotation to the same key re-wraps nothing.
SELECT commitopt.rotate_master_key(:'rotated') AS rewrapped_again;
-- Back to the cluster's key, so other tests find their data keys.
SELECT commitopt.rotate_master_key(:'original_key') = :keys_before AS rotated_back;
RESET commitopt.master_key_file;
SELECT commitopt.secret_decrypt(:'ta', 'aws_connections', 'external_id', '111122223333', c) AS plain
  FROM sealed;

-- Bad key files: missing, readable by others, not 64 hex digits, inside
-- the data directory.
\! chmod 644 "$COMMITOPT_DATA/../rotated.key"
SELECT pg_temp.err(format('SELECT commitopt.rotate_master_key(%L)', :'rotated'));
\! echo nothex > "$COMMITOPT_DATA/../rotated.key"; chmod 600 "$COMMITOPT_DATA/../rotated.key"
SELECT pg_temp.err(format('SELECT commitopt.rotate_master_key(%L)', :'rotated'));
SELECT pg_temp.err(format('SELECT commitopt.rotate_master_key(%L)', :'datadir' || '/no-such.key'));
SELECT pg_temp.err(format('SELECT commitopt.rotate_master_key(%L)',
						  current_setting('data_directory') || '/PG_VERSION'));
SET commitopt.master_key_file = '';
SELECT pg_temp.err(format('SELECT commitopt.secret_encrypt(%L, %L, %L, %L, %L)', :'ta', 't', 'c', 'r', 'x'));
RESET commitopt.master_key_file;

-- Ordinary roles can neither read the setting nor call the functions.
CREATE ROLE crypto_nobody;
GRANT USAGE ON SCHEMA commitopt TO crypto_nobody;
SET ROLE crypto_nobody;
SELECT pg_temp.err('SHOW commitopt.master_key_file');
SELECT pg_temp.err('SELECT commitopt.secret_decrypt(NULL, ''t'', ''c'', ''r'', NULL)');
SELECT pg_temp.err('SELECT count(*) FROM commitopt.tenant_data_keys');
RESET ROLE;
REVOKE USAGE ON SCHEMA commitopt FROM crypto_nobody;
DROP ROLE crypto_nobody;

-- commitopt install script: secrets at rest (extension/crypto_secrets.c).
--
-- Each tenant's data key, wrapped (AES-256-GCM) by the master key whose
-- fingerprint is kept beside it.  Nobody but the extension reads this.
CREATE TABLE commitopt.tenant_data_keys (
	tenant_id uuid PRIMARY KEY REFERENCES commitopt.tenants ON DELETE CASCADE,
	wrapped_key bytea NOT NULL,
	master_fingerprint text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	rotated_at timestamptz
);
REVOKE ALL ON commitopt.tenant_data_keys FROM PUBLIC;

-- secret_encrypt(tenant, tbl, col, row_key, plain): plain sealed for that
-- one place; secret_decrypt opens it only there.
CREATE FUNCTION commitopt.secret_encrypt(tenant uuid, tbl text, col text,
										 row_key text, plain text)
RETURNS bytea LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'commitopt_secret_encrypt';
CREATE FUNCTION commitopt.secret_decrypt(tenant uuid, tbl text, col text,
										 row_key text, sealed bytea)
RETURNS text LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'commitopt_secret_decrypt';
REVOKE ALL ON FUNCTION commitopt.secret_encrypt FROM PUBLIC;
REVOKE ALL ON FUNCTION commitopt.secret_decrypt FROM PUBLIC;

-- rotate_master_key(new_key_file): re-wraps every data key under the key
-- in new_key_file (superusers only); then point commitopt.master_key_file
-- at that file.  Returns how many keys were re-wrapped.
CREATE FUNCTION commitopt.rotate_master_key(new_key_file text)
RETURNS int LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'commitopt_rotate_master_key';
REVOKE ALL ON FUNCTION commitopt.rotate_master_key FROM PUBLIC;

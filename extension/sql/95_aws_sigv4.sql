-- commitopt install script: AWS Signature Version 4 (extension/sigv4.c).

-- sigv4_sign(...): signs one request and shows every intermediate step.
-- headers are "Name:value" strings (Host included); X-Amz-Date and, with a
-- session token, X-Amz-Security-Token are added by the signer.  amz_date is
-- like 20150830T123600Z.  For tests against AWS's published vectors.
CREATE FUNCTION commitopt.sigv4_sign(method text, path text, query text,
									 headers text[], body bytea,
									 access_key_id text, secret_access_key text,
									 session_token text, region text,
									 service text, amz_date text,
									 normalize_path boolean DEFAULT true,
									 OUT canonical_request text,
									 OUT string_to_sign text,
									 OUT signature text,
									 OUT authorization text)
LANGUAGE c IMMUTABLE
AS 'MODULE_PATHNAME', 'commitopt_sigv4_sign';
REVOKE ALL ON FUNCTION commitopt.sigv4_sign FROM PUBLIC;

-- SigV4 signer against AWS's published test suites and field cases FC-05
-- and FC-06.  Every case of both suites must give the expected canonical
-- request, string to sign and signature.
\getenv datadir COMMITOPT_DATA
\set suite :datadir '/fixtures/aws/sigv4'
SET client_min_messages = warning;

-- parse_request(text): splits a raw HTTP request of the suites into
-- method, path, query, "Name:value" headers and body.
CREATE FUNCTION pg_temp.parse_request(raw text,
	OUT method text, OUT path text, OUT query text,
	OUT headers text[], OUT body bytea)
LANGUAGE plpgsql AS $$
DECLARE
	head text := split_part(raw, E'\n\n', 1);
	lines text[] := string_to_array(head, E'\n');
	target text;
BEGIN
	method := split_part(lines[1], ' ', 1);
	target := regexp_replace(substr(lines[1], length(method) + 2), ' HTTP/1\.1$', '');
	path := split_part(target, '?', 1);
	query := CASE WHEN position('?' IN target) > 0
				  THEN substr(target, position('?' IN target) + 1) END;
	headers := array_remove(lines[2:], '');
	body := convert_to(CASE WHEN position(E'\n\n' IN raw) > 0
							THEN substr(raw, position(E'\n\n' IN raw) + 2)
							ELSE '' END, 'UTF8');
END
$$;

-- The current suite (aws-c-auth): credentials, token, time and the path
-- normalisation flag come from each case's context.json; sign_body means
-- the body hash is also sent (and signed) as X-Amz-Content-Sha256.
CREATE TEMP TABLE c_auth AS
SELECT c.name, r.*, ctx,
	   pg_read_file(:'suite' || '/aws-c-auth-v4/' || c.name || '/header-canonical-request.txt') AS want_creq,
	   pg_read_file(:'suite' || '/aws-c-auth-v4/' || c.name || '/header-string-to-sign.txt') AS want_sts,
	   pg_read_file(:'suite' || '/aws-c-auth-v4/' || c.name || '/header-signature.txt') AS want_sig
  FROM pg_ls_dir(:'suite' || '/aws-c-auth-v4') AS c(name)
 CROSS JOIN LATERAL (SELECT pg_read_file(:'suite' || '/aws-c-auth-v4/' || c.name || '/context.json')::jsonb AS ctx) j
 CROSS JOIN LATERAL pg_temp.parse_request(
	pg_read_file(:'suite' || '/aws-c-auth-v4/' || c.name || '/request.txt')) r
 WHERE c.name NOT IN ('LICENSE', 'NOTICE');

-- 27 cases, each one matching in all three steps.
SELECT count(*) AS cases,
	   count(*) FILTER (WHERE s.canonical_request = want_creq) AS creq_ok,
	   count(*) FILTER (WHERE s.string_to_sign = want_sts) AS sts_ok,
	   count(*) FILTER (WHERE s.signature = want_sig) AS sig_ok
  FROM c_auth
 CROSS JOIN LATERAL commitopt.sigv4_sign(method, path, query,
	headers || CASE WHEN (ctx->>'sign_body')::boolean
					THEN ARRAY['X-Amz-Content-Sha256:' || encode(sha256(body), 'hex')]
					ELSE '{}' END, body,
	ctx->'credentials'->>'access_key_id', ctx->'credentials'->>'secret_access_key',
	ctx->'credentials'->>'token', ctx->>'region', ctx->>'service',
	to_char((ctx->>'timestamp')::timestamptz AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
	(ctx->>'normalize')::boolean) s;

-- Any case that does not match is listed here (none expected).
SELECT name
  FROM c_auth
 CROSS JOIN LATERAL commitopt.sigv4_sign(method, path, query,
	headers || CASE WHEN (ctx->>'sign_body')::boolean
					THEN ARRAY['X-Amz-Content-Sha256:' || encode(sha256(body), 'hex')]
					ELSE '{}' END, body,
	ctx->'credentials'->>'access_key_id', ctx->'credentials'->>'secret_access_key',
	ctx->'credentials'->>'token', ctx->>'region', ctx->>'service',
	to_char((ctx->>'timestamp')::timestamptz AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"'),
	(ctx->>'normalize')::boolean) s
 WHERE s.signature <> want_sig OR s.canonical_request <> want_creq;

-- The classic suite: the requests carry their own X-Amz-Date (and token)
-- headers; the expected Authorization header is compared whole.  One case
-- signs with a session token that its .req does not show (its .creq does).
CREATE TEMP TABLE classic AS
SELECT f.dir, f.base, r.*,
	   pg_read_file(f.dir || '/' || f.base || '.creq') AS want_creq,
	   pg_read_file(f.dir || '/' || f.base || '.authz') AS want_authz,
	   CASE f.base WHEN 'get-vanilla-with-session-token'
		   THEN '6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267' END AS token
  FROM (SELECT :'suite' || '/aws4_testsuite-classic/' || d AS dir, d AS base
		  FROM pg_ls_dir(:'suite' || '/aws4_testsuite-classic') d
		 WHERE d NOT IN ('LICENSE', 'NOTICE', 'normalize-path', 'post-sts-token')
		UNION ALL
		SELECT :'suite' || '/aws4_testsuite-classic/normalize-path/' || d, d
		  FROM pg_ls_dir(:'suite' || '/aws4_testsuite-classic/normalize-path') d
		 WHERE d NOT LIKE '%.txt'
		UNION ALL
		SELECT :'suite' || '/aws4_testsuite-classic/post-sts-token/post-sts-header-before',
			   'post-sts-header-before') f
 CROSS JOIN LATERAL pg_temp.parse_request(pg_read_file(f.dir || '/' || f.base || '.req')) r;

SELECT count(*) AS cases,
	   count(*) FILTER (WHERE s.canonical_request = want_creq) AS creq_ok,
	   count(*) FILTER (WHERE s.authorization = want_authz) AS authz_ok
  FROM classic
 CROSS JOIN LATERAL commitopt.sigv4_sign(method, path, query, headers, body,
	'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', token,
	'us-east-1', 'service', '20150830T123600Z', true) s;

SELECT base
  FROM classic
 CROSS JOIN LATERAL commitopt.sigv4_sign(method, path, query, headers, body,
	'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', token,
	'us-east-1', 'service', '20150830T123600Z', true) s
 WHERE s.authorization <> want_authz OR s.canonical_request <> want_creq;

-- FC-05: ten instance IDs; InstanceId.1 < InstanceId.10 < InstanceId.2 by
-- name.  Expected hash of the canonical request and signature are those
-- given in the field case (service ec2, 20250115T120000Z).
SELECT s.canonical_request,
	   encode(sha256(convert_to(s.canonical_request, 'UTF8')), 'hex')
		 = 'b333c790fa5c59a9d34078987c4da4d555d0b81b8cafaca8412b85b738196967' AS creq_hash_ok,
	   s.signature = '3afa90babb7f971fb116dfa1bea993d1994a5afbf2c92bb7416da8cf15d31d9f' AS signature_ok
  FROM commitopt.sigv4_sign('GET', '/',
	'Action=DescribeInstances&Version=2016-11-15&' ||
	(SELECT string_agg(format('InstanceId.%s=i-%s', i, lpad(to_hex(i), 16, '0')), '&' ORDER BY i)
	   FROM generate_series(1, 10) i),
	ARRAY['Host:ec2.us-east-1.amazonaws.com'], NULL,
	'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', NULL,
	'us-east-1', 'ec2', '20250115T120000Z') s;

-- FC-06: temporary credentials; the token is signed, exactly once, even
-- when the caller already put it among the headers.
SELECT s.signature = 'b2667fee2ab4e8ba9f1c6e86183c6370a351f06663672305e41148168dacec90' AS signature_ok,
	   split_part(split_part(s.authorization, 'SignedHeaders=', 2), ',', 1) AS signed_headers,
	   (SELECT count(*) FROM regexp_matches(s.canonical_request, '^x-amz-security-token:', 'gn')) AS token_lines
  FROM commitopt.sigv4_sign('GET', '/', 'Action=DescribeReservedInstances&Version=2016-11-15',
	ARRAY['Host:ec2.us-east-1.amazonaws.com'], NULL,
	'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', 'FAKE-SESSION-TOKEN-0001',
	'us-east-1', 'ec2', '20250115T120000Z') s;
SELECT (SELECT count(*) FROM regexp_matches(s.canonical_request, '^x-amz-security-token:', 'gn')) AS token_lines
  FROM commitopt.sigv4_sign('GET', '/', 'Action=DescribeReservedInstances&Version=2016-11-15',
	ARRAY['Host:ec2.us-east-1.amazonaws.com', 'X-Amz-Security-Token:FAKE-SESSION-TOKEN-0001'], NULL,
	'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', 'FAKE-SESSION-TOKEN-0001',
	'us-east-1', 'ec2', '20250115T120000Z') s;

-- A POST form body is hashed as its exact bytes (not UNSIGNED-PAYLOAD).
SELECT right(s.canonical_request, 64)
		 = encode(sha256('Action=AssumeRole'::bytea), 'hex') AS body_hash_ok
  FROM commitopt.sigv4_sign('POST', '/', NULL, ARRAY['Host:sts.amazonaws.com'],
	'Action=AssumeRole'::bytea, 'AKIDEXAMPLE', 'x', NULL,
	'us-east-1', 'sts', '20250115T120000Z') s;

-- Bad input.
SELECT signature FROM commitopt.sigv4_sign('GET', '/', NULL, ARRAY['Host:h'], NULL,
	'AK', 'x', NULL, 'us-east-1', 'ec2', '2025-01-15 12:00');
SELECT signature FROM commitopt.sigv4_sign('GET', '/', NULL, ARRAY['no colon'], NULL,
	'AK', 'x', NULL, 'us-east-1', 'ec2', '20250115T120000Z');
SELECT signature FROM commitopt.sigv4_sign('GET', '/', NULL, ARRAY['Host:h'], NULL,
	'AK', NULL, NULL, 'us-east-1', 'ec2', '20250115T120000Z');

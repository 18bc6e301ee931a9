-- A stand-in for api.dispatch, in its own database, for the gateway's own
-- end-to-end tests: limits, headers, queueing, timeouts and failures need
-- routes the real API does not have (a slow one, one that fails, one that
-- tries to inject headers).  Same signature and grants as the real one.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'commitopt_gateway') THEN
		CREATE ROLE commitopt_gateway LOGIN;
	END IF;
END $$;

CREATE SCHEMA api;
GRANT USAGE ON SCHEMA api TO commitopt_gateway;

CREATE FUNCTION api.dispatch(req_method text, req_path text, req_query text,
							 req_headers jsonb, req_body text,
							 req_client_addr inet)
RETURNS TABLE (status integer, headers jsonb, body text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	json_ct constant jsonb := '{"Content-Type": "application/json"}';
BEGIN
	IF req_path = '/fake/echo' THEN
		RETURN QUERY SELECT 200, json_ct, jsonb_build_object(
			'method', req_method, 'path', req_path, 'query', req_query,
			'headers', req_headers, 'body', req_body,
			'client', host(req_client_addr))::text;
	ELSIF req_path = '/fake/sleep' THEN
		PERFORM pg_sleep(substring(req_query FROM 'ms=([0-9]+)')::int / 1000.0);
		RETURN QUERY SELECT 200, json_ct, '{"slept":true}';
	ELSIF req_path = '/fake/headers' THEN
		-- two cookies, an attempt to weaken HSTS and a CR/LF injection
		RETURN QUERY SELECT 200, json_ct || jsonb_build_object(
			'Set-Cookie', jsonb_build_array('a=1; Secure', 'b=2; Secure'),
			'Strict-Transport-Security', 'max-age=0',
			'X-Evil', E'x\r\nInjected: yes',
			'X-Fine', 'fine'), '{}';
	ELSIF req_path = '/fake/fail' THEN
		-- like a unique violation on a sessions table: the detail shows a row
		RAISE EXCEPTION 'duplicate key value violates unique constraint "sessions_pkey"'
			USING ERRCODE = 'unique_violation',
				  DETAIL = 'Key (token_hash)=(\x5e884898da28) already exists.';
	ELSIF req_path ~ '^/fake/status/[1-5][0-9][0-9]$' THEN
		RETURN QUERY SELECT substring(req_path FROM '[0-9]+$')::int, json_ct,
			'{"status":"as asked"}';
	ELSIF req_path = '/v1/reports' THEN
		RETURN QUERY SELECT 401, json_ct, '{"error":{"code":"unauthorized","message":"authentication required"}}';
	ELSE
		RETURN QUERY SELECT 404, json_ct, '{"error":{"code":"not_found","message":"no such route"}}';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION api.dispatch(text, text, text, jsonb, text, inet) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.dispatch(text, text, text, jsonb, text, inet)
	TO commitopt_gateway;

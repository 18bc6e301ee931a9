-- commitopt install script, part 9.2: the API entry point and the session
-- routes.
--
-- The gateway runs one statement per request,
--   SELECT * FROM api.dispatch(method, path, query, headers, body, client_addr)
-- and sends back (status, headers, body).  Routing, authentication and
-- validation happen here.  Routes are rows of api.routes, so other parts
-- add theirs in their own files: a handler takes an api.request and
-- returns an api.response.  A route that needs a session runs its handler
-- under the signed claim of that session (current_tenant() and friends),
-- as commitopt_owner, so row-level security scopes everything it does.
--
-- Tokens are taken from "Authorization: Bearer <token>" or the cookie
-- __Host-commitopt_session, never from the query string (FC-10).  Errors
-- are {"error": {"code": ..., "message": ...}}; unexpected ones are a
-- generic 500 that says nothing about the data.

CREATE SCHEMA api;
ALTER SCHEMA api OWNER TO commitopt_owner;
GRANT USAGE ON SCHEMA api TO commitopt_gateway;

CREATE TYPE api.request AS (
	method text,
	path text,
	query text,
	headers jsonb,
	body jsonb,
	client_addr inet,
	params text[]
);

CREATE TYPE api.response AS (
	status integer,
	headers jsonb,
	body text
);

-- The routing table: pattern is a regular expression matched against the
-- whole path; its capture groups become request.params.
CREATE TABLE api.routes (
	method text NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
	pattern text NOT NULL,
	handler regprocedure NOT NULL,
	needs_session boolean NOT NULL DEFAULT true,
	-- allowed while the user must change their password
	during_password_change boolean NOT NULL DEFAULT false,
	-- the least console role that may call it (viewer < member < admin)
	min_role text NOT NULL DEFAULT 'viewer'
		CHECK (min_role IN ('viewer', 'member', 'admin')),
	PRIMARY KEY (method, pattern)
);
ALTER TABLE api.routes OWNER TO commitopt_owner;
COMMENT ON TABLE api.routes IS 'Routes of api.dispatch(); reference data, no tenant rows';

-- The small SQL helpers below have no SET clause: a SQL function with one
-- is never inlined, and each call then re-reads and re-parses its stored
-- body, once per request.  Their bodies are parsed at creation, so
-- search_path plays no part in what they call.

-- api.json(status, body, headers): a JSON response.
CREATE FUNCTION api.json(status integer, body jsonb,
						 headers jsonb DEFAULT '{}')
RETURNS api.response LANGUAGE sql IMMUTABLE
RETURN ROW(status,
		   jsonb_build_object('Content-Type', 'application/json') || headers,
		   body::text)::api.response;

-- api.error(status, code, message): an error response.
CREATE FUNCTION api.error(status integer, code text, message text)
RETURNS api.response LANGUAGE sql IMMUTABLE
RETURN api.json(status, jsonb_build_object('error',
					jsonb_build_object('code', code, 'message', message)));

-- api.role_at_least(role, minimum): whether a console role is at least
-- another (viewer < member < admin); false for NULL or an unknown role.
CREATE FUNCTION api.role_at_least(role text, minimum text)
RETURNS boolean LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN coalesce(array_position(ARRAY['viewer', 'member', 'admin'], role)
				>= array_position(ARRAY['viewer', 'member', 'admin'], minimum),
				false);

-- api.request_token(headers): the session token a request carries, from
-- the Authorization header or else the session cookie; NULL if none.
CREATE FUNCTION api.request_token(headers jsonb)
RETURNS text LANGUAGE sql IMMUTABLE
RETURN coalesce(
	(regexp_match(headers ->> 'authorization', '^[Bb]earer +([A-Za-z0-9_-]+) *$'))[1],
	(regexp_match(headers ->> 'cookie', '(?:^|;) *__Host-commitopt_session=([A-Za-z0-9_-]+)'))[1]);

-- api.session_cookie(token, max_age): the Set-Cookie value of the session.
CREATE FUNCTION api.session_cookie(token text, max_age integer DEFAULT NULL)
RETURNS text LANGUAGE sql IMMUTABLE
RETURN '__Host-commitopt_session=' || token
	   || '; Path=/; Secure; HttpOnly; SameSite=Strict'
	   || coalesce('; Max-Age=' || max_age, '');

-- api.dispatch(method, path, query, headers, body, client_addr): answers
-- one request.  The claim set for the request is dropped before it
-- returns.
CREATE FUNCTION api.dispatch(req_method text, req_path text, req_query text,
							 req_headers jsonb, req_body text,
							 req_client_addr inet)
RETURNS TABLE (status integer, headers jsonb, body text)
LANGUAGE plpgsql SECURITY DEFINER
-- one row, always: the default estimate of 1000 rows made the gateway's
-- statement look costly enough to be JIT-compiled at every request
ROWS 1
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	route api.routes;
	req api.request;
	resp api.response;
	sess record;
	allowed text;
	params text[];
BEGIN
	-- Most routes are literal paths: found by key, without a regular
	-- expression per route row.  A path of only these characters holds no
	-- regular-expression syntax, so the pattern equal to it matches it.
	IF req_path ~ '^[A-Za-z0-9/_-]+$' THEN
		SELECT * INTO route FROM api.routes r
		 WHERE r.method = req_method AND r.pattern = req_path;
	END IF;
	IF route.handler IS NOT NULL THEN
		params := ARRAY[req_path];
	ELSE
		SELECT * INTO route FROM api.routes r
		 WHERE r.method = req_method
		   AND req_path ~ ('^(?:' || r.pattern || ')$');
		params := regexp_match(req_path, '^(?:' || route.pattern || ')$');
	END IF;
	IF route.handler IS NULL THEN
		SELECT string_agg(DISTINCT r.method, ', ' ORDER BY r.method) INTO allowed
		  FROM api.routes r WHERE req_path ~ ('^(?:' || r.pattern || ')$');
		IF allowed IS NULL THEN
			resp := api.error(404, 'not_found', 'no such route');
		ELSE
			resp := api.error(405, 'method_not_allowed', 'method not allowed');
			resp.headers := resp.headers || jsonb_build_object('Allow', allowed);
		END IF;
		RETURN QUERY SELECT resp.status, resp.headers, resp.body;
		RETURN;
	END IF;

	req := ROW(req_method, req_path, req_query, coalesce(req_headers, '{}'),
			   NULL, req_client_addr, params)::api.request;

	IF route.needs_session THEN
		SELECT * INTO sess
		  FROM commitopt.session_authenticate(api.request_token(req.headers));
		IF sess.session_id IS NULL THEN
			resp := api.error(401, 'unauthorized', 'authentication required');
		ELSIF sess.must_change_password AND NOT route.during_password_change THEN
			resp := api.error(403, 'password_change_required',
							  'the password must be changed first');
		ELSIF NOT api.role_at_least(commitopt.current_user_role(), route.min_role) THEN
			resp := api.error(403, 'forbidden',
							  format('this route needs the role %s or higher',
									 route.min_role));
		END IF;
	END IF;

	IF resp IS NULL AND req_body IS NOT NULL AND btrim(req_body) <> '' THEN
		BEGIN
			req.body := req_body::jsonb;
		EXCEPTION
			-- nesting deep enough to exhaust the parser's stack
			WHEN statement_too_complex OR program_limit_exceeded THEN
				resp := api.error(400, 'invalid_json',
								  'request body is nested too deeply');
			-- Any other failure to read the body is the client's: bad
			-- syntax, and escapes that jsonb cannot store (\u0000, a lone
			-- surrogate: 22P05).  Caught here, none reaches the server
			-- log, whose JSON context line would quote the body.
			WHEN data_exception THEN
				resp := api.error(400, 'invalid_json', 'request body is not valid JSON');
		END;
	END IF;

	IF resp IS NULL THEN
		BEGIN
			-- The routes of this file are called directly, so that their
			-- plans stay cached; others through EXECUTE.  The name alone
			-- picks the function, as it does in EXECUTE.
			CASE route.handler::regproc::text
				WHEN 'api.me' THEN resp := api.me(req);
				WHEN 'api.sessions' THEN resp := api.sessions(req);
				WHEN 'api.login' THEN resp := api.login(req);
				WHEN 'api.logout' THEN resp := api.logout(req);
				WHEN 'api.logout_all' THEN resp := api.logout_all(req);
				WHEN 'api.change_password' THEN resp := api.change_password(req);
				WHEN 'api.delete_session' THEN resp := api.delete_session(req);
				ELSE
					EXECUTE format('SELECT * FROM %s($1)', route.handler::regproc)
						INTO resp USING req;
			END CASE;
		EXCEPTION WHEN OTHERS THEN
			-- no message or detail, to the client or the log: they could
			-- show a row's values, a token hash among them (FC-10)
			RAISE LOG 'commitopt api: % % failed with SQLSTATE %',
				req_method, route.pattern, SQLSTATE;
			resp := api.error(500, 'internal', 'internal error');
		END;
	END IF;

	PERFORM commitopt.audit_record(commitopt.current_tenant(),
								   commitopt.current_user_id(),
								   commitopt.current_user_role(),
								   req_client_addr, 'api_request',
								   req_method || ' ' || route.pattern,
								   jsonb_build_object('status', resp.status));
	PERFORM commitopt.session_end_claim();
	RETURN QUERY SELECT resp.status, resp.headers, resp.body;
END
$$;
ALTER FUNCTION api.dispatch(text, text, text, jsonb, text, inet)
	OWNER TO commitopt_owner;

-- api.body_text(req, field): a string field of the JSON body, or NULL.
CREATE FUNCTION api.body_text(req api.request, field text)
RETURNS text LANGUAGE sql IMMUTABLE
RETURN CASE WHEN jsonb_typeof(req.body) = 'object'
				 AND jsonb_typeof(req.body -> field) = 'string'
			THEN req.body ->> field END;

-- POST /v1/login {"email", "password"}
CREATE FUNCTION api.login(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	email text := api.body_text(req, 'email');
	password text := api.body_text(req, 'password');
	r record;
BEGIN
	IF email IS NULL OR password IS NULL THEN
		RETURN api.error(400, 'invalid_request',
						 'the body must be a JSON object with the strings "email" and "password"');
	END IF;
	SELECT * INTO r FROM commitopt.session_login(email, password, req.client_addr);
	IF r.outcome = 'throttled' THEN
		RETURN api.error(429, 'too_many_attempts',
						 'too many failed logins; try again later');
	ELSIF r.outcome <> 'ok' THEN
		RETURN api.error(401, 'invalid_credentials',
						 'invalid e-mail address or password');
	END IF;
	RETURN api.json(200,
		jsonb_build_object('token', r.token,
						   'expires_at', r.expires_at,
						   'user', jsonb_build_object(
								'id', r.user_id, 'tenant_id', r.tenant_id,
								'role', r.role,
								'must_change_password', r.must_change_password)),
		jsonb_build_object('Set-Cookie', api.session_cookie(r.token),
						   'Cache-Control', 'no-store'));
END
$$;

-- POST /v1/logout: ends the session of the request.
CREATE FUNCTION api.logout(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM commitopt.sessions s
	 WHERE s.session_id = commitopt.current_session_id();
	PERFORM commitopt.audit_record(commitopt.current_tenant(),
								   commitopt.current_user_id(),
								   commitopt.current_user_role(),
								   req.client_addr, 'logout',
								   commitopt.current_session_id()::text, NULL);
	RETURN api.json(200, '{"sessions_ended": 1}',
					jsonb_build_object('Set-Cookie', api.session_cookie('', 0)));
END
$$;

-- POST /v1/logout-all: ends every session of the user, this one included.
CREATE FUNCTION api.logout_all(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	PERFORM commitopt.audit_record(commitopt.current_tenant(),
								   commitopt.current_user_id(),
								   commitopt.current_user_role(),
								   req.client_addr, 'logout',
								   commitopt.current_session_id()::text,
								   '{"all": true}');
	n := commitopt.sessions_revoke(commitopt.current_tenant(),
								   commitopt.current_user_id(), 'logout_all',
								   NULL, commitopt.current_user_id(),
								   commitopt.current_user_role());
	RETURN api.json(200, jsonb_build_object('sessions_ended', n),
					jsonb_build_object('Set-Cookie', api.session_cookie('', 0)));
END
$$;

-- GET /v1/me: the user and session of the request.
CREATE FUNCTION api.me(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	u record;
BEGIN
	SELECT x.user_id, x.email, x.first_name, x.last_name,
		   x.must_change_password, t.slug, s.created_at, s.last_activity
	  INTO u
	  FROM commitopt.users x
	  JOIN commitopt.tenants t USING (tenant_id)
	  JOIN commitopt.sessions s USING (tenant_id, user_id)
	 WHERE x.user_id = commitopt.current_user_id()
	   AND s.session_id = commitopt.current_session_id();
	RETURN api.json(200, jsonb_build_object(
		'user', jsonb_build_object('id', u.user_id, 'email', u.email,
								   'first_name', u.first_name,
								   'last_name', u.last_name,
								   'role', commitopt.current_user_role(),
								   'tenant', u.slug,
								   'must_change_password', u.must_change_password),
		'session', jsonb_build_object('id', commitopt.current_session_id(),
									  'created_at', u.created_at,
									  'expires_at', commitopt.session_ends_at(u.created_at, u.last_activity))));
END
$$;

-- POST /v1/me/password {"current_password", "new_password"}: the user
-- changes their own password; their other sessions end.
CREATE FUNCTION api.change_password(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	cur text := api.body_text(req, 'current_password');
	new text := api.body_text(req, 'new_password');
	detail text;
BEGIN
	IF cur IS NULL OR new IS NULL THEN
		RETURN api.error(400, 'invalid_request',
						 'the body must be a JSON object with the strings "current_password" and "new_password"');
	END IF;
	BEGIN
		PERFORM commitopt.change_password(commitopt.current_user_id(), cur, new);
	EXCEPTION
		WHEN invalid_password THEN
			RETURN api.error(403, 'invalid_password', 'current password is incorrect');
		WHEN invalid_parameter_value THEN
			-- the policy's detail lists the rules broken, never the password
			GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
			RETURN api.error(422, 'weak_password',
							 SQLERRM || coalesce(': ' || nullif(detail, ''), ''));
	END;
	RETURN api.json(200, '{"password_changed": true}');
END
$$;

-- GET /v1/sessions: the live sessions of the user.
CREATE FUNCTION api.sessions(req api.request)
RETURNS api.response LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN api.json(200, jsonb_build_object('sessions', coalesce((
	SELECT jsonb_agg(jsonb_build_object(
				'id', s.session_id, 'created_at', s.created_at,
				'last_activity', s.last_activity,
				'expires_at', commitopt.session_ends_at(s.created_at, s.last_activity),
				'client_addr', s.client_addr,
				'current', s.session_id = commitopt.current_session_id())
			ORDER BY s.created_at, s.session_id)
	  FROM commitopt.sessions s
	 WHERE s.user_id = commitopt.current_user_id()
	   AND commitopt.clock_now() < commitopt.session_ends_at(s.created_at, s.last_activity)),
	'[]')));

-- DELETE /v1/sessions/{id}: ends one of the user's sessions; an admin may
-- end any session of the tenant.  Another tenant's session does not exist.
CREATE FUNCTION api.delete_session(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	target uuid;
	owner_ uuid;
BEGIN
	BEGIN
		target := req.params[1]::uuid;
	EXCEPTION WHEN invalid_text_representation THEN
		RETURN api.error(404, 'not_found', 'no such session');
	END;
	DELETE FROM commitopt.sessions s
	 WHERE s.session_id = target
	   AND (s.user_id = commitopt.current_user_id()
			OR commitopt.current_user_role() = 'admin')
	RETURNING s.user_id INTO owner_;
	IF NOT FOUND THEN
		RETURN api.error(404, 'not_found', 'no such session');
	END IF;
	PERFORM commitopt.audit_record(commitopt.current_tenant(),
								   commitopt.current_user_id(),
								   commitopt.current_user_role(),
								   req.client_addr, 'session_revoked',
								   target::text,
								   jsonb_build_object('reason', 'user_revoked',
													  'user', owner_));
	RETURN api.json(200, '{"sessions_ended": 1}');
END
$$;

-- A user who must change their password may still end their sessions:
-- logging out only takes access away.
INSERT INTO api.routes (method, pattern, handler, needs_session, during_password_change)
VALUES ('POST', '/v1/login', 'api.login(api.request)', false, true),
	   ('POST', '/v1/logout', 'api.logout(api.request)', true, true),
	   ('POST', '/v1/logout-all', 'api.logout_all(api.request)', true, true),
	   ('GET', '/v1/me', 'api.me(api.request)', true, false),
	   ('POST', '/v1/me/password', 'api.change_password(api.request)', true, true),
	   ('GET', '/v1/sessions', 'api.sessions(api.request)', true, false),
	   ('DELETE', '/v1/sessions/([^/]+)', 'api.delete_session(api.request)', true, false);

-- Everything in api belongs to the owner role; the gateway may call the
-- entry point and nothing else.
DO $own$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
			  WHERE p.pronamespace = 'api'::regnamespace
	LOOP
		EXECUTE format('ALTER FUNCTION %s OWNER TO commitopt_owner', f);
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$own$;
ALTER TYPE api.request OWNER TO commitopt_owner;
ALTER TYPE api.response OWNER TO commitopt_owner;
GRANT EXECUTE ON FUNCTION api.dispatch(text, text, text, jsonb, text, inet)
	TO commitopt_gateway;

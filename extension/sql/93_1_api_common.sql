-- commitopt install script, part 9.3.1: what the API routes share.
--
-- Route metadata for the OpenAPI document (93_9_api_openapi.sql), query
-- string parsing, keyset pagination with opaque cursors, and the mapping
-- of the errors raised by the functions the handlers call to HTTP.
--
-- Roles, checked by api.dispatch() from api.routes.min_role:
--   viewer  reads the tenant's figures and inventories, their own user
--           and sessions, changes their own password
--   member  as viewer, and queues simulation and recommendation jobs
--   admin   as member, and manages users, AWS accounts, reads jobs and
--           the audit trail
--
-- Pagination: ?limit= (1 to 500, default 50) and ?after=<cursor>; the
-- answer is {"items": [...], "next": <cursor> | null}.  A cursor is the
-- base64url of [route, key of the last item]: it only says where to go
-- on, and row-level security still decides what there is to see.

-- Metadata of each route, for the OpenAPI document.  Nullable so that a
-- route added elsewhere without it still installs; the test of the
-- document fails for it.
ALTER TABLE api.routes
	ADD COLUMN summary text,
	-- names of the pattern's capture groups, in order
	ADD COLUMN param_names text[] NOT NULL DEFAULT '{}',
	-- JSON Schema of the request body; NULL: no body
	ADD COLUMN request_schema jsonb,
	-- JSON Schema of the success body; of one item if paginated
	ADD COLUMN response_schema jsonb,
	ADD COLUMN success_status integer NOT NULL DEFAULT 200,
	ADD COLUMN paginated boolean NOT NULL DEFAULT false;

-- api.error_for(sqlstate, message, detail): the response for an error
-- raised by a function a handler called, for the states that are the
-- caller's fault.  Their messages name the bad value, never a password or
-- a secret; for an invalid value the detail (the password rules broken,
-- the expected form) follows the message.
CREATE FUNCTION api.error_for(state text, message text, detail text DEFAULT NULL)
RETURNS api.response LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE
	-- the password policy's refusal (password_policy.c) has its own code,
	-- the one POST /v1/me/password answers too
	WHEN state = '22023' AND message LIKE '%does not meet the password policy'
		THEN api.error(422, 'weak_password',
					   message || coalesce(': ' || nullif(detail, ''), ''))
	ELSE CASE state
	WHEN '22023' THEN api.error(422, 'invalid_value',
								message || coalesce(': ' || nullif(detail, ''), ''))
	WHEN '22021' THEN api.error(422, 'invalid_value', message)
	WHEN '23502' THEN api.error(400, 'invalid_request', message)
	WHEN '23505' THEN api.error(409, 'conflict', message)
	WHEN '55000' THEN api.error(409, 'conflict', message)
	WHEN '42501' THEN api.error(403, 'forbidden', message)
	WHEN 'P0002' THEN api.error(404, 'not_found', message)
	ELSE api.error(500, 'internal', 'internal error') END END;

-- api.url_decode(s): percent-decoding of a query string component ("+" is
-- a space); raises 22023 on a stray "%" and 22021 on bytes that are not
-- UTF-8.
CREATE FUNCTION api.url_decode(s text)
RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	bytes bytea;
BEGIN
	IF s ~ '%(?![0-9A-Fa-f]{2})' THEN
		RAISE EXCEPTION 'invalid percent-encoding in "%"', s
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT string_agg(CASE WHEN m[1] IS NOT NULL
						   THEN decode(substr(m[1], 2), 'hex')
						   ELSE convert_to(m[2], 'UTF8') END,
					  ''::bytea ORDER BY ord)
	  INTO bytes
	  FROM regexp_matches(replace(s, '+', ' '), '(%[0-9A-Fa-f]{2})|([^%]+)', 'g')
		   WITH ORDINALITY AS x(m, ord);
	RETURN convert_from(coalesce(bytes, ''::bytea), 'UTF8');
END
$$;

-- api.query_params(query): the query string as a JSON object of strings.
-- Raises 22023 for a parameter given twice or without a name.
CREATE FUNCTION api.query_params(query text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	result jsonb := '{}';
	part text;
	name text;
	value text;
BEGIN
	FOREACH part IN ARRAY string_to_array(coalesce(query, ''), '&') LOOP
		CONTINUE WHEN part = '';
		name := api.url_decode(split_part(part, '=', 1));
		value := api.url_decode(substr(part, length(split_part(part, '=', 1)) + 2));
		IF name = '' THEN
			RAISE EXCEPTION 'query parameter without a name'
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF result ? name THEN
			RAISE EXCEPTION 'query parameter "%" is given more than once', name
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		result := result || jsonb_build_object(name, value);
	END LOOP;
	RETURN result;
END
$$;

-- api.cursor_encode(route, key): the opaque cursor after an item.
CREATE FUNCTION api.cursor_encode(route text, key jsonb)
RETURNS text LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN rtrim(translate(encode(convert_to(jsonb_build_array(route, key)::text,
										 'UTF8'), 'base64'),
					   E'+/\n', '-_'), '=');

-- api.cursor_decode(route, cursor, types): the key a cursor holds, checked
-- to be one of route's, an array of values of the JSON types given
-- ("string" or "integer").  Raises 22023 for anything else.
CREATE FUNCTION api.cursor_decode(route text, cursor text, types text[])
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c jsonb;
	b64 text;
BEGIN
	-- (a regular expression bound cannot exceed 255)
	IF length(cursor) > 2000 OR cursor !~ '^[A-Za-z0-9_-]+$' THEN
		RAISE EXCEPTION 'invalid cursor';
	END IF;
	b64 := translate(cursor, '-_', '+/');
	b64 := b64 || repeat('=', (4 - length(b64) % 4) % 4);
	c := convert_from(decode(b64, 'base64'), 'UTF8')::jsonb;
	IF jsonb_typeof(c) <> 'array' OR jsonb_array_length(c) <> 2
	   OR c ->> 0 IS DISTINCT FROM route
	   OR jsonb_typeof(c -> 1) <> 'array'
	   OR jsonb_array_length(c -> 1) <> cardinality(types) THEN
		RAISE EXCEPTION 'invalid cursor';
	END IF;
	FOR i IN 1 .. cardinality(types) LOOP
		IF NOT (CASE types[i]
				WHEN 'string' THEN jsonb_typeof(c -> 1 -> (i - 1)) = 'string'
				WHEN 'integer' THEN jsonb_typeof(c -> 1 -> (i - 1)) = 'number'
					AND (c -> 1 ->> (i - 1)) ~ '^-?[0-9]{1,18}$'
				END) THEN
			RAISE EXCEPTION 'invalid cursor';
		END IF;
	END LOOP;
	RETURN c -> 1;
EXCEPTION WHEN OTHERS THEN
	-- whatever was wrong (base64, UTF-8, JSON, shape): one answer
	RAISE EXCEPTION 'invalid cursor "%"', left(cursor, 100)
		USING ERRCODE = 'invalid_parameter_value',
			  DETAIL = 'Pass back the "next" value of the previous page unchanged.';
END
$$;

-- api.page_args(req, route, key_types): the limit and the decoded cursor
-- of a paginated request, or err, a 400 response, if the query string
-- is bad or has another parameter.
CREATE FUNCTION api.page_args(req api.request, route text, key_types text[],
							  OUT lim integer, OUT after jsonb,
							  OUT err api.response)
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	q jsonb;
	extra text;
BEGIN
	BEGIN
		q := api.query_params(req.query);
	EXCEPTION WHEN invalid_parameter_value OR character_not_in_repertoire THEN
		err := api.error(400, 'invalid_query', SQLERRM);
		RETURN;
	END;
	SELECT min(k) INTO extra FROM jsonb_object_keys(q) k
	 WHERE k NOT IN ('limit', 'after');
	IF extra IS NOT NULL THEN
		err := api.error(400, 'invalid_query',
						 format('unknown query parameter "%s"; this route takes "limit" and "after"',
								extra));
		RETURN;
	END IF;
	lim := 50;
	IF q ? 'limit' THEN
		IF q ->> 'limit' !~ '^[0-9]{1,3}$'
		   OR (q ->> 'limit')::int NOT BETWEEN 1 AND 500 THEN
			err := api.error(400, 'invalid_query',
							 format('limit must be an integer from 1 to 500, not "%s"',
									left(q ->> 'limit', 100)));
			RETURN;
		END IF;
		lim := (q ->> 'limit')::int;
	END IF;
	IF q ? 'after' THEN
		BEGIN
			after := api.cursor_decode(route, q ->> 'after', key_types);
		EXCEPTION WHEN invalid_parameter_value THEN
			err := api.error(400, 'invalid_cursor', SQLERRM);
			RETURN;
		END;
	END IF;
END
$$;

-- api.page(rows, lim, route): the page body from up to lim + 1 rows, each
-- a JSON array [key, item] in page order; "next" is set when there was a
-- row beyond the page.
CREATE FUNCTION api.page(rows jsonb, lim integer, route text)
RETURNS jsonb LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN jsonb_build_object(
	'items', coalesce((SELECT jsonb_agg(r -> 1 ORDER BY n)
						 FROM jsonb_array_elements(rows) WITH ORDINALITY AS x(r, n)
						WHERE n <= lim), '[]'),
	'next', CASE WHEN jsonb_array_length(rows) > lim
				 THEN to_jsonb(api.cursor_encode(route, rows -> (lim - 1) -> 0))
				 ELSE 'null' END);

-- api.param_uuid(req, i): capture group i of the path as a uuid, or NULL
-- if it is not one (the caller answers 404: no such object).
CREATE FUNCTION api.param_uuid(req api.request, i integer)
RETURNS uuid LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN req.params[i] ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
			THEN req.params[i]::uuid END;

-- api.body_check(req, fields, required): NULL if the body is a JSON
-- object whose keys are all among fields (name -> JSON type, "string",
-- "boolean"...) with those types, and has every key of required; else a
-- 400 response naming the first problem.
CREATE FUNCTION api.body_check(req api.request, fields jsonb, required text[])
RETURNS api.response LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	k text;
BEGIN
	IF jsonb_typeof(req.body) IS DISTINCT FROM 'object' THEN
		RETURN api.error(400, 'invalid_request', 'the body must be a JSON object');
	END IF;
	FOR k IN SELECT x FROM jsonb_object_keys(req.body) x ORDER BY x LOOP
		IF NOT fields ? k THEN
			RETURN api.error(400, 'invalid_request',
							 format('unknown field "%s"', left(k, 100)));
		END IF;
		IF jsonb_typeof(req.body -> k) <> fields ->> k THEN
			RETURN api.error(400, 'invalid_request',
							 format('field "%s" must be a %s, not %s', k,
									fields ->> k, jsonb_typeof(req.body -> k)));
		END IF;
	END LOOP;
	FOREACH k IN ARRAY required LOOP
		IF NOT req.body ? k THEN
			RETURN api.error(400, 'invalid_request',
							 format('field "%s" is required', k));
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;

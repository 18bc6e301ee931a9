-- commitopt install script, part 9.3.9: the OpenAPI 3.1 description of
-- the API, generated from api.routes, and the ownership of the API's
-- functions.  Keep this file sorting after every file that adds routes.

-- Metadata of the session routes of 92_api.sql.
UPDATE api.routes r
   SET summary = m.summary, param_names = m.param_names,
	   request_schema = m.request_schema, response_schema = m.response_schema
  FROM (VALUES
	('POST', '/v1/login', 'Log in with e-mail address and password; returns a session token and sets the session cookie',
	 '{}'::text[],
	 '{"type": "object", "required": ["email", "password"],
	   "properties": {"email": {"type": "string"}, "password": {"type": "string"}}}'::jsonb,
	 '{"type": "object", "properties": {"token": {"type": "string"},
	   "expires_at": {"type": "string", "format": "date-time"},
	   "user": {"type": "object"}}}'::jsonb),
	('POST', '/v1/logout', 'End the session of the request', '{}', NULL,
	 '{"type": "object", "properties": {"sessions_ended": {"type": "integer"}}}'),
	('POST', '/v1/logout-all', 'End every session of the user', '{}', NULL,
	 '{"type": "object", "properties": {"sessions_ended": {"type": "integer"}}}'),
	('GET', '/v1/me', 'Show the user and session of the request', '{}', NULL,
	 '{"type": "object", "properties": {"user": {"type": "object"},
	   "session": {"type": "object"}}}'),
	('POST', '/v1/me/password', 'Change one''s own password; one''s other sessions end', '{}',
	 '{"type": "object", "required": ["current_password", "new_password"],
	   "properties": {"current_password": {"type": "string"},
					  "new_password": {"type": "string"}}}',
	 '{"type": "object", "properties": {"password_changed": {"type": "boolean"}}}'),
	('GET', '/v1/sessions', 'List one''s live sessions', '{}', NULL,
	 '{"type": "object", "properties": {"sessions": {"type": "array",
	   "items": {"type": "object"}}}}'),
	('DELETE', '/v1/sessions/([^/]+)', 'End one of one''s sessions (an admin: any of the tenant)',
	 '{id}', NULL,
	 '{"type": "object", "properties": {"sessions_ended": {"type": "integer"}}}')
  ) AS m(method, pattern, summary, param_names, request_schema, response_schema)
 WHERE r.method = m.method AND r.pattern = m.pattern;

-- api.path_template(pattern, names): the OpenAPI path of a route, each
-- capture group ([^/]+) replaced by {name}, and "\." by ".".
CREATE FUNCTION api.path_template(pattern text, names text[])
RETURNS text LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	path text := pattern;
BEGIN
	FOR i IN 1 .. coalesce(cardinality(names), 0) LOOP
		path := regexp_replace(path, '\(\[\^/\]\+\)', '{' || names[i] || '}');
	END LOOP;
	RETURN replace(path, '\.', '.');
END
$$;

-- api.openapi_components(): the shared schemas of the document.
CREATE FUNCTION api.openapi_components()
RETURNS jsonb LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN '{
  "securitySchemes": {
	"bearer": {"type": "http", "scheme": "bearer"},
	"cookie": {"type": "apiKey", "in": "cookie", "name": "__Host-commitopt_session"}
  },
  "schemas": {
	"Error": {"type": "object", "required": ["error"],
	  "properties": {"error": {"type": "object", "required": ["code", "message"],
		"properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
	"Role": {"enum": ["admin", "member", "viewer"]},
	"User": {"type": "object", "properties": {
	  "id": {"type": "string", "format": "uuid"}, "email": {"type": "string"},
	  "first_name": {"type": "string"}, "last_name": {"type": "string"},
	  "role": {"$ref": "#/components/schemas/Role"}, "disabled": {"type": "boolean"},
	  "must_change_password": {"type": "boolean"},
	  "created_at": {"type": "string", "format": "date-time"}}},
	"Figures": {"type": "object", "properties": {
	  "on_demand_equivalent": {"type": ["number", "null"]},
	  "amortized_cost": {"type": ["number", "null"]},
	  "savings": {"type": ["number", "null"]},
	  "esr_pct": {"type": ["number", "null"]},
	  "coverage_cost_pct": {"type": ["number", "null"]},
	  "coverage_hours_pct": {"type": ["number", "null"]},
	  "ri_utilization_pct": {"type": ["number", "null"]},
	  "sp_utilization_pct": {"type": ["number", "null"]}}},
	"Summary": {"type": "object", "properties": {
	  "run": {"type": ["object", "null"]},
	  "months": {"type": "array", "items": {"allOf": [
		{"$ref": "#/components/schemas/Figures"},
		{"type": "object", "properties": {"month": {"type": "string"}}}]}},
	  "total": {"oneOf": [{"$ref": "#/components/schemas/Figures"}, {"type": "null"}]}}},
	"UsageSeries": {"type": "object", "properties": {
	  "id": {"type": "integer"}, "account_id": {"type": "string"},
	  "region": {"type": "string"}, "availability_zone": {"type": ["string", "null"]},
	  "instance_type": {"type": "string"}, "platform": {"type": "string"},
	  "tenancy": {"type": "string"}, "first_month": {"type": ["string", "null"]},
	  "last_month": {"type": ["string", "null"]}, "instance_hours": {"type": "number"}}},
	"ReservedInstance": {"type": "object", "properties": {
	  "id": {"type": "string"}, "owner_account_id": {"type": "string"},
	  "region": {"type": "string"}, "availability_zone": {"type": ["string", "null"]},
	  "instance_type": {"type": "string"}, "platform": {"type": "string"},
	  "tenancy": {"type": "string"}, "instance_count": {"type": "integer"},
	  "offering_class": {"type": "string"}, "payment_option": {"type": ["string", "null"]},
	  "start_time": {"type": "string", "format": "date-time"},
	  "end_time": {"type": "string", "format": "date-time"},
	  "effective_hourly_usd": {"type": "number"}, "source": {"type": "string"}}},
	"SavingsPlan": {"type": "object", "properties": {
	  "id": {"type": "string"}, "owner_account_id": {"type": "string"},
	  "plan_type": {"type": "string"}, "region": {"type": ["string", "null"]},
	  "instance_family": {"type": ["string", "null"]}, "term_years": {"type": "integer"},
	  "payment_option": {"type": "string"}, "hourly_commitment_usd": {"type": "number"},
	  "start_time": {"type": "string", "format": "date-time"},
	  "end_time": {"type": "string", "format": "date-time"}, "source": {"type": "string"}}},
	"Recommendation": {"type": "object", "properties": {
	  "id": {"type": "integer"}, "term_years": {"type": "integer"},
	  "lookback_days": {"type": "integer"}, "hourly_commitment": {"type": "number"},
	  "net_savings_added": {"type": "number"}, "savings_per_30_days": {"type": "number"},
	  "rates": {"enum": ["estimated", "published"]},
	  "curve": {"type": "array", "items": {"type": "object"}}}},
	"AuditEntry": {"type": "object", "properties": {
	  "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
	  "actor_user": {"type": ["string", "null"]}, "actor_role": {"type": ["string", "null"]},
	  "client_addr": {"type": ["string", "null"]}, "action": {"type": "string"},
	  "object": {"type": ["string", "null"]}, "details": {"type": "object"}}},
	"AwsAccount": {"type": "object", "properties": {
	  "account_id": {"type": "string"}, "name": {"type": ["string", "null"]},
	  "region": {"type": "string"}, "status": {"enum": ["pending", "active", "failed"]},
	  "last_error": {"type": ["string", "null"]}}},
	"AwsRegistration": {"type": "object", "properties": {
	  "account_id": {"type": "string"}, "status": {"type": "string"},
	  "external_id": {"type": "string"},
	  "policies": {"type": "object", "properties": {
		"trust": {"type": "object"}, "read_only": {"type": "object"},
		"purchase": {"type": "object"}}}}},
	"Job": {"type": "object", "properties": {
	  "id": {"type": "integer"}, "kind": {"type": "string"},
	  "account_id": {"type": ["string", "null"]},
	  "status": {"enum": ["queued", "running", "succeeded", "failed"]},
	  "attempts": {"type": "integer"}, "error": {"type": ["string", "null"]}}}
  }
}'::jsonb;

-- api.openapi_operation(route): the OpenAPI operation object of a route.
CREATE FUNCTION api.openapi_operation(r api.routes)
RETURNS jsonb LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN jsonb_strip_nulls(jsonb_build_object(
	'operationId', (SELECT p.proname FROM pg_proc p WHERE p.oid = r.handler),
	'summary', r.summary,
	'x-min-role', CASE WHEN r.needs_session THEN r.min_role END,
	'security', CASE WHEN r.needs_session
					 THEN '[{"bearer": []}, {"cookie": []}]'::jsonb
					 ELSE '[]'::jsonb END,
	'parameters', (SELECT jsonb_agg(x ORDER BY n) FROM (
		SELECT n, jsonb_build_object('name', name, 'in', 'path', 'required', true,
									 'schema', '{"type": "string"}'::jsonb) AS x
		  FROM unnest(r.param_names) WITH ORDINALITY AS p(name, n)
		UNION ALL
		SELECT 100 + n, x FROM unnest(ARRAY[
			'{"name": "limit", "in": "query", "required": false,
			  "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}'::jsonb,
			'{"name": "after", "in": "query", "required": false,
			  "description": "The \"next\" cursor of the previous page",
			  "schema": {"type": "string"}}'::jsonb]) WITH ORDINALITY AS q(x, n)
		 WHERE r.paginated) ps),
	'requestBody', CASE WHEN r.request_schema IS NOT NULL THEN jsonb_build_object(
		'required', true,
		'content', jsonb_build_object('application/json',
									  jsonb_build_object('schema', r.request_schema))) END,
	'responses', jsonb_build_object(
		r.success_status::text, jsonb_build_object(
			'description', 'Success',
			'content', jsonb_build_object('application/json', jsonb_build_object(
				'schema', CASE WHEN r.paginated THEN jsonb_build_object(
						'type', 'object', 'required', jsonb_build_array('items', 'next'),
						'properties', jsonb_build_object(
							'items', jsonb_build_object('type', 'array',
														'items', r.response_schema),
							'next', '{"type": ["string", "null"]}'::jsonb))
					ELSE r.response_schema END))),
		'default', '{"description": "Error", "content": {"application/json":
			{"schema": {"$ref": "#/components/schemas/Error"}}}}'::jsonb)));

-- api.openapi(): the OpenAPI 3.1 document of every route in api.routes.
CREATE FUNCTION api.openapi()
RETURNS jsonb LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN jsonb_build_object(
	'openapi', '3.1.0',
	'info', jsonb_build_object('title', 'commitopt API', 'version', '1'),
	'paths', coalesce((
		SELECT jsonb_object_agg(t.path, t.ops)
		  FROM (SELECT api.path_template(r.pattern, r.param_names) AS path,
					   jsonb_object_agg(lower(r.method), api.openapi_operation(r)) AS ops
				  FROM api.routes r
				 GROUP BY 1) t), '{}'),
	'components', api.openapi_components());

-- GET /v1/openapi.json (no session needed)
CREATE FUNCTION api.openapi_document(req api.request)
RETURNS api.response LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN api.json(200, api.openapi());

INSERT INTO api.routes (method, pattern, handler, needs_session,
						during_password_change, summary, response_schema)
VALUES ('GET', '/v1/openapi\.json', 'api.openapi_document(api.request)', false,
		true, 'This OpenAPI 3.1 description of the API',
		'{"type": "object"}');

-- Every function of api belongs to the owner role, none callable by
-- PUBLIC (the gateway calls api.dispatch() only, 92_api.sql).
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
GRANT EXECUTE ON FUNCTION api.dispatch(text, text, text, jsonb, text, inet)
	TO commitopt_gateway;

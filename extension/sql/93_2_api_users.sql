-- commitopt install script, part 9.3.2: the user routes (administrators).
--
-- Listing and reading go through row-level security on commitopt.users;
-- changes go through the user-management functions of 80_users.sql with
-- the claim's user as the acting user, so they check the acting user's
-- rights and tenant again and write the audit trail.  A user of another
-- tenant, or an id that is no uuid, is "no such user" (404).

-- api.user_json(user_id): what the API shows of a user of the tenant
-- (never the hash), or NULL.
CREATE FUNCTION api.user_json(id uuid)
RETURNS jsonb LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
RETURN (SELECT jsonb_build_object('id', u.user_id, 'email', u.email,
								  'first_name', u.first_name,
								  'last_name', u.last_name, 'role', u.role,
								  'disabled', u.disabled,
								  'must_change_password', u.must_change_password,
								  'created_at', u.created_at)
		  FROM commitopt.users u
		 WHERE u.user_id = id
		   AND u.tenant_id = commitopt.current_tenant());

-- GET /v1/users: the tenant's users by e-mail address, paginated.
CREATE FUNCTION api.users_list(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pg record;
	rows jsonb;
BEGIN
	SELECT * INTO pg FROM api.page_args(req, 'users', '{string}');
	IF pg.err IS NOT NULL THEN
		RETURN pg.err;
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_array(jsonb_build_array(x.k),
												api.user_json(x.user_id))
							  ORDER BY x.k), '[]')
	  INTO rows
	  FROM (SELECT lower(u.email) AS k, u.user_id
			  FROM commitopt.users u
			 WHERE u.tenant_id = commitopt.current_tenant()
			   AND (pg.after IS NULL OR lower(u.email) > pg.after ->> 0)
			 ORDER BY 1
			 LIMIT pg.lim + 1) x;
	RETURN api.json(200, api.page(rows, pg.lim, 'users'));
END
$$;

-- GET /v1/users/{id}
CREATE FUNCTION api.user_get(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	u jsonb := api.user_json(api.param_uuid(req, 1));
BEGIN
	IF u IS NULL THEN
		RETURN api.error(404, 'not_found', 'no such user');
	END IF;
	RETURN api.json(200, u);
END
$$;

-- POST /v1/users {"email", "first_name", "last_name", "role", "password"}:
-- a new user, who must choose a new password at first login.
CREATE FUNCTION api.user_create(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	bad api.response := api.body_check(req,
		'{"email": "string", "first_name": "string", "last_name": "string",
		  "role": "string", "password": "string"}',
		'{email,first_name,last_name,role,password}');
	id uuid;
	detail text;
BEGIN
	IF bad IS NOT NULL THEN
		RETURN bad;
	END IF;
	BEGIN
		id := commitopt.create_user(commitopt.current_user_id(),
									req.body ->> 'email',
									req.body ->> 'first_name',
									req.body ->> 'last_name',
									req.body ->> 'role',
									req.body ->> 'password');
	EXCEPTION WHEN invalid_parameter_value OR unique_violation
				   OR character_not_in_repertoire OR insufficient_privilege THEN
		GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
		RETURN api.error_for(SQLSTATE, SQLERRM, detail);
	END;
	RETURN api.json(201, api.user_json(id));
END
$$;

-- PATCH /v1/users/{id} {"email"?, "first_name"?, "last_name"?, "role"?,
-- "disabled"?}: changes a user's profile, role or disabled flag.
CREATE FUNCTION api.user_update(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	bad api.response := api.body_check(req,
		'{"email": "string", "first_name": "string", "last_name": "string",
		  "role": "string", "disabled": "boolean"}', '{}');
	id uuid := api.param_uuid(req, 1);
	detail text;
BEGIN
	IF id IS NULL OR api.user_json(id) IS NULL THEN
		RETURN api.error(404, 'not_found', 'no such user');
	END IF;
	IF bad IS NOT NULL THEN
		RETURN bad;
	END IF;
	IF req.body = '{}' THEN
		RETURN api.error(400, 'invalid_request', 'the body changes nothing');
	END IF;
	IF req.body ? 'disabled' AND id = commitopt.current_user_id() THEN
		RETURN api.error(409, 'conflict', 'you cannot disable your own user');
	END IF;
	BEGIN
		IF req.body ?| '{email,first_name,last_name,role}' THEN
			PERFORM commitopt.update_user(commitopt.current_user_id(), id,
										  req.body ->> 'email',
										  req.body ->> 'first_name',
										  req.body ->> 'last_name',
										  req.body ->> 'role');
		END IF;
		IF req.body ? 'disabled' THEN
			PERFORM commitopt.disable_user(commitopt.current_user_id(), id,
										   (req.body ->> 'disabled')::boolean);
		END IF;
	EXCEPTION WHEN invalid_parameter_value OR unique_violation
				   OR object_not_in_prerequisite_state
				   OR insufficient_privilege OR no_data_found THEN
		-- the block's changes are undone: all or nothing
		GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
		RETURN api.error_for(SQLSTATE, CASE WHEN SQLSTATE = 'P0002'
											THEN 'no such user' ELSE SQLERRM END,
							 detail);
	END;
	RETURN api.json(200, api.user_json(id));
END
$$;

-- DELETE /v1/users/{id}
CREATE FUNCTION api.user_delete(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	id uuid := api.param_uuid(req, 1);
	detail text;
BEGIN
	IF id IS NULL OR api.user_json(id) IS NULL THEN
		RETURN api.error(404, 'not_found', 'no such user');
	END IF;
	IF id = commitopt.current_user_id() THEN
		RETURN api.error(409, 'conflict', 'you cannot delete your own user');
	END IF;
	BEGIN
		PERFORM commitopt.delete_user(commitopt.current_user_id(), id);
	EXCEPTION WHEN object_not_in_prerequisite_state OR insufficient_privilege
				   OR no_data_found THEN
		GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
		RETURN api.error_for(SQLSTATE, CASE WHEN SQLSTATE = 'P0002'
											THEN 'no such user' ELSE SQLERRM END,
							 detail);
	END;
	RETURN api.json(200, jsonb_build_object('deleted', id));
END
$$;

-- POST /v1/users/{id}/password {"temporary_password"}: an administrator
-- resets a user's password; the user's sessions end and the user must
-- choose a new one at next login.
CREATE FUNCTION api.user_reset_password(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	bad api.response := api.body_check(req, '{"temporary_password": "string"}',
									   '{temporary_password}');
	id uuid := api.param_uuid(req, 1);
	detail text;
BEGIN
	IF id IS NULL OR api.user_json(id) IS NULL THEN
		RETURN api.error(404, 'not_found', 'no such user');
	END IF;
	IF bad IS NOT NULL THEN
		RETURN bad;
	END IF;
	IF id = commitopt.current_user_id() THEN
		RETURN api.error(409, 'conflict',
						 'change your own password with POST /v1/me/password');
	END IF;
	BEGIN
		PERFORM commitopt.reset_password(commitopt.current_user_id(), id,
										 req.body ->> 'temporary_password');
	EXCEPTION WHEN invalid_parameter_value OR character_not_in_repertoire
				   OR insufficient_privilege OR no_data_found THEN
		GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
		RETURN api.error_for(SQLSTATE, CASE WHEN SQLSTATE = 'P0002'
											THEN 'no such user' ELSE SQLERRM END,
							 detail);
	END;
	RETURN api.json(200, jsonb_build_object('password_reset', true));
END
$$;

-- The handlers call these as the owner role, with the claim's user.
GRANT EXECUTE ON FUNCTION
	commitopt.create_user(uuid, text, text, text, text, text),
	commitopt.update_user(uuid, uuid, text, text, text, text),
	commitopt.disable_user(uuid, uuid, boolean),
	commitopt.delete_user(uuid, uuid),
	commitopt.reset_password(uuid, uuid, text)
TO commitopt_owner;

INSERT INTO api.routes (method, pattern, handler, min_role, summary,
						param_names, request_schema, response_schema,
						success_status, paginated)
VALUES
	('GET', '/v1/users', 'api.users_list(api.request)', 'admin',
	 'List the users of the tenant, by e-mail address', '{}', NULL,
	 '{"$ref": "#/components/schemas/User"}', 200, true),
	('POST', '/v1/users', 'api.user_create(api.request)', 'admin',
	 'Create a user, who must choose a new password at first login', '{}',
	 '{"type": "object", "additionalProperties": false,
	   "required": ["email", "first_name", "last_name", "role", "password"],
	   "properties": {"email": {"type": "string"}, "first_name": {"type": "string"},
					  "last_name": {"type": "string"},
					  "role": {"$ref": "#/components/schemas/Role"},
					  "password": {"type": "string"}}}',
	 '{"$ref": "#/components/schemas/User"}', 201, false),
	('GET', '/v1/users/([^/]+)', 'api.user_get(api.request)', 'admin',
	 'Show a user of the tenant', '{id}', NULL,
	 '{"$ref": "#/components/schemas/User"}', 200, false),
	('PATCH', '/v1/users/([^/]+)', 'api.user_update(api.request)', 'admin',
	 'Change a user''s profile or role, or disable or enable the user', '{id}',
	 '{"type": "object", "additionalProperties": false, "minProperties": 1,
	   "properties": {"email": {"type": "string"}, "first_name": {"type": "string"},
					  "last_name": {"type": "string"},
					  "role": {"$ref": "#/components/schemas/Role"},
					  "disabled": {"type": "boolean"}}}',
	 '{"$ref": "#/components/schemas/User"}', 200, false),
	('DELETE', '/v1/users/([^/]+)', 'api.user_delete(api.request)', 'admin',
	 'Delete a user', '{id}', NULL,
	 '{"type": "object", "properties": {"deleted": {"type": "string", "format": "uuid"}}}',
	 200, false),
	('POST', '/v1/users/([^/]+)/password', 'api.user_reset_password(api.request)', 'admin',
	 'Give a user a temporary password and end the user''s sessions', '{id}',
	 '{"type": "object", "additionalProperties": false,
	   "required": ["temporary_password"],
	   "properties": {"temporary_password": {"type": "string"}}}',
	 '{"type": "object", "properties": {"password_reset": {"type": "boolean"}}}',
	 200, false);

-- commitopt install script, part 9.3.4: the audit trail, AWS accounts and
-- jobs routes.
--
-- The audit trail is read through its own row-level security (only the
-- tenant's administrators see rows).  AWS accounts are registered through
-- register_aws_account() with the claim's user, and jobs are queued for
-- the claim's tenant only.

-- GET /v1/audit: the tenant's audit trail, newest first, paginated.
CREATE FUNCTION api.audit_list(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pg record;
	rows jsonb;
BEGIN
	SELECT * INTO pg FROM api.page_args(req, 'audit', '{integer}');
	IF pg.err IS NOT NULL THEN
		RETURN pg.err;
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_array(jsonb_build_array(l.entry_id),
		jsonb_build_object('id', l.entry_id, 'at', l.at,
						   'actor_user', l.actor_user, 'actor_role', l.actor_role,
						   'client_addr', host(l.client_addr), 'action', l.action,
						   'object', l.object, 'details', l.details))
					  ORDER BY l.entry_id DESC), '[]')
	  INTO rows
	  FROM (SELECT * FROM commitopt.audit_log x
			 WHERE x.tenant_id = commitopt.current_tenant()
			   AND (pg.after IS NULL OR x.entry_id < (pg.after ->> 0)::bigint)
			 ORDER BY x.entry_id DESC
			 LIMIT pg.lim + 1) l;
	RETURN api.json(200, api.page(rows, pg.lim, 'audit'));
END
$$;

-- GET /v1/aws-accounts: the tenant's AWS connections and their status,
-- by account, paginated.  No sealed value is read.
CREATE FUNCTION api.aws_accounts_list(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pg record;
	rows jsonb;
BEGIN
	SELECT * INTO pg FROM api.page_args(req, 'aws-accounts', '{string}');
	IF pg.err IS NOT NULL THEN
		RETURN pg.err;
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_array(jsonb_build_array(c.account_id),
		jsonb_build_object('account_id', c.account_id, 'name', a.name,
						   'region', c.region, 'status', c.status,
						   'last_error', c.last_error,
						   'verified_at', c.verified_at,
						   'last_sync_at', c.last_sync_at,
						   'created_at', c.created_at))
					  ORDER BY c.account_id), '[]')
	  INTO rows
	  FROM (SELECT * FROM commitopt.aws_connection_status x
			 WHERE x.tenant_id = commitopt.current_tenant()
			   AND (pg.after IS NULL OR x.account_id > pg.after ->> 0)
			 ORDER BY x.account_id
			 LIMIT pg.lim + 1) c
	  JOIN commitopt.aws_accounts a USING (tenant_id, account_id);
	RETURN api.json(200, api.page(rows, pg.lim, 'aws-accounts'));
END
$$;

-- POST /v1/aws-accounts {"account_id", "role_arn", "name"?, "region"?}:
-- registers an account; the answer holds the external ID and the policies
-- the customer reviews before granting anything.  Verification is queued.
CREATE FUNCTION api.aws_account_register(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	bad api.response := api.body_check(req,
		'{"account_id": "string", "role_arn": "string", "name": "string",
		  "region": "string"}', '{account_id,role_arn}');
	r record;
	detail text;
BEGIN
	IF bad IS NOT NULL THEN
		RETURN bad;
	END IF;
	BEGIN
		SELECT * INTO r
		  FROM commitopt.register_aws_account(commitopt.current_user_id(),
											  req.body ->> 'account_id',
											  req.body ->> 'role_arn',
											  req.body ->> 'name',
											  coalesce(req.body ->> 'region', 'us-east-1'));
	EXCEPTION
		WHEN object_not_in_prerequisite_state THEN
			-- the platform's principal is not configured: not the caller's fault
			RETURN api.error(503, 'not_configured',
							 'this service has no AWS principal configured (setting commitopt.aws_principal_arn); an operator must set it before accounts can be registered');
		WHEN invalid_parameter_value OR unique_violation OR insufficient_privilege THEN
			GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
		RETURN api.error_for(SQLSTATE, SQLERRM, detail);
	END;
	RETURN api.json(201, jsonb_build_object(
		'account_id', req.body ->> 'account_id',
		'status', 'pending',
		'external_id', r.external_id,
		'policies', jsonb_build_object('trust', r.trust_policy,
									   'read_only', r.read_only_policy,
									   'purchase', r.purchase_policy)));
END
$$;

-- api.job_json(job): what the API shows of a job, given as to_jsonb() of
-- its commitopt.jobs row (the table is created after this file).
CREATE FUNCTION api.job_json(j jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN jsonb_build_object('id', j -> 'job_id', 'kind', j -> 'kind',
						  'account_id', j -> 'account_id', 'status', j -> 'status',
						  'attempts', j -> 'attempts', 'error', j -> 'error',
						  'result', j -> 'result', 'created_at', j -> 'created_at',
						  'started_at', j -> 'started_at',
						  'finished_at', j -> 'finished_at');

-- GET /v1/jobs: the tenant's jobs, newest first, paginated.
CREATE FUNCTION api.jobs_list(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pg record;
	rows jsonb;
BEGIN
	SELECT * INTO pg FROM api.page_args(req, 'jobs', '{integer}');
	IF pg.err IS NOT NULL THEN
		RETURN pg.err;
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_array(jsonb_build_array(j.job_id),
												api.job_json(to_jsonb(j)))
					  ORDER BY j.job_id DESC), '[]')
	  INTO rows
	  FROM (SELECT * FROM commitopt.jobs x
			 WHERE x.tenant_id = commitopt.current_tenant()
			   AND (pg.after IS NULL OR x.job_id < (pg.after ->> 0)::bigint)
			 ORDER BY x.job_id DESC
			 LIMIT pg.lim + 1) j;
	RETURN api.json(200, api.page(rows, pg.lim, 'jobs'));
END
$$;

-- POST /v1/jobs {"kind": "simulate" | "recommend"}: queues a job for the
-- tenant, or returns the one already queued or running (202 either way).
CREATE FUNCTION api.job_enqueue(req api.request)
RETURNS api.response LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	bad api.response := api.body_check(req, '{"kind": "string"}', '{kind}');
	j jsonb;
	id bigint;
BEGIN
	IF bad IS NOT NULL THEN
		RETURN bad;
	END IF;
	IF req.body ->> 'kind' NOT IN ('simulate', 'recommend') THEN
		RETURN api.error(422, 'invalid_value',
						 format('unknown job kind "%s"; the kinds are simulate and recommend',
								left(req.body ->> 'kind', 100)));
	END IF;
	-- queued first: a scan's snapshot would not see the row it inserts
	id := commitopt.enqueue_job(commitopt.current_tenant(), req.body ->> 'kind');
	SELECT to_jsonb(x) INTO j FROM commitopt.jobs x
	 WHERE x.tenant_id = commitopt.current_tenant() AND x.job_id = id;
	RETURN api.json(202, api.job_json(j));
END
$$;

-- XXX: register_aws_account() and enqueue_job() are created after this
-- file; the grant that lets the handlers call them is in 99_rls.sql.

INSERT INTO api.routes (method, pattern, handler, min_role, summary,
						param_names, request_schema, response_schema,
						success_status, paginated)
VALUES
	('GET', '/v1/audit', 'api.audit_list(api.request)', 'admin',
	 'List the tenant''s audit trail, newest first', '{}', NULL,
	 '{"$ref": "#/components/schemas/AuditEntry"}', 200, true),
	('GET', '/v1/aws-accounts', 'api.aws_accounts_list(api.request)', 'admin',
	 'List the connected AWS accounts and their status', '{}', NULL,
	 '{"$ref": "#/components/schemas/AwsAccount"}', 200, true),
	('POST', '/v1/aws-accounts', 'api.aws_account_register(api.request)', 'admin',
	 'Register an AWS account; returns the external ID and the IAM policies to review',
	 '{}',
	 '{"type": "object", "additionalProperties": false,
	   "required": ["account_id", "role_arn"],
	   "properties": {"account_id": {"type": "string", "pattern": "^[0-9]{12}$"},
					  "role_arn": {"type": "string"}, "name": {"type": "string"},
					  "region": {"type": "string", "default": "us-east-1"}}}',
	 '{"$ref": "#/components/schemas/AwsRegistration"}', 201, false),
	('GET', '/v1/jobs', 'api.jobs_list(api.request)', 'admin',
	 'List the tenant''s jobs and their status, newest first', '{}', NULL,
	 '{"$ref": "#/components/schemas/Job"}', 200, true),
	('POST', '/v1/jobs', 'api.job_enqueue(api.request)', 'member',
	 'Queue a simulation or a recommendation for the tenant', '{}',
	 '{"type": "object", "additionalProperties": false, "required": ["kind"],
	   "properties": {"kind": {"enum": ["simulate", "recommend"]}}}',
	 '{"$ref": "#/components/schemas/Job"}', 202, false);

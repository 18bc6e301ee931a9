-- commitopt install script, part 9.3.3: the tenant's figures and
-- inventories (every role may read them).
--
-- Each handler reads under row-level security and also filters by the
-- claim's tenant, so a row of another tenant is never seen either way.

-- GET /v1/summary: the latest simulation run's figures per calendar month
-- and in total (commitopt.report()); run is null before the first run.
CREATE FUNCTION api.summary(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	tenant uuid := commitopt.current_tenant();
	run commitopt.simulation_runs;
	months jsonb;
	total jsonb;
BEGIN
	SELECT * INTO run FROM commitopt.simulation_runs r
	 WHERE r.tenant_id = tenant
	 ORDER BY r.run_id DESC LIMIT 1;
	SELECT coalesce(jsonb_agg(jsonb_build_object('month', x.period)
							  || (to_jsonb(x) - 'period') ORDER BY x.period)
						FILTER (WHERE x.period <> 'total'), '[]'),
		   (array_agg(to_jsonb(x) - 'period') FILTER (WHERE x.period = 'total'))[1]
	  INTO months, total
	  FROM commitopt.report(tenant, run.run_id) x;
	RETURN api.json(200, jsonb_build_object(
		'run', CASE WHEN run.run_id IS NOT NULL THEN jsonb_build_object(
					'id', run.run_id, 'window_start', run.window_start,
					'window_end', run.window_end,
					'estimated_sp_rates', run.estimated_sp_rates) END,
		'months', months,
		'total', total));
END
$$;

-- GET /v1/usage: the usage series (one per account, location, instance
-- type, platform and tenancy) with their instance-hours, paginated.
CREATE FUNCTION api.usage_list(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pg record;
	rows jsonb;
BEGIN
	SELECT * INTO pg FROM api.page_args(req, 'usage', '{integer}');
	IF pg.err IS NOT NULL THEN
		RETURN pg.err;
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_array(jsonb_build_array(s.series_id),
		jsonb_build_object('id', s.series_id, 'account_id', s.account_id,
						   'region', s.region,
						   'availability_zone', nullif(s.availability_zone, ''),
						   'instance_type', s.instance_type,
						   'platform', s.platform, 'tenancy', s.tenancy,
						   'first_month', to_char(h.first_month AT TIME ZONE 'UTC', 'YYYY-MM'),
						   'last_month', to_char(h.last_month AT TIME ZONE 'UTC', 'YYYY-MM'),
						   -- a float sum: rounded to the microhour, so that
						   -- three hours are 3, not 2.9999999999999982
						   'instance_hours', trim_scale(round(coalesce(h.instance_hours, 0)::numeric, 6))))
					  ORDER BY s.series_id), '[]')
	  INTO rows
	  FROM (SELECT * FROM commitopt.usage_series x
			 WHERE x.tenant_id = commitopt.current_tenant()
			   AND (pg.after IS NULL OR x.series_id > (pg.after ->> 0)::bigint)
			 ORDER BY x.series_id
			 LIMIT pg.lim + 1) s
	  LEFT JOIN LATERAL (
			SELECT min(u.period_start) AS first_month,
				   max(u.period_start) AS last_month,
				   sum(a.v) AS instance_hours
			  FROM commitopt.usage_hourly u, unnest(u.amounts) a(v)
			 WHERE u.tenant_id = s.tenant_id AND u.series_id = s.series_id) h
		ON true;
	RETURN api.json(200, api.page(rows, pg.lim, 'usage'));
END
$$;

-- GET /v1/reserved-instances: the Reserved Instances held, by id,
-- paginated.
CREATE FUNCTION api.reserved_instances_list(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pg record;
	rows jsonb;
BEGIN
	SELECT * INTO pg FROM api.page_args(req, 'reserved-instances', '{string}');
	IF pg.err IS NOT NULL THEN
		RETURN pg.err;
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_array(jsonb_build_array(r.ri_id),
		jsonb_build_object('id', r.ri_id, 'owner_account_id', r.owner_account_id,
						   'region', r.region,
						   'availability_zone', r.availability_zone,
						   'instance_type', r.instance_type,
						   'platform', r.platform, 'tenancy', r.tenancy,
						   'instance_count', r.instance_count,
						   'offering_class', r.offering_class,
						   'payment_option', r.payment_option,
						   'start_time', r.start_time, 'end_time', r.end_time,
						   'effective_hourly_usd', r.effective_hourly_usd,
						   'source', r.source))
					  ORDER BY r.ri_id), '[]')
	  INTO rows
	  FROM (SELECT * FROM commitopt.reserved_instances x
			 WHERE x.tenant_id = commitopt.current_tenant()
			   AND (pg.after IS NULL OR x.ri_id > pg.after ->> 0)
			 ORDER BY x.ri_id
			 LIMIT pg.lim + 1) r;
	RETURN api.json(200, api.page(rows, pg.lim, 'reserved-instances'));
END
$$;

-- GET /v1/savings-plans: the Savings Plans held, by id, paginated.
CREATE FUNCTION api.savings_plans_list(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pg record;
	rows jsonb;
BEGIN
	SELECT * INTO pg FROM api.page_args(req, 'savings-plans', '{string}');
	IF pg.err IS NOT NULL THEN
		RETURN pg.err;
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_array(jsonb_build_array(p.sp_id),
		jsonb_build_object('id', p.sp_id, 'owner_account_id', p.owner_account_id,
						   'plan_type', p.plan_type, 'region', p.region,
						   'instance_family', p.instance_family,
						   'term_years', p.term_years,
						   'payment_option', p.payment_option,
						   'hourly_commitment_usd', p.hourly_commitment_usd,
						   'start_time', p.start_time, 'end_time', p.end_time,
						   'source', p.source))
					  ORDER BY p.sp_id), '[]')
	  INTO rows
	  FROM (SELECT * FROM commitopt.savings_plans x
			 WHERE x.tenant_id = commitopt.current_tenant()
			   AND (pg.after IS NULL OR x.sp_id > pg.after ->> 0)
			 ORDER BY x.sp_id
			 LIMIT pg.lim + 1) p;
	RETURN api.json(200, api.page(rows, pg.lim, 'savings-plans'));
END
$$;

-- api.recommendation_json(r): what the API shows of a recommendation;
-- percentages and the savings rounded as recommendation_report() does.
CREATE FUNCTION api.recommendation_json(r commitopt.recommendations)
RETURNS jsonb LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
RETURN jsonb_build_object(
	'id', r.recommendation_id, 'created_at', r.created_at,
	'plan_type', r.plan_type, 'term_years', r.term_years,
	'payment_option', r.payment_option, 'lookback_days', r.lookback_days,
	'window_start', r.window_start, 'window_end', r.window_end,
	'hourly_commitment', round(r.hourly_commitment::numeric, 3),
	'net_savings_added', round((r.net_savings_after - r.net_savings_before)::numeric, 2),
	'savings_per_30_days', round(((r.net_savings_after - r.net_savings_before) * 720
		/ (extract(epoch FROM r.window_end - r.window_start) / 3600))::numeric, 2),
	'coverage_before_pct', round((100 * r.coverage_before)::numeric, 1),
	'coverage_after_pct', round((100 * r.coverage_after)::numeric, 1),
	'utilization_pct', round((100 * r.utilization)::numeric, 1),
	'esr_before_pct', round((100 * r.esr_before)::numeric, 1),
	'esr_after_pct', round((100 * r.esr_after)::numeric, 1),
	'rates', CASE WHEN r.estimated_rates THEN 'estimated' ELSE 'published' END);

-- GET /v1/recommendations: Savings Plan recommendations, newest first,
-- paginated.
CREATE FUNCTION api.recommendations_list(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	pg record;
	rows jsonb;
BEGIN
	SELECT * INTO pg FROM api.page_args(req, 'recommendations', '{integer}');
	IF pg.err IS NOT NULL THEN
		RETURN pg.err;
	END IF;
	SELECT coalesce(jsonb_agg(jsonb_build_array(jsonb_build_array(r.recommendation_id),
											   api.recommendation_json(r))
					  ORDER BY r.recommendation_id DESC), '[]')
	  INTO rows
	  FROM (SELECT * FROM commitopt.recommendations x
			 WHERE x.tenant_id = commitopt.current_tenant()
			   AND (pg.after IS NULL OR x.recommendation_id < (pg.after ->> 0)::bigint)
			 ORDER BY x.recommendation_id DESC
			 LIMIT pg.lim + 1) r;
	RETURN api.json(200, api.page(rows, pg.lim, 'recommendations'));
END
$$;

-- GET /v1/recommendations/{id}: one recommendation with its savings
-- curve.
CREATE FUNCTION api.recommendation_get(req api.request)
RETURNS api.response LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r commitopt.recommendations;
BEGIN
	IF req.params[1] !~ '^[0-9]{1,18}$' THEN
		RETURN api.error(404, 'not_found', 'no such recommendation');
	END IF;
	SELECT * INTO r FROM commitopt.recommendations x
	 WHERE x.tenant_id = commitopt.current_tenant()
	   AND x.recommendation_id = req.params[1]::bigint;
	IF NOT FOUND THEN
		RETURN api.error(404, 'not_found', 'no such recommendation');
	END IF;
	RETURN api.json(200, api.recommendation_json(r) || jsonb_build_object(
		'curve', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
						'hourly_commitment', round(c.hourly_commitment::numeric, 3),
						'net_savings', round(c.net_savings::numeric, 2),
						'coverage_pct', round((100 * c.coverage)::numeric, 1),
						'utilization_pct', round((100 * c.utilization)::numeric, 1),
						'esr_pct', round((100 * c.esr)::numeric, 1))
					ORDER BY c.point_no)
			  FROM commitopt.recommendation_curve c
			 WHERE c.tenant_id = r.tenant_id
			   AND c.recommendation_id = r.recommendation_id), '[]')));
END
$$;

INSERT INTO api.routes (method, pattern, handler, min_role, summary,
						param_names, request_schema, response_schema,
						success_status, paginated)
VALUES
	('GET', '/v1/summary', 'api.summary(api.request)', 'viewer',
	 'Effective savings rate, coverage, utilization and savings by month, from the latest simulation',
	 '{}', NULL, '{"$ref": "#/components/schemas/Summary"}', 200, false),
	('GET', '/v1/usage', 'api.usage_list(api.request)', 'viewer',
	 'List the usage series and their instance-hours', '{}', NULL,
	 '{"$ref": "#/components/schemas/UsageSeries"}', 200, true),
	('GET', '/v1/reserved-instances', 'api.reserved_instances_list(api.request)', 'viewer',
	 'List the Reserved Instances held', '{}', NULL,
	 '{"$ref": "#/components/schemas/ReservedInstance"}', 200, true),
	('GET', '/v1/savings-plans', 'api.savings_plans_list(api.request)', 'viewer',
	 'List the Savings Plans held', '{}', NULL,
	 '{"$ref": "#/components/schemas/SavingsPlan"}', 200, true),
	('GET', '/v1/recommendations', 'api.recommendations_list(api.request)', 'viewer',
	 'List the Savings Plan recommendations, newest first', '{}', NULL,
	 '{"$ref": "#/components/schemas/Recommendation"}', 200, true),
	('GET', '/v1/recommendations/([^/]+)', 'api.recommendation_get(api.request)', 'viewer',
	 'Show a recommendation with its savings curve', '{id}', NULL,
	 '{"$ref": "#/components/schemas/Recommendation"}', 200, false);

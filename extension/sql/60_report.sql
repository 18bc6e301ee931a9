-- commitopt install script, part 6: the main job and its report.

-- ratio(numerator, denominator): NULL, not 0, when there is nothing to
-- divide by (an ESR without usage, a utilization without commitment).
CREATE FUNCTION commitopt.ratio(numerator float8, denominator float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN denominator > 0 THEN numerator / denominator END;

-- latest_run(tenant): the tenant's most recent simulation run, or NULL.
CREATE FUNCTION commitopt.latest_run(tenant uuid)
RETURNS bigint LANGUAGE sql STABLE
RETURN (SELECT max(run_id) FROM commitopt.simulation_runs WHERE tenant_id = tenant);

-- report(tenant, run): per calendar month and in total, the figures of a
-- simulation run (the latest by default).  Amounts in USD; percentages of:
--   esr            (on-demand equivalent - amortized cost) / on-demand eq.
--   coverage_cost  on-demand equivalent covered by any RI or Savings Plan
--                  / on-demand equivalent of all usage (dollars)
--   coverage_hours instance-hours covered / all instance-hours
--   ri_utilization RI normalized units used / purchased (AWS's
--                  utilization in units: an hour of a large RI weighs more
--                  than an hour of a nano one)
--   sp_utilization Savings Plan commitment used / commitment
CREATE FUNCTION commitopt.report(tenant uuid, run bigint DEFAULT NULL)
RETURNS TABLE (period text, on_demand_equivalent numeric,
			   amortized_cost numeric, savings numeric, esr_pct numeric,
			   coverage_cost_pct numeric, coverage_hours_pct numeric,
			   ri_utilization_pct numeric, sp_utilization_pct numeric)
LANGUAGE sql STABLE
BEGIN ATOMIC
	WITH months AS (
		SELECT date_trunc('month', d.day)::date AS month,
			   sum(d.ode) AS ode,
			   sum(d.od_cost + d.ri_cost + d.sp_cost) AS cost,
			   sum(d.ri_covered_ode + d.sp_covered_ode) AS covered_ode,
			   sum(d.usage_hours) AS usage_hours,
			   sum(d.ri_covered_hours + d.sp_covered_hours) AS covered_hours,
			   sum(d.ri_purchased_nu) AS ri_purchased,
			   sum(d.ri_used_nu) AS ri_used,
			   sum(d.sp_cost) AS sp_cost,
			   sum(d.sp_used) AS sp_used
		  FROM commitopt.simulation_daily d
		 WHERE d.tenant_id = tenant
		   AND d.run_id = coalesce(run, commitopt.latest_run(tenant))
		 GROUP BY 1
	)
	SELECT CASE WHEN GROUPING(month) = 1 THEN 'total'
				ELSE to_char(month, 'YYYY-MM') END,
		   round(sum(ode)::numeric, 2),
		   round(sum(cost)::numeric, 2),
		   round((sum(ode) - sum(cost))::numeric, 2),
		   round((100 * commitopt.ratio(sum(ode) - sum(cost), sum(ode)))::numeric, 1),
		   round((100 * commitopt.ratio(sum(covered_ode), sum(ode)))::numeric, 1),
		   round((100 * commitopt.ratio(sum(covered_hours), sum(usage_hours)))::numeric, 1),
		   round((100 * commitopt.ratio(sum(ri_used), sum(ri_purchased)))::numeric, 1),
		   round((100 * commitopt.ratio(sum(sp_used), sum(sp_cost)))::numeric, 1)
	  FROM months
	 GROUP BY GROUPING SETS ((month), ())
	HAVING count(*) > 0
	 ORDER BY GROUPING(month), month;
END;

-- recommendation_report(tenant): the latest recommendation per term, with
-- its expected effect over its lookback window.
CREATE FUNCTION commitopt.recommendation_report(tenant uuid)
RETURNS TABLE (term_years int, lookback_days int, hourly_commitment numeric,
			   net_savings_added numeric, savings_per_30_days numeric,
			   coverage_before_pct numeric, coverage_after_pct numeric,
			   utilization_pct numeric, esr_before_pct numeric,
			   esr_after_pct numeric, rates text)
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT DISTINCT ON (r.term_years)
		   r.term_years, r.lookback_days,
		   round(r.hourly_commitment::numeric, 3),
		   round((r.net_savings_after - r.net_savings_before)::numeric, 2),
		   round(((r.net_savings_after - r.net_savings_before) * 720
				  / (extract(epoch FROM r.window_end - r.window_start) / 3600))::numeric, 2),
		   round((100 * r.coverage_before)::numeric, 1),
		   round((100 * r.coverage_after)::numeric, 1),
		   round((100 * r.utilization)::numeric, 1),
		   round((100 * r.esr_before)::numeric, 1),
		   round((100 * r.esr_after)::numeric, 1),
		   CASE WHEN r.estimated_rates THEN 'estimated' ELSE 'published' END
	  FROM commitopt.recommendations r
	 WHERE r.tenant_id = tenant
	 ORDER BY r.term_years, r.recommendation_id DESC;
END;

-- run_main_job(tenant): simulates the tenant's known usage with the
-- commitments it holds, then recommends a Compute Savings Plan for 1 and 3
-- years over the longest standard lookback (60, 30 or 7 days) that its
-- data covers.  Returns the simulation run.
CREATE FUNCTION commitopt.run_main_job(tenant uuid)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	extent record;
	run bigint;
	lookback int;
	one_year bigint;
	three_years bigint;
BEGIN
	SELECT * INTO extent FROM commitopt.usage_extent(tenant);
	IF NOT FOUND OR extent.extent_from IS NULL THEN
		RAISE NOTICE 'tenant "%" has no usage yet; nothing to simulate',
			(SELECT slug FROM commitopt.tenants WHERE tenant_id = tenant);
		RETURN NULL;
	END IF;
	run := commitopt.simulate(tenant);
	SELECT l INTO lookback FROM unnest(ARRAY[60, 30, 7]) l
	 WHERE extent.extent_to - extent.extent_from >= l * interval '1 day'
	 ORDER BY l DESC LIMIT 1;
	IF lookback IS NULL THEN
		RAISE NOTICE 'tenant "%" has less than 7 days of usage; no recommendation',
			(SELECT slug FROM commitopt.tenants WHERE tenant_id = tenant);
	ELSE
		-- The job's recommendations replace its earlier ones for the same
		-- term and lookback, so running it again duplicates nothing; one
		-- made by hand with recommend_savings_plan() is kept as history.
		DELETE FROM commitopt.recommendations r
		 WHERE r.tenant_id = tenant AND r.lookback_days = lookback
		   AND r.term_years IN (1, 3)
		   AND r.created_by_job;
		one_year := commitopt.recommend_savings_plan(tenant, 1, lookback);
		three_years := commitopt.recommend_savings_plan(tenant, 3, lookback);
		UPDATE commitopt.recommendations r SET created_by_job = true
		 WHERE r.tenant_id = tenant
		   AND r.recommendation_id IN (one_year, three_years);
	END IF;
	RETURN run;
END
$$;

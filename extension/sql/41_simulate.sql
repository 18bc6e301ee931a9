-- commitopt install script, part 4.1: the hourly simulation and its
-- reconciliation with the bill.  The engine is C (simulator.c); see
-- 40_simulation_results.sql for what a run stores.

-- simulate(tenant, window_start, window_end): simulates the tenant's usage
-- and commitments hour by hour over [window_start, window_end), by default
-- its usage extent; bounds must be whole UTC hours.  An earlier run of the
-- same tenant and window is replaced.  Returns the run_id.
CREATE FUNCTION commitopt.simulate(tenant uuid,
								   window_start timestamptz DEFAULT NULL,
								   window_end timestamptz DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'commitopt_simulate'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION commitopt.simulate(uuid, timestamptz, timestamptz) IS
	'Simulates how AWS applies the tenant''s RIs and Savings Plans, hour by hour; returns the run_id';

-- simulate_with_extra_compute_sp(...): a what-if run, stored nowhere, with
-- one more Compute Savings Plan (no upfront, owned by no usage account,
-- sharing on) over the whole window.  Net savings = ode - amortized_cost
-- of the whole portfolio.
CREATE FUNCTION commitopt.simulate_with_extra_compute_sp(
	tenant uuid, window_start timestamptz, window_end timestamptz,
	hourly_commitment float8, term_years int DEFAULT 1)
RETURNS TABLE (ode float8, amortized_cost float8, net_savings float8)
AS 'MODULE_PATHNAME', 'commitopt_simulate_with_extra_compute_sp'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION commitopt.simulate_with_extra_compute_sp(uuid, timestamptz, timestamptz, float8, int) IS
	'Simulates a window with one extra Compute Savings Plan, storing nothing';

-- reconcile(tenant, run_id): the hours and measures where the bill and
-- the simulation disagree.  The bill says how AWS applied commitments:
-- DiscountedUsage lines are RI-covered instance-hours, the public
-- on-demand cost of SavingsPlanCoveredUsage lines is SP-covered ODE.
-- Only EC2 instance lines count (the simulation's scope), and only
-- hours of the run for which the tenant's bill has hourly lines are
-- compared (a missing measure in such an hour counts as 0); organization
-- totals per hour are compared, since per-account attribution is not
-- documented by AWS.  A difference counts when above 1e-6 in absolute
-- value and relative to the larger value.
-- XXX: daily-granularity exports (lines spanning more than an hour) are
-- not spread over their hours; they are left out of the comparison.
CREATE FUNCTION commitopt.reconcile(tenant uuid, run_id bigint)
RETURNS TABLE (hour timestamptz, measure text, aws_value float8,
			   simulated_value float8, difference float8)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	run commitopt.simulation_runs;
BEGIN
	SELECT * INTO run FROM commitopt.simulation_runs r
	 WHERE r.tenant_id = reconcile.tenant AND r.run_id = reconcile.run_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'simulation run % does not exist for this tenant',
			reconcile.run_id
			USING ERRCODE = 'undefined_object';
	END IF;
	RETURN QUERY
	WITH billed AS (
		SELECT b.usage_start AS hour,
			   sum(b.usage_amount) FILTER (WHERE b.charge_type = 'DiscountedUsage')::float8 AS ri_hours,
			   sum(b.public_od_cost) FILTER (WHERE b.charge_type = 'SavingsPlanCoveredUsage')::float8 AS sp_ode
		  FROM commitopt.billing_line_items b
		 WHERE b.tenant_id = reconcile.tenant
		   -- the simulation's scope: EC2 instance usage (a Compute Savings
		   -- Plan also covers Fargate and Lambda, which it does not model)
		   AND b.instance_type IS NOT NULL
		   AND b.usage_start >= run.window_start AND b.usage_start < run.window_end
		   AND b.usage_end = b.usage_start + interval '1 hour'
		   AND b.usage_start = date_trunc('hour', b.usage_start)
		 GROUP BY b.usage_start
	), pairs AS (
		SELECT h.hour, m.measure, m.aws, m.sim
		  FROM billed
		  JOIN commitopt.simulation_hourly h
			ON h.tenant_id = reconcile.tenant AND h.run_id = reconcile.run_id
		   AND h.hour = billed.hour
		 CROSS JOIN LATERAL (VALUES
			('ri_covered_hours', coalesce(billed.ri_hours, 0), h.ri_covered_hours),
			('sp_covered_ode', coalesce(billed.sp_ode, 0), h.sp_covered_ode))
			AS m(measure, aws, sim)
	)
	SELECT p.hour, p.measure, p.aws, p.sim, p.sim - p.aws
	  FROM pairs p
	 WHERE abs(p.sim - p.aws) > 1e-6 * greatest(1.0, abs(p.sim), abs(p.aws))
	 ORDER BY p.hour, p.measure;
END
$$;
COMMENT ON FUNCTION commitopt.reconcile(uuid, bigint) IS
	'Hours where the bill and a simulation run disagree on RI-covered hours or SP-covered ODE';

-- plain_sql_coverage.sql: the hourly coverage of the simulator, written as
-- a competent analyst would in plain SQL, for the benchmark
-- (scripts/bench.sh).  It creates bench.plain_sql_coverage(tenant), which
-- returns the window's totals: on-demand equivalent (ODE), the ODE covered
-- by RIs and by Savings Plans, and the on-demand cost left.
--
-- It follows the rules of docs/commitment-billing.md sections 1 and 7 for
-- the shape the synthetic profile 'bench' generates, and only that shape
-- (bench.check_plain_sql_shape(tenant) refuses any other):
--   * regional size-flexible Linux RIs and Compute Savings Plans only,
--     all owned by an account with no usage, sharing on everywhere, so
--     the owner-first passes have nothing to do;
--   * one Savings Plan rate table (every plan of the same term and
--     payment option);
--   * terms may start or end inside an hour (counted pro rata).
-- Per hour and RI class (region, family, Linux, default tenancy) the RIs'
-- normalized units serve accounts in ascending id, each from its smallest
-- size up, covering the last instance partially; then the Compute Savings
-- Plan pool serves what is left in decreasing savings percentage, then
-- ascending Savings Plan rate, consuming SP-rate dollars, the last usage
-- partially.

CREATE SCHEMA IF NOT EXISTS bench;

-- check_plain_sql_shape(tenant): an error unless the tenant's fleet has the
-- shape plain_sql_coverage() follows.
CREATE OR REPLACE FUNCTION bench.check_plain_sql_shape(tenant uuid)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	what text;
BEGIN
	SELECT string_agg(w, '; ') INTO what FROM (
		SELECT 'RI ' || ri.ri_id || ' is not a regional size-flexible Linux RI' AS w
		  FROM commitopt.reserved_instances ri
		  LEFT JOIN commitopt.instance_families f
			ON f.family = commitopt.instance_family(ri.instance_type)
		 WHERE ri.tenant_id = tenant
		   AND (ri.availability_zone IS NOT NULL OR ri.platform <> 'linux'
				OR ri.tenancy <> 'default' OR NOT coalesce(f.size_flexible, true))
		UNION ALL
		SELECT 'Savings Plan ' || sp.sp_id || ' is not a Compute Savings Plan'
		  FROM commitopt.savings_plans sp
		 WHERE sp.tenant_id = tenant AND sp.plan_type <> 'compute'
		UNION ALL
		SELECT 'Savings Plans have more than one rate table'
		  FROM commitopt.savings_plans sp WHERE sp.tenant_id = tenant
		HAVING count(DISTINCT (sp.term_years, sp.payment_option)) > 1
		UNION ALL
		SELECT 'account ' || a.account_id || ' has sharing off'
		  FROM commitopt.aws_accounts a
		 WHERE a.tenant_id = tenant AND NOT a.sharing_enabled
		UNION ALL
		SELECT 'commitment owner ' || o.owner || ' has usage'
		  FROM (SELECT owner_account_id AS owner FROM commitopt.reserved_instances
				 WHERE tenant_id = tenant
				UNION
				SELECT owner_account_id FROM commitopt.savings_plans
				 WHERE tenant_id = tenant) o
		 WHERE EXISTS (SELECT FROM commitopt.usage_series s
						WHERE s.tenant_id = tenant AND s.account_id = o.owner)
		UNION ALL
		SELECT 'usage series ' || s.series_id || ' has no on-demand or Savings Plan rate'
		  FROM commitopt.usage_series s
		 WHERE s.tenant_id = tenant
		   AND NOT EXISTS (SELECT FROM commitopt.od_rates o
							WHERE o.region = s.region AND o.instance_type = s.instance_type
							  AND o.platform = s.platform AND o.tenancy = s.tenancy)) x;
	IF what IS NOT NULL THEN
		RAISE EXCEPTION 'the plain SQL formulation cannot follow this fleet'
			USING ERRCODE = 'feature_not_supported', DETAIL = what || '.';
	END IF;
END
$$;

-- plain_sql_coverage(tenant, window_start, window_end): the totals over
-- the window, by default the tenant's whole known usage.
CREATE OR REPLACE FUNCTION bench.plain_sql_coverage(
	tenant uuid, window_start timestamptz DEFAULT NULL,
	window_end timestamptz DEFAULT NULL)
RETURNS TABLE (ode float8, ri_covered_ode float8, sp_covered_ode float8,
			   od_cost float8)
LANGUAGE sql STABLE
-- enough memory to sort the hours without spilling to disk
SET work_mem = '512MB'
AS $$
WITH win AS (
	SELECT coalesce(window_start, e.extent_from) AS w_from,
		   coalesce(window_end, e.extent_to) AS w_to
	  FROM commitopt.usage_extent(tenant) e
),
-- The rate table of the tenant's Savings Plans (one, by the shape check).
rate_table AS (
	SELECT min(sp.term_years) AS term_years, min(sp.payment_option) AS payment_option
	  FROM commitopt.savings_plans sp WHERE sp.tenant_id = tenant
),
series AS MATERIALIZED (
	SELECT s.series_id, s.region,
		   commitopt.instance_family(s.instance_type) AS family,
		   commitopt.normalization_factor(s.instance_type) AS nf,
		   s.platform, s.tenancy,
		   -- small integers sort and hash faster than the text they stand for
		   dense_rank() OVER (ORDER BY s.region, commitopt.instance_family(s.instance_type),
									   s.platform, s.tenancy)::int AS class_no,
		   dense_rank() OVER (ORDER BY s.account_id)::int AS account_no,
		   o.hourly_usd::float8 AS od_rate, r.hourly_usd::float8 AS sp_rate
	  FROM commitopt.usage_series s
	  JOIN commitopt.od_rates o
		ON o.region = s.region AND o.instance_type = s.instance_type
	   AND o.platform = s.platform AND o.tenancy = s.tenancy
	 CROSS JOIN rate_table t
	  LEFT JOIN commitopt.sp_rates r
		ON r.plan_type = 'compute' AND r.term_years = t.term_years
	   AND r.payment_option = t.payment_option AND r.region = s.region
	   AND r.instance_type = s.instance_type AND r.platform = s.platform
	   AND r.tenancy = s.tenancy
	 WHERE s.tenant_id = tenant
),
-- One row per series and hour with usage, inside the window.
usage AS (
	SELECT s.series_id, s.class_no, s.account_no, s.nf, s.sp_rate,
		   h.period_start + (a.ord - 1) * interval '1 hour' AS hour,
		   coalesce(h.od_rate::float8, s.od_rate) AS rate, a.amount
	  FROM commitopt.usage_hourly h
	  JOIN series s USING (series_id)
	 CROSS JOIN LATERAL unnest(h.amounts) WITH ORDINALITY AS a(amount, ord)
	 CROSS JOIN win
	 WHERE h.tenant_id = tenant AND a.amount > 0
	   AND h.period_start + (a.ord - 1) * interval '1 hour' >= win.w_from
	   AND h.period_start + (a.ord - 1) * interval '1 hour' < win.w_to
),
-- The part of each hour a term covers (terms may start or end mid-hour).
ri_capacity AS (
	SELECT ri.class_no, hr.hour,
		   sum(ri.capacity_nu
			   * extract(epoch FROM least(ri.end_time, hr.hour + interval '1 hour')
							 - greatest(ri.start_time, hr.hour))::float8 / 3600) AS cap_nu
	  FROM (SELECT c.class_no, ri.start_time, ri.end_time,
				   ri.instance_count * commitopt.normalization_factor(ri.instance_type)
				   AS capacity_nu
			  FROM commitopt.reserved_instances ri
			  JOIN (SELECT DISTINCT class_no, region, family, platform, tenancy
					  FROM series) c
				ON c.region = ri.region
			   AND c.family = commitopt.instance_family(ri.instance_type)
			   AND c.platform = ri.platform AND c.tenancy = ri.tenancy
			 WHERE ri.tenant_id = tenant
			OFFSET 0) ri			-- factors once per RI, not once per hour
	 CROSS JOIN win
	 CROSS JOIN LATERAL generate_series(
			date_trunc('hour', greatest(ri.start_time, win.w_from), 'UTC'),
			least(ri.end_time, win.w_to) - interval '1 microsecond',
			interval '1 hour') AS hr(hour)
	 GROUP BY 1, 2
),
sp_capacity AS (
	SELECT hr.hour,
		   sum(sp.hourly_commitment_usd::float8
			   * extract(epoch FROM least(sp.end_time, hr.hour + interval '1 hour')
							 - greatest(sp.start_time, hr.hour))::float8 / 3600) AS cap_usd
	  FROM commitopt.savings_plans sp
	 CROSS JOIN win
	 CROSS JOIN LATERAL generate_series(
			date_trunc('hour', greatest(sp.start_time, win.w_from), 'UTC'),
			least(sp.end_time, win.w_to) - interval '1 microsecond',
			interval '1 hour') AS hr(hour)
	 WHERE sp.tenant_id = tenant
	 GROUP BY 1
),
-- RIs: the NU before a row in its class and hour (ascending account, then
-- size) decide how much capacity is left for it.
ri_applied AS (
	SELECT u.*,
		   least(u.amount * u.nf,
				 greatest(0, coalesce(c.cap_nu, 0)
							 - (sum(u.amount * u.nf) OVER w - u.amount * u.nf)))
			   / u.nf AS ri_hours
	  FROM usage u
	  LEFT JOIN ri_capacity c ON c.class_no = u.class_no AND c.hour = u.hour
	WINDOW w AS (PARTITION BY u.class_no, u.hour
				 ORDER BY u.account_no, u.nf, u.series_id
				 ROWS UNBOUNDED PRECEDING)
),
-- Savings Plans: the same over the hour's residual usage, by savings
-- percentage descending, then Savings Plan rate, in SP-rate dollars.
sp_applied AS (
	SELECT r.*, r.amount - r.ri_hours AS residual,
		   CASE WHEN r.sp_rate > 0 THEN
			   least((r.amount - r.ri_hours) * r.sp_rate,
					 greatest(0, coalesce(c.cap_usd, 0)
								 - (sum((r.amount - r.ri_hours) * r.sp_rate) OVER w
									- (r.amount - r.ri_hours) * r.sp_rate)))
			   / r.sp_rate
			   ELSE 0 END AS sp_hours
	  FROM ri_applied r
	  LEFT JOIN sp_capacity c ON c.hour = r.hour
	 WHERE r.sp_rate IS NOT NULL
	WINDOW w AS (PARTITION BY r.hour
				 ORDER BY 1 - r.sp_rate / r.rate DESC, r.sp_rate, r.account_no,
						  r.series_id
				 ROWS UNBOUNDED PRECEDING)
	UNION ALL
	-- usage without a Savings Plan rate stays on demand after the RIs
	SELECT r.*, r.amount - r.ri_hours, 0
	  FROM ri_applied r WHERE r.sp_rate IS NULL
)
SELECT sum(amount * rate), sum(ri_hours * rate), sum(sp_hours * rate),
	   sum((residual - sp_hours) * rate)
  FROM sp_applied
$$;

-- run_bench.sql: the benchmark proper, run by scripts/bench.sh in the
-- database commitopt_bench.  psql variables: series, days, commitments,
-- runs (timed runs of each measure).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
TRUNCATE bench.results;

-- A fresh generated fleet of the 'bench' profile (the generator replaces
-- the previous one).
SELECT commitopt.ensure_tenant('bench', 'Benchmark fleet (synthetic)') AS tenant \gset
SELECT clock_timestamp() AS t0 \gset
SELECT commitopt.generate_synthetic_fleet(:'tenant', :series, :days, :commitments,
										  0.42, '2025-01-01 00:00+00', 'bench')
	AS generated_series \gset
SELECT round(extract(epoch FROM clock_timestamp() - :'t0')::numeric, 1) AS generate_s \gset
-- Fresh statistics, as any analyst would have before querying.
ANALYZE commitopt.usage_series, commitopt.usage_hourly,
		commitopt.reserved_instances, commitopt.savings_plans,
		commitopt.aws_accounts, commitopt.usage_coverage;
\o /dev/null
SELECT bench.check_plain_sql_shape(:'tenant');
\o

\echo
\echo fleet: :generated_series series, :days days, :commitments commitments (generated in :generate_s s); :runs runs per measure
SELECT count(*) AS usage_months, sum(array_length(h.amounts, 1)) AS series_hours
  FROM commitopt.usage_hourly h WHERE h.tenant_id = :'tenant';

\o /dev/null
SELECT bench.time_query('scan',
	'SELECT sum(a) FROM commitopt.usage_hourly h, unnest(h.amounts) a WHERE tenant_id = $1',
	:'tenant', :runs) IS NOT NULL AS timed_scan;
SELECT bench.time_query('simulation', 'SELECT commitopt.simulate($1)',
	:'tenant', :runs) IS NOT NULL AS timed_simulation;
SELECT bench.time_query('plain SQL', 'SELECT * FROM bench.plain_sql_coverage($1)',
	:'tenant', :runs) IS NOT NULL AS timed_plain_sql;
SELECT bench.time_query('recommendation',
	'SELECT commitopt.recommend_savings_plan($1, 1, 30)',
	:'tenant', :runs) IS NOT NULL AS timed_recommendation;
\o

-- The simulator and the plain SQL must agree on the window's totals (the
-- last simulation run replaced the earlier ones of the same window).
CREATE TEMP TABLE agreement AS
WITH sim AS (
	SELECT sum(h.ode) AS ode, sum(h.ri_covered_ode) AS ri_covered_ode,
		   sum(h.sp_covered_ode) AS sp_covered_ode, sum(h.od_cost) AS od_cost
	  FROM commitopt.simulation_hourly h
	 WHERE h.tenant_id = :'tenant'
	   AND h.run_id = (SELECT max(r.run_id) FROM commitopt.simulation_runs r
						WHERE r.tenant_id = :'tenant')
), plain AS (
	SELECT * FROM bench.plain_sql_coverage(:'tenant')
)
SELECT m.quantity, m.simulator, m.plain_sql,
	   abs(m.simulator - m.plain_sql)
	   / nullif(greatest(abs(m.simulator), abs(m.plain_sql)), 0) AS rel_difference,
	   abs(m.simulator - m.plain_sql)
	   <= 1e-6 * greatest(abs(m.simulator), abs(m.plain_sql)) + 1e-9 AS agree
  FROM sim, plain,
	   LATERAL (VALUES (1, 'ODE', sim.ode, plain.ode),
					   (2, 'RI-covered ODE', sim.ri_covered_ode, plain.ri_covered_ode),
					   (3, 'SP-covered ODE', sim.sp_covered_ode, plain.sp_covered_ode),
					   (4, 'OD cost', sim.od_cost, plain.od_cost))
		   AS m(ord, quantity, simulator, plain_sql)
 ORDER BY m.ord;

\echo
\echo simulator and plain SQL, totals over the window (USD):
SELECT quantity, round(simulator::numeric, 4) AS simulator,
	   round(plain_sql::numeric, 4) AS plain_sql,
	   to_char(rel_difference, '9.99EEEE') AS rel_difference, agree
  FROM agreement;

\echo timings (median wall-clock ms inside the server) and goals:
WITH r AS (
	SELECT measure, median_ms, runs FROM bench.results
), g AS (
	SELECT *,
		   CASE measure
			   WHEN 'simulation' THEN median_ms / (SELECT median_ms FROM r WHERE measure = 'scan')
			   WHEN 'plain SQL' THEN median_ms / (SELECT median_ms FROM r WHERE measure = 'simulation')
			   WHEN 'recommendation' THEN median_ms / (SELECT median_ms FROM r WHERE measure = 'simulation')
		   END AS ratio,
		   CASE measure
			   WHEN 'simulation' THEN 'simulation <= 3x scan'
			   WHEN 'plain SQL' THEN 'plain SQL >= 20x simulation'
			   WHEN 'recommendation' THEN 'recommendation <= 2x simulation'
		   END AS goal
	  FROM r
)
SELECT measure, round(median_ms::numeric, 1) AS median_ms, runs,
	   coalesce(goal, '(baseline)') AS goal,
	   to_char(ratio, 'FM99990.00') || 'x' AS ratio,
	   CASE WHEN ratio IS NULL THEN ''
			WHEN (measure = 'plain SQL' AND ratio >= 20)
			  OR (measure = 'simulation' AND ratio <= 3)
			  OR (measure = 'recommendation' AND ratio <= 2) THEN 'PASS'
			ELSE 'MISS' END AS result
  FROM g
 ORDER BY array_position(ARRAY['scan', 'simulation', 'plain SQL', 'recommendation'], measure);

-- A disagreement fails the benchmark; a missed speed goal does not.
DO $$
DECLARE
	bad text;
BEGIN
	SELECT string_agg(quantity, ', ') INTO bad FROM agreement WHERE NOT agree;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'simulator and plain SQL disagree on %', bad
			USING ERRCODE = 'data_exception';
	END IF;
	IF (SELECT count(*) FROM agreement) <> 4 THEN
		RAISE EXCEPTION 'the simulation stored no hours for the benchmark tenant'
			USING ERRCODE = 'data_exception';
	END IF;
END
$$;
\echo simulator and plain SQL agree (1e-6 relative).

#!/usr/bin/env bash
# report.sh MODE: prints, for each tenant, the latest simulation per month
# and in total, then the recommended Savings Plan and its expected effect.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
commitopt_mode "$1"

slugs=$(psql_db -Atc "SELECT slug FROM commitopt.tenants ORDER BY slug")
for slug in $slugs; do
	psql_db -P footer=off -v slug="$slug" <<'SQL'
SELECT commitopt.tenant_id(:'slug') AS tenant \gset
\echo
SELECT format('Tenant %s: %s', slug, name) AS heading FROM commitopt.tenants
 WHERE tenant_id = :'tenant' \gset
\echo :heading
SELECT coalesce((
	SELECT format('Simulated %s to %s UTC (%s hours); EC2 usage, Spot excluded%s.',
				  to_char(window_start, 'YYYY-MM-DD HH24:MI'), to_char(window_end, 'YYYY-MM-DD HH24:MI'),
				  extract(epoch FROM window_end - window_start)::bigint / 3600,
				  CASE WHEN estimated_sp_rates
					   THEN '; some Savings Plan rates are estimates' ELSE '' END)
	  FROM commitopt.simulation_runs
	 WHERE tenant_id = :'tenant' AND run_id = commitopt.latest_run(:'tenant')),
	'No simulation yet.') AS line \gset
\echo :line
SELECT period AS "period",
	   on_demand_equivalent AS "on-demand equiv. $",
	   amortized_cost AS "amortized cost $",
	   savings AS "savings $",
	   esr_pct AS "ESR %",
	   coverage_cost_pct AS "coverage $ %",
	   coverage_hours_pct AS "coverage h %",
	   ri_utilization_pct AS "RI util. (NU) %",
	   sp_utilization_pct AS "SP util. %"
  FROM commitopt.report(:'tenant');
-- The window each recommendation looked back over; one made before the
-- latest simulation (whose usage was too short to recommend from) says so.
SELECT coalesce((
	SELECT format('Recommended Compute Savings Plan (no upfront), over the lookback window %s to %s UTC%s:',
				  to_char(min(r.window_start), 'YYYY-MM-DD HH24:MI'),
				  to_char(max(r.window_end), 'YYYY-MM-DD HH24:MI'),
				  CASE WHEN max(r.window_end) <= min(s.window_start)
					   THEN ' (from earlier usage: the latest simulated stretch is too short to recommend from)'
					   ELSE '' END)
	  FROM (SELECT DISTINCT ON (term_years) window_start, window_end
			  FROM commitopt.recommendations
			 WHERE tenant_id = :'tenant'
			 ORDER BY term_years, recommendation_id DESC) r
	  LEFT JOIN commitopt.simulation_runs s
		ON s.tenant_id = :'tenant' AND s.run_id = commitopt.latest_run(:'tenant')
	HAVING count(*) > 0),
	'No recommendation yet (it needs at least 7 days of usage without a gap).') AS line \gset
\echo :line
SELECT term_years AS "term (y)", lookback_days AS "lookback (d)",
	   hourly_commitment AS "commitment $/h",
	   net_savings_added AS "added savings $",
	   savings_per_30_days AS "per 30 days $",
	   coverage_before_pct || ' -> ' || coverage_after_pct AS "coverage $ %",
	   utilization_pct AS "utilization %",
	   esr_before_pct || ' -> ' || esr_after_pct AS "ESR %",
	   rates AS "SP rates"
  FROM commitopt.recommendation_report(:'tenant');
SQL
done

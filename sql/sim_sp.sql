-- The hourly simulator: Savings Plan rules (commitment-billing.md 1.7,
-- 1.11, 7), daily slices and reconciliation with the bill.
\getenv datadir COMMITOPT_DATA
\set helpers :datadir '/fixtures/sim/helpers.sql'
\set ECHO none
\i :helpers
\set ECHO all

-- Rates of 1.11 in the invented region sp-1: X c5.large Linux OD 4.00,
-- Compute 2.40 (40 %), EC2 Instance 1.60; Y m5.large Windows OD 5.00,
-- Compute 4.00 (20 %); Z t3.large Linux OD 1.00, Compute 0.50 (50 %)
-- (an EC2 stand-in for the example's Fargate usage).
SELECT pg_temp.sp_rate('compute', 'sp-1', 'c5.large', 2.40),
	   pg_temp.sp_rate('ec2_instance', 'sp-1', 'c5.large', 1.60),
	   pg_temp.sp_rate('compute', 'sp-1', 'm5.large', 4.00, 'windows'),
	   pg_temp.sp_rate('compute', 'sp-1', 't3.large', 0.50);

-- Case 1 (hour 0) and case 3 (hour 1): a $3.00/h Compute SP; X, Y, Z run
-- in hour 0, only Z in hour 1.
SELECT commitopt.ensure_tenant('sim-111', 'Example 1.11') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'sp-1', '', 'c5.large'), '2024-04-01', '{1,0}', 4.00),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'sp-1', '', 'm5.large', 'windows'), '2024-04-01', '{1,0}', 5.00),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'sp-1', '', 't3.large'), '2024-04-01', '{1,1}', 1.00),
	   pg_temp.sp(:'t', 'compute-3', '111', 'compute', 3.00);
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 02:00') AS run111 \gset
-- Hour 0: Z (0.50), X (2.40), then 0.10 / 4.00 = 2.5 % of Y = ODE 0.125;
-- OD 4.875; paid 3.00 + 4.875 = 7.875; ODE 10; ESR 21.25 %; SP use 100 %;
-- coverage (1 + 4 + 0.125) / 10 = 51.25 %.
-- Hour 1: Z uses 0.50 of 3.00; ODE 1, paid 3, ESR -200 %.
SELECT hour, pg_temp.r(ode) AS ode, pg_temp.r(sp_covered_ode) AS sp_ode,
	   pg_temp.r(od_cost) AS od, pg_temp.r(od_cost + ri_cost + sp_cost) AS paid,
	   pg_temp.r(1 - (od_cost + ri_cost + sp_cost) / ode) AS esr,
	   pg_temp.r(sp_used / sp_cost) AS sp_util,
	   pg_temp.r(sp_covered_ode / ode) AS coverage
  FROM commitopt.simulation_hourly WHERE run_id = :run111 ORDER BY hour;
-- Both hours: ODE 11, paid 10.875, ESR 0.125 / 11 = 1.136 %,
-- utilization 3.50 / 6.00 = 58.33 %.
SELECT pg_temp.r(sum(ode)) AS ode, pg_temp.r(sum(od_cost + ri_cost + sp_cost)) AS paid,
	   pg_temp.r(1 - sum(od_cost + ri_cost + sp_cost) / sum(ode)) AS esr,
	   pg_temp.r(sum(sp_used) / sum(sp_cost)) AS sp_util
  FROM commitopt.simulation_hourly WHERE run_id = :run111;
SELECT commitment_id, pg_temp.r(purchased) AS purchased, pg_temp.r(used) AS used,
	   purchased_nu, pg_temp.r(unused_cost) AS unused, pg_temp.r(covered_ode) AS covered_ode
  FROM commitopt.simulation_commitments WHERE run_id = :run111;
SELECT estimated_sp_rates FROM commitopt.simulation_runs WHERE run_id = :run111;

-- Case 2: add a $1.00/h EC2 Instance SP for c5 in sp-1.  It goes first:
-- 1.00 / 1.60 = 62.5 % of X (ODE 2.50).  Compute then: Z 0.50, the rest of
-- X 0.375 * 2.40 = 0.90, and 1.60 / 4.00 = 40 % of Y (ODE 2.00).  OD 60 %
-- of Y = 3.00; paid 1 + 3 + 3 = 7.00; ESR 30 %.
SELECT commitopt.ensure_tenant('sim-111-2', 'Example 1.11 case 2') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'sp-1', '', 'c5.large'), '2024-04-01', '{1}', 4.00),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'sp-1', '', 'm5.large', 'windows'), '2024-04-01', '{1}', 5.00),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'sp-1', '', 't3.large'), '2024-04-01', '{1}', 1.00),
	   pg_temp.sp(:'t', 'compute-3', '111', 'compute', 3.00),
	   pg_temp.sp(:'t', 'ec2-c5', '111', 'ec2_instance', 1.00, 'sp-1', 'c5');
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 01:00') AS run \gset
SELECT pg_temp.r(ode) AS ode, pg_temp.r(sp_covered_ode) AS sp_ode, pg_temp.r(od_cost) AS od,
	   pg_temp.r(od_cost + ri_cost + sp_cost) AS paid,
	   pg_temp.r(1 - (od_cost + ri_cost + sp_cost) / ode) AS esr
  FROM commitopt.simulation_hourly WHERE run_id = :run;
-- Per plan: EC2 used 1.00 covering 2.50; Compute used 3.00 covering
-- Z 1.00 + X 1.50 + Y 2.00 = 4.50.
SELECT commitment_id, pg_temp.r(used) AS used, pg_temp.r(covered_ode) AS covered_ode
  FROM commitopt.simulation_commitments WHERE run_id = :run ORDER BY 1;

-- Owner first for Savings Plans: B (222) owns a $1.00 Compute SP; A runs
-- Z (50 %), B runs Y (20 %).  B's own usage comes first: 1.00 / 4.00 =
-- 25 % of Y (ODE 1.25), nothing for A.  With B's sharing off and the plan
-- owned by A instead, B's Y gets nothing and A's Z 100 % (0.50 used).
SELECT commitopt.ensure_tenant('sim-sp-owner', 'SP owner first') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'sp-1', '', 't3.large'), '2024-04-01', '{1}', 1.00),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '222', 'sp-1', '', 'm5.large', 'windows'), '2024-04-01', '{1}', 5.00),
	   pg_temp.sp(:'t', 'b-plan', '222', 'compute', 1.00);
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 01:00') AS run \gset
SELECT account_id, region, family, pg_temp.r(sp_covered_ode) AS sp_ode,
	   pg_temp.r(sp_used) AS used, pg_temp.r(sp_cost) AS cost
  FROM commitopt.simulation_daily WHERE run_id = :run ORDER BY 1, 2;
UPDATE commitopt.savings_plans SET owner_account_id = '111' WHERE tenant_id = :'t';
UPDATE commitopt.aws_accounts SET sharing_enabled = false WHERE tenant_id = :'t' AND account_id = '222';
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 01:00') AS run \gset
-- The unused 0.50 stays with the owner's '*' slice.
SELECT account_id, region, family, pg_temp.r(sp_covered_ode) AS sp_ode,
	   pg_temp.r(sp_used) AS used, pg_temp.r(sp_cost) AS cost
  FROM commitopt.simulation_daily WHERE run_id = :run ORDER BY 1, 2;

-- Missing SP rate: sp-2 has none, so the rate is estimated as OD less the
-- fallback discount (1-year Compute 0.22): 1.00 * 0.78 = 0.78; the OD rate
-- comes from commitopt.od_rates when the bill has none.  A $0.39 plan
-- starting at 00:30 (pro rata: 0.195 in hour 0) covers 0.195 / 0.78 = 0.25
-- of the instance in hour 0 (ODE 0.25) and 0.50 in hour 1; the run is
-- flagged as using estimates.
SELECT commitopt.ensure_tenant('sim-sp-est', 'Estimated rates') AS t \gset
INSERT INTO commitopt.od_rates VALUES ('sp-2', 'm5.large', 'linux', 'default', 1.00, 'test')
ON CONFLICT DO NOTHING;
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'sp-2', '', 'm5.large'), '2024-04-01', '{1,1}', NULL),
	   pg_temp.sp(:'t', 'est', '111', 'compute', 0.39, NULL, NULL, '2024-04-01 00:30');
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 02:00') AS run \gset
SELECT hour, pg_temp.r(ode) AS ode, pg_temp.r(sp_cost) AS sp_cost, pg_temp.r(sp_covered_hours) AS sp_h,
	   pg_temp.r(sp_covered_ode) AS sp_ode, pg_temp.r(od_cost) AS od
  FROM commitopt.simulation_hourly WHERE run_id = :run ORDER BY hour;
SELECT estimated_sp_rates FROM commitopt.simulation_runs WHERE run_id = :run;

-- Daily slices add up to the hourly totals, for every measure, over a
-- window of three days with RIs and plans of several accounts (the 1.11
-- tenant over 72 hours, with a zonal RI on X and an EC2 plan of B).
SELECT commitopt.ensure_tenant('sim-111', 'Example 1.11') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '222', 'sp-1', 'sp-1a', 'c5.large'), '2024-05-01', '{}', 4.00, 1.5),
	   pg_temp.ri(:'t', 'zonal-x', '222', 'sp-1', 'sp-1a', 'c5.large', 1, 2.0),
	   pg_temp.sp(:'t', 'ec2-b', '222', 'ec2_instance', 0.8, 'sp-1', 'c5');
SELECT commitopt.simulate(:'t', '2024-04-30 12:00', '2024-05-03 12:00') AS run \gset
WITH h AS (
	SELECT (hour AT TIME ZONE 'UTC')::date AS day,
		   ARRAY[sum(usage_hours), sum(usage_nu), sum(ode), sum(ri_covered_hours),
				 sum(ri_covered_nu), sum(ri_covered_ode), sum(sp_covered_hours),
				 sum(sp_covered_nu), sum(sp_covered_ode), sum(od_cost), sum(ri_cost),
				 sum(ri_unused_cost), sum(sp_cost), sum(sp_used),
				 sum(ri_purchased_hours), sum(ri_used_hours), sum(ri_purchased_nu),
				 sum(ri_used_nu)] AS v
	  FROM commitopt.simulation_hourly WHERE run_id = :run GROUP BY 1
), d AS (
	SELECT day,
		   ARRAY[sum(usage_hours), sum(usage_nu), sum(ode), sum(ri_covered_hours),
				 sum(ri_covered_nu), sum(ri_covered_ode), sum(sp_covered_hours),
				 sum(sp_covered_nu), sum(sp_covered_ode), sum(od_cost), sum(ri_cost),
				 sum(ri_unused_cost), sum(sp_cost), sum(sp_used),
				 sum(ri_purchased_hours), sum(ri_used_hours), sum(ri_purchased_nu),
				 sum(ri_used_nu)] AS v
	  FROM commitopt.simulation_daily WHERE run_id = :run GROUP BY 1
)
SELECT h.day, (SELECT bool_and(abs(a - b) < 1e-9) FROM unnest(h.v, d.v) u(a, b)) AS equal,
	   pg_temp.r(h.v[3]) AS ode, pg_temp.r(h.v[13]) AS sp_cost, pg_temp.r(h.v[11]) AS ri_cost
  FROM h FULL JOIN d USING (day) ORDER BY 1;
-- Day 2024-04-30 (hours 12-23, April usage: hour 0 and 1 only, so none):
-- the 3.00 compute plan, 0.80 EC2 plan and 2.00 zonal RI run unused for
-- 12 hours: sp_cost 12 * 3.80 = 45.6, ri_cost 24.  May days: X2 = 1.5
-- c5.large of B each hour (ODE 6.00), 24 h: ODE 144, sp_cost 91.2,
-- ri_cost 48.

-- Reconciliation.  The bill of the 1.11 tenant for 2024-04-01 00:00 says
-- SP-covered ODE 1.00 + 4.00 + 0.125 (as simulated), and for 01:00 Z's
-- covered line at 0.40 instead of 1.00 (planted), plus an RI line in
-- 01:00 that the simulation does not have.
SELECT commitopt.ensure_tenant('sim-111', 'Example 1.11') AS t \gset
INSERT INTO commitopt.billing_imports (tenant_id, export_name, billing_period_start, format, source, line_count)
VALUES (:'t', 'test', '2024-04-01', 'cur', 'test', 5) RETURNING import_id AS imp \gset
-- (instance_type: reconcile compares EC2 instance lines only; a line
-- without one, such as Fargate's, is outside the simulation.)
INSERT INTO commitopt.billing_line_items (tenant_id, import_id, line_no, charge_type,
	billing_period_start, usage_start, usage_end, usage_amount, public_od_cost, instance_type)
VALUES (:'t', :imp, 1, 'SavingsPlanCoveredUsage', '2024-04-01', '2024-04-01 00:00', '2024-04-01 01:00', 1, 1.00, 'c5.large'),
	   (:'t', :imp, 2, 'SavingsPlanCoveredUsage', '2024-04-01', '2024-04-01 00:00', '2024-04-01 01:00', 1, 4.00, 'c5.xlarge'),
	   (:'t', :imp, 3, 'SavingsPlanCoveredUsage', '2024-04-01', '2024-04-01 00:00', '2024-04-01 01:00', 0.025, 0.125, 'm5.large'),
	   (:'t', :imp, 4, 'SavingsPlanNegation', '2024-04-01', '2024-04-01 00:00', '2024-04-01 01:00', 1, -5.125, 'c5.large'),
	   (:'t', :imp, 7, 'SavingsPlanCoveredUsage', '2024-04-01', '2024-04-01 00:00', '2024-04-01 01:00', 1, 9.00, NULL);
-- They agree: nothing reported.
SELECT * FROM commitopt.reconcile(:'t', :run111);
INSERT INTO commitopt.billing_line_items (tenant_id, import_id, line_no, charge_type,
	billing_period_start, usage_start, usage_end, usage_amount, public_od_cost, instance_type)
VALUES (:'t', :imp, 5, 'SavingsPlanCoveredUsage', '2024-04-01', '2024-04-01 01:00', '2024-04-01 02:00', 1, 0.40, 'c5.large'),
	   (:'t', :imp, 6, 'DiscountedUsage', '2024-04-01', '2024-04-01 01:00', '2024-04-01 02:00', 1, 0, 'c5.large');
-- 01:00: AWS 1 RI hour vs 0 simulated; SP ODE 0.40 vs 1.00 simulated.
SELECT hour, measure, pg_temp.r(aws_value) AS aws, pg_temp.r(simulated_value) AS sim,
	   pg_temp.r(difference) AS difference
  FROM commitopt.reconcile(:'t', :run111);
\set VERBOSITY terse
SELECT * FROM commitopt.reconcile(:'t', -1);
\set VERBOSITY default

-- Leave the shared reference tables as they were.
DELETE FROM commitopt.sp_rates WHERE source = 'test';
DELETE FROM commitopt.od_rates WHERE source = 'test';

-- The hourly simulator: Reserved Instance rules (commitment-billing.md
-- sections 1.5, 1.6, 1.10, 7 and field case FC-02).  Test helpers:
\getenv datadir COMMITOPT_DATA
\set helpers :datadir '/fixtures/sim/helpers.sql'
\set ECHO none
\i :helpers
\set ECHO all

-- 1.10: accounts A=111, B=222, C=333; m5 Linux, OD large 0.10,
-- 2xlarge 0.40.  C owns a zonal m5.large in us-east-1a ($0.065), A a
-- regional m5.xlarge (8 NU, $0.13).
SELECT commitopt.ensure_tenant('sim-110', 'Example 1.10') AS t \gset
INSERT INTO commitopt.aws_accounts (tenant_id, account_id) VALUES (:'t', '333');
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'us-east-1', 'us-east-1b', 'm5.large'), '2024-04-01', '{1}', 0.10),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'us-east-1', 'us-east-1a', 'm5.2xlarge'), '2024-04-01', '{1}', 0.40),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '222', 'us-east-1', 'us-east-1a', 'm5.large'), '2024-04-01', '{1}', 0.10),
	   pg_temp.ri(:'t', 'c-zonal', '333', 'us-east-1', 'us-east-1a', 'm5.large', 1, 0.065),
	   pg_temp.ri(:'t', 'a-regional', '111', 'us-east-1', NULL, 'm5.xlarge', 1, 0.13);
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 01:00') AS run \gset
-- Expected (table of 1.10): ODE 0.10 + 0.40 + 0.10 = 0.60; paid
-- 0.065 + 0.13 + OD 0.75 * 0.40 = 0.495; savings 0.105; ESR 17.5 %;
-- coverage hours (1 + 1 + 0.25) / 3 = 0.75, NU (4 + 4 + 4) / 24 = 0.5,
-- cost 0.30 / 0.60 = 0.5; nothing unused.
SELECT pg_temp.r(ode) AS ode, pg_temp.r(od_cost + ri_cost + sp_cost) AS paid,
	   pg_temp.r(ode - od_cost - ri_cost - sp_cost) AS savings,
	   pg_temp.r((ode - od_cost - ri_cost - sp_cost) / ode) AS esr,
	   pg_temp.r(ri_covered_hours / usage_hours) AS cov_hours,
	   pg_temp.r(ri_covered_nu / usage_nu) AS cov_nu,
	   pg_temp.r(ri_covered_ode / ode) AS cov_cost,
	   pg_temp.r(ri_unused_cost) AS unused
  FROM commitopt.simulation_hourly WHERE run_id = :run;
-- Per account: B's m5.large is covered by C's zonal RI (1 hour, $0.065);
-- A gets 1 + 0.25 hours (8 NU) from its own RI ($0.13); C uses nothing
-- but owns the zonal RI's purchased/used hours (1 h, 4 NU).
SELECT account_id, family, pg_temp.r(usage_hours) AS usage_h, pg_temp.r(ri_covered_hours) AS cov_h,
	   pg_temp.r(ri_covered_nu) AS cov_nu, pg_temp.r(od_cost) AS od, pg_temp.r(ri_cost) AS ri_cost,
	   pg_temp.r(ri_purchased_hours) AS purch_h, pg_temp.r(ri_used_hours) AS used_h,
	   pg_temp.r(ri_purchased_nu) AS purch_nu, pg_temp.r(ri_used_nu) AS used_nu
  FROM commitopt.simulation_daily WHERE run_id = :run ORDER BY account_id;
-- Both RIs 100 % utilized: 1 of 1 hour; zonal covers ODE 0.10, regional
-- 0.10 + 0.25 * 0.40 = 0.20.
SELECT commitment_id, pg_temp.r(purchased) AS purchased, pg_temp.r(used) AS used,
	   pg_temp.r(used / purchased) AS utilization, pg_temp.r(purchased_nu) AS purchased_nu,
	   pg_temp.r(used_nu) AS used_nu, pg_temp.r(cost) AS cost, pg_temp.r(covered_ode) AS covered_ode
  FROM commitopt.simulation_commitments WHERE run_id = :run ORDER BY 1;

-- Simulating the same window again replaces the run.
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 01:00') > :run AS new_run;
SELECT count(*) AS runs FROM commitopt.simulation_runs WHERE tenant_id = :'t';

-- Zonal RIs need the exact AZ, type and platform.  One m5.large zonal RI
-- in us-east-1a ($0.05).  Hour 1: m5.large in 1b, m5.xlarge in 1a and a
-- Windows m5.large in 1a: none matches, the RI is unused (cost 0.05).
-- Hour 2: half an hour of a Linux m5.large in 1a: 0.5 covered, 0.5 unused
-- (0.025).
SELECT commitopt.ensure_tenant('sim-zonal', 'Zonal') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'us-east-1', 'us-east-1b', 'm5.large'), '2024-04-01', '{1,0}', 0.10),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'us-east-1', 'us-east-1a', 'm5.xlarge'), '2024-04-01', '{1,0}', 0.20),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'us-east-1', 'us-east-1a', 'm5.large', 'windows'), '2024-04-01', '{1,0}', 0.19),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'us-east-1', 'us-east-1a', 'm5.large'), '2024-04-01', '{0,0.5}', 0.10),
	   pg_temp.ri(:'t', 'z', '111', 'us-east-1', 'us-east-1a', 'm5.large', 1, 0.05);
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 02:00') AS run \gset
SELECT hour, pg_temp.r(usage_hours) AS usage_h, pg_temp.r(ri_covered_hours) AS cov_h,
	   pg_temp.r(ri_used_hours) AS used_h, pg_temp.r(ri_unused_cost) AS unused_cost
  FROM commitopt.simulation_hourly WHERE run_id = :run ORDER BY hour;

-- FC-02, one region per case, regional RIs, one hour:
--  r1: RI m5.xlarge (8 NU), 2 x m5.large (2 * 4 NU): 100 % / 100 %.
--  r2: RI m5.xlarge, 1 x m5.2xlarge (OD 0.384): 8/16 = 50 % covered,
--      OD 0.5 * 0.384 = 0.192, RI 100 % used.
--  r3: RI i3.16xlarge (128), 1 x i3.metal (128, not 192): 100 %.
--  r4: Windows RI m5.xlarge, 2 x Windows m5.large: not size-flexible,
--      0 % covered, 0 % used.
--  r5: g4dn is excluded from size flexibility: RI g4dn.xlarge,
--      2 x g4dn.large: 0 %.
--  r6: partial coverage, smallest first: RI m5.xlarge (8 NU); usage
--      m5.large (4) and m5.2xlarge (16): the large is covered, then
--      4/16 = 25 % of the 2xlarge: 1.25 of 2 hours.
SELECT commitopt.ensure_tenant('sim-fc02', 'FC-02') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r1', '', 'm5.large'), '2024-04-01', '{2}', 0.096),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r2', '', 'm5.2xlarge'), '2024-04-01', '{1}', 0.384),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r3', '', 'i3.metal'), '2024-04-01', '{1}', 4.992),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r4', '', 'm5.large', 'windows'), '2024-04-01', '{2}', 0.188),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r5', '', 'g4dn.large'), '2024-04-01', '{2}', 0.5),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r6', '', 'm5.large'), '2024-04-01', '{1}', 0.1),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r6', '', 'm5.2xlarge'), '2024-04-01', '{1}', 0.4),
	   pg_temp.ri(:'t', 'fc1', '111', 'r1', NULL, 'm5.xlarge', 1, 0.12),
	   pg_temp.ri(:'t', 'fc2', '111', 'r2', NULL, 'm5.xlarge', 1, 0.12),
	   pg_temp.ri(:'t', 'fc3', '111', 'r3', NULL, 'i3.16xlarge', 1, 3.0),
	   pg_temp.ri(:'t', 'fc4', '111', 'r4', NULL, 'm5.xlarge', 1, 0.25, 'windows'),
	   pg_temp.ri(:'t', 'fc5', '111', 'r5', NULL, 'g4dn.xlarge', 1, 0.4),
	   pg_temp.ri(:'t', 'fc6', '111', 'r6', NULL, 'm5.xlarge', 1, 0.12);
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 01:00') AS run \gset
SELECT region, pg_temp.r(usage_hours) AS usage_h, pg_temp.r(ri_covered_hours) AS cov_h,
	   pg_temp.r(ri_covered_hours / usage_hours) AS coverage, pg_temp.r(od_cost) AS od,
	   pg_temp.r(ri_used_hours / ri_purchased_hours) AS utilization
  FROM commitopt.simulation_daily WHERE run_id = :run ORDER BY region;

-- Owner first, then ascending account id.  r1: B (222) owns one regional
-- m5.large RI; A (111) and B each run one: B's own is covered although A
-- has the lower id.  r2: C (333) owns it and runs nothing: A, the lowest
-- id, gets it.
SELECT commitopt.ensure_tenant('sim-owner', 'Owner first') AS t \gset
INSERT INTO commitopt.aws_accounts (tenant_id, account_id) VALUES (:'t', '333');
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r1', '', 'm5.large'), '2024-04-01', '{1}', 0.1),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '222', 'r1', '', 'm5.large'), '2024-04-01', '{1}', 0.1),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r2', '', 'm5.large'), '2024-04-01', '{1}', 0.1),
	   pg_temp.usage(:'t', pg_temp.series(:'t', '222', 'r2', '', 'm5.large'), '2024-04-01', '{1}', 0.1),
	   pg_temp.ri(:'t', 'b-r1', '222', 'r1', NULL, 'm5.large', 1, 0.06),
	   pg_temp.ri(:'t', 'c-r2', '333', 'r2', NULL, 'm5.large', 1, 0.06);
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 01:00') AS run \gset
SELECT region, account_id, pg_temp.r(ri_covered_hours) AS cov_h, pg_temp.r(od_cost) AS od
  FROM commitopt.simulation_daily WHERE run_id = :run AND usage_hours > 0
 ORDER BY region, account_id;

-- Sharing off.  B (222) has sharing off.  r1: A owns 3 m5.large RIs; A,
-- B, C run one each: A and C covered, B not (receives nothing); 1 RI-hour
-- unused.  r2: B owns 2; A and B run one each: only B covered.
SELECT commitopt.ensure_tenant('sim-sharing', 'Sharing off') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', a, reg, '', 'm5.large'), '2024-04-01', '{1}', 0.1)
  FROM (VALUES ('111', 'r1'), ('222', 'r1'), ('333', 'r1'), ('111', 'r2'), ('222', 'r2')) v(a, reg);
UPDATE commitopt.aws_accounts SET sharing_enabled = false
 WHERE tenant_id = :'t' AND account_id = '222';
SELECT pg_temp.ri(:'t', 'a-r1', '111', 'r1', NULL, 'm5.large', 3, 0.06),
	   pg_temp.ri(:'t', 'b-r2', '222', 'r2', NULL, 'm5.large', 2, 0.06);
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 01:00') AS run \gset
SELECT region, account_id, pg_temp.r(ri_covered_hours) AS cov_h, pg_temp.r(ri_unused_cost) AS unused_cost
  FROM commitopt.simulation_daily WHERE run_id = :run ORDER BY region, account_id;

-- Terms inside an hour count pro rata (7.4).  One m5.large RI ($0.08)
-- from 00:15 to 02:30; one m5.large runs every hour.  Hour 0: 0.75 of the
-- RI, covers 0.75, costs 0.06; hour 1: 1, 0.08; hour 2: 0.5, 0.04;
-- hour 3: nothing.
SELECT commitopt.ensure_tenant('sim-prorata', 'Pro rata') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r1', '', 'm5.large'), '2024-04-01', '{}', 0.1, 1),
	   pg_temp.ri(:'t', 'part', '111', 'r1', NULL, 'm5.large', 1, 0.08, 'linux',
				  '2024-04-01 00:15', '2024-04-01 02:30');
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 04:00') AS run \gset
SELECT hour, pg_temp.r(ri_purchased_hours) AS purch_h, pg_temp.r(ri_covered_hours) AS cov_h,
	   pg_temp.r(ri_cost) AS ri_cost, pg_temp.r(od_cost) AS od
  FROM commitopt.simulation_hourly WHERE run_id = :run ORDER BY hour;

-- Defaults: the window is the usage extent.
INSERT INTO commitopt.usage_coverage VALUES (:'t', 'test', '2024-04-01 02:00', '2024-04-01 05:00');
SELECT commitopt.simulate(:'t') AS run \gset
SELECT window_start, window_end FROM commitopt.simulation_runs WHERE run_id = :run;
SELECT count(*) AS hours FROM commitopt.simulation_hourly WHERE run_id = :run;

-- Bad arguments.
SELECT commitopt.simulate(:'t', '2024-04-01 00:30', '2024-04-01 02:00');
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 02:00:01');
SELECT commitopt.simulate(:'t', '2024-04-01 02:00', '2024-04-01 02:00');
SELECT commitopt.simulate(:'t', '2000-01-01', '2024-04-01');
SELECT commitopt.simulate(NULL);
SELECT commitopt.simulate('00000000-0000-0000-0000-000000000000');
SELECT commitopt.simulate(commitopt.ensure_tenant('sim-empty', 'No usage'));
-- A negative amount is refused, naming the series and hour.
SELECT commitopt.ensure_tenant('sim-bad', 'Bad usage') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'r1', '', 'm5.large'), '2024-04-01', '{1,-2}', 0.1) \gset
SELECT commitopt.simulate(:'t', '2024-04-01 00:00', '2024-04-01 03:00') IS NOT NULL;

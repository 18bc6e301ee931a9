-- Sane bounds (00_reference.sql): NaN and absurd magnitudes are refused
-- by every money, rate, count and amount column, and the simulator
-- refuses them again, naming the commitment, should one be stored anyway.
\getenv datadir COMMITOPT_DATA
\set helpers :datadir '/fixtures/sim/helpers.sql'
\set ECHO none
\i :helpers
\set ECHO all

-- One m5.large series in us-east-1, 1 instance-hour in each of the first
-- 3 hours of April 2024, OD $0.10; a 1 h Compute SP rate of $0.07.
SELECT commitopt.ensure_tenant('sim-bounds', 'Bounds') AS t \gset
SELECT pg_temp.series(:'t', '111', 'us-east-1', '', 'm5.large') AS s \gset
SELECT pg_temp.usage(:'t', :s, '2024-04-01', '{1,1,1}', 0.10);
SELECT pg_temp.sp_rate('compute', 'us-east-1', 'm5.large', 0.07);

\set VERBOSITY terse
-- Savings Plan commitments: NaN (which "> 0" let through), beyond and
-- below double precision, below AWS's minimum of $0.001, above $10M.
SELECT pg_temp.sp(:'t', 'sp-bad', '111', 'compute', 'NaN');
SELECT pg_temp.sp(:'t', 'sp-bad', '111', 'compute', 1e400);
SELECT pg_temp.sp(:'t', 'sp-bad', '111', 'compute', 1e-400);
SELECT pg_temp.sp(:'t', 'sp-bad', '111', 'compute', 0.0009);
SELECT pg_temp.sp(:'t', 'sp-bad', '111', 'compute', 10000001);
-- Reserved Instances: NaN and 1e300 effective cost, 2^31-1 instances.
SELECT pg_temp.ri(:'t', 'ri-bad', '111', 'us-east-1', NULL, 'm5.large', 1, 'NaN');
SELECT pg_temp.ri(:'t', 'ri-bad', '111', 'us-east-1', NULL, 'm5.large', 1, 1e300);
SELECT pg_temp.ri(:'t', 'ri-bad', '111', 'us-east-1', NULL, 'm5.large', 2147483647, 0.06);
-- Usage od_rate NaN (it silently dropped the usage's cost); rates of
-- the price tables; a normalization factor.
SELECT pg_temp.usage(:'t', :s, '2024-05-01', '{1}', 'NaN');
INSERT INTO commitopt.od_rates VALUES ('us-east-1', 'm5.bad', 'linux', 'default', 'NaN', 'test');
INSERT INTO commitopt.od_rates VALUES ('us-east-1', 'm5.bad', 'linux', 'default', 1e-400, 'test');
INSERT INTO commitopt.ri_rates VALUES ('us-east-1', 'm5.bad', 'linux', 'default', 'standard', 1, 'no_upfront', 20000, 'test');
SELECT pg_temp.sp_rate('compute', 'us-east-1', 'm5.bad', 'NaN');
INSERT INTO commitopt.instance_sizes VALUES ('bad', 'NaN');
-- A billed line's amount.
INSERT INTO commitopt.billing_imports (tenant_id, export_name, billing_period_start, format, source, line_count)
VALUES (:'t', 'bounds', '2024-04-01', 'cur2', 'test', 1);
INSERT INTO commitopt.billing_line_items (tenant_id, import_id, line_no, charge_type,
	billing_period_start, usage_amount)
SELECT :'t', import_id, 2, 'Usage', '2024-04-01', 'NaN'
  FROM commitopt.billing_imports WHERE tenant_id = :'t';
\set VERBOSITY default

-- Bounds themselves are accepted: $0.001 and $10M commitments, 10^6
-- instances at $10,000.
SELECT pg_temp.sp(:'t', 'sp-min', '111', 'compute', 0.001, start_time => '2030-01-01', end_time => '2031-01-01');
SELECT pg_temp.sp(:'t', 'sp-max', '111', 'compute', 10000000, start_time => '2030-01-01', end_time => '2031-01-01');
SELECT pg_temp.ri(:'t', 'ri-max', '111', 'us-east-1', NULL, 'm5.large', 1000000, 10000,
				  start_time => '2030-01-01', end_time => '2031-01-01');
DELETE FROM commitopt.savings_plans WHERE tenant_id = :'t';
DELETE FROM commitopt.reserved_instances WHERE tenant_id = :'t';

-- The simulator checks again: with the CHECK dropped for the length of a
-- transaction, a stored NaN or 1e400 commitment is refused by name.
BEGIN;
ALTER TABLE commitopt.savings_plans DROP CONSTRAINT savings_plans_hourly_commitment_usd_check;
SELECT pg_temp.sp(:'t', 'sp-nan', '111', 'compute', 'NaN');
SELECT commitopt.simulate(:'t', '2024-04-01', '2024-04-01 03:00');
ROLLBACK;
BEGIN;
ALTER TABLE commitopt.savings_plans DROP CONSTRAINT savings_plans_hourly_commitment_usd_check;
SELECT pg_temp.sp(:'t', 'sp-huge', '111', 'compute', 1e400);
SELECT commitopt.simulate(:'t', '2024-04-01', '2024-04-01 03:00');
ROLLBACK;
BEGIN;
ALTER TABLE commitopt.reserved_instances DROP CONSTRAINT reserved_instances_effective_hourly_usd_check;
ALTER TABLE commitopt.reserved_instances DROP CONSTRAINT reserved_instances_instance_count_check;
SELECT pg_temp.ri(:'t', 'ri-nan', '111', 'us-east-1', NULL, 'm5.large', 1, 'NaN');
SELECT commitopt.simulate(:'t', '2024-04-01', '2024-04-01 03:00');
ROLLBACK;
BEGIN;
ALTER TABLE commitopt.reserved_instances DROP CONSTRAINT reserved_instances_instance_count_check;
SELECT pg_temp.ri(:'t', 'ri-many', '111', 'us-east-1', NULL, 'm5.large', 2147483647, 0.06);
SELECT commitopt.simulate(:'t', '2024-04-01', '2024-04-01 03:00');
ROLLBACK;

-- Finding 10: the what-if commitment is bounded like a stored one.
SELECT * FROM commitopt.simulate_with_extra_compute_sp(:'t', '2024-04-01', '2024-04-01 03:00', 1e300);
SELECT * FROM commitopt.simulate_with_extra_compute_sp(:'t', '2024-04-01', '2024-04-01 03:00', 0.0001);
-- In bounds it runs: 3 instance-hours at OD $0.10 = ODE $0.30.  A $0.07
-- commitment covers 1 instance-hour per hour at the $0.07 SP rate, so
-- the amortized cost is the commitment, 3 * 0.07 = 0.21; net savings
-- 0.30 - 0.21 = 0.09.  With commitment 0: cost 0.30, savings 0.
SELECT pg_temp.r(ode) AS ode, pg_temp.r(amortized_cost) AS cost, pg_temp.r(net_savings) AS savings
  FROM commitopt.simulate_with_extra_compute_sp(:'t', '2024-04-01', '2024-04-01 03:00', 0.07);
SELECT pg_temp.r(ode) AS ode, pg_temp.r(amortized_cost) AS cost, pg_temp.r(net_savings) AS savings
  FROM commitopt.simulate_with_extra_compute_sp(:'t', '2024-04-01', '2024-04-01 03:00', 0);

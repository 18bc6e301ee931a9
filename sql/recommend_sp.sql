-- The Savings Plan recommendation (commitment-billing.md 5.3).
\getenv datadir COMMITOPT_DATA
\set helpers :datadir '/fixtures/sim/helpers.sql'
\set ECHO none
\i :helpers
\set ECHO all

-- 5.3 worked example over April 2024 (720 hours, a 30-day lookback): 20
-- units in 10 % of hours (72), 60 in 30 % (216), 100 in 60 % (432); OD $1
-- per unit-hour; E[U] = 80, ODE 720 * 80 = 57,600.  A commitment of u
-- units costs c = (1 - d) u dollars per hour.
SELECT pg_temp.sp_rate('compute', 'rec-30', 'm5.large', 0.70),
	   pg_temp.sp_rate('compute', 'rec-50', 'm5.large', 0.50);
SELECT commitopt.ensure_tenant('rec-d30', 'd = 0.30') AS t30 \gset
SELECT commitopt.ensure_tenant('rec-d50', 'd = 0.50') AS t50 \gset
SELECT pg_temp.usage(t, pg_temp.series(t, '111', reg, '', 'm5.large'), '2024-04-01',
		 (SELECT array_agg(CASE WHEN i <= 72 THEN 20 WHEN i <= 288 THEN 60 ELSE 100 END ORDER BY i)
			FROM generate_series(1, 720) i), 1.00)
  FROM (VALUES (:'t30'::uuid, 'rec-30'), (:'t50'::uuid, 'rec-50')) v(t, reg);
INSERT INTO commitopt.usage_coverage VALUES
	(:'t30', 'test', '2024-04-01', '2024-05-01'), (:'t50', 'test', '2024-04-01', '2024-05-01');

-- d = 0.30: best is 60 units = $42/h; cost per hour 42 + 24 = 66 (ESR
-- 17.5 %), net savings 720 * 14 = 10,080.  Coverage: covered ODE per hour
-- 0.1 * 20 + 0.9 * 60 = 56 of 80 = 70 %.  Utilization: (0.1 * 14 +
-- 0.9 * 42) / 42 = 93.33 %.  Nothing held before: net 0, ESR 0,
-- coverage 0.
SELECT commitopt.recommend_savings_plan(:'t30', 1, 30) AS rec \gset
SELECT term_years, lookback_days, window_start, window_end,
	   pg_temp.r(hourly_commitment) AS commitment, pg_temp.r(ode) AS ode,
	   pg_temp.r(net_savings_before) AS net_before, pg_temp.r(net_savings_after) AS net_after,
	   pg_temp.r(coverage_before) AS cov_before, pg_temp.r(coverage_after) AS cov_after,
	   pg_temp.r(utilization) AS util, pg_temp.r(esr_before) AS esr_before,
	   pg_temp.r(esr_after) AS esr_after, estimated_rates
  FROM commitopt.recommendations WHERE recommendation_id = :rec \gx
-- The curve: breakpoints at c = 0.7 * 20, 0.7 * 60, 0.7 * 100:
--   F(14) = 720 * 20 - 720 * 14 = 4,320 (coverage 20/80, utilization 1)
--   F(42) = 10,080 (0.7, 0.933333)
--   F(70) = 57,600 - 720 * 70 = 7,200 (1, (0.1*14 + 0.3*42 + 0.6*70)/70 = 0.8)
SELECT point_no, pg_temp.r(hourly_commitment) AS c, pg_temp.r(net_savings) AS net,
	   pg_temp.r(coverage) AS coverage, pg_temp.r(utilization) AS util, pg_temp.r(esr) AS esr
  FROM commitopt.recommendation_curve WHERE recommendation_id = :rec ORDER BY point_no;

-- d = 0.50: best is 100 units = $50/h; cost 50 per hour (ESR 37.5 %),
-- net savings 720 * 30 = 21,600; coverage 100 %; utilization
-- (0.1 * 10 + 0.3 * 30 + 0.6 * 50) / 50 = 80 %.
-- Curve: F(10) = 14,400 - 7,200 = 7,200; F(30) = 40,320 - 21,600 =
-- 18,720; F(50) = 21,600.
SELECT commitopt.recommend_savings_plan(:'t50') AS rec \gset
SELECT pg_temp.r(hourly_commitment) AS commitment, pg_temp.r(net_savings_after) AS net_after,
	   pg_temp.r(coverage_after) AS cov_after, pg_temp.r(utilization) AS util,
	   pg_temp.r(esr_after) AS esr_after
  FROM commitopt.recommendations WHERE recommendation_id = :rec;
SELECT point_no, pg_temp.r(hourly_commitment) AS c, pg_temp.r(net_savings) AS net
  FROM commitopt.recommendation_curve WHERE recommendation_id = :rec ORDER BY point_no;

-- Nothing pays: usage in only 10 of 168 hours at d = 0.50; the slope at 0
-- is 10 * 2 - 168 < 0, so the recommendation is 0, with undefined
-- utilization (NULL, not 0).
SELECT commitopt.ensure_tenant('rec-none', 'Nothing pays') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'rec-50', '', 'm5.large'), '2024-04-01', '{1,1,1,1,1,1,1,1,1,1}', 1.00);
INSERT INTO commitopt.usage_coverage VALUES (:'t', 'test', '2024-04-01', '2024-04-08');
SELECT commitopt.recommend_savings_plan(:'t', 1, 7) AS rec \gset
SELECT pg_temp.r(hourly_commitment) AS commitment, pg_temp.r(net_savings_after) AS net_after,
	   utilization IS NULL AS util_null, pg_temp.r(esr_after) AS esr_after
  FROM commitopt.recommendations WHERE recommendation_id = :rec;

-- No usage at all in the window: ESR and coverage are undefined (NULL).
SELECT commitopt.ensure_tenant('rec-zero', 'No usage') AS t \gset
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', '111', 'rec-50', '', 'm5.large'), '2024-04-01', '{}', 1.00);
INSERT INTO commitopt.usage_coverage VALUES (:'t', 'test', '2024-04-01', '2024-04-08');
SELECT commitopt.recommend_savings_plan(:'t', 1, 7) AS rec \gset
SELECT hourly_commitment, ode, esr_before IS NULL AS esr_null,
	   coverage_before IS NULL AS cov_null, utilization IS NULL AS util_null
  FROM commitopt.recommendations WHERE recommendation_id = :rec;

-- Brute force on random small inputs: three accounts (one with sharing
-- off), series with random usage, rates (some missing: estimated), an RI
-- and held plans; 7 days.  Net savings of the portfolio plus an extra
-- plan of c, simulated directly, must never beat the recommendation on a
-- fine grid, must equal it at the optimum, and must equal the stored
-- curve at every breakpoint.
SELECT setseed(0.42);
SELECT commitopt.ensure_tenant('rec-random', 'Random') AS t \gset
INSERT INTO commitopt.aws_accounts VALUES (:'t', '111', NULL, true), (:'t', '222', NULL, true), (:'t', '333', NULL, false);
-- (The WHERE makes the subquery per series, so each gets its own draws.)
-- OD rates per type; SP rates 50-85 % of them (r5.large has none: the
-- 1-year Compute fallback discount 0.22 applies, an estimate).
CREATE TEMP TABLE od(it text, od numeric);
INSERT INTO od VALUES ('m5.large', 0.096), ('m5.xlarge', 0.192), ('c5.large', 0.085), ('r5.large', 0.126);
SELECT pg_temp.sp_rate('compute', 'rec-rnd', it, round(od * (0.5 + random() * 0.35)::numeric, 5))
  FROM od WHERE it <> 'r5.large';
SELECT pg_temp.usage(:'t', pg_temp.series(:'t', a, 'rec-rnd', '', it), '2024-04-01',
		 (SELECT array_agg(CASE WHEN random() < 0.3 THEN 0 ELSE round((random() * 4)::numeric, 2) END::float8)
			FROM generate_series(1, 720) WHERE it IS NOT NULL), od)
  FROM (VALUES ('111', 'm5.large'), ('111', 'c5.large'), ('222', 'm5.xlarge'),
			   ('222', 'r5.large'), ('333', 'm5.large')) v(a, it) JOIN od USING (it);
SELECT pg_temp.ri(:'t', 'ri-1', '111', 'rec-rnd', NULL, 'm5.large', 1, 0.05),
	   pg_temp.sp(:'t', 'held-1', '222', 'compute', 0.05),
	   pg_temp.sp(:'t', 'held-2', '111', 'compute', 0.03, NULL, NULL, '2024-04-12 06:30');
INSERT INTO commitopt.usage_coverage VALUES (:'t', 'test', '2024-04-10', '2024-04-17');
SELECT commitopt.recommend_savings_plan(:'t', 1, 7) AS rec \gset
SELECT hourly_commitment AS best, net_savings_after AS best_net, window_start AS ws, window_end AS we
  FROM commitopt.recommendations WHERE recommendation_id = :rec \gset
SELECT :best > 0 AS buys, estimated_rates FROM commitopt.recommendations WHERE recommendation_id = :rec;
SELECT count(*) AS grid_points,
	   bool_and(s.net_savings <= :best_net + 1e-6) AS never_beaten
  FROM generate_series(0, 300) g,
	   commitopt.simulate_with_extra_compute_sp(:'t', :'ws', :'we', :best * 1.5 * g / 300) s;
SELECT abs(net_savings - :best_net) < 1e-6 AS equal_at_optimum
  FROM commitopt.simulate_with_extra_compute_sp(:'t', :'ws', :'we', :best);
SELECT count(*) > 3 AS several_points,
	   bool_and(abs(s.net_savings - (r.net_savings_before + c.net_savings)) < 1e-6) AS curve_exact
  FROM commitopt.recommendation_curve c
  JOIN commitopt.recommendations r USING (tenant_id, recommendation_id)
 CROSS JOIN LATERAL commitopt.simulate_with_extra_compute_sp(:'t', :'ws', :'we', c.hourly_commitment) s
 WHERE c.recommendation_id = :rec;

-- Refusals.
SELECT commitopt.recommend_savings_plan(:'t', 1, 30);
SELECT commitopt.recommend_savings_plan(:'t', 1, 14);
SELECT commitopt.recommend_savings_plan(:'t', 2, 7);
SELECT commitopt.recommend_savings_plan(NULL);
SELECT commitopt.recommend_savings_plan('00000000-0000-0000-0000-000000000000');
SELECT commitopt.recommend_savings_plan(commitopt.ensure_tenant('rec-nothing', 'No usage'));
SELECT * FROM commitopt.simulate_with_extra_compute_sp(:'t', :'ws', :'we', -1);
SELECT * FROM commitopt.simulate_with_extra_compute_sp(:'t', :'ws', :'we', 'NaN');
SELECT * FROM commitopt.simulate_with_extra_compute_sp(:'t', :'ws', :'we', 1, 5);
SELECT * FROM commitopt.simulate_with_extra_compute_sp(:'t', NULL, :'we', 1);

-- Leave the shared reference tables as they were.
DELETE FROM commitopt.sp_rates WHERE source = 'test';
DELETE FROM commitopt.od_rates WHERE source = 'test';

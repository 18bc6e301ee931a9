-- The synthetic fleet generator (extension/sql/70_synthetic.sql).
\getenv datadir COMMITOPT_DATA
SET client_min_messages = warning;
SELECT commitopt.load_reference_data(:'datadir' || '/pricing');
RESET client_min_messages;
SET timezone = 'UTC';

SELECT commitopt.ensure_tenant('syn-a', 'Synthetic A') AS a \gset
SELECT commitopt.ensure_tenant('syn-b', 'Synthetic B') AS b \gset

-- Data of the tenant that is not generated must survive every run.
INSERT INTO commitopt.aws_accounts (tenant_id, account_id, name)
VALUES (:'a', '123456789012', 'real account');
INSERT INTO commitopt.savings_plans (tenant_id, sp_id, owner_account_id,
	plan_type, term_years, hourly_commitment_usd, start_time, end_time)
VALUES (:'a', 'real-sp', '123456789012', 'compute', 1, 1.5,
		'2025-01-01', '2026-01-01');

-- fingerprint(tenant): everything generated, without the tenant and
-- series ids (identity values differ from run to run).
CREATE FUNCTION pg_temp.fingerprint(t uuid) RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(concat_ws(',', a.account_id, a.name, a.sharing_enabled), ';'
						   ORDER BY a.account_id)
		   FROM commitopt.aws_accounts a
		  WHERE a.tenant_id = t AND a.name LIKE 'synthetic %'),
		(SELECT string_agg(concat_ws(',', s.account_id, s.region, s.availability_zone,
									 s.instance_type, s.platform, h.period_start,
									 h.amounts::text), ';'
						   ORDER BY s.account_id, s.region, s.availability_zone,
									s.instance_type, s.platform, h.period_start)
		   FROM commitopt.usage_series s JOIN commitopt.usage_hourly h USING (tenant_id, series_id)
		  WHERE s.tenant_id = t),
		(SELECT string_agg((to_jsonb(r) - 'tenant_id')::text, ';' ORDER BY r.ri_id)
		   FROM commitopt.reserved_instances r
		  WHERE r.tenant_id = t AND r.source = 'synthetic'),
		(SELECT string_agg((to_jsonb(p) - 'tenant_id')::text, ';' ORDER BY p.sp_id)
		   FROM commitopt.savings_plans p
		  WHERE p.tenant_id = t AND p.source = 'synthetic')))
$$;

-- counts(tenant): rows per table.
CREATE FUNCTION pg_temp.counts(t uuid,
	OUT accounts bigint, OUT series bigint, OUT months bigint,
	OUT ris bigint, OUT sps bigint, OUT coverage bigint)
LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM commitopt.aws_accounts WHERE tenant_id = t),
		   (SELECT count(*) FROM commitopt.usage_series WHERE tenant_id = t),
		   (SELECT count(*) FROM commitopt.usage_hourly WHERE tenant_id = t),
		   (SELECT count(*) FROM commitopt.reserved_instances WHERE tenant_id = t),
		   (SELECT count(*) FROM commitopt.savings_plans WHERE tenant_id = t),
		   (SELECT count(*) FROM commitopt.usage_coverage WHERE tenant_id = t)
$$;

-- A 72-hour window across a month end: 2025-01-31 12:00 to 2025-02-03
-- 12:00 UTC, 6 series, 6 commitments.  6 series make 3 member accounts
-- (3 + 6 / 250) plus the payer.
SELECT commitopt.generate_synthetic_fleet(:'a', 6, 3, 6, 0.5,
										  '2025-01-31 12:00+00', 'mixed') AS series;
SELECT pg_temp.fingerprint(:'a') AS first_run \gset

-- Accounts: payer 999900000000 without usage, members ...01 to ...03,
-- the last one with sharing off (mixed profile); the real account kept.
SELECT a.account_id, a.name, a.sharing_enabled,
	   (SELECT count(*) FROM commitopt.usage_series s
		 WHERE s.tenant_id = a.tenant_id AND s.account_id = a.account_id) > 0 AS has_usage
  FROM commitopt.aws_accounts a WHERE a.tenant_id = :'a' ORDER BY a.account_id;

-- Array lengths: January has 31 * 24 = 744 hours, February 28 * 24 = 672;
-- every series that runs has one row per month (a series that starts
-- after January 31 has no January row).  Every array has the length of
-- its month.
SELECT h.period_start, array_length(h.amounts, 1) AS hours, count(*) > 0 AS rows
  FROM commitopt.usage_hourly h WHERE h.tenant_id = :'a'
 GROUP BY 1, 2 ORDER BY 1;
-- Here every series but one runs on both sides of the month end; the
-- second series is the batch job (one of 3 to 9 series is), idle around
-- midnight.  All six have a row for each month: 6 * 2 = 12 rows.
SELECT s.instance_type,
	   bool_or(h.period_start = '2025-01-01' AND h.amounts[744] > 0) AS runs_jan_31,
	   bool_or(h.period_start = '2025-02-01' AND h.amounts[1] > 0) AS runs_feb_1
  FROM commitopt.usage_series s JOIN commitopt.usage_hourly h USING (tenant_id, series_id)
 WHERE s.tenant_id = :'a' GROUP BY s.series_id, s.instance_type ORDER BY s.series_id;
-- Zero outside the window: in January hours 1 to 732 are before
-- 2025-01-31 12:00 (30 days and 12 hours); in February hours 61 to 672
-- are at or after 2025-02-03 12:00 (2 days and 12 hours).  Inside the
-- window there is usage (12 + 60 = 72 hours).
SELECT h.period_start,
	   bool_and(NOT EXISTS (SELECT FROM unnest(h.amounts) WITH ORDINALITY x(v, i)
							 WHERE v <> 0 AND (i <= 732 AND h.period_start < '2025-02-01'
											   OR i > 60 AND h.period_start >= '2025-02-01')))
		   AS zero_outside,
	   bool_and(NOT EXISTS (SELECT FROM unnest(h.amounts) x(v) WHERE v < 0)) AS none_negative,
	   sum((SELECT count(*) FROM unnest(h.amounts) x(v) WHERE v > 0)) > 0 AS some_usage
  FROM commitopt.usage_hourly h WHERE h.tenant_id = :'a'
 GROUP BY 1 ORDER BY 1;

-- The coverage row spans the window.
SELECT source, covered_from, covered_to FROM commitopt.usage_coverage
 WHERE tenant_id = :'a';

-- Every series is of a type priced on demand in its region; every
-- generated RI's rate is an RI rate of its type, every commitment's
-- owner exists; 6 commitments as asked, besides the real plan.  Of 6
-- (mixed): zonal round(0.9) = 1, exact-type regional round(0.6) = 1, EC2
-- Instance SP round(0.9) = 1, Compute SP round(1.2) = 1, size-flexible
-- regional the other 2: 4 RIs and 2 plans.
SELECT bool_and(EXISTS (SELECT FROM commitopt.od_rates o
						 WHERE o.region = s.region AND o.instance_type = s.instance_type
						   AND o.platform = s.platform AND o.tenancy = s.tenancy)) AS priced
  FROM commitopt.usage_series s WHERE s.tenant_id = :'a';
SELECT count(*) AS commitments,
	   count(*) FILTER (WHERE NOT EXISTS (
			SELECT FROM commitopt.aws_accounts a
			 WHERE a.tenant_id = c.tenant_id AND a.account_id = c.owner)) AS unknown_owners,
	   count(*) FILTER (WHERE c.kind = 'ri' AND NOT EXISTS (
			SELECT FROM commitopt.ri_rates r
			 WHERE r.region = c.region AND r.instance_type = c.instance_type
			   AND r.platform = c.platform
			   AND r.effective_hourly_usd = c.rate)) AS unpriced_ris
  FROM (SELECT 'ri' AS kind, tenant_id, owner_account_id AS owner, region,
			   instance_type, platform, effective_hourly_usd AS rate
		  FROM commitopt.reserved_instances WHERE source = 'synthetic'
		UNION ALL
		SELECT 'sp', tenant_id, owner_account_id, NULL, NULL, NULL, NULL
		  FROM commitopt.savings_plans WHERE source = 'synthetic') c
 WHERE c.tenant_id = :'a';

-- Idempotence and determinism: the same arguments again write the same
-- fleet and the same number of rows: 4 + 1 accounts, 6 series, 6 * 2
-- months, 4 RIs, 2 + 1 plans (the real one), 1 coverage row; the real
-- plan and account are still there.
SELECT * FROM pg_temp.counts(:'a');
SELECT commitopt.generate_synthetic_fleet(:'a', 6, 3, 6, 0.5,
										  '2025-01-31 12:00+00', 'mixed') AS series;
SELECT * FROM pg_temp.counts(:'a');
SELECT pg_temp.fingerprint(:'a') = :'first_run' AS same_fleet;
SELECT sp_id, source FROM commitopt.savings_plans
 WHERE tenant_id = :'a' AND source <> 'synthetic';
-- Another tenant with the same arguments gets the same fleet; another
-- seed gives another fleet.
SELECT commitopt.generate_synthetic_fleet(:'b', 6, 3, 6, 0.5,
										  '2025-01-31 12:00+00', 'mixed') AS series;
SELECT pg_temp.fingerprint(:'b') = pg_temp.fingerprint(:'a') AS same_as_a;
SELECT commitopt.generate_synthetic_fleet(:'b', 6, 3, 6, -0.25,
										  '2025-01-31 12:00+00', 'mixed') AS series;
SELECT pg_temp.fingerprint(:'b') <> pg_temp.fingerprint(:'a') AS other_seed_differs;
-- A smaller fleet replaces a bigger one entirely: 2 series of 2 days in
-- January (2 usage rows), 3 members (3 + 2 / 250) plus the payer, and 1
-- commitment (every share rounds to 0, so it is a size-flexible RI).
SELECT commitopt.generate_synthetic_fleet(:'b', 2, 2, 1) AS series;
SELECT * FROM pg_temp.counts(:'b');

-- The mixed profile at its default size (here over 10 days): every kind
-- of commitment, some expiring inside the window, some starting inside
-- it.  150 series make 3 members (3 + 150 / 250).
-- Of 24 commitments: 4 zonal RIs (15 %), 2 exact-type regional RIs
-- (10 %), 4 EC2 Instance SPs (15 %), 5 Compute SPs (20 %, rounded), and
-- 9 size-flexible regional RIs.
SELECT commitopt.generate_synthetic_fleet(:'b', days => 10) AS series;
SELECT count(*) FILTER (WHERE availability_zone IS NOT NULL) AS zonal,
	   count(*) FILTER (WHERE availability_zone IS NULL AND platform <> 'linux') AS regional_exact,
	   count(*) FILTER (WHERE availability_zone IS NULL AND platform = 'linux') AS regional_linux,
	   count(*) FILTER (WHERE end_time < '2025-01-11') > 0 AS some_expire,
	   count(*) FILTER (WHERE start_time > '2025-01-01') > 0 AS some_start_late
  FROM commitopt.reserved_instances WHERE tenant_id = :'b';
SELECT plan_type, count(*) FROM commitopt.savings_plans
 WHERE tenant_id = :'b' GROUP BY 1 ORDER BY 1;
SELECT count(DISTINCT s.region) BETWEEN 2 AND 4 AS regions_2_to_4,
	   count(DISTINCT s.platform) > 1 AS several_platforms,
	   count(DISTINCT s.account_id) AS accounts_with_usage
  FROM commitopt.usage_series s WHERE s.tenant_id = :'b';

-- The bench profile: only regional size-flexible Linux RIs and Compute
-- SPs (1-year, No Upfront), all owned by the payer, which has no usage;
-- sharing on everywhere.  round(30 % of 10) = 3 commitments are plans,
-- 7 RIs.
SELECT commitopt.generate_synthetic_fleet(:'b', 40, 7, 10, profile => 'bench') AS series;
SELECT count(*) AS ris,
	   bool_and(r.availability_zone IS NULL AND r.platform = 'linux'
				AND r.tenancy = 'default' AND r.owner_account_id = '999900000000')
		   AS regional_linux_payer
  FROM commitopt.reserved_instances r WHERE r.tenant_id = :'b';
SELECT count(*) AS sps,
	   bool_and(p.plan_type = 'compute' AND p.term_years = 1
				AND p.payment_option = 'no_upfront'
				AND p.owner_account_id = '999900000000') AS compute_payer
  FROM commitopt.savings_plans p WHERE p.tenant_id = :'b';
SELECT bool_and(sharing_enabled) AS sharing_on,
	   bool_and(s.platform = 'linux') AS linux_only,
	   count(*) FILTER (WHERE s.account_id = '999900000000') AS payer_series
  FROM commitopt.usage_series s
  JOIN commitopt.aws_accounts a USING (tenant_id, account_id)
 WHERE s.tenant_id = :'b';

-- Bad arguments.
SELECT commitopt.generate_synthetic_fleet(:'a', 0);
SELECT commitopt.generate_synthetic_fleet(:'a', -3);
SELECT commitopt.generate_synthetic_fleet(:'a', 10, 0);
SELECT commitopt.generate_synthetic_fleet(:'a', 10, -1);
SELECT commitopt.generate_synthetic_fleet(:'a', 10, 7, -1);
SELECT commitopt.generate_synthetic_fleet(:'a', 10, 7, 5, 1.5);
SELECT commitopt.generate_synthetic_fleet(:'a', 10, 7, 5, profile => 'huge');
SELECT commitopt.generate_synthetic_fleet(:'a', 10, 7, 5, start_at => '2025-01-01 10:30+00');
SELECT commitopt.generate_synthetic_fleet(:'a', NULL);
SELECT commitopt.generate_synthetic_fleet('00000000-0000-0000-0000-000000000000', 10);
\set VERBOSITY terse
-- more series than the bench profile has distinct candidates
SELECT commitopt.generate_synthetic_fleet(:'a', 100000, 1, 0, profile => 'bench');
\set VERBOSITY default
-- A refused call changed nothing.
SELECT * FROM pg_temp.counts(:'a');

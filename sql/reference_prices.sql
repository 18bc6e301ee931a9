-- Reference prices and instance facts from the shipped files.
\getenv datadir COMMITOPT_DATA
SET client_min_messages = warning;
SELECT commitopt.load_reference_data(:'datadir' || '/pricing');
RESET client_min_messages;

-- Loading again changes nothing and duplicates nothing.
SELECT count(*) AS od_rates FROM commitopt.od_rates \gset
SET client_min_messages = warning;
SELECT commitopt.load_reference_data(:'datadir' || '/pricing');
RESET client_min_messages;
SELECT count(*) = :od_rates AS same_count FROM commitopt.od_rates;

-- Factors: by size, and bare metal from AWS's own table.
SELECT t, commitopt.normalization_factor(t)
  FROM unnest(ARRAY['t2.nano', 'm4.large', 'm5.2xlarge', 'c5.18xlarge',
					'i3.metal', 'm5.metal', 'm5zn.metal', 'x1.32xlarge',
					'u-6tb1.56xlarge', 'no.such-size']) AS t;

-- A price straight from the file: m4.large, us-east-1, Linux.
SELECT platform, hourly_usd FROM commitopt.od_rates
 WHERE region = 'us-east-1' AND instance_type = 'm4.large' AND platform IN ('linux', 'windows')
 ORDER BY platform;
SELECT offering_class, term_years, payment_option, effective_hourly_usd
  FROM commitopt.ri_rates
 WHERE region = 'us-east-1' AND instance_type = 'm4.large' AND platform = 'linux'
 ORDER BY 1, 2, 3;

-- Savings Plan estimates follow the RI rate of the matching class ...
SELECT plan_type, term_years, payment_option, hourly_usd, is_estimate, source
  FROM commitopt.sp_rates
 WHERE region = 'us-east-1' AND instance_type = 'm4.large' AND platform = 'linux'
   AND payment_option = 'no_upfront'
 ORDER BY 1, 2;

-- ... or, with no RI rate, on-demand less the configured discount.
SELECT o.hourly_usd AS od, s.hourly_usd AS sp, s.source
  FROM commitopt.od_rates o
  JOIN commitopt.sp_rates s USING (region, instance_type, platform, tenancy)
 WHERE s.plan_type = 'compute' AND s.term_years = 1 AND s.payment_option = 'no_upfront'
   AND s.source LIKE '%fallback%'
 ORDER BY o.region, o.instance_type, o.platform LIMIT 1;
SET commitopt.sp_estimate_discount_compute_1yr = 0.5;
SELECT commitopt.derive_sp_rates() > 0 AS rederived;
SELECT o.hourly_usd AS od, s.hourly_usd AS sp
  FROM commitopt.od_rates o
  JOIN commitopt.sp_rates s USING (region, instance_type, platform, tenancy)
 WHERE s.plan_type = 'compute' AND s.term_years = 1 AND s.payment_option = 'no_upfront'
   AND s.source LIKE '%fallback%'
 ORDER BY o.region, o.instance_type, o.platform LIMIT 1;
RESET commitopt.sp_estimate_discount_compute_1yr;

-- Real rates from a file replace the estimate and are not re-derived.
\set sp_file :datadir '/fixtures/prices/sp_rates_m4_large.csv'
SELECT commitopt.load_sp_rates(:'sp_file');
SELECT commitopt.derive_sp_rates() > 0 AS rederived;
SELECT plan_type, term_years, hourly_usd, is_estimate
  FROM commitopt.sp_rates
 WHERE region = 'us-east-1' AND instance_type = 'm4.large' AND platform = 'linux'
   AND payment_option = 'no_upfront'
 ORDER BY 1, 2;

-- Bad input: a file with a wrong header, an unknown platform, a bad number.
-- (terse: the context would show this checkout's data path)
\set VERBOSITY terse
\set bad_header :datadir '/fixtures/prices/sp_rates_bad_header.csv'
SELECT commitopt.load_sp_rates(:'bad_header');
\set bad_platform :datadir '/fixtures/prices/sp_rates_bad_platform.csv'
SELECT commitopt.load_sp_rates(:'bad_platform');
\set bad_number :datadir '/fixtures/prices/sp_rates_bad_number.csv'
SELECT commitopt.load_sp_rates(:'bad_number');
SELECT count(*) AS real_rates FROM commitopt.sp_rates WHERE NOT is_estimate;

-- Settings are superuser-only and checked.
SET commitopt.sp_estimate_discount_compute_3yr = 1.5;
SET commitopt.no_such_setting = 1;

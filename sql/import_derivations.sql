-- What an import derives: costs per line, usage series spread over hours,
-- coverage spans, the RI inventory; replacement on re-import; the
-- timestamp, quoting, BOM and CRLF forms exports come in.
\getenv datadir COMMITOPT_DATA
\set fx :datadir '/fixtures/import/'
SET timezone = 'UTC';
SELECT commitopt.ensure_tenant('import-derive', 'Import derivations') AS t \gset

-- Legacy CUR, daily granularity, February 2025 (672 hours).
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'ri_cur_daily.csv', 'ri');
-- Amortized per line: DiscountedUsage = reservation/EffectiveCost 1.44;
-- RIFee = unused upfront 19.44 + unused recurring 19.44 = 38.88; the RI
-- upfront Fee = 0; Usage, Tax = unblended.  Spot is 'Dynamic'.
SELECT line_no, charge_type, instance_type, platform, tenancy, usage_amount,
	   unblended_cost, amortized_cost, pricing_category, commitment_id IS NOT NULL AS committed, tags
  FROM commitopt.billing_line_items WHERE tenant_id = :'t' ORDER BY line_no;
-- Unblended 0 + 4.416 + 0.96 + 20.16 + 500 + 2.30 + 1.25 = 529.086;
-- amortized 1.44 + 4.416 + 0.96 + 38.88 + 0 + 2.30 + 1.25 = 49.246.
SELECT sum(unblended_cost) AS unblended, sum(amortized_cost) AS amortized
  FROM commitopt.billing_line_items WHERE tenant_id = :'t';
-- Usage series: 48 m5.large Linux hours on 3 Feb = 2 per hour in hours
-- 2 * 24 + 1 = 49 .. 72; 24 Windows hours = 1 per hour there; Spot and S3
-- are not instance usage.
SELECT s.account_id, s.region, s.availability_zone, s.instance_type, s.platform, s.tenancy,
	   cardinality(h.amounts) AS hours,
	   (SELECT sum(a) FROM unnest(h.amounts) a) AS total,
	   (SELECT min(i) FROM generate_subscripts(h.amounts, 1) i WHERE h.amounts[i] > 0) AS first_hour,
	   (SELECT max(i) FROM generate_subscripts(h.amounts, 1) i WHERE h.amounts[i] > 0) AS last_hour,
	   (SELECT max(a) FROM unnest(h.amounts) a) AS per_hour,
	   round(h.od_rate, 4) AS od_rate
  FROM commitopt.usage_hourly h JOIN commitopt.usage_series s USING (tenant_id, series_id)
 WHERE h.tenant_id = :'t' ORDER BY s.platform;
-- Coverage: the usage lines span 1 Feb (S3, whole month) to 1 Mar.
SELECT source, covered_from, covered_to FROM commitopt.usage_coverage WHERE tenant_id = :'t';
-- Accounts: the usage account and the RI owner.
SELECT account_id FROM commitopt.aws_accounts WHERE tenant_id = :'t' ORDER BY 1;
-- The RI: (20.16 recurring + 20.16 amortized upfront) / 672 h = 0.06 per
-- instance-hour.  ri-fc02b is seen only on its upfront fee (NOTICE above).
SELECT ri_id, owner_account_id, region, availability_zone, instance_type, platform, tenancy,
	   instance_count, offering_class, payment_option, start_time, end_time,
	   round(effective_hourly_usd, 4) AS effective_hourly, source
  FROM commitopt.reserved_instances WHERE tenant_id = :'t';

-- Importing the same period of the same export again replaces it: v2 has
-- only the Windows usage, the RIFee and the tax (lines 2, 3, 4 of v2).
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'ri_cur_daily_v2.csv', 'ri');
SELECT count(*) AS imports, sum(line_count) AS lines FROM commitopt.billing_imports WHERE tenant_id = :'t';
SELECT line_no, charge_type, unblended_cost FROM commitopt.billing_line_items
 WHERE tenant_id = :'t' ORDER BY line_no;
-- Only the Windows series has usage left in February.
SELECT s.platform, (SELECT sum(a) FROM unnest(h.amounts) a) AS total
  FROM commitopt.usage_hourly h JOIN commitopt.usage_series s USING (tenant_id, series_id)
 WHERE h.tenant_id = :'t';
-- Another export of the same period adds to it; usage is rebuilt from both.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'ri_cur_daily.csv', 'ri-copy');
SELECT s.platform, (SELECT sum(a) FROM unnest(h.amounts) a) AS total
  FROM commitopt.usage_hourly h JOIN commitopt.usage_series s USING (tenant_id, series_id)
 WHERE h.tenant_id = :'t' ORDER BY 1;

-- FOCUS with a BOM, CRLF line ends, shuffled and unknown columns, a quoted
-- field spanning two lines, offsets, "T...Z" without seconds, the
-- spreadsheet M/D/YYYY forms, NULL values, and no billing period column
-- (period = month of usage start: April 2025).
SELECT commitopt.ensure_tenant('import-forms', 'Import forms') AS t2 \gset
SELECT * FROM commitopt.import_billing_file(:'t2', :'fx' || 'formats_focus_bom_crlf.csv', 'forms');
SELECT line_no, charge_type, usage_start, usage_end, instance_type, platform, tenancy,
	   unit, usage_amount, unblended_cost, pricing_category, tags
  FROM commitopt.billing_line_items WHERE tenant_id = :'t2' ORDER BY line_no;
-- The quoted field keeps its comma, quotes and CRLF.
SELECT description = E'line one, "quoted"\r\nline two' AS verbatim
  FROM commitopt.billing_line_items WHERE tenant_id = :'t2' AND line_no = 7;
-- Hours (1-based) in April: 2 Apr 08:00 UTC = 24 + 8 + 1 = 33, then 10:00
-- and 11:00 = 35, 36 (2 hours over 2 hours); the date-only RHEL day 3 Apr
-- = 49 .. 72 (24 over 24 hours); 4 Apr 13:00 = 3 * 24 + 13 + 1 = 86.
SELECT s.instance_type, s.platform, s.tenancy, s.availability_zone,
	   CASE WHEN s.platform <> 'rhel' THEN
		   (SELECT array_agg(i ORDER BY i) FROM generate_subscripts(h.amounts, 1) i
			 WHERE h.amounts[i] > 0) END AS hours,
	   (SELECT min(i) FROM generate_subscripts(h.amounts, 1) i WHERE h.amounts[i] > 0) AS first_hour,
	   (SELECT max(i) FROM generate_subscripts(h.amounts, 1) i WHERE h.amounts[i] > 0) AS last_hour,
	   (SELECT count(*) FROM unnest(h.amounts) a WHERE a > 0) AS nonzero_hours,
	   (SELECT sum(a) FROM unnest(h.amounts) a) AS total,
	   round(h.od_rate, 4) AS od_rate
  FROM commitopt.usage_hourly h JOIN commitopt.usage_series s USING (tenant_id, series_id)
 WHERE h.tenant_id = :'t2' ORDER BY 2;

-- A line run across the end of its billing month: the hour in April is
-- dropped with the rest of such usage, so the known usage (and the window
-- the job simulates) ends with March, not an hour into April.
SELECT commitopt.ensure_tenant('import-month-edge', 'Import: month edge') AS te \gset
SELECT * FROM commitopt.import_billing_file(:'te', :'fx' || 'focus_month_edge.csv', 'edge');
SELECT covered_from, covered_to FROM commitopt.usage_coverage WHERE tenant_id = :'te';
SELECT * FROM commitopt.usage_extent(:'te');
SELECT commitopt.simulate(:'te') > 0 AS simulated;
SELECT window_start, window_end FROM commitopt.simulation_runs
 WHERE tenant_id = :'te' AND run_id = commitopt.latest_run(:'te');

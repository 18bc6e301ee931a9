-- The real sample exports in data/usage/ import cleanly, and the FOCUS
-- 1000 sample's totals equal sums taken straight from the raw CSV.
\getenv datadir COMMITOPT_DATA
\set us :datadir '/usage/'
SET timezone = 'UTC';
SELECT commitopt.ensure_tenant('import-samples', 'Import samples') AS t \gset

-- The FOCUS samples name 2 Savings Plans but not their terms (NOTICEs).
SELECT * FROM commitopt.import_billing_file(:'t', :'us' || 'focus-1.0-sample/focus_sample_1000_days01-23.csv', 'focus-1000');
SELECT * FROM commitopt.import_billing_file(:'t', :'us' || 'focus-1.0-sample-10000-subset/focus_sample_10000_subset_days01-23.csv', 'focus-10000');
SELECT * FROM commitopt.import_billing_file(:'t', :'us' || 'cur-legacy-anonymized/aws_cur_legacy_anonymized_2023-11-01_to_10.csv', 'cur-legacy');

-- Independent sums: the raw FOCUS 1000 file through COPY.
CREATE TEMP TABLE raw_focus ("AvailabilityZone" text, "BilledCost" text, "BillingAccountId" text, "BillingAccountName" text, "BillingCurrency" text, "BillingPeriodEnd" text, "BillingPeriodStart" text, "ChargeCategory" text, "ChargeClass" text, "ChargeDescription" text, "ChargeFrequency" text, "ChargePeriodEnd" text, "ChargePeriodStart" text, "CommitmentDiscountCategory" text, "CommitmentDiscountId" text, "CommitmentDiscountName" text, "CommitmentDiscountStatus" text, "CommitmentDiscountType" text, "ConsumedQuantity" text, "ConsumedUnit" text, "ContractedCost" text, "ContractedUnitPrice" text, "EffectiveCost" text, "InvoiceIssuerName" text, "ListCost" text, "ListUnitPrice" text, "PricingCategory" text, "PricingQuantity" text, "PricingUnit" text, "ProviderName" text, "PublisherName" text, "RegionId" text, "RegionName" text, "ResourceId" text, "ResourceName" text, "ResourceType" text, "ServiceCategory" text, "Id" text, "ServiceName" text, "SkuId" text, "SkuPriceId" text, "SubAccountId" text, "SubAccountName" text, "Tags" text);
SELECT format('COPY raw_focus FROM %L WITH (FORMAT csv, HEADER true)',
			  :'us' || 'focus-1.0-sample/focus_sample_1000_days01-23.csv') AS copy_raw \gset
:copy_raw;
CREATE TEMP VIEW raw_sums AS
SELECT count(*) AS lines,
	   sum(nullif("BilledCost", 'NULL')::numeric) AS billed,
	   sum(nullif("ListCost", 'NULL')::numeric) AS list,
	   sum(nullif("ConsumedQuantity", 'NULL')::numeric)
		   FILTER (WHERE "ServiceName" = 'Amazon Elastic Compute Cloud'
					 AND "ChargeDescription" LIKE '% per On Demand % Instance Hour'
					 AND "ConsumedUnit" = 'Hours' AND "PricingCategory" <> 'Dynamic') AS ec2_hours
  FROM raw_focus;
CREATE TEMP VIEW imported_sums AS
SELECT count(*) AS lines, sum(l.unblended_cost) AS billed, sum(l.public_od_cost) AS list,
	   (SELECT sum(a) FROM commitopt.usage_hourly h, unnest(h.amounts) a
		 WHERE h.tenant_id = :'t' AND h.period_start = '2024-09-01'
		   AND h.series_id IN (SELECT l2.series_id FROM commitopt.usage_series l2 WHERE l2.tenant_id = :'t')) AS all_hours
  FROM commitopt.billing_line_items l JOIN commitopt.billing_imports b USING (tenant_id, import_id)
 WHERE b.tenant_id = :'t' AND b.export_name = 'focus-1000';
SELECT * FROM raw_sums;
SELECT r.lines = i.lines AS same_lines, r.billed = i.billed AS same_billed, r.list = i.list AS same_list
  FROM raw_sums r, imported_sums i;
-- Instance-hours of the FOCUS 1000 sample alone: re-import it as the only
-- export of a tenant and compare usage_hourly with the raw sum.
SELECT commitopt.ensure_tenant('import-samples-1000', 'Import samples: FOCUS 1000 only') AS t1 \gset
SET client_min_messages = warning;
SELECT line_count FROM commitopt.import_billing_file(:'t1', :'us' || 'focus-1.0-sample/focus_sample_1000_days01-23.csv', 'focus-1000');
RESET client_min_messages;
SELECT (SELECT ec2_hours FROM raw_sums) AS raw_ec2_hours,
	   sum(a)::numeric AS usage_hourly_hours,
	   (SELECT ec2_hours FROM raw_sums) = round(sum(a)::numeric, 9) AS same_hours
  FROM commitopt.usage_hourly h, unnest(h.amounts) a WHERE h.tenant_id = :'t1';

-- Per sample: lines, costs, EC2 usage lines and the series they feed.
SELECT b.export_name, b.format, b.billing_period_start, b.line_count,
	   sum(l.unblended_cost) AS unblended,
	   count(*) FILTER (WHERE l.instance_type IS NOT NULL AND commitopt.is_usage_charge(l.charge_type)
						AND l.service = 'AmazonEC2') AS instance_lines,
	   count(*) FILTER (WHERE l.pricing_category = 'Dynamic' AND l.instance_type IS NOT NULL) AS spot_lines,
	   count(*) FILTER (WHERE l.charge_type = 'SavingsPlanCoveredUsage') AS sp_covered
  FROM commitopt.billing_imports b JOIN commitopt.billing_line_items l USING (tenant_id, import_id)
 WHERE b.tenant_id = :'t' GROUP BY 1, 2, 3, 4 ORDER BY 1;
SELECT source, covered_from, covered_to FROM commitopt.usage_coverage WHERE tenant_id = :'t' ORDER BY 1;

-- The main job on the shipped FOCUS sample: import, simulate, recommend,
-- report; the report's totals checked against sums taken independently
-- from the raw CSV rows.
\getenv datadir COMMITOPT_DATA
SET timezone = 'UTC';
SET client_min_messages = warning;
SELECT commitopt.load_reference_data(:'datadir' || '/pricing');
SELECT commitopt.ensure_tenant('report-focus', 'FOCUS sample') AS tenant \gset
\set focus_file :datadir '/usage/focus-1.0-sample/focus_sample_1000_days01-23.csv'
SELECT line_count FROM commitopt.import_billing_file(:'tenant', :'focus_file', 'focus-1000');
RESET client_min_messages;

-- The raw file, read by PostgreSQL's own CSV reader, all columns as text.
CREATE TEMP TABLE raw_focus (
	"AvailabilityZone" text, "BilledCost" text, "BillingAccountId" text,
	"BillingAccountName" text, "BillingCurrency" text, "BillingPeriodEnd" text,
	"BillingPeriodStart" text, "ChargeCategory" text, "ChargeClass" text,
	"ChargeDescription" text, "ChargeFrequency" text, "ChargePeriodEnd" text,
	"ChargePeriodStart" text, "CommitmentDiscountCategory" text,
	"CommitmentDiscountId" text, "CommitmentDiscountName" text,
	"CommitmentDiscountStatus" text, "CommitmentDiscountType" text,
	"ConsumedQuantity" text, "ConsumedUnit" text, "ContractedCost" text,
	"ContractedUnitPrice" text, "EffectiveCost" text, "InvoiceIssuerName" text,
	"ListCost" text, "ListUnitPrice" text, "PricingCategory" text,
	"PricingQuantity" text, "PricingUnit" text, "ProviderName" text,
	"PublisherName" text, "RegionId" text, "RegionName" text, "ResourceId" text,
	"ResourceName" text, "ResourceType" text, "ServiceCategory" text, "Id" text,
	"ServiceName" text, "SkuId" text, "SkuPriceId" text, "SubAccountId" text,
	"SubAccountName" text, "Tags" text);
COPY raw_focus FROM :'focus_file' WITH (FORMAT csv, HEADER match, NULL 'NULL');

-- EC2 instance-hour usage in scope: usage rows of EC2 whose description
-- prices an instance hour, Spot (PricingCategory Dynamic) excluded.  Its
-- on-demand equivalent is the ListCost of those rows: 17 rows, 15.283056
-- instance-hours.
CREATE TEMP VIEW raw_instance_hours AS
SELECT * FROM raw_focus
 WHERE "ServiceName" = 'Amazon Elastic Compute Cloud'
   AND "ChargeCategory" = 'Usage'
   AND "ChargeDescription" LIKE '%Instance Hour'
   AND "PricingCategory" IS DISTINCT FROM 'Dynamic';
SELECT count(*) AS rows, sum("ConsumedQuantity"::numeric) AS instance_hours,
	   round(sum("ListCost"::numeric), 6) AS list_cost
  FROM raw_instance_hours;

-- The main job: the data covers 23 days, so the 30-day lookback is not
-- possible and the job recommends over 7 days.
SELECT commitopt.run_main_job(:'tenant') AS run \gset
SELECT window_start, window_end FROM commitopt.simulation_runs WHERE run_id = :run;

-- The report's total on-demand equivalent equals the raw ListCost sum (to
-- the cent, as the report rounds); the tenant holds no commitment the
-- export can prove (FOCUS 1.0 gives no Savings Plan commitment), so the
-- amortized cost equals it and savings, ESR and coverage are 0, and
-- utilization has no denominator: NULL, not 0.
SELECT r.*, r.on_demand_equivalent = round((SELECT sum("ListCost"::numeric)
											  FROM raw_instance_hours), 2) AS matches_raw
  FROM commitopt.report(:'tenant') r;

-- The hourly totals agree with the raw rows too: instance-hours and ODE.
SELECT round(sum(usage_hours)::numeric, 6) AS instance_hours,
	   round(sum(ode)::numeric, 6) AS ode
  FROM commitopt.simulation_hourly WHERE run_id = :run;

-- AWS applied a Savings Plan to two instance-hours (t2.medium on Sept 4,
-- 04:00, ListCost 0.0464; t3.micro on Sept 20, 20:00, ListCost 0.0112);
-- the simulation, without that plan's commitment, could not: the
-- reconciliation names exactly those hours.
SELECT hour, measure, aws_value, simulated_value, difference
  FROM commitopt.reconcile(:'tenant', :run) ORDER BY hour, measure;
SELECT "ChargePeriodStart", "ListCost" FROM raw_instance_hours
 WHERE "CommitmentDiscountType" = 'Savings Plan' ORDER BY 1;

-- Two recommendations (1 and 3 years), both over 7 days.
SELECT term_years, lookback_days, window_end - window_start AS window_length
  FROM commitopt.recommendations WHERE tenant_id = :'tenant' ORDER BY term_years;

-- A 30-day lookback is refused, never shortened.
SELECT commitopt.recommend_savings_plan(:'tenant', 1, 30);

-- Running the job again replaces the run for the same window: one run.
SELECT commitopt.run_main_job(:'tenant') > :run AS new_run;
SELECT count(*) AS runs FROM commitopt.simulation_runs WHERE tenant_id = :'tenant';
SELECT count(*) AS hourly_rows FROM commitopt.simulation_hourly WHERE tenant_id = :'tenant';

-- A tenant without usage: the job says so and does nothing.
SELECT commitopt.ensure_tenant('report-empty', 'No usage') AS empty_tenant \gset
SELECT commitopt.run_main_job(:'empty_tenant');
SELECT count(*) FROM commitopt.report(:'empty_tenant');

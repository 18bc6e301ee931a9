-- Exports lacking optional columns: an EC2 instance-hour line that cannot
-- be counted without the column is refused naming the column as the
-- header should spell it; usage without a unit is counted as
-- instance-hours where its usage type or description says so, and every
-- usage line that is not counted is reported; without a unit price, the
-- on-demand rate is the list cost over the amount.
\getenv datadir COMMITOPT_DATA
\set fx :datadir '/fixtures/import/'
SET timezone = 'UTC';
SELECT commitopt.ensure_tenant('import-missing-columns', 'Import: missing columns') AS t \gset

-- series(tenant): the usage series with their instance-hours and rate.
CREATE FUNCTION pg_temp.series(tenant uuid)
RETURNS TABLE (instance_type text, platform text, tenancy text, instance_hours float8,
			   od_rate numeric)
LANGUAGE sql AS $$
	SELECT s.instance_type, s.platform, s.tenancy,
		   (SELECT sum(a) FROM unnest(h.amounts) a), round(h.od_rate, 6)
	  FROM commitopt.usage_hourly h JOIN commitopt.usage_series s USING (tenant_id, series_id)
	 WHERE h.tenant_id = tenant ORDER BY 1, 2, 3
$$;

-- No account column (FOCUS SubAccountId, legacy CUR
-- lineItem/UsageAccountId) but an instance-hour line: the error names the
-- missing column, never a column of the file at a bad index.
\set VERBOSITY terse
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'focus_no_account.csv', 'a');
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'cur_no_account.csv', 'a');
\set VERBOSITY default
SELECT count(*) AS imports FROM commitopt.billing_imports WHERE tenant_id = :'t';

-- FOCUS without ConsumedUnit: the two On Demand lines (1 + 2 hours) are
-- instance-hours, their description says so; the Spot line too, kept out
-- of the series as Spot (the description says Spot; the export has no
-- PricingCategory).  Storage and the NAT gateway are not, and are named
-- in a NOTICE.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'focus_no_unit.csv', 'focus-no-unit');
SELECT * FROM pg_temp.series(:'t');
SELECT line_no, unit, pricing_category, instance_type
  FROM commitopt.billing_line_items WHERE tenant_id = :'t' ORDER BY line_no;

-- Legacy CUR without pricing/unit nor pricing/publicOnDemandRate: the
-- BoxUsage lines (1 + 0.5 hours) are instance-hours; their rate is
-- publicOnDemandCost / UsageAmount = 0.096 / 1 = 0.048 / 0.5 = 0.096.
-- The EBS and data transfer lines are reported, and get no rate (only
-- instance-hours are simulated).
SELECT commitopt.ensure_tenant('import-missing-columns-cur', 'Import: CUR without unit') AS tc \gset
SELECT * FROM commitopt.import_billing_file(:'tc', :'fx' || 'cur_no_unit.csv', 'cur-no-unit');
SELECT * FROM pg_temp.series(:'tc');
SELECT line_no, usage_type, unit, od_rate
  FROM commitopt.billing_line_items WHERE tenant_id = :'tc' ORDER BY line_no;

-- FOCUS with ConsumedUnit but no ListUnitPrice: the rate is ListCost /
-- ConsumedQuantity (0.096 / 1, 0.024 / 0.25), so m5.large, which the
-- shipped price files do not know, is not free: the simulation's
-- on-demand equivalent is 1.25 h * 0.096 = 0.12.
SELECT commitopt.ensure_tenant('import-missing-columns-rate', 'Import: no unit price') AS tr \gset
SELECT * FROM commitopt.import_billing_file(:'tr', :'fx' || 'focus_no_unit_price.csv', 'no-rate');
SELECT line_no, usage_amount, public_od_cost, od_rate
  FROM commitopt.billing_line_items WHERE tenant_id = :'tr' ORDER BY line_no;
SELECT * FROM pg_temp.series(:'tr');
SELECT commitopt.simulate(:'tr') > 0 AS simulated;
SELECT day, family, usage_hours, round(ode::numeric, 6) AS ode, round(od_cost::numeric, 6) AS od_cost
  FROM commitopt.simulation_daily
 WHERE tenant_id = :'tr' AND run_id = commitopt.latest_run(:'tr');

-- FOCUS without ChargeDescription, the only FOCUS column that names the
-- instance: its usage in hours cannot be recognised, and a NOTICE says so.
SELECT commitopt.ensure_tenant('import-missing-columns-desc', 'Import: no description') AS td \gset
SELECT * FROM commitopt.import_billing_file(:'td', :'fx' || 'focus_no_description.csv', 'no-desc');
SELECT count(*) AS series FROM commitopt.usage_series WHERE tenant_id = :'td';

-- Field cases FC-01 .. FC-04 (shared/cases/field-cases.md) on the importer.
\getenv datadir COMMITOPT_DATA
\set fx :datadir '/fixtures/import/'
SET timezone = 'UTC';
SELECT commitopt.ensure_tenant('fc-import', 'Field cases: import') AS t \gset

-- FC-01: SavingsPlanNegation must not double the hours nor the cost.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'fc01_cur2_sp_negation.csv', 'fc01');
-- Hand computation: hours 1 (covered) and not 1 + 1 (negation);
-- unblended 0.192 - 0.192 + 0.120 = 0.120; amortized 0.120 + 0 +
-- (0.120 - 0.120) = 0.120; ODE 0.192; ESR (0.192 - 0.120) / 0.192 = 0.375.
SELECT sum(usage_amount) FILTER (WHERE commitopt.is_usage_charge(charge_type)) AS instance_hours,
	   sum(unblended_cost) AS unblended,
	   sum(amortized_cost) AS amortized,
	   sum(public_od_cost) FILTER (WHERE commitopt.is_usage_charge(charge_type)) AS ode,
	   round(100 * (sum(public_od_cost) FILTER (WHERE commitopt.is_usage_charge(charge_type))
					- sum(amortized_cost))
			 / sum(public_od_cost) FILTER (WHERE commitopt.is_usage_charge(charge_type)), 1) AS esr_pct
  FROM commitopt.billing_line_items WHERE tenant_id = :'t';
-- Per line: negation amortized 0, recurring fee amortized 0.120 - 0.120 = 0.
SELECT line_no, charge_type, usage_amount, unblended_cost, amortized_cost
  FROM commitopt.billing_line_items WHERE tenant_id = :'t' ORDER BY line_no;

-- FC-01 with the EC2 columns a real CUR 2.0 carries: the usage series gets
-- exactly 1 instance-hour, in hour 15 Jan 10:00 = (14 * 24 + 10) + 1 = 347.
SELECT commitopt.ensure_tenant('fc-import-ec2', 'Field cases: FC-01 with EC2 columns') AS t2 \gset
SELECT * FROM commitopt.import_billing_file(:'t2', :'fx' || 'fc01_cur2_sp_negation_ec2.csv', 'fc01');
SELECT s.account_id, s.region, s.instance_type, s.platform, s.tenancy,
	   (SELECT sum(a) FROM unnest(h.amounts) a) AS instance_hours,
	   array_position(h.amounts, 1) AS hour, round(h.od_rate, 4) AS od_rate, cardinality(h.amounts) AS hours_in_month
  FROM commitopt.usage_hourly h JOIN commitopt.usage_series s USING (tenant_id, series_id)
 WHERE h.tenant_id = :'t2';
-- The plan: hourly commitment 0.120 / 1 hour; owner from the fee line.
SELECT sp_id, owner_account_id, plan_type, term_years, payment_option,
	   round(hourly_commitment_usd, 4) AS hourly_commitment, start_time, end_time, source
  FROM commitopt.savings_plans WHERE tenant_id = :'t2';
-- SP utilization = used / total = 0.120 / 0.120 = 100 %.
SELECT round(100 * sum(amortized_cost) FILTER (WHERE charge_type = 'SavingsPlanCoveredUsage')
	   / sum(unblended_cost) FILTER (WHERE charge_type = 'SavingsPlanRecurringFee'), 1) AS sp_utilization_pct
  FROM commitopt.billing_line_items WHERE tenant_id = :'t2';

-- FC-03 A: CUR 2.0 tags in a quoted JSON field; the file has no dates, so
-- its billing period is given.  Exactly 6 fields, cost 0.096, bare keys.
SELECT commitopt.ensure_tenant('fc-import-tags', 'Field cases: tags') AS t3 \gset
SELECT * FROM commitopt.import_billing_file(:'t3', :'fx' || 'fc03a_cur2_tags.csv', 'fc03a', '2025-02-01');
-- FC-03 B: legacy CUR; the blank product/usagetype does not overwrite
-- lineItem/UsageType, and resourceTags/user:team is the tag "team".
SELECT * FROM commitopt.import_billing_file(:'t3', :'fx' || 'fc03b_cur_tags.csv', 'fc03b', '2025-02-01');
SELECT b.export_name, l.line_no, l.charge_type, l.usage_type, l.instance_type,
	   l.unblended_cost, l.description, l.tags
  FROM commitopt.billing_line_items l JOIN commitopt.billing_imports b USING (tenant_id, import_id)
 WHERE l.tenant_id = :'t3' ORDER BY 1, 2;
-- Grouping usage by tag "team": "data, platform" (A) and "data" (B).
SELECT tags ->> 'team' AS team, sum(unblended_cost)
  FROM commitopt.billing_line_items
 WHERE tenant_id = :'t3' AND charge_type = 'Usage'
 GROUP BY 1 ORDER BY 1;
-- No key keeps a user_ or user: prefix.
SELECT count(*) AS prefixed_keys
  FROM commitopt.billing_line_items, jsonb_object_keys(tags) k
 WHERE tenant_id = :'t3' AND k ~ '^user[_:]';
-- A row with the wrong number of fields is refused with its line number
-- (line 4: the record on line 2 spans lines 2 and 3).
\set VERBOSITY terse
SELECT * FROM commitopt.import_billing_file(:'t3', :'fx' || 'bad_field_count.csv', 'fc03c');
\set VERBOSITY default

-- FC-04: all 4 rows, the undated refund in March 2025.
SELECT commitopt.ensure_tenant('fc-import-refund', 'Field cases: refund') AS t4 \gset
SELECT * FROM commitopt.import_billing_file(:'t4', :'fx' || 'fc04_cur_refund.csv', 'fc04');
SELECT line_no, charge_type, billing_period_start, usage_start, unblended_cost, amortized_cost
  FROM commitopt.billing_line_items WHERE tenant_id = :'t4' ORDER BY line_no;
-- Unblended 100 - 30 + 8760 - 8760 = 70.00; amortized 100 - 30 + 0 + 0 =
-- 70.00; before credits (no Credit/Refund) 100 + 0 = 100.00.
SELECT sum(unblended_cost) AS unblended, sum(amortized_cost) AS amortized,
	   sum(amortized_cost) FILTER (WHERE charge_type NOT IN ('Credit', 'Refund')) AS amortized_before_credits
  FROM commitopt.billing_line_items WHERE tenant_id = :'t4';
-- The returned plan is in no inventory.
SELECT count(*) AS plans FROM commitopt.savings_plans WHERE tenant_id = :'t4';

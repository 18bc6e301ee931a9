-- Hostile inputs found by testing: each one is refused with its line,
-- column and value, or imported with a NOTICE saying what happens to it.
-- The lines are streamed through commitopt.billing_upload (CUR 2.0); a
-- helper streams a header and lines and imports them in one statement,
-- so that a refused import leaves nothing behind.
SET timezone = 'UTC';
SELECT commitopt.ensure_tenant('import-hostile', 'Hostile import') AS t \gset

\set H 'line_item_line_item_type,line_item_usage_start_date,line_item_usage_end_date,line_item_usage_account_id,line_item_product_code,line_item_usage_type,line_item_operation,product_region_code,product_instance_type,pricing_unit,line_item_resource_id,line_item_usage_amount,line_item_unblended_cost,pricing_public_on_demand_cost,pricing_public_on_demand_rate'
\set R 'Usage,2025-01-15T10:00:00Z,2025-01-15T11:00:00Z,111111111111,AmazonEC2,USE1-BoxUsage:m5.xlarge,RunInstances,us-east-1,m5.xlarge,Hrs,i-1,1,0.192,0.192,0.192'

-- imp(tenant, header, line...): streams the lines and imports them as
-- export 'hostile'.
CREATE FUNCTION pg_temp.imp(t uuid, VARIADIC lines text[])
RETURNS TABLE (billing_period_start timestamptz, format text, line_count int)
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO commitopt.billing_upload (tenant_id, line)
	SELECT t, l FROM unnest(lines) WITH ORDINALITY AS u(l, o) ORDER BY o;
	RETURN QUERY SELECT * FROM commitopt.import_billing_upload(t, 'hostile');
END
$$;
-- cur2(...): the reproduction line with some columns replaced: column
-- names of the header map to their new values.
CREATE FUNCTION pg_temp.cur2(line text, changes text[])
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	names text[] := string_to_array('line_item_line_item_type,line_item_usage_start_date,line_item_usage_end_date,line_item_usage_account_id,line_item_product_code,line_item_usage_type,line_item_operation,product_region_code,product_instance_type,pricing_unit,line_item_resource_id,line_item_usage_amount,line_item_unblended_cost,pricing_public_on_demand_cost,pricing_public_on_demand_rate', ',');
	v text[] := string_to_array(line, ',');
BEGIN
	FOR i IN 1 .. array_length(changes, 1) BY 2 LOOP
		v[array_position(names, changes[i])] := changes[i + 1];
	END LOOP;
	RETURN array_to_string(v, ',', '');
END
$$;

-- The reproduction line itself imports: 1 instance-hour at 10:00 on
-- 15 January, hour 14*24+10 = 346 (0-based) of the month, amounts[347].
SELECT * FROM pg_temp.imp(:'t', :'H', :'R');
SELECT h.amounts[347] AS hour_347, (SELECT sum(a) FROM unnest(h.amounts) a) AS total
  FROM commitopt.usage_hourly h WHERE h.tenant_id = :'t';

\set VERBOSITY terse
-- Finding 1: a negative usage amount on an instance-hour line.
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{line_item_usage_amount,-1}'));
-- Finding 4: an empty amount on an instance-hour line; a misspelled
-- amount column when the file has instance-hour lines.
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{line_item_usage_amount,""}'));
SELECT * FROM pg_temp.imp(:'t', replace(:'H', 'line_item_usage_amount', 'line_item_usage_amout'), :'R');
-- ... but a file without instance usage needs no amount column (a tax line).
SELECT * FROM pg_temp.imp(:'t', 'line_item_line_item_type,line_item_usage_start_date,line_item_unblended_cost',
						  'Tax,2025-02-01T00:00:00Z,1.50');
-- Finding 5: numbers beyond double precision, too many digits, too many
-- reservations, each with line, column and (cut) value.
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{line_item_unblended_cost,1e400}'));
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{line_item_unblended_cost,1e-400}'));
SELECT * FROM pg_temp.imp(:'t', :'H', :'R', pg_temp.cur2(:'R', ARRAY['line_item_usage_amount', repeat('9', 200000)]));
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{line_item_usage_amount,NaN}'));
SELECT * FROM pg_temp.imp(:'t', :'H' || ',reservation_number_of_reservations', :'R' || ',99999999999');
-- Finding 11: a number of reservations that is no whole positive number.
SELECT * FROM pg_temp.imp(:'t', :'H' || ',reservation_number_of_reservations', :'R' || ',-3');
SELECT * FROM pg_temp.imp(:'t', :'H' || ',reservation_number_of_reservations', :'R' || ',0');
SELECT * FROM pg_temp.imp(:'t', :'H' || ',reservation_number_of_reservations', :'R' || ',1.5');
-- Finding 6: a line ending before it starts; a usage line of no length.
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{line_item_usage_end_date,2025-01-15T09:00:00Z}'));
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{line_item_usage_end_date,2025-01-15T10:00:00Z}'));
-- Finding 7: usage that could not be counted: no account, an account
-- that is not one, no instance type anywhere, a control character.
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{line_item_usage_account_id,""}'));
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{line_item_usage_account_id,acct-1}'));
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{product_instance_type,"",line_item_usage_type,USE1-BoxUsage:}'));
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', ARRAY['line_item_usage_account_id', '1111' || chr(1) || '11111111']));
-- ... and no account column at all: the error names the column the
-- header lacks (it once named a column at index -1).
SELECT * FROM pg_temp.imp(:'t', replace(:'H', 'line_item_usage_account_id,', ''),
						  replace(:'R', '111111111111,', ''));
-- An on-demand rate no instance has, as given, and as derived without a
-- rate column from the list cost over a tiny amount (0.192 / 1e-6).
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{pricing_public_on_demand_rate,20000}'));
SELECT * FROM pg_temp.imp(:'t', regexp_replace(:'H', ',[^,]*$', ''),
						  regexp_replace(pg_temp.cur2(:'R', '{line_item_usage_amount,0.000001}'), ',[^,]*$', ''));
-- ... bounds compared exactly, not as floats: a hair over 10000, a hair
-- under 1e-9.
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{pricing_public_on_demand_rate,10000.000000000000001}'));
SELECT * FROM pg_temp.imp(:'t', :'H', pg_temp.cur2(:'R', '{pricing_public_on_demand_rate,0.00000000099999999999999999}'));
-- Finding 9: an empty or null export name.
SELECT * FROM commitopt.import_billing_upload(:'t', '');
SELECT * FROM commitopt.import_billing_upload(:'t', NULL);
SELECT * FROM commitopt.import_billing_file(:'t', '/nonexistent.csv', ' ');
\set VERBOSITY default

-- Nothing of the refused imports stayed: 2 lines, the reproduction line
-- (January) and the tax line (February), and no upload lines.
SELECT count(*) AS lines FROM commitopt.billing_line_items WHERE tenant_id = :'t';
SELECT count(*) AS upload_lines FROM commitopt.billing_upload WHERE tenant_id = :'t';

-- Finding 6, kept lines: a line from 22:00 on 31 January to 02:00 on
-- 1 February (4 hours, 4 instance-hours) is spread at 1 per hour; its
-- January billing period keeps hours 30*24+22 = 742 and 743 (0-based),
-- i.e. amounts[743] and amounts[744] = 1, 2 instance-hours in all, and a
-- NOTICE names the line.  A line whose platform is unknown
-- (RunInstances:9999) is left out with a NOTICE naming it.
SELECT * FROM pg_temp.imp(:'t', :'H',
	pg_temp.cur2(:'R', '{line_item_usage_start_date,2025-01-31T22:00:00Z,line_item_usage_end_date,2025-02-01T02:00:00Z,line_item_usage_amount,4}'),
	pg_temp.cur2(:'R', '{line_item_operation,RunInstances:9999}'));
SELECT h.amounts[742] AS h742, h.amounts[743] AS h743, h.amounts[744] AS h744,
	   (SELECT sum(a) FROM unnest(h.amounts) a) AS total
  FROM commitopt.usage_hourly h WHERE h.tenant_id = :'t';

-- Finding 3: a failed upload import keeps its lines and says how to
-- discard them; a second file streamed on top fails the same way until
-- they are discarded.  Lines of another session of the tenant are never
-- read, nor discarded.
INSERT INTO commitopt.billing_upload (tenant_id, upload_session, line)
VALUES (:'t', 'another-session', 'garbage, not a billing export');
INSERT INTO commitopt.billing_upload (tenant_id, line)
VALUES (:'t', :'H'), (:'t', pg_temp.cur2(:'R', '{line_item_usage_amount,-1}'));
SELECT * FROM commitopt.import_billing_upload(:'t', 'hostile');
SELECT count(*) AS kept FROM commitopt.billing_upload
 WHERE tenant_id = :'t' AND upload_session = commitopt.upload_session();
INSERT INTO commitopt.billing_upload (tenant_id, line) VALUES (:'t', :'H'), (:'t', :'R');
\set VERBOSITY terse
SELECT * FROM commitopt.import_billing_upload(:'t', 'hostile');
\set VERBOSITY default
-- 4 lines of this session discarded; the other session's line stays
SELECT commitopt.discard_billing_upload() AS discarded;
INSERT INTO commitopt.billing_upload (tenant_id, line) VALUES (:'t', :'H'), (:'t', :'R');
SELECT * FROM commitopt.import_billing_upload(:'t', 'hostile');
SELECT upload_session, line FROM commitopt.billing_upload WHERE tenant_id = :'t';
-- Nothing streamed in this session: the hint says so, and nothing about
-- kept lines (there are none).
SELECT * FROM commitopt.import_billing_upload(:'t', 'hostile');
DELETE FROM commitopt.billing_upload WHERE tenant_id = :'t';

-- Accepted with care, in a tenant of their own:
-- a usage line that is no instance-hour (EBS storage) gets no derived rate,
-- however large list cost over amount would be (1e14 / 1e-20);
-- two lines of one series at 0 and 1e-9 $/h average to a sliver that the
-- hourly table keeps as 1e-9.
SELECT commitopt.ensure_tenant('import-hostile-rates', 'Hostile import: rates') AS tr \gset
SELECT * FROM pg_temp.imp(:'tr', regexp_replace(:'H', ',[^,]*$', ''),
	regexp_replace(pg_temp.cur2(:'R', '{line_item_usage_type,USE1-EBS:VolumeUsage.gp2,product_instance_type,"",line_item_operation,CreateVolume-Gp2,pricing_unit,GB-Mo,line_item_usage_amount,1e-20,pricing_public_on_demand_cost,1e14}'), ',[^,]*$', ''));
SELECT line_no, usage_type, od_rate FROM commitopt.billing_line_items WHERE tenant_id = :'tr';
SELECT * FROM pg_temp.imp(:'tr', :'H',
	pg_temp.cur2(:'R', '{pricing_public_on_demand_rate,0}'),
	pg_temp.cur2(:'R', '{pricing_public_on_demand_rate,0.000000001,line_item_usage_start_date,2025-01-15T11:00:00Z,line_item_usage_end_date,2025-01-15T12:00:00Z}'));
SELECT od_rate FROM commitopt.usage_hourly WHERE tenant_id = :'tr';

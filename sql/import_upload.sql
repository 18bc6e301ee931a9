-- Streaming an export through commitopt.billing_upload equals importing
-- the file; the psql recipe of 20_billing.sql keeps every line verbatim.
\getenv datadir COMMITOPT_DATA
\set fx :datadir '/fixtures/import/'
SET timezone = 'UTC';
SELECT commitopt.ensure_tenant('import-upload', 'Import upload') AS t \gset
SELECT commitopt.ensure_tenant('import-upload-file', 'Import upload: file twin') AS tf \gset
-- The session's tenant is the upload's default tenant.
INSERT INTO commitopt.analyst_grants VALUES (session_user, :'t');

-- The file with a BOM, CRLF line ends and a quoted field holding a CRLF.
-- (\copy does not expand psql variables; the shell expands $COMMITOPT_DATA.)
\set src :fx 'formats_focus_bom_crlf.csv'
\copy commitopt.billing_upload (line) FROM PROGRAM 'sed -e "s/\x1e/\x1e\x1e/g; s/^/\x1e/; s/$/\x1e/" "$COMMITOPT_DATA/fixtures/import/formats_focus_bom_crlf.csv"' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x1e')
-- Joined with newlines, the 9 rows are the file's bytes (the file ends
-- with a line end, which joining does not repeat).
SELECT count(*) AS rows,
	   convert_to(string_agg(coalesce(line, ''), E'\n' ORDER BY line_no) || E'\n', 'UTF8')
	   = pg_read_binary_file(:'src') AS verbatim
  FROM commitopt.billing_upload WHERE tenant_id = :'t';
SELECT * FROM commitopt.import_billing_upload();
SELECT count(*) AS left_in_upload FROM commitopt.billing_upload WHERE tenant_id = :'t';
SELECT * FROM commitopt.import_billing_file(:'tf', :'src', 'default');
-- Same lines, field by field, and same usage.
SELECT count(*) AS lines,
	   count(*) FILTER (WHERE (u.*)::text IS DISTINCT FROM (f.*)::text) AS different
  FROM (SELECT line_no, charge_type, billing_period_start, usage_start, usage_end, account_id,
			   service, region, availability_zone, instance_type, platform, tenancy, usage_type,
			   usage_amount, unit, unblended_cost, amortized_cost, public_od_cost, od_rate,
			   description, tags, pricing_category
		  FROM commitopt.billing_line_items WHERE tenant_id = :'t') u
  FULL JOIN (SELECT line_no, charge_type, billing_period_start, usage_start, usage_end, account_id,
					service, region, availability_zone, instance_type, platform, tenancy, usage_type,
					usage_amount, unit, unblended_cost, amortized_cost, public_od_cost, od_rate,
					description, tags, pricing_category
			   FROM commitopt.billing_line_items WHERE tenant_id = :'tf') f USING (line_no);
SELECT (SELECT array_agg(h.amounts ORDER BY s.platform) FROM commitopt.usage_hourly h
		  JOIN commitopt.usage_series s USING (tenant_id, series_id) WHERE h.tenant_id = :'t')
	 = (SELECT array_agg(h.amounts ORDER BY s.platform) FROM commitopt.usage_hourly h
		  JOIN commitopt.usage_series s USING (tenant_id, series_id) WHERE h.tenant_id = :'tf')
	   AS same_usage;

-- The recipe on awkward bytes: quotes, commas, backslashes, a line that
-- reads \. (COPY's end marker), an empty line, CR inside lines.
\set src :fx 'upload_awkward.csv'
\copy commitopt.billing_upload (line) FROM PROGRAM 'sed -e "s/\x1e/\x1e\x1e/g; s/^/\x1e/; s/$/\x1e/" "$COMMITOPT_DATA/fixtures/import/upload_awkward.csv"' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x1e')
SELECT count(*) AS rows,
	   convert_to(string_agg(coalesce(line, ''), E'\n' ORDER BY line_no), 'UTF8')
	   = pg_read_binary_file(:'src') AS verbatim
  FROM commitopt.billing_upload WHERE tenant_id = :'t';
-- It imports: 4 records on 8 physical lines (lines 3-4 and 7-8 are one
-- record each; line 5 is blank), the backslashes kept.
SELECT * FROM commitopt.import_billing_upload(:'t', 'awkward', '2025-06-01');
SELECT line_no, description FROM commitopt.billing_line_items l
  JOIN commitopt.billing_imports b USING (tenant_id, import_id)
 WHERE l.tenant_id = :'t' AND b.export_name = 'awkward' ORDER BY line_no;

-- A failing upload import changes nothing and keeps the upload.
INSERT INTO commitopt.billing_upload (tenant_id, line)
VALUES (:'t', 'bill/BillingPeriodStartDate,lineItem/LineItemType,lineItem/UnblendedCost'),
	   (:'t', '2025-06-01T00:00:00Z,Usage,1.00'),
	   (:'t', '2025-06-01T00:00:00Z,Usage,abc');
\set VERBOSITY terse
SELECT * FROM commitopt.import_billing_upload(:'t', 'awkward');
\set VERBOSITY default
SELECT count(*) AS kept_upload FROM commitopt.billing_upload WHERE tenant_id = :'t';
SELECT line_count FROM commitopt.billing_imports WHERE tenant_id = :'t' AND export_name = 'awkward';
DELETE FROM commitopt.billing_upload WHERE tenant_id = :'t';
DELETE FROM commitopt.analyst_grants WHERE role_name = session_user;

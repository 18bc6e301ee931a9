-- Line ends: an export with bare CR line ends (classic Mac) imports like
-- its CRLF twin, with the same line numbers, from a server file and
-- through an analyst's upload; a parse error in it names its line and
-- column.
\getenv datadir COMMITOPT_DATA
\set fx :datadir '/fixtures/import/'
SET timezone = 'UTC';
SELECT commitopt.ensure_tenant('import-cr', 'Import: CR line ends') AS t \gset
SELECT commitopt.ensure_tenant('import-cr-twin', 'Import: CRLF twin') AS tc \gset
SELECT commitopt.ensure_tenant('import-cr-upload', 'Import: CR upload') AS tu \gset

-- The fixture is formats_focus_bom_crlf.csv with every CRLF (the one in
-- a quoted field too) turned into a bare CR: it has no LF at all.
\set cr :fx 'formats_focus_bom_cr.csv'
\set crlf :fx 'formats_focus_bom_crlf.csv'
SELECT position('\x0a'::bytea IN pg_read_binary_file(:'cr')) AS lf_at,
	   replace(convert_from(pg_read_binary_file(:'crlf'), 'UTF8'), E'\r\n', E'\r')
	   = convert_from(pg_read_binary_file(:'cr'), 'UTF8') AS crlf_twin;

-- lines(tenant): the stored lines, the quoted line break made alike.
CREATE FUNCTION pg_temp.lines(tenant uuid) RETURNS SETOF text
LANGUAGE sql AS $$
	SELECT format('%s %s %s %s %s %s %s %s %s %s %s', l.line_no, l.charge_type, l.usage_start,
				  l.usage_end, l.instance_type, l.platform, l.tenancy, l.usage_amount,
				  l.unblended_cost, l.od_rate, replace(l.description, E'\r\n', E'\r'))
	  FROM commitopt.billing_line_items l WHERE l.tenant_id = tenant ORDER BY l.line_no
$$;

-- From a server file: records start on lines 2 to 7 and 9 (line 8 ends
-- the quoted field of line 7), as in the CRLF file.
SELECT * FROM commitopt.import_billing_file(:'t', :'cr', 'default');
SELECT * FROM commitopt.import_billing_file(:'tc', :'crlf', 'default');
SELECT line_no, charge_type, left(description, 30) AS description
  FROM commitopt.billing_line_items WHERE tenant_id = :'t' ORDER BY line_no;
SELECT (SELECT array_agg(x) FROM pg_temp.lines(:'t') x)
	   = (SELECT array_agg(x) FROM pg_temp.lines(:'tc') x) AS same_lines,
	   (SELECT array_agg(h.amounts ORDER BY s.platform) FROM commitopt.usage_hourly h
		  JOIN commitopt.usage_series s USING (tenant_id, series_id) WHERE h.tenant_id = :'t')
	   = (SELECT array_agg(h.amounts ORDER BY s.platform) FROM commitopt.usage_hourly h
		  JOIN commitopt.usage_series s USING (tenant_id, series_id) WHERE h.tenant_id = :'tc')
	   AS same_usage;

-- Through the upload, as an analyst (README recipe): the file is one row
-- (sed splits at LF only), and imports with the same line numbers.
SET client_min_messages = warning;
CREATE ROLE import_cr_analyst LOGIN;
SELECT count(*) AS granted FROM commitopt.grant_analyst('import_cr_analyst', 'import-cr-upload');
RESET client_min_messages;
SET ROLE import_cr_analyst;
\copy commitopt.billing_upload_lines (line) FROM PROGRAM 'sed -e "s/\x1e/\x1e\x1e/g; s/^/\x1e/; s/$/\x1e/" "$COMMITOPT_DATA/fixtures/import/formats_focus_bom_cr.csv"' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x1e')
SELECT count(*) AS upload_rows FROM commitopt.billing_upload;
SELECT format, line_count FROM commitopt.import_my_billing_upload('default');
RESET ROLE;
SELECT (SELECT array_agg(x) FROM pg_temp.lines(:'tu') x)
	   = (SELECT array_agg(x) FROM pg_temp.lines(:'tc') x) AS same_lines;

-- Bad quoting in a CR file: its line (3, not 1) and column.
\set VERBOSITY terse
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_stray_quote_cr.csv', 'bad');
SET ROLE import_cr_analyst;
\copy commitopt.billing_upload_lines (line) FROM PROGRAM 'sed -e "s/\x1e/\x1e\x1e/g; s/^/\x1e/; s/$/\x1e/" "$COMMITOPT_DATA/fixtures/import/bad_stray_quote_cr.csv"' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x1e')
SELECT * FROM commitopt.import_my_billing_upload('bad');
SELECT commitopt.discard_billing_upload() AS discarded;
-- A quoting error in the header names the field by its position.
INSERT INTO commitopt.billing_upload_lines (line) VALUES ('ChargeCategory,"Billed"Cost');
SELECT * FROM commitopt.import_my_billing_upload('bad');
SELECT commitopt.discard_billing_upload() AS discarded;
RESET ROLE;
\set VERBOSITY default

SET client_min_messages = warning;
SELECT count(*) AS revoked FROM commitopt.revoke_analyst('import_cr_analyst');
DROP ROLE import_cr_analyst;

-- Bad billing exports: each is refused with an error naming what is wrong
-- (line, column, value) and leaves everything as it was.
\getenv datadir COMMITOPT_DATA
\set fx :datadir '/fixtures/import/'
SET timezone = 'UTC';
SELECT commitopt.ensure_tenant('import-errors', 'Import errors') AS t \gset

-- A good March 2025 import (FC-04) for export 'e': bad files of the same
-- export and period must not replace it.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'fc04_cur_refund.csv', 'e');

-- Everything an import writes, as one fingerprint.
CREATE TEMP VIEW import_state AS
SELECT (SELECT count(*) FROM commitopt.billing_imports WHERE tenant_id = :'t') AS imports,
	   (SELECT md5(string_agg(l::text, ',' ORDER BY l.import_id, l.line_no))
		  FROM commitopt.billing_line_items l WHERE tenant_id = :'t') AS lines,
	   (SELECT count(*) FROM commitopt.usage_hourly WHERE tenant_id = :'t') AS hourly,
	   (SELECT count(*) FROM commitopt.usage_coverage WHERE tenant_id = :'t') AS coverage,
	   (SELECT count(*) FROM commitopt.aws_accounts WHERE tenant_id = :'t') AS accounts;
CREATE TEMP TABLE before AS SELECT * FROM import_state;
SELECT imports, coverage, accounts FROM before;

\set VERBOSITY terse
-- Missing required column (legacy CUR without lineItem/UnblendedCost).
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_missing_column.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- Wrong number of fields, with the physical line of the record.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_field_count.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- Malformed number: line, column and value.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_number.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- A number beyond any cost.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_number_range.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- A date that does not exist (30 February).
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_date.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- Unterminated quoted field: its column and the line where its record starts.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_unterminated_quote.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- Text after a closing quote: its line and column.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_stray_quote.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- Empty file.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'empty.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- Header only.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'header_only.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- Invalid UTF-8 (a Latin-1 e-acute, byte 0xe9, in "caf\xe9" on line 3).
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_utf8.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- Not a billing export.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'unknown_format.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- A FOCUS charge category that does not exist.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_focus_category.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- Two tag columns that would name the same tag.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'bad_tag_collision.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- Lines with no date at all and no billing period given.
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'fc03a_cur2_tags.csv', 'e');
SELECT b = s AS unchanged FROM before b, import_state s;
-- A file that does not exist.
\set VERBOSITY sqlstate
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'no_such_file.csv', 'e');
\set VERBOSITY terse
SELECT b = s AS unchanged FROM before b, import_state s;
-- The SQLSTATE of each refusal.
CREATE FUNCTION pg_temp.import_sqlstate(tenant uuid, path text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM commitopt.import_billing_file(tenant, path, 'e');
	RETURN 'imported';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
SELECT f AS file, pg_temp.import_sqlstate(:'t', :'fx' || f) AS sqlstate
  FROM unnest(ARRAY['bad_missing_column.csv', 'bad_field_count.csv', 'bad_number.csv',
					'bad_number_range.csv', 'bad_date.csv', 'bad_unterminated_quote.csv',
					'bad_stray_quote.csv', 'empty.csv', 'header_only.csv', 'bad_utf8.csv',
					'unknown_format.csv', 'bad_focus_category.csv', 'bad_tag_collision.csv',
					'fc03a_cur2_tags.csv', 'no_such_file.csv']) AS f;
SELECT b = s AS unchanged FROM before b, import_state s;
-- An unknown tenant.
SELECT * FROM commitopt.import_billing_file('00000000-0000-0000-0000-000000000000', :'fx' || 'fc04_cur_refund.csv', 'e');

-- Reading server files needs pg_read_server_files.
CREATE ROLE import_errors_analyst;
GRANT USAGE ON SCHEMA commitopt TO import_errors_analyst;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA commitopt TO import_errors_analyst;
-- row-level security: the role sees its tenant through an analyst grant
SELECT commitopt.grant_analyst('import_errors_analyst', 'import-errors');
SET ROLE import_errors_analyst;
SELECT * FROM commitopt.import_billing_file(:'t', :'fx' || 'fc04_cur_refund.csv', 'e');
RESET ROLE;
SELECT b = s AS unchanged FROM before b, import_state s;
GRANT pg_read_server_files TO import_errors_analyst;
SET ROLE import_errors_analyst;
SELECT format, line_count FROM commitopt.import_billing_file(:'t', :'fx' || 'fc04_cur_refund.csv', 'e');
RESET ROLE;
\set VERBOSITY default
-- Same file again: the period is replaced, nothing else changes.
SELECT b.imports = s.imports AND b.coverage = s.coverage AS same_counts FROM before b, import_state s;
REVOKE ALL ON ALL TABLES IN SCHEMA commitopt FROM import_errors_analyst;
REVOKE ALL ON SCHEMA commitopt FROM import_errors_analyst;
SELECT commitopt.revoke_analyst('import_errors_analyst');
DROP ROLE import_errors_analyst;

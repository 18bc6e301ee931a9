-- An analyst without file access loads their own export through the
-- streamed upload, into their own tenant only.
\getenv datadir COMMITOPT_DATA
SET timezone = 'UTC';
SET client_min_messages = warning;
SELECT commitopt.load_reference_data(:'datadir' || '/pricing') IS NULL AS loaded;
SELECT commitopt.ensure_tenant('upload-a', 'Upload A') AS ta \gset
SELECT commitopt.ensure_tenant('upload-b', 'Upload B') AS tb \gset
CREATE ROLE upload_analyst_a LOGIN;
CREATE ROLE upload_analyst_b LOGIN;
SELECT commitopt.grant_analyst('upload_analyst_a', 'upload-a') IS NULL AS granted;
SELECT commitopt.grant_analyst('upload_analyst_b', 'upload-b') IS NULL AS granted;
RESET client_min_messages;
\set focus_file :datadir '/usage/focus-1.0-sample/focus_sample_1000_days01-23.csv'

-- As analyst A: stream the FOCUS sample (715 lines + header = 716 rows)
-- into the upload view, then import it.
SET ROLE upload_analyst_a;
-- (\copy does not expand psql variables; the shell expands $COMMITOPT_DATA.)
\copy commitopt.billing_upload_lines (line) FROM PROGRAM 'sed -e "s/\x1e/\x1e\x1e/g; s/^/\x1e/; s/$/\x1e/" "$COMMITOPT_DATA/usage/focus-1.0-sample/focus_sample_1000_days01-23.csv"' WITH (FORMAT csv, DELIMITER E'\x1f', QUOTE E'\x1e')
SELECT count(*) AS streamed_lines FROM commitopt.billing_upload;
SELECT format, line_count FROM commitopt.import_my_billing_upload('focus-1000');
-- The lines were consumed; the usage is A's: the 15.283056 instance-hours
-- of the file's EC2 instance-hour rows (see main_job_report).
SELECT count(*) AS upload_left FROM commitopt.billing_upload;
SELECT round(sum(a)::numeric, 6) AS instance_hours
  FROM commitopt.usage_hourly h, unnest(h.amounts) a;
SELECT count(DISTINCT tenant_id) AS tenants_seen FROM commitopt.billing_line_items;

-- A cannot import into B: for A, B's tenant does not exist (the same
-- SQLSTATE as a tenant that does not exist at all).  Nor can A write the
-- upload table itself: only through the view, which stores A's tenant.
\set VERBOSITY sqlstate
SELECT count(*) FROM commitopt.import_billing_upload(:'tb', 'x');
SELECT count(*) FROM commitopt.import_billing_upload(gen_random_uuid(), 'x');
\set VERBOSITY terse
INSERT INTO commitopt.billing_upload (tenant_id, line) VALUES (:'tb', 'x');
INSERT INTO commitopt.billing_upload (tenant_id, line) VALUES (:'ta', 'x');
\set VERBOSITY default
-- Reading a server file is refused, with a hint naming the upload recipe.
SELECT count(*) FROM commitopt.import_billing_file(:'ta', :'focus_file', 'x');
RESET ROLE;

-- A session acting for no tenant can neither stream nor import its own.
INSERT INTO commitopt.billing_upload_lines (line) VALUES ('x');
SELECT count(*) FROM commitopt.import_my_billing_upload();
-- Analyst B sees nothing of A's import.
SET ROLE upload_analyst_b;
SELECT count(*) AS lines_b, (SELECT count(*) FROM commitopt.usage_hourly) AS usage_b
  FROM commitopt.billing_line_items;
RESET ROLE;

-- Upload lines belong to the session that streamed them: another session
-- of the same analyst (a second connection, here the superuser's session
-- in the analyst's role, then a new connection) neither sees nor removes
-- them.  As the superuser, who bypasses row-level security: 2 lines.
SET ROLE upload_analyst_a;
INSERT INTO commitopt.billing_upload_lines (line) VALUES ('header'), ('row');
SELECT count(*) AS own_lines FROM commitopt.billing_upload;
RESET ROLE;
\c - upload_analyst_a
SELECT count(*) AS lines_of_other_session FROM commitopt.billing_upload;
DELETE FROM commitopt.billing_upload;
SELECT commitopt.discard_billing_upload() AS discarded_by_other_session;
\c - postgres
SELECT count(*) AS lines_kept FROM commitopt.billing_upload b
  JOIN commitopt.tenants t USING (tenant_id) WHERE t.slug = 'upload-a';
DELETE FROM commitopt.billing_upload;

-- The import is A's, by tenant.
SELECT t.slug, count(*) AS line_items
  FROM commitopt.billing_line_items b JOIN commitopt.tenants t USING (tenant_id)
 WHERE t.slug IN ('upload-a', 'upload-b') GROUP BY t.slug;

SET client_min_messages = warning;
SELECT commitopt.revoke_analyst('upload_analyst_a') IS NULL AS revoked;
SELECT commitopt.revoke_analyst('upload_analyst_b') IS NULL AS revoked;
DROP ROLE upload_analyst_a;
DROP ROLE upload_analyst_b;

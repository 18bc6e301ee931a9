-- Connecting an AWS account end to end against the fake AWS
-- (test/fakes/aws): registration and its validation, the generated
-- policies, verification with the external ID, the job runner, a full sync
-- with pagination, throttling and credentials expiring mid-sync, clock
-- skew, malformed answers (nothing half-written), 5xx, a wrong TLS
-- certificate, cancellation, and the history of changes.
\getenv datadir COMMITOPT_DATA
\set fakedir :datadir '/../awsfake'
\setenv FAKEDIR :fakedir
\set fixtures :datadir '/fixtures/aws/aws-api-samples'
\setenv FIXTURES :fixtures
SET client_min_messages = warning;
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" start "$FAKEDIR" "$FIXTURES"
SELECT pg_read_file(:'fakedir' || '/port') AS port \gset
SELECT pg_read_file(:'fakedir' || '/wrong/port') AS wrong_port \gset
SELECT current_database() AS db \gset
-- The job worker reads the database's settings, not this session's.
SELECT format('https://127.0.0.1:%s', :'port') AS endpoint \gset
ALTER DATABASE :"db" SET commitopt.aws_endpoint = :'endpoint';
\set cafile :fakedir '/ca.crt'
\set credfile :fakedir '/platform.credentials'
ALTER DATABASE :"db" SET commitopt.aws_ca_file = :'cafile';
ALTER DATABASE :"db" SET commitopt.aws_credentials = :'credfile';
ALTER DATABASE :"db" SET commitopt.aws_principal_arn = 'arn:aws:iam::000000000000:role/commitopt-platform';
ALTER DATABASE :"db" SET commitopt.aws_backoff_base = 10;
ALTER DATABASE :"db" SET commitopt.aws_backoff_cap = 50;
\c
SET client_min_messages = warning;
SET timezone = 'UTC';

-- err(sql): SQLSTATE and message of sql, ports and ids masked.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN sqlstate || ': ' || regexp_replace(sqlerrm, '127\.0\.0\.1:[0-9]+', '127.0.0.1:<port>', 'g');
END
$$;
-- jobs(): the tenant's jobs, oldest first, without times.
CREATE FUNCTION pg_temp.jobs(t uuid) RETURNS TABLE (kind text, account_id text, status text,
	attempts int, error text, result text)
LANGUAGE sql AS $$
	SELECT kind, account_id, status, attempts,
		   regexp_replace(error, '127\.0\.0\.1:[0-9]+', '127.0.0.1:<port>', 'g'),
		   regexp_replace(result, '[0-9]+$', 'N')
	  FROM commitopt.job_status WHERE tenant_id = t ORDER BY job_id
$$;
-- calls(): what the fake saw since the last truncation.
CREATE FUNCTION pg_temp.calls(dir text) RETURNS TABLE (n bigint, action text, key text,
	signature_ok boolean, error text)
LANGUAGE sql AS $$
	SELECT count(*), c->>'action', c->>'key', (c->>'signature_ok')::boolean, c->>'error'
	  FROM regexp_split_to_table(rtrim(pg_read_file(dir || '/calls.log'), E'\n'), E'\n') l,
		   LATERAL (SELECT l::jsonb AS c WHERE l <> '') x
	 GROUP BY 2, 3, 4, 5 ORDER BY 2, 3, 4, 5
$$;

SELECT commitopt.ensure_tenant('aws-sync', 'AWS sync test') AS t \gset

-- Registration: bad account IDs and role ARNs, each named in the error.
SELECT pg_temp.err(format('SELECT commitopt.aws_register(%L, %L, %L)', :'t', '11112222333',
	'arn:aws:iam::11112222333:role/r'));
SELECT pg_temp.err(format('SELECT commitopt.aws_register(%L, %L, %L)', :'t', '111122223333',
	'arn:aws-xx:iam::111122223333:role/r'));
SELECT pg_temp.err(format('SELECT commitopt.aws_register(%L, %L, %L)', :'t', '111122223333',
	'arn:aws:iam::444455556666:role/r'));
SELECT pg_temp.err(format('SELECT commitopt.aws_register(%L, %L, %L)', :'t', '111122223333',
	'arn:aws:iam::111122223333:role/bad name'));
SELECT pg_temp.err(format('SELECT commitopt.aws_register(%L, %L, %L)', :'t', '111122223333',
	'arn:aws:iam::111122223333:user/alice'));
SELECT pg_temp.err(format('SELECT commitopt.aws_register(%L, %L, %L)', :'t', '111122223333',
	'arn:aws:iam::111122223333:role/' || repeat('r', 65)));
SELECT pg_temp.err(format('SELECT commitopt.aws_register(%L, %L, %L, NULL, %L)', :'t', '111122223333',
	'arn:aws:iam::111122223333:role/r', 'mars-1'));
-- Partitions and paths that are valid.
SELECT a AS valid_arn
  FROM unnest(ARRAY['arn:aws-us-gov:iam::111122223333:role/r',
					'arn:aws-cn:iam::111122223333:role/team/ops/Commitopt+Read@x=1,y.z_w-v']) a
 WHERE commitopt.aws_validate_role_arn('111122223333', a)::text = '';
-- Only a tenant's admin may register through the user path.
SELECT pg_temp.err(format('SELECT commitopt.register_aws_account(%L, %L, %L)',
	gen_random_uuid(), '111122223333', 'arn:aws:iam::111122223333:role/r'));

-- A good registration: the external ID is "commitopt-" and 40 hex digits
-- (160 random bits); the trust policy names our principal and the external
-- ID; the read-only policy lists exactly the sync's three read actions;
-- purchases are a separate policy.
SELECT * FROM commitopt.aws_register(:'t', '111122223333',
	'arn:aws:iam::111122223333:role/commitopt/ReadOnly', 'prod') \gset
SELECT :'external_id' ~ '^commitopt-[0-9a-f]{40}$' AS external_id_ok,
	   jsonb_pretty(jsonb_set(:'trust_policy'::jsonb,
		   '{Statement,0,Condition,StringEquals,sts:ExternalId}', '"<external id>"')) AS trust_policy;
SELECT jsonb_pretty(:'read_only_policy'::jsonb) AS read_only_policy;
SELECT jsonb_pretty(:'purchase_policy'::jsonb) AS purchase_policy;
-- Registering again is refused; external IDs are unique and stored sealed.
SELECT pg_temp.err(format('SELECT commitopt.aws_register(%L, %L, %L)', :'t', '111122223333',
	'arn:aws:iam::111122223333:role/commitopt/ReadOnly'));
SELECT status, position(convert_to(:'external_id', 'UTF8') IN external_id_sealed) = 0 AS sealed,
	   position('ReadOnly'::bytea IN role_arn_sealed) = 0 AS arn_sealed
  FROM commitopt.aws_connections WHERE tenant_id = :'t';

-- Verification runs as a job.  The fake does not know the role yet:
-- AccessDenied, reported as a trust-policy / external-ID problem; the
-- account stays inactive and a sync is refused.
SELECT commitopt.run_jobs_now();
SELECT * FROM pg_temp.jobs(:'t');
SELECT status, last_error FROM commitopt.aws_connection_status WHERE tenant_id = :'t';
-- A role trusting another external ID: the same refusal.
\setenv ROLE 'arn:aws:iam::111122223333:role/commitopt/ReadOnly'
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" role "$FAKEDIR" "$ROLE" commitopt-0000000000000000000000000000000000000000
SELECT commitopt.enqueue_job(:'t', 'verify_account', '111122223333') IS NOT NULL AS queued;
SELECT commitopt.run_jobs_now();
SELECT kind, status, error FROM pg_temp.jobs(:'t') OFFSET 1;
-- The right external ID: active.
\setenv EXTID :external_id
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" role "$FAKEDIR" "$ROLE" "$EXTID"
SELECT commitopt.enqueue_job(:'t', 'verify_account', '111122223333') IS NOT NULL AS queued;
SELECT commitopt.run_jobs_now();
SELECT kind, status, error FROM pg_temp.jobs(:'t') OFFSET 2;
SELECT status, last_error, verified_at IS NOT NULL AS verified
  FROM commitopt.aws_connection_status WHERE tenant_id = :'t';

-- A full sync: one item per page (2 DescribeInstances pages, 3
-- DescribeSavingsPlans pages), DescribeInstances throttled twice,
-- credentials that expire after 3 calls (so the role is re-assumed
-- mid-sync, and the failed call is signed afresh and repeated).
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" config "$FAKEDIR" '{"page_size": 1, "throttle": {"DescribeInstances": 2}, "expire_after_calls": 3}'
\! : > "$FAKEDIR/calls.log"
SELECT commitopt.enqueue_all('sync_account') AS queued;
SELECT commitopt.run_jobs_now();
SELECT kind, status, error, result FROM pg_temp.jobs(:'t') OFFSET 3;
-- Calls: AssumeRole 3 times (start, after the 3rd and 6th session call);
-- DescribeInstances 2 pages + 2 throttled + 1 expired; RIs 1 + 1
-- expired? (see the log below); every accepted signature checked by
-- botocore.  Hand count with expire_after_calls = 3: session 1 serves
-- DI(throttled), DI(throttled), DI p1; its 4th call (DI p2) is refused
-- ExpiredToken -> AssumeRole; session 2 serves DI p2, DRI, DSP p1; 4th
-- (DSP p2) expired -> AssumeRole; session 3 serves DSP p2, DSP p3.
SELECT * FROM pg_temp.calls(:'fakedir');
SELECT calls, assumes, retries, instances, reserved_instances, savings_plans
  FROM commitopt.aws_sync_runs WHERE tenant_id = :'t';
-- The read-only policy grants exactly what the sync called with the role.
SELECT array_agg(a ORDER BY a) = (SELECT array_agg(r ORDER BY r)
									FROM unnest(commitopt.aws_read_actions()) r)
	   AS policy_matches_calls, array_agg(a ORDER BY a) AS called
  FROM (SELECT DISTINCT c.service || ':' || c.action AS a
		  FROM regexp_split_to_table(rtrim(pg_read_file(:'fakedir' || '/calls.log'), E'\n'), E'\n') l,
			   LATERAL jsonb_to_record(l::jsonb) AS c(action text, service text, key text,
													  signature_ok boolean)
		 WHERE c.key = 'session' AND c.signature_ok) x;

-- The inventory, with AWS's exact (mid-hour) start and end times.  The RI
-- (aws-cli example): 3-year all upfront $151 -> 151 / (94608000 / 3600)
-- = 151 / 26280 = 0.005745814... per hour.  Plans: the queued one is left
-- out; the EC2 Instance plan keeps its region and family.
SELECT instance_id, instance_type, region, availability_zone, platform, tenancy, state
  FROM commitopt.aws_instances WHERE tenant_id = :'t' ORDER BY 1;
SELECT ri_id, region, availability_zone, instance_type, platform, instance_count,
	   offering_class, payment_option, start_time, end_time,
	   round(effective_hourly_usd, 9) AS hourly, source
  FROM commitopt.reserved_instances WHERE tenant_id = :'t';
SELECT sp_id, plan_type, region, instance_family, term_years, payment_option,
	   hourly_commitment_usd, start_time, end_time, source
  FROM commitopt.savings_plans WHERE tenant_id = :'t' ORDER BY 1;
SELECT kind, item_id, change FROM commitopt.aws_inventory_history
 WHERE tenant_id = :'t' ORDER BY 1, 2;

-- Credentials that live 299 s are always within the 5-minute margin, so
-- the role is re-assumed before every call (6 role calls: 2 + 1 + 3
-- pages) and AWS never sees an expired token.  The data did not change,
-- so this sync adds no history.
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" config "$FAKEDIR" '{"throttle": {}, "expire_after_calls": null, "session_seconds": 299}'
\! : > "$FAKEDIR/calls.log"
SELECT commitopt.enqueue_job(:'t', 'sync_account', '111122223333') AS job \gset
SELECT commitopt.run_jobs_now();
SELECT status, error FROM commitopt.jobs WHERE job_id = :job;
SELECT * FROM pg_temp.calls(:'fakedir');
SELECT assumes, calls FROM commitopt.aws_sync_runs WHERE tenant_id = :'t'
 ORDER BY sync_id DESC LIMIT 1;
SELECT count(*) AS history_rows FROM commitopt.aws_inventory_history
 WHERE tenant_id = :'t' AND sync_id = (SELECT max(sync_id) FROM commitopt.aws_sync_runs
										WHERE tenant_id = :'t');
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" config "$FAKEDIR" '{"session_seconds": 3600}'

-- Malformed XML in DescribeReservedInstances: a clear error naming the
-- call; nothing written (same counts, no new sync run); the job waits for
-- a retry with back-off.
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" config "$FAKEDIR" '{"malformed": ["DescribeReservedInstances"]}'
SELECT commitopt.enqueue_job(:'t', 'sync_account', '111122223333') AS job \gset
SELECT commitopt.run_jobs_now();
SELECT status, attempts, error, run_after > now() + interval '25 seconds' AS backing_off
  FROM commitopt.jobs WHERE job_id = :job;
SELECT (SELECT count(*) FROM commitopt.aws_sync_runs WHERE tenant_id = :'t') AS syncs_still_2,
	   (SELECT count(*) FROM commitopt.aws_instances WHERE tenant_id = :'t') AS instances,
	   (SELECT count(*) FROM commitopt.savings_plans WHERE tenant_id = :'t') AS plans;
-- A job already queued is not queued twice (no double start).
SELECT commitopt.enqueue_job(:'t', 'sync_account', '111122223333') = :job AS same_job;
DELETE FROM commitopt.jobs WHERE job_id = :job;

-- Malformed JSON in a DescribeSavingsPlans page.
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" config "$FAKEDIR" '{"malformed": ["DescribeSavingsPlans"]}'
SELECT commitopt.enqueue_job(:'t', 'sync_account', '111122223333') AS job \gset
SELECT commitopt.run_jobs_now();
SELECT status, error FROM commitopt.jobs WHERE job_id = :job;
DELETE FROM commitopt.jobs WHERE job_id = :job;

-- A server error that persists: retried (aws_max_retries), then reported.
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" config "$FAKEDIR" '{"malformed": [], "fail": {"DescribeReservedInstances": 500}}'
ALTER DATABASE :"db" SET commitopt.aws_max_retries = 2;
SELECT commitopt.enqueue_job(:'t', 'sync_account', '111122223333') AS job \gset
SELECT commitopt.run_jobs_now();
SELECT status, error FROM commitopt.jobs WHERE job_id = :job;
DELETE FROM commitopt.jobs WHERE job_id = :job;
ALTER DATABASE :"db" RESET commitopt.aws_max_retries;

-- The fake's clock 15 minutes ahead: the first call is refused as skewed,
-- the client corrects its clock from the Date header and succeeds.  Data
-- changes meanwhile: one more RI, one plan fewer; the history shows it.
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" config "$FAKEDIR" '{"fail": {}, "skew_seconds": 900, "savings_plans": [], "extra_reserved_instances": [{"ReservedInstancesId": "ri-new-0001", "OfferingType": "Partial Upfront", "OfferingClass": "convertible", "Scope": "Region", "AvailabilityZone": "", "Start": "2026-11-20T08:30:00.000Z", "End": "2027-11-20T08:30:00.000Z", "ProductDescription": "Red Hat Enterprise Linux", "UsagePrice": 0.0, "RecurringCharges": [{"Frequency": "Hourly", "Amount": 0.05}], "State": "active", "FixedPrice": 438.0, "CurrencyCode": "USD", "Duration": 31536000, "InstanceTenancy": "default", "InstanceType": "m5.large", "InstanceCount": 2}]}'
SELECT commitopt.enqueue_job(:'t', 'sync_account', '111122223333') AS job \gset
SELECT commitopt.run_jobs_now();
SELECT status, error FROM commitopt.jobs WHERE job_id = :job;
DELETE FROM commitopt.jobs WHERE job_id = :job;
-- ri-new-0001: 438 / 8760 + 0.05 = 0.05 + 0.05 = 0.1 per hour.
SELECT ri_id, region, availability_zone, platform, instance_count, offering_class,
	   payment_option, start_time, round(effective_hourly_usd, 9) AS hourly
  FROM commitopt.reserved_instances WHERE tenant_id = :'t' ORDER BY 1;
SELECT h.kind, h.item_id, h.change FROM commitopt.aws_inventory_history h
  JOIN commitopt.aws_sync_runs r USING (tenant_id, sync_id)
 WHERE h.tenant_id = :'t' AND r.sync_id = (SELECT max(sync_id) FROM commitopt.aws_sync_runs WHERE tenant_id = :'t')
 ORDER BY 1, 2;
SELECT count(*) AS plans_left FROM commitopt.savings_plans WHERE tenant_id = :'t';

-- The synced inventory feeds the simulator.  Usage on 2026-11-20: two
-- RHEL m5.large in us-east-1 every hour (on-demand $0.16).  ri-new-0001
-- (2 instances, regional, from 08:30) counts for half of hour 08 and for
-- hours 09..23: purchased = 2 * 0.5 + 2 * 15 = 31 instance-hours, all
-- used; its cost = 31 * $0.10 = $3.10; it covers 31 * $0.16 = $4.96 of
-- on-demand.  The 2015-2018 RI is outside the window.
INSERT INTO commitopt.usage_series (tenant_id, account_id, region, availability_zone,
	instance_type, platform, tenancy)
VALUES (:'t', '111122223333', 'us-east-1', 'us-east-1a', 'm5.large', 'rhel', 'default')
RETURNING series_id AS sid \gset
INSERT INTO commitopt.usage_hourly (tenant_id, series_id, period_start, amounts, od_rate)
SELECT :'t', :sid, '2026-11-01', array_agg(CASE WHEN i BETWEEN 19 * 24 + 1 AND 20 * 24
												THEN 2 ELSE 0 END ORDER BY i), 0.16
  FROM generate_series(1, 720) i;
INSERT INTO commitopt.usage_coverage VALUES (:'t', 'test', '2026-11-20', '2026-11-21');
SELECT commitopt.enqueue_job(:'t', 'simulate') AS job \gset
SELECT commitopt.run_jobs_now();
SELECT status, error FROM commitopt.jobs WHERE job_id = :job;
SELECT commitment_id, purchased, used, round(cost::numeric, 6) AS cost,
	   round(covered_ode::numeric, 6) AS covered_ode
  FROM commitopt.simulation_commitments
 WHERE tenant_id = :'t' AND run_id = (SELECT max(run_id) FROM commitopt.simulation_runs
									   WHERE tenant_id = :'t')
 ORDER BY 1;

-- A host whose certificate is for another name: refused, nothing sent.
ALTER DATABASE :"db" SET commitopt.aws_endpoint = :'endpoint';
SELECT format('https://127.0.0.1:%s', :'wrong_port') AS wrong_endpoint \gset
ALTER DATABASE :"db" SET commitopt.aws_endpoint = :'wrong_endpoint';
SELECT commitopt.enqueue_job(:'t', 'sync_account', '111122223333') AS job \gset
SELECT commitopt.run_jobs_now();
SELECT status, regexp_replace(error, '127\.0\.0\.1:[0-9]+', '127.0.0.1:<port>') AS error
  FROM commitopt.jobs WHERE job_id = :job;
DELETE FROM commitopt.jobs WHERE job_id = :job;
SELECT pg_stat_file(:'fakedir' || '/wrong/calls.log', true) IS NULL AS nothing_reached_wrong_host;
ALTER DATABASE :"db" SET commitopt.aws_endpoint = :'endpoint';

-- A cancel interrupts a call in progress: DescribeInstances takes 20 s,
-- the statement is cancelled after 1 s (a direct call, as an operator
-- could make).
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" config "$FAKEDIR" '{"skew_seconds": 0, "delay": {"DescribeInstances": 20}}'
\c
SET client_min_messages = warning;
SET timezone = 'UTC';
SET statement_timeout = '1s';
SELECT clock_timestamp() AS before \gset
SELECT commitopt.aws_sync_account(:'t', '111122223333');
RESET statement_timeout;
SELECT clock_timestamp() - :'before'::timestamptz < interval '5 seconds' AS interrupted_quickly;

-- No secret reached a job error, a connection error or the log table.
SELECT count(*) AS leaks FROM commitopt.jobs
 WHERE error LIKE '%' || :'external_id' || '%' OR result LIKE '%' || :'external_id' || '%';

-- Nor the server log: not the platform's secret key, not a session token
-- the fake issued, not the external ID.
-- (the log collector writes to the run directory's log/, older set-ups to
-- postgresql.log beside the data directory; both are read, as bytes: a
-- log may hold a byte that is not UTF-8, quoted from some bad input)
\set rundir :datadir '/..'
CREATE TEMP TABLE server_log AS
SELECT string_agg(pg_read_binary_file(f), ''::bytea) AS bytes
  FROM (SELECT :'rundir' || '/log/' || l AS f
		  FROM pg_ls_dir(:'rundir' || '/log', true, false) l
		UNION ALL
		SELECT :'rundir' || '/postgresql.log'
		 WHERE pg_stat_file(:'rundir' || '/postgresql.log', true) IS NOT NULL) files;
SELECT position(convert_to('AWS clock differs', 'UTF8') IN bytes) > 0 AS log_has_this_test,
	   position(convert_to(split_part(split_part(pg_read_file(:'credfile'), 'aws_secret_access_key = ', 2), E'\n', 1), 'UTF8')
				IN bytes) = 0 AS platform_secret_absent,
	   position(convert_to('FAKE-SESSION-', 'UTF8') IN bytes) = 0 AS session_tokens_absent,
	   position(convert_to(:'external_id', 'UTF8') IN bytes) = 0 AS external_id_absent
  FROM server_log;

-- Clean up: the fake and the database settings.
\! bash "$PG_ABS_SRCDIR/test/fakes/aws/aws_fake.sh" stop "$FAKEDIR"
ALTER DATABASE :"db" RESET commitopt.aws_endpoint;
ALTER DATABASE :"db" RESET commitopt.aws_ca_file;
ALTER DATABASE :"db" RESET commitopt.aws_credentials;
ALTER DATABASE :"db" RESET commitopt.aws_principal_arn;
ALTER DATABASE :"db" RESET commitopt.aws_backoff_base;
ALTER DATABASE :"db" RESET commitopt.aws_backoff_cap;

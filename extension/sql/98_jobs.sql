-- commitopt install script: the job queue run by the background worker
-- (extension/worker_jobs.c) and the pg_cron schedules that fill it.
--
-- Jobs run outside users' transactions: a user (or pg_cron) only queues.
-- The worker claims a job with FOR UPDATE SKIP LOCKED, commits the claim,
-- runs the job in its own transaction and records the outcome.  One job
-- per account runs at a time, and a job already queued or running is not
-- queued again (a run that overruns its next slot is not started twice).

CREATE TABLE commitopt.jobs (
	tenant_id uuid NOT NULL REFERENCES commitopt.tenants ON DELETE CASCADE,
	job_id bigint GENERATED ALWAYS AS IDENTITY,
	kind text NOT NULL CHECK (kind IN ('verify_account', 'sync_account',
									   'simulate', 'recommend')),
	account_id text,
	status text NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
	attempts int NOT NULL DEFAULT 0,
	max_attempts int NOT NULL DEFAULT 4 CHECK (max_attempts > 0),
	run_after timestamptz NOT NULL DEFAULT now(),
	error text,
	result text,
	created_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,
	finished_at timestamptz,
	-- the backend that claimed the job (while running): if it is gone, the
	-- job is queued again (FC-14: a crash loses no job)
	claimed_by int,
	PRIMARY KEY (tenant_id, job_id),
	CHECK ((kind IN ('verify_account', 'sync_account')) = (account_id IS NOT NULL))
);
-- At most one open (queued or running) job of a kind per tenant and account.
CREATE UNIQUE INDEX jobs_one_open ON commitopt.jobs
	(tenant_id, kind, coalesce(account_id, ''))
	WHERE status IN ('queued', 'running');
CREATE INDEX jobs_runnable ON commitopt.jobs (run_after) WHERE status = 'queued';

-- enqueue_job(tenant, kind, account): queues a job unless one of the same
-- kind for the same account is already open; returns the open job's id.
CREATE FUNCTION commitopt.enqueue_job(tenant uuid, job_kind text, account text DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	id bigint;
BEGIN
	IF job_kind IS NULL OR job_kind NOT IN ('verify_account', 'sync_account', 'simulate', 'recommend') THEN
		RAISE EXCEPTION 'unknown job kind "%"', job_kind
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Kinds are verify_account, sync_account, simulate and recommend.';
	END IF;
	IF (job_kind IN ('verify_account', 'sync_account')) <> (account IS NOT NULL) THEN
		RAISE EXCEPTION 'a % job %', job_kind,
			CASE WHEN account IS NULL THEN 'needs an account' ELSE 'takes no account' END
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO commitopt.jobs (tenant_id, kind, account_id)
	VALUES (tenant, job_kind, account)
	ON CONFLICT (tenant_id, kind, coalesce(account_id, ''))
		WHERE status IN ('queued', 'running') DO NOTHING
	RETURNING job_id INTO id;
	IF id IS NULL THEN
		SELECT j.job_id INTO id FROM commitopt.jobs j
		 WHERE j.tenant_id = tenant AND j.kind = job_kind
		   AND coalesce(j.account_id, '') = coalesce(account, '')
		   AND j.status IN ('queued', 'running');
	END IF;
	RETURN id;
END
$$;
REVOKE ALL ON FUNCTION commitopt.enqueue_job FROM PUBLIC;

-- enqueue_all(kind): one job of that kind per tenant (simulate,
-- recommend) or per active connection (sync_account).  For schedules.
CREATE FUNCTION commitopt.enqueue_all(job_kind text)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	n int := 0;
	r record;
BEGIN
	IF job_kind = 'sync_account' THEN
		FOR r IN SELECT tenant_id, account_id FROM commitopt.aws_connections
				  WHERE status = 'active' ORDER BY 1, 2 LOOP
			PERFORM commitopt.enqueue_job(r.tenant_id, job_kind, r.account_id);
			n := n + 1;
		END LOOP;
	ELSIF job_kind IN ('simulate', 'recommend') THEN
		FOR r IN SELECT tenant_id FROM commitopt.tenants ORDER BY 1 LOOP
			PERFORM commitopt.enqueue_job(r.tenant_id, job_kind);
			n := n + 1;
		END LOOP;
	ELSE
		RAISE EXCEPTION 'cannot schedule jobs of kind "%"', job_kind
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN n;
END
$$;

-- job_claim(): marks the next runnable job running and returns its id,
-- or NULL.  A job whose account already has a running job waits.  First,
-- a job left running by a backend that no longer exists (a crashed or
-- terminated runner) is queued again, or failed if out of attempts.
-- XXX: if the dead claimer's pid is reused by a new backend before the
-- next claim, the job waits until that backend ends.
CREATE FUNCTION commitopt.job_claim()
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	j commitopt.jobs;
BEGIN
	UPDATE commitopt.jobs r
	   SET status = CASE WHEN r.attempts >= r.max_attempts THEN 'failed' ELSE 'queued' END,
		   error = 'the job runner stopped while running the job',
		   finished_at = now(), run_after = now(), claimed_by = NULL
	 WHERE r.status = 'running'
	   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a
					    WHERE a.pid = r.claimed_by);
	SELECT * INTO j FROM commitopt.jobs q
	 WHERE q.status = 'queued' AND q.run_after <= now()
	   AND NOT EXISTS (SELECT 1 FROM commitopt.jobs r
						WHERE r.status = 'running' AND r.tenant_id = q.tenant_id
						  AND r.account_id IS NOT DISTINCT FROM q.account_id
						  AND q.account_id IS NOT NULL)
	 ORDER BY q.run_after, q.job_id
	 LIMIT 1
	 FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	UPDATE commitopt.jobs SET status = 'running', attempts = attempts + 1,
		   started_at = now(), finished_at = NULL, claimed_by = pg_backend_pid()
	 WHERE tenant_id = j.tenant_id AND job_id = j.job_id;
	RETURN j.job_id;
END
$$;

-- job_execute(job_id): runs a claimed job.  Its work is all or nothing (a
-- subtransaction); a failure is recorded with its message and the job is
-- queued again after 30 s, 60 s, 120 s ... until max_attempts.
CREATE FUNCTION commitopt.job_execute(id bigint)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	j commitopt.jobs;
	outcome text;
	msg text;
	detail text;
	extent record;
	lookback int;
BEGIN
	SELECT * INTO j FROM commitopt.jobs WHERE job_id = id AND status = 'running';
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	BEGIN
		CASE j.kind
		WHEN 'verify_account' THEN
			PERFORM commitopt.aws_verify_account(j.tenant_id, j.account_id);
			outcome := 'verified';
		WHEN 'sync_account' THEN
			outcome := 'sync ' || commitopt.aws_sync_account(j.tenant_id, j.account_id);
		WHEN 'simulate', 'recommend' THEN
			-- a tenant without (enough) usage yet has nothing to simulate or
			-- recommend from: not a failure.  The lookback is the longest
			-- standard one (60, 30 or 7 days) the data covers, as in
			-- run_main_job().
			-- (SELECT INTO: without usage the function returns no row,
			-- and the record then holds nulls)
			SELECT * INTO extent FROM commitopt.usage_extent(j.tenant_id);
			SELECT l INTO lookback FROM unnest(ARRAY[60, 30, 7]) l
			 WHERE extent.extent_to - extent.extent_from >= l * interval '1 day'
			 ORDER BY l DESC LIMIT 1;
			IF extent.extent_from IS NULL THEN
				outcome := 'skipped: no usage yet';
			ELSIF j.kind = 'simulate' THEN
				outcome := 'run ' || commitopt.simulate(j.tenant_id);
			ELSIF lookback IS NULL THEN
				outcome := 'skipped: less than 7 days of usage';
			ELSE
				outcome := 'recommendation ' || coalesce(
					commitopt.recommend_savings_plan(j.tenant_id, 1, lookback)::text, 'none');
			END IF;
		END CASE;
	EXCEPTION WHEN query_canceled THEN
		RAISE;
	WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
		msg := sqlerrm || coalesce(nullif(' (' || detail || ')', ' ()'), '');
	END;
	-- the job's work was undone; what went wrong stays on the connection
	IF msg IS NOT NULL AND j.kind = 'verify_account' THEN
		UPDATE commitopt.aws_connections SET status = 'failed', last_error = msg
		 WHERE tenant_id = j.tenant_id AND account_id = j.account_id;
	END IF;
	IF msg IS NULL THEN
		UPDATE commitopt.jobs SET status = 'succeeded', error = NULL,
			   result = outcome, finished_at = now()
		 WHERE job_id = id;
		RETURN 'succeeded';
	END IF;
	-- a refused role will not be accepted by retrying
	IF j.attempts >= j.max_attempts OR j.kind = 'verify_account' THEN
		UPDATE commitopt.jobs SET status = 'failed', error = msg, finished_at = now()
		 WHERE job_id = id;
		RETURN 'failed';
	END IF;
	UPDATE commitopt.jobs SET status = 'queued', error = msg, finished_at = now(),
		   run_after = now() + interval '30 seconds' * 2 ^ (j.attempts - 1)
	 WHERE job_id = id;
	RETURN 'retry';
END
$$;
REVOKE ALL ON FUNCTION commitopt.job_claim FROM PUBLIC;
REVOKE ALL ON FUNCTION commitopt.job_execute FROM PUBLIC;

-- run_jobs_now(): starts a job worker in this database that runs every
-- runnable job, and waits for it.  The work
-- happens in the worker's transactions, not the caller's.
CREATE FUNCTION commitopt.run_jobs_now()
RETURNS void LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'commitopt_run_jobs_now';
REVOKE ALL ON FUNCTION commitopt.run_jobs_now FROM PUBLIC;

-- A tenant's view of its jobs: status and error of each.
CREATE VIEW commitopt.job_status AS
SELECT tenant_id, job_id, kind, account_id, status, attempts, error, result,
	   created_at, started_at, finished_at
  FROM commitopt.jobs;

-- schedule_defaults(): registers the pg_cron schedules in this database
-- (cron.schedule_in_database, FC-13).  They only queue jobs.  Schedules
-- are UTC only: pg_cron reads cron expressions in GMT (1.4 has no
-- cron.timezone), so no local time is accepted and none moves with DST;
-- each row returned says time_zone = 'UTC'.  Audit retention is scheduled
-- only if commitopt.audit_retention() exists.  Registering again updates
-- the schedules.
-- XXX: only these fixed UTC times; "02:00 Europe/Warsaw" must be written
-- by hand as 0 1 * * * (winter) or 0 0 * * * (summer).
CREATE FUNCTION commitopt.schedule_defaults()
RETURNS TABLE (jobname text, schedule text, time_zone text, command text)
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
		RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'pg_cron runs only in the database named by cron.database_name; install commitopt there and run CREATE EXTENSION pg_cron.';
	END IF;
	time_zone := 'UTC';
	FOR jobname, schedule, command IN
		SELECT * FROM (VALUES
			('commitopt-sync', '0 */6 * * *', 'SELECT commitopt.enqueue_all(''sync_account'')'),
			('commitopt-simulate', '15 2 * * *', 'SELECT commitopt.enqueue_all(''simulate'')'),
			('commitopt-recommend', '45 2 * * *', 'SELECT commitopt.enqueue_all(''recommend'')'),
			('commitopt-audit-retention', '30 3 * * *', 'SELECT commitopt.audit_retention()')) v
		 WHERE v.column1 <> 'commitopt-audit-retention'
			OR to_regproc('commitopt.audit_retention') IS NOT NULL
	LOOP
		EXECUTE 'SELECT cron.schedule_in_database($1, $2, $3, $4)'
			USING jobname, schedule, command, current_database();
		RETURN NEXT;
	END LOOP;
END
$$;
REVOKE ALL ON FUNCTION commitopt.schedule_defaults FROM PUBLIC;
COMMENT ON FUNCTION commitopt.schedule_defaults() IS
	'Registers commitopt''s pg_cron schedules in this database. Schedules are cron expressions in UTC only; local times and DST are not supported.';

-- schedule_health(): each commitopt schedule known to pg_cron, with the
-- database it runs in and the time zone pg_cron reads it in; ok is false
-- for a job of another database (FC-13: a job scheduled with plain
-- cron.schedule would run in cron.database_name instead) or a time zone
-- other than UTC (a pg_cron with cron.timezone set).
CREATE FUNCTION commitopt.schedule_health()
RETURNS TABLE (jobname text, schedule text, database text, time_zone text, ok boolean)
LANGUAGE plpgsql AS $$
BEGIN
	IF to_regclass('cron.job') IS NULL THEN
		RAISE EXCEPTION 'pg_cron is not installed in database %', current_database()
			USING ERRCODE = 'feature_not_supported';
	END IF;
	RETURN QUERY EXECUTE
		'SELECT j.jobname::text, j.schedule::text, j.database::text, z.tz,
				j.database = current_database() AND z.tz IN (''GMT'', ''UTC'', ''Etc/UTC'')
		   FROM cron.job j,
				(SELECT coalesce(current_setting(''cron.timezone'', true), ''GMT'') AS tz) z
		  WHERE j.jobname LIKE ''commitopt-%'' ORDER BY 1';
END
$$;
REVOKE ALL ON FUNCTION commitopt.schedule_health FROM PUBLIC;
COMMENT ON FUNCTION commitopt.schedule_health() IS
	'Each commitopt pg_cron schedule with its database and time zone; ok is false unless it runs in this database, in UTC.';

-- Tenant isolation for the tables of connections, inventory and jobs, as
-- for every tenant table; the job runner and the functions above run as
-- the extension owner.
ALTER TABLE commitopt.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE commitopt.aws_connections ENABLE ROW LEVEL SECURITY;
ALTER TABLE commitopt.aws_instances ENABLE ROW LEVEL SECURITY;
ALTER TABLE commitopt.aws_sync_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE commitopt.aws_inventory_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY jobs_tenant ON commitopt.jobs
	USING (tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant());
CREATE POLICY aws_connections_tenant ON commitopt.aws_connections
	USING (tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant());
CREATE POLICY aws_instances_tenant ON commitopt.aws_instances
	USING (tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant());
CREATE POLICY aws_sync_runs_tenant ON commitopt.aws_sync_runs
	USING (tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant());
CREATE POLICY aws_inventory_history_tenant ON commitopt.aws_inventory_history
	USING (tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant());
REVOKE ALL ON commitopt.jobs, commitopt.aws_instances, commitopt.aws_sync_runs,
	commitopt.aws_inventory_history FROM PUBLIC;

-- What a tenant's own session may read: its jobs (status and error) and
-- its connections (no sealed values), nothing of other tenants.
CREATE VIEW commitopt.my_jobs WITH (security_barrier) AS
SELECT job_id, kind, account_id, status, attempts, error, result,
	   created_at, started_at, finished_at
  FROM commitopt.jobs
 WHERE tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant();
CREATE VIEW commitopt.my_aws_connections WITH (security_barrier) AS
SELECT account_id, region, status, last_error, verified_at, last_sync_at, created_at
  FROM commitopt.aws_connections
 WHERE tenant_id OPERATOR(pg_catalog.=) commitopt.current_tenant();
GRANT SELECT ON commitopt.my_jobs, commitopt.my_aws_connections TO PUBLIC;

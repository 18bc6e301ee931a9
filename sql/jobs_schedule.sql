-- The job queue and the schedules: pg_cron registration where pg_cron is
-- missing (here), queueing that never doubles an open job, one job per
-- account at a time, retries with back-off up to max_attempts, and a
-- tenant-visible status and error per job.  The worker path and the
-- registered cron rows are covered by aws_sync and test/aws/e2e.sh.
SET client_min_messages = warning;
SET timezone = 'UTC';
SELECT commitopt.ensure_tenant('jobs-a', 'Jobs A') AS ta \gset
SELECT commitopt.ensure_tenant('jobs-b', 'Jobs B') AS tb \gset

-- pg_cron lives only in cron.database_name: here it cannot be created, and
-- the helper says so instead of failing obscurely.
\set VERBOSITY default
SELECT * FROM commitopt.schedule_defaults();
\set VERBOSITY terse

-- Queueing: an unknown kind is refused; simulate/recommend go per tenant;
-- a second call while the jobs are open queues nothing new.
SELECT commitopt.enqueue_all('audit');
SELECT commitopt.enqueue_all('simulate') = (SELECT count(*) FROM commitopt.tenants) AS one_per_tenant;
SELECT count(*) AS open_before FROM commitopt.jobs WHERE kind = 'simulate' AND status = 'queued' \gset
SELECT commitopt.enqueue_all('simulate') > 0 AS called_again;
SELECT count(*) = :open_before AS no_duplicates FROM commitopt.jobs
 WHERE kind = 'simulate' AND status = 'queued';
DELETE FROM commitopt.jobs WHERE kind = 'simulate';
-- A job kind needs an account exactly when it is about one.
INSERT INTO commitopt.jobs (tenant_id, kind) VALUES (:'ta', 'sync_account');
SELECT commitopt.enqueue_job(:'ta', 'nonsense');
SELECT commitopt.enqueue_job(:'ta', 'sync_account');
SELECT commitopt.enqueue_job(:'ta', 'simulate', '000000000001');
SELECT * FROM commitopt.schedule_health();

-- One job per account at a time: two jobs of account 1, one of account 2.
SELECT commitopt.enqueue_job(:'ta', 'verify_account', '000000000001') AS j1 \gset
SELECT commitopt.enqueue_job(:'ta', 'sync_account', '000000000001') AS j2 \gset
SELECT commitopt.enqueue_job(:'tb', 'sync_account', '000000000001') AS j3 \gset
BEGIN;
SELECT commitopt.job_claim() = :j1 AS first_claims_j1;
-- j2 is the same account of the same tenant: it waits; j3 (other tenant) runs.
SELECT commitopt.job_claim() = :j3 AS second_claims_j3;
SELECT commitopt.job_claim() IS NULL AS nothing_more;
ROLLBACK;

-- Failures: j2 fails (the account is not registered, no network needed);
-- it is queued again after 30 s, 60 s, 120 s, then fails for good at its
-- 4th attempt.  Each round makes it due now and runs it as the worker does.
DELETE FROM commitopt.jobs WHERE job_id IN (:j1, :j3);
CREATE TEMP TABLE rounds (attempt int, status text, delay interval, error text);
DO $$
DECLARE
	id bigint;
	outcome text;
BEGIN
	FOR i IN 1..4 LOOP
		UPDATE commitopt.jobs SET run_after = now() WHERE status = 'queued';
		id := commitopt.job_claim();
		outcome := commitopt.job_execute(id);
		INSERT INTO rounds
		SELECT attempts, status,
			   CASE WHEN status = 'queued' THEN run_after - finished_at END, error
		  FROM commitopt.jobs WHERE job_id = id;
	END LOOP;
END
$$;
SELECT * FROM rounds;
-- What the tenant sees.
SELECT kind, account_id, status, attempts, error FROM commitopt.job_status
 WHERE tenant_id = :'ta';
-- Executing a job that is not claimed does nothing.
SELECT commitopt.job_execute(:j2) IS NULL AS not_running;

-- A tenant without any usage yet (jobs-a has none): its simulate and
-- recommend jobs succeed with nothing done, and say so.
SELECT commitopt.enqueue_job(:'ta', 'simulate') AS js \gset
SELECT commitopt.enqueue_job(:'ta', 'recommend') AS jr \gset
SELECT commitopt.job_execute(commitopt.job_claim()) AS first,
	   commitopt.job_execute(commitopt.job_claim()) AS second;
SELECT kind, status, result, error FROM commitopt.jobs
 WHERE job_id IN (:js, :jr) ORDER BY kind;
DELETE FROM commitopt.jobs WHERE job_id IN (:js, :jr);

-- A tenant's analyst sees its own jobs (status and error), not another
-- tenant's: through the view and through the table under row-level
-- security alike (B has a queued job too; A's table count is 1).
SELECT commitopt.enqueue_job(:'tb', 'simulate') IS NOT NULL AS b_queued;
CREATE ROLE jobs_nobody LOGIN;
SELECT commitopt.grant_analyst('jobs_nobody', 'jobs-a');
\c - jobs_nobody
SET client_min_messages = warning;
SELECT kind, account_id, status, attempts, error FROM commitopt.my_jobs;
SELECT count(*) FROM commitopt.my_aws_connections;
SELECT count(*) FROM commitopt.jobs;
\c - postgres
SET client_min_messages = warning;
SELECT commitopt.revoke_analyst('jobs_nobody');
-- Only the extension's owner may run or claim jobs and schedules.
SET ROLE jobs_nobody;
SELECT commitopt.job_claim();
SELECT commitopt.run_jobs_now();
SELECT commitopt.schedule_defaults();
SELECT commitopt.enqueue_job(:'ta', 'simulate');
RESET ROLE;
DROP ROLE jobs_nobody;
DELETE FROM commitopt.jobs WHERE tenant_id IN (:'ta', :'tb');

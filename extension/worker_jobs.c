/*-------------------------------------------------------------------------
 *
 * worker_jobs.c
 *	  The job runner: a background worker that runs commitopt.jobs.
 *
 * A static worker ("commitopt job runner") connects to the database named
 * by commitopt.jobs_database and, every commitopt.jobs_naptime or when
 * woken, claims and runs runnable jobs one at a time, each claim and each
 * run in a transaction of its own (98_jobs.sql).  A round that fails (say
 * a table it needs is missing) is logged once and retried after a delay
 * that doubles from 10 s to 60 s, never in a tight loop, and the runner
 * says so once it can run jobs again (FC-14).  When terminated or after a
 * crash it exits with status 1 so that the postmaster starts it again
 * after bgw_restart_time (10 s); a job it was running is queued again by
 * the next claim (commitopt.job_claim()).
 *
 * commitopt.run_jobs_now() starts a dynamic worker of the same kind in
 * the caller's database that drains the runnable jobs and exits; the
 * caller waits for it.  Tests use it; so can operators.  Network calls
 * thus never run in a user's transaction.  With no background worker
 * slot free it warns and leaves the jobs queued, never failing.
 *
 * extension/worker_jobs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "commitopt.h"

PG_FUNCTION_INFO_V1(commitopt_run_jobs_now);

PGDLLEXPORT void commitopt_jobs_main(Datum main_arg);

static char *jobs_database = NULL;
static int	jobs_naptime_s = 10;

#define BACKOFF_MIN_S 10
#define BACKOFF_MAX_S 60
/* run_jobs_now: attempts to get a worker slot, 1 s then 2 s apart */
#define RUN_NOW_ATTEMPTS 3

/*
 * define_jobs_settings registers the settings and, when loaded at server
 * start, the static job runner.
 */
void
define_jobs_settings(void)
{
	BackgroundWorker worker;

	DefineCustomStringVariable("commitopt.jobs_database",
							   "Database whose job queue the job runner serves.",
							   NULL, &jobs_database, "commitopt",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.jobs_naptime",
							"Pause of the job runner between looks at the queue.",
							NULL, &jobs_naptime_s, 10, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;
	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	/*
	 * Back within 10 s after a crash or pg_terminate_backend (FC-14).
	 * XXX: while commitopt.jobs_database does not exist, each start fails
	 * with FATAL, so that is one log line every 10 s.
	 */
	worker.bgw_restart_time = BACKOFF_MIN_S;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "commitopt");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "commitopt_jobs_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "commitopt job runner");
	snprintf(worker.bgw_type, BGW_MAXLEN, "commitopt job runner");
	worker.bgw_main_arg = ObjectIdGetDatum(InvalidOid);
	RegisterBackgroundWorker(&worker);
}

/*
 * run_one_job claims and runs one job, each step committed on its own.
 * Returns false when nothing was runnable.
 */
static bool
run_one_job(void)
{
	bool		isnull = true;
	Datum		id = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "claiming a commitopt job");
	if (SPI_execute("SELECT commitopt.job_claim()", false, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	if (isnull)
	{
		pgstat_report_activity(STATE_IDLE, NULL);
		return false;
	}

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "running a commitopt job");
	{
		Oid			types[1] = {INT8OID};
		Datum		args[1] = {id};

		SPI_execute_with_args("SELECT commitopt.job_execute($1)", 1, types, args,
							  NULL, false, 1);
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return true;
}

/*
 * run_round runs jobs until none is runnable, catching an error so the
 * worker survives it; returns the number run, or -1 after an error, which
 * it logs in one line saying when the next attempt comes (retry_s, or
 * never for a one-shot worker: 0).
 */
static int
run_round(int retry_s)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile int n = 0;

	PG_TRY();
	{
		while (run_one_job())
		{
			n++;
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		if (SPI_inside_nonatomic_context())
			SPI_finish();
		if (retry_s > 0)
			ereport(LOG,
					(errmsg("commitopt job runner could not run jobs, trying again in %d s: %s",
							retry_s, edata->message)));
		else
			ereport(LOG,
					(errmsg("commitopt job runner could not run jobs: %s",
							edata->message)));
		FreeErrorData(edata);
		n = -1;
	}
	PG_END_TRY();
	return n;
}

/*
 * runner_wait sleeps secs seconds, handling SIGHUP and SIGTERM.  With
 * whole set, other wake-ups (a reload, a stray latch) do not cut the
 * sleep short: a back-off stays a back-off.
 */
static void
runner_wait(int secs, bool whole)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													secs * 1000);

	for (;;)
	{
		long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
														 until);

		if (ms <= 0)
			break;
		/* postmaster death ends the worker */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!whole)
			break;
	}
}

/*
 * commitopt_jobs_main: the worker's entry point.  main_arg is the database
 * of a dynamic one-shot worker, or InvalidOid for the static runner.
 */
void
commitopt_jobs_main(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);
	int			backoff = BACKOFF_MIN_S;
	bool		failing = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (OidIsValid(dboid))
	{
		int			n;

		BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
		n = run_round(0);
		proc_exit(n < 0 ? 1 : 0);
	}

	BackgroundWorkerInitializeConnection(jobs_database, NULL, 0);
	ereport(LOG, (errmsg("commitopt job runner started in database \"%s\"",
						 jobs_database)));
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (run_round(backoff) < 0)
		{
			/* run_round logged it: one line per attempt (FC-14) */
			failing = true;
			runner_wait(backoff, true);
			backoff = Min(backoff * 2, BACKOFF_MAX_S);
			continue;
		}
		if (failing)
			ereport(LOG,
					(errmsg("commitopt job runner runs jobs again")));
		failing = false;
		backoff = BACKOFF_MIN_S;
		/* the latch (a reload) wakes us early */
		runner_wait(jobs_naptime_s, false);
	}
}

/*
 * commitopt_run_jobs_now starts a one-shot job worker in this database
 * and waits until it has drained the queue.  It must not be called inside
 * a transaction that queued jobs, since the worker could not see them.
 *
 * When no background worker slot is free it tries again after 1 s and
 * 2 s, then gives up with a WARNING, never an error: the jobs stay queued
 * for the job runner or a later call (FC-14).
 */
Datum
commitopt_run_jobs_now(PG_FUNCTION_ARGS)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle = NULL;
	BgwHandleStatus status;
	pid_t		pid;
	int			attempt;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "commitopt");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "commitopt_jobs_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "commitopt job runner (one-shot)");
	snprintf(worker.bgw_type, BGW_MAXLEN, "commitopt job runner");
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = MyProcPid;

	for (attempt = 0; attempt < RUN_NOW_ATTEMPTS; attempt++)
	{
		if (attempt > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 1000L << (attempt - 1), PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (RegisterDynamicBackgroundWorker(&worker, &handle))
			break;
		handle = NULL;
	}
	if (handle == NULL)
	{
		char	   *db = get_database_name(MyDatabaseId);

		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start a commitopt job worker: no background worker slot is free after %d attempts",
						RUN_NOW_ATTEMPTS),
				 errdetail("The queued jobs stay queued."),
				 (db && jobs_database && strcmp(db, jobs_database) == 0) ?
				 errhint("The job runner runs them within commitopt.jobs_naptime; or call commitopt.run_jobs_now() again later, or raise max_worker_processes.") :
				 errhint("Call commitopt.run_jobs_now() again later, or raise max_worker_processes.")));
		PG_RETURN_VOID();
	}
	status = WaitForBackgroundWorkerStartup(handle, &pid);
	if (status != BGWH_STARTED && status != BGWH_STOPPED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("commitopt job worker did not start")));
	status = WaitForBackgroundWorkerShutdown(handle);
	if (status != BGWH_STOPPED)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("postmaster died while the commitopt job worker ran")));
	PG_RETURN_VOID();
}

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
 * that doubles from 10 s to 60 s, never in a tight loop (FC-14).  When
 * terminated or after a crash it exits with status 1 so that the
 * postmaster starts it again after bgw_restart_time (10 s).
 *
 * commitopt.run_jobs_now() starts a dynamic worker of the same kind in
 * the caller's database that drains the runnable jobs and exits; the
 * caller waits for it.  Tests use it; so can operators.  Network calls
 * thus never run in a user's transaction.
 *
 * extension/worker_jobs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
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

#include "commitopt.h"

PG_FUNCTION_INFO_V1(commitopt_run_jobs_now);

PGDLLEXPORT void commitopt_jobs_main(Datum main_arg);

static char *jobs_database = NULL;
static int	jobs_naptime_s = 10;

#define BACKOFF_MIN_S 10
#define BACKOFF_MAX_S 60

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
 * worker survives it; returns the number run, or -1 after an error.
 */
static int
run_round(void)
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
		ereport(LOG,
				(errmsg("commitopt job runner could not run jobs: %s", edata->message)));
		FreeErrorData(edata);
		n = -1;
	}
	PG_END_TRY();
	return n;
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

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (OidIsValid(dboid))
	{
		int			n;

		BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
		n = run_round();
		proc_exit(n < 0 ? 1 : 0);
	}

	BackgroundWorkerInitializeConnection(jobs_database, NULL, 0);
	ereport(LOG, (errmsg("commitopt job runner started in database \"%s\"",
						 jobs_database)));
	for (;;)
	{
		int			n;
		int			wait_s;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		n = run_round();
		if (n < 0)
		{
			wait_s = backoff;
			backoff = Min(backoff * 2, BACKOFF_MAX_S);
		}
		else
		{
			wait_s = jobs_naptime_s;
			backoff = BACKOFF_MIN_S;
		}
		/* the latch wakes us early; postmaster death ends the worker */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait_s * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * commitopt_run_jobs_now starts a one-shot job worker in this database
 * and waits until it has drained the queue.  It must not be called inside
 * a transaction that queued jobs, since the worker could not see them.
 */
Datum
commitopt_run_jobs_now(PG_FUNCTION_ARGS)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	pid_t		pid;

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

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start a commitopt job worker"),
				 errhint("Raise max_worker_processes; the queued jobs stay queued.")));
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

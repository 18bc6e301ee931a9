/*-------------------------------------------------------------------------
 *
 * worker_sessions.c
 *	  Background worker that removes ended console sessions.
 *
 * Ended sessions are refused the moment they end whether or not a row is
 * left behind (the check compares times, see 90_identity.sql), so this
 * worker only keeps the sessions table small: every
 * commitopt.session_reaper_interval it deletes sessions that ended, and
 * failed-login records older than any window that counts them, in the
 * database commitopt.session_reaper_database.  A database without the
 * extension is skipped quietly.
 *
 * It follows the usual conventions of a worker: SIGHUP sets a flag and the
 * loop rereads the configuration; SIGTERM ends it at the next safe point
 * (die); it sleeps only in WaitLatch and leaves when the postmaster dies.
 * After a crash the postmaster starts it again after bgw_restart_time.
 * Housekeeping crosses tenants, so it runs as the bootstrap superuser, the
 * one exception to row-level security that the design allows for workers.
 *
 * extension/worker_sessions.c
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
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "commitopt.h"

/* seconds the postmaster waits before starting a crashed worker again */
#define SESSION_WORKER_RESTART_SECS 30

static char *reaper_database = NULL;
static int	reaper_interval = 60;

PGDLLEXPORT void commitopt_session_worker_main(Datum main_arg);

/*
 * define_session_worker registers the worker's settings and, when the
 * library is preloaded, the worker itself; called from _PG_init.
 */
void
define_session_worker(void)
{
	BackgroundWorker worker;

	DefineCustomStringVariable("commitopt.session_reaper_database",
							   "Database in which the session reaper removes ended sessions.",
							   NULL, &reaper_database, "commitopt",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.session_reaper_interval",
							"Time between two runs of the session reaper.",
							NULL, &reaper_interval, 60, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = SESSION_WORKER_RESTART_SECS;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "commitopt");
	snprintf(worker.bgw_function_name, BGW_MAXLEN,
			 "commitopt_session_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "commitopt session reaper");
	snprintf(worker.bgw_type, BGW_MAXLEN, "commitopt session reaper");
	RegisterBackgroundWorker(&worker);
}

/*
 * reap_once runs one round in its own transaction: it removes what
 * commitopt.sessions_reap() finds ended, if the extension is installed.
 */
static void
reap_once(void)
{
	int			ret;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "reaping ended sessions");

	ret = SPI_execute("SELECT to_regprocedure('commitopt.sessions_reap()') IS NOT NULL",
					  true, 1);
	if (ret == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		bool		installed;

		installed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1,
											   &isnull));
		if (installed)
		{
			ret = SPI_execute("SELECT commitopt.sessions_reap()", false, 1);
			if (ret != SPI_OK_SELECT)
				elog(ERROR, "commitopt.sessions_reap() failed: %d", ret);
			elog(DEBUG1, "commitopt session reaper: round done");
		}
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * commitopt_session_worker_main is the worker's entry point.
 */
void
commitopt_session_worker_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(reaper_database, NULL, 0);

	for (;;)
	{
		/*
		 * Sleep first: at start-up the server has better things to do, and
		 * after a crash the wait is part of the back-off.
		 */
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 reaper_interval * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		reap_once();
	}
}

/*-------------------------------------------------------------------------
 *
 * worker_sessions.c
 *	  Background workers that remove ended console sessions.
 *
 * Ended sessions are refused the moment they end whether or not a row is
 * left behind (the check compares times, see 90_identity.sql), so this
 * work only keeps the sessions table small: every
 * commitopt.session_reaper_interval the reaper deletes sessions that ended,
 * and failed-login records older than any window that counts them, in the
 * database commitopt.session_reaper_database.  A database without the
 * extension is skipped quietly.
 *
 * Two workers share the job, because a worker connects to one database for
 * life and a missing database would make a plain worker fail at every
 * start (a FATAL each restart interval):
 *  - the supervisor (registered at server start, connected to no database)
 *    waits until the database exists, saying so once at LOG, and then runs
 *    the reaper as a dynamic worker.  When the reaper stops without being
 *    asked to (an error, a crash, a terminated backend), it is started
 *    again after a back-off: 10 s, doubling up to 60 s, back to 10 s once a
 *    reaper has lived longer than the longest back-off (FC-14).
 *  - the reaper (connected to the database) runs the rounds.
 *
 * Both follow the usual conventions of a worker: SIGHUP sets a flag and the
 * loop rereads the configuration; SIGTERM ends them at the next safe point
 * (die); they sleep only in WaitLatch and leave when the postmaster dies.
 * Housekeeping crosses tenants, so the reaper runs as the bootstrap
 * superuser, the one exception to row-level security that the design
 * allows for workers.
 *
 * extension/worker_sessions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_database.h"
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
#include "utils/timestamp.h"

#include "commitopt.h"

/* seconds the postmaster waits before starting a crashed supervisor again */
#define SUPERVISOR_RESTART_SECS 60
/* the reaper's restart back-off: first and longest wait, in seconds */
#define REAPER_BACKOFF_MIN_SECS 10
#define REAPER_BACKOFF_MAX_SECS 60

static char *reaper_database = NULL;
static int	reaper_interval = 60;

PGDLLEXPORT void commitopt_session_worker_main(Datum main_arg);
PGDLLEXPORT void commitopt_session_supervisor_main(Datum main_arg);

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
	worker.bgw_restart_time = SUPERVISOR_RESTART_SECS;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "commitopt");
	snprintf(worker.bgw_function_name, BGW_MAXLEN,
			 "commitopt_session_supervisor_main");
	snprintf(worker.bgw_name, BGW_MAXLEN,
			 "commitopt session reaper supervisor");
	snprintf(worker.bgw_type, BGW_MAXLEN,
			 "commitopt session reaper supervisor");
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
 * commitopt_session_worker_main is the reaper's entry point (a dynamic
 * worker started by the supervisor, which checked that the database
 * exists).
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
		 * Sleep first: at start-up the server has better things to do.
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

/*
 * database_exists says whether the reaper's database exists, reading the
 * shared catalog pg_database (the supervisor has no database of its own).
 */
static bool
database_exists(const char *name)
{
	bool		found = false;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	/*
	 * A plain scan, as the autovacuum launcher does: without a database,
	 * index lookups (get_database_oid) would need pg_class.
	 */
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (!found &&
		   (tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		found = strcmp(NameStr(db->datname), name) == 0;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return found;
}

/*
 * start_reaper starts the reaper as a dynamic worker that notifies us when
 * it starts and stops; NULL when no worker slot is free.
 */
static BackgroundWorkerHandle *
start_reaper(void)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	/* restarts are ours to pace */
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	worker.bgw_notify_pid = MyProcPid;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "commitopt");
	snprintf(worker.bgw_function_name, BGW_MAXLEN,
			 "commitopt_session_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "commitopt session reaper");
	snprintf(worker.bgw_type, BGW_MAXLEN, "commitopt session reaper");
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	return handle;
}

/*
 * supervisor_sleep waits up to secs seconds (less if the latch is set),
 * handling SIGHUP and SIGTERM.
 */
static void
supervisor_sleep(long secs)
{
	(void) WaitLatch(MyLatch,
					 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 secs * 1000L, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * supervisor_backoff waits a whole back-off of secs seconds: other wake-ups
 * (a reload) do not cut it short.
 */
static void
supervisor_backoff(int secs)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													secs * 1000);

	for (;;)
	{
		long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
														 until);

		if (ms <= 0)
			break;
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}

/*
 * commitopt_session_supervisor_main is the supervisor's entry point: wait
 * for the database, run the reaper, start it again after a back-off when
 * it stops.
 */
void
commitopt_session_supervisor_main(Datum main_arg)
{
	bool		said_missing = false;
	int			backoff = REAPER_BACKOFF_MIN_SECS;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* no database: only the shared catalogs, enough to find the database */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	for (;;)
	{
		BackgroundWorkerHandle *handle;
		TimestampTz started;
		pid_t		pid;

		if (!database_exists(reaper_database))
		{
			if (!said_missing)
				ereport(LOG,
						(errmsg("commitopt session reaper waits for database \"%s\", which does not exist",
								reaper_database),
						 errhint("Create the database, or set commitopt.session_reaper_database to one that exists.")));
			said_missing = true;
			supervisor_sleep(reaper_interval);
			continue;
		}
		if (said_missing)
			ereport(LOG,
					(errmsg("commitopt session reaper found database \"%s\"",
							reaper_database)));
		said_missing = false;

		handle = start_reaper();
		if (handle == NULL)
		{
			ereport(LOG,
					(errmsg("commitopt session reaper could not start: no background worker slot is free"),
					 errhint("Raise max_worker_processes.")));
			supervisor_backoff(backoff);
			backoff = Min(backoff * 2, REAPER_BACKOFF_MAX_SECS);
			continue;
		}
		started = GetCurrentTimestamp();

		/* the postmaster sets our latch when the reaper starts or stops */
		while (GetBackgroundWorkerPid(handle, &pid) != BGWH_STOPPED)
			supervisor_sleep(reaper_interval);
		pfree(handle);

		/* a reaper that lived long enough was healthy: start afresh */
		if (TimestampDifferenceExceeds(started, GetCurrentTimestamp(),
									   REAPER_BACKOFF_MAX_SECS * 1000))
			backoff = REAPER_BACKOFF_MIN_SECS;
		ereport(LOG,
				(errmsg("commitopt session reaper stopped; starting it again in %d s",
						backoff)));
		supervisor_backoff(backoff);
		backoff = Min(backoff * 2, REAPER_BACKOFF_MAX_SECS);
	}
}

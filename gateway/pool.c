/*
 * pool.c: a fixed pool of libpq connections driven asynchronously on the
 * gateway's libevent loop.
 *
 * Each connection is a small state machine (down -> connecting ->
 * preparing -> idle <-> busy); its socket is watched with one event whose
 * direction follows what libpq asks for, so no call ever blocks the loop
 * and one slow query holds only its own connection.  Requests that find no
 * idle connection wait in a bounded FIFO queue; when the queue is full the
 * caller answers 503.  A connection that fails is closed and reopened
 * after a back-off that doubles from 100 ms to 5 s; while no connection is
 * up, submissions fail at once so clients get 503 quickly, and the pool
 * recovers by itself when the server returns.
 *
 * Every request runs one prepared statement with bind parameters, so no
 * client data is ever spliced into SQL text, and with
 * log_parameter_max_length = 0 on the gateway's role, the server log never
 * shows the parameters (tokens, passwords).  The statement timeout is set
 * per connection through the startup options.  The statement expands the
 * returned headers object into rows, one per header value, so the gateway
 * needs no JSON parser; a JSON array value becomes several headers of the
 * same name (Set-Cookie).
 *
 * XXX: libpq does the TLS handshake to the database (and reads sslrootcert)
 * inside PQconnectPoll on the event loop; with a large CA bundle each
 * reconnect costs the loop a few milliseconds.
 */
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "log.h"

#define DISPATCH_SQL \
	"SELECT d.status, h.name, h.value, d.body" \
	"  FROM api.dispatch($1, $2, $3, $4::jsonb, $5, $6::inet) AS d" \
	"  LEFT JOIN LATERAL (" \
	"    SELECT e.key AS name, v.value" \
	"      FROM pg_catalog.jsonb_each(d.headers) AS e," \
	"           pg_catalog.jsonb_array_elements_text(" \
	"             CASE WHEN pg_catalog.jsonb_typeof(e.value) = 'array'" \
	"                  THEN e.value" \
	"                  ELSE pg_catalog.jsonb_build_array(e.value) END" \
	"           ) AS v(value)) AS h ON true"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

typedef enum
{
	PC_DOWN,
	PC_CONNECTING,
	PC_PREPARING,
	PC_IDLE,
	PC_BUSY
} pc_state;

typedef struct pconn
{
	int			idx;
	PGconn	   *pg;
	pc_state	state;
	struct event *io;			/* the socket, in the direction libpq needs */
	struct event *retry;		/* back-off timer while down */
	int			backoff_ms;
	bool		flushing;		/* query not fully sent yet */
	gw_job	   *job;
	PGresult   *first;			/* first result of the current job */
} pconn;

static struct
{
	struct event_base *base;
	char	   *conninfo;
	pconn	   *conns;
	int			size;
	int			up;				/* connections idle or busy */
	gw_job	   *qhead;
	gw_job	   *qtail;
	int			qlen;
	int			qmax;
	bool		stopping;
} pool;

static void pc_io_cb(evutil_socket_t fd, short what, void *arg);
static void pc_connect(pconn *pc);
static void pc_dispatch_next(pconn *pc);

/* Watches the connection's socket for what (EV_READ and/or EV_WRITE). */
static void
pc_watch(pconn *pc, short what)
{
	event_del(pc->io);
	event_assign(pc->io, pool.base, PQsocket(pc->pg), what, pc_io_cb, pc);
	event_add(pc->io, NULL);
}

/* Finishes a job: hands it back to its owner, or frees it if none. */
static void
job_finish(gw_job *job, gw_job_outcome outcome)
{
	job->outcome = outcome;
	job->done(job);
}

/* Frees a job and what the pool attached to it. */
void
gw_job_free(gw_job *job)
{
	for (int i = 0; i < 6; i++)
		free(job->params[i]);
	gw_headers_free(&job->headers);
	free(job->body);
	free(job);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	pc_connect((pconn *) arg);
}

/*
 * Gives up on a connection: fails its job, closes it, and schedules a new
 * attempt.  When the last connection goes, waiting requests get 503 now
 * rather than after their statement timeout.
 */
static void
pc_fail(pconn *pc, const char *why)
{
	struct timeval tv;
	bool		was_up = pc->state == PC_IDLE || pc->state == PC_BUSY;
	char		msg[256];

	snprintf(msg, sizeof(msg), "%s", pc->pg ? PQerrorMessage(pc->pg) : "");
	msg[strcspn(msg, "\n")] = '\0';
	gw_log("warning", "database connection %d: %s%s%s; retrying in %d ms",
		   pc->idx, why, msg[0] ? ": " : "", msg, pc->backoff_ms);

	event_del(pc->io);
	if (pc->first)
		PQclear(pc->first);
	pc->first = NULL;
	if (pc->pg)
		PQfinish(pc->pg);
	pc->pg = NULL;
	pc->state = PC_DOWN;
	pc->flushing = false;
	if (was_up)
		pool.up--;
	if (pc->job)
	{
		gw_job	   *job = pc->job;

		pc->job = NULL;
		job_finish(job, GW_JOB_UNAVAILABLE);
	}
	if (pool.up == 0)
		while (pool.qhead)
		{
			gw_job	   *job = pool.qhead;

			pool.qhead = job->next;
			pool.qlen--;
			job_finish(job, GW_JOB_UNAVAILABLE);
		}
	if (pool.qhead == NULL)
		pool.qtail = NULL;

	if (pool.stopping)
		return;
	tv.tv_sec = pc->backoff_ms / 1000;
	tv.tv_usec = (pc->backoff_ms % 1000) * 1000;
	evtimer_add(pc->retry, &tv);
	pc->backoff_ms *= 2;
	if (pc->backoff_ms > BACKOFF_MAX_MS)
		pc->backoff_ms = BACKOFF_MAX_MS;
}

/* Starts a non-blocking connection attempt. */
static void
pc_connect(pconn *pc)
{
	pc->pg = PQconnectStart(pool.conninfo);
	if (pc->pg == NULL || PQstatus(pc->pg) == CONNECTION_BAD ||
		PQsetnonblocking(pc->pg, 1) != 0)
	{
		pc_fail(pc, "could not start connection");
		return;
	}
	pc->state = PC_CONNECTING;
	/* libpq: behave as if the last poll returned PGRES_POLLING_WRITING */
	pc_watch(pc, EV_WRITE);
}

/* Sends what libpq still buffers; watches for writability if needed. */
static bool
pc_flush(pconn *pc)
{
	int			r = PQflush(pc->pg);

	if (r < 0)
	{
		pc_fail(pc, "could not send to the server");
		return false;
	}
	pc->flushing = r == 1;
	pc_watch(pc, pc->flushing ? EV_READ | EV_WRITE : EV_READ);
	return true;
}

/* Maps a failed result to an outcome by its SQLSTATE class. */
static gw_job_outcome
classify_error(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (state == NULL)
		return GW_JOB_FAILED;
	if (strcmp(state, "57014") == 0)
		return GW_JOB_TIMEOUT;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
		strcmp(state, "53300") == 0)
		return GW_JOB_UNAVAILABLE;
	if (strncmp(state, "22", 2) == 0)
		return GW_JOB_BAD_INPUT;
	return GW_JOB_FAILED;
}

/* Copies the dispatch rows into the job; false if they are malformed. */
static bool
read_rows(gw_job *job, const PGresult *res)
{
	int			n = PQntuples(res);

	if (n < 1 || PQnfields(res) != 4 || PQgetisnull(res, 0, 0))
		return false;
	job->status = atoi(PQgetvalue(res, 0, 0));
	if (job->status < 100 || job->status > 599)
		return false;
	for (int i = 0; i < n; i++)
	{
		if (PQgetisnull(res, i, 1) || PQgetisnull(res, i, 2))
			continue;
		gw_headers_add(&job->headers, PQgetvalue(res, i, 1),
					   PQgetlength(res, i, 1), PQgetvalue(res, i, 2),
					   PQgetlength(res, i, 2));
	}
	if (!PQgetisnull(res, 0, 3))
	{
		job->body_len = PQgetlength(res, 0, 3);
		job->body = malloc(job->body_len + 1);
		if (job->body == NULL)
			abort();
		memcpy(job->body, PQgetvalue(res, 0, 3), job->body_len + 1);
	}
	return true;
}

/* All results of the current command are in: finish the step. */
static void
pc_command_done(pconn *pc)
{
	PGresult   *res = pc->first;

	pc->first = NULL;
	if (pc->state == PC_PREPARING)
	{
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			gw_log("error", "database connection %d: could not prepare the dispatch statement: %s",
				   pc->idx, res ? PQresultErrorMessage(res) : "no result");
			PQclear(res);
			pc_fail(pc, "prepare failed");
			return;
		}
		PQclear(res);
		pc->state = PC_IDLE;
		pc->backoff_ms = BACKOFF_MIN_MS;
		pool.up++;
		gw_log("info", "database connection %d ready", pc->idx);
		pc_dispatch_next(pc);
		return;
	}

	/* PC_BUSY */
	{
		gw_job	   *job = pc->job;
		gw_job_outcome out;

		/* Stay PC_BUSY until the owner has the result, so that nothing it
		 * submits meanwhile lands on this connection twice. */
		pc->job = NULL;
		if (res == NULL)
			out = GW_JOB_FAILED;
		else if (PQresultStatus(res) == PGRES_TUPLES_OK)
			out = read_rows(job, res) ? GW_JOB_OK : GW_JOB_FAILED;
		else if (PQstatus(pc->pg) != CONNECTION_OK)
			out = GW_JOB_UNAVAILABLE;
		else
		{
			out = classify_error(res);
			if (out == GW_JOB_FAILED)
				gw_log("error", "api.dispatch failed: SQLSTATE %s",
					   PQresultErrorField(res, PG_DIAG_SQLSTATE) ?
					   PQresultErrorField(res, PG_DIAG_SQLSTATE) : "?");
		}
		PQclear(res);
		if (out == GW_JOB_OK && job->status >= 500)
			gw_log("warning", "api.dispatch returned status %d", job->status);
		job_finish(job, out);
		if (PQstatus(pc->pg) != CONNECTION_OK)
		{
			pc_fail(pc, "connection lost");
			return;
		}
		pc->state = PC_IDLE;
		pc_dispatch_next(pc);
	}
}

/* Socket event: advance whatever the connection is doing. */
static void
pc_io_cb(evutil_socket_t fd, short what, void *arg)
{
	pconn	   *pc = arg;

	if (pc->state == PC_CONNECTING)
	{
		switch (PQconnectPoll(pc->pg))
		{
			case PGRES_POLLING_READING:
				pc_watch(pc, EV_READ);
				return;
			case PGRES_POLLING_WRITING:
				pc_watch(pc, EV_WRITE);
				return;
			case PGRES_POLLING_OK:
				if (!PQsendPrepare(pc->pg, "dispatch", DISPATCH_SQL, 6, NULL))
				{
					pc_fail(pc, "could not send prepare");
					return;
				}
				pc->state = PC_PREPARING;
				pc_flush(pc);
				return;
			default:
				pc_fail(pc, "could not connect");
				return;
		}
	}

	if (pc->state == PC_IDLE)
	{
		/* Nothing expected: a notice, or the server closing on us. */
		if (!PQconsumeInput(pc->pg) || PQstatus(pc->pg) != CONNECTION_OK)
			pc_fail(pc, "connection closed by the server");
		else
			pc_watch(pc, EV_READ);
		return;
	}

	if ((what & EV_WRITE) && pc->flushing)
	{
		if (!pc_flush(pc))
			return;
	}
	if (!(what & EV_READ))
	{
		pc_watch(pc, pc->flushing ? EV_READ | EV_WRITE : EV_READ);
		return;
	}
	if (!PQconsumeInput(pc->pg))
	{
		pc_fail(pc, "connection lost");
		return;
	}
	while (!PQisBusy(pc->pg))
	{
		PGresult   *res = PQgetResult(pc->pg);

		if (res == NULL)
		{
			pc_command_done(pc);
			return;
		}
		if (pc->first == NULL)
			pc->first = res;
		else
			PQclear(res);
	}
	/* events are one-shot: wait for the rest of the answer */
	pc_watch(pc, pc->flushing ? EV_READ | EV_WRITE : EV_READ);
}

/* Gives an idle connection the next queued job, if any. */
static void
pc_dispatch_next(pconn *pc)
{
	gw_job	   *job = pool.qhead;

	if (job == NULL)
	{
		pc_watch(pc, EV_READ);	/* notice a server-side close */
		return;
	}
	pool.qhead = job->next;
	if (pool.qhead == NULL)
		pool.qtail = NULL;
	pool.qlen--;
	job->next = NULL;

	if (!PQsendQueryPrepared(pc->pg, "dispatch", 6,
							 (const char *const *) job->params, NULL, NULL, 0))
	{
		pc->job = job;
		pc->state = PC_BUSY;
		pc_fail(pc, "could not send query");
		return;
	}
	pc->job = job;
	pc->state = PC_BUSY;
	pc_flush(pc);
}

/*
 * Refuses a remote database link that is not verified TLS: over TCP the
 * connection string must say sslmode=verify-full (a Unix socket path as
 * host is local and needs nothing).
 */
int
gw_pool_check_conninfo(const char *conninfo, char *err, size_t errlen)
{
	char	   *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
	const char *host = NULL;
	const char *hostaddr = NULL;
	const char *sslmode = NULL;
	int			rc = 0;

	if (opts == NULL)
	{
		snprintf(err, errlen, "invalid database connection string: %s",
				 perr ? perr : "out of memory");
		PQfreemem(perr);
		return -1;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
	{
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "sslmode") == 0)
			sslmode = o->val;
	}
	/* XXX: a multi-host list is judged by its first entry only */
	if ((hostaddr && hostaddr[0]) ||
		(host && host[0] && host[0] != '/' && host[0] != '@'))
	{
		if (sslmode == NULL || strcmp(sslmode, "verify-full") != 0)
		{
			snprintf(err, errlen,
					 "a database over TCP needs sslmode=verify-full in the connection string");
			rc = -1;
		}
	}
	else if (host == NULL || host[0] == '\0')
	{
		snprintf(err, errlen,
				 "the database connection string must name host (a Unix socket directory, or a TCP host with sslmode=verify-full)");
		rc = -1;
	}
	PQconninfoFree(opts);
	return rc;
}

/*
 * Opens the pool.  The statement timeout rides on the startup options so
 * that it holds for every statement of every connection.
 */
int
gw_pool_start(struct event_base *base, const char *conninfo, int size,
			  int queue_size, int statement_timeout_ms)
{
	char		extra[256];
	size_t		n;

	snprintf(extra, sizeof(extra),
			 " options='-c statement_timeout=%d' application_name=commitopt-gateway",
			 statement_timeout_ms);
	n = strlen(conninfo) + strlen(extra) + 1;
	pool.conninfo = malloc(n);
	if (pool.conninfo == NULL)
		abort();
	snprintf(pool.conninfo, n, "%s%s", conninfo, extra);
	pool.base = base;
	pool.size = size;
	pool.qmax = queue_size;
	pool.conns = calloc(size, sizeof(pconn));
	if (pool.conns == NULL)
		abort();
	for (int i = 0; i < size; i++)
	{
		pconn	   *pc = &pool.conns[i];

		pc->idx = i;
		pc->backoff_ms = BACKOFF_MIN_MS;
		pc->io = event_new(base, -1, 0, pc_io_cb, pc);
		pc->retry = evtimer_new(base, retry_cb, pc);
		pc_connect(pc);
	}
	return 0;
}

bool
gw_pool_is_up(void)
{
	return pool.up > 0;
}

/*
 * Runs a job on an idle connection, or queues it.  On anything but
 * GW_SUBMIT_OK the caller still owns the job and answers 503 itself.
 */
gw_submit
gw_pool_submit(gw_job *job)
{
	if (pool.up == 0 || pool.stopping)
		return GW_SUBMIT_DOWN;
	if (pool.qlen >= pool.qmax)
	{
		/* The queue may only be full if no connection is idle. */
		bool		idle = false;

		for (int i = 0; i < pool.size && !idle; i++)
			idle = pool.conns[i].state == PC_IDLE;
		if (!idle)
			return GW_SUBMIT_QUEUE_FULL;
	}
	job->next = NULL;
	if (pool.qtail)
		pool.qtail->next = job;
	else
		pool.qhead = job;
	pool.qtail = job;
	pool.qlen++;
	for (int i = 0; i < pool.size; i++)
		if (pool.conns[i].state == PC_IDLE)
		{
			pc_dispatch_next(&pool.conns[i]);
			break;
		}
	return GW_SUBMIT_OK;
}

/*
 * The owner of a queued job went away: drop and free it, and return true.
 * A job that is already running cannot be recalled (false): the owner
 * clears job->owner and its done callback frees the job when the result
 * arrives.
 */
bool
gw_pool_cancel(gw_job *job)
{
	gw_job	  **pp = &pool.qhead;
	gw_job	   *prev = NULL;

	while (*pp && *pp != job)
	{
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp == NULL)
		return false;
	*pp = job->next;
	if (pool.qtail == job)
		pool.qtail = prev;
	pool.qlen--;
	gw_job_free(job);
	return true;
}

/* Closes every connection (at shutdown, once no job is in flight). */
void
gw_pool_stop(void)
{
	pool.stopping = true;
	for (int i = 0; i < pool.size; i++)
	{
		pconn	   *pc = &pool.conns[i];

		if (pc->job)
		{
			gw_job	   *job = pc->job;

			pc->job = NULL;
			job_finish(job, GW_JOB_UNAVAILABLE);
		}
		if (pc->first)
			PQclear(pc->first);
		if (pc->pg)
			PQfinish(pc->pg);
		event_free(pc->io);
		event_free(pc->retry);
	}
	while (pool.qhead)
	{
		gw_job	   *job = pool.qhead;

		pool.qhead = job->next;
		job_finish(job, GW_JOB_UNAVAILABLE);
	}
	free(pool.conns);
	free(pool.conninfo);
	pool.conns = NULL;
	pool.conninfo = NULL;
	pool.size = 0;
	pool.up = 0;
}

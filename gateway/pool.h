/*
 * pool.h: a pool of asynchronous libpq connections calling api.dispatch.
 */
#ifndef GW_POOL_H
#define GW_POOL_H

#include <stdbool.h>
#include <event2/event.h>

#include "request.h"

typedef enum gw_job_outcome
{
	GW_JOB_OK,					/* status/headers/body are set */
	GW_JOB_UNAVAILABLE,			/* database down or connection lost: 503 */
	GW_JOB_TIMEOUT,				/* statement timeout: 503 */
	GW_JOB_BAD_INPUT,			/* data exception on our input: 400 */
	GW_JOB_FAILED				/* any other database error: 500 */
} gw_job_outcome;

typedef struct gw_job gw_job;
typedef void (*gw_job_done) (gw_job *job);

struct gw_job
{
	/* filled by the caller */
	char	   *params[6];		/* method, path, query, headers, body, addr;
								 * owned by the job (malloc'd or NULL) */
	gw_job_done done;			/* called once, on the event loop */
	void	   *owner;			/* the connection; NULL once it is gone */

	/* filled by the pool */
	gw_job_outcome outcome;
	int			status;
	gw_headers	headers;
	char	   *body;
	size_t		body_len;

	gw_job	   *next;			/* queue link */
};

typedef enum gw_submit
{
	GW_SUBMIT_OK,
	GW_SUBMIT_QUEUE_FULL,
	GW_SUBMIT_DOWN
} gw_submit;

extern int	gw_pool_start(struct event_base *base, const char *conninfo,
						  int size, int queue_size, int statement_timeout_ms);
extern gw_submit gw_pool_submit(gw_job *job);
extern bool gw_pool_cancel(gw_job *job);
extern bool gw_pool_is_up(void);
extern void gw_pool_stop(void);
extern void gw_job_free(gw_job *job);
extern int	gw_pool_check_conninfo(const char *conninfo, char *err,
								   size_t errlen);

#endif

/*
 * log.h: the gateway's logging (one JSON line per event).
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include <stddef.h>

#include "buf.h"

/* Opens the log file ("-" or NULL is standard error). */
extern int	gw_log_open(const char *path);
extern void gw_log_close(void);

/* An operational message: level is "info", "warning" or "error". */
extern void gw_log(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The access-log line of one request. */
extern void gw_log_access(const char *request_id, const char *method,
						  const char *route, const char *query,
						  int status, double duration_ms,
						  const char *client);

#endif

/*
 * log.c: the gateway's log, one JSON object per line.
 *
 * Two kinds of line go to the same stream: access lines (one per request:
 * time, request id, method, route, status, duration, client address) and
 * operational messages.  What never appears here, by construction: request
 * headers (so no Authorization or Cookie), bodies (so no password or
 * token), and query-string values, which callers pass already redacted.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static FILE *log_fp;

/* Opens path for appending; "-" or NULL keeps standard error. */
int
gw_log_open(const char *path)
{
	if (path == NULL || strcmp(path, "-") == 0)
	{
		log_fp = NULL;
		return 0;
	}
	log_fp = fopen(path, "a");
	if (log_fp == NULL)
		return -1;
	setvbuf(log_fp, NULL, _IOLBF, 0);
	return 0;
}

void
gw_log_close(void)
{
	if (log_fp)
		fclose(log_fp);
	log_fp = NULL;
}

/* Appends "time":"2025-01-02T03:04:05.678Z" (UTC, milliseconds). */
static void
append_time(gw_buf *b)
{
	struct timeval tv;
	struct tm	tm;
	char		ts[64];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (int) (tv.tv_usec / 1000));
	gw_buf_puts(b, ts);
}

/* Writes the finished line in one call so lines never interleave. */
static void
emit(gw_buf *b)
{
	FILE	   *fp = log_fp ? log_fp : stderr;

	gw_buf_puts(b, "}\n");
	fwrite(b->data, 1, b->len, fp);
	fflush(fp);
}

void
gw_log(const char *level, const char *fmt, ...)
{
	gw_buf		b;
	char		msg[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	gw_buf_init(&b);
	append_time(&b);
	gw_buf_puts(&b, ",\"level\":");
	gw_buf_json_string(&b, level, strlen(level));
	gw_buf_puts(&b, ",\"message\":");
	gw_buf_json_string(&b, msg, strlen(msg));
	emit(&b);
	gw_buf_free(&b);
}

void
gw_log_access(const char *request_id, const char *method, const char *route,
			  const char *query, int status, double duration_ms,
			  const char *client)
{
	gw_buf		b;
	char		num[64];

	gw_buf_init(&b);
	append_time(&b);
	gw_buf_puts(&b, ",\"request_id\":");
	gw_buf_json_string(&b, request_id, strlen(request_id));
	gw_buf_puts(&b, ",\"method\":");
	gw_buf_json_string(&b, method, strlen(method));
	gw_buf_puts(&b, ",\"route\":");
	gw_buf_json_string(&b, route, strlen(route));
	if (query && query[0])
	{
		gw_buf_puts(&b, ",\"query\":");
		gw_buf_json_string(&b, query, strlen(query));
	}
	snprintf(num, sizeof(num), ",\"status\":%d,\"duration_ms\":%.3f",
			 status, duration_ms);
	gw_buf_puts(&b, num);
	gw_buf_puts(&b, ",\"client\":");
	gw_buf_json_string(&b, client, strlen(client));
	emit(&b);
	gw_buf_free(&b);
}

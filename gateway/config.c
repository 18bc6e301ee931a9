/*
 * config.c: settings from a config file and from command-line flags.
 *
 * The file holds "key = value" lines; '#' starts a comment; values may be
 * wrapped in double quotes (needed for a libpq connection string with
 * blanks).  Every flag "--key=value" sets the same key, so the file and the
 * command line share one table and one validation.  Errors name the key,
 * the value and the line, and stop the start: a gateway running with a
 * setting it did not understand is worse than one that does not start.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum
{
	T_STR,
	T_INT,
	T_LONG,
	T_BOOL
} opt_type;

typedef struct
{
	const char *key;
	opt_type	type;
	size_t		offset;
	long		min;
	long		max;
	const char *help;
} opt_def;

#define OFF(f) offsetof(gw_config, f)

static const opt_def options[] = {
	{"listen_address", T_STR, OFF(listen_address), 0, 0,
	"address to listen on (default 127.0.0.1)"},
	{"https_port", T_INT, OFF(https_port), 1, 65535, "HTTPS port (8443)"},
	{"http_port", T_INT, OFF(http_port), 0, 65535,
	"plain-HTTP port that only redirects to HTTPS; 0 = off (0)"},
	{"public_host", T_STR, OFF(public_host), 0, 0,
	"host name used in redirects (localhost)"},
	{"cert_file", T_STR, OFF(cert_file), 0, 0,
	"PEM certificate chain (required; re-read on SIGHUP)"},
	{"key_file", T_STR, OFF(key_file), 0, 0,
	"PEM private key (required; re-read on SIGHUP)"},
	{"database", T_STR, OFF(database), 0, 0,
	"libpq connection string; a Unix socket, or TCP with sslmode=verify-full"},
	{"log_file", T_STR, OFF(log_file), 0, 0,
	"JSON log destination, '-' for standard error (-)"},
	{"pool_size", T_INT, OFF(pool_size), 1, 1000, "database connections (8)"},
	{"queue_size", T_INT, OFF(queue_size), 0, 100000,
	"requests that may wait for a database connection (64)"},
	{"max_connections", T_INT, OFF(max_connections), 1, 1000000,
	"client connections (2000)"},
	{"max_request_line", T_INT, OFF(max_request_line), 64, 1048576,
	"bytes of the request line, else 414 (8192)"},
	{"max_header_bytes", T_INT, OFF(max_header_bytes), 256, 1048576,
	"bytes of all header lines, else 431 (16384)"},
	{"max_headers", T_INT, OFF(max_headers), 1, 10000,
	"number of headers, else 431 (64)"},
	{"max_body_bytes", T_LONG, OFF(max_body_bytes), 0, 1L << 30,
	"request body bytes, else 413 (1048576)"},
	{"header_timeout_ms", T_INT, OFF(header_timeout_ms), 100, 3600000,
	"from connection or first byte to the end of the headers (10000)"},
	{"body_timeout_ms", T_INT, OFF(body_timeout_ms), 100, 3600000,
	"from the end of the headers to the end of the body (30000)"},
	{"idle_timeout_ms", T_INT, OFF(idle_timeout_ms), 100, 3600000,
	"idle keep-alive connection (60000)"},
	{"statement_timeout_ms", T_INT, OFF(statement_timeout_ms), 1, 3600000,
	"database time per request (5000)"},
	{"shutdown_timeout_ms", T_INT, OFF(shutdown_timeout_ms), 0, 3600000,
	"SIGTERM: longest wait for in-flight requests (30000)"},
	{"retry_after", T_INT, OFF(retry_after_s), 0, 3600,
	"seconds in Retry-After on 503 (2)"},
	{"hsts_max_age", T_INT, OFF(hsts_max_age), 31536000, INT_MAX,
	"Strict-Transport-Security max-age, at least a year (63072000)"},
	{"hsts_preload", T_BOOL, OFF(hsts_preload), 0, 0,
	"add 'preload' to Strict-Transport-Security (off)"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* Built-in defaults; strings are owned by the config. */
void
gw_config_defaults(gw_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_address = strdup("127.0.0.1");
	c->https_port = 8443;
	c->http_port = 0;
	c->public_host = strdup("localhost");
	c->log_file = strdup("-");
	c->pool_size = 8;
	c->queue_size = 64;
	c->max_connections = 2000;
	c->max_request_line = 8192;
	c->max_header_bytes = 16384;
	c->max_headers = 64;
	c->max_body_bytes = 1048576;
	c->header_timeout_ms = 10000;
	c->body_timeout_ms = 30000;
	c->idle_timeout_ms = 60000;
	c->statement_timeout_ms = 5000;
	c->shutdown_timeout_ms = 30000;
	c->retry_after_s = 2;
	c->hsts_max_age = 63072000;
	c->hsts_preload = false;
}

void
gw_config_free(gw_config *c)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (options[i].type == T_STR)
		{
			char	  **p = (char **) ((char *) c + options[i].offset);

			free(*p);
			*p = NULL;
		}
}

/* Sets one key from its text form; on error fills err and returns -1. */
int
gw_config_set(gw_config *c, const char *key, const char *value, char *err,
			  size_t errlen)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
	{
		const opt_def *o = &options[i];
		void	   *p = (char *) c + o->offset;
		char	   *end;
		long		v;

		if (strcmp(o->key, key) != 0)
			continue;
		switch (o->type)
		{
			case T_STR:
				free(*(char **) p);
				*(char **) p = strdup(value);
				return 0;
			case T_BOOL:
				if (strcmp(value, "on") == 0 || strcmp(value, "true") == 0 ||
					strcmp(value, "1") == 0)
					*(bool *) p = true;
				else if (strcmp(value, "off") == 0 ||
						 strcmp(value, "false") == 0 ||
						 strcmp(value, "0") == 0)
					*(bool *) p = false;
				else
				{
					snprintf(err, errlen,
							 "invalid value for %s: \"%.64s\" (use on or off)",
							 key, value);
					return -1;
				}
				return 0;
			case T_INT:
			case T_LONG:
				errno = 0;
				v = strtol(value, &end, 10);
				if (errno || end == value || *end != '\0' || v < o->min ||
					v > o->max)
				{
					snprintf(err, errlen,
							 "invalid value for %s: \"%.64s\" (an integer from %ld to %ld)",
							 key, value, o->min, o->max);
					return -1;
				}
				if (o->type == T_INT)
					*(int *) p = (int) v;
				else
					*(long *) p = v;
				return 0;
		}
	}
	snprintf(err, errlen, "unknown setting \"%.64s\"", key);
	return -1;
}

static char *
trim(char *s)
{
	char	   *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Parses config text (not necessarily NUL-terminated).  Errors carry the
 * source name and line number.
 */
int
gw_config_parse(gw_config *c, const char *text, size_t len,
				const char *source, char *err, size_t errlen)
{
	char	   *copy = malloc(len + 1);
	char	   *line;
	char	   *next;
	int			lineno = 0;
	int			rc = 0;

	if (copy == NULL)
		abort();
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (strlen(copy) != len)
	{
		snprintf(err, errlen, "%s: contains a NUL byte", source);
		free(copy);
		return -1;
	}

	for (line = copy; line && rc == 0; line = next)
	{
		char	   *eq;
		char	   *key;
		char	   *val;
		char		msg[256];

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;

		/* A '#' outside quotes starts a comment. */
		{
			bool		inq = false;

			for (char *p = line; *p; p++)
			{
				if (*p == '"')
					inq = !inq;
				else if (*p == '#' && !inq)
				{
					*p = '\0';
					break;
				}
			}
		}
		line = trim(line);
		if (*line == '\0')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL)
		{
			snprintf(err, errlen, "%s:%d: expected \"key = value\"", source,
					 lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (val[0] == '"')
		{
			size_t		n = strlen(val);

			if (n < 2 || val[n - 1] != '"')
			{
				snprintf(err, errlen, "%s:%d: unterminated quoted value",
						 source, lineno);
				rc = -1;
				break;
			}
			val[n - 1] = '\0';
			val++;
		}
		if (gw_config_set(c, key, val, msg, sizeof(msg)) != 0)
		{
			snprintf(err, errlen, "%s:%d: %s", source, lineno, msg);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

/* Reads and parses a config file. */
int
gw_config_load(gw_config *c, const char *path, char *err, size_t errlen)
{
	FILE	   *fp = fopen(path, "r");
	char	   *text = NULL;
	size_t		len = 0;
	size_t		cap = 0;
	size_t		n;
	int			rc;

	if (fp == NULL)
	{
		snprintf(err, errlen, "could not open config file \"%s\": %s", path,
				 strerror(errno));
		return -1;
	}
	do
	{
		if (len + 4096 > cap)
		{
			cap = cap ? cap * 2 : 8192;
			text = realloc(text, cap);
			if (text == NULL)
				abort();
		}
		n = fread(text + len, 1, cap - len, fp);
		len += n;
	} while (n > 0 && len < (1 << 20));
	fclose(fp);
	rc = gw_config_parse(c, text ? text : "", len, path, err, errlen);
	free(text);
	return rc;
}

/* Checks what single keys cannot: required keys and combinations. */
int
gw_config_check(const gw_config *c, char *err, size_t errlen)
{
	if (c->cert_file == NULL || c->key_file == NULL)
	{
		snprintf(err, errlen, "cert_file and key_file are required");
		return -1;
	}
	if (c->database == NULL)
	{
		snprintf(err, errlen, "database is required");
		return -1;
	}
	if (c->http_port != 0 && c->http_port == c->https_port)
	{
		snprintf(err, errlen, "http_port and https_port must differ (%d)",
				 c->http_port);
		return -1;
	}
	return 0;
}

/* Prints every setting with its help text (for --help). */
void
gw_config_usage(FILE *fp)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		fprintf(fp, "  --%s=VALUE\n      %s\n", options[i].key,
				options[i].help);
}

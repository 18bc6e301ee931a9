/*
 * main.c: commitopt-gateway, the HTTPS face of commitopt.
 *
 * Reads the settings, loads the certificate, opens the database pool and
 * the listeners, and runs one libevent loop for everything: TLS, HTTP and
 * libpq.  Signals arrive on the same loop: SIGHUP reloads the certificate
 * and key, SIGTERM/SIGINT shut down gracefully (stop accepting, finish the
 * requests in flight, close the pool) within shutdown_timeout_ms.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "pool.h"
#include "tls.h"

static struct event_base *base;
static gw_config cfg;
static bool stopping;
static bool drained_once;

static void
usage(FILE *fp)
{
	fprintf(fp,
			"Usage: commitopt-gateway [--config=FILE] [--SETTING=VALUE ...]\n"
			"\n"
			"Terminates HTTPS and calls api.dispatch() in the commitopt database for\n"
			"every request.  Settings come from the config file (\"key = value\"\n"
			"lines), then from flags, which win.  SIGHUP re-reads the certificate and\n"
			"key; SIGTERM finishes the requests in flight and exits.\n"
			"\n"
			"  --config=FILE\n      config file to read first\n"
			"  --check\n      validate the settings and the certificate, then exit\n"
			"  --help\n      this text\n");
	gw_config_usage(fp);
}

static void
drained(void)
{
	if (drained_once)
		return;
	drained_once = true;
	event_base_loopexit(base, NULL);
}

static void
on_sigterm(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv;

	if (stopping)
		return;
	stopping = true;
	gw_log("info", "shutting down: finishing requests in flight");
	tv.tv_sec = cfg.shutdown_timeout_ms / 1000;
	tv.tv_usec = (cfg.shutdown_timeout_ms % 1000) * 1000;
	event_base_loopexit(base, &tv); /* the grace period's hard limit */
	gw_http_shutdown(drained);
}

static void
on_sighup(evutil_socket_t sig, short what, void *arg)
{
	gw_tls_reload(cfg.cert_file, cfg.key_file);
}

/* Raises the open-file limit to what max_connections needs, if allowed. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t		want = (rlim_t) cfg.max_connections + cfg.pool_size + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want)
	{
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < want)
			gw_log("warning", "open-file limit %lu is below what max_connections needs (%lu)",
				   (unsigned long) rl.rlim_cur, (unsigned long) want);
	}
}

/* Applies the command line: --config first, then every other flag. */
static int
parse_args(int argc, char **argv, bool *check)
{
	char		err[512];

	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--config=", 9) == 0)
		{
			if (gw_config_load(&cfg, argv[i] + 9, err, sizeof(err)) != 0)
			{
				fprintf(stderr, "commitopt-gateway: %s\n", err);
				return -1;
			}
		}
	for (int i = 1; i < argc; i++)
	{
		char	   *a = argv[i];
		char	   *eq;
		char		key[128];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		{
			usage(stdout);
			exit(0);
		}
		if (strcmp(a, "--check") == 0)
		{
			*check = true;
			continue;
		}
		if (strncmp(a, "--config=", 9) == 0)
			continue;
		eq = strchr(a, '=');
		if (strncmp(a, "--", 2) != 0 || eq == NULL ||
			(size_t) (eq - a - 2) >= sizeof(key))
		{
			fprintf(stderr, "commitopt-gateway: invalid argument \"%s\" (expected --setting=value; see --help)\n",
					a);
			return -1;
		}
		memcpy(key, a + 2, eq - a - 2);
		key[eq - a - 2] = '\0';
		if (gw_config_set(&cfg, key, eq + 1, err, sizeof(err)) != 0)
		{
			fprintf(stderr, "commitopt-gateway: %s\n", err);
			return -1;
		}
	}
	if (gw_config_check(&cfg, err, sizeof(err)) != 0 ||
		gw_pool_check_conninfo(cfg.database, err, sizeof(err)) != 0)
	{
		fprintf(stderr, "commitopt-gateway: %s\n", err);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	bool		check = false;
	struct event *ev_term;
	struct event *ev_int;
	struct event *ev_hup;

	gw_config_defaults(&cfg);
	if (parse_args(argc, argv, &check) != 0)
	{
		gw_config_free(&cfg);
		return 2;
	}
	if (gw_log_open(cfg.log_file) != 0)
	{
		fprintf(stderr, "commitopt-gateway: could not open log file \"%s\"\n",
				cfg.log_file);
		gw_config_free(&cfg);
		return 1;
	}
	if (gw_tls_init(cfg.cert_file, cfg.key_file) != 0)
	{
		gw_config_free(&cfg);
		gw_log_close();
		return 1;
	}
	if (check)
	{
		printf("configuration ok\n");
		gw_tls_shutdown();
		gw_config_free(&cfg);
		gw_log_close();
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	base = event_base_new();
	if (base == NULL || gw_http_start(base, &cfg) != 0)
		return 1;
	gw_pool_start(base, cfg.database, cfg.pool_size, cfg.queue_size,
				  cfg.statement_timeout_ms);

	ev_term = evsignal_new(base, SIGTERM, on_sigterm, NULL);
	ev_int = evsignal_new(base, SIGINT, on_sigterm, NULL);
	ev_hup = evsignal_new(base, SIGHUP, on_sighup, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);
	gw_log("info", "gateway started (pool of %d, queue of %d)", cfg.pool_size,
		   cfg.queue_size);

	event_base_dispatch(base);

	gw_http_stop();
	gw_pool_stop();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(base);
	gw_tls_shutdown();
	gw_log("info", "gateway stopped");
	gw_log_close();
	gw_config_free(&cfg);
	return 0;
}

/*
 * config.h: the gateway's settings (config file, then command-line flags).
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct gw_config
{
	char	   *listen_address;	/* address of both listeners */
	int			https_port;
	int			http_port;		/* plain-HTTP redirect port; 0 = none */
	char	   *public_host;	/* host name used in redirects */
	char	   *cert_file;
	char	   *key_file;
	char	   *database;		/* libpq connection string */
	char	   *log_file;		/* "-" = standard error */
	int			pool_size;		/* database connections */
	int			queue_size;		/* requests waiting for a connection */
	int			max_connections;	/* client connections */
	int			max_request_line;	/* bytes of method + target + version */
	int			max_header_bytes;	/* all header lines together */
	int			max_headers;	/* header count */
	long		max_body_bytes;
	int			header_timeout_ms;	/* first byte to end of headers */
	int			body_timeout_ms;	/* end of headers to end of body */
	int			idle_timeout_ms;	/* keep-alive between requests */
	int			statement_timeout_ms;	/* per database call */
	int			shutdown_timeout_ms;	/* SIGTERM grace period */
	int			retry_after_s;	/* Retry-After on 503 */
	int			hsts_max_age;	/* seconds; at least one year */
	bool		hsts_preload;
} gw_config;

extern void gw_config_defaults(gw_config *c);
extern void gw_config_free(gw_config *c);
extern int	gw_config_set(gw_config *c, const char *key, const char *value,
						  char *err, size_t errlen);
extern int	gw_config_parse(gw_config *c, const char *text, size_t len,
							const char *source, char *err, size_t errlen);
extern int	gw_config_load(gw_config *c, const char *path, char *err,
						   size_t errlen);
extern int	gw_config_check(const gw_config *c, char *err, size_t errlen);
extern void gw_config_usage(FILE *fp);

#endif

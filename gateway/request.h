/*
 * request.h: pure helpers on a parsed request's headers (no I/O), so that
 * the fuzz target can drive them directly.
 */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* The session cookie set at login; the __Host- prefix pins Secure, Path=/
 * and no Domain in the browser. */
#define GW_SESSION_COOKIE "__Host-commitopt_session"

typedef struct gw_header
{
	char	   *name;			/* lower-case */
	char	   *value;
} gw_header;

typedef struct gw_headers
{
	gw_header  *items;
	int			count;
	int			cap;
} gw_headers;

typedef enum gw_token_source
{
	GW_TOKEN_NONE,
	GW_TOKEN_BEARER,
	GW_TOKEN_COOKIE
} gw_token_source;

extern void gw_headers_init(gw_headers *h);
extern void gw_headers_free(gw_headers *h);
extern void gw_headers_add(gw_headers *h, const char *name, size_t nlen,
						   const char *value, size_t vlen);
extern const char *gw_headers_get(const gw_headers *h, const char *name);
extern int	gw_headers_count(const gw_headers *h, const char *name);
extern void gw_headers_json(const gw_headers *h, gw_buf *out);

extern gw_token_source gw_find_token(const gw_headers *h, const char **tok,
									 size_t *toklen);
extern bool gw_is_json_content_type(const char *ct);
extern bool gw_all_content_types_json(const gw_headers *h);
extern bool gw_is_cross_site(const gw_headers *h);
extern bool gw_method_changes_state(const char *method);
extern void gw_redact_query(const char *q, size_t n, gw_buf *out);
extern bool gw_valid_token_chars(const char *s, size_t n);

#endif

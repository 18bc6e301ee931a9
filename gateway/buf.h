/*
 * buf.h: a small growable byte buffer and JSON string escaping.
 *
 * Shared by the request helpers, the log and the tests; it has no
 * dependency on libevent so that the fuzz target can link it alone.
 */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gw_buf
{
	char	   *data;			/* always NUL-terminated when len > 0 */
	size_t		len;
	size_t		cap;
} gw_buf;

extern void gw_buf_init(gw_buf *b);
extern void gw_buf_free(gw_buf *b);
extern void gw_buf_reset(gw_buf *b);
extern void gw_buf_append(gw_buf *b, const char *s, size_t n);
extern void gw_buf_puts(gw_buf *b, const char *s);
extern void gw_buf_json_string(gw_buf *b, const char *s, size_t n);
extern const char *gw_buf_cstr(gw_buf *b);

#endif

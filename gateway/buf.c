/*
 * buf.c: growable buffer and JSON string escaping.
 *
 * Allocation failure aborts the process: the gateway cannot serve anything
 * sensible without memory, and a restart by the supervisor is the cleanest
 * recovery.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Starts an empty buffer without allocating. */
void
gw_buf_init(gw_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Releases the buffer's memory; the buffer is empty afterwards. */
void
gw_buf_free(gw_buf *b)
{
	free(b->data);
	gw_buf_init(b);
}

/* Empties the buffer but keeps its memory for reuse. */
void
gw_buf_reset(gw_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Appends n bytes (which may hold NULs) and keeps a terminating NUL. */
void
gw_buf_append(gw_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (b->data == NULL)
		{
			fputs("gateway: out of memory\n", stderr);
			abort();
		}
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
gw_buf_puts(gw_buf *b, const char *s)
{
	gw_buf_append(b, s, strlen(s));
}

/*
 * Appends s as a quoted JSON string.  Control characters and bytes that are
 * not ASCII are escaped as \u00XX so that whatever a client sends, the
 * output is valid JSON for PostgreSQL and log readers alike (a byte above
 * 0x7f becomes the Latin-1 code point of the same value: lossless, and it
 * never produces invalid UTF-8).
 */
void
gw_buf_json_string(gw_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	gw_buf_append(b, "\"", 1);
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '"' || c == '\\')
		{
			char		esc[2] = {'\\', (char) c};

			gw_buf_append(b, esc, 2);
		}
		else if (c < 0x20 || c >= 0x7f)
		{
			char		esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			gw_buf_append(b, esc, 6);
		}
		else
			gw_buf_append(b, (const char *) &c, 1);
	}
	gw_buf_append(b, "\"", 1);
}

/* The contents as a C string ("" when nothing was ever appended). */
const char *
gw_buf_cstr(gw_buf *b)
{
	return b->data ? b->data : "";
}

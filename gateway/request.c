/*
 * request.c: what the gateway itself reads from a request's headers.
 *
 * The database does routing and authentication; the gateway only needs to
 * (1) hand all headers over as one JSON object, names lower-cased and
 * repeated headers joined with ", ", (2) know whether a request carries a
 * session token and where it came from, for the CSRF rules (a state-changing
 * request authenticated by the cookie must have a JSON content type, which
 * a cross-site HTML form cannot send; a login must not come from another
 * site nor with a non-JSON content type), and (3) redact query strings before
 * they reach the access log.  Everything here works on untrusted bytes and
 * is exercised by test/fuzz/fuzz_request.c.
 */
#include "request.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *
dup_lower(const char *s, size_t n, bool lower)
{
	char	   *d = malloc(n + 1);

	if (d == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		d[i] = lower ? (char) tolower((unsigned char) s[i]) : s[i];
	d[n] = '\0';
	return d;
}

void
gw_headers_init(gw_headers *h)
{
	h->items = NULL;
	h->count = 0;
	h->cap = 0;
}

void
gw_headers_free(gw_headers *h)
{
	for (int i = 0; i < h->count; i++)
	{
		free(h->items[i].name);
		free(h->items[i].value);
	}
	free(h->items);
	gw_headers_init(h);
}

/*
 * Adds one header.  The name is lower-cased; leading and trailing blanks of
 * the value are dropped (the HTTP parser leaves trailing ones).  Callers
 * enforce the count and size limits before calling.
 */
void
gw_headers_add(gw_headers *h, const char *name, size_t nlen,
			   const char *value, size_t vlen)
{
	while (vlen > 0 && (value[0] == ' ' || value[0] == '\t'))
	{
		value++;
		vlen--;
	}
	while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		vlen--;
	if (h->count == h->cap)
	{
		h->cap = h->cap ? h->cap * 2 : 16;
		h->items = realloc(h->items, sizeof(gw_header) * h->cap);
		if (h->items == NULL)
			abort();
	}
	h->items[h->count].name = dup_lower(name, nlen, true);
	h->items[h->count].value = dup_lower(value, vlen, false);
	h->count++;
}

/* The first value of a header (name in lower case), or NULL. */
const char *
gw_headers_get(const gw_headers *h, const char *name)
{
	for (int i = 0; i < h->count; i++)
		if (strcmp(h->items[i].name, name) == 0)
			return h->items[i].value;
	return NULL;
}

/* How many times a header appears. */
int
gw_headers_count(const gw_headers *h, const char *name)
{
	int			n = 0;

	for (int i = 0; i < h->count; i++)
		if (strcmp(h->items[i].name, name) == 0)
			n++;
	return n;
}

/*
 * Writes the headers as one JSON object in order of first appearance;
 * repeated headers become one member whose values are joined with ", "
 * (the contract of api.dispatch).  Quadratic in the header count, which the
 * gateway caps at a small number.
 */
void
gw_headers_json(const gw_headers *h, gw_buf *out)
{
	gw_buf		v;
	bool		first = true;

	gw_buf_init(&v);
	gw_buf_append(out, "{", 1);
	for (int i = 0; i < h->count; i++)
	{
		bool		seen = false;

		for (int j = 0; j < i && !seen; j++)
			seen = strcmp(h->items[j].name, h->items[i].name) == 0;
		if (seen)
			continue;

		gw_buf_reset(&v);
		gw_buf_puts(&v, h->items[i].value);
		for (int j = i + 1; j < h->count; j++)
			if (strcmp(h->items[j].name, h->items[i].name) == 0)
			{
				gw_buf_append(&v, ", ", 2);
				gw_buf_puts(&v, h->items[j].value);
			}

		if (!first)
			gw_buf_append(out, ",", 1);
		first = false;
		gw_buf_json_string(out, h->items[i].name, strlen(h->items[i].name));
		gw_buf_append(out, ":", 1);
		gw_buf_json_string(out, gw_buf_cstr(&v), v.len);
	}
	gw_buf_append(out, "}", 1);
	gw_buf_free(&v);
}

/* Tokens are opaque to the gateway but are printable ASCII without blanks,
 * quotes, commas or semicolons; anything else is not a token. */
bool
gw_valid_token_chars(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' ||
			c == '\\')
			return false;
	}
	return true;
}

/*
 * Finds the session cookie in a Cookie header value ("a=1; b=2").  Returns
 * true and the value's span on success.
 */
static bool
find_cookie(const char *s, const char **val, size_t *vlen)
{
	const size_t cl = strlen(GW_SESSION_COOKIE);

	while (*s)
	{
		const char *end;
		const char *eq;

		while (*s == ' ' || *s == '\t' || *s == ';' || *s == ',')
			s++;
		end = s;
		while (*end && *end != ';' && *end != ',')
			end++;
		eq = memchr(s, '=', end - s);
		if (eq && (size_t) (eq - s) == cl &&
			strncmp(s, GW_SESSION_COOKIE, cl) == 0)
		{
			const char *v = eq + 1;
			size_t		n = end - v;

			while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
				n--;
			if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
			{
				v++;
				n -= 2;
			}
			*val = v;
			*vlen = n;
			return true;
		}
		s = end;
	}
	return false;
}

/*
 * Where the request's session token comes from.  A Bearer token wins over
 * the cookie (API clients send it on purpose; browsers never add it by
 * themselves, which is why only the cookie needs the CSRF rule).  A token
 * in the query string is never looked at.
 */
gw_token_source
gw_find_token(const gw_headers *h, const char **tok, size_t *toklen)
{
	const char *auth = gw_headers_get(h, "authorization");
	const char *cookie;

	if (auth && strncasecmp(auth, "bearer ", 7) == 0)
	{
		const char *t = auth + 7;

		while (*t == ' ')
			t++;
		if (gw_valid_token_chars(t, strlen(t)))
		{
			*tok = t;
			*toklen = strlen(t);
			return GW_TOKEN_BEARER;
		}
	}
	for (int i = 0; i < h->count; i++)
	{
		if (strcmp(h->items[i].name, "cookie") != 0)
			continue;
		cookie = h->items[i].value;
		if (find_cookie(cookie, tok, toklen) &&
			gw_valid_token_chars(*tok, *toklen))
			return GW_TOKEN_COOKIE;
	}
	*tok = NULL;
	*toklen = 0;
	return GW_TOKEN_NONE;
}

/* True for application/json and application/<x>+json, any parameters. */
bool
gw_is_json_content_type(const char *ct)
{
	size_t		n;

	if (ct == NULL)
		return false;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return true;
	return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
		strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/*
 * For login: true when every Content-Type header is JSON, and when there is
 * none (API clients may send a body without one).  A form or a string body
 * from a cross-site page always brings a non-JSON type.
 */
bool
gw_all_content_types_json(const gw_headers *h)
{
	for (int i = 0; i < h->count; i++)
		if (strcmp(h->items[i].name, "content-type") == 0 &&
			!gw_is_json_content_type(h->items[i].value))
			return false;
	return true;
}

/*
 * True when the browser says, through Fetch Metadata, that another site
 * made the request ("Sec-Fetch-Site: cross-site"); browsers forbid pages to
 * set Sec- headers themselves.  Any one such header counts.
 */
bool
gw_is_cross_site(const gw_headers *h)
{
	for (int i = 0; i < h->count; i++)
		if (strcmp(h->items[i].name, "sec-fetch-site") == 0 &&
			strcasecmp(h->items[i].value, "cross-site") == 0)
			return true;
	return false;
}

/* Methods that may change state (everything but the safe ones). */
bool
gw_method_changes_state(const char *method)
{
	return !(strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
			 strcmp(method, "OPTIONS") == 0);
}

/*
 * A query string fit for the log: names kept, every value (and every bare
 * item without "=") replaced, so a token someone put in "?session=..."
 * never lands on disk.
 */
void
gw_redact_query(const char *q, size_t n, gw_buf *out)
{
	size_t		i = 0;

	while (i < n)
	{
		size_t		j = i;

		while (j < n && q[j] != '&' && q[j] != '=')
			j++;
		if (j < n && q[j] == '=')
		{
			gw_buf_append(out, q + i, j - i);
			gw_buf_puts(out, "=[redacted]");
			while (j < n && q[j] != '&')
				j++;
		}
		else if (j > i)
			gw_buf_puts(out, "[redacted]");	/* a bare value */
		if (j < n)
			gw_buf_append(out, "&", 1);
		i = j + 1;
	}
}

/*
 * http.c: client connections: TLS via OpenSSL bufferevents, HTTP/1.1
 * parsing with http_parser, limits, and every response the gateway sends.
 *
 * libevent's own HTTP server is not used because it answers some bad
 * requests itself and gives no hook to add headers to those answers; here
 * every byte written goes through respond(), which always adds the
 * security headers.
 *
 * One connection handles one request at a time.  When a message is
 * complete the parser is paused and reading stops until the answer has
 * been written; pipelined bytes wait in the input buffer.  A single timer
 * per connection enforces, by phase: the header deadline (counted from the
 * first byte of a request, or from accept, and never extended by later
 * bytes: slowloris), the body deadline, and the keep-alive idle time.
 * The header deadline also covers the TLS handshake: a connection still
 * without TLS when it passes is closed at once, as nothing can be sent on
 * it.  A 408 gets only a short write deadline: a client that is too slow to
 * send a request may also never read the answer, and must not keep its
 * connection for the idle time.
 * There is no per-address connection cap: one event loop serves hundreds
 * of idle or trickling connections at little cost, the header deadline
 * frees them, and max_connections bounds the total.
 *
 * A request that says "Expect: 100-continue" gets the interim "100
 * Continue" once its headers pass every check that needs no body (so an
 * oversized one gets its 413 instead, before sending anything more); any
 * other expectation is answered 417.  The interim line is the one thing
 * written outside respond(): a 1xx answer carries no headers to secure.
 * XXX: a client that leaves while its query runs does not cancel the query;
 * the statement timeout bounds the waste.
 * XXX: no gateway-side deadline while waiting for the database: the
 * statement timeout covers a slow query, libpq's TCP keepalives a dead link.
 *
 * XXX: the login-CSRF rule needs Fetch Metadata for a login sent without a
 * Content-Type (a no-cors fetch of a type-less Blob): browsers without
 * Sec-Fetch-Site are not covered for that case.
 *
 * Only HTTP/1.0 and 1.1 are spoken (505 otherwise); an HTTP/1.1 request
 * must have exactly one Host, header names only token characters, and no
 * header line may be folded (400).  Requests that could be smuggled past
 * another HTTP hop (both Content-Length and Transfer-Encoding, repeated
 * Content-Length, any transfer coding but "chunked", bad chunk syntax) are
 * answered 400 and the connection is closed.
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <http_parser.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "log.h"
#include "pool.h"
#include "request.h"
#include "tls.h"

typedef enum
{
	PH_HEADERS,					/* reading request line and headers */
	PH_BODY,					/* reading the body */
	PH_DB,						/* waiting for api.dispatch */
	PH_WRITING,					/* answer queued, not yet sent */
	PH_IDLE,					/* keep-alive, between requests */
	PH_CLOSING					/* answer sent; draining before close */
} phase;

/* How far the line-folding scan has got in the current request's head. */
typedef enum
{
	HEAD_BEFORE_REQUEST_LINE,	/* only empty lines so far */
	HEAD_IN_LINE,
	HEAD_LINE_START,			/* just after a line's LF */
	HEAD_DONE					/* the empty line that ends the headers */
} head_scan;

/* Write deadline of a 408: enough to hand a small answer to the kernel. */
#define TIMED_OUT_ANSWER_MS 2000

typedef struct conn
{
	struct bufferevent *bev;
	struct event *timer;
	bool		tls;			/* API port; false on the redirect port */
	http_parser parser;
	phase		ph;
	char		client[INET6_ADDRSTRLEN];

	/* the request being read */
	gw_buf		url;
	gw_buf		hname;
	gw_buf		hval;
	bool		in_value;
	head_scan	scan;
	gw_headers	hdrs;
	size_t		header_bytes;
	gw_buf		body;
	int			error;			/* status to answer after a parse error */
	const char *errcode;		/* and its code and message, if not the
								 * status's default */
	const char *errmsg;
	bool		complete;
	bool		keep_alive;
	bool		close_after;
	bool		head;			/* HEAD: no body in the answer */
	bool		persistent;		/* the header section allows keep-alive */
	struct timespec t0;
	char		reqid[33];
	char		method[24];

	gw_job	   *job;
	struct conn *prev;
	struct conn *next;
} conn;

static struct
{
	struct event_base *base;
	const gw_config *cfg;
	struct evconnlistener *https;
	struct evconnlistener *http;
	http_parser_settings settings;
	conn	   *conns;
	int			nconns;
	bool		shutting_down;
	void		(*drained) (void);
	char		hsts[128];
} gw;

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void respond_error(conn *c, int status, const char *code,
						  const char *message, bool close);

/* ----- small helpers ----- */

static const char *
reason(int status)
{
	switch (status)
	{
		case 200: return "OK";
		case 201: return "Created";
		case 204: return "No Content";
		case 301: return "Moved Permanently";
		case 302: return "Found";
		case 303: return "See Other";
		case 304: return "Not Modified";
		case 400: return "Bad Request";
		case 401: return "Unauthorized";
		case 403: return "Forbidden";
		case 404: return "Not Found";
		case 405: return "Method Not Allowed";
		case 408: return "Request Timeout";
		case 409: return "Conflict";
		case 413: return "Content Too Large";
		case 414: return "URI Too Long";
		case 415: return "Unsupported Media Type";
		case 417: return "Expectation Failed";
		case 422: return "Unprocessable Content";
		case 429: return "Too Many Requests";
		case 431: return "Request Header Fields Too Large";
		case 500: return "Internal Server Error";
		case 503: return "Service Unavailable";
		case 504: return "Gateway Timeout";
		case 505: return "HTTP Version Not Supported";
		default: return "Status";
	}
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000.0 +
		(now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
set_timer(conn *c, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(c->timer, &tv);
}

/* Starts a fresh request: clears what the previous one left. */
static void
begin_request(conn *c)
{
	unsigned char rnd[16];
	static const char hex[] = "0123456789abcdef";

	gw_buf_reset(&c->url);
	gw_buf_reset(&c->hname);
	gw_buf_reset(&c->hval);
	gw_buf_reset(&c->body);
	gw_headers_free(&c->hdrs);
	c->in_value = false;
	c->scan = HEAD_BEFORE_REQUEST_LINE;
	c->header_bytes = 0;
	c->error = 0;
	c->errcode = NULL;
	c->errmsg = NULL;
	c->complete = false;
	c->close_after = false;
	c->head = false;
	strcpy(c->method, "-");
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	for (int i = 0; i < 16; i++)
	{
		c->reqid[2 * i] = hex[rnd[i] >> 4];
		c->reqid[2 * i + 1] = hex[rnd[i] & 15];
	}
	c->reqid[32] = '\0';
	c->ph = PH_HEADERS;
	set_timer(c, gw.cfg->header_timeout_ms);
}

/* ----- closing ----- */

static void
conn_free(conn *c)
{
	if (c->job)
	{
		/* A queued job is dropped; a running one is freed when done. */
		if (!gw_pool_cancel(c->job))
			c->job->owner = NULL;
		c->job = NULL;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		gw.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	gw.nconns--;

	event_free(c->timer);
	bufferevent_free(c->bev);	/* closes the socket, frees the SSL */
	gw_buf_free(&c->url);
	gw_buf_free(&c->hname);
	gw_buf_free(&c->hval);
	gw_buf_free(&c->body);
	gw_headers_free(&c->hdrs);
	free(c);

	if (gw.shutting_down && gw.nconns == 0 && gw.drained)
		gw.drained();
}

/* ----- responses ----- */

/* Names the gateway sets itself; the same names from the database are
 * dropped so they can neither be doubled nor weakened. */
static bool
reserved_header(const char *name)
{
	static const char *const names[] = {
		"content-length", "transfer-encoding", "connection", "keep-alive",
		"strict-transport-security", "x-frame-options",
		"x-content-type-options", "content-security-policy",
		"referrer-policy", "cache-control", "x-xss-protection",
		"x-request-id", "upgrade", "trailer", NULL
	};

	for (int i = 0; names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* A header that is safe to copy into the answer (no CR/LF injection). */
static bool
header_ok(const char *name, const char *value)
{
	if (name[0] == '\0')
		return false;
	for (const char *p = name; *p; p++)
		if (!(((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
			  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	for (const char *p = value; *p; p++)
		if ((unsigned char) *p < 0x20 && *p != '\t')
			return false;
	return true;
}

/* Writes "Name: value" with the name in the usual Capital-Dash form. */
static void
add_header(struct evbuffer *out, const char *name, const char *value)
{
	char		n[128];
	size_t		i;
	bool		up = true;

	for (i = 0; name[i] && i < sizeof(n) - 1; i++)
	{
		n[i] = up ? (char) toupper((unsigned char) name[i]) : name[i];
		up = name[i] == '-';
	}
	n[i] = '\0';
	evbuffer_add_printf(out, "%s: %s\r\n", n, value);
}

/*
 * The single writer of every answer.  Adds the security headers (HSTS only
 * on HTTPS: over plain HTTP it is meaningless and a browser ignores it),
 * Cache-Control: no-store, the request id, and Retry-After on 503; then the
 * database's headers, then the body.  Logs the access line.
 */
static void
respond(conn *c, int status, const gw_headers *extra, const char *ctype,
		const char *body, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool		has_ctype = false;
	bool		has_retry = false;
	char		route[512];
	gw_buf		q;
	struct http_parser_url u;

	if (gw.shutting_down)
		c->close_after = true;
	if (!c->keep_alive)
		c->close_after = true;

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status, reason(status));
	if (c->tls)
	{
		evbuffer_add_printf(out, "Strict-Transport-Security: %s\r\n", gw.hsts);
		evbuffer_add_printf(out, "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n");
	}
	else
		evbuffer_add_printf(out, "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n");
	evbuffer_add_printf(out,
						"X-Frame-Options: DENY\r\n"
						"X-Content-Type-Options: nosniff\r\n"
						"Referrer-Policy: no-referrer\r\n"
						"Cache-Control: no-store\r\n"
						"X-XSS-Protection: 0\r\n"
						"X-Request-Id: %s\r\n", c->reqid);
	if (extra)
		for (int i = 0; i < extra->count; i++)
		{
			const gw_header *h = &extra->items[i];

			if (reserved_header(h->name))
				continue;
			if (!header_ok(h->name, h->value))
			{
				gw_log("warning", "dropped an unsafe response header from api.dispatch (request %s)",
					   c->reqid);
				continue;
			}
			if (strcmp(h->name, "content-type") == 0)
				has_ctype = true;
			if (strcmp(h->name, "retry-after") == 0)
				has_retry = true;
			add_header(out, h->name, h->value);
		}
	if (!has_ctype && ctype && len > 0)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	if (status == 503 && !has_retry)
		evbuffer_add_printf(out, "Retry-After: %d\r\n", gw.cfg->retry_after_s);
	evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
	evbuffer_add_printf(out, "Connection: %s\r\n\r\n",
						c->close_after ? "close" : "keep-alive");
	if (len > 0 && !c->head)
		evbuffer_add(out, body, len);

	/* The access line: path only, query values redacted, no headers. */
	gw_buf_init(&q);
	snprintf(route, sizeof(route), "-");
	if (c->url.len > 0 &&
		http_parser_parse_url(c->url.data, c->url.len, 0, &u) == 0)
	{
		if (u.field_set & (1 << UF_PATH))
			snprintf(route, sizeof(route), "%.*s",
					 (int) u.field_data[UF_PATH].len,
					 c->url.data + u.field_data[UF_PATH].off);
		if (u.field_set & (1 << UF_QUERY))
			gw_redact_query(c->url.data + u.field_data[UF_QUERY].off,
							u.field_data[UF_QUERY].len, &q);
	}
	gw_log_access(c->reqid, c->method, route, gw_buf_cstr(&q), status,
				  ms_since(&c->t0), c->client);
	gw_buf_free(&q);

	c->ph = PH_WRITING;
	evtimer_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	/* a client that never reads its answer is cut off too */
	set_timer(c, gw.cfg->idle_timeout_ms);
}

/*
 * A gateway-made JSON error, in the shape api.dispatch uses for its own:
 * {"error": {"code": code, "message": message}}.  The codes are stable (clients
 * test them); the message is a short sentence for people.
 */
static void
respond_error(conn *c, int status, const char *code, const char *message,
			  bool close)
{
	gw_buf		body;

	if (close)
		c->keep_alive = false;
	gw_buf_init(&body);
	gw_buf_puts(&body, "{\"error\":{\"code\":");
	gw_buf_json_string(&body, code, strlen(code));
	gw_buf_puts(&body, ",\"message\":");
	gw_buf_json_string(&body, message, strlen(message));
	gw_buf_puts(&body, "}}");
	respond(c, status, NULL, "application/json", gw_buf_cstr(&body),
			body.len);
	gw_buf_free(&body);
}

/* Records why parsing stops; parse_failed() answers it. */
static int
fail(conn *c, int status, const char *code, const char *message)
{
	c->error = status;
	c->errcode = code;
	c->errmsg = message;
	return -1;
}

/* ----- parser callbacks ----- */

/* Stores a complete header; enforces the header count. */
static int
finish_header(conn *c)
{
	if (c->hname.len == 0)
		return 0;
	if (c->hdrs.count >= gw.cfg->max_headers)
	{
		c->error = 431;
		return -1;
	}
	gw_headers_add(&c->hdrs, gw_buf_cstr(&c->hname), c->hname.len,
				   gw_buf_cstr(&c->hval), c->hval.len);
	gw_buf_reset(&c->hname);
	gw_buf_reset(&c->hval);
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t n)
{
	conn	   *c = p->data;

	if (c->url.len + n > (size_t) gw.cfg->max_request_line)
	{
		c->error = 414;
		return -1;
	}
	gw_buf_append(&c->url, at, n);
	return 0;
}

static int
count_header_bytes(conn *c, size_t n)
{
	c->header_bytes += n;
	if (c->header_bytes > (size_t) gw.cfg->max_header_bytes)
	{
		c->error = 431;
		return -1;
	}
	return 0;
}

/* RFC 9110 tchar: what a header name may consist of. */
static bool
is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		(ch >= '0' && ch <= '9') ||
		(ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/*
 * A piece of a header name.  libhttp-parser, as Debian builds it (without
 * HTTP_PARSER_STRICT), lets a space into a name, so "Authorization : x"
 * would arrive as a header named "authorization " that nothing reads:
 * RFC 9112 section 5.1 requires a 400 for whitespace before the colon, and
 * any other non-token byte is refused the same way.
 */
static int
on_header_field(http_parser *p, const char *at, size_t n)
{
	conn	   *c = p->data;

	if (c->ph == PH_BODY)
		return count_header_bytes(c, n);	/* a trailer: see below */
	if (c->in_value && finish_header(c) != 0)
		return -1;
	c->in_value = false;
	if (count_header_bytes(c, n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!is_tchar((unsigned char) at[i]))
			return fail(c, 400, "invalid_header_name",
						"a header name may contain only token characters, and no space before the colon");
	gw_buf_append(&c->hname, at, n);
	return 0;
}

/*
 * The parser reports a chunked body's trailer fields through the same
 * callbacks as headers.  They are counted against the header allowance
 * and discarded (RFC 9110 section 6.5.1 lets a recipient do so): checked
 * rules such as a single Host, and the CSRF rule's Content-Type, apply to
 * the header section, and a trailer must not add to it afterwards.
 */
static int
on_header_value(http_parser *p, const char *at, size_t n)
{
	conn	   *c = p->data;

	if (c->ph == PH_BODY)
		return count_header_bytes(c, n);
	c->in_value = true;
	if (count_header_bytes(c, n) != 0)
		return -1;
	gw_buf_append(&c->hval, at, n);
	return 0;
}

/*
 * RFC 9110 section 10.1.1: a client that expects "100-continue" waits for
 * the interim answer before it sends the body; one without a body has
 * nothing to wait for.  HTTP/1.0 requests cannot carry the expectation and
 * it is ignored there, as the RFC requires.
 */
static int
answer_expectation(conn *c, const http_parser *p)
{
	static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
	const char *expect = gw_headers_get(&c->hdrs, "expect");
	bool		has_body;

	if (expect == NULL || p->http_minor == 0)
		return 0;
	if (gw_headers_count(&c->hdrs, "expect") > 1 ||
		strcasecmp(expect, "100-continue") != 0)
		return fail(c, 417, "expectation_failed",
					"the only expectation this server meets is 100-continue");
	has_body = (p->flags & F_CHUNKED) ||
		((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
	if (has_body)
		bufferevent_write(c->bev, interim, sizeof(interim) - 1);
	return 0;
}

/*
 * The headers are in: refuse other HTTP versions, a missing or repeated
 * Host, smuggling shapes and oversized bodies before reading any body byte.
 */
static int
on_headers_complete(http_parser *p)
{
	conn	   *c = p->data;
	const char *te;
	int			nhost;

	if (finish_header(c) != 0)
		return -1;
	snprintf(c->method, sizeof(c->method), "%s",
			 http_method_str((enum http_method) p->method));
	c->head = p->method == HTTP_HEAD;
	/*
	 * Decided now: the parser would let a trailer's Connection field change
	 * its answer, and trailers must not control the connection (RFC 9110
	 * section 6.5.1).
	 */
	c->persistent = http_should_keep_alive(p);

	/* the parser reads any digit.digit; only 1.0 and 1.1 are spoken here */
	if (p->http_major != 1 || p->http_minor > 1)
		return fail(c, 505, "http_version_not_supported",
					"only HTTP/1.0 and HTTP/1.1 are supported");
	/* RFC 9112 section 3.2: HTTP/1.1 needs exactly one Host; 1.0 at most one */
	nhost = gw_headers_count(&c->hdrs, "host");
	if (nhost > 1)
		return fail(c, 400, "duplicate_host_header",
					"a request may carry only one Host header");
	if (nhost == 0 && p->http_minor == 1)
		return fail(c, 400, "host_header_required",
					"an HTTP/1.1 request must carry a Host header");

	te = gw_headers_get(&c->hdrs, "transfer-encoding");
	if (gw_headers_count(&c->hdrs, "content-length") > 1 ||
		(te && gw_headers_get(&c->hdrs, "content-length")) ||
		gw_headers_count(&c->hdrs, "transfer-encoding") > 1 ||
		(te && strcasecmp(te, "chunked") != 0))
	{
		c->error = 400;
		return -1;
	}
	if ((p->flags & F_CONTENTLENGTH) &&
		p->content_length > (uint64_t) gw.cfg->max_body_bytes)
	{
		c->error = 413;
		return -1;
	}
	if (answer_expectation(c, p) != 0)
		return -1;
	c->ph = PH_BODY;
	evtimer_del(c->timer);
	set_timer(c, gw.cfg->body_timeout_ms);
	return 0;
}

/*
 * A chunk is announced: the parser has its size in content_length.  A
 * chunk that cannot fit in what is left of the body allowance is refused
 * now, rather than read until the body deadline.
 */
static int
on_chunk_header(http_parser *p)
{
	conn	   *c = p->data;
	uint64_t	left = (uint64_t) gw.cfg->max_body_bytes - c->body.len;

	if (p->content_length > left)
	{
		c->error = 413;
		return -1;
	}
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t n)
{
	conn	   *c = p->data;

	if (!c->tls)
		return 0;				/* the redirect port ignores bodies */
	if (c->body.len + n > (size_t) gw.cfg->max_body_bytes)
	{
		c->error = 413;
		return -1;
	}
	gw_buf_append(&c->body, at, n);
	return 0;
}

static int
on_message_complete(http_parser *p)
{
	conn	   *c = p->data;

	c->complete = true;
	http_parser_pause(p, 1);
	return 0;
}

/* ----- requests ----- */

/* Copies n bytes into a new NUL-terminated string. */
static char *
dup_n(const char *s, size_t n)
{
	char	   *d = malloc(n + 1);

	if (d == NULL)
		abort();
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* The database's answer (or failure) for this connection's request. */
static void
job_done(gw_job *job)
{
	conn	   *c = job->owner;

	if (c == NULL)
	{
		gw_job_free(job);		/* the client left meanwhile */
		return;
	}
	c->job = NULL;
	switch (job->outcome)
	{
		case GW_JOB_OK:
			respond(c, job->status, &job->headers, "application/json",
					job->body, job->body ? job->body_len : 0);
			break;
		case GW_JOB_UNAVAILABLE:
			respond_error(c, 503, "database_unavailable",
						  "the database is not reachable; try again later", false);
			break;
		case GW_JOB_TIMEOUT:
			respond_error(c, 503, "database_timeout",
						  "the request took too long in the database", false);
			break;
		case GW_JOB_BAD_INPUT:
			respond_error(c, 400, "bad_request",
						  "the database could not accept the request", false);
			break;
		case GW_JOB_FAILED:
			respond_error(c, 500, "internal_error", "internal error", false);
			break;
	}
	gw_job_free(job);
}

/* The redirect port answers every request with 301 to HTTPS. */
static void
redirect(conn *c)
{
	gw_headers	h;
	char		loc[1024];
	struct http_parser_url u;
	const char *path = "/";
	size_t		plen = 1;

	if (http_parser_parse_url(c->url.data, c->url.len, 0, &u) == 0 &&
		(u.field_set & (1 << UF_PATH)))
	{
		/* path and query, exactly as sent (the parser allows no CR/LF) */
		path = c->url.data + u.field_data[UF_PATH].off;
		plen = c->url.len - u.field_data[UF_PATH].off;
		if (u.field_set & (1 << UF_FRAGMENT))
			plen = u.field_data[UF_FRAGMENT].off - 1 - u.field_data[UF_PATH].off;
	}
	snprintf(loc, sizeof(loc), "https://%s:%d%.*s", gw.cfg->public_host,
			 gw.cfg->https_port, (int) plen, path);
	gw_headers_init(&h);
	gw_headers_add(&h, "location", 8, loc, strlen(loc));
	c->keep_alive = false;
	respond(c, 301, &h, NULL, NULL, 0);
	gw_headers_free(&h);
}

/*
 * A complete request: answer /healthz here, apply the CSRF rule, and pass
 * everything else to api.dispatch.
 */
static void
handle_request(conn *c)
{
	struct http_parser_url u;
	const char *path;
	size_t		plen;
	const char *tok;
	size_t		toklen;
	gw_job	   *job;
	gw_buf		hj;

	evtimer_del(c->timer);
	bufferevent_disable(c->bev, EV_READ);
	c->ph = PH_DB;
	c->keep_alive = c->persistent && !gw.shutting_down;

	if (!c->tls)
	{
		redirect(c);
		return;
	}
	if (http_parser_parse_url(c->url.data, c->url.len, 0, &u) != 0 ||
		!(u.field_set & (1 << UF_PATH)) || c->parser.method == HTTP_CONNECT)
	{
		respond_error(c, 400, "bad_request_target",
					  "the request target is not a valid path", true);
		return;
	}
	path = c->url.data + u.field_data[UF_PATH].off;
	plen = u.field_data[UF_PATH].len;
	if (memchr(c->body.data ? c->body.data : "", '\0', c->body.len))
	{
		respond_error(c, 400, "body_contains_nul",
					  "the request body contains a NUL byte", false);
		return;
	}

	if (plen == 8 && memcmp(path, "/healthz", 8) == 0)
	{
		if (gw_pool_is_up())
			respond(c, 200, NULL, "application/json",
					"{\"status\":\"ok\"}", 15);
		else
			respond_error(c, 503, "database_unavailable",
						  "the database is not reachable; try again later", false);
		return;
	}

	/*
	 * Login CSRF: a cross-site form or no-cors fetch could log the victim's
	 * browser into the attacker's account (the answer sets the cookie).
	 * Such a request either has a non-JSON content type (a form; a string
	 * body), or, with a type-less Blob body, no content type at all, which
	 * API clients also send; Fetch Metadata tells the latter apart.
	 */
	if (c->parser.method == HTTP_POST && plen == 9 &&
		memcmp(path, "/v1/login", 9) == 0)
	{
		if (gw_is_cross_site(&c->hdrs))
		{
			respond_error(c, 403, "csrf_cross_site",
						  "logging in from another site is not allowed", false);
			return;
		}
		if (!gw_all_content_types_json(&c->hdrs))
		{
			respond_error(c, 415, "unsupported_media_type",
						  "the login body must be sent as application/json",
						  false);
			return;
		}
	}

	/*
	 * CSRF: a browser attaches the cookie to cross-site requests, but a
	 * cross-site form cannot send a JSON content type without a CORS
	 * preflight, which this API never grants.
	 */
	if (gw_find_token(&c->hdrs, &tok, &toklen) == GW_TOKEN_COOKIE &&
		gw_method_changes_state(c->method) &&
		!gw_is_json_content_type(gw_headers_get(&c->hdrs, "content-type")))
	{
		respond_error(c, 403, "csrf_json_content_type_required",
					  "a state-changing request authenticated by the session cookie needs a JSON content type",
					  false);
		return;
	}

	job = calloc(1, sizeof(gw_job));
	if (job == NULL)
		abort();
	gw_headers_init(&job->headers);
	job->done = job_done;
	job->owner = c;
	job->params[0] = strdup(c->method);
	job->params[1] = dup_n(path, plen);
	job->params[2] = (u.field_set & (1 << UF_QUERY)) ?
		dup_n(c->url.data + u.field_data[UF_QUERY].off,
			  u.field_data[UF_QUERY].len) : strdup("");
	gw_buf_init(&hj);
	gw_headers_json(&c->hdrs, &hj);
	job->params[3] = dup_n(gw_buf_cstr(&hj), hj.len);
	gw_buf_free(&hj);
	job->params[4] = c->body.len > 0 ? dup_n(c->body.data, c->body.len) : NULL;
	job->params[5] = strdup(c->client);

	/* set first: the pool may finish the job before submit returns */
	c->job = job;
	switch (gw_pool_submit(job))
	{
		case GW_SUBMIT_OK:
			return;
		case GW_SUBMIT_QUEUE_FULL:
			c->job = NULL;
			gw_job_free(job);
			respond_error(c, 503, "busy",
						  "the server is busy; try again later", false);
			return;
		case GW_SUBMIT_DOWN:
			c->job = NULL;
			gw_job_free(job);
			respond_error(c, 503, "database_unavailable",
						  "the database is not reachable; try again later", false);
			return;
	}
}

/* Maps a parser failure to the answer; every one closes the connection. */
static void
parse_failed(conn *c)
{
	enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
	int			status = c->error;

	if (status == 0)
		status = e == HPE_HEADER_OVERFLOW ? 431 : 400;
	if (c->errcode)
	{
		respond_error(c, status, c->errcode, c->errmsg, true);
		return;
	}
	switch (status)
	{
		case 413:
			respond_error(c, 413, "body_too_large",
						  "the request body is larger than the server accepts",
						  true);
			break;
		case 414:
			respond_error(c, 414, "request_line_too_long",
						  "the request line is too long", true);
			break;
		case 431:
			respond_error(c, 431, "headers_too_large",
						  "the request headers are too large or too many", true);
			break;
		default:
			respond_error(c, 400, "malformed_request",
						  "the request is not well-formed HTTP/1.1", true);
			break;
	}
}

/*
 * Obsolete line folding (RFC 9112 section 5.2): a header line that starts
 * with a space or tab continues the previous line's value.  RFC 9112 lets a
 * server refuse it, and it is refused because another hop may read such a
 * header differently.  libhttp-parser 2.9 accepts it without telling:
 * "X-A: b\r\n c" arrives as a second on_header_value call " c", which a
 * value split across two reads ("b" then " c") also produces, and for
 * "X-A:\r\n c" the fold is swallowed as leading whitespace (one call, "c").
 * So the bytes of the request head are scanned before the parser sees
 * them: a line start (after the request line and before the empty line
 * that ends the head) followed by a space or tab is a fold.  Empty lines
 * before the request line are skipped, as the parser skips them.  Returns
 * true when a fold is found; the scan state carries over between reads.
 */
static bool
finds_line_folding(conn *c, const char *data, size_t n)
{
	for (size_t i = 0; i < n && c->scan != HEAD_DONE; i++)
	{
		char		ch = data[i];

		switch (c->scan)
		{
			case HEAD_BEFORE_REQUEST_LINE:
				if (ch != '\r' && ch != '\n')
					c->scan = HEAD_IN_LINE;
				break;
			case HEAD_IN_LINE:
				if (ch == '\n')
					c->scan = HEAD_LINE_START;
				break;
			case HEAD_LINE_START:
				if (ch == ' ' || ch == '\t')
					return true;
				c->scan = (ch == '\r' || ch == '\n') ? HEAD_DONE : HEAD_IN_LINE;
				break;
			case HEAD_DONE:
				break;
		}
	}
	return false;
}

/* Feeds buffered input to the parser until a request is complete. */
static void
process_input(conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	while (evbuffer_get_length(in) > 0 && !c->complete)
	{
		struct evbuffer_iovec v;
		size_t		n;
		enum http_errno e;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		if (finds_line_folding(c, v.iov_base, v.iov_len))
		{
			evbuffer_drain(in, evbuffer_get_length(in));
			fail(c, 400, "obsolete_line_folding",
				 "a header line may not begin with a space or tab (obsolete line folding)");
			parse_failed(c);
			return;
		}
		n = http_parser_execute(&c->parser, &gw.settings, v.iov_base,
								v.iov_len);
		e = HTTP_PARSER_ERRNO(&c->parser);
		if (e != HPE_OK && e != HPE_PAUSED)
		{
			evbuffer_drain(in, evbuffer_get_length(in));
			parse_failed(c);
			return;
		}
		evbuffer_drain(in, n);
	}
	if (c->complete)
		handle_request(c);
}

/* ----- bufferevent callbacks ----- */

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	conn	   *c = arg;

	if (c->ph == PH_CLOSING)
	{
		evbuffer_drain(bufferevent_get_input(bev),
					   evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	if (c->ph == PH_IDLE)
	{
		evtimer_del(c->timer);
		begin_request(c);
	}
	if (c->ph == PH_HEADERS || c->ph == PH_BODY)
		process_input(c);
}

/*
 * The answer is fully handed to the kernel: close, or get ready for the
 * next request (which may already be buffered).
 */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	conn	   *c = arg;

	if (c->ph != PH_WRITING)
		return;
	evtimer_del(c->timer);
	if (c->close_after)
	{
		/*
		 * Linger briefly, reading and discarding, so that a client still
		 * sending (say, an oversized body) gets our answer rather than a
		 * reset.
		 */
		c->ph = PH_CLOSING;
		bufferevent_enable(bev, EV_READ);
		set_timer(c, 2000);
		return;
	}
	c->ph = PH_IDLE;
	http_parser_pause(&c->parser, 0);
	c->complete = false;
	bufferevent_enable(bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
	{
		begin_request(c);
		process_input(c);
	}
	else
		set_timer(c, gw.cfg->idle_timeout_ms);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	conn	   *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(c);
}

/* The per-connection deadline of the current phase has passed. */
static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	conn	   *c = arg;

	switch (c->ph)
	{
		case PH_HEADERS:
			if (c->tls &&
				!SSL_is_init_finished(bufferevent_openssl_get_ssl(c->bev)))
			{
				/* no TLS yet, so no way to send a 408 */
				conn_free(c);
				break;
			}
			/* FALLTHROUGH */
		case PH_BODY:
			respond_error(c, 408, "request_timeout",
						  "the request was not received in time", true);
			evtimer_del(c->timer);
			set_timer(c, TIMED_OUT_ANSWER_MS);
			break;
		case PH_DB:
			set_timer(c, 1000); /* the statement timeout bounds this */
			break;
		case PH_WRITING:
		case PH_IDLE:
		case PH_CLOSING:
			conn_free(c);
			break;
	}
}

/* ----- listeners ----- */

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		  int salen, void *arg)
{
	bool		tls = arg != NULL;
	conn	   *c;
	SSL		   *ssl = NULL;

	if (gw.nconns >= gw.cfg->max_connections || gw.shutting_down)
	{
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(conn));
	if (c == NULL)
		abort();
	c->tls = tls;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *) sa)->sin_addr,
				  c->client, sizeof(c->client));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *) sa)->sin6_addr,
				  c->client, sizeof(c->client));
	else
		strcpy(c->client, "0.0.0.0");

	if (tls)
	{
		ssl = gw_tls_new_ssl();
		if (ssl == NULL)
		{
			evutil_closesocket(fd);
			free(c);
			return;
		}
		c->bev = bufferevent_openssl_socket_new(gw.base, fd, ssl,
												BUFFEREVENT_SSL_ACCEPTING,
												BEV_OPT_CLOSE_ON_FREE);
	}
	else
		c->bev = bufferevent_socket_new(gw.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
	{
		if (ssl)
			SSL_free(ssl);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->timer = evtimer_new(gw.base, conn_timer_cb, c);
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	gw_headers_init(&c->hdrs);

	c->next = gw.conns;
	if (gw.conns)
		gw.conns->prev = c;
	gw.conns = c;
	gw.nconns++;

	/* the header deadline also covers the TLS handshake */
	begin_request(c);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	gw_log("error", "accept failed: %s",
		   evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static struct evconnlistener *
listen_on(const char *addr, int port, bool tls)
{
	struct sockaddr_storage ss;
	int			sslen = sizeof(ss);
	char		spec[300];
	struct evconnlistener *l;

	snprintf(spec, sizeof(spec), strchr(addr, ':') ? "[%s]:%d" : "%s:%d",
			 addr, port);
	memset(&ss, 0, sizeof(ss));
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *) &ss, &sslen) != 0)
	{
		gw_log("error", "invalid listen address \"%s\"", spec);
		return NULL;
	}
	l = evconnlistener_new_bind(gw.base, accept_cb, tls ? (void *) 1 : NULL,
								LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
								1024, (struct sockaddr *) &ss, sslen);
	if (l == NULL)
	{
		gw_log("error", "could not listen on %s: %s", spec,
			   evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return NULL;
	}
	evconnlistener_set_error_cb(l, accept_error_cb);
	gw_log("info", "listening on %s (%s)", spec,
		   tls ? "https" : "http, redirect only");
	return l;
}

/* Opens the listeners; -1 if one cannot be opened. */
int
gw_http_start(struct event_base *base, const gw_config *cfg)
{
	gw.base = base;
	gw.cfg = cfg;
	snprintf(gw.hsts, sizeof(gw.hsts), "max-age=%d; includeSubDomains%s",
			 cfg->hsts_max_age, cfg->hsts_preload ? "; preload" : "");
	http_parser_settings_init(&gw.settings);
	gw.settings.on_url = on_url;
	gw.settings.on_header_field = on_header_field;
	gw.settings.on_header_value = on_header_value;
	gw.settings.on_headers_complete = on_headers_complete;
	gw.settings.on_body = on_body;
	gw.settings.on_chunk_header = on_chunk_header;
	gw.settings.on_message_complete = on_message_complete;

	gw.https = listen_on(cfg->listen_address, cfg->https_port, true);
	if (gw.https == NULL)
		return -1;
	if (cfg->http_port)
	{
		gw.http = listen_on(cfg->listen_address, cfg->http_port, false);
		if (gw.http == NULL)
			return -1;
	}
	return 0;
}

/*
 * SIGTERM: stop accepting, close connections that are between requests,
 * let the others finish their request (answered with Connection: close).
 * drained is called once the last connection is gone.
 */
void
gw_http_shutdown(void (*drained) (void))
{
	conn	   *c = gw.conns;

	gw.shutting_down = true;
	gw.drained = drained;
	if (gw.https)
		evconnlistener_disable(gw.https);
	if (gw.http)
		evconnlistener_disable(gw.http);
	while (c)
	{
		conn	   *next = c->next;

		if (c->ph == PH_IDLE || c->ph == PH_CLOSING ||
			(c->ph == PH_HEADERS && c->header_bytes == 0 && c->url.len == 0))
			conn_free(c);
		c = next;
	}
	if (gw.nconns == 0 && drained)
		drained();
}

/* Frees the listeners and any connection left (after the grace period). */
void
gw_http_stop(void)
{
	gw.drained = NULL;
	while (gw.conns)
		conn_free(gw.conns);
	if (gw.https)
		evconnlistener_free(gw.https);
	if (gw.http)
		evconnlistener_free(gw.http);
	gw.https = gw.http = NULL;
}

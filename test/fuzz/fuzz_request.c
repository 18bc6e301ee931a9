/*
 * fuzz_request.c: libFuzzer target for the gateway's own parsing code.
 *
 * The first input byte picks the target: even = header handling (the rest
 * is split into "name: value" lines, added to a header list, serialized to
 * JSON, searched for a session token, checked for a JSON content type, and
 * its first line redacted as a query string); odd = the config-file parser.
 * Invariants checked: the JSON object is balanced and holds no raw control
 * byte or byte above 0x7e, a found token is made of token characters and
 * lies inside its header, and redacted output never contains a value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/buf.h"
#include "../../gateway/config.h"
#include "../../gateway/request.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_headers(const char *s, size_t n)
{
	gw_headers	h;
	gw_buf		out;
	const char *tok;
	size_t		toklen;
	size_t		i = 0;
	int			depth = 0;
	int			in_str = 0;

	gw_headers_init(&h);
	while (i < n && h.count < 200)
	{
		size_t		e = i;
		size_t		colon;

		while (e < n && s[e] != '\n')
			e++;
		colon = i;
		while (colon < e && s[colon] != ':')
			colon++;
		if (colon < e)
			gw_headers_add(&h, s + i, colon - i, s + colon + 1, e - colon - 1);
		i = e + 1;
	}

	gw_buf_init(&out);
	gw_headers_json(&h, &out);
	for (size_t k = 0; k < out.len; k++)
	{
		unsigned char c = (unsigned char) out.data[k];

		if (c < 0x20 || c > 0x7e)
			abort();
		if (in_str)
		{
			if (c == '\\')
				k++;
			else if (c == '"')
				in_str = 0;
		}
		else if (c == '"')
			in_str = 1;
		else if (c == '{')
			depth++;
		else if (c == '}')
			depth--;
	}
	if (depth != 0 || in_str)
		abort();

	if (gw_find_token(&h, &tok, &toklen) != GW_TOKEN_NONE &&
		!gw_valid_token_chars(tok, toklen))
		abort();
	(void) gw_is_json_content_type(gw_headers_get(&h, "content-type"));
	/* all JSON implies the first is JSON, or there is none */
	if (gw_all_content_types_json(&h) &&
		gw_headers_get(&h, "content-type") &&
		!gw_is_json_content_type(gw_headers_get(&h, "content-type")))
		abort();
	(void) gw_is_cross_site(&h);
	(void) gw_headers_count(&h, "content-length");

	gw_buf_reset(&out);
	{
		size_t		e = 0;

		while (e < n && s[e] != '\n')
			e++;
		gw_redact_query(s, e, &out);
		/* every '=' in the output is followed by the redaction marker */
		for (size_t k = 0; k < out.len; k++)
			if (out.data[k] == '=' &&
				strncmp(out.data + k, "=[redacted]", 11) != 0)
				abort();
	}
	gw_buf_free(&out);
	gw_headers_free(&h);
}

static void
fuzz_config(const char *s, size_t n)
{
	gw_config	c;
	char		err[512];

	gw_config_defaults(&c);
	if (gw_config_parse(&c, s, n, "fuzz", err, sizeof(err)) != 0 &&
		memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	(void) gw_config_check(&c, err, sizeof(err));
	gw_config_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_headers((const char *) data + 1, size - 1);
	else
		fuzz_config((const char *) data + 1, size - 1);
	return 0;
}

/*-------------------------------------------------------------------------
 *
 * sigv4.c
 *	  AWS Signature Version 4, written from AWS's published description and
 *	  checked against its test suites (test/fixtures/aws/sigv4).
 *
 * The signer builds the canonical request (method, canonical URI,
 * canonical query, canonical headers, signed header list, payload hash),
 * hashes it into the string to sign and signs that with a key derived
 * from the secret by four chained HMAC-SHA256 steps.  Two details are
 * easy to get wrong and are pinned by field cases: query parameters are
 * sorted by encoded name and then value, never as whole "name=value"
 * strings (FC-05), and a session token is a signed header added before the
 * signature is computed, exactly once (FC-06).  The payload hash is always
 * the SHA-256 of the body: UNSIGNED-PAYLOAD is an S3-only convention.
 *
 * SQL entry point: commitopt.sigv4_sign(...), used by the tests.
 *
 * extension/sigv4.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/formatting.h"

#include "sigv4.h"

PG_FUNCTION_INFO_V1(commitopt_sigv4_sign);

static const char hexdigits[] = "0123456789abcdef";

/* One query parameter or header, for sorting. */
typedef struct SigV4Pair
{
	char	   *name;
	char	   *value;
	int			order;			/* position in the request, for stability */
} SigV4Pair;

/*
 * to_hex writes len bytes as lower-case hex plus a terminator.
 */
static void
to_hex(const unsigned char *bytes, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
	{
		out[2 * i] = hexdigits[bytes[i] >> 4];
		out[2 * i + 1] = hexdigits[bytes[i] & 0xF];
	}
	out[2 * len] = '\0';
}

/*
 * sigv4_sha256_hex hashes data into 64 hex digits (hex65 holds 65 bytes).
 */
void
sigv4_sha256_hex(const char *data, size_t len, char *hex65)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];

	if (EVP_Digest(data, len, digest, NULL, EVP_sha256(), NULL) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a SHA-256 digest")));
	to_hex(digest, sizeof(digest), hex65);
}

/*
 * hmac_sha256 computes HMAC-SHA256(key, data) into out (32 bytes).
 */
static void
hmac_sha256(const unsigned char *key, size_t key_len,
			const char *data, size_t data_len, unsigned char *out)
{
	unsigned int out_len = 0;

	if (HMAC(EVP_sha256(), key, (int) key_len,
			 (const unsigned char *) data, data_len, out, &out_len) == NULL ||
		out_len != SHA256_DIGEST_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute an HMAC-SHA256")));
}

/*
 * is_unreserved: the characters SigV4 never percent-encodes.
 */
static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		c == '~';
}

/*
 * sigv4_uri_encode percent-encodes every byte but the unreserved ones (and
 * '/' when keep_slash), with upper-case hex as SigV4 requires.
 */
char *
sigv4_uri_encode(const char *s, size_t len, bool keep_slash)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_unreserved(c) || (keep_slash && c == '/'))
			appendStringInfoChar(&buf, (char) c);
		else
			appendStringInfo(&buf, "%%%02X", c);
	}
	return buf.data;
}

/*
 * hexval: the value of a hex digit, or -1.
 */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * uri_decode undoes percent-encoding so that a parameter that arrives
 * encoded is not encoded twice; a '%' not followed by two hex digits is
 * kept as it is.
 */
static char *
uri_decode(const char *s, size_t len, size_t *out_len)
{
	char	   *out = palloc(len + 1);
	size_t		n = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%' && i + 2 < len &&
			hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0)
		{
			out[n++] = (char) (hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		else
			out[n++] = s[i];
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

/*
 * pair_cmp orders by name, then value, then original position, comparing
 * bytes (the C locale), as SigV4 specifies.
 */
static int
pair_cmp(const void *a, const void *b)
{
	const SigV4Pair *pa = a;
	const SigV4Pair *pb = b;
	int			c = strcmp(pa->name, pb->name);

	if (c != 0)
		return c;
	c = strcmp(pa->value, pb->value);
	if (c != 0)
		return c;
	return pa->order - pb->order;
}

/*
 * header_cmp orders headers by lower-case name only, keeping the request's
 * order among values of one name (they are joined, not sorted).
 */
static int
header_cmp(const void *a, const void *b)
{
	const SigV4Pair *pa = a;
	const SigV4Pair *pb = b;
	int			c = strcmp(pa->name, pb->name);

	return c != 0 ? c : pa->order - pb->order;
}

/*
 * canonical_uri encodes the path, first removing "." and ".." segments and
 * empty segments when normalize is set.
 */
static char *
canonical_uri(const char *path, bool normalize)
{
	char	   *work;
	char	  **segs;
	int			nsegs = 0;
	bool		trailing;
	StringInfoData buf;
	char	   *save;
	char	   *tok;

	if (path == NULL || path[0] == '\0')
		return pstrdup("/");
	if (!normalize)
		return sigv4_uri_encode(path, strlen(path), true);

	work = pstrdup(path);
	segs = palloc(sizeof(char *) * (strlen(path) + 1));
	trailing = path[strlen(path) - 1] == '/';
	for (tok = strtok_r(work, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
	{
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0)
		{
			if (nsegs > 0)
				nsegs--;
			continue;
		}
		segs[nsegs++] = tok;
	}

	initStringInfo(&buf);
	for (int i = 0; i < nsegs; i++)
	{
		appendStringInfoChar(&buf, '/');
		appendStringInfoString(&buf, sigv4_uri_encode(segs[i], strlen(segs[i]), false));
	}
	if (nsegs == 0 || trailing)
		appendStringInfoChar(&buf, '/');
	return buf.data;
}

/*
 * canonical_query splits the raw query into parameters, re-encodes each
 * name and value and sorts them by name, then value.
 */
static char *
canonical_query(const char *query)
{
	SigV4Pair  *pairs;
	int			n = 0;
	const char *p;
	StringInfoData buf;

	initStringInfo(&buf);
	if (query == NULL || query[0] == '\0')
		return buf.data;

	pairs = palloc(sizeof(SigV4Pair) * (strlen(query) + 1));
	p = query;
	while (*p)
	{
		const char *end = strchr(p, '&');
		const char *eq;
		size_t		len = end ? (size_t) (end - p) : strlen(p);
		size_t		dlen;
		char	   *dec;

		if (len > 0)
		{
			eq = memchr(p, '=', len);
			dec = uri_decode(p, eq ? (size_t) (eq - p) : len, &dlen);
			pairs[n].name = sigv4_uri_encode(dec, dlen, false);
			if (eq)
				dec = uri_decode(eq + 1, len - (eq + 1 - p), &dlen);
			else
				dec = "", dlen = 0;
			pairs[n].value = sigv4_uri_encode(dec, dlen, false);
			pairs[n].order = n;
			n++;
		}
		if (!end)
			break;
		p = end + 1;
	}

	qsort(pairs, n, sizeof(SigV4Pair), pair_cmp);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(&buf, '&');
		appendStringInfo(&buf, "%s=%s", pairs[i].name, pairs[i].value);
	}
	return buf.data;
}

/*
 * trim_value strips leading and trailing blanks and collapses runs of
 * spaces inside a header value into one.
 */
static char *
trim_value(const char *v)
{
	StringInfoData buf;
	bool		pending_space = false;

	initStringInfo(&buf);
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++)
	{
		if (*v == ' ' || *v == '\t')
		{
			pending_space = true;
			continue;
		}
		if (pending_space && buf.len > 0)
			appendStringInfoChar(&buf, ' ');
		pending_space = false;
		appendStringInfoChar(&buf, *v);
	}
	return buf.data;
}

/*
 * sigv4_sign signs one request.  The caller's headers must include Host;
 * X-Amz-Date and, with temporary credentials, X-Amz-Security-Token are
 * added here (unless the caller already has them) so they are always
 * signed and never duplicated.
 */
void
sigv4_sign(const SigV4Request *req, const SigV4Credentials *cred,
		   const char *region, const char *service, const char *amz_date,
		   SigV4Result *out)
{
	SigV4Pair  *hdrs;
	int			nh = 0;
	bool		have_date = false;
	bool		have_token = false;
	StringInfoData creq;
	StringInfoData signed_headers;
	StringInfoData sts;
	char		payload_hash[65];
	char		creq_hash[65];
	char		date_stamp[9];
	char	   *scope;
	char	   *kseed;
	unsigned char k1[32],
				k2[32],
				k3[32],
				k4[32],
				sig[32];
	char		sig_hex[65];

	if (strlen(amz_date) != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid SigV4 timestamp \"%s\"", amz_date),
				 errdetail("The timestamp must look like 20150830T123600Z.")));
	memcpy(date_stamp, amz_date, 8);
	date_stamp[8] = '\0';

	hdrs = palloc(sizeof(SigV4Pair) * (req->nheaders + 2));
	for (int i = 0; i < req->nheaders; i++)
	{
		char	   *lname = asc_tolower(req->header_names[i],
										strlen(req->header_names[i]));

		if (strcmp(lname, "x-amz-date") == 0)
			have_date = true;
		if (strcmp(lname, "x-amz-security-token") == 0)
			have_token = true;
		hdrs[nh].name = lname;
		hdrs[nh].value = trim_value(req->header_values[i]);
		hdrs[nh].order = nh;
		nh++;
	}
	if (!have_date)
	{
		hdrs[nh].name = "x-amz-date";
		hdrs[nh].value = pstrdup(amz_date);
		hdrs[nh].order = nh;
		nh++;
	}
	if (cred->session_token != NULL && !have_token)
	{
		hdrs[nh].name = "x-amz-security-token";
		hdrs[nh].value = pstrdup(cred->session_token);
		hdrs[nh].order = nh;
		nh++;
	}
	qsort(hdrs, nh, sizeof(SigV4Pair), header_cmp);

	initStringInfo(&creq);
	initStringInfo(&signed_headers);
	appendStringInfo(&creq, "%s\n%s\n%s\n", req->method,
					 canonical_uri(req->path, req->normalize_path),
					 canonical_query(req->query));
	for (int i = 0; i < nh; i++)
	{
		/* values of a repeated header are joined by commas in order */
		if (i > 0 && strcmp(hdrs[i].name, hdrs[i - 1].name) == 0)
		{
			appendStringInfo(&creq, ",%s", hdrs[i].value);
			continue;
		}
		if (i > 0)
		{
			appendStringInfoChar(&creq, '\n');
			appendStringInfoChar(&signed_headers, ';');
		}
		appendStringInfo(&creq, "%s:%s", hdrs[i].name, hdrs[i].value);
		appendStringInfoString(&signed_headers, hdrs[i].name);
	}
	sigv4_sha256_hex(req->body ? req->body : "", req->body ? req->body_len : 0,
					 payload_hash);
	appendStringInfo(&creq, "\n\n%s\n%s", signed_headers.data, payload_hash);

	sigv4_sha256_hex(creq.data, creq.len, creq_hash);
	scope = psprintf("%s/%s/%s/aws4_request", date_stamp, region, service);
	initStringInfo(&sts);
	appendStringInfo(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s",
					 amz_date, scope, creq_hash);

	kseed = psprintf("AWS4%s", cred->secret_access_key);
	hmac_sha256((unsigned char *) kseed, strlen(kseed),
				date_stamp, strlen(date_stamp), k1);
	explicit_bzero(kseed, strlen(kseed));
	hmac_sha256(k1, 32, region, strlen(region), k2);
	hmac_sha256(k2, 32, service, strlen(service), k3);
	hmac_sha256(k3, 32, "aws4_request", 12, k4);
	hmac_sha256(k4, 32, sts.data, sts.len, sig);
	explicit_bzero(k1, 32);
	explicit_bzero(k4, 32);
	to_hex(sig, 32, sig_hex);

	out->canonical_request = creq.data;
	out->string_to_sign = sts.data;
	out->signature = pstrdup(sig_hex);
	out->signed_headers = signed_headers.data;
	out->amz_date = pstrdup(amz_date);
	out->authorization =
		psprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
				 cred->access_key_id, scope, signed_headers.data, sig_hex);
}

/*
 * commitopt_sigv4_sign(method, path, query, headers text[], body bytea,
 *		access_key, secret, token, region, service, amz_date, normalize)
 * returns the canonical request, string to sign, signature and
 * Authorization value.  headers are "Name:value" strings.  It exists for
 * tests against AWS's vectors: the secret comes from the caller.
 */
Datum
commitopt_sigv4_sign(PG_FUNCTION_ARGS)
{
	SigV4Request req = {0};
	SigV4Credentials cred = {0};
	SigV4Result res;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	Datum	   *elems = NULL;
	bool	   *elem_nulls = NULL;
	int			nelems = 0;

	for (int i = 0; i < 12; i++)
		if (i != 2 && i != 4 && i != 7 && PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument %d of sigv4_sign must not be null", i + 1)));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	req.method = text_to_cstring(PG_GETARG_TEXT_PP(0));
	req.path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	req.query = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(3), TEXTOID, -1, false,
					  TYPALIGN_INT, &elems, &elem_nulls, &nelems);
	req.header_names = palloc(sizeof(char *) * (nelems + 1));
	req.header_values = palloc(sizeof(char *) * (nelems + 1));
	for (int i = 0; i < nelems; i++)
	{
		char	   *h;
		char	   *colon;

		if (elem_nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("header %d is null", i + 1)));
		h = TextDatumGetCString(elems[i]);
		colon = strchr(h, ':');
		if (colon == NULL || colon == h)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("header %d \"%s\" is not of the form name:value",
							i + 1, h)));
		*colon = '\0';
		req.header_names[i] = h;
		req.header_values[i] = colon + 1;
	}
	req.nheaders = nelems;
	if (!PG_ARGISNULL(4))
	{
		bytea	   *body = PG_GETARG_BYTEA_PP(4);

		req.body = VARDATA_ANY(body);
		req.body_len = VARSIZE_ANY_EXHDR(body);
	}
	req.normalize_path = PG_GETARG_BOOL(11);

	cred.access_key_id = text_to_cstring(PG_GETARG_TEXT_PP(5));
	cred.secret_access_key = text_to_cstring(PG_GETARG_TEXT_PP(6));
	cred.session_token = PG_ARGISNULL(7) ? NULL :
		text_to_cstring(PG_GETARG_TEXT_PP(7));

	sigv4_sign(&req, &cred,
			   text_to_cstring(PG_GETARG_TEXT_PP(8)),
			   text_to_cstring(PG_GETARG_TEXT_PP(9)),
			   text_to_cstring(PG_GETARG_TEXT_PP(10)), &res);

	values[0] = CStringGetTextDatum(res.canonical_request);
	values[1] = CStringGetTextDatum(res.string_to_sign);
	values[2] = CStringGetTextDatum(res.signature);
	values[3] = CStringGetTextDatum(res.authorization);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

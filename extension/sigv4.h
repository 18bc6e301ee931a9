/*-------------------------------------------------------------------------
 *
 * sigv4.h
 *	  AWS Signature Version 4: canonical request, string to sign, signature.
 *
 * extension/sigv4.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef COMMITOPT_SIGV4_H
#define COMMITOPT_SIGV4_H

#include <stddef.h>

/* One request to sign.  Header names are as sent; values untrimmed. */
typedef struct SigV4Request
{
	const char *method;
	const char *path;			/* raw path, not yet percent-encoded */
	const char *query;			/* raw query after '?', or NULL */
	int			nheaders;
	const char **header_names;
	const char **header_values;
	const char *body;
	size_t		body_len;
	bool		normalize_path; /* remove dot segments and repeated '/' */
} SigV4Request;

typedef struct SigV4Credentials
{
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;	/* NULL for long-term credentials */
} SigV4Credentials;

/* What signing produced; every string is palloc'd. */
typedef struct SigV4Result
{
	char	   *canonical_request;
	char	   *string_to_sign;
	char	   *signature;		/* lower-case hex */
	char	   *authorization;	/* the Authorization header's value */
	char	   *amz_date;		/* the X-Amz-Date header's value */
	char	   *signed_headers;
} SigV4Result;

extern void sigv4_sign(const SigV4Request *req, const SigV4Credentials *cred,
					   const char *region, const char *service,
					   const char *amz_date, SigV4Result *out);
extern void sigv4_sha256_hex(const char *data, size_t len, char *hex65);
extern char *sigv4_uri_encode(const char *s, size_t len, bool keep_slash);

#endif							/* COMMITOPT_SIGV4_H */

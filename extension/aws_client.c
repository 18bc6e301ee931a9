/*-------------------------------------------------------------------------
 *
 * aws_client.c
 *	  Signed calls to AWS (STS, EC2, Savings Plans) and the inventory fetch
 *	  of one connected account.
 *
 * Every call goes over HTTPS (libcurl, TLS 1.2 or later, peer and host
 * verification always on), is signed with SigV4 (sigv4.c) afresh on every
 * attempt, and has a connect and a total timeout.  Throttling and 5xx
 * answers are retried with capped exponential back-off and full jitter;
 * other 4xx answers are reported with AWS's error code.  A clock-skew
 * answer is corrected from the response's Date header and retried.  A
 * query cancel or termination interrupts a transfer in progress.
 *
 * The platform's own credentials come from the environment or a file named
 * by the superuser-only setting commitopt.aws_credentials; with them the
 * extension assumes the customer's role (STS AssumeRole with the external
 * ID) and uses the temporary credentials, re-assuming when they are within
 * five minutes of expiry or when AWS reports them expired (FC-06).
 *
 * commitopt.aws_fetch_inventory() returns everything the sync needs as one
 * jsonb value; writing it into the inventory tables is done in SQL
 * (97_aws_connections.sql) in one transaction, so a failing call or a
 * malformed page leaves nothing half-written.  XML answers are parsed with
 * libxml2, JSON answers with PostgreSQL's jsonb parser.
 *
 * extension/aws_client.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/rand.h>

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "commitopt.h"
#include "crypto_secrets.h"
#include "sigv4.h"

PG_FUNCTION_INFO_V1(commitopt_aws_fetch_inventory);
PG_FUNCTION_INFO_V1(commitopt_aws_verify_role);
PG_FUNCTION_INFO_V1(commitopt_random_external_id);

/* Settings (see define_aws_settings). */
static char *aws_endpoint = NULL;
static char *aws_ca_file = NULL;
static char *aws_credentials = NULL;
static int	aws_timeout_ms = 30000;
static int	aws_max_retries = 5;
static int	aws_backoff_base_ms = 200;
static int	aws_backoff_cap_ms = 20000;
static int	aws_session_seconds = 3600;
static char *aws_principal_arn = NULL;

/*
 * Seconds to add to our clock to match AWS's, learnt from a skew error.
 * XXX: per process; each one-shot job worker learns it again.
 */
static double aws_clock_skew = 0;

#define REASSUME_MARGIN_SECS 300
#define MAX_RESPONSE_BYTES (64 * 1024 * 1024)

typedef struct AwsCredentials
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;
	TimestampTz expires;		/* 0 for long-term credentials */
} AwsCredentials;

/* One connected account being fetched. */
typedef struct AwsSession
{
	AwsCredentials platform;
	AwsCredentials role;
	char	   *role_arn;
	char	   *external_id;
	char	   *region;
	int			calls;
	int			assumes;
	int			retries;
} AwsSession;

typedef struct AwsResponse
{
	long		status;
	StringInfoData body;
	char	   *date_header;
	bool		too_large;
	char	   *error_code;		/* AWS error code, when the body has one */
	char	   *error_message;
} AwsResponse;

/*
 * define_aws_settings registers the settings of the AWS client.  Endpoint,
 * CA file and credentials source are superuser-only: they decide where
 * credentials are sent and which credentials are used.
 */
void
define_aws_settings(void)
{
	DefineCustomStringVariable("commitopt.aws_endpoint",
							   "Base URL that replaces every AWS endpoint (for tests against a fake).",
							   "Empty means the real AWS endpoints.  Must be https.",
							   &aws_endpoint, "", PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("commitopt.aws_ca_file",
							   "CA bundle used to verify AWS endpoints.",
							   "Empty means the system's CA store.",
							   &aws_ca_file, "", PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("commitopt.aws_credentials",
							   "Where the platform's own AWS credentials come from.",
							   "\"env\" reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the "
							   "server's environment; otherwise the path of a file with "
							   "aws_access_key_id and aws_secret_access_key lines.",
							   &aws_credentials, "env", PGC_SUSET, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.aws_timeout",
							"Total time limit of one AWS call.", NULL,
							&aws_timeout_ms, 30000, 100, 600000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.aws_max_retries",
							"Retries of a throttled or failed (5xx) AWS call.", NULL,
							&aws_max_retries, 5, 0, 20, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.aws_backoff_base",
							"First back-off delay before retrying an AWS call.", NULL,
							&aws_backoff_base_ms, 200, 1, 60000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.aws_backoff_cap",
							"Longest back-off delay between retries of an AWS call.", NULL,
							&aws_backoff_cap_ms, 20000, 1, 600000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("commitopt.aws_principal_arn",
							   "The platform's AWS principal that customers' roles trust.",
							   "Shown in the trust policy generated at registration.",
							   &aws_principal_arn, "", PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.aws_session_duration",
							"Lifetime asked for the assumed role's credentials.", NULL,
							&aws_session_seconds, 3600, 900, 43200,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}

/*
 * load_platform_credentials reads the platform's long-term credentials
 * from the source commitopt.aws_credentials names.
 */
static void
load_platform_credentials(AwsCredentials *cred)
{
	memset(cred, 0, sizeof(*cred));
	if (aws_credentials == NULL || strcmp(aws_credentials, "env") == 0)
	{
		const char *ak = getenv("AWS_ACCESS_KEY_ID");
		const char *sk = getenv("AWS_SECRET_ACCESS_KEY");

		if (ak && sk && ak[0] && sk[0])
		{
			cred->access_key_id = pstrdup(ak);
			cred->secret_access_key = pstrdup(sk);
		}
	}
	else
	{
		FILE	   *f = AllocateFile(aws_credentials, "r");
		char		line[1024];

		if (f == NULL)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not open AWS credentials file \"%s\": %m",
							aws_credentials)));
		while (fgets(line, sizeof(line), f))
		{
			char	   *eq = strchr(line, '=');
			char	   *name = line;
			char	   *value;

			if (eq == NULL)
				continue;
			*eq = '\0';
			value = eq + 1;
			while (*name == ' ')
				name++;
			for (char *e = eq - 1; e >= name && (*e == ' ' || *e == '\t'); e--)
				*e = '\0';
			while (*value == ' ' || *value == '\t')
				value++;
			value[strcspn(value, " \t\r\n")] = '\0';
			if (strcmp(name, "aws_access_key_id") == 0)
				cred->access_key_id = pstrdup(value);
			else if (strcmp(name, "aws_secret_access_key") == 0)
				cred->secret_access_key = pstrdup(value);
		}
		explicit_bzero(line, sizeof(line));
		FreeFile(f);
	}
	if (cred->access_key_id == NULL || cred->secret_access_key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("the platform's AWS credentials are not configured"),
				 errhint("Set commitopt.aws_credentials to \"env\" or to a credentials file.")));
}

/*
 * endpoint_url: the base URL of a service, or the override for tests.
 */
static char *
endpoint_url(const char *service, const char *region)
{
	if (aws_endpoint && aws_endpoint[0])
		return pstrdup(aws_endpoint);
	/* XXX: aws-cn and aws-us-gov partitions need their own endpoints */
	if (strcmp(service, "ec2") == 0)
		return psprintf("https://ec2.%s.amazonaws.com", region);
	if (strcmp(service, "sts") == 0)
		return pstrdup("https://sts.amazonaws.com");
	return psprintf("https://%s.amazonaws.com", service);
}

/*
 * response_write is libcurl's body callback: it appends up to the limit
 * and stops the transfer beyond it.
 */
static size_t
response_write(char *data, size_t size, size_t nmemb, void *arg)
{
	AwsResponse *resp = arg;
	size_t		n = size * nmemb;

	if ((size_t) resp->body.len + n > MAX_RESPONSE_BYTES)
	{
		resp->too_large = true;
		return 0;
	}
	/* XXX: out of memory here would longjmp through libcurl */
	appendBinaryStringInfo(&resp->body, data, (int) n);
	return n;
}

/*
 * response_header keeps the Date header, used to measure clock skew.
 */
static size_t
response_header(char *data, size_t size, size_t nmemb, void *arg)
{
	AwsResponse *resp = arg;
	size_t		n = size * nmemb;

	if (n > 5 && pg_strncasecmp(data, "date:", 5) == 0 && resp->date_header == NULL)
	{
		char	   *v = pnstrdup(data + 5, n - 5);

		v[strcspn(v, "\r\n")] = '\0';
		while (*v == ' ')
			v++;
		resp->date_header = v;
	}
	return n;
}

/*
 * transfer_progress aborts a transfer when the backend is asked to cancel
 * or terminate; the interrupt itself is serviced after curl returns.
 */
static int
transfer_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
				  curl_off_t ultotal, curl_off_t ulnow)
{
	return (QueryCancelPending || ProcDiePending) ? 1 : 0;
}

/*
 * xml_child finds the first child element of node with this local name.
 */
static xmlNode *
xml_child(xmlNode *node, const char *name)
{
	if (node == NULL)
		return NULL;
	for (xmlNode *c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *) c->name, name) == 0)
			return c;
	return NULL;
}

/*
 * xml_find searches the subtree of node (depth first) for an element.
 */
static xmlNode *
xml_find(xmlNode *node, const char *name)
{
	for (xmlNode *c = node ? node->children : NULL; c; c = c->next)
	{
		xmlNode    *hit;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *) c->name, name) == 0)
			return c;
		if ((hit = xml_find(c, name)) != NULL)
			return hit;
	}
	return NULL;
}

/*
 * xml_text: the text content of a child element (palloc'd), or NULL.
 */
static char *
xml_text(xmlNode *node, const char *name)
{
	xmlNode    *c = xml_child(node, name);
	xmlChar    *t;
	char	   *out;

	if (c == NULL)
		return NULL;
	t = xmlNodeGetContent(c);
	out = pstrdup(t ? (char *) t : "");
	xmlFree(t);
	return out;
}

/*
 * xml_parse parses an XML answer; a malformed one is an error naming the
 * call, and nothing has been written yet when it is raised.
 */
static xmlDoc *
xml_parse(const AwsResponse *resp, const char *what)
{
	xmlDoc	   *doc = xmlReadMemory(resp->body.data, resp->body.len, NULL, NULL,
									XML_PARSE_NONET | XML_PARSE_NOERROR |
									XML_PARSE_NOWARNING);

	if (doc == NULL || xmlDocGetRootElement(doc) == NULL)
	{
		const xmlError *e = xmlGetLastError();

		if (doc)
			xmlFreeDoc(doc);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_XML_DOCUMENT),
				 errmsg("malformed XML in the %s response", what),
				 errdetail("libxml2: %s at line %d.",
						   e && e->message ? pchomp(e->message) : "no document",
						   e ? e->line : 0)));
	}
	return doc;
}

/*
 * parse_error_body extracts AWS's error code and message from an XML
 * (query APIs) or JSON (Savings Plans) error answer.
 */
static void
parse_error_body(AwsResponse *resp)
{
	if (resp->body.len == 0)
		return;
	if (resp->body.data[0] == '<')
	{
		xmlDoc	   *doc = xmlReadMemory(resp->body.data, resp->body.len, NULL, NULL,
										XML_PARSE_NONET | XML_PARSE_NOERROR |
										XML_PARSE_NOWARNING);
		xmlNode    *err;

		if (doc == NULL)
			return;
		err = xml_find((xmlNode *) doc, "Error");
		if (err)
		{
			resp->error_code = xml_text(err, "Code");
			resp->error_message = xml_text(err, "Message");
		}
		xmlFreeDoc(doc);
	}
	else if (resp->body.data[0] == '{')
	{
		const char *t = strstr(resp->body.data, "\"__type\"");

		/* XXX: a minimal look-up; the error body is not otherwise used */
		if (t && (t = strchr(t + 8, '"')) != NULL)
		{
			const char *e = strchr(t + 1, '"');
			const char *hash;

			if (e)
			{
				resp->error_code = pnstrdup(t + 1, e - t - 1);
				hash = strrchr(resp->error_code, '#');
				if (hash)
					resp->error_code = pstrdup(hash + 1);
			}
		}
	}
}

/*
 * is_retryable: throttling and server-side failures are retried.
 */
static bool
is_retryable(const AwsResponse *resp)
{
	const char *c = resp->error_code;

	if (resp->status == 429 || resp->status >= 500)
		return true;
	return c && (strcmp(c, "Throttling") == 0 ||
				 strcmp(c, "ThrottlingException") == 0 ||
				 strcmp(c, "RequestLimitExceeded") == 0 ||
				 strcmp(c, "TooManyRequestsException") == 0);
}

/*
 * is_skew_error: AWS refused the signature's timestamp.
 */
static bool
is_skew_error(const AwsResponse *resp)
{
	return resp->error_code &&
		(strcmp(resp->error_code, "RequestTimeTooSkewed") == 0 ||
		 strcmp(resp->error_code, "RequestExpired") == 0 ||
		 strcmp(resp->error_code, "InvalidSignatureException") == 0 ||
		 (strcmp(resp->error_code, "SignatureDoesNotMatch") == 0 &&
		  resp->error_message && strstr(resp->error_message, "expired")));
}

/*
 * learn_clock_skew sets the skew from the response's Date header; returns
 * whether it changed by more than a minute (worth a retry).
 */
static bool
learn_clock_skew(const AwsResponse *resp)
{
	struct tm	tm;
	time_t		server;
	double		skew;

	if (resp->date_header == NULL)
		return false;
	memset(&tm, 0, sizeof(tm));
	if (strptime(resp->date_header, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
		return false;
	server = timegm(&tm);
	skew = difftime(server, time(NULL));
	if (fabs(skew - aws_clock_skew) < 60)
		return false;
	ereport(LOG,
			(errmsg("AWS clock differs from ours by %.0f seconds; correcting", skew)));
	aws_clock_skew = skew;
	return true;
}

/*
 * backoff_sleep waits min(cap, base * 2^attempt) scaled by a random
 * fraction (full jitter), waking for interrupts.
 */
static void
backoff_sleep(int attempt)
{
	double		ceiling = Min((double) aws_backoff_cap_ms,
							  aws_backoff_base_ms * pow(2.0, attempt));
	uint32		r = 0;
	long		ms;

	if (RAND_bytes((unsigned char *) &r, sizeof(r)) != 1)
		r = (uint32) random();
	ms = (long) (ceiling * ((double) r / 4294967296.0)) + 1;
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/*
 * aws_amz_date: now, corrected by the learnt skew, as SigV4 wants it.
 */
static char *
aws_amz_date(void)
{
	time_t		now = time(NULL) + (time_t) aws_clock_skew;
	struct tm	tm;
	char		buf[32];

	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
	return pstrdup(buf);
}

/*
 * host_of: host[:port] of a URL, as the Host header carries it.
 */
static char *
host_of(const char *url)
{
	const char *p = strstr(url, "://");
	size_t		n;

	p = p ? p + 3 : url;
	n = strcspn(p, "/?");
	return pnstrdup(p, n);
}

/*
 * aws_call_once performs one signed HTTPS request.
 */
static void
aws_call_once(const char *service, const char *region, const char *method,
			  const char *query, const char *path, const char *body,
			  const char *content_type, const char *target,
			  const AwsCredentials *cred, AwsResponse *resp)
{
	char	   *base = endpoint_url(service, region);
	char	   *url;
	const char *names[4];
	const char *values[4];
	int			nh = 0;
	SigV4Request req = {0};
	SigV4Credentials sc;
	SigV4Result sig;
	CURL	   *volatile curl = NULL;
	struct curl_slist *volatile headers = NULL;
	char		curl_error[CURL_ERROR_SIZE];
	volatile CURLcode rc = CURLE_FAILED_INIT;

	if (pg_strncasecmp(base, "https://", 8) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("AWS endpoint \"%s\" is not an https URL", base)));
	if (base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	url = psprintf("%s%s%s%s", base, path, query ? "?" : "", query ? query : "");

	names[nh] = "Host";
	values[nh++] = host_of(base);
	if (content_type)
	{
		names[nh] = "Content-Type";
		values[nh++] = content_type;
	}
	if (target)
	{
		names[nh] = "X-Amz-Target";
		values[nh++] = target;
	}
	req.method = method;
	req.path = path;
	req.query = query;
	req.nheaders = nh;
	req.header_names = names;
	req.header_values = values;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.normalize_path = true;
	sc.access_key_id = cred->access_key_id;
	sc.secret_access_key = cred->secret_access_key;
	sc.session_token = cred->session_token;
	sigv4_sign(&req, &sc, region, service, aws_amz_date(), &sig);

	resetStringInfo(&resp->body);
	resp->status = 0;
	resp->date_header = NULL;
	resp->too_large = false;
	resp->error_code = NULL;
	resp->error_message = NULL;
	curl_error[0] = '\0';

	PG_TRY();
	{
		struct curl_slist *h = NULL;

		for (int i = 1; i < nh; i++)
			h = curl_slist_append(h, psprintf("%s: %s", names[i], values[i]));
		h = curl_slist_append(h, psprintf("X-Amz-Date: %s", sig.amz_date));
		if (cred->session_token)
			h = curl_slist_append(h, psprintf("X-Amz-Security-Token: %s",
											  cred->session_token));
		h = curl_slist_append(h, psprintf("Authorization: %s", sig.authorization));
		h = curl_slist_append(h, "Expect:");
		headers = h;

		curl = curl_easy_init();
		if (curl != NULL)
		{
			curl_easy_setopt(curl, CURLOPT_URL, url);
			curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
			curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
			curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
			curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
			if (aws_ca_file && aws_ca_file[0])
				curl_easy_setopt(curl, CURLOPT_CAINFO, aws_ca_file);
			curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long) aws_timeout_ms);
			curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long) aws_timeout_ms);
			curl_easy_setopt(curl, CURLOPT_USERAGENT, "commitopt");
			curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
			curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
			if (body)
			{
				curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
				curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
			}
			curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, response_write);
			curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
			curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, response_header);
			curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
			curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
			curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, transfer_progress);
			rc = curl_easy_perform(curl);
			if (rc == CURLE_OK)
				curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
		}
	}
	PG_FINALLY();
	{
		if (curl != NULL)
			curl_easy_cleanup(curl);
		if (headers != NULL)
			curl_slist_free_all(headers);
	}
	PG_END_TRY();

	CHECK_FOR_INTERRUPTS();
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		ereport(ERROR,
				(errcode(ERRCODE_QUERY_CANCELED),
				 errmsg("AWS call to %s was interrupted", service)));
	if (rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not call AWS %s at %s", service, base),
				 errdetail("%s", resp->too_large ? "The answer was too large." :
						   curl_error[0] ? curl_error : curl_easy_strerror(rc))));
	if (resp->status >= 300)
		parse_error_body(resp);
}

/*
 * aws_call performs a call with retries: throttling and 5xx are retried
 * with back-off, a clock-skew answer once after correcting the clock;
 * every attempt is signed afresh.  Other failures are errors naming the
 * action and AWS's error code; "ExpiredToken" is returned to the caller
 * (who re-assumes) when expired_ok.
 */
static void
aws_call(AwsSession *s, const char *service, const char *action,
		 const char *method, const char *query, const char *path,
		 const char *body, const char *content_type, const char *target,
		 const AwsCredentials *cred, AwsResponse *resp, bool expired_ok)
{
	bool		skew_retried = false;

	for (int attempt = 0;; attempt++)
	{
		aws_call_once(service, s->region, method, query, path, body,
					  content_type, target, cred, resp);
		s->calls++;
		if (resp->status >= 200 && resp->status < 300)
			return;
		if (is_skew_error(resp) && !skew_retried && learn_clock_skew(resp))
		{
			skew_retried = true;
			continue;
		}
		if (is_retryable(resp) && attempt < aws_max_retries)
		{
			s->retries++;
			backoff_sleep(attempt);
			continue;
		}
		if (expired_ok && resp->error_code &&
			(strcmp(resp->error_code, "ExpiredToken") == 0 ||
			 strcmp(resp->error_code, "ExpiredTokenException") == 0 ||
			 strcmp(resp->error_code, "RequestExpired") == 0))
			return;
		ereport(ERROR,
				(errcode(resp->status >= 500 || resp->status == 429 ?
						 ERRCODE_CONNECTION_FAILURE : ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("AWS %s failed with HTTP status %ld: %s", action,
						resp->status,
						resp->error_code ? resp->error_code : "no error code"),
				 resp->error_message ?
				 errdetail("AWS said: %s", resp->error_message) : 0,
				 is_retryable(resp) ?
				 errhint("Gave up after %d retries.", aws_max_retries) : 0));
	}
}

/*
 * form_encode: name=value&... with SigV4's percent-encoding.
 */
static void
form_add(StringInfo buf, const char *name, const char *value)
{
	if (buf->len > 0)
		appendStringInfoChar(buf, '&');
	appendStringInfo(buf, "%s=%s", name, sigv4_uri_encode(value, strlen(value), false));
}

/*
 * assume_role calls STS AssumeRole with the external ID and keeps the
 * temporary credentials in the session.  A refusal is reported with the
 * external ID named as the likely cause when AWS says access is denied.
 */
static void
assume_role(AwsSession *s)
{
	StringInfoData body;
	AwsResponse resp;
	xmlDoc	   *doc;
	xmlNode    *c;
	char	   *exp;

	initStringInfo(&body);
	form_add(&body, "Action", "AssumeRole");
	form_add(&body, "Version", "2011-06-15");
	form_add(&body, "RoleArn", s->role_arn);
	form_add(&body, "RoleSessionName", "commitopt-sync");
	form_add(&body, "ExternalId", s->external_id);
	form_add(&body, "DurationSeconds", psprintf("%d", aws_session_seconds));

	initStringInfo(&resp.body);
	PG_TRY();
	{
		aws_call(s, "sts", "AssumeRole", "POST", NULL, "/", body.data,
				 "application/x-www-form-urlencoded; charset=utf-8", NULL,
				 &s->platform, &resp, false);
	}
	PG_CATCH();
	{
		explicit_bzero(body.data, body.len);
		PG_RE_THROW();
	}
	PG_END_TRY();
	explicit_bzero(body.data, body.len);
	s->assumes++;

	doc = xml_parse(&resp, "AssumeRole");
	c = xml_find((xmlNode *) doc, "Credentials");
	s->role.access_key_id = c ? xml_text(c, "AccessKeyId") : NULL;
	s->role.secret_access_key = c ? xml_text(c, "SecretAccessKey") : NULL;
	s->role.session_token = c ? xml_text(c, "SessionToken") : NULL;
	exp = c ? xml_text(c, "Expiration") : NULL;
	xmlFreeDoc(doc);
	explicit_bzero(resp.body.data, resp.body.len);
	if (!s->role.access_key_id || !s->role.secret_access_key ||
		!s->role.session_token || !exp)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_XML_CONTENT),
				 errmsg("AssumeRole response lacks credentials")));
	s->role.expires = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
															  CStringGetDatum(exp),
															  ObjectIdGetDatum(InvalidOid),
															  Int32GetDatum(-1)));
}

/*
 * ensure_role_credentials re-assumes the role when the credentials are
 * missing or within five minutes of expiry (by AWS's clock).
 */
static void
ensure_role_credentials(AwsSession *s)
{
	TimestampTz now = GetCurrentTimestamp() + (TimestampTz) (aws_clock_skew * USECS_PER_SEC);

	if (s->role.access_key_id == NULL ||
		s->role.expires - now < REASSUME_MARGIN_SECS * USECS_PER_SEC)
		assume_role(s);
}

/*
 * role_call: a call with the role's credentials; an expired-token answer
 * leads to one re-assume and a fresh, newly signed attempt.
 */
static void
role_call(AwsSession *s, const char *service, const char *action,
		  const char *method, const char *query, const char *path,
		  const char *body, const char *content_type, const char *target,
		  AwsResponse *resp)
{
	ensure_role_credentials(s);
	aws_call(s, service, action, method, query, path, body, content_type,
			 target, &s->role, resp, true);
	if (resp->status >= 200 && resp->status < 300)
		return;
	s->role.access_key_id = NULL;
	ensure_role_credentials(s);
	aws_call(s, service, action, method, query, path, body, content_type,
			 target, &s->role, resp, false);
}

/*
 * json_field appends "name": value (a JSON string or null) to buf.
 */
static void
json_field(StringInfo buf, const char *name, const char *value, bool first)
{
	if (!first)
		appendStringInfoChar(buf, ',');
	escape_json(buf, name);
	appendStringInfoChar(buf, ':');
	if (value)
		escape_json(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/*
 * fetch_instances follows every DescribeInstances page and appends one
 * JSON object per instance to buf.
 */
static void
fetch_instances(AwsSession *s, StringInfo buf)
{
	char	   *token = NULL;
	int			page = 0;
	bool		first = true;

	do
	{
		StringInfoData q;
		AwsResponse resp;
		xmlDoc	   *doc;
		xmlNode    *root;
		xmlNode    *set;

		initStringInfo(&q);
		form_add(&q, "Action", "DescribeInstances");
		form_add(&q, "Version", "2016-11-15");
		form_add(&q, "MaxResults", "1000");
		if (token)
			form_add(&q, "NextToken", token);
		initStringInfo(&resp.body);
		role_call(s, "ec2", "DescribeInstances", "GET", q.data, "/", NULL,
				  NULL, NULL, &resp);
		page++;
		doc = xml_parse(&resp, psprintf("DescribeInstances (page %d)", page));
		root = xmlDocGetRootElement(doc);
		if (strcmp((const char *) root->name, "DescribeInstancesResponse") != 0)
		{
			xmlFreeDoc(doc);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_XML_CONTENT),
					 errmsg("unexpected root element \"%s\" in the DescribeInstances response (page %d)",
							(const char *) root->name, page)));
		}
		set = xml_child(root, "reservationSet");
		for (xmlNode *r = set ? set->children : NULL; r; r = r->next)
		{
			xmlNode    *insts;

			if (r->type != XML_ELEMENT_NODE)
				continue;
			insts = xml_child(r, "instancesSet");
			for (xmlNode *i = insts ? insts->children : NULL; i; i = i->next)
			{
				xmlNode    *pl;

				if (i->type != XML_ELEMENT_NODE)
					continue;
				pl = xml_child(i, "placement");
				appendStringInfoString(buf, first ? "{" : ",{");
				first = false;
				json_field(buf, "instance_id", xml_text(i, "instanceId"), true);
				json_field(buf, "owner_id", xml_text(r, "ownerId"), false);
				json_field(buf, "instance_type", xml_text(i, "instanceType"), false);
				json_field(buf, "availability_zone", xml_text(pl, "availabilityZone"), false);
				json_field(buf, "tenancy", xml_text(pl, "tenancy"), false);
				json_field(buf, "platform", xml_text(i, "platform"), false);
				json_field(buf, "platform_details", xml_text(i, "platformDetails"), false);
				json_field(buf, "state", xml_text(xml_child(i, "instanceState"), "name"), false);
				json_field(buf, "launch_time", xml_text(i, "launchTime"), false);
				appendStringInfoChar(buf, '}');
			}
		}
		token = xml_text(root, "nextToken");
		if (token && token[0] == '\0')
			token = NULL;
		xmlFreeDoc(doc);
	} while (token);
}

/*
 * fetch_reserved_instances appends one JSON object per RI.
 */
static void
fetch_reserved_instances(AwsSession *s, StringInfo buf)
{
	StringInfoData q;
	AwsResponse resp;
	xmlDoc	   *doc;
	xmlNode    *root;
	xmlNode    *set;
	bool		first = true;

	initStringInfo(&q);
	form_add(&q, "Action", "DescribeReservedInstances");
	form_add(&q, "Version", "2016-11-15");
	initStringInfo(&resp.body);
	role_call(s, "ec2", "DescribeReservedInstances", "GET", q.data, "/", NULL,
			  NULL, NULL, &resp);
	doc = xml_parse(&resp, "DescribeReservedInstances");
	root = xmlDocGetRootElement(doc);
	if (strcmp((const char *) root->name, "DescribeReservedInstancesResponse") != 0)
	{
		xmlFreeDoc(doc);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_XML_CONTENT),
				 errmsg("unexpected root element \"%s\" in the DescribeReservedInstances response",
						(const char *) root->name)));
	}
	set = xml_child(root, "reservedInstancesSet");
	for (xmlNode *i = set ? set->children : NULL; i; i = i->next)
	{
		xmlNode    *rc;
		StringInfoData recurring;

		if (i->type != XML_ELEMENT_NODE)
			continue;
		/* the hourly recurring charge, when the RI has one */
		initStringInfo(&recurring);
		rc = xml_child(i, "recurringCharges");
		for (xmlNode *c = rc ? rc->children : NULL; c; c = c->next)
		{
			char	   *freq;

			if (c->type != XML_ELEMENT_NODE)
				continue;
			freq = xml_text(c, "frequency");
			if (freq && strcmp(freq, "Hourly") == 0)
				appendStringInfoString(&recurring, xml_text(c, "amount"));
		}
		appendStringInfoString(buf, first ? "{" : ",{");
		first = false;
		json_field(buf, "ri_id", xml_text(i, "reservedInstancesId"), true);
		json_field(buf, "instance_type", xml_text(i, "instanceType"), false);
		json_field(buf, "availability_zone", xml_text(i, "availabilityZone"), false);
		json_field(buf, "scope", xml_text(i, "scope"), false);
		json_field(buf, "start", xml_text(i, "start"), false);
		json_field(buf, "end", xml_text(i, "end"), false);
		json_field(buf, "duration", xml_text(i, "duration"), false);
		json_field(buf, "fixed_price", xml_text(i, "fixedPrice"), false);
		json_field(buf, "usage_price", xml_text(i, "usagePrice"), false);
		json_field(buf, "recurring_hourly", recurring.len ? recurring.data : NULL, false);
		json_field(buf, "instance_count", xml_text(i, "instanceCount"), false);
		json_field(buf, "product_description", xml_text(i, "productDescription"), false);
		json_field(buf, "state", xml_text(i, "state"), false);
		json_field(buf, "tenancy", xml_text(i, "instanceTenancy"), false);
		json_field(buf, "offering_type", xml_text(i, "offeringType"), false);
		json_field(buf, "offering_class", xml_text(i, "offeringClass"), false);
		appendStringInfoChar(buf, '}');
	}
	xmlFreeDoc(doc);
}

/*
 * parse_json_page parses one JSON answer, turning a syntax error into a
 * clear error that names the call and page.
 */
static Jsonb *
parse_json_page(const AwsResponse *resp, const char *what, int page)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	Jsonb	   *volatile jb = NULL;

	PG_TRY();
	{
		jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
												CStringGetDatum(resp->body.data)));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("malformed JSON in the %s response (page %d)", what, page),
				 errdetail("%s", edata->message)));
	}
	PG_END_TRY();
	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("the %s response (page %d) is not a JSON object", what, page)));
	return jb;
}

/*
 * jsonb_key: the value of a top-level key of an object, or NULL.
 */
static JsonbValue *
jsonb_key(Jsonb *jb, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &k);
}

/*
 * fetch_savings_plans follows every DescribeSavingsPlans page (JSON
 * protocol) and appends each page's savingsPlans array to buf.
 */
static void
fetch_savings_plans(AwsSession *s, StringInfo buf)
{
	char	   *token = NULL;
	int			page = 0;

	do
	{
		StringInfoData body;
		AwsResponse resp;
		Jsonb	   *jb;
		JsonbValue *plans;
		JsonbValue *next;

		initStringInfo(&body);
		appendStringInfoString(&body, "{\"maxResults\":1000");
		if (token)
		{
			appendStringInfoString(&body, ",\"nextToken\":");
			escape_json(&body, token);
		}
		appendStringInfoChar(&body, '}');
		initStringInfo(&resp.body);
		role_call(s, "savingsplans", "DescribeSavingsPlans", "POST", NULL,
				  "/DescribeSavingsPlans", body.data, "application/json",
				  NULL, &resp);
		page++;
		jb = parse_json_page(&resp, "DescribeSavingsPlans", page);
		plans = jsonb_key(jb, "savingsPlans");
		if (plans == NULL || plans->type != jbvBinary ||
			!JsonContainerIsArray(plans->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_JSON_TEXT),
					 errmsg("the DescribeSavingsPlans response (page %d) has no savingsPlans array", page)));
		if (page > 1)
			appendStringInfoChar(buf, ',');
		appendStringInfoString(buf, JsonbToCString(NULL, plans->val.binary.data,
												   plans->val.binary.len));
		next = jsonb_key(jb, "nextToken");
		token = (next && next->type == jbvString && next->val.string.len > 0) ?
			pnstrdup(next->val.string.val, next->val.string.len) : NULL;
	} while (token);
}

/*
 * open_session loads the connection's role and external ID (decrypted
 * only here, kept out of every message) and the platform's credentials.
 */
static void
open_session(AwsSession *s, const char *tenant, const char *account,
			 bytea *role_sealed, bytea *extid_sealed, const char *region)
{
	memset(s, 0, sizeof(*s));
	s->role_arn = secret_decrypt(tenant, "aws_connections", "role_arn",
								 account, role_sealed);
	s->external_id = secret_decrypt(tenant, "aws_connections", "external_id",
									account, extid_sealed);
	s->region = pstrdup(region);
	load_platform_credentials(&s->platform);
}

/*
 * commitopt_aws_verify_role(tenant, account, role_sealed, extid_sealed,
 * region) -> int: assumes the role once; the number of STS calls made.
 * Called by the job runner, never in a user's transaction.
 */
Datum
commitopt_aws_verify_role(PG_FUNCTION_ARGS)
{
	AwsSession	s;

	open_session(&s,
				 DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0))),
				 text_to_cstring(PG_GETARG_TEXT_PP(1)),
				 PG_GETARG_BYTEA_PP(2), PG_GETARG_BYTEA_PP(3),
				 text_to_cstring(PG_GETARG_TEXT_PP(4)));
	assume_role(&s);
	PG_RETURN_INT32(s.calls);
}

/*
 * commitopt_aws_fetch_inventory(tenant, account, role_sealed, extid_sealed,
 * region) -> jsonb: {"instances": [...], "reserved_instances": [...],
 * "savings_plan_pages": [[...], ...], "calls": n, "assumes": n,
 * "retries": n}.  Called by the job runner, never in a user's transaction.
 */
Datum
commitopt_aws_fetch_inventory(PG_FUNCTION_ARGS)
{
	AwsSession	s;
	StringInfoData out;

	open_session(&s,
				 DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0))),
				 text_to_cstring(PG_GETARG_TEXT_PP(1)),
				 PG_GETARG_BYTEA_PP(2), PG_GETARG_BYTEA_PP(3),
				 text_to_cstring(PG_GETARG_TEXT_PP(4)));

	initStringInfo(&out);
	appendStringInfoString(&out, "{\"instances\":[");
	fetch_instances(&s, &out);
	appendStringInfoString(&out, "],\"reserved_instances\":[");
	fetch_reserved_instances(&s, &out);
	appendStringInfoString(&out, "],\"savings_plan_pages\":[");
	fetch_savings_plans(&s, &out);
	appendStringInfo(&out, "],\"calls\":%d,\"assumes\":%d,\"retries\":%d}",
					 s.calls, s.assumes, s.retries);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}

/*
 * commitopt_random_external_id() -> text: 160 random bits, hex, prefixed.
 */
Datum
commitopt_random_external_id(PG_FUNCTION_ARGS)
{
	unsigned char raw[20];
	char		hex[41];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
	hex[hex_encode((char *) raw, sizeof(raw), hex)] = '\0';
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("commitopt-%s", hex)));
}

/*-------------------------------------------------------------------------
 *
 * password_blocklist.c
 *	  Commonly used and breached passwords.
 *
 * The blocklist is the 100,000 most common passwords (SecLists, MIT), folded
 * to lower case, sorted bytewise and made unique at build time (see
 * data/passwords/README.md), installed in PostgreSQL's share/extension
 * directory.  Each backend reads it once, on first use, into one block of
 * memory plus an array of line offsets, and binary-searches it: about
 * 17 comparisons a lookup, a few microseconds for every variant together.
 *
 * A candidate is refused when its lower-case form, or that form with the
 * usual look-alike substitutions undone ("p@ssw0rd" -> "password"), or
 * either of them stripped of leading and trailing digits and symbols
 * ("p@ssw0rd1!" -> "p@ssw0rd" -> "password"), is on the list.
 *
 * The breached-password check asks a range service of the k-anonymity kind
 * (the "Pwned Passwords" API shape): only the first five hex digits of the
 * password's SHA-1 leave the server; the service answers with every known
 * suffix under that prefix and the check looks for ours locally.  It is off
 * by default and fails open: if the service cannot be reached the check is
 * skipped with a warning, because a third-party outage must not lock users
 * out of changing their passwords.
 *
 * extension/password_blocklist.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include <curl/curl.h>

#include "catalog/pg_collation.h"
#include "common/cryptohash.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "port.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/memutils.h"

#include "commitopt.h"
#include "password_policy.h"

PG_FUNCTION_INFO_V1(commitopt_password_is_common);

#define BLOCKLIST_FILE_NAME "commitopt-common-passwords.sorted.txt"

/* Variants shorter than this are not looked up: "ab" is no base word. */
#define BLOCKLIST_MIN_VARIANT 3

/* A range answer is a few tens of kB; anything far larger is refused. */
#define BREACH_MAX_RESPONSE (4 * 1024 * 1024)

/* The list, loaded once per backend into TopMemoryContext. */
static char *blocklist_text = NULL;
static uint32 *blocklist_offsets = NULL;
static int	blocklist_count = 0;

static bool breach_curl_ready = false;

/*
 * password_lower_ascii copies len bytes folding ASCII letters to lower case;
 * the list holds only ASCII-folded lines.
 */
void
password_lower_ascii(char *dst, const char *src, int len)
{
	for (int i = 0; i < len; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? src[i] + ('a' - 'A') : src[i];
}

/*
 * blocklist_load reads the installed list into memory and indexes its
 * lines, checking on the way that they are sorted and unique, since the
 * binary search silently misses entries otherwise.
 */
static void
blocklist_load(void)
{
	char		share[MAXPGPATH];
	char		path[MAXPGPATH];
	FILE	   *file;
	struct stat st;
	char	   *text;
	uint32	   *offsets;
	int			count = 0;
	int			capacity = 1024;
	size_t		pos = 0;

	get_share_path(my_exec_path, share);
	snprintf(path, sizeof(path), "%s/extension/%s", share, BLOCKLIST_FILE_NAME);

	file = AllocateFile(path, "r");
	if (file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open password blocklist \"%s\": %m", path),
				 errhint("The file is installed with the extension; reinstall it.")));
	if (fstat(fileno(file), &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat password blocklist \"%s\": %m", path)));

	text = MemoryContextAlloc(TopMemoryContext, st.st_size + 1);
	if (fread(text, 1, st.st_size, file) != (size_t) st.st_size)
	{
		pfree(text);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read password blocklist \"%s\": %m", path)));
	}
	FreeFile(file);
	text[st.st_size] = '\0';

	offsets = MemoryContextAlloc(TopMemoryContext, capacity * sizeof(uint32));
	while (pos < (size_t) st.st_size)
	{
		char	   *nl = memchr(text + pos, '\n', st.st_size - pos);
		size_t		end = nl ? (size_t) (nl - text) : (size_t) st.st_size;

		text[end] = '\0';
		if (count > 0 && strcmp(text + offsets[count - 1], text + pos) >= 0)
		{
			pfree(text);
			pfree(offsets);
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("password blocklist \"%s\" is not sorted at line %d",
							path, count + 1),
					 errhint("Rebuild it as data/passwords/README.md says.")));
		}
		if (count == capacity)
		{
			capacity *= 2;
			offsets = repalloc(offsets, capacity * sizeof(uint32));
		}
		offsets[count++] = (uint32) pos;
		pos = end + 1;
	}

	blocklist_text = text;
	blocklist_offsets = offsets;
	blocklist_count = count;
}

/*
 * blocklist_contains binary-searches the list for exactly len bytes.
 */
static bool
blocklist_contains(const char *word, int len)
{
	int			low = 0;
	int			high = blocklist_count - 1;

	if (len < BLOCKLIST_MIN_VARIANT)
		return false;
	while (low <= high)
	{
		int			mid = low + (high - low) / 2;
		const char *entry = blocklist_text + blocklist_offsets[mid];
		int			cmp = strncmp(entry, word, len);

		/* entry and word share len bytes: the longer entry sorts after */
		if (cmp == 0)
			cmp = entry[len] == '\0' ? 0 : 1;
		if (cmp == 0)
			return true;
		if (cmp < 0)
			low = mid + 1;
		else
			high = mid - 1;
	}
	return false;
}

/*
 * password_undo_substitutions maps look-alike digits and symbols back to
 * letters in place.  '1', '!' and '|' stand for either 'l' or 'i': the
 * caller runs it once with each.
 */
void
password_undo_substitutions(char *s, int len, char one_as)
{
	for (int i = 0; i < len; i++)
	{
		switch (s[i])
		{
			case '@':
			case '4':
				s[i] = 'a';
				break;
			case '8':
				s[i] = 'b';
				break;
			case '(':
				s[i] = 'c';
				break;
			case '3':
				s[i] = 'e';
				break;
			case '6':
			case '9':
				s[i] = 'g';
				break;
			case '0':
				s[i] = 'o';
				break;
			case '$':
			case '5':
				s[i] = 's';
				break;
			case '7':
			case '+':
				s[i] = 't';
				break;
			case '1':
			case '!':
			case '|':
				s[i] = one_as;
				break;
			default:
				break;
		}
	}
}

/*
 * password_trim finds the part of s left after removing leading and
 * trailing ASCII digits and symbols; returns its start, sets *len.
 */
static const char *
password_trim(const char *s, int *len)
{
	int			start = 0;
	int			end = *len;

	while (start < end && (unsigned char) s[start] < 0x80 &&
		   (isdigit((unsigned char) s[start]) || ispunct((unsigned char) s[start])))
		start++;
	while (end > start && (unsigned char) s[end - 1] < 0x80 &&
		   (isdigit((unsigned char) s[end - 1]) || ispunct((unsigned char) s[end - 1])))
		end--;
	*len = end - start;
	return s + start;
}

/*
 * password_is_common tells whether a password, already folded to lower
 * case, or one of its variants is on the blocklist.
 */
bool
password_is_common(const char *lowered, int len)
{
	static const char one_as[] = {'l', 'i'};
	char	   *work = palloc(len + 1);
	bool		found = false;

	if (blocklist_text == NULL)
		blocklist_load();

	password_lower_ascii(work, lowered, len);
	{
		int			tlen = len;
		const char *t = password_trim(work, &tlen);

		found = blocklist_contains(work, len) || blocklist_contains(t, tlen);
	}

	for (int k = 0; !found && k < (int) lengthof(one_as); k++)
	{
		int			tlen = len;
		const char *t;

		/* substitutions first, then trimming */
		password_lower_ascii(work, lowered, len);
		password_undo_substitutions(work, len, one_as[k]);
		t = password_trim(work, &tlen);
		found = blocklist_contains(work, len) || blocklist_contains(t, tlen);

		/* trimming first ("p@ssw0rd1!"), then substitutions */
		if (!found)
		{
			password_lower_ascii(work, lowered, len);
			tlen = len;
			t = password_trim(work, &tlen);
			password_undo_substitutions((char *) t, tlen, one_as[k]);
			found = blocklist_contains(t, tlen);
		}
	}

	explicit_bzero(work, len + 1);
	pfree(work);
	return found;
}

/*
 * commitopt.password_is_common(password text) returns boolean: the
 * blocklist check alone, for forms and for the benchmark.
 */
Datum
commitopt_password_is_common(PG_FUNCTION_ARGS)
{
	text	   *password = PG_GETARG_TEXT_PP(0);
	char	   *lowered;
	bool		result;

	lowered = str_tolower(VARDATA_ANY(password), VARSIZE_ANY_EXHDR(password),
						  DEFAULT_COLLATION_OID);
	result = password_is_common(lowered, strlen(lowered));
	explicit_bzero(lowered, strlen(lowered));
	pfree(lowered);
	PG_RETURN_BOOL(result);
}

/* Where the range service's answer accumulates. */
typedef struct BreachResponse
{
	StringInfoData body;
	bool		too_large;
} BreachResponse;

/*
 * breach_write is libcurl's write callback.  It must not throw, so it
 * stops the transfer (by consuming less than offered) when the answer
 * grows too large.
 */
static size_t
breach_write(char *data, size_t size, size_t nmemb, void *arg)
{
	BreachResponse *response = (BreachResponse *) arg;
	size_t		n = size * nmemb;

	if (response->body.len + n > BREACH_MAX_RESPONSE)
	{
		response->too_large = true;
		return 0;
	}
	appendBinaryStringInfo(&response->body, data, n);
	return n;
}

/*
 * breach_skip warns that the breached-password check was skipped.
 */
static void
breach_skip(const char *why)
{
	ereport(WARNING,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("could not reach the breached-password service, check skipped"),
			 errdetail("%s", why),
			 errhint("The check fails open; see commitopt.password_breach_url.")));
}

/*
 * breach_lookup finds the hash suffix in a range answer, whose lines are
 * "SUFFIX:COUNT"; padding lines have a count of 0 and do not count.
 */
static bool
breach_lookup(const char *body, const char *suffix)
{
	const char *line = body;
	size_t		suffix_len = strlen(suffix);

	while (*line)
	{
		const char *next = strchr(line, '\n');

		if (pg_strncasecmp(line, suffix, suffix_len) == 0 &&
			line[suffix_len] == ':' &&
			strtol(line + suffix_len + 1, NULL, 10) > 0)
			return true;
		if (next == NULL)
			break;
		line = next + 1;
	}
	return false;
}

/*
 * password_is_breached asks the range service whether the password is
 * known from a breach.  Only the first five hex digits of its SHA-1 are
 * sent.  Returns false, with a warning, when the service cannot answer.
 */
bool
password_is_breached(const char *password, int len)
{
	uint8		digest[20];
	char		hex[41];
	char		url[1024];
	char		curl_error[CURL_ERROR_SIZE];
	pg_cryptohash_ctx *ctx;
	CURL	   *volatile curl = NULL;
	BreachResponse response;
	volatile CURLcode rc = CURLE_FAILED_INIT;
	long		status = 0;
	bool		found;

	ctx = pg_cryptohash_create(PG_SHA1);
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) password, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a SHA-1 digest")));
	pg_cryptohash_free(ctx);
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02X", digest[i]);
	explicit_bzero(digest, sizeof(digest));

	if (strlen(password_breach_url) + 6 > sizeof(url))
	{
		explicit_bzero(hex, sizeof(hex));
		breach_skip("The configured URL is too long.");
		return false;
	}
	snprintf(url, sizeof(url), "%s%.5s", password_breach_url, hex);

	if (!breach_curl_ready)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		{
			explicit_bzero(hex, sizeof(hex));
			breach_skip("libcurl could not be initialized.");
			return false;
		}
		breach_curl_ready = true;
	}

	initStringInfo(&response.body);
	response.too_large = false;
	curl_error[0] = '\0';
	PG_TRY();
	{
		curl = curl_easy_init();
		if (curl == NULL)
			rc = CURLE_FAILED_INIT;
		else
		{
			curl_easy_setopt(curl, CURLOPT_URL, url);
			curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
			curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
			curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
							 (long) password_breach_timeout_ms);
			curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
							 (long) password_breach_timeout_ms);
			curl_easy_setopt(curl, CURLOPT_USERAGENT, "commitopt");
			curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
			curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, breach_write);
			curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
			if (password_breach_ca_file && password_breach_ca_file[0])
				curl_easy_setopt(curl, CURLOPT_CAINFO, password_breach_ca_file);
			/*
			 * XXX: blocks the backend up to the timeout; a query cancel
			 * waits for it.  A multi-handle loop checking interrupts
			 * would fix that.
			 */
			rc = curl_easy_perform(curl);
			if (rc == CURLE_OK)
				curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		}
	}
	PG_FINALLY();
	{
		if (curl != NULL)
			curl_easy_cleanup(curl);
		explicit_bzero(url, sizeof(url));
	}
	PG_END_TRY();

	found = false;
	if (rc != CURLE_OK)
		breach_skip(response.too_large ? "The answer was too large." :
					curl_error[0] ? curl_error : curl_easy_strerror(rc));
	else if (status != 200)
		breach_skip(psprintf("The service answered with HTTP status %ld.",
							 status));
	else
		found = breach_lookup(response.body.data, hex + 5);

	explicit_bzero(hex, sizeof(hex));
	pfree(response.body.data);
	return found;
}

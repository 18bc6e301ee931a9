/*-------------------------------------------------------------------------
 *
 * password_policy.c
 *	  The password policy: settings, rules, the SQL-callable checks and the
 *	  check_password_hook for database roles.
 *
 * One function, password_check_rules, runs every rule and collects each
 * failure as a (rule, message) pair, so that a rejected password gets one
 * error listing everything to fix, and forms can show the same list while
 * the user types.  The rules:
 *
 *	- length in Unicode code points, between the minimum and the maximum
 *	  (never truncated); a NUL byte or invalid UTF-8 is refused outright;
 *	- no control characters (C0, DEL, C1);
 *	- at least N of 4 classes: lower case, upper case, digits and the
 *	  special characters !@#$%^&* (other symbols are allowed, not counted);
 *	- not on the common-password blocklist (password_blocklist.c), and,
 *	  when enabled, not known to the breached-password service;
 *	- free of the user's personal data: first name, last name, the
 *	  e-mail's local part and its pieces, each 3 code points or longer,
 *	  forwards or reversed, case-insensitively and after undoing
 *	  look-alike substitutions;
 *	- not one of the hashes of the recent passwords the caller passes.
 *
 * No message, at any level, contains the password or anything computed
 * from it: messages state the requirement that was not met.
 *
 * extension/password_policy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "commands/user.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/crypt.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/guc.h"

#include "commitopt.h"
#include "password_policy.h"

PG_FUNCTION_INFO_V1(commitopt_password_check);
PG_FUNCTION_INFO_V1(commitopt_password_enforce);

/* Settings; see define_password_settings for their meaning. */
int			password_min_length = 8;
int			password_max_length = 256;
int			password_min_classes = 3;
int			password_history_size = 24;
bool		password_check_blocklist = true;
bool		password_check_personal_data = true;
bool		password_breach_check = false;
char	   *password_breach_url = NULL;
int			password_breach_timeout_ms = 2000;
char	   *password_breach_ca_file = NULL;
int			password_hash_memory_kib = 19456;
int			password_hash_iterations = 2;
int			password_hash_parallelism = 1;
static bool password_role_check = true;
static bool password_allow_prehashed = false;

static check_password_hook_type prev_check_password_hook = NULL;

#define PASSWORD_SPECIALS "!@#$%^&*"
#define PASSWORD_MIN_TOKEN 3
#define PASSWORD_MAX_FAILURES 16

/* Whose password it is: any field may be NULL. */
typedef struct PasswordSubject
{
	const char *first_name;
	const char *last_name;
	const char *email;
	const char *role_name;
} PasswordSubject;

/* The rules a password failed, in the order they were checked. */
typedef struct PasswordFailures
{
	int			count;
	const char *rule[PASSWORD_MAX_FAILURES];
	char	   *message[PASSWORD_MAX_FAILURES];
} PasswordFailures;

/*
 * password_fail records one failed rule (once).
 */
static void
password_fail(PasswordFailures *failures, const char *rule, char *message)
{
	for (int i = 0; i < failures->count; i++)
		if (strcmp(failures->rule[i], rule) == 0)
			return;
	Assert(failures->count < PASSWORD_MAX_FAILURES);
	failures->rule[failures->count] = rule;
	failures->message[failures->count] = message;
	failures->count++;
}

/*
 * password_has_failed tells whether a rule is already recorded.
 */
static bool
password_has_failed(const PasswordFailures *failures, const char *rule)
{
	for (int i = 0; i < failures->count; i++)
		if (strcmp(failures->rule[i], rule) == 0)
			return true;
	return false;
}

/*
 * password_check_encoding refuses a NUL byte and invalid UTF-8; nothing
 * else can be judged about such a string.
 */
static bool
password_check_encoding(const char *pw, int len, PasswordFailures *failures)
{
	if (memchr(pw, '\0', len) != NULL)
	{
		password_fail(failures, "nul_byte",
					  pstrdup("The password contains a NUL byte."));
		return false;
	}
	/* XXX: assumes a UTF8 database, as the project's clusters are. */
	if (!pg_verify_mbstr(PG_UTF8, pw, len, true))
	{
		password_fail(failures, "invalid_utf8",
					  pstrdup("The password is not valid UTF-8."));
		return false;
	}
	return true;
}

/*
 * password_code_point_case tells whether one non-ASCII character is a
 * lower-case or an upper-case letter, by whether case mapping changes it
 * under the database's default collation.
 */
static void
password_code_point_case(const char *cp, int len, bool *lower, bool *upper)
{
	char	   *as_upper = str_toupper(cp, len, DEFAULT_COLLATION_OID);
	char	   *as_lower = str_tolower(cp, len, DEFAULT_COLLATION_OID);

	if (strlen(as_upper) != (size_t) len || memcmp(as_upper, cp, len) != 0)
		*lower = true;
	if (strlen(as_lower) != (size_t) len || memcmp(as_lower, cp, len) != 0)
		*upper = true;
	explicit_bzero(as_upper, strlen(as_upper));
	explicit_bzero(as_lower, strlen(as_lower));
	pfree(as_upper);
	pfree(as_lower);
}

/*
 * password_check_shape applies the length and character-class rules.
 */
static void
password_check_shape(const char *pw, int len, PasswordFailures *failures)
{
	int			chars = 0;
	bool		lower = false,
				upper = false,
				digit = false,
				special = false,
				control = false;
	int			classes;

	for (int i = 0; i < len;)
	{
		unsigned char c = (unsigned char) pw[i];
		int			n = pg_utf_mblen((const unsigned char *) pw + i);

		/* C0 controls and DEL; C1 controls are U+0080..U+009F, C2 80..9F */
		if (c < 0x20 || c == 0x7f ||
			(c == 0xc2 && n == 2 && (unsigned char) pw[i + 1] <= 0x9f))
			control = true;
		else if (c >= 'a' && c <= 'z')
			lower = true;
		else if (c >= 'A' && c <= 'Z')
			upper = true;
		else if (c >= '0' && c <= '9')
			digit = true;
		else if (c < 0x80 && c != '\0' && strchr(PASSWORD_SPECIALS, c))
			special = true;
		else if (c >= 0x80 && (!lower || !upper))
			password_code_point_case(pw + i, n, &lower, &upper);
		chars++;
		i += n;
	}

	if (chars < password_min_length)
		password_fail(failures, "too_short",
					  psprintf("The password must have at least %d characters.",
							   password_min_length));
	if (chars > password_max_length)
		password_fail(failures, "too_long",
					  psprintf("The password must have at most %d characters.",
							   password_max_length));

	/*
	 * A control character cannot be typed reliably in every form and
	 * terminal, and a tab or line break pasted by mistake locks the user out.
	 */
	if (control)
		password_fail(failures, "control_character",
					  pstrdup("The password must not contain control characters such as tabs or line breaks."));

	classes = lower + upper + digit + special;
	if (classes < password_min_classes)
		password_fail(failures, "too_few_classes",
					  psprintf("The password must use at least %d of the 4 character classes: lower-case letters, upper-case letters, digits and the special characters %s.",
							   password_min_classes, PASSWORD_SPECIALS));
}

/*
 * bytes_contain tells whether needle occurs in haystack.
 */
static bool
bytes_contain(const char *haystack, int hlen, const char *needle, int nlen)
{
	for (int i = 0; i + nlen <= hlen; i++)
		if (memcmp(haystack + i, needle, nlen) == 0)
			return true;
	return false;
}

/*
 * utf8_reverse returns a palloc'd copy of s with its code points in
 * reverse order.
 */
static char *
utf8_reverse(const char *s, int len)
{
	char	   *r = palloc(len + 1);
	int			out = len;

	for (int i = 0; i < len;)
	{
		int			n = pg_utf_mblen((const unsigned char *) s + i);

		out -= n;
		memcpy(r + out, s + i, n);
		i += n;
	}
	r[len] = '\0';
	return r;
}

/*
 * password_check_token fails the rule when one piece of personal data
 * (3 code points or more, any case) appears in the password variants,
 * forwards or reversed.
 */
static void
password_check_token(const char *token, int len, const char *rule,
					 const char *what, char **variants, int nvariants,
					 PasswordFailures *failures)
{
	char	   *lowered;
	char	   *reversed;
	int			llen;

	if (len <= 0 || password_has_failed(failures, rule) ||
		!pg_verify_mbstr(PG_UTF8, token, len, true) ||
		pg_mbstrlen_with_len(token, len) < PASSWORD_MIN_TOKEN)
		return;

	/* XXX: accents are not folded: "Elodie" does not match "Élodie". */
	lowered = str_tolower(token, len, DEFAULT_COLLATION_OID);
	llen = strlen(lowered);
	reversed = utf8_reverse(lowered, llen);
	for (int v = 0; v < nvariants; v++)
	{
		int			vlen = strlen(variants[v]);

		if (bytes_contain(variants[v], vlen, lowered, llen) ||
			bytes_contain(variants[v], vlen, reversed, llen))
		{
			password_fail(failures, rule,
						  psprintf("The password must not contain %s.", what));
			break;
		}
	}
	pfree(lowered);
	pfree(reversed);
}

/*
 * password_check_pieces checks a whole value and each piece of it split on
 * any of the separators.
 */
static void
password_check_pieces(const char *value, int len, const char *separators,
					  const char *rule, const char *what,
					  char **variants, int nvariants,
					  PasswordFailures *failures)
{
	int			start = 0;

	password_check_token(value, len, rule, what, variants, nvariants, failures);
	for (int i = 0; i <= len; i++)
	{
		if (i == len || strchr(separators, value[i]) != NULL)
		{
			if (i - start < len)
				password_check_token(value + start, i - start, rule, what,
									 variants, nvariants, failures);
			start = i + 1;
		}
	}
}

/*
 * password_check_personal applies the personal-data rule to the lower-case
 * password and its de-substituted forms.
 */
static void
password_check_personal(const char *lowered, int len,
						const PasswordSubject *subject,
						PasswordFailures *failures)
{
	char	   *variants[3];

	variants[0] = pstrdup(lowered);
	variants[1] = pstrdup(lowered);
	variants[2] = pstrdup(lowered);
	password_undo_substitutions(variants[1], len, 'l');
	password_undo_substitutions(variants[2], len, 'i');

	if (subject->first_name)
		password_check_pieces(subject->first_name, strlen(subject->first_name),
							  " -'", "first_name", "the user's first name",
							  variants, 3, failures);
	if (subject->last_name)
		password_check_pieces(subject->last_name, strlen(subject->last_name),
							  " -'", "last_name", "the user's last name",
							  variants, 3, failures);
	if (subject->email)
	{
		const char *at = strrchr(subject->email, '@');
		int			local_len;

		local_len = at ? (int) (at - subject->email) :
			(int) strlen(subject->email);

		password_check_pieces(subject->email, local_len, "._-+",
							  "email", "the local part of the user's e-mail address or a piece of it",
							  variants, 3, failures);
	}
	if (subject->role_name)
		password_check_pieces(subject->role_name, strlen(subject->role_name),
							  "._-+", "role_name", "the role name",
							  variants, 3, failures);

	for (int v = 0; v < 3; v++)
	{
		explicit_bzero(variants[v], len);
		pfree(variants[v]);
	}
}

/*
 * password_check_history fails the rule when the password matches one of
 * the given hashes, each checked under its own salt and cost.  A damaged
 * entry cannot match anything: it is skipped with a warning (which never
 * quotes it), so that checking a password never raises for it.
 */
static void
password_check_history(const char *pw, int len, ArrayType *history,
					   PasswordFailures *failures)
{
	Datum	   *hashes;
	bool	   *nulls;
	int			count;

	if (history == NULL)
		return;
	if (ARR_NDIM(history) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("password history must be a one-dimensional array")));
	deconstruct_array(history, TEXTOID, -1, false, TYPALIGN_INT,
					  &hashes, &nulls, &count);
	for (int i = 0; i < count; i++)
	{
		char	   *encoded;
		PasswordHashMatch match;

		if (nulls[i])
			continue;
		encoded = TextDatumGetCString(hashes[i]);
		match = password_hash_compare(encoded, pw, len);
		pfree(encoded);
		if (match == PASSWORD_HASH_UNREADABLE)
			ereport(WARNING,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("password history entry %d is not a valid argon2id hash",
							i + 1),
					 errdetail("The entry is skipped: no password can be compared with it."),
					 errhint("Replace or delete the damaged entry in commitopt.password_history.")));
		else if (match == PASSWORD_HASH_MATCH)
		{
			password_fail(failures, "reused",
						  psprintf("The password must not be one of the user's %d most recent passwords.",
								   password_history_size));
			break;
		}
	}
}

/*
 * password_check_settings refuses to judge any password when the length
 * bounds exclude every one; the SET-time check (check_password_min_length)
 * cannot see values that come from the configuration file or ALTER
 * DATABASE/ROLE in an inconsistent order.
 */
static void
password_check_settings(void)
{
	if (password_min_length > password_max_length)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("commitopt.password_min_length (%d) is greater than commitopt.password_max_length (%d)",
						password_min_length, password_max_length),
				 errdetail("No password could meet the password policy."),
				 errhint("Have a superuser raise commitopt.password_max_length or lower commitopt.password_min_length."),
				 errhidestmt(true)));
}

/*
 * password_check_rules runs every rule on a password and records each one
 * it fails.  With check_remote, the breached-password service is asked
 * too (when enabled).
 */
static void
password_check_rules(const char *pw, int len, const PasswordSubject *subject,
					 ArrayType *history, bool check_remote,
					 PasswordFailures *failures)
{
	char	   *lowered;
	int			llen;

	password_check_settings();
	if (!password_check_encoding(pw, len, failures))
		return;

	password_check_shape(pw, len, failures);

	lowered = str_tolower(pw, len, DEFAULT_COLLATION_OID);
	llen = strlen(lowered);
	if (password_check_blocklist && password_is_common(lowered, llen))
		password_fail(failures, "common",
					  pstrdup("The password must not be a commonly used password, even with letters replaced by look-alike digits or symbols or with digits and symbols added at either end."));
	if (password_check_personal_data)
		password_check_personal(lowered, llen, subject, failures);
	explicit_bzero(lowered, llen);
	pfree(lowered);

	password_check_history(pw, len, history, failures);

	if (check_remote && password_breach_check && password_is_breached(pw, len))
		password_fail(failures, "breached",
					  pstrdup("The password must not be one known from a data breach."));
}

/*
 * password_failures_detail joins the messages, one per line.
 */
static char *
password_failures_detail(const PasswordFailures *failures)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < failures->count; i++)
		appendStringInfo(&buf, "%s%s", i ? "\n" : "", failures->message[i]);
	return buf.data;
}

/*
 * password_raise_failures throws the one error for a rejected password:
 * invalid characters on their own, everything else together.  The
 * statement is kept out of the server log: it may hold the password as a
 * literal (CREATE ROLE ... PASSWORD '...').
 */
static void
password_raise_failures(const PasswordFailures *failures, const char *whose)
{
	if (failures->count == 0)
		return;
	if (password_has_failed(failures, "nul_byte") ||
		password_has_failed(failures, "invalid_utf8"))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("%s contains invalid characters", whose),
				 errdetail("%s", failures->message[0]),
				 errhidestmt(true)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s does not meet the password policy", whose),
			 errdetail("%s", password_failures_detail(failures)),
			 errhint("Fix every point listed; the password is not stored."),
			 errhidestmt(true)));
}

/*
 * text_arg_or_null reads an optional text argument as a C string.
 */
static char *
text_arg_or_null(FunctionCallInfo fcinfo, int n)
{
	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * password_check_args runs the rules on the arguments shared by the two
 * SQL functions: (password, first_name, last_name, email, history).  The
 * password may be text or bytea; both are varlena.
 */
static void
password_check_args(FunctionCallInfo fcinfo, bool check_remote,
					PasswordFailures *failures)
{
	bytea	   *password;
	PasswordSubject subject = {0};
	ArrayType  *history = NULL;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("password must not be null")));
	password = PG_GETARG_BYTEA_PP(0);
	subject.first_name = text_arg_or_null(fcinfo, 1);
	subject.last_name = text_arg_or_null(fcinfo, 2);
	subject.email = text_arg_or_null(fcinfo, 3);
	if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
		history = PG_GETARG_ARRAYTYPE_P(4);

	password_check_rules(VARDATA_ANY(password), VARSIZE_ANY_EXHDR(password),
						 &subject, history, check_remote, failures);
}

/*
 * commitopt.password_check(password, first_name, last_name, email,
 * history) returns table (rule text, message text): every rule the
 * password fails, without raising, for forms that check as the user types.
 */
Datum
commitopt_password_check(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PasswordFailures failures = {0};

	InitMaterializedSRF(fcinfo, 0);
	password_check_args(fcinfo, true, &failures);
	for (int i = 0; i < failures.count; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = CStringGetTextDatum(failures.rule[i]);
		values[1] = CStringGetTextDatum(failures.message[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * commitopt.password_enforce(password, first_name, last_name, email,
 * history) returns text: raises one error listing every failed rule, or
 * returns the argon2id hash to store.
 */
Datum
commitopt_password_enforce(PG_FUNCTION_ARGS)
{
	PasswordFailures failures = {0};
	bytea	   *password;

	password_check_args(fcinfo, true, &failures);
	password_raise_failures(&failures, "new password");

	password = PG_GETARG_BYTEA_PP(0);
	PG_RETURN_TEXT_P(cstring_to_text(password_hash_make(VARDATA_ANY(password),
														VARSIZE_ANY_EXHDR(password))));
}

/*
 * password_role_hook holds database roles' passwords to the same length,
 * class and blocklist rules (plus the role name as personal data), and
 * refuses pre-hashed passwords unless allowed: a pre-hashed password
 * cannot be checked at all.
 */
static void
password_role_hook(const char *username, const char *shadow_pass,
				   PasswordType password_type, Datum validuntil_time,
				   bool validuntil_null)
{
	if (prev_check_password_hook)
		prev_check_password_hook(username, shadow_pass, password_type,
								 validuntil_time, validuntil_null);
	if (!password_role_check)
		return;

	if (password_type != PASSWORD_TYPE_PLAINTEXT)
	{
		if (!password_allow_prehashed)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("password of role \"%s\" is pre-hashed and cannot be checked against the password policy",
							username),
					 errhint("Give the password in plain text, or have a superuser set commitopt.password_allow_prehashed."),
					 errhidestmt(true)));
	}
	else
	{
		PasswordFailures failures = {0};
		PasswordSubject subject = {0};

		subject.role_name = username;
		password_check_rules(shadow_pass, strlen(shadow_pass), &subject,
							 NULL, false, &failures);
		password_raise_failures(&failures,
								psprintf("password of role \"%s\"", username));
	}
}

/*
 * check_password_min_length refuses, in SET, a minimum above the current
 * maximum, which would refuse every password.  Other sources (the
 * configuration file, ALTER DATABASE/ROLE, connection options) may set
 * the two in either order, so they are checked at use instead
 * (password_check_settings).
 */
static bool
check_password_min_length(int *newval, void **extra, GucSource source)
{
	if (source == PGC_S_SESSION && *newval > password_max_length)
	{
		GUC_check_errdetail("The minimum length (%d) must not exceed commitopt.password_max_length (%d): no password could meet the policy.",
							*newval, password_max_length);
		GUC_check_errhint("Raise commitopt.password_max_length first.");
		return false;
	}
	return true;
}

/*
 * check_password_max_length is the same check seen from the maximum.
 */
static bool
check_password_max_length(int *newval, void **extra, GucSource source)
{
	if (source == PGC_S_SESSION && *newval < password_min_length)
	{
		GUC_check_errdetail("The maximum length (%d) must not be below commitopt.password_min_length (%d): no password could meet the policy.",
							*newval, password_min_length);
		GUC_check_errhint("Lower commitopt.password_min_length first.");
		return false;
	}
	return true;
}

/*
 * check_password_breach_url accepts only https:// URLs with a host: the
 * check sends a prefix of the password's SHA-1 and trusts the answer, so
 * neither may travel in clear text, nor come from a local file.
 */
static bool
check_password_breach_url(char **newval, void **extra, GucSource source)
{
	const char *url = *newval;

	if (url == NULL || pg_strncasecmp(url, "https://", 8) != 0 ||
		url[8] == '\0' || url[8] == '/')
	{
		GUC_check_errdetail("The breached-password service must be reached over HTTPS: the URL must begin with \"https://\" and a host name.");
		return false;
	}
	return true;
}

/*
 * define_password_settings registers the commitopt.password_* settings,
 * all superuser-only, and installs the role password hook.  Called from
 * _PG_init.
 */
void
define_password_settings(void)
{
	DefineCustomIntVariable("commitopt.password_min_length",
							"Minimum length of a password, in Unicode characters.",
							NULL, &password_min_length, 8, 8, 1024,
							PGC_SUSET, 0, check_password_min_length,
							NULL, NULL);
	DefineCustomIntVariable("commitopt.password_max_length",
							"Maximum length of a password, in Unicode characters.",
							"Longer passwords are refused, never truncated.",
							&password_max_length, 256, 64, 4096,
							PGC_SUSET, 0, check_password_max_length,
							NULL, NULL);
	DefineCustomIntVariable("commitopt.password_min_classes",
							"How many of the 4 character classes a password must use.",
							"Classes: lower-case letters, upper-case letters, digits, the special characters !@#$%^&*.",
							&password_min_classes, 3, 0, 4,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.password_history",
							"How many recent passwords of a user, the current one included, cannot be reused.",
							NULL, &password_history_size, 24, 1, 400,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("commitopt.password_blocklist",
							 "Refuses passwords on the shipped common-password list.",
							 NULL, &password_check_blocklist, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("commitopt.password_personal_data",
							 "Refuses passwords containing the user's names or e-mail local part.",
							 NULL, &password_check_personal_data, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("commitopt.password_breach_check",
							 "Asks a breached-password range service about new passwords.",
							 "Only the first five hex digits of the SHA-1 are sent. When the service cannot be reached the check is skipped with a warning.",
							 &password_breach_check, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("commitopt.password_breach_url",
							   "URL of the breached-password range service; the 5-digit prefix is appended.",
							   NULL, &password_breach_url,
							   "https://api.pwnedpasswords.com/range/",
							   PGC_SUSET, 0, check_password_breach_url,
							   NULL, NULL);
	DefineCustomIntVariable("commitopt.password_breach_timeout",
							"Time limit of one call to the breached-password service.",
							NULL, &password_breach_timeout_ms, 2000, 100, 60000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomStringVariable("commitopt.password_breach_ca_file",
							   "File of CA certificates trusted for the breached-password service; empty for the system's.",
							   NULL, &password_breach_ca_file, "",
							   PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.password_hash_memory",
							"Memory cost of new argon2id password hashes.",
							"The default is OWASP's argon2id minimum; lower it only in tests.",
							&password_hash_memory_kib, 19456, 64, 1024 * 1024,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.password_hash_iterations",
							"Passes over memory of new argon2id password hashes.",
							NULL, &password_hash_iterations, 2, 1, 64,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.password_hash_parallelism",
							"Lanes of new argon2id password hashes.",
							NULL, &password_hash_parallelism, 1, 1, 8,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("commitopt.password_role_check",
							 "Applies the password policy to database roles' passwords.",
							 NULL, &password_role_check, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("commitopt.password_allow_prehashed",
							 "Accepts MD5 or SCRAM pre-hashed database role passwords, which cannot be checked.",
							 NULL, &password_allow_prehashed, false,
							 PGC_SUSET, 0, NULL, NULL, NULL);

	prev_check_password_hook = check_password_hook;
	check_password_hook = password_role_hook;
}

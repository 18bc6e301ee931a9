/*-------------------------------------------------------------------------
 *
 * session.c
 *	  Console session tokens and the settings of sessions and logins.
 *
 * A session token is 32 bytes (256 bits) from the server's cryptographic
 * random source, written in unpadded base64url (43 characters).  Only its
 * SHA-256 is stored (extension/sql/90_identity.sql); the token itself
 * leaves the database once, in the login response.
 *
 * The time limits are settings of their own so that operators can shorten
 * them; only superusers may change them, since a tenant must not be able to
 * keep sessions alive longer.
 *
 * extension/session.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "commitopt.h"

#define SESSION_TOKEN_BYTES 32

static int	session_idle_timeout = 1800;
static int	session_max_age = 3600;
static int	session_touch_interval = 60;
static int	login_max_failures = 10;
static int	login_failure_window = 900;
static int	login_lockout = 900;
static int	login_max_address_failures = 50;

PG_FUNCTION_INFO_V1(commitopt_session_token_new);

/*
 * define_session_settings registers commitopt.session_* and
 * commitopt.login_*; called from _PG_init.
 */
void
define_session_settings(void)
{
	DefineCustomIntVariable("commitopt.session_idle_timeout",
							"A session ends after this long without a request.",
							"A request at last activity plus this value or later is refused.",
							&session_idle_timeout, 1800, 60, 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.session_max_age",
							"A session ends this long after login, however active.",
							NULL, &session_max_age, 3600, 60, 7 * 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.session_touch_interval",
							"Requests within this time of the last recorded activity do not record it again.",
							"The idle limit is measured from the recorded activity, so a throttled write can only end a session earlier, never later. Must be less than the idle timeout.",
							&session_touch_interval, 60, 0, 600,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.login_max_failures",
							"Failed logins of one account within the failure window that lock it.",
							NULL, &login_max_failures, 10, 1, 1000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.login_failure_window",
							"Time over which failed logins are counted.",
							NULL, &login_failure_window, 900, 60, 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.login_lockout",
							"How long an account stays locked after too many failed logins.",
							NULL, &login_lockout, 900, 60, 86400,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("commitopt.login_max_address_failures",
							"Failed logins from one client address within the failure window after which that address is refused.",
							NULL, &login_max_address_failures, 50, 1, 100000,
							PGC_SUSET, 0, NULL, NULL, NULL);
}

/*
 * commitopt.session_token_new() RETURNS text: a fresh session token.
 */
Datum
commitopt_session_token_new(PG_FUNCTION_ARGS)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint8		raw[SESSION_TOKEN_BYTES + 1];
	char		out[(SESSION_TOKEN_BYTES * 4 + 2) / 3 + 1];
	int			j = 0;

	if (!pg_strong_random(raw, SESSION_TOKEN_BYTES))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random session token")));
	raw[SESSION_TOKEN_BYTES] = 0;

	/* 3 bytes make 4 characters; the last group has 2 bytes, 3 characters */
	for (int i = 0; i < SESSION_TOKEN_BYTES; i += 3)
	{
		uint32		v = (uint32) raw[i] << 16 | (uint32) raw[i + 1] << 8;

		if (i + 2 < SESSION_TOKEN_BYTES)
			v |= raw[i + 2];
		out[j++] = alphabet[(v >> 18) & 63];
		out[j++] = alphabet[(v >> 12) & 63];
		out[j++] = alphabet[(v >> 6) & 63];
		if (i + 2 < SESSION_TOKEN_BYTES)
			out[j++] = alphabet[v & 63];
	}
	out[j] = '\0';
	explicit_bzero(raw, sizeof(raw));
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

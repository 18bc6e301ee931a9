/*-------------------------------------------------------------------------
 *
 * log_redaction.c
 *	  Keeps passwords, tokens and other secrets out of the server log.
 *
 * PostgreSQL writes the text of statements into the server log in several
 * ways: the STATEMENT line after an error (log_min_error_statement), the
 * "statement:" / "execute ...:" lines of log_statement, the "duration:
 * ... statement:" lines of log_min_duration_statement, the bind parameters
 * of the extended protocol in their detail, and the parameters of a
 * failing portal and the JSON parser's excerpt of its input in the
 * context.  Any of them can carry a password given as a literal
 * (reset_password(..., 'secret'), CREATE ROLE ... PASSWORD '...') or a
 * session token passed to api.dispatch.  Raising errors with
 * errhidestmt() in our own code cannot help when PostgreSQL itself fails
 * the statement (a duplicate role, a bad VALID UNTIL), so an emit_log_hook
 * looks at every message on its way to the log instead.
 *
 * The test is deliberately coarse: a statement is secret-bearing when its
 * text mentions any of the markers below, case-insensitively.  False
 * positives only cost a less informative log line; a false negative would
 * leak a secret.
 *
 * XXX: detection is by text: a secret passed to a function not named
 * here (or through a wrapper or view named otherwise) is logged as
 * before, and so are auto_explain's plans.
 *
 * extension/log_redaction.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/prepare.h"
#include "tcop/tcopprot.h"
#include "utils/elog.h"

#include "commitopt.h"

/* What replaces the statement text in a log line. */
#define REDACTED_STATEMENT "<redacted: the statement may contain a secret>"

/*
 * Words whose presence makes a statement secret-bearing: the functions
 * that take passwords, tokens, claims and AWS secrets (create_user takes
 * a password without the word in its name), and the SQL keyword PASSWORD
 * of CREATE/ALTER ROLE.
 */
static const char *const secret_markers[] = {
	"password",
	"verify_login",
	"session_login",
	"session_authenticate",
	"api.dispatch",
	"claim",
	"secret_",
	"register_aws_account",
	"aws_register",
	"token",
	"create_user",
	"create_tenant_with_admin",
	"user_insert",
	"sigv4",
	"master_key",
};

/*
 * The untranslated formats of PostgreSQL's own log lines that repeat a
 * statement (tcop/postgres.c); in each the statement is the last "%s",
 * after the last ": " of the format.
 */
static const char *const statement_log_formats[] = {
	"statement: %s",
	"duration: %s ms  statement: %s",
	"%s %s%s%s: %s",			/* execute [fetch from] name[/portal] */
	"duration: %s ms  %s %s%s%s: %s",
	"duration: %s ms  parse %s: %s",
	"duration: %s ms  bind %s%s%s: %s",
};

/* The scanner's error format, which quotes the text near the error. */
#define SCANNER_ERROR_FORMAT "%s at or near \"%s\""

static emit_log_hook_type prev_emit_log_hook = NULL;

/*
 * text_has_secret_marker tells whether s mentions any secret marker,
 * ignoring case.
 */
static bool
text_has_secret_marker(const char *s)
{
	if (s == NULL)
		return false;
	for (const char *p = s; *p; p++)
	{
		for (int i = 0; i < (int) lengthof(secret_markers); i++)
		{
			const char *m = secret_markers[i];

			if (pg_strncasecmp(p, m, strlen(m)) == 0)
				return true;
		}
	}
	return false;
}

/* strcasestr_ascii: the first place where word occurs in s, ignoring case. */
static const char *
strcasestr_ascii(const char *s, const char *word)
{
	size_t		n = strlen(word);

	for (; *s; s++)
		if (pg_strncasecmp(s, word, n) == 0)
			return s;
	return NULL;
}

/*
 * executes_secret_statement tells whether a statement text runs, through
 * SQL-level EXECUTE name(...), a prepared statement whose own text is
 * secret-bearing: the arguments of such an EXECUTE are that statement's
 * secrets, though its text names no marker.  Every "EXECUTE <name>" in the
 * text is looked up (a multi-statement string may hold several); a word
 * that names no prepared statement of this session, such as PL/pgSQL's
 * EXECUTE format(...), is skipped.  Only a backend-local hash table is
 * read, so this is safe while an error is being reported.
 */
static bool
executes_secret_statement(const char *s)
{
	if (s == NULL)
		return false;
	for (const char *p = s; (p = strcasestr_ascii(p, "execute")) != NULL; p += 7)
	{
		const char *q = p + 7;
		char		name[NAMEDATALEN];
		int			len = 0;
		PreparedStatement *ps;

		/* a whole word, followed by white space */
		if ((p > s && (isalnum((unsigned char) p[-1]) || p[-1] == '_')) ||
			!isspace((unsigned char) *q))
			continue;
		while (isspace((unsigned char) *q))
			q++;
		if (*q == '"')
		{
			for (q++; *q && len < NAMEDATALEN - 1; q++)
			{
				if (*q == '"' && q[1] != '"')
					break;
				if (*q == '"')
					q++;
				name[len++] = *q;
			}
		}
		else
		{
			for (; (isalnum((unsigned char) *q) || *q == '_' || *q == '$') &&
				 len < NAMEDATALEN - 1; q++)
				name[len++] = pg_ascii_tolower((unsigned char) *q);
		}
		name[len] = '\0';
		if (len == 0)
			continue;
		ps = FetchPreparedStatement(name, false);
		if (ps != NULL && ps->plansource != NULL &&
			text_has_secret_marker(ps->plansource->query_string))
			return true;
	}
	return false;
}

/*
 * statement_log_format tells whether a message is one of the log lines
 * that repeat a statement, and if so how many ": " separators precede the
 * statement text.
 */
static int
statement_log_format(const ErrorData *edata)
{
	if (edata->message_id == NULL)
		return 0;
	for (int i = 0; i < (int) lengthof(statement_log_formats); i++)
	{
		if (strcmp(edata->message_id, statement_log_formats[i]) == 0)
		{
			int			separators = 0;

			for (const char *p = statement_log_formats[i];
				 (p = strstr(p, ": ")) != NULL; p += 2)
				separators++;
			return separators;
		}
	}
	return 0;
}

/*
 * redact_statement_line replaces the statement text at the end of a
 * statement log line, keeping what precedes it (the duration, the
 * prepared statement's name).  The detail goes too: it holds the bind
 * parameters, or the text of the prepared statement an EXECUTE ran.
 */
static void
redact_statement_line(ErrorData *edata, int separators)
{
	const char *cut = edata->message;

	for (int i = 0; i < separators && cut != NULL; i++)
	{
		cut = strstr(cut, ": ");
		if (cut != NULL)
			cut += 2;
	}
	if (cut == NULL)
		edata->message = pstrdup(REDACTED_STATEMENT);
	else
		edata->message = psprintf("%.*s%s", (int) (cut - edata->message),
								  edata->message, REDACTED_STATEMENT);
	edata->detail = NULL;
	edata->detail_log = NULL;
}

/*
 * Context lines that quote values: bind parameters ("... with parameters:
 * $1 = '...'", "... parameter $1 = '...'") and the JSON parser's excerpt
 * of its input ("JSON data, line 1: ...", which holds a request body's
 * password when jsonb refuses a later escape).
 */
static bool
context_line_quotes_values(const char *line)
{
	return strstr(line, "with parameters: ") != NULL ||
		strstr(line, "parameter $") != NULL ||
		strncmp(line, "JSON data, line ", 16) == 0;
}

/*
 * drop_value_context removes from the context the lines that quote
 * values, keeping the others (the PL/pgSQL call stack helps to debug and
 * holds no values).
 */
static void
drop_value_context(ErrorData *edata)
{
	StringInfoData kept;
	char	   *line;
	char	   *rest;
	bool		dropped = false;

	if (edata->context == NULL)
		return;

	initStringInfo(&kept);
	rest = pstrdup(edata->context);
	while ((line = strsep(&rest, "\n")) != NULL)
	{
		if (context_line_quotes_values(line))
		{
			dropped = true;
			continue;
		}
		appendStringInfo(&kept, "%s%s", kept.len ? "\n" : "", line);
	}
	if (dropped)
		edata->context = kept.len ? kept.data : NULL;
}

/*
 * redact_secret_statement strips what a message of a secret-bearing
 * statement could repeat of its text.
 */
static void
redact_secret_statement(ErrorData *edata)
{
	/* the STATEMENT line of log_min_error_statement */
	edata->hide_stmt = true;

	drop_value_context(edata);

	/*
	 * An internal query that quotes a literal and mentions a marker (such
	 * as PL/pgSQL's "SET LOCAL commitopt.claim = '...'") may hold the
	 * secret itself.
	 */
	if (edata->internalquery != NULL &&
		strchr(edata->internalquery, '\'') != NULL &&
		text_has_secret_marker(edata->internalquery))
	{
		edata->internalquery = NULL;
		edata->internalpos = 0;
	}

	/*
	 * A syntax error quotes the text near the error, which may be part of
	 * the password; the cursor position still says where it is.
	 */
	if (edata->message_id != NULL &&
		strcmp(edata->message_id, SCANNER_ERROR_FORMAT) == 0 &&
		edata->message != NULL)
	{
		char	   *near = strstr(edata->message, " at or near \"");

		if (near != NULL)
			edata->message = psprintf("%.*s", (int) (near - edata->message),
									  edata->message);
	}
}

/*
 * log_redaction_hook is the emit_log_hook: it runs for every message that
 * goes to the server log, before it is written.  It may change the
 * message; the changes reach the client too, which is harmless for what
 * it strips.
 */
static void
log_redaction_hook(ErrorData *edata)
{
	int			separators = statement_log_format(edata);
	bool		secret_statement = text_has_secret_marker(debug_query_string) ||
		executes_secret_statement(debug_query_string);

	if (separators > 0 &&
		(secret_statement ||
		 text_has_secret_marker(edata->message) ||
		 text_has_secret_marker(edata->detail)))
		redact_statement_line(edata, separators);
	if (secret_statement)
		redact_secret_statement(edata);

	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * define_log_redaction installs the hook, after any hook loaded before
 * us; called from _PG_init.
 */
void
define_log_redaction(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = log_redaction_hook;
}

/*-------------------------------------------------------------------------
 *
 * claim.c
 *	  Signed, transaction-local identity claims and current_tenant().
 *
 * Row-level security policies compare tenant_id with current_tenant().
 * The identity behind it must be unforgeable from SQL, must last one
 * transaction only, and must be visible wherever a policy is evaluated
 * (under Citus, in other backends on other nodes), so it cannot be plain
 * backend memory.  It is a short text, the claim,
 *
 *		v1:<tenant>:<user>:<role>:<session>:<expiry>:<hmac>
 *
 * where expiry is a timestamptz in microseconds since the PostgreSQL epoch
 * and hmac is the hex HMAC-SHA256 of everything before it under a server
 * key.  Only the API entry point mints claims, after verifying a session
 * token, and sets them with set_config(..., true): a transaction-local
 * setting, which PostgreSQL drops at commit and abort and which Citus
 * forwards to its workers.
 *
 * Anyone may set commitopt.claim; nobody without the key can make it say
 * anything.  A claim that is malformed, badly signed or expired, or whose
 * value was not set for this transaction only (a session-level SET, which
 * would otherwise outlive the request), yields no tenant, and policies then
 * return no rows.  The verdict is cached until the transaction or the
 * setting's value changes, so a policy evaluated per row costs a string
 * comparison.
 *
 * Without a claim, an analyst (a database role) gets the tenant of the
 * analyst grant of the session user.
 *
 * The server key is 32 random bytes in the file commitopt_claim.key in the
 * data directory, mode 0600, created at first use.  SQL users cannot read
 * it: only superusers and members of pg_read_server_files may read server
 * files, and no role of the extension is either.  A table would be readable
 * by its owner and by every SECURITY DEFINER function of that owner.
 *
 * extension/claim.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "common/hmac.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "commitopt.h"

#define CLAIM_KEY_FILE		"commitopt_claim.key"
#define CLAIM_KEY_LEN		32
#define CLAIM_MAC_LEN		32
#define CLAIM_VERSION		"v1"
#define CLAIM_ROLE_MAX		32

/* commitopt.claim: the signed claim of the current request, if any */
static char *claim_setting = NULL;

/* commitopt.clock: the time the extension uses; empty for the real time */
static char *clock_setting = NULL;

/* the GUC record of commitopt.claim, to see how its value was set */
static struct config_generic *claim_guc = NULL;

static uint8 claim_key[CLAIM_KEY_LEN];
static bool claim_key_loaded = false;

/* What a verified claim says; valid is false when there is none. */
typedef struct ClaimState
{
	bool		valid;
	pg_uuid_t	tenant;
	pg_uuid_t	user_id;
	pg_uuid_t	session_id;
	char		role[CLAIM_ROLE_MAX + 1];
	TimestampTz expiry;
} ClaimState;

/*
 * The cache of the last verdict: for which transaction and which setting
 * value it holds, what the claim said, and the analyst fallback.
 */
static LocalTransactionId cache_lxid = InvalidLocalTransactionId;
static char *cache_value = NULL;
static ClaimState cache_claim;
static bool cache_analyst_done = false;
static bool cache_analyst_found = false;
static pg_uuid_t cache_analyst_tenant;
static bool analyst_lookup_running = false;

PG_FUNCTION_INFO_V1(commitopt_claim_mint);
PG_FUNCTION_INFO_V1(commitopt_current_tenant);
PG_FUNCTION_INFO_V1(commitopt_current_user_id);
PG_FUNCTION_INFO_V1(commitopt_current_user_role);
PG_FUNCTION_INFO_V1(commitopt_current_session_id);
PG_FUNCTION_INFO_V1(commitopt_clock_now);

/*
 * define_claim_settings registers commitopt.claim and commitopt.clock;
 * called from _PG_init.
 */
void
define_claim_settings(void)
{
	/*
	 * Hidden from SHOW and current_setting() for everyone but superusers, so
	 * that a caller of the entry point cannot read a live claim back and
	 * replay it; the C code reads the variable directly.
	 */
	DefineCustomStringVariable("commitopt.claim",
							   "Signed identity claim of the current request.",
							   "Set by the API entry point for one transaction; a claim that is not signed by the server, has expired or was not set locally is ignored.",
							   &claim_setting, "",
							   PGC_USERSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL |
							   GUC_NOT_IN_SAMPLE | GUC_NO_RESET_ALL,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("commitopt.clock",
							   "Time the extension uses instead of the real time; empty for the real time.",
							   "For tests of time limits only.",
							   &clock_setting, "",
							   PGC_SUSET, GUC_NOT_IN_SAMPLE,
							   NULL, NULL, NULL);
}

/*
 * clock_now is the extension's notion of now: commitopt.clock when set,
 * else the start of the current transaction (as now()).
 */
TimestampTz
clock_now(void)
{
	if (clock_setting == NULL || clock_setting[0] == '\0')
		return GetCurrentTransactionStartTimestamp();
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
												   CStringGetDatum(clock_setting),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
}

/*
 * commitopt.clock_now() RETURNS timestamptz: clock_now() for SQL.
 */
Datum
commitopt_clock_now(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(clock_now());
}

/*
 * read_key_file reads the key from path into claim_key; false when the
 * file does not exist.  A file of the wrong size or with access for others
 * is an error: it was not made by this code.
 */
static bool
read_key_file(const char *path)
{
	int			fd;
	struct stat st;
	ssize_t		n;

	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return false;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open claim key file \"%s\": %m", path)));
	}
	if (fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat claim key file \"%s\": %m", path)));
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 || st.st_size != CLAIM_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("claim key file \"%s\" is invalid", path),
				 errdetail("The file must hold %d bytes and be readable by the server's user only.",
						   CLAIM_KEY_LEN)));
	n = read(fd, claim_key, CLAIM_KEY_LEN);
	if (n != CLAIM_KEY_LEN)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read claim key file \"%s\": %m", path)));
	CloseTransientFile(fd);
	return true;
}

/*
 * load_claim_key makes sure claim_key holds the server key, creating the
 * key file at first use.  Several backends may race to create it: each
 * writes a private temporary file and links it into place, and link()
 * fails for all but the first, who then read the winner's key.
 */
static void
load_claim_key(void)
{
	char		tmp_path[MAXPGPATH];
	uint8		fresh[CLAIM_KEY_LEN];
	int			fd;

	if (claim_key_loaded)
		return;
	if (read_key_file(CLAIM_KEY_FILE))
	{
		claim_key_loaded = true;
		return;
	}

	if (!pg_strong_random(fresh, sizeof(fresh)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random claim key")));
	snprintf(tmp_path, sizeof(tmp_path), "%s.%d.tmp", CLAIM_KEY_FILE, MyProcPid);
	fd = OpenTransientFilePerm(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY,
							   S_IRUSR | S_IWUSR);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create claim key file \"%s\": %m", tmp_path)));
	if (write(fd, fresh, sizeof(fresh)) != sizeof(fresh) || pg_fsync(fd) != 0)
	{
		int			save_errno = errno;

		CloseTransientFile(fd);
		unlink(tmp_path);
		errno = save_errno ? save_errno : ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write claim key file \"%s\": %m", tmp_path)));
	}
	CloseTransientFile(fd);
	if (link(tmp_path, CLAIM_KEY_FILE) != 0 && errno != EEXIST)
	{
		int			save_errno = errno;

		unlink(tmp_path);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create claim key file \"%s\": %m",
						CLAIM_KEY_FILE)));
	}
	unlink(tmp_path);
	explicit_bzero(fresh, sizeof(fresh));

	if (!read_key_file(CLAIM_KEY_FILE))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open claim key file \"%s\": %m",
						CLAIM_KEY_FILE)));
	claim_key_loaded = true;
}

/*
 * claim_mac computes the HMAC-SHA256 of len bytes of data under the server
 * key into mac.
 */
static void
claim_mac(const char *data, size_t len, uint8 *mac)
{
	pg_hmac_ctx *ctx;

	load_claim_key();
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (pg_hmac_init(ctx, claim_key, CLAIM_KEY_LEN) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_hmac_final(ctx, mac, CLAIM_MAC_LEN) < 0)
	{
		const char *msg = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute the claim signature: %s", msg)));
	}
	pg_hmac_free(ctx);
}

/*
 * uuid_text formats a uuid in its canonical form into buf (37 bytes).
 */
static void
uuid_text(const pg_uuid_t *u, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	int			j = 0;

	for (int i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[j++] = '-';
		buf[j++] = hex[u->data[i] >> 4];
		buf[j++] = hex[u->data[i] & 0x0f];
	}
	buf[j] = '\0';
}

/*
 * hex_digit_value is the value of a lower-case hex digit, or -1.
 */
static int
hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * parse_uuid reads a canonical uuid of exactly len characters; false if it
 * is not one.
 */
static bool
parse_uuid(const char *s, size_t len, pg_uuid_t *out)
{
	int			j = 0;

	if (len != 36)
		return false;
	for (int i = 0; i < UUID_LEN; i++)
	{
		int			hi,
					lo;

		if (j == 8 || j == 13 || j == 18 || j == 23)
		{
			if (s[j] != '-')
				return false;
			j++;
		}
		hi = hex_digit_value(s[j]);
		lo = hex_digit_value(s[j + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out->data[i] = (uint8) (hi << 4 | lo);
		j += 2;
	}
	return true;
}

/*
 * role_is_valid: a role name in a claim is 1 to CLAIM_ROLE_MAX lower-case
 * letters and underscores, so it can never contain the separator.
 */
static bool
role_is_valid(const char *role, size_t len)
{
	if (len == 0 || len > CLAIM_ROLE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((role[i] >= 'a' && role[i] <= 'z') || role[i] == '_'))
			return false;
	return true;
}

/*
 * commitopt.claim_mint(tenant uuid, user_id uuid, role text, session_id
 * uuid, expires timestamptz) RETURNS text: a signed claim.  EXECUTE is
 * granted only to the role whose functions verify session tokens.
 */
Datum
commitopt_claim_mint(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *tenant = PG_GETARG_UUID_P(0);
	pg_uuid_t  *user_id = PG_GETARG_UUID_P(1);
	char	   *role = text_to_cstring(PG_GETARG_TEXT_PP(2));
	pg_uuid_t  *session_id = PG_GETARG_UUID_P(3);
	TimestampTz expires = PG_GETARG_TIMESTAMPTZ(4);
	char		t[37],
				u[37],
				s[37];
	StringInfoData buf;
	uint8		mac[CLAIM_MAC_LEN];

	if (!role_is_valid(role, strlen(role)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid role \"%s\" for a claim", role),
				 errdetail("A role in a claim is 1 to %d lower-case letters or underscores.",
						   CLAIM_ROLE_MAX)));
	if (TIMESTAMP_NOT_FINITE(expires))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("claim expiry must be finite")));

	uuid_text(tenant, t);
	uuid_text(user_id, u);
	uuid_text(session_id, s);
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s:%s:%s:%s:%s:" INT64_FORMAT,
					 CLAIM_VERSION, t, u, role, s, (int64) expires);
	claim_mac(buf.data, buf.len, mac);
	appendStringInfoChar(&buf, ':');
	for (int i = 0; i < CLAIM_MAC_LEN; i++)
		appendStringInfo(&buf, "%02x", mac[i]);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/*
 * claim_set_locally: whether the current value of commitopt.claim was set
 * for this transaction only (SET LOCAL or set_config(..., true)).  A value
 * set for the session would outlive the request it was minted for.
 */
static bool
claim_set_locally(void)
{
	GucStack   *stack;

	if (claim_guc == NULL)
	{
		struct config_generic **vars = get_guc_variables();
		int			n = GetNumConfigOptions();

		for (int i = 0; i < n; i++)
			if (strcmp(vars[i]->name, "commitopt.claim") == 0)
			{
				claim_guc = vars[i];
				break;
			}
		if (claim_guc == NULL)
			return false;
	}
	stack = claim_guc->stack;
	return stack != NULL &&
		(stack->state == GUC_LOCAL || stack->state == GUC_SET_LOCAL);
}

/*
 * verify_claim parses and checks a claim; the result says valid = false
 * for anything but a well-formed, correctly signed, unexpired claim.
 * Parsing stops at the first defect, and the signature is compared in
 * constant time.
 */
static void
verify_claim(const char *value, ClaimState *out)
{
	const char *fields[7];
	size_t		lens[7];
	const char *p = value;
	size_t		signed_len;
	uint8		mac[CLAIM_MAC_LEN];
	uint8		given[CLAIM_MAC_LEN];
	int			diff = 0;
	char	   *end;
	long long	expiry;

	memset(out, 0, sizeof(*out));
	for (int f = 0; f < 7; f++)
	{
		const char *sep = strchr(p, ':');

		fields[f] = p;
		if (f < 6)
		{
			if (sep == NULL)
				return;
			lens[f] = sep - p;
			p = sep + 1;
		}
		else
		{
			if (sep != NULL)
				return;
			lens[f] = strlen(p);
		}
	}
	if (lens[0] != strlen(CLAIM_VERSION) ||
		strncmp(fields[0], CLAIM_VERSION, lens[0]) != 0)
		return;
	if (lens[6] != CLAIM_MAC_LEN * 2)
		return;
	for (int i = 0; i < CLAIM_MAC_LEN; i++)
	{
		int			hi = hex_digit_value(fields[6][2 * i]);
		int			lo = hex_digit_value(fields[6][2 * i + 1]);

		if (hi < 0 || lo < 0)
			return;
		given[i] = (uint8) (hi << 4 | lo);
	}
	signed_len = fields[6] - value - 1;
	claim_mac(value, signed_len, mac);
	for (int i = 0; i < CLAIM_MAC_LEN; i++)
		diff |= mac[i] ^ given[i];
	if (diff != 0)
		return;

	/* signed by us: the fields were written by claim_mint */
	if (!parse_uuid(fields[1], lens[1], &out->tenant) ||
		!parse_uuid(fields[2], lens[2], &out->user_id) ||
		!role_is_valid(fields[3], lens[3]) ||
		!parse_uuid(fields[4], lens[4], &out->session_id))
		return;
	memcpy(out->role, fields[3], lens[3]);
	out->role[lens[3]] = '\0';
	errno = 0;
	expiry = strtoll(fields[5], &end, 10);
	if (errno != 0 || end != fields[6] - 1 || end == fields[5])
		return;
	out->expiry = (TimestampTz) expiry;
	if (!(clock_now() < out->expiry))
		return;
	out->valid = true;
}

/*
 * current_claim returns the verified claim of this transaction (valid is
 * false when there is none), verifying only when the transaction or the
 * setting's value changed since the last call.
 */
static const ClaimState *
current_claim(void)
{
	const char *value = claim_setting ? claim_setting : "";
	bool		local = claim_set_locally();

	if (cache_lxid == MyProc->lxid && cache_value != NULL &&
		strcmp(cache_value, value) == 0)
	{
		/* the same text may since have been SET for the session */
		if (!local)
		{
			static ClaimState none;

			return &none;
		}
		return &cache_claim;
	}

	if (cache_lxid != MyProc->lxid)
		cache_analyst_done = false;
	cache_lxid = MyProc->lxid;
	if (cache_value != NULL)
		pfree(cache_value);
	cache_value = MemoryContextStrdup(TopMemoryContext, value);
	memset(&cache_claim, 0, sizeof(cache_claim));
	if (value[0] != '\0')
		verify_claim(value, &cache_claim);
	if (!local)
	{
		static ClaimState none;

		return &none;
	}
	return &cache_claim;
}

/*
 * analyst_tenant looks up, once per transaction, the tenant that an
 * analyst grant gives the outer user (the login role, or the role set with
 * SET ROLE; never the owner of a SECURITY DEFINER function running now);
 * false when there is none.  The lookup runs as commitopt_owner, so
 * analysts need no access to the grant table, which would show them every
 * role's tenant.
 */
static bool
analyst_tenant(pg_uuid_t *tenant)
{
	if (cache_lxid != MyProc->lxid)
	{
		(void) current_claim();
	}
	/* a policy on the grant table would bring us back here: no tenant */
	if (analyst_lookup_running)
		return false;
	if (!cache_analyst_done)
	{
		volatile int ret = 0;
		bool		isnull;
		Datum		d;

		Oid			owner = get_role_oid("commitopt_owner", false);
		Oid			save_userid;
		int			save_sec_context;
		Datum		arg;
		Oid			argtype = NAMEOID;

		cache_analyst_found = false;
		arg = DirectFunctionCall1(namein,
								  CStringGetDatum(GetUserNameFromId(GetOuterUserId(),
																	false)));
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		analyst_lookup_running = true;
		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(owner,
							   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
		PG_TRY();
		{
			ret = SPI_execute_with_args("SELECT g.tenant_id FROM commitopt.analyst_grants g WHERE g.role_name OPERATOR(pg_catalog.=) $1",
										1, &argtype, &arg, NULL, true, 1);
		}
		PG_FINALLY();
		{
			SetUserIdAndSecContext(save_userid, save_sec_context);
			analyst_lookup_running = false;
		}
		PG_END_TRY();
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "analyst tenant lookup failed: %d", ret);
		if (SPI_processed == 1)
		{
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
							  &isnull);
			if (!isnull)
			{
				memcpy(&cache_analyst_tenant, DatumGetUUIDP(d),
					   sizeof(pg_uuid_t));
				cache_analyst_found = true;
			}
		}
		SPI_finish();
		cache_analyst_done = true;
	}
	if (cache_analyst_found)
		*tenant = cache_analyst_tenant;
	return cache_analyst_found;
}

/*
 * uuid_datum copies a uuid into a palloc'd Datum.
 */
static Datum
uuid_datum(const pg_uuid_t *u)
{
	pg_uuid_t  *r = palloc(sizeof(pg_uuid_t));

	memcpy(r, u, sizeof(pg_uuid_t));
	return UUIDPGetDatum(r);
}

/*
 * commitopt.current_tenant() RETURNS uuid: the tenant of a valid claim,
 * else of the session user's analyst grant, else NULL (no rows).
 */
Datum
commitopt_current_tenant(PG_FUNCTION_ARGS)
{
	const ClaimState *c = current_claim();
	pg_uuid_t	tenant;

	if (c->valid)
		PG_RETURN_DATUM(uuid_datum(&c->tenant));
	if (analyst_tenant(&tenant))
		PG_RETURN_DATUM(uuid_datum(&tenant));
	PG_RETURN_NULL();
}

/*
 * commitopt.current_user_id() RETURNS uuid: the console user of a valid
 * claim, else NULL.
 */
Datum
commitopt_current_user_id(PG_FUNCTION_ARGS)
{
	const ClaimState *c = current_claim();

	if (!c->valid)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(uuid_datum(&c->user_id));
}

/*
 * commitopt.current_user_role() RETURNS text: the console role of a valid
 * claim, else NULL.
 */
Datum
commitopt_current_user_role(PG_FUNCTION_ARGS)
{
	const ClaimState *c = current_claim();

	if (!c->valid)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(c->role));
}

/*
 * commitopt.current_session_id() RETURNS uuid: the session of a valid
 * claim, else NULL.
 */
Datum
commitopt_current_session_id(PG_FUNCTION_ARGS)
{
	const ClaimState *c = current_claim();

	if (!c->valid)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(uuid_datum(&c->session_id));
}

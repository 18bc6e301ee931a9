/*-------------------------------------------------------------------------
 *
 * password_hash.c
 *	  argon2id password hashes of console users and their history.
 *
 * Passwords are hashed with argon2id (Debian's libargon2, the reference
 * implementation) into the library's self-describing encoded string,
 * "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>", so every
 * stored hash carries its own cost and salt: raising the cost settings
 * never invalidates an old hash, and verify_login upgrades a hash whose
 * cost is below the current settings.  The shipped costs (19 MiB, 2
 * passes, 1 lane) are OWASP's argon2id minimum.  Verification recomputes
 * the hash and compares it in constant time inside the library.
 *
 * extension/password_hash.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <argon2.h>

#include "fmgr.h"
#include "port.h"
#include "utils/builtins.h"

#include "commitopt.h"
#include "password_policy.h"

PG_FUNCTION_INFO_V1(commitopt_password_hash);
PG_FUNCTION_INFO_V1(commitopt_password_verify);
PG_FUNCTION_INFO_V1(commitopt_password_hash_needs_upgrade);

#define PASSWORD_SALT_BYTES 16
#define PASSWORD_HASH_BYTES 32

/*
 * Bounds on the cost a stored hash may ask for.  They keep a damaged or
 * planted row from making a login allocate gigabytes; the settings stay
 * well inside them.
 */
#define PASSWORD_HASH_MAX_MEMORY_KIB (1024 * 1024)
#define PASSWORD_HASH_MAX_ITERATIONS 64
#define PASSWORD_HASH_MAX_PARALLELISM 16

/* The cost parameters read back from an encoded hash. */
typedef struct PasswordHashCost
{
	uint32		memory_kib;
	uint32		iterations;
	uint32		parallelism;
} PasswordHashCost;

/*
 * password_hash_parse reads the cost of an encoded argon2id hash; false
 * when the string is not one this module could have written.
 */
static bool
password_hash_parse(const char *encoded, PasswordHashCost *cost)
{
	unsigned int version;
	int			consumed = -1;

	if (sscanf(encoded, "$argon2id$v=%u$m=%u,t=%u,p=%u$%n", &version,
			   &cost->memory_kib, &cost->iterations, &cost->parallelism,
			   &consumed) != 4 || consumed < 0)
		return false;
	if (version != ARGON2_VERSION_13)
		return false;
	if (cost->memory_kib < ARGON2_MIN_MEMORY ||
		cost->memory_kib > PASSWORD_HASH_MAX_MEMORY_KIB ||
		cost->iterations < 1 ||
		cost->iterations > PASSWORD_HASH_MAX_ITERATIONS ||
		cost->parallelism < 1 ||
		cost->parallelism > PASSWORD_HASH_MAX_PARALLELISM ||
		cost->memory_kib < 8 * cost->parallelism)
		return false;
	/* salt and hash follow, separated by one more '$' */
	return strchr(encoded + consumed, '$') != NULL;
}

/*
 * password_hash_validate raises an error unless the string is an argon2id
 * hash this module accepts.  The string is derived from a password, so the
 * message never quotes it.
 */
void
password_hash_validate(const char *encoded)
{
	PasswordHashCost cost;

	if (!password_hash_parse(encoded, &cost))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored password hash is not a valid argon2id hash"),
				 errdetail("Hashes must look like \"$argon2id$v=19$m=...,t=...,p=...$salt$hash\" with a sane cost.")));
}

/*
 * password_hash_make hashes a password with a fresh random salt at the
 * current cost settings; the result is palloc'd.
 */
char *
password_hash_make(const char *password, int len)
{
	uint8		salt[PASSWORD_SALT_BYTES];
	size_t		encoded_len;
	char	   *encoded;
	int			rc;

	if (!pg_strong_random(salt, sizeof(salt)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random salt")));

	encoded_len = argon2_encodedlen(password_hash_iterations,
									password_hash_memory_kib,
									password_hash_parallelism,
									PASSWORD_SALT_BYTES, PASSWORD_HASH_BYTES,
									Argon2_id);
	encoded = palloc(encoded_len);
	rc = argon2_hash(password_hash_iterations, password_hash_memory_kib,
					 password_hash_parallelism, password, len,
					 salt, sizeof(salt), NULL, PASSWORD_HASH_BYTES,
					 encoded, encoded_len, Argon2_id, ARGON2_VERSION_13);
	explicit_bzero(salt, sizeof(salt));
	if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Hashing a password needs %d kB.",
						   password_hash_memory_kib)));
	if (rc != ARGON2_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not hash a password: %s",
						argon2_error_message(rc))));
	return encoded;
}

/*
 * password_hash_compare compares a password with an encoded hash, under
 * the salt and cost stored in it, without raising for a damaged hash:
 * the caller decides whether that is an error.  Running out of memory is
 * still an error.
 */
PasswordHashMatch
password_hash_compare(const char *encoded, const char *password, int len)
{
	PasswordHashCost cost;
	int			rc;

	if (!password_hash_parse(encoded, &cost))
		return PASSWORD_HASH_UNREADABLE;
	rc = argon2id_verify(encoded, password, len);
	if (rc == ARGON2_OK)
		return PASSWORD_HASH_MATCH;
	if (rc == ARGON2_VERIFY_MISMATCH)
		return PASSWORD_HASH_MISMATCH;
	if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while verifying a password")));
	return PASSWORD_HASH_UNREADABLE;
}

/*
 * password_hash_matches tells whether the password hashes to the encoded
 * hash, under the salt and cost stored in it; a damaged hash is an error.
 */
bool
password_hash_matches(const char *encoded, const char *password, int len)
{
	int			rc;

	password_hash_validate(encoded);
	rc = argon2id_verify(encoded, password, len);
	if (rc == ARGON2_OK)
		return true;
	if (rc == ARGON2_VERIFY_MISMATCH)
		return false;
	if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory while verifying a password")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("could not verify a password: %s",
					argon2_error_message(rc))));
	return false;				/* keep the compiler quiet */
}

/*
 * password_hash_is_weak tells whether an encoded hash was made at a lower
 * cost than the current settings ask for, so it should be replaced at the
 * next successful login.
 */
bool
password_hash_is_weak(const char *encoded)
{
	PasswordHashCost cost;

	password_hash_validate(encoded);
	(void) password_hash_parse(encoded, &cost);
	return cost.memory_kib < (uint32) password_hash_memory_kib ||
		cost.iterations < (uint32) password_hash_iterations ||
		cost.parallelism < (uint32) password_hash_parallelism;
}

/*
 * commitopt.password_hash(password text) returns text: the encoded argon2id
 * hash of a password at the current settings, without any policy check.
 */
Datum
commitopt_password_hash(PG_FUNCTION_ARGS)
{
	text	   *password = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text(password_hash_make(VARDATA_ANY(password),
														VARSIZE_ANY_EXHDR(password))));
}

/*
 * commitopt.password_verify(password text, hash text) returns boolean.
 */
Datum
commitopt_password_verify(PG_FUNCTION_ARGS)
{
	text	   *password = PG_GETARG_TEXT_PP(0);
	char	   *encoded = text_to_cstring(PG_GETARG_TEXT_PP(1));

	PG_RETURN_BOOL(password_hash_matches(encoded, VARDATA_ANY(password),
										 VARSIZE_ANY_EXHDR(password)));
}

/*
 * commitopt.password_hash_needs_upgrade(hash text) returns boolean: true
 * when the hash's cost is below the current settings.
 */
Datum
commitopt_password_hash_needs_upgrade(PG_FUNCTION_ARGS)
{
	char	   *encoded = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_BOOL(password_hash_is_weak(encoded));
}

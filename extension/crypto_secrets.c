/*-------------------------------------------------------------------------
 *
 * crypto_secrets.c
 *	  Encryption of secrets at rest (external IDs, role ARNs, credentials).
 *
 * Envelope encryption: each tenant has a random 256-bit data key, stored
 * only wrapped (AES-256-GCM) by the master key.  The master key is read
 * from a file outside the database directory, named by the superuser-only
 * setting commitopt.master_key_file, so a copy of the database alone
 * reveals nothing.  A value is sealed with AES-256-GCM under its tenant's
 * data key; the associated data names tenant, table, column and row, so a
 * ciphertext copied to another row, column, table or tenant fails its
 * authentication check instead of decrypting.  Wrapped keys carry the
 * master key's fingerprint, and commitopt.rotate_master_key() re-wraps every
 * data key under a new master key without touching the sealed values.
 *
 * Plaintexts and keys never appear in messages; key material is wiped from
 * memory as soon as it is no longer needed.
 *
 * Sealed format: 0x01 | IV (12 bytes) | tag (16 bytes) | ciphertext.
 *
 * extension/crypto_secrets.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/uuid.h"

#include "commitopt.h"
#include "crypto_secrets.h"
#include "sigv4.h"

PG_FUNCTION_INFO_V1(commitopt_secret_encrypt);
PG_FUNCTION_INFO_V1(commitopt_secret_decrypt);
PG_FUNCTION_INFO_V1(commitopt_rotate_master_key);

#define SEAL_VERSION 1
#define KEY_LEN 32
#define IV_LEN 12
#define TAG_LEN 16
#define SEAL_OVERHEAD (1 + IV_LEN + TAG_LEN)

static char *master_key_file = NULL;

/*
 * define_crypto_settings registers commitopt.master_key_file.  It is
 * superuser-only (neither settable nor readable by others) because it
 * names the file that unlocks every tenant's secrets.
 */
void
define_crypto_settings(void)
{
	DefineCustomStringVariable("commitopt.master_key_file",
							   "File holding the master key that wraps tenant data keys.",
							   "64 hexadecimal digits; the file must not be readable by group or others "
							   "and must lie outside the data directory.",
							   &master_key_file, "",
							   PGC_SUSET, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
}

/*
 * read_master_key loads a 256-bit key from path into key.  The file is
 * refused when group or others may read it, or when it lies inside the
 * data directory (a base backup would then carry it).
 */
static void
read_master_key(const char *path, unsigned char *key)
{
	int			fd;
	struct stat st;
	char		buf[80];
	ssize_t		n;
	int			len;
	char	   *real_path;

	if (path == NULL || path[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("commitopt.master_key_file is not set"),
				 errhint("Set it to a file holding 64 hexadecimal digits, mode 0600.")));
	real_path = realpath(path, NULL);
	if (real_path != NULL)
	{
		size_t		dlen = strlen(DataDir);
		bool		inside = strncmp(real_path, DataDir, dlen) == 0 &&
			(real_path[dlen] == '/' || real_path[dlen] == '\0');

		free(real_path);
		if (inside)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("master key file \"%s\" lies inside the data directory", path),
					 errdetail("A copy of the database would carry its own key.")));
	}
	fd = open(path, O_RDONLY | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open master key file \"%s\": %m", path)));
	if (fstat(fd, &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		close(fd);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" is accessible by group or others", path),
				 errhint("Make it mode 0600.")));
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read master key file \"%s\": %m", path)));
	len = (int) n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len != 2 * KEY_LEN || hex_decode(buf, len, (char *) key) != KEY_LEN)
	{
		explicit_bzero(buf, sizeof(buf));
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("master key file \"%s\" does not hold 64 hexadecimal digits", path)));
	}
	explicit_bzero(buf, sizeof(buf));
}

/*
 * key_fingerprint names a key without revealing it: the first 8 bytes of
 * SHA-256 over a label and the key, in hex.
 */
static char *
key_fingerprint(const unsigned char *key)
{
	char		in[KEY_LEN + 16];
	char		hex[65];

	memcpy(in, "commitopt-mk-fp:", 16);
	memcpy(in + 16, key, KEY_LEN);
	sigv4_sha256_hex(in, sizeof(in), hex);
	explicit_bzero(in, sizeof(in));
	hex[16] = '\0';
	return pstrdup(hex);
}

/*
 * gcm_seal encrypts plain under key with associated data aad and returns
 * the sealed format described above.
 */
static bytea *
gcm_seal(const unsigned char *key, const char *aad, const unsigned char *plain,
		 size_t plain_len)
{
	bytea	   *out = palloc(VARHDRSZ + SEAL_OVERHEAD + plain_len);
	unsigned char *p = (unsigned char *) VARDATA(out);
	EVP_CIPHER_CTX *ctx;
	int			len;
	bool		ok;

	p[0] = SEAL_VERSION;
	if (RAND_bytes(p + 1, IV_LEN) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random IV")));
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, p + 1) == 1 &&
		EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *) aad,
						  (int) strlen(aad)) == 1 &&
		EVP_EncryptUpdate(ctx, p + SEAL_OVERHEAD, &len, plain,
						  (int) plain_len) == 1 &&
		EVP_EncryptFinal_ex(ctx, p + SEAL_OVERHEAD + len, &len) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
							p + 1 + IV_LEN) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not encrypt a secret")));
	SET_VARSIZE(out, VARHDRSZ + SEAL_OVERHEAD + plain_len);
	return out;
}

/*
 * gcm_open reverses gcm_seal; it returns false when the ciphertext is
 * malformed or fails authentication (wrong key or associated data), and
 * then writes nothing to *plain.  *plain is palloc'd, NUL-terminated.
 */
static bool
gcm_open(const unsigned char *key, const char *aad, bytea *sealed,
		 unsigned char **plain, size_t *plain_len)
{
	unsigned char *p = (unsigned char *) VARDATA_ANY(sealed);
	size_t		n = VARSIZE_ANY_EXHDR(sealed);
	EVP_CIPHER_CTX *ctx;
	unsigned char *out;
	int			len = 0;
	int			len2 = 0;
	bool		ok;

	if (n < SEAL_OVERHEAD || p[0] != SEAL_VERSION)
		return false;
	out = palloc(n - SEAL_OVERHEAD + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, p + 1) == 1 &&
		EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *) aad,
						  (int) strlen(aad)) == 1 &&
		EVP_DecryptUpdate(ctx, out, &len, p + SEAL_OVERHEAD,
						  (int) (n - SEAL_OVERHEAD)) == 1 &&
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
							p + 1 + IV_LEN) == 1 &&
		EVP_DecryptFinal_ex(ctx, out + len, &len2) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
	{
		explicit_bzero(out, n - SEAL_OVERHEAD + 1);
		pfree(out);
		return false;
	}
	out[len + len2] = '\0';
	*plain = out;
	*plain_len = (size_t) (len + len2);
	return true;
}

/*
 * wrap_aad binds a wrapped data key to its tenant.
 */
static char *
wrap_aad(const char *tenant)
{
	return psprintf("commitopt-data-key|%s", tenant);
}

/*
 * tenant_data_key returns the tenant's data key in key, creating (and
 * storing, wrapped) a new one the first time.  Runs through SPI; the
 * caller has connected.
 */
static void
tenant_data_key(const char *tenant, unsigned char *key)
{
	unsigned char master[KEY_LEN];
	Oid			argtypes[1] = {UUIDOID};
	Datum		args[1];
	char	   *fp;
	int			rc;

	args[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(tenant));
	read_master_key(master_key_file, master);
	fp = key_fingerprint(master);

	/* not read-only: a key created earlier in this statement must show */
	rc = SPI_execute_with_args("SELECT wrapped_key, master_fingerprint "
							   "FROM commitopt.tenant_data_keys WHERE tenant_id = $1",
							   1, argtypes, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read tenant data keys: %d", rc);
	if (SPI_processed == 1)
	{
		bool		isnull;
		bytea	   *wrapped = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0],
															 SPI_tuptable->tupdesc,
															 1, &isnull));
		char	   *stored_fp = SPI_getvalue(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 2);
		unsigned char *plain;
		size_t		plain_len;

		if (strcmp(stored_fp, fp) != 0)
		{
			explicit_bzero(master, KEY_LEN);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PASSWORD),
					 errmsg("data key of tenant %s is wrapped by master key %s, not by the configured master key %s",
							tenant, stored_fp, fp),
					 errhint("Point commitopt.master_key_file at the key the data keys were last wrapped with.")));
		}
		if (!gcm_open(master, wrap_aad(tenant), wrapped, &plain, &plain_len) ||
			plain_len != KEY_LEN)
		{
			explicit_bzero(master, KEY_LEN);
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("data key of tenant %s could not be unwrapped", tenant)));
		}
		memcpy(key, plain, KEY_LEN);
		explicit_bzero(plain, KEY_LEN);
		pfree(plain);
	}
	else
	{
		Oid			ins_types[3] = {UUIDOID, BYTEAOID, TEXTOID};
		Datum		ins_args[3];

		if (RAND_bytes(key, KEY_LEN) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a data key")));
		ins_args[0] = args[0];
		ins_args[1] = PointerGetDatum(gcm_seal(master, wrap_aad(tenant), key, KEY_LEN));
		ins_args[2] = CStringGetTextDatum(fp);
		rc = SPI_execute_with_args("INSERT INTO commitopt.tenant_data_keys "
								   "(tenant_id, wrapped_key, master_fingerprint) "
								   "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
								   3, ins_types, ins_args, NULL, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "could not store a tenant data key: %d", rc);
		if (SPI_processed == 0)
		{
			/* another session created the key first: use that one */
			explicit_bzero(master, KEY_LEN);
			explicit_bzero(key, KEY_LEN);
			tenant_data_key(tenant, key);
			return;
		}
	}
	explicit_bzero(master, KEY_LEN);
}

/*
 * value_aad binds a sealed value to its place: tenant, table, column, row.
 * The parts are length-prefixed so that no two places share an encoding.
 */
static char *
value_aad(const char *tenant, const char *table, const char *column,
		  const char *row_key)
{
	return psprintf("commitopt-secret|%zu:%s|%zu:%s|%zu:%s|%zu:%s",
					strlen(tenant), tenant, strlen(table), table,
					strlen(column), column, strlen(row_key), row_key);
}

/*
 * secret_encrypt seals plain for one place (see value_aad).
 */
bytea *
secret_encrypt(const char *tenant, const char *table, const char *column,
			   const char *row_key, const char *plain, size_t plain_len)
{
	unsigned char key[KEY_LEN];
	bytea	   *out;

	SPI_connect();
	tenant_data_key(tenant, key);
	SPI_finish();
	out = gcm_seal(key, value_aad(tenant, table, column, row_key),
				   (const unsigned char *) plain, plain_len);
	explicit_bzero(key, KEY_LEN);
	return out;
}

/*
 * secret_decrypt opens a value sealed for exactly this place, or fails
 * without saying anything about its content.
 */
char *
secret_decrypt(const char *tenant, const char *table, const char *column,
			   const char *row_key, bytea *cipher)
{
	unsigned char key[KEY_LEN];
	unsigned char *plain;
	size_t		plain_len;
	bool		ok;

	SPI_connect();
	tenant_data_key(tenant, key);
	SPI_finish();
	ok = gcm_open(key, value_aad(tenant, table, column, row_key), cipher,
				  &plain, &plain_len);
	explicit_bzero(key, KEY_LEN);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not decrypt %s.%s of row %s of tenant %s",
						table, column, row_key, tenant),
				 errdetail("The ciphertext was not sealed for this tenant, table, column and row, or it was altered.")));
	return (char *) plain;
}

/*
 * get_text_arg returns a non-null text argument as a C string.
 */
static char *
get_text_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * commitopt_secret_encrypt(tenant uuid, tbl, col, row_key, plain) -> bytea
 */
Datum
commitopt_secret_encrypt(PG_FUNCTION_ARGS)
{
	char	   *tenant;
	text	   *plain;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant must not be null")));
	if (PG_ARGISNULL(4))
		PG_RETURN_NULL();
	tenant = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0)));
	plain = PG_GETARG_TEXT_PP(4);
	PG_RETURN_BYTEA_P(secret_encrypt(tenant,
									 get_text_arg(fcinfo, 1, "table"),
									 get_text_arg(fcinfo, 2, "column"),
									 get_text_arg(fcinfo, 3, "row key"),
									 VARDATA_ANY(plain),
									 VARSIZE_ANY_EXHDR(plain)));
}

/*
 * commitopt_secret_decrypt(tenant uuid, tbl, col, row_key, sealed) -> text
 */
Datum
commitopt_secret_decrypt(PG_FUNCTION_ARGS)
{
	char	   *tenant;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tenant must not be null")));
	if (PG_ARGISNULL(4))
		PG_RETURN_NULL();
	tenant = DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(0)));
	PG_RETURN_TEXT_P(cstring_to_text(secret_decrypt(tenant,
													get_text_arg(fcinfo, 1, "table"),
													get_text_arg(fcinfo, 2, "column"),
													get_text_arg(fcinfo, 3, "row key"),
													PG_GETARG_BYTEA_PP(4))));
}

/*
 * commitopt_rotate_master_key(new_key_file text) -> int: re-wraps every
 * tenant data key, now wrapped by the configured master key, under the key
 * in new_key_file, in one transaction.  Sealed values are untouched.  The
 * caller then points commitopt.master_key_file at the new file.  Returns
 * the number of keys re-wrapped.
 */
Datum
commitopt_rotate_master_key(PG_FUNCTION_ARGS)
{
	unsigned char old_key[KEY_LEN];
	unsigned char new_key[KEY_LEN];
	char	   *old_fp;
	char	   *new_fp;
	char	   *new_path = get_text_arg(fcinfo, 0, "new key file");
	int			count = 0;
	int			rc;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to rotate the master key"),
				 errdetail("Only superusers may rotate the master key.")));
	read_master_key(master_key_file, old_key);
	read_master_key(new_path, new_key);
	old_fp = key_fingerprint(old_key);
	new_fp = key_fingerprint(new_key);

	SPI_connect();
	rc = SPI_execute("SELECT tenant_id::text, wrapped_key, master_fingerprint "
					 "FROM commitopt.tenant_data_keys ORDER BY tenant_id FOR UPDATE",
					 false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read tenant data keys: %d", rc);
	{
		SPITupleTable *tt = SPI_tuptable;
		uint64		n = SPI_processed;

		for (uint64 i = 0; i < n; i++)
		{
			char	   *tenant = SPI_getvalue(tt->vals[i], tt->tupdesc, 1);
			bool		isnull;
			bytea	   *wrapped = DatumGetByteaPP(SPI_getbinval(tt->vals[i], tt->tupdesc, 2, &isnull));
			char	   *fp = SPI_getvalue(tt->vals[i], tt->tupdesc, 3);
			unsigned char *dk;
			size_t		dk_len;
			Oid			types[3] = {BYTEAOID, TEXTOID, TEXTOID};
			Datum		args[3];

			if (strcmp(fp, new_fp) == 0)
				continue;		/* already rotated by an earlier attempt */
			if (strcmp(fp, old_fp) != 0 ||
				!gcm_open(old_key, wrap_aad(tenant), wrapped, &dk, &dk_len) ||
				dk_len != KEY_LEN)
			{
				explicit_bzero(old_key, KEY_LEN);
				explicit_bzero(new_key, KEY_LEN);
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("data key of tenant %s cannot be unwrapped with the configured master key %s",
								tenant, old_fp)));
			}
			args[0] = PointerGetDatum(gcm_seal(new_key, wrap_aad(tenant), dk, KEY_LEN));
			explicit_bzero(dk, KEY_LEN);
			args[1] = CStringGetTextDatum(new_fp);
			args[2] = CStringGetTextDatum(tenant);
			rc = SPI_execute_with_args("UPDATE commitopt.tenant_data_keys "
									   "SET wrapped_key = $1, master_fingerprint = $2, "
									   "rotated_at = now() WHERE tenant_id = $3::uuid",
									   3, types, args, NULL, false, 0);
			if (rc != SPI_OK_UPDATE)
				elog(ERROR, "could not store a re-wrapped data key: %d", rc);
			count++;
		}
	}
	SPI_finish();
	explicit_bzero(old_key, KEY_LEN);
	explicit_bzero(new_key, KEY_LEN);
	PG_RETURN_INT32(count);
}

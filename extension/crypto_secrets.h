/*-------------------------------------------------------------------------
 *
 * crypto_secrets.h
 *	  Secrets at rest: AES-256-GCM under per-tenant data keys.
 *
 * extension/crypto_secrets.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef COMMITOPT_CRYPTO_SECRETS_H
#define COMMITOPT_CRYPTO_SECRETS_H

#include "postgres.h"

extern bytea *secret_encrypt(const char *tenant, const char *table,
							 const char *column, const char *row_key,
							 const char *plain, size_t plain_len);
extern char *secret_decrypt(const char *tenant, const char *table,
							const char *column, const char *row_key,
							bytea *cipher);

#endif							/* COMMITOPT_CRYPTO_SECRETS_H */

/*
 * tls.c: TLS settings, certificate loading and reloading.
 *
 * Protocols and ciphers follow Mozilla's "intermediate" profile: TLS 1.2
 * and 1.3 only; for 1.2 only ECDHE key exchange with AEAD ciphers
 * (AES-GCM, ChaCha20-Poly1305), so every session is forward secret; the
 * client's cipher order is honoured (all listed suites are strong).  The
 * profile's DHE suites are left out: they add nothing for current clients
 * and would need DH parameters.  Renegotiation and compression are off.
 * XXX: no OCSP stapling; session tickets use OpenSSL's default rotating key.
 *
 * Reload (SIGHUP) builds a complete new context and swaps it in only if the
 * certificate and key load and match; connections that are already open
 * keep a reference to the context they started with (OpenSSL counts
 * references), so nothing is dropped.
 */
#include "tls.h"

#include <openssl/err.h>

#include "log.h"

static SSL_CTX *current_ctx;

#define GW_TLS12_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define GW_TLS13_SUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* Logs OpenSSL's queued errors after what, and clears the queue. */
static void
log_ssl_errors(const char *what)
{
	unsigned long e;
	char		buf[256];
	int			any = 0;

	while ((e = ERR_get_error()) != 0)
	{
		ERR_error_string_n(e, buf, sizeof(buf));
		gw_log("error", "%s: %s", what, buf);
		any = 1;
	}
	if (!any)
		gw_log("error", "%s", what);
}

/* A new server context with our settings and the given key pair. */
static SSL_CTX *
make_ctx(const char *cert_file, const char *key_file)
{
	SSL_CTX    *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
	{
		log_ssl_errors("could not create TLS context");
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
		!SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
		!SSL_CTX_set_cipher_list(ctx, GW_TLS12_CIPHERS) ||
		!SSL_CTX_set_ciphersuites(ctx, GW_TLS13_SUITES) ||
		!SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384"))
	{
		log_ssl_errors("could not apply TLS settings");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
						SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
	{
		log_ssl_errors("could not load certificate file");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
		SSL_CTX_check_private_key(ctx) != 1)
	{
		log_ssl_errors("could not load private key file (or it does not match the certificate)");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Loads the first context; -1 if the files are unusable. */
int
gw_tls_init(const char *cert_file, const char *key_file)
{
	current_ctx = make_ctx(cert_file, key_file);
	return current_ctx ? 0 : -1;
}

/* Re-reads certificate and key; keeps the old context on failure. */
int
gw_tls_reload(const char *cert_file, const char *key_file)
{
	SSL_CTX    *ctx = make_ctx(cert_file, key_file);

	if (ctx == NULL)
	{
		gw_log("warning", "TLS reload failed; keeping the previous certificate");
		return -1;
	}
	SSL_CTX_free(current_ctx);	/* open connections hold their own ref */
	current_ctx = ctx;
	gw_log("info", "TLS certificate reloaded");
	return 0;
}

/* A server-side SSL object for one new connection. */
SSL *
gw_tls_new_ssl(void)
{
	return SSL_new(current_ctx);
}

void
gw_tls_shutdown(void)
{
	SSL_CTX_free(current_ctx);
	current_ctx = NULL;
}

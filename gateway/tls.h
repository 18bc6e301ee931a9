/*
 * tls.h: the gateway's TLS server context.
 */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <openssl/ssl.h>

extern int	gw_tls_init(const char *cert_file, const char *key_file);
extern int	gw_tls_reload(const char *cert_file, const char *key_file);
extern SSL *gw_tls_new_ssl(void);
extern void gw_tls_shutdown(void);

#endif

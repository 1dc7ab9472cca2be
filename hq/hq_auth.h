/* hq_auth — credentials: bearer tokens (made here, stored only as their
 * SHA-256) and the identity in a verified client certificate. */
#ifndef HQ_AUTH_H
#define HQ_AUTH_H

#include <stddef.h>

#define HQ_TOKEN_MAX 256        /* bytes of a bearer token we accept */
#define HQ_NAMES_MAX 16         /* CN + DNS SANs kept from a certificate */
#define HQ_NAME_LEN  128

/* A fresh token: "pahq_" + 43 base64url characters (256 random bits). */
int hq_auth_token_new(char out[64]);
/* Lowercase hex SHA-256 of token into hex[65]. Tokens are random, so a
 * plain hash suffices: nothing to guess from it. */
int hq_auth_hash(const char *token, char hex[65]);
/* Constant-time equality of two hex hashes. */
int hq_auth_hash_eq(const char *a, const char *b);

/* The names a client certificate vouches for: its subject CN and its DNS
 * SANs, only when the chain verified against the client CA and the
 * certificate may authenticate a TLS client. tls_session is the GnuTLS
 * session (libmicrohttpd's). *n = 0 when no certificate or not verified;
 * *why says which. */
struct hq_cert_names {
	int n;
	char name[HQ_NAMES_MAX][HQ_NAME_LEN];
	const char *why;        /* static text when n == 0 */
};
void hq_auth_cert_names(void *tls_session, struct hq_cert_names *out);

/* Behind a TLS-terminating proxy (serve --behind-proxy): the proxy's
 * verdict (nginx $ssl_client_verify: "SUCCESS" when the chain verified
 * against its client CA) and the certificate (nginx
 * $ssl_client_escaped_cert: URL-escaped PEM). Names as above, when the
 * verdict is SUCCESS and the certificate may authenticate a TLS client. */
#define HQ_PROXY_CERT_MAX (16 * 1024)
void hq_auth_cert_names_proxy(const char *verify, const char *escaped_pem,
    struct hq_cert_names *out);

/* Token from "Authorization: Bearer T" into tok; 0 when absent/malformed. */
int hq_auth_bearer(const char *header, char tok[HQ_TOKEN_MAX + 1]);

#endif

/* hq_auth — see hq_auth.h. GnuTLS is the TLS of libmicrohttpd; its hash
 * and random functions serve here too, so posagent-hq loads one TLS
 * library. */
#include "hq/hq_auth.h"

#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "hal/pa_err.h"

int
hq_auth_token_new(char out[64])
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[33];
	size_t i, o = 5;

	if (gnutls_rnd(GNUTLS_RND_KEY, raw, 32) != 0)
		return pa_err_set(PA_EIO, "no random bytes for a token");
	raw[32] = 0;
	memcpy(out, "pahq_", 5);
	/* 32 bytes -> 43 characters (the last group holds 2 bytes). */
	for (i = 0; i < 33; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 |
		    (i + 2 < 33 ? raw[i + 2] : 0);
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		if (i + 3 < 33)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return PA_OK;
}

int
hq_auth_hash(const char *token, char hex[65])
{
	static const char hx[] = "0123456789abcdef";
	unsigned char d[32];
	int i;

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, strlen(token), d) != 0)
		return pa_err_set(PA_EINTERNAL, "SHA-256 unavailable");
	for (i = 0; i < 32; i++) {
		hex[2 * i] = hx[d[i] >> 4];
		hex[2 * i + 1] = hx[d[i] & 15];
	}
	hex[64] = '\0';
	return PA_OK;
}

int
hq_auth_hash_eq(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t i;

	if (strlen(a) != 64 || strlen(b) != 64)
		return 0;
	for (i = 0; i < 64; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

int
hq_auth_bearer(const char *h, char tok[HQ_TOKEN_MAX + 1])
{
	size_t n;

	tok[0] = '\0';
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	n = strlen(h);
	while (n > 0 && h[n - 1] == ' ')
		n--;
	if (n == 0 || n > HQ_TOKEN_MAX)
		return 0;
	memcpy(tok, h, n);
	tok[n] = '\0';
	return 1;
}

static void
add_name(struct hq_cert_names *o, const char *s, size_t n)
{
	if (o->n == HQ_NAMES_MAX || n == 0 || n >= HQ_NAME_LEN ||
	    memchr(s, '\0', n) != NULL)
		return; /* an embedded NUL would let "a\0b" pass as "a" */
	memcpy(o->name[o->n], s, n);
	o->name[o->n][n] = '\0';
	o->n++;
}

void
hq_auth_cert_names(void *tls_session, struct hq_cert_names *out)
{
	gnutls_session_t s = tls_session;
	gnutls_typed_vdata_st purpose = { GNUTLS_DT_KEY_PURPOSE_OID,
	    (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0 };
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t crt = NULL;
	unsigned status = 0, nchain = 0, i, crit;
	char buf[HQ_NAME_LEN];
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	out->why = "no client certificate";
	if (s == NULL)
		return;
	chain = gnutls_certificate_get_peers(s, &nchain);
	if (chain == NULL || nchain == 0)
		return;
	/* The chain to the client CA, validity dates, and the clientAuth
	 * purpose: a store's server certificate is no client identity. */
	if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) != 0 ||
	    status != 0) {
		out->why = "client certificate not trusted by the client CA "
		    "(or expired, or not for TLS clients)";
		return;
	}
	if (gnutls_x509_crt_init(&crt) != 0)
		return;
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) != 0) {
		out->why = "client certificate unreadable";
		goto out;
	}
	len = sizeof(buf);
	if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
	    buf, &len) == 0)
		add_name(out, buf, strnlen(buf, len));
	for (i = 0; i < 64; i++) {
		len = sizeof(buf);
		r = gnutls_x509_crt_get_subject_alt_name(crt, i, buf, &len, &crit);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r == GNUTLS_SAN_DNSNAME)
			add_name(out, buf, len);
	}
	if (out->n == 0)
		out->why = "client certificate names no CN or DNS name";
out:
	gnutls_x509_crt_deinit(crt);
}

/* hq_auth — see hq_auth.h. GnuTLS is the TLS of libmicrohttpd; its hash
 * and random functions serve here too, so posagent-hq loads one TLS
 * library. */
#include "hq/hq_auth.h"

#include <stdio.h>
#include <stdlib.h>
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

/* Subject CN and DNS SANs of crt. */
static void
names_of(gnutls_x509_crt_t crt, struct hq_cert_names *out)
{
	char buf[HQ_NAME_LEN];
	unsigned i, crit;
	size_t len;
	int r;

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
}

/* Does crt allow TLS client authentication? No extended key usage at all
 * allows every use (RFC 5280 4.2.1.12). */
static int
client_purpose(gnutls_x509_crt_t crt)
{
	char oid[128];
	size_t len;
	unsigned i;
	int r;

	for (i = 0; i < 32; i++) {
		len = sizeof(oid);
		r = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &len, NULL);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			return i == 0;
		if (r == 0 && (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0 ||
		    strcmp(oid, GNUTLS_KP_ANY) == 0))
			return 1;
		if (r != 0)
			return 0;
	}
	return 0;
}

/* %XX-decode s into out (cap bytes); 0 when it does not fit or is bad. */
static size_t
unescape(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	for (; *s; s++) {
		if (n + 1 >= cap)
			return 0;
		if (*s == '%') {
			if (!s[1] || !s[2] || sscanf(s + 1, "%2x", &v) != 1)
				return 0;
			out[n++] = (char)v;
			s += 2;
		} else {
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	return n;
}

void
hq_auth_cert_names_proxy(const char *verify, const char *escaped,
    struct hq_cert_names *out)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t d;
	char *pem = NULL;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->why = "no client certificate";
	if (verify == NULL || escaped == NULL || escaped[0] == '\0')
		return;
	/* nginx's $ssl_client_verify: SUCCESS, FAILED:reason or NONE. */
	if (strcmp(verify, "SUCCESS") != 0) {
		if (strncmp(verify, "FAILED", 6) == 0)
			out->why = "client certificate refused by the proxy";
		return;
	}
	if (strlen(escaped) >= HQ_PROXY_CERT_MAX || (pem = malloc(HQ_PROXY_CERT_MAX)) ==
	    NULL)
		return;
	if ((n = unescape(escaped, pem, HQ_PROXY_CERT_MAX)) == 0 ||
	    gnutls_x509_crt_init(&crt) != 0)
		goto out;
	d.data = (unsigned char *)pem;
	d.size = (unsigned)n;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) != 0) {
		out->why = "client certificate from the proxy unreadable";
		goto out;
	}
	if (!client_purpose(crt)) {
		out->why = "client certificate not for TLS clients";
		goto out;
	}
	names_of(crt, out);
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	free(pem);
}

void
hq_auth_cert_names(void *tls_session, struct hq_cert_names *out)
{
	gnutls_session_t s = tls_session;
	gnutls_typed_vdata_st purpose = { GNUTLS_DT_KEY_PURPOSE_OID,
	    (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0 };
	const gnutls_datum_t *chain;
	gnutls_x509_crt_t crt = NULL;
	unsigned status = 0, nchain = 0;

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
	if (gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) != 0)
		out->why = "client certificate unreadable";
	else
		names_of(crt, out);
	gnutls_x509_crt_deinit(crt);
}

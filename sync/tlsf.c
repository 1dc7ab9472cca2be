#include "sync/tlsf.h"

#include <stdio.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "hal/pa_err.h"

static const char *
why(int mrc, char buf[160])
{
	mbedtls_strerror(mrc, buf, 160);
	return buf;
}

/* Expired or not yet valid: mbedTLS itself refuses such a chain in the
 * handshake, so say it now with the dates. */
static int
validity(const mbedtls_x509_crt *c, const char *what, const char *path)
{
	if (mbedtls_x509_time_is_past(&c->valid_to))
		return pa_err_set(PA_ECONFIG, "%s %s: a certificate expired on "
		    "%04d-%02d-%02d", what, path, c->valid_to.year, c->valid_to.mon,
		    c->valid_to.day);
	if (mbedtls_x509_time_is_future(&c->valid_from))
		return pa_err_set(PA_ECONFIG, "%s %s: a certificate is not valid "
		    "before %04d-%02d-%02d (is the clock right?)", what, path,
		    c->valid_from.year, c->valid_from.mon, c->valid_from.day);
	return PA_OK;
}

int
tlsf_check_ca(const char *path)
{
	mbedtls_x509_crt crt;
	const mbedtls_x509_crt *c;
	char buf[160];
	int mrc, rc = PA_OK;

	mbedtls_x509_crt_init(&crt);
	/* > 0: that many certificates of the bundle did not parse. */
	if ((mrc = mbedtls_x509_crt_parse_file(&crt, path)) != 0) {
		rc = pa_err_set(PA_ECONFIG, "[hq] ca_file %s: %s", path, mrc > 0 ?
		    "some certificates in it do not parse" : why(mrc, buf));
		goto out;
	}
	for (c = &crt; c != NULL && c->raw.len > 0; c = c->next)
		if ((rc = validity(c, "[hq] ca_file", path)) != PA_OK)
			goto out;
out:
	mbedtls_x509_crt_free(&crt);
	return rc;
}

int
tlsf_check_pair(const char *cert_path, const char *key_path)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	/* mbedTLS 3 blinds private-key operations (parsing checks, the pair
	 * check) with a random generator. */
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	char buf[160];
	int mrc, rc = PA_OK;

	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	if ((mrc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent,
	    NULL, 0)) != 0) {
		rc = pa_err_set(PA_EINTERNAL, "random generator: %s", why(mrc, buf));
		goto out;
	}
	if ((mrc = mbedtls_x509_crt_parse_file(&crt, cert_path)) != 0) {
		rc = pa_err_set(PA_ECONFIG, "[hq] cert_file %s: %s", cert_path,
		    mrc > 0 ? "it does not parse as a certificate" : why(mrc, buf));
		goto out;
	}
	if ((rc = validity(&crt, "[hq] cert_file", cert_path)) != PA_OK)
		goto out;
	if ((mrc = mbedtls_pk_parse_keyfile(&key, key_path, NULL,
	    mbedtls_ctr_drbg_random, &drbg)) != 0) {
		rc = pa_err_set(PA_ECONFIG, "[hq] key_file %s: %s (an unencrypted "
		    "PEM key is expected)", key_path, why(mrc, buf));
		goto out;
	}
	/* The first certificate of cert_file is ours; the rest is its chain. */
	if ((mrc = mbedtls_pk_check_pair(&crt.pk, &key,
	    mbedtls_ctr_drbg_random, &drbg)) != 0) {
		rc = pa_err_set(PA_ECONFIG, "[hq] key_file %s is not the key of "
		    "cert_file %s", key_path, cert_path);
		goto out;
	}
out:
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return rc;
}

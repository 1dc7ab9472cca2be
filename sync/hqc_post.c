/* hqc_post — HQ HTTPS client (see hqc.h): one request, its answer, and
 * what a failed transfer means (the TLS handshake probe says why libcurl's
 * one line of text does not). The handle itself: hqc.c. */
#include "sync/hqc_int.h"

#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <mbedtls/x509.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "sync/tlsprobe.h"

size_t
hqc__on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	hqc *c = arg;
	size_t n = size * nmemb;

	if (c->body_len + n > HQC_MAX_RESPONSE_BYTES) {
		c->truncated = 1;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	memcpy(c->body + c->body_len, p, n);
	c->body_len += n;
	c->body[c->body_len] = '\0';
	return n;
}

/* A second handshake, alone, with the same settings (tlsprobe.h): libcurl
 * keeps what went wrong to a line of text. wait_alert: also wait for an
 * alert after the handshake (TLS 1.3 servers judge client certificates
 * then). */
static int
probe(hqc *c, int wait_alert, struct tlsp_result *pr)
{
	struct tlsp_cfg pc;

	pc.host = c->host;
	pc.port = c->port;
	pc.ca_file = c->ca_file;
	pc.cert_file = c->cert_file;
	pc.key_file = c->key_file;
	pc.timeout_ms = c->timeout_ms;
	pc.wait_alert = wait_alert;
	return tlsp_run(&pc, pr);
}

static int
tls_verify_failed(hqc *c, CURLcode cc, struct hqc_resp *r)
{
	struct tlsp_result pr;
	uint32_t f;

	r->transport = RT_T_TLS_VERIFY;
	if (cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		return pa_err_set(PA_ETLS, "HQ %s: TLS: public key does not match "
		    "pin ([hq] pin): refusing to talk to this server", c->base);
	/* libcurl's mbedTLS backend turns the verification flags into words
	 * (and never into CURLINFO_SSL_VERIFYRESULT); the probe reads the
	 * flags themselves. */
	if (probe(c, 0, &pr) != PA_OK)
		return PA_ENOMEM;
	f = pr.verify_flags;
	if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH)
		return pa_err_set(PA_ETLS, "HQ %s: TLS: certificate is for another "
		    "host (the name or address in [hq] url is not in HQ's "
		    "certificate)", c->base);
	if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		return pa_err_set(PA_ETLS, "HQ %s: TLS: certificate not trusted by "
		    "ca_file %s", c->base, c->ca_file);
	if (f & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
		return pa_err_set(PA_ETLS, "HQ %s: TLS: certificate expired or not "
		    "yet valid (check this terminal's clock)", c->base);
	return pa_err_set(PA_ETLS, "HQ %s: TLS: certificate refused: %s",
	    c->base, c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
}

/* libcurl says only that the handshake failed; the probe says with which
 * alert, at which version, about which certificate. only_alert: a send or
 * receive error after the handshake, which is TLS's doing only if HQ sent
 * an alert (otherwise a reset). */
static int
handshake_failed(hqc *c, const char *why, int only_alert,
    struct hqc_resp *r)
{
	struct tlsp_result pr;
	char msg[400];

	if (probe(c, 1, &pr) != PA_OK)
		return PA_ENOMEM;
	if (only_alert && !(pr.ran && pr.alert >= 0)) {
		r->transport = RT_T_RESET;
		return pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s: connection failed: "
		    "%s", c->base, why);
	}
	r->transport = RT_T_HANDSHAKE;
	if (!pr.ran)
		return pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s: TLS handshake failed "
		    "(%s)", c->base, why);
	tlsp_explain(&pr, c->cert_file[0] != '\0', msg, sizeof(msg));
	return pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s: %s", c->base, msg);
}

/* Map a failed transfer to a transport class and a PA code. The rule
 * (issue #9): only what a person must fix in our own configuration is
 * PA_ECONFIG, which ends the sync loop; everything the network or HQ can
 * say, however malformed, is transient (back off, retry), because HQ or the
 * path to it may be healthy again a minute later. The URL's scheme and
 * syntax were checked at load (hqc_check_url), so curl codes about them at
 * send time describe the answer, not our URL. */
static int
classify(hqc *c, CURLcode cc, struct hqc_resp *r)
{
	const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_OUT_OF_MEMORY:
		r->transport = RT_T_RESET;
		return PA_ENOMEM;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		r->transport = RT_T_CONNECT;
		return pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s: cannot connect: %s",
		    c->base, why);
	case CURLE_OPERATION_TIMEDOUT:
		r->transport = RT_T_TIMEOUT;
		return pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s: timed out: %s",
		    c->base, why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
		/* Long backoff, not the end of the loop: HQ may be mid-way
		 * through a certificate renewal, or a middlebox intercepts. */
		return tls_verify_failed(c, cc, r);
	/* Our own files and build: retrying cannot fix them. */
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CRL_BADFILE:
		r->transport = RT_T_CONFIG;
		return pa_err_set(PA_ECONFIG, "[hq] ca_file %s cannot be loaded: %s",
		    c->ca_file, why);
	case CURLE_SSL_CERTPROBLEM:
		r->transport = RT_T_CONFIG;
		return pa_err_set(PA_ECONFIG, "[hq] cert_file/key_file cannot be "
		    "loaded: %s", why);
	case CURLE_URL_MALFORMAT: /* cannot happen: hqc_check_url passed */
		r->transport = RT_T_CONFIG;
		return pa_err_set(PA_ECONFIG, "HQ %s: %s", c->base, why);
	case CURLE_FAILED_INIT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_FUNCTION_NOT_FOUND:
		r->transport = RT_T_CONFIG; /* cannot happen in a tested build */
		return pa_err_set(PA_EINTERNAL, "HQ %s: libcurl cannot send: %s",
		    c->base, why);
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* With the scheme checked at load, this is an answer that is
		 * not HTTP/1.x ("Received HTTP/0.9 when not allowed"). */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_RANGE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		r->transport = RT_T_BAD_ANSWER;
		return pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s: malformed answer "
		    "(not HTTP as expected): %s; retrying", c->base, why);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CLIENTCERT:
		return handshake_failed(c, why, 0, r);
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		/* A TLS 1.3 server refuses a client certificate (or its absence)
		 * after the handshake: libcurl sees the alert on its first read,
		 * or a broken pipe on its first write. Only the probe can tell
		 * that from a reset. */
		if (c->https)
			return handshake_failed(c, why, 1, r);
		r->transport = RT_T_RESET;
		return pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s: connection failed: %s",
		    c->base, why);
	default:
		/* Reset, closed mid-answer, nothing received, send/receive
		 * errors, anything newer: the network's doing, transient. */
		r->transport = RT_T_RESET;
		return pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s: connection failed: %s",
		    c->base, why);
	}
}

/* Retry-After of the last response (libcurl keeps its headers; request -1
 * is the last one, so a 100 Continue's headers never count). Not
 * CURLINFO_RETRY_AFTER: its 0 cannot tell "absent" from "0", and it reads
 * the wall clock where the syncer passes its own. */
static void
retry_after(hqc *c, int64_t now_ms, struct hqc_resp *r)
{
	struct curl_header *h = NULL;

	if (curl_easy_header(c->curl, "Retry-After", 0, CURLH_HEADER, -1, &h) !=
	    CURLHE_OK || h == NULL || strlen(h->value) > HQC_MAX_RETRY_AFTER)
		return;
	if (rt_retry_after(h->value, now_ms, &r->retry_after_ms) != PA_OK)
		r->retry_after_ms = -1;
}

int
hqc_post(hqc *c, enum hqc_endpoint ep, const char *body, size_t len,
    int64_t now_ms, struct hqc_resp *r)
{
	CURLcode cc;
	long status = 0, nconn = 0;
	int rc = PA_OK;

	memset(r, 0, sizeof(*r));
	r->retry_after_ms = -1;
	c->errbuf[0] = '\0';
	c->body[0] = '\0';
	c->body_len = 0;
	c->truncated = 0;
	if ((cc = curl_easy_setopt(c->curl, CURLOPT_URL, ep == HQC_EVENTS ?
	    c->url_events : c->url_heartbeat)) != CURLE_OK ||
	    (cc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body)) !=
	    CURLE_OK ||
	    (cc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len)) != CURLE_OK)
		return cc == CURLE_OUT_OF_MEMORY ? PA_ENOMEM :
		    pa_err_set(PA_EINTERNAL, "libcurl refused the request");
	cc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
		c->connects += nconn;
	r->status = status;
	r->body = c->body;
	r->body_len = c->body_len;
	r->truncated = c->truncated;
	retry_after(c, now_ms, r);
	if (cc == CURLE_WRITE_ERROR && c->truncated && status > 0) {
		/* We stopped reading an oversized answer. Its status still says
		 * what happened; a 2xx whose body we could not read is not an
		 * answer we can trust. */
		if (status >= 200 && status <= 299) {
			r->transport = RT_T_BAD_ANSWER;
			return pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s: answer larger "
			    "than %d bytes", c->base, HQC_MAX_RESPONSE_BYTES);
		}
		r->transport = RT_T_OK;
		return PA_OK;
	}
	if (cc != CURLE_OK)
		return classify(c, cc, r);
	r->transport = RT_T_OK;
	return rc;
}

int
hqc_parse_ack(const char *body, size_t len, long long *ack)
{
	json_error_t jerr;
	json_t *doc = NULL, *a;
	unsigned long nofail;
	int rc = PA_OK;

	*ack = -1;
	if (len > HQC_MAX_RESPONSE_BYTES)
		return pa_err_set(PA_EPROTO, "answer larger than %d bytes",
		    HQC_MAX_RESPONSE_BYTES);
	nofail = pa_mem_failures();
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	/* Not HQ's fault: jansson reports some allocation failures as bad
	 * JSON ("invalid token"), or with no text at all. */
	if (doc == NULL && pa_mem_failures() != nofail) {
		rc = PA_ENOMEM;
		goto out;
	}
	if (doc == NULL) {
		rc = pa_err_set(PA_EPROTO, "answer is not JSON: %s "
		    "(line %d col %d)", jerr.text, jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(doc)) {
		rc = pa_err_set(PA_EPROTO, "answer is not a JSON object");
		goto out;
	}
	a = json_object_get(doc, "ack");
	if (a == NULL || !json_is_integer(a) || json_integer_value(a) < 0) {
		rc = pa_err_set(PA_EPROTO, "answer has no \"ack\" integer >= 0");
		goto out;
	}
	*ack = (long long)json_integer_value(a);
out:
	json_decref(doc);
	return rc;
}

long
hqc_connects(const hqc *c)
{
	return c ? c->connects : 0;
}

/* hqc — HQ HTTPS client (see hqc.h). */
#include "sync/hqc.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <mbedtls/x509.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "sync/tlsprobe.h"

#ifndef PA_VERSION
#define PA_VERSION "0.0.0"
#endif

struct hqc {
	CURL *curl;
	struct curl_slist *headers;     /* holds the bearer token */
	char url_events[1024];
	char url_heartbeat[1024];
	char base[512];                 /* for messages */
	char ca_file[512];
	/* For the handshake probe (tlsprobe.h) after a failure. */
	char host[256];
	char port[8];
	char cert_file[512];
	char key_file[512];
	long timeout_ms;
	int https;
	char errbuf[CURL_ERROR_SIZE];
	char body[HQC_MAX_RESPONSE_BYTES + 1];
	size_t body_len;
	int truncated;
	long connects;
	int global;                     /* curl_global_init succeeded */
};

/* --- configuration checks ------------------------------------------------ */

static int
host_is_loopback(const char *host)
{
	struct in_addr a4;
	char buf[64];

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return 1;
	if (strlen(host) >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%s", host);
	if (inet_pton(AF_INET, buf, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

int
hqc_check_url(const char *url)
{
	char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL,
	    *frag = NULL;
	CURLU *u = NULL;
	CURLUcode ue;
	int rc = PA_OK;

	if (url == NULL || url[0] == '\0')
		return pa_err_set(PA_ECONFIG, "[hq] url is empty: HQ sync is "
		    "disabled (set it to https://NAME:PORT)");
	if ((u = curl_url()) == NULL)
		return PA_ENOMEM;
	if ((ue = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK ||
	    (ue = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK ||
	    (ue = curl_url_get(u, CURLUPART_HOST, &host, 0)) != CURLUE_OK) {
		rc = ue == CURLUE_OUT_OF_MEMORY ? PA_ENOMEM : pa_err_set(PA_ECONFIG,
		    "[hq] url '%s' is not a valid URL (expected https://NAME:PORT)",
		    url);
		goto out;
	}
	/* The parts that must be absent; out of memory is not "absent". */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OUT_OF_MEMORY ||
	    curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OUT_OF_MEMORY ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) ==
	    CURLUE_OUT_OF_MEMORY) {
		rc = PA_ENOMEM;
		goto out;
	}
	if (user != NULL) {
		rc = pa_err_set(PA_ECONFIG, "[hq] url must not carry credentials: "
		    "use token_file or a client certificate");
		goto out;
	}
	if (query != NULL || frag != NULL) {
		rc = pa_err_set(PA_ECONFIG, "[hq] url '%s' must not have a query "
		    "or fragment", url);
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0)
		goto out;
	if (strcasecmp(scheme, "http") != 0) {
		rc = pa_err_set(PA_ECONFIG, "[hq] url '%s': scheme %s is not "
		    "supported, use https", url, scheme);
		goto out;
	}
	/* Plain HTTP would hand the token and the store's data to anyone on
	 * the path; only a loopback HQ (a local relay, tests) may use it. */
	if (!host_is_loopback(host))
		rc = pa_err_set(PA_ECONFIG, "[hq] url '%s': http:// is refused for "
		    "a non-loopback host (%s); use https://", url, host);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
	return rc;
}

/* "sha256//BASE64[;sha256//BASE64...]" as libcurl accepts it. */
static int
pin_ok(const char *pin)
{
	const char *p = pin;

	for (;;) {
		size_t n = 0;

		if (strncmp(p, "sha256//", 8) != 0)
			return 0;
		p += 8;
		while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z') ||
		    (p[n] >= '0' && p[n] <= '9') || p[n] == '+' || p[n] == '/' ||
		    p[n] == '=')
			n++;
		/* A SHA-256 in base64 is 44 characters. */
		if (n != 44)
			return 0;
		p += n;
		if (*p == '\0')
			return 1;
		if (*p != ';')
			return 0;
		p++;
	}
}

static int
agent_id_ok(const char *id)
{
	size_t i;

	for (i = 0; id[i]; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return 0;
	}
	return i > 0 && i < 128;
}

/* Read the bearer token and build the request headers. */
static int
build_headers(hqc *c, const char *token_file)
{
	char tok[HQC_MAX_TOKEN_BYTES + 1];
	char hdr[sizeof(tok) + 32];
	struct curl_slist *l;
	size_t len = 0, i;
	int rc = PA_OK;

	tok[0] = '\0';
	hdr[0] = '\0';
	if (token_file[0]) {
		if ((rc = hal_read_secret(token_file, tok, sizeof(tok), &len)) !=
		    PA_OK) {
			rc = pa_err_wrap(rc == PA_ENOTFOUND ? PA_ECONFIG : rc,
			    "[hq] token_file: ");
			goto out;
		}
		while (len > 0 && (tok[len - 1] == '\n' || tok[len - 1] == '\r' ||
		    tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			tok[--len] = '\0';
		/* RFC 6750 b64token: visible ASCII; anything else could split the
		 * header. The token itself never appears in a message. */
		for (i = 0; i < len; i++)
			if (tok[i] <= ' ' || tok[i] > '~')
				break;
		if (len == 0 || i < len) {
			rc = pa_err_set(PA_ECONFIG, "[hq] token_file %s: the token "
			    "must be one line of visible ASCII", token_file);
			goto out;
		}
	}
	l = curl_slist_append(c->headers, "Content-Type: application/json");
	if (l)
		c->headers = l;
	if (l && (l = curl_slist_append(c->headers, "Accept: application/json")))
		c->headers = l;
	/* No "100-continue" round trip before each batch. */
	if (l && (l = curl_slist_append(c->headers, "Expect:")))
		c->headers = l;
	if (l && len) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
		if ((l = curl_slist_append(c->headers, hdr)))
			c->headers = l;
	}
	if (l == NULL)
		rc = PA_ENOMEM;
out:
	explicit_bzero(tok, sizeof(tok));
	explicit_bzero(hdr, sizeof(hdr));
	return rc;
}

/* --- libcurl callbacks --------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
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

/* Say what is wrong with the CA bundle before mbedTLS does ("PK - Memory
 * allocation failed" for a directory, issue #9). Permission denied stays
 * PA_EACCESS (exit 77): the fix is a chmod, not the config. */
static int
check_ca_file(const char *path)
{
	int fd, rc;

	if ((rc = hal_open_regular(path, HQC_MAX_CA_BYTES, &fd)) == PA_OK) {
		close(fd);
		return PA_OK;
	}
	return pa_err_wrap(rc == PA_EACCESS ? rc : PA_ECONFIG, "[hq] ca_file "
	    "(the CA bundle, a PEM file): ");
}

/* --- open/close ---------------------------------------------------------- */

#define SETOPT(opt, val) do { \
	CURLcode e_ = curl_easy_setopt(c->curl, opt, val); \
	if (e_ != CURLE_OK) { \
		rc = e_ == CURLE_OUT_OF_MEMORY ? PA_ENOMEM : pa_err_set( \
		    PA_EINTERNAL, "libcurl refused option %s", #opt); \
		goto out; \
	} } while (0)

/* The URL's host and port (the scheme's default when absent), for the
 * probe. The URL passed hqc_check_url() already. */
static int
host_port(const char *url, hqc *c)
{
	CURLU *u = NULL;
	char *host = NULL, *port = NULL;
	int rc = PA_OK;

	if ((u = curl_url()) == NULL)
		return PA_ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK ||
	    (size_t)snprintf(c->host, sizeof(c->host), "%s", host) >=
	    sizeof(c->host) ||
	    (size_t)snprintf(c->port, sizeof(c->port), "%s", port) >=
	    sizeof(c->port))
		rc = pa_err_set(PA_ECONFIG, "[hq] url: cannot take host and port "
		    "from %s", url);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

int
hqc_open(const struct hq_config *cfg, const char *agent_id, hqc **out)
{
	hqc *c = NULL;
	size_t blen;
	int rc, https;

	*out = NULL;
	if ((rc = hqc_check_url(cfg->url)) != PA_OK)
		return rc;
	if (!agent_id_ok(agent_id))
		return pa_err_set(PA_ECONFIG, "[agent] id '%s' cannot go into an "
		    "HQ URL (letters, digits, '-', '_', '.')", agent_id);
	https = strncasecmp(cfg->url, "https:", 6) == 0;
	if (https && cfg->ca_file[0] == '\0')
		return pa_err_set(PA_ECONFIG, "[hq] ca_file is required for "
		    "https (the CA bundle that signed HQ's certificate)");
	if (cfg->ca_file[0] && (rc = check_ca_file(cfg->ca_file)) != PA_OK)
		return rc;
	if (!cfg->cert_file[0] != !cfg->key_file[0])
		return pa_err_set(PA_ECONFIG, "[hq] cert_file and key_file go "
		    "together (mTLS needs both)");
	if (cfg->key_file[0] && (rc = hal_check_secret_file(cfg->key_file)) !=
	    PA_OK)
		return pa_err_wrap(rc == PA_ENOTFOUND ? PA_ECONFIG : rc,
		    "[hq] key_file: ");
	if (cfg->pin[0] && !pin_ok(cfg->pin))
		return pa_err_set(PA_ECONFIG, "[hq] pin '%s' is not sha256//BASE64 "
		    "(44 characters of base64 after sha256//)", cfg->pin);

	if ((c = pa_calloc(1, sizeof(*c))) == NULL)
		return PA_ENOMEM;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		rc = pa_err_set(PA_EINTERNAL, "libcurl initialisation failed");
		goto out;
	}
	c->global = 1;
	snprintf(c->base, sizeof(c->base), "%s", cfg->url);
	blen = strlen(c->base);
	while (blen > 0 && c->base[blen - 1] == '/')
		c->base[--blen] = '\0';
	snprintf(c->ca_file, sizeof(c->ca_file), "%s", cfg->ca_file);
	snprintf(c->cert_file, sizeof(c->cert_file), "%s", cfg->cert_file);
	snprintf(c->key_file, sizeof(c->key_file), "%s", cfg->key_file);
	c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000L;
	c->https = https;
	if ((rc = host_port(cfg->url, c)) != PA_OK)
		goto out;
	if ((size_t)snprintf(c->url_events, sizeof(c->url_events),
	    "%s/api/v1/agents/%s/events", c->base, agent_id) >=
	    sizeof(c->url_events) ||
	    (size_t)snprintf(c->url_heartbeat, sizeof(c->url_heartbeat),
	    "%s/api/v1/agents/%s/heartbeat", c->base, agent_id) >=
	    sizeof(c->url_heartbeat)) {
		rc = pa_err_set(PA_ECONFIG, "[hq] url is too long");
		goto out;
	}
	if ((rc = build_headers(c, cfg->token_file)) != PA_OK)
		goto out;
	if ((c->curl = curl_easy_init()) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	SETOPT(CURLOPT_PROTOCOLS_STR, https ? "https" : "http");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_ERRORBUFFER, c->errbuf);
	SETOPT(CURLOPT_HTTPHEADER, c->headers);
	SETOPT(CURLOPT_USERAGENT, "posagent/" PA_VERSION);
	SETOPT(CURLOPT_TIMEOUT_MS, cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000L);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, c);
	SETOPT(CURLOPT_POST, 1L);
	/* Verification is never optional (DESIGN §7). */
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (cfg->ca_file[0])
		SETOPT(CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->cert_file[0]) {
		SETOPT(CURLOPT_SSLCERT, cfg->cert_file);
		SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
		SETOPT(CURLOPT_SSLKEY, cfg->key_file);
		SETOPT(CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (cfg->pin[0])
		SETOPT(CURLOPT_PINNEDPUBLICKEY, cfg->pin);
	*out = c;
	c = NULL; /* transferred */
out:
	hqc_close(c);
	return rc;
}

void
hqc_close(hqc *c)
{
	struct curl_slist *l;

	if (c == NULL)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	/* The Authorization header holds the token: wipe before freeing. */
	for (l = c->headers; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(c->headers);
	if (c->global)
		curl_global_cleanup();
	pa_free(c);
}

/* --- requests ------------------------------------------------------------ */

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

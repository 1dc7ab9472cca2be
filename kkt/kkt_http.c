/* kkt_http — the one HTTP client of kkt/: libcurl (static, over mbedTLS,
 * built by toolchain/), a bounded response buffer, a hard time budget.
 *
 * Decisions:
 *  - curl_global_init() runs once per process, lazily, under pthread_once,
 *    from the first kkt__http_open(). libcurl reference-counts global init,
 *    so sync/ (which also uses libcurl) may pair curl_global_init() and
 *    curl_global_cleanup() itself: the reference kkt/ keeps for the process
 *    lifetime means libcurl is never torn down under a running check. The
 *    libcurl built by toolchain/ (7.88) reports CURL_VERSION_THREADSAFE,
 *    so the two may initialise concurrently from different threads.
 *  - No proxy, ever (CURLOPT_PROXY ""): the adapter lives on loopback or the
 *    store LAN. A terminal whose environment sets http_proxy/HTTPS_PROXY (for
 *    HQ through a corporate proxy) must still reach its adapter directly;
 *    sending fiscal state through a proxy would only add a way to fail.
 *  - http:// and https:// only, no redirects (a 3xx is an HTTP error):
 *    CURLOPT_PROTOCOLS_STR / CURLOPT_REDIR_PROTOCOLS_STR as defence in depth
 *    beside kkt__url_check().
 *  - URLs are parsed and joined by libcurl's own URL API (CURLU), the
 *    parser that will also read them when the request is made, so a check
 *    can never pass a URL that libcurl then reads differently.
 *  - https:// keeps libcurl's peer and host verification on. libcurl is
 *    built without a CA bundle and [kkt] has no ca_file, so an https adapter
 *    with a private certificate fails closed; adapters listen on plain http
 *    on loopback in practice.
 *  - CURLOPT_NOSIGNAL: the daemon is multi-threaded and owns its signals.
 *  - [kkt] user / password_file: HTTP Basic authentication on every request
 *    (ATOL web servers are often protected so; the clients of it in public
 *    code send them with each /api/v2/requests call). The password is read
 *    at each check from its mode-600 file, handed to libcurl (which copies
 *    it) and wiped from our stack; it never appears in a message. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "kkt/kkt_int.h"

#define KKT_PASSWORD_MAX 256     /* bytes in [kkt] password_file */

#ifndef PA_VERSION
#define PA_VERSION "0.0.0"
#endif

struct kkt__http {
	CURL *curl;
	const struct kkt_config *cfg;   /* borrowed: base url */
	char url[sizeof(((struct kkt_config *)0)->url) + 128];  /* last request */
	struct curl_slist *hdr_get;
	struct curl_slist *hdr_post;
	char *buf;              /* KKT_RESP_MAX + 1 bytes */
	size_t len;
	int over;               /* the body went past KKT_RESP_MAX */
	char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct kkt__http *h = arg;
	size_t n = size * nmemb;

	/* size is always 1 for write callbacks (libcurl docs), so n cannot
	 * overflow; still refuse anything that would not fit. */
	if (n > KKT_RESP_MAX - h->len) {
		h->over = 1;
		return 0;       /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	memcpy(h->buf + h->len, data, n);
	h->len += n;
	return n;
}

void
kkt__http_close(struct kkt__http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->hdr_get);
	curl_slist_free_all(h->hdr_post);
	pa_free(h->buf);
	pa_free(h);
}

/* Basic authentication from [kkt] user and password_file. */
static int
set_credentials(struct kkt__http *h, const struct kkt_config *cfg)
{
	volatile char *wipe;
	char pw[KKT_PASSWORD_MAX + 1];
	size_t len = 0, i;
	CURLcode e;
	int rc;

	if ((rc = hal_read_secret(cfg->password_file, pw, sizeof(pw), &len)) !=
	    PA_OK) {
		rc = pa_err_wrap(rc == PA_ENOMEM ? rc : PA_ECONFIG,
		    "[kkt] password_file: ");
		goto out;
	}
	while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
		pw[--len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f)
			break;
	if (len == 0 || i < len) {
		rc = pa_err_set(PA_ECONFIG, "[kkt] password_file %s: the password "
		    "must be one line of text", cfg->password_file);
		goto out;
	}
	e = curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	if (e == CURLE_OK)
		e = curl_easy_setopt(h->curl, CURLOPT_USERNAME, cfg->user);
	if (e == CURLE_OK)
		e = curl_easy_setopt(h->curl, CURLOPT_PASSWORD, pw);
	rc = e == CURLE_OK ? PA_OK : e == CURLE_OUT_OF_MEMORY ? PA_ENOMEM :
	    pa_err_set(PA_EINTERNAL, "libcurl refused the credentials option: "
	    "%s", curl_easy_strerror(e));
out:
	for (wipe = pw, i = 0; i < sizeof(pw); i++)
		wipe[i] = '\0';
	return rc;
}

int
kkt__http_auth(const struct kkt_config *cfg, long status,
    struct kkt_status *st)
{
	if (status != 401 && status != 403)
		return PA_OK;
	if (cfg->user[0] == '\0')
		kkt__reason(st, "the KKT adapter wants credentials: set [kkt] user "
		    "and password_file (HTTP %ld from %s)", status, cfg->url);
	else
		kkt__reason(st, "the KKT adapter refused the credentials of [kkt] "
		    "user '%s' (HTTP %ld from %s): check the user and the password "
		    "in [kkt] password_file", cfg->user, status, cfg->url);
	return PA_EKKT_AUTH;
}

int
kkt__http_open(const struct kkt_config *cfg, struct kkt__http **out)
{
	struct kkt__http *h = NULL;
	struct curl_slist *l;
	int rc = PA_ENOMEM;

	*out = NULL;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		rc = pa_err_set(PA_EINTERNAL, "curl_global_init: %s",
		    curl_easy_strerror(global_rc));
		goto out;
	}
	if ((h = pa_calloc(1, sizeof(*h))) == NULL)
		goto out;
	h->cfg = cfg;
	if ((h->buf = pa_malloc(KKT_RESP_MAX + 1)) == NULL)
		goto out;
	if ((h->curl = curl_easy_init()) == NULL) {
		rc = pa_err_set(PA_EINTERNAL, "curl_easy_init failed");
		goto out;
	}
	if (cfg->user[0] != '\0' && (rc = set_credentials(h, cfg)) != PA_OK)
		goto out;
	rc = PA_ENOMEM;
	if ((l = curl_slist_append(NULL, "Accept: application/json")) == NULL)
		goto out;
	h->hdr_get = l;
	if ((l = curl_slist_append(NULL, "Accept: application/json")) == NULL)
		goto out;
	h->hdr_post = l;
	if ((l = curl_slist_append(h->hdr_post, "Content-Type: application/json")) == NULL)
		goto out;
	/* No "Expect: 100-continue" round trip for our tiny POST bodies. */
	if ((l = curl_slist_append(h->hdr_post, "Expect:")) == NULL)
		goto out;
	*out = h;
	h = NULL;       /* transferred */
	rc = PA_OK;
out:
	if (rc == PA_ENOMEM)
		pa_err_set(rc, "out of memory setting up the KKT HTTP client");
	kkt__http_close(h);
	return rc;
}

/* Options that never change between requests; any failure to apply one
 * (an old or oddly built libcurl) refuses rather than runs unprotected. */
static int
set_fixed_opts(struct kkt__http *h, long timeout_ms)
{
	CURL *c = h->curl;
	CURLcode e = CURLE_OK;

#define SET(opt, val) do { if (e == CURLE_OK) e = curl_easy_setopt(c, opt, val); } while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	SET(CURLOPT_TIMEOUT_MS, timeout_ms);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)KKT_RESP_MAX);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_USERAGENT, "posagent/" PA_VERSION);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, h);
	SET(CURLOPT_ERRORBUFFER, h->errbuf);
#undef SET
	if (e == CURLE_OUT_OF_MEMORY)
		return PA_ENOMEM;
	if (e != CURLE_OK)
		return pa_err_set(PA_EINTERNAL, "libcurl refused an option: %s",
		    curl_easy_strerror(e));
	return PA_OK;
}

static int
transport_error(CURLcode e, const struct kkt__http *h, const char *url,
    long timeout_ms)
{
	const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(e);

	switch (e) {
	case CURLE_OPERATION_TIMEDOUT:
		return pa_err_set(PA_ETIMEOUT,
		    "KKT adapter at %s did not answer within %ld ms "
		    "([kkt] timeout_ms); check that the adapter is running and "
		    "not hung", url, timeout_ms);
	case CURLE_COULDNT_CONNECT:
		return pa_err_set(PA_EKKT_UNREACHABLE,
		    "KKT adapter at %s unreachable (%s); check that the adapter "
		    "service is running and [kkt] url", url, detail);
	case CURLE_COULDNT_RESOLVE_HOST:
		return pa_err_set(PA_EKKT_UNREACHABLE,
		    "KKT adapter at %s unreachable: cannot resolve the host (%s); "
		    "check [kkt] url", url, detail);
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (h->over || e == CURLE_FILESIZE_EXCEEDED)
			return pa_err_set(PA_ELIMIT,
			    "KKT adapter at %s answered malformed JSON: the "
			    "answer exceeds %u bytes", url, KKT_RESP_MAX);
		break;
	default:
		break;
	}
	return pa_err_set(PA_EKKT_UNREACHABLE, "KKT adapter at %s unreachable: %s",
	    url, detail);
}

int
kkt__http_do(struct kkt__http *h, const char *method, const char *path,
    const char *json_body, long timeout_ms, long *status, const char **body,
    size_t *len)
{
	CURL *c = h->curl;
	const char *url = h->url;
	CURLcode e;
	int post = strcmp(method, "POST") == 0;
	int rc;

	*status = 0;
	*body = NULL;
	*len = 0;
	h->len = 0;
	h->over = 0;
	h->errbuf[0] = '\0';
	/* libcurl treats 0 as "no timeout": never hand it one. */
	if (timeout_ms < 1)
		timeout_ms = 1;
	if ((rc = kkt__url_join(h->url, sizeof(h->url), h->cfg->url, path)) != PA_OK)
		return rc;
	if ((rc = set_fixed_opts(h, timeout_ms)) != PA_OK)
		return rc;
	e = curl_easy_setopt(c, CURLOPT_URL, url);
	if (e == CURLE_OK && post) {
		e = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json_body));
		if (e == CURLE_OK)
			e = curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, json_body);
		if (e == CURLE_OK)
			e = curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdr_post);
	} else if (e == CURLE_OK) {
		e = curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		if (e == CURLE_OK)
			e = curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdr_get);
	}
	if (e != CURLE_OK)
		return pa_err_set(e == CURLE_OUT_OF_MEMORY ? PA_ENOMEM : PA_ECONFIG,
		    "KKT adapter URL %s refused by libcurl: %s", url,
		    curl_easy_strerror(e));
	if ((e = curl_easy_perform(c)) != CURLE_OK)
		return transport_error(e, h, url, timeout_ms);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	h->buf[h->len] = '\0';
	*body = h->buf;
	*len = h->len;
	return PA_OK;
}

/* libcurl's URL parser on url: PA_OK, PA_ENOMEM, or PA_ECONFIG when it is
 * not a URL libcurl (HTTP/HTTPS only, see toolchain/) can use. */
static int
url_parse(const char *url, CURLU **out)
{
	CURLUcode e;

	if ((*out = curl_url()) == NULL)
		return PA_ENOMEM;
	e = curl_url_set(*out, CURLUPART_URL, url, 0);
	if (e == CURLUE_OK)
		return PA_OK;
	curl_url_cleanup(*out);
	*out = NULL;
	return e == CURLUE_OUT_OF_MEMORY ? PA_ENOMEM : PA_ECONFIG;
}

int
kkt__url_check(const char *url, char *why, size_t whylen)
{
	char *scheme = NULL, *host = NULL, *user = NULL, *query = NULL,
	    *frag = NULL;
	CURLU *u = NULL;
	CURLUcode ue = CURLUE_OK;
	int rc;

	if ((rc = url_parse(url, &u)) != PA_OK ||
	    (ue = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) != CURLUE_OK ||
	    (ue = curl_url_get(u, CURLUPART_HOST, &host, 0)) != CURLUE_OK) {
		/* libcurl's out of memory is ours, not a bad [kkt] url. */
		if (ue == CURLUE_OUT_OF_MEMORY)
			rc = PA_ENOMEM;
		else if (rc != PA_ENOMEM) {
			rc = PA_ECONFIG;
			snprintf(why, whylen, "[kkt] url '%s' is not a valid URL: it "
			    "must start with http:// or https:// and name the "
			    "adapter's host", url);
		}
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		rc = PA_ECONFIG;        /* cannot happen: libcurl knows no other */
		snprintf(why, whylen, "[kkt] url '%s' must start with http:// or "
		    "https://", url);
		goto out;
	}
	/* A password in posagent.conf (world-readable) would be a secret in
	 * the open: it belongs in [kkt] password_file. */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		rc = PA_ECONFIG;
		snprintf(why, whylen, "[kkt] url must not carry credentials: set "
		    "[kkt] user and password_file (mode 600) instead");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK) {
		rc = PA_ECONFIG;
		snprintf(why, whylen, "[kkt] url '%s' must not have a query or "
		    "fragment (the adapter's paths are appended to it)", url);
		goto out;
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
	return rc;
}

int
kkt__url_join(char *dst, size_t dstlen, const char *base, const char *path)
{
	char *old = NULL, *full = NULL, joined[sizeof(((struct kkt__http *)0)->url)];
	CURLU *u = NULL;
	size_t ol;
	int rc, n;

	if ((rc = url_parse(base, &u)) != PA_OK) {
		if (rc != PA_ENOMEM)
			rc = pa_err_set(PA_ECONFIG, "[kkt] url '%s' is not a valid "
			    "URL", base);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &old, 0) != CURLUE_OK) {
		rc = PA_ENOMEM;         /* a parsed URL always has a path */
		goto out;
	}
	/* base "http://host/adapter/" + "/v1/..." -> "/adapter/v1/..." */
	ol = strlen(old);
	while (ol > 0 && old[ol - 1] == '/')
		ol--;
	n = snprintf(joined, sizeof(joined), "%.*s%s", (int)ol, old, path);
	if (n < 0 || (size_t)n >= sizeof(joined)) {
		rc = pa_err_set(PA_ECONFIG, "[kkt] url is too long");
		goto out;
	}
	if (curl_url_set(u, CURLUPART_PATH, joined, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
		rc = PA_ENOMEM;
		goto out;
	}
	if (strlen(full) >= dstlen) {
		rc = pa_err_set(PA_ECONFIG, "[kkt] url is too long");
		goto out;
	}
	memcpy(dst, full, strlen(full) + 1);
	rc = PA_OK;
out:
	if (rc == PA_ENOMEM)
		pa_err_set(rc, "out of memory building the KKT adapter's URL");
	curl_free(old);
	curl_free(full);
	curl_url_cleanup(u);
	return rc;
}

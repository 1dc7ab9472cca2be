/* hqc — HQ HTTPS client (see hqc.h): the configuration checks and the
 * handle (TLS and libcurl options, headers). Sending and reading answers:
 * hqc_post.c. */
#include "sync/hqc.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "hal/hal.h"
#include "hal/hal_file.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "sync/hqc_int.h"

#ifndef PA_VERSION
#define PA_VERSION "0.0.0"
#endif

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

/* Say what is wrong with the CA bundle before mbedTLS does ("PK - Memory
 * allocation failed" for a directory, issue #9). Permission denied stays
 * PA_EACCESS (exit 77): the fix is a chmod, not the config. */
static int
check_ca_file(const char *path)
{
	int fd, rc;

	if ((rc = hal_open_regular(path, HQC_MAX_CA_BYTES, &fd)) == PA_OK) {
		hal_close(fd);
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
	SETOPT(CURLOPT_WRITEFUNCTION, hqc__on_body);
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

/* tlsprobe — a second handshake, with mbedTLS directly (see tlsprobe.h). */

/* The alert HQ sent and the handshake state are not in mbedTLS 3.6's
 * public API (a fatal alert is one error code whatever the alert). Both
 * are read from the context's private fields; the version is pinned
 * (toolchain/pins), and the TLS integration tests pin the outcome. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS

#include "sync/tlsprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "hal/pa_err.h"

const char *
tlsp_alert_name(int alert)
{
	switch (alert) {
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 49: return "access_denied";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 86: return "inappropriate_fallback";
	case 109: return "missing_extension";
	case 110: return "unsupported_extension";
	case 112: return "unrecognized_name";
	case 116: return "certificate_required";
	case 120: return "no_application_protocol";
	default: return "unknown";
	}
}

static int
bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	/* HQ sent its alert and closed while our next flight was on its way
	 * (TLS 1.2 servers judge the client certificate mid-flight). The
	 * alert is still in our receive queue: pretend the send went through
	 * so that mbedTLS reads it; a dead connection then reads as EOF. */
	if (errno == EPIPE || errno == ECONNRESET)
		return (int)len;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int
bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t n = recv(*(int *)ctx, buf, len, 0);

	if (n >= 0)
		return (int)n;          /* 0: HQ closed, mbedTLS says CONN_EOF */
	if (errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (errno == EAGAIN || errno == EWOULDBLOCK)  /* SO_RCVTIMEO ran out */
		return MBEDTLS_ERR_SSL_TIMEOUT;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* A blocking socket to host:port within timeout_ms, with that timeout on
 * every later send and receive; -1 with why in r->err_text. */
static int
dial(const struct tlsp_cfg *cfg, struct tlsp_result *r)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct timeval tv;
	char host[256];
	size_t hl = strlen(cfg->host);
	int fd = -1, gai;

	/* curl gives an IPv6 literal with its brackets. */
	if (hl >= 2 && cfg->host[0] == '[' && cfg->host[hl - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(hl - 2), cfg->host + 1);
	else
		snprintf(host, sizeof(host), "%s", cfg->host);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(host, cfg->port, &hints, &res)) != 0) {
		snprintf(r->err_text, sizeof(r->err_text), "%s", gai_strerror(gai));
		return -1;
	}
	tv.tv_sec = cfg->timeout_ms / 1000;
	tv.tv_usec = (cfg->timeout_ms % 1000) * 1000;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd p;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			goto connected;
		p.fd = fd;
		p.events = POLLOUT;
		if (errno == EINPROGRESS &&
		    poll(&p, 1, (int)cfg->timeout_ms) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
		    soerr == 0)
			goto connected;
		snprintf(r->err_text, sizeof(r->err_text), "connect: %s",
		    strerror(soerr ? soerr : errno ? errno : ETIMEDOUT));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return -1;
connected:
	freeaddrinfo(res);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		snprintf(r->err_text, sizeof(r->err_text), "socket: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The alert behind MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: the record just
 * read, [level, description]. */
static void
note_error(mbedtls_ssl_context *ssl, int ret, struct tlsp_result *r)
{
	r->err = ret;
	if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && ssl->in_msg != NULL)
		r->alert = ssl->in_msg[1];
	mbedtls_strerror(ret, r->err_text, sizeof(r->err_text));
}

int
tlsp_run(const struct tlsp_cfg *cfg, struct tlsp_result *r)
{
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca, own;
	mbedtls_pk_context key;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	unsigned char byte;
	uint32_t flags;
	int fd = -1, ret, rc = PA_OK, done = 0;

	memset(r, 0, sizeof(*r));
	r->alert = -1;
	mbedtls_ssl_init(&ssl);
	mbedtls_ssl_config_init(&conf);
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&own);
	mbedtls_pk_init(&key);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);

	/* Set-up failures are not what we are diagnosing: the real transfer
	 * got as far as the handshake with the same files. */
	if (psa_crypto_init() != PSA_SUCCESS ||
	    mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent,
	    (const unsigned char *)"posagent-tlsprobe", 17) != 0 ||
	    mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) != 0 ||
	    mbedtls_x509_crt_parse_file(&ca, cfg->ca_file) < 0) {
		snprintf(r->err_text, sizeof(r->err_text), "probe set-up failed");
		goto out;
	}
	mbedtls_ssl_conf_min_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_3);
	/* Go on past a certificate we would refuse, to see what HQ does next;
	 * the flags are reported. */
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	if (cfg->cert_file && cfg->cert_file[0]) {
		if (mbedtls_x509_crt_parse_file(&own, cfg->cert_file) != 0 ||
		    mbedtls_pk_parse_keyfile(&key, cfg->key_file, NULL,
		    mbedtls_ctr_drbg_random, &drbg) != 0 ||
		    mbedtls_ssl_conf_own_cert(&conf, &own, &key) != 0) {
			snprintf(r->err_text, sizeof(r->err_text),
			    "probe cannot load cert_file/key_file");
			goto out;
		}
	}
	if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0 ||
	    (ret = mbedtls_ssl_set_hostname(&ssl, cfg->host)) != 0) {
		if (ret == MBEDTLS_ERR_SSL_ALLOC_FAILED)
			rc = PA_ENOMEM;
		snprintf(r->err_text, sizeof(r->err_text), "probe set-up failed");
		goto out;
	}
	if ((fd = dial(cfg, r)) < 0)
		goto out;
	r->ran = 1;
	mbedtls_ssl_set_bio(&ssl, &fd, bio_send, bio_recv, NULL);
	do
		ret = mbedtls_ssl_handshake(&ssl);
	while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
	/* ServerHello read: the version is the agreed one, not our maximum. */
	if (ssl.state > MBEDTLS_SSL_SERVER_HELLO || ret == 0)
		r->version = mbedtls_ssl_get_version_number(&ssl) ==
		    MBEDTLS_SSL_VERSION_TLS1_3 ? 13 : 12;
	flags = mbedtls_ssl_get_verify_result(&ssl);
	r->verify_flags = flags == (uint32_t)-1 ? 0 : flags;
	if (ret != 0) {
		note_error(&ssl, ret, r);
		goto out;
	}
	done = 1;
	if (!cfg->wait_alert)
		goto out;
	/* TLS 1.3 servers judge the client certificate after our Finished:
	 * their verdict is the first record we read. We say goodbye at once
	 * so that a server with nothing to object to closes too, and the
	 * wait is one round trip, not a timeout. */
	(void)mbedtls_ssl_close_notify(&ssl);
	do
		ret = mbedtls_ssl_read(&ssl, &byte, 1);
	while (ret == MBEDTLS_ERR_SSL_WANT_READ ||
	    ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET ||
	    ret > 0);
	if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
		r->after_handshake = 1;
		note_error(&ssl, ret, r);
	}
out:
	if (done && !cfg->wait_alert)
		(void)mbedtls_ssl_close_notify(&ssl);
	if (fd >= 0)
		close(fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&own);
	mbedtls_pk_free(&key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return rc;
}

void
tlsp_explain(const struct tlsp_result *r, int have_cert, char *buf,
    size_t len)
{
	char ver[24] = "";
	int a = r->alert;

	if (r->version)
		snprintf(ver, sizeof(ver), ", TLS 1.%d agreed", r->version % 10);
	if (a < 0 && r->err == MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION) {
		snprintf(buf, len, "TLS handshake failed: HQ offers no TLS version "
		    "posagent speaks (1.2, 1.3)");
	} else if (a == 70) {
		snprintf(buf, len, "TLS handshake failed: HQ sent alert "
		    "protocol_version (70): it accepts neither TLS 1.2 nor 1.3");
	} else if (a == 116) {
		snprintf(buf, len, "TLS handshake failed: HQ sent alert "
		    "certificate_required (116)%s: HQ requires a client "
		    "certificate; set [hq] cert_file and key_file", ver);
	} else if ((a >= 42 && a <= 46) || a == 48 || a == 49) {
		if (have_cert)
			snprintf(buf, len, "TLS handshake failed: HQ refused this "
			    "terminal's client certificate: alert %s (%d)%s "
			    "(check [hq] cert_file against the CA HQ trusts)",
			    tlsp_alert_name(a), a, ver);
		else
			snprintf(buf, len, "TLS handshake failed: HQ sent alert %s "
			    "(%d)%s; no client certificate is set ([hq] cert_file "
			    "and key_file)", tlsp_alert_name(a), a, ver);
	} else if (a == 40) {
		if (have_cert)
			snprintf(buf, len, "TLS handshake failed: HQ sent alert "
			    "handshake_failure (40)%s; a guess: no cipher suite, "
			    "curve or signature algorithm in common, or HQ refused "
			    "the client certificate", ver);
		else
			snprintf(buf, len, "TLS handshake failed: HQ sent alert "
			    "handshake_failure (40)%s; a guess: HQ requires a "
			    "client certificate (set [hq] cert_file and key_file), "
			    "or has no cipher suite in common", ver);
	} else if (a >= 0) {
		snprintf(buf, len, "TLS handshake failed: HQ sent alert %s (%d)%s",
		    tlsp_alert_name(a), a, ver);
	} else if (r->err != 0) {
		snprintf(buf, len, "TLS handshake failed%s: %s (-0x%04x)", ver,
		    r->err_text, (unsigned)-r->err);
	} else {
		snprintf(buf, len, "TLS handshake failed, but a second handshake "
		    "went through%s: HQ or the network may have been briefly "
		    "unavailable", ver);
	}
}

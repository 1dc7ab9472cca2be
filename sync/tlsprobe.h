/* tlsprobe — find out why a TLS handshake with HQ failed.
 *
 * libcurl reports a failed handshake as one code and a line of text; which
 * TLS alert HQ sent, which protocol version was agreed and whether our
 * certificate was the problem are lost. After such a failure hqc runs the
 * handshake once more, alone, with mbedTLS directly and the same settings
 * (CA, client certificate, host name, TLS 1.2-1.3), and reports what that
 * handshake saw. Only ever called after a failure: it costs one connection. */
#ifndef TLSPROBE_H
#define TLSPROBE_H

#include <stddef.h>
#include <stdint.h>

struct tlsp_cfg {
	const char *host;        /* name or IP address, as in [hq] url */
	const char *port;        /* decimal */
	const char *ca_file;
	const char *cert_file;   /* "" or NULL: no client certificate */
	const char *key_file;
	long timeout_ms;         /* connect, handshake, and waiting for an alert */
	int wait_alert;          /* after the handshake, close and read what HQ
	                            answers: a fatal alert, or its close (0: stop
	                            at the handshake) */
};

struct tlsp_result {
	int ran;                 /* 0: could not even connect (why: err_text) */
	int err;                 /* mbedTLS error of the handshake or the first
	                            read after it (0: both succeeded) */
	int alert;               /* fatal alert HQ sent, -1: none */
	int after_handshake;     /* the alert came after the handshake finished
	                            (TLS 1.3 checks client certificates then) */
	int version;             /* 12 or 13 once agreed, 0: not agreed */
	uint32_t verify_flags;   /* X.509 flags on HQ's certificate (0: fine) */
	char err_text[160];      /* mbedTLS's (or the socket's) words for err */
};

/* Run the probe; fills *r (always). Returns PA_OK, or PA_ENOMEM. */
int tlsp_run(const struct tlsp_cfg *cfg, struct tlsp_result *r);

/* What r shows, in words, into buf (always NUL-terminated): the alert and
 * the version agreed when known, then what it means for the settings.
 * have_cert: a client certificate was configured. Anything that is not
 * certain from the alert is marked "a guess". */
void tlsp_explain(const struct tlsp_result *r, int have_cert, char *buf,
    size_t len);

/* The TLS alert's name (RFC 8446 §6), "unknown" for others. */
const char *tlsp_alert_name(int alert);

#endif

/* hqc — the HQ HTTPS client (DESIGN §7): libcurl over mbedTLS, one easy
 * handle reused for every request so batches ride one keep-alive
 * connection. Verification is always on; http:// only to loopback. */
#ifndef HQC_H
#define HQC_H

#include <stddef.h>
#include <stdint.h>

#include "sync/hq.h"
#include "sync/retry.h"

/* Named limits on what HQ sends us. */
#define HQC_MAX_RESPONSE_BYTES (64 * 1024)
#define HQC_MAX_RETRY_AFTER    64          /* header value bytes kept */
#define HQC_MAX_TOKEN_BYTES    4096
#define HQC_MAX_CA_BYTES       (4 * 1024 * 1024) /* a CA bundle, generously */

typedef struct hqc hqc;

enum hqc_endpoint { HQC_EVENTS, HQC_HEARTBEAT };

/* What one request produced. Filled by hqc_post() whatever it returns. */
struct hqc_resp {
	enum rt_transport transport;  /* RT_T_OK: an HTTP answer arrived */
	long status;                  /* HTTP status (0: none) */
	int64_t retry_after_ms;       /* from Retry-After; -1 absent/malformed */
	const char *body;             /* NUL-terminated, owned by the client,
	                                 valid until the next hqc_post() */
	size_t body_len;
	int truncated;                /* body exceeded HQC_MAX_RESPONSE_BYTES */
};

/* Check [hq] url alone: http(s) with a host, no credentials, query or
 * fragment; http only to loopback (127.0.0.0/8, ::1, localhost).
 * PA_ECONFIG with a message naming the rule otherwise. */
int hqc_check_url(const char *url);

/* Validate cfg and build the client: URL rules, ca_file required for https,
 * cert_file and key_file together, key_file and token_file private (PA_EPERM
 * naming the path and chmod 600), pin syntax. The token is read now and kept
 * only in the request headers; it is never logged. *out freed by
 * hqc_close(). */
int hqc_open(const struct hq_config *cfg, const char *agent_id, hqc **out);
void hqc_close(hqc *c);

/* POST body (JSON) to the endpoint. now_ms (wall clock) resolves an
 * HTTP-date Retry-After. Returns PA_OK when an HTTP answer arrived (any
 * status: the caller decides with rt_decide); otherwise
 *   PA_EHQ_UNAVAILABLE  connect/timeout/reset/handshake failure,
 *   PA_ETLS             HQ's certificate refused — the message says whether
 *                       by the CA, the host name or the pin,
 *   PA_ECONFIG          our certificate/key/CA file unusable,
 *   PA_ENOMEM.
 * r->transport classifies the failure either way. */
int hqc_post(hqc *c, enum hqc_endpoint ep, const char *body, size_t len,
    int64_t now_ms, struct hqc_resp *r);

/* Strict parse of an events answer: a JSON object whose "ack" is an integer
 * >= 0 (other members are ignored, duplicates refused). PA_EPROTO with a
 * message otherwise. */
int hqc_parse_ack(const char *body, size_t len, long long *ack);

/* Connections opened so far (keep-alive shows as 1 for many requests). */
long hqc_connects(const hqc *c);

#endif

/* kkt_int — private to kkt/: the backend operations table, the HTTP
 * transport, the helpers the backends share for reading an adapter's answer
 * and the per-backend pure parse functions (which the unit tests and the
 * fuzzer call directly, without a network). Nothing outside kkt/ and tests/
 * includes it.
 *
 * Layering inside kkt/ (no file calls back into one that calls it):
 *   kkt.c  ->  backends (kkt_opticserp.c, kkt_atol.c) through their
 *              struct kkt__backend  ->  kkt_http.c, kkt_parse.c
 *   kkt.c  ->  kkt_http.c (URL check), kkt_parse.c (status, reasons)
 * as curl's vtls.c reaches each TLS library only through its Curl_ssl. */
#ifndef KKT_INT_H
#define KKT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kkt/kkt.h"

/* Named limits on what the adapter may send us. */
#define KKT_RESP_MAX        (64u * 1024)  /* response body; over it = malformed */
#define KKT_COUNT_MAX       1000000000L   /* any receipt/document count or number;
                                             keeps values inside a 32-bit long (ARM) */
#define KKT_TIMEOUT_MAX_MS  60000L        /* [kkt] timeout_ms upper bound */
#define KKT_ATOL_POLL_FIRST_MS 20L        /* first pause between ATOL polls ... */
#define KKT_ATOL_POLL_MAX_MS   250L       /* ... doubling up to this */

/* --- backends (one struct per adapter kind) --------------------------- */

/* What kkt.c needs from a backend, and all it may call. */
struct kkt__backend {
	enum kkt_backend id;
	const char *name;               /* the [kkt] backend word */
	const char *example_url;        /* shown when [kkt] url is missing */
	/* Ask the adapter; cfg is already checked (url parses as http(s),
	 * timeout in range). Returns PA_OK (synced), PA_EKKT_UNSYNCED,
	 * PA_EKKT_UNREACHABLE, PA_EKKT_AUTH, PA_ECONFIG (password_file),
	 * PA_ENOMEM; fills st and its
	 * reason whatever the outcome. */
	int (*check)(const struct kkt_config *cfg, struct kkt_status *st);
};

extern const struct kkt__backend kkt__opticserp;
extern const struct kkt__backend kkt__atol;

/* Pure: judge an OpticsERP GET /v1/kkt/buffer/status body. url (may be
 * NULL) only names the adapter in the reason. Returns PA_OK (synced),
 * PA_EKKT_UNSYNCED, PA_EKKT_UNREACHABLE (malformed or inconsistent:
 * reachable = 0), or PA_ENOMEM (reachable = 0, the reason says only that).
 * Fills st's counts and reason. */
int kkt__opticserp_parse(const char *body, size_t len, const char *url,
    struct kkt_status *st);

/* Pure: judge an ATOL GET /api/v2/requests/{uuid} body. Returns as above;
 * when the task is still "wait" or "inProgress" it returns
 * PA_EKKT_UNREACHABLE with *again = 1 (poll again), else *again = 0.
 * A failed task (error, interrupted, blocked, canceled) is
 * PA_EKKT_UNREACHABLE with errorCode/errorDescription in the reason.
 * PA_ENOMEM as for kkt__opticserp_parse. */
int kkt__atol_parse_result(const char *body, size_t len, const char *url,
    struct kkt_status *st, int *again);

/* --- transport (kkt_http.c) ------------------------------------------- */

struct kkt__http;

/* New transport bound to one libcurl easy handle, reused for every request
 * of one check (the ATOL POST and its polls share a connection). cfg's
 * user and password (when user is set) go with every request as HTTP Basic
 * authentication, the password read from cfg->password_file (mode 600).
 * PA_ENOMEM / PA_EINTERNAL, PA_ECONFIG when the password file is missing,
 * not private or not one line; *out is NULL on failure. */
int kkt__http_open(const struct kkt_config *cfg, struct kkt__http **out);

/* status 401 or 403 (any request): write the reason ("the KKT adapter
 * wants credentials: set [kkt] user and password_file", or that it refused
 * the configured ones) and return PA_EKKT_AUTH; otherwise PA_OK. */
int kkt__http_auth(const struct kkt_config *cfg, long status,
    struct kkt_status *st);
void kkt__http_close(struct kkt__http *h);

/* One request: method "GET" or "POST" (json_body then sent as
 * application/json) to the adapter's base URL joined with path, at most
 * timeout_ms for the whole exchange, connect included. PA_OK when an HTTP
 * answer arrived, whatever its status: *status holds it, *body
 * (NUL-terminated, owned by h, valid until the next request) and *len the
 * body. PA_ETIMEOUT when the budget ran out, PA_EKKT_UNREACHABLE when
 * nothing usable arrived otherwise (refused, DNS, reset, TLS), PA_ELIMIT
 * when the body exceeded KKT_RESP_MAX; each with a pa_err message that
 * names the adapter and reads as a kkt_status reason. */
int kkt__http_do(struct kkt__http *h, const char *method, const char *path,
    const char *json_body, long timeout_ms, long *status, const char **body,
    size_t *len);

/* Check a [kkt] url with libcurl's URL parser (CURLU), as sync/hqc.c does
 * for [hq] url: http or https, a host, no credentials, query or fragment.
 * PA_OK, PA_ECONFIG with the reason in why, PA_ENOMEM. */
int kkt__url_check(const char *url, char *why, size_t whylen);

/* base joined with path ("/v1/..."), without a doubled slash, through
 * CURLU. PA_OK, PA_ECONFIG when it does not fit dst or does not parse,
 * PA_ENOMEM; each with a pa_err message. */
int kkt__url_join(char *dst, size_t dstlen, const char *base, const char *path);

/* --- shared by the backends (kkt_parse.c) ----------------------------- */

/* Reset st for backend b: every count unknown (-1), strings empty. */
void kkt__status_init(struct kkt_status *st, enum kkt_backend b);
/* printf into st->reason as one clean line: a cut never splits a UTF-8
 * sequence, control characters become spaces, invalid UTF-8 bytes '?'. */
void kkt__reason(struct kkt_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Copy adapter-supplied text for display, cleaned as kkt__reason does
 * and cut at a UTF-8 boundary to fit dst (dstlen >= 1). */
void kkt__copy_text(char *dst, size_t dstlen, const char *src);
/* n == 1 ? one : many */
const char *kkt__plural(long n, const char *one, const char *many);

/* Validate one JSON member of obj as an integer in [0, KKT_COUNT_MAX].
 * required: absent is an error. On error returns PA_EPROTO and writes
 * "field 'NAME' is a string, expected an integer" into why. *out is
 * untouched when absent and not required. */
int kkt__json_count(const json_t *obj, const char *name, int required, long *out,
    char *why, size_t whylen);
/* Same for a string of at most maxlen bytes. *out points into obj. */
int kkt__json_string(const json_t *obj, const char *name, int required,
    size_t maxlen, const char **out, char *why, size_t whylen);
/* Parse body as one JSON object (no trailing bytes, no duplicate keys).
 * PA_OK with *out a new reference; PA_EPROTO with why set (what is wrong
 * with the answer); PA_ENOMEM with why untouched (nothing is wrong with
 * the answer). *out is NULL on failure. */
int kkt__json_object(const char *body, size_t len, json_t **out, char *why,
    size_t whylen);

#endif

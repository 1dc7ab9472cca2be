/* kkt — the KKT buffer-sync gate (DESIGN §6).
 *
 * Asks the local KKT adapter whether its offline receipt buffer has been
 * delivered to the OFD. Fail closed: anything but a well-formed "synced"
 * answer refuses. Never includes agent/ headers. */
#ifndef KKT_H
#define KKT_H

#include <limits.h>

#include <jansson.h>

enum kkt_backend { KKT_BACKEND_UNSET = 0, KKT_BACKEND_OPTICSERP, KKT_BACKEND_ATOL,
	KKT_BACKEND_NONE };

struct kkt_config {
	enum kkt_backend backend;   /* UNSET is a configuration error */
	char url[512];              /* e.g. http://127.0.0.1:8089 */
	long timeout_ms;            /* whole check, connect included; default 2000 */
	/* HTTP Basic authentication (an ATOL web server that asks for it):
	 * both set or both empty. The password is read from password_file
	 * (mode 600) at every check, never kept. */
	char user[128];
	char password_file[PATH_MAX];
};

/* What the adapter said. Filled by kkt_check() even when it refuses. */
struct kkt_status {
	enum kkt_backend backend;
	int reachable;              /* a well-formed answer arrived */
	int synced;                 /* verdict: imports allowed */
	long pending;               /* receipts not yet at the OFD (-1 unknown) */
	long failed;                /* opticserp: cumulative history, never
	                               blocks (-1 unknown) */
	long dlq_size;              /* opticserp: unresolved DLQ entries (-1) */
	long total_receipts;        /* opticserp (-1 unknown) */
	long synced_receipts;       /* opticserp: the document's "synced" (-1) */
	long unreported;            /* opticserp: total_receipts - pending -
	                               synced - failed, receipts in a state the
	                               endpoint does not list, e.g. syncing (-1) */
	long first_doc_number;      /* atol notSentFirstDocNumber (-1 unknown) */
	char first_doc_datetime[40];/* atol notSentFirstDocDateTime ("" unknown) */
	char network_status[32];    /* opticserp ("" unknown) */
	char reason[384];           /* one line a technician can act on */
	long elapsed_ms;
};

const char *kkt_backend_name(enum kkt_backend b);
/* Parse "opticserp" | "atol" | "none"; PA_ECONFIG otherwise. */
int kkt_backend_parse(const char *s, enum kkt_backend *out);

/* Check the gate. Returns PA_OK when imports may proceed (synced, or backend
 * none), PA_EKKT_UNSYNCED when the buffer holds unsent receipts,
 * PA_EKKT_UNREACHABLE when no trustworthy answer came (unreachable, timeout,
 * HTTP error, malformed JSON, ATOL task failed or never ready),
 * PA_EKKT_AUTH when the adapter answered 401 or 403 (it wants credentials,
 * or refused ours: a person must fix [kkt] user / password_file),
 * PA_ECONFIG for a bad config (url not http(s)://, timeout_ms outside
 * 1..60000, user without password_file or the file unreadable or not
 * private), PA_ENOMEM. st->reason always explains the verdict (one line, valid UTF-8)
 * and is also the thread's pa_err message when the result is not PA_OK.
 * Blocks at most cfg->timeout_ms, name lookup included (libcurl resolves
 * in a thread). Safe from any thread; the first call initialises libcurl
 * (see kkt/kkt_http.c). */
int kkt_check(const struct kkt_config *cfg, struct kkt_status *st);

/* The i-th reason (from 0) the buffer blocks imports, with its numbers and
 * what to do ("2 receipts pending: ...", "1 DLQ entry unresolved: resolve
 * it in the adapter", "1 receipt in a state the adapter does not report
 * (syncing?)"), written into buf; NULL when st has no i-th reason. Only a
 * reachable, not synced status has reasons; failed is history, never one. */
const char *kkt_blocker(const struct kkt_status *st, size_t i, char *buf,
    size_t len);

/* New JSON object describing st (caller owns the reference; NULL only when
 * out of memory): backend, reachable, synced, pending, failed, dlq_size,
 * total_receipts, synced_receipts, unreported, first_doc_number,
 * first_doc_datetime, network_status, reason, elapsed_ms — null for a
 * value the backend did not report — and blocking, the array of
 * kkt_blocker() texts. */
json_t *kkt_status_json(const struct kkt_status *st);

#endif

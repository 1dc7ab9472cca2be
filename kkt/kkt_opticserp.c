/* kkt_opticserp — the OpticsERP KKT adapter (DESIGN §6):
 *   GET {url}/v1/kkt/buffer/status
 *   → {"total_capacity","current_queued","percent_full","network_status",
 *      "total_receipts","pending","synced","failed","dlq_size"}
 * Synced ⇔ pending == 0 && dlq_size == 0 && total_receipts − synced − failed == 0.
 *
 * Measured against the real adapter (issue #10): "failed" is cumulative —
 * a receipt moved to the dead-letter queue keeps status failed after its
 * DLQ entry is resolved — so it is history and never blocks; "dlq_size"
 * counts unresolved entries only; a receipt in a state the endpoint does
 * not list (the adapter's schema has "syncing") shows only as
 * total_receipts − pending − synced − failed > 0 ("unreported"), and blocks.
 *
 * Validation is strict because the verdict lets prices change: the five
 * counts the rule reads are required integers in 0..KKT_COUNT_MAX; the
 * other members are optional but when present must have the documented
 * type; and an answer that contradicts itself (pending + synced + failed
 * more than total_receipts) is not trusted: refused as inconsistent. */
#include <stdio.h>
#include <string.h>

#include "hal/pa_err.h"
#include "kkt/kkt_int.h"

#define OPTICSERP_PATH "/v1/kkt/buffer/status"
#define OPTICSERP_NET_MAX 31    /* network_status: fits kkt_status */

/* percent_full: a number (integer or not) in 0..100 when present. */
static int
check_percent(const json_t *o, char *why, size_t whylen)
{
	const json_t *v = json_object_get(o, "percent_full");
	double d;

	if (v == NULL)
		return PA_OK;
	if (!json_is_number(v)) {
		snprintf(why, whylen, "field 'percent_full' is not a number");
		return PA_EPROTO;
	}
	d = json_number_value(v);
	if (!(d >= 0.0 && d <= 100.0)) {
		snprintf(why, whylen, "field 'percent_full' is outside 0..100");
		return PA_EPROTO;
	}
	return PA_OK;
}

static int
validate(const json_t *o, struct kkt_status *st, char *why, size_t whylen,
    int *inconsistent)
{
	long pending = -1, failed = -1, dlq = -1;
	long total = -1, synced = -1, capacity = -1, queued = -1;
	const char *net = NULL;
	int rc;

	*inconsistent = 0;
	if ((rc = kkt__json_count(o, "pending", 1, &pending, why, whylen)) ||
	    (rc = kkt__json_count(o, "failed", 1, &failed, why, whylen)) ||
	    (rc = kkt__json_count(o, "dlq_size", 1, &dlq, why, whylen)) ||
	    (rc = kkt__json_count(o, "total_receipts", 1, &total, why, whylen)) ||
	    (rc = kkt__json_count(o, "synced", 1, &synced, why, whylen)) ||
	    (rc = kkt__json_count(o, "total_capacity", 0, &capacity, why, whylen)) ||
	    (rc = kkt__json_count(o, "current_queued", 0, &queued, why, whylen)) ||
	    (rc = check_percent(o, why, whylen)) ||
	    (rc = kkt__json_string(o, "network_status", 0, OPTICSERP_NET_MAX,
	        &net, why, whylen)))
		return rc;
	/* Each count is at most KKT_COUNT_MAX (1e9): the sum fits a long
	 * only on 64 bits, so compare by subtraction. */
	if (pending > total || synced > total - pending ||
	    failed > total - pending - synced) {
		*inconsistent = 1;
		snprintf(why, whylen, "pending %ld + synced %ld + failed %ld is "
		    "more than total_receipts %ld", pending, synced, failed, total);
		return PA_EPROTO;
	}
	if (capacity >= 0 && queued > capacity) {
		*inconsistent = 1;
		snprintf(why, whylen, "current_queued %ld is more than "
		    "total_capacity %ld", queued, capacity);
		return PA_EPROTO;
	}
	st->pending = pending;
	st->failed = failed;
	st->dlq_size = dlq;
	st->total_receipts = total;
	st->synced_receipts = synced;
	st->unreported = total - pending - synced - failed;
	if (net != NULL)
		kkt__copy_text(st->network_status, sizeof(st->network_status), net);
	return PA_OK;
}

int
kkt__opticserp_parse(const char *body, size_t len, const char *url,
    struct kkt_status *st)
{
	char why[256] = "", blocks[sizeof(st->reason)] = "", one[160];
	char net[sizeof(st->network_status) + 16] = "";
	json_t *o = NULL;
	size_t i, bl = 0;
	int rc, inconsistent = 0;

	st->reachable = 0;
	st->synced = 0;
	rc = kkt__json_object(body, len, &o, why, sizeof(why));
	if (rc != PA_OK || validate(o, st, why, sizeof(why), &inconsistent) !=
	    PA_OK) {
		st->pending = st->failed = st->dlq_size = -1;
		st->total_receipts = st->synced_receipts = st->unreported = -1;
		st->network_status[0] = '\0';
		/* Our memory ran out, not the adapter's answer: no parser text
		 * in the reason, and PA_ENOMEM to the caller. */
		if (rc == PA_ENOMEM) {
			kkt__reason(st, "out of memory reading the KKT adapter's "
			    "answer");
			goto out;
		}
		kkt__reason(st, "KKT adapter%s%s answered %s: %s; imports stay "
		    "refused until it answers correctly", url ? " at " : "",
		    url ? url : "", inconsistent ? "inconsistent counts" :
		    "malformed JSON", why);
		rc = PA_EKKT_UNREACHABLE;
		goto out;
	}
	st->reachable = 1;
	if (st->network_status[0])
		snprintf(net, sizeof(net), " (network: %s)", st->network_status);
	if (st->pending == 0 && st->dlq_size == 0 && st->unreported == 0) {
		st->synced = 1;
		kkt__reason(st, "KKT buffer synced: %ld %s, none pending, no "
		    "unresolved DLQ entry; %ld failed (history, does not block)%s",
		    st->total_receipts, kkt__plural(st->total_receipts, "receipt",
		    "receipts"), st->failed, net);
		rc = PA_OK;
		goto out;
	}
	/* The reason lists what blocks, as kkt_blocker() words it for kkt
	 * status: "2 receipts pending: ...; 1 DLQ entry unresolved: ...". */
	st->synced = 0;
	for (i = 0; kkt_blocker(st, i, one, sizeof(one)) != NULL; i++) {
		int n = snprintf(blocks + bl, sizeof(blocks) - bl, "%s%s",
		    i ? "; " : "", one);
		if (n < 0 || (size_t)n >= sizeof(blocks) - bl)
			break;
		bl += (size_t)n;
	}
	kkt__reason(st, "KKT buffer not synced: %s%s", blocks, net);
	rc = PA_EKKT_UNSYNCED;
out:
	json_decref(o);
	return rc;
}

static int
opticserp_check(const struct kkt_config *cfg, struct kkt_status *st)
{
	struct kkt__http *h = NULL;
	const char *body;
	size_t len;
	long status;
	int rc;

	if ((rc = kkt__http_open(cfg, &h)) != PA_OK) {
		kkt__reason(st, "%s", pa_err_msg(rc));
		goto out;
	}
	rc = kkt__http_do(h, "GET", OPTICSERP_PATH, NULL, cfg->timeout_ms,
	    &status, &body, &len);
	if (rc != PA_OK) {
		kkt__reason(st, "%s", pa_err_msg(rc));
		rc = rc == PA_ENOMEM ? rc : PA_EKKT_UNREACHABLE;
		goto out;
	}
	if ((rc = kkt__http_auth(cfg, status, st)) != PA_OK)
		goto out;
	if (status != 200) {
		kkt__reason(st, "KKT adapter at %s answered HTTP %ld to GET %s; "
		    "imports stay refused until it reports its buffer",
		    cfg->url, status, OPTICSERP_PATH);
		rc = PA_EKKT_UNREACHABLE;
		goto out;
	}
	rc = kkt__opticserp_parse(body, len, cfg->url, st);
out:
	kkt__http_close(h);
	return rc;
}

const struct kkt__backend kkt__opticserp = {
	KKT_BACKEND_OPTICSERP, "opticserp", "http://127.0.0.1:8089",
	opticserp_check,
};

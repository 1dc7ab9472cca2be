/* kkt_opticserp — the OpticsERP KKT adapter (DESIGN §6):
 *   GET {url}/v1/kkt/buffer/status
 *   → {"total_capacity","current_queued","percent_full","network_status",
 *      "total_receipts","pending","synced","failed","dlq_size"}
 * Synced ⇔ pending == 0 && failed == 0 && dlq_size == 0.
 *
 * Validation is strict because the verdict lets prices change: the three
 * counts that decide are required integers in 0..KKT_COUNT_MAX; the other
 * members are optional (older adapters omit some) but when present must
 * have the documented type and be consistent with the counts — an answer
 * that contradicts itself is not trusted. */
#include <stdio.h>
#include <string.h>

#include "hal/pa_err.h"
#include "kkt/kkt_int.h"

#define OPTICSERP_PATH "/v1/kkt/buffer/status"
#define OPTICSERP_NET_MAX 31    /* network_status: fits kkt_status */

static const char *
plural(long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

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
validate(const json_t *o, struct kkt_status *st, char *why, size_t whylen)
{
	long pending = -1, failed = -1, dlq = -1;
	long total = -1, synced = -1, capacity = -1, queued = -1;
	const char *net = NULL;
	int rc;

	if ((rc = kkt__json_count(o, "pending", 1, &pending, why, whylen)) ||
	    (rc = kkt__json_count(o, "failed", 1, &failed, why, whylen)) ||
	    (rc = kkt__json_count(o, "dlq_size", 1, &dlq, why, whylen)) ||
	    (rc = kkt__json_count(o, "total_receipts", 0, &total, why, whylen)) ||
	    (rc = kkt__json_count(o, "synced", 0, &synced, why, whylen)) ||
	    (rc = kkt__json_count(o, "total_capacity", 0, &capacity, why, whylen)) ||
	    (rc = kkt__json_count(o, "current_queued", 0, &queued, why, whylen)) ||
	    (rc = check_percent(o, why, whylen)) ||
	    (rc = kkt__json_string(o, "network_status", 0, OPTICSERP_NET_MAX,
	        &net, why, whylen)))
		return rc;
	if (total >= 0 && (pending > total || failed > total ||
	    (synced >= 0 && synced > total))) {
		snprintf(why, whylen, "counts exceed total_receipts (%ld): "
		    "pending %ld, failed %ld, synced %ld", total, pending, failed,
		    synced);
		return PA_EPROTO;
	}
	if (capacity >= 0 && queued > capacity) {
		snprintf(why, whylen, "current_queued (%ld) exceeds "
		    "total_capacity (%ld)", queued, capacity);
		return PA_EPROTO;
	}
	st->pending = pending;
	st->failed = failed;
	st->dlq_size = dlq;
	if (net != NULL)
		kkt__copy_text(st->network_status, sizeof(st->network_status), net);
	return PA_OK;
}

int
kkt__opticserp_parse(const char *body, size_t len, const char *url,
    struct kkt_status *st)
{
	char why[256] = "";
	json_t *o = NULL;
	char net[sizeof(st->network_status) + 16] = "";
	int rc;

	st->reachable = 0;
	st->synced = 0;
	if ((o = kkt__json_object(body, len, why, sizeof(why))) == NULL ||
	    validate(o, st, why, sizeof(why)) != PA_OK) {
		st->pending = st->failed = st->dlq_size = -1;
		st->network_status[0] = '\0';
		kkt__reason(st, "KKT adapter%s%s answered malformed JSON: %s; "
		    "imports stay refused until it answers correctly",
		    url ? " at " : "", url ? url : "", why);
		rc = PA_EKKT_UNREACHABLE;
		goto out;
	}
	st->reachable = 1;
	if (st->network_status[0])
		snprintf(net, sizeof(net), " (network: %s)", st->network_status);
	if (st->pending == 0 && st->failed == 0 && st->dlq_size == 0) {
		st->synced = 1;
		kkt__reason(st, "KKT buffer synced: 0 pending, 0 failed, 0 in DLQ%s",
		    net);
		rc = PA_OK;
		goto out;
	}
	kkt__reason(st, "KKT buffer not synced: %ld %s pending, %ld failed, "
	    "%ld in DLQ%s; %s, then retry", st->pending,
	    plural(st->pending, "receipt", "receipts"), st->failed,
	    st->dlq_size, net,
	    st->failed > 0 || st->dlq_size > 0 ?
	    "resolve the failed receipts in the KKT adapter" :
	    "wait for the adapter to deliver them to the OFD");
	rc = PA_EKKT_UNSYNCED;
out:
	json_decref(o);
	return rc;
}

int
kkt__opticserp_check(const struct kkt_config *cfg, struct kkt_status *st)
{
	struct kkt__http *h = NULL;
	char url[sizeof(cfg->url) + sizeof(OPTICSERP_PATH)];
	const char *body;
	size_t len;
	long status;
	int rc;

	if ((rc = kkt__join_url(url, sizeof(url), cfg->url, OPTICSERP_PATH)) != PA_OK) {
		kkt__reason(st, "%s", pa_err_msg(rc));
		goto out;
	}
	if ((rc = kkt__http_open(&h)) != PA_OK) {
		kkt__reason(st, "%s", pa_err_msg(rc));
		goto out;
	}
	rc = kkt__http_do(h, "GET", url, NULL, cfg->timeout_ms, &status, &body, &len);
	if (rc != PA_OK) {
		kkt__reason(st, "%s", pa_err_msg(rc));
		rc = rc == PA_ENOMEM ? rc : PA_EKKT_UNREACHABLE;
		goto out;
	}
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

/* kkt_atol — ATOL Driver v10 web server, JSON task API (DESIGN §6):
 *   POST {url}/api/v2/requests  {"uuid": U, "request": [{"type": "ofdExchangeStatus"}]}
 *        → 201 Created (the task is queued; the web server runs it on the KKT)
 *   GET  {url}/api/v2/requests/U → {"results": [{"status": ..., "errorCode": N,
 *        "errorDescription": "...", "result": {"status": {"notSentCount": N,
 *        "notSentFirstDocNumber": N, "notSentFirstDocDateTime": "..."}}}]}
 * "wait" / "inProgress": poll again, pausing KKT_ATOL_POLL_FIRST_MS and
 * doubling up to KKT_ATOL_POLL_MAX_MS, all inside the one [kkt] timeout_ms
 * budget. "ready": synced ⇔ notSentCount == 0. "error", "interrupted",
 * "blocked", "canceled": the KKT could not answer — refused.
 *
 * Decisions where DESIGN is silent:
 *  - The POST is accepted with 201 (what the web server documents) or 200
 *    (seen from proxies and older builds); the verdict only ever comes from
 *    a well-formed "ready" result, so accepting 200 cannot let an unsynced
 *    buffer through. 409 (uuid already used) is reported as such.
 *  - results must hold exactly one element: we sent exactly one request.
 *  - A task left unfinished at the deadline is not deleted: an
 *    ofdExchangeStatus query has no side effects and the web server expires
 *    old tasks itself.
 *  - A fresh random v4 UUID per check (hal_uuid4), so two checks never read
 *    each other's results. */
#include <stdio.h>
#include <string.h>

#include "hal/hal.h"
#include "hal/hal_wait.h"
#include "hal/pa_err.h"
#include "kkt/kkt_int.h"

#define ATOL_PATH       "/api/v2/requests"
#define ATOL_STATUS_MAX 32      /* longest task status word we accept */
#define ATOL_DESC_MAX   1024    /* errorDescription accepted (shown cut) */
#define ATOL_DT_MAX     39      /* notSentFirstDocDateTime: fits kkt_status */

enum atol_kind { ATOL_UNKNOWN, ATOL_AGAIN, ATOL_READY, ATOL_FAILED };

static enum atol_kind
atol_kind(const char *s)
{
	static const char *again[] = { "wait", "inProgress" };
	static const char *failed[] = { "error", "interrupted", "blocked", "canceled" };
	size_t i;

	if (strcmp(s, "ready") == 0)
		return ATOL_READY;
	for (i = 0; i < sizeof(again) / sizeof(again[0]); i++)
		if (strcmp(s, again[i]) == 0)
			return ATOL_AGAIN;
	for (i = 0; i < sizeof(failed) / sizeof(failed[0]); i++)
		if (strcmp(s, failed[i]) == 0)
			return ATOL_FAILED;
	return ATOL_UNKNOWN;
}

/* results[0] of a well-formed document, or NULL with why set. */
static const json_t *
first_result(const json_t *o, char *why, size_t whylen)
{
	const json_t *a = json_object_get(o, "results"), *r;

	if (a == NULL) {
		snprintf(why, whylen, "field 'results' is missing");
		return NULL;
	}
	if (!json_is_array(a) || json_array_size(a) != 1) {
		snprintf(why, whylen, "field 'results' is not an array of one "
		    "result");
		return NULL;
	}
	r = json_array_get(a, 0);
	if (!json_is_object(r)) {
		snprintf(why, whylen, "results[0] is not an object");
		return NULL;
	}
	return r;
}

static int
parse_ready(const json_t *r, struct kkt_status *st, char *why, size_t whylen)
{
	const json_t *res = json_object_get(r, "result"), *s;
	const char *dt = NULL;
	long count = -1, first = -1;
	int rc;

	if (!json_is_object(res) ||
	    !json_is_object(s = json_object_get(res, "status"))) {
		snprintf(why, whylen, "a ready task has no 'result.status' object");
		return PA_EPROTO;
	}
	if ((rc = kkt__json_count(s, "notSentCount", 1, &count, why, whylen)))
		return rc;
	/* The first unsent document is what a technician looks for on the KKT:
	 * required whenever something is unsent, type-checked always. */
	if ((rc = kkt__json_count(s, "notSentFirstDocNumber", count > 0, &first,
	    why, whylen)) ||
	    (rc = kkt__json_string(s, "notSentFirstDocDateTime", count > 0,
	    ATOL_DT_MAX, &dt, why, whylen)))
		return rc;
	st->pending = count;
	st->first_doc_number = count > 0 ? first : -1;
	if (count > 0)
		kkt__copy_text(st->first_doc_datetime,
		    sizeof(st->first_doc_datetime), dt);
	return PA_OK;
}

/* "2026-11-26T09:12:00+03:00" is shown to the minute: "2026-11-26T09:12". */
static int
minute_len(const char *dt)
{
	static const char shape[] = "dddd-dd-ddTdd:dd";
	size_t i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? (dt[i] < '0' || dt[i] > '9') : dt[i] != shape[i])
			return (int)strlen(dt);
	}
	return (int)i;
}

static void
failed_reason(const json_t *r, const char *status, const char *url,
    struct kkt_status *st)
{
	const json_t *code = json_object_get(r, "errorCode");
	const json_t *desc = json_object_get(r, "errorDescription");
	char d[160] = "no description";
	char c[32] = "?";

	if (json_is_integer(code))
		snprintf(c, sizeof(c), "%lld", (long long)json_integer_value(code));
	if (json_is_string(desc) && json_string_length(desc) > 0)
		kkt__copy_text(d, sizeof(d), json_string_value(desc));
	kkt__reason(st, "KKT adapter%s%s: the KKT could not report its OFD "
	    "exchange status (task %s, errorCode %s: %s); check the KKT's power "
	    "and cable, then retry", url ? " at " : "", url ? url : "", status,
	    c, d);
}

int
kkt__atol_parse_result(const char *body, size_t len, const char *url,
    struct kkt_status *st, int *again)
{
	char why[256] = "";
	const json_t *r;
	const char *status = NULL, *desc = NULL;
	json_t *o = NULL;
	int rc = PA_EKKT_UNREACHABLE, jrc;

	*again = 0;
	st->reachable = 0;
	st->synced = 0;
	st->pending = st->first_doc_number = -1;
	st->first_doc_datetime[0] = '\0';
	/* Our memory ran out, not the adapter's answer: no parser text in
	 * the reason, and PA_ENOMEM to the caller. */
	if ((jrc = kkt__json_object(body, len, &o, why, sizeof(why))) ==
	    PA_ENOMEM) {
		kkt__reason(st, "out of memory reading the KKT adapter's answer");
		rc = PA_ENOMEM;
		goto out;
	}
	if (jrc != PA_OK || (r = first_result(o, why, sizeof(why))) == NULL ||
	    kkt__json_string(r, "status", 1, ATOL_STATUS_MAX, &status, why,
	    sizeof(why)) != PA_OK)
		goto malformed;
	switch (atol_kind(status)) {
	case ATOL_UNKNOWN:
		snprintf(why, sizeof(why), "unknown task status '%.32s'", status);
		goto malformed;
	case ATOL_AGAIN:
		*again = 1;
		kkt__reason(st, "KKT adapter%s%s: the ATOL task is still '%s'",
		    url ? " at " : "", url ? url : "", status);
		goto out;
	case ATOL_FAILED:
		/* Type-check what we display, as for every field we use. */
		if (kkt__json_string(r, "errorDescription", 0, ATOL_DESC_MAX,
		    &desc, why, sizeof(why)) != PA_OK)
			goto malformed;
		if (json_object_get(r, "errorCode") != NULL &&
		    !json_is_integer(json_object_get(r, "errorCode"))) {
			snprintf(why, sizeof(why), "field 'errorCode' is not an "
			    "integer");
			goto malformed;
		}
		failed_reason(r, status, url, st);
		goto out;
	case ATOL_READY:
		break;
	}
	if (parse_ready(r, st, why, sizeof(why)) != PA_OK)
		goto malformed;
	st->reachable = 1;
	if (st->pending == 0) {
		st->synced = 1;
		kkt__reason(st, "KKT buffer synced: all documents sent to the OFD");
		rc = PA_OK;
		goto out;
	}
	kkt__reason(st, "KKT buffer not synced: %ld %s not sent to OFD since "
	    "%.*s (first document №%ld); wait for the KKT to deliver them to "
	    "the OFD, then retry", st->pending,
	    kkt__plural(st->pending, "receipt", "receipts"),
	    minute_len(st->first_doc_datetime), st->first_doc_datetime,
	    st->first_doc_number);
	rc = PA_EKKT_UNSYNCED;
	goto out;
malformed:
	st->pending = st->first_doc_number = -1;
	st->first_doc_datetime[0] = '\0';
	kkt__reason(st, "KKT adapter%s%s answered malformed JSON: %s; imports "
	    "stay refused until it answers correctly", url ? " at " : "",
	    url ? url : "", why);
	rc = PA_EKKT_UNREACHABLE;
out:
	json_decref(o);
	return rc;
}

/* Reason for a transport failure; a timeout names the whole budget. */
static int
transport_reason(int rc, const struct kkt_config *cfg, struct kkt_status *st)
{
	if (rc == PA_ETIMEOUT)
		kkt__reason(st, "KKT adapter at %s did not answer within %ld ms "
		    "([kkt] timeout_ms); check that the ATOL web server is "
		    "running and not hung", cfg->url, cfg->timeout_ms);
	else
		kkt__reason(st, "%s", pa_err_msg(rc));
	return rc == PA_ENOMEM ? rc : PA_EKKT_UNREACHABLE;
}

static int
atol_check(const struct kkt_config *cfg, struct kkt_status *st)
{
	struct kkt__http *h = NULL;
	char get_path[sizeof(ATOL_PATH) + 40];
	char uuid[37], req[128], last[sizeof(st->reason)];
	int64_t deadline = hal_sys.mono_ms() + cfg->timeout_ms, left;
	long status, pause = KKT_ATOL_POLL_FIRST_MS;
	const char *body;
	size_t len;
	int rc, again;

	if ((rc = hal_uuid4(uuid)) ||
	    (rc = kkt__http_open(cfg, &h))) {
		kkt__reason(st, "%s", pa_err_msg(rc));
		goto out;
	}
	snprintf(get_path, sizeof(get_path), "%s/%s", ATOL_PATH, uuid);
	snprintf(req, sizeof(req), "{\"uuid\": \"%s\", \"request\": "
	    "[{\"type\": \"ofdExchangeStatus\"}]}", uuid);
	rc = kkt__http_do(h, "POST", ATOL_PATH, req, cfg->timeout_ms, &status,
	    &body, &len);
	if (rc != PA_OK) {
		rc = transport_reason(rc, cfg, st);
		goto out;
	}
	if ((rc = kkt__http_auth(cfg, status, st)) != PA_OK)
		goto out;
	if (status != 201 && status != 200) {
		kkt__reason(st, "KKT adapter at %s answered HTTP %ld to POST %s%s; "
		    "imports stay refused until it accepts the query", cfg->url,
		    status, ATOL_PATH, status == 409 ? " (task uuid already "
		    "used)" : "");
		rc = PA_EKKT_UNREACHABLE;
		goto out;
	}
	for (;;) {
		if ((left = deadline - hal_sys.mono_ms()) <= 0)
			break;
		rc = kkt__http_do(h, "GET", get_path, NULL, (long)left, &status,
		    &body, &len);
		if (rc != PA_OK) {
			rc = transport_reason(rc, cfg, st);
			goto out;
		}
		if ((rc = kkt__http_auth(cfg, status, st)) != PA_OK)
			goto out;
		if (status != 200) {
			kkt__reason(st, "KKT adapter at %s answered HTTP %ld to "
			    "GET %s/%s; imports stay refused until it reports the "
			    "task", cfg->url, status, ATOL_PATH, uuid);
			rc = PA_EKKT_UNREACHABLE;
			goto out;
		}
		rc = kkt__atol_parse_result(body, len, cfg->url, st, &again);
		if (!again)
			goto out;
		if ((left = deadline - hal_sys.mono_ms()) <= 0)
			break;
		/* hal_sleep_ms wakes early when the daemon is told to stop: the
		 * check ends refused rather than delaying shutdown. */
		if (hal_sleep_ms(pause < left ? pause : left) != PA_OK) {
			kkt__reason(st, "KKT check at %s interrupted by a stop "
			    "request", cfg->url);
			rc = PA_EKKT_UNREACHABLE;
			goto out;
		}
		pause = pause * 2 < KKT_ATOL_POLL_MAX_MS ? pause * 2 : KKT_ATOL_POLL_MAX_MS;
	}
	/* Budget spent while the task was queued or running. */
	if (st->reason[0] == '\0')
		kkt__reason(st, "KKT adapter at %s: the ATOL task did not finish",
		    cfg->url);
	memcpy(last, st->reason, sizeof(last));
	kkt__reason(st, "%s after %ld ms ([kkt] timeout_ms); the KKT is busy or "
	    "not connected to the driver, retry later", last, cfg->timeout_ms);
	rc = PA_EKKT_UNREACHABLE;
out:
	kkt__http_close(h);
	return rc;
}

const struct kkt__backend kkt__atol = {
	KKT_BACKEND_ATOL, "atol", "http://127.0.0.1:16732", atol_check,
};

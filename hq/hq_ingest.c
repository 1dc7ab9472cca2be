/* hq_ingest — see hq_ingest.h. */
#include "hq/hq_ingest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hq/hq_store.h"

static int __attribute__((format(printf, 3, 4)))
refuse(struct hq_ingest_result *res, int status, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	return PA_OK;
}

/* A store error becomes an answer the agent acts on: 429 (slow, retry
 * after a while), 503 (retry with backoff). */
static int
store_failed(struct hq_ingest_result *res, int rc)
{
	if (rc == PA_ENOMEM)
		return rc;
	return refuse(res, rc == PA_ETIMEOUT ? 429 : 503, "%s", pa_err_msg(rc));
}

/* Parse the body: a JSON object whose agent_id is the URL's. */
static json_t *
load_doc(const char *agent, const char *body, size_t len,
    struct hq_ingest_result *res)
{
	json_error_t jerr;
	json_t *doc;
	const char *aid;

	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		refuse(res, 400, "body is not JSON: %s (line %d column %d)",
		    jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(doc)) {
		refuse(res, 400, "body is not a JSON object");
		goto bad;
	}
	aid = json_string_value(json_object_get(doc, "agent_id"));
	if (aid == NULL) {
		refuse(res, 400, "agent_id: missing or not a string");
		goto bad;
	}
	if (strcmp(aid, agent) != 0) {
		refuse(res, 400, "agent_id '%.64s' does not match the URL's '%s'",
		    aid, agent);
		goto bad;
	}
	return doc;
bad:
	json_decref(doc);
	return NULL;
}

static int
ts_ok(json_t *v, char out[32])
{
	const char *s = json_string_value(v);
	int64_t t;

	if (s == NULL || strlen(s) > HQ_MAX_TS_LEN || hal_iso_parse(s, &t) != PA_OK ||
	    t < HQ_TS_MIN_MS || t >= HQ_TS_MAX_MS)
		return 0;
	hal_iso_ms(t, out);
	return 1;
}

static int
type_ok(const char *t)
{
	size_t i;

	for (i = 0; t[i]; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || t[i] == '_'))
			return 0;
	return i > 0 && i <= HQ_MAX_TYPE_LEN;
}

/* The fields the derived views need; anything more is kept as sent. */
static int
data_ok(const struct hq_event *e, int i, struct hq_ingest_result *res)
{
	static const char *job_str[] = { "uuid", "name", "state" };
	static const char *log_str[] = { "job_uuid", "level", "message" };
	json_t *v;
	size_t k;

	if (strcmp(e->type, "job") == 0) {
		for (k = 0; k < 3; k++) {
			v = json_object_get(e->data, job_str[k]);
			if (!json_is_string(v) || json_string_length(v) == 0 ||
			    json_string_length(v) > 200)
				return refuse(res, 400, "events[%d] (seq %lld): "
				    "data.%s: missing or not a non-empty string",
				    i, (long long)e->seq, job_str[k]), 0;
		}
	} else if (strcmp(e->type, "log") == 0) {
		for (k = 0; k < 3; k++) {
			v = json_object_get(e->data, log_str[k]);
			if (!json_is_string(v))
				return refuse(res, 400, "events[%d] (seq %lld): "
				    "data.%s: missing or not a string", i,
				    (long long)e->seq, log_str[k]), 0;
		}
		v = json_object_get(e->data, "row_number");
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return refuse(res, 400, "events[%d] (seq %lld): "
			    "data.row_number: missing or not an integer >= 0", i,
			    (long long)e->seq), 0;
		v = json_object_get(e->data, "row_data");
		if (v && !json_is_object(v) && !json_is_null(v))
			return refuse(res, 400, "events[%d] (seq %lld): "
			    "data.row_data: not an object or null", i,
			    (long long)e->seq), 0;
	}
	return 1;
}

void
hq_batch_free(struct hq_batch *b)
{
	if (b == NULL)
		return;
	json_decref(b->doc);
	pa_free(b->ev);
	pa_free(b);
}

int
hq_ingest_parse(const char *agent, const char *body, size_t len,
    struct hq_batch **out, struct hq_ingest_result *res)
{
	struct hq_batch *b = NULL;
	struct hq_event *ev;
	json_t *evs, *e, *v;
	size_t n, i;
	int64_t last = 0;
	int rc = PA_OK;

	*out = NULL;
	memset(res, 0, sizeof(*res));
	if (len > HQ_MAX_EVENTS_BODY) {
		refuse(res, 413, "body larger than %u bytes: send smaller batches",
		    HQ_MAX_EVENTS_BODY);
		return PA_OK;
	}
	if ((b = pa_calloc(1, sizeof(*b))) == NULL)
		return PA_ENOMEM;
	if ((b->doc = load_doc(agent, body, len, res)) == NULL)
		goto out;
	evs = json_object_get(b->doc, "events");
	if (!json_is_array(evs)) {
		refuse(res, 400, "events: missing or not an array");
		goto out;
	}
	if ((n = json_array_size(evs)) > HQ_MAX_BATCH_EVENTS) {
		refuse(res, 413, "batch of %zu events: at most %d per request",
		    n, HQ_MAX_BATCH_EVENTS);
		goto out;
	}
	if (n && (b->ev = pa_calloc(n, sizeof(*b->ev))) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	ev = b->ev;
	json_array_foreach(evs, i, e) {
		if (!json_is_object(e)) {
			refuse(res, 400, "events[%zu]: not an object", i);
			goto out;
		}
		v = json_object_get(e, "seq");
		if (!json_is_integer(v) || json_integer_value(v) <= last) {
			refuse(res, 400, "events[%zu].seq: missing, not an integer, "
			    "or not above the previous one (%lld)", i,
			    (long long)last);
			goto out;
		}
		ev[i].seq = last = json_integer_value(v);
		ev[i].type = json_string_value(json_object_get(e, "type"));
		if (ev[i].type == NULL || !type_ok(ev[i].type)) {
			refuse(res, 400, "events[%zu] (seq %lld).type: missing or "
			    "not a word", i, (long long)last);
			goto out;
		}
		if (!ts_ok(json_object_get(e, "ts"), ev[i].ts)) {
			refuse(res, 400, "events[%zu] (seq %lld).ts: missing or not "
			    "YYYY-MM-DDTHH:MM:SS[.mmm]Z of years 2000-2999", i,
			    (long long)last);
			goto out;
		}
		ev[i].data = json_object_get(e, "data");
		if (!json_is_object(ev[i].data)) {
			refuse(res, 400, "events[%zu] (seq %lld).data: missing or "
			    "not an object", i, (long long)last);
			goto out;
		}
		if (!data_ok(&ev[i], (int)i, res))
			goto out;
	}
	b->n = (int)n;
	*out = b;
	b = NULL; /* transferred */
out:
	hq_batch_free(b);
	return rc;
}

int
hq_ingest_events(hq_db *db, const char *agent, const char *body, size_t len,
    int64_t now_ms, struct hq_ingest_result *res)
{
	struct hq_batch *b = NULL;
	int rc;

	if ((rc = hq_ingest_parse(agent, body, len, &b, res)) != PA_OK ||
	    b == NULL)
		return rc;
	rc = hq_store_ingest(db, agent, b->ev, b->n, now_ms, &res->ack,
	    &res->fresh);
	/* A lost PostgreSQL session (a restart, pg_terminate_backend) took
	 * the batch's transaction with it, and the connection has a new
	 * session by now: one more try there, so the agent is not sent into
	 * a backoff. Had the COMMIT gone through before the loss, the ledger
	 * counts the batch once on the retry too. */
	if (rc == PA_EIO)
		rc = hq_store_ingest(db, agent, b->ev, b->n, now_ms, &res->ack,
		    &res->fresh);
	if (rc != PA_OK)
		rc = store_failed(res, rc);
	else
		res->status = 200;
	hq_batch_free(b);
	return rc;
}

/* The gate as the heartbeat shows it. The agent's own account
 * (kkt.refusing: null, or {"since", "refusals", ...}; docs/hq-sync.md)
 * wins; an agent that does not send one is refusing while its KKT verdict
 * says imports would be refused. */
static void
gate_of(json_t *doc, int *refusing, int64_t *since, int64_t *refusals)
{
	json_t *kkt = json_object_get(doc, "kkt"), *g, *v;
	const char *verdict, *backend;

	*refusing = 0;
	*since = 0;
	*refusals = -1;
	if (!json_is_object(kkt))
		return;
	g = json_object_get(kkt, "refusing");
	if (json_is_null(g)) {
		*refusals = 0;
		return;
	}
	if (json_is_object(g)) {
		*refusing = 1;
		v = json_object_get(g, "refusals");
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			*refusals = json_integer_value(v);
		v = json_object_get(g, "since");
		if (!json_is_string(v) || hal_iso_parse(json_string_value(v), since) !=
		    PA_OK)
			*since = 0;
		return;
	}
	verdict = json_string_value(json_object_get(kkt, "verdict"));
	backend = json_string_value(json_object_get(kkt, "backend"));
	if (verdict)
		*refusing = strcmp(verdict, "not_synced") == 0 ||
		    strcmp(verdict, "unreachable") == 0 ||
		    strcmp(verdict, "config_error") == 0;
	else
		*refusing = json_is_false(json_object_get(kkt, "synced")) &&
		    !(backend && strcmp(backend, "none") == 0);
}

int
hq_ingest_heartbeat(const char *agent, const char *body, size_t len,
    int64_t now_ms, struct hq_hb_row *out, struct hq_ingest_result *res)
{
	static const char *opt[] = { "version", "hq_state", "ts" };
	json_t *doc = NULL, *v;
	int rc = PA_OK;
	size_t i;

	memset(res, 0, sizeof(*res));
	memset(out, 0, sizeof(*out));
	if (len > HQ_MAX_HEARTBEAT_BODY) {
		refuse(res, 413, "heartbeat larger than %u bytes",
		    HQ_MAX_HEARTBEAT_BODY);
		goto out;
	}
	if ((doc = load_doc(agent, body, len, res)) == NULL)
		goto out;
	for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		v = json_object_get(doc, opt[i]);
		if (v && !json_is_string(v) && !json_is_null(v)) {
			refuse(res, 400, "%s: not a string", opt[i]);
			goto out;
		}
	}
	if ((v = json_object_get(doc, "kkt")) && !json_is_object(v) &&
	    !json_is_null(v)) {
		refuse(res, 400, "kkt: not an object");
		goto out;
	}
	if ((v = json_object_get(doc, "outbox")) && !json_is_object(v)) {
		refuse(res, 400, "outbox: not an object");
		goto out;
	}
	if ((v = json_object_get(doc, "jobs")) && !json_is_object(v) &&
	    !json_is_null(v)) {
		refuse(res, 400, "jobs: not an object");
		goto out;
	}
	if ((v = json_object_get(doc, "disk_free_bytes")) && !json_is_integer(v)) {
		refuse(res, 400, "disk_free_bytes: not an integer");
		goto out;
	}
	gate_of(doc, &out->refusing, &out->since_ms, &out->refusals);
	out->dead_letters = json_integer_value(json_object_get(json_object_get(
	    doc, "outbox"), "dead_letters"));
	out->now_ms = now_ms;
	out->keep_db_since = 1;
	snprintf(out->agent, sizeof(out->agent), "%s", agent);
	if ((out->doc = json_dumps(doc, JSON_COMPACT)) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	res->status = 200;
out:
	json_decref(doc);
	return rc;
}

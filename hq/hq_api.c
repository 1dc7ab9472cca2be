/* hq_api — see hq_api.h. */
#include "hq/hq_api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hq/hq_ingest.h"
#include "hq/hq_store.h"

static json_t *
err_doc(const char *msg)
{
	return json_pack("{s:s}", "error", msg);
}

static json_t *
iso_or_null(int64_t ms)
{
	char b[32];

	if (ms <= 0)
		return json_null();
	hal_iso_ms(ms, b);
	return json_string(b);
}

/* A stored JSON text back as a value (null when absent or damaged). */
static json_t *
parse(const char *s)
{
	json_t *v = s ? json_loads(s, 0, NULL) : NULL;

	return v ? v : json_null();
}

static json_t *
copy_or_null(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return v ? json_deep_copy(v) : json_null();
}

json_t *
hq_api_agent_obj(const hq_rows *a, int row, const hq_rows *latest,
    int64_t now_ms, int offline_after_s)
{
	const char *id = hq_rows_text(a, row, 0);
	int64_t seen = hq_rows_int(a, row, 1);
	json_t *hb = parse(hq_rows_text(a, row, 2)), *o = NULL, *ob, *jobs, *run;
	json_t *done = json_null(), *failed = json_null(), *running = NULL;
	int i;

	for (i = 0; i < hq_rows_count(latest); i++) {
		const char *st = hq_rows_text(latest, i, 1);
		if (strcmp(hq_rows_text(latest, i, 0), id) != 0)
			continue;
		if (strcmp(st, "done") == 0) {
			json_decref(done);
			done = parse(hq_rows_text(latest, i, 2));
		} else if (strcmp(st, "failed") == 0) {
			json_decref(failed);
			failed = parse(hq_rows_text(latest, i, 2));
		} else if (running == NULL) {
			running = parse(hq_rows_text(latest, i, 2));
		}
	}
	ob = json_object_get(hb, "outbox");
	jobs = json_object_get(hb, "jobs");
	/* Running: the job HQ knows is running, with the progress of the
	 * latest heartbeat when it reports one (snapshots come at state
	 * changes, heartbeats every 30 s). */
	run = json_null();
	if (running && json_is_object(running)) {
		json_t *pp = json_object_get(jobs, "progress_percent");
		run = json_pack("{s:O?,s:O?}", "job", json_object_get(running, "name"),
		    "progress_percent", json_is_number(pp) &&
		    json_integer_value(json_object_get(jobs, "running")) > 0 ? pp :
		    json_object_get(running, "progress_percent"));
	} else if (json_integer_value(json_object_get(jobs, "running")) > 0) {
		run = json_pack("{s:n,s:O?}", "job", "progress_percent",
		    json_object_get(jobs, "progress_percent"));
	}
	o = json_pack("{s:s,s:b,s:o,s:o,s:o,s:o,s:{s:o,s:o,s:o},s:o,s:o,s:o,"
	    "s:I,s:I,s:o,s:o,s:b,s:o}",
	    "id", id,
	    "online", seen > 0 && now_ms - seen <= (int64_t)offline_after_s * 1000,
	    "last_seen", iso_or_null(seen),
	    "version", copy_or_null(hb, "version"),
	    "hq_state", copy_or_null(hb, "hq_state"),
	    "kkt", copy_or_null(hb, "kkt"),
	    "outbox", "depth", copy_or_null(ob, "depth"),
	    "oldest_ts", copy_or_null(ob, "oldest_ts"),
	    "dead_letters", json_integer(hq_rows_int(a, row, 5)),
	    "last_done", done,
	    "last_failed", failed,
	    "gate_refusing_since", iso_or_null(hq_rows_int(a, row, 3)),
	    "gate_refusals", (json_int_t)hq_rows_int(a, row, 4),
	    "dead_letters", (json_int_t)hq_rows_int(a, row, 5),
	    "disk_free_bytes", copy_or_null(hb, "disk_free_bytes"),
	    "running", run,
	    "registered_on_first_contact", hq_rows_int(a, row, 6) != 0,
	    "uptime_s", copy_or_null(hb, "uptime_s"));
	json_decref(running);
	json_decref(hb);
	return o;
}

static int
query_int(const char *s, long lo, long hi, long dflt, long *out)
{
	char *end;
	long v;

	*out = dflt;
	if (s == NULL)
		return 1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return 0;
	*out = v;
	return 1;
}

/* since/until as the agent writes dates, so text comparison orders them. */
static int
query_iso(const char *s, char out[32], const char **res)
{
	int64_t t;

	*res = NULL;
	if (s == NULL)
		return 1;
	if (strlen(s) > 40 || hal_iso_parse(s, &t) != PA_OK ||
	    t < HQ_TS_MIN_MS || t >= HQ_TS_MAX_MS)
		return 0;
	hal_iso_ms(t, out);
	*res = out;
	return 1;
}

static unsigned
store_err(int rc, json_t **out)
{
	*out = err_doc(pa_err_msg(rc));
	return rc == PA_ETIMEOUT ? 429 : 503;
}

static unsigned
fleet(hq_db *db, const struct hq_api_query *q, json_t **out)
{
	hq_rows *a = NULL, *l = NULL;
	json_t *arr = NULL, *o;
	int64_t now = hal_sys.now_ms();
	int i, rc;

	if ((rc = hq_store_agents(db, NULL, &a, &l)) != PA_OK)
		return store_err(rc, out);
	arr = json_array();
	for (i = 0; arr && i < hq_rows_count(a); i++)
		if ((o = hq_api_agent_obj(a, i, l, now, q->offline_after_s)) == NULL ||
		    json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	hq_rows_free(a);
	hq_rows_free(l);
	*out = arr ? json_pack("{s:o,s:o}", "now", iso_or_null(now), "agents",
	    arr) : NULL;
	return *out ? 200 : 503;
}

static unsigned
agent(hq_db *db, const struct hq_api_query *q, json_t **out)
{
	hq_rows *a = NULL, *l = NULL, *j = NULL;
	char since[32], until[32];
	const char *s = NULL, *u = NULL;
	json_t *jobs = NULL, *ag;
	int i, rc;

	if (q->state && (strlen(q->state) > 16 || !q->state[0])) {
		*out = err_doc("state: draft, running, done, failed, cancelled or "
		    "reverted");
		return 400;
	}
	if (!query_iso(q->since, since, &s) || !query_iso(q->until, until, &u)) {
		*out = err_doc("since/until: YYYY-MM-DDTHH:MM:SS[.mmm]Z");
		return 400;
	}
	if ((rc = hq_store_agents(db, q->id, &a, &l)) != PA_OK)
		return store_err(rc, out);
	if (hq_rows_count(a) != 1) {
		hq_rows_free(a);
		hq_rows_free(l);
		*out = err_doc("no such agent");
		return 404;
	}
	ag = hq_api_agent_obj(a, 0, l, hal_sys.now_ms(), q->offline_after_s);
	hq_rows_free(a);
	hq_rows_free(l);
	if ((rc = hq_store_jobs(db, q->id, q->state, s, u, HQ_API_MAX_JOBS, &j)) !=
	    PA_OK) {
		json_decref(ag);
		return store_err(rc, out);
	}
	jobs = json_array();
	for (i = 0; jobs && i < hq_rows_count(j); i++)
		json_array_append_new(jobs, parse(hq_rows_text(j, i, 0)));
	hq_rows_free(j);
	*out = json_pack("{s:o?,s:o?}", "agent", ag, "jobs", jobs);
	return *out ? 200 : 503;
}

static unsigned
job(hq_db *db, const struct hq_api_query *q, json_t **out)
{
	hq_rows *j = NULL, *lg = NULL;
	json_t *entries, *e;
	long page, size;
	int64_t total = 0;
	int i, rc;

	if (!query_int(q->page, 1, 1000000, 1, &page) ||
	    !query_int(q->page_size, 1, HQ_API_MAX_PAGE_SIZE, 50, &size)) {
		*out = err_doc("page: integer >= 1; page_size: 1 to 500");
		return 400;
	}
	if (q->level && strcmp(q->level, "info") != 0 &&
	    strcmp(q->level, "warning") != 0 && strcmp(q->level, "error") != 0) {
		*out = err_doc("level: info, warning or error");
		return 400;
	}
	if ((rc = hq_store_job(db, q->id, q->uuid, &j)) != PA_OK)
		return store_err(rc, out);
	if (hq_rows_count(j) != 1) {
		hq_rows_free(j);
		*out = err_doc("no such job");
		return 404;
	}
	if ((rc = hq_store_log(db, q->id, q->uuid, q->level,
	    (int64_t)(page - 1) * size, (int)size, &lg, &total)) != PA_OK) {
		hq_rows_free(j);
		return store_err(rc, out);
	}
	entries = json_array();
	for (i = 0; entries && i < hq_rows_count(lg); i++) {
		e = json_pack("{s:s?,s:s?,s:I,s:o,s:s?}",
		    "level", hq_rows_text(lg, i, 0),
		    "message", hq_rows_text(lg, i, 1),
		    "row_number", (json_int_t)hq_rows_int(lg, i, 2),
		    "row_data", parse(hq_rows_text(lg, i, 3)),
		    "ts", hq_rows_text(lg, i, 4));
		if (e)
			json_array_append_new(entries, e);
	}
	*out = json_pack("{s:o,s:{s:I,s:I,s:I,s:o?}}",
	    "job", parse(hq_rows_text(j, 0, 0)),
	    "log", "page", (json_int_t)page, "page_size", (json_int_t)size,
	    "total", (json_int_t)total, "entries", entries);
	hq_rows_free(j);
	hq_rows_free(lg);
	return *out ? 200 : 503;
}

unsigned
hq_api_get(hq_db *db, enum hq_api_what w, const struct hq_api_query *q,
    json_t **out)
{
	*out = NULL;
	switch (w) {
	case HQ_API_FLEET:
		return fleet(db, q, out);
	case HQ_API_AGENT:
		return agent(db, q, out);
	case HQ_API_JOB:
		return job(db, q, out);
	}
	*out = err_doc("no such endpoint"); /* cannot happen */
	return 404;
}

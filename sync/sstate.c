/* sstate — the sync loop's persisted state and the heartbeat/status
 * document (DESIGN §7). */
#include <stdio.h>
#include <string.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "sync/sync_int.h"

static void
copy_str(json_t *doc, const char *key, char *dst, size_t cap)
{
	const char *v = json_string_value(json_object_get(doc, key));

	snprintf(dst, cap, "%s", v ? v : "");
}

static unsigned
get_uint(json_t *doc, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(doc, key));

	return v > 0 && v < 1000000 ? (unsigned)v : 0;
}

int
sync__state_load(syncer *s)
{
	char buf[SYNC_STATE_MAX];
	json_t *doc = NULL;
	unsigned long nofail;
	int rc;

	memset(&s->st, 0, sizeof(s->st));
	memset(&s->hy, 0, sizeof(s->hy));
	if ((rc = outbox_state_get(s->ob, "sync", buf, sizeof(buf))) != PA_OK) {
		/* Too long can only mean a foreign write: start afresh. */
		if (rc == PA_ELIMIT)
			rc = PA_OK;
		return rc;
	}
	if (buf[0] == '\0')
		goto out;
	nofail = pa_mem_failures();
	/* Out of memory is not "no state": an empty state would be written
	 * back over the real one at the next save. jansson reports an
	 * allocation failure as a parse error, hence the counter. */
	if ((doc = json_loads(buf, 0, NULL)) == NULL &&
	    pa_mem_failures() != nofail) {
		rc = PA_ENOMEM;
		goto out;
	}
	/* Anything else unreadable is a foreign write: start afresh. */
	if (doc == NULL || !json_is_object(doc))
		goto out;
	s->hy.online = json_is_string(json_object_get(doc, "hq_state")) &&
	    strcmp(json_string_value(json_object_get(doc, "hq_state")),
	    "online") == 0;
	s->hy.oks = get_uint(doc, "oks");
	s->hy.fails = get_uint(doc, "fails");
	copy_str(doc, "since", s->st.since, sizeof(s->st.since));
	copy_str(doc, "last_ok", s->st.last_ok, sizeof(s->st.last_ok));
	copy_str(doc, "last_error", s->st.last_error, sizeof(s->st.last_error));
	copy_str(doc, "last_error_code", s->st.last_error_code,
	    sizeof(s->st.last_error_code));
	copy_str(doc, "last_error_at", s->st.last_error_at,
	    sizeof(s->st.last_error_at));
	copy_str(doc, "last_heartbeat", s->st.last_heartbeat,
	    sizeof(s->st.last_heartbeat));
	copy_str(doc, "loop_started", s->st.loop_started,
	    sizeof(s->st.loop_started));
	s->st.auth_refused = json_is_true(json_object_get(doc, "auth_refused"));
	snprintf(s->saved, sizeof(s->saved), "%s", buf);
out:
	json_decref(doc);
	return rc;
}

int
sync__state_save(syncer *s)
{
	char buf[SYNC_STATE_MAX];
	unsigned long failed;
	json_t *doc;
	size_t n;
	int rc;

	/* Only the sender writes: a loop locked out by another process holds a
	 * stale copy that would overwrite the sender's. */
	if (s->lock_fd < 0)
		return PA_OK;
	doc = json_pack("{s:s,s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}",
	    "hq_state", s->hy.online ? "online" : "offline",
	    "oks", (int)s->hy.oks, "fails", (int)s->hy.fails,
	    "since", s->st.since, "last_ok", s->st.last_ok,
	    "last_error", s->st.last_error,
	    "last_error_code", s->st.last_error_code,
	    "last_error_at", s->st.last_error_at,
	    "last_heartbeat", s->st.last_heartbeat,
	    "loop_started", s->st.loop_started,
	    "auth_refused", s->st.auth_refused);
	if (doc == NULL)
		return PA_ENOMEM;
	failed = pa_mem_failures();
	n = json_dumpb(doc, buf, sizeof(buf) - 1, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(doc);
	/* Sorting the keys allocates, and json_dumpb says 0 for that too. */
	if (n == 0 && pa_mem_failures() != failed)
		return PA_ENOMEM;
	if (n == 0 || n >= sizeof(buf))
		return pa_err_set(PA_EINTERNAL, "sync state too large"); /* cannot
		    happen: every field is bounded */
	buf[n] = '\0';
	/* An idle loop writes nothing: agent.db runs synchronous=FULL. */
	if (strcmp(buf, s->saved) == 0)
		return PA_OK;
	if ((rc = outbox_state_set(s->ob, "sync", buf)) == PA_OK)
		memcpy(s->saved, buf, n + 1);
	return rc;
}

static json_t *
str_or_null(const char *v)
{
	return v && v[0] ? json_string(v) : json_null();
}

static json_t *
hook(json_t *(*fn)(void *), void *arg)
{
	json_t *j = fn ? fn(arg) : NULL;

	return j ? j : json_null();
}

/* The "sync" object of `posagent status`: what a technician needs when HQ
 * calls ("why are my events not arriving?"). */
static json_t *
status_extra(syncer *s, const struct outbox_stats *ob)
{
	json_t *dead = NULL, *o;

	if (outbox_dead_json(s->ob, 5, &dead) != PA_OK)
		dead = json_array();
	o = json_pack("{s:b,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:I,s:o}",
	    "enabled", s->o.hq->url[0] != '\0',
	    "hq_url", s->o.hq->url,
	    "hq_state_since", str_or_null(s->st.since),
	    "last_ok", str_or_null(s->st.last_ok),
	    "last_error", str_or_null(s->st.last_error),
	    "last_error_code", str_or_null(s->st.last_error_code),
	    "last_error_at", str_or_null(s->st.last_error_at),
	    "last_heartbeat", str_or_null(s->st.last_heartbeat),
	    "loop_started", str_or_null(s->st.loop_started),
	    "auth_refused", s->st.auth_refused,
	    "outbox_cap", (json_int_t)ob->cap,
	    "dead_letters_recent", dead ? dead : json_array());
	return o;
}

int
sync__doc(syncer *s, int for_status, json_t **out)
{
	struct outbox_stats ob;
	char now[32];
	int64_t up = (hal_sys.mono_ms() - s->started_ms) / 1000, t;
	json_t *doc = NULL, *extra;
	int rc;

	*out = NULL;
	if ((rc = outbox_stats(s->ob, &ob)) != PA_OK)
		return rc;
	hal_now_iso(now);
	if (for_status) {
		/* The status command is not the agent: report the running loop's
		 * uptime (0 when none is running). */
		up = 0;
		if (s->st.loop_started[0] &&
		    hal_iso_parse(s->st.loop_started, &t) == PA_OK &&
		    hal_sys.now_ms() > t)
			up = (hal_sys.now_ms() - t) / 1000;
	}
	doc = json_pack("{s:s,s:s,s:s,s:I,s:o,s:{s:I,s:o,s:I,s:I},s:o,s:I,s:s}",
	    "agent_id", s->o.agent_id,
	    "version", s->o.version,
	    "ts", now,
	    "uptime_s", (json_int_t)up,
	    "kkt", hook(s->o.hooks.kkt_json, s->o.hooks.arg),
	    "outbox",
	    "depth", (json_int_t)ob.depth,
	    "oldest_ts", str_or_null(ob.oldest_ts),
	    "dropped_log_events", (json_int_t)ob.dropped,
	    "dead_letters", (json_int_t)ob.dead,
	    "jobs", hook(s->o.hooks.jobs_json, s->o.hooks.arg),
	    "disk_free_bytes", (json_int_t)hal_disk_free(s->o.data_dir),
	    "hq_state", s->hy.online ? "online" : "offline");
	if (doc == NULL)
		return PA_ENOMEM;
	if (for_status) {
		if ((extra = status_extra(s, &ob)) == NULL ||
		    json_object_set_new(doc, "sync", extra) != 0) {
			json_decref(doc);
			return PA_ENOMEM;
		}
	}
	*out = doc;
	return PA_OK;
}

int
syncer_status_json(syncer *s, json_t **out)
{
	return sync__doc(s, 1, out);
}

int
syncer_heartbeat_json(syncer *s, json_t **out)
{
	return sync__doc(s, 0, out);
}

/* job — the job state machine, its transactions and its events to HQ (see
 * job.h). How a job is stored is agent/store/adb_job.c. */
#include "agent/import/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

int
job_transition_ok(enum job_state from, enum job_state to)
{
	switch (to) {
	case JOB_RUNNING:
		return from == JOB_DRAFT;
	case JOB_DONE:
	case JOB_FAILED:
		return from == JOB_RUNNING;
	case JOB_CANCELLED:
		return from == JOB_DRAFT || from == JOB_RUNNING;
	case JOB_DRAFT:
		return from == JOB_FAILED || from == JOB_CANCELLED;
	case JOB_REVERTED:
		return from == JOB_DONE;
	default:
		return 0;
	}
}

static json_t *
str_or_null(const char *s)
{
	return (s && *s) ? json_string(s) : json_null();
}

json_t *
job_to_json(const struct job *j)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, "
	    "s:o, s:f, s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:o, s:o, s:s}",
	    "name", j->name, "uuid", j->uuid, "profile", j->profile,
	    "file_name", j->file_name,
	    "file_name_encoding", names_enc_name(j->file_name_enc),
	    "file_sha256", j->sha256,
	    "file_size", (json_int_t)j->file_size,
	    "state", job_state_name(j->state),
	    "start_date", str_or_null(j->start_date),
	    "end_date", str_or_null(j->end_date),
	    "create_date", str_or_null(j->create_date),
	    "duration", j->duration,
	    "total_rows", (int)j->total_rows,
	    "processed_rows", (int)j->processed_rows,
	    "created_count", (int)j->created, "updated_count", (int)j->updated,
	    "skipped_count", (int)j->skipped, "error_count", (int)j->errors,
	    "progress_percent", j->progress,
	    "error_message", str_or_null(j->error_message),
	    "notes", str_or_null(j->notes), "kind", "import"), *ov;

	/* gate_override only where it applies (DESIGN §9); text we wrote. */
	if (o != NULL && j->gate_override != NULL &&
	    ((ov = json_loads(j->gate_override, 0, NULL)) == NULL ||
	    json_object_set_new(o, "gate_override", ov) != 0)) {
		json_decref(o);
		return NULL;
	}
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "unchanged_count", json_integer(j->unchanged));
	json_object_set_new(o, "price_guard", j->price_guard ?
	    json_incref(j->price_guard) : json_null());
	return o;
}

static int
emit_job_event(adb *a, const struct job *j)
{
	json_t *data = job_to_json(j);
	char ts[32];
	int rc;

	if (data == NULL)
		return PA_ENOMEM;
	hal_now_iso(ts);
	rc = outbox_put(adb_outbox(a), "job", ts, data);
	json_decref(data);
	return rc;
}

int
job_reload(adb *a, struct job *j)
{
	int found, rc;

	rc = adbj_find(a, ADBJ_BY_ID, NULL, j->id, j, &found);
	if (rc == PA_OK && !found)
		rc = pa_err_set(PA_ENOTFOUND, "job %s was deleted", j->name);
	return rc;
}

int
job_get(adb *a, const char *ref, struct job **out)
{
	struct job *j = NULL;
	char name[32];
	char *end;
	long n;
	int found = 0, rc;

	*out = NULL;
	if ((j = pa_calloc(1, sizeof(*j))) == NULL)
		return PA_ENOMEM;
	/* Accept "IMP/00042", "imp/42", "42" and the uuid. */
	n = strtol(strncasecmp(ref, "IMP/", 4) == 0 ? ref + 4 : ref, &end, 10);
	if (*ref && *end == '\0' && n > 0 && n < 100000000) {
		snprintf(name, sizeof(name), "IMP/%05ld", n);
		rc = adbj_find(a, ADBJ_BY_NAME, name, 0, j, &found);
	} else {
		rc = adbj_find(a, ADBJ_BY_UUID, ref, 0, j, &found);
	}
	if (rc == PA_OK && !found)
		rc = pa_err_set(PA_ENOTFOUND, "no job '%s' (see: posagent job list)",
		    ref);
	if (rc == PA_OK) {
		*out = j;
		j = NULL; /* transferred */
	}
	job_free(j);
	return rc;
}

int
job_create(adb *a, const char *profile, const char *file_name,
    const char *sha256, int64_t size, struct job **out)
{
	struct job *j = NULL;
	char uuid[37], now[32], *shown = NULL;
	enum names_enc enc;
	int rc;

	*out = NULL;
	if ((rc = hal_uuid4(uuid)) != PA_OK)
		return rc;
	/* JSON (HQ, --json) and SQLite TEXT need valid UTF-8; the name's
	 * bytes may be CP1251, Latin-1 or junk (issue #9). */
	if ((rc = names_render(file_name, &shown, &enc)) != PA_OK)
		return rc;
	hal_now_iso(now);
	if ((j = pa_calloc(1, sizeof(*j))) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	/* The number, the row and its event commit together. */
	if ((rc = adb_begin(a)) != PA_OK)
		goto out;
	if ((rc = adbj_create(a, uuid, profile, shown, names_enc_name(enc),
	    sha256, size, now, j)) != PA_OK)
		goto out;
	if ((rc = emit_job_event(a, j)) != PA_OK)
		goto out;
	if ((rc = adb_commit(a)) != PA_OK)
		goto out;
	*out = j;
	j = NULL; /* transferred */
out:
	if (rc != PA_OK)
		adb_rollback(a);
	job_free(j);
	pa_free(shown);
	return rc;
}

int
job_save_stats(adb *a, const struct job *j)
{
	/* Counters only, and only while running: the state belongs to
	 * job_transition, which reads it back inside its transaction. Writing
	 * a stale snapshot's state here once turned a settled job back into
	 * a running one (issue #8). */
	return adbj_save_stats(a, j);
}

int
job_transition(adb *a, struct job *j, enum job_state to, const char *msg)
{
	int64_t start = 0, now_ms = hal_sys.now_ms();
	int rc, own_tx = !adb_in_tx(a);
	char *m = NULL;

	if (own_tx && (rc = adb_begin(a)) != PA_OK)
		return rc;
	/* Decide on the state as stored now, not on a stale snapshot; the
	 * caller's counters in j are what gets saved. */
	if ((rc = adbj_state(a, j->id, &j->state)) != PA_OK) {
		if (rc == PA_ENOTFOUND)
			rc = pa_err_set(PA_ENOTFOUND, "job %s was deleted", j->name);
		goto out;
	}
	if (!job_transition_ok(j->state, to)) {
		rc = pa_err_set(PA_ESTATE, "job %s is %s: cannot %s it", j->name,
		    job_state_name(j->state), to == JOB_RUNNING ? "run" :
		    to == JOB_CANCELLED ? "cancel" : to == JOB_DRAFT ? "reset" :
		    "finish");
		goto out;
	}
	if (msg && (m = pa_strdup(msg)) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	if (to == JOB_RUNNING) {
		hal_iso_ms(now_ms, j->start_date);
		j->end_date[0] = '\0';
		j->duration = 0;
		j->progress = 0;
	} else if (to != JOB_DRAFT) {
		hal_iso_ms(now_ms, j->end_date);
		if (j->start_date[0] && hal_iso_parse(j->start_date, &start) == PA_OK)
			j->duration = (double)(now_ms - start) / 1000.0;
		if (to == JOB_DONE)
			j->progress = 100;
	}
	if (m) {
		pa_free(j->error_message);
		j->error_message = m;
		m = NULL; /* transferred */
	}
	j->state = to;
	if ((rc = adbj_save(a, j, to != JOB_RUNNING)) != PA_OK)
		goto out;
	if (to == JOB_DONE && (rc = adbj_count_rows(a, j->id)) != PA_OK)
		goto out;
	if ((rc = emit_job_event(a, j)) != PA_OK)
		goto out;
	if (own_tx)
		rc = adb_commit(a);
out:
	pa_free(m);
	if (rc != PA_OK && own_tx)
		adb_rollback(a);
	return rc;
}

int
job_reset(adb *a, struct job *j)
{
	int rc;

	if ((rc = adb_begin(a)) != PA_OK)
		return rc;
	if ((rc = job_reload(a, j)) != PA_OK)
		goto out;
	if (!job_transition_ok(j->state, JOB_DRAFT)) {
		rc = pa_err_set(PA_ESTATE, "job %s is %s: only failed or cancelled "
		    "jobs can be reset", j->name, job_state_name(j->state));
		goto out;
	}
	if ((rc = adbj_reset(a, j->id)) != PA_OK)
		goto out;
	if ((rc = job_reload(a, j)) != PA_OK)
		goto out;
	if ((rc = job_transition(a, j, JOB_DRAFT, NULL)) != PA_OK)
		goto out;
	rc = adb_commit(a);
out:
	if (rc != PA_OK)
		adb_rollback(a);
	return rc;
}

int
job_set_gate_override(adb *a, struct job *j, const json_t *ov)
{
	char text[8192], *dup = NULL;
	size_t n = json_dumpb(ov, text, sizeof(text) - 1, JSON_COMPACT);
	int rc;

	/* The adapter's answer inside is bounded (kkt_status): n fits. */
	if (n == 0 || n >= sizeof(text) - 1 || (dup = pa_strndup(text, n)) == NULL)
		return pa_err_set(PA_ENOMEM, "cannot record the gate override");
	if ((rc = adbj_set_gate_override(a, j->id, dup, n)) == PA_OK) {
		pa_free(j->gate_override);
		j->gate_override = dup;
		dup = NULL;     /* transferred */
	}
	pa_free(dup);
	return rc;
}

int
job_mark_dry_run(adb *a, struct job *j)
{
	return adbj_mark_dry_run(a, j->id);
}

int
job_cancel_requested(adb *a, const struct job *j, int *flag)
{
	return adbj_cancel_flag(a, j->id, flag);
}

int
job_cancel(adb *a, struct job *j, int *running)
{
	int rc;

	*running = 0;
	/* Decide on the state inside the write transaction: a draft that a
	 * runner starts meanwhile must get the flag, not a direct cancel
	 * while its import commits. */
	if ((rc = adb_begin(a)) != PA_OK)
		return rc;
	if ((rc = job_reload(a, j)) != PA_OK)
		goto out;
	if (j->state == JOB_RUNNING) {
		*running = 1;
		rc = adbj_request_cancel(a, j->id);
	} else {
		rc = job_transition(a, j, JOB_CANCELLED, "cancelled by request");
	}
	if (rc == PA_OK)
		rc = adb_commit(a);
out:
	if (rc != PA_OK)
		adb_rollback(a);
	return rc;
}

int
job_log(adb *a, const struct job *j, enum job_level lvl, long row,
    const char *msg, const json_t *row_data)
{
	json_t *ev = NULL;
	char *rd = NULL, ts[32];
	int rc;

	hal_now_iso(ts);
	if (row_data && (rd = json_dumps(row_data, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		return PA_ENOMEM;
	if ((rc = adbj_log(a, j->id, lvl, row, msg, rd, ts)) != PA_OK)
		goto out;
	ev = json_pack("{s:s, s:s, s:s, s:I, s:s, s:O?}", "job", j->name,
	    "job_uuid", j->uuid, "level", job_level_name(lvl), "row_number",
	    (json_int_t)row, "message", msg, "row_data", row_data);
	if (ev == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	rc = outbox_put(adb_outbox(a), "log", ts, ev);
out:
	json_decref(ev);
	pa_free(rd); /* jansson allocates through pa_mem */
	return rc;
}

int
job_delete(adb *a, struct job *j)
{
	int rc;

	if ((rc = adb_begin(a)) != PA_OK)
		return rc;
	if ((rc = job_reload(a, j)) != PA_OK)
		goto out;
	if (j->state == JOB_RUNNING) {
		rc = pa_err_set(PA_ESTATE, "job %s is running: cancel it first",
		    j->name);
		goto out;
	}
	if ((rc = adbj_delete(a, j->id)) != PA_OK)
		goto out;
	rc = adb_commit(a);
out:
	if (rc != PA_OK)
		adb_rollback(a);
	return rc;
}

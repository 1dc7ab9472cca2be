#include "agent/import/job.h"
#include "agent/import/job_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/sqlx.h"
#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

static const char *const state_names[JOB_NSTATES] = {
	"draft", "running", "done", "failed", "cancelled", "reverted"
};
static const char *const level_names[] = { "info", "warning", "error" };


const char *
job_state_name(enum job_state s)
{
	return (unsigned)s < JOB_NSTATES ? state_names[s] : "?";
}

int
job_state_parse(const char *s, enum job_state *out)
{
	int i;

	for (i = 0; i < JOB_NSTATES; i++)
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum job_state)i;
			return PA_OK;
		}
	return pa_err_set(PA_EUSAGE, "unknown job state '%s': use draft, running, "
	    "done, failed, cancelled or reverted", s);
}

const char *
job_level_name(enum job_level l)
{
	return level_names[l];
}

int
job_level_parse(const char *s, enum job_level *out)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum job_level)i;
			return PA_OK;
		}
	return pa_err_set(PA_EUSAGE, "unknown log level '%s': use info, warning "
	    "or error", s);
}

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

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	pa_free(j->profile);
	pa_free(j->file_name);
	pa_free(j->error_message);
	pa_free(j->notes);
	pa_free(j->gate_override);
	json_decref(j->price_guard);
	pa_free(j);
}

static void
col_copy(sqlite3_stmt *st, int i, char *buf, size_t n)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(buf, n, "%s", s ? (const char *)s : "");
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? pa_strdup((const char *)s) : NULL;
}

int
job__from_row(sqlite3_stmt *st, struct job *j)
{
	enum job_state s = JOB_DRAFT;

	pa_free(j->profile);
	pa_free(j->file_name);
	pa_free(j->error_message);
	pa_free(j->notes);
	pa_free(j->gate_override);
	j->id = sqlite3_column_int64(st, 0);
	col_copy(st, 1, j->name, sizeof(j->name));
	col_copy(st, 2, j->uuid, sizeof(j->uuid));
	j->profile = col_dup(st, 3);
	j->file_name = col_dup(st, 4);
	col_copy(st, 5, j->sha256, sizeof(j->sha256));
	j->file_size = sqlite3_column_int64(st, 6);
	job_state_parse((const char *)sqlite3_column_text(st, 7), &s);
	j->state = s;
	col_copy(st, 8, j->create_date, sizeof(j->create_date));
	col_copy(st, 9, j->start_date, sizeof(j->start_date));
	col_copy(st, 10, j->end_date, sizeof(j->end_date));
	j->duration = sqlite3_column_double(st, 11);
	j->total_rows = (long)sqlite3_column_int64(st, 12);
	j->processed_rows = (long)sqlite3_column_int64(st, 13);
	j->created = (long)sqlite3_column_int64(st, 14);
	j->updated = (long)sqlite3_column_int64(st, 15);
	j->skipped = (long)sqlite3_column_int64(st, 16);
	j->errors = (long)sqlite3_column_int64(st, 17);
	j->progress = sqlite3_column_double(st, 18);
	j->error_message = col_dup(st, 19);
	j->notes = col_dup(st, 20);
	j->cancel_requested = sqlite3_column_int(st, 21);
	j->file_name_enc = names_enc_parse((const char *)sqlite3_column_text(st,
	    22));
	j->gate_override = col_dup(st, 23);
	j->unchanged = (long)sqlite3_column_int64(st, 24);
	json_decref(j->price_guard);
	j->price_guard = sqlite3_column_type(st, 25) == SQLITE_TEXT ?
	    json_loads((const char *)sqlite3_column_text(st, 25), 0, NULL) : NULL;
	if (j->profile == NULL || j->file_name == NULL)
		return PA_ENOMEM;
	return PA_OK;
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

static int
next_name(adb *a, char name[16])
{
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlx_prepare(db, "INSERT INTO sequence(name, value) VALUES "
	    "('job', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 "
	    "RETURNING value", &st)) != PA_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(name, 16, "IMP/%05lld", (long long)sqlite3_column_int64(st, 0));
		rc = PA_OK;
	} else {
		rc = sqlx_err(db, rc, "next job number");
	}
	sqlite3_finalize(st);
	return rc;
}

static int
select_one(adb *a, const char *where, const char *arg, int64_t id,
    struct job *j, int *found)
{
	char sql[512];
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	/* where is one of our constant fragments; the value is bound. */
	snprintf(sql, sizeof(sql), "SELECT " JOB_COLS " FROM job WHERE %s", where);
	if ((rc = sqlx_prepare(adb_sqlite(a), sql, &st)) != PA_OK)
		return rc;
	if (arg)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = 1;
		rc = job__from_row(st, j);
	} else if (rc == SQLITE_DONE) {
		rc = PA_OK;
	} else {
		rc = sqlx_err(adb_sqlite(a), rc, "read job");
	}
	sqlite3_finalize(st);
	return rc;
}

int
job_reload(adb *a, struct job *j)
{
	int found, rc;

	rc = select_one(a, "id = ?1", NULL, j->id, j, &found);
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
		rc = select_one(a, "name = ?1", name, 0, j, &found);
	} else {
		rc = select_one(a, "uuid = ?1", ref, 0, j, &found);
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
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	struct job *j = NULL;
	char name[16], uuid[37], now[32], *shown = NULL;
	enum names_enc enc;
	int rc, found;

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
	if ((rc = adb_begin(a)) != PA_OK)
		goto out;
	if ((rc = next_name(a, name)) != PA_OK)
		goto out;
	if ((rc = sqlx_prepare(db, "INSERT INTO job(name, uuid, profile, file_name, "
	    "file_sha256, file_size, state, create_date, file_name_encoding) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', ?7, ?8)", &st)) != PA_OK)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, shown, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, size);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, names_enc_name(enc), -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		rc = sqlx_err(db, rc, "create job");
		goto out;
	}
	if ((rc = select_one(a, "uuid = ?1", uuid, 0, j, &found)) != PA_OK)
		goto out;
	if ((rc = emit_job_event(a, j)) != PA_OK)
		goto out;
	if ((rc = adb_commit(a)) != PA_OK)
		goto out;
	*out = j;
	j = NULL; /* transferred */
out:
	sqlite3_finalize(st);
	if (rc != PA_OK)
		adb_rollback(a);
	job_free(j);
	pa_free(shown);
	return rc;
}

static int
save(adb *a, const struct job *j, int clear_cancel)
{
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	char *pg = NULL;
	int rc;

	if ((rc = sqlx_prepare(db, "UPDATE job SET state = ?1, start_date = ?2, "
	    "end_date = ?3, duration = ?4, total_rows = ?5, processed_rows = ?6, "
	    "created_count = ?7, updated_count = ?8, skipped_count = ?9, "
	    "error_count = ?10, progress_percent = ?11, error_message = ?12, "
	    "cancel_requested = CASE WHEN ?13 THEN 0 ELSE cancel_requested END, "
	    "unchanged_count = ?15, price_guard = ?16 WHERE id = ?14", &st))
	    != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, job_state_name(j->state), -1, SQLITE_STATIC);
	sqlx_bind_text(st, 2, j->start_date, strlen(j->start_date), 1);
	sqlx_bind_text(st, 3, j->end_date, strlen(j->end_date), 1);
	sqlite3_bind_double(st, 4, j->duration);
	sqlite3_bind_int64(st, 5, j->total_rows);
	sqlite3_bind_int64(st, 6, j->processed_rows);
	sqlite3_bind_int64(st, 7, j->created);
	sqlite3_bind_int64(st, 8, j->updated);
	sqlite3_bind_int64(st, 9, j->skipped);
	sqlite3_bind_int64(st, 10, j->errors);
	sqlite3_bind_double(st, 11, j->progress);
	if (j->error_message)
		sqlite3_bind_text(st, 12, j->error_message, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 13, clear_cancel);
	sqlite3_bind_int64(st, 14, j->id);
	sqlite3_bind_int64(st, 15, j->unchanged);
	if (j->price_guard && (pg = json_dumps(j->price_guard, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL) {
		sqlite3_finalize(st);
		return PA_ENOMEM;
	}
	if (pg)
		sqlite3_bind_text(st, 16, pg, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? PA_OK : sqlx_err(db, rc, "save job");
	sqlite3_finalize(st);
	pa_free(pg); /* jansson allocates through pa_mem */
	return rc;
}

int
job_save_stats(adb *a, const struct job *j)
{
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	int rc;

	/* Counters only, and only while running: the state belongs to
	 * job_transition, which reads it back inside its transaction. Writing
	 * a stale snapshot's state here once turned a settled job back into
	 * a running one (issue #8). */
	if ((rc = sqlx_prepare(db, "UPDATE job SET total_rows = ?1, "
	    "processed_rows = ?2, created_count = ?3, updated_count = ?4, "
	    "skipped_count = ?5, error_count = ?6, progress_percent = ?7 "
	    "WHERE id = ?8 AND state = 'running'", &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, j->total_rows);
	sqlite3_bind_int64(st, 2, j->processed_rows);
	sqlite3_bind_int64(st, 3, j->created);
	sqlite3_bind_int64(st, 4, j->updated);
	sqlite3_bind_int64(st, 5, j->skipped);
	sqlite3_bind_int64(st, 6, j->errors);
	sqlite3_bind_double(st, 7, j->progress);
	sqlite3_bind_int64(st, 8, j->id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? PA_OK : sqlx_err(db, rc, "save job progress");
	sqlite3_finalize(st);
	return rc;
}

static int
stored_state(adb *a, struct job *j)
{
	sqlite3_stmt *st = NULL;
	enum job_state s = JOB_DRAFT;
	int rc;

	if ((rc = sqlx_prepare(adb_sqlite(a), "SELECT state FROM job WHERE id = ?1",
	    &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, j->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		job_state_parse((const char *)sqlite3_column_text(st, 0), &s);
		j->state = s;
		rc = PA_OK;
	} else if (rc == SQLITE_DONE) {
		rc = pa_err_set(PA_ENOTFOUND, "job %s was deleted", j->name);
	} else {
		rc = sqlx_err(adb_sqlite(a), rc, "read job state");
	}
	sqlite3_finalize(st);
	return rc;
}

int
job_transition(adb *a, struct job *j, enum job_state to, const char *msg)
{
	int64_t start = 0, now_ms = hal_sys.now_ms();
	int rc, own_tx = sqlite3_get_autocommit(adb_sqlite(a));
	char *m = NULL;

	if (own_tx && (rc = adb_begin(a)) != PA_OK)
		return rc;
	/* Decide on the state as stored now, not on a stale snapshot; the
	 * caller's counters in j are what gets saved. */
	if ((rc = stored_state(a, j)) != PA_OK)
		goto out;
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
	if ((rc = save(a, j, to != JOB_RUNNING)) != PA_OK)
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

static int
exec_bound(adb *a, const char *sql, int64_t id, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlx_prepare(adb_sqlite(a), sql, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? PA_OK : sqlx_err(adb_sqlite(a), rc, what);
	sqlite3_finalize(st);
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
	if ((rc = exec_bound(a, "DELETE FROM job_log WHERE job_id = ?1", j->id,
	    "clear job log")) != PA_OK)
		goto out;
	if ((rc = exec_bound(a, "UPDATE job SET start_date = NULL, end_date = NULL, "
	    "duration = 0, total_rows = 0, processed_rows = 0, created_count = 0, "
	    "updated_count = 0, skipped_count = 0, error_count = 0, "
	    "unchanged_count = 0, price_guard = NULL, "
	    "progress_percent = 0, error_message = NULL, gate_override = NULL "
	    "WHERE id = ?1", j->id, "reset job")) != PA_OK)
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
	sqlite3_stmt *st = NULL;
	char text[8192], *dup = NULL;
	size_t n = json_dumpb(ov, text, sizeof(text) - 1, JSON_COMPACT);
	int rc;

	/* The adapter's answer inside is bounded (kkt_status): n fits. */
	if (n == 0 || n >= sizeof(text) - 1 || (dup = pa_strndup(text, n)) == NULL)
		return pa_err_set(PA_ENOMEM, "cannot record the gate override");
	if ((rc = sqlx_prepare(adb_sqlite(a), "UPDATE job SET gate_override = "
	    "?1 WHERE id = ?2", &st)) == PA_OK &&
	    (rc = sqlx_bind_text(st, 1, dup, n, 0)) == PA_OK) {
		sqlite3_bind_int64(st, 2, j->id);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? PA_OK : sqlx_err(adb_sqlite(a), rc,
		    "record the gate override");
	}
	sqlite3_finalize(st);
	if (rc == PA_OK) {
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
	return exec_bound(a, "UPDATE job SET dry_run = 1, notes = 'dry run: the "
	    "catalog was rolled back' WHERE id = ?1", j->id, "mark dry run");
}

int
job_cancel_requested(adb *a, const struct job *j, int *flag)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*flag = 0;
	if ((rc = sqlx_prepare(adb_sqlite(a), "SELECT cancel_requested FROM job "
	    "WHERE id = ?1", &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, j->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*flag = sqlite3_column_int(st, 0);
	else if (rc == SQLITE_DONE)
		*flag = 1; /* deleted under us: stop */
	rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? PA_OK :
	    sqlx_err(adb_sqlite(a), rc, "read cancel flag");
	sqlite3_finalize(st);
	return rc;
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
		rc = exec_bound(a, "UPDATE job SET cancel_requested = 1 WHERE "
		    "id = ?1", j->id, "request cancel");
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
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	json_t *ev = NULL;
	char *rd = NULL, ts[32];
	int rc;

	hal_now_iso(ts);
	if (row_data && (rd = json_dumps(row_data, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		return PA_ENOMEM;
	if ((rc = adb_stmt(a, ADB_STMT_LOG_INSERT, "INSERT INTO job_log(job_id, "
	    "level, message, row_number, row_data, create_date) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6)", &st)) != PA_OK)
		goto out;
	sqlite3_bind_int64(st, 1, j->id);
	sqlite3_bind_text(st, 2, job_level_name(lvl), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, msg, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, row);
	if (rd)
		sqlite3_bind_text(st, 5, rd, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, ts, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE) {
		rc = sqlx_err(db, rc, "write job log");
		goto out;
	}
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
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
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
	if ((rc = exec_bound(a, "DELETE FROM job WHERE id = ?1", j->id,
	    "delete job")) != PA_OK)
		goto out;
	rc = adb_commit(a);
out:
	if (rc != PA_OK)
		adb_rollback(a);
	return rc;
}

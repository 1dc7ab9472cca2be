/* adb_job — one job's row and log in agent.db (see adb_job.h). */
#include "agent/store/adb_job.h"
#include "agent/store/adb_int.h"

#include <stdio.h>
#include <string.h>

#include "hal/sqlx.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

static const char *const state_names[JOB_NSTATES] = {
	"draft", "running", "done", "failed", "cancelled", "reverted"
};
static const char *const level_names[] = { "info", "warning", "error" };
#define NLEVELS ((int)(sizeof(level_names) / sizeof(level_names[0])))

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

	for (i = 0; i < NLEVELS; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum job_level)i;
			return PA_OK;
		}
	return pa_err_set(PA_EUSAGE, "unknown log level '%s': use info, warning "
	    "or error", s);
}

void
job_clear(struct job *j)
{
	pa_free(j->profile);
	pa_free(j->file_name);
	pa_free(j->error_message);
	pa_free(j->notes);
	pa_free(j->gate_override);
	json_decref(j->price_guard);
	j->profile = j->file_name = j->error_message = j->notes = NULL;
	j->gate_override = NULL;
	j->price_guard = NULL;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	job_clear(j);
	pa_free(j);
}

static void
col_copy(sqlite3_stmt *st, int i, char *buf, size_t n)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	snprintf(buf, n, "%s", s ? (const char *)s : "");
}

/* A copy of a nullable text column: PA_ENOMEM only when a value that is
 * there could not be copied (SQLite's own copy or ours). */
static int
col_dup(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	*out = NULL;
	if (s == NULL)
		return sqlite3_column_type(st, i) == SQLITE_NULL ? PA_OK : PA_ENOMEM;
	return (*out = pa_strdup((const char *)s)) ? PA_OK : PA_ENOMEM;
}

int
adb__job_from_row(sqlite3_stmt *st, struct job *j)
{
	enum job_state s = JOB_DRAFT;
	const char *pg;
	json_error_t jerr;
	int rc;

	job_clear(j);
	j->id = sqlite3_column_int64(st, 0);
	col_copy(st, 1, j->name, sizeof(j->name));
	col_copy(st, 2, j->uuid, sizeof(j->uuid));
	if ((rc = col_dup(st, 3, &j->profile)) != PA_OK ||
	    (rc = col_dup(st, 4, &j->file_name)) != PA_OK)
		return rc;
	if (j->profile == NULL || j->file_name == NULL)
		return PA_ENOMEM;       /* NOT NULL columns: no copy means OOM */
	col_copy(st, 5, j->sha256, sizeof(j->sha256));
	j->file_size = sqlite3_column_int64(st, 6);
	/* Our own CHECKed names: a failed parse cannot happen. */
	(void)job_state_parse((const char *)sqlite3_column_text(st, 7), &s);
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
	if ((rc = col_dup(st, 19, &j->error_message)) != PA_OK ||
	    (rc = col_dup(st, 20, &j->notes)) != PA_OK)
		return rc;
	j->cancel_requested = sqlite3_column_int(st, 21);
	j->file_name_enc = names_enc_parse((const char *)sqlite3_column_text(st,
	    22));
	if ((rc = col_dup(st, 23, &j->gate_override)) != PA_OK)
		return rc;
	j->unchanged = (long)sqlite3_column_int64(st, 24);
	if (sqlite3_column_type(st, 25) == SQLITE_TEXT) {
		if ((pg = (const char *)sqlite3_column_text(st, 25)) == NULL)
			return PA_ENOMEM;
		/* We wrote it with json_dumps: only memory can make it fail. */
		if ((j->price_guard = json_loads(pg, 0, &jerr)) == NULL)
			return PA_ENOMEM;
	}
	return PA_OK;
}

/* Step a SELECT of ADB__JOB_COLS once: *found and j, or the mapped error. */
static int
read_one(adb *a, sqlite3_stmt *st, struct job *j, int *found,
    const char *what)
{
	int rc = sqlite3_step(st);

	*found = 0;
	if (rc == SQLITE_ROW) {
		*found = 1;
		return adb__job_from_row(st, j);
	}
	return rc == SQLITE_DONE ? PA_OK : sqlx_err(a->db, rc, what);
}

int
adbj_create(adb *a, const char *uuid, const char *profile,
    const char *file_name, const char *enc, const char *sha256, int64_t size,
    const char *now, struct job *j)
{
	sqlite3_stmt *st = NULL;
	char name[16];
	int found, rc;

	if ((rc = adb__stmt(a, ADB__JOB_NEXT_NUMBER, &st)) != PA_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = sqlx_err(a->db, rc, "next job number");
		goto out;
	}
	snprintf(name, sizeof(name), "IMP/%05lld",
	    (long long)sqlite3_column_int64(st, 0));
	adb__done(st);
	if ((rc = adb__stmt(a, ADB__JOB_INSERT, &st)) != PA_OK)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, file_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, size);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, enc, -1, SQLITE_STATIC);
	if ((rc = adb__step_done(a, st, "create job")) != PA_OK)
		goto out;
	adb__done(st);
	st = NULL;
	if ((rc = adbj_find(a, ADBJ_BY_UUID, uuid, 0, j, &found)) == PA_OK &&
	    !found)     /* cannot happen: inserted in this transaction */
		rc = pa_err_set(PA_EINTERNAL, "job %s vanished as it was created",
		    name);
out:
	adb__done(st);
	return rc;
}

int
adbj_find(adb *a, enum adbj_key key, const char *text, int64_t id,
    struct job *j, int *found)
{
	static const enum adb__sql sql[] = { [ADBJ_BY_ID] = ADB__JOB_BY_ID,
	    [ADBJ_BY_NAME] = ADB__JOB_BY_NAME, [ADBJ_BY_UUID] = ADB__JOB_BY_UUID };
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	if ((rc = adb__stmt(a, sql[key], &st)) != PA_OK)
		return rc;
	if (key == ADBJ_BY_ID)
		sqlite3_bind_int64(st, 1, id);
	else
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	rc = read_one(a, st, j, found, "read job");
	adb__done(st);
	return rc;
}

int
adbj_state(adb *a, int64_t id, enum job_state *s)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__JOB_STATE, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*s = JOB_DRAFT;
		(void)job_state_parse((const char *)sqlite3_column_text(st, 0), s);
		rc = PA_OK;
	} else if (rc == SQLITE_DONE) {
		rc = PA_ENOTFOUND;
	} else {
		rc = sqlx_err(a->db, rc, "read job state");
	}
	adb__done(st);
	return rc;
}

int
adbj_save(adb *a, const struct job *j, int clear_cancel)
{
	sqlite3_stmt *st = NULL;
	char *pg = NULL;
	int rc;

	if (j->price_guard && (pg = json_dumps(j->price_guard, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL)
		return PA_ENOMEM;
	if ((rc = adb__stmt(a, ADB__JOB_SAVE, &st)) != PA_OK)
		goto out;
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
	if (pg)
		sqlite3_bind_text(st, 16, pg, -1, SQLITE_STATIC);
	rc = adb__step_done(a, st, "save job");
out:
	adb__done(st);
	pa_free(pg); /* jansson allocates through pa_mem */
	return rc;
}

int
adbj_save_stats(adb *a, const struct job *j)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__JOB_SAVE_STATS, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, j->total_rows);
	sqlite3_bind_int64(st, 2, j->processed_rows);
	sqlite3_bind_int64(st, 3, j->created);
	sqlite3_bind_int64(st, 4, j->updated);
	sqlite3_bind_int64(st, 5, j->skipped);
	sqlite3_bind_int64(st, 6, j->errors);
	sqlite3_bind_double(st, 7, j->progress);
	sqlite3_bind_int64(st, 8, j->id);
	rc = adb__step_done(a, st, "save job progress");
	adb__done(st);
	return rc;
}

/* Run statement id with job id as ?1. */
static int
exec_id(adb *a, enum adb__sql sql, int64_t id, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, sql, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = adb__step_done(a, st, what);
	adb__done(st);
	return rc;
}

int
adbj_reset(adb *a, int64_t id)
{
	int rc;

	if ((rc = exec_id(a, ADB__JOB_LOG_CLEAR, id, "clear job log")) != PA_OK)
		return rc;
	return exec_id(a, ADB__JOB_RESET, id, "reset job");
}

int
adbj_set_gate_override(adb *a, int64_t id, const char *text, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__JOB_GATE_OVERRIDE, &st)) != PA_OK)
		return rc;
	if ((rc = sqlx_bind_text(st, 1, text, len, 0)) == PA_OK) {
		sqlite3_bind_int64(st, 2, id);
		rc = adb__step_done(a, st, "record the gate override");
	}
	adb__done(st);
	return rc;
}

int
adbj_mark_dry_run(adb *a, int64_t id)
{
	return exec_id(a, ADB__JOB_DRY_RUN, id, "mark dry run");
}

int
adbj_cancel_flag(adb *a, int64_t id, int *flag)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*flag = 0;
	if ((rc = adb__stmt(a, ADB__JOB_CANCEL_FLAG, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*flag = sqlite3_column_int(st, 0);
	else if (rc == SQLITE_DONE)
		*flag = 1; /* deleted under us: stop */
	rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? PA_OK :
	    sqlx_err(a->db, rc, "read cancel flag");
	adb__done(st);
	return rc;
}

int
adbj_request_cancel(adb *a, int64_t id)
{
	return exec_id(a, ADB__JOB_REQUEST_CANCEL, id, "request cancel");
}

int
adbj_log(adb *a, int64_t id, enum job_level lvl, long row, const char *msg,
    const char *row_data, const char *ts)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__JOB_LOG_INSERT, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, job_level_name(lvl), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, msg, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, row);
	if (row_data)
		sqlite3_bind_text(st, 5, row_data, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, ts, -1, SQLITE_STATIC);
	rc = adb__step_done(a, st, "write job log");
	adb__done(st);
	return rc;
}

int
adbj_delete(adb *a, int64_t id)
{
	return exec_id(a, ADB__JOB_DELETE, id, "delete job");
}

int
adbj_uuid_exists(adb *a, const char *uuid, int *yes)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*yes = 1;
	if ((rc = adb__stmt(a, ADB__JOB_UUID_EXISTS, &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*yes = 0;
	rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? PA_OK :
	    sqlx_err(a->db, rc, "look up job");
	adb__done(st);
	return rc;
}

int
adbj_count_rows(adb *a, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__JOB_COUNT_ROWS, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	rc = adb__step_done(a, st, "count imported rows");
	adb__done(st);
	return rc;
}

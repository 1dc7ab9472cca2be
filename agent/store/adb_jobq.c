/* adb_jobq — statements over many jobs (see adb_jobq.h). */
#include "agent/store/adb_jobq.h"
#include "agent/store/adb_int.h"

#include <string.h>

#include "hal/sqlx.h"
#include "hal/pa_err.h"

/* Text of a NOT NULL column: NULL only when SQLite ran out of memory
 * converting it. */
static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* After a walk: SQLITE_DONE is success, a PA code from the callback is
 * returned as is, anything else is SQLite's error. */
static int
walk_end(adb *a, int step, int cb_rc, const char *what)
{
	if (cb_rc != PA_OK)
		return cb_rc;
	return step == SQLITE_DONE ? PA_OK : sqlx_err(a->db, step, what);
}

int
adbq_list(adb *a, const struct adbq_filter *f,
    int (*each)(void *ctx, const struct job *j), void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct job j;
	int rc, step;

	memset(&j, 0, sizeof(j));
	if ((rc = adb__stmt(a, ADB__JOBQ_LIST, &st)) != PA_OK)
		return rc;
	if (f->state >= 0)
		sqlite3_bind_text(st, 1, job_state_name((enum job_state)f->state),
		    -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, f->errors_only);
	if (f->since)
		sqlite3_bind_text(st, 3, f->since, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, f->limit);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = adb__job_from_row(st, &j)) != PA_OK ||
		    (rc = each(ctx, &j)) != PA_OK)
			break;
	rc = walk_end(a, step, rc, "list jobs");
	job_clear(&j);
	adb__done(st);
	return rc;
}

/* Bind the optional level filter of the log statements as ?2. */
static void
bind_level(sqlite3_stmt *st, int level)
{
	if (level >= 0)
		sqlite3_bind_text(st, 2, job_level_name((enum job_level)level), -1,
		    SQLITE_STATIC);
}

int
adbq_log_count(adb *a, int64_t job_id, int level, long *total)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*total = 0;
	if ((rc = adb__stmt(a, ADB__JOBQ_LOG_COUNT, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, job_id);
	bind_level(st, level);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*total = (long)sqlite3_column_int64(st, 0);
		rc = PA_OK;
	} else {
		rc = sqlx_err(a->db, rc, "count job log");
	}
	adb__done(st);
	return rc;
}

int
adbq_log_page(adb *a, int64_t job_id, int level, long limit, long offset,
    int (*each)(void *ctx, const struct adbq_log *e), void *ctx)
{
	sqlite3_stmt *st = NULL;
	struct adbq_log e;
	int rc = PA_OK, step;

	if ((rc = adb__stmt(a, ADB__JOBQ_LOG_PAGE, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, job_id);
	bind_level(st, level);
	sqlite3_bind_int64(st, 3, limit);
	sqlite3_bind_int64(st, 4, offset);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		e.level = col_text(st, 0);
		e.message = col_text(st, 1);
		e.row_number = sqlite3_column_int64(st, 2);
		e.row_data = col_text(st, 3);
		e.create_date = col_text(st, 4);
		if (e.level == NULL || e.message == NULL || e.create_date == NULL ||
		    (e.row_data == NULL && sqlite3_column_type(st, 3) != SQLITE_NULL)) {
			rc = PA_ENOMEM;
			break;
		}
		if ((rc = each(ctx, &e)) != PA_OK)
			break;
	}
	rc = walk_end(a, step, rc, "read job log");
	adb__done(st);
	return rc;
}

/* Run a DELETE; *deleted = the rows it removed. */
static int
delete_rows(adb *a, sqlite3_stmt *st, long *deleted, const char *what)
{
	int rc = adb__step_done(a, st, what);

	if (rc == PA_OK)
		*deleted = (long)sqlite3_changes(a->db);
	adb__done(st);
	return rc;
}

int
adbq_prune_before(adb *a, const char *before, long *deleted)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*deleted = 0;
	if ((rc = adb__stmt(a, ADB__JOBQ_PRUNE_BEFORE, &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, before, -1, SQLITE_STATIC);
	return delete_rows(a, st, deleted, "prune jobs");
}

int
adbq_prune_oldest(adb *a, long *deleted)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*deleted = 0;
	if ((rc = adb__stmt(a, ADB__JOBQ_PRUNE_OLDEST, &st)) != PA_OK)
		return rc;
	return delete_rows(a, st, deleted, "prune jobs over retention_max_mb");
}

int
adbq_running_progress(adb *a, long *running, double *progress)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*running = 0;
	*progress = 0;
	if ((rc = adb__stmt(a, ADB__JOBQ_RUNNING_PROGRESS, &st)) != PA_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*running = (long)sqlite3_column_int64(st, 0);
		*progress = sqlite3_column_double(st, 1);
		rc = PA_OK;
	} else {
		rc = sqlx_err(a->db, rc, "count running jobs");
	}
	adb__done(st);
	return rc;
}

int
adbq_last(adb *a, enum job_state s, int (*each)(void *ctx, const char *name,
    const char *file_name, const char *end_date), void *ctx)
{
	sqlite3_stmt *st = NULL;
	const char *name, *file;
	int rc = PA_OK, step;

	if ((rc = adb__stmt(a, ADB__JOBQ_LAST, &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, job_state_name(s), -1, SQLITE_STATIC);
	if ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((name = col_text(st, 0)) == NULL ||
		    (file = col_text(st, 1)) == NULL)
			rc = PA_ENOMEM;
		else
			rc = each(ctx, name, file, col_text(st, 2));
		step = SQLITE_DONE;
	}
	rc = walk_end(a, step, rc, "read the last job");
	adb__done(st);
	return rc;
}

int
adbq_counts(adb *a, int (*each)(void *ctx, const char *state, int64_t jobs,
    int64_t rows), void *ctx)
{
	sqlite3_stmt *st = NULL;
	const char *state;
	int rc = PA_OK, step;

	if ((rc = adb__stmt(a, ADB__JOBQ_COUNTS, &st)) != PA_OK)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((state = col_text(st, 0)) == NULL) {
			rc = PA_ENOMEM;
			break;
		}
		if ((rc = each(ctx, state, sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2))) != PA_OK)
			break;
	}
	rc = walk_end(a, step, rc, "count jobs");
	adb__done(st);
	return rc;
}

/* Step a "SELECT 1 ... LIMIT 1": *found. */
static int
exists(adb *a, sqlite3_stmt *st, int *found, const char *what)
{
	int rc = sqlite3_step(st);

	*found = rc == SQLITE_ROW;
	rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? PA_OK :
	    sqlx_err(a->db, rc, what);
	adb__done(st);
	return rc;
}

int
adbq_sha_done(adb *a, const char *sha256, const char *profile, int *found)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	if ((rc = adb__stmt(a, ADB__JOBQ_SHA_DONE, &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, profile, -1, SQLITE_STATIC);
	return exists(a, st, found, "look up imported file");
}

int
adbq_sha_used(adb *a, const char *sha256, int *found)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	if ((rc = adb__stmt(a, ADB__JOBQ_SHA_USED, &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	return exists(a, st, found, "look up spooled file");
}

int
adbq_find_draft(adb *a, const char *sha256, const char *profile,
    struct job *j, int *found)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	if ((rc = adb__stmt(a, ADB__JOBQ_FIND_DRAFT, &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, profile, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = 1;
		rc = adb__job_from_row(st, j);
	} else {
		rc = rc == SQLITE_DONE ? PA_OK : sqlx_err(a->db, rc,
		    "find draft job");
	}
	adb__done(st);
	return rc;
}

/* Call each with column 0 of every row. */
static int
walk_names(adb *a, sqlite3_stmt *st, int (*each)(void *ctx,
    const char *name), void *ctx, const char *what)
{
	const char *name;
	int rc = PA_OK, step;

	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((name = col_text(st, 0)) == NULL) {
			rc = PA_ENOMEM;
			break;
		}
		if ((rc = each(ctx, name)) != PA_OK)
			break;
	}
	rc = walk_end(a, step, rc, what);
	adb__done(st);
	return rc;
}

int
adbq_drafts_replaced(adb *a, const struct job *j,
    int (*each)(void *ctx, const char *name), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__JOBQ_DRAFTS_REPLACED, &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, j->file_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, j->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, j->id);
	return walk_names(a, st, each, ctx, "find replaced drafts");
}

int
adbq_running(adb *a, int (*each)(void *ctx, const char *name), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__JOBQ_RUNNING, &st)) != PA_OK)
		return rc;
	return walk_names(a, st, each, ctx, "list running jobs");
}

int
adbq_rows_total(adb *a, int64_t *rows)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__JOBQ_ROWS_TOTAL, &st)) != PA_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*rows = sqlite3_column_int64(st, 0);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? PA_OK : sqlx_err(a->db, rc,
	    "read the imported row count");
	adb__done(st);
	return rc;
}

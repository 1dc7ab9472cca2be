#include "agent/import/jobq.h"

#include <stdlib.h>
#include <string.h>

#include "agent/import/job_int.h"
#include "hal/sqlx.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

int
jobq_list(adb *a, const struct jobq_filter *f, json_t **out)
{
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	struct job j;
	json_t *arr = NULL, *o;
	int rc;

	*out = NULL;
	memset(&j, 0, sizeof(j));
	/* Constant SQL: absent filters bind NULL/0 and switch themselves off. */
	if ((rc = sqlx_prepare(db, "SELECT " JOB_COLS " FROM job WHERE "
	    "(?1 IS NULL OR state = ?1) AND (?2 = 0 OR error_count > 0) AND "
	    "(?3 IS NULL OR create_date >= ?3) ORDER BY id DESC "
	    "LIMIT CASE WHEN ?4 > 0 THEN ?4 ELSE -1 END", &st)) != PA_OK)
		return rc;
	if (f->state >= 0)
		sqlite3_bind_text(st, 1, job_state_name((enum job_state)f->state),
		    -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, f->errors_only);
	if (f->since)
		sqlite3_bind_text(st, 3, f->since, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, f->limit);
	if ((arr = json_array()) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((rc = job__from_row(st, &j)) != PA_OK)
			goto out;
		if ((o = job_to_json(&j)) == NULL || json_array_append_new(arr, o)) {
			rc = PA_ENOMEM;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = sqlx_err(db, rc, "list jobs");
		goto out;
	}
	rc = PA_OK;
	*out = arr;
	arr = NULL; /* transferred */
out:
	pa_free(j.profile);
	pa_free(j.file_name);
	pa_free(j.error_message);
	pa_free(j.notes);
	json_decref(j.price_guard);
	json_decref(arr);
	sqlite3_finalize(st);
	return rc;
}

static int
count_logs(sqlite3 *db, int64_t job_id, int level, long *total)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlx_prepare(db, "SELECT count(*) FROM job_log WHERE job_id = ?1 "
	    "AND (?2 IS NULL OR level = ?2)", &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, job_id);
	if (level >= 0)
		sqlite3_bind_text(st, 2, job_level_name((enum job_level)level), -1,
		    SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*total = (long)sqlite3_column_int64(st, 0);
		rc = PA_OK;
	} else {
		rc = sqlx_err(db, rc, "count job log");
	}
	sqlite3_finalize(st);
	return rc;
}

int
jobq_log_page(adb *a, const struct job *j, int level, long page,
    long page_size, json_t **out)
{
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	json_t *doc = NULL, *entries, *rd, *e;
	long total = 0;
	int rc;

	*out = NULL;
	if ((rc = count_logs(db, j->id, level, &total)) != PA_OK)
		return rc;
	if ((rc = sqlx_prepare(db, "SELECT level, message, row_number, row_data, "
	    "create_date FROM job_log WHERE job_id = ?1 AND (?2 IS NULL OR "
	    "level = ?2) ORDER BY id LIMIT ?3 OFFSET ?4", &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, j->id);
	if (level >= 0)
		sqlite3_bind_text(st, 2, job_level_name((enum job_level)level), -1,
		    SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, page_size);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)(page - 1) * page_size);
	doc = json_pack("{s:s, s:I, s:I, s:I, s:[]}", "job", j->name, "page",
	    (json_int_t)page, "page_size", (json_int_t)page_size, "total",
	    (json_int_t)total, "entries");
	if (doc == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	entries = json_object_get(doc, "entries");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *rds = (const char *)sqlite3_column_text(st, 3);
		rd = rds ? json_loads(rds, 0, NULL) : NULL;
		e = json_pack("{s:s, s:s, s:I, s:o, s:s}",
		    "level", (const char *)sqlite3_column_text(st, 0),
		    "message", (const char *)sqlite3_column_text(st, 1),
		    "row_number", (json_int_t)sqlite3_column_int64(st, 2),
		    "row_data", rd ? rd : json_null(),
		    "create_date", (const char *)sqlite3_column_text(st, 4));
		if (e == NULL || json_array_append_new(entries, e) != 0) {
			rc = PA_ENOMEM;
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		rc = sqlx_err(db, rc, "read job log");
		goto out;
	}
	rc = PA_OK;
	*out = doc;
	doc = NULL; /* transferred */
out:
	json_decref(doc);
	sqlite3_finalize(st);
	return rc;
}

int
jobq_prune(adb *a, const char *before, long *deleted)
{
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	int rc;

	*deleted = 0;
	if ((rc = sqlx_prepare(db, "DELETE FROM job WHERE create_date < ?1 AND "
	    "state <> 'running'", &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, before, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*deleted = sqlite3_changes(db);
		rc = PA_OK;
	} else {
		rc = sqlx_err(db, rc, "prune jobs");
	}
	sqlite3_finalize(st);
	return rc;
}

/* {name, file_name, end_date} of the latest job in state, or null. */
static json_t *
last_job(sqlite3 *db, const char *state)
{
	sqlite3_stmt *st = NULL;
	json_t *v = NULL;

	if (sqlx_prepare(db, "SELECT name, file_name, end_date FROM job WHERE "
	    "state = ?1 ORDER BY end_date DESC, id DESC LIMIT 1", &st) != PA_OK)
		return json_null();
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = json_pack("{s:s, s:s, s:s?}",
		    "name", (const char *)sqlite3_column_text(st, 0),
		    "file_name", (const char *)sqlite3_column_text(st, 1),
		    "end_date", (const char *)sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	return v ? v : json_null();
}

int
jobq_health(adb *a, json_t **out)
{
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	json_int_t running = 0;
	double progress = 0;
	int rc;

	*out = NULL;
	if ((rc = sqlx_prepare(db, "SELECT count(*), coalesce(max(progress_percent), "
	    "0) FROM job WHERE state = 'running'", &st)) != PA_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		running = sqlite3_column_int64(st, 0);
		progress = sqlite3_column_double(st, 1);
	}
	sqlite3_finalize(st);
	*out = json_pack("{s:I, s:f, s:o, s:o}", "running", running,
	    "progress_percent", progress,
	    "last_done", last_job(db, "done"),
	    "last_failed", last_job(db, "failed"));
	return *out ? PA_OK : PA_ENOMEM;
}

int
jobq_sha_done(adb *a, const char *sha256, const char *profile, int *found)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	if ((rc = sqlx_prepare(adb_sqlite(a), "SELECT 1 FROM job WHERE "
	    "file_sha256 = ?1 AND profile = ?2 AND state = 'done' LIMIT 1", &st))
	    != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, profile, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*found = 1;
	rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? PA_OK :
	    sqlx_err(adb_sqlite(a), rc, "look up imported file");
	sqlite3_finalize(st);
	return rc;
}

int
jobq_sha_used(adb *a, const char *sha256, int *found)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	if ((rc = sqlx_prepare(adb_sqlite(a), "SELECT 1 FROM job WHERE "
	    "file_sha256 = ?1 LIMIT 1", &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*found = 1;
	rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? PA_OK :
	    sqlx_err(adb_sqlite(a), rc, "look up spooled file");
	sqlite3_finalize(st);
	return rc;
}

int
jobq_drafts_replaced(adb *a, const struct job *j, json_t **names)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rc;

	*names = NULL;
	if (arr == NULL)
		return PA_ENOMEM;
	if ((rc = sqlx_prepare(adb_sqlite(a), "SELECT name FROM job WHERE "
	    "state = 'draft' AND file_name = ?1 AND profile = ?2 AND "
	    "file_sha256 <> ?3 AND id < ?4 ORDER BY id", &st)) != PA_OK)
		goto out;
	sqlite3_bind_text(st, 1, j->file_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, j->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, j->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(arr, json_string((const char *)
		    sqlite3_column_text(st, 0))) != 0) {
			rc = PA_ENOMEM;
			goto out;
		}
	if (rc != SQLITE_DONE) {
		rc = sqlx_err(adb_sqlite(a), rc, "find replaced drafts");
		goto out;
	}
	rc = PA_OK;
	*names = arr;
	arr = NULL; /* transferred */
out:
	sqlite3_finalize(st);
	json_decref(arr);
	return rc;
}

int
jobq_running(adb *a, json_t **names)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rc;

	*names = NULL;
	if (arr == NULL)
		return PA_ENOMEM;
	if ((rc = sqlx_prepare(adb_sqlite(a), "SELECT name FROM job WHERE state = "
	    "'running' ORDER BY id", &st)) != PA_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, json_string((const char *)
		    sqlite3_column_text(st, 0)));
	if (rc != SQLITE_DONE) {
		rc = sqlx_err(adb_sqlite(a), rc, "list running jobs");
		goto out;
	}
	rc = PA_OK;
	*names = arr;
	arr = NULL; /* transferred */
out:
	sqlite3_finalize(st);
	json_decref(arr);
	return rc;
}

int
jobq_find_draft(adb *a, const char *sha256, const char *profile,
    struct job **out)
{
	sqlite3_stmt *st = NULL;
	struct job *j = NULL;
	int rc;

	*out = NULL;
	if ((rc = sqlx_prepare(adb_sqlite(a), "SELECT " JOB_COLS " FROM job WHERE "
	    "file_sha256 = ?1 AND profile = ?2 AND state = 'draft' ORDER BY id "
	    "DESC LIMIT 1", &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, profile, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if ((j = pa_calloc(1, sizeof(*j))) == NULL) {
			rc = PA_ENOMEM;
			goto out;
		}
		if ((rc = job__from_row(st, j)) != PA_OK)
			goto out;
		*out = j;
		j = NULL; /* transferred */
	} else if (rc == SQLITE_DONE) {
		rc = PA_OK;
	} else {
		rc = sqlx_err(adb_sqlite(a), rc, "find draft job");
	}
out:
	job_free(j);
	sqlite3_finalize(st);
	return rc;
}

int
jobq_counts(adb *a, json_t **out)
{
	static const char *const states[] = { "draft", "running", "done",
	    "failed", "cancelled" };
	sqlite3_stmt *st = NULL;
	json_t *by = NULL;
	json_int_t rows = 0;
	size_t i;
	int rc, s;

	*out = NULL;
	if ((by = json_object()) == NULL)
		return PA_ENOMEM;
	/* Every state appears, zero included: a metric that vanishes reads as
	 * "no data" to monitoring, not as 0. */
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		json_object_set_new(by, states[i], json_integer(0));
	/* Dry runs changed nothing: their rows are not imported rows. */
	if ((rc = sqlx_prepare(adb_sqlite(a), "SELECT state, count(*), "
	    "coalesce(sum(CASE WHEN state = 'done' AND dry_run = 0 THEN "
	    "created_count + updated_count END), 0) FROM job GROUP BY state",
	    &st)) != PA_OK)
		goto out;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		json_object_set_new(by, (const char *)sqlite3_column_text(st, 0),
		    json_integer(sqlite3_column_int64(st, 1)));
		rows += sqlite3_column_int64(st, 2);
	}
	if (s != SQLITE_DONE) {
		rc = adb_err(adb_sqlite(a), s, "count jobs");
		goto out;
	}
	*out = json_pack("{s:O,s:I}", "by_state", by, "rows_imported", rows);
	rc = *out ? PA_OK : PA_ENOMEM;
out:
	sqlite3_finalize(st);
	json_decref(by);
	return rc;
}

/* adb_sql — the SQL text of every statement agent.db runs after its
 * migrations (adb.c), in one place (STYLE: "SQL text in one place per
 * store"). Each is prepared once per connection by adb__stmt(); every value
 * is bound, no text is ever built from input. Absent filters bind NULL or 0
 * and switch themselves off, so one text serves every combination. */
#include "agent/store/adb_int.h"

const char *const adb__sql[ADB__NSQL] = {
	/* jobs */
	[ADB__JOB_NEXT_NUMBER] =
	"INSERT INTO sequence(name, value) VALUES ('job', 1) "
	"ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
	[ADB__JOB_INSERT] =
	"INSERT INTO job(name, uuid, profile, file_name, file_sha256, "
	"file_size, state, create_date, file_name_encoding) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'draft', ?7, ?8)",
	[ADB__JOB_BY_ID] =
	"SELECT " ADB__JOB_COLS " FROM job WHERE id = ?1",
	[ADB__JOB_BY_NAME] =
	"SELECT " ADB__JOB_COLS " FROM job WHERE name = ?1",
	[ADB__JOB_BY_UUID] =
	"SELECT " ADB__JOB_COLS " FROM job WHERE uuid = ?1",
	[ADB__JOB_SAVE] =
	"UPDATE job SET state = ?1, start_date = ?2, end_date = ?3, "
	"duration = ?4, total_rows = ?5, processed_rows = ?6, "
	"created_count = ?7, updated_count = ?8, skipped_count = ?9, "
	"error_count = ?10, progress_percent = ?11, error_message = ?12, "
	"cancel_requested = CASE WHEN ?13 THEN 0 ELSE cancel_requested END, "
	"unchanged_count = ?15, price_guard = ?16 WHERE id = ?14",
	[ADB__JOB_SAVE_STATS] =
	"UPDATE job SET total_rows = ?1, processed_rows = ?2, "
	"created_count = ?3, updated_count = ?4, skipped_count = ?5, "
	"error_count = ?6, progress_percent = ?7 "
	"WHERE id = ?8 AND state = 'running'",
	[ADB__JOB_STATE] =
	"SELECT state FROM job WHERE id = ?1",
	[ADB__JOB_LOG_CLEAR] =
	"DELETE FROM job_log WHERE job_id = ?1",
	[ADB__JOB_RESET] =
	"UPDATE job SET start_date = NULL, end_date = NULL, duration = 0, "
	"total_rows = 0, processed_rows = 0, created_count = 0, "
	"updated_count = 0, skipped_count = 0, error_count = 0, "
	"unchanged_count = 0, price_guard = NULL, progress_percent = 0, "
	"error_message = NULL, gate_override = NULL WHERE id = ?1",
	[ADB__JOB_GATE_OVERRIDE] =
	"UPDATE job SET gate_override = ?1 WHERE id = ?2",
	[ADB__JOB_DRY_RUN] =
	"UPDATE job SET dry_run = 1, notes = 'dry run: the catalog was rolled "
	"back' WHERE id = ?1",
	[ADB__JOB_CANCEL_FLAG] =
	"SELECT cancel_requested FROM job WHERE id = ?1",
	[ADB__JOB_REQUEST_CANCEL] =
	"UPDATE job SET cancel_requested = 1 WHERE id = ?1",
	[ADB__JOB_LOG_INSERT] =
	"INSERT INTO job_log(job_id, level, message, row_number, row_data, "
	"create_date) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ADB__JOB_DELETE] =
	"DELETE FROM job WHERE id = ?1",
	[ADB__JOB_UUID_EXISTS] =
	"SELECT 1 FROM job WHERE uuid = ?1",
	/* The rows done jobs created or updated, ever (dry runs changed
	 * nothing), for posagent_rows_imported_total: a named counter beside
	 * the job numbers, so pruning, deleting or reverting jobs never lowers
	 * it (issue #13). Called once the job is saved done; on an agent.db
	 * without the counter yet the first call starts it from every done
	 * job's rows, this one's included. (The SELECT's WHERE also tells the
	 * parser the ON starts the upsert.) */
	[ADB__JOB_COUNT_ROWS] =
	"INSERT INTO sequence(name, value) SELECT 'rows_imported', "
	"coalesce(sum(created_count + updated_count), 0) FROM job "
	"WHERE state = 'done' AND dry_run = 0 "
	"ON CONFLICT(name) DO UPDATE SET value = value + coalesce((SELECT "
	"created_count + updated_count FROM job WHERE id = ?1 AND "
	"dry_run = 0), 0)",

	/* queries over many jobs */
	[ADB__JOBQ_LIST] =
	"SELECT " ADB__JOB_COLS " FROM job WHERE "
	"(?1 IS NULL OR state = ?1) AND (?2 = 0 OR error_count > 0) AND "
	"(?3 IS NULL OR create_date >= ?3) ORDER BY id DESC "
	"LIMIT CASE WHEN ?4 > 0 THEN ?4 ELSE -1 END",
	[ADB__JOBQ_LOG_COUNT] =
	"SELECT count(*) FROM job_log WHERE job_id = ?1 "
	"AND (?2 IS NULL OR level = ?2)",
	[ADB__JOBQ_LOG_PAGE] =
	"SELECT level, message, row_number, row_data, create_date FROM job_log "
	"WHERE job_id = ?1 AND (?2 IS NULL OR level = ?2) ORDER BY id "
	"LIMIT ?3 OFFSET ?4",
	[ADB__JOBQ_PRUNE_BEFORE] =
	"DELETE FROM job WHERE create_date < ?1 AND state <> 'running'",
	/* Twenty at a time: the caller re-measures between batches. */
	[ADB__JOBQ_PRUNE_OLDEST] =
	"DELETE FROM job WHERE id IN (SELECT id FROM job WHERE "
	"state <> 'running' ORDER BY id LIMIT 20)",
	[ADB__JOBQ_LAST] =
	"SELECT name, file_name, end_date FROM job WHERE state = ?1 "
	"ORDER BY end_date DESC, id DESC LIMIT 1",
	[ADB__JOBQ_RUNNING_PROGRESS] =
	"SELECT count(*), coalesce(max(progress_percent), 0) FROM job "
	"WHERE state = 'running'",
	[ADB__JOBQ_SHA_DONE] =
	"SELECT 1 FROM job WHERE file_sha256 = ?1 AND profile = ?2 AND "
	"state = 'done' LIMIT 1",
	[ADB__JOBQ_SHA_USED] =
	"SELECT 1 FROM job WHERE file_sha256 = ?1 LIMIT 1",
	[ADB__JOBQ_DRAFTS_REPLACED] =
	"SELECT name FROM job WHERE state = 'draft' AND file_name = ?1 AND "
	"profile = ?2 AND file_sha256 <> ?3 AND id < ?4 ORDER BY id",
	[ADB__JOBQ_RUNNING] =
	"SELECT name FROM job WHERE state = 'running' ORDER BY id",
	[ADB__JOBQ_FIND_DRAFT] =
	"SELECT " ADB__JOB_COLS " FROM job WHERE file_sha256 = ?1 AND "
	"profile = ?2 AND state = 'draft' ORDER BY id DESC LIMIT 1",
	/* Dry runs changed nothing: their rows are not imported rows. */
	[ADB__JOBQ_COUNTS] =
	"SELECT state, count(*), coalesce(sum(CASE WHEN state = 'done' AND "
	"dry_run = 0 THEN created_count + updated_count END), 0) FROM job "
	"GROUP BY state",
	[ADB__JOBQ_ROWS_TOTAL] =
	"SELECT value FROM sequence WHERE name = 'rows_imported'",

	/* profiles */
	[ADB__PROF_INSERT] =
	"INSERT INTO profile(name, json, created_at) VALUES (?1, ?2, ?3)",
	[ADB__PROF_UPSERT] =
	"INSERT INTO profile(name, json, created_at) VALUES (?1, ?2, ?3) "
	"ON CONFLICT(name) DO UPDATE SET json = excluded.json",
	[ADB__PROF_GET] =
	"SELECT json FROM profile WHERE name = ?1",
	[ADB__PROF_DELETE] =
	"DELETE FROM profile WHERE name = ?1",
	[ADB__PROF_ALL] =
	"SELECT json FROM profile ORDER BY name",

	/* the KKT gate's refusal streak: one row while the gate refuses */
	[ADB__GATE_REFUSED] =
	"INSERT INTO gate_refusal(id, since, refusals, last_ts, last_reason) "
	"VALUES (1, ?1, 1, ?1, ?2) ON CONFLICT(id) DO UPDATE SET "
	"refusals = refusals + 1, last_ts = ?1, last_reason = ?2",
	[ADB__GATE_PASSED] =
	"DELETE FROM gate_refusal",
	[ADB__GATE_GET] =
	"SELECT since, refusals, last_ts, last_reason FROM gate_refusal "
	"WHERE id = 1",
	/* ... and every refusal ever, for posagent_gate_refusals_total: a
	 * named counter beside the job numbers, never reset, so the metric
	 * never goes down across passes and restarts */
	[ADB__GATE_COUNT] =
	"INSERT INTO sequence(name, value) VALUES ('gate_refusals', 1) "
	"ON CONFLICT(name) DO UPDATE SET value = value + 1",
	[ADB__GATE_TOTAL] =
	"SELECT value FROM sequence WHERE name = 'gate_refusals'",

	/* the size of agent.db, for retention */
	[ADB__PAGE_SIZE] = "PRAGMA page_size",
	[ADB__PAGE_COUNT] = "PRAGMA page_count",
	[ADB__FREELIST_COUNT] = "PRAGMA freelist_count",
	[ADB__AUTO_VACUUM] = "PRAGMA auto_vacuum",
};

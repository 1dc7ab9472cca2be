/* adb_int — shared by agent.db's files only (adb.c, adb_sql.c, adb_job.c,
 * adb_jobq.c, adb_prof.c, gstat.c) and by their unit tests; nothing else
 * includes it. Every statement agent.db runs has an id here; its text is in
 * adb_sql.c (the one place), and it is prepared once per connection, on
 * first use, kept in the handle and finalized by adb_close(). */
#ifndef ADB_INT_H
#define ADB_INT_H

#include <sqlite3.h>

#include "agent/store/adb.h"

enum adb__sql {
	/* jobs (adb_job.c) */
	ADB__JOB_NEXT_NUMBER, ADB__JOB_INSERT, ADB__JOB_BY_ID,
	ADB__JOB_BY_NAME, ADB__JOB_BY_UUID, ADB__JOB_SAVE,
	ADB__JOB_SAVE_STATS, ADB__JOB_STATE, ADB__JOB_LOG_CLEAR,
	ADB__JOB_RESET, ADB__JOB_GATE_OVERRIDE, ADB__JOB_DRY_RUN,
	ADB__JOB_CANCEL_FLAG, ADB__JOB_REQUEST_CANCEL, ADB__JOB_LOG_INSERT,
	ADB__JOB_DELETE, ADB__JOB_UUID_EXISTS, ADB__JOB_COUNT_ROWS,
	/* queries over many jobs (adb_jobq.c) */
	ADB__JOBQ_LIST, ADB__JOBQ_LOG_COUNT, ADB__JOBQ_LOG_PAGE,
	ADB__JOBQ_PRUNE_BEFORE, ADB__JOBQ_PRUNE_OLDEST, ADB__JOBQ_LAST,
	ADB__JOBQ_RUNNING_PROGRESS, ADB__JOBQ_SHA_DONE, ADB__JOBQ_SHA_USED,
	ADB__JOBQ_DRAFTS_REPLACED, ADB__JOBQ_RUNNING, ADB__JOBQ_FIND_DRAFT,
	ADB__JOBQ_COUNTS, ADB__JOBQ_ROWS_TOTAL,
	/* profiles (adb_prof.c) */
	ADB__PROF_INSERT, ADB__PROF_UPSERT, ADB__PROF_GET, ADB__PROF_DELETE,
	ADB__PROF_ALL,
	/* the KKT gate's refusal streak and lifetime count (gstat.c) */
	ADB__GATE_REFUSED, ADB__GATE_PASSED, ADB__GATE_GET,
	ADB__GATE_COUNT, ADB__GATE_TOTAL,
	/* the size of agent.db (adb.c) */
	ADB__PAGE_SIZE, ADB__PAGE_COUNT, ADB__FREELIST_COUNT, ADB__AUTO_VACUUM,
	ADB__NSQL
};

/* The columns of a job row, in the order adb__job_from_row reads them. */
#define ADB__JOB_COLS "id, name, uuid, profile, file_name, file_sha256, " \
	"file_size, state, create_date, start_date, end_date, duration, " \
	"total_rows, processed_rows, created_count, updated_count, " \
	"skipped_count, error_count, progress_percent, error_message, notes, " \
	"cancel_requested, file_name_encoding, gate_override, " \
	"unchanged_count, price_guard"

struct job;
/* Fill j (freeing its old strings) from the current row of a statement
 * that selects ADB__JOB_COLS. PA_ENOMEM if a value cannot be copied. */
int adb__job_from_row(sqlite3_stmt *st, struct job *j);

struct adb {
	sqlite3 *db;
	outbox *ob;
	sqlite3_stmt *st[ADB__NSQL];  /* prepared on first use, never again */
	long prepared;                /* how many of them so far */
};

/* The SQL text of each id (adb_sql.c). */
extern const char *const adb__sql[ADB__NSQL];

/* The statement id on a's connection, prepared on first use, reset and
 * with no bindings. Owned by a: the caller hands it back with adb__done()
 * on every path, so no read transaction is left open between calls (a
 * pending SELECT would pin the connection's snapshot and make the next
 * read stale). PA_ENOMEM or a PA_EDB code if it cannot be prepared. */
int adb__stmt(adb *a, enum adb__sql id, sqlite3_stmt **st);
/* Reset st and clear its bindings; NULL is fine. */
void adb__done(sqlite3_stmt *st);
/* Step st (a statement that returns no rows): PA_OK, or the mapped error
 * naming what. */
int adb__step_done(adb *a, sqlite3_stmt *st, const char *what);

#endif

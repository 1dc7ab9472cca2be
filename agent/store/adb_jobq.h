/* adb_jobq — the statements over many jobs in agent.db: the filtered list,
 * a job's log by pages, retention, the figures for the heartbeat and the
 * metrics file, and the look-ups that decide whether a file is new. The
 * JSON the user and HQ see is built above, in agent/import/jobq.c.
 *
 * Functions that walk rows call `each` once per row with values that live
 * until it returns; a non-PA_OK return from `each` stops the walk and is
 * returned. `each` must not use the store (the statement is still open). */
#ifndef ADB_JOBQ_H
#define ADB_JOBQ_H

#include <stdint.h>

#include "agent/store/adb.h"
#include "agent/store/adb_job.h"

struct adbq_filter {
	int state;              /* enum job_state, or -1 for any */
	int errors_only;        /* error_count > 0 */
	const char *since;      /* ISO-8601 UTC lower bound on create_date, or NULL */
	long limit;             /* 0 = all */
};
/* Jobs matching f, newest first. */
int adbq_list(adb *a, const struct adbq_filter *f,
    int (*each)(void *ctx, const struct job *j), void *ctx);

/* One entry of a job's log; row_data is JSON text or NULL. */
struct adbq_log {
	const char *level, *message, *row_data, *create_date;
	int64_t row_number;
};
/* How many log entries job_id has at level (-1 = all). */
int adbq_log_count(adb *a, int64_t job_id, int level, long *total);
/* Up to limit entries of job_id's log at level (-1 = all) after skipping
 * offset, oldest first. */
int adbq_log_page(adb *a, int64_t job_id, int level, long limit,
    long offset, int (*each)(void *ctx, const struct adbq_log *e), void *ctx);

/* Delete the jobs (their logs go with them) created before `before` (ISO
 * UTC), never running ones; *deleted set. */
int adbq_prune_before(adb *a, const char *before, long *deleted);
/* Delete the twenty oldest jobs that are not running; *deleted set (0:
 * none left). */
int adbq_prune_oldest(adb *a, long *deleted);

/* How many jobs run, and the highest progress among them. */
int adbq_running_progress(adb *a, long *running, double *progress);
/* The latest job in state s (by end date): each is called once, or not at
 * all when there is none; end_date may be NULL. */
int adbq_last(adb *a, enum job_state s, int (*each)(void *ctx,
    const char *name, const char *file_name, const char *end_date),
    void *ctx);
/* *rows = the lifetime count of imported rows (adbj_count_rows); left as
 * it is when agent.db has none yet (no job done since it was added). */
int adbq_rows_total(adb *a, int64_t *rows);
/* Per state that has jobs: how many, and the created + updated rows of its
 * done jobs that were not dry runs. */
int adbq_counts(adb *a, int (*each)(void *ctx, const char *state,
    int64_t jobs, int64_t rows), void *ctx);

/* *found = 1 if a file with this sha256 was imported (done) with profile. */
int adbq_sha_done(adb *a, const char *sha256, const char *profile,
    int *found);
/* *found = 1 if any job (any state) uses the spooled content sha256. */
int adbq_sha_used(adb *a, const char *sha256, int *found);
/* The newest draft job for this content and profile into j (its old
 * strings freed): *found 1, or 0 with j untouched. */
int adbq_find_draft(adb *a, const char *sha256, const char *profile,
    struct job *j, int *found);
/* Names of older drafts with j's file name and profile but other content. */
int adbq_drafts_replaced(adb *a, const struct job *j,
    int (*each)(void *ctx, const char *name), void *ctx);
/* Names of the running jobs, oldest first. */
int adbq_running(adb *a, int (*each)(void *ctx, const char *name),
    void *ctx);

#endif

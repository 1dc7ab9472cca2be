/* jobq — queries over many jobs: the filtered list (the seed's search view),
 * paginated logs, pruning, and the jobs part of the health document, as the
 * JSON the CLI and HQ see. The statements are the store's
 * (agent/store/adb_jobq.c). */
#ifndef JOBQ_H
#define JOBQ_H

#include <jansson.h>
#include <stdint.h>

#include "agent/import/job.h"
#include "agent/store/adb.h"

struct jobq_filter {
	int state;              /* enum job_state, or -1 for any */
	int errors_only;        /* error_count > 0 */
	const char *since;      /* ISO-8601 UTC lower bound on create_date, or NULL */
	long limit;             /* 0 = all */
};

/* New array of job objects (job_to_json), newest first. */
int jobq_list(adb *a, const struct jobq_filter *f, json_t **out);

/* One page (1-based) of j's log, oldest first; level -1 = all. New object
 * {job, page, page_size, total, entries:[{level, message, row_number,
 * row_data, create_date}]}. */
int jobq_log_page(adb *a, const struct job *j, int level, long page,
    long page_size, json_t **out);

/* Delete jobs (and their logs) created before `before` (ISO UTC), never
 * running ones. *deleted set. */
int jobq_prune(adb *a, const char *before, long *deleted);

/* {running, progress_percent, last_done, last_failed} for the heartbeat. */
int jobq_health(adb *a, json_t **out);
/* {"by_state": {draft, running, done, failed, cancelled: count},
 *  "rows_imported": created + updated rows of done, non-dry-run jobs,
 *  ever (a lifetime count: pruning, deleting, reverting do not lower it)}
 * for the metrics file. New reference in *out. */
int jobq_counts(adb *a, json_t **out);

/* Has a file with this sha256 already been imported (done) with profile? */
int jobq_sha_done(adb *a, const char *sha256, const char *profile, int *found);

/* Does any job (any state) use the spooled content sha256? */
int jobq_sha_used(adb *a, const char *sha256, int *found);

/* The newest draft job for this file content and profile (a job the gate
 * refused earlier), or *out NULL. */
int jobq_find_draft(adb *a, const char *sha256, const char *profile,
    struct job **out);

/* Names of older draft jobs for the same file name and profile as j but
 * other content: an inbox file replaced while the gate held it (their
 * drafts would stay forever). *names is a new JSON array. */
int jobq_drafts_replaced(adb *a, const struct job *j, json_t **names);

/* Names of jobs in state running (for recovery); *names is a JSON array. */
int jobq_running(adb *a, json_t **names);

#endif

/* jobq — queries over many jobs: the filtered list (the seed's search view),
 * paginated logs, pruning, and the jobs part of the health document. */
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

#endif

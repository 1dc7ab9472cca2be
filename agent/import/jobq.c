/* jobq — the JSON over the store's job queries (see jobq.h). */
#include "agent/import/jobq.h"

#include <string.h>

#include "agent/store/adb_jobq.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

/* Append the JSON of one job to the array ctx. */
static int
add_job(void *ctx, const struct job *j)
{
	json_t *o = job_to_json(j);

	return o != NULL && json_array_append_new(ctx, o) == 0 ? PA_OK :
	    PA_ENOMEM;
}

int
jobq_list(adb *a, const struct jobq_filter *f, json_t **out)
{
	struct adbq_filter q = { f->state, f->errors_only, f->since, f->limit };
	json_t *arr = NULL;
	int rc;

	*out = NULL;
	if ((arr = json_array()) == NULL)
		return PA_ENOMEM;
	if ((rc = adbq_list(a, &q, add_job, arr)) != PA_OK)
		goto out;
	*out = arr;
	arr = NULL; /* transferred */
out:
	json_decref(arr);
	return rc;
}

/* Append one log entry to the array ctx. Its row_data is JSON we wrote:
 * a parse can only fail for want of memory, and that is the caller's
 * error, not a null row_data (the entry would silently lose its row). */
static int
add_log(void *ctx, const struct adbq_log *l)
{
	json_t *rd = NULL, *e;
	json_error_t jerr;
	unsigned long failed = pa_mem_failures();

	if (l->row_data && (rd = json_loads(l->row_data, 0, &jerr)) == NULL &&
	    (json_error_code(&jerr) == json_error_out_of_memory ||
	    pa_mem_failures() != failed))
		return PA_ENOMEM;
	e = json_pack("{s:s, s:s, s:I, s:o, s:s}", "level", l->level,
	    "message", l->message, "row_number", (json_int_t)l->row_number,
	    "row_data", rd ? rd : json_null(), "create_date", l->create_date);
	return e != NULL && json_array_append_new(ctx, e) == 0 ? PA_OK :
	    PA_ENOMEM;
}

int
jobq_log_page(adb *a, const struct job *j, int level, long page,
    long page_size, json_t **out)
{
	json_t *doc = NULL;
	long total = 0;
	int rc;

	*out = NULL;
	if ((rc = adbq_log_count(a, j->id, level, &total)) != PA_OK)
		return rc;
	doc = json_pack("{s:s, s:I, s:I, s:I, s:[]}", "job", j->name, "page",
	    (json_int_t)page, "page_size", (json_int_t)page_size, "total",
	    (json_int_t)total, "entries");
	if (doc == NULL)
		return PA_ENOMEM;
	if ((rc = adbq_log_page(a, j->id, level, page_size, (page - 1) *
	    page_size, add_log, json_object_get(doc, "entries"))) != PA_OK)
		goto out;
	*out = doc;
	doc = NULL; /* transferred */
out:
	json_decref(doc);
	return rc;
}

int
jobq_prune(adb *a, const char *before, long *deleted)
{
	return adbq_prune_before(a, before, deleted);
}

/* ctx = {name, file_name, end_date} of the job. */
static int
set_last(void *ctx, const char *name, const char *file_name,
    const char *end_date)
{
	json_t **v = ctx;

	*v = json_pack("{s:s, s:s, s:s?}", "name", name, "file_name", file_name,
	    "end_date", end_date);
	return *v ? PA_OK : PA_ENOMEM;
}

/* {name, file_name, end_date} of the latest job in state, or null. */
static int
last_job(adb *a, enum job_state s, json_t **out)
{
	int rc;

	*out = NULL;
	if ((rc = adbq_last(a, s, set_last, out)) != PA_OK)
		return rc;
	if (*out == NULL && (*out = json_null()) == NULL)
		return PA_ENOMEM;       /* cannot happen: null is static */
	return PA_OK;
}

int
jobq_health(adb *a, json_t **out)
{
	json_t *done = NULL, *failed = NULL;
	double progress = 0;
	long running = 0;
	int rc;

	*out = NULL;
	if ((rc = adbq_running_progress(a, &running, &progress)) != PA_OK ||
	    (rc = last_job(a, JOB_DONE, &done)) != PA_OK ||
	    (rc = last_job(a, JOB_FAILED, &failed)) != PA_OK)
		goto out;
	*out = json_pack("{s:I, s:f, s:O, s:O}", "running", (json_int_t)running,
	    "progress_percent", progress, "last_done", done, "last_failed",
	    failed);
	rc = *out ? PA_OK : PA_ENOMEM;
out:
	json_decref(done);
	json_decref(failed);
	return rc;
}

int
jobq_sha_done(adb *a, const char *sha256, const char *profile, int *found)
{
	return adbq_sha_done(a, sha256, profile, found);
}

int
jobq_sha_used(adb *a, const char *sha256, int *found)
{
	return adbq_sha_used(a, sha256, found);
}

/* Append one name to the array ctx. */
static int
add_name(void *ctx, const char *name)
{
	return json_array_append_new(ctx, json_string(name)) == 0 ? PA_OK :
	    PA_ENOMEM;
}

int
jobq_drafts_replaced(adb *a, const struct job *j, json_t **names)
{
	json_t *arr = json_array();
	int rc;

	*names = NULL;
	if (arr == NULL)
		return PA_ENOMEM;
	if ((rc = adbq_drafts_replaced(a, j, add_name, arr)) == PA_OK) {
		*names = arr;
		arr = NULL; /* transferred */
	}
	json_decref(arr);
	return rc;
}

int
jobq_running(adb *a, json_t **names)
{
	json_t *arr = json_array();
	int rc;

	*names = NULL;
	if (arr == NULL)
		return PA_ENOMEM;
	if ((rc = adbq_running(a, add_name, arr)) == PA_OK) {
		*names = arr;
		arr = NULL; /* transferred */
	}
	json_decref(arr);
	return rc;
}

int
jobq_find_draft(adb *a, const char *sha256, const char *profile,
    struct job **out)
{
	struct job *j = NULL;
	int found = 0, rc;

	*out = NULL;
	if ((j = pa_calloc(1, sizeof(*j))) == NULL)
		return PA_ENOMEM;
	if ((rc = adbq_find_draft(a, sha256, profile, j, &found)) == PA_OK &&
	    found) {
		*out = j;
		j = NULL; /* transferred */
	}
	job_free(j);
	return rc;
}

struct counts {
	json_t *by;
	json_int_t rows;
};

static int
add_count(void *ctx, const char *state, int64_t jobs, int64_t rows)
{
	struct counts *c = ctx;

	c->rows += rows;
	return json_object_set_new(c->by, state, json_integer(jobs)) == 0 ?
	    PA_OK : PA_ENOMEM;
}

int
jobq_counts(adb *a, json_t **out)
{
	static const char *const states[] = { "draft", "running", "done",
	    "failed", "cancelled" };
	struct counts c = { NULL, 0 };
	int64_t total;
	size_t i;
	int rc;

	*out = NULL;
	if ((c.by = json_object()) == NULL)
		return PA_ENOMEM;
	/* Every state appears, zero included: a metric that vanishes reads as
	 * "no data" to monitoring, not as 0. */
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (json_object_set_new(c.by, states[i], json_integer(0)) != 0) {
			rc = PA_ENOMEM;
			goto out;
		}
	if ((rc = adbq_counts(a, add_count, &c)) != PA_OK)
		goto out;
	/* The lifetime count when agent.db keeps one (the done jobs' rows
	 * otherwise): pruned, deleted and reverted jobs do not lower it. */
	total = c.rows;
	if ((rc = adbq_rows_total(a, &total)) != PA_OK)
		goto out;
	c.rows = (json_int_t)total;
	*out = json_pack("{s:O,s:I}", "by_state", c.by, "rows_imported", c.rows);
	rc = *out ? PA_OK : PA_ENOMEM;
out:
	json_decref(c.by);
	return rc;
}

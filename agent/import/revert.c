#include "agent/import/revert.h"

#include <stdio.h>
#include <string.h>

#include "hal/pa_err.h"

int
rev_run(adb *a, const char *data_dir, struct job *j, int dry_run,
    const char *by, struct rev_result *out)
{
	struct cat_revert_res res;
	char msg[512];
	cat *c = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = job_reload(a, j)) != PA_OK)
		return rc;
	if (j->state != JOB_DONE)
		return pa_err_set(PA_ESTATE, "job %s is %s: only a done job can be "
		    "reverted", j->name, job_state_name(j->state));
	if ((rc = cat_open(data_dir, &c)) != PA_OK)
		return rc;
	/* The catalog first: if we die before agent.db follows, the catalog
	 * remembers the revert and running the command again settles the job
	 * without touching a row. */
	if ((rc = cat_revert(c, j->uuid, j->name, dry_run, &res)) != PA_OK) {
		if (rc == PA_ENOTFOUND)
			rc = pa_err_set(PA_ESTATE, "%s (a dry run changes nothing, so "
			    "there is nothing to revert)", pa_err_msg(rc));
		goto out;
	}
	out->removed = res.removed;
	out->restored = res.restored;
	if (dry_run)
		goto out;
	if (res.already)
		snprintf(msg, sizeof(msg), "reverted by %s: the catalog had already "
		    "been reverted (the previous attempt stopped before recording "
		    "it)", by);
	else
		snprintf(msg, sizeof(msg), "reverted by %s: %ld created rows "
		    "removed, %ld changed rows given their old values back", by,
		    res.removed, res.restored);
	if ((rc = adb_begin(a)) != PA_OK)
		goto out;
	if ((rc = job_log(a, j, JOB_INFO, 0, msg, NULL)) != PA_OK ||
	    (rc = job_transition(a, j, JOB_REVERTED, NULL)) != PA_OK ||
	    (rc = adb_commit(a)) != PA_OK) {
		adb_rollback(a);
		goto out;
	}
out:
	cat_close(c);
	if (job_reload(a, j) != PA_OK && rc == PA_OK)
		rc = PA_ENOTFOUND;
	return rc;
}

static int
job_exists(void *ctx, const char *uuid, int *yes)
{
	return adbj_uuid_exists(ctx, uuid, yes);
}

int
rev_sweep(adb *a, cat *c)
{
	long n;

	return cat_undo_sweep(c, job_exists, a, &n);
}

int
rev_sweep_dir(adb *a, const char *data_dir)
{
	cat *c = NULL;
	int rc;

	if ((rc = cat_open(data_dir, &c)) != PA_OK)
		return rc;
	rc = rev_sweep(a, c);
	cat_close(c);
	return rc;
}

/* posagent job revert JOB [--dry-run] (DESIGN §5: done → reverted) */
#include <stdio.h>
#include <string.h>

#include "agent/cli/cli_int.h"
#include "agent/import/revert.h"
#include "hal/hal_user.h"
#include "hal/pa_err.h"

void
cli_who(char *buf, size_t n)
{
	char name[96];
	long uid;

	hal_whoami(name, sizeof(name), &uid);
	snprintf(buf, n, "%s (uid %ld)", name, uid);
}

enum { V_DRY_RUN };
const struct pa_opt cli_revert_opts[] = {
	[V_DRY_RUN] = { "dry-run", 0, NULL, "check that the job can be "
	    "reverted and count the\nrows; change nothing", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};

int
cli_job_revert(struct cli_ctx *ctx, const struct pa_args *args)
{
	struct rev_result res;
	struct job *j = NULL;
	json_t *o = NULL;
	char who[160];
	int rc, dry_run = args->val[V_DRY_RUN] != NULL;
	adb *a = NULL;

	if ((rc = cli_store(ctx, &a, 1)) != PA_OK)
		return rc;
	if ((rc = job_get(a, args->pos[0], &j)) != PA_OK)
		goto out;
	cli_who(who, sizeof(who));
	rc = rev_run(a, ctx->cfg->data_dir, j, dry_run, who, &res);
	if (rc != PA_OK && rc != PA_ESTATE)
		goto out;
	if (ctx->json) {
		if ((o = job_to_json(j)) == NULL) {
			rc = PA_ENOMEM;
			goto out;
		}
		if (rc == PA_OK)
			json_object_set_new(o, "revert", json_pack("{s:b, s:I, s:I}",
			    "dry_run", dry_run, "removed", (json_int_t)res.removed,
			    "restored", (json_int_t)res.restored));
		else
			json_object_set_new(o, "error", json_pack("{s:i, s:s, s:s}",
			    "code", cli_exit_code(rc), "name", pa_errname(rc),
			    "message", pa_err_msg(rc)));
		if (rc != PA_OK)
			ctx->json_done = 1;
		cli_emit_json(o);
		goto out;
	}
	if (rc != PA_OK)
		goto out;
	if (dry_run)
		printf("job %s can be reverted: %ld created rows would be removed, "
		    "%ld changed rows would get their old values back (dry run: "
		    "nothing changed)\n", j->name, res.removed, res.restored);
	else if (!ctx->quiet)
		printf("job %s reverted: %ld created rows removed, %ld changed rows "
		    "given their old values back\n", j->name, res.removed,
		    res.restored);
out:
	job_free(j);
	adb_close(a);
	return rc;
}

/* posagent job list | job prune */
#include <string.h>

#include "agent/cli/cli_int.h"
#include "agent/import/jobq.h"
#include "agent/import/revert.h"
#include "agent/import/space.h"
#include "hal/hal.h"
#include "hal/pa_err.h"

enum { L_STATE, L_ERRORS, L_SINCE, L_GROUP, L_LIMIT };
const struct pa_opt cli_list_opts[] = {
	[L_STATE] = { "state", 0, "S", "only jobs in state S (draft, running, "
	    "done,\nfailed, cancelled, reverted)", 0 },
	[L_ERRORS] = { "errors", 0, NULL, "only jobs with error rows", 0 },
	[L_SINCE] = { "since", 0, "today|week|YYYY-MM-DD", "only jobs created "
	    "since then (local time)", 0 },
	[L_GROUP] = { "group-by", 0, "profile|state|date", "one table per "
	    "group, with its count", 0 },
	[L_LIMIT] = { "limit", 0, "N", "at most N jobs, newest first", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};

/* Turn the list options into a filter. */
static int
list_filter(const struct pa_args *args, struct jobq_filter *f,
    char since[32], const char **group)
{
	const char *v;
	enum job_state s;
	int64_t t;
	int rc;

	f->errors_only = args->val[L_ERRORS] != NULL;
	if ((v = args->val[L_STATE]) != NULL) {
		if ((rc = job_state_parse(v, &s)) != PA_OK)
			return rc;
		f->state = (int)s;
	}
	if ((v = args->val[L_SINCE]) != NULL) {
		if (strcmp(v, "today") == 0 || strcmp(v, "week") == 0)
			t = hal_local_midnight_ms(v[0] == 't' ? 0 : 6);
		else if (hal_local_date_parse(v, &t) != PA_OK)
			return pa_err_set(PA_EUSAGE, "job list --since: use today, "
			    "week or a date YYYY-MM-DD");
		hal_iso_ms(t, since);
		f->since = since;
	}
	if ((v = args->val[L_GROUP]) != NULL) {
		if (strcmp(v, "profile") && strcmp(v, "state") && strcmp(v, "date"))
			return pa_err_set(PA_EUSAGE, "job list --group-by: use "
			    "profile, state or date");
		*group = v;
	}
	if ((v = args->val[L_LIMIT]) != NULL)
		return cli_long_arg("--limit", v, 1, 1000000, &f->limit);
	return PA_OK;
}

/* Read-only: never settles (issue #8). */
static int
list_jobs(struct cli_ctx *ctx, adb *a, const struct pa_args *args)
{
	static const struct cli_col cols[] = {
		{ "name", "JOB", 0, 0 }, { "state", "STATE", 0, 0 },
		{ "profile", "PROFILE", 0, 24 }, { "file_name", "FILE", 0, 32 },
		{ "total_rows", "ROWS", 1, 0 }, { "created_count", "NEW", 1, 0 },
		{ "updated_count", "UPD", 1, 0 }, { "unchanged_count", "SAME", 1, 0 },
		{ "error_count", "ERR", 1, 0 },
		{ "progress_percent", "%", 1, 0 }, { "create_date", "CREATED", 0, 0 },
	};
	struct jobq_filter f = { -1, 0, NULL, 0 };
	const char *group = NULL;
	json_t *jobs = NULL, *groups = NULL, *j, *g = NULL;
	char since[32], key[64];
	size_t i;
	int rc;

	if ((rc = list_filter(args, &f, since, &group)) != PA_OK)
		return rc;
	if ((rc = jobq_list(a, &f, &jobs)) != PA_OK)
		return rc;
	if (group == NULL) {
		if (ctx->json) {
			cli_emit_json(jobs);
			return PA_OK;
		}
		if (json_array_size(jobs) == 0) {
			if (!ctx->quiet)
				printf("no jobs match\n");
		} else
			cli_table(stdout, ctx->color, cols, 11, jobs);
		json_decref(jobs);
		return PA_OK;
	}
	/* Groups keep the list's order (newest first) of their first job. */
	groups = json_array();
	json_array_foreach(jobs, i, j) {
		const char *gk;
		size_t gi;
		if (group[0] == 'd') {
			int64_t ms = 0;
			hal_iso_parse(json_string_value(json_object_get(j,
			    "create_date")), &ms);
			hal_local_date(ms, key);
			gk = key;
		} else {
			gk = json_string_value(json_object_get(j, group));
		}
		json_array_foreach(groups, gi, g)
			if (strcmp(json_string_value(json_object_get(g, "group")), gk) == 0)
				break;
		if (gi == json_array_size(groups)) {
			g = json_pack("{s:s, s:i, s:[]}", "group", gk, "count", 0, "jobs");
			json_array_append_new(groups, g);
		}
		json_array_append(json_object_get(g, "jobs"), j);
		json_object_set_new(g, "count", json_integer((json_int_t)
		    json_array_size(json_object_get(g, "jobs"))));
	}
	json_decref(jobs);
	if (ctx->json) {
		cli_emit_json(groups);
		return PA_OK;
	}
	json_array_foreach(groups, i, g) {
		printf("%s%s: %s%s (%lld)\n", i ? "\n" : "", group,
		    json_string_value(json_object_get(g, "group")), "",
		    (long long)json_integer_value(json_object_get(g, "count")));
		cli_table(stdout, ctx->color, cols, 11, json_object_get(g, "jobs"));
	}
	json_decref(groups);
	return PA_OK;
}

enum { P_OLDER };
const struct pa_opt cli_prune_opts[] = {
	[P_OLDER] = { "older-than", 0, "DAYS", "delete finished jobs older than "
	    "DAYS\n(default: [agent] retention_days)", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};

static int
prune_jobs(struct cli_ctx *ctx, adb *a, const struct pa_args *args)
{
	struct space_prune_report rep;
	long days = ctx->cfg->retention_days;
	int rc;

	if (args->val[P_OLDER] && (rc = cli_long_arg("--older-than",
	    args->val[P_OLDER], 0, 100000, &days)) != PA_OK)
		return rc;
	/* What the daemon does daily (issue #8 §4). */
	if ((rc = space_prune(a, ctx->cfg->data_dir, days,
	    ctx->cfg->retention_max_mb, &rep)) != PA_OK)
		return rc;
	/* Their before-images go with them (best effort: an import running
	 * now defers it to its own end). */
	(void)rev_sweep_dir(a, ctx->cfg->data_dir);
	if (ctx->json)
		cli_emit_json(json_pack("{s:I, s:I, s:I, s:I, s:I}", "deleted",
		    (json_int_t)rep.jobs, "older_than_days", (json_int_t)days,
		    "spool_files_removed", (json_int_t)rep.spool_files,
		    "agent_db_bytes_before", (json_int_t)rep.db_bytes_before,
		    "agent_db_bytes_after", (json_int_t)rep.db_bytes_after));
	else if (!ctx->quiet)
		printf("%ld job%s deleted (older than %ld days, or over the "
		    "[agent] retention_max_mb ceiling; running jobs kept), %ld "
		    "unused spool file%s removed; agent.db %.1f -> %.1f MB\n",
		    rep.jobs, rep.jobs == 1 ? "" : "s", days, rep.spool_files,
		    rep.spool_files == 1 ? "" : "s",
		    (double)rep.db_bytes_before / 1048576.0,
		    (double)rep.db_bytes_after / 1048576.0);
	return PA_OK;
}

int
cli_job_list(struct cli_ctx *ctx, const struct pa_args *args)
{
	adb *a = NULL;
	int rc;

	if ((rc = cli_store(ctx, &a, 0)) != PA_OK)
		return rc;
	rc = list_jobs(ctx, a, args);
	adb_close(a);
	return rc;
}

int
cli_job_prune(struct cli_ctx *ctx, const struct pa_args *args)
{
	adb *a = NULL;
	int rc;

	if ((rc = cli_store(ctx, &a, 1)) != PA_OK)
		return rc;
	rc = prune_jobs(ctx, a, args);
	adb_close(a);
	return rc;
}

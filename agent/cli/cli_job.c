/* posagent import | job ... | log */
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli/cli_int.h"
#include "agent/core/names.h"
#include "agent/import/jobq.h"
#include "agent/import/pipeline.h"
#include "agent/import/revert.h"
#include "agent/import/runner.h"
#include "agent/import/space.h"
#include "hal/hal.h"
#include "hal/hal_wait.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

#define CANCEL_WAIT_MS 10000   /* how long `job cancel` waits for the runner */

static const char import_help[] =
"usage: posagent import FILE --profile NAME [--dry-run] [--preview N]\n"
"                             [--override-gate REASON]\n"
"                       [--accept-price-changes]\n"
"Create a job for FILE and run it: KKT gate, then the import.\n"
"  --dry-run    run the whole import, same counts and logs, then roll the\n"
"               catalog back\n"
"  --preview N  print the first N mapped rows; nothing is imported and no\n"
"               job is created\n"
"  --override-gate REASON  run even though the KKT gate refuses (adapter\n"
"               broken, OFD down for days); only with [kkt] allow_override\n"
"               = true; your user name, REASON and the adapter's answer\n"
"               are logged and sent to HQ with the job\n"
"  --accept-price-changes  import even if the price guard finds too many\n"
"               prices moving too far (logged with your user name)\n";

static const char job_help[] =
"usage: posagent job create FILE --profile NAME\n"
"       posagent job run JOB [--dry-run] [--override-gate REASON]\n"
"                            [--accept-price-changes]\n"
"       posagent job cancel JOB | reset JOB | show JOB | delete JOB\n"
"       posagent job revert JOB [--dry-run]\n"
"       posagent job list [--state S] [--errors]\n"
"                         [--since today|week|YYYY-MM-DD]\n"
"                         [--group-by profile|state|date] [--limit N]\n"
"       posagent job prune [--older-than DAYS]   (default: [agent]\n"
"                         retention_days; also the retention_max_mb\n"
"                         ceiling, unused spool files, and the space freed\n"
"                         goes back to the filesystem)\n"
"JOB is a job name (IMP/00042, or 42) or its uuid.\n"
"States: draft -> running -> done | failed; draft|running -> cancelled;\n"
"failed|cancelled -> draft (reset); done -> reverted (revert: the catalog\n"
"rows return to their values before that import; refused, naming the rows,\n"
"when a later import changed them since).\n"
"--accept-price-changes: run even if the price guard would stop the import\n"
"(logged with your user name; for this run only).\n";

static const char log_help[] =
"usage: posagent log JOB [--level info|warning|error] [--page N] "
"[--page-size N]\n"
"Show a job's log, oldest first, one page at a time (default page size 50).\n";

static const char *const show_keys[] = {
	"name", "state", "profile", "file_name", "file_name_encoding",
	"file_sha256", "create_date",
	"start_date", "end_date", "duration", "total_rows", "created_count",
	"updated_count", "unchanged_count", "skipped_count", "error_count",
	"progress_percent", "price_guard", "error_message", "notes", "uuid", NULL
};

static const char *
text_of(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : "-";
}

/* For people: the price guard's verdict as one line, not an object. */
static void
guard_summary(json_t *o)
{
	json_t *g = json_object_get(o, "price_guard");
	const char *cause;
	char line[160];

	if (!json_is_object(g))
		return;
	cause = json_string_value(json_object_get(g, "likely_cause"));
	snprintf(line, sizeof(line), "%s: %lld of %lld matched products move "
	    "a price > %g %% (%g %% of them; limit %g %%)%s%s",
	    json_string_value(json_object_get(g, "verdict")),
	    (long long)json_integer_value(json_object_get(g, "changed")),
	    (long long)json_integer_value(json_object_get(g, "matched")),
	    json_number_value(json_object_get(g, "max_price_change_percent")),
	    json_number_value(json_object_get(g, "share_percent")),
	    json_number_value(json_object_get(g, "max_changed_share_percent")),
	    cause ? ", likely cause: " : "", cause ? cause : "");
	json_object_set_new(o, "price_guard", json_string(line));
}

/* What print_job shows it for. */
enum pj { PJ_SHOW, PJ_ACTED, PJ_MADE };

static void
print_job(struct cli_ctx *ctx, const struct job *j, int rc, enum pj why)
{
	json_t *o, *ov;

	/* -q: an action that succeeded prints only the name of the job it
	 * made (import, job create: the handle a script needs next); a failed
	 * one still shows the job, and `job show` is the data asked for. */
	if (ctx->quiet && !ctx->json && rc == PA_OK && why != PJ_SHOW) {
		if (why == PJ_MADE)
			printf("%s\n", j->name);
		return;
	}
	if ((o = job_to_json(j)) == NULL)
		return;
	if (ctx->json) {
		if (rc != PA_OK) {
			/* One document: the job, and why the command failed. */
			json_object_set_new(o, "error", cli_error_json(rc));
			ctx->json_done = 1;
		}
		cli_emit_json(o);
		return;
	}
	guard_summary(o);
	/* DESIGN §5: a failed or cancelled job changed nothing; say so
	 * rather than show zeros a reader may take for "nothing matched". */
	if (j->state == JOB_FAILED || j->state == JOB_CANCELLED) {
		json_object_set_new(o, "created_count", json_string("rolled back"));
		json_object_set_new(o, "updated_count", json_string("rolled back"));
	}
	cli_kv(stdout, ctx->color, o, show_keys);
	if ((ov = json_object_get(o, "gate_override")) != NULL)
		printf("%-18s  by %s, reason \"%s\"; KKT: %s\n", "gate_override",
		    text_of(ov, "by"), text_of(ov, "reason"),
		    text_of(json_object_get(ov, "kkt"), "reason"));
	json_decref(o);
}

static void
on_progress(void *vctx, const struct job *j)
{
	(void)vctx;
	if (j->state == JOB_RUNNING)
		cli_progress(stderr, j->name, j->progress, j->total_rows, j->errors);
}

/* Parse "--profile NAME", "--dry-run", "--preview N" and one FILE/JOB. */
struct jargs {
	const char *pos, *profile;
	const char *override;   /* --override-gate REASON */
	int dry_run, accept;
	long preview;
};

static int
parse_jargs(int argc, char **argv, int from, struct jargs *ja, int allow)
{
	int i, rc;

	memset(ja, 0, sizeof(*ja));
	for (i = from; i < argc; i++) {
		if ((allow & 1) && strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
			ja->profile = argv[++i];
		} else if ((allow & 2) && strcmp(argv[i], "--dry-run") == 0) {
			ja->dry_run = 1;
		} else if ((allow & 2) && strcmp(argv[i], "--override-gate") == 0 &&
		    i + 1 < argc) {
			ja->override = argv[++i];
		} else if ((allow & 8) && strcmp(argv[i],
		    "--accept-price-changes") == 0) {
			ja->accept = 1;
		} else if ((allow & 4) && strcmp(argv[i], "--preview") == 0) {
			if ((rc = cli_long_arg("--preview", i + 1 < argc ? argv[i + 1] :
			    NULL, 1, 100000, &ja->preview)) != PA_OK)
				return rc;
			i++;
		} else if (ja->pos == NULL && (argv[i][0] != '-' || argv[i][1] == '\0')) {
			ja->pos = argv[i];
		} else {
			return pa_err_set(PA_EUSAGE, "%s: unexpected argument '%s' (see "
			    "--help)", argv[from - 1], argv[i]);
		}
	}
	if (ja->pos == NULL)
		return pa_err_set(PA_EUSAGE, "%s: which %s? (see --help)",
		    argv[from - 1], (allow & 1) ? "FILE" : "JOB");
	if ((allow & 1) && ja->profile == NULL)
		return pa_err_set(PA_EUSAGE, "%s: --profile NAME is required "
		    "(posagent profile list shows them)", argv[from - 1]);
	return PA_OK;
}

#define OVERRIDE_REASON_MAX 300 /* bytes: one line in a log and at HQ */

/* --override-gate is a person's recorded decision (DESIGN §6): allowed only
 * by the terminal's config, and only with a reason worth keeping. */
static int
check_override(const struct cli_ctx *ctx, const char *reason)
{
	json_t *utf8;
	size_t i, n;

	if (reason == NULL)
		return PA_OK;
	if (!ctx->cfg->kkt_allow_override)
		return pa_err_set(PA_EUSAGE, "--override-gate is not allowed on "
		    "this terminal: [kkt] allow_override is not true in %s",
		    ctx->cfg->path[0] ? ctx->cfg->path : "the configuration");
	for (n = strlen(reason); n > 0 && (reason[n - 1] == ' ' ||
	    reason[n - 1] == '\t'); n--)
		;
	for (i = 0; i < n && (reason[i] == ' ' || reason[i] == '\t'); i++)
		;
	if (i == n)
		return pa_err_set(PA_EUSAGE, "--override-gate needs a reason: say "
		    "why the import cannot wait for the KKT (it is logged and "
		    "sent to HQ)");
	if (strlen(reason) > OVERRIDE_REASON_MAX)
		return pa_err_set(PA_EUSAGE, "--override-gate: the reason is "
		    "longer than %d bytes", OVERRIDE_REASON_MAX);
	for (i = 0; reason[i]; i++)
		if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
			return pa_err_set(PA_EUSAGE, "--override-gate: the reason "
			    "must be one line of text");
	if ((utf8 = json_string(reason)) == NULL)
		return pa_err_set(PA_EUSAGE, "--override-gate: the reason is not "
		    "valid UTF-8");
	json_decref(utf8);
	return PA_OK;
}

static int
create_job(struct cli_ctx *ctx, adb *a, const struct jargs *ja,
    struct job **out)
{
	struct profile *p = NULL;
	char sha[65], base[PATH_MAX];
	uint64_t size = 0;
	int rc;

	if ((rc = prof_get(a, ja->profile, &p)) != PA_OK)
		return rc;
	if ((rc = prof_check_active(p)) != PA_OK)
		goto out;
	if ((rc = runner_spool(ctx->cfg->data_dir, ja->pos, sha, &size)) != PA_OK)
		goto out;
	snprintf(base, sizeof(base), "%s", ja->pos);
	if ((rc = job_create(a, p->name, basename(base), sha, (int64_t)size,
	    out)) != PA_OK)
		runner_unspool(a, ctx->cfg->data_dir, sha);
out:
	prof_free(p);
	return rc;
}

static int
run_job(struct cli_ctx *ctx, adb *a, struct job *j, const struct jargs *ja,
    enum pj why)
{
	struct runner_opts ro;
	char who[160];
	int rc, bar = !ctx->json && !ctx->quiet && isatty(STDERR_FILENO);

	memset(&ro, 0, sizeof(ro));
	ro.data_dir = ctx->cfg->data_dir;
	ro.kkt = &ctx->cfg->kkt;
	ro.dry_run = ja->dry_run;
	ro.override_reason = ja->override;
	/* Only a person at this command line can accept (never the daemon). */
	cli_who(who, sizeof(who));
	ro.accept_price_changes = ja->accept;
	ro.accepted_by = who;
	ro.on_progress = bar ? on_progress : NULL;
	rc = runner_run(a, j, &ro);
	if (bar)
		cli_progress_end(stderr);
	/* A dry run's counts are what it was asked for, -q or not. */
	if (job_reload(a, j) == PA_OK)
		print_job(ctx, j, rc, ja->dry_run ? PJ_SHOW : why);
	return rc;
}

struct pv {
	struct cli_ctx *ctx;
	json_t *rows;
};

static int
pv_row(void *vctx, long row, const json_t *mapped)
{
	struct pv *pv = vctx;
	json_t *o = json_deep_copy(mapped);

	if (o == NULL)
		return PA_ENOMEM;
	json_object_set_new(o, "row_number", json_integer(row));
	return json_array_append_new(pv->rows, o) ? PA_ENOMEM : PA_OK;
}

static int
preview(struct cli_ctx *ctx, adb *a, const struct jargs *ja)
{
	struct pv pv = { ctx, json_array() };
	struct pipe_sink sink = { &pv, NULL, NULL, pv_row };
	struct cli_col cols[CLI_MAX_COLS];
	struct pipe_opts po;
	struct pipe_stats st;
	struct profile *p = NULL;
	char base[PATH_MAX], *label = NULL;
	enum names_enc enc;
	size_t n = 0;
	int rc, f;

	if (pv.rows == NULL)
		return PA_ENOMEM;
	if ((rc = prof_get(a, ja->profile, &p)) != PA_OK ||
	    (rc = prof_check_active(p)) != PA_OK)
		goto out;
	snprintf(base, sizeof(base), "%s", ja->pos);
	/* The label goes into messages and JSON: the name's UTF-8 rendering. */
	if ((rc = names_render(basename(base), &label, &enc)) != PA_OK)
		goto out;
	memset(&po, 0, sizeof(po));
	po.path = ja->pos;
	po.file_label = label;
	po.prof = p;
	po.preview = ja->preview;
	if (access(ja->pos, R_OK) != 0) {
		rc = pa_err_set(PA_ENOTFOUND, "cannot read %s", ja->pos);
		goto out;
	}
	if ((rc = pipe_run(&po, &sink, &st)) != PA_OK)
		goto out;
	if (ctx->json) {
		cli_emit_json(json_pack("{s:s, s:s, s:O}", "file", po.file_label,
		    "profile", p->name, "rows", pv.rows));
		goto out;
	}
	cols[n++] = (struct cli_col){ "row_number", "ROW", 1, 0 };
	for (f = 0; f < CAT_NFIELDS && n < CLI_MAX_COLS - 1; f++)
		if (p->column[f])
			cols[n++] = (struct cli_col){ cat_field_name((enum cat_field)f),
			    cat_field_name((enum cat_field)f), cat_field_kind(
			    (enum cat_field)f) != CAT_TEXT, 30 };
	cols[n++] = (struct cli_col){ "error", "ERROR", 0, 60 };
	cli_table(stdout, ctx->color, cols, n, pv.rows);
out:
	json_decref(pv.rows);
	prof_free(p);
	pa_free(label);
	return rc;
}

int
cmd_import(struct cli_ctx *ctx, int argc, char **argv)
{
	struct jargs ja;
	struct job *j = NULL;
	adb *a = NULL;
	int rc;

	if (cli_wants_help(argc, argv))
		return cli_usage(import_help);
	if ((rc = parse_jargs(argc, argv, 1, &ja, 15)) != PA_OK ||
	    (rc = check_override(ctx, ja.override)) != PA_OK)
		return rc;
	if ((rc = cli_store(ctx, &a, 1)) != PA_OK)
		return rc;
	if (ja.preview > 0) {
		rc = preview(ctx, a, &ja);
		goto out;
	}
	if ((rc = create_job(ctx, a, &ja, &j)) != PA_OK)
		goto out;
	rc = run_job(ctx, a, j, &ja, PJ_MADE);
out:
	job_free(j);
	adb_close(a);
	return rc;
}

static int
cancel_job(struct cli_ctx *ctx, adb *a, struct job *j)
{
	int64_t deadline;
	int rc, running;

	if ((rc = job_cancel(a, j, &running)) != PA_OK || !running)
		goto out;
	/* The runner checks the flag every quarter second and rolls back;
	 * if it died instead, recovery settles the job. */
	deadline = hal_sys.mono_ms() + CANCEL_WAIT_MS;
	while ((rc = job_reload(a, j)) == PA_OK && j->state == JOB_RUNNING &&
	    hal_sys.mono_ms() < deadline) {
		(void)hal_sleep_ms(50);
		if ((rc = runner_recover(a, ctx->cfg->data_dir, NULL)) != PA_OK)
			break;
	}
	if (rc == PA_OK && j->state == JOB_RUNNING)
		rc = pa_err_set(PA_ETIMEOUT, "job %s: cancel requested, but its "
		    "import has not stopped yet; check again with posagent job show",
		    j->name);
	else if (rc == PA_OK && j->state != JOB_CANCELLED)
		rc = pa_err_set(PA_ESTATE, "job %s ended %s before it could be "
		    "cancelled", j->name, job_state_name(j->state));
out:
	if (job_reload(a, j) == PA_OK)
		print_job(ctx, j, rc, PJ_ACTED);
	return rc;
}

static int
list_jobs(struct cli_ctx *ctx, adb *a, int argc, char **argv)
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
	enum job_state s;
	size_t i;
	int rc, k;

	for (k = 2; k < argc; k++) {
		const char *v = k + 1 < argc ? argv[k + 1] : NULL;
		if (strcmp(argv[k], "--errors") == 0) {
			f.errors_only = 1;
			continue;
		}
		if (v == NULL)
			return pa_err_set(PA_EUSAGE, "job list: %s needs a value (see "
			    "posagent job --help)", argv[k]);
		k++;
		if (strcmp(argv[k - 1], "--state") == 0) {
			if ((rc = job_state_parse(v, &s)) != PA_OK)
				return rc;
			f.state = (int)s;
		} else if (strcmp(argv[k - 1], "--since") == 0) {
			int64_t t;
			if (strcmp(v, "today") == 0 || strcmp(v, "week") == 0)
				t = hal_local_midnight_ms(v[0] == 't' ? 0 : 6);
			else if (hal_local_date_parse(v, &t) != PA_OK)
				return pa_err_set(PA_EUSAGE, "job list --since: use today, "
				    "week or a date YYYY-MM-DD");
			hal_iso_ms(t, since);
			f.since = since;
		} else if (strcmp(argv[k - 1], "--group-by") == 0) {
			if (strcmp(v, "profile") && strcmp(v, "state") && strcmp(v, "date"))
				return pa_err_set(PA_EUSAGE, "job list --group-by: use "
				    "profile, state or date");
			group = v;
		} else if (strcmp(argv[k - 1], "--limit") == 0) {
			if ((rc = cli_long_arg("--limit", v, 1, 1000000, &f.limit)) != PA_OK)
				return rc;
		} else {
			return pa_err_set(PA_EUSAGE, "job list: unknown option %s",
			    argv[k - 1]);
		}
	}
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

static int
prune_jobs(struct cli_ctx *ctx, adb *a, int argc, char **argv)
{
	struct space_prune_report rep;
	long days = ctx->cfg->retention_days;
	int rc;

	if (argc == 4 && strcmp(argv[2], "--older-than") == 0) {
		if ((rc = cli_long_arg("--older-than", argv[3], 0, 100000, &days)) !=
		    PA_OK)
			return rc;
	} else if (argc != 2) {
		return pa_err_set(PA_EUSAGE, "usage: posagent job prune "
		    "[--older-than DAYS]");
	}
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
cmd_job(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	struct jargs ja;
	struct job *j = NULL;
	adb *a = NULL;
	int rc;

	if (argc < 2 || cli_wants_help(argc, argv))
		return argc < 2 ? pa_err_set(PA_EUSAGE, "job: which subcommand? "
		    "(posagent job --help)") : cli_usage(job_help);
	if ((rc = cli_store(ctx, &a, strcmp(sub, "list") != 0 &&
	    strcmp(sub, "show") != 0)) != PA_OK)
		return rc;
	if (strcmp(sub, "list") == 0) {
		rc = list_jobs(ctx, a, argc, argv);
		goto out;
	}
	if (strcmp(sub, "prune") == 0) {
		rc = prune_jobs(ctx, a, argc, argv);
		goto out;
	}
	if (strcmp(sub, "revert") == 0) {
		rc = cli_job_revert(ctx, a, argc, argv);
		goto out;
	}
	if (strcmp(sub, "create") == 0) {
		if ((rc = parse_jargs(argc, argv, 2, &ja, 1)) != PA_OK ||
		    (rc = create_job(ctx, a, &ja, &j)) != PA_OK)
			goto out;
		print_job(ctx, j, PA_OK, PJ_MADE);
		goto out;
	}
	if (strcmp(sub, "run") && strcmp(sub, "cancel") && strcmp(sub, "reset") &&
	    strcmp(sub, "show") && strcmp(sub, "delete")) {
		rc = pa_err_set(PA_EUSAGE, "job %s: unknown subcommand (posagent job "
		    "--help)", sub);
		goto out;
	}
	if ((rc = parse_jargs(argc, argv, 2, &ja, strcmp(sub, "run") ? 0 : 10))
	    != PA_OK || (rc = check_override(ctx, ja.override)) != PA_OK ||
	    (rc = job_get(a, ja.pos, &j)) != PA_OK)
		goto out;
	if (strcmp(sub, "run") == 0) {
		rc = run_job(ctx, a, j, &ja, PJ_ACTED);
	} else if (strcmp(sub, "cancel") == 0) {
		rc = cancel_job(ctx, a, j);
	} else if (strcmp(sub, "reset") == 0) {
		rc = job_reset(a, j);
		print_job(ctx, j, rc, PJ_ACTED);
	} else if (strcmp(sub, "show") == 0) {
		print_job(ctx, j, PA_OK, PJ_SHOW);
	} else if ((rc = job_delete(a, j)) == PA_OK) {
		(void)rev_sweep_dir(a, ctx->cfg->data_dir);
		if (ctx->json)
			cli_emit_json(json_pack("{s:s}", "deleted", j->name));
		else if (!ctx->quiet)
			printf("job %s deleted with its log\n", j->name);
	}
out:
	job_free(j);
	adb_close(a);
	return rc;
}

int
cmd_log(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct cli_col cols[] = {
		{ "create_date", "TIME", 0, 24 }, { "level", "LEVEL", 0, 0 },
		{ "row_number", "ROW", 1, 0 }, { "message", "MESSAGE", 0, 0 },
	};
	const char *ref = NULL;
	long page = 1, size = 50;
	enum job_level lvl;
	int level = -1, rc, i;
	struct job *j = NULL;
	json_t *doc = NULL;
	adb *a = NULL;

	if (cli_wants_help(argc, argv))
		return cli_usage(log_help);
	for (i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--level") == 0) {
			if (v == NULL)
				return pa_err_set(PA_EUSAGE, "--level needs a value");
			if ((rc = job_level_parse(v, &lvl)) != PA_OK)
				return rc;
			level = (int)lvl;
			i++;
		} else if (strcmp(argv[i], "--page") == 0) {
			if ((rc = cli_long_arg("--page", v, 1, 100000000, &page)) != PA_OK)
				return rc;
			i++;
		} else if (strcmp(argv[i], "--page-size") == 0) {
			if ((rc = cli_long_arg("--page-size", v, 1, 10000, &size)) != PA_OK)
				return rc;
			i++;
		} else if (ref == NULL && argv[i][0] != '-') {
			ref = argv[i];
		} else {
			return pa_err_set(PA_EUSAGE, "log: unexpected '%s' (see posagent "
			    "log --help)", argv[i]);
		}
	}
	if (ref == NULL)
		return pa_err_set(PA_EUSAGE, "log: which job? (posagent log --help)");
	if ((rc = cli_store(ctx, &a, 0)) != PA_OK)
		return rc;
	if ((rc = job_get(a, ref, &j)) != PA_OK ||
	    (rc = jobq_log_page(a, j, level, page, size, &doc)) != PA_OK)
		goto out;
	if (ctx->json) {
		cli_emit_json(doc);
		doc = NULL;
		goto out;
	}
	printf("%s  page %ld of %lld (%lld entries)\n", j->name, page,
	    ((long long)json_integer_value(json_object_get(doc, "total")) + size -
	    1) / size, (long long)json_integer_value(json_object_get(doc, "total")));
	cli_table(stdout, ctx->color, cols, 4, json_object_get(doc, "entries"));
out:
	json_decref(doc);
	job_free(j);
	adb_close(a);
	return rc;
}

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
#include "hal/hal.h"
#include "hal/hal_wait.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

#define CANCEL_WAIT_MS 10000   /* how long `job cancel` waits for the runner */

static const char import_help[] =
"Create a job for FILE and run it: KKT gate, then the import.\n";

static const char job_help[] =
"JOB is a job name (IMP/00042, or 42) or its uuid.\n"
"States: draft -> running -> done | failed; draft|running -> cancelled;\n"
"failed|cancelled -> draft (reset); done -> reverted (revert: the catalog\n"
"rows return to their values before that import; refused, naming the rows,\n"
"when a later import changed them since).\n"
"prune without --older-than uses [agent] retention_days; it also applies\n"
"the retention_max_mb ceiling, removes unused spool files, and gives the\n"
"space freed back to the filesystem.\n";

static const char log_help[] =
"Show a job's log, oldest first, one page at a time (default page size 50).\n";

enum { I_PROFILE, I_DRY_RUN, I_OVERRIDE, I_ACCEPT, I_PREVIEW };
#define OPT_DRY_RUN { "dry-run", 0, NULL, "run the whole import, same counts " \
	"and logs, then roll\nthe catalog back", 0 }
#define OPT_OVERRIDE { "override-gate", 0, "REASON", "run even though the " \
	"KKT gate refuses (adapter\nbroken, OFD down for days); only with " \
	"[kkt]\nallow_override = true; your user name, REASON and\nthe " \
	"adapter's answer are logged and sent to HQ", 0 }
#define OPT_ACCEPT { "accept-price-changes", 0, NULL, "import even if the " \
	"price guard finds too many\nprices moving too far (logged with your " \
	"user\nname; for this run only)", 0 }
static const struct pa_opt import_opts[] = {
	[I_PROFILE] = { "profile", 0, "NAME", "the import profile (posagent "
	    "profile list)", PA_OPT_REQUIRED },
	[I_DRY_RUN] = OPT_DRY_RUN,
	[I_OVERRIDE] = OPT_OVERRIDE,
	[I_ACCEPT] = OPT_ACCEPT,
	[I_PREVIEW] = { "preview", 0, "N", "print the first N mapped rows; "
	    "nothing is\nimported and no job is created", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};
enum { R_DRY_RUN, R_OVERRIDE, R_ACCEPT };
static const struct pa_opt run_opts[] = {
	[R_DRY_RUN] = OPT_DRY_RUN,
	[R_OVERRIDE] = OPT_OVERRIDE,
	[R_ACCEPT] = OPT_ACCEPT,
	{ NULL, 0, NULL, NULL, 0 }
};
static const struct pa_opt create_opts[] = {
	[I_PROFILE] = { "profile", 0, "NAME", "the import profile (posagent "
	    "profile list)", PA_OPT_REQUIRED },
	{ NULL, 0, NULL, NULL, 0 }
};

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

/* What import, job create and job run were asked to do. */
struct jargs {
	const char *pos, *profile;
	const char *override;   /* --override-gate REASON */
	int dry_run, accept;
	long preview;
};

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

static int
cmd_import(struct cli_ctx *ctx, const struct pa_args *args)
{
	struct jargs ja = { args->pos[0], args->val[I_PROFILE],
	    args->val[I_OVERRIDE], args->val[I_DRY_RUN] != NULL,
	    args->val[I_ACCEPT] != NULL, 0 };
	struct job *j = NULL;
	adb *a = NULL;
	int rc;

	if ((args->val[I_PREVIEW] && (rc = cli_long_arg("--preview",
	    args->val[I_PREVIEW], 1, 100000, &ja.preview)) != PA_OK) ||
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

/* job run|cancel|reset|show|delete JOB: what each does once JOB is found. */
static int
job_act(struct cli_ctx *ctx, adb *a, struct job *j, const char *sub,
    const struct pa_args *args)
{
	struct jargs ja = { NULL, NULL, args->val[R_OVERRIDE],
	    args->val[R_DRY_RUN] != NULL, args->val[R_ACCEPT] != NULL, 0 };
	int rc = PA_OK;

	if (strcmp(sub, "run") == 0)
		return run_job(ctx, a, j, &ja, PJ_ACTED);
	if (strcmp(sub, "cancel") == 0)
		return cancel_job(ctx, a, j);
	if (strcmp(sub, "reset") == 0) {
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
	return rc;
}

/* Every job verb but revert, list and prune: open agent.db (settling dead
 * runs first unless the verb only reads), then act; sub names the verb. */
static int
job_verb(struct cli_ctx *ctx, const struct pa_args *args, const char *sub)
{
	struct jargs ja = { args->pos[0], NULL, NULL, 0, 0, 0 };
	struct job *j = NULL;
	adb *a = NULL;
	int rc;

	if (strcmp(sub, "run") == 0 &&
	    (rc = check_override(ctx, args->val[R_OVERRIDE])) != PA_OK)
		return rc;
	if ((rc = cli_store(ctx, &a, strcmp(sub, "show") != 0)) != PA_OK)
		return rc;
	if (strcmp(sub, "create") == 0) {
		ja.profile = args->val[I_PROFILE];
		if ((rc = create_job(ctx, a, &ja, &j)) == PA_OK)
			print_job(ctx, j, PA_OK, PJ_MADE);
	} else if ((rc = job_get(a, ja.pos, &j)) == PA_OK) {
		rc = job_act(ctx, a, j, sub, args);
	}
	job_free(j);
	adb_close(a);
	return rc;
}

/* One entry point per verb (a trailing _ where the library has the name). */
#define JOB_VERB(fn, name) \
	static int fn(struct cli_ctx *ctx, const struct pa_args *a) \
	{ return job_verb(ctx, a, name); }
JOB_VERB(job_create_, "create")
JOB_VERB(job_run, "run")
JOB_VERB(job_cancel_, "cancel")
JOB_VERB(job_reset_, "reset")
JOB_VERB(job_show, "show")
JOB_VERB(job_delete_, "delete")

enum { G_LEVEL, G_PAGE, G_PAGE_SIZE };
static const struct pa_opt log_opts[] = {
	[G_LEVEL] = { "level", 0, "info|warning|error", "only entries of this "
	    "level", 0 },
	[G_PAGE] = { "page", 0, "N", "which page (default 1)", 0 },
	[G_PAGE_SIZE] = { "page-size", 0, "N", "entries per page (default 50)",
	    0 },
	{ NULL, 0, NULL, NULL, 0 }
};

static int
cmd_log(struct cli_ctx *ctx, const struct pa_args *args)
{
	static const struct cli_col cols[] = {
		{ "create_date", "TIME", 0, 24 }, { "level", "LEVEL", 0, 0 },
		{ "row_number", "ROW", 1, 0 }, { "message", "MESSAGE", 0, 0 },
	};
	long page = 1, size = 50;
	enum job_level lvl;
	int level = -1, rc;
	struct job *j = NULL;
	json_t *doc = NULL;
	adb *a = NULL;

	if (args->val[G_LEVEL]) {
		if ((rc = job_level_parse(args->val[G_LEVEL], &lvl)) != PA_OK)
			return rc;
		level = (int)lvl;
	}
	if ((args->val[G_PAGE] && (rc = cli_long_arg("--page",
	    args->val[G_PAGE], 1, 100000000, &page)) != PA_OK) ||
	    (args->val[G_PAGE_SIZE] && (rc = cli_long_arg("--page-size",
	    args->val[G_PAGE_SIZE], 1, 10000, &size)) != PA_OK))
		return rc;
	if ((rc = cli_store(ctx, &a, 0)) != PA_OK)
		return rc;
	if ((rc = job_get(a, args->pos[0], &j)) != PA_OK ||
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

const struct cli_group cli_import_group = {
	"import", import_help,
	(const struct cli_verb[]){
		{ NULL, "FILE", 1, 1, import_opts, cmd_import, NULL },
		{ NULL, NULL, 0, 0, NULL, NULL, NULL } },
	1,
};

const struct cli_group cli_job_group = {
	"job", job_help,
	(const struct cli_verb[]){
		{ "create", "FILE", 1, 1, create_opts, job_create_, NULL },
		{ "run", "JOB", 1, 1, run_opts, job_run, NULL },
		{ "cancel", "JOB", 1, 1, NULL, job_cancel_, NULL },
		{ "reset", "JOB", 1, 1, NULL, job_reset_, NULL },
		{ "show", "JOB", 1, 1, NULL, job_show, NULL },
		{ "delete", "JOB", 1, 1, NULL, job_delete_, NULL },
		{ "revert", "JOB", 1, 1, cli_revert_opts, cli_job_revert,
		    "undo a done import (done -> reverted)" },
		{ "list", NULL, 0, 0, cli_list_opts, cli_job_list, NULL },
		{ "prune", NULL, 0, 0, cli_prune_opts, cli_job_prune, NULL },
		{ NULL, NULL, 0, 0, NULL, NULL, NULL } },
	1,
};

const struct cli_group cli_log_group = {
	"log", log_help,
	(const struct cli_verb[]){
		{ NULL, "JOB", 1, 1, log_opts, cmd_log, NULL },
		{ NULL, NULL, 0, 0, NULL, NULL, NULL } },
	1,
};

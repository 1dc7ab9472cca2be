#include "agent/cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli/cli_int.h"
#include "agent/cli/cli_version.h"
#include "agent/core/names.h"
#include "agent/import/runner.h"
#include "hal/hal.h"
#include "hal/hal_fault.h"
#include "hal/pa_err.h"
#include "hal/pa_log.h"
#include "hal/pa_mem.h"

/* The one place PA codes become exit statuses (sysexits, DESIGN §9). */
int
cli_exit_code(int rc)
{
	switch (rc) {
	case PA_OK:
		return 0;
	case PA_EUSAGE:
	case PA_EINVAL:
	case PA_ESTATE:            /* the command does not fit the job's state */
		return 64;
	case PA_EDATA:
	case PA_EFORMAT:
	case PA_EENCODING:
	case PA_ELIMIT:
	case PA_ECANCELLED:        /* the import did not happen */
	case PA_EEXISTS:
		return 65;
	case PA_ENOTFOUND:
		return 66;
	case PA_EKKT_UNREACHABLE:
	case PA_EHQ_UNAVAILABLE:
	case PA_ETLS:
	case PA_ETIMEOUT:
	case PA_EPROTO:
	case PA_ELOCKED:
		return 69;
	case PA_EKKT_UNSYNCED:
		return 75;
	case PA_EACCESS:           /* EX_NOPERM: the OS refused us a file */
		return 77;
	case PA_ENOSPC:            /* EX_IOERR: the disk, not the data */
	case PA_EGONE:             /* EX_IOERR: our files were unlinked */
		return 74;
	case PA_ECONFIG:
	case PA_EPROFILE:
	case PA_EPERM:
	case PA_EHQ_AUTH:
	case PA_EKKT_AUTH:         /* credentials: a person fixes the config */
		return 78;
	default:
		return 70;
	}
}

void
cli_emit_json(json_t *j)
{
	char *s;

	if (j == NULL)
		return;
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		pa_free(s);      /* jansson allocates through pa_mem */
	}
	json_decref(j);
}

int
cli_store(struct cli_ctx *ctx, adb **out, int settle)
{
	int rc;

	if ((rc = adb_open(ctx->cfg->data_dir, out)) != PA_OK)
		return rc;
	/* A command that writes first settles the jobs a dead process left
	 * running (DESIGN §8); the daemon does it every loop turn. */
	if (settle && (rc = runner_recover(*out, ctx->cfg->data_dir, NULL)) !=
	    PA_OK) {
		adb_close(*out);
		*out = NULL;
	}
	return rc;
}

int
cli_long_arg(const char *opt, const char *val, long min, long max, long *out)
{
	char *end;
	long v;

	if (val == NULL)
		return pa_err_set(PA_EUSAGE, "%s needs a value", opt);
	errno = 0;
	v = strtol(val, &end, 10);
	if (errno || end == val || *end || v < min || v > max)
		return pa_err_set(PA_EUSAGE, "%s %s: expected a whole number from "
		    "%ld to %ld", opt, val, min, max);
	*out = v;
	return PA_OK;
}

/* Global options: before the command word (--json also after it). */
enum { G_CONF, G_DATA, G_QUIET, G_VERBOSE, G_JSON, G_VERSION, G_HELP };
static const struct pa_opt global_opts[] = {
	[G_CONF] = { "config", 'c', "FILE", "configuration (default "
	    CONFIG_DEFAULT_PATH ")", 0 },
	[G_DATA] = { "data-dir", 'd', "DIR", "data directory (overrides "
	    "[agent] data_dir)", 0 },
	[G_QUIET] = { "quiet", 'q', NULL, "no chatter: no progress bar, no confirmations;\nrequested data, warnings and errors still print", 0 },
	[G_VERBOSE] = { "verbose", 'v', NULL, "debug lines too", 0 },
	[G_JSON] = { "json", 0, NULL, "machine-readable output on stdout (times "
	    "in UTC;\nhuman output shows local time); also after COMMAND", 0 },
	[G_VERSION] = { "version", 0, NULL, "print the version (with "
	    "-v/--verbose: every bundled\nlibrary and its version)", 0 },
	[G_HELP] = { "help", 'h', NULL, "this text; COMMAND --help for a "
	    "command; --help config\nfor a commented sample configuration",
	    PA_OPT_HELP },
	{ NULL, 0, NULL, NULL, 0 }
};

/* Every command also takes these, anywhere among its arguments. */
enum { X_JSON, X_HELP };
static const struct pa_opt common_opts[] = {
	[X_JSON] = { "json", 0, NULL, "machine-readable output on stdout", 0 },
	[X_HELP] = { "help", 'h', NULL, "this text", PA_OPT_HELP },
	{ NULL, 0, NULL, NULL, 0 }
};

static const struct cli_group *const groups[] = {
	&cli_init_group, &cli_config_group, &cli_profile_group,
	&cli_import_group, &cli_job_group, &cli_log_group, &cli_kkt_group,
	&cli_sync_group, &cli_status_group, &cli_run_group,
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static const char main_about[] =
"Imports supplier price lists into the POS catalog mirror, gated on the\n"
"KKT fiscal buffer, and reports to headquarters.\n";

static const char main_exit[] =
"exit codes: 0 ok, 1 status: needs attention, 64 usage or wrong job state,\n"
"65 job failed on its data, 66 not found, 69 KKT adapter or HQ unavailable,\n"
"70 internal, 74 disk full or data directory removed while running,\n"
"75 refused: KKT buffer not synced, 77 permission denied, 78 configuration\n"
"error (see man posagent)\n";

static void
verb_synopsis(FILE *f, const char *lead, const struct cli_group *g,
    const struct cli_verb *v)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "%s%s%s%s", lead, g->name, v->sub ? " " : "",
	    v->sub ? v->sub : "");
	pa_opt_synopsis(f, buf, v->pos, v->opts, NULL);
}

/* posagent --help: every command with every option, generated from the
 * tables the parser uses. */
static void
main_help(FILE *f)
{
	const struct cli_verb *v;
	size_t i;

	pa_opt_synopsis(f, "usage: posagent", NULL, global_opts,
	    "COMMAND [ARGS]");
	fprintf(f, "\n%s\ncommands:\n", main_about);
	for (i = 0; i < NGROUPS; i++)
		for (v = groups[i]->verbs; v->fn != NULL; v++) {
			verb_synopsis(f, "  ", groups[i], v);
			if (v->about)
				fprintf(f, "      %s\n", v->about);
		}
	fputs("\noptions:\n", f);
	pa_opt_list(f, global_opts);
	fprintf(f, "\n%s", main_exit);
}

/* COMMAND --help: its synopses, its prose, and each verb's options (v:
 * only that one). */
static void
group_help(FILE *f, const struct cli_group *g, const struct cli_verb *only)
{
	const struct cli_verb *v;
	char buf[96];

	for (v = g->verbs; v->fn != NULL; v++)
		if (only == NULL || v == only)
			verb_synopsis(f, v == g->verbs || only ? "usage: posagent " :
			    "       posagent ", g, v);
	if (g->help)
		fprintf(f, "\n%s", g->help);
	for (v = g->verbs; v->fn != NULL; v++) {
		if ((only && v != only) || v->opts == NULL || v->opts[0].name == NULL)
			continue;
		snprintf(buf, sizeof(buf), "%s%s%s", g->name, v->sub ? " " : "",
		    v->sub ? v->sub : "");
		fprintf(f, "\n%s options:\n", buf);
		pa_opt_list(f, v->opts);
	}
	fputs("\ncommon options:\n", f);
	pa_opt_list(f, common_opts);
}

/* Which verb of g argv names: its subcommand word is the first argument
 * that is not a common option. On success *subi is that word's index (0:
 * the group has no subcommands). */
static int
find_verb(const struct cli_group *g, int argc, char **argv, int help,
    const struct cli_verb **out, int *subi)
{
	const struct cli_verb *v;
	char names[160];
	size_t n = 0;
	int i;

	*out = NULL;
	*subi = 0;
	if (g->verbs[0].sub == NULL) {
		*out = g->verbs;
		return PA_OK;
	}
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--json") && strcmp(argv[i], "--help") &&
		    strcmp(argv[i], "-h"))
			break;
	for (v = g->verbs; i < argc && v->fn != NULL; v++)
		if (strcmp(argv[i], v->sub) == 0) {
			*out = v;
			*subi = i;
			return PA_OK;
		}
	if (help)
		return PA_OK;   /* the group's help */
	names[0] = '\0';
	for (v = g->verbs; v->fn != NULL && n < sizeof(names); v++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
		    v == g->verbs ? "" : v[1].fn ? ", " : " or ", v->sub);
	if (i == argc)
		return pa_err_set(PA_EUSAGE, "%s: which command? %s (see posagent "
		    "%s --help)", g->name, names, g->name);
	return pa_err_set(PA_EUSAGE, "%s: unknown command '%s': %s (see "
	    "posagent %s --help)", g->name, argv[i], names, g->name);
}

/* Parse a command's arguments: argv[0] is the command word. */
static int
parse_command(struct cli_ctx *ctx, const struct cli_group *g, int argc,
    char **argv, const struct cli_verb **vout, struct pa_args *a, int *help)
{
	const struct cli_verb *v;
	char **sub = NULL, cmd[96];
	int i, n = 0, subi, rc, wants = 0;

	/* A help request anywhere decides before anything can fail. */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			wants = 1;
	if ((rc = find_verb(g, argc, argv, wants, &v, &subi)) != PA_OK)
		return rc;
	*vout = v;
	if (v == NULL) {
		*help = 1;
		return PA_OK;
	}
	/* The verb's own argv, without its subcommand word. */
	if ((sub = pa_calloc((size_t)argc + 1, sizeof(char *))) == NULL)
		return PA_ENOMEM;
	for (i = 0; i < argc; i++)
		if (i != subi || i == 0)
			sub[n++] = argv[i];
	snprintf(cmd, sizeof(cmd), "%s%s%s", g->name, v->sub ? " " : "",
	    v->sub ? v->sub : "");
	rc = pa_opt_parse("posagent", cmd, v->opts, common_opts, n, sub, 0, a);
	if (rc != PA_OK)
		goto out;
	if (a->xval[X_HELP]) {
		*help = 1;
		goto out;
	}
	if (a->xval[X_JSON])
		ctx->json = 1;
	if (a->npos < v->pos_min)
		rc = pa_err_set(PA_EUSAGE, "%s: which %s? (see posagent %s --help)",
		    cmd, v->pos, cmd);
	else if (a->npos > v->pos_max)
		rc = pa_err_set(PA_EUSAGE, "%s: unexpected argument '%s' (see "
		    "posagent %s --help)", cmd, a->pos[v->pos_max], cmd);
	else
		for (i = 0; v->opts != NULL && v->opts[i].name != NULL; i++)
			if ((v->opts[i].flags & PA_OPT_REQUIRED) && !a->val[i]) {
				rc = pa_err_set(PA_EUSAGE, "%s: --%s %s is required (see "
				    "posagent %s --help)", cmd, v->opts[i].name,
				    v->opts[i].arg, cmd);
				break;
			}
out:
	pa_free(sub);
	return rc;
}

json_t *
cli_error_json(int rc)
{
	char *msg = NULL;
	enum names_enc enc;
	json_t *o;

	/* A message may quote a file name's raw bytes: JSON needs UTF-8. */
	if (names_render(pa_err_msg(rc), &msg, &enc) != PA_OK)
		return NULL;
	o = json_pack("{s:i, s:s, s:s}", "code", cli_exit_code(rc), "name",
	    pa_errname(rc), "message", msg);
	pa_free(msg);
	return o;
}

static void
report(struct cli_ctx *ctx, int rc)
{
	char buf[4096];

	/* Escaped: a name's control characters must not forge a line. In
	 * the journal it is an error (sd-daemon(3) prefix): without it the
	 * reason a service failed to start (a bad key, exit 78) was logged
	 * at info, found by `make systemd-check`. */
	fprintf(stderr, "%sposagent: %s\n", pa_log_to_journal() ? "<3>" : "",
	    names_human(pa_err_msg(rc), buf, sizeof(buf)));
	if (ctx->json && !ctx->json_done)
		cli_emit_json(json_pack("{s:o*}", "error", cli_error_json(rc)));
}

/* Sanitized builds (make test) only: POSAGENT_TEST_FAIL_ALLOC=N makes the
 * Nth allocation fail and every one after it, the binary's end-to-end out
 * of memory test (tests/integration/test_oom.py); POSAGENT_TEST_FAULT
 * makes one kind of OS call fail (hal/hal_fault.h; test_faults.py). A
 * release build ignores both. */
#if defined(__SANITIZE_ADDRESS__)
#define PA_TEST_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PA_TEST_HOOKS 1
#endif
#endif

static void
test_hooks(void)
{
#ifdef PA_TEST_HOOKS
	const char *v = getenv("POSAGENT_TEST_FAIL_ALLOC");
	char *end;
	long n;

	if (v != NULL && *v != '\0') {
		n = strtol(v, &end, 10);
		if (*end == '\0' && n >= 0)
			pa_mem_fail_after(n);
	}
	v = getenv("POSAGENT_TEST_FAULT");
	if (v != NULL && *v != '\0' && hal_fault_arm(v) != PA_OK)
		fprintf(stderr, "posagent: %s\n", pa_err_msg(PA_EINVAL));
#endif
}

int
cli_main(int argc, char **argv)
{
	static struct pa_config cfg;
	struct cli_ctx ctx;
	struct pa_args ga, ca;
	const struct cli_group *g = NULL;
	const struct cli_verb *v = NULL;
	const char *conf, *data_dir, *term;
	char **args;
	int nargs, rc = PA_OK, help = 0;
	size_t c;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	if ((rc = pa_mem_route_libs()) != PA_OK)
		goto out;
	test_hooks();
	/* Global options come before the command word (in order: getopt
	 * stops there); --help and --version end the work here. */
	if ((rc = pa_opt_parse("posagent", NULL, global_opts, NULL, argc, argv,
	    1, &ga)) != PA_OK)
		goto out;
	args = argv + ga.next;
	nargs = argc - ga.next;
	ctx.json = ga.val[G_JSON] != NULL;
	/* Of -q and -v, the later wins. */
	ctx.quiet = ga.seq[G_QUIET] > ga.seq[G_VERBOSE];
	ctx.verbose = ga.seq[G_VERBOSE] > ga.seq[G_QUIET];
	if (ctx.quiet)
		pa_log_set_level(PA_LOG_WARNING);
	if (ctx.verbose)
		pa_log_set_level(PA_LOG_DEBUG);
	if (ga.val[G_HELP]) {
		if (nargs == 1 && strcmp(args[0], "config") == 0)
			config_write_sample(stdout);
		else
			main_help(stdout);
		goto out;
	}
	if (ga.val[G_VERSION]) {
		/* -v/--verbose and --json before or after --version. */
		int verbose = ctx.verbose;

		for (c = 0; c < (size_t)nargs; c++)
			if (strcmp(args[c], "--verbose") == 0 ||
			    strcmp(args[c], "-v") == 0)
				verbose = 1;
			else if (strcmp(args[c], "--json") == 0)
				ctx.json = 1;
		rc = cli_version(verbose, ctx.json);
		goto out;
	}
	conf = ga.val[G_CONF];
	data_dir = ga.val[G_DATA];
	/* Decided once, before the daemon starts threads. */
	(void)pa_log_to_journal();
	if (nargs == 0) {
		main_help(stderr);
		rc = pa_err_set(PA_EUSAGE, "no command given");
		goto out;
	}
	for (c = 0; c < NGROUPS; c++)
		if (strcmp(args[0], groups[c]->name) == 0)
			g = groups[c];
	if (g == NULL) {
		rc = pa_err_set(PA_EUSAGE, "unknown command '%s' (see posagent "
		    "--help)", args[0]);
		goto out;
	}
	if ((rc = parse_command(&ctx, g, nargs, args, &v, &ca, &help)) != PA_OK)
		goto out;
	if (help) {
		group_help(stdout, g, v);
		goto out;
	}
	/* no-color.org, and terminfo's "dumb" has no colour capability. */
	term = getenv("TERM");
	ctx.color = !ctx.json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") ==
	    NULL && term != NULL && strcmp(term, "dumb") != 0;
	ctx.conf_path = conf;
	ctx.data_dir = data_dir;
	if (g->needs_config) {
		if ((rc = config_load(&cfg, conf ? conf : CONFIG_DEFAULT_PATH,
		    conf != NULL)) != PA_OK)
			goto out;
		if (data_dir)
			snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", data_dir);
		if ((rc = config_validate(&cfg)) != PA_OK)
			goto out;
		pa_log(PA_LOG_DEBUG, "configuration %s: id %s, data_dir %s",
		    cfg.path, cfg.agent_id, cfg.data_dir);
		/* Every command but `kkt` works in the data directory: act as its
		 * owner (root drops to it) or say who can (issue #8 §3). */
		if (g != &cli_kkt_group &&
		    (rc = hal_act_as_owner(cfg.data_dir)) != PA_OK) {
			if (rc == PA_EEXISTS) /* a file: the setting is wrong */
				rc = pa_err_wrap(PA_ECONFIG, "data directory "
				    "([agent] data_dir or -d): ");
			goto out;
		}
	}
	rc = v->fn(&ctx, &ca);
out:
	if (rc != PA_OK)
		report(&ctx, rc);
	fflush(stdout);
	return rc == PA_OK && ctx.exit_status ? ctx.exit_status :
	    cli_exit_code(rc);
}

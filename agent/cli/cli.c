#include "agent/cli/cli.h"

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
cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

int
cli_usage(const char *text)
{
	fputs(text, stdout);
	return PA_OK;
}

static const char main_help[] =
"usage: posagent [-c FILE] [-d DATA_DIR] [-q|-v] [--json] COMMAND [ARGS]\n"
"\n"
"Imports supplier price lists into the POS catalog mirror, gated on the\n"
"KKT fiscal buffer, and reports to headquarters.\n"
"\n"
"commands:\n"
"  init                                create the data directory and databases\n"
"  config check [--online]             validate the configuration (and reach\n"
"                                      the KKT adapter and HQ)\n"
"  profile add [--replace] FILE.json | list | show NAME | remove NAME\n"
"  import FILE --profile NAME [--dry-run] [--preview N]\n"
"  job create FILE --profile NAME | run JOB [--dry-run] | cancel JOB\n"
"      | reset JOB | show JOB | delete JOB | prune --older-than DAYS\n"
"  job list [--state S] [--errors] [--since today|week|YYYY-MM-DD]\n"
"      [--group-by profile|state|date] [--limit N]\n"
"  job revert JOB [--dry-run]          undo a done import (done -> reverted)\n"
"  log JOB [--level L] [--page N] [--page-size N]\n"
"  kkt status                          ask the KKT adapter about its buffer\n"
"  sync [--once]                       send the outbox to HQ\n"
"  status                              the heartbeat document; exits 1 when\n"
"                                      the agent needs attention\n"
"  run [--once]                        the daemon: inbox, imports, sync\n"
"\n"
"options:\n"
"  -c FILE      configuration (default " CONFIG_DEFAULT_PATH ")\n"
"  -d DIR       data directory (overrides [agent] data_dir)\n"
"  -q, --quiet  only warnings and errors\n"
"  -v, --verbose\n"
"               debug lines too\n"
"  --json       machine-readable output on stdout (times in UTC; human\n"
"               output shows local time)\n"
"  --version    print the version (with -v/--verbose: every bundled\n"
"               library and its version)\n"
"  --help       this text; COMMAND --help for a command; --help config for\n"
"               a commented sample configuration\n"
"\n"
"exit codes: 0 ok, 1 status: needs attention, 64 usage or wrong job state,\n"
"65 job failed on its data, 66 not found, 69 KKT adapter or HQ unavailable,\n"
"70 internal, 74 disk full or data directory removed while running,\n"
"75 refused: KKT buffer not synced, 77 permission denied, 78 configuration\n"
"error (see man posagent)\n";

static const struct {
	const char *name;
	cli_cmd_fn fn;
	int needs_config;
} commands[] = {
	{ "init", cmd_init, 1 },
	{ "config", cmd_config, 0 },  /* loads the file itself, to report */
	{ "profile", cmd_profile, 1 },
	{ "import", cmd_import, 1 },
	{ "job", cmd_job, 1 },
	{ "log", cmd_log, 1 },
	{ "kkt", cmd_kkt, 1 },
	{ "sync", cmd_sync, 1 },
	{ "status", cmd_status, 1 },
	{ "run", cmd_run, 1 },
};

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
	const char *conf = NULL, *data_dir = NULL, *term;
	char **args = NULL;
	int nargs = 0, i, rc = PA_OK;
	size_t c;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = &cfg;
	if ((rc = pa_mem_route_libs()) != PA_OK)
		goto out;
	test_hooks();
	if ((args = pa_calloc((size_t)argc + 1, sizeof(char *))) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	/* Global options come before the command; --json is accepted anywhere
	 * so scripts can append it. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			ctx.json = 1;
		} else if (nargs == 0 && (strcmp(argv[i], "-q") == 0 ||
		    strcmp(argv[i], "--quiet") == 0)) {
			ctx.quiet = 1;
			ctx.verbose = 0;
			pa_log_set_level(PA_LOG_WARNING);
		} else if (nargs == 0 && (strcmp(argv[i], "-v") == 0 ||
		    strcmp(argv[i], "--verbose") == 0)) {
			ctx.verbose = 1;
			ctx.quiet = 0;
			pa_log_set_level(PA_LOG_DEBUG);
		} else if (nargs == 0 && strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			conf = argv[++i];
		} else if (nargs == 0 && strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			data_dir = argv[++i];
		} else if (nargs == 0 && strcmp(argv[i], "--version") == 0) {
			/* -v/--verbose and --json before or after --version. */
			int verbose = ctx.verbose;

			while (++i < argc) {
				if (strcmp(argv[i], "--verbose") == 0 ||
				    strcmp(argv[i], "-v") == 0)
					verbose = 1;
				else if (strcmp(argv[i], "--json") == 0)
					ctx.json = 1;
			}
			rc = cli_version(verbose, ctx.json);
			goto out;
		} else if (nargs == 0 && (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)) {
			if (i + 1 < argc && strcmp(argv[i + 1], "config") == 0)
				config_write_sample(stdout);
			else
				fputs(main_help, stdout);
			goto out;
		} else if (nargs == 0 && argv[i][0] == '-') {
			rc = pa_err_set(PA_EUSAGE, "unknown option %s (see posagent "
			    "--help)", argv[i]);
			goto out;
		} else {
			args[nargs++] = argv[i];
		}
	}
	/* Decided once, before the daemon starts threads. */
	(void)pa_log_to_journal();
	if (nargs == 0) {
		fputs(main_help, stderr);
		rc = pa_err_set(PA_EUSAGE, "no command given");
		goto out;
	}
	/* no-color.org, and terminfo's "dumb" has no colour capability. */
	term = getenv("TERM");
	ctx.color = !ctx.json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") ==
	    NULL && term != NULL && strcmp(term, "dumb") != 0;
	for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (strcmp(args[0], commands[c].name) == 0)
			break;
	if (c == sizeof(commands) / sizeof(commands[0])) {
		rc = pa_err_set(PA_EUSAGE, "unknown command '%s' (see posagent "
		    "--help)", args[0]);
		goto out;
	}
	ctx.conf_path = conf;
	ctx.data_dir = data_dir;
	if (commands[c].needs_config && !cli_wants_help(nargs, args)) {
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
		if (strcmp(args[0], "kkt") != 0 &&
		    (rc = hal_act_as_owner(cfg.data_dir)) != PA_OK) {
			if (rc == PA_EEXISTS) /* a file: the setting is wrong */
				rc = pa_err_wrap(PA_ECONFIG, "data directory "
				    "([agent] data_dir or -d): ");
			goto out;
		}
	}
	rc = commands[c].fn(&ctx, nargs, args);
out:
	if (rc != PA_OK)
		report(&ctx, rc);
	pa_free(args);
	fflush(stdout);
	return rc == PA_OK && ctx.exit_status ? ctx.exit_status :
	    cli_exit_code(rc);
}

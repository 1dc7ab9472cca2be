/* cli_int — helpers shared by the command files (not outside agent/cli). */
#ifndef CLI_INT_H
#define CLI_INT_H

#include "agent/cli/cli.h"
#include "agent/cli/cli_out.h"
#include "agent/store/adb.h"
#include "hal/pa_opt.h"

/* One command, or one subcommand of a group (`job list`): its options,
 * positional arguments and what runs it. The same table parses the
 * arguments (getopt_long, hal/pa_opt.h) and prints the synopsis and the
 * --help option list, so help cannot miss an option (issue #11, #13). */
struct cli_verb {
	const char *sub;             /* "list" for `job list`; NULL for a
	                                command without subcommands */
	const char *pos;             /* positional synopsis ("JOB"), or NULL */
	int pos_min, pos_max;        /* how many positional arguments */
	const struct pa_opt *opts;   /* its options, or NULL */
	int (*fn)(struct cli_ctx *ctx, const struct pa_args *a);
	const char *about;           /* one line for posagent --help, or NULL */
};

/* A command word and its verbs (one entry, sub NULL, when it has none). */
struct cli_group {
	const char *name;
	const char *help;            /* prose printed by COMMAND --help */
	const struct cli_verb *verbs;  /* ends with fn == NULL */
	int needs_config;            /* load and validate the config first */
};

/* The groups, one or two per command file, in the order posagent --help
 * lists them. */
extern const struct cli_group cli_init_group, cli_config_group,
    cli_profile_group, cli_import_group, cli_job_group, cli_log_group,
    cli_kkt_group, cli_sync_group, cli_status_group, cli_run_group;

/* Open agent.db in the configured data dir; when settle, first settle jobs
 * a crashed process left running. Read-only commands (show, list, log,
 * status) pass 0: they never write (issue #8). */
int cli_store(struct cli_ctx *ctx, adb **out, int settle);
/* New {code, name, message} for the error rc (message valid UTF-8). */
json_t *cli_error_json(int rc);
/* Parse a positive integer option value; PA_EUSAGE naming opt otherwise. */
int cli_long_arg(const char *opt, const char *val, long min, long max,
    long *out);

/* The person running this command, for audit lines: "name (uid N)". */
void cli_who(char *buf, size_t n);
/* posagent job list | prune (cli_joblist.c). */
extern const struct pa_opt cli_list_opts[], cli_prune_opts[];
int cli_job_list(struct cli_ctx *ctx, const struct pa_args *a);
int cli_job_prune(struct cli_ctx *ctx, const struct pa_args *a);
/* posagent job revert JOB [--dry-run] (cli_revert.c). */
extern const struct pa_opt cli_revert_opts[];
int cli_job_revert(struct cli_ctx *ctx, const struct pa_args *a);

#endif

/* cli_int — helpers shared by the command files (not outside agent/cli). */
#ifndef CLI_INT_H
#define CLI_INT_H

#include "agent/cli/cli.h"
#include "agent/cli/cli_out.h"
#include "agent/store/adb.h"

/* Open agent.db in the configured data dir; when settle, first settle jobs
 * a crashed process left running. Read-only commands (show, list, log,
 * status) pass 0: they never write (issue #8). */
int cli_store(struct cli_ctx *ctx, adb **out, int settle);
/* New {code, name, message} for the error rc (message valid UTF-8). */
json_t *cli_error_json(int rc);
/* Does argv hold --help / -h? */
int cli_wants_help(int argc, char **argv);
/* Print a command's help text; returns PA_OK. */
int cli_usage(const char *text);
/* Parse a positive integer option value; PA_EUSAGE naming opt otherwise. */
int cli_long_arg(const char *opt, const char *val, long min, long max,
    long *out);

/* The person running this command, for audit lines: "name (uid N)". */
void cli_who(char *buf, size_t n);
/* posagent job revert JOB [--dry-run] (cli_revert.c); argv[1] is "revert". */
int cli_job_revert(struct cli_ctx *ctx, adb *a, int argc, char **argv);

#endif

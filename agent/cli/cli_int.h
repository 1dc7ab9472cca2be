/* cli_int — helpers shared by the command files (not outside agent/cli). */
#ifndef CLI_INT_H
#define CLI_INT_H

#include "agent/cli/cli.h"
#include "agent/cli/cli_out.h"
#include "agent/store/adb.h"

/* Open agent.db in the configured data dir and settle crashed jobs. */
int cli_store(struct cli_ctx *ctx, adb **out);
/* New {code, name, message} for the error rc (message valid UTF-8). */
json_t *cli_error_json(int rc);
/* Does argv hold --help / -h? */
int cli_wants_help(int argc, char **argv);
/* Print a command's help text; returns PA_OK. */
int cli_usage(const char *text);
/* Parse a positive integer option value; PA_EUSAGE naming opt otherwise. */
int cli_long_arg(const char *opt, const char *val, long min, long max,
    long *out);

#endif

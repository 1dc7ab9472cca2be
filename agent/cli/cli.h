/* cli — command-line front end. Each command parses its own arguments
 * (argv[0] is the command word) and returns a PA_* code; main() turns the
 * code into a sysexits exit status in one place (cli_exit_code). A failing
 * command sets its user-facing message with pa_err_set(); main prints it. */
#ifndef CLI_H
#define CLI_H

#include <jansson.h>
#include <stdio.h>

#include "agent/core/config.h"

struct cli_ctx {
	struct pa_config *cfg;
	int json;               /* --json: machine-readable stdout */
	int color;              /* stdout is a TTY, NO_COLOR unset, TERM not dumb */
	int quiet;              /* -q: errors and warnings only, no chatter */
	int verbose;            /* -v: debug log lines too */
	const char *conf_path;  /* -c FILE, or NULL for the default */
	const char *data_dir;   /* -d DIR, or NULL */
	int exit_status;        /* non-zero: exit with it on success (status) */
	int json_done;          /* a command already printed its JSON document
	                           (it then carries the error itself) */
};

typedef int (*cli_cmd_fn)(struct cli_ctx *ctx, int argc, char **argv);

int cli_main(int argc, char **argv);
int cli_exit_code(int pa_code);

/* Print j (compact, one line, sorted keys off) to stdout and drop the
 * reference. */
void cli_emit_json(json_t *j);

/* Commands (one file each under agent/cli/). */
int cmd_init(struct cli_ctx *ctx, int argc, char **argv);
int cmd_config(struct cli_ctx *ctx, int argc, char **argv);
int cmd_profile(struct cli_ctx *ctx, int argc, char **argv);
int cmd_import(struct cli_ctx *ctx, int argc, char **argv);
int cmd_job(struct cli_ctx *ctx, int argc, char **argv);
int cmd_log(struct cli_ctx *ctx, int argc, char **argv);
int cmd_kkt(struct cli_ctx *ctx, int argc, char **argv);
int cmd_sync(struct cli_ctx *ctx, int argc, char **argv);
int cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_run(struct cli_ctx *ctx, int argc, char **argv);

#endif

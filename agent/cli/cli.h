/* cli — command-line front end. cli_main parses every command's arguments
 * from the command's option table (cli_int.h) and runs it; a command
 * returns a PA_* code, which cli_main turns into a sysexits exit status in
 * one place (cli_exit_code). A failing command sets its user-facing message
 * with pa_err_set(); cli_main prints it. */
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

int cli_main(int argc, char **argv);
int cli_exit_code(int pa_code);

/* Print j (compact, one line, sorted keys off) to stdout and drop the
 * reference. */
void cli_emit_json(json_t *j);

#endif

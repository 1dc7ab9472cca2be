/* hq_cli — posagent-hq's command line. Each command's options are one
 * table that both parses them (getopt_long, through hal/pa_opt) and prints
 * the command's synopsis and --help list, so help cannot miss an option
 * (issue #11). */
#ifndef HQ_CLI_H
#define HQ_CLI_H

#include <stdio.h>

#include "hal/pa_opt.h"

enum hq_cli_cmd { HQ_CMD_SERVE, HQ_CMD_AGENT_ADD, HQ_CMD_OPERATOR_ADD };

/* Indexes into struct pa_args' val[]: serve's options, */
enum { HQ_O_LISTEN, HQ_O_DB, HQ_O_CERT, HQ_O_KEY, HQ_O_CA, HQ_O_ACCEPT,
	HQ_O_PROXY, HQ_O_THREADS, HQ_O_BUSY, HQ_O_INFLIGHT, HQ_O_OFFLINE,
	HQ_O_ACMD, HQ_O_AOFF, HQ_O_AGATE, HQ_O_AINT, HQ_O_RJOB, HQ_O_RLOG,
	HQ_O_VERBOSE };
/* agent add's and operator add's (no --token-file), */
enum { HQ_O_ADMIN_DB, HQ_O_TOKEN };
/* and the global ones. */
enum { HQ_O_VERSION, HQ_O_HELP };

/* serve's table (its names, for messages about a value). */
extern const struct pa_opt hq_serve_opts[];

/* Print cmd's usage and options to f; cmd < 0: every command. */
void hq_cli_usage(FILE *f, int cmd);

/* Parse a command's arguments (argv[0] is its last word) into a. Returns
 * PA_OK (*help = 1 when --help was asked for: nothing else was checked),
 * or PA_EUSAGE naming what is wrong: an unknown option, a missing value or
 * required option, the wrong number of arguments. */
int hq_cli_parse(int cmd, int argc, char **argv, struct pa_args *a,
    int *help);

/* The options before the command (--help, --version); a->next is the
 * command word's index. */
int hq_cli_main_parse(int argc, char **argv, struct pa_args *a);

#endif

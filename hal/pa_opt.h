/* pa_opt — command-line options from one table (issue #11).
 *
 * getopt_long parses a command's options from its table, and the same
 * table prints the command's synopsis and its --help option list, so the
 * help can never miss an option. Shared by posagent's CLI and posagent-hq
 * (hq/ may use hal/, never agent/).
 *
 * Conventions (GNU, as getopt_long gives them): `--opt value` and
 * `--opt=value`; an unambiguous prefix of a long name; short options may be
 * clustered (`-qv`); `--` ends the options; `-` alone is an argument. */
#ifndef PA_OPT_H
#define PA_OPT_H

#include <stdio.h>

#define PA_OPT_MAX 24      /* options in one table */
#define PA_OPT_XMAX 4      /* options in the shared (common) table */
#define PA_OPT_MAXPOS 4    /* positional arguments kept; more is an error */

enum {
	PA_OPT_REQUIRED = 1,  /* shown without brackets in the synopsis */
	PA_OPT_HIDDEN = 2,    /* parsed but not shown (a refusal with a reason) */
	PA_OPT_OPTARG = 4,    /* the value is optional: only `--opt=value` */
	PA_OPT_HELP = 8,      /* when given, parse errors are dropped: the
	                         caller prints help instead */
};

/* One option. A table ends with an entry whose name is NULL. */
struct pa_opt {
	const char *name;     /* long name, without "--" */
	char shortopt;        /* 'v', or 0 */
	const char *arg;      /* value's name ("N", "FILE"); NULL: a flag */
	const char *help;     /* lines separated by '\n'; NULL: none */
	int flags;            /* PA_OPT_* */
};

/* What one parse found. */
struct pa_args {
	const char *val[PA_OPT_MAX];   /* by table index: NULL not given, else
	                                  its value (a flag's is "") */
	int seq[PA_OPT_MAX];           /* when it was last given (1, 2, ...:
	                                  which of two options came later) */
	const char *xval[PA_OPT_XMAX]; /* the same for the common table */
	const char *pos[PA_OPT_MAXPOS]; /* positional arguments, in order */
	int npos;
	int next;     /* in-order mode: argv index of the first argument not
	                 parsed (the command word), or argc */
};

/* Parse argv[1..argc) against opts and the common table xopts (may be
 * NULL); argv[0] is the command's name and is not read. Arguments keep
 * their order; the last of a repeated option wins. in_order: stop at the
 * first non-option (global options before a command, as "+" asks of
 * getopt), whatever POSIXLY_CORRECT says. Otherwise options and positional
 * arguments may mix, in any environment.
 * Returns PA_OK, or PA_EUSAGE with a message that names the option and
 * points at `<hint> --help` (prog, cmd: "posagent", "job list"; cmd may be
 * NULL). argv is never modified. Not thread-safe (getopt's globals). */
int pa_opt_parse(const char *prog, const char *cmd, const struct pa_opt *opts,
    const struct pa_opt *xopts, int argc, char **argv, int in_order,
    struct pa_args *out);

/* Print "lead pos [--opt ARG] ... tail" (pos, tail may be NULL) wrapped at
 * 79 columns, continuation lines indented under the first token after
 * lead. Required options show without brackets; hidden ones not at all. */
void pa_opt_synopsis(FILE *f, const char *lead, const char *pos,
    const struct pa_opt *opts, const char *tail);

/* Print the option list: "  -v, --verbose    help", aligned. */
void pa_opt_list(FILE *f, const struct pa_opt *opts);

#endif

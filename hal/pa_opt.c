#include "hal/pa_opt.h"

#include <getopt.h>
#include <string.h>

#include "hal/pa_err.h"

#define KEY_BASE 256          /* getopt_long's val for table entries */
#define WIDTH 79              /* help text columns */
#define HELP_COL 26           /* where an option's help starts */

static size_t
count(const struct pa_opt *t, size_t max)
{
	size_t n = 0;

	while (t != NULL && n < max && t[n].name != NULL)
		n++;
	return n;
}

/* Index of the option behind getopt's answer c (the common table's
 * follow the command's), or -1: not one of ours. */
static int
lookup(const struct pa_opt *opts, size_t n, const struct pa_opt *xopts,
    size_t xn, int c)
{
	size_t i;

	for (i = 0; i < n + xn; i++) {
		const struct pa_opt *o = i < n ? &opts[i] : &xopts[i - n];
		int key = i < n ? KEY_BASE + (int)i : KEY_BASE + PA_OPT_MAX +
		    (int)(i - n);
		if (c == key || (o->shortopt && c == (unsigned char)o->shortopt))
			return (int)i;
	}
	return -1;
}

/* Build getopt_long's tables from ours. */
static void
build(const struct pa_opt *opts, size_t n, const struct pa_opt *xopts,
    size_t xn, int in_order, struct option *lo, char *shorts)
{
	size_t i, s = 0;

	/* "-": every argument comes back in order (key 1), so options may
	 * follow positional ones without getopt permuting argv, whatever
	 * POSIXLY_CORRECT says; "+": stop at the first positional (global
	 * options come before the command). ":": a missing value is ':'. */
	shorts[s++] = in_order ? '+' : '-';
	shorts[s++] = ':';
	for (i = 0; i < n + xn; i++) {
		const struct pa_opt *o = i < n ? &opts[i] : &xopts[i - n];
		int has = o->arg == NULL ? no_argument : (o->flags & PA_OPT_OPTARG) ?
		    optional_argument : required_argument;

		lo[i] = (struct option){ o->name, has, NULL, i < n ? KEY_BASE +
		    (int)i : KEY_BASE + PA_OPT_MAX + (int)(i - n) };
		if (o->shortopt) {
			shorts[s++] = o->shortopt;
			if (has != no_argument)
				shorts[s++] = ':';
			if (has == optional_argument)
				shorts[s++] = ':';
		}
	}
	lo[n + xn] = (struct option){ NULL, 0, NULL, 0 };
	shorts[s] = '\0';
}

/* The option's name as a person typed it, for messages. */
static void
spelled(const struct pa_opt *o, int c, char *buf, size_t cap)
{
	if (o != NULL && c < KEY_BASE && o->shortopt)
		snprintf(buf, cap, "-%c", o->shortopt);
	else if (o != NULL)
		snprintf(buf, cap, "--%s", o->name);
	else
		snprintf(buf, cap, "-%c", c);
}

int
pa_opt_parse(const char *prog, const char *cmd, const struct pa_opt *opts,
    const struct pa_opt *xopts, int argc, char **argv, int in_order,
    struct pa_args *out)
{
	struct option lo[PA_OPT_MAX + PA_OPT_XMAX + 1];
	char shorts[3 * (PA_OPT_MAX + PA_OPT_XMAX) + 3], what[96], err[320];
	size_t n = count(opts, PA_OPT_MAX), xn = count(xopts, PA_OPT_XMAX);
	const struct pa_opt *o;
	int c, k, help = 0, seq = 0;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	build(opts, n, xopts, xn, in_order, lo, shorts);
	/* 0, not 1: glibc and musl then re-initialise fully (a cluster left
	 * half-read by an earlier parse, the ordering flag). */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		what[0] = '\0';
		if (c == 1) {                   /* a positional argument */
			if (out->npos < PA_OPT_MAXPOS)
				out->pos[out->npos++] = optarg;
			else if (err[0] == '\0')
				snprintf(err, sizeof(err), "unexpected argument '%s'",
				    optarg);
			continue;
		}
		if (c == ':' || c == '?') {
			k = lookup(opts, n, xopts, xn, optopt);
			o = k < 0 ? NULL : (size_t)k < n ? &opts[k] : &xopts[k - n];
			if (o != NULL)
				spelled(o, optopt, what, sizeof(what));
			else if (optopt != 0)
				snprintf(what, sizeof(what), "-%c", optopt);
			else            /* unknown or ambiguous long: as typed */
				snprintf(what, sizeof(what), "%.*s",
				    (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
			if (err[0] != '\0')
				continue;
			if (c == ':')
				snprintf(err, sizeof(err), "%s needs a value", what);
			else if (o != NULL)     /* --flag=value */
				snprintf(err, sizeof(err), "%s takes no value", what);
			else
				snprintf(err, sizeof(err), "unknown option %s", what);
			continue;
		}
		if ((k = lookup(opts, n, xopts, xn, c)) < 0)
			continue;       /* NEVER: getopt returns only our keys */
		o = (size_t)k < n ? &opts[k] : &xopts[k - n];
		if ((size_t)k < n) {
			out->val[k] = optarg ? optarg : "";
			out->seq[k] = ++seq;
		} else {
			out->xval[(size_t)k - n] = optarg ? optarg : "";
		}
		if (o->flags & PA_OPT_HELP)
			help = 1;
	}
	/* After "--" (or, in order, the command word) the rest is not ours. */
	out->next = optind;
	for (; !in_order && optind < argc; optind++) {
		if (out->npos < PA_OPT_MAXPOS)
			out->pos[out->npos++] = argv[optind];
		else if (err[0] == '\0')
			snprintf(err, sizeof(err), "unexpected argument '%s'",
			    argv[optind]);
	}
	if (err[0] == '\0' || help)
		return PA_OK;
	return pa_err_set(PA_EUSAGE, "%s%s%s (see %s%s%s --help)", cmd ? cmd :
	    "", cmd ? ": " : "", err, prog, cmd ? " " : "", cmd ? cmd : "");
}

static void
token(FILE *f, const char *t, size_t indent, size_t *col)
{
	size_t len = strlen(t);

	if (*col + 1 + len > WIDTH && *col > indent) {
		fprintf(f, "\n%*s", (int)indent, "");
		*col = indent;
	} else {
		fputc(' ', f);
		(*col)++;
	}
	fputs(t, f);
	*col += len;
}

void
pa_opt_synopsis(FILE *f, const char *lead, const char *pos,
    const struct pa_opt *opts, const char *tail)
{
	size_t col = strlen(lead), indent = col + 1, i;
	char t[128];

	fputs(lead, f);
	if (pos != NULL && pos[0] != '\0')
		token(f, pos, indent, &col);
	for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
		const struct pa_opt *o = &opts[i];
		int req = o->flags & PA_OPT_REQUIRED;

		if (o->flags & (PA_OPT_HIDDEN | PA_OPT_HELP))
			continue;
		if (o->shortopt)
			snprintf(t, sizeof(t), "%s-%c|--%s%s%s%s", req ? "" : "[",
			    o->shortopt, o->name, o->arg ? " " : "", o->arg ? o->arg :
			    "", req ? "" : "]");
		else
			snprintf(t, sizeof(t), "%s--%s%s%s%s", req ? "" : "[", o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "", req ? "" : "]");
		token(f, t, indent, &col);
	}
	if (tail != NULL && tail[0] != '\0')
		token(f, tail, indent, &col);
	fputc('\n', f);
}

void
pa_opt_list(FILE *f, const struct pa_opt *opts)
{
	const char *h, *nl;
	char left[128];
	size_t i;
	int len;

	for (i = 0; opts != NULL && opts[i].name != NULL; i++) {
		const struct pa_opt *o = &opts[i];

		if (o->flags & PA_OPT_HIDDEN)
			continue;
		if (o->shortopt)
			len = snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->shortopt,
			    o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		else
			len = snprintf(left, sizeof(left), "  --%s%s%s", o->name,
			    o->arg ? " " : "", o->arg ? o->arg : "");
		fputs(left, f);
		h = o->help ? o->help : "";
		if (len > HELP_COL - 2 && *h) {
			fprintf(f, "\n%*s", HELP_COL, "");
		} else if (*h) {
			fprintf(f, "%*s", HELP_COL - len, "");
		}
		for (; *h; h = *nl ? nl + 1 : nl) {
			nl = strchr(h, '\n');
			if (nl == NULL)
				nl = h + strlen(h);
			fprintf(f, "%.*s", (int)(nl - h), h);
			if (*nl && nl[1])
				fprintf(f, "\n%*s", HELP_COL, "");
		}
		fputc('\n', f);
	}
}

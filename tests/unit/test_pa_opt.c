/* pa_opt: command-line options from one table through getopt_long (issue
 * #11). The parser is called again and again in one process (posagent
 * parses the global options, then the command's), so each parse must
 * start clean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hal/pa_err.h"
#include "hal/pa_opt.h"

enum { O_STATE, O_ERRORS, O_QUIET, O_VERBOSE };
static const struct pa_opt opts[] = {
	[O_STATE] = { "state", 0, "S", "a state", 0 },
	[O_ERRORS] = { "errors", 0, NULL, "errors only", 0 },
	[O_QUIET] = { "quiet", 'q', NULL, "quiet", 0 },
	[O_VERBOSE] = { "verbose", 'v', NULL, "verbose", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};
static const struct pa_opt common[] = {
	{ "help", 'h', NULL, "this text", PA_OPT_HELP },
	{ NULL, 0, NULL, NULL, 0 }
};

static int
parse(int in_order, struct pa_args *a, ...)
{
	char *argv[16];
	va_list ap;
	int argc = 0;

	va_start(ap, a);
	argv[argc++] = "cmd";
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	argv[argc] = NULL;
	va_end(ap);
	return pa_opt_parse("prog", "cmd", opts, common, argc, argv, in_order, a);
}

static void
test_both_value_forms_and_positionals_in_order(void **state)
{
	struct pa_args a;

	(void)state;
	assert_int_equal(parse(0, &a, "one", "--state=done", "two", "--errors",
	    NULL), PA_OK);
	assert_string_equal(a.val[O_STATE], "done");
	assert_string_equal(a.val[O_ERRORS], "");
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "one");
	assert_string_equal(a.pos[1], "two");
	assert_int_equal(parse(0, &a, "--state", "failed", NULL), PA_OK);
	assert_string_equal(a.val[O_STATE], "failed");
	assert_null(a.val[O_ERRORS]);    /* nothing left from the last parse */
}

static void
test_double_dash_ends_options(void **state)
{
	struct pa_args a;

	(void)state;
	assert_int_equal(parse(0, &a, "--", "--state", "-q", NULL), PA_OK);
	assert_null(a.val[O_STATE]);
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "--state");
}

static void
test_in_order_stops_at_the_command(void **state)
{
	struct pa_args a;

	(void)state;
	assert_int_equal(parse(1, &a, "-q", "job", "--state", "x", NULL), PA_OK);
	assert_non_null(a.val[O_QUIET]);
	assert_null(a.val[O_STATE]);
	assert_int_equal(a.npos, 0);
	assert_int_equal(a.next, 2);
}

static void
test_errors_name_the_option_and_point_at_help(void **state)
{
	struct pa_args a;

	(void)state;
	assert_int_equal(parse(0, &a, "--bogus=1", NULL), PA_EUSAGE);
	assert_string_equal(pa_err_msg(PA_EUSAGE),
	    "cmd: unknown option --bogus (see prog cmd --help)");
	assert_int_equal(parse(0, &a, "--state", NULL), PA_EUSAGE);
	assert_string_equal(pa_err_msg(PA_EUSAGE),
	    "cmd: --state needs a value (see prog cmd --help)");
	assert_int_equal(parse(0, &a, "-x", NULL), PA_EUSAGE);
	assert_non_null(strstr(pa_err_msg(PA_EUSAGE), "unknown option -x"));
	assert_int_equal(parse(0, &a, "--errors=yes", NULL), PA_EUSAGE);
	assert_non_null(strstr(pa_err_msg(PA_EUSAGE), "--errors takes no value"));
	assert_int_equal(parse(0, &a, "1", "2", "3", "4", "5", NULL), PA_EUSAGE);
	assert_non_null(strstr(pa_err_msg(PA_EUSAGE), "unexpected argument '5'"));
}

static void
test_help_wins_over_errors(void **state)
{
	struct pa_args a;

	(void)state;
	assert_int_equal(parse(0, &a, "--bogus", "--help", NULL), PA_OK);
	assert_non_null(a.xval[0]);
}

static void
test_later_of_two_options_is_known(void **state)
{
	struct pa_args a;

	(void)state;
	assert_int_equal(parse(0, &a, "-vq", NULL), PA_OK);
	assert_true(a.seq[O_QUIET] > a.seq[O_VERBOSE]);
	assert_int_equal(parse(0, &a, "-q", "--verbose", NULL), PA_OK);
	assert_true(a.seq[O_VERBOSE] > a.seq[O_QUIET]);
}

static void
test_posixly_correct_does_not_change_parsing(void **state)
{
	struct pa_args a;

	(void)state;
	setenv("POSIXLY_CORRECT", "1", 1);
	assert_int_equal(parse(0, &a, "file", "--state", "x", NULL), PA_OK);
	unsetenv("POSIXLY_CORRECT");
	assert_string_equal(a.val[O_STATE], "x");
	assert_int_equal(a.npos, 1);
}

static void
test_help_text_shows_every_option(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	pa_opt_synopsis(f, "usage: prog cmd", "FILE", opts, NULL);
	pa_opt_list(f, opts);
	fclose(f);
	assert_non_null(strstr(buf, "usage: prog cmd FILE [--state S] [--errors] "
	    "[-q|--quiet] [-v|--verbose]\n"));
	assert_non_null(strstr(buf, "\n  -q, --quiet "));
	assert_non_null(strstr(buf, "\n  --state S "));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_value_forms_and_positionals_in_order),
		cmocka_unit_test(test_double_dash_ends_options),
		cmocka_unit_test(test_in_order_stops_at_the_command),
		cmocka_unit_test(test_errors_name_the_option_and_point_at_help),
		cmocka_unit_test(test_help_wins_over_errors),
		cmocka_unit_test(test_later_of_two_options_is_known),
		cmocka_unit_test(test_posixly_correct_does_not_change_parsing),
		cmocka_unit_test(test_help_text_shows_every_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The price guard's decision (DESIGN §5): thresholds, the named causes,
 * acceptance and the off switch, without a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/import/pguard.h"

static struct pg_result r;
static char msg[512];

static void
decide(long matched, long changed, long swapped, long x100, long d100,
    double mc, double ms, int accepted)
{
	struct cat_price_stats st = { matched, changed, swapped, x100, d100 };

	pg_decide(&st, mc, ms, accepted, &r, msg, sizeof(msg));
}

static void
test_share_at_the_limit_passes_above_fails(void **state)
{
	(void)state;
	decide(100, 20, 0, 0, 0, 50, 20, 0);
	assert_int_equal(r.verdict, PG_PASSED);
	assert_string_equal(msg, "");
	decide(100, 21, 0, 0, 0, 50, 20, 0);
	assert_int_equal(r.verdict, PG_FAILED);
	assert_non_null(strstr(msg, "21 % of prices would change by more than 50 %"));
	assert_non_null(strstr(msg, "is a column shifted"));
}

static void
test_swap_named_when_most_moving_rows_show_it(void **state)
{
	(void)state;
	decide(100, 83, 80, 0, 0, 50, 20, 0);
	assert_int_equal(r.verdict, PG_FAILED);
	assert_int_equal(r.cause, PG_CAUSE_SWAP);
	assert_non_null(strstr(msg, "83 % of prices would change by more than "
	    "50 %"));
	assert_non_null(strstr(msg, "are Price and Cost swapped?"));
	decide(100, 83, 20, 0, 0, 50, 20, 0);
	assert_int_equal(r.cause, PG_CAUSE_NONE);
}

static void
test_times_and_div_100_named(void **state)
{
	(void)state;
	decide(10, 10, 0, 10, 0, 50, 20, 0);
	assert_int_equal(r.cause, PG_CAUSE_TIMES100);
	assert_non_null(strstr(msg, "100 times too high"));
	decide(10, 10, 0, 0, 9, 50, 20, 0);
	assert_int_equal(r.cause, PG_CAUSE_DIV100);
	assert_non_null(strstr(msg, "100 times too low"));
}

static void
test_accepted_and_off(void **state)
{
	json_t *j;

	(void)state;
	decide(10, 10, 10, 0, 0, 50, 20, 1);
	assert_int_equal(r.verdict, PG_ACCEPTED);
	assert_non_null(strstr(msg, "swapped"));
	decide(10, 10, 10, 0, 0, 100, 100, 0);
	assert_int_equal(r.verdict, PG_OFF);
	decide(0, 0, 0, 0, 0, 50, 20, 0);
	assert_int_equal(r.verdict, PG_PASSED);
	decide(3, 2, 2, 0, 0, 50, 20, 0);
	j = pg_to_json(&r);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")),
	    "failed");
	assert_string_equal(json_string_value(json_object_get(j,
	    "likely_cause")), "swap");
	assert_true(json_real_value(json_object_get(j, "share_percent")) == 66.7);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_at_the_limit_passes_above_fails),
		cmocka_unit_test(test_swap_named_when_most_moving_rows_show_it),
		cmocka_unit_test(test_times_and_div_100_named),
		cmocka_unit_test(test_accepted_and_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

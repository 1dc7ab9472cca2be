/* Unit tests for the value converters (agent/import/conv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "agent/import/conv.h"
#include "hal/pa_err.h"

#define NBSP  "\xC2\xA0"        /* U+00A0 */
#define NNBSP "\xE2\x80\xAF"    /* U+202F */
#define BOM   "\xEF\xBB\xBF"

static int64_t
money_ok(const char *s)
{
	int64_t k = -1;
	int rc = conv_money(s, strlen(s), &k);

	if (rc != PA_OK)
		fail_msg("conv_money('%s'): %s", s, pa_err_msg(rc));
	return k;
}

/* Refused, output untouched, and the message quotes the value. */
static void
money_bad(const char *s)
{
	int64_t k = 42;
	int rc;

	pa_err_clear();
	rc = conv_money(s, strlen(s), &k);
	if (rc != PA_EINVAL)
		fail_msg("conv_money('%s') accepted: %lld", s, (long long)k);
	assert_int_equal(k, 42);
	assert_non_null(strstr(pa_err_msg(rc), "price"));
}

static int64_t
money_num_ok(const char *s)
{
	int64_t k = -1;
	int rc = conv_money_num(s, strlen(s), &k);

	if (rc != PA_OK)
		fail_msg("conv_money_num('%s'): %s", s, pa_err_msg(rc));
	return k;
}

static void
money_num_bad(const char *s)
{
	int64_t k = 42;

	if (conv_money_num(s, strlen(s), &k) != PA_EINVAL)
		fail_msg("conv_money_num('%s') accepted: %lld", s, (long long)k);
	assert_int_equal(k, 42);
}

static double
qty_ok(const char *s)
{
	double q = -1;
	int rc = conv_qty(s, strlen(s), &q);

	if (rc != PA_OK)
		fail_msg("conv_qty('%s'): %s", s, pa_err_msg(rc));
	return q;
}

static void
qty_bad(const char *s)
{
	double q = 42;

	if (conv_qty(s, strlen(s), &q) != PA_EINVAL)
		fail_msg("conv_qty('%s') accepted: %g", s, q);
	assert_true(q == 42);
}

static void
assert_trim(const char *in, const char *want)
{
	const char *s = in;
	size_t n = conv_trim(&s, strlen(in));

	assert_int_equal(n, strlen(want));
	assert_memory_equal(s, want, n);
}

static void
test_trim_removes_ascii_whitespace(void **state)
{
	(void)state;
	assert_trim(" \t\r\nabc \r\n\t ", "abc");
	assert_trim("abc", "abc");
}

static void
test_trim_removes_nbsp_and_bom(void **state)
{
	(void)state;
	assert_trim(BOM NBSP " Оправа" NBSP BOM, "Оправа");
}

static void
test_trim_keeps_inner_whitespace(void **state)
{
	(void)state;
	assert_trim("  Оправа  детская" NBSP "X ", "Оправа  детская" NBSP "X");
}

static void
test_trim_all_blank_is_empty(void **state)
{
	(void)state;
	assert_trim(" " NBSP "\t" BOM, "");
	assert_trim("", "");
}

static void
test_trim_leaves_partial_sequences(void **state)
{
	(void)state;
	/* A lone C2 or EF BB is not whitespace. */
	assert_trim("\xC2", "\xC2");
	assert_trim("a\xEF\xBB", "a\xEF\xBB");
}

static void
test_money_plain_digits(void **state)
{
	(void)state;
	assert_int_equal(money_ok("5000"), 500000);
	assert_int_equal(money_ok("0"), 0);
	assert_int_equal(money_ok("007"), 700);
}

static void
test_money_decimal_dot_and_comma(void **state)
{
	(void)state;
	assert_int_equal(money_ok("5000.5"), 500050);
	assert_int_equal(money_ok("5000.50"), 500050);
	assert_int_equal(money_ok("5000,05"), 500005);
	assert_int_equal(money_ok("0,99"), 99);
}

static void
test_money_thousands_separators(void **state)
{
	(void)state;
	assert_int_equal(money_ok("5 000,00"), 500000);
	assert_int_equal(money_ok("5" NBSP "000,00"), 500000);
	assert_int_equal(money_ok("5" NNBSP "000,00"), 500000);
	assert_int_equal(money_ok("1 250" NBSP "000.99"), 125000099);
	assert_int_equal(money_ok("999 999"), 99999900);
}

static void
test_money_spreadsheet_number_text(void **state)
{
	(void)state;
	assert_int_equal(money_ok("1234.5"), 123450);
	assert_int_equal(money_ok("1234.56"), 123456);
}

static void
test_money_is_trimmed(void **state)
{
	(void)state;
	assert_int_equal(money_ok(" \t5 000,00" NBSP "\r\n"), 500000);
}

static void
test_money_refuses_empty(void **state)
{
	(void)state;
	money_bad("");
	money_bad(" " NBSP);
}

static void
test_money_refuses_negative(void **state)
{
	(void)state;
	money_bad("-5");
	money_bad("\xE2\x88\x92" "5");  /* U+2212 MINUS SIGN */
	assert_non_null(strstr(pa_err_msg(PA_EINVAL), "negative"));
}

static void
test_money_refuses_currency_text(void **state)
{
	(void)state;
	money_bad("12 000 руб.");
	assert_string_equal(pa_err_msg(PA_EINVAL), "'12 000 руб.' is not a "
	    "price: use digits with an optional , or . decimal part, e.g. "
	    "5 000,00");
	money_bad("5000р");
	money_bad("5000 ₽");
	money_bad("$5");
}

static void
test_money_refuses_exponent_and_garbage(void **state)
{
	(void)state;
	money_bad("1e5");
	money_bad("abc");
	money_bad("1.2.3");
	money_bad("+5");
	money_bad("5.000,00");
	money_bad("0x10");
}

static void
test_money_refuses_missing_digits_around_separator(void **state)
{
	(void)state;
	money_bad(",5");
	money_bad(".5");
	money_bad("5000.");
	money_bad("5000,");
}

static void
test_money_refuses_three_decimals(void **state)
{
	(void)state;
	/* US "5,000" is five thousand: never store it as five rubles. */
	money_bad("5,000");
	assert_non_null(strstr(pa_err_msg(PA_EINVAL), "more than 2 digits"));
	money_bad("5.001");
	money_bad("1 234,500");
}

static void
test_money_refuses_bad_grouping(void **state)
{
	(void)state;
	money_bad("50 00");
	money_bad("5000 000");
	money_bad("5 00");
	money_bad("1  000");
	money_bad("1 000 ,00");
	money_bad(NNBSP "5");
}

/* issue #9: 92233720368547758.07 was stored as INT64_MAX kopecks. */
static void
test_money_limits_to_documented_maximum(void **state)
{
	(void)state;
	assert_int_equal(money_ok("1 000 000 000,00"), CONV_MONEY_MAX_KOPECKS);
	money_bad("1000000000.01");
	assert_non_null(strstr(pa_err_msg(PA_EINVAL), "at most 1 000 000 000,00"));
	money_bad("92233720368547758.07");
	money_bad("92233720368547758.08");
	money_bad("99999999999999999999999999");
	assert_non_null(strstr(pa_err_msg(PA_EINVAL), "too large"));
	assert_int_equal(money_num_ok("1E9"), CONV_MONEY_MAX_KOPECKS);
	money_num_bad("1000000000.005");
	money_num_bad("4.60123456789E+12");
	money_num_bad("9.3E18");
}

static void
test_money_long_value_is_cut_in_message(void **state)
{
	char buf[300];

	(void)state;
	memset(buf, 'x', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	money_bad(buf);
	assert_true(strlen(pa_err_msg(PA_EINVAL)) < 200);
}

static void
test_money_num_exact_and_rounded(void **state)
{
	(void)state;
	assert_int_equal(money_num_ok("1234.5"), 123450);
	assert_int_equal(money_num_ok("100234"), 10023400);
	/* A formula's cached double: rounded half away from zero. */
	assert_int_equal(money_num_ok("1481.472"), 148147);
	assert_int_equal(money_num_ok("1481.475"), 148148);
	assert_int_equal(money_num_ok("2.0049999999999999"), 200);
	assert_int_equal(money_num_ok("0.005"), 1);
	assert_int_equal(money_num_ok("0.0049"), 0);
}

static void
test_money_num_exponent(void **state)
{
	(void)state;
	assert_int_equal(money_num_ok("1.5E3"), 150000);
	assert_int_equal(money_num_ok("1E-05"), 0);
	assert_int_equal(money_num_ok("5e-3"), 1);
	assert_int_equal(money_num_ok("0e99999999999"), 0);
	assert_int_equal(money_num_ok("1e-99999999999"), 0);
	money_num_bad("1e999");
	money_num_bad("1e");
}

static void
test_money_num_refuses_negative_and_text(void **state)
{
	(void)state;
	money_num_bad("-1");
	money_num_bad("");
	money_num_bad("abc");
	money_num_bad("1,5");
	money_num_bad(".5");
	money_num_bad("1.");
	money_num_bad("nan");
	money_num_bad("inf");
}

static void
test_qty_decimals_and_separators(void **state)
{
	(void)state;
	assert_true(qty_ok("12") == 12.0);
	assert_true(qty_ok("2,5") == 2.5);
	assert_true(qty_ok("0.1") == 0.1);
	assert_true(qty_ok("1 000,25") == 1000.25);
	assert_true(qty_ok("1" NBSP "000") == 1000.0);
	assert_true(qty_ok(" 0 ") == 0.0);
	assert_true(qty_ok("0.125") == 0.125);
}

static void
test_qty_rounds_float_noise(void **state)
{
	(void)state;
	assert_true(qty_ok("2.4000000000000004") == 2.4);
	assert_true(qty_ok("0.30000000000000004") == 0.3);
	assert_true(qty_ok("999999999999999") == 999999999999999.0);
}

static void
test_qty_refuses_negative_empty_garbage(void **state)
{
	(void)state;
	qty_bad("-1");
	qty_bad("");
	qty_bad("  ");
	qty_bad("abc");
	qty_bad("1.2.3");
	qty_bad("5 шт");
}

static void
test_qty_refuses_inf_nan_exponent(void **state)
{
	(void)state;
	qty_bad("inf");
	qty_bad("nan");
	qty_bad("Infinity");
	qty_bad("1e5");
}

static void
test_qty_refuses_too_large(void **state)
{
	(void)state;
	qty_bad("1000000000000000");
}

static void
test_money_fmt(void **state)
{
	char b[CONV_MONEY_BUFSZ];

	(void)state;
	assert_string_equal(conv_money_fmt(500000, b), "5000.00");
	assert_string_equal(conv_money_fmt(5, b), "0.05");
	assert_string_equal(conv_money_fmt(0, b), "0.00");
	assert_string_equal(conv_money_fmt(-1205, b), "-12.05");
	assert_string_equal(conv_money_fmt(INT64_MAX, b),
	    "92233720368547758.07");
	assert_string_equal(conv_money_fmt(INT64_MIN, b),
	    "-92233720368547758.08");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim_removes_ascii_whitespace),
		cmocka_unit_test(test_trim_removes_nbsp_and_bom),
		cmocka_unit_test(test_trim_keeps_inner_whitespace),
		cmocka_unit_test(test_trim_all_blank_is_empty),
		cmocka_unit_test(test_trim_leaves_partial_sequences),
		cmocka_unit_test(test_money_plain_digits),
		cmocka_unit_test(test_money_decimal_dot_and_comma),
		cmocka_unit_test(test_money_thousands_separators),
		cmocka_unit_test(test_money_spreadsheet_number_text),
		cmocka_unit_test(test_money_is_trimmed),
		cmocka_unit_test(test_money_refuses_empty),
		cmocka_unit_test(test_money_refuses_negative),
		cmocka_unit_test(test_money_refuses_currency_text),
		cmocka_unit_test(test_money_refuses_exponent_and_garbage),
		cmocka_unit_test(test_money_refuses_missing_digits_around_separator),
		cmocka_unit_test(test_money_refuses_three_decimals),
		cmocka_unit_test(test_money_refuses_bad_grouping),
		cmocka_unit_test(test_money_limits_to_documented_maximum),
		cmocka_unit_test(test_money_long_value_is_cut_in_message),
		cmocka_unit_test(test_money_num_exact_and_rounded),
		cmocka_unit_test(test_money_num_exponent),
		cmocka_unit_test(test_money_num_refuses_negative_and_text),
		cmocka_unit_test(test_qty_decimals_and_separators),
		cmocka_unit_test(test_qty_rounds_float_noise),
		cmocka_unit_test(test_qty_refuses_negative_empty_garbage),
		cmocka_unit_test(test_qty_refuses_inf_nan_exponent),
		cmocka_unit_test(test_qty_refuses_too_large),
		cmocka_unit_test(test_money_fmt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

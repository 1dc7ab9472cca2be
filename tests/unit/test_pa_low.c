/* pa_utf8, the one UTF-8 checker (RFC 3629), and the shared low-level
 * rules around out of memory (pa_err, pa_mem) that every layer relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hal/pa_utf8.h"

static void
test_utf8_valid_accepts_text(void **state)
{
	(void)state;
	assert_true(pa_utf8_valid("", 0));
	assert_true(pa_utf8_valid("abc", 3));
	assert_true(pa_utf8_valid("Оправа №5 €", strlen("Оправа №5 €")));
	assert_true(pa_utf8_valid("\xF0\x9F\x91\x93", 4));     /* U+1F453 */
	assert_true(pa_utf8_valid("\xF4\x8F\xBF\xBF", 4));     /* U+10FFFF */
	assert_true(pa_utf8_valid("\xED\x9F\xBF", 3));         /* U+D7FF */
}

/* The eight-bytes-at-a-time path (issue #15) still finds a NUL, a stray
 * byte or a cut character at every position of a long text. */
static void
test_utf8_valid_long_text_every_position(void **state)
{
	char buf[40];
	size_t i;

	(void)state;
	memset(buf, 'a', sizeof(buf));
	assert_true(pa_utf8_valid(buf, sizeof(buf)));
	for (i = 0; i < sizeof(buf); i++) {
		memset(buf, 'a', sizeof(buf));
		buf[i] = '\0';
		assert_false(pa_utf8_valid(buf, sizeof(buf)));
		buf[i] = (char)0x80;                    /* stray continuation */
		assert_false(pa_utf8_valid(buf, sizeof(buf)));
		buf[i] = (char)0xC1;                    /* overlong lead */
		assert_false(pa_utf8_valid(buf, sizeof(buf)));
		buf[i] = (char)0xD0;                    /* Cyrillic lead, cut */
		assert_false(pa_utf8_valid(buf, i + 1));
		if (i + 1 < sizeof(buf)) {
			buf[i + 1] = (char)0x9F;            /* U+041F */
			assert_true(pa_utf8_valid(buf, sizeof(buf)));
			buf[i + 1] = 'b';
			assert_false(pa_utf8_valid(buf, sizeof(buf)));
		}
	}
}

static void
test_utf8_valid_rejects_overlong(void **state)
{
	(void)state;
	assert_false(pa_utf8_valid("\xC0\xAF", 2));
	assert_false(pa_utf8_valid("\xC1\xBF", 2));
	assert_false(pa_utf8_valid("\xE0\x80\xAF", 3));
	assert_false(pa_utf8_valid("\xE0\x9F\xBF", 3));
	assert_false(pa_utf8_valid("\xF0\x80\x80\xAF", 4));
	assert_false(pa_utf8_valid("\xF0\x8F\xBF\xBF", 4));
}

static void
test_utf8_valid_rejects_surrogates(void **state)
{
	(void)state;
	assert_false(pa_utf8_valid("\xED\xA0\x80", 3));        /* U+D800 */
	assert_false(pa_utf8_valid("\xED\xBF\xBF", 3));        /* U+DFFF */
}

static void
test_utf8_valid_rejects_above_10ffff(void **state)
{
	(void)state;
	assert_false(pa_utf8_valid("\xF4\x90\x80\x80", 4));
	assert_false(pa_utf8_valid("\xF5\x80\x80\x80", 4));
	assert_false(pa_utf8_valid("\xFF", 1));
}

static void
test_utf8_valid_rejects_truncated_and_stray(void **state)
{
	(void)state;
	assert_false(pa_utf8_valid("\xD0", 1));
	assert_false(pa_utf8_valid("\xE2\x82", 2));
	assert_false(pa_utf8_valid("\x80", 1));
	assert_false(pa_utf8_valid("\xD0\xD0", 2));
	assert_false(pa_utf8_valid("\xCE\xEF\xF0\xE0\xE2\xE0", 6)); /* cp1251 */
}

static void
test_utf8_valid_rejects_nul(void **state)
{
	(void)state;
	assert_false(pa_utf8_valid("a\0b", 3));
	assert_int_equal(pa_utf8_seq("\0", 1), 1);
}

static void
test_utf8_cut_keeps_characters_whole(void **state)
{
	const char *s = "Оправа";          /* 2 bytes a letter */

	(void)state;
	assert_int_equal(pa_utf8_cut(s, 12, 3), 2);
	assert_int_equal(pa_utf8_cut(s, 12, 4), 4);
	assert_int_equal(pa_utf8_cut(s, 12, 50), 12);
	assert_int_equal(pa_utf8_cut("\xF0\x9F\x91\x93", 4, 3), 0);
}

static void
test_utf8_decode_gives_code_points(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(pa_utf8_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 0x41);
	assert_int_equal(pa_utf8_decode("\xD0\x9E", 2, &cp), 2);       /* О */
	assert_int_equal(cp, 0x41E);
	assert_int_equal(pa_utf8_decode("\xE2\x84\x96", 3, &cp), 3);   /* № */
	assert_int_equal(cp, 0x2116);
	assert_int_equal(pa_utf8_decode("\xF0\x9F\x91\x93", 4, &cp), 4);
	assert_int_equal(cp, 0x1F453);
	/* NUL-terminated, length unknown: the NUL ends a cut character. */
	assert_int_equal(pa_utf8_decode("\xE2\x84", PA_UTF8_NUL, &cp), 0);
	assert_int_equal(pa_utf8_seq("\xD0", 1), 0);
}

static void
test_utf8_trim_drops_a_cut_character(void **state)
{
	char a[] = "ab\xD0";                 /* О cut after its first byte */
	char b[] = "ab\xE2\x84";             /* № cut after two bytes */
	char c[] = "ab\xD0\x9E";             /* whole */
	char d[] = "";

	(void)state;
	pa_utf8_trim(a);
	assert_string_equal(a, "ab");
	pa_utf8_trim(b);
	assert_string_equal(b, "ab");
	pa_utf8_trim(c);
	assert_string_equal(c, "ab\xD0\x9E");
	pa_utf8_trim(d);
	assert_string_equal(d, "");
}

/* A bare PA_ENOMEM must not be explained by an older message (a bad row's)
 * that is still in the thread's buffer (issue #11). */
static void
test_enomem_never_shows_a_stale_message(void **state)
{
	(void)state;
	pa_err_set(PA_EINVAL, "row 3: not a price");
	assert_string_equal(pa_err_msg(PA_ENOMEM), "out of memory");
	assert_string_equal(pa_err_msg(PA_EINVAL), "row 3: not a price");
	pa_err_set(PA_ENOMEM, "x.xlsx: out of memory creating an XML parser");
	assert_string_equal(pa_err_msg(PA_ENOMEM),
	    "x.xlsx: out of memory creating an XML parser");
	pa_err_clear();
}

static void
test_failed_allocations_are_counted(void **state)
{
	unsigned long before = pa_mem_failures();
	void *p;

	(void)state;
	pa_mem_fail_after(0);
	p = pa_malloc(16);
	pa_mem_fail_after(-1);
	assert_null(p);
	assert_int_equal(pa_mem_failures(), before + 1);
	p = pa_malloc(16);
	assert_non_null(p);
	pa_free(p);
	assert_int_equal(pa_mem_failures(), before + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_valid_accepts_text),
		cmocka_unit_test(test_utf8_valid_rejects_overlong),
		cmocka_unit_test(test_utf8_valid_rejects_surrogates),
		cmocka_unit_test(test_utf8_valid_rejects_above_10ffff),
		cmocka_unit_test(test_utf8_valid_rejects_truncated_and_stray),
		cmocka_unit_test(test_utf8_valid_rejects_nul),
		cmocka_unit_test(test_utf8_valid_long_text_every_position),
		cmocka_unit_test(test_utf8_cut_keeps_characters_whole),
		cmocka_unit_test(test_utf8_decode_gives_code_points),
		cmocka_unit_test(test_utf8_trim_drops_a_cut_character),
		cmocka_unit_test(test_enomem_never_shows_a_stale_message),
		cmocka_unit_test(test_failed_allocations_are_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

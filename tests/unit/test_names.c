/* names: file names that are not valid UTF-8, and escaping for humans
 * (issue #9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/core/names.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

static void
check(const char *raw, const char *want, enum names_enc want_enc)
{
	enum names_enc enc;
	char *s = NULL;

	assert_int_equal(names_render(raw, &s, &enc), PA_OK);
	assert_string_equal(s, want);
	assert_int_equal(enc, want_enc);
	pa_free(s);
}

static void
render_keeps_utf8(void **state)
{
	(void)state;
	check("price.csv", "price.csv", NAMES_UTF8);
	check("прайс.csv", "прайс.csv", NAMES_UTF8);
	check("a\nb", "a\nb", NAMES_UTF8);     /* JSON escapes it, humans too */
	check("", "", NAMES_UTF8);
}

static void
render_decodes_cp1251_cyrillic(void **state)
{
	(void)state;
	/* "прайс.csv", "Прайс №5 ЁЛКИ ёж.csv", "цены_в_рублях.csv" in CP1251 */
	check("\xef\xf0\xe0\xe9\xf1.csv", "прайс.csv", NAMES_CP1251);
	check("\xcf\xf0\xe0\xe9\xf1 \xb9" "5 \xa8\xcb\xca\xc8 \xb8\xe6.csv",
	    "Прайс №5 ЁЛКИ ёж.csv", NAMES_CP1251);
	check("\xf6\xe5\xed\xfb_\xe2_\xf0\xf3\xe1\xeb\xff\xf5.csv",
	    "цены_в_рублях.csv", NAMES_CP1251);
}

static void
render_escapes_the_rest(void **state)
{
	(void)state;
	check("bad\xff.csv", "bad\\xff.csv", NAMES_ESCAPED);
	/* Latin-1 "café", "Müller": a lone letter beside Latin ones. */
	check("caf\xe9.csv", "caf\\xe9.csv", NAMES_ESCAPED);
	check("M\xfcller.csv", "M\\xfcller.csv", NAMES_ESCAPED);
	/* 0x98 is no CP1251 character; 0x80 is a stray continuation byte. */
	check("\x98\x80", "\\x98\\x80", NAMES_ESCAPED);
	/* A backslash is doubled so the escaping is reversible; valid UTF-8
	 * parts stay as they are. */
	check("a\\b\xff\xd0\xbf", "a\\\\b\\xffп", NAMES_ESCAPED);
	/* Overlong NUL and a surrogate are not valid UTF-8. */
	check("\xc0\x80", "\\xc0\\x80", NAMES_ESCAPED);
	check("\xed\xa0\x80", "\\xed\\xa0\\x80", NAMES_ESCAPED);
	assert_string_equal(names_enc_name(NAMES_ESCAPED), "escaped");
	assert_int_equal(names_enc_parse("cp1251"), NAMES_CP1251);
	assert_int_equal(names_enc_parse("junk"), NAMES_UTF8);
}

static void
human_escapes_controls(void **state)
{
	char buf[64];

	(void)state;
	assert_false(names_needs_escape("прайс.csv"));
	assert_true(names_needs_escape("a\nb"));
	assert_true(names_needs_escape("a\xff"));
	assert_true(names_needs_escape("evil\xe2\x80\xae" "vsc.exe"));
	assert_string_equal(names_human("a\nb\tc\rd\x1b[31m", buf, sizeof(buf)),
	    "a\\nb\\tc\\rd\\x1b[31m");
	assert_string_equal(names_human("x\xc2\x85y\xe2\x80\xaez", buf,
	    sizeof(buf)), "x\\u{0085}y\\u{202E}z");
	assert_string_equal(names_human("bad\xff", buf, sizeof(buf)),
	    "bad\\xff");
	assert_string_equal(names_human("прайс", buf, sizeof(buf)), "прайс");
	/* Cut on a character boundary, marked. */
	assert_string_equal(names_human("abcdefghij", buf, 8), "abcd...");
	assert_string_equal(names_human("abcdefg", buf, 8), "abcdefg");
	assert_string_equal(names_human("пппп", buf, 8), "пп...");
	assert_string_equal(names_human("\n\n\n", buf, 8), "\\n\\n\\n");
	assert_string_equal(names_human("\n\n\n\n", buf, 8), "\\n\\n...");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(render_keeps_utf8),
		cmocka_unit_test(render_decodes_cp1251_cyrillic),
		cmocka_unit_test(render_escapes_the_rest),
		cmocka_unit_test(human_escapes_controls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

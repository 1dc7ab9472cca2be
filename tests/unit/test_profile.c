/* Profile validation rules (DESIGN §4), one behaviour per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agent/import/profile.h"
#include "hal/pa_err.h"

#define BASE_HEAD "{\"name\": \"Essilor\", \"file_format\": \"csv_utf8\", "
#define MAP "\"column_mapping\": {\"default_code\": \"SKU\", \"name\": \"Name\"}"

static int
parse(const char *text, struct profile **p)
{
	pa_err_clear();
	return prof_parse(text, strlen(text), p);
}

static void
expect_refused(const char *text, const char *field)
{
	struct profile *p = NULL;

	assert_int_equal(parse(text, &p), PA_EPROFILE);
	assert_null(p);
	assert_non_null(strstr(pa_err_msg(PA_EPROFILE), field));
}

static void
test_minimal_csv_profile_gets_defaults(void **state)
{
	struct profile *p = NULL;

	(void)state;
	assert_int_equal(parse(BASE_HEAD "\"csv_delimiter\": \";\", " MAP "}", &p),
	    PA_OK);
	assert_string_equal(p->name, "Essilor");
	assert_int_equal(p->format, RS_CSV_UTF8);
	assert_int_equal(p->delimiter, ';');
	assert_int_equal(p->quote, '"');
	assert_int_equal(p->header_row, 1);
	assert_int_equal(p->data_start_row, 2);
	assert_true(p->skip_empty_rows && p->create_missing && p->update_existing);
	assert_int_equal(p->upsert_field, CAT_DEFAULT_CODE);
	assert_string_equal(p->column[CAT_DEFAULT_CODE], "SKU");
	assert_null(p->column[CAT_LIST_PRICE]);
	assert_true(p->max_error_percent == 100.0);
	prof_free(p);
}

static void
test_tab_escape_is_a_tab(void **state)
{
	struct profile *p = NULL;

	(void)state;
	assert_int_equal(parse(BASE_HEAD "\"csv_delimiter\": \"\\\\t\", " MAP "}",
	    &p), PA_OK);
	assert_int_equal(p->delimiter, '\t');
	prof_free(p);
}

static void
test_header_row_zero_is_refused(void **state)
{
	(void)state;
	expect_refused(BASE_HEAD "\"csv_delimiter\": \",\", \"header_row\": 0, "
	    MAP "}", "header_row");
}

static void
test_data_start_row_must_follow_header(void **state)
{
	(void)state;
	expect_refused(BASE_HEAD "\"csv_delimiter\": \",\", \"header_row\": 3, "
	    "\"data_start_row\": 3, " MAP "}", "data_start_row");
}

static void
test_empty_mapping_is_refused(void **state)
{
	(void)state;
	expect_refused(BASE_HEAD "\"csv_delimiter\": \",\", \"column_mapping\": {}}",
	    "column_mapping");
}

static void
test_field_outside_whitelist_is_refused(void **state)
{
	(void)state;
	expect_refused(BASE_HEAD "\"csv_delimiter\": \",\", \"column_mapping\": "
	    "{\"default_code\": \"SKU\", \"id\": \"X\"}}", "'id' is not a product");
}

static void
test_upsert_field_must_be_mapped(void **state)
{
	(void)state;
	expect_refused(BASE_HEAD "\"csv_delimiter\": \",\", \"upsert_field\": "
	    "\"barcode\", " MAP "}", "upsert_field");
}

static void
test_delimiter_required_for_csv(void **state)
{
	(void)state;
	expect_refused(BASE_HEAD MAP "}", "csv_delimiter");
}

static void
test_delimiter_is_one_character(void **state)
{
	(void)state;
	expect_refused(BASE_HEAD "\"csv_delimiter\": \",;\", " MAP "}",
	    "csv_delimiter");
}

static void
test_xlsx_needs_no_delimiter(void **state)
{
	struct profile *p = NULL;

	(void)state;
	assert_int_equal(parse("{\"name\": \"X\", \"file_format\": \"xlsx\", "
	    "\"sheet\": \"Прайс\", " MAP "}", &p), PA_OK);
	assert_string_equal(p->sheet, "Прайс");
	prof_free(p);
}

static void
test_unknown_format_is_refused(void **state)
{
	(void)state;
	expect_refused("{\"name\": \"X\", \"file_format\": \"ods\", " MAP "}",
	    "file_format");
}

static void
test_unknown_key_is_refused(void **state)
{
	(void)state;
	expect_refused(BASE_HEAD "\"csv_delimiter\": \",\", \"heder_row\": 1, "
	    MAP "}", "heder_row");
}

static void
test_duplicate_keys_are_refused(void **state)
{
	struct profile *p = NULL;

	(void)state;
	assert_int_equal(parse(BASE_HEAD "\"csv_delimiter\": \",\", \"name\": "
	    "\"Y\", " MAP "}", &p), PA_EPROFILE);
}

static void
test_not_json_is_refused_with_position(void **state)
{
	struct profile *p = NULL;

	(void)state;
	assert_int_equal(parse("{\"name\": ", &p), PA_EPROFILE);
	assert_non_null(strstr(pa_err_msg(PA_EPROFILE), "line 1"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_csv_profile_gets_defaults),
		cmocka_unit_test(test_tab_escape_is_a_tab),
		cmocka_unit_test(test_header_row_zero_is_refused),
		cmocka_unit_test(test_data_start_row_must_follow_header),
		cmocka_unit_test(test_empty_mapping_is_refused),
		cmocka_unit_test(test_field_outside_whitelist_is_refused),
		cmocka_unit_test(test_upsert_field_must_be_mapped),
		cmocka_unit_test(test_delimiter_required_for_csv),
		cmocka_unit_test(test_delimiter_is_one_character),
		cmocka_unit_test(test_xlsx_needs_no_delimiter),
		cmocka_unit_test(test_unknown_format_is_refused),
		cmocka_unit_test(test_unknown_key_is_refused),
		cmocka_unit_test(test_duplicate_keys_are_refused),
		cmocka_unit_test(test_not_json_is_refused_with_position),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

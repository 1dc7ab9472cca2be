/* test_xlsx — the XLSX row source through rs_open()/rs_next().
 *
 * Fixtures are in tests/fixtures/xlsx/ (made by tests/fixtures/make_xlsx.py;
 * libreoffice*.xls* by LibreOffice from libreoffice.fods). Run from the
 * repository root, as `make unit` does. Files too big or too silly to commit
 * (zip bomb, 10001 entries, a 2 MiB tag) are built here with libzip in a
 * temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "agent/readers/rowsrc.h"
#include "agent/readers/xlsx.h"
#include "hal/hal_fault.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

#define FX "tests/fixtures/xlsx/"

static char tmpdir[64];

/* --- helpers -------------------------------------------------------------- */

static int
try_open(const char *path, const char *sheet, rs **r)
{
	struct rs_opts o = { .format = RS_XLSX, .sheet = sheet };

	pa_err_clear();
	return rs_open(path, &o, r);
}

static rs *
open_ok(const char *path, const char *sheet)
{
	rs *r = NULL;
	int rc = try_open(path, sheet, &r);

	if (rc != PA_OK)
		fail_msg("rs_open(%s): %s: %s", path, pa_errname(rc),
		    pa_err_msg(rc));
	return r;
}

/* The row with physical number n (rows before it are skipped). */
static const struct rs_row *
row_at(rs *r, unsigned long n)
{
	const struct rs_row *row;
	int rc;

	while ((rc = rs_next(r, &row)) == PA_OK && row != NULL)
		if (row->row_number == n)
			return row;
	fail_msg("row %lu not found: %s %s", n, pa_errname(rc),
	    rc ? pa_err_msg(rc) : "(end of sheet)");
	return NULL;
}

static const char *
cell(const struct rs_row *row, size_t i)
{
	return i < row->ncells ? row->cells[i].text : "(absent)";
}

static unsigned
flags(const struct rs_row *row, size_t i)
{
	return i < row->ncells ? row->cells[i].flags : 0;
}

/* Open and read to the end: the final code; *nrows rows seen. */
static int
read_all(const char *path, const char *sheet, unsigned long *nrows)
{
	const struct rs_row *row;
	rs *r = NULL;
	unsigned long n = 0;
	int rc;

	if ((rc = try_open(path, sheet, &r)) == PA_OK) {
		while ((rc = rs_next(r, &row)) == PA_OK && row != NULL)
			n++;
		rs_close(r);
	}
	if (nrows != NULL)
		*nrows = n;
	return rc;
}

static void
expect_fail(const char *path, const char *sheet, int code, const char *needle)
{
	int rc = read_all(path, sheet, NULL);

	if (rc != code || strstr(pa_err_msg(rc), needle) == NULL)
		fail_msg("%s: want %s with \"%s\", got %s: %s", path,
		    pa_errname(code), needle, pa_errname(rc), pa_err_msg(rc));
}

/* Write a zip of (name, data) pairs with libzip; returns its path. */
static const char *
make_zip(const char *file, const char *const *names,
    const char *const *data, const size_t *lens, size_t n)
{
	static char path[128];
	zip_source_t *src;
	zip_t *za;
	size_t i;
	int err;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
	assert_non_null(za);
	for (i = 0; i < n; i++) {
		src = zip_source_buffer(za, data[i], lens[i], 0);
		assert_non_null(src);
		assert_true(zip_file_add(za, names[i], src, ZIP_FL_OVERWRITE) >= 0);
	}
	assert_int_equal(zip_close(za), 0);
	return path;
}

/* A one-sheet workbook: sheet XML and, if sst is not NULL, shared strings. */
static const char *
make_book_sst(const char *file, const char *sheet, size_t len, const char *sst)
{
	static const char *names[] = {
		"[Content_Types].xml", "xl/workbook.xml",
		"xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml",
		"xl/sharedStrings.xml"
	};
	const char *ct = "<Types xmlns=\"http://schemas.openxmlformats.org/"
	    "package/2006/content-types\"><Override PartName=\"/xl/workbook.xml\" "
	    "ContentType=\"application/vnd.openxmlformats-officedocument."
	    "spreadsheetml.sheet.main+xml\"/></Types>";
	const char *wb = "<workbook xmlns=\"http://schemas.openxmlformats.org/"
	    "spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats."
	    "org/officeDocument/2006/relationships\"><sheets><sheet name=\"T\" "
	    "sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
	const char *rels = "<Relationships xmlns=\"http://schemas.openxmlformats."
	    "org/package/2006/relationships\"><Relationship Id=\"rId1\" "
	    "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
	    "relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
	    "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/"
	    "officeDocument/2006/relationships/sharedStrings\" "
	    "Target=\"sharedStrings.xml\"/></Relationships>";
	const char *data[5];
	size_t lens[5];

	data[0] = ct, lens[0] = strlen(ct);
	data[1] = wb, lens[1] = strlen(wb);
	data[2] = rels, lens[2] = strlen(rels);
	data[3] = sheet, lens[3] = len;
	data[4] = sst, lens[4] = sst ? strlen(sst) : 0;
	return make_zip(file, names, data, lens, sst ? 5 : 4);
}

static const char *
make_book(const char *file, const char *sheet, size_t len)
{
	return make_book_sst(file, sheet, len, NULL);
}

static char *
sheet_xml(const char *body)
{
	const char *head = "<worksheet xmlns=\"http://schemas.openxmlformats.org/"
	    "spreadsheetml/2006/main\"><sheetData>";
	const char *tail = "</sheetData></worksheet>";
	size_t n = strlen(head) + strlen(body) + strlen(tail) + 1;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "%s%s%s", head, body, tail);
	return s;
}

/* --- which sheet ---------------------------------------------------------- */

static void
test_first_sheet_in_workbook_order_not_sheet1_xml(void **state)
{
	rs *r = open_ok(FX "excel_prefixed.xlsx", NULL);

	(void)state;
	/* "Обложка" is listed first but stored as worksheets/sheet2.xml. */
	assert_string_equal(cell(row_at(r, 1), 0), "Обложка каталога");
	rs_close(r);
}

static void
test_sheet_selected_by_name(void **state)
{
	rs *r = open_ok(FX "excel_prefixed.xlsx", "Прайс");
	const struct rs_row *row = row_at(r, 1);

	(void)state;
	assert_int_equal(row->ncells, 4);
	assert_string_equal(cell(row, 0), "SKU");
	assert_string_equal(cell(row, 3), "Barcode");
	rs_close(r);
}

static void
test_sheet_selected_by_name_libreoffice(void **state)
{
	rs *r = open_ok(FX "libreoffice.xlsx", "Прайс");
	const struct rs_row *row = row_at(r, 3);

	(void)state;
	assert_string_equal(cell(row, 1), "Оправа «Классика» — титан");
	assert_string_equal(cell(row, 2), "7200.75");
	rs_close(r);
}

static void
test_missing_sheet_lists_sheets_found(void **state)
{
	(void)state;
	expect_fail(FX "excel_prefixed.xlsx", "Prices", PA_EFORMAT,
	    "has no sheet named \"Prices\"; sheets found: \"Обложка\", \"Прайс\"");
}

static void
test_first_worksheet_skips_chart_sheet(void **state)
{
	rs *r = open_ok(FX "chartsheet_first.xlsx", NULL);

	(void)state;
	assert_string_equal(cell(row_at(r, 1), 0), "data");
	rs_close(r);
}

static void
test_chart_sheet_by_name_refused(void **state)
{
	(void)state;
	expect_fail(FX "chartsheet_first.xlsx", "Диаграмма", PA_EFORMAT,
	    "is a chart, not a table");
}

/* --- text cells ----------------------------------------------------------- */

static void
test_shared_strings_cyrillic(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 3);

	(void)state;
	assert_string_equal(cell(row, 1), "Линза Varilux Comfort 1.67 Crizal");
	assert_int_equal(row->cells[1].len, strlen(cell(row, 1)));
	assert_int_equal(flags(row, 1), 0);
	rs_close(r);
}

static void
test_inline_strings(void **state)
{
	rs *r = open_ok(FX "openpyxl_inline.xlsx", NULL);
	const struct rs_row *row = row_at(r, 3);

	(void)state;
	assert_string_equal(cell(row, 0), "ESS-001");
	assert_string_equal(cell(row, 6), "Линзы");
	rs_close(r);
}

static void
test_shared_rich_text_runs_concatenated_phonetic_ignored(void **state)
{
	rs *r = open_ok(FX "excel_prefixed.xlsx", "Прайс");

	(void)state;
	assert_string_equal(cell(row_at(r, 2), 1), "Линза Hoya Nulux 1.6");
	rs_close(r);
}

static void
test_inline_rich_text_runs_concatenated(void **state)
{
	rs *r = open_ok(FX "openpyxl_inline.xlsx", NULL);

	(void)state;
	assert_string_equal(cell(row_at(r, 9), 0), "Оправа Ray-Ban");
	rs_close(r);
}

static void
test_escaped_characters_decoded(void **state)
{
	rs *r = open_ok(FX "openpyxl_inline.xlsx", NULL);

	(void)state;
	/* _x000D_ is CR; _x005F_ escapes the '_' of a literal "_x000D_". */
	assert_string_equal(cell(row_at(r, 9), 1), "a\rb_x000D_");
	rs_close(r);
	r = open_ok(FX "excel_prefixed.xlsx", "Прайс");
	assert_string_equal(cell(row_at(r, 3), 1), "строка\r\nперевод");
	rs_close(r);
}

static void
test_whitespace_kept_untrimmed(void **state)
{
	rs *r = open_ok(FX "excel_prefixed.xlsx", "Прайс");

	(void)state;
	assert_string_equal(cell(row_at(r, 3), 0), "  пробелы  ");
	rs_close(r);
}

static void
test_strict_namespace(void **state)
{
	rs *r = open_ok(FX "strict.xlsx", NULL);
	const struct rs_row *row = row_at(r, 1);

	(void)state;
	assert_string_equal(cell(row, 0), "строгий");
	assert_string_equal(cell(row, 1), "42");
	rs_close(r);
}

/* --- layout --------------------------------------------------------------- */

static void
test_merged_title_row_is_one_cell(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 1);

	(void)state;
	assert_int_equal(row->ncells, 1);
	assert_string_equal(cell(row, 0), "Прайс-лист Essilor, ноябрь 2026");
	row = row_at(r, 2);
	assert_int_equal(row->ncells, 10);
	assert_string_equal(cell(row, 9), "Active");
	rs_close(r);
}

static void
test_sparse_cells_placed_by_reference(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 4);

	(void)state;
	assert_int_equal(row->ncells, 6);  /* F4 is the last */
	assert_string_equal(cell(row, 1), "");
	assert_string_equal(cell(row, 2), "1500");
	assert_string_equal(cell(row, 3), "");
	assert_string_equal(cell(row, 4), "");
	assert_int_equal(row->cells[4].len, 0);
	assert_string_equal(cell(row, 5), "4607000017036");
	rs_close(r);
}

static void
test_missing_rows_keep_physical_numbers(void **state)
{
	static const unsigned long want[] = { 1, 2, 3, 4, 5, 7, 8 };
	const struct rs_row *row;
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	size_t i = 0;

	(void)state;
	while (rs_next(r, &row) == PA_OK && row != NULL) {
		assert_true(i < sizeof(want) / sizeof(want[0]));
		assert_int_equal(row->row_number, want[i++]);
	}
	assert_int_equal(i, sizeof(want) / sizeof(want[0]));
	rs_close(r);
}

static void
test_cells_and_rows_without_r_follow_sequentially(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 8);  /* after row 7, no r= */

	(void)state;
	assert_int_equal(row->ncells, 3);
	assert_string_equal(cell(row, 0), "ESS-005");
	assert_string_equal(cell(row, 1), "100234");
	rs_close(r);
}

static void
test_out_of_order_cells_placed_by_reference(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 7);  /* I7 H7 G7 D7 after C7 */

	(void)state;
	assert_int_equal(row->ncells, 9);
	assert_string_equal(cell(row, 2), "0.0015");
	assert_string_equal(cell(row, 3), "0");
	assert_string_equal(cell(row, 8), "2026-11-26T09:12:00");
	rs_close(r);
}

static void
test_empty_row_element_yields_row_without_cells(void **state)
{
	char *xml = sheet_xml("<row r=\"2\"/><row r=\"3\"><c r=\"B3\" s=\"1\"/>"
	    "</row><row r=\"4\"><c r=\"XFD4\"/><c r=\"A4\"><v>1</v></c></row>");
	const char *path = make_book("empty_rows.xlsx", xml, strlen(xml));
	rs *r = open_ok(path, NULL);
	const struct rs_row *row;

	(void)state;
	row = row_at(r, 2);
	assert_int_equal(row->ncells, 0);
	row = row_at(r, 3);  /* a styled cell without a value */
	assert_int_equal(row->ncells, 0);
	row = row_at(r, 4);  /* an empty far-right cell does not widen */
	assert_int_equal(row->ncells, 1);
	assert_int_equal(rs_next(r, &row), PA_OK);
	assert_null(row);
	assert_int_equal(rs_next(r, &row), PA_OK);  /* still the end */
	assert_null(row);
	rs_close(r);
	free(xml);
}

/* --- numbers, dates, booleans, errors ------------------------------------- */

static void
test_barcode_number_exact_integer(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 3);

	(void)state;
	assert_string_equal(cell(row, 5), "4601234567890");
	assert_true(flags(row, 5) & RS_CELL_NUMBER);
	assert_string_equal(cell(row, 3), "8000");
	rs_close(r);
}

static void
test_exponent_values_expanded(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);

	(void)state;
	assert_string_equal(cell(row_at(r, 4), 5), "4607000017036");  /* 4.6E+12 */
	assert_string_equal(cell(row_at(r, 7), 2), "0.0015");         /* 1.5E-3 */
	assert_string_equal(cell(row_at(r, 8), 2),
	    "100000000000000000000");                                 /* 1e+20 */
	rs_close(r);
}

static void
test_float_noise_trimmed_to_15_digits(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);

	(void)state;
	assert_string_equal(cell(row_at(r, 5), 4), "0.3");  /* 0.1+0.2 */
	rs_close(r);
}

static void
test_canonical_number_text(void **state)
{
	static const struct { double d; const char *want; } t[] = {
		{ 4601234567890.0, "4601234567890" }, { 12500.5, "12500.5" },
		{ -0.0, "0" }, { -1.5e-7, "-0.00000015" },
		{ 1234567890123456789.0, "1234567890123460000" },
		{ 0.1 + 0.2, "0.3" }, { 1e15, "1000000000000000" },
		{ 123456.789, "123456.789" }, { -42.0, "-42" },
		/* issue #9: 1e-320 was 322 characters of zeros in a text field */
		{ 1e-320, "9.99988867182683E-321" }, { 1e-9, "0.000000001" },
		{ -2.5e-10, "-2.5E-10" }, { 1e20, "100000000000000000000" },
		{ 1e21, "1E+21" }, { 1.5e300, "1.5E+300" },
	};
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	char buf[XLSX_NUM_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_true(xlsx__num_canon(t[i].d, c, buf, sizeof(buf)) > 0);
		assert_string_equal(buf, t[i].want);
	}
	freelocale(c);
}

/* The digit-copying fast path must print what strtod + %.15g would. */
static void
test_number_fast_path_matches_printf(void **state)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	char v[64], got[XLSX_NUM_MAX], want[XLSX_NUM_MAX];
	uint32_t x = 12345;
	unsigned fl;
	int i, k, nd, point, n;

	(void)state;
	for (i = 0; i < 20000; i++) {
		n = 0;
		x = x * 1103515245u + 12345u;
		if (x & 0x100)
			v[n++] = '-';
		nd = 1 + (int)((x >> 9) % 17);        /* up to 17 digits */
		point = (int)((x >> 14) % (unsigned)(nd + 3));
		for (k = 0; k < nd; k++) {
			if (k == point)
				v[n++] = '.';
			x = x * 1103515245u + 12345u;
			v[n++] = (char)('0' + (x >> 16) % (k % 5 == 4 ? 1 : 10));
		}
		v[n] = '\0';
		fl = 0;
		n = xlsx__num_render(v, strlen(v), XLSX_NUMBER, 0, c, got, &fl);
		assert_true(n > 0);
		assert_true(fl & RS_CELL_NUMBER);
		assert_true(xlsx__num_canon(strtod(v, NULL), c, want,
		    sizeof(want)) > 0);
		if (strcmp(got, want) != 0)
			fail_msg("\"%s\": got %s, printf gives %s", v, got, want);
	}
	freelocale(c);
}

static void
test_number_edges(void **state)
{
	static const struct { const char *v; const char *want; unsigned fl; } t[] = {
		{ "1.7976931348623157E+308", "1.7976931348623157E+308", 0 },
		{ "1e999", "1e999", 0 },          /* not finite: text as is */
		{ "NaN", "NaN", 0 },
		{ " 42 ", "42", RS_CELL_NUMBER }, /* XML whitespace */
		{ "+.50", "0.5", RS_CELL_NUMBER },
		{ "-000.000", "0", RS_CELL_NUMBER },
		{ "4.94065645841247e-324", "4.94065645841247E-324",
		    RS_CELL_NUMBER },
		{ "1e-320", "9.99988867182683E-321", RS_CELL_NUMBER },
		{ "0.0000000001", "1E-10", RS_CELL_NUMBER },       /* fast path */
		{ "10000000000000000000000", "1E+22", RS_CELL_NUMBER },
		{ "12 000", "12 000", 0 },
	};
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	char out[XLSX_NUM_MAX];
	unsigned fl;
	size_t i;
	size_t n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fl = 0;
		n = xlsx__num_render(t[i].v, strlen(t[i].v), XLSX_NUMBER, 0, c,
		    out, &fl);
		if (t[i].fl == 0) {
			assert_int_equal(n, 0);  /* the caller keeps the text */
			continue;
		}
		assert_int_equal(fl, t[i].fl);
		assert_true(strncmp(out, t[i].want, strlen(t[i].want)) == 0);
	}
	/* Past 9999-12-31 a date is shown as the number it is. */
	fl = 0;
	n = xlsx__num_render("2958465.9999999", 15, XLSX_DATE, 0, c, out, &fl);
	assert_true(n > 0);
	assert_string_equal(out, "2958465.9999999");
	freelocale(c);
}

static void
test_numbers_ignore_process_locale(void **state)
{
	rs *r;

	(void)state;
	/* ru_RU writes "12500,5"; cells must not. Skip if not installed. */
	if (setlocale(LC_ALL, "ru_RU.UTF-8") == NULL &&
	    setlocale(LC_ALL, "de_DE.UTF-8") == NULL)
		skip();
	r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	assert_string_equal(cell(row_at(r, 3), 2), "12500.5");
	rs_close(r);
	setlocale(LC_ALL, "C");
}

static void
test_formula_cells_give_cached_values(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 5);

	(void)state;
	assert_string_equal(cell(row, 2), "25001");           /* =C3*2 */
	assert_true(flags(row, 2) & RS_CELL_NUMBER);
	assert_string_equal(cell(row, 1), "ЛИНЗА VARILUX");   /* t="str" */
	assert_int_equal(flags(row, 1), 0);
	rs_close(r);
}

static void
test_error_cell_is_empty_with_error_flag(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 5);

	(void)state;
	assert_string_equal(cell(row, 3), "");   /* #N/A */
	assert_int_equal(flags(row, 3), RS_CELL_ERROR);
	rs_close(r);
}

static void
test_booleans_are_true_false(void **state)
{
	static const char *files[] = {
		FX "openpyxl_shared.xlsx", FX "libreoffice.xlsx"
	};
	size_t i;
	rs *r;

	(void)state;
	for (i = 0; i < 2; i++) {
		r = open_ok(files[i], NULL);
		assert_string_equal(cell(row_at(r, 3), 9), "TRUE");
		assert_string_equal(cell(row_at(r, 5), 9), "FALSE");
		rs_close(r);
	}
}

static void
test_builtin_date_format_gives_iso_date(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 3);

	(void)state;
	assert_string_equal(cell(row, 8), "2026-11-26");
	assert_int_equal(flags(row, 8), 0);
	rs_close(r);
}

static void
test_custom_date_formats_give_iso_text(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 7);

	(void)state;
	assert_string_equal(cell(row, 8), "2026-11-26T09:12:00"); /* dd/mm/yyyy hh:mm */
	assert_string_equal(cell(row, 7), "12:00:00");            /* built-in h:mm */
	assert_string_equal(cell(row, 6), "2026-11-26");          /* [$-419]DD.MM.YYYY */
	rs_close(r);
}

static void
test_money_format_stays_a_number(void **state)
{
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);
	const struct rs_row *row = row_at(r, 3);

	(void)state;
	assert_string_equal(cell(row, 2), "12500.5");  /* #,##0.00 "руб." */
	assert_true(flags(row, 2) & RS_CELL_NUMBER);
	rs_close(r);
}

static void
test_date1904_workbook(void **state)
{
	rs *r = open_ok(FX "date1904.xlsx", NULL);
	const struct rs_row *row = row_at(r, 1);

	(void)state;
	assert_string_equal(cell(row, 0), "2026-11-26");
	assert_string_equal(cell(row, 1), "2026-11-26T12:00:00");
	assert_string_equal(cell(row, 2), "1904-01-01");
	rs_close(r);
}

static void
test_format_code_classification(void **state)
{
	(void)state;
	assert_int_equal(xlsx__fmt_kind("General"), XLSX_NUMBER);
	assert_int_equal(xlsx__fmt_kind("#,##0.00\\ \"руб.\""), XLSX_NUMBER);
	assert_int_equal(xlsx__fmt_kind("0.00E+00"), XLSX_NUMBER);
	assert_int_equal(xlsx__fmt_kind("[Red]0;\"days\""), XLSX_NUMBER);
	assert_int_equal(xlsx__fmt_kind("\"TRUE\";\"TRUE\";\"FALSE\""), XLSX_NUMBER);
	assert_int_equal(xlsx__fmt_kind("dd\\.mm\\.yyyy"), XLSX_DATE);
	assert_int_equal(xlsx__fmt_kind("mmm yyyy"), XLSX_DATE);
	assert_int_equal(xlsx__fmt_kind("[$-F800]dddd, mmmm dd, yyyy"), XLSX_DATE);
	assert_int_equal(xlsx__fmt_kind("dd/mm/yyyy hh:mm"), XLSX_DATETIME);
	assert_int_equal(xlsx__fmt_kind("h:mm AM/PM"), XLSX_TIME);
	assert_int_equal(xlsx__fmt_kind("[h]:mm:ss"), XLSX_TIME);
	assert_int_equal(xlsx__fmt_kind("mm:ss"), XLSX_TIME);
	assert_int_equal(xlsx__builtin_kind(14), XLSX_DATE);
	assert_int_equal(xlsx__builtin_kind(22), XLSX_DATETIME);
	assert_int_equal(xlsx__builtin_kind(46), XLSX_TIME);
	assert_int_equal(xlsx__builtin_kind(49), XLSX_NUMBER);
}

static void
test_libreoffice_workbook(void **state)
{
	rs *r = open_ok(FX "libreoffice.xlsx", NULL);
	const struct rs_row *row;

	(void)state;
	row = row_at(r, 1);
	assert_int_equal(row->ncells, 1);
	row = row_at(r, 3);
	assert_string_equal(cell(row, 1), "Линза Varilux Comfort 1.67 Crizal");
	assert_string_equal(cell(row, 5), "4601234567890");
	assert_string_equal(cell(row, 8), "2026-11-26");
	row = row_at(r, 5);
	assert_string_equal(cell(row, 1), "ЛИНЗА VARILUX COMFORT 1.67 CRIZAL");
	assert_string_equal(cell(row, 2), "25001");
	assert_int_equal(flags(row, 3), RS_CELL_ERROR);
	row = row_at(r, 7);
	assert_string_equal(cell(row, 8), "2026-11-26T09:12:00");
	rs_close(r);
}

/* The same price list written by real producers' code (openpyxl: inline
 * strings; XlsxWriter: shared, and inline in constant_memory mode;
 * LibreOffice) reads the same. */
static void
test_real_producers_read_alike(void **state)
{
	static const char *files[] = {
		FX "real_openpyxl.xlsx", FX "real_xlsxwriter.xlsx",
		FX "real_xlsxwriter_constmem.xlsx", FX "libreoffice.xlsx",
		FX "openpyxl_shared.xlsx",
	};
	const struct rs_row *row;
	size_t i;
	rs *r;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		r = open_ok(files[i], NULL);
		row = row_at(r, 1);
		assert_int_equal(row->ncells, 1);
		assert_string_equal(cell(row, 0), "Прайс-лист Essilor, ноябрь 2026");
		row = row_at(r, 3);
		assert_int_equal(row->ncells, 10);
		assert_string_equal(cell(row, 1), "Линза Varilux Comfort 1.67 Crizal");
		assert_string_equal(cell(row, 2), "12500.5");
		assert_string_equal(cell(row, 5), "4601234567890");
		assert_string_equal(cell(row, 8), "2026-11-26");
		assert_string_equal(cell(row, 9), "TRUE");
		row = row_at(r, 4);
		assert_string_equal(cell(row, 5), "4607000017036");
		row = row_at(r, 5);
		assert_int_equal(flags(row, 3), RS_CELL_ERROR);
		assert_string_equal(cell(row, 9), "FALSE");
		row = row_at(r, 7);
		assert_string_equal(cell(row, 8), "2026-11-26T09:12:00");
		rs_close(r);
	}
}

static void
test_formula_without_cached_value_is_empty(void **state)
{
	rs *r = open_ok(FX "real_openpyxl.xlsx", NULL);  /* never calculated */

	(void)state;
	assert_string_equal(cell(row_at(r, 5), 2), "");
	rs_close(r);
}

/* --- progress ------------------------------------------------------------- */

static void
test_progress_counts_sheet_bytes_inflated(void **state)
{
	unsigned long long done, total, prev;
	const struct rs_row *row;
	rs *r = open_ok(FX "openpyxl_shared.xlsx", NULL);

	(void)state;
	rs_progress(r, &done, &total);
	assert_int_equal(done, 0);
	assert_true(total > 0);
	prev = done;
	while (rs_next(r, &row) == PA_OK && row != NULL) {
		rs_progress(r, &done, &total);
		assert_true(done >= prev && done <= total);
		prev = done;
	}
	rs_progress(r, &done, &total);
	assert_int_equal(done, total);
	rs_close(r);
}

/* --- not an xlsx ---------------------------------------------------------- */

static void
test_xls_refused_with_save_as_hint(void **state)
{
	(void)state;
	expect_fail(FX "fake.xls", NULL, PA_EFORMAT, "fake.xls is an old Excel "
	    "97-2003 .xls workbook; open it in Excel/LibreOffice and save it as "
	    ".xlsx");
	expect_fail(FX "libreoffice.xls", NULL, PA_EFORMAT, ".xls workbook");
}

static void
test_encrypted_workbook_refused(void **state)
{
	(void)state;
	expect_fail(FX "encrypted.xlsx", NULL, PA_EFORMAT,
	    "encrypted.xlsx is a password-protected");
}

static void
test_truncated_zip_refused(void **state)
{
	(void)state;
	expect_fail(FX "truncated.xlsx", NULL, PA_EFORMAT,
	    "truncated.xlsx is damaged (truncated zip");
}

static void
test_zip_without_workbook_says_what_it_is(void **state)
{
	(void)state;
	expect_fail(FX "not_workbook.xlsx", NULL, PA_EFORMAT,
	    "is a zip archive of 2 file(s) (first: \"readme.txt\")");
	expect_fail(FX "docx_renamed.xlsx", NULL, PA_EFORMAT,
	    "is a Word document (.docx)");
	expect_fail(FX "libreoffice_ods.xlsx", NULL, PA_EFORMAT,
	    "is an OpenDocument spreadsheet (.ods)");
}

static void
test_text_file_refused(void **state)
{
	(void)state;
	expect_fail(FX "csv_renamed.xlsx", NULL, PA_EFORMAT,
	    "is a text file, not an .xlsx workbook");
}

static void
test_missing_file_is_io_error(void **state)
{
	(void)state;
	expect_fail(FX "no-such-file.xlsx", NULL, PA_EIO,
	    "cannot open " FX "no-such-file.xlsx");
}

/* libzip reads the workbook through hal (issue #11): a read error at any
 * point, the zip directory or any part's inflation, is PA_EIO naming the
 * file and the OS's reason, never "damaged" (PA_EFORMAT). Each read is
 * failed in turn until the workbook reads whole. */
static void
test_read_error_anywhere_is_io_error(void **state)
{
	const struct rs_row *row;
	char spec[128];
	int rc = PA_EIO, hit = 0;
	long k;
	rs *r;

	(void)state;
	for (k = 0; k < 1000 && rc != PA_OK; k++) {
		snprintf(spec, sizeof(spec), "pread:EIO:real_openpyxl.xlsx:%ld", k);
		assert_int_equal(hal_fault_arm(spec), PA_OK);
		r = NULL;
		if ((rc = try_open(FX "real_openpyxl.xlsx", NULL, &r)) == PA_OK)
			while ((rc = rs_next(r, &row)) == PA_OK && row != NULL)
				;
		rs_close(r);
		hal_fault_disarm();
		if (rc == PA_OK)
			break;
		if (rc != PA_EIO)
			fail_msg("read %ld failed: %s: %s", k, pa_errname(rc),
			    pa_err_msg(rc));
		assert_non_null(strstr(pa_err_msg(rc), "real_openpyxl.xlsx"));
		assert_non_null(strstr(pa_err_msg(rc), strerror(EIO)));
		hit++;
	}
	assert_int_equal(rc, PA_OK);
	/* The head, the directory and the parts: more than the first read. */
	assert_true(hit > 3);
}

static void
test_html_and_xml2003_refused(void **state)
{
	static const struct { const char *body, *want; } t[] = {
		{ "\xEF\xBB\xBF<html><body><table><tr><td>1</td></tr></table>",
		  "is a web page (HTML) saved with a spreadsheet name" },
		{ "<?xml version=\"1.0\"?><Workbook xmlns=\"urn:schemas-microsoft-"
		  "com:office:spreadsheet\">", "is an Excel 2003 XML spreadsheet" },
		{ "%PDF-1.4\n", "is a PDF document" },
	};
	char path[128];
	size_t i;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/web.xls", tmpdir);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_non_null(f = fopen(path, "w"));
		fputs(t[i].body, f);
		fclose(f);
		expect_fail(path, NULL, PA_EFORMAT, t[i].want);
	}
}

static void
test_relationship_targets_resolved(void **state)
{
	static const struct { const char *base, *target, *want; } t[] = {
		{ "xl/", "worksheets/sheet1.xml", "xl/worksheets/sheet1.xml" },
		{ "xl/", "/xl/worksheets/sheet1.xml", "xl/worksheets/sheet1.xml" },
		{ "xl/", "../xl/./worksheets/s.xml", "xl/worksheets/s.xml" },
		{ "xl/", "worksheets/sheet%201.xml", "xl/worksheets/sheet 1.xml" },
		{ "xl/", "worksheets\\s.xml", "xl/worksheets/s.xml" },
		{ "", "/xl/workbook.xml", "xl/workbook.xml" },
	};
	/* above the root, NUL, bad escapes, nothing at all */
	static const char *bad[] = { "../../etc/passwd", "a%00b", "a%zz", "/" };
	char out[XLSX_MAX_PATH];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(xlsx__resolve(t[i].base, t[i].target, out,
		    sizeof(out)), PA_OK);
		assert_string_equal(out, t[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(xlsx__resolve("xl/", bad[i], out, sizeof(out)),
		    PA_EFORMAT);
}

static void
test_empty_file_refused(void **state)
{
	char path[128];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/empty.xlsx", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	expect_fail(path, NULL, PA_EFORMAT, "is empty (0 bytes)");
}

/* --- hostile -------------------------------------------------------------- */

static void
test_zip_bomb_refused(void **state)
{
	static const char rowx[] = "<row><c><v>1</v></c></row>";
	size_t n = 8u * 1024 * 1024 / (sizeof(rowx) - 1), i;
	char *body = malloc(n * (sizeof(rowx) - 1) + 1), *xml;
	const char *path;

	(void)state;
	assert_non_null(body);
	for (i = 0; i < n; i++)
		memcpy(body + i * (sizeof(rowx) - 1), rowx, sizeof(rowx) - 1);
	body[n * (sizeof(rowx) - 1)] = '\0';
	xml = sheet_xml(body);
	path = make_book("bomb.xlsx", xml, strlen(xml));
	expect_fail(path, NULL, PA_ELIMIT, "a zip bomb?");
	free(body);
	free(xml);
}

static void
test_entry_inflating_past_declared_size_refused(void **state)
{
	(void)state;
	expect_fail(FX "lying_size.xlsx", NULL, PA_EFORMAT,
	    "inflates to more than the 200 bytes its zip header declares");
}

static void
test_too_many_zip_entries_refused(void **state)
{
	size_t n = RS_MAX_ZIP_ENTRIES + 1, i;
	const char **names = calloc(n, sizeof(*names));
	const char **data = calloc(n, sizeof(*data));
	size_t *lens = calloc(n, sizeof(*lens));
	char (*nb)[16] = calloc(n, sizeof(*nb));
	const char *path;

	(void)state;
	assert_true(names && data && lens && nb);
	for (i = 0; i < n; i++) {
		snprintf(nb[i], sizeof(nb[i]), "f%zu", i);
		names[i] = nb[i];
		data[i] = "x";
		lens[i] = 1;
	}
	path = make_zip("many.xlsx", names, data, lens, n);
	expect_fail(path, NULL, PA_ELIMIT, "RS_MAX_ZIP_ENTRIES");
	free(names);
	free(data);
	free(lens);
	free(nb);
}

static void
test_crc_error_names_the_row(void **state)
{
	(void)state;
	expect_fail(FX "crc_error.xlsx", NULL, PA_EFORMAT,
	    "is damaged: xl/worksheets/sheet1.xml cannot be read (CRC error) "
	    "(sheet \"Crc\", after row 49)");
}

static void
test_broken_xml_names_the_row(void **state)
{
	unsigned long n;

	(void)state;
	expect_fail(FX "broken_xml.xlsx", NULL, PA_EFORMAT,
	    "not well-formed XML");
	expect_fail(FX "broken_xml.xlsx", NULL, PA_EFORMAT,
	    "(sheet \"Broken\", row 3)");
	read_all(FX "broken_xml.xlsx", NULL, &n);
	assert_int_equal(n, 2);  /* rows before the damage were delivered */
}

static void
test_doctype_refused_billion_laughs(void **state)
{
	(void)state;
	expect_fail(FX "billion_laughs.xlsx", NULL, PA_EFORMAT,
	    "has a DOCTYPE declaration");
}

static void
test_external_entity_refused(void **state)
{
	(void)state;
	expect_fail(FX "external_entity.xlsx", NULL, PA_EFORMAT,
	    "has a DOCTYPE declaration");
}

static void
test_xml_depth_limited(void **state)
{
	(void)state;
	expect_fail(FX "deep_nesting.xlsx", NULL, PA_ELIMIT, "RS_MAX_XML_DEPTH");
}

static void
test_cell_length_limited(void **state)
{
	(void)state;
	expect_fail(FX "long_cell.xlsx", NULL, PA_ELIMIT,
	    "sheet \"Long\", row 2: cell A2 holds more than 65536 bytes");
}

static void
test_columns_per_row_limited(void **state)
{
	(void)state;
	expect_fail(FX "wide_row.xlsx", NULL, PA_ELIMIT,
	    "row 2: cell AMK2 is beyond column 1024 (RS_MAX_COLUMNS)");
}

static void
test_shared_string_index_out_of_range(void **state)
{
	(void)state;
	expect_fail(FX "bad_sst_index.xlsx", NULL, PA_EFORMAT,
	    "row 2: cell B2 refers to shared string \"7\" but the workbook has 1");
}

/* Regression (fuzz_xlsx): an empty first shared string used the arena
 * before it existed. */
static void
test_empty_shared_strings(void **state)
{
	const char *sst = "<sst xmlns=\"http://schemas.openxmlformats.org/"
	    "spreadsheetml/2006/main\"><si/><si><t></t></si><si><t>x</t></si>"
	    "<si><rPh><t>phonetic only</t></rPh></si></sst>";
	char *xml = sheet_xml("<row r=\"1\"><c t=\"s\"><v>0</v></c><c t=\"s\">"
	    "<v>1</v></c><c t=\"s\"><v>2</v></c><c t=\"s\"><v>3</v></c></row>");
	const char *path = make_book_sst("empty_sst.xlsx", xml, strlen(xml), sst);
	rs *r = open_ok(path, NULL);
	const struct rs_row *row = row_at(r, 1);

	(void)state;
	assert_int_equal(row->ncells, 4);
	assert_string_equal(cell(row, 0), "");
	assert_string_equal(cell(row, 1), "");
	assert_string_equal(cell(row, 2), "x");
	assert_string_equal(cell(row, 3), "");
	rs_close(r);
	free(xml);
}

/* Issue #3: the table keeps Windows-1251-representable strings one byte a
 * character and the rest as UTF-8; both must come back byte for byte. */
static void
test_shared_strings_round_trip_exactly(void **state)
{
	static const char *want[] = {
		"Линза Essilor 1.67 «Премиум» № 5 — ёЁ\xc2\xa0–",  /* 1 byte */
		"ESS-001 plain ASCII",                               /* as is */
		"Müller Brillen",                                    /* ü: UTF-8 */
		"镜片 😀 Линза",                                     /* UTF-8 */
		"",
		"Ґґ Її Єє Ўў €™",                                    /* 1 byte */
		"a\xc2\x98z",                /* U+0098: CP1251's hole, stays UTF-8 */
		"Ж_ü",                       /* from _x0416_ and _x00FC_ escapes */
		"Линза ü",                   /* rich runs, joined, then encoded */
	};
	const char *sst = "<sst xmlns=\"http://schemas.openxmlformats.org/"
	    "spreadsheetml/2006/main\">"
	    "<si><t>Линза Essilor 1.67 «Премиум» № 5 — ёЁ\xc2\xa0–</t></si>"
	    "<si><t>ESS-001 plain ASCII</t></si>"
	    "<si><t>Müller Brillen</t></si>"
	    "<si><t>镜片 😀 Линза</t></si>"
	    "<si><t></t></si>"
	    "<si><t>Ґґ Її Єє Ўў €™</t></si>"
	    "<si><t>a\xc2\x98z</t></si>"
	    "<si><t>_x0416___x00FC_</t></si>"
	    "<si><r><t>Лин</t></r><r><t>за ü</t></r></si></sst>";
	/* Cells in reverse order of index, one string twice. */
	char *xml = sheet_xml("<row r=\"1\">"
	    "<c t=\"s\"><v>8</v></c><c t=\"s\"><v>7</v></c><c t=\"s\"><v>6</v></c>"
	    "<c t=\"s\"><v>5</v></c><c t=\"s\"><v>4</v></c><c t=\"s\"><v>3</v></c>"
	    "<c t=\"s\"><v>2</v></c><c t=\"s\"><v>1</v></c><c t=\"s\"><v>0</v></c>"
	    "<c t=\"s\"><v>0</v></c></row>");
	const char *path = make_book_sst("sst_round_trip.xlsx", xml, strlen(xml),
	    sst);
	rs *r = open_ok(path, NULL);
	const struct rs_row *row = row_at(r, 1);
	size_t i, n = sizeof(want) / sizeof(want[0]);

	(void)state;
	assert_int_equal(row->ncells, n + 1);
	for (i = 0; i < n; i++) {
		assert_string_equal(cell(row, n - 1 - i), want[i]);
		assert_int_equal(row->cells[n - 1 - i].len, strlen(want[i]));
		assert_int_equal(flags(row, n - 1 - i), 0);
	}
	assert_string_equal(cell(row, n), want[0]);
	assert_int_equal(row->cells[n].len, strlen(want[0]));
	rs_close(r);
	free(xml);
}

/* Issue #15: a word met before is stored as a 2-byte code. word(i) is a
 * distinct 6-letter word per string, so a code off by one (group byte at
 * 127/128, the last word the table takes, the first it refuses) or a word
 * boundary off by one gives another string. N words overflow the table
 * (28 x 128) and the arena's first 64 KiB. */
#define WORDS_N 4000

static void
word_of(size_t i, char *w)
{
	int k;

	w[0] = 'q';
	for (k = 5; k >= 1; k--, i /= 26)
		w[k] = (char)('a' + i % 26);
	w[6] = '\0';
}

static const char *const words_special[] = {
	/* 64 bytes: coded; 65: not (both must come back the same) */
	"жжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжж жжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжж",
	"aжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжж aжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжж",
	"\x01 Линза",        /* a control byte (_x0001_): left uncoded */
	"Линза",
	"",
	"  Линза  Линза  ",
};

static void
words_want(size_t i, char *out, size_t cap)
{
	char a[8], b[8];

	if (i >= WORDS_N) {
		snprintf(out, cap, "%s", words_special[i - WORDS_N]);
		return;
	}
	word_of(i, a);
	word_of(i / 2, b);
	switch (i % 4) {
	case 0: snprintf(out, cap, "%s %s", a, b); break;
	case 1: snprintf(out, cap, "Линза %s  %s", a, b); break;
	case 2: snprintf(out, cap, "%s ü %s", a, b); break;
	default: snprintf(out, cap, "%s1 abcd %s", b, a); break;
	}
}

static void
test_shared_string_word_codes_round_trip_at_every_boundary(void **state)
{
	size_t n = WORDS_N + sizeof(words_special) / sizeof(words_special[0]);
	size_t cap = 96 * n + 256, o, b, i;
	char *sst = malloc(cap), *body = malloc(cap), *xml, want[160];
	const struct rs_row *row;
	const char *path;
	rs *r;
	int rc;

	(void)state;
	assert_non_null(sst);
	assert_non_null(body);
	o = (size_t)snprintf(sst, cap, "<sst xmlns=\"http://schemas."
	    "openxmlformats.org/spreadsheetml/2006/main\">");
	b = 0;
	for (i = 0; i < n; i++) {
		if (i == WORDS_N + 2)
			snprintf(want, sizeof(want), "_x0001_ Линза");
		else
			words_want(i, want, sizeof(want));
		o += (size_t)snprintf(sst + o, cap - o,
		    "<si><t xml:space=\"preserve\">%s</t></si>", want);
		b += (size_t)snprintf(body + b, cap - b, "<row r=\"%zu\">"
		    "<c r=\"A%zu\" t=\"s\"><v>%zu</v></c></row>", i + 1, i + 1, i);
	}
	snprintf(sst + o, cap - o, "</sst>");
	xml = sheet_xml(body);
	path = make_book_sst("sst_words.xlsx", xml, strlen(xml), sst);
	r = open_ok(path, NULL);
	for (i = 0; i < n; i++) {
		rc = rs_next(r, &row);
		assert_int_equal(rc, PA_OK);
		assert_non_null(row);
		words_want(i, want, sizeof(want));
		if (want[0] == '\0') {
			/* an empty string makes no cell, or an empty one */
			assert_true(row->ncells == 0 ||
			    strcmp(cell(row, 0), "") == 0);
			continue;
		}
		if (strcmp(cell(row, 0), want) != 0)
			fail_msg("string %zu: want \"%s\", got \"%s\"", i, want,
			    cell(row, 0));
		assert_int_equal(row->cells[0].len, strlen(want));
	}
	rs_close(r);
	free(xml);
	free(body);
	free(sst);
}

/* Cells are decoded into one row buffer that grows while the row is built:
 * every cell must still be right once the row is handed out, and the next
 * row must not disturb the table. */
static void
test_many_shared_cells_in_one_row_all_valid(void **state)
{
	enum { N = 600 };
	size_t cap = 128 * N, o, i;
	char *sst = malloc(cap), *body = malloc(cap), *xml, want[64];
	const char *path;
	const struct rs_row *row;
	rs *r;

	(void)state;
	assert_non_null(sst);
	assert_non_null(body);
	o = (size_t)snprintf(sst, cap, "<sst xmlns=\"http://schemas."
	    "openxmlformats.org/spreadsheetml/2006/main\">");
	for (i = 0; i < N; i++)
		o += (size_t)snprintf(sst + o, cap - o, i % 3 == 2 ?
		    "<si><t>Füllung %zu</t></si>" :
		    "<si><t>Оправа детская №%zu</t></si>", i);
	snprintf(sst + o, cap - o, "</sst>");
	o = (size_t)snprintf(body, cap, "<row r=\"1\">");
	for (i = 0; i < N; i++)
		o += (size_t)snprintf(body + o, cap - o,
		    "<c t=\"s\"><v>%zu</v></c>", i);
	snprintf(body + o, cap - o, "</row><row r=\"2\"><c t=\"s\"><v>%d</v>"
	    "</c></row>", N - 2);
	xml = sheet_xml(body);
	path = make_book_sst("sst_many.xlsx", xml, strlen(xml), sst);
	r = open_ok(path, NULL);
	row = row_at(r, 1);
	assert_int_equal(row->ncells, N);
	for (i = 0; i < N; i++) {
		snprintf(want, sizeof(want), i % 3 == 2 ? "Füllung %zu" :
		    "Оправа детская №%zu", i);
		assert_string_equal(cell(row, i), want);
		assert_int_equal(row->cells[i].len, strlen(want));
	}
	row = row_at(r, 2);
	assert_int_equal(row->ncells, 1);
	assert_string_equal(cell(row, 0), "Оправа детская №598");
	rs_close(r);
	free(xml);
	free(body);
	free(sst);
}

static void
test_shared_string_length_limited(void **state)
{
	size_t n = RS_MAX_CELL_BYTES + 10, i;
	char *sst = malloc(n + 256), *xml;
	const char *path;
	int o;

	(void)state;
	assert_non_null(sst);
	o = snprintf(sst, 256, "<sst xmlns=\"http://schemas.openxmlformats.org/"
	    "spreadsheetml/2006/main\"><si><t>ok</t></si><si><r><t>");
	for (i = 0; i < n; i++)
		sst[o + (int)i] = (char)('a' + i % 23);
	memcpy(sst + o + n, "</t></r></si></sst>", 20);
	xml = sheet_xml("<row r=\"1\"><c t=\"s\"><v>0</v></c></row>");
	path = make_book_sst("long_sst.xlsx", xml, strlen(xml), sst);
	expect_fail(path, NULL, PA_ELIMIT,
	    "shared string 1 in xl/sharedStrings.xml is longer than 65536 bytes");
	free(sst);
	free(xml);
}

/* RS_MAX_SHARED_BYTES counts the shared strings as UTF-8, what the cells
 * hand out, not the arena that holds them coded (xlsx_sst.c): a repeated
 * word is 2 bytes there, a Cyrillic letter 1. The real cap needs 256 MiB of
 * XML, so the test lowers it (xlsx__sst_test_limit) to the exact UTF-8 size
 * of a table of repeated words: that reads, one byte less fails. Held
 * coded, the table is 11 bytes a string against 49 as UTF-8, so a cap on
 * the coded (or one-byte) size would let the smaller limit pass. */
#define SST_CAP_N 1000
#define SST_CAP_TEXT "Оправа Линза Стекло Футляр"   /* 49 bytes of UTF-8 */

static int
sst_cap_restore(void **state)
{
	(void)state;
	xlsx__sst_test_limit(0);
	return 0;
}

static void
test_shared_bytes_cap_counts_utf8_not_coded_bytes(void **state)
{
	size_t cap = 96 * SST_CAP_N + 256, o, text = 0, i;
	char *sst = malloc(cap), *xml, want[64], msg[128];
	const struct rs_row *row;
	const char *path;
	rs *r;

	(void)state;
	assert_non_null(sst);
	o = (size_t)snprintf(sst, cap, "<sst xmlns=\"http://schemas."
	    "openxmlformats.org/spreadsheetml/2006/main\">");
	for (i = 0; i < SST_CAP_N; i++) {
		/* the last one differs so its cell proves the whole table */
		snprintf(want, sizeof(want), i + 1 < SST_CAP_N ? SST_CAP_TEXT :
		    "Футляр Стекло Линза Оправа");
		text += strlen(want);
		o += (size_t)snprintf(sst + o, cap - o, "<si><t>%s</t></si>",
		    want);
	}
	snprintf(sst + o, cap - o, "</sst>");
	assert_int_equal(text, 49 * SST_CAP_N);
	xml = sheet_xml("<row r=\"1\"><c t=\"s\"><v>0</v></c></row>"
	    "<row r=\"2\"><c t=\"s\"><v>999</v></c></row>");
	path = make_book_sst("sst_cap.xlsx", xml, strlen(xml), sst);

	xlsx__sst_test_limit((uint32_t)text);           /* just fits */
	r = open_ok(path, NULL);
	assert_string_equal(cell(row_at(r, 1), 0), SST_CAP_TEXT);
	row = row_at(r, 2);
	assert_string_equal(cell(row, 0), "Футляр Стекло Линза Оправа");
	rs_close(r);

	xlsx__sst_test_limit((uint32_t)text - 1);       /* one byte over */
	snprintf(msg, sizeof(msg), "shared strings in xl/sharedStrings.xml "
	    "exceed %zu bytes (RS_MAX_SHARED_BYTES)", text - 1);
	expect_fail(path, NULL, PA_ELIMIT, msg);

	/* Far over as UTF-8 (3x), still over the coded size: fails too. */
	xlsx__sst_test_limit((uint32_t)text / 3);
	expect_fail(path, NULL, PA_ELIMIT, "(RS_MAX_SHARED_BYTES)");
	free(sst);
	free(xml);
}

static void
test_huge_tag_limited(void **state)
{
	size_t n = 2u * 1024 * 1024, i;
	char *body = malloc(n + 64), *xml;
	uint32_t x = 1;
	const char *path;

	(void)state;
	assert_non_null(body);
	/* Incompressible-ish letters so that the ratio limit does not fire
	 * first; one attribute value of 2 MiB. */
	i = (size_t)snprintf(body, 64, "<row r=\"1\" x=\"");
	for (; i < n; i++) {
		x = x * 1103515245u + 12345u;
		body[i] = (char)('a' + (x >> 16) % 26);
	}
	memcpy(body + n, "\"/>", 4);
	xml = sheet_xml(body);
	path = make_book("huge_tag.xlsx", xml, strlen(xml));
	expect_fail(path, NULL, PA_ELIMIT, "XLSX_MAX_MARKUP_BYTES");
	free(body);
	free(xml);
}

static void
test_bad_cell_reference_refused(void **state)
{
	char *xml = sheet_xml("<row r=\"1\"><c r=\"ABCD1\"><v>1</v></c></row>");
	const char *path = make_book("bad_ref.xlsx", xml, strlen(xml));

	(void)state;
	expect_fail(path, NULL, PA_EFORMAT, "bad cell reference r=\"ABCD1\"");
	free(xml);
}

static void
test_rows_out_of_order_refused(void **state)
{
	char *xml = sheet_xml("<row r=\"5\"><c><v>1</v></c></row>"
	    "<row r=\"3\"><c><v>2</v></c></row>");
	const char *path = make_book("rows_back.xlsx", xml, strlen(xml));
	unsigned long n;

	(void)state;
	expect_fail(path, NULL, PA_EFORMAT,
	    "row 3: comes after row 5: rows out of order");
	read_all(path, NULL, &n);
	assert_int_equal(n, 1);
	free(xml);
}

/* issue #9: a repeated reference silently replaced the first value;
 * refused like duplicate rows. Distinct cells out of order stay fine. */
static void
test_cell_repeated_in_a_row_refused(void **state)
{
	char *xml = sheet_xml("<row r=\"1\"><c r=\"A1\"><v>1</v></c>"
	    "<c r=\"B1\"><v>2</v></c><c r=\"B1\"><v>3</v></c></row>");
	const char *path = make_book("cells_dup.xlsx", xml, strlen(xml));

	(void)state;
	expect_fail(path, NULL, PA_EFORMAT, "cell B1 appears twice in the row");
	free(xml);
	/* Going back to a cell given earlier is the same thing. */
	xml = sheet_xml("<row r=\"1\"><c r=\"C1\"><v>1</v></c>"
	    "<c r=\"A1\"><v>2</v></c><c><v>3</v></c><c><v>4</v></c></row>");
	path = make_book("cells_back.xlsx", xml, strlen(xml));
	expect_fail(path, NULL, PA_EFORMAT, "cell C1 appears twice in the row");
	free(xml);
}

/* Every allocation of ours failing in turn: PA_ENOMEM, no leak, no crash
 * (ASan checks the leaks at exit). */
static void
test_out_of_memory_at_each_allocation(void **state)
{
	static const struct { const char *file, *sheet; unsigned long rows; } t[] = {
		{ FX "excel_prefixed.xlsx", "Прайс", 3 },   /* shared strings */
		{ FX "openpyxl_shared.xlsx", NULL, 7 },     /* + styles */
		{ FX "openpyxl_inline.xlsx", NULL, 8 },     /* inline text */
		{ FX "bad_sst_index.xlsx", NULL, 1 },       /* an error path */
	};
	unsigned long rows;
	size_t i;
	long n;
	int rc = PA_OK, want;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		want = read_all(t[i].file, t[i].sheet, NULL);
		for (n = 0; n < 5000; n++) {
			pa_mem_fail_after(n);
			rc = read_all(t[i].file, t[i].sheet, &rows);
			pa_mem_fail_after(-1);
			if (rc == want)
				break;
			if (rc != PA_ENOMEM)
				fail_msg("%s, allocation %ld: %s: %s", t[i].file, n,
				    pa_errname(rc), pa_err_msg(rc));
		}
		assert_int_equal(rc, want);
		assert_int_equal(rows, t[i].rows);
	}
}

/* --- setup ---------------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_xlsx.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (access(FX "openpyxl_shared.xlsx", R_OK) != 0) {
		fprintf(stderr, "test_xlsx: run from the repository root "
		    "(fixtures in " FX ")\n");
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	static const char *made[] = {
		"empty_rows.xlsx", "empty.xlsx", "bomb.xlsx", "many.xlsx",
		"huge_tag.xlsx", "bad_ref.xlsx", "rows_back.xlsx",
		"long_sst.xlsx", "web.xls", "empty_sst.xlsx",
		"sst_round_trip.xlsx", "sst_many.xlsx", "sst_words.xlsx",
		"sst_cap.xlsx"
	};
	char path[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, made[i]);
		unlink(path);
	}
	rmdir(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_sheet_in_workbook_order_not_sheet1_xml),
		cmocka_unit_test(test_sheet_selected_by_name),
		cmocka_unit_test(test_sheet_selected_by_name_libreoffice),
		cmocka_unit_test(test_missing_sheet_lists_sheets_found),
		cmocka_unit_test(test_first_worksheet_skips_chart_sheet),
		cmocka_unit_test(test_chart_sheet_by_name_refused),
		cmocka_unit_test(test_shared_strings_cyrillic),
		cmocka_unit_test(test_inline_strings),
		cmocka_unit_test(test_shared_rich_text_runs_concatenated_phonetic_ignored),
		cmocka_unit_test(test_inline_rich_text_runs_concatenated),
		cmocka_unit_test(test_escaped_characters_decoded),
		cmocka_unit_test(test_whitespace_kept_untrimmed),
		cmocka_unit_test(test_strict_namespace),
		cmocka_unit_test(test_merged_title_row_is_one_cell),
		cmocka_unit_test(test_sparse_cells_placed_by_reference),
		cmocka_unit_test(test_missing_rows_keep_physical_numbers),
		cmocka_unit_test(test_cells_and_rows_without_r_follow_sequentially),
		cmocka_unit_test(test_out_of_order_cells_placed_by_reference),
		cmocka_unit_test(test_empty_row_element_yields_row_without_cells),
		cmocka_unit_test(test_barcode_number_exact_integer),
		cmocka_unit_test(test_exponent_values_expanded),
		cmocka_unit_test(test_float_noise_trimmed_to_15_digits),
		cmocka_unit_test(test_canonical_number_text),
		cmocka_unit_test(test_number_fast_path_matches_printf),
		cmocka_unit_test(test_number_edges),
		cmocka_unit_test(test_numbers_ignore_process_locale),
		cmocka_unit_test(test_formula_cells_give_cached_values),
		cmocka_unit_test(test_error_cell_is_empty_with_error_flag),
		cmocka_unit_test(test_booleans_are_true_false),
		cmocka_unit_test(test_builtin_date_format_gives_iso_date),
		cmocka_unit_test(test_custom_date_formats_give_iso_text),
		cmocka_unit_test(test_money_format_stays_a_number),
		cmocka_unit_test(test_date1904_workbook),
		cmocka_unit_test(test_format_code_classification),
		cmocka_unit_test(test_libreoffice_workbook),
		cmocka_unit_test(test_real_producers_read_alike),
		cmocka_unit_test(test_formula_without_cached_value_is_empty),
		cmocka_unit_test(test_progress_counts_sheet_bytes_inflated),
		cmocka_unit_test(test_xls_refused_with_save_as_hint),
		cmocka_unit_test(test_encrypted_workbook_refused),
		cmocka_unit_test(test_truncated_zip_refused),
		cmocka_unit_test(test_zip_without_workbook_says_what_it_is),
		cmocka_unit_test(test_text_file_refused),
		cmocka_unit_test(test_missing_file_is_io_error),
		cmocka_unit_test(test_read_error_anywhere_is_io_error),
		cmocka_unit_test(test_html_and_xml2003_refused),
		cmocka_unit_test(test_relationship_targets_resolved),
		cmocka_unit_test(test_empty_file_refused),
		cmocka_unit_test(test_zip_bomb_refused),
		cmocka_unit_test(test_entry_inflating_past_declared_size_refused),
		cmocka_unit_test(test_too_many_zip_entries_refused),
		cmocka_unit_test(test_crc_error_names_the_row),
		cmocka_unit_test(test_broken_xml_names_the_row),
		cmocka_unit_test(test_doctype_refused_billion_laughs),
		cmocka_unit_test(test_external_entity_refused),
		cmocka_unit_test(test_xml_depth_limited),
		cmocka_unit_test(test_cell_length_limited),
		cmocka_unit_test(test_columns_per_row_limited),
		cmocka_unit_test(test_shared_string_index_out_of_range),
		cmocka_unit_test(test_empty_shared_strings),
		cmocka_unit_test(test_shared_strings_round_trip_exactly),
		cmocka_unit_test(test_many_shared_cells_in_one_row_all_valid),
		cmocka_unit_test(test_shared_string_word_codes_round_trip_at_every_boundary),
		cmocka_unit_test(test_shared_string_length_limited),
		cmocka_unit_test_teardown(
		    test_shared_bytes_cap_counts_utf8_not_coded_bytes,
		    sst_cap_restore),
		cmocka_unit_test(test_huge_tag_limited),
		cmocka_unit_test(test_bad_cell_reference_refused),
		cmocka_unit_test(test_rows_out_of_order_refused),
		cmocka_unit_test(test_cell_repeated_in_a_row_refused),
		cmocka_unit_test(test_out_of_memory_at_each_allocation),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* Unit tests for the CSV row source (agent/readers/csvr.c).
 *
 * Each test writes its input into a private temp directory and removes it
 * when it passes; a failing test leaves its file behind and the directory
 * is printed at the end. The reader is driven through csvr_open and its
 * rs_ops, so these tests need no XLSX reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/readers/rowsrc.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

#define FIXTURES "tests/fixtures/csv"

static char tmpdir[] = "/tmp/test_csvr.XXXXXX";
static char path[sizeof(tmpdir) + 64];

/* One open reader. */
struct rd {
	const struct rs_ops *ops;
	void *impl;
};

static int
group_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (rmdir(tmpdir) != 0)
		fprintf(stderr, "test_csvr: failed tests kept their input in "
		    "%s\n", tmpdir);
	return 0;
}

static const char *
write_file(const char *name, const void *data, size_t len)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char *
write_str(const char *name, const char *data)
{
	return write_file(name, data, strlen(data));
}

static void
rd_open(struct rd *r, const char *p, enum rs_format fmt, char delim)
{
	struct rs_opts o = { .format = fmt, .delimiter = delim };
	int rc = csvr_open(p, &o, &r->ops, &r->impl);

	if (rc != PA_OK)
		fail_msg("csvr_open(%s): %s", p, pa_err_msg(rc));
}

static const struct rs_row *
rd_next(struct rd *r)
{
	const struct rs_row *row = NULL;
	int rc = r->ops->next(r->impl, &row);

	if (rc != PA_OK)
		fail_msg("next: %s", pa_err_msg(rc));
	return row;
}

/* Close and remove the input: only reached when the test passed. */
static void
rd_done(struct rd *r, const char *p)
{
	r->ops->close(r->impl);
	unlink(p);
}

static void
assert_cell(const struct rs_row *row, size_t i, const char *want)
{
	assert_true(i < row->ncells);
	assert_int_equal(row->cells[i].flags, 0);
	assert_int_equal(row->cells[i].len, strlen(want));
	assert_string_equal(row->cells[i].text, want);
}

static void
assert_next_fails(struct rd *r, int want, const char *in_msg)
{
	const struct rs_row *row = NULL;
	int rc = r->ops->next(r->impl, &row);

	assert_int_equal(rc, want);
	assert_null(row);
	if (strstr(pa_err_msg(rc), in_msg) == NULL)
		fail_msg("message '%s' lacks '%s'", pa_err_msg(rc), in_msg);
	/* Errors are final. */
	assert_int_equal(r->ops->next(r->impl, &row), want);
}

/* Read data as file `name` and compare all its rows with want, written as
 * "1[a|b] 2 3[c]": row number, then the cells in brackets joined by |
 * (no brackets: a row without cells); ! marks RS_CELL_BAD_ENCODING. */
static void
check_rows(const char *name, const void *data, size_t len,
    enum rs_format fmt, char delim, char quote, const char *want)
{
	const char *p = write_file(name, data, len);
	struct rs_opts o = { .format = fmt, .delimiter = delim, .quote = quote };
	const struct rs_row *row;
	char got[4096];
	size_t i, n = 0;
	struct rd r;
	int rc;

	if ((rc = csvr_open(p, &o, &r.ops, &r.impl)) != PA_OK)
		fail_msg("csvr_open(%s): %s", p, pa_err_msg(rc));
	got[0] = '\0';
	while ((row = rd_next(&r)) != NULL) {
		n += snprintf(got + n, sizeof(got) - n, "%s%lu%s", n ? " " : "",
		    row->row_number, row->ncells ? "[" : "");
		for (i = 0; i < row->ncells; i++) {
			assert_int_equal(strlen(row->cells[i].text),
			    row->cells[i].len);
			n += snprintf(got + n, sizeof(got) - n, "%s%s%s",
			    i ? "|" : "", row->cells[i].flags ? "!" : "",
			    row->cells[i].text);
		}
		n += snprintf(got + n, sizeof(got) - n, "%s",
		    row->ncells ? "]" : "");
		assert_true(n < sizeof(got));
	}
	assert_string_equal(got, want);
	rd_done(&r, p);
}

/* String literals, so embedded NULs count. */
#define ROWS(name, data, delim, want) \
	check_rows(name, data, sizeof(data) - 1, RS_CSV_UTF8, delim, 0, want)
#define ROWS1251(name, data, want) \
	check_rows(name, data, sizeof(data) - 1, RS_CSV_CP1251, ';', 0, want)

static void
test_quoted_newline_keeps_row_numbers(void **state)
{
	(void)state;
	ROWS("qnl.csv", "a,b\n\"x\ny\nz\",2\nc,d\n", 0,
	    "1[a|b] 2[x\ny\nz|2] 3[c|d]");
}

static void
test_crlf_counts_as_one_line_end(void **state)
{
	(void)state;
	ROWS("crlf.csv", "a,b\r\nc,d\r\n", 0, "1[a|b] 2[c|d]");
}

static void
test_crlf_inside_quotes_is_kept(void **state)
{
	(void)state;
	ROWS("crlfq.csv", "\"x\r\ny\"\r\nz\r\n", 0, "1[x\r\ny] 2[z]");
}

static void
test_bare_cr_ends_a_line(void **state)
{
	(void)state;
	ROWS("cr.csv", "a\rb\r\r\n", 0, "1[a] 2[b] 3");
}

static void
test_utf8_bom_is_stripped(void **state)
{
	(void)state;
	ROWS("bom.csv", "\xEF\xBB\xBFSKU,Name\n", 0, "1[SKU|Name]");
}

static void
test_blank_lines_are_numbered_rows(void **state)
{
	(void)state;
	ROWS("blank.csv", "a\n\nb\n\r\n\nc", 0, "1[a] 2 3[b] 4 5 6[c]");
}

static void
test_last_line_without_newline(void **state)
{
	(void)state;
	ROWS("nonl.csv", "a,b\nc,\"d\"", 0, "1[a|b] 2[c|d]");
}

static void
test_empty_file_has_no_rows(void **state)
{
	(void)state;
	ROWS("empty.csv", "", 0, "");
}

static void
test_semicolon_delimiter(void **state)
{
	(void)state;
	ROWS("semi.csv", "a;b,c;d\n", ';', "1[a|b,c|d]");
}

static void
test_tab_delimiter(void **state)
{
	(void)state;
	ROWS("tab.tsv", "a\tb c\t\td\n", '\t', "1[a|b c||d]");
}

static void
test_custom_quote_char(void **state)
{
	(void)state;
	check_rows("squote.csv", "'a,b',\"c\n", 9, RS_CSV_UTF8, ',', '\'',
	    "1[a,b|\"c]");
}

static void
test_doubled_quotes_in_quoted_field(void **state)
{
	(void)state;
	ROWS("dq.csv", "\"say \"\"hi\"\"\",\"\"\"\"\n", 0, "1[say \"hi\"|\"]");
}

static void
test_stray_quote_in_unquoted_field_is_text(void **state)
{
	(void)state;
	ROWS("stray.csv", "Lens 1/2\" thick,5\nnext,6\n", 0,
	    "1[Lens 1/2\" thick|5] 2[next|6]");
}

static void
test_cells_are_not_trimmed(void **state)
{
	(void)state;
	ROWS("spaces.csv", " a ,\tb\t, \"c\" ,,\n", 0, "1[ a |\tb\t| \"c\" ||]");
}

static void
test_cp1251_fixture_decodes_cyrillic(void **state)
{
	const char *p = FIXTURES "/cp1251_semicolon.csv";
	const struct rs_row *row;
	struct rd r;
	unsigned long n = 3;

	(void)state;
	rd_open(&r, p, RS_CSV_CP1251, ';');
	row = rd_next(&r);
	assert_int_equal(row->ncells, 4);
	assert_cell(row, 0, "Артикул");
	assert_cell(row, 1, "Наименование");
	assert_cell(row, 2, "Цена");
	assert_cell(row, 3, "Остаток");
	row = rd_next(&r);
	assert_cell(row, 1, "Оправа металлическая «Классик»");
	assert_cell(row, 2, "5 000,00");
	row = rd_next(&r);
	assert_cell(row, 1, "Линза 1,67 \"Crizal\"; антиблик");
	while ((row = rd_next(&r)) != NULL)
		assert_int_equal(row->row_number, ++n);
	assert_int_equal(n, 6);         /* header + 5 products */
	r.ops->close(r.impl);   /* a committed fixture: keep it */
}

static void
test_cp1251_nbsp_thousands_becomes_u00a0(void **state)
{
	(void)state;
	ROWS1251("nbsp1251.csv", "\xCE\xEF\xF0\xE0\xE2\xE0;1\xA0" "250,00\n",
	    "1[Оправа|1\xC2\xA0" "250,00]");
}

static void
test_cp1251_undefined_0x98_flagged_bad(void **state)
{
	(void)state;
	ROWS1251("x98.csv", "\xCE\xEF\x98;ok\nnext\n", "1[!Оп\\x98|ok] 2[next]");
}

static void
test_cp1251_nul_flagged_bad(void **state)
{
	(void)state;
	ROWS1251("nul1251.csv", "a\0b;c\n", "1[!a\\x00b|c]");
}

static void
test_cp1251_profile_refuses_utf8_file(void **state)
{
	const char *p = write_str("utf8as1251.csv", "SKU;Name\n1;Оправа\n");
	struct rs_opts o = { .format = RS_CSV_CP1251, .delimiter = ';' };
	struct rd r;
	int rc;

	(void)state;
	rc = csvr_open(p, &o, &r.ops, &r.impl);
	assert_int_equal(rc, PA_EFORMAT);
	assert_non_null(strstr(pa_err_msg(rc), "utf8as1251.csv"));
	assert_non_null(strstr(pa_err_msg(rc), "csv_utf8"));
	unlink(p);
}

static void
test_cp1251_profile_refuses_utf8_bom(void **state)
{
	const char *p = write_str("bom1251.csv", "\xEF\xBB\xBFSKU;Name\n");
	struct rs_opts o = { .format = RS_CSV_CP1251, .delimiter = ';' };
	struct rd r;

	(void)state;
	assert_int_equal(csvr_open(p, &o, &r.ops, &r.impl), PA_EFORMAT);
	unlink(p);
}

/* The first 64 KiB are ASCII and a Cyrillic letter straddles the chunk
 * boundary: the verdict comes from the second chunk. */
static void
test_cp1251_profile_refuses_utf8_after_ascii_chunk(void **state)
{
	const char *p;
	char *data = malloc(70000);
	const struct rs_row *row = NULL;
	unsigned long n = 0;
	struct rd r;
	size_t len;

	(void)state;
	assert_non_null(data);
	for (len = 0; len < 65534; len += 2)
		memcpy(data + len, "a\n", 2);
	memcpy(data + len, "a\xD0\x9E\xD0\xBF\n", 6);       /* aОп */
	p = write_file("late_utf8.csv", data, len + 6);
	free(data);
	rd_open(&r, p, RS_CSV_CP1251, ';');
	while (r.ops->next(r.impl, &row) == PA_OK && row != NULL)
		n++;
	assert_int_equal(n, 32767);
	assert_next_fails(&r, PA_EFORMAT, "late_utf8.csv row 32768:");
	rd_done(&r, p);
}

/* issue #9: a Windows-1251 price list (ASCII header) under a csv_utf8
 * profile made every row an error row and the job ended done. */
static void
test_utf8_profile_refuses_cp1251_file(void **state)
{
	/* SKU;Name / 1;Линза / 2;Оправа / 3;Футляр in CP1251 */
	const char *p = write_str("cp_as_utf8.csv", "SKU;Name\n1;\xcb\xe8\xed"
	    "\xe7\xe0\n2;\xce\xef\xf0\xe0\xe2\xe0\n3;\xd4\xf3\xf2\xeb\xff"
	    "\xf0\n");
	struct rs_opts o = { .format = RS_CSV_UTF8, .delimiter = ';' };
	struct rd r;

	(void)state;
	assert_int_equal(csvr_open(p, &o, &r.ops, &r.impl), PA_EFORMAT);
	assert_non_null(strstr(pa_err_msg(PA_EFORMAT), "csv_cp1251"));
	unlink(p);
	/* Two bad lines are too little to judge: error cells, as before. */
	ROWS("two_bad.csv", "a\n\xcb\xe8\n\xce\xef\n", 0,
	    "1[a] 2[!\\xCB\\xE8] 3[!\\xCE\\xEF]");
	/* One good UTF-8 character and the file is UTF-8. */
	ROWS("one_good.csv", "\xcb\n\xce\n\xd0\x9e\n\xd4\n", 0,
	    "1[!\\xCB] 2[!\\xCE] 3[О] 4[!\\xD4]");
}

static void
test_invalid_utf8_flagged_bad(void **state)
{
	(void)state;
	ROWS("ff.csv", "ok,a\xFF\xFE" "b,ok\n", 0, "1[ok|!a\\xFF\\xFEb|ok]");
	/* A Windows-1251 word in a UTF-8 file. */
	ROWS("cp.csv", "\xCE\xEF\xF0,Оп\n", 0, "1[!\\xCE\\xEF\\xF0|Оп]");
}

static void
test_overlong_utf8_flagged_bad(void **state)
{
	(void)state;
	ROWS("ovl.csv", "\xC0\xAF,\xE0\x80\xAF\n", 0,
	    "1[!\\xC0\\xAF|!\\xE0\\x80\\xAF]");
}

static void
test_surrogate_utf8_flagged_bad(void **state)
{
	(void)state;
	ROWS("sur.csv", "\xED\xA0\x80\n", 0, "1[!\\xED\\xA0\\x80]");
}

static void
test_above_u10ffff_flagged_bad(void **state)
{
	(void)state;
	ROWS("big.csv", "\xF4\x90\x80\x80\n", 0, "1[!\\xF4\\x90\\x80\\x80]");
}

static void
test_nul_byte_flagged_bad(void **state)
{
	(void)state;
	ROWS("nul.csv", "a\0b,c\n", 0, "1[!a\\x00b|c]");
}

/* "x\n" then one cell of n bytes of 'a', optionally quoted. */
static const char *
write_long_cell(const char *name, size_t n, int quoted, const char *tail)
{
	size_t tl = strlen(tail), len = 2 + n + 2 * !!quoted + tl, o = 0;
	char *data = malloc(len);
	const char *p;

	assert_non_null(data);
	data[o++] = 'x';
	data[o++] = '\n';
	if (quoted)
		data[o++] = '"';
	memset(data + o, 'a', n);
	o += n;
	if (quoted)
		data[o++] = '"';
	memcpy(data + o, tail, tl);
	p = write_file(name, data, len);
	free(data);
	return p;
}

static void
test_cell_at_length_limit_is_read(void **state)
{
	const char *p = write_long_cell("max.csv", RS_MAX_CELL_BYTES, 1, "\n");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	rd_next(&r);
	row = rd_next(&r);
	assert_int_equal(row->cells[0].len, RS_MAX_CELL_BYTES);
	rd_done(&r, p);
}

static void
test_cell_over_length_limit_fails_naming_row(void **state)
{
	const char *p = write_long_cell("over.csv", RS_MAX_CELL_BYTES + 1, 0,
	    ",b\n");
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	rd_next(&r);
	assert_next_fails(&r, PA_ELIMIT, "over.csv row 2:");
	rd_done(&r, p);
}

static void
test_runaway_quote_stopped_by_cell_limit(void **state)
{
	/* The quote opened in row 2 never closes and would swallow every
	 * later row; the cell limit stops it long before the end. */
	const char *p = write_str("runaway.csv", "x\n\"open");
	struct rd r;
	FILE *f;
	size_t i;

	(void)state;
	assert_non_null(f = fopen(p, "ab"));
	for (i = 0; i < 20000; i++)
		fputs("row,without,end\n", f);
	assert_int_equal(fclose(f), 0);
	rd_open(&r, p, RS_CSV_UTF8, 0);
	rd_next(&r);
	assert_next_fails(&r, PA_ELIMIT, "runaway.csv row 2:");
	rd_done(&r, p);
}

static void
test_unclosed_quote_at_eof_fails_naming_row(void **state)
{
	const char *p = write_str("unclosed.csv", "a,b\nc,\"d\ne\nf\n");
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	assert_cell(rd_next(&r), 0, "a");
	assert_next_fails(&r, PA_EFORMAT, "unclosed.csv row 2:");
	rd_done(&r, p);
}

static void
test_column_limit(void **state)
{
	size_t n = RS_MAX_COLUMNS, i;
	char *data = malloc(2 * (n + 1) + 2);
	const struct rs_row *row;
	const char *p;
	struct rd r;

	(void)state;
	assert_non_null(data);
	/* Row 1: exactly the limit; row 2: one more. */
	for (i = 0; i < n; i++)
		memcpy(data + 2 * i, i + 1 < n ? "x," : "x\n", 2);
	p = write_file("cols.csv", data, 2 * n);
	{
		FILE *f = fopen(p, "ab");

		assert_non_null(f);
		fwrite(data, 1, 2 * n - 1, f);
		fputs(",y\n", f);
		fclose(f);
	}
	free(data);
	rd_open(&r, p, RS_CSV_UTF8, 0);
	row = rd_next(&r);
	assert_int_equal(row->ncells, n);
	assert_next_fails(&r, PA_ELIMIT, "cols.csv row 2:");
	rd_done(&r, p);
}

static void
test_missing_file_is_eio(void **state)
{
	struct rs_opts o = { .format = RS_CSV_UTF8 };
	const struct rs_ops *ops;
	void *impl;
	int rc;

	(void)state;
	rc = csvr_open("/nonexistent/price.csv", &o, &ops, &impl);
	assert_int_equal(rc, PA_EIO);
	assert_null(impl);
	assert_string_equal(pa_err_msg(rc),
	    "cannot open /nonexistent/price.csv: No such file or directory");
}

static void
test_directory_is_eio(void **state)
{
	struct rs_opts o = { .format = RS_CSV_UTF8 };
	const struct rs_ops *ops;
	void *impl;

	(void)state;
	assert_int_equal(csvr_open(tmpdir, &o, &ops, &impl), PA_EIO);
}

static void
test_delimiter_equal_to_quote_is_einval(void **state)
{
	struct rs_opts o = { .format = RS_CSV_UTF8, .delimiter = '"' };
	const struct rs_ops *ops;
	void *impl;

	(void)state;
	assert_int_equal(csvr_open("x.csv", &o, &ops, &impl), PA_EINVAL);
}

static void
test_progress_reaches_file_size(void **state)
{
	const char *p = write_str("prog.csv", "\xEF\xBB\xBF" "a,b\nc,d\n");
	unsigned long long done, total;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	r.ops->progress(r.impl, &done, &total);
	assert_int_equal(total, 11);
	assert_true(done < total);
	while (rd_next(&r) != NULL)
		;
	r.ops->progress(r.impl, &done, &total);
	assert_int_equal(done, 11);
	rd_done(&r, p);
}

/* 200k rows, no allocation after warm-up: the reader reuses its buffers
 * and never holds the file. Proven by failing every allocation after the
 * first rows. */
static void
test_200k_rows_read_without_allocating(void **state)
{
	const struct rs_row *row;
	unsigned long n = 0;
	struct rd r;
	FILE *f;
	long i;

	(void)state;
	snprintf(path, sizeof(path), "%s/big.csv", tmpdir);
	assert_non_null(f = fopen(path, "wb"));
	fputs("SKU;Name;Price;Stock\r\n", f);
	for (i = 0; i < 200000; i++)
		fprintf(f, "ESS-%06ld;\"Lens %ld\nline 2\";%ld,50;%ld\r\n", i, i,
		    i % 9000, i % 77);
	assert_int_equal(fclose(f), 0);
	rd_open(&r, path, RS_CSV_UTF8, ';');
	while (n < 1000 && rd_next(&r) != NULL)
		n++;
	pa_mem_fail_after(0);
	while ((row = rd_next(&r)) != NULL) {
		n++;
		if (row->row_number != n || row->ncells != 4)
			break;
	}
	pa_mem_fail_after(-1);
	assert_null(row);
	assert_int_equal(n, 200001);
	rd_done(&r, path);
}

/* Every allocation of open and the first rows may fail: the result is
 * PA_ENOMEM (leaks are ASan's part). */
static void
test_out_of_memory_is_reported(void **state)
{
	const char *p = write_str("oom.csv", "a,b\nc,\"d\"\n");
	struct rs_opts o = { .format = RS_CSV_CP1251 };
	const struct rs_row *row;
	struct rd r;
	long n;
	int rc;

	(void)state;
	for (n = 0; n < 20; n++) {
		pa_mem_fail_after(n);
		rc = csvr_open(p, &o, &r.ops, &r.impl);
		while (rc == PA_OK && (rc = r.ops->next(r.impl, &row)) ==
		    PA_OK && row != NULL)
			;
		pa_mem_fail_after(-1);
		if (r.impl != NULL)
			r.ops->close(r.impl);
		assert_true(rc == PA_OK || rc == PA_ENOMEM);
	}
	unlink(p);
}

/* Issue #15: quote-free lines are split without libcsv; the rows must be
 * the ones libcsv gives: spaces kept, empty and trailing fields, CR, CRLF
 * and blank lines, a NUL byte flagged, and plain lines inside and after a
 * quoted record that spans lines (that one is libcsv's). */
static void
test_plain_lines_split_like_libcsv(void **state)
{
	static const char data[] =
	    " a , b ,\n"
	    ",,\r\n"
	    "\n"
	    "x;y,z\r"
	    "\"q\nstill q\",p\n"
	    "n\0ul,o\n"
	    "last,line";

	(void)state;
	check_rows("plain.csv", data, sizeof(data) - 1, RS_CSV_UTF8, ',', '"',
	    "1[ a | b |] 2[||] 3 4[x;y|z] 5[q\nstill q|p] 6[!n\\x00ul|o] "
	    "7[last|line]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoted_newline_keeps_row_numbers),
		cmocka_unit_test(test_crlf_counts_as_one_line_end),
		cmocka_unit_test(test_plain_lines_split_like_libcsv),
		cmocka_unit_test(test_crlf_inside_quotes_is_kept),
		cmocka_unit_test(test_bare_cr_ends_a_line),
		cmocka_unit_test(test_utf8_bom_is_stripped),
		cmocka_unit_test(test_blank_lines_are_numbered_rows),
		cmocka_unit_test(test_last_line_without_newline),
		cmocka_unit_test(test_empty_file_has_no_rows),
		cmocka_unit_test(test_semicolon_delimiter),
		cmocka_unit_test(test_tab_delimiter),
		cmocka_unit_test(test_custom_quote_char),
		cmocka_unit_test(test_doubled_quotes_in_quoted_field),
		cmocka_unit_test(test_stray_quote_in_unquoted_field_is_text),
		cmocka_unit_test(test_cells_are_not_trimmed),
		cmocka_unit_test(test_cp1251_fixture_decodes_cyrillic),
		cmocka_unit_test(test_cp1251_nbsp_thousands_becomes_u00a0),
		cmocka_unit_test(test_cp1251_undefined_0x98_flagged_bad),
		cmocka_unit_test(test_cp1251_nul_flagged_bad),
		cmocka_unit_test(test_cp1251_profile_refuses_utf8_file),
		cmocka_unit_test(test_cp1251_profile_refuses_utf8_bom),
		cmocka_unit_test(test_cp1251_profile_refuses_utf8_after_ascii_chunk),
		cmocka_unit_test(test_utf8_profile_refuses_cp1251_file),
		cmocka_unit_test(test_invalid_utf8_flagged_bad),
		cmocka_unit_test(test_overlong_utf8_flagged_bad),
		cmocka_unit_test(test_surrogate_utf8_flagged_bad),
		cmocka_unit_test(test_above_u10ffff_flagged_bad),
		cmocka_unit_test(test_nul_byte_flagged_bad),
		cmocka_unit_test(test_cell_at_length_limit_is_read),
		cmocka_unit_test(test_cell_over_length_limit_fails_naming_row),
		cmocka_unit_test(test_runaway_quote_stopped_by_cell_limit),
		cmocka_unit_test(test_unclosed_quote_at_eof_fails_naming_row),
		cmocka_unit_test(test_column_limit),
		cmocka_unit_test(test_missing_file_is_eio),
		cmocka_unit_test(test_directory_is_eio),
		cmocka_unit_test(test_delimiter_equal_to_quote_is_einval),
		cmocka_unit_test(test_progress_reaches_file_size),
		cmocka_unit_test(test_200k_rows_read_without_allocating),
		cmocka_unit_test(test_out_of_memory_is_reported),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

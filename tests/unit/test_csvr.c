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
test_quoted_newline_keeps_row_numbers(void **state)
{
	const char *p = write_str("qnl.csv", "a,b\n\"x\ny\nz\",2\nc,d\n");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	row = rd_next(&r);
	assert_int_equal(row->row_number, 1);
	row = rd_next(&r);
	assert_int_equal(row->row_number, 2);
	assert_cell(row, 0, "x\ny\nz");
	assert_cell(row, 1, "2");
	row = rd_next(&r);
	assert_int_equal(row->row_number, 3);
	assert_cell(row, 0, "c");
	assert_null(rd_next(&r));
	rd_done(&r, p);
}

static void
test_crlf_counts_as_one_line_end(void **state)
{
	const char *p = write_str("crlf.csv", "a,b\r\nc,d\r\n");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	row = rd_next(&r);
	assert_int_equal(row->row_number, 1);
	assert_cell(row, 1, "b");
	row = rd_next(&r);
	assert_int_equal(row->row_number, 2);
	assert_cell(row, 1, "d");
	assert_null(rd_next(&r));
	rd_done(&r, p);
}

static void
test_crlf_inside_quotes_is_kept(void **state)
{
	const char *p = write_str("crlfq.csv", "\"x\r\ny\"\r\nz\r\n");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	row = rd_next(&r);
	assert_cell(row, 0, "x\r\ny");
	row = rd_next(&r);
	assert_int_equal(row->row_number, 2);
	assert_cell(row, 0, "z");
	assert_null(rd_next(&r));
	rd_done(&r, p);
}

static void
test_bare_cr_ends_a_line(void **state)
{
	const char *p = write_str("cr.csv", "a\rb\r");
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	assert_cell(rd_next(&r), 0, "a");
	assert_int_equal(rd_next(&r)->row_number, 2);
	assert_null(rd_next(&r));
	rd_done(&r, p);
}

static void
test_utf8_bom_is_stripped(void **state)
{
	const char *p = write_str("bom.csv", "\xEF\xBB\xBFSKU,Name\n");
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	assert_cell(rd_next(&r), 0, "SKU");
	assert_null(rd_next(&r));
	rd_done(&r, p);
}

static void
test_blank_lines_are_numbered_rows(void **state)
{
	const char *p = write_str("blank.csv", "a\n\nb\n\r\n\nc");
	static const size_t want[] = { 1, 0, 1, 0, 0, 1 };
	const struct rs_row *row;
	struct rd r;
	size_t i;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	for (i = 0; i < 6; i++) {
		row = rd_next(&r);
		assert_non_null(row);
		assert_int_equal(row->row_number, i + 1);
		assert_int_equal(row->ncells, want[i]);
	}
	assert_cell(row, 0, "c");
	assert_null(rd_next(&r));
	rd_done(&r, p);
}

static void
test_last_line_without_newline(void **state)
{
	const char *p = write_str("nonl.csv", "a,b\nc,\"d\"");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	rd_next(&r);
	row = rd_next(&r);
	assert_int_equal(row->row_number, 2);
	assert_int_equal(row->ncells, 2);
	assert_cell(row, 1, "d");
	assert_null(rd_next(&r));
	rd_done(&r, p);
}

static void
test_empty_file_has_no_rows(void **state)
{
	const char *p = write_str("empty.csv", "");
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	assert_null(rd_next(&r));
	assert_null(rd_next(&r));
	rd_done(&r, p);
}

static void
test_semicolon_delimiter(void **state)
{
	const char *p = write_str("semi.csv", "a;b,c;d\n");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, ';');
	row = rd_next(&r);
	assert_int_equal(row->ncells, 3);
	assert_cell(row, 1, "b,c");
	rd_done(&r, p);
}

static void
test_tab_delimiter(void **state)
{
	const char *p = write_str("tab.tsv", "a\tb c\t\td\n");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, '\t');
	row = rd_next(&r);
	assert_int_equal(row->ncells, 4);
	assert_cell(row, 1, "b c");
	assert_cell(row, 2, "");
	assert_cell(row, 3, "d");
	rd_done(&r, p);
}

static void
test_custom_quote_char(void **state)
{
	const char *p = write_str("squote.csv", "'a,b',\"c\n");
	struct rs_opts o = { .format = RS_CSV_UTF8, .quote = '\'' };
	const struct rs_row *row;
	struct rd r;

	(void)state;
	assert_int_equal(csvr_open(p, &o, &r.ops, &r.impl), PA_OK);
	row = rd_next(&r);
	assert_int_equal(row->ncells, 2);
	assert_cell(row, 0, "a,b");
	assert_cell(row, 1, "\"c");
	rd_done(&r, p);
}

static void
test_doubled_quotes_in_quoted_field(void **state)
{
	const char *p = write_str("dq.csv", "\"say \"\"hi\"\"\",\"\"\"\"\n");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	row = rd_next(&r);
	assert_cell(row, 0, "say \"hi\"");
	assert_cell(row, 1, "\"");
	rd_done(&r, p);
}

static void
test_stray_quote_in_unquoted_field_is_text(void **state)
{
	const char *p = write_str("stray.csv", "Lens 1/2\" thick,5\nnext,6\n");
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	assert_cell(rd_next(&r), 0, "Lens 1/2\" thick");
	assert_cell(rd_next(&r), 0, "next");
	assert_null(rd_next(&r));
	rd_done(&r, p);
}

static void
test_cells_are_not_trimmed(void **state)
{
	const char *p = write_str("spaces.csv", " a ,\tb\t, \"c\" ,,\n");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	row = rd_next(&r);
	assert_int_equal(row->ncells, 5);
	assert_cell(row, 0, " a ");
	assert_cell(row, 1, "\tb\t");
	assert_cell(row, 2, " \"c\" ");
	assert_cell(row, 3, "");
	assert_cell(row, 4, "");
	rd_done(&r, p);
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
	const char *p = write_str("nbsp1251.csv", "\xCE\xEF\xF0\xE0\xE2\xE0;1\xA0" "250,00\n");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_CP1251, ';');
	row = rd_next(&r);
	assert_cell(row, 0, "Оправа");
	assert_cell(row, 1, "1\xC2\xA0" "250,00");
	rd_done(&r, p);
}

static void
test_cp1251_undefined_0x98_flagged_bad(void **state)
{
	const char *p = write_str("x98.csv", "\xCE\xEF\x98;ok\nnext\n");
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_CP1251, ';');
	row = rd_next(&r);
	assert_int_equal(row->ncells, 2);
	assert_int_equal(row->cells[0].flags, RS_CELL_BAD_ENCODING);
	assert_string_equal(row->cells[0].text, "Оп\\x98");
	assert_cell(row, 1, "ok");
	assert_cell(rd_next(&r), 0, "next");
	rd_done(&r, p);
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

static void
assert_bad_utf8(const char *name, const char *bytes, const char *shown)
{
	char data[64];
	const char *p;
	const struct rs_row *row;
	struct rd r;

	snprintf(data, sizeof(data), "ok,%s,ok\n", bytes);
	p = write_str(name, data);
	rd_open(&r, p, RS_CSV_UTF8, 0);
	row = rd_next(&r);
	assert_int_equal(row->ncells, 3);
	assert_cell(row, 0, "ok");
	assert_int_equal(row->cells[1].flags, RS_CELL_BAD_ENCODING);
	assert_string_equal(row->cells[1].text, shown);
	assert_cell(row, 2, "ok");
	rd_done(&r, p);
}

static void
test_invalid_utf8_flagged_bad(void **state)
{
	(void)state;
	assert_bad_utf8("ff.csv", "a\xFF\xFE" "b", "a\\xFF\\xFEb");
	/* A Windows-1251 word in a UTF-8 file. */
	assert_bad_utf8("cp.csv", "\xCE\xEF\xF0", "\\xCE\\xEF\\xF0");
}

static void
test_overlong_utf8_flagged_bad(void **state)
{
	(void)state;
	assert_bad_utf8("ovl2.csv", "\xC0\xAF", "\\xC0\\xAF");
	assert_bad_utf8("ovl3.csv", "\xE0\x80\xAF", "\\xE0\\x80\\xAF");
}

static void
test_surrogate_utf8_flagged_bad(void **state)
{
	(void)state;
	assert_bad_utf8("sur.csv", "\xED\xA0\x80", "\\xED\\xA0\\x80");
}

static void
test_above_u10ffff_flagged_bad(void **state)
{
	(void)state;
	assert_bad_utf8("big.csv", "\xF4\x90\x80\x80", "\\xF4\\x90\\x80\\x80");
}

static void
test_nul_byte_flagged_bad(void **state)
{
	const char *p = write_file("nul.csv", "a\0b,c\n", 6);
	const struct rs_row *row;
	struct rd r;

	(void)state;
	rd_open(&r, p, RS_CSV_UTF8, 0);
	row = rd_next(&r);
	assert_int_equal(row->cells[0].flags, RS_CELL_BAD_ENCODING);
	assert_string_equal(row->cells[0].text, "a\\x00b");
	assert_cell(row, 1, "c");
	rd_done(&r, p);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quoted_newline_keeps_row_numbers),
		cmocka_unit_test(test_crlf_counts_as_one_line_end),
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
		cmocka_unit_test(test_cp1251_profile_refuses_utf8_file),
		cmocka_unit_test(test_cp1251_profile_refuses_utf8_bom),
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

/* libFuzzer target: the CSV reader and the converters it feeds.
 *
 * Input: byte 0 picks the delimiter and quote, the rest is the file. The
 * file is read to the end as UTF-8 and as CP1251, checking the reader's
 * promises: rows numbered 1, 2, 3... without gaps, cells NUL-terminated,
 * within the limits, valid UTF-8 unless flagged, progress within the size.
 * Every cell then goes through conv_money/conv_money_num/conv_qty, and an
 * accepted price must format and parse back to itself.
 *
 *   make fuzz && build/fuzz/fuzz_csvr -max_total_time=600 tests/fuzz/corpus/csvr
 * Replay a crash under gdb without libFuzzer (tests/fuzz/fuzz_replay.c):
 *   make SAN=1 build/host-san/tests/replay_fuzz_csvr && \
 *       gdb --args build/host-san/tests/replay_fuzz_csvr crash-file
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/import/conv.h"
#include "agent/readers/rowsrc.h"
#include "hal/pa_err.h"
#include "hal/pa_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

static void
check_cell(const struct rs_cell *cell)
{
	char buf[CONV_MONEY_BUFSZ];
	int64_t k, k2;
	double q;

	CHECK(cell->text != NULL);
	CHECK(cell->len <= RS_MAX_CELL_BYTES);
	CHECK(cell->text[cell->len] == '\0');
	if (cell->flags & RS_CELL_BAD_ENCODING)
		return;
	CHECK(cell->flags == 0);
	CHECK(pa_utf8_valid(cell->text, cell->len));
	if (conv_money(cell->text, cell->len, &k) == PA_OK) {
		CHECK(k >= 0);
		conv_money_fmt(k, buf);
		CHECK(conv_money(buf, strlen(buf), &k2) == PA_OK && k2 == k);
	}
	if (conv_money_num(cell->text, cell->len, &k) == PA_OK)
		CHECK(k >= 0);
	if (conv_qty(cell->text, cell->len, &q) == PA_OK)
		CHECK(q >= 0 && q < 1e15);
}

static void
read_all(const char *path, enum rs_format fmt, char delim, char quote,
    unsigned long long size)
{
	struct rs_opts o = { .format = fmt, .delimiter = delim, .quote = quote };
	const struct rs_ops *ops = NULL;
	const struct rs_row *row;
	unsigned long long done, total;
	unsigned long n = 0;
	void *impl = NULL;
	size_t i;
	int rc;

	if (csvr_open(path, &o, &ops, &impl) != PA_OK)
		return;
	while ((rc = ops->next(impl, &row)) == PA_OK && row != NULL) {
		CHECK(row->row_number == ++n);
		CHECK(row->ncells <= RS_MAX_COLUMNS);
		for (i = 0; i < row->ncells; i++)
			check_cell(&row->cells[i]);
		ops->progress(impl, &done, &total);
		CHECK(done <= total && total == size);
	}
	/* An error is final. */
	if (rc != PA_OK)
		CHECK(ops->next(impl, &row) == rc && row == NULL);
	ops->close(impl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char delims[] = { ',', ';', '\t', '|' };
	static int fd = -1;
	static char path[64];
	char delim, quote;

	if (size < 1)
		return 0;
	if (fd < 0) {
		fd = memfd_create("fuzz.csv", 0);
		CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	delim = delims[data[0] & 3];
	quote = data[0] & 4 ? '\'' : '"';
	data++;
	size--;
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(size == 0 || pwrite(fd, data, size, 0) == (ssize_t)size);
	read_all(path, RS_CSV_UTF8, delim, quote, size);
	read_all(path, RS_CSV_CP1251, delim, quote, size);
	return 0;
}


/* libFuzzer target: the XLSX reader (zip container, OPC parts, expat,
 * shared strings, styles, the sheet stream).
 *
 * Input, two kinds:
 *   - a file as is (the seed corpus has real .xlsx files), or
 *   - "#XLSX\n" then parts, each "@@ NAME\n" + content, which the harness
 *     packs into a valid zip (stored, right CRCs) so that mutations reach
 *     the XML parsers instead of dying on a CRC or inflate error.
 * The file goes to a memfd and is opened by path, as the pipeline does; the
 * first sheet is read to the end, then the sheet named "Прайс". Beyond
 * "no crash, no leak, no UB, no hang" it checks the reader's promises: rows
 * end with PA_OK + NULL or one final error code with a message, cells are
 * NUL-terminated with the length given, valid UTF-8 unless flagged, within
 * RS_MAX_CELL_BYTES and RS_MAX_COLUMNS, error cells empty, progress within
 * the total.
 *
 *   make fuzz && build/fuzz/fuzz_xlsx -dict=tests/fuzz/xlsx.dict \
 *       -max_total_time=900 tests/fuzz/corpus/xlsx
 * Without the rest of the library (others' modules in progress):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE \
 *     -DXLSX_FUZZ_STANDALONE -I. tests/fuzz/fuzz_xlsx.c agent/readers/xlsx*.c \
 *     agent/readers/rowsrc.c hal/pa_err.c hal/pa_mem.c -lzip -lexpat -lm
 * Replay a crash under gdb without libFuzzer (tests/fuzz/fuzz_replay.c):
 *   make SAN=1 build/host-san/tests/replay_fuzz_xlsx && \
 *       gdb --args build/host-san/tests/replay_fuzz_xlsx crash-file
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/readers/rowsrc.h"
#include "agent/readers/xlsx.h"
#include "hal/pa_err.h"
#include "hal/pa_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

#ifdef XLSX_FUZZ_STANDALONE
/* Only so that rowsrc.c links without the CSV reader. */
int
csvr_open(const char *path, const struct rs_opts *opts,
    const struct rs_ops **ops, void **impl)
{
	(void)path, (void)opts, (void)ops, (void)impl;
	return PA_EINTERNAL;
}
#endif

/* A number cell's text is canonical: printing it again changes nothing. */
static void
check_canonical(const char *text)
{
	static locale_t cloc;
	char again[XLSX_NUM_MAX];

	if (cloc == (locale_t)0)
		cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	CHECK(cloc != (locale_t)0);
	CHECK(strchr(text, 'e') == NULL && strchr(text, 'E') == NULL);
	CHECK(xlsx__num_canon(strtod(text, NULL), cloc, again, sizeof(again)) > 0);
	CHECK(strcmp(text, again) == 0);
}

static int
known_code(int rc)
{
	return rc == PA_EFORMAT || rc == PA_ELIMIT || rc == PA_EIO ||
	    rc == PA_ENOMEM;
}

static void
read_sheet(const char *path, const char *sheet)
{
	struct rs_opts o = { .format = RS_XLSX, .sheet = sheet };
	const struct rs_row *row;
	unsigned long long done, total;
	rs *r = NULL;
	size_t i;
	int rc;

	pa_err_clear();
	if ((rc = rs_open(path, &o, &r)) != PA_OK) {
		CHECK(known_code(rc));
		CHECK(r == NULL);
		CHECK(pa_err_msg(rc)[0] != '\0');
		return;
	}
	while ((rc = rs_next(r, &row)) == PA_OK && row != NULL) {
		CHECK(row->row_number >= 1);
		CHECK(row->ncells <= RS_MAX_COLUMNS);
		for (i = 0; i < row->ncells; i++) {
			const struct rs_cell *c = &row->cells[i];

			CHECK(c->text != NULL);
			CHECK(c->text[c->len] == '\0');
			CHECK(strlen(c->text) == c->len);
			if (c->flags & RS_CELL_ERROR)
				CHECK(c->len == 0);
			if (!(c->flags & RS_CELL_BAD_ENCODING))
				CHECK(pa_utf8_valid(c->text, c->len));
			CHECK(c->len <= RS_MAX_CELL_BYTES);
			if (c->flags & RS_CELL_NUMBER)
				check_canonical(c->text);
		}
		rs_progress(r, &done, &total);
		CHECK(done <= total);
	}
	if (rc != PA_OK) {
		CHECK(known_code(rc));
		CHECK(pa_err_msg(rc)[0] != '\0');
		/* An error is final. */
		CHECK(rs_next(r, &row) == rc);
	} else {
		CHECK(rs_next(r, &row) == PA_OK && row == NULL);
	}
	rs_close(r);
}

static void
put(int fd, const void *data, size_t size)
{
	size_t off = 0;
	ssize_t n;

	CHECK(ftruncate(fd, 0) == 0);
	while (off < size) {
		n = pwrite(fd, (const char *)data + off, size - off, (off_t)off);
		CHECK(n > 0);
		off += (size_t)n;
	}
}

static const char *
find(const char *s, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	for (; s + n <= end; s++)
		if (memcmp(s, needle, n) == 0)
			return s;
	return NULL;
}

/* Pack "@@ NAME\n" parts into a stored zip written to fd. */
static void
put_parts(int fd, const char *s, const char *end)
{
	zip_source_t *mem, *src;
	zip_stat_t st;
	zip_error_t ze;
	zip_t *za;
	char name[256], *out;
	const char *nl, *next;
	zip_int64_t idx, got;
	int nparts = 0;

	zip_error_init(&ze);
	mem = zip_source_buffer_create(NULL, 0, 0, &ze);
	CHECK(mem != NULL);
	za = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
	CHECK(za != NULL);
	zip_source_keep(mem);
	while ((s = find(s, end, "@@ ")) != NULL && nparts++ < 64) {
		s += 3;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(nl - s), s);
		next = find(nl + 1, end, "\n@@ ");
		if (next == NULL)
			next = end;
		src = zip_source_buffer(za, nl + 1, (zip_uint64_t)(next - nl - 1), 0);
		CHECK(src != NULL);
		if ((idx = zip_file_add(za, name, src, ZIP_FL_OVERWRITE)) < 0) {
			zip_source_free(src);  /* e.g. an empty name */
		} else {
			zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
		}
		s = next;
	}
	CHECK(zip_close(za) == 0);
	/* No part at all: libzip writes nothing and the buffer stays closed
	 * to reading. That is the empty file. */
	zip_stat_init(&st);
	if (zip_source_stat(mem, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
	    zip_source_open(mem) != 0) {
		zip_source_free(mem);
		put(fd, "", 0);
		return;
	}
	out = malloc(st.size ? st.size : 1);
	CHECK(out != NULL);
	got = zip_source_read(mem, out, st.size);
	CHECK(got == (zip_int64_t)st.size);
	zip_source_close(mem);
	zip_source_free(mem);
	put(fd, out, st.size);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];

	if (fd < 0) {
		fd = memfd_create("fuzz_xlsx", MFD_CLOEXEC);
		CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (size >= 6 && memcmp(data, "#XLSX\n", 6) == 0)
		put_parts(fd, (const char *)data + 6, (const char *)data + size);
	else
		put(fd, data, size);
	read_sheet(path, NULL);
	read_sheet(path, "Прайс");
	return 0;
}


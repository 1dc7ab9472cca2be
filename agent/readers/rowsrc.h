/* rowsrc — one small row interface over CSV and XLSX readers.
 *
 * A row source streams the physical rows of one sheet/file, in order, with
 * constant memory (an XLSX's shared-string table is the one thing held).
 * It knows nothing about profiles, mappings or SQLite: it yields cells as
 * UTF-8 text exactly as the file holds them (not trimmed); the pipeline
 * trims, maps and converts.
 *
 * Row numbers are physical, as a spreadsheet shows them (1-based): a CSV
 * record whose quoted field spans lines is one row; an XLSX row r="7" is 7
 * even if rows 3..6 are absent from the file (absent rows are simply not
 * yielded). Blank CSV lines are yielded as rows with zero cells so numbering
 * stays right. */
#ifndef ROWSRC_H
#define ROWSRC_H

#include <stddef.h>

enum rs_format { RS_CSV_UTF8, RS_CSV_CP1251, RS_XLSX };

/* Named limits on hostile input. 0 in rs_opts means "use the default". */
#define RS_MAX_CELL_BYTES      (64u * 1024)      /* one cell, after decoding */
#define RS_MAX_COLUMNS         1024u             /* cells in one row */
#define RS_MAX_SHARED_STRINGS  (4u * 1024 * 1024)
#define RS_MAX_SHARED_BYTES    (256u * 1024 * 1024)
#define RS_MAX_ZIP_ENTRIES     10000u
#define RS_MAX_ZIP_ENTRY_BYTES (1024ull * 1024 * 1024)  /* uncompressed part */
#define RS_MAX_ZIP_RATIO       200u              /* uncompressed/compressed */
#define RS_MAX_XML_DEPTH       64u

struct rs_opts {
	enum rs_format format;
	char delimiter;        /* CSV only; ',' when 0 */
	char quote;            /* CSV only; '"' when 0 */
	const char *sheet;     /* XLSX only; NULL = first sheet in workbook order */
	const char *label;     /* the file's name in messages (NULL: from path);
	                          must outlive the source */
};

/* Cell flags. */
#define RS_CELL_BAD_ENCODING 0x1  /* bytes invalid in the file's encoding;
                                     text is NOT usable and must not be stored */
#define RS_CELL_ERROR        0x2  /* spreadsheet error value (#N/A...); text "" */
#define RS_CELL_NUMBER       0x4  /* was a numeric spreadsheet cell; text holds
                                     its canonical decimal form ("4601234567890",
                                     "12.5"), never an exponent for integers */

struct rs_cell {
	const char *text;   /* NUL-terminated UTF-8 (valid unless BAD_ENCODING) */
	size_t len;
	unsigned flags;
};

struct rs_row {
	unsigned long row_number;      /* physical, 1-based */
	size_t ncells;                 /* index = column (A=0); gaps are "" */
	const struct rs_cell *cells;
};

typedef struct rs rs;

/* Open path for reading. On success *out owns the open file; free with
 * rs_close(). On failure returns PA_EIO (cannot open/read), PA_EFORMAT (not
 * this format: the message says what the file looks like and what to do),
 * PA_ELIMIT, PA_ENOMEM, with a message (pa_err_msg) naming the file. */
int rs_open(const char *path, const struct rs_opts *opts, rs **out);

/* Next physical row. *row points into the source and stays valid until the
 * next rs_next()/rs_close(). At end of input returns PA_OK with *row = NULL.
 * Errors (PA_EFORMAT, PA_ELIMIT, PA_EIO, PA_ENOMEM) are final for the source
 * and the message names the row. */
int rs_next(rs *r, const struct rs_row **row);

/* Bytes consumed so far and total size of the input (for progress);
 * total 0 when unknown. */
void rs_progress(const rs *r, unsigned long long *done, unsigned long long *total);

void rs_close(rs *r);

/* --- for reader implementations (agent/readers only) --- */
struct rs_ops {
	int (*next)(void *impl, const struct rs_row **row);
	void (*progress)(const void *impl, unsigned long long *done,
	    unsigned long long *total);
	void (*close)(void *impl);
};
/* Each reader provides an opener with this shape. */
int csvr_open(const char *path, const struct rs_opts *opts,
    const struct rs_ops **ops, void **impl);
int xlsx_open(const char *path, const struct rs_opts *opts,
    const struct rs_ops **ops, void **impl);

#endif

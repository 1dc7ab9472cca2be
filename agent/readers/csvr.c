/* csvr — the CSV row source: libcsv fed in 64 KiB reads, one record at a
 * time, so memory stays constant whatever the file size (rowsrc.h has the
 * contract).
 *
 * How records come out of libcsv one at a time: libcsv ends a record only
 * on an unquoted CR or LF, and a callback cannot stop csv_parse. So each
 * csv_parse call gets the bytes up to and including the next CR or LF: at
 * most one record can end inside one call, and the row is handed out before
 * the next byte is parsed. The buffers the row points into are reused.
 *
 * Choices about real supplier files:
 * - libcsv's non-strict mode: a stray quote inside an unquoted field
 *   (Lens 1/2" thick) is kept as text. A quoted field that never closes
 *   would swallow the rest of the file: it is stopped by the cell limit
 *   (PA_ELIMIT) or, at end of file, by a strict csv_fini (PA_EFORMAT), both
 *   naming the row where the record started.
 * - No space trimming (libcsv trims by default): cells are what the file
 *   holds; the pipeline trims. As in Excel and Python's csv, a quote after
 *   leading spaces is then text, not an opening quote.
 * - CSV_REPALL_NL reports every line end, so blank lines become rows with
 *   no cells and numbering matches a spreadsheet; the LF of a CRLF pair then
 *   arrives as a second, empty record and is dropped here. */
#include "agent/readers/rowsrc.h"
#include "agent/readers/csvr_sniff.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <string.h>

#include "hal/hal_file.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hal/pa_utf8.h"

#define CSVR_CHUNK   (64u * 1024)  /* bytes per hal_read() */
#define CSVR_BLK     4096u         /* libcsv field buffer growth step */
#define CSVR_NONE    ULLONG_MAX    /* "no offset" for lf_pair */

struct csvr {
	int fd;
	char *path;                 /* owned copy; name points into it */
	const char *name;           /* basename, for messages */
	int cp1251;
	iconv_t cd;                 /* CP1251 → UTF-8; (iconv_t)-1 for UTF-8 */
	struct csv_parser parser;
	int parser_ok;              /* csv_init done: csv_free owed */
	unsigned char *buf;         /* CSVR_CHUNK bytes read ahead */
	size_t len, pos;            /* valid bytes in buf; parsed up to pos */
	int eof;                    /* hal_read() gave 0 bytes */
	int ended;                  /* csv_fini done: no more rows */
	struct csvr__sniff sniff;   /* the encoding verdict (csvr_sniff.c) */
	int err;                    /* sticky final error (PA_OK: none) */
	unsigned long long done, total;
	unsigned long long feed_end;    /* offset just past the bytes in csv_parse */
	unsigned long long lf_pair;     /* offset where an LF completes a CRLF */

	/* The row being assembled. All buffers only grow. */
	unsigned long row_number;
	char *text;                 /* cell texts, each NUL-terminated */
	size_t text_len, text_cap;
	struct rs_cell *cells;
	size_t *offs;               /* offset of each cell's text in text */
	size_t ncells, cells_cap;
	int row_ready;
	struct rs_row row;
};

static int
csvr__no_space(unsigned char c)
{
	(void)c;
	return 0;
}

static int
csvr__too_long(struct csvr *c)
{
	return pa_err_set(PA_ELIMIT, "%s row %lu: a cell is longer than %u "
	    "bytes; if a quoted field in this row lacks its closing %c, add it, "
	    "else check csv_quote_char in the profile", c->name, c->row_number,
	    RS_MAX_CELL_BYTES, csv_get_quote(&c->parser));
}

static int
csvr__nomem(struct csvr *c)
{
	return pa_err_set(PA_ENOMEM, "%s row %lu: out of memory", c->name,
	    c->row_number);
}

/* Make room for need more bytes of cell text. */
static int
csvr__reserve_text(struct csvr *c, size_t need)
{
	size_t cap;
	char *p;

	if (c->text_cap - c->text_len >= need)
		return PA_OK;
	cap = c->text_cap ? c->text_cap : 4096;
	while (cap - c->text_len < need)
		cap *= 2;       /* bounded: columns x cell limit */
	if ((p = pa_realloc(c->text, cap)) == NULL)
		return csvr__nomem(c);
	c->text = p;
	c->text_cap = cap;
	return PA_OK;
}

static int
csvr__reserve_cell(struct csvr *c)
{
	size_t cap;
	struct rs_cell *cells;
	size_t *offs;

	if (c->ncells < c->cells_cap)
		return PA_OK;
	cap = c->cells_cap ? c->cells_cap * 2 : 32;
	if ((cells = pa_realloc(c->cells, cap * sizeof(*cells))) == NULL)
		return csvr__nomem(c);
	c->cells = cells;
	if ((offs = pa_realloc(c->offs, cap * sizeof(*offs))) == NULL)
		return csvr__nomem(c);
	c->offs = offs;
	c->cells_cap = cap;
	return PA_OK;
}

static size_t
csvr__escape(char *dst, size_t out, unsigned char b)
{
	static const char hex[] = "0123456789ABCDEF";

	dst[out++] = '\\';
	dst[out++] = 'x';
	dst[out++] = hex[b >> 4];
	dst[out++] = hex[b & 15];
	return out;
}

/* Text of a cell flagged RS_CELL_BAD_ENCODING, for logs only: well-formed
 * characters as they are, every other byte (and NUL) as \xNN, so a
 * technician can see which byte is wrong. Cut at RS_MAX_CELL_BYTES; dst
 * holds that much. */
static size_t
csvr__render_bad(struct csvr *c, const unsigned char *raw, size_t len,
    char *dst)
{
	size_t i = 0, n, plen, out = 0, il, ol;
	char tmp[8], *in, *o;
	const char *piece;

	while (i < len) {
		n = plen = 0;
		piece = tmp;
		if (c->cd == (iconv_t)-1) {
			if (raw[i] != 0)
				n = plen = pa_utf8_seq((const char *)raw + i,
				    len - i);
			piece = (const char *)raw + i;
		} else if (raw[i] != 0) {
			in = (char *)raw + i;
			il = 1;
			o = tmp;
			ol = sizeof(tmp);
			iconv(c->cd, NULL, NULL, NULL, NULL);
			if (iconv(c->cd, &in, &il, &o, &ol) != (size_t)-1) {
				n = 1;
				plen = (size_t)(o - tmp);
			}
		}
		if (n == 0) {
			if (out + 4 > RS_MAX_CELL_BYTES)
				break;
			out = csvr__escape(dst, out, raw[i++]);
			continue;
		}
		if (out + plen > RS_MAX_CELL_BYTES)
			break;
		memcpy(dst + out, piece, plen);
		out += plen;
		i += n;
	}
	return out;
}

/* Decode one field into the row: called by libcsv for every field. */
static int
csvr__add_cell(struct csvr *c, const unsigned char *raw, size_t len)
{
	size_t out = 0, need, il, ol;
	unsigned flags = 0;
	char *dst, *in, *o;
	int rc, valid;

	if (c->ncells == RS_MAX_COLUMNS)
		return pa_err_set(PA_ELIMIT, "%s row %lu: more than %u columns; "
		    "check csv_delimiter in the profile", c->name, c->row_number,
		    RS_MAX_COLUMNS);
	if (len > RS_MAX_CELL_BYTES)
		return csvr__too_long(c);
	if ((rc = csvr__reserve_cell(c)) != PA_OK)
		goto out;
	/* UTF-8 is copied; CP1251 grows to at most 3 bytes a byte; a bad cell
	 * renders at most 4 bytes a byte but is cut at the cell limit. */
	valid = c->cp1251 || pa_utf8_valid((const char *)raw, len);
	if (c->cp1251)
		need = len * 4;
	else if (valid)
		need = len;
	else
		need = len * 4 < RS_MAX_CELL_BYTES ? len * 4 : RS_MAX_CELL_BYTES;
	if ((rc = csvr__reserve_text(c, need + 1)) != PA_OK)
		goto out;
	dst = c->text + c->text_len;
	if (!c->cp1251 && valid) {
		if (len > 0)
			memcpy(dst, raw, len);
		out = len;
	} else if (!c->cp1251) {
		flags = RS_CELL_BAD_ENCODING;
		out = csvr__render_bad(c, raw, len, dst);
	} else if (len > 0) {
		in = (char *)raw;
		il = len;
		o = dst;
		ol = need;
		iconv(c->cd, NULL, NULL, NULL, NULL);
		/* 0x98 is undefined in CP1251 (EILSEQ); NUL would cut the text. */
		if (iconv(c->cd, &in, &il, &o, &ol) == (size_t)-1 ||
		    memchr(raw, 0, len) != NULL) {
			flags = RS_CELL_BAD_ENCODING;
			out = csvr__render_bad(c, raw, len, dst);
		} else if ((out = (size_t)(o - dst)) > RS_MAX_CELL_BYTES) {
			rc = csvr__too_long(c);
			goto out;
		}
	}
	dst[out] = '\0';
	c->offs[c->ncells] = c->text_len;
	c->cells[c->ncells].len = out;
	c->cells[c->ncells].flags = flags;
	c->ncells++;
	c->text_len += out + 1;
	rc = PA_OK;
out:
	return rc;
}

static void
csvr__on_field(void *field, size_t len, void *data)
{
	struct csvr *c = data;

	if (c->err == PA_OK)
		c->err = csvr__add_cell(c, field, len);
}

static void
csvr__on_row(int term, void *data)
{
	struct csvr *c = data;
	size_t i;

	if (c->err != PA_OK)
		return;
	/* Each csv_parse call ends at the line-end byte that ends a record,
	 * so that byte sits at feed_end - 1. */
	if (term == '\n' && c->ncells == 0 && c->feed_end - 1 == c->lf_pair) {
		c->lf_pair = CSVR_NONE;         /* the LF of a CRLF */
		return;
	}
	c->lf_pair = term == '\r' ? c->feed_end : CSVR_NONE;
	for (i = 0; i < c->ncells; i++)
		c->cells[i].text = c->text + c->offs[i];
	c->row.row_number = c->row_number;
	c->row.ncells = c->ncells;
	c->row.cells = c->cells;
	c->row_ready = 1;
	if (c->row_number == ULONG_MAX)
		c->err = pa_err_set(PA_ELIMIT, "%s row %lu: too many rows",
		    c->name, c->row_number);
	else
		c->row_number++;
}

/* Read the next chunk (pos = 0). Sets eof when the file ends. */
static int
csvr__fill(struct csvr *c)
{
	size_t n;
	int first = c->done == 0, rc;

	c->pos = c->len = 0;
	while (c->len < CSVR_CHUNK && !c->eof) {
		if ((rc = hal_read(c->fd, c->buf + c->len, CSVR_CHUNK - c->len,
		    &n)) != PA_OK)
			return pa_err_wrap(rc, "cannot read %s at row %lu: ",
			    c->name, c->row_number);
		if (n == 0)
			c->eof = 1;
		c->len += n;
	}
	if (first && c->len >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0) {
		if (c->cp1251)
			return pa_err_set(PA_EFORMAT, "%s: the file starts with "
			    "a UTF-8 byte order mark, so it is UTF-8, not "
			    "Windows-1251; set \"file_format\": \"csv_utf8\" in "
			    "the profile", c->name);
		c->pos = 3;     /* not part of the first cell */
		c->done = 3;
	}
	return c->sniff.sniffing ? csvr__sniff(&c->sniff, c->cp1251, c->buf,
	    c->len, c->eof, c->done > 0, c->name, c->row_number) : PA_OK;
}

/* Bytes up to and including the first CR or LF. */
static size_t
csvr__line_len(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '\n' || p[i] == '\r')
			return i + 1;
	return n;
}

/* A whole line without a quote character, met between records, splits at
 * the delimiter exactly as libcsv's non-strict parse does (no trimming:
 * csvr__no_space). Most price-list lines are such; libcsv takes them a
 * byte and a callback at a time, a quarter of an import's work (issue
 * #15). Anything else (a quote, a record still open, a blank line, a line
 * cut by the chunk's end) goes to libcsv. pstate 0 is libcsv's
 * ROW_NOT_BEGUN. */
static size_t
csvr__plain(struct csvr *c, const unsigned char *p, size_t n)
{
	const unsigned char *end = p + n - 1, *d;
	unsigned char delim = csv_get_delim(&c->parser);

	if (c->parser.pstate != 0 || n < 2 || (*end != '\n' && *end != '\r') ||
	    memchr(p, csv_get_quote(&c->parser), n - 1) != NULL)
		return 0;
	for (; (d = memchr(p, delim, (size_t)(end - p))) != NULL; p = d + 1)
		csvr__on_field((void *)p, (size_t)(d - p), c);
	csvr__on_field((void *)p, (size_t)(end - p), c);
	csvr__on_row(*end, c);
	return n;
}

/* End of file: flush the last record. A quoted field still open here ran
 * to the end of the file; only the strict fini notices that. */
static int
csvr__finish(struct csvr *c)
{
	c->ended = 1;
	csv_set_opts(&c->parser, CSV_REPALL_NL | CSV_STRICT | CSV_STRICT_FINI);
	if (csv_fini(&c->parser, csvr__on_field, csvr__on_row, c) != 0)
		return pa_err_set(PA_EFORMAT, "%s row %lu: a quoted field that "
		    "starts in this row is never closed (no closing %c before the "
		    "end of the file); fix the quotes or check csv_quote_char in "
		    "the profile", c->name, c->row_number,
		    csv_get_quote(&c->parser));
	return c->err;
}

static int
csvr__next(void *impl, const struct rs_row **row)
{
	struct csvr *c = impl;
	size_t n, got;
	int rc = PA_OK;

	*row = NULL;
	if (c->err != PA_OK || c->ended)
		return c->err;
	c->ncells = c->text_len = 0;
	c->row_ready = 0;
	while (!c->row_ready) {
		if (c->pos == c->len) {
			if (c->eof) {
				rc = csvr__finish(c);
				break;
			}
			if ((rc = csvr__fill(c)) != PA_OK)
				break;
			continue;
		}
		n = csvr__line_len(c->buf + c->pos, c->len - c->pos);
		c->feed_end = c->done + n;
		if ((got = csvr__plain(c, c->buf + c->pos, n)) == 0)
			got = csv_parse(&c->parser, c->buf + c->pos, n,
			    csvr__on_field, csvr__on_row, c);
		c->pos += n;
		c->done += n;
		if ((rc = c->err) != PA_OK)
			break;
		if (got != n) {
			rc = csv_error(&c->parser) == CSV_ENOMEM ? csvr__nomem(c) :
			    pa_err_set(PA_ELIMIT, "%s row %lu: %s", c->name,
			    c->row_number, csv_strerror(csv_error(&c->parser)));
			break;
		}
		/* A field still open (no delimiter or line end yet) lives in
		 * libcsv's buffer: bound it here, before it can eat the file. */
		if (c->parser.entry_pos > RS_MAX_CELL_BYTES) {
			rc = csvr__too_long(c);
			break;
		}
	}
	if (rc != PA_OK) {
		c->err = rc;
		return rc;
	}
	if (c->row_ready)
		*row = &c->row;
	return PA_OK;
}

static void
csvr__progress(const void *impl, unsigned long long *done,
    unsigned long long *total)
{
	const struct csvr *c = impl;

	*done = c->done;
	*total = c->total;
}

static void
csvr__close(void *impl)
{
	struct csvr *c = impl;

	if (c == NULL)
		return;
	if (c->parser_ok)
		csv_free(&c->parser);
	if (c->cd != (iconv_t)-1)
		iconv_close(c->cd);
	hal_close(c->fd);
	pa_free(c->offs);
	pa_free(c->cells);
	pa_free(c->text);
	pa_free(c->buf);
	pa_free(c->path);
	pa_free(c);
}

static const struct rs_ops csvr_ops = {
	.next = csvr__next,
	.progress = csvr__progress,
	.close = csvr__close,
};

int
csvr_open(const char *path, const struct rs_opts *opts,
    const struct rs_ops **ops, void **impl)
{
	struct csvr *c = NULL;
	struct hal_finfo fi;
	const char *slash;
	unsigned char delim, quote;
	int rc;

	*ops = NULL;
	*impl = NULL;
	delim = (unsigned char)(opts->delimiter ? opts->delimiter : ',');
	quote = (unsigned char)(opts->quote ? opts->quote : '"');
	/* Line ends split records before libcsv sees them; non-ASCII bytes
	 * would split UTF-8 characters. */
	if (delim == quote || delim == '\r' || delim == '\n' || delim >= 0x80 ||
	    quote == '\r' || quote == '\n' || quote >= 0x80 ||
	    (opts->format != RS_CSV_UTF8 && opts->format != RS_CSV_CP1251))
		return pa_err_set(PA_EINVAL, "%s: the CSV delimiter and quote "
		    "must be two different ASCII characters, not line breaks",
		    path);
	if ((c = pa_calloc(1, sizeof(*c))) == NULL)
		return PA_ENOMEM;
	c->fd = -1;
	c->cd = (iconv_t)-1;
	c->lf_pair = CSVR_NONE;
	c->row_number = 1;
	c->cp1251 = opts->format == RS_CSV_CP1251;
	c->sniff.sniffing = 1;
	rc = PA_ENOMEM;
	if ((c->path = pa_strdup(path)) == NULL ||
	    (c->buf = pa_malloc(CSVR_CHUNK)) == NULL)
		goto out;
	slash = strrchr(c->path, '/');
	c->name = opts->label ? opts->label : slash && slash[1] ? slash + 1 :
	    c->path;
	if ((rc = hal_open_read(path, NULL, &c->fd, &fi)) != PA_OK)
		goto out;
	if (fi.type == HAL_F_DIR) {
		rc = pa_err_set(PA_EIO, "cannot open %s: %s", path,
		    strerror(EISDIR));
		goto out;
	}
	c->total = fi.size;
	if (c->cp1251 && (c->cd = iconv_open("UTF-8", "CP1251")) ==
	    (iconv_t)-1) {
		rc = pa_err_set(PA_EINTERNAL, "%s: iconv cannot convert "
		    "Windows-1251 (CP1251) to UTF-8: %s", c->name,
		    strerror(errno));
		goto out;
	}
	if (csv_init(&c->parser, CSV_REPALL_NL) != 0)
		goto out;       /* cannot happen: csv_init only checks p */
	c->parser_ok = 1;
	csv_set_delim(&c->parser, delim);
	csv_set_quote(&c->parser, quote);
	csv_set_space_func(&c->parser, csvr__no_space);
	csv_set_realloc_func(&c->parser, pa_realloc);
	csv_set_free_func(&c->parser, pa_free);
	csv_set_blk_size(&c->parser, CSVR_BLK);
	if ((rc = csvr__fill(c)) != PA_OK)
		goto out;
	*ops = &csvr_ops;
	*impl = c;
	c = NULL;       /* transferred */
out:
	csvr__close(c);
	return rc;
}

/* xlsx — the XLSX row source: one worksheet streamed row by row.
 *
 * Opening reads the small parts (content types, workbook, rels, styles) and
 * the shared strings; the sheet is then inflated and parsed in chunks, and
 * expat is suspended at every </row> so rs_next() hands out one row at a time
 * with constant memory.
 *
 * Cell values (ECMA-376 Part 1, 18.3.1.4 c, 18.18.11 ST_CellType):
 *   t="s"          index into the shared strings
 *   t="inlineStr"  <is><t> or rich runs <is><r><t>, concatenated
 *   t="str"        formula result text (cached <v>)
 *   t="b"          "TRUE"/"FALSE", as a spreadsheet shows it (and as its
 *                  CSV export writes it)
 *   t="e"          "" with RS_CELL_ERROR (#N/A, #DIV/0! ...)
 *   t="d"          ISO 8601 text as stored
 *   t="n" / none   canonical decimal, RS_CELL_NUMBER; ISO 8601 date text
 *                  when the cell's style is a date format
 * Formula cells give their cached value; a cell without <v>/<is> has no
 * value and does not widen the row. r="D7" places a cell in column 3; cells
 * and rows without r follow the previous one. <dimension> is ignored. */
#include "agent/readers/xlsx.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hal/pa_utf8.h"

enum ctype { CT_N, CT_S, CT_INLINE, CT_STR, CT_B, CT_E, CT_D };

struct xcell {
	size_t off, len;       /* in the row buffer, unless ext */
	const char *ext;       /* constant text ("TRUE", "") */
	unsigned flags;
	int placed;            /* a cell of the file, not a gap filler */
};

struct xlsx {
	char *path;
	struct xlsx__zip z;
	struct xlsx__book book;
	struct xlsx__sst sst;
	struct xlsx__styles styles;
	struct xlsx__entry e;
	struct xlsx__xml x;
	locale_t cloc;
	int err, done;
	/* element depths while inside them, 0 outside */
	unsigned sd_depth, row_depth, c_depth, v_depth, is_depth, r_depth, t_depth;
	/* the row being built */
	unsigned long row_no, last_row;
	struct xcell *xc;
	size_t nxc, xc_cap;
	char *rb;              /* text of this row, shared strings decoded */
	size_t rb_len, rb_cap;
	size_t rb_shared;      /* of rb_len, decoded shared strings */
	struct rs_cell *cells;
	size_t cells_cap;
	struct rs_row row;
	int row_ready;
	/* the cell being built */
	unsigned long col, style;
	long last_col;
	enum ctype ct;
	int has_value;
	char *vb;              /* its <v> or <t> text */
	size_t vb_len, vb_cap;
};

static const char empty[] = "";

static void
cell_name(unsigned long col, unsigned long row, char *buf, size_t n)
{
	char letters[8];
	size_t i = sizeof(letters) - 1;

	letters[i] = '\0';
	do {
		letters[--i] = (char)('A' + col % 26);
		col = col / 26;
	} while (col-- > 0 && i > 0);
	snprintf(buf, n, "%s%lu", letters + i, row);
}

static void sheet_fail(struct xlsx *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Abort with "FILE: sheet "S", row N: what". */
static void
sheet_fail(struct xlsx *s, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pa_err_set(code, "%s: sheet \"%s\", row %lu: %s", s->path,
	    s->book.sheet_name, s->row_no, msg);
	xlsx__xml_abort(&s->x, code);
}

static void
sheet_where(void *ud, char *buf, size_t n)
{
	struct xlsx *s = ud;

	if (s->row_depth)
		snprintf(buf, n, " (sheet \"%s\", row %lu)", s->book.sheet_name,
		    s->row_no);
	else if (s->last_row)
		snprintf(buf, n, " (sheet \"%s\", after row %lu)",
		    s->book.sheet_name, s->last_row);
	else
		snprintf(buf, n, " (sheet \"%s\", before its first row)",
		    s->book.sheet_name);
}

/* Room for want (at least one) elements of size elem in block p of *cap:
 * the block, maybe moved, or NULL when out of memory (p is then intact). */
static void *
grow(void *p, size_t *cap, size_t want, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *np;

	if (want == 0)
		want = 1;
	if (want <= *cap)
		return p;
	while (ncap < want)
		ncap *= 2;
	if ((np = pa_realloc(p, ncap * elem)) == NULL)
		return NULL;
	*cap = ncap;
	return np;
}

/* "D7" -> 3. The row digits are not checked against <row r>: Excel does
 * not either. */
static bool
parse_col(const char *ref, unsigned long *col)
{
	unsigned long c = 0;
	unsigned n = 0;

	for (; (*ref >= 'A' && *ref <= 'Z') || (*ref >= 'a' && *ref <= 'z'); ref++) {
		if (++n > XLSX_MAX_COL_LETTERS)
			return false;
		c = c * 26 + (unsigned long)((*ref | 0x20) - 'a' + 1);
	}
	if (n == 0)
		return false;
	for (; *ref != '\0'; ref++)
		if (*ref < '0' || *ref > '9')
			return false;
	*col = c - 1;
	return true;
}

static void
row_begin(struct xlsx *s, unsigned depth, const char **atts)
{
	const char *r = xlsx__attr(atts, XLSX_NS_NONE, "r");
	unsigned long n;

	if (r != NULL) {
		if (!xlsx__parse_uint(r, XLSX_MAX_ROW_NUMBER, &n) || n == 0) {
			s->row_no = s->last_row + 1;
			sheet_fail(s, PA_EFORMAT, "bad row number r=\"%.20s\"", r);
			return;
		}
	} else if ((n = s->last_row + 1) > XLSX_MAX_ROW_NUMBER) {
		sheet_fail(s, PA_EFORMAT, "too many rows");
		return;
	}
	if (n <= s->last_row) {
		/* Spreadsheets store rows in ascending order (18.3.1.73); a
		 * file that goes back is damaged, and header_row/data_start_row
		 * would no longer mean anything. */
		s->row_no = n;
		sheet_fail(s, PA_EFORMAT, "comes after row %lu: rows out of order",
		    s->last_row);
		return;
	}
	s->row_no = n;
	s->row_depth = depth;
	s->nxc = 0;
	s->rb_len = 0;
	s->rb_shared = 0;
	s->last_col = -1;
}

static void
cell_begin(struct xlsx *s, unsigned depth, const char **atts)
{
	const char *r = xlsx__attr(atts, XLSX_NS_NONE, "r");
	const char *t = xlsx__attr(atts, XLSX_NS_NONE, "t");
	unsigned long col;

	if (r != NULL) {
		if (!parse_col(r, &col)) {
			sheet_fail(s, PA_EFORMAT, "bad cell reference r=\"%.20s\"",
			    r);
			return;
		}
	} else {
		col = (unsigned long)(s->last_col + 1);
	}
	if (t == NULL || strcmp(t, "n") == 0)
		s->ct = CT_N;
	else if (strcmp(t, "s") == 0)
		s->ct = CT_S;
	else if (strcmp(t, "inlineStr") == 0)
		s->ct = CT_INLINE;
	else if (strcmp(t, "b") == 0)
		s->ct = CT_B;
	else if (strcmp(t, "e") == 0)
		s->ct = CT_E;
	else if (strcmp(t, "d") == 0)
		s->ct = CT_D;
	else
		s->ct = CT_STR;  /* "str", or unknown: the text as stored */
	if (!xlsx__parse_uint(xlsx__attr(atts, XLSX_NS_NONE, "s"), 0xffffffffUL,
	    &s->style))
		s->style = 0;
	s->col = col;
	s->last_col = (long)col;
	s->c_depth = depth;
	s->vb_len = 0;
	s->has_value = 0;
}

/* Add text to the row buffer; *off receives where it went. */
static int
row_text(struct xlsx *s, const char *t, size_t len, size_t *off)
{
	char cn[24];
	void *p;

	if (s->rb_len - s->rb_shared + len + 1 > XLSX_MAX_ROW_BYTES) {
		cell_name(s->col, s->row_no, cn, sizeof(cn));
		sheet_fail(s, PA_ELIMIT, "the row holds more than %u bytes of text "
		    "at cell %s (XLSX_MAX_ROW_BYTES)", XLSX_MAX_ROW_BYTES, cn);
		return PA_ELIMIT;
	}
	if ((p = grow(s->rb, &s->rb_cap, s->rb_len + len + 1, 1)) == NULL) {
		sheet_fail(s, PA_ENOMEM, "out of memory");
		return PA_ENOMEM;
	}
	s->rb = p;
	memcpy(s->rb + s->rb_len, t, len);
	*off = s->rb_len;
	s->rb_len += len;
	s->rb[s->rb_len++] = '\0';
	return PA_OK;
}

/* Decode shared string idx (len bytes as UTF-8) into the row buffer; *off
 * receives where it went. Not counted against XLSX_MAX_ROW_BYTES, as when
 * cells pointed into the table: RS_MAX_COLUMNS * RS_MAX_CELL_BYTES bounds it.
 * The buffer is kept across rows, so steady state allocates nothing. */
static int
row_shared(struct xlsx *s, size_t idx, size_t len, size_t *off)
{
	void *p;

	if ((p = grow(s->rb, &s->rb_cap, s->rb_len + len + 1, 1)) == NULL) {
		sheet_fail(s, PA_ENOMEM, "out of memory");
		return PA_ENOMEM;
	}
	s->rb = p;
	xlsx__sst_copy(&s->sst, idx, s->rb + s->rb_len);
	*off = s->rb_len;
	s->rb_len += len;
	s->rb[s->rb_len++] = '\0';
	s->rb_shared += len + 1;
	return PA_OK;
}

static void
cell_place(struct xlsx *s, const char *ext, size_t off, size_t len,
    unsigned flags)
{
	size_t i;
	void *p;

	if ((p = grow(s->xc, &s->xc_cap, s->col + 1, sizeof(*s->xc))) == NULL) {
		sheet_fail(s, PA_ENOMEM, "out of memory");
		return;
	}
	s->xc = p;
	for (i = s->nxc; i < s->col; i++) {
		s->xc[i].ext = empty;
		s->xc[i].off = s->xc[i].len = 0;
		s->xc[i].flags = 0;
		s->xc[i].placed = 0;
	}
	if (s->col >= s->nxc)
		s->nxc = s->col + 1;
	else if (s->xc[s->col].placed) {
		/* A reference given twice in one row silently replaced the
		 * first value (issue #9); duplicate rows are refused, so is
		 * this. Cells out of order but distinct are placed. */
		char cn[24];
		cell_name(s->col, s->row_no, cn, sizeof(cn));
		sheet_fail(s, PA_EFORMAT, "cell %s appears twice in the row: "
		    "which value is meant is unknown", cn);
		return;
	}
	s->xc[s->col].ext = ext;
	s->xc[s->col].off = off;
	s->xc[s->col].len = len;
	s->xc[s->col].flags = flags;
	s->xc[s->col].placed = 1;
}

static void
cell_end(struct xlsx *s)
{
	char num[XLSX_NUM_MAX], cn[24];
	unsigned long idx;
	unsigned flags = 0;
	size_t len, off = 0;
	void *p;
	size_t n;

	if (!s->has_value)
		return;
	if (s->col >= RS_MAX_COLUMNS) {
		cell_name(s->col, s->row_no, cn, sizeof(cn));
		sheet_fail(s, PA_ELIMIT, "cell %s is beyond column %u "
		    "(RS_MAX_COLUMNS)", cn, RS_MAX_COLUMNS);
		return;
	}
	if ((p = grow(s->vb, &s->vb_cap, s->vb_len + 1, 1)) == NULL) {
		sheet_fail(s, PA_ENOMEM, "out of memory");
		return;
	}
	s->vb = p;
	s->vb[s->vb_len] = '\0';
	switch (s->ct) {
	case CT_S:
		if (!xlsx__parse_uint(s->vb, 0xffffffffUL, &idx) ||
		    xlsx__sst_len(&s->sst, idx, &len) != PA_OK) {
			cell_name(s->col, s->row_no, cn, sizeof(cn));
			sheet_fail(s, PA_EFORMAT, "cell %s refers to shared string "
			    "\"%.20s\" but the workbook has %zu", cn, s->vb,
			    s->sst.n);
			return;
		}
		if (row_shared(s, idx, len, &off) == PA_OK)
			cell_place(s, NULL, off, len, 0);
		return;
	case CT_E:
		cell_place(s, empty, 0, 0, RS_CELL_ERROR);
		return;
	case CT_B:
		if (strcmp(s->vb, "1") == 0 || strcmp(s->vb, "true") == 0) {
			cell_place(s, "TRUE", 0, 4, 0);
			return;
		}
		if (strcmp(s->vb, "0") == 0 || strcmp(s->vb, "false") == 0) {
			cell_place(s, "FALSE", 0, 5, 0);
			return;
		}
		break;  /* not a boolean after all: its text */
	case CT_N:
		n = xlsx__num_render(s->vb, s->vb_len, xlsx__styles_kind(&s->styles,
		    s->style), s->book.date1904, s->cloc, num, &flags);
		if (n > 0) {
			if (row_text(s, num, n, &off) == PA_OK)
				cell_place(s, NULL, off, n, flags);
			return;
		}
		break;  /* not a number: its text, unflagged */
	case CT_INLINE:
	case CT_STR:
		s->vb_len = xlsx__unescape(s->vb, s->vb_len);
		break;
	case CT_D:
		break;
	}
	if (!pa_utf8_valid(s->vb, s->vb_len))
		flags |= RS_CELL_BAD_ENCODING;  /* cannot happen: expat's UTF-8 */
	if (row_text(s, s->vb, s->vb_len, &off) == PA_OK)
		cell_place(s, NULL, off, s->vb_len, flags);
}

static void
row_end(struct xlsx *s)
{
	size_t i;
	void *p;

	if ((p = grow(s->cells, &s->cells_cap, s->nxc, sizeof(*s->cells))) ==
	    NULL) {
		sheet_fail(s, PA_ENOMEM, "out of memory");
		return;
	}
	s->cells = p;
	/* The row buffer no longer moves: pointers are safe now. */
	for (i = 0; i < s->nxc; i++) {
		s->cells[i].text = s->xc[i].ext ? s->xc[i].ext :
		    s->rb + s->xc[i].off;
		s->cells[i].len = s->xc[i].len;
		s->cells[i].flags = s->xc[i].flags;
	}
	s->row.row_number = s->row_no;
	s->row.ncells = s->nxc;
	s->row.cells = s->cells;
	s->last_row = s->row_no;
	s->row_ready = 1;
	xlsx__xml_suspend(&s->x);
}

static void
sheet_start(struct xlsx__xml *x, enum xlsx__ns ns, const char *local,
    const char **atts)
{
	struct xlsx *s = x->ud;
	unsigned d = x->depth;

	if (!(ns == XLSX_NS_MAIN || ns == XLSX_NS_NONE))
		return;
	if (s->sd_depth == 0) {
		if (d == 2 && strcmp(local, "sheetData") == 0)
			s->sd_depth = d;
	} else if (s->row_depth == 0) {
		if (d == s->sd_depth + 1 && strcmp(local, "row") == 0)
			row_begin(s, d, atts);
	} else if (s->c_depth == 0) {
		if (d == s->row_depth + 1 && strcmp(local, "c") == 0)
			cell_begin(s, d, atts);
	} else if (d == s->c_depth + 1) {
		if (strcmp(local, "v") == 0) {
			s->v_depth = d;
			s->has_value |= s->ct != CT_INLINE;
		} else if (strcmp(local, "is") == 0) {
			s->is_depth = d;
			s->has_value |= s->ct == CT_INLINE;
		}
	} else if (s->is_depth != 0) {
		if (d == s->is_depth + 1 && strcmp(local, "r") == 0)
			s->r_depth = d;
		else if (strcmp(local, "t") == 0 && (d == s->is_depth + 1 ||
		    (s->r_depth != 0 && d == s->r_depth + 1)))
			s->t_depth = d;  /* not inside <rPh>: phonetic */
	}
}

static void
sheet_end(struct xlsx__xml *x, enum xlsx__ns ns, const char *local)
{
	struct xlsx *s = x->ud;
	unsigned d = x->depth;

	(void)ns, (void)local;
	if (d == s->t_depth) {
		s->t_depth = 0;
	} else if (d == s->r_depth) {
		s->r_depth = 0;
	} else if (d == s->is_depth) {
		s->is_depth = 0;
	} else if (d == s->v_depth) {
		s->v_depth = 0;
	} else if (d == s->c_depth) {
		cell_end(s);
		s->c_depth = 0;
	} else if (d == s->row_depth) {
		row_end(s);
		s->row_depth = 0;
	} else if (d == s->sd_depth) {
		s->sd_depth = 0;
	}
}

static void
sheet_text(struct xlsx__xml *x, const char *t, int len)
{
	struct xlsx *s = x->ud;
	char cn[24];
	void *p;

	if (!((s->v_depth != 0 && s->ct != CT_INLINE) ||
	    (s->t_depth != 0 && s->ct == CT_INLINE)))
		return;
	if (s->vb_len + (size_t)len > RS_MAX_CELL_BYTES) {
		cell_name(s->col, s->row_no, cn, sizeof(cn));
		sheet_fail(s, PA_ELIMIT, "cell %s holds more than %u bytes "
		    "(RS_MAX_CELL_BYTES)", cn, RS_MAX_CELL_BYTES);
		return;
	}
	/* +1: room for the NUL cell_end() adds. */
	if ((p = grow(s->vb, &s->vb_cap, s->vb_len + (size_t)len + 1, 1)) ==
	    NULL) {
		sheet_fail(s, PA_ENOMEM, "out of memory");
		return;
	}
	s->vb = p;
	memcpy(s->vb + s->vb_len, t, (size_t)len);
	s->vb_len += (size_t)len;
}

static int
xlsx_next(void *impl, const struct rs_row **row)
{
	struct xlsx *s = impl;
	enum xlsx__step st;
	int rc;

	*row = NULL;
	if (s->err != 0)
		return s->err;
	if (s->done)
		return PA_OK;
	s->row_ready = 0;
	for (;;) {
		if ((rc = xlsx__xml_step(&s->x, &s->z, &s->e, &st)) != PA_OK) {
			s->err = rc;
			return rc;
		}
		if (s->row_ready) {
			*row = &s->row;
			return PA_OK;
		}
		if (st == XLSX_STEP_DONE) {
			s->done = 1;
			return PA_OK;
		}
	}
}

static void
xlsx_progress(const void *impl, unsigned long long *done,
    unsigned long long *total)
{
	const struct xlsx *s = impl;

	*done = s->e.done;
	*total = s->e.size;
}

static void
xlsx_close(void *impl)
{
	struct xlsx *s = impl;

	if (s == NULL)
		return;
	xlsx__xml_fini(&s->x);
	xlsx__entry_close(&s->e);
	xlsx__zip_close(&s->z);
	xlsx__sst_free(&s->sst);
	xlsx__styles_free(&s->styles);
	if (s->cloc != (locale_t)0)
		freelocale(s->cloc);
	pa_free(s->xc);
	pa_free(s->rb);
	pa_free(s->cells);
	pa_free(s->vb);
	pa_free(s->path);
	pa_free(s);
}

static const struct rs_ops xlsx_ops = {
	.next = xlsx_next,
	.progress = xlsx_progress,
	.close = xlsx_close,
};

int
xlsx_open(const char *path, const struct rs_opts *opts,
    const struct rs_ops **ops, void **impl)
{
	struct xlsx *s = NULL;
	int rc;

	*ops = NULL;
	*impl = NULL;
	if ((s = pa_calloc(1, sizeof(*s))) == NULL ||
	    (s->path = pa_strdup(opts && opts->label ? opts->label : path)) == NULL ||
	    (s->cloc = newlocale(LC_ALL_MASK, "C", (locale_t)0)) == (locale_t)0) {
		rc = pa_err_set(PA_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if ((rc = xlsx__zip_open(path, s->path, &s->z)) != PA_OK)
		goto out;
	rc = xlsx__book_load(&s->z, opts ? opts->sheet : NULL, &s->book);
	if (rc != PA_OK)
		goto out;
	if (s->book.sst_part[0] != '\0' &&
	    (rc = xlsx__sst_load(&s->z, s->book.sst_part, &s->sst)) != PA_OK)
		goto out;
	if (s->book.styles_part[0] != '\0' && (rc = xlsx__styles_load(&s->z,
	    s->book.styles_part, &s->styles)) != PA_OK)
		goto out;
	rc = xlsx__entry_open(&s->z, s->book.sheet_part, RS_MAX_ZIP_ENTRY_BYTES,
	    &s->e);
	if (rc == PA_ENOTFOUND)
		rc = pa_err_set(PA_EFORMAT, "%s is damaged: sheet \"%s\" (%s) is "
		    "missing from the archive", s->path, s->book.sheet_name,
		    s->book.sheet_part);
	if (rc != PA_OK)
		goto out;
	rc = xlsx__xml_init(&s->x, s->path, s->e.name, s, sheet_start,
	    sheet_end, sheet_text);
	if (rc != PA_OK)
		goto out;
	s->x.where = sheet_where;
	*ops = &xlsx_ops;
	*impl = s;
	s = NULL; /* transferred */
out:
	xlsx_close(s);
	return rc;
}

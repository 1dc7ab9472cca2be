#include "agent/import/pipeline.h"

#include <stdio.h>
#include <string.h>

#include "agent/import/conv.h"
#include "agent/readers/rowsrc.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hal/pa_utf8.h"

#define TICK_ROWS 256             /* rows between sink ticks */
/* All of the first this many data rows in error: wrong file or profile. */
#define PIPE_FAIL_FAST_ROWS 2000
#define NO_COLUMN ((size_t)-1)
/* Bytes of a price-list row, for the bulk heuristic: a CSV line, and an
 * XLSX row in the sheet's XML (the reader's size is the unpacked sheet).
 * Erring low is safe: an estimate too high made an identical XLSX
 * re-import rebuild every index (issue #15). */
#define EST_ROW_BYTES 100
#define EST_XLSX_ROW_BYTES 400

struct mapper {
	const struct profile *prof;
	size_t col[CAT_NFIELDS];      /* column index per mapped field */
	char letters[CAT_NFIELDS][8]; /* its spreadsheet letters, for messages
	                                 (spelled once, not per row) */
	char **headers;               /* trimmed header text per column */
	size_t nheaders;
	const char *label;
	char *barcode;                /* the row's normalised barcode */
	char warn[512];               /* the row's warning, "" = none */
};

static void
col_letters(size_t idx, char buf[8])
{
	char tmp[8];
	size_t n = 0, i;

	idx++;
	while (idx > 0 && n < sizeof(tmp) - 1) {
		tmp[n++] = (char)('A' + (idx - 1) % 26);
		idx = (idx - 1) / 26;
	}
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
}

static void
mapper_free(struct mapper *m)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		pa_free(m->headers[i]);
	pa_free(m->headers);
	m->headers = NULL;
	m->nheaders = 0;
	pa_free(m->barcode);
	m->barcode = NULL;
}

/* "4.60123456789E+12", "4,6E12": Excel's display of a long number. */
static int
sci_notation(const char *s, size_t len)
{
	size_t i = 0, d = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++, d++;
	if (d == 0)
		return 0;
	if (i < len && (s[i] == '.' || s[i] == ',')) {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
	}
	if (i == len || (s[i] != 'e' && s[i] != 'E'))
		return 0;
	if (++i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	for (d = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		d++;
	return d > 0 && i == len;
}

/* A barcode as the scanner reads it (issue #9): full-width digits
 * (U+FF10..U+FF19, from East Asian input methods) become ASCII; a value in
 * scientific notation sets a warning, because its digits are gone. */
static int
barcode_norm(struct mapper *m, const struct rs_row *row, const char *col,
    const char *head, const char **s, size_t *len)
{
	const unsigned char *p = (const unsigned char *)*s;
	size_t i, o = 0;
	int wide = 0;

	for (i = 0; i + 2 < *len && !wide; i++)
		wide = p[i] == 0xEF && p[i + 1] == 0xBC && p[i + 2] >= 0x90 &&
		    p[i + 2] <= 0x99;
	if (wide) {
		if (m->barcode == NULL &&
		    (m->barcode = pa_malloc(RS_MAX_CELL_BYTES + 1)) == NULL)
			return PA_ENOMEM;
		for (i = 0; i < *len; ) {
			if (i + 2 < *len && p[i] == 0xEF && p[i + 1] == 0xBC &&
			    p[i + 2] >= 0x90 && p[i + 2] <= 0x99) {
				m->barcode[o++] = (char)('0' + p[i + 2] - 0x90);
				i += 3;
			} else {
				m->barcode[o++] = (char)p[i++];
			}
		}
		*s = m->barcode;
		*len = o;
	}
	if (sci_notation(*s, *len))
		snprintf(m->warn, sizeof(m->warn), "row %lu, column %.7s (\"%s\"): "
		    "barcode %.*s is in scientific notation: the spreadsheet "
		    "rounded it and its last digits are lost; stored as given. "
		    "Format the column as text and export again", row->row_number,
		    col, head, (int)(*len > 40 ? 40 : *len), *s);
	return PA_OK;
}

/* Text for JSON: valid UTF-8 as is; otherwise invalid bytes spelled \xNN so
 * the log shows what was there without storing broken text. */
static json_t *
safe_string(const char *s, size_t len)
{
	char buf[1024];
	size_t i = 0, o = 0, n;

	if (pa_utf8_valid(s, len))
		return json_stringn(s, len);
	while (i < len && o + 5 < sizeof(buf)) {
		n = pa_utf8_seq(s + i, len - i);
		if (n == 0 || s[i] == '\0') {
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02X",
			    (unsigned char)s[i]);
			i++;
		} else if (o + n < sizeof(buf)) {
			memcpy(buf + o, s + i, n);
			o += n;
			i += n;
		} else {
			break;
		}
	}
	return json_stringn(buf, o);
}

static json_t *
row_data(const struct mapper *m, const struct rs_row *row)
{
	json_t *o = json_object();
	char key[16];
	size_t i;

	if (o == NULL)
		return NULL;
	for (i = 0; i < row->ncells; i++) {
		const char *s = row->cells[i].text;
		size_t len = conv_trim(&s, row->cells[i].len);
		const char *k = i < m->nheaders && m->headers[i][0] ? m->headers[i] :
		    NULL;
		if (k == NULL) {
			if (len == 0)
				continue;
			col_letters(i, key);
			k = key;
		}
		if (json_object_get(o, k) == NULL)
			json_object_set_new(o, k, safe_string(s, len));
	}
	return o;
}

static int
take_header(struct mapper *m, const struct rs_row *row)
{
	const struct profile *p = m->prof;
	char found[1024];
	size_t i, fl = 0;
	int f;

	if ((m->headers = pa_calloc(row->ncells ? row->ncells : 1,
	    sizeof(char *))) == NULL)
		return PA_ENOMEM;
	for (i = 0; i < row->ncells; i++) {
		const char *s = row->cells[i].text;
		size_t len = conv_trim(&s, row->cells[i].len);
		if (row->cells[i].flags & RS_CELL_BAD_ENCODING)
			return pa_err_set(PA_EENCODING, "%s row %lu (header), column "
			    "%zu: text is not valid %s; check the profile's "
			    "file_format", m->label, row->row_number, i + 1,
			    p->format == RS_CSV_CP1251 ? "Windows-1251" : "UTF-8");
		if ((m->headers[i] = pa_strndup(s, len)) == NULL)
			return PA_ENOMEM;
		m->nheaders++;
	}
	for (f = 0; f < CAT_NFIELDS; f++) {
		m->col[f] = NO_COLUMN;
		if (!p->column[f])
			continue;
		for (i = 0; i < m->nheaders; i++) {
			if (strcmp(m->headers[i], p->column[f]) != 0)
				continue;
			/* The first used to win silently (issue #9): which of
			 * two "Price" columns is the price is not ours to guess. */
			if (m->col[f] != NO_COLUMN) {
				char a[8], b[8];
				col_letters(m->col[f], a);
				col_letters(i, b);
				return pa_err_set(PA_EDATA, "%s: the header \"%s\" "
				    "(mapped to %s) occurs twice in header row %ld, "
				    "in columns %s and %s; rename one in the file, or "
				    "map the other header", m->label, p->column[f],
				    cat_field_name((enum cat_field)f), p->header_row,
				    a, b);
			}
			m->col[f] = i;
			col_letters(i, m->letters[f]);
		}
	}
	for (f = 0; f < CAT_NFIELDS; f++) {
		if (!p->column[f] || m->col[f] != NO_COLUMN)
			continue;
		for (i = 0; i < m->nheaders && fl + 8 < sizeof(found); i++)
			if (m->headers[i][0])
				fl += (size_t)snprintf(found + fl, sizeof(found) - fl,
				    "%s\"%s\"", fl ? ", " : "", m->headers[i]);
		if (fl == 0)
			snprintf(found, sizeof(found), "(none: the row is empty)");
		return pa_err_set(PA_EDATA, "%s: column \"%s\" (mapped to %s) is "
		    "not in the header row %ld; headers found: %s. Fix the "
		    "profile's column_mapping or header_row", m->label,
		    p->column[f], cat_field_name((enum cat_field)f), p->header_row,
		    found);
	}
	return PA_OK;
}

static int
row_is_empty(const struct rs_row *row)
{
	size_t i;

	for (i = 0; i < row->ncells; i++) {
		const char *s = row->cells[i].text;
		if (conv_trim(&s, row->cells[i].len) > 0)
			return 0;
	}
	return 1;
}

/* Convert the mapped cells of row into vals. On a bad value returns
 * PA_EINVAL with a message naming row, column and what to do. */
static int
map_row(struct mapper *m, const struct rs_row *row,
    struct cat_value *vals)
{
	const struct profile *p = m->prof;
	static const char empty[] = "";
	const char *col;
	int f, rc;

	m->warn[0] = '\0';
	for (f = 0; f < CAT_NFIELDS; f++) {
		const struct rs_cell *c;
		const char *s = empty;
		size_t len = 0;

		if (!p->column[f])
			continue;
		c = m->col[f] < row->ncells ? &row->cells[m->col[f]] : NULL;
		col = m->letters[f];
		if (c) {
			if (c->flags & RS_CELL_BAD_ENCODING)
				return pa_err_set(PA_EINVAL, "row %lu, column %s (\"%s\"): "
				    "text is not valid %s; nothing from this row was "
				    "stored. Save the file in the profile's encoding or "
				    "change file_format", row->row_number, col,
				    p->column[f], p->format == RS_CSV_CP1251 ?
				    "Windows-1251" : "UTF-8");
			s = c->text;
			len = conv_trim(&s, c->len);
			if ((enum cat_field)f == CAT_BARCODE && (rc = barcode_norm(m,
			    row, col, p->column[f], &s, &len)) != PA_OK)
				return rc;
		}
		vals[f].text = s;
		vals[f].len = len;
		switch (cat_field_kind((enum cat_field)f)) {
		case CAT_TEXT:
			if (len == 0 && (enum cat_field)f == p->upsert_field)
				return pa_err_set(PA_EINVAL, "row %lu, column %s (\"%s\"): "
				    "the %s is empty, so the product cannot be matched",
				    row->row_number, col, p->column[f],
				    cat_field_name((enum cat_field)f));
			break;
		case CAT_MONEY:
			rc = (c && (c->flags & RS_CELL_NUMBER)) ?
			    conv_money_num(s, len, &vals[f].money) :
			    conv_money(s, len, &vals[f].money);
			if (rc != PA_OK)
				return pa_err_wrap(PA_EINVAL, "row %lu, column %s (\"%s\"): ",
				    row->row_number, col, p->column[f]);
			break;
		case CAT_QTY:
			if (conv_qty(s, len, &vals[f].qty) != PA_OK)
				return pa_err_wrap(PA_EINVAL, "row %lu, column %s (\"%s\"): ",
				    row->row_number, col, p->column[f]);
			break;
		}
	}
	return PA_OK;
}

static int
log_row(const struct pipe_sink *sink, const struct mapper *m,
    enum job_level lvl, const struct rs_row *row, const char *msg)
{
	json_t *rd = row_data(m, row);
	int rc;

	if (rd == NULL)
		return PA_ENOMEM;
	rc = sink->log(sink->ctx, lvl, (long)row->row_number, msg, rd);
	json_decref(rd);
	return rc;
}

static int
preview_row(const struct pipe_sink *sink, const struct mapper *m,
    const struct rs_row *row, const struct cat_value *vals, const char *err)
{
	const struct profile *p = m->prof;
	char money[CONV_MONEY_BUFSZ];
	json_t *o = json_object();
	int f, rc;

	if (o == NULL)
		return PA_ENOMEM;
	for (f = 0; f < CAT_NFIELDS && !err; f++) {
		json_t *v = NULL;
		if (!p->column[f])
			continue;
		switch (cat_field_kind((enum cat_field)f)) {
		case CAT_TEXT:
			v = vals[f].len ? json_stringn(vals[f].text, vals[f].len) :
			    json_null();
			break;
		case CAT_MONEY:
			v = json_string(conv_money_fmt(vals[f].money, money));
			break;
		case CAT_QTY:
			v = json_real(vals[f].qty);
			break;
		}
		json_object_set_new(o, cat_field_name((enum cat_field)f), v);
	}
	if (err)
		json_object_set_new(o, "error", json_string(err));
	rc = sink->preview(sink->ctx, (long)row->row_number, o);
	json_decref(o);
	return rc;
}

static int
upsert_row(const struct pipe_opts *o, const struct pipe_sink *sink,
    const struct mapper *m, const struct rs_row *row,
    const struct cat_value *vals, struct pipe_stats *st)
{
	const struct profile *p = o->prof;
	const struct cat_value *key = &vals[p->upsert_field];
	enum cat_outcome out;
	char msg[512];
	int rc, repeated;

	if ((rc = cat_upsert(o->catalog, vals, &out, &repeated)) != PA_OK)
		return rc;
	switch (out) {
	case CAT_CREATED:
		st->created++;
		break;
	case CAT_UPDATED:
		st->updated++;
		break;
	case CAT_UNCHANGED:
		st->unchanged++;
		break;
	case CAT_SKIPPED:
		st->skipped++;
		break;
	case CAT_AMBIGUOUS:
		st->errors++;
		snprintf(msg, sizeof(msg), "row %lu: %s \"%.*s\" matches several "
		    "products in the catalog; nothing was written. Make the key "
		    "unique or import by another upsert_field", row->row_number,
		    cat_field_name(p->upsert_field), (int)key->len, key->text);
		return log_row(sink, m, JOB_ERROR, row, msg);
	case CAT_NONAME:
		st->errors++;
		snprintf(msg, sizeof(msg), "row %lu: new product %s \"%.*s\" has no "
		    "name%s; it was not created", row->row_number,
		    cat_field_name(p->upsert_field), (int)key->len, key->text,
		    p->column[CAT_NAME] ? "" : " (name is not in column_mapping)");
		return log_row(sink, m, JOB_ERROR, row, msg);
	}
	if (repeated) {
		snprintf(msg, sizeof(msg), "row %lu: %s \"%.*s\" appears earlier in "
		    "this file; this later row wins", row->row_number,
		    cat_field_name(p->upsert_field), (int)key->len, key->text);
		return log_row(sink, m, JOB_WARNING, row, msg);
	}
	return PA_OK;
}

/* Before commit: would this file move too many prices too far? */
static int
price_guard(const struct pipe_opts *o, const struct pipe_sink *sink,
    struct pipe_stats *st)
{
	const struct profile *p = o->prof;
	struct cat_price_stats ps;
	char msg[700], line[900];

	cat_price_stats(o->catalog, &ps);
	pg_decide(&ps, p->max_price_change_percent, p->max_changed_share_percent,
	    o->accept_price_changes, &st->guard, msg, sizeof(msg));
	st->guarded = 1;
	if (st->guard.verdict == PG_FAILED)
		return pa_err_set(PA_EDATA, "price guard: %s The catalog was not "
		    "changed. If the prices are right, accept them for one run: "
		    "posagent job reset %s, then posagent job run %s "
		    "--accept-price-changes", msg, o->job_name, o->job_name);
	if (st->guard.verdict != PG_ACCEPTED)
		return PA_OK;
	snprintf(line, sizeof(line), "price guard: %s Accepted for this run by "
	    "%s (--accept-price-changes)", msg, o->accepted_by ? o->accepted_by :
	    "?");
	return sink->log(sink->ctx, JOB_WARNING, 0, line, NULL);
}

static void
progress(rs *r, struct pipe_stats *st)
{
	unsigned long long done, total;

	rs_progress(r, &done, &total);
	st->progress = total ? 100.0 * (double)done / (double)total : 0;
	if (st->progress > 99.9)
		st->progress = 99.9; /* 100 means committed */
}

int
pipe_run(const struct pipe_opts *o, const struct pipe_sink *sink,
    struct pipe_stats *st)
{
	const struct profile *p = o->prof;
	struct cat_value vals[CAT_NFIELDS];
	struct mapper m;
	struct rs_opts ro;
	const struct rs_row *row;
	struct cat_plan plan;
	struct cat_counts counts;
	char msg[1200];
	unsigned long long done, total;
	unsigned long last_row = 0;
	long since_tick = 0, previewed = 0;
	int rc, have_header = 0, in_tx = 0;
	rs *r = NULL;

	memset(st, 0, sizeof(*st));
	memset(&m, 0, sizeof(m));
	memset(vals, 0, sizeof(vals));
	m.prof = p;
	m.label = o->file_label;
	memset(&ro, 0, sizeof(ro));
	ro.format = p->format;
	ro.delimiter = p->delimiter;
	ro.quote = p->quote;
	ro.sheet = p->sheet;
	ro.label = o->file_label;
	if ((rc = rs_open(o->path, &ro, &r)) != PA_OK)
		goto out;
	if (o->preview <= 0) {
		memset(&plan, 0, sizeof(plan));
		plan.mapped = p->mapped;
		plan.key = p->upsert_field;
		plan.create_missing = p->create_missing;
		plan.update_existing = p->update_existing;
		plan.supplier_code = p->supplier_code;
		plan.job_name = o->job_name;
		plan.job_uuid = o->job_uuid;
		rs_progress(r, &done, &total);
		plan.est_rows = (long)(total / (p->format == RS_XLSX ?
		    EST_XLSX_ROW_BYTES : EST_ROW_BYTES));
		plan.price_change_pct = p->max_price_change_percent;
		if ((rc = cat_import_begin(o->catalog, &plan)) != PA_OK)
			goto out;
		in_tx = 1;
	}
	for (;;) {
		if ((rc = rs_next(r, &row)) != PA_OK)
			goto out;
		if (row == NULL)
			break;
		last_row = row->row_number;
		if ((long)row->row_number < p->header_row)
			continue;
		if (!have_header) {
			/* The header row may be absent from a sparse sheet. */
			if ((long)row->row_number > p->header_row) {
				rc = pa_err_set(PA_EDATA, "%s: header row %ld is empty; "
				    "check the profile's header_row", o->file_label,
				    p->header_row);
				goto out;
			}
			if ((rc = take_header(&m, row)) != PA_OK)
				goto out;
			have_header = 1;
			continue;
		}
		if ((long)row->row_number < p->data_start_row)
			continue;
		if (row_is_empty(row) && p->skip_empty_rows)
			continue;
		st->total++;
		rc = map_row(&m, row, vals);
		if (o->preview > 0) {
			if ((rc = preview_row(sink, &m, row, vals, rc == PA_OK ? NULL :
			    pa_err_msg(rc))) != PA_OK)
				goto out;
			if (++previewed >= o->preview)
				break;
			continue;
		}
		if (rc == PA_EINVAL) {
			st->errors++;
			if ((rc = log_row(sink, &m, JOB_ERROR, row, pa_err_msg(rc))) != PA_OK)
				goto out;
		} else if (rc != PA_OK) {
			goto out;
		} else if ((rc = upsert_row(o, sink, &m, row, vals, st)) != PA_OK) {
			goto out;
		} else if (m.warn[0] &&
		    (rc = log_row(sink, &m, JOB_WARNING, row, m.warn)) != PA_OK) {
			goto out;
		}
		/* Fail fast (issue #8): a wrong file or profile makes every row
		 * an error; whatever max_error_percent says, stop at once. */
		if (st->total == PIPE_FAIL_FAST_ROWS && st->errors == st->total) {
			rc = pa_err_set(PA_EDATA, "%s: the first %d data rows are all "
			    "errors: wrong file or wrong profile? The catalog was not "
			    "changed. See: posagent log %s --level error",
			    o->file_label, PIPE_FAIL_FAST_ROWS, o->job_name);
			goto out;
		}
		if (++since_tick >= TICK_ROWS) {
			since_tick = 0;
			progress(r, st);
			if ((rc = sink->tick(sink->ctx, st)) != PA_OK)
				goto out;
		}
	}
	if (!have_header) {
		rc = pa_err_set(PA_EDATA, "%s has %lu rows, but the profile's "
		    "header_row is %ld: wrong file or wrong profile?",
		    o->file_label, last_row, p->header_row);
		goto out;
	}
	if (o->preview > 0)
		goto out;
	progress(r, st);
	if ((rc = sink->tick(sink->ctx, st)) != PA_OK)
		goto out;
	if (st->errors > 0 &&
	    100.0 * (double)st->errors / (double)st->total > p->max_error_percent) {
		rc = pa_err_set(PA_EDATA, "%ld of %ld rows (%.1f%%) have errors, "
		    "more than the profile's max_error_percent (%g%%); the catalog "
		    "was not changed. See the error rows with: posagent log %s "
		    "--level error", st->errors, st->total,
		    100.0 * (double)st->errors / (double)st->total,
		    p->max_error_percent, o->job_name);
		goto out;
	}
	if (st->total == 0) {
		snprintf(msg, sizeof(msg), "%s has no data rows after row %ld",
		    o->file_label, p->data_start_row - 1);
		if ((rc = sink->log(sink->ctx, JOB_WARNING, 0, msg, NULL)) != PA_OK)
			goto out;
	}
	if ((rc = price_guard(o, sink, st)) != PA_OK)
		goto out;
	if (o->dry_run)
		goto out;
	counts.created = st->created;
	counts.updated = st->updated;
	counts.unchanged = st->unchanged;
	counts.skipped = st->skipped;
	counts.errors = st->errors;
	counts.total = st->total;
	if ((rc = cat_import_commit(o->catalog, &counts)) != PA_OK)
		goto out;
	in_tx = 0;
	st->progress = 100;
out:
	if (in_tx)
		cat_import_rollback(o->catalog);
	mapper_free(&m);
	rs_close(r);
	return rc;
}

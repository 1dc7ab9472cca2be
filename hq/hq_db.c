/* hq_db — backend dispatch and result sets (see hq_db.h). */
#include "hq/hq_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"

struct hq_db {
	const struct hq_db_ops *ops;
	void *conn;
	int in_tx;
};

/* Rows are an array of cells, each one allocation holding its text; a
 * result set is read whole because the API's pages are bounded. */
struct hq_rows {
	int ncols, nrows, cap;
	char **cells;           /* nrows * ncols, NULL for SQL NULL */
};

int
hq_db_open(const char *spec, int busy_ms, hq_db **out)
{
	hq_db *db = NULL;
	int rc;

	*out = NULL;
	if ((db = pa_calloc(1, sizeof(*db))) == NULL)
		return PA_ENOMEM;
	db->ops = (strncmp(spec, "postgresql://", 13) == 0 ||
	    strncmp(spec, "postgres://", 11) == 0) ? &hq_db_pg_ops :
	    &hq_db_sqlite_ops;
	if ((rc = db->ops->open(spec, busy_ms, &db->conn)) != PA_OK)
		goto out;
	*out = db;
	db = NULL; /* transferred */
out:
	hq_db_close(db);
	return rc;
}

void
hq_db_close(hq_db *db)
{
	if (db == NULL)
		return;
	if (db->conn)
		db->ops->close(db->conn);
	pa_free(db);
}

const char *
hq_db_kind(const hq_db *db)
{
	return db->ops->name;
}

int
hq_db_exec(hq_db *db, const char *sql, const struct hq_val *p, int np,
    hq_rows **rows, long *changes)
{
	if (rows)
		*rows = NULL;
	if (changes)
		*changes = 0;
	return db->ops->exec(db->conn, sql, p, np, rows, changes);
}

int
hq_db_script(hq_db *db, const char *sql)
{
	return db->ops->script(db->conn, sql);
}

int
hq_db_begin(hq_db *db)
{
	int rc = db->ops->begin(db->conn, 0);

	db->in_tx = rc == PA_OK;
	return rc;
}

int
hq_db_begin_quick(hq_db *db)
{
	int rc = db->ops->begin(db->conn, 1);

	db->in_tx = rc == PA_OK;
	return rc;
}

int
hq_db_commit(hq_db *db)
{
	int rc = db->ops->commit(db->conn);

	if (rc != PA_OK)
		hq_db_rollback(db);
	db->in_tx = 0;
	return rc;
}

void
hq_db_rollback(hq_db *db)
{
	/* Keep the first error's message: the rollback's own is noise. */
	char keep[512];
	const char *m = pa_err_msg(PA_EDB);

	snprintf(keep, sizeof(keep), "%s", m);
	db->ops->rollback(db->conn);
	pa_err_set(PA_EDB, "%s", keep);
	db->in_tx = 0;
}

int
hq_db_batch_begin(hq_db *db)
{
	return db->ops->batch_begin ? db->ops->batch_begin(db->conn) : PA_OK;
}

int
hq_db_batch_exec(hq_db *db, const char *sql, const struct hq_val *p, int np,
    long *changes)
{
	if (changes)
		*changes = 0;
	if (db->ops->batch_exec)
		return db->ops->batch_exec(db->conn, sql, p, np, changes);
	return db->ops->exec(db->conn, sql, p, np, NULL, changes);
}

int
hq_db_batch_end(hq_db *db)
{
	return db->ops->batch_end ? db->ops->batch_end(db->conn) : PA_OK;
}

/* --- result sets --------------------------------------------------------- */

hq_rows *
hq__rows_new(int ncols)
{
	hq_rows *r = pa_calloc(1, sizeof(*r));

	if (r)
		r->ncols = ncols;
	return r;
}

int
hq__rows_add(hq_rows *r, const char *const *cells, const int *lens)
{
	char **nc;
	int c, base;

	if (r->nrows == r->cap) {
		int ncap = r->cap ? r->cap * 2 : 16;
		if ((nc = pa_realloc(r->cells, (size_t)ncap * (size_t)r->ncols *
		    sizeof(*nc))) == NULL)
			return PA_ENOMEM;
		r->cells = nc;
		r->cap = ncap;
	}
	base = r->nrows * r->ncols;
	for (c = 0; c < r->ncols; c++)
		r->cells[base + c] = NULL;
	r->nrows++;
	for (c = 0; c < r->ncols; c++) {
		if (cells[c] == NULL)
			continue;
		if ((r->cells[base + c] = pa_strndup(cells[c], (size_t)lens[c])) ==
		    NULL)
			return PA_ENOMEM;
	}
	return PA_OK;
}

int
hq_rows_count(const hq_rows *r)
{
	return r ? r->nrows : 0;
}

const char *
hq_rows_text(const hq_rows *r, int row, int col)
{
	if (r == NULL || row < 0 || row >= r->nrows || col < 0 || col >= r->ncols)
		return NULL;
	return r->cells[row * r->ncols + col];
}

int64_t
hq_rows_int(const hq_rows *r, int row, int col)
{
	const char *s = hq_rows_text(r, row, col);
	char *end;
	long long v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	/* A REAL column read as an integer ("12.0") keeps its integer part. */
	if (errno != 0 || end == s)
		return 0;
	return (int64_t)v;
}

void
hq_rows_free(hq_rows *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nrows * r->ncols; i++)
		pa_free(r->cells[i]);
	pa_free(r->cells);
	pa_free(r);
}

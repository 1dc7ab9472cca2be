/* cat_revert — undo one committed import (DESIGN §5, done → reverted). */
#include "agent/store/catalog.h"
#include "agent/store/cat_int.h"

#include <stdio.h>
#include <string.h>

#include "hal/sqlx.h"
#include "hal/hal.h"
#include "hal/pa_err.h"

#define CONFLICTS_NAMED 5    /* rows named in a refusal */

struct rec {
	int undo, reverted;
	sqlite3_int64 id_lo, id_hi, undo_lo, undo_hi;
};

static int
read_record(cat *c, const char *uuid, const char *name, struct rec *r)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = sqlx_prepare(c->db, "SELECT undo, reverted_at IS NOT NULL, "
	    "id_lo, id_hi, undo_lo, undo_hi FROM import_record WHERE "
	    "job_uuid = ?1", &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r->undo = sqlite3_column_int(st, 0);
		r->reverted = sqlite3_column_int(st, 1);
		r->id_lo = sqlite3_column_int64(st, 2);
		r->id_hi = sqlite3_column_int64(st, 3);
		r->undo_lo = sqlite3_column_int64(st, 4);
		r->undo_hi = sqlite3_column_int64(st, 5);
		rc = PA_OK;
	} else if (rc == SQLITE_DONE) {
		rc = pa_err_set(PA_ENOTFOUND, "job %s: the catalog holds no record "
		    "of its import (it never committed, or its record was pruned)",
		    name);
	} else {
		rc = sqlx_err(c->db, rc, "read import record");
	}
	sqlite3_finalize(st);
	return rc;
}

/* Rows of this import that another import changed since: a created row
 * or a changed row whose updated_job is no longer this job. */
static const char conflict_sql[] =
	"SELECT p.id, coalesce(p.default_code, p.barcode, p.name), "
	"  coalesce(p.updated_job, '?') FROM product p "
	"  WHERE p.id > ?1 AND p.id <= ?2 AND p.updated_job IS NOT ?5 "
	"UNION ALL "
	"SELECT DISTINCT u.product_id, coalesce(p.default_code, p.barcode, p.name, "
	"  u.default_code, u.barcode, u.name), "
	"  coalesce(p.updated_job, 'a revert (row removed)') "
	"  FROM undo_row u LEFT JOIN product p ON p.id = u.product_id "
	"  WHERE u.id BETWEEN ?3 AND ?4 AND p.updated_job IS NOT ?5 "
	"ORDER BY 1";

static int
conflicts(cat *c, const struct rec *r, const char *name)
{
	sqlite3_stmt *st = NULL;
	char msg[1024], later[16] = "";
	size_t n = 0;
	long count = 0;
	int rc, step;

	if ((rc = sqlx_prepare(c->db, conflict_sql, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, r->id_lo);
	sqlite3_bind_int64(st, 2, r->id_hi);
	sqlite3_bind_int64(st, 3, r->undo_lo);
	sqlite3_bind_int64(st, 4, r->undo_hi);
	sqlite3_bind_text(st, 5, name, -1, SQLITE_STATIC);
	msg[0] = '\0';
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 1);
		const char *by = (const char *)sqlite3_column_text(st, 2);
		if (count++ >= CONFLICTS_NAMED)
			continue;
		if (later[0] == '\0' && by && strncmp(by, "IMP/", 4) == 0)
			snprintf(later, sizeof(later), "%s", by);
		if (n < sizeof(msg))
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%sid %lld "
			    "\"%.60s\" (changed by %s)", count > 1 ? ", " : "",
			    (long long)sqlite3_column_int64(st, 0), key ? key : "",
			    by ? by : "?");
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return sqlx_err(c->db, step, "look for later changes");
	if (count == 0)
		return PA_OK;
	return pa_err_set(PA_ESTATE, "job %s cannot be reverted: %ld of its rows "
	    "were changed by a later import since: %s%s. Revert %s first; "
	    "nothing was changed", name, count, msg, count > CONFLICTS_NAMED ?
	    ", ..." : "", later[0] ? later : "the later import");
}

static int
count_rows(cat *c, const char *sql, sqlite3_int64 lo, sqlite3_int64 hi,
    long *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlx_prepare(c->db, sql, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = (long)sqlite3_column_int64(st, 0);
		rc = PA_OK;
	} else {
		rc = sqlx_err(c->db, rc, "count rows to revert");
	}
	sqlite3_finalize(st);
	return rc;
}

static int
exec_range(cat *c, const char *sql, sqlite3_int64 lo, sqlite3_int64 hi,
    const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlx_prepare(c->db, sql, &st)) != PA_OK)
		return rc;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	rc = cat__step_done(c, st, what);
	sqlite3_finalize(st);
	return rc;
}

/* Give changed rows their before-images back, newest image first (a row
 * written twice by one file has two; the older one holds the original).
 * Each UPDATE sets only the image's columns, so an import that moved
 * prices is undone without rewriting an index entry. Statements are made
 * per column mask, on demand. */
static int
restore(cat *c, const struct rec *r)
{
	sqlite3_stmt *sel = NULL, *upd[CAT__NMASKS];
	char sql[1024];
	unsigned mask;
	size_t n;
	int rc, step, i, k;

	memset(upd, 0, sizeof(upd));
	if ((rc = sqlx_prepare(c->db, "SELECT product_id, coalesce(mask, ?3), "
	    CAT__ROW_COLS " FROM undo_row WHERE id BETWEEN ?1 AND ?2 "
	    "ORDER BY id DESC", &sel)) != PA_OK)
		return rc;
	sqlite3_bind_int64(sel, 1, r->undo_lo);
	sqlite3_bind_int64(sel, 2, r->undo_hi);
	sqlite3_bind_int64(sel, 3, CAT__NMASKS - 1);
	while (rc == PA_OK && (step = sqlite3_step(sel)) == SQLITE_ROW) {
		mask = (unsigned)sqlite3_column_int64(sel, 1) & (CAT__NMASKS - 1);
		if (upd[mask] == NULL) {
			/* Column names from our whitelist; values bound. Parameter
			 * k + 1 is column k of CAT__ROW_COLS (sel column k + 2). */
			n = (size_t)snprintf(sql, sizeof(sql), "UPDATE product SET ");
			for (k = 0; k < CAT_NFIELDS; k++)
				if (mask & (1u << k))
					n += (size_t)snprintf(sql + n, sizeof(sql) - n,
					    "%s = ?%d, ", cat__col((enum cat_field)k), k + 1);
			if (mask & CAT__SUPPLIER_BIT)
				n += (size_t)snprintf(sql + n, sizeof(sql) - n,
				    "supplier_code = ?%d, ", CAT_NFIELDS + 1);
			snprintf(sql + n, sizeof(sql) - n, "updated_job = ?%d, "
			    "updated_at = ?%d WHERE id = ?%d", CAT_NFIELDS + 2,
			    CAT_NFIELDS + 3, CAT_NFIELDS + 4);
			if ((rc = sqlx_prepare(c->db, sql, &upd[mask])) != PA_OK)
				break;
		}
		for (i = 0; i < CAT_NFIELDS + 3; i++)
			sqlite3_bind_value(upd[mask], i + 1,
			    sqlite3_column_value(sel, i + 2));
		sqlite3_bind_int64(upd[mask], CAT_NFIELDS + 4,
		    sqlite3_column_int64(sel, 0));
		rc = cat__step_done(c, upd[mask], "restore changed rows");
	}
	if (rc == PA_OK && step != SQLITE_DONE)
		rc = sqlx_err(c->db, step, "read before-images");
	sqlite3_finalize(sel);
	for (mask = 0; mask < CAT__NMASKS; mask++)
		sqlite3_finalize(upd[mask]);
	return rc;
}

static int
mark_reverted(cat *c, const char *uuid, const char *now)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlx_prepare(c->db, "UPDATE import_record SET undo = 0, "
	    "reverted_at = ?2 WHERE job_uuid = ?1", &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
	rc = cat__step_done(c, st, "mark import reverted");
	sqlite3_finalize(st);
	return rc;
}

int
cat_revert(cat *c, const char *job_uuid, const char *job_name, int dry_run,
    struct cat_revert_res *res)
{
	struct rec r;
	char now[32];
	int rc;

	memset(res, 0, sizeof(*res));
	if (c->in_tx)
		return pa_err_set(PA_EINTERNAL, "revert inside an import");
	/* One write transaction: the check and the restore see the same rows. */
	if ((rc = sqlx_exec(c->db, "BEGIN IMMEDIATE", "begin revert")) != PA_OK)
		return rc;
	if ((rc = read_record(c, job_uuid, job_name, &r)) != PA_OK)
		goto out;
	if (r.reverted) {
		res->already = 1;
		goto out;
	}
	if (!r.undo) {
		rc = pa_err_set(PA_ESTATE, "job %s cannot be reverted: its "
		    "before-images are not kept (imported by an older posagent, "
		    "or already dropped)", job_name);
		goto out;
	}
	if ((rc = conflicts(c, &r, job_name)) != PA_OK)
		goto out;
	if ((rc = count_rows(c, "SELECT count(*) FROM product WHERE id > ?1 AND "
	    "id <= ?2", r.id_lo, r.id_hi, &res->removed)) != PA_OK ||
	    (rc = count_rows(c, "SELECT count(DISTINCT product_id) FROM undo_row "
	    "WHERE id BETWEEN ?1 AND ?2", r.undo_lo, r.undo_hi, &res->restored)) != PA_OK)
		goto out;
	if (dry_run)
		goto out;
	hal_now_iso(now);
	/* No conflicts: every row in the created range is this import's. */
	if ((rc = exec_range(c, "DELETE FROM product WHERE id > ?1 AND id <= ?2",
	    r.id_lo, r.id_hi, "remove created rows")) != PA_OK ||
	    (rc = restore(c, &r)) != PA_OK ||
	    (rc = exec_range(c, "DELETE FROM undo_row WHERE id BETWEEN ?1 AND ?2",
	    r.undo_lo, r.undo_hi, "drop before-images")) != PA_OK ||
	    (rc = mark_reverted(c, job_uuid, now)) != PA_OK)
		goto out;
	rc = PA_OK;
out:
	if (rc == PA_OK && !dry_run && !res->already)
		rc = sqlx_exec(c->db, "COMMIT", "commit revert");
	if (!sqlite3_get_autocommit(c->db))
		sqlx_exec(c->db, "ROLLBACK", "roll back revert");
	return rc;
}

/* catalog — schema, open, the field whitelist, the import record and the
 * retention of before-images. The import itself is cat_import.c, the
 * revert cat_revert.c. */
#include "agent/store/catalog.h"
#include "agent/store/cat_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hal/sqlx.h"
#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

static const struct {
	const char *name;
	enum cat_kind kind;
	int key;
} fields[CAT_NFIELDS] = {
	[CAT_DEFAULT_CODE]   = { "default_code",   CAT_TEXT,  1 },
	[CAT_BARCODE]        = { "barcode",        CAT_TEXT,  1 },
	[CAT_NAME]           = { "name",           CAT_TEXT,  1 },
	[CAT_LIST_PRICE]     = { "list_price",     CAT_MONEY, 0 },
	[CAT_STANDARD_PRICE] = { "standard_price", CAT_MONEY, 0 },
	[CAT_QTY_AVAILABLE]  = { "qty_available",  CAT_QTY,   0 },
	[CAT_CATEGORY]       = { "category",       CAT_TEXT,  0 },
	[CAT_BRAND]          = { "brand",          CAT_TEXT,  0 },
	[CAT_UOM]            = { "uom",            CAT_TEXT,  0 },
};

/* Forward-only migrations; index i brings user_version from i to i+1.
 * Never edit a shipped step: append a new one. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE product("
	"  id INTEGER PRIMARY KEY,"
	"  default_code TEXT,"
	"  barcode TEXT,"
	"  name TEXT NOT NULL,"
	"  list_price INTEGER,"
	"  standard_price INTEGER,"
	"  qty_available REAL,"
	"  category TEXT, brand TEXT, uom TEXT,"
	"  supplier_code TEXT,"
	"  updated_job TEXT,"
	"  updated_at TEXT);"
	"CREATE TABLE import_record("
	"  job_uuid TEXT PRIMARY KEY,"
	"  job_name TEXT NOT NULL,"
	"  created INTEGER NOT NULL, updated INTEGER NOT NULL,"
	"  skipped INTEGER NOT NULL, errors INTEGER NOT NULL,"
	"  total INTEGER NOT NULL,"
	"  committed_at TEXT NOT NULL);"
	"CREATE INDEX product_default_code ON product(default_code);"
	"CREATE INDEX product_barcode ON product(barcode);"
	"CREATE INDEX product_name ON product(name);",
	/* 1 -> 2: unchanged rows; what a revert needs. The rows an import
	 * created are id_lo < id <= id_hi (ids only grow inside one import);
	 * the before-images of the rows it changed are undo_row ids
	 * undo_lo..undo_hi, appended in one run, so neither needs an index.
	 * undo = 1 while they are kept. */
	"ALTER TABLE import_record ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE import_record ADD COLUMN undo INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE import_record ADD COLUMN id_lo INTEGER;"
	"ALTER TABLE import_record ADD COLUMN id_hi INTEGER;"
	"ALTER TABLE import_record ADD COLUMN undo_lo INTEGER;"
	"ALTER TABLE import_record ADD COLUMN undo_hi INTEGER;"
	"ALTER TABLE import_record ADD COLUMN reverted_at TEXT;"
	"CREATE TABLE undo_row("
	"  id INTEGER PRIMARY KEY,"
	"  product_id INTEGER NOT NULL,"
	"  default_code TEXT, barcode TEXT, name TEXT NOT NULL,"
	"  list_price INTEGER, standard_price INTEGER, qty_available REAL,"
	"  category TEXT, brand TEXT, uom TEXT, supplier_code TEXT,"
	"  updated_job TEXT, updated_at TEXT);",
	/* 2 -> 3: a before-image keeps only the columns its write changed
	 * (bit per field as in enum cat_field, 512 = supplier_code); NULL, as
	 * in the rows of 2, means every column. */
	"ALTER TABLE undo_row ADD COLUMN mask INTEGER;",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The POS's indexes (DESIGN §3), one per key field. A large import into a
 * small catalog drops the ones it does not look up by and builds them
 * again before its commit: sorting once beats a million random B-tree
 * inserts, and readers never see the gap (they read the last committed
 * snapshot). */
static const struct {
	enum cat_field field;
	const char *drop, *create;
} indexes[] = {
	{ CAT_DEFAULT_CODE, "DROP INDEX product_default_code",
	  "CREATE INDEX product_default_code ON product(default_code)" },
	{ CAT_BARCODE, "DROP INDEX product_barcode",
	  "CREATE INDEX product_barcode ON product(barcode)" },
	{ CAT_NAME, "DROP INDEX product_name",
	  "CREATE INDEX product_name ON product(name)" },
};
#define NINDEXES (sizeof(indexes) / sizeof(indexes[0]))

/* Rebuild indexes only when the file is big, and mostly new rows: a
 * rebuild costs (and writes) the whole table, random inserts only the new
 * rows. A re-import of the same list must not rewrite the indexes, so a
 * catalog that holds rows needs a file estimated at CAT_BULK_RATIO times
 * as many (the estimate comes from the file's size and may be off by that
 * much: it once rebuilt them on every XLSX re-import, issue #15). */
#define CAT_BULK_MIN_ROWS 20000
#define CAT_BULK_RATIO 4

const char *
cat_field_name(enum cat_field f)
{
	return (unsigned)f < CAT_NFIELDS ? fields[f].name : "?";
}

const char *
cat__col(enum cat_field f)
{
	return fields[f].name;
}

enum cat_kind
cat_field_kind(enum cat_field f)
{
	return fields[f].kind;
}

int
cat_field_is_key(enum cat_field f)
{
	return (unsigned)f < CAT_NFIELDS && fields[f].key;
}

int
cat_field_parse(const char *name, enum cat_field *f)
{
	int i;

	for (i = 0; i < CAT_NFIELDS; i++)
		if (strcmp(name, fields[i].name) == 0) {
			*f = (enum cat_field)i;
			return PA_OK;
		}
	return PA_ENOTFOUND;
}

int
cat__step_done(cat *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? PA_OK : sqlx_err(c->db, rc, what);
}

int
cat__max_id(cat *c, sqlite3_int64 *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	/* max(rowid) is one B-tree descent; count(*) would scan. */
	if ((rc = sqlx_prepare(c->db, "SELECT coalesce(max(rowid), 0) FROM product",
	    &st)) != PA_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = PA_OK;
	} else {
		rc = sqlx_err(c->db, rc, "read the catalog's last id");
	}
	sqlite3_finalize(st);
	return rc;
}

int
cat__create_indexes(cat *c, unsigned which)
{
	size_t i;
	int rc;

	for (i = 0; i < NINDEXES; i++)
		if ((which & (1u << i)) && (rc = sqlx_exec(c->db, indexes[i].create,
		    "build catalog index")) != PA_OK)
			return rc;
	return PA_OK;
}

/* Inside the import transaction: drop the indexes the import does not look
 * up by, when the file is large and mostly new rows (CAT_BULK_MIN_ROWS). */
int
cat__drop_bulk_indexes(cat *c, long est_rows)
{
	size_t i;
	int rc;

	c->rebuild = 0;
	if (est_rows < CAT_BULK_MIN_ROWS ||
	    c->pre_max * CAT_BULK_RATIO > (sqlite3_int64)est_rows)
		return PA_OK;
	for (i = 0; i < NINDEXES; i++) {
		if (indexes[i].field == c->plan.key)
			continue;
		if ((rc = sqlx_exec(c->db, indexes[i].drop, "drop catalog index"))
		    != PA_OK)
			return rc;
		c->rebuild |= 1u << i;
	}
	return PA_OK;
}

static int
migrate(cat *c, const char *path)
{
	int rc, v, i;

	if ((rc = sqlx_user_version(c->db, &v)) != PA_OK)
		return rc;
	if (v > NMIGRATIONS)
		return pa_err_set(PA_EDB, "%s: schema version %d is newer than this "
		    "posagent understands (%d): upgrade posagent", path, v,
		    NMIGRATIONS);
	if (v == NMIGRATIONS)
		return PA_OK;
	if ((rc = sqlx_exec(c->db, "BEGIN IMMEDIATE", path)) != PA_OK)
		return rc;
	/* Re-read under the write lock: two first commands may race to
	 * migrate (issue #8). */
	if ((rc = sqlx_user_version(c->db, &v)) == PA_OK && v > NMIGRATIONS)
		rc = pa_err_set(PA_EDB, "%s: schema version %d is newer than this "
		    "posagent understands (%d): upgrade posagent", path, v,
		    NMIGRATIONS);
	for (i = v; i < NMIGRATIONS && rc == PA_OK; i++)
		rc = sqlx_exec(c->db, migrations[i], "migrate catalog schema");
	if (rc == PA_OK)
		rc = sqlx_set_user_version(c->db, NMIGRATIONS);
	if (rc == PA_OK)
		rc = sqlx_exec(c->db, "COMMIT", path);
	if (rc != PA_OK)
		sqlx_exec(c->db, "ROLLBACK", path);
	return rc;
}

int
cat_open(const char *data_dir, cat **out)
{
	char path[PATH_MAX];
	cat *c = NULL;
	int rc;

	*out = NULL;
	if ((rc = hal_mkdirs(data_dir)) != PA_OK)
		return rc;
	if ((size_t)snprintf(path, sizeof(path), "%s/catalog.db", data_dir) >=
	    sizeof(path))
		return pa_err_set(PA_ECONFIG, "data_dir too long: %s", data_dir);
	if ((c = pa_calloc(1, sizeof(*c))) == NULL)
		return PA_ENOMEM;
	/* One commit per import, so FULL costs one fsync and keeps the
	 * import record as durable as the job state that refers to it. */
	if ((rc = sqlx_open(path, SQLX_SYNC_FULL, &c->db)) != PA_OK)
		goto out;
	/* 2 MiB of pages (and of sorter memory when indexes are rebuilt):
	 * measured as fast as 4 or 6 MiB once large imports rebuild their
	 * indexes, and it keeps peak RSS small on the terminal. */
	if ((rc = sqlx_exec(c->db, "PRAGMA cache_size=-2048", path)) != PA_OK)
		goto out;
	if ((rc = migrate(c, path)) != PA_OK)
		goto out;
	if ((rc = sqlx_prepare(c->db, "SELECT created, updated, unchanged, "
	    "skipped, errors, total FROM import_record WHERE job_uuid = ?1",
	    &c->record)) != PA_OK)
		goto out;
	*out = c;
	c = NULL; /* transferred */
out:
	cat_close(c);
	return rc;
}

void
cat_close(cat *c)
{
	if (c == NULL)
		return;
	cat_import_rollback(c);
	sqlite3_finalize(c->record);
	sqlx_close(c->db);
	pa_free(c);
}

int
cat_import_record(cat *c, const char *job_uuid, int *found,
    struct cat_counts *n)
{
	int rc;

	*found = 0;
	memset(n, 0, sizeof(*n));
	sqlite3_bind_text(c->record, 1, job_uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(c->record);
	if (rc == SQLITE_ROW) {
		*found = 1;
		n->created = (long)sqlite3_column_int64(c->record, 0);
		n->updated = (long)sqlite3_column_int64(c->record, 1);
		n->unchanged = (long)sqlite3_column_int64(c->record, 2);
		n->skipped = (long)sqlite3_column_int64(c->record, 3);
		n->errors = (long)sqlite3_column_int64(c->record, 4);
		n->total = (long)sqlite3_column_int64(c->record, 5);
		rc = PA_OK;
	} else if (rc == SQLITE_DONE) {
		rc = PA_OK;
	} else {
		rc = sqlx_err(c->db, rc, "read import record");
	}
	sqlite3_reset(c->record);
	return rc;
}

/* Bounded: a sweep looks at this many records; the rest wait for the next
 * one (a record is a few dozen bytes, held only while sweeping). */
#define SWEEP_MAX 4096

int
cat_undo_sweep(cat *c, int (*exists)(void *ctx, const char *uuid, int *yes),
    void *ctx, long *dropped)
{
	sqlite3_stmt *st = NULL, *del = NULL, *rec = NULL;
	char (*gone)[37] = NULL;
	size_t n = 0, i;
	int rc, step, yes;

	*dropped = 0;
	if ((gone = pa_calloc(SWEEP_MAX, sizeof(*gone))) == NULL)
		return PA_ENOMEM;
	/* Read first, without the write lock: usually nothing is gone. */
	if ((rc = sqlx_prepare(c->db, "SELECT job_uuid FROM import_record",
	    &st)) != PA_OK)
		goto out;
	while (n < SWEEP_MAX && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *u = (const char *)sqlite3_column_text(st, 0);
		if (u == NULL || strlen(u) >= sizeof(gone[0]))
			continue;
		if ((rc = exists(ctx, u, &yes)) != PA_OK)
			goto out;
		if (!yes)
			memcpy(gone[n++], u, strlen(u) + 1);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (n == 0)
		goto out;
	if ((rc = sqlx_exec(c->db, "BEGIN IMMEDIATE", "sweep before-images")) != PA_OK) {
		if (rc == PA_ELOCKED)
			rc = PA_OK; /* an import holds the catalog: next time */
		goto out;
	}
	if ((rc = sqlx_prepare(c->db, "DELETE FROM undo_row WHERE id BETWEEN "
	    "(SELECT undo_lo FROM import_record WHERE job_uuid = ?1) AND "
	    "(SELECT undo_hi FROM import_record WHERE job_uuid = ?1 AND undo = 1)",
	    &del)) != PA_OK ||
	    (rc = sqlx_prepare(c->db, "DELETE FROM import_record WHERE job_uuid = ?1",
	    &rec)) != PA_OK)
		goto out;
	for (i = 0; i < n && rc == PA_OK; i++) {
		sqlite3_bind_text(del, 1, gone[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(rec, 1, gone[i], -1, SQLITE_STATIC);
		if ((rc = cat__step_done(c, del, "drop before-images")) == PA_OK)
			rc = cat__step_done(c, rec, "drop import record");
	}
	if (rc == PA_OK)
		rc = sqlx_exec(c->db, "COMMIT", "sweep before-images");
	if (rc == PA_OK)
		*dropped = (long)n;
out:
	if (!sqlite3_get_autocommit(c->db) && !c->in_tx)
		sqlx_exec(c->db, "ROLLBACK", "sweep before-images");
	sqlite3_finalize(st);
	sqlite3_finalize(del);
	sqlite3_finalize(rec);
	pa_free(gone);
	return rc;
}

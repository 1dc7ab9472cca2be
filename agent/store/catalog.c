#include "agent/store/catalog.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "agent/store/sqlx.h"
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

/* The lookup per key field; column names come from the whitelist above,
 * never from input. LIMIT 2 is enough to tell "one" from "several". */
static const char *const lookup_sql[CAT_NFIELDS] = {
	[CAT_DEFAULT_CODE] =
	    "SELECT id, updated_job FROM product WHERE default_code = ?1 LIMIT 2",
	[CAT_BARCODE] =
	    "SELECT id, updated_job FROM product WHERE barcode = ?1 LIMIT 2",
	[CAT_NAME] =
	    "SELECT id, updated_job FROM product WHERE name = ?1 LIMIT 2",
};

static const char *const schema_v1 =
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
	"  committed_at TEXT NOT NULL);";

/* The POS's indexes (DESIGN §3), one per key field. A large import drops
 * the ones it does not look up by and builds them again before its commit:
 * sorting once beats a million random B-tree inserts, and readers never see
 * the gap (they read the last committed snapshot). */
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

/* Rebuild indexes only when the file is big, and big next to the catalog:
 * rebuilding costs the whole table, random inserts cost each new row. */
#define CAT_BULK_MIN_ROWS 20000

struct cat {
	sqlite3 *db;
	sqlite3_stmt *lookup, *insert, *update, *record;
	struct cat_plan plan;
	int nins;                   /* bound parameters before the trailer */
	unsigned rebuild;           /* bit per indexes[] entry dropped */
	char now[32];
	int in_tx;
};

const char *
cat_field_name(enum cat_field f)
{
	return (unsigned)f < CAT_NFIELDS ? fields[f].name : "?";
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

static int
create_indexes(cat *c, unsigned which)
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
 * up by, when the file is large next to the catalog (see CAT_BULK_MIN_ROWS). */
static int
maybe_drop_indexes(cat *c, long est_rows)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 existing = 0;
	size_t i;
	int rc;

	c->rebuild = 0;
	if (est_rows < CAT_BULK_MIN_ROWS)
		return PA_OK;
	/* max(rowid) is one B-tree descent; count(*) would scan. */
	if ((rc = sqlx_prepare(c->db, "SELECT coalesce(max(rowid), 0) FROM product",
	    &st)) != PA_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		existing = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if ((sqlite3_int64)est_rows * 4 < existing)
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

int
cat_open(const char *data_dir, cat **out)
{
	char path[PATH_MAX];
	cat *c = NULL;
	int rc, v;

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
	if ((rc = sqlx_user_version(c->db, &v)) != PA_OK)
		goto out;
	if (v > 1) {
		rc = pa_err_set(PA_EDB, "%s: schema version %d is newer than this "
		    "posagent understands (1): upgrade posagent", path, v);
		goto out;
	}
	if (v == 0) {
		if ((rc = sqlx_exec(c->db, "BEGIN IMMEDIATE", path)) != PA_OK)
			goto out;
		/* Re-read under the write lock: two first commands may race to
		 * create the schema (issue #8). */
		if ((rc = sqlx_user_version(c->db, &v)) != PA_OK || (v == 0 &&
		    ((rc = sqlx_exec(c->db, schema_v1, "create catalog schema")) != PA_OK ||
		    (rc = create_indexes(c, ~0u)) != PA_OK ||
		    (rc = sqlx_set_user_version(c->db, 1)) != PA_OK)) ||
		    (rc = sqlx_exec(c->db, "COMMIT", path)) != PA_OK) {
			sqlx_exec(c->db, "ROLLBACK", path);
			goto out;
		}
	}
	if ((rc = sqlx_prepare(c->db, "SELECT created, updated, skipped, errors, "
	    "total FROM import_record WHERE job_uuid = ?1", &c->record)) != PA_OK)
		goto out;
	*out = c;
	c = NULL; /* transferred */
out:
	cat_close(c);
	return rc;
}

static void
finalize_import(cat *c)
{
	sqlite3_finalize(c->lookup);
	sqlite3_finalize(c->insert);
	sqlite3_finalize(c->update);
	c->lookup = c->insert = c->update = NULL;
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

/* Build the INSERT and UPDATE text for the mapped fields. Only whitelisted
 * column names go in; every value is a bound parameter. */
static int
build_sql(const struct cat_plan *p, char *ins, size_t inslen, char *upd,
    size_t updlen, int *nparams)
{
	size_t il, ul;
	int i, n = 0;

	il = (size_t)snprintf(ins, inslen, "INSERT INTO product(");
	ul = (size_t)snprintf(upd, updlen, "UPDATE product SET ");
	for (i = 0; i < CAT_NFIELDS; i++) {
		if (!(p->mapped & (1u << i)))
			continue;
		n++;
		il += (size_t)snprintf(ins + il, inslen - il, "%s, ", fields[i].name);
		/* An empty name on update keeps the old one: name is NOT NULL
		 * and only a *new* product without a name is an error row. */
		ul += (size_t)snprintf(upd + ul, updlen - ul, i == CAT_NAME ?
		    "%s = COALESCE(?%d, name), " : "%s = ?%d, ", fields[i].name, n);
	}
	if (p->supplier_code && *p->supplier_code) {
		il += (size_t)snprintf(ins + il, inslen - il, "supplier_code, ");
		ul += (size_t)snprintf(upd + ul, updlen - ul,
		    "supplier_code = ?%d, ", n + 1);
	}
	il += (size_t)snprintf(ins + il, inslen - il,
	    "updated_job, updated_at) VALUES (");
	ul += (size_t)snprintf(upd + ul, updlen - ul,
	    "updated_job = ?%d, updated_at = ?%d WHERE id = ?%d", n + 2, n + 3,
	    n + 4);
	for (i = 1; i <= n + 3; i++) {
		if (i == n + 1 && !(p->supplier_code && *p->supplier_code))
			continue;
		il += (size_t)snprintf(ins + il, inslen - il, "%s?%d",
		    i == 1 ? "" : ", ", i);
	}
	snprintf(ins + il, inslen - il, ")");
	*nparams = n;
	/* Cannot overflow: at most nine short names; checked for safety. */
	return (il + 2 < inslen && ul + 1 < updlen) ? PA_OK : PA_EINTERNAL;
}

int
cat_import_begin(cat *c, const struct cat_plan *plan)
{
	char ins[1024], upd[1024];
	int rc;

	if (!cat_field_is_key(plan->key) || !(plan->mapped & (1u << plan->key)))
		return pa_err_set(PA_EINTERNAL, "import plan without a mapped key");
	c->plan = *plan;
	hal_now_iso(c->now);
	if ((rc = build_sql(plan, ins, sizeof(ins), upd, sizeof(upd), &c->nins))
	    != PA_OK)
		return rc;
	if ((rc = sqlx_exec(c->db, "BEGIN IMMEDIATE", "begin catalog import")) != PA_OK)
		return rc;
	c->in_tx = 1;
	/* Statements are prepared after any schema change so they never need
	 * re-preparing mid-import. */
	if ((rc = maybe_drop_indexes(c, plan->est_rows)) != PA_OK)
		goto out;
	if ((rc = sqlx_prepare(c->db, lookup_sql[plan->key], &c->lookup)) != PA_OK ||
	    (rc = sqlx_prepare(c->db, ins, &c->insert)) != PA_OK ||
	    (rc = sqlx_prepare(c->db, upd, &c->update)) != PA_OK)
		goto out;
out:
	if (rc != PA_OK)
		cat_import_rollback(c);
	return rc;
}

static int
bind_values(cat *c, sqlite3_stmt *st, const struct cat_value *vals)
{
	const struct cat_plan *p = &c->plan;
	int i, n = 0, rc = SQLITE_OK;

	for (i = 0; i < CAT_NFIELDS && rc == SQLITE_OK; i++) {
		if (!(p->mapped & (1u << i)))
			continue;
		n++;
		switch (fields[i].kind) {
		case CAT_TEXT:
			rc = sqlx_bind_text(st, n, vals[i].text, vals[i].len, 1);
			break;
		case CAT_MONEY:
			rc = sqlite3_bind_int64(st, n, vals[i].money);
			break;
		case CAT_QTY:
			rc = sqlite3_bind_double(st, n, vals[i].qty);
			break;
		}
	}
	if (rc == SQLITE_OK && p->supplier_code && *p->supplier_code)
		rc = sqlite3_bind_text(st, n + 1, p->supplier_code, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, n + 2, p->job_name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, n + 3, c->now, -1, SQLITE_STATIC);
	return rc == SQLITE_OK ? PA_OK : sqlx_err(c->db, rc, "bind product values");
}

static int
step_done(cat *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? PA_OK : sqlx_err(c->db, rc, what);
}

int
cat_upsert(cat *c, const struct cat_value *vals, enum cat_outcome *outcome,
    int *repeated)
{
	const struct cat_value *key = &vals[c->plan.key];
	sqlite3_int64 id = 0;
	int rc, matches = 0, step;

	*repeated = 0;
	sqlx_bind_text(c->lookup, 1, key->text, key->len, 0);
	while ((step = sqlite3_step(c->lookup)) == SQLITE_ROW) {
		const unsigned char *job = sqlite3_column_text(c->lookup, 1);
		id = sqlite3_column_int64(c->lookup, 0);
		if (job && strcmp((const char *)job, c->plan.job_name) == 0)
			*repeated = 1;
		matches++;
	}
	sqlite3_reset(c->lookup);
	if (step != SQLITE_DONE)
		return sqlx_err(c->db, step, "look up product");
	if (matches > 1) {
		*outcome = CAT_AMBIGUOUS;
		return PA_OK;
	}
	if (matches == 0) {
		if (!c->plan.create_missing) {
			*outcome = CAT_SKIPPED;
			return PA_OK;
		}
		if (!(c->plan.mapped & (1u << CAT_NAME)) || vals[CAT_NAME].len == 0) {
			*outcome = CAT_NONAME;
			return PA_OK;
		}
		if ((rc = bind_values(c, c->insert, vals)) != PA_OK)
			return rc;
		*outcome = CAT_CREATED;
		return step_done(c, c->insert, "insert product");
	}
	/* A key written earlier in this file is applied as an update even
	 * under update_existing = false: the later row wins (DESIGN §5). */
	if (!c->plan.update_existing && !*repeated) {
		*outcome = CAT_SKIPPED;
		return PA_OK;
	}
	if ((rc = bind_values(c, c->update, vals)) != PA_OK)
		return rc;
	sqlite3_bind_int64(c->update, c->nins + 4, id);
	*outcome = CAT_UPDATED;
	return step_done(c, c->update, "update product");
}

int
cat_import_commit(cat *c, long created, long updated, long skipped,
    long errors, long total)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc;

	if (!c->in_tx)
		return pa_err_set(PA_EINTERNAL, "no catalog import open");
	hal_now_iso(now);
	finalize_import(c);
	if ((rc = create_indexes(c, c->rebuild)) != PA_OK)
		goto out;
	c->rebuild = 0;
	if ((rc = sqlx_prepare(c->db, "INSERT OR REPLACE INTO import_record(job_uuid, "
	    "job_name, created, updated, skipped, errors, total, committed_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &st)) != PA_OK)
		goto out;
	sqlite3_bind_text(st, 1, c->plan.job_uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->plan.job_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, created);
	sqlite3_bind_int64(st, 4, updated);
	sqlite3_bind_int64(st, 5, skipped);
	sqlite3_bind_int64(st, 6, errors);
	sqlite3_bind_int64(st, 7, total);
	sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
	if ((rc = step_done(c, st, "record import")) != PA_OK)
		goto out;
	if ((rc = sqlx_exec(c->db, "COMMIT", "commit catalog import")) != PA_OK)
		goto out;
	c->in_tx = 0;
out:
	sqlite3_finalize(st);
	if (rc != PA_OK)
		cat_import_rollback(c);
	return rc;
}

void
cat_import_rollback(cat *c)
{
	finalize_import(c);
	/* The rollback also restores any index the import dropped. */
	if (c->in_tx && !sqlite3_get_autocommit(c->db))
		sqlx_exec(c->db, "ROLLBACK", "roll back catalog import");
	c->in_tx = 0;
	c->rebuild = 0;
}

int
cat_import_record(cat *c, const char *job_uuid, int *found, long counts[5])
{
	int rc, i;

	*found = 0;
	sqlite3_bind_text(c->record, 1, job_uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(c->record);
	if (rc == SQLITE_ROW) {
		*found = 1;
		for (i = 0; i < 5; i++)
			counts[i] = (long)sqlite3_column_int64(c->record, i);
		rc = PA_OK;
	} else if (rc == SQLITE_DONE) {
		rc = PA_OK;
	} else {
		rc = sqlx_err(c->db, rc, "read import record");
	}
	sqlite3_reset(c->record);
	return rc;
}

/* cat_import — one import's writes to the catalog (DESIGN §5): look up each
 * row's product, compare, write only what changed, keep the before-image of
 * what it changes, and gather the price guard's statistics. */
#include "agent/store/catalog.h"
#include "agent/store/cat_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hal/sqlx.h"
#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

/* Parameter numbers shared by the INSERT and every UPDATE: field f is
 * ?(f + 1); then supplier_code, updated_job, updated_at, id. */
#define P_SUPPLIER (CAT_NFIELDS + 1)
#define P_JOB      (CAT_NFIELDS + 2)
#define P_AT       (CAT_NFIELDS + 3)
#define P_ID       (CAT_NFIELDS + 4)

/* Lookup columns: id, updated_job, then the fields in enum order (column
 * 2 + f), then supplier_code. LIMIT 2 tells "one" from "several". */
#define L_FIELD(f) (2 + (int)(f))
#define L_SUPPLIER (2 + CAT_NFIELDS)
#define LOOKUP_COLS "SELECT id, updated_job, default_code, barcode, name, " \
	"list_price, standard_price, qty_available, category, brand, uom, " \
	"supplier_code FROM product WHERE "
static const char *const lookup_sql[CAT_NFIELDS] = {
	[CAT_DEFAULT_CODE] = LOOKUP_COLS "default_code = ?1 LIMIT 2",
	[CAT_BARCODE] = LOOKUP_COLS "barcode = ?1 LIMIT 2",
	[CAT_NAME] = LOOKUP_COLS "name = ?1 LIMIT 2",
};

/* The before-image is copied inside SQLite: no value crosses into C. Only
 * the columns this write changes (mask ?2, bit per field, CAT__SUPPLIER_BIT)
 * are kept, and who wrote the row before: a price list that moves prices
 * keeps two numbers a row, not the row. name is NOT NULL in the table, so
 * an unkept name is ''; the mask says what is meaningful. */
static const char undo_sql[] =
	"INSERT INTO undo_row(product_id, mask, " CAT__ROW_COLS ") SELECT id, ?2, "
	"CASE WHEN ?2 & 1 THEN default_code END, "
	"CASE WHEN ?2 & 2 THEN barcode END, "
	"CASE WHEN ?2 & 4 THEN name ELSE '' END, "
	"CASE WHEN ?2 & 8 THEN list_price END, "
	"CASE WHEN ?2 & 16 THEN standard_price END, "
	"CASE WHEN ?2 & 32 THEN qty_available END, "
	"CASE WHEN ?2 & 64 THEN category END, "
	"CASE WHEN ?2 & 128 THEN brand END, "
	"CASE WHEN ?2 & 256 THEN uom END, "
	"CASE WHEN ?2 & 512 THEN supplier_code END, "
	"updated_job, updated_at FROM product WHERE id = ?1";

/* An import into an empty catalog (the first import of a terminal, or a
 * rebuild) can only match keys it created itself, earlier in the file. A
 * Bloom filter of those keys answers "not met" without asking SQLite: a
 * point lookup per row was a tenth of a fresh import's work (issue #15).
 * "Maybe" still looks up, so a false positive costs one lookup, never a
 * wrong answer. 16 bits per expected row, 4 probes: 0.24 % false positives
 * up to the expected row count; capped at 2 MiB (beyond it, more lookups). */
#define BLOOM_BITS_PER_ROW 16
#define BLOOM_MIN_BYTES ((size_t)1 << 16)
#define BLOOM_MAX_BYTES ((size_t)1 << 21)
#define BLOOM_PROBES 4

/* Remember at most this many product ids for repeat detection (1 bit
 * each: 8 MiB); beyond it a repeat is still seen once the row was
 * written (updated_job). */
#define SEEN_MAX_IDS ((sqlite3_int64)1 << 26)

static int
has_supplier(const cat *c)
{
	return c->plan.supplier_code && *c->plan.supplier_code;
}

static int
build_insert(const cat *c, char *sql, size_t len)
{
	size_t n, v = 0;
	char vals[256];
	int i;

	n = (size_t)snprintf(sql, len, "INSERT INTO product(");
	for (i = 0; i < CAT_NFIELDS; i++)
		if (c->plan.mapped & (1u << i)) {
			n += (size_t)snprintf(sql + n, len - n, "%s, ",
			    cat__col((enum cat_field)i));
			v += (size_t)snprintf(vals + v, sizeof(vals) - v, "?%d, ", i + 1);
		}
	if (has_supplier(c)) {
		n += (size_t)snprintf(sql + n, len - n, "supplier_code, ");
		v += (size_t)snprintf(vals + v, sizeof(vals) - v, "?%d, ", P_SUPPLIER);
	}
	n += (size_t)snprintf(sql + n, len - n, "updated_job, updated_at) VALUES "
	    "(%s?%d, ?%d)", vals, P_JOB, P_AT);
	/* Cannot overflow: at most nine short names; checked for safety. */
	return n + 1 < len && v + 1 < sizeof(vals) ? PA_OK : PA_EINTERNAL;
}

/* The UPDATE for one change mask: only the columns that differ, so an
 * index is rewritten only when its column changed (a price list that
 * moves prices touches no index). */
static int
update_stmt(cat *c, unsigned mask, sqlite3_stmt **out)
{
	char sql[1024];
	size_t n;
	int i, rc;

	if (c->update[mask]) {
		*out = c->update[mask];
		return PA_OK;
	}
	n = (size_t)snprintf(sql, sizeof(sql), "UPDATE product SET ");
	for (i = 0; i < CAT_NFIELDS; i++)
		if (mask & (1u << i))
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s = ?%d, ",
			    cat__col((enum cat_field)i), i + 1);
	if (mask & CAT__SUPPLIER_BIT)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, "supplier_code = ?%d, ",
		    P_SUPPLIER);
	n += (size_t)snprintf(sql + n, sizeof(sql) - n, "updated_job = ?%d, "
	    "updated_at = ?%d WHERE id = ?%d", P_JOB, P_AT, P_ID);
	if (n + 1 >= sizeof(sql))
		return PA_EINTERNAL; /* cannot happen: nine short names */
	if ((rc = sqlx_prepare(c->db, sql, &c->update[mask])) != PA_OK)
		return rc;
	*out = c->update[mask];
	return PA_OK;
}

static void
finalize_import(cat *c)
{
	unsigned i;

	sqlite3_finalize(c->lookup);
	sqlite3_finalize(c->insert);
	sqlite3_finalize(c->undo);
	c->lookup = c->insert = c->undo = NULL;
	for (i = 0; i < CAT__NMASKS; i++) {
		sqlite3_finalize(c->update[i]);
		c->update[i] = NULL;
	}
	pa_free(c->seen);
	c->seen = NULL;
	c->seen_bytes = 0;
	pa_free(c->bloom);
	c->bloom = NULL;
	c->bloom_bits = 0;
}

/* 64-bit FNV-1a of the key; the probes are h1 + i * h2 (Kirsch and
 * Mitzenmacher, "Less hashing, same performance", 2006). */
static uint64_t
key_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	/* Spread the low bits (FNV's last byte shows in them directly). */
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

/* 1 when key may have been created by this import; 0 when it surely was
 * not. add: record it. */
static int
bloom_probe(cat *c, const struct cat_value *key, int add)
{
	uint64_t h = key_hash(key->text, key->len);
	uint64_t h1 = h & 0xffffffffu, h2 = (h >> 32) | 1, bit;
	int i, all = 1;

	for (i = 0; i < BLOOM_PROBES; i++) {
		bit = (h1 + (uint64_t)i * h2) % c->bloom_bits;
		if (add)
			c->bloom[bit >> 3] |= (uint8_t)(1u << (bit & 7));
		else if (!((c->bloom[bit >> 3] >> (bit & 7)) & 1))
			all = 0;
	}
	return all;
}

/* Is the product table empty? One B-tree step. */
static int
catalog_empty(cat *c, int *empty)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlx_prepare(c->db, "SELECT NOT EXISTS (SELECT 1 FROM product)",
	    &st)) != PA_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*empty = sqlite3_column_int(st, 0);
		rc = PA_OK;
	} else {
		rc = sqlx_err(c->db, rc, "look at the catalog");
	}
	sqlite3_finalize(st);
	return rc;
}

static int
bloom_start(cat *c, long est_rows)
{
	size_t bytes = BLOOM_MIN_BYTES;
	int empty = 0, rc;

	if ((rc = catalog_empty(c, &empty)) != PA_OK || !empty)
		return rc;
	while (bytes < BLOOM_MAX_BYTES &&
	    (double)bytes * 8 < (double)est_rows * BLOOM_BITS_PER_ROW)
		bytes *= 2;
	if ((c->bloom = pa_calloc(1, bytes)) == NULL)
		return PA_ENOMEM;
	c->bloom_bits = bytes * 8;
	return PA_OK;
}

int
cat_import_begin(cat *c, const struct cat_plan *plan)
{
	char ins[1024];
	int rc;

	if (!cat_field_is_key(plan->key) || !(plan->mapped & (1u << plan->key)))
		return pa_err_set(PA_EINTERNAL, "import plan without a mapped key");
	c->plan = *plan;
	memset(&c->price, 0, sizeof(c->price));
	c->undo_lo = c->undo_hi = 0;
	hal_now_iso(c->now);
	if ((rc = build_insert(c, ins, sizeof(ins))) != PA_OK)
		return rc;
	if ((rc = sqlx_exec(c->db, "BEGIN IMMEDIATE", "begin catalog import")) != PA_OK)
		return rc;
	c->in_tx = 1;
	if ((rc = cat__max_id(c, &c->pre_max)) != PA_OK ||
	    (rc = bloom_start(c, plan->est_rows)) != PA_OK)
		goto out;
	/* Statements are prepared after any schema change so they never need
	 * re-preparing mid-import. */
	if ((rc = cat__drop_bulk_indexes(c, plan->est_rows)) != PA_OK)
		goto out;
	if ((rc = sqlx_prepare(c->db, lookup_sql[plan->key], &c->lookup)) != PA_OK ||
	    (rc = sqlx_prepare(c->db, ins, &c->insert)) != PA_OK ||
	    (rc = sqlx_prepare(c->db, undo_sql, &c->undo)) != PA_OK)
		goto out;
out:
	if (rc != PA_OK)
		cat_import_rollback(c);
	return rc;
}

static int
bind_values(cat *c, sqlite3_stmt *st, const struct cat_value *vals,
    unsigned mask)
{
	int i, rc = SQLITE_OK;

	for (i = 0; i < CAT_NFIELDS && rc == SQLITE_OK; i++) {
		if (!(mask & (1u << i)))
			continue;
		switch (cat_field_kind((enum cat_field)i)) {
		case CAT_TEXT:
			rc = sqlx_bind_text(st, i + 1, vals[i].text, vals[i].len, 1);
			break;
		case CAT_MONEY:
			rc = sqlite3_bind_int64(st, i + 1, vals[i].money);
			break;
		case CAT_QTY:
			rc = sqlite3_bind_double(st, i + 1, vals[i].qty);
			break;
		}
	}
	if (rc == SQLITE_OK && (mask & CAT__SUPPLIER_BIT))
		rc = sqlite3_bind_text(st, P_SUPPLIER, c->plan.supplier_code, -1,
		    SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, P_JOB, c->plan.job_name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, P_AT, c->now, -1, SQLITE_STATIC);
	return rc == SQLITE_OK ? PA_OK : sqlx_err(c->db, rc, "bind product values");
}

/* Which mapped fields (and supplier_code) of the looked-up row differ
 * from vals. Text compares as bytes, empty as NULL; an empty name keeps
 * the old one (DESIGN §5); money and stock compare exactly. */
static unsigned
change_mask(cat *c, const struct cat_value *vals)
{
	sqlite3_stmt *st = c->lookup;
	unsigned mask = 0;
	int i, col, t;

	for (i = 0; i < CAT_NFIELDS; i++) {
		if (!(c->plan.mapped & (1u << i)))
			continue;
		col = L_FIELD(i);
		t = sqlite3_column_type(st, col);
		switch (cat_field_kind((enum cat_field)i)) {
		case CAT_TEXT:
			if (vals[i].len == 0) {
				if (t != SQLITE_NULL && i != CAT_NAME)
					mask |= 1u << i;
			} else if (t == SQLITE_NULL ||
			    (size_t)sqlite3_column_bytes(st, col) != vals[i].len ||
			    memcmp(sqlite3_column_blob(st, col), vals[i].text,
			    vals[i].len) != 0) {
				mask |= 1u << i;
			}
			break;
		case CAT_MONEY:
			if (t != SQLITE_INTEGER ||
			    sqlite3_column_int64(st, col) != vals[i].money)
				mask |= 1u << i;
			break;
		case CAT_QTY:
			if (t == SQLITE_NULL ||
			    sqlite3_column_double(st, col) != vals[i].qty)
				mask |= 1u << i;
			break;
		}
	}
	if (has_supplier(c)) {
		const unsigned char *s = sqlite3_column_text(st, L_SUPPLIER);
		if (s == NULL || strcmp((const char *)s, c->plan.supplier_code) != 0)
			mask |= CAT__SUPPLIER_BIT;
	}
	return mask;
}

/* new is within 1 % of ref (ref > 0). */
static int
near(double v, double ref)
{
	return fabs(v - ref) * 100.0 <= ref;
}

/* What one matched product (met for the first time) adds to the price
 * guard's statistics; added only once the match is known to be unique. */
static void
price_eval(cat *c, const struct cat_value *vals, struct cat_price_stats *d)
{
	static const enum cat_field pf[2] = { CAT_LIST_PRICE, CAT_STANDARD_PRICE };
	sqlite3_stmt *st = c->lookup;
	double old[2] = { 0, 0 }, nw[2] = { 0, 0 };
	int cmp[2] = { 0, 0 }, big = 0, x100 = 1, d100 = 1, k;

	memset(d, 0, sizeof(*d));
	for (k = 0; k < 2; k++) {
		if (!(c->plan.mapped & (1u << pf[k])) ||
		    sqlite3_column_type(st, L_FIELD(pf[k])) != SQLITE_INTEGER ||
		    sqlite3_column_int64(st, L_FIELD(pf[k])) <= 0)
			continue;
		cmp[k] = 1;
		old[k] = (double)sqlite3_column_int64(st, L_FIELD(pf[k]));
		nw[k] = (double)vals[pf[k]].money;
		if (fabs(nw[k] - old[k]) * 100.0 > c->plan.price_change_pct * old[k]) {
			big = 1;
			x100 &= near(nw[k], old[k] * 100.0);
			d100 &= near(nw[k] * 100.0, old[k]);
		}
	}
	if (!cmp[0] && !cmp[1])
		return;
	d->matched = 1;
	if (!big)
		return;
	d->changed = 1;
	if (cmp[0] && cmp[1] && old[0] != old[1] && near(nw[0], old[1]) &&
	    near(nw[1], old[0]))
		d->swapped = 1;
	else if (x100)
		d->times100 = 1;
	else if (d100)
		d->div100 = 1;
}

static int
seen_test(const cat *c, sqlite3_int64 id)
{
	if (id <= 0 || id >= SEEN_MAX_IDS || (size_t)(id >> 3) >= c->seen_bytes)
		return 0;
	return (c->seen[id >> 3] >> (id & 7)) & 1;
}

/* Mark id as met in this import. */
static int
seen_set(cat *c, sqlite3_int64 id)
{
	size_t byte, want;
	uint8_t *p;

	if (id <= 0 || id >= SEEN_MAX_IDS)
		return PA_OK;
	byte = (size_t)(id >> 3);
	if (byte >= c->seen_bytes) {
		want = c->seen_bytes ? c->seen_bytes : 4096;
		while (want <= byte)
			want *= 2;
		if ((p = pa_realloc(c->seen, want)) == NULL)
			return PA_ENOMEM;
		memset(p + c->seen_bytes, 0, want - c->seen_bytes);
		c->seen = p;
		c->seen_bytes = want;
	}
	c->seen[byte] |= (uint8_t)(1u << (id & 7));
	return PA_OK;
}

static int
insert_row(cat *c, const struct cat_value *vals, enum cat_outcome *outcome)
{
	int rc;

	if (!(c->plan.mapped & (1u << CAT_NAME)) || vals[CAT_NAME].len == 0) {
		*outcome = CAT_NONAME;
		return PA_OK;
	}
	if ((rc = bind_values(c, c->insert, vals, c->plan.mapped |
	    (has_supplier(c) ? CAT__SUPPLIER_BIT : 0))) != PA_OK ||
	    (rc = cat__step_done(c, c->insert, "insert product")) != PA_OK)
		return rc;
	*outcome = CAT_CREATED;
	if (c->bloom)
		bloom_probe(c, &vals[c->plan.key], 1);
	return seen_set(c, sqlite3_last_insert_rowid(c->db));
}

/* Keep the before-image of the columns this write changes, unless this
 * import created the row. A row written twice by one file (a repeated key)
 * gets a second, later image: a revert applies them newest first. */
static int
keep_before_image(cat *c, sqlite3_int64 id, unsigned mask)
{
	sqlite3_int64 u;
	int rc;

	if (id > c->pre_max)
		return PA_OK;
	sqlite3_bind_int64(c->undo, 1, id);
	sqlite3_bind_int64(c->undo, 2, (sqlite3_int64)mask);
	if ((rc = cat__step_done(c, c->undo, "keep before-image")) != PA_OK)
		return rc;
	u = sqlite3_last_insert_rowid(c->db);
	if (c->undo_lo == 0)
		c->undo_lo = u;
	c->undo_hi = u;
	return PA_OK;
}

int
cat_upsert(cat *c, const struct cat_value *vals, enum cat_outcome *outcome,
    int *repeated)
{
	const struct cat_value *key = &vals[c->plan.key];
	struct cat_price_stats pd;
	sqlite3_stmt *upd = NULL;
	sqlite3_int64 id = 0;
	unsigned mask = 0;
	int rc, step, written = 0, apply = 0;

	*repeated = 0;
	memset(&pd, 0, sizeof(pd));
	if (c->bloom && !bloom_probe(c, key, 0)) {
		/* Not in the catalog, which was empty: new (see BLOOM_*). */
		if (!c->plan.create_missing) {
			*outcome = CAT_SKIPPED;
			return PA_OK;
		}
		return insert_row(c, vals, outcome);
	}
	sqlx_bind_text(c->lookup, 1, key->text, key->len, 0);
	step = sqlite3_step(c->lookup);
	if (step == SQLITE_ROW) {
		const unsigned char *job = sqlite3_column_text(c->lookup, 1);
		id = sqlite3_column_int64(c->lookup, 0);
		/* Written by this import already (beyond the seen bitmap too). */
		written = job && strcmp((const char *)job, c->plan.job_name) == 0;
		*repeated = written || seen_test(c, id);
		/* A key met earlier in this file is applied even under
		 * update_existing = false: the later row wins (DESIGN §5). */
		apply = c->plan.update_existing || *repeated;
		/* Compare while the row is current; a second row makes it moot. */
		mask = change_mask(c, vals);
		if (apply && !*repeated)
			price_eval(c, vals, &pd);
		step = sqlite3_step(c->lookup);
		if (step == SQLITE_ROW) {
			sqlite3_reset(c->lookup);
			*repeated = 0;
			*outcome = CAT_AMBIGUOUS;
			return PA_OK;
		}
	}
	sqlite3_reset(c->lookup);
	if (step != SQLITE_DONE)
		return sqlx_err(c->db, step, "look up product");
	if (id == 0) {
		if (!c->plan.create_missing) {
			*outcome = CAT_SKIPPED;
			return PA_OK;
		}
		return insert_row(c, vals, outcome);
	}
	if (!apply) {
		*outcome = CAT_SKIPPED;
		return PA_OK;
	}
	c->price.matched += pd.matched;
	c->price.changed += pd.changed;
	c->price.swapped += pd.swapped;
	c->price.times100 += pd.times100;
	c->price.div100 += pd.div100;
	if ((rc = seen_set(c, id)) != PA_OK)
		return rc;
	if (mask == 0) {
		*outcome = CAT_UNCHANGED;
		return PA_OK;
	}
	if ((rc = keep_before_image(c, id, mask)) != PA_OK ||
	    (rc = update_stmt(c, mask, &upd)) != PA_OK ||
	    (rc = bind_values(c, upd, vals, mask)) != PA_OK)
		return rc;
	sqlite3_bind_int64(upd, P_ID, id);
	*outcome = CAT_UPDATED;
	return cat__step_done(c, upd, "update product");
}

void
cat_price_stats(const cat *c, struct cat_price_stats *out)
{
	*out = c->price;
}

int
cat_import_commit(cat *c, const struct cat_counts *n)
{
	sqlite3_stmt *st = NULL;
	sqlite3_int64 hi = 0;
	char now[32];
	int rc;

	if (!c->in_tx)
		return pa_err_set(PA_EINTERNAL, "no catalog import open");
	hal_now_iso(now);
	finalize_import(c);
	if ((rc = cat__create_indexes(c, c->rebuild)) != PA_OK)
		goto out;
	c->rebuild = 0;
	if ((rc = cat__max_id(c, &hi)) != PA_OK)
		goto out;
	if ((rc = sqlx_prepare(c->db, "INSERT OR REPLACE INTO import_record("
	    "job_uuid, job_name, created, updated, unchanged, skipped, errors, "
	    "total, committed_at, undo, id_lo, id_hi, undo_lo, undo_hi) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?12, ?13)", &st))
	    != PA_OK)
		goto out;
	sqlite3_bind_text(st, 1, c->plan.job_uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->plan.job_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n->created);
	sqlite3_bind_int64(st, 4, n->updated);
	sqlite3_bind_int64(st, 5, n->unchanged);
	sqlite3_bind_int64(st, 6, n->skipped);
	sqlite3_bind_int64(st, 7, n->errors);
	sqlite3_bind_int64(st, 8, n->total);
	sqlite3_bind_text(st, 9, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, c->pre_max);
	sqlite3_bind_int64(st, 11, hi);
	/* An empty run is lo = 1, hi = 0: BETWEEN finds nothing. */
	sqlite3_bind_int64(st, 12, c->undo_lo ? c->undo_lo : 1);
	sqlite3_bind_int64(st, 13, c->undo_hi);
	if ((rc = cat__step_done(c, st, "record import")) != PA_OK)
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

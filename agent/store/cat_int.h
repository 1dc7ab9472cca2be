/* cat_int — shared by the catalog's files only (catalog.c, cat_import.c,
 * cat_revert.c); nothing outside agent/store includes it. */
#ifndef CAT_INT_H
#define CAT_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "agent/store/catalog.h"

/* Bit of supplier_code in a change mask (fields use bits 0..8). */
#define CAT__SUPPLIER_BIT (1u << CAT_NFIELDS)
#define CAT__NMASKS (1u << (CAT_NFIELDS + 1))

/* Before-image columns, in the order undo_row and product both spell them
 * (every column but id, so a revert restores the row exactly). */
#define CAT__ROW_COLS "default_code, barcode, name, list_price, " \
	"standard_price, qty_available, category, brand, uom, supplier_code, " \
	"updated_job, updated_at"

struct cat {
	sqlite3 *db;
	sqlite3_stmt *lookup, *insert, *undo, *record;
	sqlite3_stmt *update[CAT__NMASKS];   /* per change mask, made on demand */
	struct cat_plan plan;
	unsigned rebuild;           /* bit per index dropped for a bulk import */
	sqlite3_int64 pre_max;      /* max(id) before the import: created rows
	                               are exactly pre_max < id <= max(id) */
	sqlite3_int64 undo_lo, undo_hi;   /* this import's undo_row ids */
	uint8_t *seen;              /* bit per product id met in this import */
	size_t seen_bytes;
	uint8_t *bloom;             /* keys created by this import, when the
	                               catalog was empty at its start */
	size_t bloom_bits;
	struct cat_price_stats price;
	char now[32];
	int in_tx;
};

const char *cat__col(enum cat_field f);
/* Build/drop the POS indexes (bit per entry of the index table). */
int cat__create_indexes(cat *c, unsigned which);
int cat__drop_bulk_indexes(cat *c, long est_rows);
int cat__step_done(cat *c, sqlite3_stmt *st, const char *what);
/* max(id) of product, one B-tree descent. */
int cat__max_id(cat *c, sqlite3_int64 *out);

#endif

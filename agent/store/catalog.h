/* catalog — catalog.db, the mirror the POS reads (DESIGN §3).
 *
 * Only imports write it, each in one transaction that also records the
 * import (cat_commit_import), so after a crash the record tells whether a
 * job's rows were committed. Knows nothing of file formats or profiles:
 * callers speak in product columns. */
#ifndef CATALOG_H
#define CATALOG_H

#include <stddef.h>
#include <stdint.h>

/* Mappable product columns (the whitelist of DESIGN §3), in schema order. */
enum cat_field {
	CAT_DEFAULT_CODE, CAT_BARCODE, CAT_NAME, CAT_LIST_PRICE,
	CAT_STANDARD_PRICE, CAT_QTY_AVAILABLE, CAT_CATEGORY, CAT_BRAND, CAT_UOM,
	CAT_NFIELDS
};
enum cat_kind { CAT_TEXT, CAT_MONEY, CAT_QTY };

const char *cat_field_name(enum cat_field f);
enum cat_kind cat_field_kind(enum cat_field f);
/* Whitelist lookup: PA_OK and *f, or PA_ENOTFOUND. */
int cat_field_parse(const char *name, enum cat_field *f);
/* Fields usable as an upsert key (indexed text): default_code, barcode, name. */
int cat_field_is_key(enum cat_field f);

typedef struct cat cat;

/* One value per mapped field for cat_upsert. Text is not copied. */
struct cat_value {
	const char *text;
	size_t len;
	int64_t money;      /* kopecks */
	double qty;
};

/* What the import intends: which fields are written, which one is the key. */
struct cat_plan {
	unsigned mapped;            /* bit (1u << field) for each mapped field */
	enum cat_field key;
	int create_missing, update_existing;
	const char *supplier_code;  /* stamped on written rows (may be NULL) */
	const char *job_name, *job_uuid;
	long est_rows;              /* rough row count of the file (0 unknown):
	                               large imports rebuild indexes at commit */
	double price_change_pct;    /* price guard: a price moving by more than
	                               this percent counts as changed */
};

/* UNCHANGED: matched, every mapped field already equal: nothing written.
 * NONAME: a new product whose name is empty or unmapped (not created). */
enum cat_outcome { CAT_CREATED, CAT_UPDATED, CAT_UNCHANGED, CAT_SKIPPED,
	CAT_AMBIGUOUS, CAT_NONAME };

/* An import's counts as recorded with its commit. */
struct cat_counts {
	long created, updated, unchanged, skipped, errors, total;
};

/* What the open import would do to prices, over the products it matched
 * (each counted once, when first met) whose catalog list_price or
 * standard_price is above zero and mapped (DESIGN §5, price guard). */
struct cat_price_stats {
	long matched;     /* products with a comparable price */
	long changed;     /* of those: a price moves more than price_change_pct */
	long swapped;     /* of changed: new list ≈ old standard and back */
	long times100;    /* of changed: every moving price is ≈ 100 × old */
	long div100;      /* of changed: every moving price is ≈ old / 100 */
};

/* Open/create data_dir/catalog.db (WAL, synchronous=FULL, migrated). */
int cat_open(const char *data_dir, cat **out);
void cat_close(cat *c);

/* Begin the import transaction and prepare its statements for plan. The
 * plan's strings must outlive the import. */
int cat_import_begin(cat *c, const struct cat_plan *plan);
/* Apply one row: vals is indexed by enum cat_field (only mapped ones read).
 * *outcome says what happened; *repeated is set when the key was already
 * written earlier in this same import (the later row wins). */
int cat_upsert(cat *c, const struct cat_value *vals, enum cat_outcome *outcome,
    int *repeated);
/* The open import's price statistics so far. */
void cat_price_stats(const cat *c, struct cat_price_stats *out);
/* Record the import (counts, the range of rows it created, where its
 * before-images are) and COMMIT — atomically with the rows. */
int cat_import_commit(cat *c, const struct cat_counts *n);
/* Roll the import back (safe to call when none is open). */
void cat_import_rollback(cat *c);

/* Was job_uuid's import committed? *found = 1 and *n filled if so. */
int cat_import_record(cat *c, const char *job_uuid, int *found,
    struct cat_counts *n);

/* What a revert did or, under dry_run, would do. */
struct cat_revert_res {
	long removed;       /* rows the import created, deleted */
	long restored;      /* rows it changed, given their old values back */
	int already;        /* the catalog had reverted it before (a crash
	                       came between the two stores): nothing done */
};
/* Undo job_uuid's import in one transaction: created rows are deleted,
 * changed rows get their before-images back, the before-images are
 * dropped and the record is marked reverted. PA_ESTATE, nothing changed,
 * when a later import changed some of those rows since (the message names
 * the first ones and the job to revert first) or when no before-images are
 * kept; PA_ENOTFOUND when the import was never committed. dry_run: check
 * and count, change nothing. */
int cat_revert(cat *c, const char *job_uuid, const char *job_name,
    int dry_run, struct cat_revert_res *res);

/* Drop the before-images (and the import record) of every import whose
 * job is gone: exists(ctx, uuid, &yes) answers for each. Skipped quietly
 * (*dropped 0) while an import holds the catalog; retried next time. */
int cat_undo_sweep(cat *c, int (*exists)(void *ctx, const char *uuid,
    int *yes), void *ctx, long *dropped);

#endif

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
};

/* NONAME: a new product whose name is empty or unmapped (not created). */
enum cat_outcome { CAT_CREATED, CAT_UPDATED, CAT_SKIPPED, CAT_AMBIGUOUS,
	CAT_NONAME };

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
/* Record the import (counts) and COMMIT — atomically with the rows. */
int cat_import_commit(cat *c, long created, long updated, long skipped,
    long errors, long total);
/* Roll the import back (safe to call when none is open). */
void cat_import_rollback(cat *c);

/* Was job_uuid's import committed? *found = 1 and counts filled if so. */
int cat_import_record(cat *c, const char *job_uuid, int *found, long counts[5]);

#endif

/* hq_db — the one SQL interface posagent-hq's storage speaks, with one
 * backend per file (hq_db_sqlite.c, hq_db_pg.c) behind a small ops table.
 *
 * SQL text is shared by both backends and written once (hq_store.c): it is
 * portable SQL with PostgreSQL-style numbered parameters ($1, $2, ...);
 * the SQLite backend rewrites them to ?1, ?2. Every value is bound, never
 * pasted. Statements are identified by their (constant) text and prepared
 * once per connection.
 *
 * A connection is used by one thread at a time. */
#ifndef HQ_DB_H
#define HQ_DB_H

#include <stdint.h>

/* A bound parameter. */
enum hq_val_type { HQ_V_NULL, HQ_V_INT, HQ_V_TEXT };
struct hq_val {
	enum hq_val_type t;
	int64_t i;
	const char *s;          /* NUL-terminated; owned by the caller */
};
#define HQ_INT(v)  ((struct hq_val){ HQ_V_INT, (int64_t)(v), NULL })
#define HQ_TEXT(v) hq__text(v)
#define HQ_NULL    ((struct hq_val){ HQ_V_NULL, 0, NULL })

static inline struct hq_val
hq__text(const char *s)
{
	struct hq_val v = { s ? HQ_V_TEXT : HQ_V_NULL, 0, s };
	return v;
}

typedef struct hq_db hq_db;
typedef struct hq_rows hq_rows;

/* Open spec: "postgresql://..." / "postgres://..." selects PostgreSQL,
 * anything else is an SQLite file path. busy_ms bounds how long a
 * statement waits for a lock held by another writer before failing with
 * PA_ETIMEOUT (the server answers 429 then). *out freed by hq_db_close. */
int hq_db_open(const char *spec, int busy_ms, hq_db **out);
void hq_db_close(hq_db *db);
/* "sqlite" or "postgresql". */
const char *hq_db_kind(const hq_db *db);

/* Run one statement of the shared SQL. rows (optional) receives the
 * result set, freed by hq_rows_free; *changes (optional) the rows the
 * statement inserted/updated/deleted. Errors: PA_ETIMEOUT (lock wait or
 * statement timeout: the store is slow), PA_EEXISTS (a unique key), PA_EDB
 * with the backend's message otherwise. */
int hq_db_exec(hq_db *db, const char *sql, const struct hq_val *p, int np,
    hq_rows **rows, long *changes);
/* A script of DDL statements separated by ';' (no parameters). */
int hq_db_script(hq_db *db, const char *sql);

/* Transactions. begin takes the write lock at once on SQLite (BEGIN
 * IMMEDIATE) so two writers never deadlock on an upgrade. */
int hq_db_begin(hq_db *db);
/* A short transaction whose loss in a power cut costs nothing (the latest
 * heartbeat: the next one replaces it in 30 s). It goes before waiting
 * batches (SQLite) and skips the commit's fsync (both stores), so a
 * heartbeat is not queued behind event batches. */
int hq_db_begin_quick(hq_db *db);
int hq_db_commit(hq_db *db);
void hq_db_rollback(hq_db *db);

/* A run of statements whose results are not needed before the next one is
 * sent: PostgreSQL pipelines them (one round trip per chunk instead of one
 * per statement), SQLite runs each at once. Only inside a transaction.
 * *changes of each hq_db_batch_exec (optional) is filled by the time
 * hq_db_batch_end returns; the first failure is the one returned (by
 * batch_exec or batch_end), and then the transaction must be rolled back. */
int hq_db_batch_begin(hq_db *db);
int hq_db_batch_exec(hq_db *db, const char *sql, const struct hq_val *p,
    int np, long *changes);
int hq_db_batch_end(hq_db *db);

/* Result sets: text of each cell (NULL for SQL NULL), valid until
 * hq_rows_free. */
int hq_rows_count(const hq_rows *r);
const char *hq_rows_text(const hq_rows *r, int row, int col);
int64_t hq_rows_int(const hq_rows *r, int row, int col);  /* 0 for NULL */
void hq_rows_free(hq_rows *r);

/* --- for the backends only ------------------------------------------------ */
struct hq_db_ops {
	const char *name;
	int (*open)(const char *spec, int busy_ms, void **conn);
	void (*close)(void *conn);
	int (*exec)(void *conn, const char *sql, const struct hq_val *p, int np,
	    hq_rows **rows, long *changes);
	int (*script)(void *conn, const char *sql);
	int (*begin)(void *conn, int quick);
	int (*commit)(void *conn);
	void (*rollback)(void *conn);
	/* NULL: batches run statement by statement through exec */
	int (*batch_begin)(void *conn);
	int (*batch_exec)(void *conn, const char *sql, const struct hq_val *p,
	    int np, long *changes);
	int (*batch_end)(void *conn);
};
extern const struct hq_db_ops hq_db_sqlite_ops;
extern const struct hq_db_ops hq_db_pg_ops;

/* Result sets are built by the backends as a table of strings. */
hq_rows *hq__rows_new(int ncols);
int hq__rows_add(hq_rows *r, const char *const *cells, const int *lens);

#endif

/* sqlx — the SQLite habits every store shares: open with explicit pragmas,
 * exec, user_version, and the one mapping of SQLite result codes to ours.
 *
 * It lives in hal/, beside pa_err, because agent/store/ (agent.db,
 * catalog.db) and sync/outbox.c both use it, and sync/ never includes
 * agent/ headers (DESIGN §2). It knows no table of ours. */
#ifndef SQLX_H
#define SQLX_H

#include <stddef.h>

#include <sqlite3.h>

enum sqlx_sync { SQLX_SYNC_NORMAL = 0, SQLX_SYNC_FULL = 1,
	/* flag: a new database frees pages to the filesystem on
	 * PRAGMA incremental_vacuum (must be set before WAL) */
	SQLX_INCR_VACUUM = 2 };

/* Open/create path in WAL mode with the given synchronous level and a busy
 * timeout. *db is closed with sqlx_close(). */
int sqlx_open(const char *path, int sync, sqlite3 **db);
void sqlx_close(sqlite3 *db);
int sqlx_exec(sqlite3 *db, const char *sql, const char *what);
int sqlx_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);
int sqlx_user_version(sqlite3 *db, int *v);
int sqlx_set_user_version(sqlite3 *db, int v);
/* Map rc (extended codes on) to a PA code with a message "what: sqlite says". */
int sqlx_err(sqlite3 *db, int rc, const char *what);

/* Bind s without copying (SQLITE_STATIC): s must stay valid until the
 * statement is stepped and reset. NULL, or len 0 with null_if_empty, binds
 * SQL NULL. */
int sqlx_bind_text(sqlite3_stmt *st, int i, const char *s, size_t len,
    int null_if_empty);

#endif

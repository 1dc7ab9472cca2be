#include "hal/sqlx.h"

#include <stdio.h>
#include <string.h>

#include "hal/pa_err.h"

int
sqlx_err(sqlite3 *db, int rc, const char *what)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return PA_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return pa_err_set(PA_ELOCKED, "%s: database is busy (%s); another "
		    "posagent process holds it, retry shortly", what, msg);
	case SQLITE_FULL:
		return pa_err_set(PA_ENOSPC, "%s: disk full (%s): free space in "
		    "the data directory", what, msg);
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return pa_err_set(PA_EIO, "%s: %s", what, msg);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return pa_err_set(PA_EDB, "%s: database file is damaged (%s): "
		    "restore it from backup", what, msg);
	case SQLITE_CONSTRAINT:
		return pa_err_set(PA_EEXISTS, "%s: %s", what, msg);
	default:
		return pa_err_set(PA_EDB, "%s: %s", what, msg);
	}
}

int
sqlx_open(const char *path, int sync, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int rc;

	*out = NULL;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = sqlx_err(db, rc, path);
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	/* Imports hold the catalog for a while; other commands wait for it. */
	sqlite3_busy_timeout(db, 30000);
	/* A no-op on an existing database; on a new one it must come before
	 * WAL mode writes the header. */
	if ((sync & SQLX_INCR_VACUUM) && (rc = sqlx_exec(db, "PRAGMA "
	    "auto_vacuum=INCREMENTAL", path)) != PA_OK)
		goto out;
	if ((rc = sqlx_exec(db, "PRAGMA journal_mode=WAL", path)) != PA_OK)
		goto out;
	if ((rc = sqlx_exec(db, (sync & SQLX_SYNC_FULL) ? "PRAGMA synchronous=FULL" :
	    "PRAGMA synchronous=NORMAL", path)) != PA_OK)
		goto out;
	/* A big import grows the WAL; past a checkpoint it shrinks back to
	 * this instead of keeping its high-water mark on disk. */
	if ((rc = sqlx_exec(db, "PRAGMA journal_size_limit=16777216", path)) !=
	    PA_OK)
		goto out;
	*out = db;
	db = NULL; /* transferred */
out:
	sqlite3_close_v2(db);
	return rc;
}

void
sqlx_close(sqlite3 *db)
{
	sqlite3_close_v2(db);
}

int
sqlx_exec(sqlite3 *db, const char *sql, const char *what)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? PA_OK : sqlx_err(db, rc, what);
}

int
sqlx_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL);

	return rc == SQLITE_OK ? PA_OK : sqlx_err(db, rc, "prepare statement");
}

int
sqlx_user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlx_prepare(db, "PRAGMA user_version", &st)) != PA_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		rc = PA_OK;
	} else {
		rc = sqlx_err(db, sqlite3_errcode(db), "read user_version");
	}
	sqlite3_finalize(st);
	return rc;
}

int
sqlx_set_user_version(sqlite3 *db, int v)
{
	char sql[64];

	/* PRAGMA takes no bound parameters; v is our own integer. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v);
	return sqlx_exec(db, sql, "set user_version");
}

int
sqlx_bind_text(sqlite3_stmt *st, int i, const char *s, size_t len,
    int null_if_empty)
{
	if (s == NULL || (len == 0 && null_if_empty))
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, (int)len, SQLITE_STATIC);
}

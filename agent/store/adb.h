/* adb — agent.db: profiles, jobs, logs, outbox, sequences, agent state
 * (DESIGN §3). WAL, synchronous=FULL, schema versioned by user_version. */
#ifndef ADB_H
#define ADB_H

#include <sqlite3.h>

#include "sync/outbox.h"

typedef struct adb adb;

/* Open (creating data_dir and the file, migrating the schema) agent.db in
 * data_dir. *out is freed with adb_close(). */
int adb_open(const char *data_dir, adb **out);
void adb_close(adb *a);

/* The raw handle, for modules that own their own tables (outbox). Owned by a. */
sqlite3 *adb_sqlite(adb *a);
/* The outbox bound to this database. Owned by a. */
outbox *adb_outbox(adb *a);

/* Statements run per row of an import (job log lines): prepared once per
 * connection, kept in a small cache and reset by the caller after use. */
enum adb_stmt { ADB_STMT_LOG_INSERT, ADB_NSTMT };
/* The cached statement `id`, preparing sql on first use. Owned by a;
 * the caller resets it. */
int adb_stmt(adb *a, enum adb_stmt id, const char *sql, sqlite3_stmt **st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int adb_begin(adb *a);
int adb_commit(adb *a);
int adb_rollback(adb *a);

/* Map a SQLite result code (extended) to a PA code, with a message naming
 * what was being done. The one place SQLite errors become ours. */
int adb_err(sqlite3 *db, int rc, const char *what);

#endif

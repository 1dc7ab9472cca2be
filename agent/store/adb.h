/* adb — agent.db: profiles, jobs, logs, outbox, sequences, the KKT gate's
 * refusal streak (DESIGN §3). WAL, synchronous=FULL, schema versioned by
 * user_version.
 *
 * The store owns the file: every statement on it is here, in agent/store/
 * (the job rows adb_job.h, queries over jobs adb_jobq.h, profiles
 * adb_prof.h, the gate gstat.h), or in the outbox bound to it (sync/). No
 * raw SQLite handle leaves the store. */
#ifndef ADB_H
#define ADB_H

#include <stdint.h>

#include "sync/outbox.h"

typedef struct adb adb;

/* Open (creating data_dir and the file, migrating the schema) agent.db in
 * data_dir. *out is freed with adb_close(), which also finalizes every
 * statement prepared on it. */
int adb_open(const char *data_dir, adb **out);
void adb_close(adb *a);

/* The outbox bound to this database. Owned by a. */
outbox *adb_outbox(adb *a);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback: a no-op outside one). */
int adb_begin(adb *a);
int adb_commit(adb *a);
int adb_rollback(adb *a);
/* 1 while a transaction is open on a. */
int adb_in_tx(adb *a);

/* How many statements have been prepared on a since it was opened: each
 * statement is prepared once per connection, so this stops growing once
 * every kind has run (the unit tests hold it to that). */
long adb_prepared(const adb *a);

/* The file's page accounting, for retention. */
struct adb_pages {
	int64_t page_size, pages, free_pages;
	int incremental;                /* auto_vacuum = INCREMENTAL */
};
int adb_pages(adb *a, struct adb_pages *out);
/* Give the free pages back to the filesystem (PRAGMA incremental_vacuum). */
int adb_vacuum_incremental(adb *a);
/* Turn incremental vacuum on for a file made without it: a VACUUM that
 * rewrites every live page (the caller checks there is room). */
int adb_vacuum_full(adb *a);
/* Best effort: checkpoint and truncate the WAL (busy readers make it a
 * no-op). */
void adb_checkpoint(adb *a);

#endif

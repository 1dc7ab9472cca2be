/* space — disk use with a ceiling (issue #8 §4, #9 item 3): the disk guard
 * before an import, the reserve that keeps a job's final bookkeeping
 * writable when the disk fills, and retention (old jobs, their logs and
 * unreferenced spool files pruned; the freed pages returned to the
 * filesystem). */
#ifndef SPACE_H
#define SPACE_H

#include <stdint.h>

#include "agent/store/adb.h"

/* DATA_DIR/run/reserve: released when an import hits a full disk, so the
 * job's outcome can still be written to agent.db; made again before the
 * next import. */
#define SPACE_RESERVE_BYTES (4u << 20)
/* Kept free beyond an import's estimate. */
#define SPACE_MARGIN_BYTES  (4u << 20)

/* Bytes an import of a file of size bytes may need: its spool copy (unless
 * spooled already), the catalog's growth and WAL (about 3x a CSV, 10x a
 * compressed XLSX), and the margin. An estimate, deliberately generous. */
uint64_t space_import_need(uint64_t size, const char *name, int spooled);
/* PA_ENOSPC naming what, the need and the free space when the filesystem
 * holding data_dir has less than need free; PA_OK otherwise (also when the
 * free space cannot be read). */
int space_check(const char *data_dir, uint64_t need, const char *what);

/* Best effort: create the reserve file if it is missing. */
void space_reserve_make(const char *data_dir);
/* Remove the reserve file; 1 if there was one. */
int space_reserve_release(const char *data_dir);

struct space_prune_report {
	long jobs;                      /* jobs deleted (logs went with them) */
	long spool_files;               /* unreferenced spool files removed */
	int64_t db_bytes_before;        /* agent.db + its WAL */
	int64_t db_bytes_after;
};
/* Retention: delete finished jobs created more than days ago, then the
 * oldest finished ones while agent.db holds more than max_mb of live pages;
 * remove spool files no job refers to (not touched for a day, so an import
 * spooling now keeps its copy); return the freed pages (incremental vacuum,
 * or a one-time VACUUM that turns incremental vacuum on) and truncate the
 * WAL. Never touches running jobs or the outbox. */
int space_prune(adb *a, const char *data_dir, long days, long max_mb,
    struct space_prune_report *rep);

#endif

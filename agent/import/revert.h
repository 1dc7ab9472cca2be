/* revert — `posagent job revert`: undo a done job's import (DESIGN §5,
 * done → reverted), and keep before-images no longer than their job. */
#ifndef REVERT_H
#define REVERT_H

#include "agent/import/job.h"
#include "agent/store/adb.h"
#include "agent/store/catalog.h"

struct rev_result {
	long removed, restored;     /* created rows deleted, changed rows restored */
};

/* Revert done job j: the catalog in one transaction, then j becomes
 * reverted (its event goes to HQ) with a log line naming `by`. PA_ESTATE
 * when j is not done or a later import changed its rows (nothing changed;
 * the message names them); PA_ENOTFOUND when its import never committed.
 * dry_run: check and count only. j is reloaded. */
int rev_run(adb *a, const char *data_dir, struct job *j, int dry_run,
    const char *by, struct rev_result *out);

/* Drop the before-images of jobs no longer in agent.db (deleted, pruned).
 * Best effort: waits for nothing; an import holding the catalog defers it.
 * rev_sweep_dir opens the catalog itself. */
int rev_sweep(adb *a, cat *c);
int rev_sweep_dir(adb *a, const char *data_dir);

#endif

/* inbox — automatic imports (DESIGN §8): each complete file in the inbox is
 * matched to a profile by file_pattern, becomes a job, passes the gate and
 * runs; then it moves to DATA_DIR/archive (done or already imported),
 * DATA_DIR/failed (failed) or DATA_DIR/rejected (no profile matches). A file
 * the gate refused stays in the inbox; its draft job is reused next time. */
#ifndef INBOX_H
#define INBOX_H

#include "agent/core/config.h"
#include "agent/import/runner.h"
#include "agent/store/adb.h"

enum inbox_outcome {
	INBOX_IDLE,          /* nothing to do */
	INBOX_WORKED,        /* at least one file handled */
	INBOX_GATE_REFUSED,  /* a file waits for the KKT gate: back off */
	INBOX_NO_SPACE       /* a file waits for disk space: back off */
};

/* Create the inbox and the archive/failed/rejected folders. */
int inbox_prepare(const struct pa_config *cfg, char *inbox, size_t len);

/* Handle the next complete file in the inbox (at most one per call, so the
 * daemon's loop turn comes between two files; a file that cannot be handled
 * is logged and skipped for this call). *outcome: INBOX_WORKED when a file
 * was handled (call again at once), INBOX_GATE_REFUSED (back off),
 * INBOX_IDLE (nothing more to do now). Imports run with ro's hooks
 * (on_progress, gate); its data_dir and kkt are taken from cfg. */
int inbox_scan(const struct pa_config *cfg, adb *a, const char *inbox,
    const struct runner_opts *ro, enum inbox_outcome *outcome);

#endif

/* inbox — automatic imports (DESIGN §8): each complete file in the inbox is
 * matched to a profile by file_pattern, becomes a job, passes the gate and
 * runs; then it moves to DATA_DIR/archive (done or already imported),
 * DATA_DIR/failed (failed) or DATA_DIR/rejected (no profile matches). A file
 * the gate refused stays in the inbox; its draft job is reused next time. */
#ifndef INBOX_H
#define INBOX_H

#include "agent/core/config.h"
#include "agent/store/adb.h"

enum inbox_outcome {
	INBOX_IDLE,          /* nothing to do */
	INBOX_WORKED,        /* at least one file handled */
	INBOX_GATE_REFUSED   /* a file waits for the KKT gate: back off */
};

/* Create the inbox and the archive/failed/rejected folders. */
int inbox_prepare(const struct pa_config *cfg, char *inbox, size_t len);

/* Handle every complete file in the inbox once. Stops early when the gate
 * refuses (the rest would be refused too) or a stop is requested. */
int inbox_scan(const struct pa_config *cfg, adb *a, const char *inbox,
    enum inbox_outcome *outcome);

#endif

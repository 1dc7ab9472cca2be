/* hq_hb — heartbeats off the write path. A heartbeat is a store's latest
 * state, not a queued event (DESIGN §7: "not queued"), so posagent-hq
 * answers it from memory and a flusher thread writes what arrived, every
 * HQ_HB_FLUSH_MS, as one short transaction on its own store connection.
 * A heartbeat therefore never waits for the writer behind event batches
 * (issue #14: p99 < 50 ms at 1,000 stores while batches are stored).
 *
 * What a crash costs: the heartbeats of the last flush interval, each
 * replaced by the store's next one 30 s later; nothing an agent queued.
 * Two heartbeats of one store that meet in memory are merged exactly as
 * writing them one after the other would have (the gate's "since").
 * Reads that must see every heartbeat already answered call hq_hb_flush
 * first. */
#ifndef HQ_HB_H
#define HQ_HB_H

#include "hq/hq_db.h"
#include "hq/hq_store.h"

#define HQ_HB_FLUSH_MS    200    /* how stale the stored state may be */
#define HQ_HB_MAX_PENDING 8192   /* heartbeats held while the store is
                                    down; one per store, so a fleet this
                                    big still fits */

typedef struct hq_hb hq_hb;

/* Start the flusher (its connection opened on first use) writing every
 * flush_ms. *out freed by hq_hb_stop. */
int hq_hb_start(const char *db_spec, int busy_ms, int flush_ms, hq_hb **out);

/* Take row as its store's latest heartbeat; row->doc is transferred (also
 * on failure) and row->doc is set to NULL. PA_OK; PA_ETIMEOUT when
 * HQ_HB_MAX_PENDING are waiting (answer 429); PA_EDB when the last write
 * failed (answer 503: the row is kept and written once the store is
 * back). */
int hq_hb_put(hq_hb *h, struct hq_hb_row *row);

/* Write, on db, every heartbeat put before this call (the flusher's own
 * turn included). PA_OK, or the store's error (the rows are kept). */
int hq_hb_flush(hq_hb *h, hq_db *db);

/* Stop the flusher after a last flush; NULL is fine. */
void hq_hb_stop(hq_hb *h);

#endif

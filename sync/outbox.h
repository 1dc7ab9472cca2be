/* outbox — durable, ordered queue of events for HQ, in agent.db (DESIGN §7).
 *
 * Producers call outbox_put() inside their own transaction, so an event exists
 * if and only if the change it describes was committed. The sync loop reads
 * the head with outbox_peek(), deletes what HQ acknowledged with outbox_ack()
 * and moves an event HQ refuses for good to the dead-letter table with
 * outbox_dead_letter().
 *
 * seq is an INTEGER PRIMARY KEY AUTOINCREMENT: never reused, and since SQLite
 * serialises writers, seq order is commit order — a later commit can never
 * carry a lower seq than one the sync loop has already sent. */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>
#include <jansson.h>

typedef struct outbox outbox;

/* Default size cap until outbox_set_cap() records the configured one. */
#define OUTBOX_DEFAULT_CAP 1000000LL
/* Longest type and ts accepted by outbox_put() (ts is ISO-8601 with ms). */
#define OUTBOX_MAX_TS 39

/* Create the outbox tables if missing (idempotent). agent.db's migration
 * list (agent/store/adb.c) runs it as one of its user_version steps, inside
 * its transaction; tests call it on a bare database. */
int outbox_schema(sqlite3 *db);

/* Prepare statements on db (which the caller keeps open and owns).
 * *out is freed with outbox_close(). */
int outbox_open(sqlite3 *db, outbox **out);
void outbox_close(outbox *ob);

/* Append one event: type "job" | "log"; ts ISO-8601 UTC with milliseconds;
 * data is borrowed and serialised. Must run inside the caller's transaction.
 * Never blocks and never fails because HQ is down. Beyond the size cap the
 * oldest *log* events are dropped (and counted); job events never are, so
 * the queue may exceed the cap when it holds nothing but job events. */
int outbox_put(outbox *ob, const char *type, const char *ts, const json_t *data);

/* Record the size cap (hq.outbox_max_events) in agent.db, so every process
 * that writes the outbox honours it. Writes only when it changes. */
int outbox_set_cap(outbox *ob, long long cap);

/* One queued event as read by outbox_peek(). data is the JSON text written
 * by outbox_put() (an object), NUL-terminated. */
struct outbox_event {
	long long seq;
	char type[8];
	char ts[OUTBOX_MAX_TS + 1];
	char *data;             /* owned by the batch */
	size_t data_len;
};

/* A batch: ev[0..n) in seq order. Zero-initialise; reuse across peeks;
 * release with outbox_batch_free(). */
struct outbox_batch {
	struct outbox_event *ev;
	size_t n;
	size_t bytes;           /* sum of data_len */
	size_t alloc;           /* private */
};

/* Read up to max_events events with after < seq <= upto (upto < 0: no upper
 * bound), oldest first, stopping before the data would exceed max_bytes (at
 * least one event is returned if any exists). Replaces b's contents; on
 * failure b is left empty. */
int outbox_peek(outbox *ob, long long after, long long upto, size_t max_events,
    size_t max_bytes, struct outbox_batch *b);
void outbox_batch_free(struct outbox_batch *b);

/* Delete every event with seq <= upto (HQ has stored them). *removed (may be
 * NULL) gets the number deleted. */
int outbox_ack(outbox *ob, long long upto, long long *removed);

/* Move event seq to the dead-letter table with reason, atomically. PA_OK if
 * it is already gone (a concurrent ack). */
int outbox_dead_letter(outbox *ob, long long seq, const char *reason);

struct outbox_stats {
	long long depth;            /* events queued */
	long long log_depth;        /* of which log events */
	char oldest_ts[OUTBOX_MAX_TS + 1];  /* "" when empty */
	long long last_seq;         /* highest seq ever assigned (0: none) */
	long long dropped;          /* log events dropped over the cap, ever */
	long long dead;             /* events in the dead-letter table */
	long long cap;
};
/* O(1) apart from the dead-letter count (a small table). */
int outbox_stats(outbox *ob, struct outbox_stats *st);

/* Newest dead letters as a JSON array of {seq,type,ts,reason,dead_at}
 * (at most limit; new reference in *out). */
int outbox_dead_json(outbox *ob, int limit, json_t **out);

/* Small persistent key/value state of the sync loop (hq_state, last error).
 * get: "" when unset; PA_ELIMIT if it does not fit in cap bytes. */
int outbox_state_get(outbox *ob, const char *key, char *buf, size_t cap);
int outbox_state_set(outbox *ob, const char *key, const char *value);

#endif

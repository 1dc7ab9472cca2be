/* hq_ingest — the receiving half of DESIGN §7: validate an events batch or
 * a heartbeat exactly, then store it (hq_store.h).
 *
 * A request is all or nothing: any malformed part refuses the whole of it
 * with a message naming the part, and nothing of it is stored. */
#ifndef HQ_INGEST_H
#define HQ_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hq/hq_db.h"
#include "hq/hq_store.h"

/* Named limits on what an agent may send. The agent's own batches are at
 * most 10000 events (batch_max) and 4 MiB of event data; a bigger batch is
 * refused with 413 and the agent halves it. */
#define HQ_MAX_EVENTS_BODY    (6u * 1024 * 1024)
#define HQ_MAX_BATCH_EVENTS   10000
#define HQ_MAX_HEARTBEAT_BODY (64u * 1024)
#define HQ_MAX_TS_LEN         40
#define HQ_MAX_TYPE_LEN       32
/* Times HQ accepts: years 2000 to 2999, so every stored time formats as
 * the same 24 characters and text order is time order (the fuzzer found
 * year 0226 formatting otherwise). */
#define HQ_TS_MIN_MS          946684800000LL
#define HQ_TS_MAX_MS          32503680000000LL

struct hq_ingest_result {
	int status;             /* HTTP status to answer */
	long long ack;          /* events: the "ack" (status 200) */
	long fresh;             /* events new to HQ */
	char error[256];        /* the problem, for a 4xx/5xx answer */
};

/* A validated batch: events[] borrow from doc. */
struct hq_batch {
	json_t *doc;
	struct hq_event *ev;
	int n;
};

/* Validate an events body for agent. PA_OK and *out (freed by
 * hq_batch_free) when it is valid; PA_OK with res->status 400/413 and
 * res->error naming the problem when not; PA_ENOMEM. */
int hq_ingest_parse(const char *agent, const char *body, size_t len,
    struct hq_batch **out, struct hq_ingest_result *res);
void hq_batch_free(struct hq_batch *b);

/* POST /api/v1/agents/{agent}/events. Returns PA_OK when res says what to
 * answer (200, 400, 413, 429 on a slow store, 503 when the store failed);
 * PA_ENOMEM otherwise. */
int hq_ingest_events(hq_db *db, const char *agent, const char *body,
    size_t len, int64_t now_ms, struct hq_ingest_result *res);
/* POST /api/v1/agents/{agent}/heartbeat: validate and derive the gate
 * state; storing is the caller's (hq_hb.h). PA_OK with res->status 200 and
 * *out filled (out->doc allocated by jansson: free() it), or res->status
 * 400/413 and nothing allocated; PA_ENOMEM. */
int hq_ingest_heartbeat(const char *agent, const char *body, size_t len,
    int64_t now_ms, struct hq_hb_row *out, struct hq_ingest_result *res);

#endif

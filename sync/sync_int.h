/* sync_int — what syncer.c and sstate.c share; not for use outside sync/. */
#ifndef SYNC_INT_H
#define SYNC_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sync/hqc.h"
#include "sync/outbox.h"
#include "sync/retry.h"
#include "sync/syncer.h"

/* Room for the persisted state document (sync_state key "sync"). */
#define SYNC_STATE_MAX 2048

struct sync_buf {
	char *p;
	size_t len, cap;
};

/* Persisted across runs, so `posagent status` and the next `sync --once`
 * see them. Timestamps are ISO-8601 UTC, "" when never. */
struct sync_state {
	char since[32];             /* last online/offline flip */
	char last_ok[32];
	char last_error[512];
	char last_error_code[32];   /* PA_E... name */
	char last_error_at[32];
	char last_heartbeat[32];
	char loop_started[32];      /* "" when no loop is running */
	int auth_refused;           /* HQ said 401/403; cleared by a success */
};

struct syncer {
	struct syncer_opts o;
	outbox *ob;
	hqc *hq;                    /* NULL until first use / after fatal */
	struct rt_breaker br;
	struct rt_hyst hy;          /* hy.online/oks/fails persisted too */
	struct rt_rng rng;
	unsigned attempt;           /* consecutive transient failures */
	int64_t next_send_ms;       /* monotonic: not before (backoff, 429) */
	int64_t started_ms;         /* monotonic: uptime_s */
	int64_t next_drain_ms, next_hb_ms;
	struct sync_buf body;       /* request body, reused */
	struct outbox_batch batch;
	struct syncer_report rep;
	struct sync_state st;
	char saved[SYNC_STATE_MAX]; /* last document written */
	int lock_fd;                /* DATA_DIR/sync.lock, -1 until first send */
	int logged_rc;              /* kind of the last error logged (0: none) */
	volatile int quit;          /* syncer_stop(): another thread asks */
	int online;                 /* hy.online published for syncer_online() */
};

int sync__events_body(struct sync_buf *b, const char *agent_id,
    const struct outbox_event *ev, size_t n);
int64_t sync__wait_ms(syncer *s);
/* Load the persisted state into s->st, s->hy and s->saved. A missing or
 * foreign (unreadable, too long) state starts afresh: PA_OK with zeros.
 * PA_ENOMEM, or a store error, leaves the stored state as it was: the
 * caller must not go on to save over it. */
int sync__state_load(syncer *s);
/* Write the state when this process is the sender and it changed. */
int sync__state_save(syncer *s);
/* Heartbeat document; for_status adds the "sync" object and takes uptime
 * from the running loop's persisted start. */
int sync__doc(syncer *s, int for_status, json_t **out);

#endif

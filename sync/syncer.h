/* syncer — sends the outbox to HQ in order and reports health (DESIGN §7).
 *
 *   drain      peek a batch (seq order, <= batch_max), POST it, delete what
 *              HQ acked; a batch refused with a final 4xx is bisected until
 *              the one poison event is found and dead-lettered (after an
 *              empty probe batch proves HQ accepts requests at all)
 *   heartbeat  POST the heartbeat document (not queued)
 *   run        drain + heartbeat every heartbeat_s until SIGTERM/SIGINT
 *
 * Retry timing comes from sync/retry.h (backoff with full jitter, circuit
 * breaker, online/offline hysteresis); the online/offline state and the last
 * error are persisted in agent.db (sync_state) for `posagent status`.
 *
 * sync/ never includes agent/ headers: what it needs from the agent (job
 * summary, KKT gate state) arrives through hooks as ready-made JSON. */
#ifndef SYNCER_H
#define SYNCER_H

#include <stdint.h>

#include <jansson.h>

#include "sync/hq.h"
#include "sync/outbox.h"

/* Event data per POST (besides batch_max): keeps one request bounded even
 * when log events carry big row_data. */
#define SYNCER_MAX_BATCH_BYTES (4u * 1024 * 1024)
/* How often the loop looks for new events when the outbox was empty. */
#define SYNCER_IDLE_POLL_MS    1000
/* Reason text kept for a dead letter. */
#define SYNCER_MAX_REASON      300

struct syncer_hooks {
	/* Each returns a new reference (or NULL: reported as null). */
	json_t *(*kkt_json)(void *arg);
	json_t *(*jobs_json)(void *arg);
	void *arg;
};

struct syncer_opts {
	const struct hq_config *hq;     /* borrowed; outlives the syncer */
	const char *agent_id;           /* borrowed */
	const char *version;            /* borrowed */
	const char *data_dir;           /* borrowed: disk_free_bytes */
	struct syncer_hooks hooks;
	uint64_t seed;                  /* jitter RNG; 0 = hal_seed64() */
	/* Optional: one line per change worth an operator's log (online/
	 * offline, a new error — not each retry —, a dead letter), with its
	 * pa_log priority (PA_LOG_WARNING for HQ offline, PA_LOG_ERR for a
	 * dead letter). */
	void (*log)(void *arg, int prio, const char *line);
	void *log_arg;
};

/* What a drain did (cumulative over the syncer's life). */
struct syncer_report {
	long long delivered;            /* events HQ acknowledged */
	long long batches;              /* POSTs of events, probes included */
	long long dead_lettered;        /* events moved to the dead-letter table */
	long long last_dead_seq;        /* 0: none */
	long connects;                  /* TLS/TCP connections opened */
};

typedef struct syncer syncer;

/* Bind to the outbox (borrowed). Opens no connection yet: the HQ client is
 * created on first use, so status-only callers work without HQ settings.
 * *out freed by syncer_close(). */
int syncer_open(const struct syncer_opts *o, outbox *ob, syncer **out);
void syncer_close(syncer *s);

/* Send every event queued now (events added meanwhile may wait for the next
 * pass). Returns PA_OK when drained; PA_EHQ_UNAVAILABLE (down, 5xx, 429,
 * timeout, backing off, breaker open), PA_EHQ_AUTH (401/403: nothing more
 * is sent, events kept), PA_ETLS (certificate refused), PA_ECONFIG/PA_EPERM
 * (settings), PA_EPROTO (HQ broke the protocol: ack beyond the batch, or it
 * refuses even an empty batch), PA_ECANCELLED (stop requested) — each with
 * a message. Events not acknowledged stay queued. */
int syncer_drain(syncer *s);

/* POST one heartbeat. Same codes as syncer_drain(). */
int syncer_heartbeat(syncer *s);

/* Loop: drain, then heartbeat every heartbeat_s, retrying with backoff,
 * until hal_stop_requested(). Returns PA_OK on a requested stop; only
 * errors no retry can fix (PA_ECONFIG, PA_EPERM, PA_ENOMEM, database
 * errors) end it early. */
int syncer_run(syncer *s);
/* From another thread: make syncer_run() return PA_OK soon (within about
 * 200 ms, or when the request in flight ends). */
void syncer_stop(syncer *s);
/* From another thread: is HQ online as of the loop's last step (1/0)? */
int syncer_online(syncer *s);

/* One scheduling step for a caller with its own loop (the daemon): drains
 * and/or heartbeats when due, then sets *wait_ms to the time until the next
 * is due. Returns the drain/heartbeat result (transient errors included:
 * the schedule already accounts for them). */
int syncer_tick(syncer *s, int64_t *wait_ms);

const struct syncer_report *syncer_report(const syncer *s);

/* The heartbeat document (DESIGN §7) as `posagent status` shows it, without
 * contacting HQ: hq_state and the last error come from agent.db. Adds a
 * "sync" object (last_ok, last_error, last_heartbeat, recent dead letters).
 * New reference in *out. */
int syncer_status_json(syncer *s, json_t **out);
/* The heartbeat document exactly as syncer_heartbeat() sends it. */
int syncer_heartbeat_json(syncer *s, json_t **out);

#endif

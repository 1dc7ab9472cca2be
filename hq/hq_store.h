/* hq_store — what posagent-hq keeps, over either backend (hq_db.h). All of
 * the SQL is in hq_store.c, the same text for SQLite and PostgreSQL.
 *
 * Tables: hq_agent (registration, credentials, latest heartbeat and what
 * is derived from it), hq_operator (hashed dashboard tokens), hq_event (the
 * dedup ledger: UNIQUE (agent_id, seq)), hq_job (current job per store from
 * snapshots), hq_log (job logs), hq_alert (incidents already reported). */
#ifndef HQ_STORE_H
#define HQ_STORE_H

#include <stdint.h>

#include <jansson.h>

#include "hq/hq_db.h"

#define HQ_ID_MAX    127        /* agent id, as the agent's own check */
#define HQ_HASH_HEX  65

/* One validated event of a batch (hq_ingest.c); data borrowed. */
struct hq_event {
	int64_t seq;
	const char *type;       /* "job", "log" or a future type (ledger only) */
	char ts[32];            /* normalised ISO 8601 UTC */
	json_t *data;
};

struct hq_agent_row {
	int exists;
	char token_hash[HQ_HASH_HEX];   /* "" when none */
	int64_t gate_since_ms;          /* 0: not refusing */
	int64_t gate_refusals;
};

/* Create the schema when missing (idempotent). */
int hq_store_migrate(hq_db *db);

/* Register (or re-register) a store; token_hash NULL keeps any old one. */
int hq_store_agent_add(hq_db *db, const char *id, const char *token_hash,
    int first_contact, int64_t now_ms);
int hq_store_agent_get(hq_db *db, const char *id, struct hq_agent_row *out);
/* A new operator or a new token for an existing one (the old stops working). */
int hq_store_operator_add(hq_db *db, const char *name, const char *hash,
    int64_t now_ms);
/* *ok = 1 when hash belongs to an operator. */
int hq_store_operator_check(hq_db *db, const char *hash, int *ok);

/* Store a validated batch in one transaction, each event at most once
 * ((agent_id, seq) unique; seqs at or below the agent's retention mark count
 * as stored). *ack = the batch's last seq, or for an empty batch the
 * highest seq stored for the agent (0 if none). *fresh = events new to HQ.
 * Nothing is stored on failure. */
int hq_store_ingest(hq_db *db, const char *agent, const struct hq_event *ev,
    int n, int64_t now_ms, long long *ack, long *fresh);
/* A store's latest heartbeat and the gate state derived from it:
 * refusing now (since_ms: the agent's own "since", 0 if it does not say),
 * refusals (-1: keep the count HQ has). */
struct hq_hb_row {
	char agent[HQ_ID_MAX + 1];
	char *doc;              /* compact JSON (owned by whoever holds the row) */
	int64_t now_ms;         /* when HQ received it */
	int refusing;
	int64_t since_ms, refusals, dead_letters;
	/* When HQ's own account of a refusal streak applies (since_ms 0):
	 * keep_db_since 1 lets the streak HQ has stored go on; streak_ms > 0
	 * is when a streak began in heartbeats merged into this row (hq_hb.c);
	 * otherwise it begins at now_ms. */
	int keep_db_since;
	int64_t streak_ms;
};
/* Keep each row's doc as its store's latest heartbeat, all in one short
 * transaction. A row older than what the store has (another replica
 * wrote a newer one) changes nothing. Nothing is stored on failure. */
int hq_store_heartbeats(hq_db *db, const struct hq_hb_row *rows, int n);

/* Delete jobs and logs older than their retention (days > 0). */
int hq_store_retention(hq_db *db, int job_days, int log_days, int64_t now_ms,
    long *deleted);

/* Read side (hq_api.c shapes JSON from these rows).
 * agents: id, last_seen_ms, hb_doc, gate_since_ms, gate_refusals,
 *         dead_letters, first_contact (one agent when id != NULL).
 * latest: agent_id, state, doc: the latest done/failed/running job each. */
int hq_store_agents(hq_db *db, const char *id, hq_rows **agents,
    hq_rows **latest);
/* Jobs of one store, newest first: doc. state/since/until may be NULL. */
int hq_store_jobs(hq_db *db, const char *id, const char *state,
    const char *since, const char *until, int limit, hq_rows **rows);
/* One job: doc (0 or 1 row). */
int hq_store_job(hq_db *db, const char *id, const char *uuid, hq_rows **rows);
/* A page of a job's log: level, message, row_no, row_data, ts. */
int hq_store_log(hq_db *db, const char *id, const char *uuid,
    const char *level, int64_t offset, int limit, hq_rows **rows,
    int64_t *total);

/* Failed jobs received since since_ms: agent_id, uuid, doc. */
int hq_store_failed_jobs(hq_db *db, int64_t since_ms, hq_rows **rows);
/* Claim an incident for reporting: *fire = 1 for the one process and the
 * one time it is new. */
int hq_store_alert_claim(hq_db *db, const char *agent, const char *kind,
    const char *incident, int64_t now_ms, int *fire);

#endif

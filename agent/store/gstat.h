/* gstat — how long the KKT gate has been refusing imports (issue #10):
 * one row in agent.db while it refuses, gone once an import passes it, so
 * the heartbeat and `posagent status` show HQ a store stuck behind its
 * KKT; and how many imports it refused in all, for the
 * posagent_gate_refusals_total counter (issue #13). The SQL for it lives
 * here. */
#ifndef GSTAT_H
#define GSTAT_H

#include <jansson.h>

#include "agent/store/adb.h"

/* Count one refused import at ts (ISO 8601) with its reason: the first
 * refusal since the gate last passed sets `since`. Runs in the caller's
 * transaction. PA_OK or a PA_EDB code. */
int gstat_refused(adb *a, const char *ts, const char *reason);

/* The gate let an import through: forget the streak (the lifetime
 * count stays). */
int gstat_passed(adb *a);

/* *out = imports the gate refused in this agent.db's life, counted by
 * gstat_refused in the same transaction (0 before the first). PA_EDB. */
int gstat_total(adb *a, int64_t *out);

/* *out = {"since", "refusals", "last_at", "last_reason", "refusing_s"}
 * while the gate refuses (refusing_s: seconds since `since` at now_ms),
 * or JSON null; a new reference owned by the caller. PA_ENOMEM, PA_EDB. */
int gstat_json(adb *a, int64_t now_ms, json_t **out);

#endif

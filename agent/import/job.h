/* job — import jobs: the record, the state machine and the job log
 * (DESIGN §5). Every state change and every log entry is written to the
 * outbox in the same agent.db transaction as the change itself.
 *
 *   draft → running → done | failed          run
 *   draft | running → cancelled              cancel
 *   failed | cancelled → draft               reset
 *   done → reverted                          revert (agent/import/revert.h)
 *
 * The SQL is the store's (agent/store/adb_job.c); this module decides the
 * transitions, holds the transactions and writes the events.
 */
#ifndef JOB_H
#define JOB_H

#include <jansson.h>
#include <stdint.h>

#include "agent/store/adb.h"
#include "agent/store/adb_job.h"

/* The record (struct job, its states and log levels, their names and
 * job_free) is agent/store/adb_job.h: the row as agent.db keeps it. */

/* Is from → to allowed? */
int job_transition_ok(enum job_state from, enum job_state to);

/* New JSON object with the seed's field names (caller owns). */
json_t *job_to_json(const struct job *j);

/* Create a draft job for the file at path (already copied to the spool
 * under sha256) and profile. file_name is the name's bytes as the file
 * system has them (any bytes): the job keeps their valid-UTF-8 rendering
 * and says which (names_render). *out owned by the caller. */
int job_create(adb *a, const char *profile, const char *file_name,
    const char *sha256, int64_t size, struct job **out);
/* Find by name (IMP/00042, or just 42) or uuid: PA_ENOTFOUND otherwise. */
int job_get(adb *a, const char *ref, struct job **out);
/* Re-read j from the database. */
int job_reload(adb *a, struct job *j);

/* Move j to state `to` (checked against the state machine; PA_ESTATE names
 * the current state). Writes the snapshot event. start/end dates, duration
 * and progress follow the state. msg sets error_message (NULL keeps). */
int job_transition(adb *a, struct job *j, enum job_state to, const char *msg);
/* Persist the counters of j (no event), only while it is running; never
 * its state. */
int job_save_stats(adb *a, const struct job *j);
/* failed|cancelled → draft: clear stats, error and logs. */
int job_reset(adb *a, struct job *j);
/* Mark j as a dry run (its catalog changes are rolled back; it does not
 * count as an imported file). */
int job_mark_dry_run(adb *a, struct job *j);
/* Cancel j in one write transaction on its stored state: a draft becomes
 * cancelled; a running job gets the cancel flag for its process (which
 * rolls back) and *running = 1; any other state is PA_ESTATE. j is
 * reloaded. */
int job_cancel(adb *a, struct job *j, int *running);
/* Record that a person runs draft j past a refusing KKT gate: ov is
 * {"by","reason","kkt"} (borrowed). Shown as gate_override on the job
 * object and in its next event to HQ; cleared by job_reset. Runs in the
 * caller's transaction. */
int job_set_gate_override(adb *a, struct job *j, const json_t *ov);
/* Has a cancel been requested for j? (1 also when j was deleted.) */
int job_cancel_requested(adb *a, const struct job *j, int *flag);

/* Append a log entry (and its outbox event). row_data may be NULL; it is
 * borrowed. Runs in the caller's transaction if one is open. */
int job_log(adb *a, const struct job *j, enum job_level lvl, long row,
    const char *msg, const json_t *row_data);

/* Delete a job and its logs (never a running one). */
int job_delete(adb *a, struct job *j);

#endif

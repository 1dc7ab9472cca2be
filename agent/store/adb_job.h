/* adb_job — the job record (a row of agent.db's table job) and the
 * statements that read and write one job and its log. The state machine,
 * the events to HQ and the transactions around them are agent/import/job.c;
 * this module only says how a job is stored.
 *
 * The record type and its names keep the job_ prefix of the type they
 * describe (every layer above speaks of struct job); the operations on the
 * rows are adbj_. Each runs in the caller's transaction if one is open. */
#ifndef ADB_JOB_H
#define ADB_JOB_H

#include <jansson.h>
#include <stdint.h>

#include "agent/core/names.h"
#include "agent/store/adb.h"

enum job_state { JOB_DRAFT, JOB_RUNNING, JOB_DONE, JOB_FAILED, JOB_CANCELLED,
	JOB_REVERTED, JOB_NSTATES };
enum job_level { JOB_INFO, JOB_WARNING, JOB_ERROR };

/* A snapshot of one job row. All strings owned by the struct. */
struct job {
	int64_t id;
	char name[16];                 /* IMP/00042 */
	char uuid[37];
	char *profile;
	char *file_name;               /* valid UTF-8 (agent/core/names.h) */
	enum names_enc file_name_enc;  /* how file_name renders the bytes */
	char sha256[65];
	int64_t file_size;
	enum job_state state;
	char create_date[32], start_date[32], end_date[32];   /* "" = unset */
	double duration;               /* seconds */
	long total_rows, processed_rows;
	long created, updated, unchanged, skipped, errors;
	double progress;               /* percent */
	char *error_message;           /* NULL = none */
	char *notes;
	int cancel_requested;
	char *gate_override;           /* JSON {"by","reason","kkt"}: a person
	                                  ran it past a refusing KKT gate; NULL */
	json_t *price_guard;           /* the price guard's verdict, NULL = none */
};

/* The names stored in the state and level columns. */
const char *job_state_name(enum job_state s);
/* PA_OK and *out, or PA_EUSAGE naming the states. */
int job_state_parse(const char *s, enum job_state *out);
const char *job_level_name(enum job_level l);
int job_level_parse(const char *s, enum job_level *out);
/* Free a heap record and its strings; NULL is fine. */
void job_free(struct job *j);
/* Free only the strings of a record (one on the stack), leaving it empty. */
void job_clear(struct job *j);

/* A new draft row, named from the job sequence (IMP/NNNNN), read back into
 * j (its old strings freed). The text arguments are borrowed; file_name is
 * already valid UTF-8 and enc names how it was made. Run it inside the
 * caller's write transaction so the number and the row commit together. */
int adbj_create(adb *a, const char *uuid, const char *profile,
    const char *file_name, const char *enc, const char *sha256, int64_t size,
    const char *now, struct job *j);

/* Which column adbj_find looks up by. */
enum adbj_key { ADBJ_BY_ID, ADBJ_BY_NAME, ADBJ_BY_UUID };
/* Read the job whose key column equals text (name, uuid) or id into j (its
 * old strings freed): *found 1, or 0 with j untouched. */
int adbj_find(adb *a, enum adbj_key key, const char *text, int64_t id,
    struct job *j, int *found);
/* The stored state of job id: PA_OK, or PA_ENOTFOUND (no message). */
int adbj_state(adb *a, int64_t id, enum job_state *s);

/* Write j's state, dates, counters, error message and price verdict;
 * clear_cancel also drops a pending cancel request. */
int adbj_save(adb *a, const struct job *j, int clear_cancel);
/* Write j's counters only, and only while the stored job is running; never
 * its state (issue #8). Run every 250 ms during an import. */
int adbj_save_stats(adb *a, const struct job *j);
/* Clear job id's counters, dates, error, price verdict, gate override and
 * its log (failed|cancelled → draft keeps nothing of the old run). */
int adbj_reset(adb *a, int64_t id);
/* Store the gate override text (len bytes, JSON) of job id. */
int adbj_set_gate_override(adb *a, int64_t id, const char *text, size_t len);
/* Mark job id as a dry run (with its note). */
int adbj_mark_dry_run(adb *a, int64_t id);
/* *flag = job id's cancel request, or 1 when the job is gone. */
int adbj_cancel_flag(adb *a, int64_t id, int *flag);
/* Ask the process running job id to cancel it. */
int adbj_request_cancel(adb *a, int64_t id);
/* Append one log row; row_data is JSON text or NULL. Strings borrowed. */
int adbj_log(adb *a, int64_t id, enum job_level lvl, long row,
    const char *msg, const char *row_data, const char *ts);
/* Delete job id; its log goes with it (foreign key cascade). */
int adbj_delete(adb *a, int64_t id);
/* Job id was just saved done: add its created + updated rows (none for a
 * dry run) to the lifetime count adbq_rows_total reads. In the caller's
 * transaction. */
int adbj_count_rows(adb *a, int64_t id);
/* *yes = 1 if a job with this uuid exists. */
int adbj_uuid_exists(adb *a, const char *uuid, int *yes);

#endif

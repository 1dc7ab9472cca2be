/* runner — runs an import job end to end: KKT gate, state machine, the
 * pipeline, logs and progress in agent.db, settling the outcome; and
 * settles jobs a crash left `running` (DESIGN §5, §6, §8). */
#ifndef RUNNER_H
#define RUNNER_H

#include <stdint.h>

#include "agent/import/job.h"
#include "agent/store/adb.h"
#include "kkt/kkt.h"

struct runner_opts {
	const char *data_dir;
	const struct kkt_config *kkt;
	int dry_run;
	/* Non-NULL: a person at the terminal runs the job past a refusing
	 * gate (DESIGN §6 audited override) for this reason — logged with
	 * the user and the adapter's answer, kept on the job. Only the CLI
	 * sets it, after checking [kkt] allow_override; never the daemon. */
	const char *override_reason;
	/* A person at the terminal accepts what the price guard finds, for
	 * this run only (never the daemon); accepted_by names them. */
	int accept_price_changes;
	const char *accepted_by;
	/* Optional: called with the live job about every quarter second. */
	void (*on_progress)(void *ctx, const struct job *j);
	void *ctx;
	/* Optional: gets what the KKT gate said (the daemon's STATUS=). */
	struct kkt_status *gate;
};

/* Hash path and keep a durable copy in DATA_DIR/spool/<sha256> (content
 * addressed, so a reset job can run again after the original is gone). */
int runner_spool(const char *data_dir, const char *path, char sha[65],
    uint64_t *size);

/* After runner_spool, when no job could be made of the file: remove
 * DATA_DIR/spool/<sha256> unless a job uses it, so a failure leaves no
 * orphan. Best effort: the caller's error is the one to report. */
void runner_unspool(adb *a, const char *data_dir, const char *sha);

/* Run draft job j. Refused by the gate: j stays draft with one warning log
 * line and PA_EKKT_UNSYNCED / PA_EKKT_UNREACHABLE / PA_EKKT_AUTH is
 * returned, unless
 * o->override_reason is set: then the warning names the override and the
 * import runs. Every refusal is counted (gstat) until the gate passes. Otherwise j
 * ends done (PA_OK), failed (PA_EDATA, PA_EFORMAT, ... with the message) or
 * cancelled (PA_ECANCELLED); j is reloaded to its final state. */
int runner_run(adb *a, struct job *j, const struct runner_opts *o);

/* Settle jobs left running by a process that died: done when the catalog
 * holds their import record, else failed ("interrupted"). Jobs whose
 * process is alive are left alone. The names of interrupted jobs are
 * appended to the JSON array `interrupted` (NULL: not wanted). */
int runner_recover(adb *a, const char *data_dir, json_t *interrupted);

#endif

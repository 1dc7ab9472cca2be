#include "agent/import/runner.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "agent/import/jobq.h"
#include "agent/import/pipeline.h"
#include "agent/import/profile.h"
#include "agent/import/revert.h"
#include "agent/import/space.h"
#include "agent/store/catalog.h"
#include "agent/store/gstat.h"
#include "hal/hal.h"
#include "hal/hal_file.h"
#include "hal/hal_user.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

#define TICK_MS 250   /* progress/cancel check period: "within a second" */
/* Row messages logged in full per job (issue #8: one file with a systematic
 * error once wrote 291k log rows and as many HQ events). Beyond it, only
 * counts per kind of message; the job's counters stay exact. */
#define LOG_ROWS_MAX  1000
#define LOG_KINDS_MAX 32

struct kind {
	char text[160];
	long n;
};

struct run {
	adb *a;
	struct job *j;
	const struct runner_opts *o;
	int in_tx;
	int64_t last_ms;
	long logged, unlogged;          /* row messages written / only counted */
	int nkinds;
	struct kind kinds[LOG_KINDS_MAX + 1];   /* the last one: "other" */
};

int
runner_spool(const char *data_dir, const char *path, char sha[65],
    uint64_t *size)
{
	char dir[PATH_MAX];
	struct hal_finfo fi;
	int rc;

	if ((rc = hal_file_info(path, 1, &fi)) != PA_OK)
		return rc;
	if (fi.type != HAL_F_REG)
		return pa_err_set(PA_ENOTFOUND, "%s is not a regular file", path);
	if ((rc = hal_pathf(dir, sizeof(dir), "%s/spool", data_dir)) != PA_OK ||
	    (rc = hal_mkdirs(dir)) != PA_OK)
		return rc;
	/* The disk guard: refuse before copying what cannot be imported. */
	if ((rc = space_check(data_dir, space_import_need(fi.size,
	    path, 0), path)) != PA_OK)
		return rc;
	return hal_spool_file(path, dir, sha, size);
}

void
runner_unspool(adb *a, const char *data_dir, const char *sha)
{
	char path[PATH_MAX];
	int used = 1;

	if (jobq_sha_used(a, sha, &used) != PA_OK || used)
		return;
	if (hal_pathf(path, sizeof(path), "%s/spool/%s", data_dir, sha) == PA_OK)
		(void)hal_sys.unlink(path);   /* bare: the caller's message stays */
}

static int
batch_begin(struct run *r)
{
	int rc;

	if (r->in_tx)
		return PA_OK;
	if ((rc = adb_begin(r->a)) == PA_OK)
		r->in_tx = 1;
	return rc;
}

static int
batch_commit(struct run *r)
{
	if (!r->in_tx)
		return PA_OK;
	r->in_tx = 0;
	return adb_commit(r->a);
}

/* A message's kind: without its "row N, " prefix and with quoted values
 * elided, so "row 7, column C ("Price"): '12 000 руб.' is not ..." and the
 * same error on row 9 count as one kind. */
static void
kind_of(const char *msg, char *out, size_t n)
{
	const char *p = msg;
	size_t o = 0;
	int quoted = 0;

	if (strncmp(p, "row ", 4) == 0 && (p = strstr(p, ", ")) != NULL)
		p += 2;
	else
		p = msg;
	for (; *p && o + 4 < n; p++) {
		if (*p == '\'') {
			if (!quoted)
				o += (size_t)snprintf(out + o, n - o, "'…'");
			quoted = !quoted;
		} else if (!quoted) {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

static void
count_kind(struct run *r, const char *msg)
{
	char k[sizeof(r->kinds[0].text)];
	int i;

	kind_of(msg, k, sizeof(k));
	for (i = 0; i < r->nkinds; i++)
		if (strcmp(r->kinds[i].text, k) == 0)
			break;
	if (i == r->nkinds) {
		if (r->nkinds == LOG_KINDS_MAX) {
			i = LOG_KINDS_MAX;
			snprintf(r->kinds[i].text, sizeof(r->kinds[i].text),
			    "other kinds");
		} else {
			snprintf(r->kinds[i].text, sizeof(r->kinds[i].text), "%s", k);
			r->nkinds++;
		}
	}
	r->kinds[i].n++;
	r->unlogged++;
}

static int
sink_log(void *ctx, enum job_level lvl, long row, const char *msg,
    const json_t *row_data)
{
	struct run *r = ctx;
	int rc;

	if (row > 0) {
		if (r->logged >= LOG_ROWS_MAX) {
			count_kind(r, msg);
			return PA_OK;
		}
		r->logged++;
	}
	/* Logs of a running import are batched into the transaction that the
	 * next tick commits: one fsync per tick, not per error row. */
	if ((rc = batch_begin(r)) != PA_OK)
		return rc;
	return job_log(r->a, r->j, lvl, row, msg, row_data);
}

/* The capped rows, per kind, as whole-file lines (they reach HQ too). */
static int
log_unlogged(struct run *r)
{
	char msg[400];
	int i, rc;

	if (r->unlogged == 0)
		return PA_OK;
	snprintf(msg, sizeof(msg), "%ld more row messages were counted but not "
	    "logged (only the first %d are kept in full); by kind below",
	    r->unlogged, LOG_ROWS_MAX);
	if ((rc = job_log(r->a, r->j, JOB_WARNING, 0, msg, NULL)) != PA_OK)
		return rc;
	for (i = 0; i <= LOG_KINDS_MAX; i++) {
		if (r->kinds[i].n == 0)
			continue;
		snprintf(msg, sizeof(msg), "not logged: %ld × %s", r->kinds[i].n,
		    r->kinds[i].text);
		if ((rc = job_log(r->a, r->j, JOB_WARNING, 0, msg, NULL)) != PA_OK)
			return rc;
	}
	return PA_OK;
}

static void
copy_stats(struct job *j, const struct pipe_stats *st)
{
	j->total_rows = st->total;
	j->processed_rows = st->total;
	j->created = st->created;
	j->updated = st->updated;
	j->unchanged = st->unchanged;
	j->skipped = st->skipped;
	j->errors = st->errors;
	j->progress = st->progress;
}

static int
sink_tick(void *ctx, const struct pipe_stats *st)
{
	struct run *r = ctx;
	int64_t now = hal_sys.mono_ms();
	int cancel, rc;

	if (now - r->last_ms < TICK_MS)
		return PA_OK;
	r->last_ms = now;
	copy_stats(r->j, st);
	if ((rc = batch_begin(r)) != PA_OK)
		return rc;
	if ((rc = job_save_stats(r->a, r->j)) != PA_OK)
		return rc;
	if ((rc = batch_commit(r)) != PA_OK)
		return rc;
	/* cancel_requested is set by `job cancel` from another process. */
	if ((rc = job_cancel_requested(r->a, r->j, &cancel)) != PA_OK)
		return rc;
	if (r->o->on_progress)
		r->o->on_progress(r->o->ctx, r->j);
	return cancel ? pa_err_set(PA_ECANCELLED, "cancelled by request") : PA_OK;
}

/* A person runs the job past the refusing gate: the warning line and the
 * job's gate_override say who (name and uid), why, and what the adapter
 * said at that moment, or that it could not be asked (DESIGN §6). */
static int
gate_override(struct run *r, int verdict, const struct kkt_status *ks)
{
	char who[128], by[160], msg[1024];
	json_t *ov = NULL;
	long uid;
	int rc;

	hal_whoami(who, sizeof(who), &uid);
	snprintf(by, sizeof(by), "%s (uid %ld)", who, uid);
	ov = json_pack("{s:s, s:s, s:o}", "by", by, "reason",
	    r->o->override_reason, "kkt", kkt_status_json(ks));
	if (ov == NULL)
		return pa_err_set(PA_ENOMEM, "out of memory recording the gate "
		    "override");
	snprintf(msg, sizeof(msg), "KKT gate overridden by %s, reason: \"%s\"; "
	    "%s: %s", by, r->o->override_reason,
	    verdict != PA_EKKT_UNSYNCED ? "the KKT adapter could not be "
	    "asked" : "the KKT adapter said", ks->reason);
	if ((rc = job_log(r->a, r->j, JOB_WARNING, 0, msg, NULL)) == PA_OK)
		rc = job_set_gate_override(r->a, r->j, ov);
	json_decref(ov);
	return rc;
}

/* Log the gate's verdict (inside the start transaction). A refusal leaves
 * the job draft with one warning line. */
static int
gate_log(struct run *r, int verdict, const struct kkt_status *ks)
{
	char msg[512], ts[32];
	int rc;

	if (verdict == PA_OK && ks->backend == KKT_BACKEND_NONE)
		return job_log(r->a, r->j, JOB_WARNING, 0, "KKT gate off: [kkt] "
		    "backend = none, prices change without checking the fiscal "
		    "buffer", NULL);
	if (verdict == PA_OK && r->o->override_reason != NULL &&
	    (rc = job_log(r->a, r->j, JOB_INFO, 0, "--override-gate not used: "
	    "the KKT gate let the import through", NULL)) != PA_OK)
		return rc;
	if (verdict == PA_OK)
		return gstat_passed(r->a);
	hal_now_iso(ts);
	if ((rc = gstat_refused(r->a, ts, ks->reason)) != PA_OK)
		return rc;
	if (r->o->override_reason != NULL)
		return gate_override(r, verdict, ks);
	snprintf(msg, sizeof(msg), "import refused: %s", ks->reason);
	if ((rc = job_log(r->a, r->j, JOB_WARNING, 0, msg, NULL)) != PA_OK)
		return rc;
	return verdict;
}

static int
settle(struct run *r, int rc, const struct pipe_stats *st)
{
	char msg[1400];
	int rc2;

	copy_stats(r->j, st);
	/* The verdict rides on the job object, so HQ gets it with the state. */
	json_decref(r->j->price_guard);
	r->j->price_guard = st->guarded ? pg_to_json(&st->guard) : NULL;
	/* Failed or cancelled: the catalog was rolled back, nothing was
	 * created or updated (DESIGN §5; a partial created_count of 1 was
	 * shown after an unterminated quote, issue #9). Rows read and error
	 * rows stay: they say why. */
	if (rc != PA_OK)
		r->j->created = r->j->updated = 0;
	if ((rc2 = batch_begin(r)) != PA_OK)
		return rc2;
	if ((rc2 = log_unlogged(r)) != PA_OK)
		return rc2;
	if (rc == PA_OK) {
		if (r->o->dry_run && (rc2 = job_mark_dry_run(r->a, r->j)) != PA_OK)
			return rc2;
		snprintf(msg, sizeof(msg), "%s: %ld rows: %ld created, %ld updated, "
		    "%ld unchanged, %ld skipped, %ld errors%s", r->j->file_name,
		    st->total, st->created, st->updated, st->unchanged, st->skipped,
		    st->errors, r->o->dry_run ? " (dry run: catalog rolled back)" :
		    "");
		if ((rc2 = job_log(r->a, r->j, JOB_INFO, 0, msg, NULL)) != PA_OK ||
		    (rc2 = job_transition(r->a, r->j, JOB_DONE, NULL)) != PA_OK)
			return rc2;
	} else if (rc == PA_ECANCELLED) {
		if ((rc2 = job_log(r->a, r->j, JOB_WARNING, 0, "cancelled by "
		    "request: the catalog was rolled back", NULL)) != PA_OK ||
		    (rc2 = job_transition(r->a, r->j, JOB_CANCELLED,
		    "cancelled by request")) != PA_OK)
			return rc2;
	} else {
		/* "disk full" leads, whatever step hit it (issue #9). */
		snprintf(msg, sizeof(msg), "%s%s", rc == PA_ENOSPC &&
		    strncmp(pa_err_msg(rc), "disk full", 9) != 0 ? "disk full: " :
		    "", pa_err_msg(rc));
		if ((rc2 = job_log(r->a, r->j, JOB_ERROR, 0, msg, NULL)) != PA_OK ||
		    (rc2 = job_transition(r->a, r->j, JOB_FAILED, msg)) != PA_OK)
			return rc2;
		pa_err_set(rc, "%s", msg);
	}
	return batch_commit(r);
}

/* The disk filled up under the job's bookkeeping (issue #9): roll it back,
 * free the reserve, and settle there and then on what the catalog holds —
 * done if its import record is there, else failed "disk full" — so the
 * command never reports other than the catalog. *prc gets the outcome. */
static int
settle_disk_full(struct run *r, cat *c, int prc, const struct pipe_stats *st,
    int *outcome)
{
	struct cat_counts n;
	int found = 0, rc;

	adb_rollback(r->a);
	r->in_tx = 0;
	space_reserve_release(r->o->data_dir);
	if ((rc = cat_import_record(c, r->j->uuid, &found, &n)) != PA_OK)
		return rc;
	if (found || prc == PA_OK)
		prc = PA_OK;   /* committed (or a dry run, which commits nothing) */
	else if (prc != PA_ENOSPC && prc != PA_ECANCELLED)
		prc = pa_err_set(PA_ENOSPC, "disk full while recording the "
		    "outcome (%s); the catalog was not changed", pa_err_msg(prc));
	*outcome = prc;
	if ((rc = settle(r, prc, st)) == PA_OK)
		return PA_OK;
	adb_rollback(r->a);
	r->in_tx = 0;
	return pa_err_set(PA_ENOSPC, "disk full: job %s could not be recorded; "
	    "the catalog %s; the next posagent command settles the job "
	    "accordingly once there is space", r->j->name, found ?
	    "holds this import (it is done)" : "was not changed");
}

int
runner_run(adb *a, struct job *j, const struct runner_opts *o)
{
	struct run r;
	struct pipe_sink sink = { &r, sink_log, sink_tick, NULL };
	struct pipe_opts po;
	struct pipe_stats st;
	struct profile *p = NULL;
	char spool[PATH_MAX], lock[PATH_MAX], msg[512];
	struct kkt_status ks;
	struct hal_file_id dir_id;
	int rc, prc, gate, lockfd = -1;
	cat *c = NULL;

	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	r.a = a;
	r.j = j;
	r.o = o;
	if ((rc = hal_path_id(o->data_dir, &dir_id)) != PA_OK)
		return rc;
	if ((rc = job_reload(a, j)) != PA_OK)
		return rc;
	if (j->state != JOB_DRAFT)
		return pa_err_set(PA_ESTATE, "job %s is %s: only a draft job can "
		    "run%s", j->name, job_state_name(j->state),
		    j->state == JOB_FAILED || j->state == JOB_CANCELLED ?
		    " (reset it first: posagent job reset)" : "");
	if ((rc = prof_get(a, j->profile, &p)) != PA_OK)
		return pa_err_wrap(rc, "job %s: ", j->name);
	/* Switched off after the job was made: it stays draft (issue #9). */
	if ((rc = prof_check_active(p)) != PA_OK) {
		pa_err_wrap(rc, "job %s stays draft: ", j->name);
		goto out;
	}
	if ((rc = hal_pathf(spool, sizeof(spool), "%s/spool/%s", o->data_dir,
	    j->sha256)) != PA_OK)
		goto out;
	if (!hal_readable(spool)) {
		rc = pa_err_set(PA_ENOTFOUND, "job %s: its file %s is gone from "
		    "the spool (%s); create a new job from the file", j->name,
		    j->file_name, spool);
		goto out;
	}
	/* The disk guard, and the reserve that keeps the outcome writable if
	 * the disk fills up all the same (another process may write too). */
	space_reserve_make(o->data_dir);
	if ((rc = space_check(o->data_dir, space_import_need((uint64_t)
	    j->file_size, j->file_name, 1), j->file_name)) != PA_OK) {
		rc = pa_err_wrap(rc, "job %s stays draft: ", j->name);
		goto out;
	}
	if ((rc = hal_pathf(lock, sizeof(lock), "%s/run", o->data_dir)) != PA_OK ||
	    (rc = hal_mkdirs(lock)) != PA_OK ||
	    (rc = hal_pathf(lock, sizeof(lock), "%s/run/%s.lock", o->data_dir,
	    j->uuid)) != PA_OK)
		goto out;
	if ((rc = hal_lock_file(lock, &lockfd)) != PA_OK)
		goto out;
	if ((rc = cat_open(o->data_dir, &c)) != PA_OK)
		goto out;
	/* Ask the adapter before taking agent.db's write lock: the check may
	 * take the whole timeout. */
	memset(&ks, 0, sizeof(ks));
	gate = kkt_check(o->kkt, &ks);
	if (o->gate)
		*o->gate = ks;
	if (gate != PA_OK && gate != PA_EKKT_UNSYNCED &&
	    gate != PA_EKKT_UNREACHABLE && gate != PA_EKKT_AUTH) {
		rc = gate;
		goto out;
	}
	if ((rc = adb_begin(a)) != PA_OK)
		goto out;
	if ((rc = gate_log(&r, gate, &ks)) != PA_OK) {
		if (rc == gate && (rc = adb_commit(a)) == PA_OK)
			rc = pa_err_set(gate, "job %s stays draft: %s", j->name,
			    ks.reason);
		adb_rollback(a);
		goto out;
	}
	snprintf(msg, sizeof(msg), "import of %s (%lld bytes, sha256 %.12s…) "
	    "with profile \"%s\" started%s", j->file_name, (long long)j->file_size,
	    j->sha256, p->name, o->dry_run ? " (dry run)" : "");
	if ((rc = job_log(a, j, JOB_INFO, 0, msg, NULL)) != PA_OK ||
	    (rc = job_transition(a, j, JOB_RUNNING, NULL)) != PA_OK ||
	    (rc = adb_commit(a)) != PA_OK) {
		adb_rollback(a);
		goto out;
	}
	memset(&po, 0, sizeof(po));
	po.path = spool;
	po.file_label = j->file_name;
	po.prof = p;
	po.catalog = c;
	po.job_name = j->name;
	po.job_uuid = j->uuid;
	po.dry_run = o->dry_run;
	po.accept_price_changes = o->accept_price_changes;
	po.accepted_by = o->accepted_by;
	r.last_ms = hal_sys.mono_ms();
	prc = pipe_run(&po, &sink, &st);
	/* The data directory removed (or replaced) under us: the catalog and
	 * agent.db we wrote are unlinked files. Report that, never "done"
	 * (issue #9); the job row, in the deleted agent.db, is moot. */
	if ((rc = hal_check_same("data directory", o->data_dir, &dir_id)) !=
	    PA_OK)
		goto out;
	/* settle() commits the rows' log lines with the outcome, whatever it is. */
	rc = settle(&r, prc, &st);
	if (rc == PA_ENOSPC)
		rc = settle_disk_full(&r, c, prc, &st, &prc);
	if (rc == PA_OK)
		rc = prc;
	/* Before-images live as long as their job: drop those of jobs that
	 * retention or a person deleted meanwhile. Best effort. */
	if (rc == PA_OK && !o->dry_run)
		(void)rev_sweep(a, c);
	if (rc == PA_OK && o->on_progress)
		o->on_progress(o->ctx, j);
out:
	if (r.in_tx)
		adb_rollback(a);
	cat_close(c);
	hal_lock_drop(lock, lockfd);
	prof_free(p);
	return rc;
}

static int
recover_one(adb *a, cat *c, const char *data_dir, const char *name,
    json_t *interrupted)
{
	struct job *j = NULL;
	char lock[PATH_MAX];
	struct cat_counts n;
	int rc, found, fd = -1;

	if ((rc = job_get(a, name, &j)) != PA_OK) {
		if (rc == PA_ENOTFOUND)
			rc = PA_OK; /* deleted since the list was read */
		goto out;
	}
	/* The run/ folder may not exist yet (a job marked running by hand or
	 * restored from a backup): its process is certainly gone then. */
	if ((rc = hal_pathf(lock, sizeof(lock), "%s/run", data_dir)) != PA_OK ||
	    (rc = hal_mkdirs(lock)) != PA_OK ||
	    (rc = hal_pathf(lock, sizeof(lock), "%s/run/%s.lock", data_dir,
	    j->uuid)) != PA_OK)
		goto out;
	rc = hal_lock_file(lock, &fd);
	if (rc == PA_ELOCKED) {
		rc = PA_OK; /* its process is alive and importing */
		goto out;
	}
	if (rc != PA_OK)
		goto out;
	/* We hold the lock, so no runner of this job is alive (a runner takes
	 * it before `running` and keeps it until it has settled). Decide on
	 * the state as stored inside the write transaction: what was read
	 * before the lock may be stale (issue #8: a job settled twice). */
	if ((rc = adb_begin(a)) != PA_OK)
		goto out;
	if ((rc = job_reload(a, j)) != PA_OK || j->state != JOB_RUNNING)
		goto done;
	if ((rc = cat_import_record(c, j->uuid, &found, &n)) != PA_OK)
		goto done;
	if (found) {
		j->created = n.created;
		j->updated = n.updated;
		j->unchanged = n.unchanged;
		j->skipped = n.skipped;
		j->errors = n.errors;
		j->total_rows = j->processed_rows = n.total;
		rc = job_save_stats(a, j);
		if (rc == PA_OK)
			rc = job_log(a, j, JOB_WARNING, 0, "the import process stopped "
			    "after its catalog commit; settled as done on restart",
			    NULL);
		if (rc == PA_OK)
			rc = job_transition(a, j, JOB_DONE, NULL);
	} else {
		static const char m[] = "interrupted: the import process stopped "
		    "before committing (crash, kill or power loss); the catalog "
		    "was not changed. Run it again: posagent job reset, then job run";
		rc = job_log(a, j, JOB_ERROR, 0, m, NULL);
		if (rc == PA_OK)
			rc = job_transition(a, j, JOB_FAILED, m);
		if (rc == PA_OK && interrupted)
			json_array_append_new(interrupted, json_string(j->name));
	}
done:
	if (rc == PA_OK)
		rc = adb_commit(a);
	else
		adb_rollback(a);
out:
	hal_lock_drop(lock, fd);
	job_free(j);
	return rc;
}

int
runner_recover(adb *a, const char *data_dir, json_t *interrupted)
{
	json_t *names = NULL, *v;
	size_t i;
	cat *c = NULL;
	int rc;

	if ((rc = jobq_running(a, &names)) != PA_OK)
		return rc;
	if (json_array_size(names) == 0)
		goto out;
	if ((rc = cat_open(data_dir, &c)) != PA_OK)
		goto out;
	json_array_foreach(names, i, v)
		if ((rc = recover_one(a, c, data_dir, json_string_value(v),
		    interrupted)) != PA_OK)
			goto out;
out:
	cat_close(c);
	json_decref(names);
	return rc;
}

#include "agent/daemon/daemon.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "agent/daemon/health.h"
#include "agent/daemon/inbox.h"
#include "agent/import/runner.h"
#include "hal/hal.h"
#include "hal/hal_watch.h"
#include "hal/pa_err.h"
#include "sync/syncer.h"

#define RESCAN_MS        5000      /* safety rescan even with inotify */
#define GATE_BACKOFF_MIN 2000
#define GATE_BACKOFF_MAX 300000    /* 5 min, like the HQ retry cap */

struct sync_thread {
	const struct pa_config *cfg;
	pthread_t tid;
	int started;
	int rc;
};

/* The sync loop owns its own agent.db connection: SQLite connections are
 * not shared across threads here (opened NOMUTEX). */
static void *
sync_main(void *arg)
{
	struct sync_thread *t = arg;
	struct health_ctx hc;
	struct syncer_opts so;
	syncer *s = NULL;
	adb *a = NULL;
	int rc;

	if ((rc = adb_open(t->cfg->data_dir, &a)) != PA_OK)
		goto out;
	hc.db = a;
	hc.kkt = &t->cfg->kkt;
	health_syncer_opts(t->cfg, &hc, &so);
	if ((rc = syncer_open(&so, adb_outbox(a), &s)) != PA_OK)
		goto out;
	rc = syncer_run(s);
out:
	if (rc != PA_OK)
		fprintf(stderr, "posagent: HQ sync stopped: %s\n", pa_err_msg(rc));
	syncer_close(s);
	adb_close(a);
	t->rc = rc;
	return NULL;
}

/* Re-run jobs a crash interrupted (they were settled as failed). */
static void
rerun_interrupted(const struct pa_config *cfg, adb *a, json_t *names)
{
	struct runner_opts ro;
	struct job *j = NULL;
	json_t *v;
	size_t i;

	memset(&ro, 0, sizeof(ro));
	ro.data_dir = cfg->data_dir;
	ro.kkt = &cfg->kkt;
	json_array_foreach(names, i, v) {
		if (job_get(a, json_string_value(v), &j) != PA_OK)
			continue;
		fprintf(stderr, "posagent: re-running interrupted job %s\n", j->name);
		if (job_reset(a, j) == PA_OK)
			(void)runner_run(a, j, &ro);
		job_free(j);
		j = NULL;
	}
}

int
daemon_run(const struct daemon_opts *o)
{
	const struct pa_config *cfg = o->cfg;
	struct sync_thread st = { cfg, 0, 0, PA_OK };
	enum inbox_outcome outcome;
	char inbox[PATH_MAX], lock[PATH_MAX];
	json_t *interrupted = NULL;
	hal_watch *w = NULL;
	int64_t gate_next = 0;
	long gate_backoff = GATE_BACKOFF_MIN, wd, wait_ms;
	int rc, lockfd = -1;
	adb *a = NULL;

	if ((rc = hal_mkdirs(cfg->data_dir)) != PA_OK ||
	    (rc = hal_pathf(lock, sizeof(lock), "%s/posagent.lock",
	    cfg->data_dir)) != PA_OK)
		return rc;
	if ((rc = hal_lock_file(lock, &lockfd)) != PA_OK)
		return pa_err_wrap(rc, "another `posagent run` serves %s: ",
		    cfg->data_dir);
	hal_signals_install();
	if ((rc = adb_open(cfg->data_dir, &a)) != PA_OK)
		goto out;
	if ((rc = inbox_prepare(cfg, inbox, sizeof(inbox))) != PA_OK)
		goto out;
	if ((interrupted = json_array()) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	if ((rc = runner_recover(a, cfg->data_dir, interrupted)) != PA_OK)
		goto out;
	rerun_interrupted(cfg, a, interrupted);
	if ((rc = hal_watch_open(inbox, &w)) != PA_OK)
		goto out;
	if (!o->once && cfg->hq.url[0]) {
		if (pthread_create(&st.tid, NULL, sync_main, &st) != 0) {
			rc = pa_err_set(PA_EINTERNAL, "cannot start the sync thread");
			goto out;
		}
		st.started = 1;
	}
	fprintf(stderr, "posagent: serving %s (inbox %s, %s)\n", cfg->data_dir,
	    inbox, hal_watch_inotify(w) ? "inotify" : "polling");
	hal_notify("READY=1");
	wd = hal_watchdog_ms();
	while (!hal_stop_requested()) {
		int64_t now = hal_sys.mono_ms();
		if (now >= gate_next) {
			if ((rc = inbox_scan(cfg, a, inbox, &outcome)) != PA_OK)
				fprintf(stderr, "posagent: %s\n", pa_err_msg(rc));
			if (outcome == INBOX_GATE_REFUSED) {
				gate_next = now + gate_backoff;
				gate_backoff = gate_backoff * 2 > GATE_BACKOFF_MAX ?
				    GATE_BACKOFF_MAX : gate_backoff * 2;
			} else {
				gate_backoff = GATE_BACKOFF_MIN;
			}
		}
		if (o->once)
			break;
		hal_notify("WATCHDOG=1");
		wait_ms = RESCAN_MS;
		if (gate_next > now && gate_next - now < wait_ms)
			wait_ms = (long)(gate_next - now);
		if (wd > 0 && wd / 2 < wait_ms)
			wait_ms = wd / 2;
		/* A new file may pass the gate now: try it at once. */
		if (hal_watch_wait(w, wait_ms) && gate_next > hal_sys.mono_ms())
			gate_next = 0;
	}
	rc = PA_OK;
	hal_notify("STOPPING=1");
out:
	if (st.started) {
		pthread_join(st.tid, NULL);
		if (rc == PA_OK && st.rc != PA_OK && st.rc != PA_ECANCELLED)
			rc = st.rc;
	}
	hal_watch_close(w);
	json_decref(interrupted);
	adb_close(a);
	hal_unlock_file(lockfd);
	return rc;
}

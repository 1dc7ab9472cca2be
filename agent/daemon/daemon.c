#include "agent/daemon/daemon.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/core/names.h"
#include "agent/bridge/health.h"
#include "agent/daemon/inbox.h"
#include "agent/import/revert.h"
#include "agent/import/runner.h"
#include "agent/import/space.h"
#include "hal/hal.h"
#include "hal/hal_watch.h"
#include "hal/pa_err.h"
#include "hal/pa_log.h"
#include "hal/pa_mem.h"
#include "sync/syncer.h"

#define RESCAN_MS        5000      /* safety rescan even with inotify */
#define GATE_BACKOFF_MIN 2000
#define GATE_BACKOFF_MAX 300000    /* 5 min, like the HQ retry cap */
/* The watchdog thread pings systemd only while the main loop shows signs
 * of life (each loop turn, each import progress tick). One step with no
 * tick — the spool copy of a huge file, an index rebuild, the KKT check —
 * stays far below this; a main loop stuck longer is hung, and systemd's
 * watchdog then restarts the daemon. */
#define STALL_MS         (5 * 60 * 1000)
#define PRUNE_MS         (24LL * 3600 * 1000)  /* retention: once a day */

/* What the status thread shows: the main loop's phase, HQ's state. */
struct status {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t tid;
	int started, quit;
	long wd_ms;                 /* WATCHDOG_USEC in ms, 0 = none */
	int64_t alive_ms;           /* main loop's last sign of life */
	char phase[300];            /* "idle", "importing X at 45 %", ... */
	syncer *sync;               /* HQ state source (NULL: no sync) */
};

struct sync_thread {
	const struct pa_config *cfg;
	struct status *status;
	pthread_mutex_t mu;         /* guards s while the thread starts/ends */
	syncer *s;
	pthread_t tid;
	int started;
	int rc;
};

struct daemon {
	struct pa_config cfg;       /* owned copy: SIGHUP replaces it */
	struct status status;
	struct sync_thread st;
	struct kkt_status gate;
	adb *a;
	/* What we serve: the data directory and our lock file, as files.
	 * Removed or made again, our work would go to deleted files and a
	 * second daemon could start on the same inbox (issue #9). */
	struct hal_file_id dir_id, lock_id;
	char lock[PATH_MAX];
};

/* CLOCK_REALTIME deadline ms from now (what the pthread timed calls take). */
static void
deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

static void __attribute__((format(printf, 2, 3)))
status_set(struct status *s, const char *fmt, ...)
{
	va_list ap;

	char phase[sizeof(s->phase)];

	pthread_mutex_lock(&s->mu);
	s->alive_ms = hal_sys.mono_ms();
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(phase, sizeof(phase), fmt, ap);
		va_end(ap);
		/* A new phase is shown at once, not at the next ping. */
		if (strcmp(phase, s->phase) != 0) {
			memcpy(s->phase, phase, sizeof(phase));
			pthread_cond_signal(&s->cv);
		}
	}
	pthread_mutex_unlock(&s->mu);
}

/* The watchdog and STATUS= thread: an import never starves the pings, and
 * a hung main loop still stops them (STALL_MS). */
static void *
status_main(void *arg)
{
	struct status *s = arg;
	char line[400], sent[400] = "", since[32] = "";
	long period = s->wd_ms > 0 ? s->wd_ms / 4 : 1000;
	int was_online = -1, online, ping;
	struct timespec ts;

	if (period < 10)
		period = 10;
	if (period > 1000)
		period = 1000;
	pthread_mutex_lock(&s->mu);
	while (!s->quit) {
		ping = s->wd_ms > 0 && hal_sys.mono_ms() - s->alive_ms < STALL_MS;
		online = s->sync ? syncer_online(s->sync) : 1;
		if (online != was_online) {
			hal_now_iso(since);
			was_online = online;
		}
		if (online)
			snprintf(line, sizeof(line), "STATUS=%s", s->phase);
		else
			snprintf(line, sizeof(line), "STATUS=%s; HQ offline since %s",
			    s->phase, since);
		pthread_mutex_unlock(&s->mu);
		if (ping)
			hal_notify("WATCHDOG=1");
		if (strcmp(line, sent) != 0) {
			hal_notify(line);
			memcpy(sent, line, sizeof(sent));
		}
		deadline_in(&ts, period);
		pthread_mutex_lock(&s->mu);
		if (!s->quit)
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void
status_stop(struct status *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->mu);
	s->quit = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->tid, NULL);
	s->started = 0;
}

/* The syncer's changes (HQ offline, dead letters) go to the journal with
 * the syncer's priority. */
static void
sync_log(void *arg, int prio, const char *line)
{
	(void)arg;
	pa_log(prio, "%s", line);
}

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
	so.log = sync_log;
	if ((rc = syncer_open(&so, adb_outbox(a), &s)) != PA_OK)
		goto out;
	pthread_mutex_lock(&t->mu);
	t->s = s;
	pthread_mutex_unlock(&t->mu);
	pthread_mutex_lock(&t->status->mu);
	t->status->sync = s;
	pthread_mutex_unlock(&t->status->mu);
	rc = syncer_run(s);
out:
	if (rc != PA_OK) {
		char m[1200];
		/* The message may quote HQ's answer: escaped, one line. */
		pa_log(PA_LOG_ERR, "HQ sync stopped: %s", names_human(
		    pa_err_msg(rc), m, sizeof(m)));
	}
	pthread_mutex_lock(&t->status->mu);
	t->status->sync = NULL;
	pthread_mutex_unlock(&t->status->mu);
	pthread_mutex_lock(&t->mu);
	t->s = NULL;
	pthread_mutex_unlock(&t->mu);
	syncer_close(s);
	adb_close(a);
	t->rc = rc;
	return NULL;
}

static int
sync_start(struct daemon *d)
{
	if (d->cfg.hq.url[0] == '\0')
		return PA_OK;
	d->st.cfg = &d->cfg;
	d->st.status = &d->status;
	d->st.rc = PA_OK;
	if (pthread_create(&d->st.tid, NULL, sync_main, &d->st) != 0)
		return pa_err_set(PA_EINTERNAL, "cannot start the sync thread");
	d->st.started = 1;
	return PA_OK;
}

static int
sync_stop(struct daemon *d)
{
	if (!d->st.started)
		return PA_OK;
	pthread_mutex_lock(&d->st.mu);
	if (d->st.s)
		syncer_stop(d->st.s);
	pthread_mutex_unlock(&d->st.mu);
	/* A thread that had not opened its syncer yet ends by itself only on
	 * a signal; so ask until it has. */
	for (;;) {
		struct timespec ts;
		deadline_in(&ts, 100);
		if (pthread_timedjoin_np(d->st.tid, NULL, &ts) == 0)
			break;
		pthread_mutex_lock(&d->st.mu);
		if (d->st.s)
			syncer_stop(d->st.s);
		pthread_mutex_unlock(&d->st.mu);
	}
	d->st.started = 0;
	return d->st.rc;
}

/* SIGHUP: read the config file again. A config that does not load or
 * validate is refused and the old one kept. The data directory and inbox
 * stay (the daemon holds their lock and watch): they change on restart.
 * Profiles need no reload: each inbox file reads them from agent.db. */
static void
reload(struct daemon *d)
{
	struct pa_config *n = NULL;
	const char *path = d->cfg.path[0] ? d->cfg.path : CONFIG_DEFAULT_PATH;
	int rc;

	if ((n = pa_calloc(1, sizeof(*n))) == NULL) {
		pa_log(PA_LOG_ERR, "SIGHUP: out of memory: configuration not reloaded");
		return;
	}
	if ((rc = config_load(n, path, d->cfg.path[0] != '\0')) == PA_OK) {
		memcpy(n->data_dir, d->cfg.data_dir, sizeof(n->data_dir));
		memcpy(n->inbox, d->cfg.inbox, sizeof(n->inbox));
		rc = config_validate(n);
	}
	if (rc != PA_OK) {
		pa_log(PA_LOG_ERR, "SIGHUP: new configuration refused, the old one "
		    "is kept: %s", pa_err_msg(rc));
		goto out;
	}
	/* The sync thread reads cfg: swap it while the thread is stopped. */
	(void)sync_stop(d);
	d->cfg = *n;
	if ((rc = sync_start(d)) != PA_OK)
		pa_log(PA_LOG_ERR, "SIGHUP: %s", pa_err_msg(rc));
	pa_log(PA_LOG_NOTICE, "SIGHUP: configuration reloaded from %s (kkt %s, hq %s); profiles "
	    "are read from agent.db for each file", path,
	    kkt_backend_name(d->cfg.kkt.backend),
	    d->cfg.hq.url[0] ? d->cfg.hq.url : "off");
out:
	pa_free(n);
}

static void
on_progress(void *ctx, const struct job *j)
{
	struct daemon *d = ctx;

	status_set(&d->status, "importing %s at %.0f %%", j->file_name,
	    j->progress);
}

/* Re-run jobs a crash interrupted (they were settled as failed). */
static void
rerun_interrupted(struct daemon *d, json_t *names)
{
	struct runner_opts ro;
	struct job *j = NULL;
	json_t *v;
	size_t i;

	memset(&ro, 0, sizeof(ro));
	ro.data_dir = d->cfg.data_dir;
	ro.kkt = &d->cfg.kkt;
	ro.on_progress = on_progress;
	ro.ctx = d;
	json_array_foreach(names, i, v) {
		if (job_get(d->a, json_string_value(v), &j) != PA_OK)
			continue;
		pa_log(PA_LOG_NOTICE, "re-running interrupted job %s", j->name);
		if (job_reset(d->a, j) == PA_OK)
			(void)runner_run(d->a, j, &ro);
		job_free(j);
		j = NULL;
	}
}

/* Retention (issue #8 §4): what `posagent job prune` does. */
static void
prune(struct daemon *d)
{
	struct space_prune_report rep;
	int rc;

	status_set(&d->status, "pruning old jobs");
	if ((rc = space_prune(d->a, d->cfg.data_dir, d->cfg.retention_days,
	    d->cfg.retention_max_mb, &rep)) != PA_OK) {
		pa_log(PA_LOG_ERR, "retention: %s", pa_err_msg(rc));
		return;
	}
	/* Before-images go with their jobs (issue #15); best effort. */
	if (rep.jobs)
		(void)rev_sweep_dir(d->a, d->cfg.data_dir);
	if (rep.jobs || rep.spool_files || rep.db_bytes_after < rep.db_bytes_before)
		pa_log(PA_LOG_INFO, "retention: %ld job%s and %ld spool file%s removed; agent.db "
		    "%.1f -> %.1f MB", rep.jobs, rep.jobs == 1 ? "" : "s",
		    rep.spool_files, rep.spool_files == 1 ? "" : "s",
		    (double)rep.db_bytes_before / 1048576.0,
		    (double)rep.db_bytes_after / 1048576.0);
}

static void
gate_phase(struct daemon *d)
{
	if (d->gate.pending > 0)
		status_set(&d->status, "waiting for KKT (%ld receipt%s unsent)",
		    d->gate.pending, d->gate.pending == 1 ? "" : "s");
	else
		status_set(&d->status, "waiting for KKT (%s)", d->gate.reason);
}

static int
serve(struct daemon *d, const struct daemon_opts *o, const char *inbox,
    hal_watch *w)
{
	enum inbox_outcome outcome = INBOX_IDLE;
	struct runner_opts ro;
	int64_t gate_next = 0, prune_next = 0, publish_next = 0;
	long gate_backoff = GATE_BACKOFF_MIN, wait_ms;
	int rc;

	memset(&ro, 0, sizeof(ro));
	ro.on_progress = on_progress;
	ro.ctx = d;
	ro.gate = &d->gate;
	while (!hal_stop_requested()) {
		int64_t now = hal_sys.mono_ms();
		if ((rc = hal_check_same("data directory", d->cfg.data_dir,
		    &d->dir_id)) != PA_OK ||
		    (rc = hal_check_same("lock file", d->lock, &d->lock_id)) !=
		    PA_OK)
			return rc;
		status_set(&d->status, NULL);
		if (hal_reload_requested())
			reload(d);
		/* Read-only commands never settle (issue #8): a CLI import
		 * killed while the daemon runs is settled here, within a turn. */
		if ((rc = runner_recover(d->a, d->cfg.data_dir, NULL)) != PA_OK)
			pa_log(PA_LOG_ERR, "%s", pa_err_msg(rc));
		if (!o->once && now >= prune_next) {
			prune(d);
			prune_next = now + PRUNE_MS;
		}
		outcome = INBOX_IDLE;
		if (now >= gate_next) {
			memset(&d->gate, 0, sizeof(d->gate));
			rc = inbox_scan(&d->cfg, d->a, inbox, &ro, &outcome);
			if (rc == PA_EGONE)
				return rc;
			if (rc != PA_OK) {
				char m[1200];
				/* May quote a file name: escaped (issue #9). */
				pa_log(PA_LOG_ERR, "%s", names_human(pa_err_msg(rc),
				    m, sizeof(m)));
			}
			if (outcome == INBOX_GATE_REFUSED ||
			    outcome == INBOX_NO_SPACE) {
				gate_next = now + gate_backoff;
				gate_backoff = gate_backoff * 2 > GATE_BACKOFF_MAX ?
				    GATE_BACKOFF_MAX : gate_backoff * 2;
				if (outcome == INBOX_GATE_REFUSED)
					gate_phase(d);
				else
					status_set(&d->status, "waiting for disk space");
			} else {
				gate_backoff = GATE_BACKOFF_MIN;
				status_set(&d->status, "idle");
			}
		}
		/* The metrics file follows the heartbeat period, HQ or not. */
		if (now >= publish_next || (o->once && outcome != INBOX_WORKED)) {
			if ((rc = health_publish(&d->cfg, d->a)) != PA_OK)
				pa_log(PA_LOG_WARNING, "metrics file: %s", pa_err_msg(rc));
			else if (d->cfg.metrics_file[0])
				pa_log(PA_LOG_DEBUG, "metrics file %s written",
				    d->cfg.metrics_file);
			publish_next = now + d->cfg.hq.heartbeat_s * 1000;
		}
		if (o->once && outcome != INBOX_WORKED)
			break;
		/* One file per turn: after one, look for the next at once. */
		wait_ms = outcome == INBOX_WORKED ? 0 : RESCAN_MS;
		if (gate_next > now && gate_next - now < wait_ms)
			wait_ms = (long)(gate_next - now);
		if (publish_next - now < wait_ms)
			wait_ms = (long)(publish_next > now ? publish_next - now : 0);
		/* A new file may pass the gate now: try it at once. */
		if (hal_watch_wait(w, wait_ms) && gate_next > hal_sys.mono_ms())
			gate_next = 0;
	}
	return PA_OK;
}

int
daemon_run(const struct daemon_opts *o)
{
	struct daemon *d = NULL;
	char inbox[PATH_MAX], lock[PATH_MAX];
	json_t *interrupted = NULL;
	hal_watch *w = NULL;
	int rc, lockfd = -1, sig;

	if ((rc = hal_mkdirs(o->cfg->data_dir)) != PA_OK)
		return pa_err_wrap(rc == PA_EEXISTS ? PA_ECONFIG : rc, "data "
		    "directory ([agent] data_dir or -d): ");
	if ((rc = hal_pathf(lock, sizeof(lock), "%s/posagent.lock",
	    o->cfg->data_dir)) != PA_OK)
		return rc;
	if ((rc = hal_lock_file(lock, &lockfd)) != PA_OK)
		return pa_err_wrap(rc, "another `posagent run` serves %s: ",
		    o->cfg->data_dir);
	if ((d = pa_calloc(1, sizeof(*d))) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	d->cfg = *o->cfg;
	snprintf(d->lock, sizeof(d->lock), "%s", lock);
	if ((rc = hal_path_id(d->cfg.data_dir, &d->dir_id)) != PA_OK ||
	    (rc = hal_fd_id(lockfd, &d->lock_id)) != PA_OK) {
		pa_free(d);
		d = NULL;
		goto out;
	}
	pthread_mutex_init(&d->status.mu, NULL);
	pthread_cond_init(&d->status.cv, NULL);
	pthread_mutex_init(&d->st.mu, NULL);
	snprintf(d->status.phase, sizeof(d->status.phase), "starting");
	hal_signals_install();
	hal_reload_install();
	if ((rc = adb_open(d->cfg.data_dir, &d->a)) != PA_OK)
		goto out;
	if ((rc = inbox_prepare(&d->cfg, inbox, sizeof(inbox))) != PA_OK)
		goto out;
	if ((interrupted = json_array()) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	d->status.wd_ms = hal_watchdog_ms();
	d->status.alive_ms = hal_sys.mono_ms();
	if (!o->once && getenv("NOTIFY_SOCKET")) {
		if (pthread_create(&d->status.tid, NULL, status_main,
		    &d->status) != 0) {
			rc = pa_err_set(PA_EINTERNAL, "cannot start the watchdog "
			    "thread");
			goto out;
		}
		d->status.started = 1;
	}
	if ((rc = runner_recover(d->a, d->cfg.data_dir, interrupted)) != PA_OK)
		goto out;
	rerun_interrupted(d, interrupted);
	if ((rc = hal_watch_open(inbox, &w)) != PA_OK)
		goto out;
	if (!o->once && (rc = sync_start(d)) != PA_OK)
		goto out;
	pa_log(PA_LOG_NOTICE, "started: posagent %s serving %s (inbox %s, %s%s)",
	    PA_VERSION, d->cfg.data_dir, inbox, hal_watch_inotify(w) ?
	    "inotify" : "polling", d->st.started ? ", HQ sync on" : "");
	hal_notify("READY=1");
	/* PA_EGONE: the data directory went; sync_stop below ends the sync
	 * thread too (its agent.db is a deleted file); exit 74. */
	rc = serve(d, o, inbox, w);
	status_stop(&d->status);
	if ((sig = hal_stop_signal()) != 0)
		pa_log(PA_LOG_NOTICE, "stopping on %s", sig == SIGTERM ? "SIGTERM" :
		    sig == SIGINT ? "SIGINT" : "a signal");
	hal_notify("STOPPING=1");
out:
	if (d) {
		int src = sync_stop(d);
		if (rc == PA_OK && src != PA_OK && src != PA_ECANCELLED)
			rc = src;
		status_stop(&d->status);
		adb_close(d->a);
		pthread_mutex_destroy(&d->status.mu);
		pthread_cond_destroy(&d->status.cv);
		pthread_mutex_destroy(&d->st.mu);
		pa_free(d);
	}
	hal_watch_close(w);
	json_decref(interrupted);
	hal_unlock_file(lockfd);
	if (lockfd >= 0)
		pa_log(rc == PA_OK ? PA_LOG_NOTICE : PA_LOG_ERR, "stopped%s%s",
		    rc == PA_OK ? "" : ": ", rc == PA_OK ? "" : pa_err_msg(rc));
	return rc;
}

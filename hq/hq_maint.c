/* hq_maint — see hq_maint.h. */
#include "hq/hq_maint.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "hal/hal.h"
#include "hal/hal_wait.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hq/hq_api.h"
#include "hq/hq_db.h"
#include "hq/hq_log.h"
#include "hq/hq_store.h"

#define HQ_ALERT_TIMEOUT_MS 10000       /* an alert command's run time */
#define HQ_RETENTION_EVERY_MS 3600000

extern char **environ;

struct hq_maint {
	struct hq_maint_opts o;
	pthread_t th;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	int64_t started_ms;
};

/* Run the command with doc on stdin; bounded in time. */
static void
run_alert(hq_maint *m, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	char *argv[] = { "/bin/sh", "-c", (char *)m->o.alert_cmd, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	int pfd[2] = { -1, -1 }, st = 0, fa_ok = 0, at_ok = 0;
	pid_t pid = -1;
	int64_t until;
	size_t off = 0, n;
	ssize_t w;

	if (text == NULL || pipe2(pfd, O_CLOEXEC) != 0)
		goto out;
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	fa_ok = 1;
	posix_spawn_file_actions_adddup2(&fa, pfd[0], 0);
	if (posix_spawnattr_init(&at) != 0)
		goto out;
	at_ok = 1;
	/* The server blocks SIGTERM in its threads (main waits for it); the
	 * command must not inherit that. */
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	if (posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ) != 0) {
		hq_log(HQ_LOG_ERR, "alert command cannot start: %s", strerror(errno));
		pid = -1;
		goto out;
	}
	close(pfd[0]);
	pfd[0] = -1;
	n = strlen(text);
	signal(SIGPIPE, SIG_IGN);
	while (off < n && (w = write(pfd[1], text + off, n - off)) > 0)
		off += (size_t)w;
	close(pfd[1]);
	pfd[1] = -1;
	until = hal_sys.mono_ms() + HQ_ALERT_TIMEOUT_MS;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 || hal_sys.mono_ms() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			hq_log(HQ_LOG_ERR, "alert command killed after %d s",
			    HQ_ALERT_TIMEOUT_MS / 1000);
			break;
		}
		hal_sleep_ms(20);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		hq_log(HQ_LOG_ERR, "alert command exited with %d", WEXITSTATUS(st));
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	free(text);
}

/* Claim the incident; fire when this process is the first to see it. */
static void
fire(hq_maint *m, hq_db *db, const char *agent, const char *kind,
    const char *incident, const char *summary, json_t *agent_obj, json_t *job)
{
	char now[32];
	json_t *doc;
	int go = 0;

	if (hq_store_alert_claim(db, agent, kind, incident, hal_sys.now_ms(),
	    &go) != PA_OK || !go)
		return;
	hal_now_iso(now);
	doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O?,s:O?}", "alert", kind,
	    "agent_id", agent, "incident", incident, "summary", summary,
	    "ts", now, "agent", agent_obj, "job", job);
	hq_log(HQ_LOG_WARNING, "alert %s: %s", kind, summary);
	if (doc)
		run_alert(m, doc);
	json_decref(doc);
}

static void
check_agents(hq_maint *m, hq_db *db)
{
	hq_rows *a = NULL, *l = NULL;
	int64_t now = hal_sys.now_ms(), seen, gate;
	char inc[32], sum[300];
	json_t *o;
	int i;

	if (hq_store_agents(db, NULL, &a, &l) != PA_OK)
		return;
	for (i = 0; i < hq_rows_count(a); i++) {
		const char *id = hq_rows_text(a, i, 0);
		seen = hq_rows_int(a, i, 1);
		gate = hq_rows_int(a, i, 3);
		o = NULL;
		/* The incident is named by when it began: the last heartbeat
		 * before the silence, the first refusal. A new silence or a
		 * new refusal streak is a new incident. */
		if (seen > 0 && now - seen > (int64_t)m->o.alert_offline_s * 1000) {
			o = hq_api_agent_obj(a, i, l, now, m->o.offline_after_s);
			hal_iso_ms(seen, inc);
			snprintf(sum, sizeof(sum), "store %s offline since %s (no "
			    "heartbeat for %lld s)", id, inc,
			    (long long)(now - seen) / 1000);
			fire(m, db, id, "offline", inc, sum, o, NULL);
		}
		if (gate > 0 && now - gate > (int64_t)m->o.alert_gate_s * 1000) {
			if (o == NULL)
				o = hq_api_agent_obj(a, i, l, now, m->o.offline_after_s);
			hal_iso_ms(gate, inc);
			snprintf(sum, sizeof(sum), "store %s: the KKT gate has refused "
			    "imports since %s", id, inc);
			fire(m, db, id, "gate_refusing", inc, sum, o, NULL);
		}
		json_decref(o);
	}
	hq_rows_free(a);
	hq_rows_free(l);
}

static void
check_failed(hq_maint *m, hq_db *db)
{
	hq_rows *r = NULL;
	char sum[300];
	json_t *job;
	int i;

	/* Failures that arrive while we run, and in the hour before we
	 * started (a restart must not miss one, nor replay years of them). */
	if (hq_store_failed_jobs(db, m->started_ms - 3600000, &r) != PA_OK)
		return;
	for (i = 0; i < hq_rows_count(r); i++) {
		job = json_loads(hq_rows_text(r, i, 2), 0, NULL);
		snprintf(sum, sizeof(sum), "store %s: import %s (%s) failed: %s",
		    hq_rows_text(r, i, 0),
		    json_string_value(json_object_get(job, "name")) ?
		    json_string_value(json_object_get(job, "name")) : "?",
		    json_string_value(json_object_get(job, "file_name")) ?
		    json_string_value(json_object_get(job, "file_name")) : "?",
		    json_string_value(json_object_get(job, "error_message")) ?
		    json_string_value(json_object_get(job, "error_message")) : "");
		fire(m, db, hq_rows_text(r, i, 0), "import_failed",
		    hq_rows_text(r, i, 1), sum, NULL, job);
		json_decref(job);
	}
	hq_rows_free(r);
}

static void *
loop(void *arg)
{
	hq_maint *m = arg;
	hq_db *db = NULL;
	int64_t next_ret = 0;
	long deleted;
	struct timespec ts;

	for (;;) {
		pthread_mutex_lock(&m->mu);
		if (!m->stop) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += m->o.interval_ms / 1000;
			ts.tv_nsec += (long)(m->o.interval_ms % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&m->cv, &m->mu, &ts);
		}
		if (m->stop) {
			pthread_mutex_unlock(&m->mu);
			break;
		}
		pthread_mutex_unlock(&m->mu);
		if (db == NULL && hq_db_open(m->o.db_spec, m->o.busy_ms, &db) !=
		    PA_OK) {
			hq_log(HQ_LOG_WARNING, "maintenance: %s", pa_err_msg(PA_EDB));
			continue;
		}
		if (m->o.alert_cmd) {
			check_agents(m, db);
			check_failed(m, db);
		}
		if (hal_sys.mono_ms() >= next_ret) {
			next_ret = hal_sys.mono_ms() + HQ_RETENTION_EVERY_MS;
			if (hq_store_retention(db, m->o.job_days, m->o.log_days,
			    hal_sys.now_ms(), &deleted) != PA_OK)
				hq_log(HQ_LOG_WARNING, "retention: %s", pa_err_msg(PA_EDB));
			else if (deleted > 0)
				hq_log(HQ_LOG_INFO, "retention: %ld old rows deleted",
				    deleted);
		}
	}
	hq_db_close(db);
	return NULL;
}

int
hq_maint_start(const struct hq_maint_opts *o, hq_maint **out)
{
	hq_maint *m;

	*out = NULL;
	if ((m = pa_calloc(1, sizeof(*m))) == NULL)
		return PA_ENOMEM;
	m->o = *o;
	m->started_ms = hal_sys.now_ms();
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	if (pthread_create(&m->th, NULL, loop, m) != 0) {
		hq_maint_stop(m);
		return pa_err_set(PA_EINTERNAL, "cannot start the maintenance "
		    "thread");
	}
	m->started = 1;
	*out = m;
	return PA_OK;
}

void
hq_maint_stop(hq_maint *m)
{
	if (m == NULL)
		return;
	if (m->started) {
		pthread_mutex_lock(&m->mu);
		m->stop = 1;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->th, NULL);
	}
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	pa_free(m);
}

#include "agent/daemon/inbox.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "agent/core/names.h"
#include "agent/import/profile.h"
#include "agent/import/jobq.h"
#include "agent/import/runner.h"
#include "hal/hal.h"
#include "hal/hal_file.h"
#include "hal/pa_err.h"
#include "hal/pa_log.h"
#include "hal/pa_mem.h"

/* Log lines: every argument from outside is escaped, so a file name's
 * newline cannot forge a line nor its raw bytes reach the journal (issue
 * #9); `shown` is already the human form of the name. */
#define H(s, buf) names_human((s), (buf), sizeof(buf))

int
inbox_prepare(const struct pa_config *cfg, char *inbox, size_t len)
{
	static const char *const sub[] = { "archive", "failed", "rejected" };
	char path[PATH_MAX];
	size_t i;
	int rc;

	if (cfg->inbox[0])
		snprintf(inbox, len, "%s", cfg->inbox);
	else
		snprintf(inbox, len, "%s/inbox", cfg->data_dir);
	if ((rc = hal_mkdirs(inbox)) != PA_OK)
		return rc;
	for (i = 0; i < 3; i++) {
		if ((rc = hal_pathf(path, sizeof(path), "%s/%s", cfg->data_dir,
		    sub[i])) != PA_OK || (rc = hal_mkdirs(path)) != PA_OK)
			return rc;
	}
	return PA_OK;
}

/* Files still being written are not ours yet (DESIGN §8). */
static int
is_candidate(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.')
		return 0;
	if (n >= 5 && strcmp(name + n - 5, ".part") == 0)
		return 0;
	if (n >= 4 && strcmp(name + n - 4, ".tmp") == 0)
		return 0;
	return 1;
}

/* Move path into DATA_DIR/where, never overwriting an earlier file of the
 * same name (a numeric suffix is added). */
static int
move_to(const struct pa_config *cfg, const char *path, const char *name,
    const char *shown, const char *where)
{
	char dst[PATH_MAX], e1[1024];
	struct hal_finfo fi;
	int i, rc;

	if ((rc = hal_pathf(dst, sizeof(dst), "%s/%s/%s", cfg->data_dir, where,
	    name)) != PA_OK)
		return rc;
	for (i = 1; hal_file_info(dst, 0, &fi) == PA_OK && i < 10000; i++)
		if ((rc = hal_pathf(dst, sizeof(dst), "%s/%s/%s.%d", cfg->data_dir,
		    where, name, i)) != PA_OK)
			return rc;
	/* The code says why (disk full, permission): the file stays in the
	 * inbox and the message names both paths. */
	if ((rc = hal_rename(path, dst)) != PA_OK)
		return pa_err_wrap(rc, "cannot move the file to %s/: ", where);
	pa_log(PA_LOG_INFO, "%s -> %s/", H(shown, e1), where);
	return PA_OK;
}

/* name is the file's bytes, shown its UTF-8 rendering: a pattern (UTF-8,
 * from a profile) may match either (a CP1251 `прайс*.csv` file). */
static const struct profile *
match(struct profile *const *profs, size_t n, const char *name,
    const char *shown)
{
	size_t i;

	/* Supplier file names vary in case (ESSILOR_2026.XLSX). */
	/* A profile switched off ("active": false) never takes a file. */
	for (i = 0; i < n; i++)
		if (profs[i]->active && profs[i]->file_pattern &&
		    (fnmatch(profs[i]->file_pattern, name, FNM_CASEFOLD) == 0 ||
		    fnmatch(profs[i]->file_pattern, shown, FNM_CASEFOLD) == 0))
			return profs[i];
	return NULL;
}

/* The inbox file j was made from replaced one the gate held: its older
 * draft jobs would stay draft forever. Cancel them, saying by what, in
 * their logs (to HQ) and ours (issue #9). Best effort: j goes on. */
static void
supersede(adb *a, const struct job *j)
{
	json_t *names = NULL, *v;
	struct job *old = NULL;
	char msg[256], e1[1024];
	size_t i;

	if (jobq_drafts_replaced(a, j, &names) != PA_OK)
		return;
	json_array_foreach(names, i, v) {
		if (job_get(a, json_string_value(v), &old) != PA_OK)
			continue;
		snprintf(msg, sizeof(msg), "superseded by %s: the inbox file was "
		    "replaced before this job could run", j->name);
		/* One transaction: the log line and the state change together. */
		if (adb_begin(a) == PA_OK &&
		    job_log(a, old, JOB_WARNING, 0, msg, NULL) == PA_OK &&
		    job_transition(a, old, JOB_CANCELLED, msg) == PA_OK &&
		    adb_commit(a) == PA_OK)
			pa_log(PA_LOG_WARNING, "%s: job %s cancelled, %s",
			    H(j->file_name, e1), old->name, msg);
		else
			adb_rollback(a);
		job_free(old);
		old = NULL;
	}
	json_decref(names);
}

/* name: the file's bytes (file operations); shown: their rendering (logs). */
static int
handle(const struct pa_config *cfg, adb *a, const char *path,
    const char *name, const char *shown, const struct profile *p,
    const struct runner_opts *base,
    enum inbox_outcome *outcome)
{
	struct runner_opts ro;
	struct job *j = NULL;
	char sha[65], e1[1024], e2[1024];
	uint64_t size = 0;
	int rc, found = 0;

	*outcome = INBOX_WORKED;
	if ((rc = runner_spool(cfg->data_dir, path, sha, &size)) == PA_ENOSPC) {
		pa_log(PA_LOG_WARNING, "%s waits for disk space: %s", H(shown, e1),
		    H(pa_err_msg(rc), e2));
		*outcome = INBOX_NO_SPACE;
		return PA_OK;
	}
	if (rc != PA_OK)
		return rc;
	if ((rc = jobq_sha_done(a, sha, p->name, &found)) != PA_OK)
		return rc;
	if (found) {
		pa_log(PA_LOG_NOTICE, "%s was already imported with profile "
		    "\"%s\": not importing it again", H(shown, e1), H(p->name, e2));
		return move_to(cfg, path, name, shown, "archive");
	}
	if ((rc = jobq_find_draft(a, sha, p->name, &j)) != PA_OK)
		return rc;
	if (j == NULL) {
		if ((rc = job_create(a, p->name, name, sha, (int64_t)size, &j)) !=
		    PA_OK) {
			runner_unspool(a, cfg->data_dir, sha);
			return rc;
		}
		supersede(a, j);
	}
	ro = *base;
	ro.data_dir = cfg->data_dir;
	ro.kkt = &cfg->kkt;
	rc = runner_run(a, j, &ro);
	if (rc == PA_EKKT_UNSYNCED || rc == PA_EKKT_UNREACHABLE ||
	    rc == PA_EKKT_AUTH) {
		pa_log(PA_LOG_WARNING, "%s waits: %s", H(shown, e1),
		    H(pa_err_msg(rc), e2));
		*outcome = INBOX_GATE_REFUSED;
		rc = PA_OK;
		goto out;
	}
	if (rc == PA_ENOSPC) {
		/* Not the file's fault: it stays in the inbox and is tried again
		 * (a new job) when there is space. */
		pa_log(PA_LOG_WARNING, "%s: job %s: the file waits for disk "
		    "space: %s", H(shown, e1), j->name, H(pa_err_msg(rc), e2));
		*outcome = INBOX_NO_SPACE;
		rc = PA_OK;
		goto out;
	}
	/* A failed import needs a person: it must show in -p warning. */
	pa_log(j->state == JOB_DONE ? PA_LOG_INFO : j->state == JOB_FAILED ?
	    PA_LOG_ERR : PA_LOG_WARNING, "%s: job %s %s", H(shown, e1), j->name,
	    job_state_name(j->state));
	if (j->state == JOB_DONE)
		rc = move_to(cfg, path, name, shown, "archive");
	else if (j->state == JOB_FAILED || j->state == JOB_CANCELLED)
		rc = move_to(cfg, path, name, shown, "failed");
	else if (rc != PA_OK)
		pa_log(PA_LOG_ERR, "%s: %s", H(shown, e1), H(pa_err_msg(rc), e2));
out:
	job_free(j);
	return rc;
}

int
inbox_scan(const struct pa_config *cfg, adb *a, const char *inbox,
    const struct runner_opts *ro, enum inbox_outcome *outcome)
{
	struct profile **profs = NULL;
	struct hal_finfo fi;
	char path[PATH_MAX], *shown = NULL, e1[1024], e2[1024];
	const char *name;
	enum names_enc enc;
	size_t nprofs = 0, i;
	hal_dir *d = NULL;
	int rc;

	*outcome = INBOX_IDLE;
	if ((rc = hal_dir_open(inbox, &d)) != PA_OK)
		return pa_err_wrap(rc, "inbox: ");
	if ((rc = prof_all(a, &profs, &nprofs)) != PA_OK)
		goto out;
	while ((name = hal_dir_next(d)) != NULL && !hal_stop_requested()) {
		const struct profile *p;
		if (!is_candidate(name))
			continue;
		if (hal_pathf(path, sizeof(path), "%s/%s", inbox, name) != PA_OK)
			continue;
		/* Not followed: a symlink in the inbox is not a delivery. */
		if (hal_file_info(path, 0, &fi) != PA_OK || fi.type != HAL_F_REG)
			continue;
		pa_free(shown);
		if ((rc = names_render(name, &shown, &enc)) != PA_OK)
			goto out;
		if ((p = match(profs, nprofs, name, shown)) == NULL) {
			pa_log(PA_LOG_WARNING, "%s matches no profile's file_pattern: "
			    "rejected (add a profile with a matching file_pattern)",
			    H(shown, e1));
			if ((rc = move_to(cfg, path, name, shown, "rejected")) !=
			    PA_OK)
				goto out;
			*outcome = INBOX_WORKED;
			break;
		}
		rc = handle(cfg, a, path, name, shown, p, ro, outcome);
		if (rc == PA_EGONE)
			goto out; /* the daemon stops: nothing here is ours now */
		if (rc != PA_OK) {
			/* One bad file must not stop the others. */
			pa_log(PA_LOG_ERR, "%s: %s", H(shown, e1),
			    H(pa_err_msg(rc), e2));
			*outcome = INBOX_IDLE;
			rc = PA_OK;
			continue;
		}
		/* One file per call: the daemon's loop turn (heartbeat, sync,
		 * reload, watchdog) comes between two imports. */
		break;
	}
out:
	pa_free(shown);
	for (i = 0; i < nprofs; i++)
		prof_free(profs[i]);
	pa_free(profs);
	hal_dir_close(d);
	return rc;
}

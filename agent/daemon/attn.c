#include "agent/daemon/attn.h"

#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hal/hal.h"
#include "hal/pa_err.h"

const char *const attn_all[] = { "kkt_gate_refusing", "hq_offline",
    "outbox_backlog", "inbox_stuck", "disk_low", NULL };

static void __attribute__((format(printf, 4, 5)))
add(json_t *arr, const char *reason, const char *since, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(arr, json_pack("{s:s,s:s,s:s*}", "reason", reason,
	    "message", msg, "since", since));
}

/* Seconds since an ISO timestamp; -1 when absent or malformed. */
static int64_t
age_s(const char *iso, int64_t now_ms)
{
	int64_t t;

	if (iso == NULL || hal_iso_parse(iso, &t) != PA_OK || t > now_ms)
		return -1;
	return (now_ms - t) / 1000;
}

static const char *
sget(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The gate's refusal streak is in the heartbeat's KKT block ("refusing":
 * since, refusals, refusing_s; null while imports pass, issue #10). */
static void
gate(const struct pa_config *cfg, json_t *doc, int64_t now, json_t *arr)
{
	json_t *k = json_object_get(doc, "kkt"), *r = json_object_get(k,
	    "refusing");
	const char *v = sget(k, "verdict"), *since = sget(r, "since");
	int64_t a;

	/* Open now: the next file goes through, nobody is needed. */
	if (v == NULL || strcmp(v, "synced") == 0 || strcmp(v, "not_gated") == 0)
		return;
	if ((a = age_s(since, now)) > cfg->status.gate_refusing_max_s)
		add(arr, "kkt_gate_refusing", since, "the KKT gate has refused "
		    "imports for %lld s (%lld refusals, %s): %s", (long long)a,
		    (long long)json_integer_value(json_object_get(r, "refusals")),
		    v, sget(k, "reason") ? sget(k, "reason") : "");
}

static void
hq(const struct pa_config *cfg, json_t *doc, int64_t now, json_t *arr)
{
	json_t *sy = json_object_get(doc, "sync");
	const char *since;
	int64_t a;

	if (!json_is_true(json_object_get(sy, "enabled")) ||
	    strcmp(sget(doc, "hq_state") ? sget(doc, "hq_state") : "", "offline"))
		return;
	/* Never online yet: count from when the sync loop started. */
	if ((since = sget(sy, "hq_state_since")) == NULL)
		since = sget(sy, "loop_started");
	if ((a = age_s(since, now)) > cfg->status.hq_offline_max_s)
		add(arr, "hq_offline", since, "HQ has been offline for %lld s "
		    "(last error: %s)", (long long)a, sget(sy, "last_error") ?
		    sget(sy, "last_error") : "none");
}

static void
outbox(const struct pa_config *cfg, json_t *doc, int64_t now, json_t *arr)
{
	json_t *ob = json_object_get(doc, "outbox");
	long long depth = json_integer_value(json_object_get(ob, "depth"));
	const char *oldest = sget(ob, "oldest_ts");
	int64_t a = age_s(oldest, now);

	if (depth > cfg->status.outbox_max_depth || a >
	    cfg->status.outbox_max_age_s)
		add(arr, "outbox_backlog", oldest, "%lld events wait for HQ, the "
		    "oldest for %lld s (limits %ld events, %ld s)", depth,
		    (long long)(a < 0 ? 0 : a), cfg->status.outbox_max_depth,
		    cfg->status.outbox_max_age_s);
}

/* The daemon's own rules for what is not yet a candidate: dotfiles,
 * *.part and *.tmp are still being written. */
static void
inbox(const struct pa_config *cfg, int64_t now, json_t *arr)
{
	char dir[PATH_MAX], path[PATH_MAX], oldest[PATH_MAX] = "", since[32];
	int64_t worst = -1;
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (cfg->inbox[0])
		snprintf(dir, sizeof(dir), "%s", cfg->inbox);
	else if (hal_pathf(dir, sizeof(dir), "%s/inbox", cfg->data_dir) != PA_OK)
		return;
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		int64_t a;
		if (de->d_name[0] == '.' || (n >= 5 && (strcmp(de->d_name + n - 5,
		    ".part") == 0)) || (n >= 4 && strcmp(de->d_name + n - 4,
		    ".tmp") == 0))
			continue;
		if (hal_pathf(path, sizeof(path), "%s/%s", dir, de->d_name) !=
		    PA_OK || lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		a = now / 1000 - (int64_t)st.st_mtime;
		if (a > worst) {
			worst = a;
			snprintf(oldest, sizeof(oldest), "%s", de->d_name);
		}
	}
	closedir(d);
	if (worst > cfg->status.inbox_stuck_max_s) {
		hal_iso_ms(now - worst * 1000, since);
		add(arr, "inbox_stuck", since, "%s has waited in the inbox for "
		    "%lld s", oldest, (long long)worst);
	}
}

json_t *
attn_reasons(const struct pa_config *cfg, json_t *doc, int64_t now_ms)
{
	json_t *arr = json_array();
	long long freeb;

	if (arr == NULL)
		return NULL;
	gate(cfg, doc, now_ms, arr);
	hq(cfg, doc, now_ms, arr);
	outbox(cfg, doc, now_ms, arr);
	inbox(cfg, now_ms, arr);
	/* 0 = unknown (statvfs failed): not a reason by itself. */
	freeb = json_integer_value(json_object_get(doc, "disk_free_bytes"));
	if (freeb > 0 && freeb < (long long)cfg->status.disk_free_min_mb *
	    1024 * 1024)
		add(arr, "disk_low", NULL, "%.1f MiB free on the data directory's "
		    "filesystem (limit %ld MiB)", (double)freeb / (1024.0 * 1024),
		    cfg->status.disk_free_min_mb);
	return arr;
}

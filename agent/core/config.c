#include "agent/core/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "hal/hal.h"
#include "hal/pa_err.h"

enum ctype { C_STR, C_LONG, C_BOOL, C_KKT_BACKEND };

/* The one table: parsing, validation, the sample file and --help all read it. */
struct centry {
	const char *section, *key;
	enum ctype type;
	size_t off, size;
	const char *def;
	long min, max;
	int secret;             /* path to a file that must be private */
	const char *help;
};

#define S(sec, key, field, def, secret, help) \
	{ sec, key, C_STR, offsetof(struct pa_config, field), \
	  sizeof(((struct pa_config *)0)->field), def, 0, 0, secret, help }
#define L(sec, key, field, def, min, max, help) \
	{ sec, key, C_LONG, offsetof(struct pa_config, field), \
	  sizeof(long), def, min, max, 0, help }

static const struct centry table[] = {
	S("agent", "id", agent_id, "", 0,
	    "REQUIRED: this terminal's identity at HQ, unique per store "
	    "terminal (letters, digits, '-', '_', '.')"),
	S("agent", "data_dir", data_dir, "/var/lib/posagent", 0,
	    "agent.db, catalog.db, spool/ and the default inbox live here"),
	S("agent", "inbox", inbox, "", 0,
	    "folder watched by `posagent run` (default: DATA_DIR/inbox)"),
	L("agent", "retention_days", retention_days, "90", 1, 36500,
	    "jobs older than this (not running), their logs and spool files are "
	    "pruned daily by `posagent run` and by `job prune`"),
	L("agent", "retention_max_mb", retention_max_mb, "512", 16, 1048576,
	    "agent.db ceiling: the oldest finished jobs are pruned beyond it"),
	S("agent", "metrics_file", metrics_file, "", 0,
	    "Prometheus textfile written on each heartbeat (for node-exporter's "
	    "textfile collector); empty: none"),
	{ "kkt", "backend", C_KKT_BACKEND, offsetof(struct pa_config, kkt.backend),
	  sizeof(enum kkt_backend), "", 0, 0, 0,
	  "opticserp | atol | none (none must be chosen explicitly)" },
	S("kkt", "url", kkt.url, "http://127.0.0.1:16732", 0,
	    "KKT adapter base URL (ATOL web server default port 16732)"),
	L("kkt", "timeout_ms", kkt.timeout_ms, "2000", 100, 60000,
	    "whole gate check budget, connect included"),
	S("kkt", "user", kkt.user, "", 0,
	    "user for an ATOL web server with HTTP Basic authentication "
	    "(with password_file)"),
	S("kkt", "password_file", kkt.password_file, "", 1,
	    "file holding that user's password, one line, mode 600"),
	{ "kkt", "allow_override", C_BOOL, offsetof(struct pa_config,
	  kkt_allow_override), sizeof(int), "false", 0, 1, 0,
	  "true lets a person run a refused import with job run/import "
	  "--override-gate REASON (logged, sent to HQ); never the daemon" },
	S("hq", "url", hq.url, "", 0,
	    "HQ base URL, https://NAME:PORT (address HQ by name: mbedTLS 2.28 "
	    "does not match IP-address certificates); empty disables sync"),
	S("hq", "ca_file", hq.ca_file, "", 0, "CA bundle that signed HQ's certificate"),
	S("hq", "cert_file", hq.cert_file, "", 0, "client certificate (mTLS), PEM"),
	S("hq", "key_file", hq.key_file, "", 1, "client key (mTLS), PEM, mode 600"),
	S("hq", "token_file", hq.token_file, "", 1, "bearer token file, mode 600"),
	S("hq", "pin", hq.pin, "", 0, "optional public-key pin sha256//BASE64"),
	L("hq", "heartbeat_s", hq.heartbeat_s, "30", 1, 86400, "heartbeat period"),
	L("hq", "batch_max", hq.batch_max, "500", 1, 10000, "events per POST"),
	L("hq", "timeout_ms", hq.timeout_ms, "10000", 100, 600000,
	    "one HQ request, connect included"),
	L("hq", "outbox_max_events", hq.outbox_max_events, "1000000", 1000,
	    100000000, "outbox cap: oldest log events dropped beyond it"),
	/* `posagent status` exits 1 beyond these (docs/operations.md). */
	L("status", "gate_refusing_max_s", status.gate_refusing_max_s, "3600", 1,
	    31536000, "attention when the KKT gate refuses longer than this"),
	L("status", "hq_offline_max_s", status.hq_offline_max_s, "3600", 1,
	    31536000, "attention when HQ is offline longer than this"),
	L("status", "outbox_max_depth", status.outbox_max_depth, "100000", 1,
	    100000000, "attention when more events than this wait for HQ"),
	L("status", "outbox_max_age_s", status.outbox_max_age_s, "86400", 1,
	    31536000, "attention when the oldest outbox event is older"),
	L("status", "inbox_stuck_max_s", status.inbox_stuck_max_s, "3600", 1,
	    31536000, "attention when a file waits in the inbox longer"),
	L("status", "disk_free_min_mb", status.disk_free_min_mb, "512", 0,
	    10000000, "attention when less disk than this (MiB) is free"),
};
#define NENTRIES (sizeof(table) / sizeof(table[0]))

struct loadctx {
	struct pa_config *cfg;
	const char *path;
	int rc;
	FILE *f;
	int line, line_next;            /* of the line being handled */
	int seen[NENTRIES];             /* line of each key set, 0 = not */
};

/* fgets that counts lines: Debian's inih is built without line numbers,
 * and a message naming file:line says where to look. */
static char *
read_line(char *str, int num, void *stream)
{
	struct loadctx *lc = stream;
	char *s = fgets(str, num, lc->f);

	lc->line = lc->line_next;
	if (s && strchr(s, '\n'))
		lc->line_next++;
	return s;
}

static int
set_value(struct pa_config *cfg, const struct centry *e, const char *v,
    const char *where)
{
	char *p = (char *)cfg + e->off;
	char *end;
	long l;

	switch (e->type) {
	case C_STR:
		if (strlen(v) >= e->size)
			return pa_err_set(PA_ECONFIG, "%s: [%s] %s is too long "
			    "(max %zu bytes)", where, e->section, e->key, e->size - 1);
		memcpy(p, v, strlen(v) + 1);
		return PA_OK;
	case C_LONG:
		errno = 0;
		l = strtol(v, &end, 10);
		if (errno || end == v || *end != '\0' || l < e->min || l > e->max)
			return pa_err_set(PA_ECONFIG, "%s: [%s] %s = '%s' is not a "
			    "number in %ld..%ld", where, e->section, e->key, v, e->min,
			    e->max);
		*(long *)(void *)p = l;
		return PA_OK;
	case C_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
		    strcmp(v, "1") == 0)
			*(int *)(void *)p = 1;
		else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 ||
		    strcmp(v, "0") == 0)
			*(int *)(void *)p = 0;
		else
			return pa_err_set(PA_ECONFIG, "%s: [%s] %s = '%s': use true "
			    "or false", where, e->section, e->key, v);
		return PA_OK;
	case C_KKT_BACKEND:
		if (*v == '\0') {
			*(enum kkt_backend *)(void *)p = KKT_BACKEND_UNSET;
			return PA_OK;
		}
		if (kkt_backend_parse(v, (enum kkt_backend *)(void *)p) != PA_OK)
			return pa_err_set(PA_ECONFIG, "%s: [kkt] backend = '%s': use "
			    "opticserp, atol or none", where, v);
		return PA_OK;
	}
	return PA_EINTERNAL; /* cannot happen: every type handled above */
}

static int
on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct loadctx *lc = user;
	char where[PATH_MAX + 32];
	size_t i;

	if (lc->rc != PA_OK)
		return 0;
	snprintf(where, sizeof(where), "%s:%d", lc->path, lc->line);
	for (i = 0; i < NENTRIES; i++) {
		if (strcmp(table[i].section, section) == 0 &&
		    strcmp(table[i].key, name) == 0) {
			/* The later line would win silently: a second
			 * "backend = none" turned the gate off (issue #9). */
			if (lc->seen[i]) {
				lc->rc = pa_err_set(PA_ECONFIG, "%s: [%s] %s is set "
				    "twice (lines %d and %d): keep one", lc->path,
				    section, name, lc->seen[i], lc->line);
				return 0;
			}
			lc->seen[i] = lc->line;
			lc->rc = set_value(lc->cfg, &table[i], value, where);
			return lc->rc == PA_OK;
		}
	}
	lc->rc = pa_err_set(PA_ECONFIG, "%s: unknown setting [%s] %s (see "
	    "posagent --help config)", where, section, name);
	return 0;
}

int
config_load(struct pa_config *cfg, const char *path, int required)
{
	struct loadctx lc = { cfg, path, PA_OK, NULL, 0, 1, { 0 } };
	size_t i;
	FILE *f = NULL;
	int rc = PA_OK, prc, fd = -1;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NENTRIES; i++)
		if ((rc = set_value(cfg, &table[i], table[i].def, "default")) != PA_OK)
			goto out;
	(void)required;
	if (path == NULL)
		goto out;
	/* A regular file of bounded size only: a directory read as an empty
	 * config fell back to the defaults, a FIFO or /dev/zero hung. */
	if ((rc = hal_open_regular(path, CONFIG_MAX_BYTES, &fd)) != PA_OK) {
		/* No silent defaults: an invented [agent] id would collide at
		 * HQ, so a missing file is an error even without -c. */
		if (rc == PA_ENOTFOUND)
			rc = pa_err_set(PA_ECONFIG, "cannot read config %s: no such "
			    "file (create it: posagent --help config > FILE, set "
			    "[agent] id, then pass -c FILE or install it as "
			    CONFIG_DEFAULT_PATH ")", path);
		else
			rc = pa_err_wrap(rc == PA_EACCESS ? rc : PA_ECONFIG,
			    "cannot read config: ");
		goto out;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		rc = pa_err_set(PA_EIO, "cannot read config %s: %s", path,
		    strerror(errno));
		goto out;
	}
	fd = -1; /* transferred */
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	lc.f = f;
	prc = ini_parse_stream(read_line, &lc, on_ini, &lc);
	if (lc.rc != PA_OK) {
		rc = lc.rc;
		goto out;
	}
	if (prc != 0) {
		rc = pa_err_set(PA_ECONFIG, "%s:%d: syntax error (expected "
		    "[section] or key = value)", path, prc);
		goto out;
	}
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
config_validate(const struct pa_config *cfg)
{
	const char *where = cfg->path[0] ? cfg->path : "configuration";
	size_t i;
	int rc;

	if (cfg->agent_id[0] == '\0')
		return pa_err_set(PA_ECONFIG, "%s: [agent] id is not set: give this "
		    "terminal its unique id at HQ (e.g. id = store-0042-pos1)", where);
	for (i = 0; cfg->agent_id[i]; i++) {
		char c = cfg->agent_id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return pa_err_set(PA_ECONFIG, "%s: [agent] id '%s' may hold "
			    "only letters, digits, '-', '_' and '.' (it goes into "
			    "HQ URLs)", where, cfg->agent_id);
	}
	if (cfg->data_dir[0] == '\0')
		return pa_err_set(PA_ECONFIG, "%s: [agent] data_dir is empty", where);
	for (i = 0; i < NENTRIES; i++) {
		const char *v;
		if (!table[i].secret)
			continue;
		v = (const char *)cfg + table[i].off;
		if (*v && (rc = hal_check_secret_file(v)) != PA_OK)
			return pa_err_wrap(rc == PA_ENOTFOUND ? PA_ECONFIG : rc,
			    "%s: [%s] %s: ", where, table[i].section, table[i].key);
	}
	return PA_OK;
}

void
config_write_sample(FILE *f)
{
	const char *sec = "";
	size_t i;

	fprintf(f, "# posagent configuration (%s)\n", CONFIG_DEFAULT_PATH);
	for (i = 0; i < NENTRIES; i++) {
		if (strcmp(sec, table[i].section) != 0) {
			sec = table[i].section;
			fprintf(f, "\n[%s]\n", sec);
		}
		fprintf(f, "# %s\n%s%s = %s\n", table[i].help,
		    table[i].def[0] ? "" : "#", table[i].key,
		    table[i].def[0] ? table[i].def :
		    (table[i].type == C_KKT_BACKEND ? "opticserp" : ""));
	}
}

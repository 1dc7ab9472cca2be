/* posagent config check [--online] — validate the configuration the way the
 * service will use it, and say exactly what is wrong (issue #13).
 *
 * Every check runs even after one fails, so one run lists all the problems.
 * Exit: 0 valid; 78 (PA_ECONFIG) any configuration problem; 69 (--online)
 * the KKT adapter or HQ could not be reached. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/cli/cli_int.h"
#include "agent/import/profile.h"
#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "sync/hqc.h"
#include "sync/tlsf.h"

static const char config_help[] =
"Validate the configuration: syntax, unknown keys, [agent] id, the URLs\n"
"and their rules, the secret files' permissions, that the CA, the client\n"
"certificate and key parse and match, the pin, the metrics file's folder,\n"
"and the stored profiles (when run as the data directory's owner).\n"
"The file is the global -c FILE (default " CONFIG_DEFAULT_PATH ").\n"
"\n"
"Exit status: 0 valid, 78 configuration error, 69 (--online) the KKT\n"
"adapter or HQ unreachable.\n";

struct run {
	struct cli_ctx *ctx;
	json_t *checks;
	int worst;              /* PA_OK, or the error that decides the exit */
	int failed;             /* how many checks failed */
	char msg[1024];         /* the deciding failure's message */
};

/* Record one check; rc is PA_OK or the failure (its message is current). */
static void
step(struct run *r, const char *name, int rc, const char *ok_detail)
{
	const char *msg = rc == PA_OK ? ok_detail : pa_err_msg(rc);

	json_array_append_new(r->checks, json_pack("{s:s,s:b,s:s?}", "check",
	    name, "ok", rc == PA_OK, "message", msg));
	if (!r->ctx->json && (rc != PA_OK || !r->ctx->quiet))
		printf("%-5s %-10s %s\n", rc == PA_OK ? "ok" : "FAIL", name,
		    msg ? msg : "");
	if (rc == PA_OK)
		return;
	r->failed++;
	/* The first failure decides, but a configuration error outranks an
	 * unreachable peer. */
	if (r->worst == PA_OK || (cli_exit_code(rc) == 78 &&
	    cli_exit_code(r->worst) != 78)) {
		r->worst = rc;
		snprintf(r->msg, sizeof(r->msg), "%s", msg);
	}
}

static int
check_kkt(const struct kkt_config *k)
{
	if (k->backend == KKT_BACKEND_UNSET)
		return pa_err_set(PA_ECONFIG, "[kkt] backend is not set: opticserp, "
		    "atol, or none (no gate) explicitly");
	if (k->backend != KKT_BACKEND_NONE && strncasecmp(k->url, "http://", 7)
	    != 0 && strncasecmp(k->url, "https://", 8) != 0)
		return pa_err_set(PA_ECONFIG, "[kkt] url '%s' is not http(s)://",
		    k->url);
	return PA_OK;
}

/* hqc_open applies every [hq] rule (URL, ca_file for https, cert and key
 * together, private key and token files, pin); then the TLS files. */
static int
check_hq(const struct pa_config *cfg)
{
	hqc *c = NULL;
	int rc;

	if ((rc = hqc_open(&cfg->hq, cfg->agent_id, &c)) != PA_OK)
		return rc;
	hqc_close(c);
	if (cfg->hq.ca_file[0] && (rc = tlsf_check_ca(cfg->hq.ca_file)) != PA_OK)
		return rc;
	if (cfg->hq.cert_file[0] && (rc = tlsf_check_pair(cfg->hq.cert_file,
	    cfg->hq.key_file)) != PA_OK)
		return rc;
	return PA_OK;
}

static int
check_metrics(const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	if (dir[0] != '/')
		return pa_err_set(PA_ECONFIG, "[agent] metrics_file '%s' must be "
		    "an absolute path", path);
	slash = strrchr(dir, '/');
	*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return pa_err_set(PA_ECONFIG, "[agent] metrics_file: folder %s does "
		    "not exist", dir);
	return PA_OK;
}

/* Profiles live in agent.db. Opening it as another user than its owner
 * (root in a postinst) would leave root-owned WAL files the service cannot
 * open, so the check runs only as the data directory's owner. */
static int
check_profiles(struct cli_ctx *ctx, char *detail, size_t n)
{
	struct profile **profs = NULL;
	char db[PATH_MAX];
	struct stat st;
	size_t np = 0, i;
	adb *a = NULL;
	int rc;

	if ((rc = hal_pathf(db, sizeof(db), "%s/agent.db", ctx->cfg->data_dir))
	    != PA_OK)
		return rc;
	if (stat(db, &st) != 0) {
		snprintf(detail, n, "none yet (no %s: posagent init)", db);
		return PA_OK;
	}
	if (st.st_uid != geteuid()) {
		snprintf(detail, n, "not checked: run as the owner of %s", db);
		return PA_OK;
	}
	if ((rc = adb_open(ctx->cfg->data_dir, &a)) != PA_OK)
		return rc;
	/* Loading parses each stored profile again with today's rules. */
	if ((rc = prof_all(a, &profs, &np)) == PA_OK)
		snprintf(detail, n, "%zu profile%s valid", np, np == 1 ? "" : "s");
	for (i = 0; i < np; i++)
		prof_free(profs[i]);
	pa_free(profs);
	adb_close(a);
	return rc;
}

static int
online_kkt(const struct kkt_config *k, char *detail, size_t n)
{
	struct kkt_status st;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = kkt_check(k, &st);
	/* Reached is what counts here; an unsynced buffer is not a config
	 * problem (the gate reports it). */
	if (rc == PA_OK || rc == PA_EKKT_UNSYNCED) {
		snprintf(detail, n, "%s answered: %s", kkt_backend_name(k->backend),
		    st.reason);
		return PA_OK;
	}
	return rc;
}

/* One heartbeat, as the sync loop sends it, marked as a check: proves the
 * route, the TLS handshake (CA, host name, pin, our certificate) and that
 * HQ accepts our credentials. */
static int
online_hq(const struct pa_config *cfg, char *detail, size_t n)
{
	struct hqc_resp r;
	json_t *doc = NULL;
	char *body = NULL;
	hqc *c = NULL;
	int rc;

	if ((rc = hqc_open(&cfg->hq, cfg->agent_id, &c)) != PA_OK)
		goto out;
	doc = json_pack("{s:s,s:s,s:b}", "agent_id", cfg->agent_id, "version",
	    PA_VERSION, "config_check", 1);
	if (doc == NULL || (body = json_dumps(doc, JSON_COMPACT)) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	memset(&r, 0, sizeof(r));
	if ((rc = hqc_post(c, HQC_HEARTBEAT, body, strlen(body),
	    hal_sys.now_ms(), &r)) != PA_OK)
		goto out;
	if (r.status == 401 || r.status == 403)
		rc = pa_err_set(PA_EHQ_AUTH, "HQ %s refused our credentials (HTTP "
		    "%ld): check [hq] token_file, cert_file and [agent] id",
		    cfg->hq.url, r.status);
	else if (r.status < 200 || r.status > 299)
		rc = pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s answered HTTP %ld to a "
		    "heartbeat", cfg->hq.url, r.status);
	else
		snprintf(detail, n, "%s accepted a heartbeat (HTTP %ld)",
		    cfg->hq.url, r.status);
out:
	pa_free(body);        /* jansson allocates through pa_mem */
	json_decref(doc);
	hqc_close(c);
	return rc;
}

enum { C_ONLINE };
static const struct pa_opt check_opts[] = {
	[C_ONLINE] = { "online", 0, NULL, "also ask the KKT adapter, and send "
	    "HQ a heartbeat\n(TLS handshake and authentication)", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};

static int
cmd_config_check(struct cli_ctx *ctx, const struct pa_args *a)
{
	struct run r;
	const char *path = ctx->conf_path ? ctx->conf_path : CONFIG_DEFAULT_PATH;
	char detail[PATH_MAX + 128];
	int online = a->val[C_ONLINE] != NULL, rc, loaded;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	if ((r.checks = json_array()) == NULL)
		return PA_ENOMEM;
	if (!ctx->json && !ctx->quiet)
		printf("checking %s\n", path);
	rc = config_load(ctx->cfg, path, 1);
	if (rc == PA_OK && ctx->data_dir)
		snprintf(ctx->cfg->data_dir, sizeof(ctx->cfg->data_dir), "%s",
		    ctx->data_dir);
	step(&r, "file", rc, "syntax and keys");
	loaded = rc == PA_OK;
	if (loaded) {
		step(&r, "agent", config_validate(ctx->cfg), ctx->cfg->agent_id);
		step(&r, "kkt", check_kkt(&ctx->cfg->kkt),
		    kkt_backend_name(ctx->cfg->kkt.backend));
		if (ctx->cfg->hq.url[0])
			step(&r, "hq", check_hq(ctx->cfg), ctx->cfg->hq.url);
		else
			step(&r, "hq", PA_OK, "sync disabled ([hq] url is empty)");
		if (ctx->cfg->metrics_file[0])
			step(&r, "metrics", check_metrics(ctx->cfg->metrics_file),
			    ctx->cfg->metrics_file);
		detail[0] = '\0';
		step(&r, "profiles", check_profiles(ctx, detail, sizeof(detail)),
		    detail);
	}
	/* Online checks only make sense on a valid configuration. */
	if (online && r.worst == PA_OK) {
		if (ctx->cfg->kkt.backend != KKT_BACKEND_NONE) {
			detail[0] = '\0';
			step(&r, "kkt online", online_kkt(&ctx->cfg->kkt, detail,
			    sizeof(detail)), detail);
		}
		if (ctx->cfg->hq.url[0]) {
			detail[0] = '\0';
			step(&r, "hq online", online_hq(ctx->cfg, detail,
			    sizeof(detail)), detail);
		}
	}
	rc = r.worst;
	if (ctx->json) {
		json_t *doc = json_pack("{s:s,s:b,s:o}", "config", path, "ok",
		    rc == PA_OK, "checks", r.checks);
		r.checks = NULL; /* transferred */
		if (doc && rc != PA_OK)
			json_object_set_new(doc, "error", json_pack("{s:i,s:s,s:s}",
			    "code", cli_exit_code(rc), "name", pa_errname(rc),
			    "message", r.msg));
		cli_emit_json(doc);
		ctx->json_done = 1;
	} else if (rc == PA_OK && !ctx->quiet) {
		printf("configuration ok\n");
	}
	json_decref(r.checks);
	/* The last failure's message is what main prints on stderr. */
	if (rc != PA_OK)
		pa_err_set(rc, "config check: %d problem%s; %s", r.failed,
		    r.failed == 1 ? "" : "s", r.msg);
	return rc;
}

const struct cli_group cli_config_group = {
	"config", config_help,
	(const struct cli_verb[]){
		{ "check", NULL, 0, 0, check_opts, cmd_config_check, "validate the "
		    "configuration (and reach the KKT adapter and HQ)" },
		{ NULL, NULL, 0, 0, NULL, NULL, NULL } },
	0,                      /* loads the file itself, to report */
};

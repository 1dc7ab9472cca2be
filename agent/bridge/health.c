#include "agent/bridge/health.h"

#include <string.h>

#include "agent/daemon/attn.h"
#include "agent/daemon/metrics.h"
#include "agent/import/jobq.h"
#include "agent/store/gstat.h"
#include "hal/hal.h"
#include "hal/pa_err.h"

static json_t *
kkt_json(void *arg)
{
	struct health_ctx *hc = arg;
	struct kkt_status st;
	json_t *o, *r = NULL;
	int64_t total;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = kkt_check(hc->kkt, &st);
	if ((o = kkt_status_json(&st)) == NULL)
		return NULL;
	/* The same verdict words as `posagent kkt status`. */
	json_object_set_new(o, "verdict", json_string(
	    st.backend == KKT_BACKEND_NONE ? "not_gated" : rc == PA_OK ? "synced" :
	    rc == PA_EKKT_UNSYNCED ? "not_synced" : rc == PA_EKKT_UNREACHABLE ?
	    "unreachable" : "config_error"));
	/* How long imports have been refused (since, refusals), so HQ sees a
	 * store stuck behind its KKT; null while the gate lets them through. */
	if (gstat_json(hc->db, hal_sys.now_ms(), &r) != PA_OK)
		r = json_null();
	json_object_set_new(o, "refusing", r);
	/* Every refusal ever (passes do not reset it): a counter. Left out
	 * when agent.db cannot say, rather than sent as a false 0. */
	if (gstat_total(hc->db, &total) == PA_OK)
		json_object_set_new(o, "refusals_total", json_integer(total));
	return o;
}

static json_t *
jobs_json(void *arg)
{
	struct health_ctx *hc = arg;
	json_t *o = NULL;

	return jobq_health(hc->db, &o) == PA_OK ? o : NULL;
}

struct syncer_hooks
health_hooks(struct health_ctx *ctx)
{
	struct syncer_hooks h = { kkt_json, jobs_json, ctx };

	return h;
}

void
health_syncer_opts(const struct pa_config *cfg, struct health_ctx *hc,
    struct syncer_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->hq = &cfg->hq;
	o->agent_id = cfg->agent_id;
	o->version = PA_VERSION;
	o->data_dir = cfg->data_dir;
	o->hooks = health_hooks(hc);
}

int
health_status(const struct pa_config *cfg, adb *db, json_t **doc_out)
{
	struct health_ctx hc = { db, &cfg->kkt };
	struct syncer_opts so;
	json_t *doc = NULL, *why;
	syncer *s = NULL;
	int rc;

	*doc_out = NULL;
	health_syncer_opts(cfg, &hc, &so);
	if ((rc = syncer_open(&so, adb_outbox(db), &s)) != PA_OK ||
	    (rc = syncer_status_json(s, &doc)) != PA_OK)
		goto out;
	if ((why = attn_reasons(cfg, doc, hal_sys.now_ms())) == NULL ||
	    json_object_set_new(doc, "attention", why) != 0) {
		rc = PA_ENOMEM;
		goto out;
	}
	*doc_out = doc;
	doc = NULL; /* transferred */
out:
	json_decref(doc);
	syncer_close(s);
	return rc;
}

int
health_publish(const struct pa_config *cfg, adb *db)
{
	json_t *doc = NULL, *counts = NULL;
	int rc;

	if (cfg->metrics_file[0] == '\0')
		return PA_OK;
	if ((rc = health_status(cfg, db, &doc)) != PA_OK ||
	    (rc = jobq_counts(db, &counts)) != PA_OK)
		goto out;
	rc = met_write(cfg->metrics_file, doc, counts,
	    json_object_get(doc, "attention"), hal_sys.now_ms());
out:
	json_decref(counts);
	json_decref(doc);
	return rc;
}

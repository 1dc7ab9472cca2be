/* health — the glue between the agent and sync/, hence agent/bridge/: what
 * the agent tells the sync layer about itself (the KKT view and the jobs
 * summary) as the syncer's hooks, and the syncer's options from the
 * configuration. sync/ never includes agent/ headers, so the agent hands
 * them over ready-made; both `posagent run` (agent/daemon/) and
 * `posagent sync` (agent/cli/) use it, so it belongs to neither. */
#ifndef HEALTH_H
#define HEALTH_H

#include "agent/core/config.h"
#include "agent/store/adb.h"
#include "sync/syncer.h"

struct health_ctx {
	adb *db;                        /* borrowed: the syncer's connection */
	const struct kkt_config *kkt;   /* borrowed */
};

/* Hooks reading from ctx (which must outlive the syncer). */
struct syncer_hooks health_hooks(struct health_ctx *ctx);

/* Fill syncer options from the configuration (borrowed strings). */
void health_syncer_opts(const struct pa_config *cfg, struct health_ctx *hc,
    struct syncer_opts *o);

/* The status document (syncer_status_json: KKT asked) on db, with its
 * "attention" array (attn_reasons). New reference in *doc_out. */
int health_status(const struct pa_config *cfg, adb *db, json_t **doc_out);

/* The daemon's heartbeat-time publication: [agent] metrics_file, when set,
 * rewritten atomically. */
int health_publish(const struct pa_config *cfg, adb *db);

#endif

/* config — posagent.conf (INI), one table drives parsing, validation,
 * --help text and the commented sample (DESIGN §9). */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stdio.h>

#include "kkt/kkt.h"
#include "sync/hq.h"

#define CONFIG_DEFAULT_PATH "/etc/posagent/posagent.conf"
/* A config larger than this is refused: ours is about 2 KiB. */
#define CONFIG_MAX_BYTES    (256 * 1024)

/* When `posagent status` says the agent needs attention ([status]). */
struct pa_status_limits {
	long gate_refusing_max_s;
	long hq_offline_max_s;
	long outbox_max_depth;
	long outbox_max_age_s;
	long inbox_stuck_max_s;
	long disk_free_min_mb;
};

struct pa_config {
	char agent_id[128];         /* required: no default (HQ would see clashes) */
	char data_dir[PATH_MAX];
	char inbox[PATH_MAX];       /* "" = <data_dir>/inbox */
	long retention_days;        /* prune jobs older than this */
	long retention_max_mb;      /* agent.db ceiling for pruning */
	char metrics_file[PATH_MAX]; /* "" = no Prometheus textfile */
	struct pa_status_limits status;
	struct kkt_config kkt;
	int kkt_allow_override;     /* [kkt] allow_override: the CLI's, kkt/
	                               never overrides itself */
	struct hq_config hq;
	char path[PATH_MAX];        /* file it was read from ("" = defaults only) */
};

/* Fill cfg with defaults, then read path if non-NULL. A missing file is an
 * error (PA_ECONFIG saying how to create it): there are no silent defaults
 * for a terminal's identity. required is kept for callers' intent. Unknown
 * keys, bad numbers and unsafe secret-file permissions are
 * PA_ECONFIG/PA_EPERM naming the file. */
int config_load(struct pa_config *cfg, const char *path, int required);

/* Check the settings a command relies on after all overrides (-d). */
int config_validate(const struct pa_config *cfg);

/* Write the commented sample configuration. */
void config_write_sample(FILE *f);

#endif

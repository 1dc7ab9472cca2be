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

struct pa_config {
	char agent_id[128];
	char data_dir[PATH_MAX];
	char inbox[PATH_MAX];       /* "" = <data_dir>/inbox */
	long retention_days;        /* prune jobs older than this */
	long retention_max_mb;      /* agent.db ceiling for pruning */
	struct kkt_config kkt;
	int kkt_allow_override;     /* [kkt] allow_override: the CLI's, kkt/
	                               never overrides itself */
	struct hq_config hq;
	char path[PATH_MAX];        /* file it was read from ("" = defaults only) */
};

/* Fill cfg with defaults, then read path if non-NULL. A missing file is an
 * error only when required (an explicit -c). Unknown keys, bad numbers and
 * unsafe secret-file permissions are PA_ECONFIG/PA_EPERM naming file:line. */
int config_load(struct pa_config *cfg, const char *path, int required);

/* Check the settings a command relies on after all overrides (-d). */
int config_validate(const struct pa_config *cfg);

/* Write the commented sample configuration. */
void config_write_sample(FILE *f);

#endif

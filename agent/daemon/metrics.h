/* metrics — the Prometheus text exposition format file ([agent]
 * metrics_file) that node-exporter's textfile collector reads. Names start
 * with posagent_, counters end in _total, durations and times in _seconds
 * (prometheus.io/docs/practices/naming). */
#ifndef METRICS_H
#define METRICS_H

#include <stdint.h>

#include <jansson.h>

/* Write path atomically (readers see the old file or the new one) from
 * doc (syncer_status_json), counts (jobq_counts) and reasons
 * (attn_reasons). PA_EIO naming the failed step; PA_ENOMEM. */
int met_write(const char *path, json_t *doc, json_t *counts, json_t *reasons,
    int64_t now_ms);

#endif

/* hq_maint — posagent-hq's background thread: retention, and alerts
 * (--alert-cmd) when a store stays offline, an import fails, or a gate
 * refuses for too long. Each incident is claimed in the store (hq_alert's
 * unique key), so it is reported once even by several replicas. */
#ifndef HQ_MAINT_H
#define HQ_MAINT_H

struct hq_maint_opts {
	const char *db_spec;
	int busy_ms;
	const char *alert_cmd;          /* NULL: no alerts */
	int alert_offline_s;            /* store offline longer than this */
	int alert_gate_s;               /* gate refusing longer than this */
	int interval_ms;                /* how often to look */
	int job_days, log_days;         /* retention; 0 keeps forever */
	int offline_after_s;
};

typedef struct hq_maint hq_maint;

int hq_maint_start(const struct hq_maint_opts *o, hq_maint **out);
/* Wakes and joins the thread. */
void hq_maint_stop(hq_maint *m);

#endif

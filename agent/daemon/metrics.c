#include "agent/daemon/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/daemon/attn.h"
#include "hal/hal.h"
#include "hal/pa_err.h"

/* One family: HELP, TYPE, then its samples are printed by the caller. */
static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
gauge(FILE *f, const char *name, const char *help, double v)
{
	family(f, name, "gauge", help);
	fprintf(f, "%s %.17g\n", name, v);
}

static void
counter(FILE *f, const char *name, const char *help, double v)
{
	family(f, name, "counter", help);
	fprintf(f, "%s %.17g\n", name, v);
}

/* Label values: escape \, " and newline (exposition format). */
static void
label(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

static int
iso_s(const char *iso, double *out)
{
	int64_t ms;

	if (iso == NULL || hal_iso_parse(iso, &ms) != PA_OK)
		return 0;
	*out = (double)ms / 1000.0;
	return 1;
}

/* A KKT gate number, wherever the heartbeat keeps it. */
static json_t *
kkt_num(json_t *k, const char *key)
{
	json_t *v = json_object_get(k, key);

	if (v == NULL)
		v = json_object_get(json_object_get(k, "refusing"), key);
	return json_is_number(v) ? v : NULL;
}

static void
write_all(FILE *f, json_t *doc, json_t *counts, json_t *reasons, int64_t now)
{
	json_t *ob = json_object_get(doc, "outbox"), *k = json_object_get(doc,
	    "kkt"), *by = json_object_get(counts, "by_state"), *v;
	const char *verdict = json_string_value(json_object_get(k, "verdict"));
	const char *key;
	double t;
	size_t i, j;

	family(f, "posagent_info", "gauge", "Agent identity; always 1.");
	fputs("posagent_info{agent_id=\"", f);
	label(f, json_string_value(json_object_get(doc, "agent_id")));
	fputs("\",version=\"", f);
	label(f, json_string_value(json_object_get(doc, "version")));
	fputs("\"} 1\n", f);

	family(f, "posagent_jobs", "gauge", "Import jobs by state.");
	json_object_foreach(by, key, v)
		fprintf(f, "posagent_jobs{state=\"%s\"} %lld\n", key,
		    (long long)json_integer_value(v));
	counter(f, "posagent_rows_imported_total", "Rows created or updated in "
	    "the catalog by done jobs (dry runs excluded).", (double)
	    json_integer_value(json_object_get(counts, "rows_imported")));
	if (iso_s(json_string_value(json_object_get(json_object_get(
	    json_object_get(doc, "jobs"), "last_done"), "end_date")), &t))
		gauge(f, "posagent_last_import_success_timestamp_seconds",
		    "When the last import job ended done (Unix time).", t);

	gauge(f, "posagent_kkt_gate_open", "1 when the KKT gate lets imports "
	    "through (synced, or no gate).", verdict && (strcmp(verdict,
	    "synced") == 0 || strcmp(verdict, "not_gated") == 0));
	if ((v = kkt_num(k, "pending")) && json_number_value(v) >= 0)
		gauge(f, "posagent_kkt_pending_receipts", "Receipts the KKT has not "
		    "sent to the fiscal data operator yet.", json_number_value(v));
	/* The current refusal streak (reset when an import passes): gauges.
	 * The lifetime count is a counter under another name: in OpenMetrics
	 * a counter posagent_kkt_gate_refusals_total would be the family
	 * posagent_kkt_gate_refusals, the gauge's. */
	if ((v = kkt_num(k, "refusals_total")) != NULL)
		counter(f, "posagent_gate_refusals_total", "Imports the KKT gate "
		    "refused, ever (kept in agent.db across restarts).",
		    json_number_value(v));
	v = kkt_num(k, "refusals");
	gauge(f, "posagent_kkt_gate_refusals", "Imports the KKT gate refused "
	    "since it last let one through.", v ? json_number_value(v) : 0);
	v = kkt_num(k, "refusing_s");
	gauge(f, "posagent_kkt_gate_refusing_seconds", "How long the KKT gate "
	    "has been refusing imports (0 when it is not).",
	    v ? json_number_value(v) : 0);

	gauge(f, "posagent_outbox_events", "Events waiting to be sent to HQ.",
	    (double)json_integer_value(json_object_get(ob, "depth")));
	gauge(f, "posagent_outbox_oldest_age_seconds", "Age of the oldest "
	    "event waiting for HQ (0 when empty).",
	    iso_s(json_string_value(json_object_get(ob, "oldest_ts")), &t) &&
	    t * 1000 < (double)now ? ((double)now / 1000.0 - t) : 0);
	counter(f, "posagent_outbox_dead_letters_total", "Events HQ refused "
	    "for good (dead-lettered).",
	    (double)json_integer_value(json_object_get(ob, "dead_letters")));
	counter(f, "posagent_outbox_dropped_log_events_total", "Log events "
	    "dropped over the outbox cap.",
	    (double)json_integer_value(json_object_get(ob, "dropped_log_events")));
	gauge(f, "posagent_hq_sync_enabled", "1 when [hq] url is set.",
	    json_is_true(json_object_get(json_object_get(doc, "sync"),
	    "enabled")));
	gauge(f, "posagent_hq_online", "1 when HQ is online (hysteresis of the "
	    "sync loop).", strcmp(json_string_value(json_object_get(doc,
	    "hq_state")) ? json_string_value(json_object_get(doc, "hq_state")) :
	    "", "online") == 0);
	gauge(f, "posagent_disk_free_bytes", "Free bytes on the data "
	    "directory's filesystem.",
	    (double)json_integer_value(json_object_get(doc, "disk_free_bytes")));

	/* Every reason, 0 or 1, so an alert can name it. */
	family(f, "posagent_attention", "gauge", "1 when the agent needs a "
	    "person for this reason (posagent status exits 1).");
	for (i = 0; attn_all[i]; i++) {
		int on = 0;
		json_array_foreach(reasons, j, v)
			if (strcmp(json_string_value(json_object_get(v, "reason")),
			    attn_all[i]) == 0)
				on = 1;
		fprintf(f, "posagent_attention{reason=\"%s\"} %d\n", attn_all[i], on);
	}
}

int
met_write(const char *path, json_t *doc, json_t *counts, json_t *reasons,
    int64_t now_ms)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return PA_ENOMEM;
	write_all(f, doc, counts, reasons, now_ms);
	if (fclose(f) != 0) {
		free(buf);
		return PA_ENOMEM;
	}
	/* 0644: the collector runs as another user. */
	rc = hal_write_file(path, buf, len, 0644);
	free(buf);
	return rc;
}

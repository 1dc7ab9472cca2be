/* cli_sync — `posagent sync [--once]` and `posagent status` (DESIGN §7, §9).
 *
 * Both build the same heartbeat document through the syncer, with the
 * daemon's health hooks (jobs summary, KKT gate), so what the technician
 * reads is what HQ receives. */
#include <stdio.h>
#include <string.h>

#include "agent/cli/cli_int.h"
#include "agent/bridge/health.h"
#include "agent/core/names.h"
#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_log.h"
#include "sync/hqc.h"
#include "sync/syncer.h"

static const char sync_help[] =
"Send the outbox (job and log events) to HQ in order, then a heartbeat.\n"
"Without --once: keep going — drain, heartbeat every [hq] heartbeat_s —\n"
"until SIGTERM/SIGINT, retrying with backoff while HQ is unavailable.\n"
"--json prints a summary object: delivered, batches, dead_lettered,\n"
"connections, outbox {depth, oldest_ts}, hq_state.\n"
"\n"
"Settings in [hq]: url, ca_file, cert_file, key_file, token_file, pin,\n"
"heartbeat_s, batch_max, timeout_ms, outbox_max_events (see docs/hq-sync.md).\n"
"\n"
"Exit status: 0 drained (or stopped by a signal), 69 HQ unavailable (down,\n"
"5xx, 429, timeout, TLS certificate refused, protocol error, another\n"
"process syncing), 78 configuration error or HQ refused our credentials\n"
"(401/403: events are kept).\n";

static const char status_help[] =
"Print the heartbeat document this terminal sends to HQ — agent, version,\n"
"KKT gate, outbox depth, jobs, free disk, hq_state (online|offline) — plus\n"
"the sync history (last success, last error, recent dead letters). It does\n"
"not contact HQ; the KKT adapter is asked as for every heartbeat.\n"
"\n"
"Exit status 1 when the agent needs attention; the reasons are listed\n"
"(\"attention\": [{reason, message, since}] in --json): kkt_gate_refusing,\n"
"hq_offline, outbox_backlog, inbox_stuck, disk_low; limits in [status]\n"
"(see man posagent).\n";

/* One syncer bound to an open agent.db, with the daemon's hooks. */
struct sync_session {
	adb *a;
	struct health_ctx hc;
	struct syncer_opts so;
	syncer *s;
};

static void
session_close(struct sync_session *ss)
{
	syncer_close(ss->s);
	adb_close(ss->a);
	memset(ss, 0, sizeof(*ss));
}

static void
log_stderr(void *arg, int prio, const char *line)
{
	char buf[1200];

	(void)arg;
	/* A line may quote HQ's answer: escaped, so it stays one line. */
	pa_log(prio, "%s", names_human(line, buf, sizeof(buf)));
}

static int
session_open(struct cli_ctx *ctx, int log, struct sync_session *ss)
{
	int rc;

	memset(ss, 0, sizeof(*ss));
	/* Neither settles jobs: status is read-only (issue #8) and sync
	 * touches no job and must not wait for an import's lock. */
	if ((rc = adb_open(ctx->cfg->data_dir, &ss->a)) != PA_OK)
		goto out;
	ss->hc.db = ss->a;
	ss->hc.kkt = &ctx->cfg->kkt;
	health_syncer_opts(ctx->cfg, &ss->hc, &ss->so);
	/* --once reports at the end; the loop has only its log. */
	if (log)
		ss->so.log = log_stderr;
	rc = syncer_open(&ss->so, adb_outbox(ss->a), &ss->s);
out:
	if (rc != PA_OK)
		session_close(ss);
	return rc;
}

static json_t *
summary_json(struct sync_session *ss, int rc)
{
	const struct syncer_report *r = syncer_report(ss->s);
	struct outbox_stats st;
	json_t *doc, *hb = NULL;

	memset(&st, 0, sizeof(st));
	outbox_stats(adb_outbox(ss->a), &st);
	/* hq_state as persisted after this run. */
	if (syncer_status_json(ss->s, &hb) != PA_OK)
		hb = NULL;
	doc = json_pack("{s:s,s:I,s:I,s:I,s:I,s:{s:I,s:s?},s:O?}",
	    "result", rc == PA_OK ? "drained" : "incomplete",
	    "delivered", (json_int_t)r->delivered,
	    "batches", (json_int_t)r->batches,
	    "dead_lettered", (json_int_t)r->dead_lettered,
	    "connections", (json_int_t)r->connects,
	    "outbox", "depth", (json_int_t)st.depth,
	    "oldest_ts", st.oldest_ts[0] ? st.oldest_ts : NULL,
	    "hq_state", hb ? json_object_get(hb, "hq_state") : NULL);
	json_decref(hb);
	return doc;
}

static void
print_summary(struct cli_ctx *ctx, struct sync_session *ss, int rc)
{
	const struct syncer_report *r = syncer_report(ss->s);
	struct outbox_stats st;
	json_t *doc, *dead = NULL;
	size_t i;

	if (ctx->json) {
		doc = summary_json(ss, rc);
		if (doc && rc != PA_OK)
			json_object_set_new(doc, "error", json_pack("{s:i,s:s,s:s}",
			    "code", cli_exit_code(rc), "name", pa_errname(rc),
			    "message", pa_err_msg(rc)));
		if (doc) {
			cli_emit_json(doc);
			ctx->json_done = 1;
		}
		return;
	}
	memset(&st, 0, sizeof(st));
	outbox_stats(adb_outbox(ss->a), &st);
	/* -q: a successful round says nothing; what HQ refused for good
	 * (below) is a warning and always shown. */
	if (!ctx->quiet || rc != PA_OK) {
		printf("delivered %lld event%s in %lld batch%s over %ld "
		    "connection%s; ", r->delivered, r->delivered == 1 ? "" : "s",
		    r->batches, r->batches == 1 ? "" : "es", r->connects,
		    r->connects == 1 ? "" : "s");
		if (st.depth == 0)
			printf("outbox empty\n");
		else
			printf("%lld still queued (oldest %s)\n", st.depth,
			    st.oldest_ts);
	}
	if (r->dead_lettered > 0 &&
	    outbox_dead_json(adb_outbox(ss->a), (int)(r->dead_lettered < 20 ?
	    r->dead_lettered : 20), &dead) == PA_OK) {
		json_t *d;
		json_array_foreach(dead, i, d)
			printf("dead-lettered seq %lld (%s): %s\n",
			    (long long)json_integer_value(json_object_get(d, "seq")),
			    json_string_value(json_object_get(d, "type")),
			    json_string_value(json_object_get(d, "reason")));
		json_decref(dead);
	}
}

enum { S_ONCE };
static const struct pa_opt sync_opts[] = {
	[S_ONCE] = { "once", 0, NULL, "drain what is queued now, send one "
	    "heartbeat, and exit\n(0 only when both went through)", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};

static int
cmd_sync(struct cli_ctx *ctx, const struct pa_args *a)
{
	struct sync_session ss;
	int once = a->val[S_ONCE] != NULL, rc;

	memset(&ss, 0, sizeof(ss));
	if ((rc = hqc_check_url(ctx->cfg->hq.url)) != PA_OK)
		return rc;
	hal_signals_install();
	if ((rc = session_open(ctx, !once, &ss)) != PA_OK)
		goto out;
	if (once) {
		rc = syncer_drain(ss.s);
		/* The heartbeat is part of the run: with an empty outbox it is
		 * the only request, so it is what proves the settings work. */
		if (rc == PA_OK)
			rc = syncer_heartbeat(ss.s);
		if (rc == PA_ECANCELLED)
			rc = PA_OK; /* asked to stop: what was sent is acked */
	} else {
		fprintf(stderr, "posagent: syncing with HQ %s (heartbeat every %ld "
		    "s); SIGTERM stops\n", ctx->cfg->hq.url, ctx->cfg->hq.heartbeat_s);
		rc = syncer_run(ss.s);
	}
	{
		/* The summary must not replace the failure's message. */
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", pa_err_msg(rc));
		print_summary(ctx, &ss, rc);
		if (rc != PA_OK)
			pa_err_set(rc, "%s", msg);
	}
out:
	session_close(&ss);
	return rc;
}

/* A member's text for people; timestamps in local time. Each call has its
 * own slot so several can be passed to one printf. */
static const char *
str(json_t *o, const char *k)
{
	static char slots[4][32];
	static int next;
	const char *v = json_string_value(json_object_get(o, k));

	next = (next + 1) % 4;
	return v ? cli_human_time(v, slots[next]) : "-";
}

static void
print_status(struct cli_ctx *ctx, json_t *doc)
{
	json_t *ob = json_object_get(doc, "outbox"), *jobs =
	    json_object_get(doc, "jobs"), *kkt = json_object_get(doc, "kkt"),
	    *sy = json_object_get(doc, "sync"), *d;
	const char *hq = str(doc, "hq_state");
	double gib = (double)json_integer_value(json_object_get(doc,
	    "disk_free_bytes")) / (1024.0 * 1024 * 1024);
	size_t i;

	printf("%-11s %s (posagent %s)\n", "agent", str(doc, "agent_id"),
	    str(doc, "version"));
	printf("%-11s %s%s%s", "hq", ctx->color ? (strcmp(hq, "online") == 0 ?
	    "\033[32m" : "\033[31m") : "", hq, ctx->color ? "\033[0m" : "");
	if (json_is_true(json_object_get(sy, "enabled")))
		printf(" since %s (%s)\n", str(sy, "hq_state_since"),
		    str(sy, "hq_url"));
	else
		printf(" (sync disabled: [hq] url is empty)\n");
	printf("%-11s %s\n", "last ok", str(sy, "last_ok"));
	if (json_is_string(json_object_get(sy, "last_error")))
		printf("%-11s %s: %s\n", "last error", str(sy, "last_error_at"),
		    str(sy, "last_error"));
	printf("%-11s %s\n", "heartbeat", str(sy, "last_heartbeat"));
	printf("%-11s %lld event%s", "outbox",
	    (long long)json_integer_value(json_object_get(ob, "depth")),
	    json_integer_value(json_object_get(ob, "depth")) == 1 ? "" : "s");
	if (json_is_string(json_object_get(ob, "oldest_ts")))
		printf(", oldest %s", str(ob, "oldest_ts"));
	printf(", %lld log events dropped over the cap, %lld dead-lettered\n",
	    (long long)json_integer_value(json_object_get(ob,
	    "dropped_log_events")),
	    (long long)json_integer_value(json_object_get(ob, "dead_letters")));
	json_array_foreach(json_object_get(sy, "dead_letters_recent"), i, d)
		printf("%-11s seq %lld %s at %s: %s\n", "dead letter",
		    (long long)json_integer_value(json_object_get(d, "seq")),
		    str(d, "type"), str(d, "dead_at"), str(d, "reason"));
	if (json_is_object(jobs)) {
		printf("%-11s %lld running (%.0f%%), last done %s, last failed %s\n",
		    "jobs",
		    (long long)json_integer_value(json_object_get(jobs, "running")),
		    json_number_value(json_object_get(jobs, "progress_percent")),
		    str(json_object_get(jobs, "last_done"), "name"),
		    str(json_object_get(jobs, "last_failed"), "name"));
	}
	if (json_is_object(kkt))
		printf("%-11s %s: %s\n", "kkt", str(kkt, "backend"),
		    str(kkt, "reason"));
	if (json_is_object(d = json_object_get(kkt, "refusing")))
		printf("%-11s refusing imports since %s (%lld s, %lld refusal%s)\n",
		    "kkt gate", str(d, "since"),
		    (long long)json_integer_value(json_object_get(d, "refusing_s")),
		    (long long)json_integer_value(json_object_get(d, "refusals")),
		    json_integer_value(json_object_get(d, "refusals")) == 1 ? "" :
		    "s");
	printf("%-11s %.1f GiB\n", "disk free", gib);
	printf("%-11s %lld s%s\n", "uptime",
	    (long long)json_integer_value(json_object_get(doc, "uptime_s")),
	    json_is_string(json_object_get(sy, "loop_started")) ? "" :
	    " (no sync loop running)");
	json_array_foreach(json_object_get(doc, "attention"), i, d)
		printf("%s%-11s%s %s: %s\n", ctx->color ? "\033[31m" : "",
		    "ATTENTION", ctx->color ? "\033[0m" : "", str(d, "reason"),
		    str(d, "message"));
	if (json_array_size(json_object_get(doc, "attention")) == 0)
		printf("%-11s ok: nothing needs attention\n", "attention");
}

static int
cmd_status(struct cli_ctx *ctx, const struct pa_args *a)
{
	struct sync_session ss;
	json_t *doc = NULL;
	int rc;

	(void)a;
	if ((rc = session_open(ctx, 0, &ss)) != PA_OK)
		return rc;
	if ((rc = health_status(ctx->cfg, ss.a, &doc)) != PA_OK)
		goto out;
	/* Monitoring reads the exit status: 1 = a person is needed. */
	if (json_array_size(json_object_get(doc, "attention")) > 0)
		ctx->exit_status = 1;
	if (ctx->json) {
		cli_emit_json(doc);
		doc = NULL; /* transferred */
	} else {
		print_status(ctx, doc);
	}
out:
	json_decref(doc);
	session_close(&ss);
	return rc;
}

const struct cli_group cli_sync_group = {
	"sync", sync_help,
	(const struct cli_verb[]){
		{ NULL, NULL, 0, 0, sync_opts, cmd_sync, "send the outbox to HQ" },
		{ NULL, NULL, 0, 0, NULL, NULL, NULL } },
	1,
};

const struct cli_group cli_status_group = {
	"status", status_help,
	(const struct cli_verb[]){
		{ NULL, NULL, 0, 0, NULL, cmd_status, "the heartbeat document; "
		    "exits 1 when the agent needs attention" },
		{ NULL, NULL, 0, 0, NULL, NULL, NULL } },
	1,
};

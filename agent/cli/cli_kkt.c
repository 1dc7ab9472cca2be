/* cli_kkt — `posagent kkt status [--json]`: ask the KKT adapter the same
 * question every import asks (DESIGN §6) and show the answer. The return
 * code is the gate's own: main maps PA_EKKT_UNSYNCED to 75 and
 * PA_EKKT_UNREACHABLE to 69, so scripts can wait on the exit status. */
#include <stdio.h>
#include <string.h>

#include "agent/cli/cli_int.h"
#include "hal/pa_err.h"
#include "kkt/kkt.h"

#define C_GREEN  "\033[32m"
#define C_YELLOW "\033[33m"
#define C_RED    "\033[31m"
#define C_RESET  "\033[0m"

static const char kkt_help[] =
"Ask the local KKT adapter whether its offline receipt buffer has been\n"
"delivered to the OFD: the check every import passes before it may change\n"
"prices. Configured in [kkt]: backend (opticserp | atol | none), url,\n"
"timeout_ms (the whole check, default 2000), user and password_file (HTTP\n"
"Basic authentication, e.g. a protected ATOL web server).\n"
"\n"
"Not synced names each blocking reason with its numbers: receipts pending,\n"
"unresolved DLQ entries (resolve them in the adapter), receipts in a state\n"
"the adapter does not report (syncing?). failed is history: receipts that\n"
"ever failed, kept as failed after their DLQ entry is resolved; it never\n"
"blocks. See docs/kkt.md for what to do about each reason.\n"
"\n"
"--json prints one JSON object: backend, url, verdict (synced | not_synced\n"
"| unreachable | not_gated | config_error), reachable, synced, blocking\n"
"(array of the reasons), pending, failed, dlq_size, total_receipts,\n"
"synced_receipts, unreported, first_doc_number, first_doc_datetime,\n"
"network_status, reason, elapsed_ms (null where the backend does not\n"
"report a value).\n"
"\n"
"Exit status: 0 synced (or backend = none: not gated), 75 receipts not yet\n"
"at the OFD, 69 adapter unreachable, timed out or answering malformed\n"
"data, 78 configuration error (also: the adapter answered 401/403, it\n"
"wants [kkt] user and password_file, or refused them).\n";

static const char *
verdict(int rc, const struct kkt_status *st)
{
	if (rc == PA_OK)
		return st->backend == KKT_BACKEND_NONE ? "not_gated" : "synced";
	if (rc == PA_EKKT_UNSYNCED)
		return "not_synced";
	if (rc == PA_ECONFIG || rc == PA_EKKT_AUTH)
		return "config_error";
	return "unreachable";
}

static void
row(const char *k, const char *v)
{
	printf("%-10s %s\n", k, v);
}

static void
row_count(const char *k, long v)
{
	if (v >= 0)
		printf("%-10s %ld\n", k, v);
}

static void
print_human(const struct cli_ctx *ctx, const struct kkt_config *cfg, int rc,
    const struct kkt_status *st)
{
	const char *v = verdict(rc, st), *col = C_RED;
	char buf[160];
	size_t i;

	if (rc == PA_OK)
		col = C_GREEN;
	else if (rc == PA_EKKT_UNSYNCED)
		col = C_YELLOW;
	row("backend", kkt_backend_name(st->backend));
	row("url", st->backend == KKT_BACKEND_NONE || cfg->url[0] == '\0' ?
	    "-" : cfg->url);
	row("reachable", st->backend == KKT_BACKEND_NONE ? "-" :
	    st->reachable ? "yes" : "no");
	printf("%-10s %s", "verdict", ctx->color ? col : "");
	for (; *v; v++)
		putchar(*v == '_' ? ' ' : *v);
	printf("%s\n", ctx->color ? C_RESET : "");
	/* What blocks, one reason a line, before the raw numbers. */
	for (i = 0; kkt_blocker(st, i, buf, sizeof(buf)) != NULL; i++)
		printf("%-10s %s\n", i == 0 ? "blocking" : "", buf);
	row_count("pending", st->pending);
	row_count("dlq", st->dlq_size);
	row_count("unreported", st->unreported);
	if (st->failed >= 0) {
		snprintf(buf, sizeof(buf), "%ld (history: receipts that ever "
		    "failed; does not block)", st->failed);
		row("failed", buf);
	}
	if (st->total_receipts >= 0) {
		snprintf(buf, sizeof(buf), "%ld (%ld synced)", st->total_receipts,
		    st->synced_receipts);
		row("receipts", buf);
	}
	if (st->network_status[0])
		row("network", st->network_status);
	if (st->first_doc_number >= 0) {
		snprintf(buf, sizeof(buf), "№%ld%s%s", st->first_doc_number,
		    st->first_doc_datetime[0] ? " at " : "",
		    st->first_doc_datetime);
		row("first doc", buf);
	}
	row("reason", st->reason);
	printf("%-10s %ld ms\n", "elapsed", st->elapsed_ms);
}

/* The status document; a refusal also carries the error object main would
 * otherwise print, so stdout stays one JSON document. */
static int
print_json(struct cli_ctx *ctx, int rc, const struct kkt_status *st)
{
	const struct kkt_config *cfg = &ctx->cfg->kkt;
	json_t *j = kkt_status_json(st), *url;

	url = st->backend == KKT_BACKEND_NONE || cfg->url[0] == '\0' ?
	    json_null() : json_string(cfg->url);
	if (j == NULL ||
	    json_object_set_new(j, "verdict", json_string(verdict(rc, st))) ||
	    json_object_set_new(j, "url", url ? url : json_null()) ||
	    (rc != PA_OK && json_object_set_new(j, "error", json_pack(
	    "{s:i, s:s, s:O?}", "code", cli_exit_code(rc), "name",
	    pa_errname(rc), "message", json_object_get(j, "reason"))))) {
		json_decref(j);
		return pa_err_set(PA_ENOMEM, "out of memory building the KKT "
		    "status document");
	}
	cli_emit_json(j);
	ctx->json_done = 1;
	return PA_OK;
}

static int
kkt_status_cmd(struct cli_ctx *ctx, int json)
{
	struct kkt_status st;
	int rc, prc;

	rc = kkt_check(&ctx->cfg->kkt, &st);
	if (json)
		prc = print_json(ctx, rc, &st);
	else {
		print_human(ctx, &ctx->cfg->kkt, rc, &st);
		prc = PA_OK;
	}
	fflush(stdout);
	if (prc != PA_OK)
		return prc;
	/* kkt_check left its reason as the thread's message: main prints it
	 * to stderr for every refusal. */
	return rc;
}

static int
cmd_kkt_status(struct cli_ctx *ctx, const struct pa_args *a)
{
	(void)a;
	return kkt_status_cmd(ctx, ctx->json);
}

const struct cli_group cli_kkt_group = {
	"kkt", kkt_help,
	(const struct cli_verb[]){
		{ "status", NULL, 0, 0, NULL, cmd_kkt_status, "ask the KKT adapter "
		    "about its buffer" },
		{ NULL, NULL, 0, 0, NULL, NULL, NULL } },
	1,
};

/* posagent run */
#include <string.h>

#include "agent/cli/cli_int.h"
#include "agent/daemon/daemon.h"
#include "hal/pa_err.h"

enum { R_ONCE, R_OVERRIDE };
static const struct pa_opt run_opts[] = {
	[R_ONCE] = { "once", 0, NULL, "handle the files in the inbox now, then "
	    "exit (no HQ sync)", 0 },
	/* Parsed only to say why it is refused. */
	[R_OVERRIDE] = { "override-gate", 0, "REASON", NULL, PA_OPT_HIDDEN |
	    PA_OPT_OPTARG },
	{ NULL, 0, NULL, NULL, 0 }
};

static int
cmd_run(struct cli_ctx *ctx, const struct pa_args *a)
{
	struct daemon_opts o;

	/* An override is a person's decision at the terminal, recorded with
	 * their name (DESIGN §6): never the daemon's. */
	if (a->val[R_OVERRIDE])
		return pa_err_set(PA_EUSAGE, "run: the daemon never overrides the "
		    "KKT gate; a person at the terminal runs the waiting job with "
		    "posagent job run JOB --override-gate REASON");
	if (a->npos > 0)
		return pa_err_set(PA_EUSAGE, "run: unexpected argument '%s' (see "
		    "posagent run --help)", a->pos[0]);
	memset(&o, 0, sizeof(o));
	o.cfg = ctx->cfg;
	o.once = a->val[R_ONCE] != NULL;
	return daemon_run(&o);
}

const struct cli_group cli_run_group = {
	"run",
	"The daemon: watches the inbox ([agent] inbox, default DATA_DIR/inbox),\n"
	"imports each file whose name matches a profile's file_pattern once the\n"
	"KKT gate allows it, and moves it to DATA_DIR/archive, failed or rejected;\n"
	"sends the outbox and heartbeats to HQ. SIGTERM stops it cleanly.\n",
	(const struct cli_verb[]){
		/* Positional arguments are refused by cmd_run, after a refused
		 * --override-gate REASON has had its say. */
		{ NULL, NULL, 0, PA_OPT_MAXPOS, run_opts, cmd_run, "the daemon: "
		    "inbox, imports, sync" },
		{ NULL, NULL, 0, 0, NULL, NULL, NULL } },
	1,
};

/* posagent run */
#include <string.h>

#include "agent/cli/cli_int.h"
#include "agent/daemon/daemon.h"
#include "hal/pa_err.h"

static const char run_help[] =
"usage: posagent run [--once]\n"
"The daemon: watches the inbox ([agent] inbox, default DATA_DIR/inbox),\n"
"imports each file whose name matches a profile's file_pattern once the\n"
"KKT gate allows it, and moves it to DATA_DIR/archive, failed or rejected;\n"
"sends the outbox and heartbeats to HQ. SIGTERM stops it cleanly.\n"
"  --once   handle the files in the inbox now, then exit (no HQ sync)\n";

int
cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
	struct daemon_opts o;

	if (cli_wants_help(argc, argv))
		return cli_usage(run_help);
	memset(&o, 0, sizeof(o));
	o.cfg = ctx->cfg;
	if (argc == 2 && strcmp(argv[1], "--once") == 0)
		o.once = 1;
	else if (argc >= 2 && strcmp(argv[1], "--override-gate") == 0)
		/* An override is a person's decision at the terminal, recorded
		 * with their name (DESIGN §6): never the daemon's. */
		return pa_err_set(PA_EUSAGE, "run: the daemon never overrides the "
		    "KKT gate; a person at the terminal runs the waiting job with "
		    "posagent job run JOB --override-gate REASON");
	else if (argc != 1)
		return pa_err_set(PA_EUSAGE, "run: unexpected '%s' (see posagent run "
		    "--help)", argv[1]);
	return daemon_run(&o);
}

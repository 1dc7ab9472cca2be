#include "hq/hq_cli.h"

#include <string.h>

#include "hal/pa_err.h"

enum { X_HELP };

const struct pa_opt hq_serve_opts[] = {
	[HQ_O_LISTEN] = { "listen", 0, "ADDR:PORT", "address to listen on "
	    "([::1]:8443 for IPv6;\nport 0 picks a free one)", PA_OPT_REQUIRED },
	[HQ_O_DB] = { "db", 0, "SPEC", "SQLite file, or "
	    "postgresql://user@host/db", PA_OPT_REQUIRED },
	[HQ_O_CERT] = { "cert", 0, "FILE", "HQ's TLS certificate (PEM)", 0 },
	[HQ_O_KEY] = { "key", 0, "FILE", "its key (PEM, mode 600)", 0 },
	[HQ_O_CA] = { "client-ca", 0, "FILE", "CA that signs the stores' client "
	    "certificates", 0 },
	[HQ_O_ACCEPT] = { "accept-new-agents", 0, NULL, "register an unknown store "
	    "on first contact when\nits certificate (from --client-ca) names "
	    "it", 0 },
	[HQ_O_PROXY] = { "behind-proxy", 0, NULL, "plain HTTP on a loopback "
	    "address behind a TLS\nproxy (nginx) that verifies client "
	    "certificates\nand passes X-Client-Verify and X-Client-Cert;\nno "
	    "--cert/--key/--client-ca then", 0 },
	[HQ_O_THREADS] = { "threads", 0, "N", "HTTP threads, and as many store threads\n(default 4)", 0 },
	[HQ_O_BUSY] = { "busy-timeout-ms", 0, "N", "wait for a busy store this "
	    "long, then answer\n429 with Retry-After (default 2000)", 0 },
	[HQ_O_INFLIGHT] = { "max-inflight", 0, "N", "batches stored at once before "
	    "429 (default 16)", 0 },
	[HQ_O_OFFLINE] = { "offline-after", 0, "S", "heartbeat age that shows a "
	    "store offline\n(default 90)", 0 },
	[HQ_O_ACMD] = { "alert-cmd", 0, "CMD", "run CMD (sh -c) with a JSON alert "
	    "on stdin", 0 },
	[HQ_O_AOFF] = { "alert-offline-after", 0, "S", "alert when a store is "
	    "offline longer (900)", 0 },
	[HQ_O_AGATE] = { "alert-gate-after", 0, "S", "alert when a gate refuses "
	    "longer (3600)", 0 },
	[HQ_O_AINT] = { "alert-interval-ms", 0, "N", "how often alerts are checked "
	    "(10000)", 0 },
	[HQ_O_RJOB] = { "retain-job-days", 0, "N", "keep job snapshots N days "
	    "(365; 0 = forever)", 0 },
	[HQ_O_RLOG] = { "retain-log-days", 0, "N", "keep job log events N days "
	    "(90; 0 = forever)", 0 },
	[HQ_O_VERBOSE] = { "verbose", 'v', NULL, "debug lines (TLS and HTTP "
	    "details)", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};

static const struct pa_opt agent_opts[] = {
	[HQ_O_ADMIN_DB] = { "db", 0, "SPEC", "SQLite file, or "
	    "postgresql://user@host/db", PA_OPT_REQUIRED },
	[HQ_O_TOKEN] = { "token-file", 0, "FILE", "the store may also authenticate "
	    "with this bearer\ntoken (a new one is written when FILE does "
	    "not\nexist)", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};
static const struct pa_opt operator_opts[] = {
	[HQ_O_ADMIN_DB] = { "db", 0, "SPEC", "SQLite file, or "
	    "postgresql://user@host/db", PA_OPT_REQUIRED },
	{ NULL, 0, NULL, NULL, 0 }
};

static const struct pa_opt common_opts[] = {
	[X_HELP] = { "help", 'h', NULL, "this text", PA_OPT_HELP },
	{ NULL, 0, NULL, NULL, 0 }
};

static const struct pa_opt main_opts[] = {
	[HQ_O_VERSION] = { "version", 0, NULL, "print the version", 0 },
	[HQ_O_HELP] = { "help", 'h', NULL, "this text; COMMAND --help for a "
	    "command", PA_OPT_HELP },
	{ NULL, 0, NULL, NULL, 0 }
};

static const char ABOUT_SERVE[] =
    "Receive the stores' events and heartbeats, serve the read API and the\n"
    "dashboard over HTTPS (or plain HTTP on loopback with --behind-proxy).\n";

static const char ABOUT_AGENT[] =
    "Registers store ID (mTLS: certificate CN or DNS SAN = ID). With\n"
    "--token-file, the store may also authenticate with that bearer token:\n"
    "an existing file's token is used, otherwise a new token is written to\n"
    "FILE (mode 600) for the store's [hq] token_file. Running it again for\n"
    "ID keeps the registration (and sets the token).\n";

static const char ABOUT_OPERATOR[] =
    "Creates operator NAME (or gives it a new token: the old one stops\n"
    "working) and prints the token once. HQ keeps only its SHA-256.\n"
    "The dashboard asks for it; scripts send Authorization: Bearer TOKEN.\n";

struct hq_cmd {
	const char *name, *pos;      /* "agent add", "ID" */
	const struct pa_opt *opts;
	const char *about;
};

static const struct hq_cmd cmds[] = {
	{ "serve", NULL, hq_serve_opts, ABOUT_SERVE },
	{ "agent add", "ID", agent_opts, ABOUT_AGENT },
	{ "operator add", "NAME", operator_opts, ABOUT_OPERATOR },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

void
hq_cli_usage(FILE *f, int cmd)
{
	const struct hq_cmd *only = cmd < 0 ? NULL : &cmds[cmd];
	char lead[64];
	size_t i;

	if (only == NULL)
		pa_opt_synopsis(f, "usage: posagent-hq", NULL, main_opts,
		    "COMMAND [options]");
	for (i = 0; i < NCMDS; i++) {
		if (only != NULL && only != &cmds[i])
			continue;
		snprintf(lead, sizeof(lead), "%s posagent-hq %s", only ? "usage:" :
		    "      ", cmds[i].name);
		pa_opt_synopsis(f, lead, cmds[i].pos, cmds[i].opts, NULL);
	}
	for (i = 0; i < NCMDS; i++) {
		if (only != NULL && only != &cmds[i])
			continue;
		fprintf(f, "\n%s%s%s", only ? "" : cmds[i].name, only ? "" : ": ",
		    cmds[i].about);
		fprintf(f, "\n%s options:\n", cmds[i].name);
		pa_opt_list(f, cmds[i].opts);
	}
	fputs("\noptions:\n", f);
	pa_opt_list(f, only ? common_opts : main_opts);
}

int
hq_cli_parse(int cmd, int argc, char **argv, struct pa_args *a, int *help)
{
	const struct hq_cmd *c = &cmds[cmd];
	size_t i;
	int rc;

	if ((rc = pa_opt_parse("posagent-hq", c->name, c->opts, common_opts,
	    argc, argv, 0, a)) != PA_OK)
		return rc;
	if ((*help = a->xval[X_HELP] != NULL))
		return PA_OK;
	if (a->npos != (c->pos ? 1 : 0))
		return pa_err_set(PA_EUSAGE, "%s: %s (see posagent-hq %s --help)",
		    c->name, c->pos == NULL ? "takes no arguments" : c->pos[0] ==
		    'I' ? "expected exactly one store ID" : "expected exactly one "
		    "operator NAME", c->name);
	for (i = 0; c->opts[i].name != NULL; i++)
		if ((c->opts[i].flags & PA_OPT_REQUIRED) && a->val[i] == NULL)
			return pa_err_set(PA_EUSAGE, "--%s %s is required (see "
			    "posagent-hq %s --help)", c->opts[i].name,
			    c->opts[i].arg, c->name);
	return PA_OK;
}

int
hq_cli_main_parse(int argc, char **argv, struct pa_args *a)
{
	/* In order: global options come before the command. */
	return pa_opt_parse("posagent-hq", NULL, main_opts, NULL, argc, argv, 1,
	    a);
}

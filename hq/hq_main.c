/* posagent-hq — the headquarters end of DESIGN §7: receives events and
 * heartbeats from the stores' agents, keeps them (SQLite or PostgreSQL),
 * serves the read API and the fleet dashboard.
 *
 *   posagent-hq serve --listen ADDR:PORT --db FILE|postgresql://... \
 *       --cert F --key F --client-ca F [options]
 *   posagent-hq agent add ID --db ... [--token-file F]
 *   posagent-hq operator add NAME --db ...
 *
 * Exit codes follow sysexits(3) as posagent's do. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hal/pa_opt.h"
#include "hq/hq_auth.h"
#include "hq/hq_db.h"
#include "hq/hq_http.h"
#include "hq/hq_log.h"
#include "hq/hq_maint.h"
#include "hq/hq_store.h"

#ifndef PA_VERSION
#define PA_VERSION "0.0.0"
#endif

#define EX_OK_ 0
#define EX_USAGE_ 64
#define HQ_MAX_PEM (1024 * 1024)

/* The one place PA codes become exit codes (sysexits.h values). */
static int
exit_code(int rc)
{
	switch (rc) {
	case PA_OK: return 0;
	case PA_EUSAGE: case PA_EINVAL: return 64;
	case PA_EEXISTS: return 65;
	case PA_ENOTFOUND: return 66;
	case PA_EDB: case PA_ETIMEOUT: return 69;
	case PA_ENOMEM: case PA_EINTERNAL: return 70;
	case PA_EIO: return 74;
	case PA_EPERM: return 77;
	case PA_ECONFIG: return 78;
	default: return 70;
	}
}

static int
fail(int rc)
{
	fprintf(stderr, "posagent-hq: %s\n", pa_err_msg(rc));
	return exit_code(rc);
}

/* Each command's options: one table parses them (getopt_long, through
 * hal/pa_opt) and prints its synopsis and --help list (issue #11). */
enum { S_LISTEN, S_DB, S_CERT, S_KEY, S_CA, S_ACCEPT, S_PROXY, S_THREADS,
	S_BUSY, S_INFLIGHT, S_OFFLINE, S_ACMD, S_AOFF, S_AGATE, S_AINT, S_RJOB,
	S_RLOG, S_VERBOSE };
static const struct pa_opt serve_opts[] = {
	[S_LISTEN] = { "listen", 0, "ADDR:PORT", "address to listen on "
	    "([::1]:8443 for IPv6;\nport 0 picks a free one)", PA_OPT_REQUIRED },
	[S_DB] = { "db", 0, "SPEC", "SQLite file, or postgresql://user@host/db",
	    PA_OPT_REQUIRED },
	[S_CERT] = { "cert", 0, "FILE", "HQ's TLS certificate (PEM)", 0 },
	[S_KEY] = { "key", 0, "FILE", "its key (PEM, mode 600)", 0 },
	[S_CA] = { "client-ca", 0, "FILE", "CA that signs the stores' client "
	    "certificates", 0 },
	[S_ACCEPT] = { "accept-new-agents", 0, NULL, "register an unknown store "
	    "on first contact when\nits certificate (from --client-ca) names "
	    "it", 0 },
	[S_PROXY] = { "behind-proxy", 0, NULL, "plain HTTP on a loopback "
	    "address behind a TLS\nproxy (nginx) that verifies client "
	    "certificates\nand passes X-Client-Verify and X-Client-Cert;\nno "
	    "--cert/--key/--client-ca then", 0 },
	[S_THREADS] = { "threads", 0, "N", "worker threads (default 4)", 0 },
	[S_BUSY] = { "busy-timeout-ms", 0, "N", "wait for a busy store this "
	    "long, then answer\n429 with Retry-After (default 2000)", 0 },
	[S_INFLIGHT] = { "max-inflight", 0, "N", "batches stored at once before "
	    "429 (default 16)", 0 },
	[S_OFFLINE] = { "offline-after", 0, "S", "heartbeat age that shows a "
	    "store offline\n(default 90)", 0 },
	[S_ACMD] = { "alert-cmd", 0, "CMD", "run CMD (sh -c) with a JSON alert "
	    "on stdin", 0 },
	[S_AOFF] = { "alert-offline-after", 0, "S", "alert when a store is "
	    "offline longer (900)", 0 },
	[S_AGATE] = { "alert-gate-after", 0, "S", "alert when a gate refuses "
	    "longer (3600)", 0 },
	[S_AINT] = { "alert-interval-ms", 0, "N", "how often alerts are checked "
	    "(10000)", 0 },
	[S_RJOB] = { "retain-job-days", 0, "N", "keep job snapshots N days "
	    "(365; 0 = forever)", 0 },
	[S_RLOG] = { "retain-log-days", 0, "N", "keep job log events N days "
	    "(90; 0 = forever)", 0 },
	[S_VERBOSE] = { "verbose", 'v', NULL, "debug lines (TLS and HTTP "
	    "details)", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};

enum { A_DB, A_TOKEN };
static const struct pa_opt agent_opts[] = {
	[A_DB] = { "db", 0, "SPEC", "SQLite file, or postgresql://user@host/db",
	    PA_OPT_REQUIRED },
	[A_TOKEN] = { "token-file", 0, "FILE", "the store may also authenticate "
	    "with this bearer\ntoken (a new one is written when FILE does "
	    "not\nexist)", 0 },
	{ NULL, 0, NULL, NULL, 0 }
};
static const struct pa_opt operator_opts[] = {
	[A_DB] = { "db", 0, "SPEC", "SQLite file, or postgresql://user@host/db",
	    PA_OPT_REQUIRED },
	{ NULL, 0, NULL, NULL, 0 }
};

enum { X_HELP };
static const struct pa_opt common_opts[] = {
	[X_HELP] = { "help", 'h', NULL, "this text", PA_OPT_HELP },
	{ NULL, 0, NULL, NULL, 0 }
};

enum { M_VERSION, M_HELP };
static const struct pa_opt main_opts[] = {
	[M_VERSION] = { "version", 0, NULL, "print the version", 0 },
	[M_HELP] = { "help", 'h', NULL, "this text; COMMAND --help for a "
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
	{ "serve", NULL, serve_opts, ABOUT_SERVE },
	{ "agent add", "ID", agent_opts, ABOUT_AGENT },
	{ "operator add", "NAME", operator_opts, ABOUT_OPERATOR },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *f, const struct hq_cmd *only)
{
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

/* Parse a command's arguments (argv[0] is its last word); 1 in *help when
 * --help was asked for. */
static int
parse(const struct hq_cmd *c, int argc, char **argv, struct pa_args *a,
    int *help)
{
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

static int
int_arg(const char *opt, const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return pa_err_set(PA_EUSAGE, "%s %s: expected an integer from %ld to "
		    "%ld", opt, s, lo, hi);
	*out = (int)v;
	return PA_OK;
}

/* Whole small file (PEM) into a new NUL-terminated buffer. */
static int
read_small(const char *opt, const char *path, int secret, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd = -1, rc = PA_OK;

	*out = NULL;
	if (secret && (rc = hal_check_secret_file(path)) != PA_OK)
		return pa_err_wrap(rc == PA_ENOTFOUND ? PA_ECONFIG : rc, "%s: ", opt);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return pa_err_set(PA_ECONFIG, "%s %s: %s", opt, path, strerror(errno));
	if ((buf = pa_malloc(HQ_MAX_PEM + 1)) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf + len, HQ_MAX_PEM - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len == HQ_MAX_PEM || len == 0) {
		rc = pa_err_set(PA_ECONFIG, "%s %s: %s", opt, path, n < 0 ?
		    strerror(errno) : len ? "larger than 1 MiB" : "empty");
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	buf = NULL; /* transferred */
out:
	if (fd >= 0)
		close(fd);
	if (buf)
		explicit_bzero(buf, HQ_MAX_PEM + 1);
	pa_free(buf);
	return rc;
}

static int
open_db(const char *spec, hq_db **db)
{
	int rc;

	if (spec == NULL)
		return pa_err_set(PA_EUSAGE, "--db FILE|postgresql://... is required");
	if ((rc = hq_db_open(spec, 5000, db)) != PA_OK)
		return rc;
	if ((rc = hq_store_migrate(*db)) != PA_OK) {
		hq_db_close(*db);
		*db = NULL;
	}
	return rc;
}

/* --- serve --------------------------------------------------------------- */

struct serve_args {
	struct hq_server_opts s;
	struct hq_maint_opts m;
	const char *listen, *cert, *key, *ca;
	int verbose;
};

static int
parse_listen(const char *l, struct hq_server_opts *o, char *host, size_t cap)
{
	const char *colon = strrchr(l, ':');
	size_t hl;

	if (colon == NULL || colon == l)
		return pa_err_set(PA_EUSAGE, "--listen %s: expected ADDR:PORT", l);
	hl = (size_t)(colon - l);
	if (l[0] == '[' && hl >= 2 && l[hl - 1] == ']') {
		l++;
		hl -= 2;
	}
	if (hl >= cap)
		return pa_err_set(PA_EUSAGE, "--listen %s: address too long", l);
	memcpy(host, l, hl);
	host[hl] = '\0';
	o->addr = host;
	return int_arg("--listen port", colon + 1, 0, 65535, &o->port);
}

static int
serve_parse(int argc, char **argv, struct serve_args *a, int *help)
{
	const struct { int opt; long lo, hi; int *field; } nums[] = {
		{ S_THREADS, 1, 64, &a->s.threads },
		{ S_BUSY, 10, 600000, &a->s.busy_ms },
		{ S_INFLIGHT, 1, 10000, &a->s.max_inflight },
		{ S_OFFLINE, 1, 86400 * 30, &a->s.offline_after_s },
		{ S_AOFF, 1, 86400 * 30, &a->m.alert_offline_s },
		{ S_AGATE, 0, 86400 * 30, &a->m.alert_gate_s },
		{ S_AINT, 50, 3600000, &a->m.interval_ms },
		{ S_RJOB, 0, 36500, &a->m.job_days },
		{ S_RLOG, 0, 36500, &a->m.log_days },
	};
	struct pa_args p;
	const char *v;
	char name[48];
	size_t i;
	int rc;

	a->s.threads = 4;
	a->s.busy_ms = 2000;
	a->s.max_inflight = 16;
	a->s.offline_after_s = 90;
	a->m.alert_offline_s = 900;
	a->m.alert_gate_s = 3600;
	a->m.interval_ms = 10000;
	a->m.job_days = 365;
	a->m.log_days = 90;
	if ((rc = parse(&cmds[0], argc, argv, &p, help)) != PA_OK || *help)
		return rc;
	a->listen = p.val[S_LISTEN];
	a->s.db_spec = a->m.db_spec = p.val[S_DB];
	a->cert = p.val[S_CERT];
	a->key = p.val[S_KEY];
	a->ca = p.val[S_CA];
	a->s.accept_new = p.val[S_ACCEPT] != NULL;
	a->s.behind_proxy = p.val[S_PROXY] != NULL;
	a->m.alert_cmd = p.val[S_ACMD];
	a->verbose = p.val[S_VERBOSE] != NULL;
	for (i = 0; rc == PA_OK && i < sizeof(nums) / sizeof(nums[0]); i++)
		if ((v = p.val[nums[i].opt]) != NULL) {
			snprintf(name, sizeof(name), "--%s", serve_opts[nums[i].opt].name);
			rc = int_arg(name, v, nums[i].lo, nums[i].hi, nums[i].field);
		}
	if (rc == PA_OK && a->s.behind_proxy && (a->cert || a->key || a->ca))
		rc = pa_err_set(PA_EUSAGE, "--behind-proxy serves plain HTTP to "
		    "the proxy, which holds the certificates: drop --cert, --key "
		    "and --client-ca");
	if (rc == PA_OK && !a->s.behind_proxy && (!a->cert || !a->key ||
	    !a->ca))
		rc = pa_err_set(PA_EUSAGE, "serve needs --cert, --key and "
		    "--client-ca, or --behind-proxy (see posagent-hq serve --help)");
	a->m.busy_ms = a->s.busy_ms;
	a->m.offline_after_s = a->s.offline_after_s;
	return rc;
}

static int
cmd_serve(int argc, char **argv)
{
	struct serve_args a;
	hq_server *srv = NULL;
	hq_maint *mt = NULL;
	hq_db *db = NULL;
	char host[256];
	sigset_t set;
	int rc, help = 0, port = 0, sig = 0;

	memset(&a, 0, sizeof(a));
	if ((rc = serve_parse(argc, argv, &a, &help)) != PA_OK)
		return fail(rc);
	if (help) {
		usage(stdout, &cmds[0]);
		return 0;
	}
	hq_log_init(a.verbose);
	if ((rc = parse_listen(a.listen, &a.s, host, sizeof(host))) != PA_OK)
		goto out;
	if (!a.s.behind_proxy &&
	    ((rc = read_small("--cert", a.cert, 0, &a.s.cert_pem)) != PA_OK ||
	    (rc = read_small("--key", a.key, 1, &a.s.key_pem)) != PA_OK ||
	    (rc = read_small("--client-ca", a.ca, 0, &a.s.ca_pem)) != PA_OK))
		goto out;
	/* Schema first, once, before any worker touches the store. */
	if ((rc = open_db(a.s.db_spec, &db)) != PA_OK)
		goto out;
	hq_log(HQ_LOG_INFO, "store: %s", hq_db_kind(db));
	hq_db_close(db);
	db = NULL;
	/* Threads inherit this mask: only the main thread takes SIGTERM. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((rc = hq_server_start(&a.s, &srv, &port)) != PA_OK)
		goto out;
	if ((rc = hq_maint_start(&a.m, &mt)) != PA_OK)
		goto out;
	printf("posagent-hq: listening on %s://%s%s%s:%d\n", a.s.behind_proxy ?
	    "http" : "https", strchr(host, ':') ? "[" : "", host,
	    strchr(host, ':') ? "]" : "", port);
	fflush(stdout);
	hq_log(HQ_LOG_INFO, "posagent-hq %s serving on port %d%s", PA_VERSION, port,
	    a.s.accept_new ? " (new stores accepted on first contact)" : "");
	sigwait(&set, &sig);
	hq_log(HQ_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
out:
	hq_maint_stop(mt);
	hq_server_stop(srv);
	hq_db_close(db);
	if (a.s.key_pem)
		explicit_bzero(a.s.key_pem, strlen(a.s.key_pem));
	pa_free(a.s.cert_pem);
	pa_free(a.s.key_pem);
	pa_free(a.s.ca_pem);
	return rc == PA_OK ? 0 : fail(rc);
}

/* --- agent add / operator add ------------------------------------------- */

struct admin_args {
	const char *db, *token_file, *name;
	int help;
};

/* agent add ID / operator add NAME: argv[0] is "add". */
static int
admin_parse(int argc, char **argv, const struct hq_cmd *c,
    struct admin_args *a)
{
	struct pa_args p;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = parse(c, argc, argv, &p, &a->help)) != PA_OK || a->help)
		return rc;
	a->db = p.val[A_DB];
	a->token_file = c->opts == agent_opts ? p.val[A_TOKEN] : NULL;
	a->name = p.pos[0];
	return PA_OK;
}

static int
name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
		    s[i] == '.'))
			return 0;
	return i > 0 && i <= HQ_ID_MAX;
}

/* The store's token: the file's when it exists, else a new one written to
 * it (mode 600, never replacing a file). */
static int
agent_token(const char *path, char tok[HQ_TOKEN_MAX + 1])
{
	size_t len = 0, i;
	int rc, fd;

	rc = hal_read_secret(path, tok, HQ_TOKEN_MAX + 1, &len);
	if (rc == PA_OK) {
		while (len > 0 && (tok[len - 1] == '\n' || tok[len - 1] == '\r' ||
		    tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			tok[--len] = '\0';
		for (i = 0; i < len; i++)
			if (tok[i] <= ' ' || tok[i] > '~')
				break;
		if (len == 0 || i < len)
			return pa_err_set(PA_ECONFIG, "--token-file %s: the token must "
			    "be one line of visible ASCII", path);
		return PA_OK;
	}
	if (rc != PA_ENOTFOUND)
		return pa_err_wrap(rc, "--token-file: ");
	if ((rc = hq_auth_token_new(tok)) != PA_OK)
		return rc;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return pa_err_set(PA_EIO, "--token-file %s: %s", path, strerror(errno));
	len = strlen(tok);
	tok[len] = '\n';
	if (write(fd, tok, len + 1) != (ssize_t)(len + 1) || fsync(fd) != 0) {
		rc = pa_err_set(PA_EIO, "--token-file %s: %s", path, strerror(errno));
		unlink(path);
	}
	tok[len] = '\0';
	close(fd);
	if (rc == PA_OK)
		printf("new token written to %s (copy it to the store's [hq] "
		    "token_file, mode 600)\n", path);
	return rc;
}

static int
cmd_agent(int argc, char **argv)
{
	struct admin_args a;
	char tok[HQ_TOKEN_MAX + 1], hash[65];
	hq_db *db = NULL;
	int rc;

	tok[0] = '\0';
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout, &cmds[1]);
		return argc < 2 ? EX_USAGE_ : 0;
	}
	if (strcmp(argv[1], "add") != 0)
		return fail(pa_err_set(PA_EUSAGE, "agent %s: unknown (agent add ID)",
		    argv[1]));
	if ((rc = admin_parse(argc - 1, argv + 1, &cmds[1], &a)) != PA_OK)
		return fail(rc);
	if (a.help) {
		usage(stdout, &cmds[1]);
		return 0;
	}
	if (!name_ok(a.name))
		return fail(pa_err_set(PA_EUSAGE, "store ID '%s': letters, digits, "
		    "'-', '_', '.' (as the agent's [agent] id)", a.name));
	if ((rc = open_db(a.db, &db)) != PA_OK)
		goto out;
	if (a.token_file && ((rc = agent_token(a.token_file, tok)) != PA_OK ||
	    (rc = hq_auth_hash(tok, hash)) != PA_OK))
		goto out;
	if ((rc = hq_store_agent_add(db, a.name, a.token_file ? hash : NULL, 0,
	    hal_sys.now_ms())) != PA_OK)
		goto out;
	printf("agent %s registered%s\n", a.name, a.token_file ?
	    " (client certificate or bearer token)" : " (client certificate)");
out:
	explicit_bzero(tok, sizeof(tok));
	hq_db_close(db);
	return rc == PA_OK ? 0 : fail(rc);
}

static int
cmd_operator(int argc, char **argv)
{
	struct admin_args a;
	char tok[64], hash[65];
	hq_db *db = NULL;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout, &cmds[2]);
		return argc < 2 ? EX_USAGE_ : 0;
	}
	if (strcmp(argv[1], "add") != 0)
		return fail(pa_err_set(PA_EUSAGE, "operator %s: unknown (operator "
		    "add NAME)", argv[1]));
	if ((rc = admin_parse(argc - 1, argv + 1, &cmds[2], &a)) != PA_OK)
		return fail(rc);
	if (a.help) {
		usage(stdout, &cmds[2]);
		return 0;
	}
	if (!name_ok(a.name))
		return fail(pa_err_set(PA_EUSAGE, "operator NAME '%s': letters, "
		    "digits, '-', '_', '.'", a.name));
	if ((rc = open_db(a.db, &db)) != PA_OK ||
	    (rc = hq_auth_token_new(tok)) != PA_OK ||
	    (rc = hq_auth_hash(tok, hash)) != PA_OK ||
	    (rc = hq_store_operator_add(db, a.name, hash, hal_sys.now_ms())) !=
	    PA_OK)
		goto out;
	/* The only time the token exists in the clear at HQ. */
	printf("%s\n", tok);
out:
	explicit_bzero(tok, sizeof(tok));
	hq_db_close(db);
	return rc == PA_OK ? 0 : fail(rc);
}

int
main(int argc, char **argv)
{
	struct pa_args a;
	const char *cmd;
	int rc;

	/* Global options come before the command (in order). */
	if ((rc = pa_opt_parse("posagent-hq", NULL, main_opts, NULL, argc, argv,
	    1, &a)) != PA_OK)
		return fail(rc);
	if (a.val[M_HELP]) {
		usage(stdout, NULL);
		return EX_OK_;
	}
	if (a.val[M_VERSION]) {
		printf("posagent-hq %s\n", PA_VERSION);
		return EX_OK_;
	}
	if (a.next >= argc) {
		usage(stderr, NULL);
		return EX_USAGE_;
	}
	argc -= a.next;
	argv += a.next;
	cmd = argv[0];
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc, argv);
	if (strcmp(cmd, "agent") == 0)
		return cmd_agent(argc, argv);
	if (strcmp(cmd, "operator") == 0)
		return cmd_operator(argc, argv);
	fprintf(stderr, "posagent-hq: unknown command '%s' (see posagent-hq "
	    "--help)\n", cmd);
	return EX_USAGE_;
}

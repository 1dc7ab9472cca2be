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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
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

static const char USAGE[] =
    "usage: posagent-hq COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  serve           receive the stores' events and heartbeats, serve the\n"
    "                  read API and the dashboard (HTTPS)\n"
    "  agent add ID    register a store (mTLS: certificate CN or DNS SAN = ID;\n"
    "                  or a bearer token with --token-file)\n"
    "  operator add NAME   create an operator and print its token once\n"
    "\n"
    "Every command takes --db FILE|postgresql://... and --help.\n"
    "  --version       print the version\n";

static const char USAGE_SERVE[] =
    "usage: posagent-hq serve --listen ADDR:PORT --db FILE|postgresql://...\n"
    "           --cert FILE --key FILE --client-ca FILE [options]\n"
    "       posagent-hq serve --listen 127.0.0.1:PORT --db ... --behind-proxy\n"
    "\n"
    "  --listen ADDR:PORT       address to listen on ([::1]:8443 for IPv6;\n"
    "                           port 0 picks a free one)\n"
    "  --db SPEC                SQLite file, or postgresql://user@host/db\n"
    "  --cert, --key FILE       HQ's TLS certificate and key (PEM; key mode 600)\n"
    "  --client-ca FILE         CA that signs the stores' client certificates\n"
    "  --accept-new-agents      register an unknown store on first contact when\n"
    "                           its certificate (from --client-ca) names it\n"
    "  --behind-proxy           plain HTTP on a loopback address behind a TLS\n"
    "                           proxy (nginx) that verifies client certificates\n"
    "                           and passes X-Client-Verify and X-Client-Cert;\n"
    "                           no --cert/--key/--client-ca then\n"
    "  --threads N              worker threads (default 4)\n"
    "  --busy-timeout-ms N      wait for a busy store this long, then answer\n"
    "                           429 with Retry-After (default 2000)\n"
    "  --max-inflight N         batches stored at once before 429 (default 16)\n"
    "  --offline-after S        heartbeat age that shows a store offline\n"
    "                           (default 90)\n"
    "  --alert-cmd CMD          run CMD (sh -c) with a JSON alert on stdin\n"
    "  --alert-offline-after S  alert when a store is offline longer (900)\n"
    "  --alert-gate-after S     alert when a gate refuses longer (3600)\n"
    "  --alert-interval-ms N    how often alerts are checked (10000)\n"
    "  --retain-job-days N      keep job snapshots N days (365; 0 = forever)\n"
    "  --retain-log-days N      keep job log events N days (90; 0 = forever)\n"
    "  -v, --verbose            debug lines (TLS and HTTP details)\n"
    "  --help\n";

static const char USAGE_AGENT[] =
    "usage: posagent-hq agent add ID --db FILE|postgresql://... [--token-file F]\n"
    "\n"
    "Registers store ID. With --token-file, the store may also authenticate\n"
    "with that bearer token: an existing file's token is used, otherwise a new\n"
    "token is written to F (mode 600) for the store's [hq] token_file.\n"
    "Running it again for ID keeps the registration (and sets the token).\n";

static const char USAGE_OPERATOR[] =
    "usage: posagent-hq operator add NAME --db FILE|postgresql://...\n"
    "\n"
    "Creates operator NAME (or gives it a new token: the old one stops\n"
    "working) and prints the token once. HQ keeps only its SHA-256.\n"
    "The dashboard asks for it; scripts send Authorization: Bearer TOKEN.\n";

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
	enum { O_LISTEN = 1000, O_DB, O_CERT, O_KEY, O_CA, O_ACCEPT, O_THREADS,
		O_BUSY, O_INFLIGHT, O_OFFLINE, O_ACMD, O_AOFF, O_AGATE, O_AINT,
		O_RJOB, O_RLOG, O_PROXY, O_HELP };
	static const struct option lo[] = {
		{ "listen", 1, NULL, O_LISTEN }, { "db", 1, NULL, O_DB },
		{ "cert", 1, NULL, O_CERT }, { "key", 1, NULL, O_KEY },
		{ "client-ca", 1, NULL, O_CA },
		{ "accept-new-agents", 0, NULL, O_ACCEPT },
		{ "behind-proxy", 0, NULL, O_PROXY },
		{ "threads", 1, NULL, O_THREADS },
		{ "busy-timeout-ms", 1, NULL, O_BUSY },
		{ "max-inflight", 1, NULL, O_INFLIGHT },
		{ "offline-after", 1, NULL, O_OFFLINE },
		{ "alert-cmd", 1, NULL, O_ACMD },
		{ "alert-offline-after", 1, NULL, O_AOFF },
		{ "alert-gate-after", 1, NULL, O_AGATE },
		{ "alert-interval-ms", 1, NULL, O_AINT },
		{ "retain-job-days", 1, NULL, O_RJOB },
		{ "retain-log-days", 1, NULL, O_RLOG },
		{ "verbose", 0, NULL, 'v' }, { "help", 0, NULL, O_HELP },
		{ NULL, 0, NULL, 0 } };
	int c, rc = PA_OK;

	a->s.threads = 4;
	a->s.busy_ms = 2000;
	a->s.max_inflight = 16;
	a->s.offline_after_s = 90;
	a->m.alert_offline_s = 900;
	a->m.alert_gate_s = 3600;
	a->m.interval_ms = 10000;
	a->m.job_days = 365;
	a->m.log_days = 90;
	optind = 1;
	opterr = 0;
	while (rc == PA_OK && (c = getopt_long(argc, argv, ":v", lo, NULL)) != -1) {
		switch (c) {
		case O_LISTEN: a->listen = optarg; break;
		case O_DB: a->s.db_spec = a->m.db_spec = optarg; break;
		case O_CERT: a->cert = optarg; break;
		case O_KEY: a->key = optarg; break;
		case O_CA: a->ca = optarg; break;
		case O_ACCEPT: a->s.accept_new = 1; break;
		case O_PROXY: a->s.behind_proxy = 1; break;
		case O_THREADS: rc = int_arg("--threads", optarg, 1, 64, &a->s.threads); break;
		case O_BUSY: rc = int_arg("--busy-timeout-ms", optarg, 10, 600000, &a->s.busy_ms); break;
		case O_INFLIGHT: rc = int_arg("--max-inflight", optarg, 1, 10000, &a->s.max_inflight); break;
		case O_OFFLINE: rc = int_arg("--offline-after", optarg, 1, 86400 * 30, &a->s.offline_after_s); break;
		case O_ACMD: a->m.alert_cmd = optarg; break;
		case O_AOFF: rc = int_arg("--alert-offline-after", optarg, 1, 86400 * 30, &a->m.alert_offline_s); break;
		case O_AGATE: rc = int_arg("--alert-gate-after", optarg, 0, 86400 * 30, &a->m.alert_gate_s); break;
		case O_AINT: rc = int_arg("--alert-interval-ms", optarg, 50, 3600000, &a->m.interval_ms); break;
		case O_RJOB: rc = int_arg("--retain-job-days", optarg, 0, 36500, &a->m.job_days); break;
		case O_RLOG: rc = int_arg("--retain-log-days", optarg, 0, 36500, &a->m.log_days); break;
		case 'v': a->verbose = 1; break;
		case O_HELP: *help = 1; return PA_OK;
		case ':': rc = pa_err_set(PA_EUSAGE, "%s needs a value", argv[optind - 1]); break;
		default: rc = pa_err_set(PA_EUSAGE, "unknown option %s (see --help)", argv[optind - 1]); break;
		}
	}
	if (rc == PA_OK && optind < argc)
		rc = pa_err_set(PA_EUSAGE, "unexpected argument '%s'", argv[optind]);
	if (rc == PA_OK && a->s.behind_proxy && (a->cert || a->key || a->ca))
		rc = pa_err_set(PA_EUSAGE, "--behind-proxy serves plain HTTP to "
		    "the proxy, which holds the certificates: drop --cert, --key "
		    "and --client-ca");
	if (rc == PA_OK && (!a->listen || !a->s.db_spec || (!a->s.behind_proxy &&
	    (!a->cert || !a->key || !a->ca))))
		rc = pa_err_set(PA_EUSAGE, "serve needs --listen, --db, --cert, "
		    "--key and --client-ca (see --help)");
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
		fputs(USAGE_SERVE, stdout);
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

static int
admin_parse(int argc, char **argv, int with_token, struct admin_args *a)
{
	static const struct option lo[] = {
		{ "db", 1, NULL, 'd' }, { "token-file", 1, NULL, 't' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (c) {
		case 'd': a->db = optarg; break;
		case 't':
			if (!with_token)
				return pa_err_set(PA_EUSAGE, "--token-file is for "
				    "agent add");
			a->token_file = optarg;
			break;
		case 'h': a->help = 1; return PA_OK;
		case ':': return pa_err_set(PA_EUSAGE, "%s needs a value",
		    argv[optind - 1]);
		default: return pa_err_set(PA_EUSAGE, "unknown option %s (see "
		    "--help)", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return pa_err_set(PA_EUSAGE, "expected exactly one %s (see --help)",
		    with_token ? "store ID" : "operator NAME");
	a->name = argv[optind];
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
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(USAGE_AGENT, argc < 2 ? stderr : stdout);
		return argc < 2 ? EX_USAGE_ : 0;
	}
	if (strcmp(argv[1], "add") != 0)
		return fail(pa_err_set(PA_EUSAGE, "agent %s: unknown (agent add ID)",
		    argv[1]));
	if ((rc = admin_parse(argc - 1, argv + 1, 1, &a)) != PA_OK)
		return fail(rc);
	if (a.help) {
		fputs(USAGE_AGENT, stdout);
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

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fputs(USAGE_OPERATOR, argc < 2 ? stderr : stdout);
		return argc < 2 ? EX_USAGE_ : 0;
	}
	if (strcmp(argv[1], "add") != 0)
		return fail(pa_err_set(PA_EUSAGE, "operator %s: unknown (operator "
		    "add NAME)", argv[1]));
	if ((rc = admin_parse(argc - 1, argv + 1, 0, &a)) != PA_OK)
		return fail(rc);
	if (a.help) {
		fputs(USAGE_OPERATOR, stdout);
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
	if (argc < 2) {
		fputs(USAGE, stderr);
		return EX_USAGE_;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(USAGE, stdout);
		return EX_OK_;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("posagent-hq %s\n", PA_VERSION);
		return EX_OK_;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "agent") == 0)
		return cmd_agent(argc - 1, argv + 1);
	if (strcmp(argv[1], "operator") == 0)
		return cmd_operator(argc - 1, argv + 1);
	fprintf(stderr, "posagent-hq: unknown command '%s'\n\n%s", argv[1], USAGE);
	return EX_USAGE_;
}

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
#include "hq/hq_auth.h"
#include "hq/hq_cli.h"
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
		{ HQ_O_THREADS, 1, 64, &a->s.threads },
		{ HQ_O_BUSY, 10, 600000, &a->s.busy_ms },
		{ HQ_O_INFLIGHT, 1, 10000, &a->s.max_inflight },
		{ HQ_O_OFFLINE, 1, 86400 * 30, &a->s.offline_after_s },
		{ HQ_O_AOFF, 1, 86400 * 30, &a->m.alert_offline_s },
		{ HQ_O_AGATE, 0, 86400 * 30, &a->m.alert_gate_s },
		{ HQ_O_AINT, 50, 3600000, &a->m.interval_ms },
		{ HQ_O_RJOB, 0, 36500, &a->m.job_days },
		{ HQ_O_RLOG, 0, 36500, &a->m.log_days },
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
	if ((rc = hq_cli_parse(HQ_CMD_SERVE, argc, argv, &p, help)) != PA_OK ||
	    *help)
		return rc;
	a->listen = p.val[HQ_O_LISTEN];
	a->s.db_spec = a->m.db_spec = p.val[HQ_O_DB];
	a->cert = p.val[HQ_O_CERT];
	a->key = p.val[HQ_O_KEY];
	a->ca = p.val[HQ_O_CA];
	a->s.accept_new = p.val[HQ_O_ACCEPT] != NULL;
	a->s.behind_proxy = p.val[HQ_O_PROXY] != NULL;
	a->m.alert_cmd = p.val[HQ_O_ACMD];
	a->verbose = p.val[HQ_O_VERBOSE] != NULL;
	for (i = 0; rc == PA_OK && i < sizeof(nums) / sizeof(nums[0]); i++)
		if ((v = p.val[nums[i].opt]) != NULL) {
			snprintf(name, sizeof(name), "--%s", hq_serve_opts[nums[i].opt].name);
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
		hq_cli_usage(stdout, HQ_CMD_SERVE);
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
admin_parse(int argc, char **argv, int cmd, struct admin_args *a)
{
	struct pa_args p;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = hq_cli_parse(cmd, argc, argv, &p, &a->help)) != PA_OK ||
	    a->help)
		return rc;
	a->db = p.val[HQ_O_ADMIN_DB];
	a->token_file = cmd == HQ_CMD_AGENT_ADD ? p.val[HQ_O_TOKEN] : NULL;
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
		hq_cli_usage(argc < 2 ? stderr : stdout, HQ_CMD_AGENT_ADD);
		return argc < 2 ? EX_USAGE_ : 0;
	}
	if (strcmp(argv[1], "add") != 0)
		return fail(pa_err_set(PA_EUSAGE, "agent %s: unknown (agent add ID)",
		    argv[1]));
	if ((rc = admin_parse(argc - 1, argv + 1, HQ_CMD_AGENT_ADD, &a)) !=
	    PA_OK)
		return fail(rc);
	if (a.help) {
		hq_cli_usage(stdout, HQ_CMD_AGENT_ADD);
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
		hq_cli_usage(argc < 2 ? stderr : stdout, HQ_CMD_OPERATOR_ADD);
		return argc < 2 ? EX_USAGE_ : 0;
	}
	if (strcmp(argv[1], "add") != 0)
		return fail(pa_err_set(PA_EUSAGE, "operator %s: unknown (operator "
		    "add NAME)", argv[1]));
	if ((rc = admin_parse(argc - 1, argv + 1, HQ_CMD_OPERATOR_ADD, &a)) !=
	    PA_OK)
		return fail(rc);
	if (a.help) {
		hq_cli_usage(stdout, HQ_CMD_OPERATOR_ADD);
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

	if ((rc = hq_cli_main_parse(argc, argv, &a)) != PA_OK)
		return fail(rc);
	if (a.val[HQ_O_HELP]) {
		hq_cli_usage(stdout, -1);
		return EX_OK_;
	}
	if (a.val[HQ_O_VERSION]) {
		printf("posagent-hq %s\n", PA_VERSION);
		return EX_OK_;
	}
	if (a.next >= argc) {
		hq_cli_usage(stderr, -1);
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

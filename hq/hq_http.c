/* hq_http — see hq_http.h. */
#include "hq/hq_http.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hq/hq_api.h"
#include "hq/hq_auth.h"
#include "hq/hq_db.h"
#include "hq/hq_guard.h"
#include "hq/hq_hb.h"
#include "hq/hq_ingest.h"
#include "hq/hq_log.h"
#include "hq/hq_pool.h"
#include "hq/hq_route.h"
#include "hq/hq_store.h"
#include "hq/hq_www.h"

struct hq_server {
	struct MHD_Daemon *d;
	hq_pool *pool;                  /* batches and reads */
	hq_hb *hb;                      /* heartbeats */
	struct hq_server_opts o;
	pthread_key_t dbkey;
	int key_ok;
	atomic_int inflight;
	char csp[1024];
};

/* --- per-thread store connections --------------------------------------- */

static void
db_free(void *p)
{
	hq_db_close(p);
}

/* The worker's connection, opened on first use; NULL (message set) when
 * the store cannot be reached: the request gets 503 and the next one tries
 * again. */
static hq_db *
worker_db(hq_server *s)
{
	hq_db *db = pthread_getspecific(s->dbkey);

	if (db)
		return db;
	if (hq_db_open(s->o.db_spec, s->o.busy_ms, &db) != PA_OK)
		return NULL;
	if (pthread_setspecific(s->dbkey, db) != 0) {
		hq_db_close(db);
		return NULL;
	}
	return db;
}

/* --- answers ------------------------------------------------------------- */

static enum MHD_Result
send_body(struct MHD_Connection *c, unsigned status, char *body, size_t len,
    const char *type, const char *retry_after, const char *csp)
{
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	if (retry_after)
		MHD_add_response_header(r, "Retry-After", retry_after);
	if (status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
	if (csp) {
		MHD_add_response_header(r, "Content-Security-Policy", csp);
		MHD_add_response_header(r, "X-Frame-Options", "DENY");
	}
	ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
send_json(struct MHD_Connection *c, unsigned status, json_t *doc,
    const char *retry_after)
{
	char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	json_decref(doc);
	if (s == NULL)
		return MHD_NO;
	return send_body(c, status, s, strlen(s), "application/json",
	    retry_after, NULL);
}

static enum MHD_Result
send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return send_json(c, status, json_pack("{s:s}", "error", msg),
	    status == 429 || status == 503 ? "1" : NULL);
}

/* --- handlers ------------------------------------------------------------ */

/* A request handed to the store workers: the connection is suspended
 * until its answer is ready, so the libmicrohttpd thread goes on serving
 * its other connections (heartbeats among them) meanwhile. */
struct work {
	hq_server *s;
	struct MHD_Connection *c;
	struct req *q;
	struct hq_api_query aq;
	unsigned status;
	char *body;                     /* the JSON answer (malloc'd) */
	int done;
};

static void
work_answer(struct work *w, unsigned status, json_t *doc)
{
	w->status = status;
	w->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	w->done = 1;
	/* Last: the connection's thread may run on_request at once. */
	MHD_resume_connection(w->c);
}

static void
work_events(hq_db *db, void *arg)
{
	struct work *w = arg;
	struct hq_ingest_result res;
	struct req *q = w->q;
	int rc = PA_EDB;

	memset(&res, 0, sizeof(res));
	if (db)
		rc = hq_ingest_events(db, q->id, q->buf ? q->buf : "", q->len,
		    hal_sys.now_ms(), &res);
	atomic_fetch_sub(&w->s->inflight, 1);
	if (rc != PA_OK) {
		res.status = 503;
		snprintf(res.error, sizeof(res.error), "%s", rc == PA_ENOMEM ?
		    "out of memory" : pa_err_msg(PA_EDB));
	}
	if (res.status != 200) {
		hq_log(res.status >= 500 || res.status == 429 ? HQ_LOG_WARNING :
		    HQ_LOG_NOTICE, "batch from agent %s: %d %s", q->id, res.status,
		    res.error);
		work_answer(w, (unsigned)res.status, json_pack("{s:s}", "error",
		    res.error));
		return;
	}
	work_answer(w, 200, json_pack("{s:I}", "ack", (json_int_t)res.ack));
}

static void
work_read(hq_db *db, void *arg)
{
	struct work *w = arg;
	json_t *doc = NULL;
	unsigned st;
	int rc = PA_OK;

	if (db == NULL) {
		work_answer(w, 503, json_pack("{s:s}", "error", pa_err_msg(PA_EDB)));
		return;
	}
	/* A heartbeat answered before this read is in what it shows. */
	if (w->q->route != R_JOB && (rc = hq_hb_flush(w->s->hb, db)) == PA_EIO)
		rc = hq_hb_flush(w->s->hb, db); /* a new PostgreSQL session */
	if (rc != PA_OK) {
		work_answer(w, 503, json_pack("{s:s}", "error", pa_err_msg(PA_EDB)));
		return;
	}
	st = hq_api_get(db, w->q->route == R_FLEET ? HQ_API_FLEET : w->q->route ==
	    R_AGENT ? HQ_API_AGENT : HQ_API_JOB, &w->aq, &doc);
	work_answer(w, st, doc);
}

/* Suspend c and queue fn; on a full or stopping pool answer at once. */
static enum MHD_Result
hand_over(hq_server *s, struct MHD_Connection *c, struct req *q,
    hq_pool_fn fn)
{
	struct work *w = q->work;
	int rc;

	w->s = s;
	w->c = c;
	w->q = q;
	MHD_suspend_connection(c);
	if ((rc = hq_pool_submit(s->pool, fn, w)) != PA_OK) {
		if (q->route == R_EVENTS)
			atomic_fetch_sub(&s->inflight, 1);
		work_answer(w, rc == PA_ETIMEOUT ? 429 : 503, json_pack("{s:s}",
		    "error", pa_err_msg(rc)));
	}
	return MHD_YES;
}

static enum MHD_Result
send_work(struct MHD_Connection *c, struct work *w)
{
	char *b = w->body;

	w->body = NULL; /* transferred */
	if (b == NULL)
		return MHD_NO;
	return send_body(c, w->status, b, strlen(b), "application/json",
	    w->status == 429 || w->status == 503 ? "1" : NULL, NULL);
}

static enum MHD_Result
serve_heartbeat(hq_server *s, struct MHD_Connection *c, struct req *q)
{
	struct hq_ingest_result res;
	struct hq_hb_row row;
	int rc;

	if ((rc = hq_ingest_heartbeat(q->id, q->buf ? q->buf : "", q->len,
	    hal_sys.now_ms(), &row, &res)) != PA_OK)
		return send_error(c, 503, "out of memory");
	if (res.status == 200 && (rc = hq_hb_put(s->hb, &row)) != PA_OK) {
		res.status = rc == PA_ETIMEOUT ? 429 : 503;
		snprintf(res.error, sizeof(res.error), "%s", pa_err_msg(rc));
	}
	if (res.status != 200) {
		hq_log(res.status >= 500 || res.status == 429 ? HQ_LOG_WARNING :
		    HQ_LOG_NOTICE, "heartbeat from agent %s: %d %s", q->id,
		    res.status, res.error);
		return send_error(c, (unsigned)res.status, res.error);
	}
	return send_json(c, 200, json_object(), NULL);
}

static enum MHD_Result
serve_ingest(hq_server *s, struct MHD_Connection *c, struct req *q)
{
	char why[640];
	unsigned st;
	hq_db *db;

	if (q->too_big)
		return send_error(c, 413, q->route == R_EVENTS ? "body too large: "
		    "send smaller batches" : "heartbeat too large");
	/* Credentials are a read: WAL readers and PostgreSQL reads never
	 * wait for the writer, so this stays on the HTTP thread. */
	if ((db = worker_db(s)) == NULL)
		return send_error(c, 503, pa_err_msg(PA_EDB));
	if ((st = hq_guard_agent(c, db, q->id,
	    s->o.behind_proxy, s->o.accept_new, why, sizeof(why))) != 0)
		return send_error(c, st, why);
	if (q->route == R_HEARTBEAT)
		return serve_heartbeat(s, c, q);
	/* Backpressure: beyond this many batches in the store at once, the
	 * agent waits (it honours Retry-After) instead of queueing here. */
	if (atomic_fetch_add(&s->inflight, 1) >= s->o.max_inflight) {
		atomic_fetch_sub(&s->inflight, 1);
		return send_error(c, 429, "HQ is busy: retry later");
	}
	return hand_over(s, c, q, work_events);
}

static enum MHD_Result
serve_read(hq_server *s, struct MHD_Connection *c, struct req *q)
{
	struct hq_api_query *aq = &((struct work *)q->work)->aq;
	char why[640];
	unsigned st;
	hq_db *db;

	if ((db = worker_db(s)) == NULL)
		return send_error(c, 503, pa_err_msg(PA_EDB));
	if ((st = hq_guard_operator(c, db, why, sizeof(why))) != 0)
		return send_error(c, st, why);
	/* The values stay valid until the request ends. */
	aq->id = q->id;
	aq->uuid = q->uuid;
	aq->state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
	aq->since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
	aq->until = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "until");
	aq->level = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "level");
	aq->page = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "page");
	aq->page_size = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "page_size");
	aq->offline_after_s = s->o.offline_after_s;
	return hand_over(s, c, q, work_read);
}

static enum MHD_Result
serve_index(hq_server *s, struct MHD_Connection *c)
{
	char *b = malloc(hq_www_index_len ? hq_www_index_len : 1);

	if (b == NULL)
		return MHD_NO;
	memcpy(b, hq_www_index, hq_www_index_len);
	return send_body(c, 200, b, hq_www_index_len, "text/html; charset=utf-8",
	    NULL, s->csp);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	hq_server *s = cls;
	struct req *q = *con_cls;
	const char *cl;
	char *nb;

	(void)version;
	if (q == NULL) {
		if ((q = pa_calloc(1, sizeof(*q))) == NULL)
			return MHD_NO;
		*con_cls = q;
		if ((q->work = pa_calloc(1, sizeof(struct work))) == NULL)
			return MHD_NO;
		q->route = hq_route(method, url, q);
		if (q->route == R_EVENTS || q->route == R_HEARTBEAT) {
			q->limit = q->route == R_EVENTS ? HQ_MAX_EVENTS_BODY :
			    HQ_MAX_HEARTBEAT_BODY;
			cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
			    "Content-Length");
			if (cl && strtoull(cl, NULL, 10) > q->limit)
				q->too_big = 1;
			return MHD_YES;
		}
	}
	if (*upload_size > 0) {
		if (!q->too_big && q->len + *upload_size > q->limit)
			q->too_big = 1;
		if (!q->too_big) {
			if (q->len + *upload_size + 1 > q->cap) {
				size_t ncap = q->cap ? q->cap : 16384;
				while (ncap < q->len + *upload_size + 1)
					ncap *= 2;
				if ((nb = pa_realloc(q->buf, ncap)) == NULL)
					return MHD_NO;
				q->buf = nb;
				q->cap = ncap;
			}
			memcpy(q->buf + q->len, upload, *upload_size);
			q->len += *upload_size;
			q->buf[q->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (((struct work *)q->work)->done)
		return send_work(c, q->work);
	switch (q->route) {
	case R_EVENTS:
	case R_HEARTBEAT:
		return serve_ingest(s, c, q);
	case R_INDEX:
		return serve_index(s, c);
	case R_FLEET:
	case R_AGENT:
	case R_JOB:
		return serve_read(s, c, q);
	case R_NONE:
		break;
	}
	return send_error(c, 404, "no such endpoint");
}

static void
on_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct req *q = *con_cls;

	(void)cls;
	(void)c;
	(void)why;
	if (q) {
		if (q->work)
			free(((struct work *)q->work)->body);
		pa_free(q->work);
		pa_free(q->buf);
		pa_free(q);
	}
	*con_cls = NULL;
}

/* libmicrohttpd's printf-style error callback. */
static void __attribute__((format(printf, 2, 0)))
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	hq_log(HQ_LOG_DEBUG, "http: %s", line);
}

/* --- start/stop ---------------------------------------------------------- */

static int
loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >>
		    24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->
		    sin6_addr);
	return 0;
}

int
hq_server_start(const struct hq_server_opts *o, hq_server **out, int *port_out)
{
	struct addrinfo hints, *ai = NULL;
	const union MHD_DaemonInfo *di;
	hq_server *s = NULL;
	char port[16];
	unsigned flags;
	int rc = PA_OK, g;

	*out = NULL;
	if ((s = pa_calloc(1, sizeof(*s))) == NULL)
		return PA_ENOMEM;
	s->o = *o;
	if (pthread_key_create(&s->dbkey, db_free) != 0) {
		rc = pa_err_set(PA_EINTERNAL, "pthread_key_create failed");
		goto out;
	}
	s->key_ok = 1;
	hq_www_csp(s->csp, sizeof(s->csp));
	if ((rc = hq_pool_start(o->db_spec, o->busy_ms, o->threads, &s->pool)) !=
	    PA_OK || (rc = hq_hb_start(o->db_spec, o->busy_ms, HQ_HB_FLUSH_MS,
	    &s->hb)) != PA_OK)
		goto out;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", o->port);
	if ((g = getaddrinfo(o->addr, port, &hints, &ai)) != 0) {
		rc = pa_err_set(PA_ECONFIG, "--listen %s:%d: %s", o->addr, o->port,
		    gai_strerror(g));
		goto out;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	    MHD_ALLOW_SUSPEND_RESUME;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (o->behind_proxy) {
		/* Whoever reaches a plain listener could claim any identity in
		 * the headers: only the proxy on this machine may. */
		if (!loopback(ai->ai_addr)) {
			rc = pa_err_set(PA_EUSAGE, "--behind-proxy listens on a "
			    "loopback address only (127.0.0.1, ::1), not %s", o->addr);
			goto out;
		}
		s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
		    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		    MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
		    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
		    MHD_OPTION_END);
	} else {
		s->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL,
		    on_request, s,
		    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		    MHD_OPTION_HTTPS_MEM_KEY, o->key_pem,
		    MHD_OPTION_HTTPS_MEM_CERT, o->cert_pem,
		    MHD_OPTION_HTTPS_MEM_TRUST, o->ca_pem,
		    MHD_OPTION_HTTPS_PRIORITIES,
		    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
		    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)4000,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
		    MHD_OPTION_NOTIFY_COMPLETED, on_done, s,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
		    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
		    MHD_OPTION_END);
	}
	if (s->d == NULL) {
		rc = pa_err_set(PA_EIO, "cannot listen on %s:%d (address in use, "
		    "or the certificate/key/client CA unusable; --verbose says "
		    "more)", o->addr, o->port);
		goto out;
	}
	di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	*port_out = di ? di->port : o->port;
	*out = s;
	s = NULL; /* transferred */
out:
	if (ai)
		freeaddrinfo(ai);
	hq_server_stop(s);
	return rc;
}

void
hq_server_stop(hq_server *s)
{
	if (s == NULL)
		return;
	/* The store workers finish what is queued (resuming those
	 * connections; later requests get 503), then libmicrohttpd stops
	 * accepting, finishes the requests in hand and joins its threads
	 * (whose store connections close with them), then the heartbeats
	 * in memory are written. */
	hq_pool_stop(s->pool);
	if (s->d)
		MHD_stop_daemon(s->d);
	hq_hb_stop(s->hb);
	if (s->key_ok)
		pthread_key_delete(s->dbkey);
	pa_free(s);
}

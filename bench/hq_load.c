/* hq_load — load generator for posagent-hq (make bench, never a test).
 *
 * Simulates a fleet of stores talking DESIGN §7 to one HQ over real HTTP(S)
 * with libcurl's multi interface, in one thread:
 *   - every store sends a heartbeat every --hb-interval seconds (spread
 *     evenly over the interval, as a real fleet's clocks are);
 *   - --conns stores at a time send bursts of job and log events in batches
 *     of --batch, as an import with many error rows does: the job's
 *     snapshot (running), its error rows, the snapshot again (done). Each
 *     store's next batch goes only after HQ acked the previous one, like the
 *     agent's outbox.
 * Reports, as one JSON object on stdout: events acked per second over the
 * measured window, heartbeat latency percentiles, answers other than 200,
 * and (with --pid) the CPU time and RSS of the server process.
 *
 * Latency is curl's CURLINFO_TOTAL_TIME_T for the heartbeat: from the
 * request's start to the last byte of the answer, including a TLS handshake
 * when the transfer had to open a connection (counted in hb_new_conns).
 *
 * usage: hq_load --url URL --tokens FILE [--cacert F] [--stores N]
 *                [--duration S] [--warmup S] [--batch N] [--conns N]
 *                [--hb-interval S] [--burst N] [--hb-fresh 0|1] [--pid PID]
 * --hb-fresh 1: every heartbeat opens its own connection (TLS handshake
 * included in its latency), as a store that does not keep one open.
 * FILE has one "STORE-ID TOKEN" line per store (the first --stores are used).
 *
 * The Makefile links it with the system's libcurl (OpenSSL), not the agent's
 * static libcurl over mbedTLS: a TLS handshake costs this client ~1 ms with
 * OpenSSL but ~70 ms with Debian's mbedTLS 2.28 (generic bignum X25519 and
 * ECDSA), which made the client, not HQ, the bottleneck. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define MAX_STORES     100000
#define MAX_ID         64
#define MAX_TOKEN      256
#define EVENT_MAX      1024      /* bytes of one event's JSON, bounded below */

struct store {
	char id[MAX_ID];
	char auth[MAX_TOKEN + 32];   /* "Authorization: Bearer ..." */
	int64_t next_seq;            /* first seq not yet acked */
	int busy;                    /* a batch in flight */
	double retry_at;             /* after a 429/5xx: not before */
	int burst_left;              /* batches left in the current burst */
	int burst_batch;             /* index of the batch in the burst */
	int job_no;
	char job_uuid[40];
	double hb_due;
	uint64_t rnd;
};

struct buf {
	char *p;
	size_t len, cap;
};

enum { X_EVENTS, X_HEARTBEAT };

struct xfer {
	CURL *h;
	struct curl_slist *hdr;
	struct buf body;
	struct buf resp;
	char retry_after[32];
	int kind;
	struct store *s;
	int64_t last_seq;
	int nev;
	double started;
};

struct stats {
	uint64_t events_acked, batches_ok, hb_ok, hb_new_conns;
	uint64_t http_429, http_other, net_err, ack_short;
	double *lat;                 /* heartbeat latencies, ms */
	size_t nlat, caplat;
};

struct opts {
	const char *url, *tokens, *cacert;
	int stores, batch, conns, burst, hb_fresh;
	double duration, warmup, hb_interval;
	long pid;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("hq_load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
		die("out of memory");
	return p;
}

static void
buf_reserve(struct buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->len + more + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL)
		die("out of memory");
	b->p = p;
	b->cap = cap;
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	buf_reserve(b, EVENT_MAX);
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		die("an event is longer than %d bytes", EVENT_MAX);
	b->len += (size_t)n;
}

static uint64_t
rnd_next(uint64_t *s)
{
	/* xorshift64*: reproducible per store, no libc state */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 2685821657736338717ULL;
}

static void
iso_now(char out[64])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(ts.tv_nsec / 1000000));
}

static size_t
on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;

	if (x->resp.len + sz * n > 65536)   /* HQ's answers are small */
		return 0;
	buf_add(&x->resp, p, sz * n);
	return sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * n, i = 12, j = 0;

	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		while (i < len && isspace((unsigned char)p[i]))
			i++;
		while (i < len && j + 1 < sizeof(x->retry_after) && !isspace((unsigned char)p[i]))
			x->retry_after[j++] = p[i++];
		x->retry_after[j] = '\0';
	}
	return len;
}

static void
job_snapshot(struct buf *b, const struct store *s, const char *state, int rows,
    int errors, const char *ts)
{
	buf_printf(b, "{\"name\":\"IMP/%05d\",\"uuid\":\"%s\",\"profile\":\"Essilor Price List\","
	    "\"file_name\":\"essilor_2026-12.xlsx\",\"file_sha256\":"
	    "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\","
	    "\"state\":\"%s\",\"start_date\":\"%s\",\"end_date\":%s%s%s,\"duration\":%s,"
	    "\"total_rows\":%d,\"processed_rows\":%d,\"created_count\":%d,\"updated_count\":%d,"
	    "\"unchanged_count\":0,\"skipped_count\":0,\"error_count\":%d,\"progress_percent\":%s,"
	    "\"error_message\":null,\"notes\":null}",
	    s->job_no, s->job_uuid, state, ts,
	    strcmp(state, "done") == 0 ? "\"" : "", strcmp(state, "done") == 0 ? ts : "null",
	    strcmp(state, "done") == 0 ? "\"" : "", strcmp(state, "done") == 0 ? "12.5" : "null",
	    rows, rows, rows - errors, 0, errors, strcmp(state, "done") == 0 ? "100.0" : "50.0");
}

/* One batch of the store's current burst: the burst's first batch opens
 * with the job's running snapshot, its last one closes with the done one,
 * the rest are error rows with their row_data. */
static void
build_batch(const struct opts *o, struct store *s, struct xfer *x)
{
	char ts[64];
	int64_t seq = s->next_seq;
	int i, rows = o->burst * o->batch;

	if (s->burst_left == 0) {
		uint64_t r1 = rnd_next(&s->rnd), r2 = rnd_next(&s->rnd);

		s->burst_left = o->burst;
		s->burst_batch = 0;
		s->job_no++;
		snprintf(s->job_uuid, sizeof(s->job_uuid), "%08x-%04x-4%03x-8%03x-%012" PRIx64,
		    (unsigned)(r1 >> 32), (unsigned)(r1 >> 16) & 0xffff, (unsigned)r1 & 0xfff,
		    (unsigned)(r2 >> 48) & 0xfff, (uint64_t)(r2 & 0xffffffffffffULL));
	}
	iso_now(ts);
	x->body.len = 0;
	buf_printf(&x->body, "{\"agent_id\":\"%s\",\"events\":[", s->id);
	for (i = 0; i < o->batch; i++, seq++) {
		int first = (s->burst_batch == 0 && i == 0);
		int last = (s->burst_left == 1 && i == o->batch - 1);
		int row = s->burst_batch * o->batch + i + 2;

		if (i)
			buf_add(&x->body, ",", 1);
		if (first || last) {
			buf_printf(&x->body, "{\"seq\":%" PRId64 ",\"type\":\"job\",\"ts\":\"%s\",\"data\":",
			    seq, ts);
			job_snapshot(&x->body, s, last ? "done" : "running", rows, rows - 2, ts);
			buf_add(&x->body, "}", 1);
			continue;
		}
		buf_printf(&x->body, "{\"seq\":%" PRId64 ",\"type\":\"log\",\"ts\":\"%s\",\"data\":"
		    "{\"job\":\"IMP/%05d\",\"job_uuid\":\"%s\",\"level\":\"error\",\"row_number\":%d,"
		    "\"message\":\"Price: '12 000 руб.' is not a number\",\"row_data\":{\"SKU\":"
		    "\"ESS-%06d\",\"Product Name\":\"Линза 1.6 Crizal Sapphire\",\"Price\":"
		    "\"12 000 руб.\",\"Stock\":\"4\",\"Barcode\":\"46%011d\"}}}",
		    seq, ts, s->job_no, s->job_uuid, row, row, row);
	}
	buf_add(&x->body, "]}", 2);
	x->last_seq = seq - 1;
	x->nev = o->batch;
}

static void
build_heartbeat(struct store *s, struct xfer *x, double uptime)
{
	char ts[64];

	iso_now(ts);
	x->body.len = 0;
	buf_printf(&x->body, "{\"agent_id\":\"%s\",\"version\":\"0.1.0\",\"ts\":\"%s\","
	    "\"uptime_s\":%ld,\"kkt\":{\"backend\":\"opticserp\",\"reachable\":true,"
	    "\"synced\":true,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"first_doc_number\":null,"
	    "\"first_doc_datetime\":null,\"network_status\":\"online\",\"reason\":null,"
	    "\"elapsed_ms\":3,\"verdict\":\"synced\"},\"outbox\":{\"depth\":%d,\"oldest_ts\":null,"
	    "\"dropped_log_events\":0,\"dead_letters\":0},\"jobs\":{\"running\":%d,"
	    "\"progress_percent\":0.0,\"last_done\":null,\"last_failed\":null},"
	    "\"disk_free_bytes\":12884901888,\"hq_state\":\"online\"}",
	    s->id, ts, (long)uptime, s->busy ? 500 : 0, s->busy ? 1 : 0);
}

static struct xfer *
xfer_start(CURLM *m, const struct opts *o, int kind, struct store *s, double t,
    double uptime)
{
	struct xfer *x = calloc(1, sizeof(*x));
	char url[512];

	if (x == NULL || (x->h = curl_easy_init()) == NULL)
		die("out of memory");
	x->kind = kind;
	x->s = s;
	x->started = t;
	if (kind == X_EVENTS)
		build_batch(o, s, x);
	else
		build_heartbeat(s, x, uptime);
	snprintf(url, sizeof(url), "%s/api/v1/agents/%s/%s", o->url, s->id,
	    kind == X_EVENTS ? "events" : "heartbeat");
	x->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	x->hdr = curl_slist_append(x->hdr, "Expect:");     /* no 100-continue round trip */
	x->hdr = curl_slist_append(x->hdr, s->auth);
	if (x->hdr == NULL)
		die("out of memory");
	curl_easy_setopt(x->h, CURLOPT_URL, url);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdr);
	curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body.p);
	curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body.len);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_PROXY, "");
	if (o->cacert)
		curl_easy_setopt(x->h, CURLOPT_CAINFO, o->cacert);
	if (kind == X_HEARTBEAT && o->hb_fresh) {
		/* a store that opens a new connection for every heartbeat */
		curl_easy_setopt(x->h, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(x->h, CURLOPT_FORBID_REUSE, 1L);
	}
	if (curl_multi_add_handle(m, x->h) != CURLM_OK)
		die("curl_multi_add_handle failed");
	if (kind == X_EVENTS)
		s->busy = 1;
	return x;
}

static void
xfer_free(CURLM *m, struct xfer *x)
{
	curl_multi_remove_handle(m, x->h);
	curl_easy_cleanup(x->h);
	curl_slist_free_all(x->hdr);
	free(x->body.p);
	free(x->resp.p);
	free(x);
}

/* The ack from {"ack": N}; -1 when the answer has none. */
static int64_t
parse_ack(const char *s)
{
	const char *p = s ? strstr(s, "\"ack\"") : NULL;
	char *end;
	long long v;

	if (p == NULL || (p = strchr(p + 5, ':')) == NULL)
		return -1;
	errno = 0;
	v = strtoll(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -1;
	return v;
}

static double
retry_delay(const char *ra)
{
	char *end;
	long v;

	if (ra[0] == '\0')
		return 1.0;
	errno = 0;
	v = strtol(ra, &end, 10);
	return (errno || end == ra || v < 0) ? 1.0 : v > 60 ? 60.0 : (double)v;
}

static void
lat_add(struct stats *st, double ms)
{
	if (st->nlat == st->caplat) {
		size_t cap = st->caplat ? st->caplat * 2 : 4096;
		double *p = realloc(st->lat, cap * sizeof(*p));

		if (p == NULL)
			die("out of memory");
		st->lat = p;
		st->caplat = cap;
	}
	st->lat[st->nlat++] = ms;
}

static void
xfer_done(const struct opts *o, struct xfer *x, CURLcode res, double t, int measuring,
    struct stats *st)
{
	long code = 0;
	struct store *s = x->s;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	if (x->kind == X_EVENTS)
		s->busy = 0;
	if (res != CURLE_OK) {
		if (measuring)
			st->net_err++;
		if (st->net_err < 5)
			fprintf(stderr, "hq_load: %s %s: %s\n", s->id,
			    x->kind == X_EVENTS ? "events" : "heartbeat", curl_easy_strerror(res));
		s->retry_at = t + 1.0;
		return;
	}
	if (code == 429 || code >= 500) {
		if (measuring) {
			if (code == 429)
				st->http_429++;
			else
				st->http_other++;
		}
		if (x->kind == X_EVENTS)
			s->retry_at = t + retry_delay(x->retry_after);
		return;
	}
	if (code != 200) {
		if (measuring)
			st->http_other++;
		die("%s %s: HQ answered %ld: %.300s", s->id,
		    x->kind == X_EVENTS ? "events" : "heartbeat", code, x->resp.p ? x->resp.p : "");
	}
	if (x->kind == X_HEARTBEAT) {
		curl_off_t us = 0;
		long nconn = 0;

		curl_easy_getinfo(x->h, CURLINFO_TOTAL_TIME_T, &us);
		curl_easy_getinfo(x->h, CURLINFO_NUM_CONNECTS, &nconn);
		if (measuring) {
			st->hb_ok++;
			st->hb_new_conns += nconn > 0;
			lat_add(st, (double)us / 1000.0);
		}
		return;
	}
	{
		int64_t ack = parse_ack(x->resp.p);
		int64_t first = x->last_seq - x->nev + 1;

		if (ack < first - 1 || ack > x->last_seq)
			die("%s: ack %" PRId64 " outside the batch %" PRId64 "..%" PRId64 ": %.200s",
			    s->id, ack, first, x->last_seq, x->resp.p ? x->resp.p : "");
		if (measuring) {
			st->events_acked += (uint64_t)(ack - first + 1);
			st->batches_ok++;
			if (ack != x->last_seq)
				st->ack_short++;
		}
		if (ack == x->last_seq) {
			s->burst_left--;
			s->burst_batch++;
		} else if (ack >= first) {
			/* partial: the rest is sent again as a new batch; keep it simple by
			 * restarting the burst's numbering from the acked point */
			s->burst_left = 0;
		}
		s->next_seq = ack + 1;
	}
	(void)o;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const struct stats *st, double p)
{
	size_t i;

	if (st->nlat == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(st->nlat - 1) + 0.5);
	return st->lat[i];
}

/* utime + stime of pid, in seconds; -1 when unreadable. */
static double
proc_cpu(long pid)
{
	char path[64], line[2048], *p, *end;
	unsigned long long ut, stt;
	FILE *f;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	/* fields after "comm)": state is field 3; utime 14, stime 15 */
	for (field = 3, p += 2; *p && field < 14; p++)
		if (*p == ' ')
			field++;
	errno = 0;
	ut = strtoull(p, &end, 10);
	if (errno || end == p || *end != ' ')
		return -1;
	p = end + 1;
	stt = strtoull(p, &end, 10);
	if (errno || end == p)
		return -1;
	return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

/* VmRSS or VmHWM of pid in KiB; -1 when unreadable. */
static long
proc_kib(long pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static int
load_tokens(const struct opts *o, struct store *stores)
{
	char line[MAX_ID + MAX_TOKEN + 8];
	FILE *f = fopen(o->tokens, "r");
	int n = 0;

	if (f == NULL)
		die("%s: %s", o->tokens, strerror(errno));
	while (n < o->stores && fgets(line, sizeof(line), f)) {
		char *id = strtok(line, " \t\r\n"), *tok = id ? strtok(NULL, " \t\r\n") : NULL;

		if (tok == NULL)
			continue;
		if (strlen(id) >= MAX_ID || strlen(tok) >= MAX_TOKEN)
			die("%s: an id or token is too long", o->tokens);
		memset(&stores[n], 0, sizeof(stores[n]));
		snprintf(stores[n].id, sizeof(stores[n].id), "%s", id);
		snprintf(stores[n].auth, sizeof(stores[n].auth), "Authorization: Bearer %s", tok);
		stores[n].next_seq = 1;
		stores[n].rnd = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)(n + 1) * 0xBF58476D1CE4E5B9ULL);
		n++;
	}
	fclose(f);
	return n;
}

static long
arg_long(const char *flag, const char *v, long lo, long hi)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < lo || n > hi)
		die("%s: expected an integer in %ld..%ld, got '%s'", flag, lo, hi, v);
	return n;
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->stores = 1000;
	o->batch = 500;
	o->conns = 8;
	o->burst = 4;
	o->duration = 60;
	o->warmup = 5;
	o->hb_interval = 30;
	for (i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			die("%s needs a value", a);
		if (strcmp(a, "--url") == 0)
			o->url = v;
		else if (strcmp(a, "--tokens") == 0)
			o->tokens = v;
		else if (strcmp(a, "--cacert") == 0)
			o->cacert = v;
		else if (strcmp(a, "--stores") == 0)
			o->stores = (int)arg_long(a, v, 1, MAX_STORES);
		else if (strcmp(a, "--batch") == 0)
			o->batch = (int)arg_long(a, v, 2, 100000);
		else if (strcmp(a, "--conns") == 0)
			o->conns = (int)arg_long(a, v, 0, 1024);
		else if (strcmp(a, "--burst") == 0)
			o->burst = (int)arg_long(a, v, 1, 1000);
		else if (strcmp(a, "--duration") == 0)
			o->duration = (double)arg_long(a, v, 1, 86400);
		else if (strcmp(a, "--warmup") == 0)
			o->warmup = (double)arg_long(a, v, 0, 3600);
		else if (strcmp(a, "--hb-interval") == 0)
			o->hb_interval = (double)arg_long(a, v, 1, 3600);
		else if (strcmp(a, "--hb-fresh") == 0)
			o->hb_fresh = (int)arg_long(a, v, 0, 1);
		else if (strcmp(a, "--pid") == 0)
			o->pid = arg_long(a, v, 1, 1L << 30);
		else
			die("unknown option %s (see the comment at the top of bench/hq_load.c)", a);
	}
	if (o->url == NULL || o->tokens == NULL)
		die("usage: hq_load --url URL --tokens FILE [--cacert F] [--stores N] "
		    "[--duration S] [--warmup S] [--batch N] [--conns N] [--hb-interval S] "
		    "[--burst N] [--pid PID]");
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct stats st;
	struct store *stores;
	CURLM *m = NULL;
	double t0, t_meas, t_end, cpu0 = -1, cpu1 = -1, t_cpu0 = 0, t_cpu1 = 0;
	long rss_max = -1;
	int n, inflight = 0, ev_inflight = 0, next_ev = 0, measuring = 0, i;
	double next_rss = 0;

	parse_args(argc, argv, &o);
	memset(&st, 0, sizeof(st));
	stores = xmalloc(sizeof(*stores) * (size_t)o.stores);
	if ((n = load_tokens(&o, stores)) < o.stores)
		die("%s has %d stores, --stores asks for %d", o.tokens, n, o.stores);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (m = curl_multi_init()) == NULL)
		die("curl init failed");
	/* Keep the connections of every parallel transfer for reuse, like a
	 * fleet whose stores keep theirs alive between requests. */
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)(o.conns * 2 + 64));
	t0 = now_s();
	for (i = 0; i < o.stores; i++)
		stores[i].hb_due = t0 + o.hb_interval * i / o.stores;
	t_meas = t0 + o.warmup;
	t_end = t_meas + o.duration;
	for (;;) {
		double t = now_s(), wait;
		int running = 0, msgs;
		CURLMsg *msg;

		if (!measuring && t >= t_meas) {
			measuring = 1;
			if (o.pid) {
				cpu0 = proc_cpu(o.pid);
				t_cpu0 = t;
			}
		}
		if (t >= t_end) {
			if (inflight == 0)
				break;
			if (cpu1 < 0 && o.pid) {
				cpu1 = proc_cpu(o.pid);
				t_cpu1 = t;
			}
		} else {
			/* heartbeats due: every store's, on its own schedule */
			for (i = 0; i < o.stores; i++)
				if (stores[i].hb_due <= t) {
					xfer_start(m, &o, X_HEARTBEAT, &stores[i], t, t - t0);
					stores[i].hb_due += o.hb_interval;
					inflight++;
				}
			/* event batches: --conns stores at a time, round robin */
			for (i = 0; ev_inflight < o.conns && i < o.stores; i++) {
				struct store *s = &stores[next_ev];

				next_ev = (next_ev + 1) % o.stores;
				if (s->busy || s->retry_at > t)
					continue;
				xfer_start(m, &o, X_EVENTS, s, t, t - t0);
				inflight++;
				ev_inflight++;
			}
		}
		if (o.pid && t >= next_rss) {
			long r = proc_kib(o.pid, "VmRSS");

			if (r > rss_max)
				rss_max = r;
			next_rss = t + 0.5;
		}
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &msgs)) != NULL) {
			struct xfer *x = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			t = now_s();
			xfer_done(&o, x, msg->data.result, t, measuring && t <= t_end, &st);
			if (x->kind == X_EVENTS)
				ev_inflight--;
			inflight--;
			xfer_free(m, x);
		}
		wait = 0.05;
		curl_multi_poll(m, NULL, 0, (int)(wait * 1000), NULL);
	}
	if (o.pid && cpu1 < 0) {
		cpu1 = proc_cpu(o.pid);
		t_cpu1 = now_s();
	}
	qsort(st.lat, st.nlat, sizeof(double), cmp_double);
	printf("{\"stores\":%d,\"batch\":%d,\"conns\":%d,\"duration_s\":%.1f,"
	    "\"events_acked\":%" PRIu64 ",\"events_per_s\":%.0f,\"batches_ok\":%" PRIu64 ","
	    "\"ack_short\":%" PRIu64 ",\"heartbeats_ok\":%" PRIu64 ",\"hb_new_conns\":%" PRIu64 ","
	    "\"hb_p50_ms\":%.2f,\"hb_p99_ms\":%.2f,\"hb_max_ms\":%.2f,"
	    "\"http_429\":%" PRIu64 ",\"http_other\":%" PRIu64 ",\"net_errors\":%" PRIu64,
	    o.stores, o.batch, o.conns, o.duration, st.events_acked,
	    (double)st.events_acked / o.duration, st.batches_ok, st.ack_short, st.hb_ok,
	    st.hb_new_conns, pct(&st, 50), pct(&st, 99), st.nlat ? st.lat[st.nlat - 1] : 0.0,
	    st.http_429, st.http_other, st.net_err);
	if (o.pid && cpu0 >= 0 && cpu1 >= 0 && t_cpu1 > t_cpu0)
		printf(",\"server_cpu_s\":%.2f,\"server_cpu_percent\":%.0f,\"server_rss_max_kib\":%ld,"
		    "\"server_rss_hwm_kib\":%ld", cpu1 - cpu0, 100.0 * (cpu1 - cpu0) / (t_cpu1 - t_cpu0),
		    rss_max, proc_kib(o.pid, "VmHWM"));
	printf("}\n");
	free(st.lat);
	free(stores);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	return 0;
}

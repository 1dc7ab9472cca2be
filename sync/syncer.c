/* syncer — the drain loop, heartbeat and persisted sync state (syncer.h). */
#include "sync/syncer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hal/hal.h"
#include "hal/hal_wait.h"
#include "hal/pa_err.h"
#include "hal/pa_log.h"
#include "hal/pa_mem.h"
#include "sync/hqc.h"
#include "sync/retry.h"
#include "sync/sync_int.h"

static int
buf_reserve(struct sync_buf *b, size_t more)
{
	size_t ncap;
	char *nb;

	if (b->len + more + 1 <= b->cap)
		return PA_OK;
	ncap = b->cap ? b->cap : 4096;
	while (ncap < b->len + more + 1)
		ncap *= 2;
	if ((nb = pa_realloc(b->p, ncap)) == NULL)
		return PA_ENOMEM;
	b->p = nb;
	b->cap = ncap;
	return PA_OK;
}

/* Append n bytes; the caller reserved the room. */
static void
buf_put(struct sync_buf *b, const char *p, size_t n)
{
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Append s as a JSON string. Reserves 6 bytes per input byte (\u00XX).
 * Only ASCII is expected here (agent id, type, ts — outbox_put() checks
 * them); a foreign row's other bytes become '?' so the request stays valid
 * JSON whatever the database holds. */
static int
buf_str(struct sync_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s);
	const unsigned char *p;
	int rc;

	if ((rc = buf_reserve(b, n * 6 + 2)) != PA_OK)
		return rc;
	b->p[b->len++] = '"';
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = (char)*p;
		} else if (*p < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
			memcpy(b->p + b->len, e, 6);
			b->len += 6;
		} else if (*p >= 0x80) {
			b->p[b->len++] = '?';
		} else {
			b->p[b->len++] = (char)*p;
		}
	}
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
	return PA_OK;
}

/* {"agent_id":..,"events":[{"seq":..,"type":..,"ts":..,"data":{..}},..]}
 * data is inserted as stored: outbox_put() wrote it with json_dumpb(). */
int
sync__events_body(struct sync_buf *b, const char *agent_id,
    const struct outbox_event *ev, size_t n)
{
	char num[48];
	size_t i;
	int rc, k;

	b->len = 0;
	if ((rc = buf_reserve(b, 32)) != PA_OK)
		return rc;
	buf_put(b, "{\"agent_id\":", 12);
	if ((rc = buf_str(b, agent_id)) != PA_OK)
		return rc;
	if ((rc = buf_reserve(b, 12)) != PA_OK)
		return rc;
	buf_put(b, ",\"events\":[", 11);
	for (i = 0; i < n; i++) {
		k = snprintf(num, sizeof(num), "%s{\"seq\":%lld,\"type\":",
		    i ? "," : "", ev[i].seq);
		if ((rc = buf_reserve(b, (size_t)k)) != PA_OK)
			return rc;
		buf_put(b, num, (size_t)k);
		if ((rc = buf_str(b, ev[i].type)) != PA_OK)
			return rc;
		if ((rc = buf_reserve(b, 6)) != PA_OK)
			return rc;
		buf_put(b, ",\"ts\":", 6);
		if ((rc = buf_str(b, ev[i].ts)) != PA_OK)
			return rc;
		if ((rc = buf_reserve(b, ev[i].data_len + 10)) != PA_OK)
			return rc;
		buf_put(b, ",\"data\":", 8);
		buf_put(b, ev[i].data, ev[i].data_len);
		buf_put(b, "}", 1);
	}
	if ((rc = buf_reserve(b, 2)) != PA_OK)
		return rc;
	buf_put(b, "]}", 2);
	return PA_OK;
}

int
syncer_open(const struct syncer_opts *o, outbox *ob, syncer **out)
{
	syncer *s = NULL;
	int rc;

	*out = NULL;
	if ((s = pa_calloc(1, sizeof(*s))) == NULL)
		return PA_ENOMEM;
	s->o = *o;
	s->ob = ob;
	s->lock_fd = -1;
	s->rng.s = o->seed ? o->seed : hal_seed64();
	s->started_ms = hal_sys.mono_ms();
	rt_breaker_init(&s->br, RT_BREAKER_THRESHOLD, RT_BREAKER_OPEN_MS);
	if ((rc = sync__state_load(s)) != PA_OK)
		goto out;
	s->online = s->hy.online;
	if (o->hq->outbox_max_events > 0 &&
	    (rc = outbox_set_cap(ob, o->hq->outbox_max_events)) != PA_OK)
		goto out;
	*out = s;
	s = NULL; /* transferred */
out:
	syncer_close(s);
	return rc;
}

void
syncer_close(syncer *s)
{
	if (s == NULL)
		return;
	hqc_close(s->hq);
	hal_unlock_file(s->lock_fd);
	outbox_batch_free(&s->batch);
	pa_free(s->body.p);
	pa_free(s);
}

const struct syncer_report *
syncer_report(const syncer *s)
{
	return &s->rep;
}

/* --- outcomes ------------------------------------------------------------ */

/* One line for the operator's log (stderr/journal), when a caller wants
 * them. Used for changes only: state flips, a new error, dead letters. */
static void __attribute__((format(printf, 3, 4)))
slog(syncer *s, int prio, const char *fmt, ...)
{
	char line[768];
	va_list ap;

	if (s->o.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->o.log(s->o.log_arg, prio, line);
}

static void
note_error(syncer *s, int rc)
{
	char now[32];

	/* A retry loop repeats its error (with varying detail, "after 3 ms"):
	 * log a kind of failure once until something else happens. */
	if (s->logged_rc != rc) {
		s->logged_rc = rc;
		slog(s, PA_LOG_WARNING, "HQ sync: %s", pa_err_msg(rc));
	}
	hal_now_iso(now);
	snprintf(s->st.last_error, sizeof(s->st.last_error), "%s",
	    pa_err_msg(rc));
	snprintf(s->st.last_error_code, sizeof(s->st.last_error_code), "%s",
	    pa_errname(rc));
	snprintf(s->st.last_error_at, sizeof(s->st.last_error_at), "%s", now);
}

static void
hyst(syncer *s, int ok)
{
	if (!rt_hyst_record(&s->hy, ok))
		return;
	hal_now_iso(s->st.since);
	slog(s, s->hy.online ? PA_LOG_NOTICE : PA_LOG_WARNING, "HQ %s is %s",
	    s->o.hq->url, s->hy.online ? "online" : "offline");
}

static void
outcome_ok(syncer *s)
{
	rt_breaker_record(&s->br, 1, hal_sys.mono_ms());
	hyst(s, 1);
	s->attempt = 0;
	s->next_send_ms = 0;
	s->st.auth_refused = 0;
	s->logged_rc = PA_OK;
	hal_now_iso(s->st.last_ok);
}

/* A transient failure: count it, back off (full jitter), maybe open the
 * breaker. */
static void
outcome_fail(syncer *s)
{
	int64_t now = hal_sys.mono_ms();

	rt_breaker_record(&s->br, 0, now);
	hyst(s, 0);
	s->next_send_ms = now + rt_backoff_ms(s->attempt, RT_BACKOFF_BASE_MS,
	    RT_BACKOFF_CAP_MS, &s->rng);
	if (s->attempt < 30)
		s->attempt++;
}

/* A copy of an answer's body fit for a message: printable, bounded. */
static void
excerpt(const struct hqc_resp *r, char *out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; r->body && i < r->body_len && n + 1 < cap; i++) {
		unsigned char ch = (unsigned char)r->body[i];
		out[n++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	out[n] = '\0';
}

int64_t
sync__wait_ms(syncer *s)
{
	int64_t now = hal_sys.mono_ms(), w = 0, bw;

	if (s->next_send_ms > now)
		w = s->next_send_ms - now;
	bw = rt_breaker_wait_ms(&s->br, now);
	return bw > w ? bw : w;
}

/* One sender per data directory: two would send the same events (harmless,
 * HQ deduplicates, but wasteful) and fight over the persisted state. Taken
 * at the first send so `posagent status` never needs it; flock dies with
 * the process, so a kill -9 leaves nothing stale. */
static int
take_lock(syncer *s)
{
	char path[4096];
	int rc;

	if (s->lock_fd >= 0)
		return PA_OK;
	if ((size_t)snprintf(path, sizeof(path), "%s/sync.lock", s->o.data_dir) >=
	    sizeof(path))
		return pa_err_set(PA_ECONFIG, "data_dir too long: %s", s->o.data_dir);
	rc = hal_lock_file(path, &s->lock_fd);
	if (rc == PA_ELOCKED)
		rc = pa_err_set(PA_ELOCKED, "another posagent process (the daemon, "
		    "or another `posagent sync`) is sending to HQ from %s right now",
		    s->o.data_dir);
	return rc;
}

/* Send s->body to ep and classify. For events, *ack gets the parsed ack
 * (a 2xx with a malformed body counts as a transient failure). */
static int
post(syncer *s, enum hqc_endpoint ep, struct hqc_resp *r, enum rt_verdict *v,
    long long *ack)
{
	char ex[160];
	int64_t wait;
	int rc, sent = 0;

	memset(r, 0, sizeof(*r));
	*v = RT_RETRY;
	if ((wait = sync__wait_ms(s)) > 0)
		goto not_now;
	if ((rc = take_lock(s)) != PA_OK)
		return rc;
	if (s->hq == NULL &&
	    (rc = hqc_open(s->o.hq, s->o.agent_id, &s->hq)) != PA_OK) {
		*v = RT_FATAL;
		goto fatal;
	}
	/* Asked last, right before sending: a half-open breaker admits one
	 * probe, and every path below records how it went. */
	if (!rt_breaker_allow(&s->br, hal_sys.mono_ms()))
		goto not_now; /* cannot happen: wait was 0, one request at a time */
	sent = 1;
	rc = hqc_post(s->hq, ep, s->body.p, s->body.len, hal_sys.now_ms(), r);
	if (rc == PA_ENOMEM)
		return rc;
	s->rep.connects = hqc_connects(s->hq);
	*v = rt_decide(r->transport, r->status);
	if (*v == RT_DONE && ack &&
	    (rc = hqc_parse_ack(r->body, r->body_len, ack)) != PA_OK) {
		pa_err_wrap(rc, "HQ %s: ", s->o.hq->url);
		rc = PA_EHQ_UNAVAILABLE;
		*v = RT_RETRY;
		goto transient;
	}
	excerpt(r, ex, sizeof(ex));
	switch (*v) {
	case RT_DONE:
	case RT_REJECTED:
		outcome_ok(s);
		return PA_OK;
	case RT_THROTTLED:
		/* HQ answered: it is up, just busy. Not a breaker failure. */
		rt_breaker_record(&s->br, 1, hal_sys.mono_ms());
		hyst(s, 1);
		s->next_send_ms = hal_sys.mono_ms() + (r->retry_after_ms >= 0 ?
		    r->retry_after_ms : rt_backoff_ms(s->attempt, RT_BACKOFF_BASE_MS,
		    RT_BACKOFF_CAP_MS, &s->rng));
		rc = pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s is busy (HTTP 429): "
		    "retry in %lld s%s; events kept", s->o.hq->url,
		    (long long)(sync__wait_ms(s) + 999) / 1000,
		    r->retry_after_ms >= 0 ? " as asked" : "");
		note_error(s, rc);
		return rc;
	case RT_AUTH:
		rc = pa_err_set(PA_EHQ_AUTH, "HQ %s refused our credentials (HTTP "
		    "%ld%s%s): sending stopped, events kept; check [hq] token_file "
		    "and, for mTLS, cert_file/key_file", s->o.hq->url, r->status,
		    ex[0] ? ": " : "", ex);
		s->st.auth_refused = 1;
		/* HQ is up: the breaker is about HQ's health, not our token. */
		rt_breaker_record(&s->br, 1, hal_sys.mono_ms());
		sent = 0;
		goto fatal;
	case RT_FATAL:
		/* A redirect: HQ moved, or something on the path answers for
		 * it. Wait the longest backoff, but never end the loop over
		 * what the network said (issue #9). */
		if (rc == PA_OK)
			rc = pa_err_set(PA_EPROTO, "HQ %s answered HTTP %ld (not an "
			    "answer to an API call): check [hq] url; retrying in "
			    "%d s", s->o.hq->url, r->status, RT_BACKOFF_CAP_MS / 1000);
		goto fatal;
	case RT_RETRY:
		if (rc == PA_OK)
			rc = pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s answered HTTP %ld%s%s",
			    s->o.hq->url, r->status, ex[0] ? ": " : "", ex);
		goto transient;
	}
transient:
	outcome_fail(s);
	note_error(s, rc);
	return rc;
fatal:
	/* A human must act (token, certificate, URL). Wait the longest backoff
	 * and reopen the client then, so a fixed token file is read again. */
	if (sent)
		rt_breaker_record(&s->br, 0, hal_sys.mono_ms());
	hyst(s, 0);
	s->next_send_ms = hal_sys.mono_ms() + RT_BACKOFF_CAP_MS;
	hqc_close(s->hq);
	s->hq = NULL;
	note_error(s, rc);
	return rc;
not_now:
	if (wait < 1000)
		wait = 1000;
	return pa_err_set(PA_EHQ_UNAVAILABLE, "HQ unavailable (%s; circuit %s): "
	    "next attempt in %lld s", s->st.last_error[0] ? s->st.last_error :
	    "backing off", rt_breaker_name(s->br.state),
	    (long long)(wait + 999) / 1000);
}

/* --- drain --------------------------------------------------------------- */

/* One event was refused with a final 4xx. Before blaming it, send an empty
 * batch: if HQ refuses that too, the fault is not in this event (wrong
 * agent, wrong URL) and dead-lettering would eat the whole queue. */
static int
isolate(syncer *s, const struct outbox_event *ev, const struct hqc_resp *r0)
{
	char reason[SYNCER_MAX_REASON], ex[200];
	struct hqc_resp r;
	enum rt_verdict v;
	long long ack;
	int rc;

	excerpt(r0, ex, sizeof(ex));
	snprintf(reason, sizeof(reason), "HQ refused it: HTTP %ld%s%s",
	    r0->status, ex[0] ? ": " : "", ex);
	if ((rc = sync__events_body(&s->body, s->o.agent_id, NULL, 0)) != PA_OK)
		return rc;
	s->rep.batches++;
	if ((rc = post(s, HQC_EVENTS, &r, &v, &ack)) != PA_OK)
		return rc;
	if (v == RT_REJECTED) {
		rc = pa_err_set(PA_EPROTO, "HQ %s refuses even an empty batch (HTTP "
		    "%ld): the fault is not in the events, none dead-lettered; "
		    "check [agent] id and [hq] url", s->o.hq->url, r.status);
		note_error(s, rc);
		return rc;
	}
	if ((rc = outbox_dead_letter(s->ob, ev->seq, reason)) != PA_OK)
		return rc;
	s->rep.dead_lettered++;
	s->rep.last_dead_seq = ev->seq;
	slog(s, PA_LOG_ERR, "HQ sync: dead-lettered %s event seq %lld (%s)",
	    ev->type, ev->seq, reason);
	return PA_OK;
}

/* Send ev[0..n). *all = 1 when every event of it left the queue. */
static int
send_range(syncer *s, const struct outbox_event *ev, size_t n, int *all)
{
	struct hqc_resp r;
	enum rt_verdict v;
	long long ack = -1, removed = 0;
	size_t h;
	int rc;

	*all = 0;
	if ((rc = sync__events_body(&s->body, s->o.agent_id, ev, n)) != PA_OK)
		return rc;
	s->rep.batches++;
	if ((rc = post(s, HQC_EVENTS, &r, &v, &ack)) != PA_OK)
		return rc;
	if (v == RT_REJECTED) {
		if (n == 1) {
			if ((rc = isolate(s, ev, &r)) == PA_OK)
				*all = 1;
			return rc;
		}
		/* Bisect: the halves go in order, so acks stay contiguous. */
		h = n / 2;
		if ((rc = send_range(s, ev, h, all)) != PA_OK || !*all)
			return rc;
		return send_range(s, ev + h, n - h, all);
	}
	if (ack > ev[n - 1].seq) {
		outcome_fail(s);
		rc = pa_err_set(PA_EPROTO, "HQ %s acknowledged seq %lld but the "
		    "batch ended at %lld: protocol error, nothing deleted",
		    s->o.hq->url, ack, ev[n - 1].seq);
		note_error(s, rc);
		return rc;
	}
	if (ack < ev[0].seq) {
		/* Nothing of ours stored: resending at once would spin. */
		outcome_fail(s);
		rc = pa_err_set(PA_EHQ_UNAVAILABLE, "HQ %s stored none of events "
		    "%lld..%lld (ack %lld); will resend", s->o.hq->url, ev[0].seq,
		    ev[n - 1].seq, ack);
		note_error(s, rc);
		return rc;
	}
	if ((rc = outbox_ack(s->ob, ack, &removed)) != PA_OK)
		return rc;
	s->rep.delivered += removed;
	*all = ack == ev[n - 1].seq;
	return PA_OK;
}

int
syncer_drain(syncer *s)
{
	struct outbox_stats st;
	size_t max = s->o.hq->batch_max > 0 ? (size_t)s->o.hq->batch_max : 500;
	int rc, all, prc;

	/* Events committed after this point wait for the next pass, so a
	 * --once run ends even while an import keeps producing. */
	if ((rc = outbox_stats(s->ob, &st)) != PA_OK)
		return rc;
	for (;;) {
		if (hal_stop_requested() || s->quit) {
			rc = pa_err_set(PA_ECANCELLED, "sync stopped by signal");
			break;
		}
		rc = outbox_peek(s->ob, 0, st.last_seq, max, SYNCER_MAX_BATCH_BYTES,
		    &s->batch);
		if (rc != PA_OK || s->batch.n == 0)
			break;
		if ((rc = send_range(s, s->batch.ev, s->batch.n, &all)) != PA_OK)
			break;
	}
	/* Keep the first failure's message: persisting must not replace it. */
	if ((prc = sync__state_save(s)) != PA_OK && rc == PA_OK)
		rc = prc;
	return rc;
}

/* --- heartbeat and loop -------------------------------------------------- */

int
syncer_heartbeat(syncer *s)
{
	struct hqc_resp r;
	enum rt_verdict v;
	json_t *doc = NULL;
	unsigned long nofail;
	size_t need;
	int rc, prc;

	if ((rc = sync__doc(s, 0, &doc)) != PA_OK)
		goto out;
	nofail = pa_mem_failures();
	need = json_dumpb(doc, NULL, 0, JSON_COMPACT);
	s->body.len = 0;
	if (need == 0 || (rc = buf_reserve(&s->body, need)) != PA_OK) {
		rc = need != 0 ? rc : pa_mem_failures() != nofail ? PA_ENOMEM :
		    pa_err_set(PA_EINTERNAL, "heartbeat not serialisable");
		goto out;
	}
	s->body.len = json_dumpb(doc, s->body.p, s->body.cap, JSON_COMPACT);
	s->body.p[s->body.len] = '\0';
	if ((rc = post(s, HQC_HEARTBEAT, &r, &v, NULL)) != PA_OK)
		goto out;
	if (v == RT_REJECTED) {
		rc = pa_err_set(PA_EPROTO, "HQ %s refused the heartbeat (HTTP %ld)",
		    s->o.hq->url, r.status);
		note_error(s, rc);
		goto out;
	}
	hal_now_iso(s->st.last_heartbeat);
out:
	json_decref(doc);
	if ((prc = sync__state_save(s)) != PA_OK && rc == PA_OK)
		rc = prc;
	return rc;
}

/* Errors no amount of retrying fixes end the loop: our configuration
 * (PA_ECONFIG, PA_EPERM on a secret file), a defect, no memory. Nothing HQ
 * or the network answers maps to these (hqc_post.c classify(), issue #9). */
static int
loop_fatal(int rc)
{
	return rc == PA_ENOMEM || rc == PA_ECONFIG || rc == PA_EPERM ||
	    rc == PA_EINTERNAL || rc == PA_EINVAL;
}

int
syncer_tick(syncer *s, int64_t *wait_ms)
{
	int64_t now = hal_sys.mono_ms(), due;
	int rc = PA_OK, hrc;

	if (s->next_drain_ms == 0)
		s->next_drain_ms = s->next_hb_ms = now;
	if (now >= s->next_drain_ms) {
		rc = syncer_drain(s);
		s->next_drain_ms = hal_sys.mono_ms() + SYNCER_IDLE_POLL_MS;
		/* After a failure, come back when the backoff/breaker allows. */
		if (rc != PA_OK && hal_sys.mono_ms() + sync__wait_ms(s) >
		    s->next_drain_ms)
			s->next_drain_ms = hal_sys.mono_ms() + sync__wait_ms(s);
		if (loop_fatal(rc))
			return rc;
	}
	if (now >= s->next_hb_ms) {
		hrc = syncer_heartbeat(s);
		s->next_hb_ms = hal_sys.mono_ms() + (s->o.hq->heartbeat_s > 0 ?
		    s->o.hq->heartbeat_s : 30) * 1000;
		if (loop_fatal(hrc))
			return hrc;
		if (rc == PA_OK)
			rc = hrc;
	}
	now = hal_sys.mono_ms();
	due = s->next_drain_ms < s->next_hb_ms ? s->next_drain_ms : s->next_hb_ms;
	*wait_ms = due > now ? due - now : 0;
	return rc;
}

void
syncer_stop(syncer *s)
{
	__atomic_store_n(&s->quit, 1, __ATOMIC_RELEASE);
}

int
syncer_online(syncer *s)
{
	return __atomic_load_n(&s->online, __ATOMIC_ACQUIRE);
}

int
syncer_run(syncer *s)
{
	int64_t wait;
	int rc = PA_OK;

	if (s->o.hq->url[0] == '\0')
		return hqc_check_url(s->o.hq->url);
	hal_now_iso(s->st.loop_started);
	while (!hal_stop_requested() && !s->quit) {
		rc = syncer_tick(s, &wait);
		__atomic_store_n(&s->online, s->hy.online, __ATOMIC_RELEASE);
		if (loop_fatal(rc))
			goto out;
		/* In short steps, so syncer_stop() is heard within a moment. */
		while (wait > 0 && !s->quit) {
			if (hal_sleep_ms(wait < 200 ? wait : 200) == PA_ECANCELLED)
				goto stopped;
			wait -= 200;
		}
	}
stopped:
	rc = PA_OK;
out:
	s->st.loop_started[0] = '\0';
	sync__state_save(s);
	return rc;
}

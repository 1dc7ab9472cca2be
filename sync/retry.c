/* retry — pure retry policy for HQ requests (see retry.h). No clock, no
 * randomness and no I/O of its own; HTTP dates are libcurl's to read. */
#include "sync/retry.h"

#include <limits.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "hal/pa_err.h"

enum rt_verdict
rt_decide(enum rt_transport t, long http_status)
{
	switch (t) {
	case RT_T_OK:
		break;
	case RT_T_CONNECT:
	case RT_T_TIMEOUT:
	case RT_T_RESET:
	case RT_T_HANDSHAKE:
	case RT_T_BAD_ANSWER:
		return RT_RETRY;
	case RT_T_TLS_VERIFY:
	case RT_T_CONFIG:
		return RT_FATAL;
	}
	if (http_status >= 200 && http_status <= 299)
		return RT_DONE;
	/* RFC 9110 §15.5.9: 408 means the server gave up waiting for us —
	 * resending the same request is the expected reaction. */
	if (http_status == 408)
		return RT_RETRY;
	if (http_status == 429)
		return RT_THROTTLED;
	if (http_status == 401 || http_status == 403)
		return RT_AUTH;
	if (http_status >= 400 && http_status <= 499)
		return RT_REJECTED;
	if (http_status >= 500 && http_status <= 599)
		return RT_RETRY;
	/* 3xx: we never follow redirects; a redirect means the configured URL
	 * is wrong (or a portal answers for HQ): the longest wait. */
	if (http_status >= 300 && http_status <= 399)
		return RT_FATAL;
	/* 1xx as a final answer and nonsense codes: a malformed answer, as
	 * transient as a reset (issue #9). */
	return RT_RETRY;
}

const char *
rt_verdict_name(enum rt_verdict v)
{
	switch (v) {
	case RT_DONE: return "done";
	case RT_RETRY: return "retry";
	case RT_THROTTLED: return "throttled";
	case RT_AUTH: return "auth";
	case RT_REJECTED: return "rejected";
	case RT_FATAL: return "fatal";
	}
	return "?";
}

uint64_t
rt_rand(struct rt_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int64_t
rt_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms,
    struct rt_rng *r)
{
	int64_t ceil = base_ms > 0 ? base_ms : 1;

	/* Doubling stops at the cap, so no shift can overflow. */
	while (attempt-- > 0 && ceil < cap_ms)
		ceil *= 2;
	if (ceil > cap_ms)
		ceil = cap_ms;
	if (ceil <= 0)
		return 0;
	/* "Full jitter" (AWS architecture blog, Exponential Backoff and
	 * Jitter): spreads a fleet of terminals coming back after an outage. */
	return (int64_t)(rt_rand(r) % ((uint64_t)ceil + 1));
}

void
rt_breaker_init(struct rt_breaker *b, unsigned threshold, int64_t open_ms)
{
	memset(b, 0, sizeof(*b));
	b->state = RT_CLOSED;
	b->threshold = threshold ? threshold : 1;
	b->open_ms = open_ms;
}

int
rt_breaker_allow(struct rt_breaker *b, int64_t now_ms)
{
	switch (b->state) {
	case RT_CLOSED:
		return 1;
	case RT_OPEN:
		if (now_ms < b->open_until_ms)
			return 0;
		b->state = RT_HALF_OPEN;
		return 1;
	case RT_HALF_OPEN:
		/* The probe is in flight (or was never recorded): one at a time. */
		return 0;
	}
	return 0;
}

void
rt_breaker_record(struct rt_breaker *b, int ok, int64_t now_ms)
{
	if (ok) {
		b->state = RT_CLOSED;
		b->fails = 0;
		return;
	}
	if (b->fails < UINT_MAX)
		b->fails++;
	if (b->state == RT_HALF_OPEN || b->fails >= b->threshold) {
		b->state = RT_OPEN;
		b->open_until_ms = now_ms + b->open_ms;
	}
}

int64_t
rt_breaker_wait_ms(const struct rt_breaker *b, int64_t now_ms)
{
	if (b->state != RT_OPEN || now_ms >= b->open_until_ms)
		return 0;
	return b->open_until_ms - now_ms;
}

const char *
rt_breaker_name(enum rt_bstate s)
{
	switch (s) {
	case RT_CLOSED: return "closed";
	case RT_OPEN: return "open";
	case RT_HALF_OPEN: return "half-open";
	}
	return "?";
}

int
rt_hyst_record(struct rt_hyst *h, int ok)
{
	if (ok) {
		h->fails = 0;
		if (h->oks < UINT_MAX)
			h->oks++;
		if (!h->online && h->oks >= RT_HYST_ONLINE_AFTER) {
			h->online = 1;
			return 1;
		}
		return 0;
	}
	h->oks = 0;
	if (h->fails < UINT_MAX)
		h->fails++;
	if (h->online && h->fails >= RT_HYST_OFFLINE_AFTER) {
		h->online = 0;
		return 1;
	}
	return 0;
}

/* --- Retry-After --------------------------------------------------------- */

int
rt_retry_after(const char *v, int64_t now_ms, int64_t *delay_ms)
{
	int64_t secs = 0, t;
	const char *p;
	size_t len;

	*delay_ms = 0;
	if (v == NULL)
		return PA_EINVAL;
	while (*v == ' ' || *v == '\t')
		v++;
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
	    v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	if (len == 0 || len > 64)
		return PA_EINVAL;
	if (v[0] >= '0' && v[0] <= '9') {
		for (p = v; p < v + len; p++) {
			if (*p < '0' || *p > '9')
				return PA_EINVAL;
			/* Saturate instead of overflowing: huge means "the cap". */
			if (secs < RT_RETRY_AFTER_MAX_MS / 1000 + 1)
				secs = secs * 10 + (*p - '0');
		}
		t = secs * 1000;
	} else {
		char buf[65];
		time_t when;

		memcpy(buf, v, len);
		buf[len] = '\0';
		/* RFC 9110 §5.6.7: the HTTP-date forms, read by libcurl's own
		 * date parser (it reads the clock of neither side; the
		 * difference uses now_ms, so tests keep a fixed clock). -1 is
		 * its "not a date". */
		if ((when = curl_getdate(buf, NULL)) == -1)
			return PA_EINVAL;
		t = (int64_t)when * 1000;
		t = t > now_ms ? t - now_ms : 0;
	}
	*delay_ms = t > RT_RETRY_AFTER_MAX_MS ? RT_RETRY_AFTER_MAX_MS : t;
	return PA_OK;
}

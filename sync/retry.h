/* retry — when to send to HQ again (DESIGN §7). Pure: every function takes
 * the time and random state it needs, so tests drive it with a fixed clock
 * and a seeded generator.
 *
 *   rt_decide()        the one retry decision (4xx other than 408/429 final)
 *   rt_backoff_ms()    capped exponential backoff with full jitter
 *   rt_breaker_*       circuit breaker: open after N failures, probe later
 *   rt_hyst_*          online/offline with hysteresis
 *   rt_retry_after()   Retry-After: delta-seconds or HTTP-date (RFC 9110)
 */
#ifndef RETRY_H
#define RETRY_H

#include <stdint.h>

#define RT_BACKOFF_BASE_MS     1000
#define RT_BACKOFF_CAP_MS      (5 * 60 * 1000)     /* DESIGN §7: cap 5 min */
#define RT_BREAKER_THRESHOLD   5                   /* consecutive failures */
#define RT_BREAKER_OPEN_MS     (60 * 1000)         /* then a half-open probe */
#define RT_HYST_ONLINE_AFTER   2                   /* successes */
#define RT_HYST_OFFLINE_AFTER  3                   /* failures */
/* A Retry-After longer than this is HQ misconfigured; wait this long. */
#define RT_RETRY_AFTER_MAX_MS  (60 * 60 * 1000)

/* How a request ended below HTTP. */
enum rt_transport {
	RT_T_OK = 0,            /* an HTTP response arrived */
	RT_T_CONNECT,           /* refused, unreachable, DNS */
	RT_T_TIMEOUT,
	RT_T_RESET,             /* connection reset or closed mid-answer */
	RT_T_HANDSHAKE,         /* TLS handshake failed (not a verification) */
	RT_T_BAD_ANSWER,        /* 2xx but body malformed or too large */
	RT_T_TLS_VERIFY,        /* HQ's certificate refused (CA, host, pin) */
	RT_T_CONFIG,            /* our side cannot send (bad file, bad URL) */
};

enum rt_verdict {
	RT_DONE,                /* 2xx: delivered */
	RT_RETRY,               /* transient: back off and send again */
	RT_THROTTLED,           /* 429: wait Retry-After, then send again */
	RT_AUTH,                /* 401/403: stop sending, keep events */
	RT_REJECTED,            /* other 4xx: final for this batch */
	RT_FATAL,               /* TLS verification, config, 3xx: a human
	                           must act; retrying now cannot help */
};

/* The one retry decision. http_status is used only when t == RT_T_OK. */
enum rt_verdict rt_decide(enum rt_transport t, long http_status);
const char *rt_verdict_name(enum rt_verdict v);

/* splitmix64: small, seedable, good enough for jitter. */
struct rt_rng {
	uint64_t s;
};
uint64_t rt_rand(struct rt_rng *r);

/* Full jitter: uniform in [0, min(cap, base * 2^attempt)], attempt >= 0. */
int64_t rt_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms,
    struct rt_rng *r);

enum rt_bstate { RT_CLOSED, RT_OPEN, RT_HALF_OPEN };
struct rt_breaker {
	enum rt_bstate state;
	unsigned fails;         /* consecutive failures */
	int64_t open_until_ms;  /* monotonic */
	unsigned threshold;
	int64_t open_ms;
};
void rt_breaker_init(struct rt_breaker *b, unsigned threshold, int64_t open_ms);
/* May a request go now? In OPEN past open_until it turns HALF_OPEN and
 * allows exactly one probe until that probe is recorded. */
int rt_breaker_allow(struct rt_breaker *b, int64_t now_ms);
/* Record an outcome: success closes; failure counts, opens at threshold,
 * and a failed half-open probe re-opens for another open_ms. */
void rt_breaker_record(struct rt_breaker *b, int ok, int64_t now_ms);
/* ms until the breaker lets a request through (0: now). */
int64_t rt_breaker_wait_ms(const struct rt_breaker *b, int64_t now_ms);
const char *rt_breaker_name(enum rt_bstate s);

struct rt_hyst {
	int online;
	unsigned oks, fails;    /* current streaks */
};
/* Record one outcome; returns 1 when the online/offline state flipped. */
int rt_hyst_record(struct rt_hyst *h, int ok);

/* Parse a Retry-After value: delta-seconds ("120", digits only) or an
 * HTTP-date, read by libcurl's curl_getdate() (IMF-fixdate, RFC 850 and
 * asctime forms, and the variants it tolerates, such as a one-digit day or
 * "UTC"), relative to now_ms (wall clock).
 * A date in the past gives 0. Result capped at RT_RETRY_AFTER_MAX_MS.
 * Returns PA_OK or PA_EINVAL (absent or malformed: caller falls back to
 * its backoff). */
int rt_retry_after(const char *v, int64_t now_ms, int64_t *delay_ms);

#endif

/* test_retry — the pure retry policy (sync/retry.h) with a fixed clock and a
 * seeded generator: the one retry decision, backoff with full jitter, the
 * circuit breaker, online/offline hysteresis, Retry-After parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hal/pa_err.h"
#include "sync/retry.h"

/* 1994-11-06T08:49:37Z, the RFC 9110 example date, in ms. */
#define RFC_DATE_MS (784111777LL * 1000)

static void
decide_http_statuses(void **state)
{
	(void)state;
	assert_int_equal(rt_decide(RT_T_OK, 200), RT_DONE);
	assert_int_equal(rt_decide(RT_T_OK, 204), RT_DONE);
	assert_int_equal(rt_decide(RT_T_OK, 408), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_OK, 429), RT_THROTTLED);
	assert_int_equal(rt_decide(RT_T_OK, 401), RT_AUTH);
	assert_int_equal(rt_decide(RT_T_OK, 403), RT_AUTH);
	assert_int_equal(rt_decide(RT_T_OK, 400), RT_REJECTED);
	assert_int_equal(rt_decide(RT_T_OK, 404), RT_REJECTED);
	assert_int_equal(rt_decide(RT_T_OK, 409), RT_REJECTED);
	assert_int_equal(rt_decide(RT_T_OK, 413), RT_REJECTED);
	assert_int_equal(rt_decide(RT_T_OK, 422), RT_REJECTED);
	assert_int_equal(rt_decide(RT_T_OK, 499), RT_REJECTED);
	assert_int_equal(rt_decide(RT_T_OK, 500), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_OK, 502), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_OK, 503), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_OK, 599), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_OK, 301), RT_FATAL);
	assert_int_equal(rt_decide(RT_T_OK, 302), RT_FATAL);
	/* issue #9: a malformed status is transient, never the end. */
	assert_int_equal(rt_decide(RT_T_OK, 100), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_OK, 0), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_OK, 600), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_OK, 999), RT_RETRY);
}

static void
decide_transport_failures(void **state)
{
	(void)state;
	/* The status is ignored when no answer arrived. */
	assert_int_equal(rt_decide(RT_T_CONNECT, 200), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_TIMEOUT, 0), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_RESET, 0), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_HANDSHAKE, 0), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_BAD_ANSWER, 200), RT_RETRY);
	assert_int_equal(rt_decide(RT_T_TLS_VERIFY, 0), RT_FATAL);
	assert_int_equal(rt_decide(RT_T_CONFIG, 0), RT_FATAL);
	assert_string_equal(rt_verdict_name(RT_REJECTED), "rejected");
}

static void
backoff_stays_in_the_full_jitter_window(void **state)
{
	struct rt_rng r = { 42 };
	unsigned a;
	int i;

	(void)state;
	for (a = 0; a < 40; a++) {
		int64_t ceil = 1000;
		unsigned k;
		for (k = 0; k < a && ceil < RT_BACKOFF_CAP_MS; k++)
			ceil *= 2;
		if (ceil > RT_BACKOFF_CAP_MS)
			ceil = RT_BACKOFF_CAP_MS;
		for (i = 0; i < 200; i++) {
			int64_t d = rt_backoff_ms(a, RT_BACKOFF_BASE_MS,
			    RT_BACKOFF_CAP_MS, &r);
			assert_true(d >= 0);
			assert_true(d <= ceil);
		}
	}
	/* An absurd attempt count neither overflows nor exceeds the cap. */
	assert_true(rt_backoff_ms(UINT32_MAX, 1000, RT_BACKOFF_CAP_MS, &r) <=
	    RT_BACKOFF_CAP_MS);
}

static void
backoff_is_deterministic_for_a_seed(void **state)
{
	struct rt_rng a = { 7 }, b = { 7 }, c = { 8 };
	int i, differ = 0;

	(void)state;
	for (i = 0; i < 50; i++) {
		int64_t x = rt_backoff_ms(5, 1000, RT_BACKOFF_CAP_MS, &a);
		int64_t y = rt_backoff_ms(5, 1000, RT_BACKOFF_CAP_MS, &b);
		int64_t z = rt_backoff_ms(5, 1000, RT_BACKOFF_CAP_MS, &c);
		assert_int_equal(x, y);
		differ |= x != z;
	}
	assert_true(differ);
}

/* Full jitter spreads over the whole window: mean near half the ceiling,
 * both ends reached. */
static void
backoff_jitter_is_spread(void **state)
{
	struct rt_rng r = { 12345 };
	int64_t min = INT64_MAX, max = 0, sum = 0, d;
	int i, n = 20000;

	(void)state;
	for (i = 0; i < n; i++) {
		d = rt_backoff_ms(3, 1000, RT_BACKOFF_CAP_MS, &r);  /* 0..8000 */
		sum += d;
		if (d < min)
			min = d;
		if (d > max)
			max = d;
	}
	assert_true(min < 100);
	assert_true(max > 7900);
	assert_true(sum / n > 3700 && sum / n < 4300);
}

static void
backoff_reaches_the_cap(void **state)
{
	struct rt_rng r = { 99 };
	int64_t max = 0, d;
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		d = rt_backoff_ms(20, 1000, RT_BACKOFF_CAP_MS, &r);
		if (d > max)
			max = d;
	}
	assert_true(max <= 300000);
	assert_true(max > 290000);
}

static void
breaker_opens_after_five_failures(void **state)
{
	struct rt_breaker b;
	int64_t t = 1000000;
	int i;

	(void)state;
	rt_breaker_init(&b, RT_BREAKER_THRESHOLD, RT_BREAKER_OPEN_MS);
	for (i = 0; i < 4; i++) {
		assert_true(rt_breaker_allow(&b, t));
		rt_breaker_record(&b, 0, t);
		assert_int_equal(b.state, RT_CLOSED);
	}
	assert_true(rt_breaker_allow(&b, t));
	rt_breaker_record(&b, 0, t);
	assert_int_equal(b.state, RT_OPEN);
	assert_false(rt_breaker_allow(&b, t));
	assert_false(rt_breaker_allow(&b, t + 59999));
	assert_int_equal(rt_breaker_wait_ms(&b, t + 59000), 1000);
	assert_string_equal(rt_breaker_name(b.state), "open");
}

static void
breaker_half_open_allows_one_probe(void **state)
{
	struct rt_breaker b;
	int64_t t = 5000;
	int i;

	(void)state;
	rt_breaker_init(&b, 5, 60000);
	for (i = 0; i < 5; i++)
		rt_breaker_record(&b, 0, t);
	t += 60000;
	assert_true(rt_breaker_allow(&b, t));
	assert_int_equal(b.state, RT_HALF_OPEN);
	assert_false(rt_breaker_allow(&b, t));      /* one probe at a time */
	/* The probe fails: open for another full period from now. */
	rt_breaker_record(&b, 0, t + 10);
	assert_int_equal(b.state, RT_OPEN);
	assert_false(rt_breaker_allow(&b, t + 60009));
	assert_true(rt_breaker_allow(&b, t + 60010));
	/* This probe succeeds: closed, count reset. */
	rt_breaker_record(&b, 1, t + 60020);
	assert_int_equal(b.state, RT_CLOSED);
	assert_int_equal(b.fails, 0);
	assert_true(rt_breaker_allow(&b, t + 60030));
	assert_int_equal(rt_breaker_wait_ms(&b, t + 60030), 0);
}

static void
breaker_success_resets_the_count(void **state)
{
	struct rt_breaker b;
	int i;

	(void)state;
	rt_breaker_init(&b, 5, 60000);
	for (i = 0; i < 4; i++)
		rt_breaker_record(&b, 0, 0);
	rt_breaker_record(&b, 1, 0);
	for (i = 0; i < 4; i++)
		rt_breaker_record(&b, 0, 0);
	assert_int_equal(b.state, RT_CLOSED);
}

static void
hysteresis_two_up_three_down(void **state)
{
	struct rt_hyst h;

	(void)state;
	memset(&h, 0, sizeof(h));
	assert_false(h.online);
	assert_int_equal(rt_hyst_record(&h, 1), 0);
	assert_false(h.online);
	assert_int_equal(rt_hyst_record(&h, 1), 1);     /* flipped */
	assert_true(h.online);
	assert_int_equal(rt_hyst_record(&h, 1), 0);
	assert_int_equal(rt_hyst_record(&h, 0), 0);
	assert_int_equal(rt_hyst_record(&h, 0), 0);
	assert_true(h.online);
	assert_int_equal(rt_hyst_record(&h, 1), 0);     /* streak broken */
	assert_int_equal(rt_hyst_record(&h, 0), 0);
	assert_int_equal(rt_hyst_record(&h, 0), 0);
	assert_int_equal(rt_hyst_record(&h, 0), 1);
	assert_false(h.online);
	/* A single success between failures does not bring it back. */
	assert_int_equal(rt_hyst_record(&h, 1), 0);
	assert_int_equal(rt_hyst_record(&h, 0), 0);
	assert_false(h.online);
}

static void
retry_after_seconds(void **state)
{
	int64_t d;

	(void)state;
	assert_int_equal(rt_retry_after("120", 0, &d), PA_OK);
	assert_int_equal(d, 120000);
	assert_int_equal(rt_retry_after(" 5 \r\n", 0, &d), PA_OK);
	assert_int_equal(d, 5000);
	assert_int_equal(rt_retry_after("0", 0, &d), PA_OK);
	assert_int_equal(d, 0);
	assert_int_equal(rt_retry_after("99999999999999999999999", 0, &d), PA_OK);
	assert_int_equal(d, RT_RETRY_AFTER_MAX_MS);
	assert_int_equal(rt_retry_after("", 0, &d), PA_EINVAL);
	assert_int_equal(rt_retry_after(NULL, 0, &d), PA_EINVAL);
	assert_int_equal(rt_retry_after("-1", 0, &d), PA_EINVAL);
	assert_int_equal(rt_retry_after("1.5", 0, &d), PA_EINVAL);
	assert_int_equal(rt_retry_after("5s", 0, &d), PA_EINVAL);
	assert_int_equal(rt_retry_after("0x10", 0, &d), PA_EINVAL);
}

static void
retry_after_http_dates(void **state)
{
	int64_t d, now = RFC_DATE_MS - 30000;

	(void)state;
	assert_int_equal(rt_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now, &d),
	    PA_OK);
	assert_int_equal(d, 30000);
	assert_int_equal(rt_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now,
	    &d), PA_OK);
	assert_int_equal(d, 30000);
	assert_int_equal(rt_retry_after("Sun Nov  6 08:49:37 1994", now, &d),
	    PA_OK);
	assert_int_equal(d, 30000);
	/* A date already past means "now". */
	assert_int_equal(rt_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
	    RFC_DATE_MS + 5000, &d), PA_OK);
	assert_int_equal(d, 0);
	/* Far future: capped. */
	assert_int_equal(rt_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", now, &d),
	    PA_OK);
	assert_int_equal(d, RT_RETRY_AFTER_MAX_MS);
	/* Leap day. */
	assert_int_equal(rt_retry_after("Thu, 29 Feb 2024 00:00:10 GMT",
	    1709164800000LL, &d), PA_OK);
	assert_int_equal(d, 10000);
}

static void
retry_after_malformed_dates(void **state)
{
	static const char *const bad[] = {
		"Sun, 32 Nov 1994 08:49:37 GMT",
		"Sun, 06 Foo 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 25:49:37 GMT",
		"tomorrow",
		"Sun,",
		"S",
	};
	size_t i;
	int64_t d;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rt_retry_after(bad[i], RFC_DATE_MS, &d), PA_EINVAL);
}

/* Dates are read by libcurl's curl_getdate() (issue #11), which tolerates
 * what RFC 9110 §5.6.7 asks recipients to tolerate and a little more: each
 * of these still names the same instant, so waiting for it is right. */
static void
retry_after_tolerated_date_variants(void **state)
{
	static const char *const ok[] = {
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 94 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994",
	};
	size_t i;
	int64_t d;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(rt_retry_after(ok[i], RFC_DATE_MS - 7000, &d),
		    PA_OK);
		assert_int_equal(d, 7000);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decide_http_statuses),
		cmocka_unit_test(decide_transport_failures),
		cmocka_unit_test(backoff_stays_in_the_full_jitter_window),
		cmocka_unit_test(backoff_is_deterministic_for_a_seed),
		cmocka_unit_test(backoff_jitter_is_spread),
		cmocka_unit_test(backoff_reaches_the_cap),
		cmocka_unit_test(breaker_opens_after_five_failures),
		cmocka_unit_test(breaker_half_open_allows_one_probe),
		cmocka_unit_test(breaker_success_resets_the_count),
		cmocka_unit_test(hysteresis_two_up_three_down),
		cmocka_unit_test(retry_after_seconds),
		cmocka_unit_test(retry_after_http_dates),
		cmocka_unit_test(retry_after_malformed_dates),
		cmocka_unit_test(retry_after_tolerated_date_variants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

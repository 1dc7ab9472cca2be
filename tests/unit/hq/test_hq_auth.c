/* test_hq_auth — tokens (format, hash, constant-time compare), the bearer
 * header, and routing of paths to endpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hal/pa_err.h"
#include "hq/hq_auth.h"
#include "hq/hq_route.h"

static void
tokens_are_random_urlsafe_and_hashed(void **state)
{
	char a[64], b[65], h[65];
	size_t i;

	(void)state;
	assert_int_equal(hq_auth_token_new(a), PA_OK);
	assert_int_equal(hq_auth_token_new(b), PA_OK);
	assert_int_equal(strlen(a), 48);
	assert_memory_equal(a, "pahq_", 5);
	assert_string_not_equal(a, b);
	for (i = 5; i < strlen(a); i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
		    "vwxyz0123456789-_", a[i]));
	/* SHA-256("abc"), FIPS 180-2 appendix B.1. */
	assert_int_equal(hq_auth_hash("abc", h), PA_OK);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_true(hq_auth_hash_eq(h, h));
	hq_auth_hash("abd", b);
	assert_false(hq_auth_hash_eq(h, b));
	assert_false(hq_auth_hash_eq(h, ""));
}

static void
bearer_header(void **state)
{
	char t[HQ_TOKEN_MAX + 1], big[HQ_TOKEN_MAX + 20];

	(void)state;
	assert_true(hq_auth_bearer("Bearer abc", t));
	assert_string_equal(t, "abc");
	assert_true(hq_auth_bearer("bearer  abc ", t));
	assert_string_equal(t, "abc");
	assert_false(hq_auth_bearer(NULL, t));
	assert_false(hq_auth_bearer("Basic abc", t));
	assert_false(hq_auth_bearer("Bearer ", t));
	memcpy(big, "Bearer ", 7);
	memset(big + 7, 'x', HQ_TOKEN_MAX + 1);
	big[HQ_TOKEN_MAX + 8] = '\0';
	assert_false(hq_auth_bearer(big, t));
}

static void
proxy_headers_without_success_name_nobody(void **state)
{
	struct hq_cert_names n;

	(void)state;
	hq_auth_cert_names_proxy("NONE", "", &n);
	assert_int_equal(n.n, 0);
	hq_auth_cert_names_proxy("FAILED:certificate has expired", "%2D%2D", &n);
	assert_int_equal(n.n, 0);
	assert_non_null(strstr(n.why, "refused by the proxy"));
	hq_auth_cert_names_proxy("SUCCESS", "not%2Ga%20certificate", &n);
	assert_int_equal(n.n, 0);
	hq_auth_cert_names_proxy(NULL, NULL, &n);
	assert_int_equal(n.n, 0);
}

static void
routes(void **state)
{
	struct req q;

	(void)state;
	memset(&q, 0, sizeof(q));
	assert_int_equal(hq_route("POST", "/api/v1/agents/store-1/events", &q),
	    R_EVENTS);
	assert_string_equal(q.id, "store-1");
	assert_int_equal(hq_route("POST", "/api/v1/agents/s.1_x/heartbeat", &q),
	    R_HEARTBEAT);
	assert_int_equal(hq_route("GET", "/api/v1/agents/s1/events", &q), R_NONE);
	assert_int_equal(hq_route("GET", "/", &q), R_INDEX);
	assert_int_equal(hq_route("GET", "/api/v1/fleet", &q), R_FLEET);
	assert_int_equal(hq_route("GET", "/api/v1/agents/s1", &q), R_AGENT);
	assert_int_equal(hq_route("GET", "/api/v1/agents/s1/jobs/1b2c-3d", &q),
	    R_JOB);
	assert_string_equal(q.uuid, "1b2c-3d");
	assert_int_equal(hq_route("GET", "/api/v1/agents/s1/jobs/", &q), R_NONE);
	assert_int_equal(hq_route("GET", "/api/v1/agents/s%2F1", &q), R_NONE);
	assert_int_equal(hq_route("GET", "/api/v1/agents/../fleet", &q), R_NONE);
	assert_int_equal(hq_route("POST", "/api/v1/agents//events", &q), R_NONE);
	assert_int_equal(hq_route("DELETE", "/api/v1/agents/s1", &q), R_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tokens_are_random_urlsafe_and_hashed),
		cmocka_unit_test(bearer_header),
		cmocka_unit_test(proxy_headers_without_success_name_nobody),
		cmocka_unit_test(routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

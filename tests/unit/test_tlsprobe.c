/* test_tlsprobe — the words for what a failed TLS handshake showed
 * (sync/tlsprobe.h): facts stated as facts, guesses marked as guesses.
 * The probe itself runs against real servers in test_sync_tls.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <mbedtls/ssl.h>

#include "sync/tlsprobe.h"

static struct tlsp_result
result(int alert, int version, int err)
{
	struct tlsp_result r;

	memset(&r, 0, sizeof(r));
	r.ran = 1;
	r.alert = alert;
	r.version = version;
	r.err = err;
	return r;
}

static void
certificate_required_is_a_fact(void **state)
{
	struct tlsp_result r = result(116, 13, MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE);
	char m[400];

	(void)state;
	tlsp_explain(&r, 0, m, sizeof(m));
	assert_non_null(strstr(m, "certificate_required (116), TLS 1.3 agreed"));
	assert_non_null(strstr(m, "set [hq] cert_file and key_file"));
	assert_null(strstr(m, "guess"));
}

static void
handshake_failure_without_cert_is_a_marked_guess(void **state)
{
	struct tlsp_result r = result(40, 0, MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE);
	char m[400];

	(void)state;
	tlsp_explain(&r, 0, m, sizeof(m));
	assert_non_null(strstr(m, "handshake_failure (40); a guess: HQ requires a client certificate"));
	/* Nothing agreed: no version claimed. */
	assert_null(strstr(m, "agreed"));
}

static void
handshake_failure_with_cert_does_not_ask_for_one(void **state)
{
	struct tlsp_result r = result(40, 12, MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE);
	char m[400];

	(void)state;
	tlsp_explain(&r, 1, m, sizeof(m));
	assert_non_null(strstr(m, "TLS 1.2 agreed; a guess"));
	assert_null(strstr(m, "set [hq] cert_file"));
}

static void
certificate_alerts_blame_our_certificate_only_when_we_sent_one(void **state)
{
	struct tlsp_result r = result(48, 13, MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE);
	char m[400];

	(void)state;
	tlsp_explain(&r, 1, m, sizeof(m));
	assert_non_null(strstr(m, "refused this terminal's client certificate: alert unknown_ca (48)"));
	tlsp_explain(&r, 0, m, sizeof(m));
	assert_null(strstr(m, "refused this terminal's"));
	assert_non_null(strstr(m, "no client certificate is set"));
}

static void
protocol_version(void **state)
{
	struct tlsp_result r = result(70, 0, MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE);
	struct tlsp_result b = result(-1, 0, MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION);
	char m[400];

	(void)state;
	tlsp_explain(&r, 0, m, sizeof(m));
	assert_non_null(strstr(m, "neither TLS 1.2 nor 1.3"));
	tlsp_explain(&b, 0, m, sizeof(m));
	assert_non_null(strstr(m, "no TLS version posagent speaks"));
}

static void
other_errors_keep_mbedtls_words_and_code(void **state)
{
	struct tlsp_result r = result(-1, 12, MBEDTLS_ERR_SSL_CONN_EOF);
	char m[400];

	(void)state;
	snprintf(r.err_text, sizeof(r.err_text), "SSL - The connection indicated an EOF");
	tlsp_explain(&r, 0, m, sizeof(m));
	assert_non_null(strstr(m, "TLS 1.2 agreed: SSL - The connection indicated an EOF (-0x7280)"));
	r = result(-1, 13, 0);
	tlsp_explain(&r, 0, m, sizeof(m));
	assert_non_null(strstr(m, "second handshake went through"));
}

static void
alert_names(void **state)
{
	(void)state;
	assert_string_equal(tlsp_alert_name(116), "certificate_required");
	assert_string_equal(tlsp_alert_name(42), "bad_certificate");
	assert_string_equal(tlsp_alert_name(255), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(certificate_required_is_a_fact),
		cmocka_unit_test(handshake_failure_without_cert_is_a_marked_guess),
		cmocka_unit_test(handshake_failure_with_cert_does_not_ask_for_one),
		cmocka_unit_test(certificate_alerts_blame_our_certificate_only_when_we_sent_one),
		cmocka_unit_test(protocol_version),
		cmocka_unit_test(other_errors_keep_mbedtls_words_and_code),
		cmocka_unit_test(alert_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

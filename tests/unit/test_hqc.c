/* test_hqc — the HQ client's checks that need no server: strict parsing of
 * the events answer, URL rules (http only to loopback), settings validation
 * (ca_file, mTLS pair, pin syntax) and secret-file permissions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal/pa_err.h"
#include "sync/hqc.h"

static int
ack_of(const char *body, long long *ack)
{
	return hqc_parse_ack(body, strlen(body), ack);
}

static void
ack_accepts_only_a_non_negative_integer(void **state)
{
	long long ack;

	(void)state;
	assert_int_equal(ack_of("{\"ack\": 42}", &ack), PA_OK);
	assert_int_equal(ack, 42);
	assert_int_equal(ack_of("{\"ack\":0}", &ack), PA_OK);
	assert_int_equal(ack, 0);
	assert_int_equal(ack_of("{\"ack\": 9007199254740993, \"note\": \"x\"}",
	    &ack), PA_OK);
	assert_int_equal(ack, 9007199254740993LL);
	assert_int_equal(ack_of("{\"ack\": -1}", &ack), PA_EPROTO);
	assert_int_equal(ack_of("{\"ack\": 4.0}", &ack), PA_EPROTO);
	assert_int_equal(ack_of("{\"ack\": \"42\"}", &ack), PA_EPROTO);
	assert_int_equal(ack_of("{\"ack\": true}", &ack), PA_EPROTO);
	assert_int_equal(ack_of("{\"ack\": null}", &ack), PA_EPROTO);
	assert_int_equal(ack_of("{\"acks\": 1}", &ack), PA_EPROTO);
	assert_int_equal(ack_of("{\"ack\": 1, \"ack\": 2}", &ack), PA_EPROTO);
	assert_int_equal(ack_of("[42]", &ack), PA_EPROTO);
	assert_int_equal(ack_of("42", &ack), PA_EPROTO);
	assert_int_equal(ack_of("", &ack), PA_EPROTO);
	assert_int_equal(ack_of("{\"ack\": 1", &ack), PA_EPROTO);
	assert_int_equal(ack_of("{\"ack\": 1} trailing", &ack), PA_EPROTO);
	assert_int_equal(ack_of("{\"ack\": 99999999999999999999999}", &ack),
	    PA_EPROTO);
	assert_int_equal(ack, -1);
	assert_int_equal(hqc_parse_ack("{\"ack\": 1}\0x", 12, &ack), PA_EPROTO);
}

static void
url_rules(void **state)
{
	(void)state;
	assert_int_equal(hqc_check_url("https://hq.example.ru:8443"), PA_OK);
	assert_int_equal(hqc_check_url("https://hq.example.ru/base/"), PA_OK);
	assert_int_equal(hqc_check_url("http://localhost:8080"), PA_OK);
	assert_int_equal(hqc_check_url("http://LOCALHOST:8080"), PA_OK);
	assert_int_equal(hqc_check_url("http://127.0.0.1:8080"), PA_OK);
	assert_int_equal(hqc_check_url("http://127.8.9.10"), PA_OK);
	assert_int_equal(hqc_check_url("http://[::1]:8080"), PA_OK);
	assert_int_equal(hqc_check_url("http://hq.example.ru"), PA_ECONFIG);
	assert_non_null(strstr(pa_err_msg(PA_ECONFIG), "non-loopback"));
	assert_int_equal(hqc_check_url("http://10.0.0.1"), PA_ECONFIG);
	assert_int_equal(hqc_check_url("http://128.0.0.1"), PA_ECONFIG);
	assert_int_equal(hqc_check_url("http://localhost.evil.example"),
	    PA_ECONFIG);
	assert_int_equal(hqc_check_url("http://127.0.0.1.nip.io"), PA_ECONFIG);
	assert_int_equal(hqc_check_url("http://[::2]"), PA_ECONFIG);
	assert_int_equal(hqc_check_url("ftp://hq.example.ru"), PA_ECONFIG);
	assert_int_equal(hqc_check_url("https://user:pw@hq.example.ru"),
	    PA_ECONFIG);
	assert_int_equal(hqc_check_url("https://hq.example.ru/?x=1"), PA_ECONFIG);
	assert_int_equal(hqc_check_url("https://hq.example.ru/#f"), PA_ECONFIG);
	assert_int_equal(hqc_check_url(""), PA_ECONFIG);
	assert_int_equal(hqc_check_url("not a url"), PA_ECONFIG);
}

/* hqc_open checks that ca_file is a regular file (issue #9); its content
 * is read by mbedTLS only when a request is made. */
static char ca_path[64];

static void
base_cfg(struct hq_config *c)
{
	int fd;

	if (ca_path[0] == '\0') {
		strcpy(ca_path, "/tmp/test_hqc_ca.XXXXXX");
		fd = mkstemp(ca_path);
		assert_true(fd >= 0);
		close(fd);
	}
	memset(c, 0, sizeof(*c));
	snprintf(c->url, sizeof(c->url), "https://localhost:1");
	snprintf(c->ca_file, sizeof(c->ca_file), "%s", ca_path);
	c->timeout_ms = 1000;
	c->batch_max = 10;
}

static void
open_checks_settings(void **state)
{
	struct hq_config c;
	hqc *h = NULL;

	(void)state;
	base_cfg(&c);
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_OK);
	hqc_close(h);
	hqc_close(NULL);
	/* https needs a CA bundle: libcurl here has no default one. */
	c.ca_file[0] = '\0';
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_ECONFIG);
	assert_null(h);
	base_cfg(&c);
	assert_int_equal(hqc_open(&c, "store 1/..", &h), PA_ECONFIG);
	snprintf(c.cert_file, sizeof(c.cert_file), "/x/client.pem");
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_ECONFIG);
	assert_non_null(strstr(pa_err_msg(PA_ECONFIG), "together"));
	base_cfg(&c);
	snprintf(c.pin, sizeof(c.pin), "sha256//tooshort");
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_ECONFIG);
	snprintf(c.pin, sizeof(c.pin), "sha256//8KCb8WoVYXvWRePqZpRtY+JuZPgW0G1R"
	    "1frAu4rEqgs=");
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_OK);
	hqc_close(h);
	snprintf(c.pin, sizeof(c.pin), "sha256//8KCb8WoVYXvWRePqZpRtY+JuZPgW0G1R"
	    "1frAu4rEqgs=;sha256//y1iPWHZg3/dI28dvB1osd8XKK+6xHODVBnZxTUKB+gU=");
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_OK);
	hqc_close(h);
	snprintf(c.pin, sizeof(c.pin), "md5//abc");
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_ECONFIG);
	base_cfg(&c);
	snprintf(c.url, sizeof(c.url), "http://hq.example.ru");
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_ECONFIG);
	/* issue #9: a directory as ca_file made mbedTLS say "PK - Memory
	 * allocation failed"; a missing one is named at open. */
	base_cfg(&c);
	snprintf(c.ca_file, sizeof(c.ca_file), "/tmp");
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_ECONFIG);
	assert_non_null(strstr(pa_err_msg(PA_ECONFIG), "is a directory"));
	snprintf(c.ca_file, sizeof(c.ca_file), "/nonexistent/ca.pem");
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_ECONFIG);
	assert_non_null(strstr(pa_err_msg(PA_ECONFIG), "/nonexistent/ca.pem"));
}

static void
write_file(char *path, const char *text, mode_t mode)
{
	int fd;

	strcpy(path, "/tmp/test_hqc.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void
secret_files_must_be_private(void **state)
{
	struct hq_config c;
	char tok[64], key[64];
	hqc *h = NULL;

	(void)state;
	base_cfg(&c);
	write_file(tok, "s3cr3t-token\n", 0644);
	snprintf(c.token_file, sizeof(c.token_file), "%s", tok);
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_EPERM);
	assert_non_null(strstr(pa_err_msg(PA_EPERM), tok));
	assert_non_null(strstr(pa_err_msg(PA_EPERM), "chmod 600"));
	assert_null(strstr(pa_err_msg(PA_EPERM), "s3cr3t"));
	assert_int_equal(chmod(tok, 0600), 0);
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_OK);
	hqc_close(h);
	h = NULL;
	/* A token with a space or control character could split the header. */
	unlink(tok);
	write_file(tok, "two words\n", 0600);
	snprintf(c.token_file, sizeof(c.token_file), "%s", tok);
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_ECONFIG);
	assert_null(strstr(pa_err_msg(PA_ECONFIG), "two words"));
	unlink(tok);
	snprintf(c.token_file, sizeof(c.token_file), "/nonexistent/token");
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_ECONFIG);
	/* The client key: same rule. */
	base_cfg(&c);
	write_file(key, "-----BEGIN PRIVATE KEY-----\n", 0640);
	snprintf(c.cert_file, sizeof(c.cert_file), "/x/client.pem");
	snprintf(c.key_file, sizeof(c.key_file), "%s", key);
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_EPERM);
	assert_non_null(strstr(pa_err_msg(PA_EPERM), key));
	assert_int_equal(chmod(key, 0400), 0);
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_OK);
	hqc_close(h);
	unlink(key);
}

/* Nothing listens on the port: a transport failure, classified for the
 * retry decision, with a message naming HQ. */
static void
connection_refused_is_transient(void **state)
{
	struct hq_config c;
	struct hqc_resp r;
	hqc *h = NULL;

	(void)state;
	base_cfg(&c);
	snprintf(c.url, sizeof(c.url), "http://127.0.0.1:1");
	c.ca_file[0] = '\0';
	assert_int_equal(hqc_open(&c, "store-1", &h), PA_OK);
	assert_int_equal(hqc_post(h, HQC_EVENTS, "{}", 2, 0, &r),
	    PA_EHQ_UNAVAILABLE);
	assert_int_equal(r.transport, RT_T_CONNECT);
	assert_int_equal(rt_decide(r.transport, r.status), RT_RETRY);
	assert_non_null(strstr(pa_err_msg(PA_EHQ_UNAVAILABLE), "127.0.0.1:1"));
	hqc_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ack_accepts_only_a_non_negative_integer),
		cmocka_unit_test(url_rules),
		cmocka_unit_test(open_checks_settings),
		cmocka_unit_test(secret_files_must_be_private),
		cmocka_unit_test(connection_refused_is_transient),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	if (ca_path[0])
		unlink(ca_path);
	return rc;
}

/* test_kkt — the KKT gate's pure parts: every malformed answer is refused,
 * "synced" only on the exact condition (DESIGN §6), reasons a technician
 * can act on, config checks, and a loopback port that refuses connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "kkt/kkt.h"
#include "kkt/kkt_int.h"

static int
op(const char *body, struct kkt_status *st)
{
	kkt__status_init(st, KKT_BACKEND_OPTICSERP);
	return kkt__opticserp_parse(body, strlen(body), "http://127.0.0.1:1", st);
}

static int
at(const char *body, struct kkt_status *st, int *again)
{
	kkt__status_init(st, KKT_BACKEND_ATOL);
	return kkt__atol_parse_result(body, strlen(body), "http://127.0.0.1:1",
	    st, again);
}

static void
assert_refused_malformed(int rc, const struct kkt_status *st)
{
	assert_int_equal(rc, PA_EKKT_UNREACHABLE);
	assert_false(st->synced);
	assert_false(st->reachable);
	assert_int_equal(st->pending, -1);
	assert_non_null(strstr(st->reason, "malformed JSON"));
}

/* --- OpticsERP ---------------------------------------------------------- */

/* An OpticsERP document with the two counts the rule needs besides the
 * three of each test: total_receipts and synced. */
#define OE(total, synced, rest) "{\"total_receipts\":" #total ",\"synced\":" \
	#synced "," rest "}"

static void
opticserp_synced_only_when_nothing_blocks(void **state)
{
	struct kkt_status st;

	(void)state;
	assert_int_equal(op(OE(0, 0, "\"pending\":0,\"failed\":0,\"dlq_size\":0"),
	    &st), PA_OK);
	assert_true(st.synced);
	assert_true(st.reachable);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.unreported, 0);
	assert_int_equal(op(OE(1, 0, "\"pending\":1,\"failed\":0,\"dlq_size\":0"),
	    &st), PA_EKKT_UNSYNCED);
	assert_false(st.synced);
	assert_true(st.reachable);
	assert_int_equal(op(OE(2, 0, "\"pending\":0,\"failed\":1,\"dlq_size\":1"),
	    &st), PA_EKKT_UNSYNCED);
	assert_int_equal(st.dlq_size, 1);
	assert_int_equal(st.unreported, 1);
}

/* Issue #10, measured against the real adapter: a receipt moved to the DLQ
 * keeps status failed after its entry is resolved; the gate refused
 * forever. failed is history. */
static void
opticserp_resolved_failed_receipt_does_not_block(void **state)
{
	struct kkt_status st;

	(void)state;
	assert_int_equal(op(OE(101, 100, "\"pending\":0,\"failed\":1,"
	    "\"dlq_size\":0,\"network_status\":\"online\""), &st), PA_OK);
	assert_true(st.synced);
	assert_int_equal(st.failed, 1);
	assert_string_equal(st.reason, "KKT buffer synced: 101 receipts, none "
	    "pending, no unresolved DLQ entry; 1 failed (history, does not "
	    "block) (network: online)");
}

/* The adapter's schema has a "syncing" status the endpoint does not list:
 * such a receipt shows only as the difference, and blocks. */
static void
opticserp_receipt_in_an_unreported_state_blocks(void **state)
{
	struct kkt_status st;
	char buf[160];

	(void)state;
	assert_int_equal(op(OE(101, 100, "\"pending\":0,\"failed\":0,"
	    "\"dlq_size\":0"), &st), PA_EKKT_UNSYNCED);
	assert_int_equal(st.unreported, 1);
	assert_string_equal(st.reason, "KKT buffer not synced: 1 receipt in a "
	    "state the adapter does not report (syncing?)");
	assert_string_equal(kkt_blocker(&st, 0, buf, sizeof(buf)), "1 receipt "
	    "in a state the adapter does not report (syncing?)");
	assert_null(kkt_blocker(&st, 1, buf, sizeof(buf)));
}

static void
opticserp_reason_names_each_blocker_with_its_numbers(void **state)
{
	struct kkt_status st;
	const char *doc = "{\"total_capacity\":1000,\"current_queued\":4,"
	    "\"percent_full\":0.4,\"network_status\":\"offline\","
	    "\"total_receipts\":123,\"pending\":2,\"synced\":116,\"failed\":4,"
	    "\"dlq_size\":1}";
	char buf[160];

	(void)state;
	assert_int_equal(op(doc, &st), PA_EKKT_UNSYNCED);
	assert_int_equal(st.pending, 2);
	assert_int_equal(st.failed, 4);
	assert_int_equal(st.dlq_size, 1);
	assert_int_equal(st.total_receipts, 123);
	assert_int_equal(st.synced_receipts, 116);
	assert_int_equal(st.unreported, 1);
	assert_string_equal(st.network_status, "offline");
	assert_string_equal(st.reason, "KKT buffer not synced: 2 receipts "
	    "pending: wait for the adapter to send them to the OFD; 1 DLQ entry "
	    "unresolved: resolve it in the adapter; 1 receipt in a state the "
	    "adapter does not report (syncing?) (network: offline)");
	assert_string_equal(kkt_blocker(&st, 0, buf, sizeof(buf)), "2 receipts "
	    "pending: wait for the adapter to send them to the OFD");
	assert_string_equal(kkt_blocker(&st, 1, buf, sizeof(buf)), "1 DLQ entry "
	    "unresolved: resolve it in the adapter");
	assert_non_null(kkt_blocker(&st, 2, buf, sizeof(buf)));
	assert_null(kkt_blocker(&st, 3, buf, sizeof(buf)));
	assert_int_equal(op(OE(9, 0, "\"pending\":1,\"failed\":8,\"dlq_size\":3"),
	    &st), PA_EKKT_UNSYNCED);
	assert_string_equal(st.reason, "KKT buffer not synced: 1 receipt "
	    "pending: wait for the adapter to send it to the OFD; 3 DLQ entries "
	    "unresolved: resolve them in the adapter");
}

/* Fail closed: an answer whose counts contradict each other is not
 * trusted, and the reason says which numbers. */
static void
opticserp_inconsistent_counts_are_refused(void **state)
{
	static const char *bad[] = {
		OE(4, 0, "\"pending\":5,\"failed\":0,\"dlq_size\":0"),
		OE(4, 5, "\"pending\":0,\"failed\":0,\"dlq_size\":0"),
		OE(10, 9, "\"pending\":1,\"failed\":1,\"dlq_size\":0"),
		OE(10, 0, "\"pending\":0,\"failed\":11,\"dlq_size\":0"),
		OE(1000000000, 1000000000, "\"pending\":1000000000,"
		    "\"failed\":1000000000,\"dlq_size\":0"),
		OE(0, 0, "\"pending\":0,\"failed\":0,\"dlq_size\":0,"
		    "\"total_capacity\":10,\"current_queued\":11"),
	};
	struct kkt_status st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("case %zu: %s\n", i, bad[i]);
		assert_int_equal(op(bad[i], &st), PA_EKKT_UNREACHABLE);
		assert_false(st.synced);
		assert_false(st.reachable);
		assert_int_equal(st.pending, -1);
		assert_int_equal(st.unreported, -1);
		assert_non_null(strstr(st.reason, "answered inconsistent counts"));
	}
	op(bad[2], &st);
	assert_non_null(strstr(st.reason, "pending 1 + synced 9 + failed 1 is "
	    "more than total_receipts 10"));
}

static void
opticserp_malformed_shapes_are_refused(void **state)
{
	static const char *bad[] = {
		"", " ", "{", "}", "[]", "3", "\"x\"", "null", "true",
		"[{\"pending\":0,\"failed\":0,\"dlq_size\":0}]",
		"{\"pending\":0,\"failed\":0}",
		"{\"failed\":0,\"dlq_size\":0}",
		"{\"pending\":0,\"failed\":0,\"dlq_size\":0}",
		"{\"pending\":0,\"failed\":0,\"dlq_size\":0,\"synced\":0}",
		"{\"pending\":0,\"failed\":0,\"dlq_size\":0,\"total_receipts\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":\"0\",\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0.0,\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0e0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":-1,\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":-3,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":true,\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":false,\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":null,\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":[],\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":{},\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":1e3,\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":99999999999999999999,\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":1000000001,\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0} x",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0}{}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"pending\":3}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,}",
		"{'pending':0,'failed':0,'dlq_size':0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"percent_full\":\"0\"}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"percent_full\":101}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"percent_full\":-0.5}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"network_status\":5}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"network_status\":"
		    "\"0123456789012345678901234567890123456789\"}",
		"{\"total_receipts\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"synced\":\"yes\"}",
		"{\"total_receipts\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"synced\":true}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"total_capacity\":1.5}",
		"{\"pend\\u0000ing\":0,\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"network_status\":\"a\\u0000b\"}",
		"\xEF\xBB\xBF{\"pending\":0,\"failed\":0,\"dlq_size\":0}",
		"{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0,\"network_status\":\"\xC3\"}",
	};
	struct kkt_status st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("case %zu: %s\n", i, bad[i]);
		assert_refused_malformed(op(bad[i], &st), &st);
	}
}

static void
opticserp_embedded_nul_is_trailing_garbage(void **state)
{
	static const char body[] = "{\"total_receipts\":0,\"synced\":0,\"pending\":0,\"failed\":0,\"dlq_size\":0}\0";
	struct kkt_status st;

	(void)state;
	kkt__status_init(&st, KKT_BACKEND_OPTICSERP);
	assert_refused_malformed(kkt__opticserp_parse(body, sizeof(body) - 1,
	    NULL, &st), &st);
	assert_non_null(strstr(st.reason, "KKT adapter answered malformed JSON"));
}

static void
opticserp_reason_names_the_bad_field(void **state)
{
	struct kkt_status st;

	(void)state;
	op("{\"total_receipts\":0,\"synced\":0,\"pending\":\"3\",\"failed\":0,\"dlq_size\":0}", &st);
	assert_non_null(strstr(st.reason, "KKT adapter at http://127.0.0.1:1 "
	    "answered malformed JSON: field 'pending' is a string, expected an "
	    "integer"));
	op("{\"total_receipts\":0,\"synced\":0,\"pending\":3.5,\"failed\":0,\"dlq_size\":0}", &st);
	assert_non_null(strstr(st.reason, "field 'pending' is a fractional number"));
	op("{\"total_receipts\":0,\"synced\":0,\"pending\":-2,\"failed\":0,\"dlq_size\":0}", &st);
	assert_non_null(strstr(st.reason, "field 'pending' is -2"));
	op("{\"pending\":0,\"failed\":0}", &st);
	assert_non_null(strstr(st.reason, "field 'dlq_size' is missing"));
}

/* --- ATOL --------------------------------------------------------------- */

#define READY(status) "{\"results\":[{\"errorCode\":0,\"errorDescription\":" \
	"\"Ошибок нет\",\"status\":\"ready\",\"result\":{\"status\":" status "}}]}"

static void
atol_ready_zero_is_synced(void **state)
{
	struct kkt_status st;
	int again = 7;

	(void)state;
	assert_int_equal(at(READY("{\"notSentCount\":0,\"notSentFirstDocNumber\":0,"
	    "\"notSentFirstDocDateTime\":\"\"}"), &st, &again), PA_OK);
	assert_int_equal(again, 0);
	assert_true(st.synced);
	assert_true(st.reachable);
	assert_int_equal(st.pending, 0);
	/* Nothing unsent: the first-document fields are optional. */
	assert_int_equal(at(READY("{\"notSentCount\":0}"), &st, &again), PA_OK);
}

static void
atol_ready_unsent_names_count_date_and_document(void **state)
{
	struct kkt_status st;
	int again;

	(void)state;
	assert_int_equal(at(READY("{\"notSentCount\":3,\"notSentFirstDocNumber\":"
	    "1234,\"notSentFirstDocDateTime\":\"2026-11-26T09:12:00+03:00\"}"),
	    &st, &again), PA_EKKT_UNSYNCED);
	assert_false(st.synced);
	assert_true(st.reachable);
	assert_int_equal(st.pending, 3);
	assert_int_equal(st.first_doc_number, 1234);
	assert_string_equal(st.first_doc_datetime, "2026-11-26T09:12:00+03:00");
	assert_string_equal(st.reason, "KKT buffer not synced: 3 receipts not sent "
	    "to OFD since 2026-11-26T09:12 (first document №1234); wait for the "
	    "KKT to deliver them to the OFD, then retry");
}

static void
atol_wait_and_in_progress_ask_to_poll_again(void **state)
{
	struct kkt_status st;
	int again;

	(void)state;
	assert_int_equal(at("{\"results\":[{\"status\":\"wait\"}]}", &st, &again),
	    PA_EKKT_UNREACHABLE);
	assert_int_equal(again, 1);
	assert_false(st.synced);
	assert_int_equal(at("{\"results\":[{\"status\":\"inProgress\","
	    "\"errorCode\":0}]}", &st, &again), PA_EKKT_UNREACHABLE);
	assert_int_equal(again, 1);
	assert_non_null(strstr(st.reason, "still 'inProgress'"));
}

static void
atol_failed_task_reports_code_and_description(void **state)
{
	static const char *failed[] = { "error", "interrupted", "blocked", "canceled" };
	char doc[256];
	struct kkt_status st;
	int again;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(doc, sizeof(doc), "{\"results\":[{\"status\":\"%s\","
		    "\"errorCode\":2,\"errorDescription\":\"Нет связи\\nс ККТ\"}]}",
		    failed[i]);
		assert_int_equal(at(doc, &st, &again), PA_EKKT_UNREACHABLE);
		assert_int_equal(again, 0);
		assert_false(st.synced);
		assert_false(st.reachable);
		assert_non_null(strstr(st.reason, failed[i]));
		assert_non_null(strstr(st.reason, "errorCode 2: Нет связи с ККТ"));
	}
	assert_int_equal(at("{\"results\":[{\"status\":\"error\"}]}", &st, &again),
	    PA_EKKT_UNREACHABLE);
	assert_non_null(strstr(st.reason, "errorCode ?: no description"));
}

static void
atol_malformed_shapes_are_refused(void **state)
{
	static const char *bad[] = {
		"", "{", "[]", "{}", "null",
		"{\"results\":[]}",
		"{\"results\":{}}",
		"{\"results\":[1]}",
		"{\"results\":[{\"status\":\"ready\"},{\"status\":\"ready\"}]}",
		"{\"results\":[{}]}",
		"{\"results\":[{\"status\":1}]}",
		"{\"results\":[{\"status\":\"done\"}]}",
		"{\"results\":[{\"status\":\"Ready\"}]}",
		"{\"results\":[{\"status\":\"ready\"}]}",
		"{\"results\":[{\"status\":\"ready\",\"result\":{}}]}",
		"{\"results\":[{\"status\":\"ready\",\"result\":[]}]}",
		READY("{}"),
		READY("[]"),
		READY("{\"notSentCount\":\"0\"}"),
		READY("{\"notSentCount\":0.0}"),
		READY("{\"notSentCount\":-1}"),
		READY("{\"notSentCount\":null}"),
		READY("{\"notSentCount\":3}"),
		READY("{\"notSentCount\":3,\"notSentFirstDocNumber\":12}"),
		READY("{\"notSentCount\":3,\"notSentFirstDocDateTime\":\"2026-11-26\"}"),
		READY("{\"notSentCount\":3,\"notSentFirstDocNumber\":\"12\","
		    "\"notSentFirstDocDateTime\":\"2026-11-26\"}"),
		READY("{\"notSentCount\":3,\"notSentFirstDocNumber\":12,"
		    "\"notSentFirstDocDateTime\":0}"),
		READY("{\"notSentCount\":0,\"notSentFirstDocNumber\":\"x\"}"),
		READY("{\"notSentCount\":1,\"notSentFirstDocNumber\":1,"
		    "\"notSentFirstDocDateTime\":\"2026-11-26T09:12:00.000000000000000+03:00:00\"}"),
		"{\"results\":[{\"status\":\"error\",\"errorCode\":\"2\"}]}",
		"{\"results\":[{\"status\":\"error\",\"errorCode\":2.5}]}",
		"{\"results\":[{\"status\":\"error\",\"errorDescription\":7}]}",
		("{\"results\":[{\"status\":\"ready\",\"result\":{\"status\":"
		    "{\"notSentCount\":0}}}]} trailing"),
	};
	struct kkt_status st;
	int again;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("case %zu: %s\n", i, bad[i]);
		assert_refused_malformed(at(bad[i], &st, &again), &st);
		assert_int_equal(again, 0);
	}
}

/* --- helpers, config, status document ----------------------------------- */

/* Found by fuzz_kkt: jansson's error text quotes the input near a bad
 * escape and cut a UTF-8 sequence; the reason must still be valid UTF-8. */
static void
fuzz_reason_quoting_cut_utf8_stays_valid(void **state)
{
	static const char body[] = "{\"results\":[{\"status\":\"error\",\"e\":231,"
	    "\"errDes\\u00\xd1\x8f\xd0\xb7s\\u00\xd1\x8f\xd0\xb7\xd0\xb8\"}]}";
	struct kkt_status st;
	json_t *j;
	int again;

	(void)state;
	assert_refused_malformed(at(body, &st, &again), &st);
	j = json_string(st.reason);
	assert_non_null(j);
	json_decref(j);
	kkt__status_init(&st, KKT_BACKEND_ATOL);
	kkt__reason(&st, "a\xff\xc3x\ted\xa0\xa0\xf4\x90\x80\x80z");
	assert_string_equal(st.reason, "a??x ed??????z");
}

static void
reason_cut_never_splits_utf8(void **state)
{
	struct kkt_status st;
	char big[600], dst[6];
	json_t *j;
	size_t i;

	(void)state;
	for (i = 0; i + 2 < sizeof(big); i += 2)
		memcpy(big + i, "ж", 2);
	big[i] = '\0';
	for (i = 0; i < 3; i++) {
		kkt__status_init(&st, KKT_BACKEND_ATOL);
		kkt__reason(&st, "%.*s%s", (int)i, "xyz", big);
		j = json_string(st.reason);     /* NULL unless valid UTF-8 */
		assert_non_null(j);
		json_decref(j);
	}
	kkt__copy_text(dst, sizeof(dst), "a\tжжж");
	assert_string_equal(dst, "a ж");
}

static void
backend_names_round_trip(void **state)
{
	enum kkt_backend b;

	(void)state;
	assert_int_equal(kkt_backend_parse("opticserp", &b), PA_OK);
	assert_int_equal(b, KKT_BACKEND_OPTICSERP);
	assert_int_equal(kkt_backend_parse("atol", &b), PA_OK);
	assert_int_equal(b, KKT_BACKEND_ATOL);
	assert_int_equal(kkt_backend_parse("none", &b), PA_OK);
	assert_int_equal(b, KKT_BACKEND_NONE);
	assert_int_equal(kkt_backend_parse("ATOL", &b), PA_ECONFIG);
	assert_int_equal(kkt_backend_parse("", &b), PA_ECONFIG);
	assert_int_equal(kkt_backend_parse(NULL, &b), PA_ECONFIG);
	assert_string_equal(kkt_backend_name(KKT_BACKEND_UNSET), "unset");
}

static void
backend_none_passes_without_network(void **state)
{
	struct kkt_config cfg = { .backend = KKT_BACKEND_NONE, .timeout_ms = 2000 };
	struct kkt_status st;

	(void)state;
	assert_int_equal(kkt_check(&cfg, &st), PA_OK);
	assert_true(st.synced);
	assert_string_equal(st.reason, "no KKT configured on this terminal "
	    "(backend = none): imports are not gated");
}

static void
bad_config_is_a_config_error(void **state)
{
	struct kkt_config cfg = { .backend = KKT_BACKEND_UNSET, .timeout_ms = 2000 };
	struct kkt_status st;

	(void)state;
	assert_int_equal(kkt_check(&cfg, &st), PA_ECONFIG);
	assert_false(st.synced);
	cfg.backend = KKT_BACKEND_OPTICSERP;
	assert_int_equal(kkt_check(&cfg, &st), PA_ECONFIG);       /* no url */
	snprintf(cfg.url, sizeof(cfg.url), "ftp://127.0.0.1/");
	assert_int_equal(kkt_check(&cfg, &st), PA_ECONFIG);
	assert_non_null(strstr(pa_err_msg(PA_ECONFIG), "http://"));
	snprintf(cfg.url, sizeof(cfg.url), "http://127.0.0.1:1");
	cfg.timeout_ms = 0;
	assert_int_equal(kkt_check(&cfg, &st), PA_ECONFIG);
	cfg.timeout_ms = KKT_TIMEOUT_MAX_MS + 1;
	assert_int_equal(kkt_check(&cfg, &st), PA_ECONFIG);
	assert_int_equal(kkt_check(NULL, &st), PA_EINVAL);
	cfg.timeout_ms = 2000;
	snprintf(cfg.user, sizeof(cfg.user), "kassir");
	assert_int_equal(kkt_check(&cfg, &st), PA_ECONFIG);
	assert_non_null(strstr(st.reason, "user and password_file go together"));
	snprintf(cfg.password_file, sizeof(cfg.password_file), "/nonexistent/pw");
	assert_int_equal(kkt_check(&cfg, &st), PA_ECONFIG);
	assert_non_null(strstr(st.reason, "[kkt] password_file: "));
}

/* URLs go through libcurl's own parser (CURLU), as [hq] url does. */
static void
url_check_and_join_use_curl_url_api(void **state)
{
	static const char *bad[] = {
		"ftp://127.0.0.1/", "127.0.0.1:8089", "http://", "http://[::1",
		"http://u:p@127.0.0.1:1", "http://127.0.0.1:1/?x=1",
		"http://127.0.0.1:1/#f", "http://127.0.0.1:99999",
	};
	char why[256], dst[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("case %zu: %s\n", i, bad[i]);
		assert_int_equal(kkt__url_check(bad[i], why, sizeof(why)), PA_ECONFIG);
		assert_non_null(strstr(why, "[kkt] url"));
	}
	assert_int_equal(kkt__url_check("HTTP://127.0.0.1:16732", why,
	    sizeof(why)), PA_OK);
	assert_int_equal(kkt__url_check("https://kkt.local/adapter/", why,
	    sizeof(why)), PA_OK);
	assert_int_equal(kkt__url_join(dst, sizeof(dst), "http://127.0.0.1:8089",
	    "/v1/kkt/buffer/status"), PA_OK);
	assert_string_equal(dst, "http://127.0.0.1:8089/v1/kkt/buffer/status");
	assert_int_equal(kkt__url_join(dst, sizeof(dst), "http://h:1//", "/a/b"),
	    PA_OK);
	assert_string_equal(dst, "http://h:1/a/b");
	assert_int_equal(kkt__url_join(dst, sizeof(dst), "http://h/adapter/",
	    "/api/v2/requests"), PA_OK);
	assert_string_equal(dst, "http://h/adapter/api/v2/requests");
	assert_int_equal(kkt__url_join(dst, 20, "http://127.0.0.1:8089",
	    "/v1/kkt/buffer/status"), PA_ECONFIG);
}

/* A port that is bound but not listening: connection refused, and no other
 * process can take it while we hold it. */
static int
refusing_port(int *fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*fd >= 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &al), 0);
	return ntohs(a.sin_port);
}

static void
refused_connection_is_unreachable_for_both_backends(void **state)
{
	struct kkt_config cfg = { .timeout_ms = 2000 };
	struct kkt_status st;
	int fd, port = refusing_port(&fd);

	(void)state;
	snprintf(cfg.url, sizeof(cfg.url), "http://127.0.0.1:%d/", port);
	cfg.backend = KKT_BACKEND_OPTICSERP;
	assert_int_equal(kkt_check(&cfg, &st), PA_EKKT_UNREACHABLE);
	assert_false(st.synced);
	assert_false(st.reachable);
	assert_non_null(strstr(st.reason, "unreachable"));
	assert_string_equal(pa_err_msg(PA_EKKT_UNREACHABLE), st.reason);
	cfg.backend = KKT_BACKEND_ATOL;
	assert_int_equal(kkt_check(&cfg, &st), PA_EKKT_UNREACHABLE);
	assert_false(st.synced);
	close(fd);
}

static void
out_of_memory_anywhere_fails_closed(void **state)
{
	struct kkt_config cfg = { .backend = KKT_BACKEND_OPTICSERP, .timeout_ms = 2000 };
	struct kkt_status st;
	int fd, port = refusing_port(&fd), rc;
	long n;

	(void)state;
	snprintf(cfg.url, sizeof(cfg.url), "http://127.0.0.1:%d", port);
	for (n = 0; n < 8; n++) {
		pa_mem_fail_after(n);
		rc = kkt_check(&cfg, &st);
		pa_mem_fail_after(-1);
		assert_true(rc == PA_ENOMEM || rc == PA_EKKT_UNREACHABLE);
		assert_false(st.synced);
		assert_true(st.reason[0] != '\0');
	}
	close(fd);
}

/* Each allocation a parse makes, failed in turn (jansson allocates through
 * pa_mem: main). Out of memory is ours, not the adapter's: PA_ENOMEM, a
 * reason without parser text ("invalid token") and never "malformed". */
static void
parse_until_ok(int atol, const char *body)
{
	struct kkt_status st;
	int rc = PA_ENOMEM, again, hit = 0;
	long n;

	for (n = 0; n < 256 && rc != PA_OK; n++) {
		pa_mem_fail_after(n);
		rc = atol ? at(body, &st, &again) : op(body, &st);
		pa_mem_fail_after(-1);
		if (rc == PA_OK)
			break;
		assert_int_equal(rc, PA_ENOMEM);
		assert_false(st.synced);
		assert_false(st.reachable);
		assert_null(strstr(st.reason, "malformed"));
		assert_non_null(strstr(st.reason, "out of memory"));
		hit++;
	}
	assert_int_equal(rc, PA_OK);
	assert_true(st.synced);
	assert_true(hit > 0);
}

static void
parse_out_of_memory_is_enomem_not_malformed(void **state)
{
	(void)state;
	parse_until_ok(0, OE(3, 2, "\"pending\":0,\"failed\":1,\"dlq_size\":0"));
	parse_until_ok(1, READY("{\"notSentCount\":0}"));
}

static void
status_json_uses_null_for_unknown(void **state)
{
	struct kkt_status st;
	json_t *j;

	(void)state;
	op("{\"total_receipts\":2,\"synced\":0,\"pending\":2,\"failed\":0,\"dlq_size\":0}", &st);
	st.elapsed_ms = 5;
	j = kkt_status_json(&st);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "backend")), "opticserp");
	assert_true(json_is_true(json_object_get(j, "reachable")));
	assert_true(json_is_false(json_object_get(j, "synced")));
	assert_int_equal(json_integer_value(json_object_get(j, "pending")), 2);
	assert_true(json_is_null(json_object_get(j, "first_doc_number")));
	assert_int_equal(json_integer_value(json_object_get(j, "unreported")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "blocking")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j,
	    "blocking"), 0)), "2 receipts pending: wait for the adapter to send "
	    "them to the OFD");
	assert_true(json_is_null(json_object_get(j, "network_status")));
	assert_int_equal(json_integer_value(json_object_get(j, "elapsed_ms")), 5);
	json_decref(j);
	/* A reason with bytes that are not UTF-8 still yields a document. */
	memcpy(st.reason, "bad \xff url", 10);
	j = kkt_status_json(&st);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "bad ? url");
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(opticserp_synced_only_when_nothing_blocks),
		cmocka_unit_test(opticserp_resolved_failed_receipt_does_not_block),
		cmocka_unit_test(opticserp_receipt_in_an_unreported_state_blocks),
		cmocka_unit_test(opticserp_reason_names_each_blocker_with_its_numbers),
		cmocka_unit_test(opticserp_inconsistent_counts_are_refused),
		cmocka_unit_test(opticserp_malformed_shapes_are_refused),
		cmocka_unit_test(opticserp_embedded_nul_is_trailing_garbage),
		cmocka_unit_test(opticserp_reason_names_the_bad_field),
		cmocka_unit_test(atol_ready_zero_is_synced),
		cmocka_unit_test(atol_ready_unsent_names_count_date_and_document),
		cmocka_unit_test(atol_wait_and_in_progress_ask_to_poll_again),
		cmocka_unit_test(atol_failed_task_reports_code_and_description),
		cmocka_unit_test(atol_malformed_shapes_are_refused),
		cmocka_unit_test(fuzz_reason_quoting_cut_utf8_stays_valid),
		cmocka_unit_test(reason_cut_never_splits_utf8),
		cmocka_unit_test(backend_names_round_trip),
		cmocka_unit_test(backend_none_passes_without_network),
		cmocka_unit_test(bad_config_is_a_config_error),
		cmocka_unit_test(url_check_and_join_use_curl_url_api),
		cmocka_unit_test(refused_connection_is_unreachable_for_both_backends),
		cmocka_unit_test(out_of_memory_anywhere_fails_closed),
		cmocka_unit_test(parse_out_of_memory_is_enomem_not_malformed),
		cmocka_unit_test(status_json_uses_null_for_unknown),
	};

	/* jansson and libcurl allocate through pa_mem, as in the binary, so
	 * pa_mem_fail_after reaches them. */
	if (pa_mem_route_libs() != PA_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

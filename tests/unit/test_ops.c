/* test_ops — the operator-facing pieces of issue #13 without processes:
 * journal priorities (hal/pa_log), the attention reasons from a heartbeat
 * document at a fixed time (agent/daemon/attn) and the metrics file
 * (agent/daemon/metrics). */
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

#include "agent/core/config.h"
#include "agent/daemon/attn.h"
#include "agent/daemon/metrics.h"
#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_log.h"

/* 2026-11-26T05:00:00Z */
#define NOW_MS (1795669200LL * 1000)

/* Run pa_log with stderr on a temp file; journal = set JOURNAL_STREAM to
 * that file (as systemd does), or to another stream. Returns the text. */
static char *
logged(int journal, int level, void (*fn)(void))
{
	char path[] = "/tmp/test_ops_log_XXXXXX", env[64];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct stat st;
	char *buf = calloc(1, 4096);
	FILE *f;

	assert_true(fd >= 0 && saved >= 0 && buf != NULL);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	fstat(fd, &st);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	    journal ? (unsigned long long)st.st_ino : 1ULL);
	setenv("JOURNAL_STREAM", env, 1);
	pa_log_reset();
	pa_log_set_level(level);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	pa_log_reset();
	pa_log_set_level(PA_LOG_INFO);
	f = fdopen(fd, "r");
	rewind(f);
	(void)fread(buf, 1, 4095, f);
	fclose(f);
	unlink(path);
	return buf;
}

static void
three_lines(void)
{
	pa_log(PA_LOG_ERR, "job %s failed", "IMP/00001");
	pa_log(PA_LOG_WARNING, "HQ %s is offline", "https://hq");
	pa_log(PA_LOG_INFO, "a.csv -> archive/");
}

static void
journal_lines_carry_the_priority_and_no_timestamp(void **state)
{
	char *out = logged(1, PA_LOG_INFO, three_lines);

	(void)state;
	assert_string_equal(out, "<3>error: job IMP/00001 failed\n"
	    "<4>warning: HQ https://hq is offline\n<6>a.csv -> archive/\n");
	free(out);
}

static void
elsewhere_lines_carry_a_timestamp(void **state)
{
	char *out = logged(0, PA_LOG_INFO, three_lines);

	(void)state;
	/* An inherited JOURNAL_STREAM naming another file is not ours. */
	assert_null(strchr(out, '<'));
	assert_non_null(strstr(out, "Z posagent: error: job IMP/00001 failed\n"));
	assert_non_null(strstr(out, "Z posagent: a.csv -> archive/\n"));
	free(out);
}

static void
quiet_keeps_warnings_and_errors(void **state)
{
	char *out = logged(1, PA_LOG_WARNING, three_lines);

	(void)state;
	assert_string_equal(out, "<3>error: job IMP/00001 failed\n"
	    "<4>warning: HQ https://hq is offline\n");
	free(out);
}

static struct pa_config *
cfg_for(const char *data_dir)
{
	static struct pa_config cfg;

	assert_int_equal(config_load(&cfg, NULL, 0), PA_OK);
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", data_dir);
	return &cfg;
}

static json_t *
doc_with(const char *kkt, const char *hq_state, const char *since,
    long long depth, const char *oldest, long long free_bytes)
{
	json_t *d = json_pack("{s:s,s:s,s:o,s:{s:I,s:s?,s:I,s:I},s:I,s:s,"
	    "s:{s:b,s:s?,s:s?}}", "agent_id", "store-1", "version", "0.1.0",
	    "kkt", json_loads(kkt, 0, NULL),
	    "outbox", "depth", (json_int_t)depth, "oldest_ts", oldest,
	    "dead_letters", (json_int_t)0, "dropped_log_events", (json_int_t)0,
	    "disk_free_bytes", (json_int_t)free_bytes, "hq_state", hq_state,
	    "sync", "enabled", 1, "hq_state_since", since, "last_error", NULL);

	assert_non_null(d);
	return d;
}

static const char *
reason(json_t *arr, size_t i)
{
	return json_string_value(json_object_get(json_array_get(arr, i),
	    "reason"));
}

static void
nothing_needs_attention_on_a_healthy_doc(void **state)
{
	json_t *d = doc_with("{\"verdict\":\"synced\",\"refusing\":null}",
	    "online", "2026-11-26T04:00:00.000Z", 3, "2026-11-26T04:59:00.000Z",
	    10LL << 30), *r;

	(void)state;
	r = attn_reasons(cfg_for("/nonexistent"), d, NOW_MS);
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	json_decref(d);
}

static void
every_reason_at_its_limit(void **state)
{
	struct pa_config *c = cfg_for("/nonexistent");
	json_t *d, *r;

	(void)state;
	/* One second over each default limit (3600 s, 86400 s, 512 MiB). */
	d = doc_with("{\"verdict\":\"not_synced\",\"reason\":\"3 pending\","
	    "\"refusing\":{\"since\":\"2026-11-26T03:59:59.000Z\","
	    "\"refusals\":7}}", "offline", "2026-11-26T03:59:59.000Z", 1,
	    "2026-11-25T04:59:59.000Z", 511LL << 20);
	r = attn_reasons(c, d, NOW_MS);
	assert_int_equal(json_array_size(r), 4);
	assert_string_equal(reason(r, 0), "kkt_gate_refusing");
	assert_string_equal(reason(r, 1), "hq_offline");
	assert_string_equal(reason(r, 2), "outbox_backlog");
	assert_string_equal(reason(r, 3), "disk_low");
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_array_get(r, 0), "message")), "7 refusals"));
	json_decref(r);
	json_decref(d);
	/* Exactly at the limits: not yet. */
	d = doc_with("{\"verdict\":\"not_synced\",\"refusing\":{\"since\":"
	    "\"2026-11-26T04:00:00.000Z\",\"refusals\":1}}", "offline",
	    "2026-11-26T04:00:00.000Z", 100000, "2026-11-25T05:00:00.000Z",
	    512LL << 20);
	r = attn_reasons(c, d, NOW_MS);
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	json_decref(d);
}

static void
an_open_gate_is_not_a_reason_whatever_its_history(void **state)
{
	json_t *d = doc_with("{\"verdict\":\"synced\",\"refusing\":{\"since\":"
	    "\"2026-11-20T00:00:00.000Z\",\"refusals\":99}}", "online", NULL, 0,
	    NULL, 10LL << 30), *r;

	(void)state;
	r = attn_reasons(cfg_for("/nonexistent"), d, NOW_MS);
	assert_int_equal(json_array_size(r), 0);
	json_decref(r);
	json_decref(d);
}

static void
metrics_file_is_the_exposition_format(void **state)
{
	char dir[] = "/tmp/test_ops_met_XXXXXX", path[64], text[8192];
	json_t *d, *counts, *r;
	FILE *f;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/posagent.prom", dir);
	d = doc_with("{\"verdict\":\"not_synced\",\"pending\":3,\"refusing\":"
	    "{\"since\":\"2026-11-26T03:00:00.000Z\",\"refusals\":7,"
	    "\"refusing_s\":7200}}", "online", NULL, 4,
	    "2026-11-26T04:59:30.000Z", 10LL << 30);
	counts = json_pack("{s:{s:i,s:i},s:I}", "by_state", "done", 2, "failed",
	    1, "rows_imported", (json_int_t)1234);
	r = attn_reasons(cfg_for("/nonexistent"), d, NOW_MS);
	assert_int_equal(met_write(path, d, counts, r, NOW_MS), PA_OK);
	f = fopen(path, "r");
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_non_null(strstr(text, "# TYPE posagent_rows_imported_total "
	    "counter\nposagent_rows_imported_total 1234\n"));
	assert_non_null(strstr(text, "posagent_jobs{state=\"done\"} 2\n"));
	assert_non_null(strstr(text, "posagent_kkt_pending_receipts 3\n"));
	assert_non_null(strstr(text, "posagent_kkt_gate_refusals 7\n"));
	assert_non_null(strstr(text, "posagent_kkt_gate_refusing_seconds 7200\n"));
	assert_non_null(strstr(text, "posagent_outbox_oldest_age_seconds 30\n"));
	assert_non_null(strstr(text, "posagent_hq_online 1\n"));
	assert_non_null(strstr(text,
	    "posagent_attention{reason=\"kkt_gate_refusing\"} 1\n"));
	assert_non_null(strstr(text, "posagent_attention{reason=\"disk_low\"} 0\n"));
	unlink(path);
	rmdir(dir);
	json_decref(r);
	json_decref(counts);
	json_decref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(journal_lines_carry_the_priority_and_no_timestamp),
		cmocka_unit_test(elsewhere_lines_carry_a_timestamp),
		cmocka_unit_test(quiet_keeps_warnings_and_errors),
		cmocka_unit_test(nothing_needs_attention_on_a_healthy_doc),
		cmocka_unit_test(every_reason_at_its_limit),
		cmocka_unit_test(an_open_gate_is_not_a_reason_whatever_its_history),
		cmocka_unit_test(metrics_file_is_the_exposition_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

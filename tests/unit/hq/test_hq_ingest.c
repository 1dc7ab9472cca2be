/* test_hq_ingest — posagent-hq's receiving half without the network: the
 * exact validation of an events batch (each refusal names its field,
 * nothing stored), and the store's rules on a real SQLite file: resends
 * count once, an older snapshot never overwrites a newer one, retention's
 * mark keeps a late resend out; heartbeats merged in memory (hq_hb) store
 * what writing them one by one would have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal/pa_err.h"
#include "hq/hq_db.h"
#include "hq/hq_hb.h"
#include "hq/hq_ingest.h"
#include "hq/hq_store.h"

#define NOW 1796000000000LL     /* 2026-12-01 */

static char path[64];

static int
setup(void **state)
{
	hq_db *db = NULL;

	snprintf(path, sizeof(path), "/tmp/test_hq_ingest.%d.db", (int)getpid());
	unlink(path);
	if (hq_db_open(path, 1000, &db) != PA_OK || hq_store_migrate(db) != PA_OK ||
	    hq_store_agent_add(db, "s1", NULL, 0, NOW) != PA_OK)
		return -1;
	*state = db;
	return 0;
}

static int
teardown(void **state)
{
	char p[80];

	hq_db_close(*state);
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	return 0;
}

static int64_t
count(hq_db *db, const char *sql)
{
	hq_rows *r = NULL;
	int64_t n;

	assert_int_equal(hq_db_exec(db, sql, NULL, 0, &r, NULL), PA_OK);
	n = hq_rows_int(r, 0, 0);
	hq_rows_free(r);
	return n;
}

static void
post(hq_db *db, const char *body, int status, long long ack, const char *err)
{
	struct hq_ingest_result res;

	assert_int_equal(hq_ingest_events(db, "s1", body, strlen(body), NOW, &res),
	    PA_OK);
	if (res.status != status)
		fail_msg("status %d (%s), expected %d for %s", res.status,
		    res.error, status, body);
	if (status == 200)
		assert_int_equal(res.ack, ack);
	if (err && strstr(res.error, err) == NULL)
		fail_msg("error '%s' does not name '%s'", res.error, err);
}

#define JOB(seq, uuid, state) "{\"seq\":" #seq ",\"type\":\"job\",\"ts\":" \
	"\"2026-11-26T05:00:00.000Z\",\"data\":{\"uuid\":\"" uuid "\"," \
	"\"name\":\"IMP/00001\",\"state\":\"" state "\"}}"
#define LOG(seq) "{\"seq\":" #seq ",\"type\":\"log\",\"ts\":" \
	"\"2026-11-26T05:00:01Z\",\"data\":{\"job_uuid\":\"u\",\"level\":" \
	"\"error\",\"message\":\"m\",\"row_number\":3,\"row_data\":{\"a\":\"b\"}}}"
#define BATCH(evs) "{\"agent_id\":\"s1\",\"events\":[" evs "]}"

static void
refusals_name_the_field_and_store_nothing(void **state)
{
	hq_db *db = *state;

	post(db, "{", 400, 0, "body is not JSON");
	post(db, "[]", 400, 0, "not a JSON object");
	post(db, "{\"events\":[]}", 400, 0, "agent_id: missing");
	post(db, "{\"agent_id\":\"s2\",\"events\":[]}", 400, 0, "does not match");
	post(db, "{\"agent_id\":\"s1\",\"agent_id\":\"s1\",\"events\":[]}", 400, 0,
	    "duplicate");
	post(db, "{\"agent_id\":\"s1\",\"events\":{}}", 400, 0, "events: missing");
	post(db, BATCH(JOB(1, "u", "done") ",1"), 400, 0, "events[1]: not an object");
	post(db, BATCH(JOB(2, "u", "done") "," JOB(2, "v", "done")), 400, 0,
	    "events[1].seq");
	post(db, BATCH("{\"seq\":0,\"type\":\"job\",\"ts\":\"x\",\"data\":{}}"),
	    400, 0, "events[0].seq");
	post(db, BATCH("{\"seq\":1,\"type\":\"Job!\",\"ts\":\"x\",\"data\":{}}"),
	    400, 0, "(seq 1).type");
	post(db, BATCH("{\"seq\":1,\"type\":\"job\",\"ts\":\"26.11.2026\","
	    "\"data\":{}}"), 400, 0, "(seq 1).ts");
	post(db, BATCH("{\"seq\":1,\"type\":\"job\",\"ts\":\"2026-11-26T05:00:00Z\","
	    "\"data\":null}"), 400, 0, "(seq 1).data");
	post(db, BATCH("{\"seq\":1,\"type\":\"job\",\"ts\":\"2026-11-26T05:00:00Z\","
	    "\"data\":{\"uuid\":\"u\",\"name\":\"n\"}}"), 400, 0, "data.state");
	post(db, BATCH("{\"seq\":1,\"type\":\"log\",\"ts\":\"2026-11-26T05:00:00Z\","
	    "\"data\":{\"job_uuid\":\"u\",\"level\":\"e\",\"message\":\"m\","
	    "\"row_number\":-1}}"), 400, 0, "data.row_number");
	post(db, BATCH("{\"seq\":1,\"type\":\"log\",\"ts\":\"2026-11-26T05:00:00Z\","
	    "\"data\":{\"job_uuid\":\"u\",\"level\":\"e\",\"message\":\"m\","
	    "\"row_number\":1,\"row_data\":[1]}}"), 400, 0, "data.row_data");
	/* A good event before a bad one: all or nothing. */
	post(db, BATCH(JOB(1, "u", "done") "," "{\"seq\":2}"), 400, 0, "events[1]");
	assert_int_equal(count(db, "SELECT count(*) FROM hq_event"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM hq_job"), 0);
}

static void
resends_count_once(void **state)
{
	hq_db *db = *state;

	post(db, BATCH(JOB(1, "u", "running") "," LOG(2) "," LOG(3)), 200, 3, NULL);
	post(db, BATCH(JOB(1, "u", "running") "," LOG(2) "," LOG(3)), 200, 3, NULL);
	post(db, BATCH(LOG(3) "," LOG(4)), 200, 4, NULL);
	post(db, BATCH(""), 200, 4, NULL); /* the probe: highest stored */
	assert_int_equal(count(db, "SELECT count(*) FROM hq_event"), 4);
	assert_int_equal(count(db, "SELECT count(*) FROM hq_log"), 3);
	/* Unknown types (a newer agent) go to the ledger only. */
	post(db, BATCH("{\"seq\":5,\"type\":\"file_step\",\"ts\":"
	    "\"2026-11-26T05:00:00Z\",\"data\":{}}"), 200, 5, NULL);
	assert_int_equal(count(db, "SELECT count(*) FROM hq_event"), 5);
}

static void
older_snapshot_never_overwrites(void **state)
{
	hq_db *db = *state;
	hq_rows *r = NULL;

	post(db, BATCH(JOB(10, "u", "done")), 200, 10, NULL);
	post(db, BATCH(JOB(7, "u", "running")), 200, 7, NULL);
	assert_int_equal(hq_store_job(db, "s1", "u", &r), PA_OK);
	assert_non_null(strstr(hq_rows_text(r, 0, 0), "\"done\""));
	hq_rows_free(r);
	post(db, BATCH(JOB(11, "u", "reverted")), 200, 11, NULL);
	assert_int_equal(count(db, "SELECT count(*) FROM hq_job WHERE state = "
	    "'reverted'"), 1);
}

static void
retention_mark_keeps_late_resends_out(void **state)
{
	hq_db *db = *state;
	long del = 0;

	post(db, BATCH(JOB(1, "u", "done") "," LOG(2) "," LOG(3)), 200, 3, NULL);
	/* 2026-11-26 is 5 days before NOW: a 1-day log retention drops them. */
	assert_int_equal(hq_store_retention(db, 0, 1, NOW, &del), PA_OK);
	assert_int_equal(del, 2);
	assert_int_equal(count(db, "SELECT count(*) FROM hq_log"), 0);
	assert_int_equal(count(db, "SELECT pruned_seq FROM hq_agent"), 3);
	post(db, BATCH(LOG(2) "," LOG(3)), 200, 3, NULL);
	assert_int_equal(count(db, "SELECT count(*) FROM hq_log"), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM hq_job"), 1);
}

/* Validate a heartbeat received at now; with hb, hand it to the
 * in-memory table, else store it at once. */
static int
heartbeat(hq_db *db, hq_hb *hb, const char *body, int64_t now)
{
	struct hq_ingest_result res;
	struct hq_hb_row row;

	assert_int_equal(hq_ingest_heartbeat("s1", body, strlen(body), now, &row,
	    &res), PA_OK);
	if (res.status != 200)
		return res.status;
	if (hb)
		assert_int_equal(hq_hb_put(hb, &row), PA_OK);
	else
		assert_int_equal(hq_store_heartbeats(db, &row, 1), PA_OK);
	free(row.doc); /* NULL once transferred */
	return 200;
}

static void
heartbeat_gate_state(void **state)
{
	hq_db *db = *state;
	hq_rows *a = NULL, *l = NULL;
	static const char bad[] = "{\"agent_id\":\"s1\",\"kkt\":{\"backend\":"
	    "\"atol\",\"verdict\":\"not_synced\",\"refusing\":{\"since\":"
	    "\"2026-11-25T10:00:00Z\",\"refusals\":4}},\"outbox\":{\"depth\":1,"
	    "\"dead_letters\":2}}";
	static const char ok[] = "{\"agent_id\":\"s1\",\"kkt\":{\"backend\":"
	    "\"atol\",\"verdict\":\"synced\",\"refusing\":null}}";

	assert_int_equal(heartbeat(db, NULL, bad, NOW), 200);
	assert_int_equal(hq_store_agents(db, "s1", &a, &l), PA_OK);
	assert_int_equal(hq_rows_int(a, 0, 3), 1795600800000LL);
	assert_int_equal(hq_rows_int(a, 0, 4), 4);
	assert_int_equal(hq_rows_int(a, 0, 5), 2);
	hq_rows_free(a);
	hq_rows_free(l);
	assert_int_equal(heartbeat(db, NULL, ok, NOW), 200);
	assert_int_equal(hq_store_agents(db, "s1", &a, &l), PA_OK);
	assert_null(hq_rows_text(a, 0, 3));
	assert_int_equal(hq_rows_int(a, 0, 4), 0);
	hq_rows_free(a);
	hq_rows_free(l);
	assert_int_equal(heartbeat(db, NULL, "{\"agent_id\":\"s1\","
	    "\"kkt\":7}", NOW), 400);
}

/* HQ's own account of a refusal streak (no kkt.refusing from the agent),
 * heartbeats merged before the flusher writes them: the streak's "since"
 * is the first refusing heartbeat's, and one that is not refusing in
 * between starts a new streak; an older heartbeat never overwrites a
 * newer one. */
static void
merged_heartbeats_keep_the_streak(void **state)
{
	hq_db *db = *state;
	hq_hb *hb = NULL;
	hq_rows *a = NULL, *l = NULL;
	static const char refusing[] = "{\"agent_id\":\"s1\",\"kkt\":"
	    "{\"backend\":\"atol\",\"verdict\":\"not_synced\"}}";
	static const char synced[] = "{\"agent_id\":\"s1\",\"kkt\":"
	    "{\"backend\":\"atol\",\"verdict\":\"synced\"}}";

	/* A flush interval no test waits for: the test flushes itself. */
	assert_int_equal(hq_hb_start(path, 1000, 3600000, &hb), PA_OK);
	assert_int_equal(heartbeat(db, hb, refusing, NOW), 200);
	assert_int_equal(heartbeat(db, hb, refusing, NOW + 1000), 200);
	assert_int_equal(hq_hb_flush(hb, db), PA_OK);
	assert_int_equal(hq_store_agents(db, "s1", &a, &l), PA_OK);
	assert_int_equal(hq_rows_int(a, 0, 1), NOW + 1000);
	assert_int_equal(hq_rows_int(a, 0, 3), NOW);
	hq_rows_free(a);
	hq_rows_free(l);
	/* Stored streak since NOW; then synced, refusing again: merged. */
	assert_int_equal(heartbeat(db, hb, synced, NOW + 2000), 200);
	assert_int_equal(heartbeat(db, hb, refusing, NOW + 3000), 200);
	assert_int_equal(heartbeat(db, hb, refusing, NOW + 4000), 200);
	/* A late one from before (put back after a failed write). */
	assert_int_equal(heartbeat(db, hb, synced, NOW + 500), 200);
	assert_int_equal(hq_hb_flush(hb, db), PA_OK);
	assert_int_equal(hq_store_agents(db, "s1", &a, &l), PA_OK);
	assert_int_equal(hq_rows_int(a, 0, 1), NOW + 4000);
	assert_int_equal(hq_rows_int(a, 0, 3), NOW + 3000);
	hq_rows_free(a);
	hq_rows_free(l);
	/* Already stored: an older heartbeat changes nothing. */
	assert_int_equal(heartbeat(db, NULL, synced, NOW + 100), 200);
	assert_int_equal(hq_store_agents(db, "s1", &a, &l), PA_OK);
	assert_int_equal(hq_rows_int(a, 0, 3), NOW + 3000);
	hq_rows_free(a);
	hq_rows_free(l);
	hq_hb_stop(hb);
}

/* The "store failing" answer is as old as the writer's last try: a
 * heartbeat that comes once the store is back is written by a try made
 * for it and accepted, not refused with the stale flag until the next
 * flush interval (the flaky 503 after a PostgreSQL restart). */
static void
heartbeat_after_the_store_is_back_is_accepted(void **state)
{
	hq_db *db = *state, *bad = NULL;
	hq_hb *hb = NULL;
	hq_rows *a = NULL, *l = NULL;
	char bpath[80];
	static const char synced[] = "{\"agent_id\":\"s1\",\"kkt\":"
	    "{\"backend\":\"atol\",\"verdict\":\"synced\"}}";

	/* A store without HQ's tables: every write of heartbeats fails. */
	snprintf(bpath, sizeof(bpath), "%s.bad", path);
	unlink(bpath);
	assert_int_equal(hq_db_open(bpath, 1000, &bad), PA_OK);
	/* A flush interval no test waits for. */
	assert_int_equal(hq_hb_start(path, 1000, 3600000, &hb), PA_OK);
	assert_int_equal(heartbeat(db, hb, synced, NOW), 200);
	assert_int_not_equal(hq_hb_flush(hb, bad), PA_OK);
	/* The store (path) is fine: the next heartbeat is stored, with the
	 * one kept from the failed write folded into it. */
	assert_int_equal(heartbeat(db, hb, synced, NOW + 1000), 200);
	assert_int_equal(hq_store_agents(db, "s1", &a, &l), PA_OK);
	assert_int_equal(hq_rows_int(a, 0, 1), NOW + 1000);
	hq_rows_free(a);
	hq_rows_free(l);
	hq_hb_stop(hb);
	hq_db_close(bad);
	unlink(bpath);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(refusals_name_the_field_and_store_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(resends_count_once, setup, teardown),
		cmocka_unit_test_setup_teardown(older_snapshot_never_overwrites,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(retention_mark_keeps_late_resends_out,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(heartbeat_gate_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(merged_heartbeats_keep_the_streak,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    heartbeat_after_the_store_is_back_is_accepted, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

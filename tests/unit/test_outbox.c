/* test_outbox — the HQ outbox on an in-memory agent.db: put/peek order,
 * ack, dead letters, the size cap (drops oldest log events, never job
 * events), stats, persisted state, the request body built from a batch, and
 * every allocation failure on the way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "sync/outbox.h"
#include "sync/sync_int.h"

struct fx {
	sqlite3 *db;
	outbox *ob;
};

static int
setup(void **state)
{
	struct fx *f = pa_calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
	assert_int_equal(outbox_schema(f->db), PA_OK);
	assert_int_equal(outbox_open(f->db, &f->ob), PA_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	pa_mem_fail_after(-1);
	outbox_close(f->ob);
	sqlite3_close(f->db);
	pa_free(f);
	return 0;
}

static void
put(struct fx *f, const char *type, int i)
{
	char ts[40];
	json_t *d = json_pack("{s:i,s:s}", "i", i, "msg", "строка «ok»");

	snprintf(ts, sizeof(ts), "2026-11-26T05:00:%02d.%03dZ", i % 60, i % 1000);
	assert_int_equal(outbox_put(f->ob, type, ts, d), PA_OK);
	json_decref(d);
}

static struct outbox_stats
stats(struct fx *f)
{
	struct outbox_stats s;

	assert_int_equal(outbox_stats(f->ob, &s), PA_OK);
	return s;
}

static void
schema_is_idempotent(void **state)
{
	struct fx *f = *state;

	put(f, "job", 1);
	assert_int_equal(outbox_schema(f->db), PA_OK);
	assert_int_equal(stats(f).depth, 1);
	assert_int_equal(stats(f).cap, OUTBOX_DEFAULT_CAP);
}

static void
peek_returns_events_in_seq_order(void **state)
{
	struct fx *f = *state;
	struct outbox_batch b;
	json_t *d;
	size_t i;

	memset(&b, 0, sizeof(b));
	for (i = 0; i < 10; i++)
		put(f, i % 3 ? "log" : "job", (int)i);
	assert_int_equal(outbox_peek(f->ob, 0, -1, 100, 1 << 20, &b), PA_OK);
	assert_int_equal(b.n, 10);
	for (i = 0; i < b.n; i++) {
		assert_int_equal(b.ev[i].seq, (long long)i + 1);
		assert_string_equal(b.ev[i].type, i % 3 ? "log" : "job");
		d = json_loads(b.ev[i].data, 0, NULL);
		assert_non_null(d);
		assert_int_equal(json_integer_value(json_object_get(d, "i")), i);
		assert_string_equal(json_string_value(json_object_get(d, "msg")),
		    "строка «ok»");
		json_decref(d);
	}
	assert_string_equal(b.ev[3].ts, "2026-11-26T05:00:03.003Z");
	/* Window: after 3, at most 4, up to seq 6. */
	assert_int_equal(outbox_peek(f->ob, 3, 6, 4, 1 << 20, &b), PA_OK);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.ev[0].seq, 4);
	assert_int_equal(b.ev[2].seq, 6);
	assert_int_equal(outbox_peek(f->ob, 0, -1, 4, 1 << 20, &b), PA_OK);
	assert_int_equal(b.n, 4);
	/* A byte budget smaller than one event still yields one. */
	assert_int_equal(outbox_peek(f->ob, 0, -1, 100, 1, &b), PA_OK);
	assert_int_equal(b.n, 1);
	assert_int_equal(outbox_peek(f->ob, 10, -1, 100, 1 << 20, &b), PA_OK);
	assert_int_equal(b.n, 0);
	outbox_batch_free(&b);
	outbox_batch_free(&b);      /* idempotent */
}

static void
put_refuses_bad_arguments(void **state)
{
	struct fx *f = *state;
	json_t *obj = json_object(), *arr = json_array();

	assert_int_equal(outbox_put(f->ob, "foo", "2026-11-26T05:00:00.000Z", obj),
	    PA_EINVAL);
	assert_int_equal(outbox_put(f->ob, NULL, "2026-11-26T05:00:00.000Z", obj),
	    PA_EINVAL);
	assert_int_equal(outbox_put(f->ob, "job", "2026-11-26\"05", obj),
	    PA_EINVAL);
	assert_int_equal(outbox_put(f->ob, "job", "", obj), PA_EINVAL);
	assert_int_equal(outbox_put(f->ob, "job", NULL, obj), PA_EINVAL);
	assert_int_equal(outbox_put(f->ob, "job", "2026-11-26T05:00:00.000Z",
	    arr), PA_EINVAL);
	assert_int_equal(outbox_put(f->ob, "job", "2026-11-26T05:00:00.000Z",
	    NULL), PA_EINVAL);
	assert_int_equal(stats(f).depth, 0);
	json_decref(obj);
	json_decref(arr);
}

static void
ack_deletes_up_to_seq_and_seq_is_never_reused(void **state)
{
	struct fx *f = *state;
	struct outbox_batch b;
	long long removed;
	int i;

	memset(&b, 0, sizeof(b));
	for (i = 0; i < 10; i++)
		put(f, "log", i);
	assert_int_equal(outbox_ack(f->ob, 5, &removed), PA_OK);
	assert_int_equal(removed, 5);
	assert_int_equal(stats(f).depth, 5);
	assert_int_equal(outbox_peek(f->ob, 0, -1, 100, 1 << 20, &b), PA_OK);
	assert_int_equal(b.ev[0].seq, 6);
	assert_int_equal(outbox_ack(f->ob, 5, &removed), PA_OK);    /* again */
	assert_int_equal(removed, 0);
	assert_int_equal(outbox_ack(f->ob, 100, NULL), PA_OK);
	assert_int_equal(stats(f).depth, 0);
	assert_string_equal(stats(f).oldest_ts, "");
	put(f, "job", 11);
	assert_int_equal(outbox_peek(f->ob, 0, -1, 100, 1 << 20, &b), PA_OK);
	assert_int_equal(b.ev[0].seq, 11);
	assert_int_equal(stats(f).last_seq, 11);
	outbox_batch_free(&b);
}

static void
dead_letter_moves_one_event(void **state)
{
	struct fx *f = *state;
	json_t *dead = NULL;
	struct outbox_batch b;
	int i;

	memset(&b, 0, sizeof(b));
	for (i = 0; i < 5; i++)
		put(f, "log", i);
	assert_int_equal(outbox_dead_letter(f->ob, 3, "HTTP 400: bad row"), PA_OK);
	assert_int_equal(stats(f).depth, 4);
	assert_int_equal(stats(f).dead, 1);
	assert_int_equal(outbox_peek(f->ob, 0, -1, 100, 1 << 20, &b), PA_OK);
	assert_int_equal(b.n, 4);
	assert_int_equal(b.ev[2].seq, 4);
	assert_int_equal(outbox_dead_json(f->ob, 10, &dead), PA_OK);
	assert_int_equal(json_array_size(dead), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(dead,
	    0), "seq")), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(dead,
	    0), "reason")), "HTTP 400: bad row");
	json_decref(dead);
	/* Already gone (acked meanwhile): nothing to do, not an error. */
	assert_int_equal(outbox_dead_letter(f->ob, 3, "again"), PA_OK);
	assert_int_equal(outbox_dead_letter(f->ob, 99, "never was"), PA_OK);
	assert_int_equal(stats(f).dead, 1);
	outbox_batch_free(&b);
}

static void
cap_drops_oldest_log_events_never_jobs(void **state)
{
	struct fx *f = *state;
	struct outbox_batch b;
	struct outbox_stats s;
	size_t i, jobs = 0;
	int k;

	memset(&b, 0, sizeof(b));
	assert_int_equal(outbox_set_cap(f->ob, 10), PA_OK);
	/* 1 job then 4 logs, five times: 25 events, 5 jobs. */
	for (k = 0; k < 25; k++) {
		put(f, k % 5 == 0 ? "job" : "log", k);
		assert_true(stats(f).depth <= 10);
	}
	s = stats(f);
	assert_int_equal(s.depth, 10);
	assert_int_equal(s.dropped, 15);
	assert_int_equal(outbox_peek(f->ob, 0, -1, 100, 1 << 20, &b), PA_OK);
	for (i = 0; i < b.n; i++)
		jobs += strcmp(b.ev[i].type, "job") == 0;
	assert_int_equal(jobs, 5);
	/* The logs kept are the newest ones: seqs 22..25 are logs. */
	assert_int_equal(b.ev[b.n - 1].seq, 25);
	assert_int_equal(b.ev[b.n - 4].seq, 22);
	outbox_batch_free(&b);
}

static void
cap_never_drops_job_events_even_when_over(void **state)
{
	struct fx *f = *state;
	int k;

	assert_int_equal(outbox_set_cap(f->ob, 3), PA_OK);
	for (k = 0; k < 8; k++)
		put(f, "job", k);
	assert_int_equal(stats(f).depth, 8);
	assert_int_equal(stats(f).dropped, 0);
	/* A log event beyond the cap is the one dropped. */
	put(f, "log", 9);
	assert_int_equal(stats(f).depth, 8);
	assert_int_equal(stats(f).dropped, 1);
	assert_int_equal(outbox_set_cap(f->ob, 0), PA_EINVAL);
}

static void
depth_counts_rows_written_by_others(void **state)
{
	struct fx *f = *state;

	put(f, "log", 1);
	assert_int_equal(sqlite3_exec(f->db, "INSERT INTO outbox(type, ts, data) "
	    "VALUES ('job', '2026-11-26T05:00:00.000Z', '{}'), "
	    "('log', '2026-11-26T05:00:01.000Z', '{}')", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(stats(f).depth, 3);
	assert_int_equal(stats(f).log_depth, 2);
	assert_string_equal(stats(f).oldest_ts, "2026-11-26T05:00:01.001Z");
	assert_int_equal(sqlite3_exec(f->db, "DELETE FROM outbox WHERE type='job'",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(stats(f).depth, 2);
}

/* The producer's transaction decides: a rolled-back change leaves no event. */
static void
put_follows_the_callers_transaction(void **state)
{
	struct fx *f = *state;

	assert_int_equal(sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	put(f, "job", 1);
	assert_int_equal(sqlite3_exec(f->db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(stats(f).depth, 0);
	assert_int_equal(sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	put(f, "job", 2);
	assert_int_equal(sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(stats(f).depth, 1);
}

static void
state_round_trips(void **state)
{
	struct fx *f = *state;
	char buf[64], tiny[4];

	assert_int_equal(outbox_state_get(f->ob, "nope", buf, sizeof(buf)), PA_OK);
	assert_string_equal(buf, "");
	assert_int_equal(outbox_state_set(f->ob, "k", "value-1"), PA_OK);
	assert_int_equal(outbox_state_set(f->ob, "k", "value-2"), PA_OK);
	assert_int_equal(outbox_state_get(f->ob, "k", buf, sizeof(buf)), PA_OK);
	assert_string_equal(buf, "value-2");
	assert_int_equal(outbox_state_get(f->ob, "k", tiny, sizeof(tiny)),
	    PA_ELIMIT);
}

/* The request body is valid JSON whatever a (foreign) row's ts holds. */
static void
events_body_is_valid_json(void **state)
{
	struct fx *f = *state;
	struct outbox_batch b;
	struct sync_buf body = { NULL, 0, 0 };
	json_t *doc, *evs;

	(void)f;
	memset(&b, 0, sizeof(b));
	put(f, "job", 1);
	put(f, "log", 2);
	assert_int_equal(sqlite3_exec(f->db, "INSERT INTO outbox(type, ts, data) "
	    "VALUES ('log', 'bad\"ts\\\n' || char(1), '{\"x\":[1,2]}')", NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(outbox_peek(f->ob, 0, -1, 100, 1 << 20, &b), PA_OK);
	assert_int_equal(sync__events_body(&body, "store-1", b.ev, b.n), PA_OK);
	doc = json_loads(body.p, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "agent_id")),
	    "store-1");
	evs = json_object_get(doc, "events");
	assert_int_equal(json_array_size(evs), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(evs, 1),
	    "seq")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(evs,
	    2), "ts")), "bad\"ts\\\n\001");
	json_decref(doc);
	/* The empty probe batch. */
	assert_int_equal(sync__events_body(&body, "store-1", NULL, 0), PA_OK);
	assert_string_equal(body.p, "{\"agent_id\":\"store-1\",\"events\":[]}");
	pa_free(body.p);
	outbox_batch_free(&b);
}

/* Fail every allocation in turn: each path must return PA_ENOMEM cleanly
 * (ASan reports a leak or a bad free). */
static void
allocation_failures_are_clean(void **state)
{
	struct fx *f = *state;
	struct outbox_batch b;
	outbox *ob2;
	json_t *big = json_pack("{s:s}", "pad", "0123456789012345678901234567890"
	    "1234567890123456789012345678901234567890");
	long n;
	int rc, k;

	memset(&b, 0, sizeof(b));
	for (k = 0; k < 70; k++)
		put(f, "log", k);
	for (n = 0; n < 200; n++) {
		pa_mem_fail_after(n);
		rc = outbox_open(f->db, &ob2);
		pa_mem_fail_after(-1);
		if (rc == PA_OK) {
			outbox_close(ob2);
			break;
		}
		assert_int_equal(rc, PA_ENOMEM);
	}
	for (n = 0; n < 200; n++) {
		pa_mem_fail_after(n);
		rc = outbox_peek(f->ob, 0, -1, 100, 1 << 20, &b);
		pa_mem_fail_after(-1);
		if (rc == PA_OK)
			break;
		assert_int_equal(rc, PA_ENOMEM);
		assert_int_equal(b.n, 0);
	}
	assert_int_equal(b.n, 70);
	assert_int_equal(outbox_open(f->db, &ob2), PA_OK);
	for (n = 0; n < 10; n++) {
		pa_mem_fail_after(n);
		rc = outbox_put(ob2, "log", "2026-11-26T05:00:00.000Z", big);
		pa_mem_fail_after(-1);
		if (rc == PA_OK)
			break;
		assert_int_equal(rc, PA_ENOMEM);
	}
	assert_int_equal(rc, PA_OK);
	outbox_close(ob2);
	outbox_batch_free(&b);
	json_decref(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(schema_is_idempotent),
		T(peek_returns_events_in_seq_order),
		T(put_refuses_bad_arguments),
		T(ack_deletes_up_to_seq_and_seq_is_never_reused),
		T(dead_letter_moves_one_event),
		T(cap_drops_oldest_log_events_never_jobs),
		T(cap_never_drops_job_events_even_when_over),
		T(depth_counts_rows_written_by_others),
		T(put_follows_the_callers_transaction),
		T(state_round_trips),
		T(events_body_is_valid_json),
		T(allocation_failures_are_clean),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_syncer — the drain loop's scheduling with a fixed clock and a seeded
 * jitter: backoff after each failure, the breaker opening after five and
 * letting one probe through 60 s later, hysteresis persisted for status.
 * HQ is a loopback port nobody listens on (refused at once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "sync/sync_int.h"

static int64_t fake_ms = 1000000;

static int64_t
fake_clock(void)
{
	return fake_ms;
}

struct fx {
	sqlite3 *db;
	outbox *ob;
	syncer *s;
	struct hq_config hq;
	char dir[64];
	int64_t (*mono)(void);
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct syncer_opts o;
	json_t *d = json_object();

	assert_non_null(f);
	f->mono = hal_sys.mono_ms;
	hal_sys.mono_ms = fake_clock;
	strcpy(f->dir, "/tmp/test_syncer.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
	assert_int_equal(outbox_schema(f->db), PA_OK);
	assert_int_equal(outbox_open(f->db, &f->ob), PA_OK);
	assert_int_equal(outbox_put(f->ob, "job", "2026-11-26T05:00:00.000Z", d),
	    PA_OK);
	json_decref(d);
	snprintf(f->hq.url, sizeof(f->hq.url), "http://127.0.0.1:1");
	f->hq.batch_max = 10;
	f->hq.timeout_ms = 2000;
	f->hq.heartbeat_s = 30;
	memset(&o, 0, sizeof(o));
	o.hq = &f->hq;
	o.agent_id = "store-1";
	o.version = "test";
	o.data_dir = f->dir;
	o.seed = 42;
	assert_int_equal(syncer_open(&o, f->ob, &f->s), PA_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char lock[128];

	syncer_close(f->s);
	outbox_close(f->ob);
	sqlite3_close(f->db);
	snprintf(lock, sizeof(lock), "%s/sync.lock", f->dir);
	unlink(lock);
	rmdir(f->dir);
	hal_sys.mono_ms = f->mono;
	free(f);
	return 0;
}

static void
failures_back_off_then_open_the_breaker(void **state)
{
	struct fx *f = *state;
	syncer *s = f->s;
	int64_t w;
	int i;

	for (i = 1; i <= RT_BREAKER_THRESHOLD; i++) {
		assert_int_equal(syncer_drain(s), PA_EHQ_UNAVAILABLE);
		assert_non_null(strstr(pa_err_msg(PA_EHQ_UNAVAILABLE),
		    "cannot connect"));
		w = sync__wait_ms(s);
		if (i < RT_BREAKER_THRESHOLD) {
			/* Full jitter within base * 2^(i-1). */
			assert_int_equal(s->br.state, RT_CLOSED);
			assert_true(w >= 0 && w <= 1000LL << (i - 1));
			/* Asking again before the backoff ends sends nothing. */
			if (w > 0) {
				assert_int_equal(syncer_drain(s), PA_EHQ_UNAVAILABLE);
				assert_non_null(strstr(pa_err_msg(PA_EHQ_UNAVAILABLE),
				    "next attempt in"));
			}
			fake_ms += w;
		}
	}
	assert_int_equal(s->br.state, RT_OPEN);
	assert_true(sync__wait_ms(s) >= RT_BREAKER_OPEN_MS);
	fake_ms += 59000;
	assert_int_equal(syncer_drain(s), PA_EHQ_UNAVAILABLE);
	assert_non_null(strstr(pa_err_msg(PA_EHQ_UNAVAILABLE), "circuit open"));
	/* 60 s after opening: one half-open probe, refused, open again. */
	fake_ms += 1000 + sync__wait_ms(s);
	assert_int_equal(syncer_drain(s), PA_EHQ_UNAVAILABLE);
	assert_non_null(strstr(pa_err_msg(PA_EHQ_UNAVAILABLE), "cannot connect"));
	assert_int_equal(s->br.state, RT_OPEN);
	assert_true(sync__wait_ms(s) >= RT_BREAKER_OPEN_MS - 1);
	/* Nothing was lost. */
	assert_int_equal(s->batch.n, 1);
}

static void
tick_schedules_by_the_backoff(void **state)
{
	struct fx *f = *state;
	int64_t wait = -1;

	assert_int_equal(syncer_tick(f->s, &wait), PA_EHQ_UNAVAILABLE);
	/* Next drain when the backoff allows, never later than the heartbeat
	 * (which was due at once and failed too). */
	assert_true(wait >= 0 && wait <= 2000);
	assert_true(wait <= 30000);
}

static void
offline_state_is_persisted(void **state)
{
	struct fx *f = *state;
	char buf[SYNC_STATE_MAX];
	json_t *doc;
	int i;

	/* Come online first (as if HQ had answered twice), then fail 3 times. */
	f->s->hy.online = 1;
	for (i = 0; i < 3; i++) {
		fake_ms += sync__wait_ms(f->s) + 1;
		assert_int_equal(syncer_drain(f->s), PA_EHQ_UNAVAILABLE);
	}
	assert_false(f->s->hy.online);
	assert_int_equal(outbox_state_get(f->ob, "sync", buf, sizeof(buf)), PA_OK);
	doc = json_loads(buf, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "hq_state")),
	    "offline");
	assert_non_null(strstr(json_string_value(json_object_get(doc,
	    "last_error")), "cannot connect"));
	json_decref(doc);
	assert_int_equal(syncer_status_json(f->s, &doc), PA_OK);
	assert_string_equal(json_string_value(json_object_get(doc, "hq_state")),
	    "offline");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc,
	    "outbox"), "depth")), 1);
	json_decref(doc);
}

/* Out of memory while loading the persisted state is not "no state"
 * (issue #11): the syncer is not made (PA_ENOMEM), so nothing saves an
 * empty state over the real one, and the stored text stays as it was.
 * Each allocation of syncer_open is failed in turn; jansson allocates
 * through pa_mem (main). */
static void
state_load_out_of_memory_keeps_the_state(void **state)
{
	static const char saved[] = "{\"auth_refused\":false,\"fails\":0,"
	    "\"hq_state\":\"online\",\"last_error\":\"\",\"last_error_at\":"
	    "\"\",\"last_error_code\":\"\",\"last_heartbeat\":\"\","
	    "\"last_ok\":\"2026-11-26T05:00:00.000Z\",\"loop_started\":\"\","
	    "\"oks\":2,\"since\":\"2026-11-26T04:00:00.000Z\"}";
	struct fx *f = *state;
	struct syncer_opts o;
	char buf[SYNC_STATE_MAX];
	syncer *s = NULL;
	int rc = PA_ENOMEM, hit = 0;
	long n;

	assert_int_equal(outbox_state_set(f->ob, "sync", saved), PA_OK);
	memset(&o, 0, sizeof(o));
	o.hq = &f->hq;
	o.agent_id = "store-1";
	o.version = "test";
	o.data_dir = f->dir;
	o.seed = 42;
	for (n = 0; n < 512 && rc != PA_OK; n++) {
		pa_mem_fail_after(n);
		rc = syncer_open(&o, f->ob, &s);
		pa_mem_fail_after(-1);
		if (rc != PA_OK) {
			assert_int_equal(rc, PA_ENOMEM);
			assert_null(s);
			hit++;
		}
	}
	assert_int_equal(rc, PA_OK);
	assert_true(hit > 0);
	/* Whatever run made it, the syncer holds the whole state... */
	assert_true(s->hy.online);
	assert_int_equal(s->hy.oks, 2);
	assert_string_equal(s->st.last_ok, "2026-11-26T05:00:00.000Z");
	assert_string_equal(s->st.since, "2026-11-26T04:00:00.000Z");
	syncer_close(s);
	/* ...and the stored text is untouched. */
	assert_int_equal(outbox_state_get(f->ob, "sync", buf, sizeof(buf)), PA_OK);
	assert_string_equal(buf, saved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(failures_back_off_then_open_the_breaker),
		T(tick_schedules_by_the_backoff),
		T(offline_state_is_persisted),
		T(state_load_out_of_memory_keeps_the_state),
#undef T
	};

	/* jansson, SQLite and libcurl allocate through pa_mem, as in the
	 * binary, so pa_mem_fail_after reaches them. */
	if (pa_mem_route_libs() != PA_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

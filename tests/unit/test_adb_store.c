/* agent.db's store modules (adb_job, adb_jobq, adb_prof) against a real
 * SQLite file in a temporary directory: rows round-trip, each statement is
 * prepared once per connection (a save loop must not prepare again), and
 * a read-only or damaged file or a failed allocation gives a PA code, never
 * a silently missing value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/import/job.h"
#include "agent/import/jobq.h"
#include "agent/store/adb.h"
#include "agent/store/adb_int.h"
#include "agent/store/adb_job.h"
#include "agent/store/adb_jobq.h"
#include "agent/store/adb_prof.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

struct fx {
	char dir[64];
	adb *a;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/pa-test-adb-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	if (adb_open(fx->dir, &fx->a) != PA_OK)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	pa_mem_fail_after(-1);
	adb_close(fx->a);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

/* A draft row made by the store alone, in its own transaction. */
static void
make_job(adb *a, const char *uuid, const char *profile, const char *file,
    const char *sha, struct job *j)
{
	assert_int_equal(adb_begin(a), PA_OK);
	assert_int_equal(adbj_create(a, uuid, profile, file, "utf-8", sha, 10,
	    "2026-11-01T00:00:00.000Z", j), PA_OK);
	assert_int_equal(adb_commit(a), PA_OK);
}

static void
job_rows_round_trip(void **state)
{
	struct fx *fx = *state;
	struct job j, k;
	enum job_state s;
	int found = 0, flag = -1;
	long total = -1;

	memset(&j, 0, sizeof(j));
	memset(&k, 0, sizeof(k));
	make_job(fx->a, "00000000-0000-4000-8000-000000000001", "P", "a.csv",
	    "aa", &j);
	assert_string_equal(j.name, "IMP/00001");
	assert_int_equal(j.state, JOB_DRAFT);
	assert_int_equal(adbj_find(fx->a, ADBJ_BY_NAME, "IMP/00001", 0, &k,
	    &found), PA_OK);
	assert_true(found);
	assert_true(k.id == j.id);
	assert_string_equal(k.file_name, "a.csv");

	j.state = JOB_RUNNING;
	j.processed_rows = 7;
	j.error_message = pa_strdup("boom");
	j.price_guard = json_pack("{s:i}", "matched", 3);
	assert_int_equal(adbj_save(fx->a, &j, 0), PA_OK);
	assert_int_equal(adbj_state(fx->a, j.id, &s), PA_OK);
	assert_int_equal(s, JOB_RUNNING);
	assert_int_equal(adbj_find(fx->a, ADBJ_BY_ID, NULL, j.id, &k, &found),
	    PA_OK);
	assert_int_equal(k.processed_rows, 7);
	assert_string_equal(k.error_message, "boom");
	assert_int_equal(json_integer_value(json_object_get(k.price_guard,
	    "matched")), 3);

	assert_int_equal(adbj_request_cancel(fx->a, j.id), PA_OK);
	assert_int_equal(adbj_cancel_flag(fx->a, j.id, &flag), PA_OK);
	assert_int_equal(flag, 1);
	assert_int_equal(adbj_log(fx->a, j.id, JOB_ERROR, 4, "bad row",
	    "{\"a\":1}", "2026-11-01T00:00:01.000Z"), PA_OK);
	assert_int_equal(adbq_log_count(fx->a, j.id, JOB_ERROR, &total), PA_OK);
	assert_int_equal(total, 1);
	assert_int_equal(adbq_log_count(fx->a, j.id, JOB_INFO, &total), PA_OK);
	assert_int_equal(total, 0);

	/* Deleting the job takes its log (foreign key cascade) and an id
	 * that is gone reads as "cancel" to a runner. */
	assert_int_equal(adbj_delete(fx->a, j.id), PA_OK);
	assert_int_equal(adbq_log_count(fx->a, j.id, -1, &total), PA_OK);
	assert_int_equal(total, 0);
	assert_int_equal(adbj_state(fx->a, j.id, &s), PA_ENOTFOUND);
	assert_int_equal(adbj_cancel_flag(fx->a, j.id, &flag), PA_OK);
	assert_int_equal(flag, 1);
	assert_int_equal(adbj_find(fx->a, ADBJ_BY_UUID, j.uuid, 0, &k, &found),
	    PA_OK);
	assert_false(found);
	job_clear(&j);
	job_clear(&k);
}

/* The live statement on a's connection whose text is that of id, or NULL. */
static sqlite3_stmt *
live_stmt(adb *a, enum adb__sql id)
{
	sqlite3_stmt *st = NULL;

	while ((st = sqlite3_next_stmt(a->db, st)) != NULL)
		if (strcmp(sqlite3_sql(st), adb__sql[id]) == 0)
			return st;
	return NULL;
}

/* The runner saves counters and reads the cancel flag every 250 ms and
 * writes log rows per bad row: once each statement has run, no call
 * prepares again. Checked two ways: the store's own count, and SQLite's
 * run counter on the one live statement (a statement prepared per call
 * would be a new object each time, finalized after one run). */
static void
save_loop_does_not_prepare_again(void **state)
{
	struct fx *fx = *state;
	struct job *j = NULL;
	sqlite3_stmt *save, *flag, *log;
	long before;
	int i, cancel;

	assert_int_equal(job_create(fx->a, "P", "f.csv", "00", 1, &j), PA_OK);
	assert_int_equal(job_transition(fx->a, j, JOB_RUNNING, NULL), PA_OK);
	assert_int_equal(job_save_stats(fx->a, j), PA_OK);
	assert_int_equal(job_cancel_requested(fx->a, j, &cancel), PA_OK);
	assert_int_equal(job_log(fx->a, j, JOB_ERROR, 1, "bad", NULL), PA_OK);
	before = adb_prepared(fx->a);
	assert_true(before > 0);
	for (i = 0; i < 200; i++) {
		j->processed_rows = i;
		assert_int_equal(job_save_stats(fx->a, j), PA_OK);
		assert_int_equal(job_cancel_requested(fx->a, j, &cancel), PA_OK);
		assert_int_equal(job_log(fx->a, j, JOB_ERROR, i, "bad", NULL), PA_OK);
	}
	assert_int_equal(adb_prepared(fx->a), before);
	assert_non_null(save = live_stmt(fx->a, ADB__JOB_SAVE_STATS));
	assert_non_null(flag = live_stmt(fx->a, ADB__JOB_CANCEL_FLAG));
	assert_non_null(log = live_stmt(fx->a, ADB__JOB_LOG_INSERT));
	assert_int_equal(sqlite3_stmt_status(save, SQLITE_STMTSTATUS_RUN, 0), 201);
	assert_int_equal(sqlite3_stmt_status(flag, SQLITE_STMTSTATUS_RUN, 0), 201);
	assert_int_equal(sqlite3_stmt_status(log, SQLITE_STMTSTATUS_RUN, 0), 201);
	/* Each was handed back reset: no read left open to pin a snapshot. */
	assert_false(sqlite3_stmt_busy(save) || sqlite3_stmt_busy(flag) ||
	    sqlite3_stmt_busy(log));
	assert_int_equal(job_transition(fx->a, j, JOB_DONE, NULL), PA_OK);
	job_free(j);
}

static int
count_name(void *ctx, const char *name)
{
	(void)name;
	++*(int *)ctx;
	return PA_OK;
}

static int
count_job(void *ctx, const struct job *j)
{
	(void)j;
	++*(int *)ctx;
	return PA_OK;
}

static int
stop_walk(void *ctx, const struct job *j)
{
	(void)ctx;
	(void)j;
	return PA_ECANCELLED;
}

static void
job_queries_answer_from_the_rows(void **state)
{
	struct fx *fx = *state;
	struct adbq_filter all = { -1, 0, NULL, 0 }, drafts = { JOB_DRAFT, 0,
	    NULL, 1 };
	struct job a, b, c, d;
	long running = -1, deleted = -1;
	double progress = -1;
	int n = 0, found = -1;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	make_job(fx->a, "00000000-0000-4000-8000-00000000000a", "P", "x.csv",
	    "s1", &a);
	make_job(fx->a, "00000000-0000-4000-8000-00000000000b", "P", "x.csv",
	    "s2", &b);
	make_job(fx->a, "00000000-0000-4000-8000-00000000000c", "Q", "y.csv",
	    "s1", &c);
	assert_int_equal(adbq_list(fx->a, &all, count_job, &n), PA_OK);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(adbq_list(fx->a, &drafts, count_job, &n), PA_OK);
	assert_int_equal(n, 1);
	/* A callback's error stops the walk and comes back as is. */
	assert_int_equal(adbq_list(fx->a, &all, stop_walk, NULL),
	    PA_ECANCELLED);

	n = 0;
	assert_int_equal(adbq_drafts_replaced(fx->a, &b, count_name, &n), PA_OK);
	assert_int_equal(n, 1);                 /* a: same name, other sha */
	assert_int_equal(adbq_find_draft(fx->a, "s1", "Q", &d, &found), PA_OK);
	assert_true(found);
	assert_string_equal(d.name, c.name);
	assert_int_equal(adbq_sha_used(fx->a, "s2", &found), PA_OK);
	assert_true(found);
	assert_int_equal(adbq_sha_used(fx->a, "s9", &found), PA_OK);
	assert_false(found);

	a.state = JOB_RUNNING;
	a.progress = 40;
	assert_int_equal(adbj_save(fx->a, &a, 0), PA_OK);
	assert_int_equal(adbq_running_progress(fx->a, &running, &progress),
	    PA_OK);
	assert_int_equal(running, 1);
	assert_true(progress == 40);
	n = 0;
	assert_int_equal(adbq_running(fx->a, count_name, &n), PA_OK);
	assert_int_equal(n, 1);
	a.state = JOB_DONE;
	assert_int_equal(adbj_save(fx->a, &a, 1), PA_OK);
	assert_int_equal(adbq_sha_done(fx->a, "s1", "P", &found), PA_OK);
	assert_true(found);
	assert_int_equal(adbq_sha_done(fx->a, "s1", "Q", &found), PA_OK);
	assert_false(found);

	/* Everything was created "2026-11-01": a later bound takes them. */
	assert_int_equal(adbq_prune_before(fx->a, "2026-10-01", &deleted), PA_OK);
	assert_int_equal(deleted, 0);
	assert_int_equal(adbq_prune_before(fx->a, "2026-12-01", &deleted), PA_OK);
	assert_int_equal(deleted, 3);
	assert_int_equal(adbq_prune_oldest(fx->a, &deleted), PA_OK);
	assert_int_equal(deleted, 0);
	job_clear(&a);
	job_clear(&b);
	job_clear(&c);
	job_clear(&d);
}

struct texts {
	char names[4][32];
	int n;
};

static int
each_text(void *ctx, const char *json, size_t len)
{
	struct texts *t = ctx;

	assert_true(len == strlen(json));
	snprintf(t->names[t->n++], sizeof(t->names[0]), "%s", json);
	return PA_OK;
}

static void
profile_rows_round_trip(void **state)
{
	struct fx *fx = *state;
	struct texts t;
	char *text = NULL;
	size_t len = 0;

	memset(&t, 0, sizeof(t));
	assert_int_equal(adbp_put(fx->a, "b", "{\"v\":1}", "now", 0), PA_OK);
	assert_int_equal(adbp_put(fx->a, "a", "{\"v\":2}", "now", 0), PA_OK);
	assert_int_equal(adbp_put(fx->a, "b", "{\"v\":3}", "now", 0), PA_EEXISTS);
	assert_int_equal(adbp_get(fx->a, "b", &text, &len), PA_OK);
	assert_string_equal(text, "{\"v\":1}");
	pa_free(text);
	assert_int_equal(adbp_put(fx->a, "b", "{\"v\":3}", "now", 1), PA_OK);
	assert_int_equal(adbp_each(fx->a, each_text, &t), PA_OK);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.names[0], "{\"v\":2}");      /* ordered by name */
	assert_string_equal(t.names[1], "{\"v\":3}");
	assert_int_equal(adbp_remove(fx->a, "a"), PA_OK);
	assert_int_equal(adbp_remove(fx->a, "a"), PA_ENOTFOUND);
	assert_int_equal(adbp_get(fx->a, "a", &text, &len), PA_ENOTFOUND);
	assert_null(text);
}

/* A connection that may not write (here: query_only, as a read-only
 * mount would be) gives PA_EIO naming what failed, not a crash or a
 * silent success. */
static void
read_only_db_gives_pa_eio(void **state)
{
	struct fx *fx = *state;
	struct job j;

	memset(&j, 0, sizeof(j));
	make_job(fx->a, "00000000-0000-4000-8000-000000000001", "P", "a.csv",
	    "aa", &j);
	assert_int_equal(sqlite3_exec(fx->a->db, "PRAGMA query_only=1", NULL,
	    NULL, NULL), SQLITE_OK);
	j.state = JOB_RUNNING;
	pa_err_clear();
	assert_int_equal(adbj_save(fx->a, &j, 0), PA_EIO);
	assert_non_null(strstr(pa_err_msg(PA_EIO), "save job"));
	assert_int_equal(adbp_put(fx->a, "p", "{}", "now", 0), PA_EIO);
	assert_non_null(strstr(pa_err_msg(PA_EIO), "store profile"));
	job_clear(&j);
}

/* A damaged page under the job table: every reader of it says PA_EDB
 * with SQLite's reason and what to do. */
static void
corrupt_db_gives_pa_edb(void **state)
{
	struct fx *fx = *state;
	struct adbq_filter all = { -1, 0, NULL, 0 };
	struct job j;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 root = 0, psz = 0;
	char path[128];
	unsigned char junk[64];
	FILE *f;
	int n = 0, found = 0;

	memset(&j, 0, sizeof(j));
	make_job(fx->a, "00000000-0000-4000-8000-000000000001", "P", "a.csv",
	    "aa", &j);
	assert_int_equal(sqlite3_prepare_v2(fx->a->db, "SELECT rootpage, "
	    "(SELECT page_size FROM pragma_page_size) FROM sqlite_schema WHERE "
	    "name = 'job'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	root = sqlite3_column_int64(st, 0);
	psz = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	assert_true(root > 1 && psz > 0);
	adb_close(fx->a);       /* the last close checkpoints the WAL */
	fx->a = NULL;

	snprintf(path, sizeof(path), "%s/agent.db", fx->dir);
	memset(junk, 0x5a, sizeof(junk));       /* not a b-tree page type */
	assert_non_null(f = fopen(path, "r+b"));
	assert_int_equal(fseek(f, (long)((root - 1) * psz), SEEK_SET), 0);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	assert_int_equal(fclose(f), 0);

	assert_int_equal(adb_open(fx->dir, &fx->a), PA_OK);
	pa_err_clear();
	assert_int_equal(adbq_list(fx->a, &all, count_job, &n), PA_EDB);
	assert_non_null(strstr(pa_err_msg(PA_EDB), "damaged"));
	assert_int_equal(adbj_find(fx->a, ADBJ_BY_ID, NULL, j.id, &j, &found),
	    PA_EDB);
	job_clear(&j);
}

/* jansson's allocator for the next test: the call numbered fail_at fails
 * (through pa_mem, as a real shortage would, so pa_mem_failures sees it);
 * every other one succeeds. One failure, not all after it: the old code
 * dropped row_data only when the parse alone failed. */
static long jcalls, fail_at = -1;

static void *
fail_one(size_t n)
{
	void *p;

	if (jcalls++ != fail_at)
		return pa_malloc(n);
	pa_mem_fail_after(0);
	p = pa_malloc(n);
	pa_mem_fail_after(-1);
	return p;
}

/* jobq_log_page used to give a row whose row_data could not be parsed for
 * want of memory as row_data null, and report success. Failing each of
 * jansson's allocations in turn: the page either comes back whole or the
 * call says PA_ENOMEM. */
static void
log_page_out_of_memory_is_an_error(void **state)
{
	struct fx *fx = *state;
	struct job *j = NULL;
	json_t *rd = json_pack("{s:s, s:i}", "barcode", "4601234567890", "row",
	    4), *page = NULL, *e;
	int rc, failed = 0;

	assert_int_equal(job_create(fx->a, "P", "f.csv", "00", 1, &j), PA_OK);
	assert_int_equal(job_log(fx->a, j, JOB_ERROR, 4, "bad", rd), PA_OK);
	json_set_alloc_funcs(fail_one, pa_free);
	for (fail_at = 0; fail_at < 400; fail_at++) {
		jcalls = 0;
		rc = jobq_log_page(fx->a, j, -1, 1, 50, &page);
		if (rc != PA_OK) {
			assert_int_equal(rc, PA_ENOMEM);
			assert_null(page);
			failed++;
			continue;
		}
		e = json_array_get(json_object_get(page, "entries"), 0);
		assert_non_null(e);
		assert_true(json_equal(json_object_get(e, "row_data"), rd));
		json_decref(page);
		page = NULL;
		if (jcalls <= fail_at)
			break;          /* every allocation has been failed once */
	}
	json_set_alloc_funcs(pa_malloc, pa_free);
	assert_true(failed > 0 && fail_at < 400);
	json_decref(rd);
	job_free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(job_rows_round_trip),
		T(save_loop_does_not_prepare_again),
		T(job_queries_answer_from_the_rows),
		T(profile_rows_round_trip),
		T(read_only_db_gives_pa_eio),
		T(corrupt_db_gives_pa_edb),
		T(log_page_out_of_memory_is_an_error),
#undef T
	};

	/* jansson and SQLite allocate through pa_mem, so the failure loop
	 * reaches them. */
	if (pa_mem_route_libs() != PA_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}

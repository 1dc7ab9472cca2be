/* The job state machine (DESIGN §5) and its persistence, on a temporary
 * agent.db: every legal transition allowed, every other one refused with a
 * message naming the current state. */
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
#include "hal/pa_err.h"

static const int legal[JOB_NSTATES][JOB_NSTATES] = {
	/* to:          draft running done failed cancelled reverted */
	[JOB_DRAFT]     = { 0, 1, 0, 0, 1, 0 },
	[JOB_RUNNING]   = { 0, 0, 1, 1, 1, 0 },
	[JOB_DONE]      = { 0, 0, 0, 0, 0, 1 },
	[JOB_FAILED]    = { 1, 0, 0, 0, 0, 0 },
	[JOB_CANCELLED] = { 1, 0, 0, 0, 0, 0 },
	[JOB_REVERTED]  = { 0, 0, 0, 0, 0, 0 },
};

static void
test_transition_table_matches_design(void **state)
{
	int from, to;

	(void)state;
	for (from = 0; from < JOB_NSTATES; from++)
		for (to = 0; to < JOB_NSTATES; to++)
			assert_int_equal(job_transition_ok((enum job_state)from,
			    (enum job_state)to), legal[from][to]);
}

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
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/pa-test-job-XXXXXX");
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

	adb_close(fx->a);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static struct job *
new_job(adb *a)
{
	struct job *j = NULL;

	assert_int_equal(job_create(a, "P", "f.csv", "00", 1, &j), PA_OK);
	return j;
}

static void
test_names_follow_the_sequence(void **state)
{
	struct fx *fx = *state;
	struct job *a = new_job(fx->a), *b = new_job(fx->a);

	assert_string_equal(a->name, "IMP/00001");
	assert_string_equal(b->name, "IMP/00002");
	assert_int_equal(a->state, JOB_DRAFT);
	assert_int_equal(strlen(a->uuid), 36);
	job_free(a);
	job_free(b);
}

static void
test_illegal_transition_names_current_state(void **state)
{
	struct fx *fx = *state;
	struct job *j = new_job(fx->a);

	pa_err_clear();
	assert_int_equal(job_transition(fx->a, j, JOB_DONE, NULL), PA_ESTATE);
	assert_non_null(strstr(pa_err_msg(PA_ESTATE), "is draft"));
	assert_int_equal(job_transition(fx->a, j, JOB_RUNNING, NULL), PA_OK);
	assert_true(j->start_date[0] != '\0');
	assert_int_equal(job_transition(fx->a, j, JOB_DONE, NULL), PA_OK);
	assert_true(j->progress == 100.0 && j->end_date[0] != '\0');
	assert_int_equal(job_reset(fx->a, j), PA_ESTATE);
	assert_non_null(strstr(pa_err_msg(PA_ESTATE), "is done"));
	job_free(j);
}

static void
test_reset_clears_counters_and_logs(void **state)
{
	struct fx *fx = *state;
	struct job *j = new_job(fx->a), *k = NULL;

	assert_int_equal(job_transition(fx->a, j, JOB_RUNNING, NULL), PA_OK);
	j->errors = 3;
	j->total_rows = 9;
	assert_int_equal(job_log(fx->a, j, JOB_ERROR, 4, "bad", NULL), PA_OK);
	assert_int_equal(job_transition(fx->a, j, JOB_FAILED, "boom"), PA_OK);
	assert_int_equal(job_get(fx->a, j->name, &k), PA_OK);
	assert_int_equal(k->errors, 3);
	assert_string_equal(k->error_message, "boom");
	assert_int_equal(job_reset(fx->a, k), PA_OK);
	assert_int_equal(k->state, JOB_DRAFT);
	assert_int_equal(k->errors, 0);
	assert_null(k->error_message);
	job_free(j);
	job_free(k);
}

static void
test_job_lookup_by_number_name_and_uuid(void **state)
{
	struct fx *fx = *state;
	struct job *j = new_job(fx->a), *k = NULL;

	assert_int_equal(job_get(fx->a, "1", &k), PA_OK);
	job_free(k);
	assert_int_equal(job_get(fx->a, "imp/00001", &k), PA_OK);
	job_free(k);
	assert_int_equal(job_get(fx->a, j->uuid, &k), PA_OK);
	job_free(k);
	assert_int_equal(job_get(fx->a, "IMP/00002", &k), PA_ENOTFOUND);
	job_free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transition_table_matches_design),
		cmocka_unit_test_setup_teardown(test_names_follow_the_sequence,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_illegal_transition_names_current_state,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_clears_counters_and_logs,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_job_lookup_by_number_name_and_uuid,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

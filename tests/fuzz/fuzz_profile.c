/* fuzz_profile — libFuzzer target over the import-profile parser and
 * validator (DESIGN §4, §11). Beyond "no crash, no leak, no UB": an
 * accepted profile always satisfies the rules the pipeline relies on, and a
 * refused one always says why.
 *
 *   make fuzz && build/fuzz/fuzz_profile build/fuzz/profile-work \
 *       tests/fuzz/corpus/profile
 * Replay a crash under gdb without libFuzzer (tests/fuzz/fuzz_replay.c):
 *   make SAN=1 build/host-san/tests/replay_fuzz_profile && \
 *       gdb --args build/host-san/tests/replay_fuzz_profile crash-file
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/import/profile.h"
#include "hal/pa_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_profile: invariant broken: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = NULL;
	int rc, f;

	pa_err_clear();
	rc = prof_parse((const char *)data, size, &p);
	if (rc != PA_OK) {
		check(p == NULL, "no profile on failure");
		check(rc == PA_EPROFILE || rc == PA_ENOMEM, "failure code");
		check(rc == PA_ENOMEM || strlen(pa_err_msg(rc)) > 0, "message");
		return 0;
	}
	check(p->name && *p->name, "name");
	check(p->header_row >= 1 && p->data_start_row > p->header_row, "rows");
	check(p->mapped != 0, "mapping non-empty");
	check(cat_field_is_key(p->upsert_field), "key field");
	check(p->mapped & (1u << p->upsert_field), "key mapped");
	check(p->max_error_percent >= 0 && p->max_error_percent <= 100, "percent");
	check(p->format == RS_XLSX || p->delimiter != p->quote, "delimiter");
	for (f = 0; f < CAT_NFIELDS; f++)
		check(!(p->mapped & (1u << f)) == !p->column[f], "columns");
	prof_free(p);
	return 0;
}


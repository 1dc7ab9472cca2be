/* libFuzzer target: posagent-hq's events validation (hq_ingest_parse), the
 * one parser HQ runs on what stores send. Invariants: an accepted batch has
 * at most HQ_MAX_BATCH_EVENTS events with strictly increasing seqs > 0,
 * word types, normalised timestamps and object data; a refused one has
 * status 400 or 413 and a message.
 *
 *   make fuzz-hq && build/fuzz/fuzz_hq_ingest -max_total_time=600 \
 *       tests/fuzz/corpus/hq_ingest
 * Replay a crash under gdb without libFuzzer:
 *   make SAN=1 build/host-san/tests/replay_fuzz_hq_ingest && \
 *       gdb --args build/host-san/tests/replay_fuzz_hq_ingest crash-file */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/pa_err.h"
#include "hq/hq_ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hq_ingest_result res;
	struct hq_batch *b = NULL;
	int i, rc;

	rc = hq_ingest_parse("s1", (const char *)data, size, &b, &res);
	if (rc == PA_ENOMEM)
		return 0;
	CHECK(rc == PA_OK);
	if (b == NULL) {
		CHECK(res.status == 400 || res.status == 413);
		CHECK(res.error[0] != '\0');
		return 0;
	}
	CHECK(b->n >= 0 && b->n <= HQ_MAX_BATCH_EVENTS);
	for (i = 0; i < b->n; i++) {
		CHECK(b->ev[i].seq > 0);
		CHECK(i == 0 || b->ev[i].seq > b->ev[i - 1].seq);
		CHECK(strlen(b->ev[i].type) >= 1 &&
		    strlen(b->ev[i].type) <= HQ_MAX_TYPE_LEN);
		CHECK(strlen(b->ev[i].ts) == 24 && b->ev[i].ts[23] == 'Z');
		CHECK(json_is_object(b->ev[i].data));
	}
	hq_batch_free(b);
	return 0;
}

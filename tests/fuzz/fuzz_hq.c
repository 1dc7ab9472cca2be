/* libFuzzer target: what HQ sends back, and what we send it.
 *
 * Byte 0 picks the part, the rest is the input:
 *   0  the events answer: hqc_parse_ack() accepts exactly the objects whose
 *      "ack" is an integer >= 0, and reports that integer;
 *   1  a Retry-After value: a delay within [0, RT_RETRY_AFTER_MAX_MS];
 *   2  a hostile outbox row (ts bytes as a foreign writer could leave
 *      them): the request body built from it is still valid JSON holding
 *      the event with its seq.
 *
 *   make fuzz && build/fuzz/fuzz_hq -max_total_time=600 tests/fuzz/corpus/hq
 * Replay a crash under gdb without libFuzzer (tests/fuzz/fuzz_replay.c):
 *   make SAN=1 build/host-san/tests/replay_fuzz_hq && \
 *       gdb --args build/host-san/tests/replay_fuzz_hq crash-file */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "sync/hqc.h"
#include "sync/retry.h"
#include "sync/sync_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

static void
ack(const char *p, size_t n)
{
	long long a = 0;
	json_t *doc, *v;
	int rc;

	rc = hqc_parse_ack(p, n, &a);
	doc = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
	v = json_object_get(doc, "ack");
	if (rc == PA_OK) {
		CHECK(a >= 0);
		CHECK(json_is_integer(v) && json_integer_value(v) == a);
	} else {
		CHECK(rc == PA_EPROTO);
		CHECK(a == -1);
		CHECK(!(json_is_integer(v) && json_integer_value(v) >= 0 &&
		    n <= HQC_MAX_RESPONSE_BYTES));
	}
	json_decref(doc);
}

static void
retry_after(const char *p, size_t n)
{
	char buf[256];
	int64_t d = -1;

	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (rt_retry_after(buf, 1790000000000LL, &d) == PA_OK)
		CHECK(d >= 0 && d <= RT_RETRY_AFTER_MAX_MS);
	else
		CHECK(d == 0);
}

static void
body(const char *p, size_t n)
{
	struct outbox_event ev[2];
	struct sync_buf b = { NULL, 0, 0 };
	json_t *doc, *evs;
	size_t i;

	memset(ev, 0, sizeof(ev));
	for (i = 0; i < 2; i++) {
		size_t k = n < sizeof(ev[i].ts) - 1 ? n : sizeof(ev[i].ts) - 1;
		ev[i].seq = (long long)i + 41;
		memcpy(ev[i].type, i ? "log" : "job", 4);
		memcpy(ev[i].ts, p, k);
		ev[i].ts[k] = '\0';
		ev[i].data = (char *)"{\"x\":1}";
		ev[i].data_len = 7;
	}
	if (sync__events_body(&b, "store-1", ev, 2) != PA_OK)
		return; /* only PA_ENOMEM */
	doc = json_loads(b.p, JSON_REJECT_DUPLICATES, NULL);
	CHECK(doc != NULL);
	evs = json_object_get(doc, "events");
	CHECK(json_array_size(evs) == 2);
	CHECK(json_integer_value(json_object_get(json_array_get(evs, 1), "seq"))
	    == 42);
	json_decref(doc);
	pa_free(b.p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data + 1;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		ack(p, size - 1);
		break;
	case 1:
		retry_after(p, size - 1);
		break;
	default:
		body(p, size - 1);
		break;
	}
	return 0;
}


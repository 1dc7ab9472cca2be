/* fuzz_kkt — libFuzzer target over the KKT answer parsers (DESIGN §11).
 *
 * The first input byte picks the parser (even: OpticsERP buffer status,
 * odd: ATOL task result); the rest is the HTTP body. Beyond "no crash, no
 * leak, no UB" it checks the gate's invariants (DESIGN §6): a verdict of
 * synced only with nothing pending, no unresolved DLQ entry and no receipt
 * in an unreported state (failed, being history, may be anything), counts
 * that add up to total_receipts, never synced with a refusal, a refusal
 * with numbers always naming a blocking reason, a reason that is always
 * present and valid UTF-8, and a status document always built.
 *
 *   make fuzz && mkdir -p build/fuzz/kkt-work && build/fuzz/fuzz_kkt \
 *       -dict=tests/fuzz/kkt.dict build/fuzz/kkt-work tests/fuzz/corpus/kkt
 * (new inputs go to the first directory: keep the committed seeds small).
 * Replay a crash under gdb without libFuzzer (tests/fuzz/fuzz_replay.c):
 *   make SAN=1 build/host-san/tests/replay_fuzz_kkt && \
 *       gdb --args build/host-san/tests/replay_fuzz_kkt crash-file
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/pa_err.h"
#include "kkt/kkt.h"
#include "kkt/kkt_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_kkt: invariant broken: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kkt_status st;
	char buf[160];
	json_t *j;
	int rc, again = 0, atol;

	if (size < 1)
		return 0;
	atol = data[0] & 1;
	kkt__status_init(&st, atol ? KKT_BACKEND_ATOL : KKT_BACKEND_OPTICSERP);
	if (atol)
		rc = kkt__atol_parse_result((const char *)data + 1, size - 1,
		    "http://127.0.0.1:16732", &st, &again);
	else
		rc = kkt__opticserp_parse((const char *)data + 1, size - 1,
		    "http://127.0.0.1:8089", &st);
	check(rc == PA_OK || rc == PA_EKKT_UNSYNCED || rc == PA_EKKT_UNREACHABLE ||
	    rc == PA_ENOMEM, "return code");
	check((rc == PA_OK) == (st.synced == 1), "synced iff PA_OK");
	check(!again || rc == PA_EKKT_UNREACHABLE, "again only with a refusal");
	if (rc == PA_OK) {
		check(st.reachable && st.pending == 0, "synced with pending");
		if (!atol)
			check(st.dlq_size == 0 && st.unreported == 0,
			    "synced with dlq or unreported receipts");
	}
	if (st.reachable && !atol)
		check(st.pending + st.synced_receipts + st.failed +
		    st.unreported == st.total_receipts && st.unreported >= 0,
		    "counts do not add up");
	if (rc == PA_EKKT_UNSYNCED) {
		check(st.reachable && (st.pending > 0 || st.dlq_size > 0 ||
		    st.unreported > 0), "unsynced without a count");
		check(kkt_blocker(&st, 0, buf, sizeof(buf)) != NULL,
		    "unsynced without a blocking reason");
	} else
		check(kkt_blocker(&st, 0, buf, sizeof(buf)) == NULL,
		    "a blocking reason without a refusal");
	check(st.reason[0] != '\0', "empty reason");
	check(memchr(st.reason, '\0', sizeof(st.reason)) != NULL, "reason unterminated");
	j = json_string(st.reason);
	check(j != NULL, "reason is not valid UTF-8");
	json_decref(j);
	j = kkt_status_json(&st);
	check(j != NULL, "status document");
	json_decref(j);
	return 0;
}


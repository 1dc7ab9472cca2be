/* pa_sha256 — SHA-256 (FIPS 180-4) of the files posagent spools.
 *
 * mbedTLS computes it everywhere; where the CPU has SHA instructions
 * (x86-64 SHA-NI) the blocks go through them instead, about six times
 * faster: hashing a price list was the largest single cost of re-importing
 * it (issue #15). The digest is the same either way (tests/unit/test_sha256
 * compares both paths). OS-free like pa_utf8. */
#ifndef PA_SHA256_H
#define PA_SHA256_H

#include <mbedtls/sha256.h>
#include <stddef.h>
#include <stdint.h>

/* Caller-allocated (on the stack); fields private. */
struct pa_sha256 {
	mbedtls_sha256_context mb;  /* used when accel is 0 */
	uint32_t h[8];
	uint64_t bytes;             /* message length so far */
	unsigned char blk[64];      /* a partial block */
	size_t nblk;
	int accel;                  /* blocks go through the CPU's instructions */
};

/* Cannot fail; needs no freeing (it holds no heap memory). */
void pa_sha256_init(struct pa_sha256 *s);
void pa_sha256_update(struct pa_sha256 *s, const void *data, size_t len);
/* The 32-byte digest; s must be initialised again before reuse. */
void pa_sha256_finish(struct pa_sha256 *s, unsigned char dig[32]);
/* Turn the CPU path off (0) or back to "when the CPU has it" (1): tests. */
void pa_sha256_allow_accel(int allow);

#endif

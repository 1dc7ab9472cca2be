/* pa_sha256 — see pa_sha256.h. The x86 block function follows Intel's
 * "Intel SHA Extensions" white paper (2013), the same sequence as the
 * public-domain SHA-Intrinsics code by Jeffrey Walton. */
#include "hal/pa_sha256.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PA_SHA_NI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static int allow_accel = 1;

void
pa_sha256_allow_accel(int allow)
{
	allow_accel = allow;
}

#ifdef PA_SHA_NI
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* SHA-NI (leaf 7 EBX bit 29) and the SSSE3/SSE4.1 shuffles around it. */
static int
cpu_has_sha(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) ||
	    !(c & (1u << 19)))
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b >> 29) & 1;
}

/* Four rounds per step; message words W[16..63] are made in the ring
 * m[0..3] four at a time (msg1 three steps ahead, msg2 one step ahead). */
__attribute__((target("sha,sse4.1,ssse3")))
static void
blocks_ni(uint32_t h[8], const unsigned char *p, size_t n)
{
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
	    0x0405060700010203ULL);
	__m128i s0, s1, t, msg, abef, cdgh, m[4];
	int i;

	t = _mm_loadu_si128((const __m128i *)(const void *)&h[0]);
	s1 = _mm_loadu_si128((const __m128i *)(const void *)&h[4]);
	t = _mm_shuffle_epi32(t, 0xB1);             /* CDAB */
	s1 = _mm_shuffle_epi32(s1, 0x1B);           /* EFGH */
	s0 = _mm_alignr_epi8(t, s1, 8);             /* ABEF */
	s1 = _mm_blend_epi16(s1, t, 0xF0);          /* CDGH */
	for (; n > 0; n--, p += 64) {
		abef = s0;
		cdgh = s1;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 16
#endif
		for (i = 0; i < 16; i++) {
			if (i < 4)
				m[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)
				    (const void *)(p + 16 * i)), swap);
			msg = _mm_add_epi32(m[i & 3], _mm_loadu_si128(
			    (const __m128i *)(const void *)&K[4 * i]));
			s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
			if (i >= 3 && i <= 14) {
				t = _mm_alignr_epi8(m[i & 3], m[(i - 1) & 3], 4);
				m[(i + 1) & 3] = _mm_add_epi32(m[(i + 1) & 3], t);
				m[(i + 1) & 3] = _mm_sha256msg2_epu32(m[(i + 1) & 3],
				    m[i & 3]);
			}
			msg = _mm_shuffle_epi32(msg, 0x0E);
			s0 = _mm_sha256rnds2_epu32(s0, s1, msg);
			if (i >= 1 && i <= 12)
				m[(i - 1) & 3] = _mm_sha256msg1_epu32(m[(i - 1) & 3],
				    m[i & 3]);
		}
		s0 = _mm_add_epi32(s0, abef);
		s1 = _mm_add_epi32(s1, cdgh);
	}
	t = _mm_shuffle_epi32(s0, 0x1B);            /* FEBA */
	s1 = _mm_shuffle_epi32(s1, 0xB1);           /* DCHG */
	s0 = _mm_blend_epi16(t, s1, 0xF0);          /* DCBA */
	s1 = _mm_alignr_epi8(s1, t, 8);             /* HGFE */
	_mm_storeu_si128((__m128i *)(void *)&h[0], s0);
	_mm_storeu_si128((__m128i *)(void *)&h[4], s1);
}
#endif

void
pa_sha256_init(struct pa_sha256 *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372,
		0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memset(s, 0, sizeof(*s));
#ifdef PA_SHA_NI
	s->accel = allow_accel && cpu_has_sha();
#endif
	if (s->accel) {
		memcpy(s->h, iv, sizeof(iv));
		return;
	}
	mbedtls_sha256_init(&s->mb);
	mbedtls_sha256_starts(&s->mb, 0);
}

void
pa_sha256_update(struct pa_sha256 *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t k;

	if (!s->accel) {
		mbedtls_sha256_update(&s->mb, p, len);
		return;
	}
#ifdef PA_SHA_NI
	s->bytes += len;
	if (s->nblk > 0) {
		k = 64 - s->nblk < len ? 64 - s->nblk : len;
		memcpy(s->blk + s->nblk, p, k);
		s->nblk += k;
		p += k;
		len -= k;
		if (s->nblk < 64)
			return;
		blocks_ni(s->h, s->blk, 1);
		s->nblk = 0;
	}
	if ((k = len / 64) > 0) {
		blocks_ni(s->h, p, k);
		p += 64 * k;
		len -= 64 * k;
	}
	memcpy(s->blk, p, len);
	s->nblk = len;
#else
	(void)k;
#endif
}

void
pa_sha256_finish(struct pa_sha256 *s, unsigned char dig[32])
{
	unsigned char pad[72];
	uint64_t bits;
	size_t n, i;

	if (!s->accel) {
		mbedtls_sha256_finish(&s->mb, dig);
		mbedtls_sha256_free(&s->mb);
		return;
	}
	/* FIPS 180-4 §5.1.1: 0x80, zeros to 56 mod 64, the length in bits. */
	bits = s->bytes * 8;
	n = (s->nblk < 56 ? 56 : 120) - s->nblk;
	memset(pad, 0, sizeof(pad));
	pad[0] = 0x80;
	for (i = 0; i < 8; i++)
		pad[n + i] = (unsigned char)(bits >> (56 - 8 * i));
	pa_sha256_update(s, pad, n + 8);
	for (i = 0; i < 8; i++) {
		dig[4 * i] = (unsigned char)(s->h[i] >> 24);
		dig[4 * i + 1] = (unsigned char)(s->h[i] >> 16);
		dig[4 * i + 2] = (unsigned char)(s->h[i] >> 8);
		dig[4 * i + 3] = (unsigned char)s->h[i];
	}
}

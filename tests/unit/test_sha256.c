/* pa_sha256: the CPU path (SHA-NI where present) and mbedTLS give the
 * FIPS 180-4 digests, for every split of the input into updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hal/pa_sha256.h"

static void
hex(const unsigned char d[32], char out[65])
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
digest(const void *p, size_t len, size_t step, char out[65])
{
	struct pa_sha256 s;
	unsigned char d[32];
	size_t off, k;

	pa_sha256_init(&s);
	for (off = 0; off < len; off += k) {
		k = step && step < len - off ? step : len - off;
		pa_sha256_update(&s, (const unsigned char *)p + off, k);
	}
	pa_sha256_finish(&s, d);
	hex(d, out);
}

/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf"), both paths. */
static void
test_sha256_known_answers(void **state)
{
	static const char two[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char out[65];
	int accel;

	(void)state;
	for (accel = 0; accel <= 1; accel++) {
		pa_sha256_allow_accel(accel);
		digest("", 0, 0, out);
		assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb924"
		    "27ae41e4649b934ca495991b7852b855");
		digest("abc", 3, 0, out);
		assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223"
		    "b00361a396177a9cb410ff61f20015ad");
		digest(two, strlen(two), 0, out);
		assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039"
		    "a33ce45964ff2167f6ecedd419db06c1");
	}
	pa_sha256_allow_accel(1);
}

/* Lengths around the block and padding edges, fed whole and in odd
 * pieces: the CPU path agrees with mbedTLS. */
static void
test_sha256_paths_agree(void **state)
{
	static unsigned char buf[4099];
	char a[65], b[65];
	uint32_t x = 12345;
	size_t len, i;
	size_t steps[] = { 0, 1, 7, 63, 64, 65, 1000 };

	(void)state;
	for (i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (unsigned char)(x >> 16);
	}
	for (len = 0; len <= sizeof(buf); len += len < 130 ? 1 : 397) {
		pa_sha256_allow_accel(0);
		digest(buf, len, 0, a);
		pa_sha256_allow_accel(1);
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			digest(buf, len, steps[i], b);
			assert_string_equal(a, b);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_known_answers),
		cmocka_unit_test(test_sha256_paths_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The replay main() shared by every fuzz target: run each file given on the
 * command line through LLVMFuzzerTestOneInput once, so a crash file
 * reproduces under gdb without libFuzzer, and `make test` replays the
 * committed corpora under ASan + UBSan (see the Makefile's replay rule). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	static uint8_t buf[16 << 20];   /* above every target's input limit */
	size_t n;
	FILE *f;
	int i;

	for (i = 1; i < argc; i++) {
		if ((f = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}

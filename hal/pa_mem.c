#include "hal/pa_mem.h"

#include <stdlib.h>
#include <string.h>

static long fail_after = -1;

static int
should_fail(void)
{
	if (fail_after < 0)
		return 0;
	if (fail_after == 0)
		return 1;
	fail_after--;
	return 0;
}

void
pa_mem_fail_after(long n)
{
	fail_after = n;
}

void *
pa_malloc(size_t n)
{
	return should_fail() ? NULL : malloc(n ? n : 1);
}

void *
pa_calloc(size_t nmemb, size_t size)
{
	return should_fail() ? NULL : calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *
pa_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : realloc(p, n ? n : 1);
}

char *
pa_strndup(const char *s, size_t n)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = pa_malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
pa_strdup(const char *s)
{
	return s ? pa_strndup(s, strlen(s)) : NULL;
}

void
pa_free(void *p)
{
	free(p);
}

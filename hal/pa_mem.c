#include "hal/pa_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sqlite3.h>

#include "hal/pa_err.h"

static long fail_after = -1;
static _Atomic unsigned long failures;   /* refused so far, any thread */

static int
should_fail(void)
{
	if (fail_after < 0)
		return 0;
	if (fail_after == 0) {
		failures++;
		return 1;
	}
	fail_after--;
	return 0;
}

/* A real allocator's NULL counts as well. */
static void *
counted(void *p)
{
	if (p == NULL)
		failures++;
	return p;
}

unsigned long
pa_mem_failures(void)
{
	return failures;
}

void
pa_mem_fail_after(long n)
{
	fail_after = n;
}

void *
pa_malloc(size_t n)
{
	return should_fail() ? NULL : counted(malloc(n ? n : 1));
}

void *
pa_calloc(size_t nmemb, size_t size)
{
	return should_fail() ? NULL : counted(calloc(nmemb ? nmemb : 1,
	    size ? size : 1));
}

void *
pa_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : counted(realloc(p, n ? n : 1));
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

/* --- the libraries' allocators ------------------------------------------- */

/* SQLite asks each allocation's size back (xSize): keep it in a header of
 * 8 bytes, which also keeps the 8-byte alignment SQLite requires, the way
 * its own mem1.c does without malloc_usable_size. */
#define SQLITE_HDR 8

static void *
sq_malloc(int n)
{
	int64_t *p;

	if (n <= 0 || (p = pa_malloc((size_t)n + SQLITE_HDR)) == NULL)
		return NULL;
	p[0] = n;
	return p + 1;
}

static void
sq_free(void *p)
{
	if (p)
		pa_free((int64_t *)p - 1);
}

static void *
sq_realloc(void *p, int n)
{
	int64_t *q;

	if (p == NULL)
		return sq_malloc(n);        /* cannot happen: SQLite mallocs */
	if (n <= 0)
		return NULL;
	if ((q = pa_realloc((int64_t *)p - 1, (size_t)n + SQLITE_HDR)) == NULL)
		return NULL;
	q[0] = n;
	return q + 1;
}

static int
sq_size(void *p)
{
	return p ? (int)((int64_t *)p)[-1] : 0;
}

static int
sq_roundup(int n)
{
	return (n + 7) & ~7;
}

static int
sq_init(void *arg)
{
	(void)arg;
	return SQLITE_OK;
}

static void
sq_shutdown(void *arg)
{
	(void)arg;
}

int
pa_mem_route_libs(void)
{
	static const sqlite3_mem_methods sq = {
		sq_malloc, sq_free, sq_realloc, sq_size, sq_roundup, sq_init,
		sq_shutdown, NULL
	};

	json_set_alloc_funcs(pa_malloc, pa_free);
	/* The heap limit needs SQLite's memory statistics, which a build may
	 * turn off by default (SQLITE_DEFAULT_MEMSTATUS=0). */
	if (sqlite3_config(SQLITE_CONFIG_MALLOC, &sq) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1) != SQLITE_OK)
		return pa_err_set(PA_EINTERNAL, "SQLite was used before its "
		    "allocator was set");
	sqlite3_hard_heap_limit64(PA_MEM_SQLITE_HEAP_MAX);
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, pa_malloc, pa_free,
	    pa_realloc, pa_strdup, pa_calloc) != CURLE_OK)
		return pa_err_set(PA_EINTERNAL, "libcurl initialisation failed");
	return PA_OK;
}

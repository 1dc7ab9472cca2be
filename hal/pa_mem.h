/* pa_mem — the one allocation wrapper. Library code never exits on OOM: it
 * returns PA_ENOMEM. A test can make the Nth allocation fail
 * (pa_mem_fail_after) to exercise every cleanup path. */
#ifndef PA_MEM_H
#define PA_MEM_H

#include <stddef.h>

void *pa_malloc(size_t n);
void *pa_calloc(size_t nmemb, size_t size);
void *pa_realloc(void *p, size_t n);
/* Duplicate s (NULL gives NULL). */
char *pa_strdup(const char *s);
char *pa_strndup(const char *s, size_t n);
void pa_free(void *p);

/* Test hook: after n more successful allocations, fail every one (-1: off). */
void pa_mem_fail_after(long n);
/* How many allocations have failed in this process. A library that folds
 * out of memory into another error (jansson's lexer says "invalid token",
 * json_dumpb says 0) is read by comparing this before and after the call:
 * a change means PA_ENOMEM. */
unsigned long pa_mem_failures(void);

/* SQLite's heap is capped here: past it a statement fails with SQLITE_NOMEM
 * (PA_ENOMEM) instead of the terminal's OOM killer ending the process. An
 * import of a million rows peaks near 12 MiB (README, Benchmarks). */
#define PA_MEM_SQLITE_HEAP_MAX (256LL * 1024 * 1024)

/* Route the allocations of the linked libraries through this wrapper, so
 * out of memory is decided in one place and pa_mem_fail_after reaches
 * them: jansson (json_set_alloc_funcs), SQLite (SQLITE_CONFIG_MALLOC and
 * the heap limit above) and libcurl (curl_global_init_mem, whose reference
 * is kept for the life of the process). Expat takes pa_mem per parser
 * (XML_ParserCreate_MM, agent/readers/xlsx_xml.c). Call once, first thing
 * in main, before any of them is used. PA_EINTERNAL if a library refuses
 * (it was used already). */
int pa_mem_route_libs(void);

#endif

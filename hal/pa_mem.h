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

#endif

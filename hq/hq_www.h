/* hq_www — the dashboard page, embedded at build time (hq/www/index.html
 * -> build/<target>/gen/hq_www_index.c), and its Content-Security-Policy. */
#ifndef HQ_WWW_H
#define HQ_WWW_H

#include <stddef.h>

extern const unsigned char hq_www_index[];
extern const size_t hq_www_index_len;

/* The page's CSP: nothing from elsewhere; scripts only the page's own
 * inline ones, allowed by their SHA-256 (computed from the embedded page,
 * so an injected script never runs); API calls to this origin only. */
void hq_www_csp(char *out, size_t cap);

#endif

/* hq_www — see hq_www.h. */
#include "hq/hq_www.h"

#include <stdio.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

static void
b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = t[(v >> 6) & 63];
		out[o++] = t[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = t[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
}

/* Find the next "<script...>" ... "</script>" body after *pos. */
static int
next_script(const char *p, size_t n, size_t *pos, size_t *b, size_t *e)
{
	const char *s, *gt, *end;

	s = memmem(p + *pos, n - *pos, "<script", 7);
	if (s == NULL)
		return 0;
	gt = memchr(s, '>', (size_t)(p + n - s));
	if (gt == NULL)
		return 0;
	end = memmem(gt + 1, (size_t)(p + n - gt - 1), "</script>", 9);
	if (end == NULL)
		return 0;
	*b = (size_t)(gt + 1 - p);
	*e = (size_t)(end - p);
	*pos = *e + 9;
	return 1;
}

void
hq_www_csp(char *out, size_t cap)
{
	const char *page = (const char *)hq_www_index;
	unsigned char d[32];
	char h[48];
	size_t pos = 0, b, e, len;
	int k = 0;

	len = (size_t)snprintf(out, cap, "default-src 'none'; script-src");
	while (next_script(page, hq_www_index_len, &pos, &b, &e) && k < 8) {
		if (gnutls_hash_fast(GNUTLS_DIG_SHA256, page + b, e - b, d) != 0)
			break;
		b64(d, 32, h);
		if (len < cap)
			len += (size_t)snprintf(out + len, cap - len, " 'sha256-%s'", h);
		k++;
	}
	if (k == 0 && len < cap)
		len += (size_t)snprintf(out + len, cap - len, " 'none'");
	if (len < cap)
		snprintf(out + len, cap - len, "; style-src 'unsafe-inline'; "
		    "img-src data:; connect-src 'self'; base-uri 'none'; "
		    "form-action 'none'; frame-ancestors 'none'");
}

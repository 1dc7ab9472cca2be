/* kkt_parse — what the backends share for reading an adapter's answer and
 * saying what it means: the status reset, one-line reasons that are always
 * valid UTF-8, and strict JSON field readers (a verdict that lets prices
 * change is only ever drawn from a well-typed, in-range value). Calls
 * nothing else of kkt/. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hal/pa_utf8.h"
#include "kkt/kkt_int.h"

/* Public (kkt.h), here because the backends word their reasons with it. */
const char *
kkt_blocker(const struct kkt_status *st, size_t i, char *buf, size_t len)
{
	size_t k = 0;

	if (!st->reachable || st->synced || len == 0)
		return NULL;
	if (st->backend == KKT_BACKEND_ATOL) {
		if (st->pending > 0 && i == k++) {
			snprintf(buf, len, "%ld %s not sent to the OFD", st->pending,
			    kkt__plural(st->pending, "receipt", "receipts"));
			return buf;
		}
		return NULL;
	}
	if (st->pending > 0 && i == k++) {
		snprintf(buf, len, "%ld %s pending: wait for the adapter to "
		    "send %s to the OFD", st->pending, kkt__plural(st->pending,
		    "receipt", "receipts"), kkt__plural(st->pending, "it", "them"));
		return buf;
	}
	if (st->dlq_size > 0 && i == k++) {
		snprintf(buf, len, "%ld DLQ %s unresolved: resolve %s in the "
		    "adapter", st->dlq_size, kkt__plural(st->dlq_size, "entry",
		    "entries"), kkt__plural(st->dlq_size, "it", "them"));
		return buf;
	}
	if (st->unreported > 0 && i == k++) {
		snprintf(buf, len, "%ld %s in a state the adapter does not "
		    "report (syncing?)", st->unreported, kkt__plural(st->unreported,
		    "receipt", "receipts"));
		return buf;
	}
	return NULL;
}

const char *
kkt__plural(long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

void
kkt__status_init(struct kkt_status *st, enum kkt_backend b)
{
	memset(st, 0, sizeof(*st));
	st->backend = b;
	st->pending = -1;
	st->failed = -1;
	st->dlq_size = -1;
	st->total_receipts = -1;
	st->synced_receipts = -1;
	st->unreported = -1;
	st->first_doc_number = -1;
}

/* One clean line: control characters become spaces and bytes that are not
 * UTF-8 (jansson quotes raw input near a syntax error; a config value may
 * hold anything) become '?', so the reason always fits in JSON and a log. */
static void
text_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n;

	while (*p) {
		if ((n = pa_utf8_seq((const char *)p, PA_UTF8_NUL)) == 0) {
			*p++ = '?';
			continue;
		}
		if (n == 1 && (*p < 0x20 || *p == 0x7F))
			*p = ' ';
		p += n;
	}
}

void
kkt__reason(struct kkt_status *st, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(st->reason))
		pa_utf8_trim(st->reason);
	text_sanitize(st->reason);
}

void
kkt__copy_text(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = src[i];
	dst[i] = '\0';
	if (src[i] != '\0')
		pa_utf8_trim(dst);
	text_sanitize(dst);
}

static const char *
json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:  return "an object";
	case JSON_ARRAY:   return "an array";
	case JSON_STRING:  return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL:    return "a fractional number";
	case JSON_TRUE:
	case JSON_FALSE:   return "a boolean";
	case JSON_NULL:    return "null";
	}
	return "unknown";       /* cannot happen */
}

int
kkt__json_count(const json_t *obj, const char *name, int required, long *out,
    char *why, size_t whylen)
{
	const json_t *v = json_object_get(obj, name);
	json_int_t i;

	if (v == NULL) {
		if (!required)
			return PA_OK;
		snprintf(why, whylen, "field '%s' is missing", name);
		return PA_EPROTO;
	}
	if (!json_is_integer(v)) {
		snprintf(why, whylen, "field '%s' is %s, expected an integer",
		    name, json_kind(v));
		return PA_EPROTO;
	}
	i = json_integer_value(v);
	if (i < 0 || i > KKT_COUNT_MAX) {
		snprintf(why, whylen, "field '%s' is %lld, expected 0..%ld",
		    name, (long long)i, KKT_COUNT_MAX);
		return PA_EPROTO;
	}
	*out = (long)i;
	return PA_OK;
}

int
kkt__json_string(const json_t *obj, const char *name, int required,
    size_t maxlen, const char **out, char *why, size_t whylen)
{
	const json_t *v = json_object_get(obj, name);

	if (v == NULL) {
		if (!required)
			return PA_OK;
		snprintf(why, whylen, "field '%s' is missing", name);
		return PA_EPROTO;
	}
	if (!json_is_string(v)) {
		snprintf(why, whylen, "field '%s' is %s, expected a string",
		    name, json_kind(v));
		return PA_EPROTO;
	}
	if (json_string_length(v) > maxlen) {
		snprintf(why, whylen, "field '%s' is longer than %zu bytes",
		    name, maxlen);
		return PA_EPROTO;
	}
	*out = json_string_value(v);
	return PA_OK;
}

int
kkt__json_object(const char *body, size_t len, json_t **out, char *why,
    size_t whylen)
{
	json_error_t err;
	unsigned long nofail;
	json_t *j;

	*out = NULL;
	if (len == 0) {
		snprintf(why, whylen, "empty body");
		return PA_EPROTO;
	}
	/* Strict: one value and nothing after it (no JSON_DISABLE_EOF_CHECK),
	 * duplicate keys refused (which 'pending' would count?), no \u0000. */
	nofail = pa_mem_failures();
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	/* Our memory, not the adapter's answer: jansson words an allocation
	 * failure as a syntax error ("invalid token") or not at all. */
	if (j == NULL && pa_mem_failures() != nofail)
		return PA_ENOMEM;
	if (j == NULL) {
		snprintf(why, whylen, "%s at byte %d", err.text, err.position);
		return PA_EPROTO;
	}
	if (!json_is_object(j)) {
		snprintf(why, whylen, "top level is %s, expected an object",
		    json_kind(j));
		json_decref(j);
		return PA_EPROTO;
	}
	*out = j;
	return PA_OK;
}

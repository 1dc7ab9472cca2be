/* kkt — the gate's front: config checks, backend dispatch, the status
 * document, and the helpers the backends share (reason text, strict JSON
 * field readers). DESIGN §6. */
#include "kkt/kkt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "kkt/kkt_int.h"

const char *
kkt_backend_name(enum kkt_backend b)
{
	switch (b) {
	case KKT_BACKEND_OPTICSERP: return "opticserp";
	case KKT_BACKEND_ATOL:      return "atol";
	case KKT_BACKEND_NONE:      return "none";
	case KKT_BACKEND_UNSET:     break;
	}
	return "unset";
}

int
kkt_backend_parse(const char *s, enum kkt_backend *out)
{
	static const enum kkt_backend all[] = { KKT_BACKEND_OPTICSERP,
		KKT_BACKEND_ATOL, KKT_BACKEND_NONE };
	size_t i;

	for (i = 0; s != NULL && i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, kkt_backend_name(all[i])) == 0) {
			*out = all[i];
			return PA_OK;
		}
	}
	return pa_err_set(PA_ECONFIG, "unknown KKT backend '%s' (expected "
	    "opticserp, atol or none)", s ? s : "");
}

void
kkt__status_init(struct kkt_status *st, enum kkt_backend b)
{
	memset(st, 0, sizeof(*st));
	st->backend = b;
	st->pending = -1;
	st->failed = -1;
	st->dlq_size = -1;
	st->first_doc_number = -1;
}

/* Drop a UTF-8 sequence left incomplete at the end of s by a cut. */
static void
utf8_trim_tail(char *s)
{
	size_t n = strlen(s), i = n, need;
	unsigned char c;

	/* Walk back over at most 3 continuation bytes to the lead byte. */
	while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0x80)
		return;
	need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n, i;
	unsigned lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	for (i = 1; i < n; i++, lo = 0x80, hi = 0xBF)
		if (p[i] < lo || p[i] > hi)
			return 0;       /* also stops at the NUL */
	return n;
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
		if ((n = utf8_seq(p)) == 0) {
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
		utf8_trim_tail(st->reason);
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
		utf8_trim_tail(dst);
	text_sanitize(dst);
}

int
kkt__join_url(char *dst, size_t dstlen, const char *url, const char *path)
{
	size_t ul = strlen(url);
	int n;

	while (ul > 0 && url[ul - 1] == '/')
		ul--;
	n = snprintf(dst, dstlen, "%.*s%s", (int)ul, url, path);
	if (n < 0 || (size_t)n >= dstlen)
		return pa_err_set(PA_ECONFIG, "[kkt] url is too long");
	return PA_OK;
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

json_t *
kkt__json_object(const char *body, size_t len, char *why, size_t whylen)
{
	json_error_t err;
	json_t *j;

	if (len == 0) {
		snprintf(why, whylen, "empty body");
		return NULL;
	}
	/* Strict: one value and nothing after it (no JSON_DISABLE_EOF_CHECK),
	 * duplicate keys refused (which 'pending' would count?), no \u0000. */
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL) {
		snprintf(why, whylen, "%s at byte %d", err.text, err.position);
		return NULL;
	}
	if (!json_is_object(j)) {
		snprintf(why, whylen, "top level is %s, expected an object",
		    json_kind(j));
		json_decref(j);
		return NULL;
	}
	return j;
}

static int
check_config(const struct kkt_config *cfg, struct kkt_status *st)
{
	if (cfg->backend == KKT_BACKEND_UNSET) {
		kkt__reason(st, "no KKT backend configured: set [kkt] backend = "
		    "opticserp | atol | none");
		return PA_ECONFIG;
	}
	if (cfg->backend == KKT_BACKEND_NONE)
		return PA_OK;
	if (memchr(cfg->url, '\0', sizeof(cfg->url)) == NULL || cfg->url[0] == '\0') {
		kkt__reason(st, "[kkt] url is not set (backend %s needs the "
		    "adapter's address, e.g. http://127.0.0.1:16732)",
		    kkt_backend_name(cfg->backend));
		return PA_ECONFIG;
	}
	if (strncasecmp(cfg->url, "http://", 7) != 0 &&
	    strncasecmp(cfg->url, "https://", 8) != 0) {
		kkt__reason(st, "[kkt] url '%s' must start with http:// or https://",
		    cfg->url);
		return PA_ECONFIG;
	}
	if (cfg->timeout_ms < 1 || cfg->timeout_ms > KKT_TIMEOUT_MAX_MS) {
		kkt__reason(st, "[kkt] timeout_ms = %ld is out of range 1..%ld",
		    cfg->timeout_ms, KKT_TIMEOUT_MAX_MS);
		return PA_ECONFIG;
	}
	return PA_OK;
}

int
kkt_check(const struct kkt_config *cfg, struct kkt_status *st)
{
	int64_t t0 = hal_sys.mono_ms();
	int rc;

	kkt__status_init(st, cfg ? cfg->backend : KKT_BACKEND_UNSET);
	if (cfg == NULL) {
		kkt__reason(st, "no KKT configuration");
		rc = PA_EINVAL;
		goto out;
	}
	if ((rc = check_config(cfg, st)) != PA_OK)
		goto out;
	switch (cfg->backend) {
	case KKT_BACKEND_NONE:
		st->synced = 1;
		kkt__reason(st, "no KKT configured on this terminal (backend = "
		    "none): imports are not gated");
		rc = PA_OK;
		break;
	case KKT_BACKEND_OPTICSERP:
		rc = kkt__opticserp_check(cfg, st);
		break;
	case KKT_BACKEND_ATOL:
		rc = kkt__atol_check(cfg, st);
		break;
	case KKT_BACKEND_UNSET:
		rc = PA_ECONFIG;        /* cannot happen: check_config */
		break;
	}
out:
	/* Fail closed: a trustworthy "synced" is the only way through, and
	 * every other failure of ours is reported as "no trustworthy answer". */
	if (rc == PA_OK && !st->synced)
		rc = PA_EKKT_UNREACHABLE;       /* cannot happen */
	if (rc != PA_OK && rc != PA_EKKT_UNSYNCED && rc != PA_ECONFIG &&
	    rc != PA_EINVAL && rc != PA_ENOMEM)
		rc = PA_EKKT_UNREACHABLE;
	if (rc != PA_OK)
		st->synced = 0;
	if (rc == PA_ENOMEM && st->reason[0] == '\0')
		kkt__reason(st, "out of memory while checking the KKT buffer");
	st->elapsed_ms = (long)(hal_sys.mono_ms() - t0);
	if (rc != PA_OK)
		pa_err_set(rc, "%s", st->reason);
	return rc;
}

static int
set_count(json_t *o, const char *k, long v)
{
	return json_object_set_new(o, k, v < 0 ? json_null() : json_integer(v));
}

/* A string member; text that is not valid UTF-8 (a config value with stray
 * bytes ends up in reasons) is shown with those bytes as '?' rather than
 * losing the whole document. */
static int
set_text(json_t *o, const char *k, const char *v)
{
	char ascii[sizeof(((struct kkt_status *)0)->reason)];
	json_t *s;
	size_t i;

	if (v[0] == '\0')
		return json_object_set_new(o, k, json_null());
	if ((s = json_string(v)) == NULL) {
		for (i = 0; v[i] != '\0' && i + 1 < sizeof(ascii); i++)
			ascii[i] = (unsigned char)v[i] < 0x80 ? v[i] : '?';
		ascii[i] = '\0';
		s = json_string(ascii);
	}
	return json_object_set_new(o, k, s);
}

json_t *
kkt_status_json(const struct kkt_status *st)
{
	json_t *o = json_object();
	int bad = 0;

	if (o == NULL)
		return NULL;
	bad |= json_object_set_new(o, "backend", json_string(kkt_backend_name(st->backend)));
	bad |= json_object_set_new(o, "reachable", json_boolean(st->reachable));
	bad |= json_object_set_new(o, "synced", json_boolean(st->synced));
	bad |= set_count(o, "pending", st->pending);
	bad |= set_count(o, "failed", st->failed);
	bad |= set_count(o, "dlq_size", st->dlq_size);
	bad |= set_count(o, "first_doc_number", st->first_doc_number);
	bad |= set_text(o, "first_doc_datetime", st->first_doc_datetime);
	bad |= set_text(o, "network_status", st->network_status);
	bad |= set_text(o, "reason", st->reason);
	bad |= json_object_set_new(o, "elapsed_ms", json_integer(st->elapsed_ms));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

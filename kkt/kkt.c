/* kkt — the gate's front: config checks, dispatch to a backend through its
 * operations table (struct kkt__backend), the blocking reasons and the
 * status document. DESIGN §6. The backends never call back into this file:
 * what they share lives in kkt_parse.c and kkt_http.c. */
#include "kkt/kkt.h"

#include <stdio.h>
#include <string.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "kkt/kkt_int.h"

/* Every adapter kind we can ask. backend = none is not one: it asks
 * nobody and is decided here. */
static const struct kkt__backend *const backends[] = {
	&kkt__opticserp,
	&kkt__atol,
};

static const struct kkt__backend *
backend_ops(enum kkt_backend b)
{
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i]->id == b)
			return backends[i];
	return NULL;
}

const char *
kkt_backend_name(enum kkt_backend b)
{
	const struct kkt__backend *ops = backend_ops(b);

	if (ops != NULL)
		return ops->name;
	return b == KKT_BACKEND_NONE ? "none" : "unset";
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

static int
check_config(const struct kkt_config *cfg, const struct kkt__backend *ops,
    struct kkt_status *st)
{
	char why[256];
	int rc;

	if (cfg->backend == KKT_BACKEND_UNSET) {
		kkt__reason(st, "no KKT backend configured: set [kkt] backend = "
		    "opticserp | atol | none");
		return PA_ECONFIG;
	}
	if (cfg->backend == KKT_BACKEND_NONE)
		return PA_OK;
	if (ops == NULL) {
		kkt__reason(st, "unknown KKT backend %d", (int)cfg->backend);
		return PA_ECONFIG;      /* cannot happen: kkt_backend_parse */
	}
	if (memchr(cfg->url, '\0', sizeof(cfg->url)) == NULL || cfg->url[0] == '\0') {
		kkt__reason(st, "[kkt] url is not set (backend %s needs the "
		    "adapter's address, e.g. %s)", ops->name, ops->example_url);
		return PA_ECONFIG;
	}
	if ((rc = kkt__url_check(cfg->url, why, sizeof(why))) != PA_OK) {
		if (rc == PA_ENOMEM)
			return rc;
		kkt__reason(st, "%s", why);
		return PA_ECONFIG;
	}
	if ((cfg->user[0] == '\0') != (cfg->password_file[0] == '\0')) {
		kkt__reason(st, "[kkt] user and password_file go together (HTTP "
		    "Basic authentication needs both)");
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
	const struct kkt__backend *ops;
	int rc;

	kkt__status_init(st, cfg ? cfg->backend : KKT_BACKEND_UNSET);
	if (cfg == NULL) {
		kkt__reason(st, "no KKT configuration");
		rc = PA_EINVAL;
		goto out;
	}
	ops = backend_ops(cfg->backend);
	if ((rc = check_config(cfg, ops, st)) != PA_OK)
		goto out;
	if (cfg->backend == KKT_BACKEND_NONE) {
		st->synced = 1;
		kkt__reason(st, "no KKT configured on this terminal (backend = "
		    "none): imports are not gated");
		goto out;
	}
	rc = ops->check(cfg, st);
out:
	/* Fail closed: a trustworthy "synced" is the only way through, and
	 * every other failure of ours is reported as "no trustworthy answer". */
	if (rc == PA_OK && !st->synced)
		rc = PA_EKKT_UNREACHABLE;       /* cannot happen */
	if (rc != PA_OK && rc != PA_EKKT_UNSYNCED && rc != PA_ECONFIG &&
	    rc != PA_EKKT_AUTH && rc != PA_EINVAL && rc != PA_ENOMEM)
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
	json_t *o = json_object(), *b;
	char buf[160];
	size_t i;
	int bad = 0;

	if (o == NULL)
		return NULL;
	bad |= json_object_set_new(o, "backend", json_string(kkt_backend_name(st->backend)));
	bad |= json_object_set_new(o, "reachable", json_boolean(st->reachable));
	bad |= json_object_set_new(o, "synced", json_boolean(st->synced));
	bad |= set_count(o, "pending", st->pending);
	bad |= set_count(o, "failed", st->failed);
	bad |= set_count(o, "dlq_size", st->dlq_size);
	bad |= set_count(o, "total_receipts", st->total_receipts);
	bad |= set_count(o, "synced_receipts", st->synced_receipts);
	bad |= set_count(o, "unreported", st->unreported);
	bad |= set_count(o, "first_doc_number", st->first_doc_number);
	bad |= set_text(o, "first_doc_datetime", st->first_doc_datetime);
	bad |= set_text(o, "network_status", st->network_status);
	bad |= set_text(o, "reason", st->reason);
	bad |= json_object_set_new(o, "elapsed_ms", json_integer(st->elapsed_ms));
	if ((b = json_array()) == NULL)
		bad = 1;
	for (i = 0; b != NULL && kkt_blocker(st, i, buf, sizeof(buf)); i++)
		bad |= json_array_append_new(b, json_string(buf));
	bad |= json_object_set_new(o, "blocking", b ? b : json_null());
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

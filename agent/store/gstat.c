/* gstat — the KKT gate's refusal streak and lifetime count in agent.db
 * (see gstat.h). */
#include "agent/store/gstat.h"
#include "agent/store/adb_int.h"

#include <stdint.h>
#include <string.h>

#include "hal/sqlx.h"
#include "hal/hal.h"
#include "hal/pa_err.h"

int
gstat_refused(adb *a, const char *ts, const char *reason)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__GATE_REFUSED, &st)) != PA_OK)
		return rc;
	if ((rc = sqlx_bind_text(st, 1, ts, strlen(ts), 0)) == PA_OK &&
	    (rc = sqlx_bind_text(st, 2, reason, strlen(reason), 0)) == PA_OK)
		rc = adb__step_done(a, st, "record a KKT gate refusal");
	adb__done(st);
	if (rc != PA_OK)
		return rc;
	/* The lifetime count, in the same transaction (issue #13). */
	if ((rc = adb__stmt(a, ADB__GATE_COUNT, &st)) != PA_OK)
		return rc;
	rc = adb__step_done(a, st, "count a KKT gate refusal");
	adb__done(st);
	return rc;
}

int
gstat_passed(adb *a)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__GATE_PASSED, &st)) != PA_OK)
		return rc;
	rc = adb__step_done(a, st, "clear KKT gate refusals");
	adb__done(st);
	return rc;
}

int
gstat_json(adb *a, int64_t now_ms, json_t **out)
{
	sqlite3_stmt *st = NULL;
	const char *since;
	int64_t since_ms = 0;
	int rc;

	*out = NULL;
	if ((rc = adb__stmt(a, ADB__GATE_GET, &st)) != PA_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*out = json_null();
		rc = PA_OK;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = sqlx_err(a->db, rc, "read KKT gate refusals");
		goto out;
	}
	since = (const char *)sqlite3_column_text(st, 0);
	if (since == NULL || hal_iso_parse(since, &since_ms) != PA_OK)
		since_ms = now_ms;      /* cannot happen: we wrote it */
	*out = json_pack("{s:s, s:I, s:s?, s:s?, s:I}",
	    "since", since ? since : "",
	    "refusals", (json_int_t)sqlite3_column_int64(st, 1),
	    "last_at", (const char *)sqlite3_column_text(st, 2),
	    "last_reason", (const char *)sqlite3_column_text(st, 3),
	    "refusing_s", (json_int_t)((now_ms > since_ms ? now_ms - since_ms :
	    0) / 1000));
	rc = *out ? PA_OK : PA_ENOMEM;
out:
	adb__done(st);
	return rc;
}

int
gstat_total(adb *a, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	if ((rc = adb__stmt(a, ADB__GATE_TOTAL, &st)) != PA_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? PA_OK : sqlx_err(a->db, rc,
	    "read the KKT gate refusal count");
	adb__done(st);
	return rc;
}

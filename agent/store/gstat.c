/* gstat — the KKT gate's refusal streak in agent.db (see gstat.h). */
#include "agent/store/gstat.h"

#include <stdint.h>
#include <string.h>

#include "hal/sqlx.h"
#include "hal/hal.h"
#include "hal/pa_err.h"

static const char sql_refused[] =
	"INSERT INTO gate_refusal(id, since, refusals, last_ts, last_reason) "
	"VALUES (1, ?1, 1, ?1, ?2) ON CONFLICT(id) DO UPDATE SET "
	"refusals = refusals + 1, last_ts = ?1, last_reason = ?2";
static const char sql_passed[] = "DELETE FROM gate_refusal";
static const char sql_get[] =
	"SELECT since, refusals, last_ts, last_reason FROM gate_refusal "
	"WHERE id = 1";

int
gstat_refused(adb *a, const char *ts, const char *reason)
{
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = sqlx_prepare(db, sql_refused, &st)) != PA_OK)
		return rc;
	if ((rc = sqlx_bind_text(st, 1, ts, strlen(ts), 0)) != PA_OK ||
	    (rc = sqlx_bind_text(st, 2, reason, strlen(reason), 0)) != PA_OK)
		goto out;
	rc = sqlite3_step(st);
	rc = rc == SQLITE_DONE ? PA_OK : sqlx_err(db, rc, "record a KKT gate "
	    "refusal");
out:
	sqlite3_finalize(st);
	return rc;
}

int
gstat_passed(adb *a)
{
	return sqlx_exec(adb_sqlite(a), sql_passed, "clear KKT gate refusals");
}

int
gstat_json(adb *a, int64_t now_ms, json_t **out)
{
	sqlite3 *db = adb_sqlite(a);
	sqlite3_stmt *st = NULL;
	const char *since;
	int64_t since_ms = 0;
	int rc;

	*out = NULL;
	if ((rc = sqlx_prepare(db, sql_get, &st)) != PA_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*out = json_null();
		rc = PA_OK;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = sqlx_err(db, rc, "read KKT gate refusals");
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
	sqlite3_finalize(st);
	return rc;
}

/* adb_prof — profile rows of agent.db (see adb_prof.h). */
#include "agent/store/adb_prof.h"
#include "agent/store/adb_int.h"

#include "hal/sqlx.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

int
adbp_put(adb *a, const char *name, const char *json, const char *now,
    int replace)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, replace ? ADB__PROF_UPSERT : ADB__PROF_INSERT,
	    &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rc = PA_OK;
	else if ((rc & 0xff) == SQLITE_CONSTRAINT)
		rc = PA_EEXISTS;        /* the name is the only constraint */
	else
		rc = sqlx_err(a->db, rc, "store profile");
	adb__done(st);
	return rc;
}

int
adbp_get(adb *a, const char *name, char **json, size_t *len)
{
	sqlite3_stmt *st = NULL;
	const char *text;
	int rc;

	*json = NULL;
	*len = 0;
	if ((rc = adb__stmt(a, ADB__PROF_GET, &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		text = (const char *)sqlite3_column_text(st, 0);
		*len = (size_t)sqlite3_column_bytes(st, 0);
		rc = text && (*json = pa_strndup(text, *len)) ? PA_OK : PA_ENOMEM;
	} else if (rc == SQLITE_DONE) {
		rc = PA_ENOTFOUND;
	} else {
		rc = sqlx_err(a->db, rc, "read profile");
	}
	adb__done(st);
	return rc;
}

int
adbp_remove(adb *a, const char *name)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, ADB__PROF_DELETE, &st)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = adb__step_done(a, st, "remove profile")) == PA_OK &&
	    sqlite3_changes(a->db) == 0)
		rc = PA_ENOTFOUND;
	adb__done(st);
	return rc;
}

int
adbp_each(adb *a, int (*each)(void *ctx, const char *json, size_t len),
    void *ctx)
{
	sqlite3_stmt *st = NULL;
	const char *text;
	int rc, step;

	if ((rc = adb__stmt(a, ADB__PROF_ALL, &st)) != PA_OK)
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((text = (const char *)sqlite3_column_text(st, 0)) == NULL) {
			rc = PA_ENOMEM;
			break;
		}
		if ((rc = each(ctx, text, (size_t)sqlite3_column_bytes(st, 0))) !=
		    PA_OK)
			break;
	}
	if (rc == PA_OK && step != SQLITE_DONE)
		rc = sqlx_err(a->db, step, "list profiles");
	adb__done(st);
	return rc;
}

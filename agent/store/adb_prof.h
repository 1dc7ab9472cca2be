/* adb_prof — import profiles as agent.db keeps them: a name and the JSON
 * text as given. Parsing and validation are agent/import/profile.c; the
 * store never looks inside the text. */
#ifndef ADB_PROF_H
#define ADB_PROF_H

#include <stddef.h>

#include "agent/store/adb.h"

/* Store profile `name` with its JSON text, created at now (ISO UTC).
 * replace: an existing one gets the new text (its created_at is kept);
 * otherwise PA_EEXISTS when the name is taken. Strings borrowed. */
int adbp_put(adb *a, const char *name, const char *json, const char *now,
    int replace);
/* The text of profile name (a new string the caller frees with pa_free,
 * *len its length), or PA_ENOTFOUND with no message (the caller says what
 * to do). */
int adbp_get(adb *a, const char *name, char **json, size_t *len);
/* Delete profile name, or PA_ENOTFOUND with no message. */
int adbp_remove(adb *a, const char *name);
/* Every profile's text, ordered by name: each is called once per profile
 * with text that lives until it returns; a non-PA_OK return stops the walk
 * and is returned. each must not use the store. */
int adbp_each(adb *a, int (*each)(void *ctx, const char *json, size_t len),
    void *ctx);

#endif

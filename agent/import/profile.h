/* profile — import profiles (DESIGN §4): parse and validate the JSON, keep
 * them in agent.db. A validated profile is immutable; every string in it is
 * owned by the profile. */
#ifndef PROFILE_H
#define PROFILE_H

#include <jansson.h>

#include "agent/readers/rowsrc.h"
#include "agent/store/adb.h"
#include "agent/store/catalog.h"

struct profile {
	char *name;
	char *supplier_code;          /* may be NULL */
	enum rs_format format;
	char *sheet;                  /* xlsx; NULL = first sheet */
	char delimiter, quote;
	long header_row, data_start_row;
	int skip_empty_rows;
	enum cat_field upsert_field;
	int create_missing, update_existing;
	char *column[CAT_NFIELDS];    /* header text per field; NULL = unmapped */
	unsigned mapped;              /* bit per mapped field */
	char *file_pattern;           /* may be NULL */
	double max_error_percent;     /* 0..100, default 100 (never fail) */
	/* Price guard (DESIGN §5): fail when more than max_changed_share_percent
	 * of the matched products would move a price by more than
	 * max_price_change_percent. Defaults 50 and 20; both 100: off. */
	double max_price_change_percent, max_changed_share_percent;
	int active;                   /* "active": false = switched off */
	json_t *json;                 /* the profile as given (owned ref) */
};

/* Parse and validate text. On PA_EPROFILE the message names the field and
 * the rule. *out is freed with prof_free(). */
int prof_parse(const char *text, size_t len, struct profile **out);
void prof_free(struct profile *p);

const char *prof_format_name(enum rs_format f);
/* Rules for a profile being added (not applied to stored ones, so an
 * older profile never becomes unreadable): its name has no control
 * characters, is not blank, has no outer spaces, fits PROFILE_MAX_NAME.
 * PA_EPROFILE naming the rule. */
#define PROFILE_MAX_NAME 200
int prof_check_new(const struct profile *p);
/* PA_OK when p may be used for an import; PA_EPROFILE naming it when the
 * operator switched it off ("active": false). */
int prof_check_active(const struct profile *p);

/* Store. add: PA_EEXISTS when the name is taken and !replace. */
int prof_add(adb *a, const struct profile *p, int replace);
/* get: PA_ENOTFOUND (message lists nothing; caller adds context). */
int prof_get(adb *a, const char *name, struct profile **out);
int prof_remove(adb *a, const char *name);
/* New array of {name, supplier_code, file_format, file_pattern,
 * upsert_field, column_mapping, active} ordered by name. */
int prof_list(adb *a, json_t **out);
/* Every stored profile, for the inbox matcher; *n set. Free each with
 * prof_free and the array with pa_free. */
int prof_all(adb *a, struct profile ***out, size_t *n);

#endif

#include "agent/import/profile.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "agent/core/names.h"
#include "agent/store/adb_prof.h"
#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

static const char *const format_names[] = {
	[RS_CSV_UTF8] = "csv_utf8", [RS_CSV_CP1251] = "csv_cp1251",
	[RS_XLSX] = "xlsx",
};

/* Keys a profile may carry. Anything else is most likely a typo that
 * would silently change an import, so it is refused; the descriptive keys
 * of the old system's profiles are accepted and kept. */
static const char *const known_keys[] = {
	"name", "supplier_code", "file_format", "sheet", "csv_delimiter",
	"csv_quote_char", "header_row", "data_start_row", "skip_empty_rows",
	"upsert_field", "create_missing", "update_existing", "column_mapping",
	"file_pattern", "max_error_percent", "max_price_change_percent",
	"max_changed_share_percent", "description", "active", "notes",
	"id", "encoding", NULL
};

const char *
prof_format_name(enum rs_format f)
{
	return format_names[f];
}

void
prof_free(struct profile *p)
{
	int i;

	if (p == NULL)
		return;
	pa_free(p->name);
	pa_free(p->supplier_code);
	pa_free(p->sheet);
	pa_free(p->file_pattern);
	for (i = 0; i < CAT_NFIELDS; i++)
		pa_free(p->column[i]);
	json_decref(p->json);
	pa_free(p);
}

static int __attribute__((format(printf, 2, 3)))
bad(const char *field, const char *fmt, ...)
{
	char rule[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rule, sizeof(rule), fmt, ap);
	va_end(ap);
	return pa_err_set(PA_EPROFILE, "profile field '%s': %s", field, rule);
}

/* Optional string: absent/null leaves *out NULL. */
static int
opt_str(json_t *root, const char *key, char **out, int nonempty)
{
	json_t *v = json_object_get(root, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return PA_OK;
	if (!json_is_string(v))
		return bad(key, "must be a string%s", "");
	if (nonempty && json_string_length(v) == 0)
		return bad(key, "must not be empty%s", "");
	if ((*out = pa_strdup(json_string_value(v))) == NULL)
		return PA_ENOMEM;
	return PA_OK;
}

static int
opt_bool(json_t *root, const char *key, int def, int *out)
{
	json_t *v = json_object_get(root, key);

	*out = def;
	if (v == NULL || json_is_null(v))
		return PA_OK;
	if (!json_is_boolean(v))
		return bad(key, "must be true or false%s", "");
	*out = json_is_true(v);
	return PA_OK;
}

static int
opt_long(json_t *root, const char *key, long def, long *out)
{
	json_t *v = json_object_get(root, key);

	*out = def;
	if (v == NULL || json_is_null(v))
		return PA_OK;
	if (!json_is_integer(v))
		return bad(key, "must be a whole number%s", "");
	if (json_integer_value(v) < -1000000000 || json_integer_value(v) > 1000000000)
		return bad(key, "is out of range%s", "");
	*out = (long)json_integer_value(v);
	return PA_OK;
}

/* One CSV character: a single byte, or the two-character escape "\t". */
static int
one_char(json_t *root, const char *key, char def, int required, char *out)
{
	json_t *v = json_object_get(root, key);
	const char *s;

	*out = def;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return bad(key, "is required for CSV profiles (e.g. \";\" or "
			    "\",\" or \"\\t\")%s", "");
		return PA_OK;
	}
	if (!json_is_string(v))
		return bad(key, "must be a one-character string%s", "");
	s = json_string_value(v);
	if (strcmp(s, "\\t") == 0) {
		*out = '\t';
		return PA_OK;
	}
	if (json_string_length(v) != 1 || (unsigned char)s[0] >= 0x80 ||
	    s[0] == '\n' || s[0] == '\r')
		return bad(key, "must be exactly one ASCII character, got \"%s\"", s);
	*out = s[0];
	return PA_OK;
}

static int
parse_mapping(json_t *root, struct profile *p)
{
	json_t *map = json_object_get(root, "column_mapping"), *v;
	const char *field;
	enum cat_field f;

	if (map == NULL || !json_is_object(map) || json_object_size(map) == 0)
		return bad("column_mapping", "must be a non-empty object of "
		    "field: \"Column header\" pairs%s", "");
	json_object_foreach(map, field, v) {
		if (cat_field_parse(field, &f) != PA_OK)
			return pa_err_set(PA_EPROFILE, "profile field 'column_mapping': "
			    "'%s' is not a product field; allowed: default_code, "
			    "barcode, name, list_price, standard_price, qty_available, "
			    "category, brand, uom", field);
		if (!json_is_string(v) || json_string_length(v) == 0)
			return pa_err_set(PA_EPROFILE, "profile field 'column_mapping."
			    "%s': must be a non-empty column header string", field);
		if ((p->column[f] = pa_strdup(json_string_value(v))) == NULL)
			return PA_ENOMEM;
		p->mapped |= 1u << f;
	}
	return PA_OK;
}

/* An optional percent key: a number from 0 to 100, def when absent. */
static int
percent(json_t *root, const char *key, double def, double *out)
{
	json_t *v = json_object_get(root, key);

	*out = def;
	if (v == NULL || json_is_null(v))
		return PA_OK;
	if (!json_is_number(v) || json_number_value(v) < 0 ||
	    json_number_value(v) > 100 || isnan(json_number_value(v)))
		return bad(key, "must be a number from 0 to 100%s", "");
	*out = json_number_value(v);
	return PA_OK;
}

/* A name is typed on command lines and shown in tables and logs: no
 * control characters (a newline forged log lines), not blank, bounded. */
static int
check_name(const char *name)
{
	const char *s;

	if (strlen(name) > PROFILE_MAX_NAME)
		return pa_err_set(PA_EPROFILE, "profile field 'name': longer than "
		    "%d bytes", PROFILE_MAX_NAME);
	if (names_needs_escape(name))
		return pa_err_set(PA_EPROFILE, "profile field 'name': must not "
		    "hold control characters (newline, tab, escape, bidi "
		    "controls)");
	for (s = name; *s == ' ' || (*s == '\xc2' && s[1] == '\xa0'); )
		s += *s == ' ' ? 1 : 2;
	if (*s == '\0')
		return bad("name", "must not be blank%s", "");
	if (name[0] == ' ' || name[strlen(name) - 1] == ' ')
		return bad("name", "must not start or end with a space%s", "");
	return PA_OK;
}

int
prof_check_new(const struct profile *p)
{
	return check_name(p->name);
}

int
prof_check_active(const struct profile *p)
{
	if (p->active)
		return PA_OK;
	return pa_err_set(PA_EPROFILE, "profile '%s' is disabled (\"active\": "
	    "false): nothing is imported with it; set \"active\": true and run "
	    "posagent profile add --replace FILE.json to use it again", p->name);
}

static int
validate(json_t *root, struct profile *p)
{
	const char *key, *s;
	json_t *v;
	int rc, i, known;

	json_object_foreach(root, key, v) {
		for (known = 0, i = 0; known_keys[i]; i++)
			known |= strcmp(key, known_keys[i]) == 0;
		if (!known)
			return pa_err_set(PA_EPROFILE, "profile field '%s' is unknown "
			    "(a typo?); see docs/profiles.md for the fields", key);
	}
	if ((rc = opt_str(root, "name", &p->name, 1)) != PA_OK)
		return rc;
	if (p->name == NULL)
		return bad("name", "is required%s", "");
	if ((rc = opt_bool(root, "active", 1, &p->active)) != PA_OK)
		return rc;
	if ((rc = opt_str(root, "supplier_code", &p->supplier_code, 0)) != PA_OK ||
	    (rc = opt_str(root, "sheet", &p->sheet, 1)) != PA_OK ||
	    (rc = opt_str(root, "file_pattern", &p->file_pattern, 1)) != PA_OK)
		return rc;
	v = json_object_get(root, "file_format");
	if (v == NULL || !json_is_string(v))
		return bad("file_format", "is required: xlsx, csv_utf8 or "
		    "csv_cp1251%s", "");
	s = json_string_value(v);
	for (i = 0; i < 3; i++)
		if (strcmp(s, format_names[i]) == 0)
			break;
	if (i == 3)
		return bad("file_format", "'%s' is not one of xlsx, csv_utf8, "
		    "csv_cp1251", s);
	p->format = (enum rs_format)i;
	if ((rc = one_char(root, "csv_delimiter", ',', p->format != RS_XLSX,
	    &p->delimiter)) != PA_OK ||
	    (rc = one_char(root, "csv_quote_char", '"', 0, &p->quote)) != PA_OK)
		return rc;
	if (p->format != RS_XLSX && p->delimiter == p->quote)
		return bad("csv_quote_char", "must differ from csv_delimiter%s", "");
	if ((rc = opt_long(root, "header_row", 1, &p->header_row)) != PA_OK)
		return rc;
	if (p->header_row < 1)
		return bad("header_row", "must be 1 or more (rows count from 1, as "
		    "a spreadsheet shows them)%s", "");
	if ((rc = opt_long(root, "data_start_row", p->header_row + 1,
	    &p->data_start_row)) != PA_OK)
		return rc;
	if (p->data_start_row <= p->header_row)
		return bad("data_start_row", "must be greater than header_row%s", "");
	if ((rc = opt_bool(root, "skip_empty_rows", 1, &p->skip_empty_rows)) != PA_OK ||
	    (rc = opt_bool(root, "create_missing", 1, &p->create_missing)) != PA_OK ||
	    (rc = opt_bool(root, "update_existing", 1, &p->update_existing)) != PA_OK)
		return rc;
	if ((rc = parse_mapping(root, p)) != PA_OK)
		return rc;
	v = json_object_get(root, "upsert_field");
	s = v && json_is_string(v) ? json_string_value(v) : "default_code";
	if (v && !json_is_string(v))
		return bad("upsert_field", "must be a string%s", "");
	if (cat_field_parse(s, &p->upsert_field) != PA_OK ||
	    !cat_field_is_key(p->upsert_field))
		return bad("upsert_field", "'%s' cannot identify a product: use "
		    "default_code, barcode or name", s);
	if (!(p->mapped & (1u << p->upsert_field)))
		return bad("upsert_field", "'%s' is not in column_mapping: map it "
		    "to the column that holds the key", s);
	if ((rc = percent(root, "max_error_percent", 100,
	    &p->max_error_percent)) != PA_OK ||
	    (rc = percent(root, "max_price_change_percent", 50,
	    &p->max_price_change_percent)) != PA_OK ||
	    (rc = percent(root, "max_changed_share_percent", 20,
	    &p->max_changed_share_percent)) != PA_OK)
		return rc;
	return PA_OK;
}

int
prof_parse(const char *text, size_t len, struct profile **out)
{
	struct profile *p = NULL;
	json_error_t jerr;
	json_t *root = NULL;
	unsigned long nofail;
	int rc;

	*out = NULL;
	nofail = pa_mem_failures();
	/* Windows editors (Notepad) start a UTF-8 file with a BOM; RFC 8259
	 * §8.1 lets a parser ignore it, and jansson does not. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	/* Not the profile's fault: jansson reports some allocation failures
	 * as bad JSON ("invalid token"), or with no text at all. */
	if (root == NULL && pa_mem_failures() != nofail) {
		rc = PA_ENOMEM;
		goto out;
	}
	if (root == NULL) {
		rc = pa_err_set(PA_EPROFILE, "profile is not valid JSON: %s (line %d, "
		    "column %d)", jerr.text, jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = pa_err_set(PA_EPROFILE, "profile must be a JSON object");
		goto out;
	}
	if ((p = pa_calloc(1, sizeof(*p))) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	if ((rc = validate(root, p)) != PA_OK)
		goto out;
	p->json = root;
	root = NULL; /* transferred */
	*out = p;
	p = NULL; /* transferred */
out:
	prof_free(p);
	json_decref(root);
	return rc;
}

int
prof_add(adb *a, const struct profile *p, int replace)
{
	char now[32], *text = NULL;
	int rc;

	hal_now_iso(now);
	if ((text = json_dumps(p->json, JSON_COMPACT)) == NULL)
		return PA_ENOMEM;
	rc = adbp_put(a, p->name, text, now, replace);
	if (rc == PA_EEXISTS)
		rc = pa_err_set(PA_EEXISTS, "profile '%s' already exists: use "
		    "'profile add --replace FILE' to change it", p->name);
	pa_free(text); /* jansson allocates through pa_mem */
	return rc;
}

static int
not_found(int rc, const char *name)
{
	if (rc == PA_ENOTFOUND)
		return pa_err_set(PA_ENOTFOUND, "no profile named '%s' (see: "
		    "posagent profile list)", name);
	return rc;
}

int
prof_get(adb *a, const char *name, struct profile **out)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = adbp_get(a, name, &text, &len)) != PA_OK)
		return not_found(rc, name);
	rc = prof_parse(text, len, out);
	pa_free(text);
	return rc;
}

int
prof_remove(adb *a, const char *name)
{
	return not_found(adbp_remove(a, name), name);
}

struct all {
	struct profile **arr;
	size_t n;
};

/* Parse one stored profile onto the array ctx. */
static int
add_one(void *ctx, const char *text, size_t len)
{
	struct all *all = ctx;
	struct profile *p = NULL, **grown;
	int rc;

	if ((rc = prof_parse(text, len, &p)) != PA_OK)
		return rc;
	if ((grown = pa_realloc(all->arr, (all->n + 1) * sizeof(*grown))) ==
	    NULL) {
		prof_free(p);
		return PA_ENOMEM;
	}
	all->arr = grown;
	all->arr[all->n++] = p;
	return PA_OK;
}

int
prof_all(adb *a, struct profile ***out, size_t *n)
{
	struct all all = { NULL, 0 };
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = adbp_each(a, add_one, &all)) == PA_OK) {
		*out = all.arr;
		*n = all.n;
		all.arr = NULL; /* transferred */
		all.n = 0;
	}
	while (all.n > 0)
		prof_free(all.arr[--all.n]);
	pa_free(all.arr);
	return rc;
}

int
prof_list(adb *a, json_t **out)
{
	struct profile **all = NULL;
	json_t *arr = NULL;
	size_t n = 0, i;
	int rc;

	*out = NULL;
	if ((rc = prof_all(a, &all, &n)) != PA_OK)
		return rc;
	if ((arr = json_array()) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct profile *p = all[i];
		json_t *o = json_pack("{s:s, s:s*, s:s, s:s*, s:s, s:O, s:b}",
		    "name", p->name, "supplier_code", p->supplier_code,
		    "file_format", prof_format_name(p->format),
		    "file_pattern", p->file_pattern,
		    "upsert_field", cat_field_name(p->upsert_field),
		    "column_mapping", json_object_get(p->json, "column_mapping"),
		    "active", p->active);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			rc = PA_ENOMEM;
			goto out;
		}
	}
	*out = arr;
	arr = NULL; /* transferred */
out:
	json_decref(arr);
	for (i = 0; i < n; i++)
		prof_free(all[i]);
	pa_free(all);
	return rc;
}

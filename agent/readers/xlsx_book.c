/* xlsx_book — find the parts: workbook, the sheet to read, shared strings,
 * styles (ECMA-376 Part 2, OPC; Part 1, 18.2 workbook).
 *
 * [Content_Types].xml names the workbook part (nearly always
 * xl/workbook.xml); its relationships map r:id to parts. Sheet files are
 * named by the producer (sheet1.xml is not the first sheet after a user
 * reorders tabs), so order comes from <sheets> in workbook.xml only. A
 * hidden sheet still counts (it is where it is); a chart sheet does not,
 * having no cells.
 * Relationship targets may be relative ("worksheets/sheet1.xml") or
 * absolute ("/xl/worksheets/sheet1.xml", .NET writers). */
#include "agent/readers/xlsx.h"

#include <stdio.h>
#include <string.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hal/pa_utf8.h"

enum rel_kind {
	REL_OTHER, REL_WORKSHEET, REL_CHARTSHEET, REL_OTHERSHEET, REL_SST,
	REL_STYLES
};

struct rel {
	char *id;
	char *target;          /* resolved part name */
	enum rel_kind kind;
};

struct book {
	struct xlsx__zip *z;
	struct xlsx__book *b;
	const char *want;
	char wb_part[XLSX_MAX_PATH];
	char base[XLSX_MAX_PATH];      /* directory of wb_part, with '/' */
	int binary;                    /* .xlsb main part seen */
	struct rel *rels;
	size_t nrels;
	int rc;                        /* first error seen by a handler */
	/* workbook.xml */
	int found;                     /* a sheet was chosen */
	unsigned nsheets;
	char names[640];               /* sheet names, for "not found" */
};

/* --- [Content_Types].xml -------------------------------------------------- */

static void
ct_start(struct xlsx__xml *x, enum xlsx__ns ns, const char *local,
    const char **atts)
{
	struct book *k = x->ud;
	const char *part, *type;

	if (!(ns == XLSX_NS_CT || ns == XLSX_NS_NONE) ||
	    strcmp(local, "Override") != 0 || k->wb_part[0] != '\0')
		return;
	part = xlsx__attr(atts, XLSX_NS_NONE, "PartName");
	type = xlsx__attr(atts, XLSX_NS_NONE, "ContentType");
	if (part == NULL || type == NULL)
		return;
	if (strstr(type, "sheet.binary.") != NULL) {
		k->binary = 1;
		return;
	}
	/* .sheet.main+xml, .template.main+xml, macroEnabled variants. */
	if ((strstr(type, "spreadsheetml.") != NULL ||
	    strstr(type, "ms-excel.") != NULL) &&
	    strstr(type, ".main+xml") != NULL &&
	    xlsx__resolve("", part, k->wb_part, sizeof(k->wb_part)) != PA_OK)
		k->wb_part[0] = '\0';
}

/* --- workbook rels -------------------------------------------------------- */

static enum rel_kind
rel_kind(const char *type)
{
	const char *t = strrchr(type, '/');

	t = t ? t + 1 : type;
	if (strcmp(t, "worksheet") == 0)
		return REL_WORKSHEET;
	if (strcmp(t, "chartsheet") == 0)
		return REL_CHARTSHEET;
	if (strcmp(t, "dialogsheet") == 0 || strcmp(t, "xlMacrosheet") == 0 ||
	    strcmp(t, "xlIntlMacrosheet") == 0)
		return REL_OTHERSHEET;
	if (strcmp(t, "sharedStrings") == 0)
		return REL_SST;
	if (strcmp(t, "styles") == 0)
		return REL_STYLES;
	return REL_OTHER;
}

static void
rels_start(struct xlsx__xml *x, enum xlsx__ns ns, const char *local,
    const char **atts)
{
	struct book *k = x->ud;
	const char *id, *type, *target, *mode;
	char part[XLSX_MAX_PATH];
	enum rel_kind kind;
	struct rel *r;

	if (!(ns == XLSX_NS_PKGREL || ns == XLSX_NS_NONE) ||
	    strcmp(local, "Relationship") != 0)
		return;
	id = xlsx__attr(atts, XLSX_NS_NONE, "Id");
	type = xlsx__attr(atts, XLSX_NS_NONE, "Type");
	target = xlsx__attr(atts, XLSX_NS_NONE, "Target");
	mode = xlsx__attr(atts, XLSX_NS_NONE, "TargetMode");
	if (id == NULL || type == NULL || target == NULL ||
	    (mode != NULL && strcmp(mode, "External") == 0))
		return;
	if ((kind = rel_kind(type)) == REL_OTHER)
		return;
	if (xlsx__resolve(k->base, target, part, sizeof(part)) != PA_OK)
		return;  /* unusable target: as if the relationship were absent */
	if (kind == REL_SST || kind == REL_STYLES) {
		char *dst = kind == REL_SST ? k->b->sst_part : k->b->styles_part;

		if (dst[0] == '\0')
			memcpy(dst, part, strlen(part) + 1);  /* both XLSX_MAX_PATH */
		return;
	}
	if (k->nrels >= XLSX_MAX_RELS) {
		pa_err_set(PA_ELIMIT, "%s: the workbook has more than %u sheet "
		    "relationships (XLSX_MAX_RELS)", k->z->path, XLSX_MAX_RELS);
		k->rc = PA_ELIMIT;
		xlsx__xml_abort(x, PA_ELIMIT);
		return;
	}
	if (k->nrels % 16 == 0) {
		r = pa_realloc(k->rels, (k->nrels + 16) * sizeof(*r));
		if (r == NULL)
			goto nomem;
		k->rels = r;
	}
	r = &k->rels[k->nrels];
	r->kind = kind;
	r->id = pa_strdup(id);
	r->target = pa_strdup(part);
	k->nrels++;
	if (r->id == NULL || r->target == NULL)
		goto nomem;
	return;
nomem:
	pa_err_set(PA_ENOMEM, "%s: out of memory reading relationships",
	    k->z->path);
	xlsx__xml_abort(x, PA_ENOMEM);
}

static const struct rel *
rel_find(const struct book *k, const char *id)
{
	size_t i;

	for (i = 0; i < k->nrels; i++)
		if (strcmp(k->rels[i].id, id) == 0)
			return &k->rels[i];
	return NULL;
}

/* --- workbook.xml --------------------------------------------------------- */

/* Copy at most n-1 bytes of s, never cutting a UTF-8 sequence. */
static void
copy_utf8(char *dst, size_t n, const char *s)
{
	size_t len = pa_utf8_cut(s, strlen(s), n - 1);

	memcpy(dst, s, len);
	dst[len] = '\0';
}

static void
add_name(struct book *k, const char *name)
{
	size_t used = strlen(k->names), room = sizeof(k->names) - used;

	if (room < 8)
		return;
	if (used > 0 && room > 2) {
		memcpy(k->names + used, ", ", 3);
		used += 2;
		room -= 2;
	}
	if (strlen(name) + 3 > room) {
		snprintf(k->names + used, room, "...");
		return;
	}
	snprintf(k->names + used, room, "\"%s\"", name);
}

static void
choose(struct xlsx__xml *x, struct book *k, const char *name, const char *rid)
{
	const struct rel *r = rid ? rel_find(k, rid) : NULL;

	if (k->want != NULL && strcmp(name, k->want) != 0)
		return;
	if (k->want == NULL && (r == NULL || r->kind != REL_WORKSHEET))
		return;  /* the first *worksheet*: skip chart sheets */
	k->found = 1;
	copy_utf8(k->b->sheet_name, sizeof(k->b->sheet_name), name);
	if (r == NULL) {
		k->rc = pa_err_set(PA_EFORMAT, "%s is damaged: sheet \"%s\" "
		    "points to no part (r:id \"%s\")", k->z->path, name,
		    rid ? rid : "");
	} else if (r->kind != REL_WORKSHEET) {
		k->rc = pa_err_set(PA_EFORMAT, "%s: sheet \"%s\" is a %s, not a "
		    "table; choose a worksheet", k->z->path, name,
		    r->kind == REL_CHARTSHEET ? "chart" : "dialog or macro sheet");
	} else if (strlen(r->target) >= sizeof(k->b->sheet_part)) {
		k->rc = pa_err_set(PA_EFORMAT, "%s is damaged: sheet part name "
		    "too long", k->z->path);  /* cannot happen: resolve bounds it */
	} else {
		memcpy(k->b->sheet_part, r->target, strlen(r->target) + 1);
	}
	if (k->rc != PA_OK)
		xlsx__xml_abort(x, k->rc);
}

static void
wb_start(struct xlsx__xml *x, enum xlsx__ns ns, const char *local,
    const char **atts)
{
	struct book *k = x->ud;
	const char *v, *name;

	if (xlsx__is(ns, local, "workbookPr") && x->depth == 2) {
		v = xlsx__attr(atts, XLSX_NS_NONE, "date1904");
		k->b->date1904 = v != NULL && (strcmp(v, "1") == 0 ||
		    strcmp(v, "true") == 0);
		return;
	}
	if (!xlsx__is(ns, local, "sheet") || x->depth != 3)
		return;
	if ((name = xlsx__attr(atts, XLSX_NS_NONE, "name")) == NULL)
		return;
	k->nsheets++;
	add_name(k, name);
	if (!k->found)
		choose(x, k, name, xlsx__attr(atts, XLSX_NS_REL, "id"));
}

/* --- paths ---------------------------------------------------------------- */

int
xlsx__resolve(const char *base_dir, const char *target, char *out,
    size_t outsz)
{
	char raw[2 * XLSX_MAX_PATH];
	size_t n = 0, o = 0, seg, i;
	const char *t = target;
	int h1, h2;

	if (target[0] == '/') {
		t++;
	} else {
		n = strlen(base_dir);
		if (n >= sizeof(raw))
			return PA_EFORMAT;
		memcpy(raw, base_dir, n);
	}
	/* Percent-decode (OPC part names are URIs); '\' as '/' for writers
	 * that used Windows paths. */
	for (; *t != '\0'; t++) {
		char c = *t;

		if (n + 1 >= sizeof(raw))
			return PA_EFORMAT;
		if (c == '%') {
			h1 = xlsx__hexval((unsigned char)t[1]);
			h2 = h1 < 0 ? -1 : xlsx__hexval((unsigned char)t[2]);
			if (h1 < 0 || h2 < 0 || (h1 | h2) == 0)
				return PA_EFORMAT;
			c = (char)(h1 * 16 + h2);
			t += 2;
		}
		raw[n++] = c == '\\' ? '/' : c;
	}
	raw[n] = '\0';
	/* Normalise "." and ".." segments; never climb above the root. */
	for (i = 0; i <= n; i = seg + 1) {
		for (seg = i; seg < n && raw[seg] != '/'; seg++)
			;
		if (seg == i || (seg - i == 1 && raw[i] == '.'))
			continue;
		if (seg - i == 2 && raw[i] == '.' && raw[i + 1] == '.') {
			if (o == 0)
				return PA_EFORMAT;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;  /* the '/' before the popped segment */
			continue;
		}
		if (o + (o > 0) + (seg - i) + 1 > outsz)
			return PA_EFORMAT;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, raw + i, seg - i);
		o += seg - i;
	}
	if (o == 0)
		return PA_EFORMAT;
	out[o] = '\0';
	return PA_OK;
}

/* --- all together --------------------------------------------------------- */

int
xlsx__book_load(struct xlsx__zip *z, const char *want, struct xlsx__book *b)
{
	struct book k;
	char rels_part[XLSX_MAX_PATH + 16];
	const char *slash;
	size_t i, dir;
	int rc;

	memset(b, 0, sizeof(*b));
	memset(&k, 0, sizeof(k));
	k.z = z;
	k.b = b;
	k.want = want;
	rc = xlsx__xml_part(z, "[Content_Types].xml", XLSX_MAX_META_BYTES, &k,
	    ct_start, NULL, NULL);
	if (rc != PA_OK && rc != PA_ENOTFOUND)
		goto out;
	if (k.wb_part[0] == '\0' || !xlsx__zip_has(z, k.wb_part)) {
		if (k.binary) {
			rc = pa_err_set(PA_EFORMAT, "%s is an Excel binary "
			    "workbook (.xlsb); open it in Excel/LibreOffice and "
			    "save it as .xlsx", z->path);
			goto out;
		}
		/* Tolerate a missing or odd [Content_Types].xml: the usual
		 * name will do. */
		if (!xlsx__zip_has(z, "xl/workbook.xml")) {
			rc = xlsx__zip_not_workbook(z);
			goto out;
		}
		memcpy(k.wb_part, "xl/workbook.xml", sizeof("xl/workbook.xml"));
	}
	slash = strrchr(k.wb_part, '/');
	dir = slash ? (size_t)(slash - k.wb_part) + 1 : 0;
	memcpy(k.base, k.wb_part, dir);
	k.base[dir] = '\0';
	snprintf(rels_part, sizeof(rels_part), "%s_rels/%s.rels", k.base,
	    k.wb_part + dir);
	rc = xlsx__xml_part(z, rels_part, XLSX_MAX_META_BYTES, &k, rels_start,
	    NULL, NULL);
	if (rc == PA_ENOTFOUND)
		rc = pa_err_set(PA_EFORMAT, "%s is damaged: %s is missing, so "
		    "its sheets cannot be found", z->path, rels_part);
	if (rc != PA_OK)
		goto out;
	rc = xlsx__xml_part(z, k.wb_part, XLSX_MAX_META_BYTES, &k, wb_start,
	    NULL, NULL);
	if (rc == PA_ENOTFOUND)  /* cannot happen: checked above */
		rc = pa_err_set(PA_EFORMAT, "%s is damaged: %s is missing",
		    z->path, k.wb_part);
	if (rc != PA_OK)
		goto out;
	if (!k.found && want != NULL) {
		rc = pa_err_set(PA_EFORMAT, "%s has no sheet named \"%s\"; "
		    "sheets found: %s", z->path, want,
		    k.names[0] ? k.names : "none");
		goto out;
	}
	if (!k.found) {
		rc = pa_err_set(PA_EFORMAT, "%s has no worksheet to read (%u "
		    "sheet(s) listed: %s)", z->path, k.nsheets,
		    k.names[0] ? k.names : "none");
		goto out;
	}
	rc = PA_OK;
out:
	for (i = 0; i < k.nrels; i++) {
		pa_free(k.rels[i].id);
		pa_free(k.rels[i].target);
	}
	pa_free(k.rels);
	return rc;
}

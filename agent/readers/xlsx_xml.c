/* xlsx_xml — hardened, namespace-aware, suspendable expat for OOXML parts.
 *
 * Every part goes through here, so every part gets the same defences:
 * no DOCTYPE (and so no entities: billion laughs, external entities), a
 * depth limit, a limit on the bytes between two '<' (expat holds a whole tag
 * in memory; this keeps its buffer bounded), and billion-laughs accounting
 * on top in case a future change lets a DTD through.
 *
 * Names are split by expat into namespace URI + local name: producers bind
 * SpreadsheetML to a default namespace (openpyxl, LibreOffice) or to a prefix
 * (x:row from .NET writers); both are the same element. */
/* expat.h declares the billion-laughs setters only under XML_DTD, which
 * Debian's libexpat is built with (and which guards nothing else there). */
#define XML_DTD 1
#include "agent/readers/xlsx.h"

#include <stdio.h>
#include <string.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"

/* Cannot occur in an XML 1.0 document, so it cannot be faked by a URI. */
#define NS_SEP '\x01'

#define URI(s) s, sizeof(s) - 1
static const struct {
	const char *uri;
	size_t len;
	enum xlsx__ns ns;
} known_ns[] = {
	/* most frequent first: every element of a sheet is in this one */
	{ URI("http://schemas.openxmlformats.org/spreadsheetml/2006/main"),
	  XLSX_NS_MAIN },
	{ URI("http://purl.oclc.org/ooxml/spreadsheetml/main"), XLSX_NS_MAIN },
	{ URI("http://schemas.openxmlformats.org/officeDocument/2006/relationships"),
	  XLSX_NS_REL },
	{ URI("http://purl.oclc.org/ooxml/officeDocument/relationships"),
	  XLSX_NS_REL },
	{ URI("http://schemas.openxmlformats.org/package/2006/relationships"),
	  XLSX_NS_PKGREL },
	{ URI("http://schemas.openxmlformats.org/package/2006/content-types"),
	  XLSX_NS_CT },
};
#undef URI

static const char *
split(const char *name, enum xlsx__ns *ns)
{
	const char *sep;
	size_t i;

	/* Hot path (twice per cell): a known URI, checked without scanning
	 * for the separator first; strncmp stops at a shorter name's NUL.
	 * They all start with "http://". */
	for (i = 0; name[0] == 'h' &&
	    i < sizeof(known_ns) / sizeof(known_ns[0]); i++) {
		if (strncmp(name, known_ns[i].uri, known_ns[i].len) == 0 &&
		    name[known_ns[i].len] == NS_SEP &&
		    strchr(name + known_ns[i].len + 1, NS_SEP) == NULL) {
			*ns = known_ns[i].ns;
			return name + known_ns[i].len + 1;
		}
	}
	if ((sep = strrchr(name, NS_SEP)) == NULL) {
		*ns = XLSX_NS_NONE;
		return name;
	}
	*ns = XLSX_NS_OTHER;
	return sep + 1;
}

int
xlsx__is(enum xlsx__ns ns, const char *local, const char *name)
{
	return (ns == XLSX_NS_MAIN || ns == XLSX_NS_NONE) &&
	    strcmp(local, name) == 0;
}

const char *
xlsx__attr(const char **atts, enum xlsx__ns ns, const char *local)
{
	enum xlsx__ns ans;
	const char *l;
	size_t i;

	if (ns == XLSX_NS_NONE) {
		/* An attribute without a namespace is named by its local name
		 * alone; qualified names carry the separator, never equal. */
		for (i = 0; atts[i] != NULL; i += 2)
			if (strcmp(atts[i], local) == 0)
				return atts[i + 1];
		return NULL;
	}
	for (i = 0; atts[i] != NULL; i += 2) {
		l = split(atts[i], &ans);
		if (ans == ns && strcmp(l, local) == 0)
			return atts[i + 1];
	}
	return NULL;
}

static void
where(struct xlsx__xml *x, char *buf, size_t n)
{
	buf[0] = '\0';
	if (x->where != NULL)
		x->where(x->ud, buf, n);
}

void
xlsx__xml_abort(struct xlsx__xml *x, int code)
{
	if (x->err != 0)
		return;
	x->err = code;
	XML_StopParser(x->p, XML_FALSE);
}

void
xlsx__xml_suspend(struct xlsx__xml *x)
{
	if (x->err == 0)
		XML_StopParser(x->p, XML_TRUE);
}

static void XMLCALL
on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xlsx__xml *x = ud;
	enum xlsx__ns ns;
	const char *local;
	char w[192];

	if (x->err != 0)
		return;
	if (++x->depth > RS_MAX_XML_DEPTH) {
		where(x, w, sizeof(w));
		pa_err_set(PA_ELIMIT, "%s: %s nests XML deeper than %u levels "
		    "(RS_MAX_XML_DEPTH)%s", x->path, x->part, RS_MAX_XML_DEPTH, w);
		xlsx__xml_abort(x, PA_ELIMIT);
		return;
	}
	local = split(name, &ns);
	if (x->start != NULL)
		x->start(x, ns, local, atts);
}

static void XMLCALL
on_end(void *ud, const XML_Char *name)
{
	struct xlsx__xml *x = ud;
	enum xlsx__ns ns;
	const char *local;

	if (x->err == 0 && x->end != NULL) {
		local = split(name, &ns);
		x->end(x, ns, local);
	}
	x->depth--;
}

static void XMLCALL
on_text(void *ud, const XML_Char *s, int len)
{
	struct xlsx__xml *x = ud;

	if (x->err == 0 && x->text != NULL)
		x->text(x, s, len);
}

static void XMLCALL
on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	struct xlsx__xml *x = ud;

	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	pa_err_set(PA_EFORMAT, "%s: %s has a DOCTYPE declaration, which "
	    "spreadsheets never have; refused (it can hide an XML entity bomb)",
	    x->path, x->part);
	xlsx__xml_abort(x, PA_EFORMAT);
}

static void XMLCALL
on_entity(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
    int value_len, const XML_Char *base, const XML_Char *sysid,
    const XML_Char *pubid, const XML_Char *notation)
{
	struct xlsx__xml *x = ud;

	(void)name, (void)is_param, (void)value, (void)value_len, (void)base;
	(void)sysid, (void)pubid, (void)notation;
	/* Cannot happen while on_doctype aborts first; kept as a second lock. */
	pa_err_set(PA_EFORMAT, "%s: %s declares XML entities; refused",
	    x->path, x->part);
	xlsx__xml_abort(x, PA_EFORMAT);
}

static int XMLCALL
on_external(XML_Parser p, const XML_Char *context, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid)
{
	(void)p, (void)context, (void)base, (void)sysid, (void)pubid;
	return XML_STATUS_ERROR;  /* never fetch anything */
}

/* Expat allocates through pa_mem like everything else (out of memory is
 * decided once, hal/pa_mem.h). */
static const XML_Memory_Handling_Suite xml_mem = {
	pa_malloc, pa_realloc, pa_free
};
/* XML_ParserCreate_MM takes the separator as a string. */
static const XML_Char ns_sep[] = { NS_SEP, '\0' };

int
xlsx__xml_init(struct xlsx__xml *x, const char *path, const char *part,
    void *ud, xlsx__start_fn start, xlsx__end_fn end, xlsx__text_fn text)
{
	memset(x, 0, sizeof(*x));
	x->path = path;
	x->part = part;
	x->ud = ud;
	x->start = start;
	x->end = end;
	x->text = text;
	if ((x->p = XML_ParserCreate_MM(NULL, &xml_mem, ns_sep)) == NULL)
		return pa_err_set(PA_ENOMEM, "%s: out of memory creating an XML "
		    "parser", path);
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, on_start, on_end);
	XML_SetCharacterDataHandler(x->p, on_text);
	XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
	XML_SetEntityDeclHandler(x->p, on_entity);
	XML_SetExternalEntityRefHandler(x->p, on_external);
	XML_SetParamEntityParsing(x->p, XML_PARAM_ENTITY_PARSING_NEVER);
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 4)
	/* expat >= 2.4.0 (Debian 12 has 2.5.0). Unreachable with DOCTYPE
	 * refused, but cheap. */
	XML_SetBillionLaughsAttackProtectionMaximumAmplification(x->p, 10.0f);
	XML_SetBillionLaughsAttackProtectionActivationThreshold(x->p,
	    1024 * 1024);
#endif
	return PA_OK;
}

void
xlsx__xml_fini(struct xlsx__xml *x)
{
	if (x == NULL || x->p == NULL)
		return;
	XML_ParserFree(x->p);
	x->p = NULL;
}

/* Refuse a chunk that makes a run without '<' longer than the limit. */
static int
check_markup(struct xlsx__xml *x, const char *buf, size_t n)
{
	const char *p = buf, *end = buf + n, *q;
	size_t run = x->since_lt;
	char w[192];

	while ((q = memchr(p, '<', (size_t)(end - p))) != NULL) {
		run += (size_t)(q - p);
		if (run > XLSX_MAX_MARKUP_BYTES)
			goto fail;
		run = 0;
		p = q + 1;
	}
	run += (size_t)(end - p);
	if (run > XLSX_MAX_MARKUP_BYTES)
		goto fail;
	x->since_lt = run;
	return PA_OK;
fail:
	where(x, w, sizeof(w));
	return pa_err_set(PA_ELIMIT, "%s: %s has more than %u bytes of text or "
	    "markup in one piece (XLSX_MAX_MARKUP_BYTES)%s", x->path, x->part,
	    XLSX_MAX_MARKUP_BYTES, w);
}

static int
xml_error(struct xlsx__xml *x)
{
	enum XML_Error code = XML_GetErrorCode(x->p);
	char w[192];

	if (x->err != 0)
		return x->err;
	if (code == XML_ERROR_NO_MEMORY)
		return pa_err_set(PA_ENOMEM, "%s: out of memory parsing %s",
		    x->path, x->part);
	where(x, w, sizeof(w));
	return pa_err_set(PA_EFORMAT, "%s is damaged: %s is not well-formed "
	    "XML at line %lu, column %lu (%s)%s", x->path, x->part,
	    (unsigned long)XML_GetCurrentLineNumber(x->p),
	    (unsigned long)XML_GetCurrentColumnNumber(x->p),
	    XML_ErrorString(code), w);
}

/* Append the where() suffix to the message of rc (read errors come from
 * xlsx_zip.c, which does not know which row we were on). */
static int
add_where(struct xlsx__xml *x, int rc)
{
	char w[192], old[768];

	where(x, w, sizeof(w));
	if (w[0] == '\0')
		return rc;
	snprintf(old, sizeof(old), "%s", pa_err_msg(rc));
	return pa_err_set(rc, "%s%s", old, w);
}

int
xlsx__xml_step(struct xlsx__xml *x, struct xlsx__zip *z,
    struct xlsx__entry *e, enum xlsx__step *st)
{
	enum XML_Status s;
	void *buf;
	long n;
	int rc;

	if (x->err != 0)
		return x->err;
	if (x->suspended) {
		x->suspended = 0;
		s = XML_ResumeParser(x->p);
	} else {
		if (x->final) {
			*st = XLSX_STEP_DONE;
			return PA_OK;
		}
		if ((buf = XML_GetBuffer(x->p, (int)XLSX_CHUNK)) == NULL)
			return xml_error(x);
		if ((n = xlsx__entry_read(z, e, buf, XLSX_CHUNK)) < 0)
			return add_where(x, (int)n);
		if ((rc = check_markup(x, buf, (size_t)n)) != PA_OK)
			return rc;
		x->final = n == 0;
		s = XML_ParseBuffer(x->p, (int)n, x->final);
	}
	switch (s) {
	case XML_STATUS_SUSPENDED:
		x->suspended = 1;
		*st = XLSX_STEP_SUSPENDED;
		return PA_OK;
	case XML_STATUS_OK:
		*st = x->final ? XLSX_STEP_DONE : XLSX_STEP_MORE;
		return PA_OK;
	default:
		return xml_error(x);
	}
}

int
xlsx__xml_part(struct xlsx__zip *z, const char *part,
    unsigned long long limit, void *ud, xlsx__start_fn start,
    xlsx__end_fn end, xlsx__text_fn text)
{
	struct xlsx__entry e;
	struct xlsx__xml x;
	enum xlsx__step st = XLSX_STEP_MORE;
	int rc;

	memset(&x, 0, sizeof(x));
	if ((rc = xlsx__entry_open(z, part, limit, &e)) != PA_OK)
		return rc;
	if ((rc = xlsx__xml_init(&x, z->path, e.name, ud, start, end, text)) != PA_OK)
		goto out;
	while (rc == PA_OK && st != XLSX_STEP_DONE)
		rc = xlsx__xml_step(&x, z, &e, &st);
out:
	xlsx__xml_fini(&x);
	xlsx__entry_close(&e);
	return rc;
}

/* --- text helpers --------------------------------------------------------- */

int
xlsx__hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
xlsx__unescape(char *s, size_t len)
{
	size_t i = 0, o = 0;
	unsigned cp;
	int k, h;

	if (memchr(s, '_', len) == NULL)
		return len;
	/* ECMA-376 Part 1, 22.9.2.19 ST_Xstring: "_xHHHH_" is the UTF-16
	 * unit HHHH (Excel writes CR as _x000D_, '_' before 'x' as _x005F_).
	 * NUL and lone surrogates stay literal: we promise NUL-terminated,
	 * valid UTF-8. The output is never longer than the input. */
	while (i < len) {
		if (s[i] == '_' && i + 7 <= len && s[i + 1] == 'x' &&
		    s[i + 6] == '_') {
			cp = 0;
			for (k = 2; k < 6; k++) {
				if ((h = xlsx__hexval((unsigned char)s[i + k])) < 0)
					break;
				cp = cp * 16 + (unsigned)h;
			}
			if (k == 6 && cp != 0 && (cp < 0xD800 || cp > 0xDFFF)) {
				if (cp < 0x80) {
					s[o++] = (char)cp;
				} else if (cp < 0x800) {
					s[o++] = (char)(0xC0 | (cp >> 6));
					s[o++] = (char)(0x80 | (cp & 0x3F));
				} else {
					s[o++] = (char)(0xE0 | (cp >> 12));
					s[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
					s[o++] = (char)(0x80 | (cp & 0x3F));
				}
				i += 7;
				continue;
			}
		}
		s[o++] = s[i++];
	}
	return o;
}

bool
xlsx__parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || (unsigned long)(*s - '0') > max)
			return false;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return true;
}

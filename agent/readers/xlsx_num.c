/* xlsx_num — numbers and dates as the pipeline wants them.
 *
 * A numeric cell holds an IEEE double as text ("4601234567890",
 * "0.30000000000000004", "1.5E-3"). We print it the way a spreadsheet shows
 * it with 15 significant digits (Excel's precision), without an exponent:
 * barcodes and SKUs stay exact integers, binary noise is trimmed. Only a
 * magnitude no barcode or price has (below 1E-9, or more than 21 integer
 * digits) takes Excel's exponent form, "1E-320" rather than 322 characters
 * of zeros (issue #9).
 *
 * Dates are numbers too (days since 1899-12-30, or 1904-01-01 with
 * workbookPr date1904) and are only recognisable through the cell's style:
 * cellXfs[s].numFmtId -> a built-in date id or a custom format code with
 * date/time letters. Those become ISO 8601 text.
 *
 * Parsing and printing go through a private "C" locale: the CLI may run
 * under ru_RU, whose decimal separator is ','. */
#include "agent/readers/xlsx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"

/* --- format codes --------------------------------------------------------- */

enum xlsx__datekind
xlsx__builtin_kind(unsigned long id)
{
	/* ECMA-376 Part 1, 18.8.30: the built-in date and time formats. */
	if (id >= 14 && id <= 17)
		return XLSX_DATE;
	if ((id >= 18 && id <= 21) || (id >= 45 && id <= 47))
		return XLSX_TIME;
	if (id == 22)
		return XLSX_DATETIME;
	return XLSX_NUMBER;
}

enum xlsx__datekind
xlsx__fmt_kind(const char *code)
{
	int y = 0, d = 0, m = 0, h = 0, s = 0, elapsed;
	const char *p, *q;

	/* Letters count only outside "quoted text", [brackets] (colours,
	 * locales, conditions), and after \ _ * (escape, space-as-wide-as,
	 * fill). [h] [mm] [ss] are elapsed-time codes and do count. */
	for (p = code; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			if ((q = strchr(p + 1, '"')) == NULL)
				return XLSX_NUMBER;
			p = q;
			continue;
		case '[':
			if ((q = strchr(p + 1, ']')) == NULL)
				return XLSX_NUMBER;
			elapsed = q > p + 1;
			for (const char *e = p + 1; e < q; e++)
				if (strchr("hHmMsS", *e) == NULL)
					elapsed = 0;
			if (elapsed)
				h = 1;
			p = q;
			continue;
		case '\\':
		case '_':
		case '*':
			if (p[1] != '\0')
				p++;
			continue;
		case 'y': case 'Y': y = 1; break;
		case 'd': case 'D': d = 1; break;
		case 'm': case 'M': m = 1; break;
		case 'h': case 'H': h = 1; break;
		case 's': case 'S': s = 1; break;
		default: break;
		}
	}
	/* "m" is the month unless hours or seconds make it minutes. */
	if ((y || d || (m && !h && !s)) && (h || s))
		return XLSX_DATETIME;
	if (y || d || m)
		return h || s ? XLSX_TIME : XLSX_DATE;
	return h || s ? XLSX_TIME : XLSX_NUMBER;
}

/* --- styles.xml ----------------------------------------------------------- */

struct fmt {
	unsigned long id;
	enum xlsx__datekind kind;
};

struct stp {
	const char *path, *part;
	struct fmt *fmts;
	size_t nfmts;
	unsigned long *xf;     /* numFmtId of each cellXfs entry */
	size_t nxf;
	int in_fmts, in_xfs;
};

static void
st_start(struct xlsx__xml *x, enum xlsx__ns ns, const char *local,
    const char **atts)
{
	struct stp *p = x->ud;
	unsigned long id = 0;
	const char *code;
	void *grown;

	if (!(ns == XLSX_NS_MAIN || ns == XLSX_NS_NONE))
		return;
	if (x->depth == 2) {
		p->in_fmts = strcmp(local, "numFmts") == 0;
		p->in_xfs = strcmp(local, "cellXfs") == 0;
		return;
	}
	if (x->depth != 3)
		return;
	if (p->in_fmts && strcmp(local, "numFmt") == 0) {
		code = xlsx__attr(atts, XLSX_NS_NONE, "formatCode");
		if (code == NULL || !xlsx__parse_uint(xlsx__attr(atts,
		    XLSX_NS_NONE, "numFmtId"), 0xffffffffUL, &id) ||
		    p->nfmts >= XLSX_MAX_NUMFMTS)
			return;  /* unusable or surplus: shown as a number */
		if (p->nfmts % 32 == 0) {
			grown = pa_realloc(p->fmts, (p->nfmts + 32) *
			    sizeof(*p->fmts));
			if (grown == NULL)
				goto nomem;
			p->fmts = grown;
		}
		p->fmts[p->nfmts].id = id;
		p->fmts[p->nfmts].kind = xlsx__fmt_kind(code);
		p->nfmts++;
	} else if (p->in_xfs && strcmp(local, "xf") == 0) {
		if (p->nxf >= XLSX_MAX_XFS) {
			pa_err_set(PA_ELIMIT, "%s: %s has more than %u cell "
			    "formats (XLSX_MAX_XFS)", p->path, p->part,
			    XLSX_MAX_XFS);
			xlsx__xml_abort(x, PA_ELIMIT);
			return;
		}
		if (!xlsx__parse_uint(xlsx__attr(atts, XLSX_NS_NONE, "numFmtId"),
		    0xffffffffUL, &id))
			id = 0;  /* General */
		if (p->nxf % 256 == 0) {
			grown = pa_realloc(p->xf, (p->nxf + 256) * sizeof(*p->xf));
			if (grown == NULL)
				goto nomem;
			p->xf = grown;
		}
		p->xf[p->nxf++] = id;
	}
	return;
nomem:
	pa_err_set(PA_ENOMEM, "%s: out of memory reading %s", p->path, p->part);
	xlsx__xml_abort(x, PA_ENOMEM);
}

static void
st_end(struct xlsx__xml *x, enum xlsx__ns ns, const char *local)
{
	struct stp *p = x->ud;

	(void)ns, (void)local;
	if (x->depth == 2)
		p->in_fmts = p->in_xfs = 0;
}

int
xlsx__styles_load(struct xlsx__zip *z, const char *part,
    struct xlsx__styles *s)
{
	struct stp p;
	size_t i, j;
	int rc;

	memset(s, 0, sizeof(*s));
	memset(&p, 0, sizeof(p));
	p.path = z->path;
	p.part = part;
	rc = xlsx__xml_part(z, part, XLSX_MAX_META_BYTES, &p, st_start, st_end,
	    NULL);
	if (rc == PA_ENOTFOUND) {
		rc = PA_OK;  /* no styles: every number is a number */
		goto out;
	}
	if (rc != PA_OK || p.nxf == 0)
		goto out;
	if ((s->kind = pa_malloc(p.nxf)) == NULL) {
		rc = pa_err_set(PA_ENOMEM, "%s: out of memory", z->path);
		goto out;
	}
	s->n = p.nxf;
	for (i = 0; i < p.nxf; i++) {
		/* A custom numFmt may redefine a built-in id. */
		s->kind[i] = (unsigned char)xlsx__builtin_kind(p.xf[i]);
		for (j = 0; j < p.nfmts; j++) {
			if (p.fmts[j].id == p.xf[i]) {
				s->kind[i] = (unsigned char)p.fmts[j].kind;
				break;
			}
		}
	}
out:
	pa_free(p.fmts);
	pa_free(p.xf);
	if (rc != PA_OK)
		xlsx__styles_free(s);
	return rc;
}

enum xlsx__datekind
xlsx__styles_kind(const struct xlsx__styles *s, unsigned long xf)
{
	return xf < s->n ? (enum xlsx__datekind)s->kind[xf] : XLSX_NUMBER;
}

void
xlsx__styles_free(struct xlsx__styles *s)
{
	if (s == NULL)
		return;
	pa_free(s->kind);
	s->kind = NULL;
	s->n = 0;
}

/* --- numbers -------------------------------------------------------------- */

/* Fixed notation between 1E-9 and 21 integer digits (int64 and every
 * barcode fit); outside, the exponent form. */
#define XLSX_NUM_MIN_POINT (-8)
#define XLSX_NUM_MAX_POINT 21

size_t
xlsx__num_canon(double d, locale_t cloc, char *out, size_t outsz)
{
	char g[48], dig[24];
	const char *e, *c;
	size_t nd = 0, i, o = 0;
	long ex, point;
	locale_t old;
	int n;

	if (d == 0.0)
		d = 0.0;  /* -0 prints as "0" */
	old = uselocale(cloc);
	snprintf(g, sizeof(g), "%.15g", d);
	uselocale(old);
	if ((e = strchr(g, 'e')) == NULL) {
		n = snprintf(out, outsz, "%s", g);
		return n > 0 && (size_t)n < outsz ? (size_t)n : 0;
	}
	/* Expand d.ddde[+-]XX: collect the digits, place the point. */
	ex = strtol(e + 1, NULL, 10);
	for (c = g; c < e; c++)
		if (*c >= '0' && *c <= '9' && nd < sizeof(dig))
			dig[nd++] = *c;
	point = ex + 1;  /* digits before the decimal point */
	if (point < XLSX_NUM_MIN_POINT || point > XLSX_NUM_MAX_POINT) {
		if (outsz < nd + 12)
			return 0;  /* cannot happen with XLSX_NUM_MAX */
		if (g[0] == '-')
			out[o++] = '-';
		out[o++] = dig[0];
		if (nd > 1) {
			out[o++] = '.';
			memcpy(out + o, dig + 1, nd - 1);
			o += nd - 1;
		}
		o += (size_t)snprintf(out + o, outsz - o, "E%c%02ld",
		    ex < 0 ? '-' : '+', labs(ex));
		return o;
	}
	if (outsz < (size_t)labs(ex) + nd + 4)
		return 0;  /* cannot happen with XLSX_NUM_MAX */
	if (g[0] == '-')
		out[o++] = '-';
	if (point <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = 0; i < (size_t)-point; i++)
			out[o++] = '0';
		memcpy(out + o, dig, nd);
		o += nd;
	} else if ((size_t)point >= nd) {
		memcpy(out + o, dig, nd);
		o += nd;
		for (i = nd; i < (size_t)point; i++)
			out[o++] = '0';
	} else {
		memcpy(out + o, dig, (size_t)point);
		o += (size_t)point;
		out[o++] = '.';
		memcpy(out + o, dig + point, nd - (size_t)point);
		o += nd - (size_t)point;
	}
	out[o] = '\0';
	return o;
}

/* xsd:double as Excel writes it, without INF/NaN. */
static int
is_number(const char *s, size_t n)
{
	size_t i = 0, digits = 0, ed = 0;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			ed++;
		if (ed == 0)
			return 0;
	}
	return i == n;
}

/* The canonical text straight from the digits when there are at most 15
 * significant ones: a double round-trips any such decimal exactly (DBL_DIG),
 * so %.15g would print the same digits. Saves strtod + printf on nearly
 * every cell of a price list. Returns the length; 0: take the slow path. */
static size_t
num_fast(const char *v, size_t len, char *out)
{
	size_t i = 0, o = 0, ib, ie, fb, fe, z, sig;
	int neg = 0;

	if (len > 40)
		return 0;  /* long zero runs: leave them to strtod */
	if (v[0] == '-' || v[0] == '+')
		neg = v[i++] == '-';
	for (ib = i; i < len && v[i] >= '0' && v[i] <= '9'; i++)
		;
	ie = fb = fe = i;
	if (i < len && v[i] == '.') {
		for (fb = ++i; i < len && v[i] >= '0' && v[i] <= '9'; i++)
			;
		fe = i;
	}
	if (i != len)
		return 0;  /* an exponent */
	while (ib < ie && v[ib] == '0')
		ib++;
	while (fe > fb && v[fe - 1] == '0')
		fe--;
	if (ib < ie) {
		sig = (ie - ib) + (fe - fb);
		if (ie - ib > XLSX_NUM_MAX_POINT)
			return 0;  /* the exponent form */
	} else {
		for (z = fb; z < fe && v[z] == '0'; z++)
			;
		sig = fe - z;
		if (sig > 0 && z - fb > (size_t)-XLSX_NUM_MIN_POINT)
			return 0;  /* the exponent form */
	}
	if (sig > 15)
		return 0;
	if (sig == 0) {
		memcpy(out, "0", 2);  /* also "-0", "0.000" */
		return 1;
	}
	if (neg)
		out[o++] = '-';
	if (ib == ie)
		out[o++] = '0';
	memcpy(out + o, v + ib, ie - ib);
	o += ie - ib;
	if (fe > fb) {
		out[o++] = '.';
		memcpy(out + o, v + fb, fe - fb);
		o += fe - fb;
	}
	out[o] = '\0';
	return o;
}

/* Howard Hinnant's civil_from_days: days since 1970-01-01 -> y-m-d. */
static void
civil(long long z, long long *y, unsigned *m, unsigned *d)
{
	long long era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static size_t
render_date(double v, enum xlsx__datekind kind, int date1904, char *out)
{
	long long secs, days, sod, y;
	unsigned m, d;
	int n;

	/* 9999-12-31 is the last day either system can show. */
	if (!(v >= 0.0 && v < 2958466.0))
		return 0;
	secs = llround(v * 86400.0);  /* to the nearest second, as shown */
	days = secs / 86400;
	sod = secs % 86400;
	if (days > 2958465)
		return 0;  /* rounded into year 10000 */
	if (kind == XLSX_TIME && days == 0) {
		n = snprintf(out, XLSX_NUM_MAX, "%02lld:%02lld:%02lld",
		    sod / 3600, sod / 60 % 60, sod % 60);
		return n > 0 && (size_t)n < XLSX_NUM_MAX ? (size_t)n : 0;
	}
	if (date1904) {
		civil(days - 24107, &y, &m, &d);   /* 1904-01-01 is day 0 */
	} else if (days == 60) {
		/* Excel keeps Lotus 1-2-3's 1900-02-29; show what it shows. */
		y = 1900, m = 2, d = 29;
	} else {
		/* Day 1 is 1900-01-01; after the phantom leap day the epoch
		 * is 1899-12-30 (serial 25569 is 1970-01-01). */
		civil(days < 60 ? days - 25568 : days - 25569, &y, &m, &d);
	}
	if (kind == XLSX_DATE)
		n = snprintf(out, XLSX_NUM_MAX, "%04lld-%02u-%02u", y, m, d);
	else
		n = snprintf(out, XLSX_NUM_MAX,
		    "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
		    y, m, d, sod / 3600, sod / 60 % 60, sod % 60);
	return n > 0 && (size_t)n < XLSX_NUM_MAX ? (size_t)n : 0;
}

size_t
xlsx__num_render(const char *v, size_t len, enum xlsx__datekind kind,
    int date1904, locale_t cloc, char *out, unsigned *flags)
{
	char buf[XLSX_NUM_MAX];
	locale_t old;
	double d;
	size_t n;

	while (len > 0 && strchr(" \t\r\n", v[0]) != NULL)
		v++, len--;
	while (len > 0 && strchr(" \t\r\n", v[len - 1]) != NULL)
		len--;
	if (len == 0 || len >= 400 || !is_number(v, len))
		return 0;
	if (kind == XLSX_NUMBER && (n = num_fast(v, len, out)) > 0) {
		*flags |= RS_CELL_NUMBER;
		return n;
	}
	memcpy(buf, v, len);
	buf[len] = '\0';
	old = uselocale(cloc);
	d = strtod(buf, NULL);
	uselocale(old);
	if (!isfinite(d))
		return 0;
	if (kind != XLSX_NUMBER && (n = render_date(d, kind, date1904, out)) > 0)
		return n;
	if ((n = xlsx__num_canon(d, cloc, out, XLSX_NUM_MAX)) == 0)
		return 0;
	/* 15 digits round the largest doubles up past DBL_MAX: such text
	 * would not read back as a number, so it is not offered as one. */
	old = uselocale(cloc);
	d = strtod(out, NULL);
	uselocale(old);
	if (!isfinite(d))
		return 0;
	*flags |= RS_CELL_NUMBER;
	return n;
}

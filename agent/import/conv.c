/* conv — value converters for the import pipeline (see conv.h). */
#include "agent/import/conv.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hal/pa_err.h"
#include "hal/pa_utf8.h"

/* Bytes of a value quoted in an error message; longer values are cut. */
#define CONV_QUOTE_MAX 60
/* Significant digits conv_qty keeps: 10^15 < 2^53, so the mantissa is an
 * exact double and one division by an exact power of ten rounds once. */
#define CONV_QTY_DIGITS 15
/* Largest power of ten that is exact as a double. */
#define CONV_POW10_MAX 22
/* conv_money_num: exponents beyond this are clamped (the digits of a cell
 * are bounded anyway, so the result is the same: 0 or overflow). */
#define CONV_EXP_CLAMP 100000

static const double conv__pow10[CONV_POW10_MAX + 1] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Why a number was refused; each has its own message. */
enum conv__why {
	CONV_OK,
	CONV_EMPTY,
	CONV_NEGATIVE,
	CONV_GROUPING,
	CONV_DECIMALS,
	CONV_RANGE,
	CONV_SYNTAX,
};

/* The parts of "5 000,25" found by conv__scan. */
struct conv__num {
	const char *ip, *ie;    /* integer part, group separators included */
	const char *fp, *fe;    /* decimal digits; fp == fe when there are none */
};

static int
conv__digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of a thousands separator at s, or 0. Russian Excel and 1C export
 * U+00A0; French-style locales U+202F or U+2009; people type a space. */
static size_t
conv__group_sep(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	if (len >= 1 && u[0] == ' ')
		return 1;
	if (len >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
		return 2;
	if (len >= 3 && u[0] == 0xE2 && u[1] == 0x80 &&
	    (u[2] == 0xAF || u[2] == 0x89))
		return 3;
	return 0;
}

/* Parse the grammar shared by money and stock:
 *   int  = digits | group (sep group3)*    group: 1-3 digits, group3: 3
 *   num  = int [ ("." | ",") digits ]
 * s is already trimmed. */
static enum conv__why
conv__scan(const char *s, size_t len, struct conv__num *n)
{
	const char *p = s, *e = s + len;
	size_t group = 0, sl;
	int grouped = 0;

	if (len == 0)
		return CONV_EMPTY;
	/* '-' or U+2212 MINUS SIGN: say "negative", not "malformed". */
	if (*p == '-' || (len >= 3 && (unsigned char)p[0] == 0xE2 &&
	    (unsigned char)p[1] == 0x88 && (unsigned char)p[2] == 0x92))
		return CONV_NEGATIVE;
	n->ip = p;
	while (p < e) {
		if (conv__digit(*p)) {
			group++;
			p++;
			continue;
		}
		if ((sl = conv__group_sep(p, (size_t)(e - p))) == 0)
			break;
		if (group == 0)
			return CONV_SYNTAX;     /* two separators in a row */
		if (grouped ? group != 3 : group > 3)
			return CONV_GROUPING;
		grouped = 1;
		group = 0;
		p += sl;
	}
	if (group == 0)
		return CONV_SYNTAX;     /* no digits, or text after a separator */
	if (grouped && group != 3)
		return CONV_GROUPING;
	n->ie = p;
	n->fp = n->fe = p;
	if (p < e && (*p == '.' || *p == ',')) {
		n->fp = ++p;
		while (p < e && conv__digit(*p))
			p++;
		n->fe = p;
		if (n->fp == n->fe)
			return CONV_SYNTAX;     /* "5000." */
	}
	return p == e ? CONV_OK : CONV_SYNTAX;
}

/* Copy s for a message: cut at CONV_QUOTE_MAX bytes on a character
 * boundary, control characters (a quoted CSV cell may hold line breaks)
 * shown as spaces. */
static const char *
conv__quote(const char *s, size_t len, char *buf, size_t size)
{
	size_t n = pa_utf8_cut(s, len, CONV_QUOTE_MAX), i, o = 0;

	for (i = 0; i < n && o + 1 < size; i++)
		buf[o++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	if (n < len && o + 4 < size) {
		buf[o++] = '.';
		buf[o++] = '.';
		buf[o++] = '.';
	}
	buf[o] = '\0';
	return buf;
}

static int
conv__fail(enum conv__why why, const char *what, const char *s, size_t len)
{
	char q[CONV_QUOTE_MAX + 8];

	conv__quote(s, len, q, sizeof(q));
	switch (why) {
	case CONV_EMPTY:
		return pa_err_set(PA_EINVAL, "an empty cell is not a %s: fill "
		    "it in", what);
	case CONV_NEGATIVE:
		return pa_err_set(PA_EINVAL, "'%s' is not a %s: it cannot be "
		    "negative", q, what);
	case CONV_GROUPING:
		return pa_err_set(PA_EINVAL, "'%s' is not a %s: group thousands "
		    "by three digits (5 000 000,00) or write no separator", q,
		    what);
	case CONV_DECIMALS:
		return pa_err_set(PA_EINVAL, "'%s' is not a %s: it has more "
		    "than 2 digits after the decimal separator (is it '5,000' "
		    "meaning five thousand?); write 5000 or 5000,00", q, what);
	case CONV_RANGE:
		return pa_err_set(PA_EINVAL, "'%s' is too large for a %s%s", q,
		    what, strcmp(what, "price") == 0 ? " (at most 1 000 000 000,00)" :
		    "");
	case CONV_OK:           /* not a failure: cannot happen */
	case CONV_SYNTAX:
		break;
	}
	return pa_err_set(PA_EINVAL, "'%s' is not a %s: use digits with an "
	    "optional , or . decimal part, e.g. 5 000,00", q, what);
}

size_t
conv_trim(const char **s, size_t len)
{
	const unsigned char *p = (const unsigned char *)*s;
	const unsigned char *e = p + len;

	for (;;) {
		if (p < e && (*p == ' ' || *p == '\t' || *p == '\r' ||
		    *p == '\n'))
			p++;
		else if (e - p >= 2 && p[0] == 0xC2 && p[1] == 0xA0)
			p += 2;
		else if (e - p >= 3 && p[0] == 0xEF && p[1] == 0xBB &&
		    p[2] == 0xBF)
			p += 3;
		else
			break;
	}
	for (;;) {
		if (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
		    e[-1] == '\n'))
			e--;
		else if (e - p >= 2 && e[-2] == 0xC2 && e[-1] == 0xA0)
			e -= 2;
		else if (e - p >= 3 && e[-3] == 0xEF && e[-2] == 0xBB &&
		    e[-1] == 0xBF)
			e -= 3;
		else
			break;
	}
	*s = (const char *)p;
	return (size_t)(e - p);
}

int
conv_money(const char *s, size_t len, int64_t *kopecks)
{
	struct conv__num n;
	enum conv__why why;
	const char *p;
	int64_t v = 0, frac;

	len = conv_trim(&s, len);
	if ((why = conv__scan(s, len, &n)) != CONV_OK)
		return conv__fail(why, "price", s, len);
	if (n.fe - n.fp > 2)
		return conv__fail(CONV_DECIMALS, "price", s, len);
	frac = 0;
	if (n.fe - n.fp >= 1)
		frac = (n.fp[0] - '0') * 10;
	if (n.fe - n.fp == 2)
		frac += n.fp[1] - '0';
	for (p = n.ip; p < n.ie; p++) {
		if (!conv__digit(*p))
			continue;       /* a group separator */
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return conv__fail(CONV_RANGE, "price", s, len);
		v = v * 10 + (*p - '0');
	}
	if (v > (INT64_MAX - frac) / 100 ||
	    v * 100 + frac > CONV_MONEY_MAX_KOPECKS)
		return conv__fail(CONV_RANGE, "price", s, len);
	*kopecks = v * 100 + frac;
	return PA_OK;
}

int
conv_money_num(const char *s, size_t len, int64_t *kopecks)
{
	const char *p, *e, *dp = NULL, *de = NULL;
	int64_t ndig = 0, nfrac = 0, exp10 = 0, keep, i;
	int64_t v = 0;
	int esign = 1, up = 0, d;

	len = conv_trim(&s, len);
	p = s;
	e = s + len;
	if (len == 0)
		return conv__fail(CONV_EMPTY, "price", s, len);
	if (*p == '-')
		return conv__fail(CONV_NEGATIVE, "price", s, len);
	/* First pass: validate digits [. digits] [e [+-] digits], count. */
	for (dp = p; p < e && conv__digit(*p); p++)
		ndig++;
	if (ndig == 0)
		return conv__fail(CONV_SYNTAX, "price", s, len);
	if (p < e && *p == '.') {
		for (p++; p < e && conv__digit(*p); p++)
			nfrac++;
		if (nfrac == 0)
			return conv__fail(CONV_SYNTAX, "price", s, len);
	}
	de = p;
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			esign = *p++ == '-' ? -1 : 1;
		if (p == e)
			return conv__fail(CONV_SYNTAX, "price", s, len);
		for (; p < e && conv__digit(*p); p++)
			if (exp10 < CONV_EXP_CLAMP)
				exp10 = exp10 * 10 + (*p - '0');
	}
	if (p != e)
		return conv__fail(CONV_SYNTAX, "price", s, len);
	/* value = D * 10^(esign*exp10 - nfrac), D the digit string; kopecks
	 * = D * 10^k. The first `keep` digits of D are whole kopecks, the
	 * next one decides the rounding (half away from zero). */
	ndig += nfrac;
	keep = ndig + esign * exp10 - nfrac + 2;
	for (i = 0, p = dp; p < de; p++) {
		if (!conv__digit(*p))
			continue;       /* the '.' */
		d = *p - '0';
		if (i < keep) {
			if (v > (INT64_MAX - d) / 10)
				return conv__fail(CONV_RANGE, "price", s, len);
			v = v * 10 + d;
		} else if (i == keep) {
			up = d >= 5;
		}
		i++;
	}
	for (; v != 0 && i < keep; i++) {       /* k > 0: trailing zeros */
		if (v > INT64_MAX / 10)
			return conv__fail(CONV_RANGE, "price", s, len);
		v *= 10;
	}
	if ((up && v == INT64_MAX) || v + up > CONV_MONEY_MAX_KOPECKS)
		return conv__fail(CONV_RANGE, "price", s, len);
	*kopecks = v + up;
	return PA_OK;
}

int
conv_qty(const char *s, size_t len, double *out)
{
	struct conv__num n;
	enum conv__why why;
	const char *p;
	uint64_t mant = 0;
	int nsig = 0, scale = 0, up = -1;

	len = conv_trim(&s, len);
	if ((why = conv__scan(s, len, &n)) != CONV_OK)
		return conv__fail(why, "stock quantity", s, len);
	for (p = n.ip; p < n.ie; p++) {
		if (!conv__digit(*p) || (mant == 0 && *p == '0'))
			continue;       /* separator or leading zero */
		if (nsig == CONV_QTY_DIGITS)
			return conv__fail(CONV_RANGE, "stock quantity", s, len);
		mant = mant * 10 + (uint64_t)(*p - '0');
		nsig++;
	}
	for (p = n.fp; p < n.fe && up < 0; p++) {
		if (nsig == CONV_QTY_DIGITS || scale == CONV_POW10_MAX)
			up = *p >= '5';
		else {
			mant = mant * 10 + (uint64_t)(*p - '0');
			nsig += mant != 0;
			scale++;
		}
	}
	if (up > 0)
		mant++;         /* at most 10^15: still exact */
	*out = (double)mant / conv__pow10[scale];
	return PA_OK;
}

char *
conv_money_fmt(int64_t kopecks, char buf[CONV_MONEY_BUFSZ])
{
	/* Via uint64_t so INT64_MIN has a magnitude. */
	uint64_t m = kopecks < 0 ? -(uint64_t)kopecks : (uint64_t)kopecks;

	snprintf(buf, CONV_MONEY_BUFSZ, "%s%" PRIu64 ".%02u",
	    kopecks < 0 ? "-" : "", m / 100, (unsigned)(m % 100));
	return buf;
}

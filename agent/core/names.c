/* names — see names.h. */
#include "agent/core/names.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hal/pa_utf8.h"

/* The character at the NUL-terminated p (hal/pa_utf8.h). */
static size_t
utf8_seq(const unsigned char *p, uint32_t *cp)
{
	return pa_utf8_decode((const char *)p, PA_UTF8_NUL, cp);
}

static int
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	while (*p) {
		if ((n = utf8_seq(p, &cp)) == 0)
			return 0;
		p += n;
	}
	return 1;
}

/* CP1251 bytes we decode: А..я, Ё, ё, №. */
static uint32_t
cp1251_letter(unsigned char b)
{
	if (b >= 0xC0)
		return 0x0410 + (uint32_t)(b - 0xC0);
	if (b == 0xA8)
		return 0x0401;
	if (b == 0xB8)
		return 0x0451;
	if (b == 0xB9)
		return 0x2116;
	return 0;
}

static int
ascii_letter(unsigned char b)
{
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

/* The heuristic of names.h: Cyrillic letters only, and a lone one never
 * touches a Latin letter (Latin-1 "café", "Müller" stay escaped). */
static int
looks_cp1251(const unsigned char *p)
{
	size_t i = 0, start, run;
	int any = 0;

	while (p[i]) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		start = i;
		while (p[i] >= 0x80) {
			if (cp1251_letter(p[i]) == 0)
				return 0;
			i++;
		}
		run = i - start;
		if (run == 1 && ((start > 0 && ascii_letter(p[start - 1])) ||
		    ascii_letter(p[i])))
			return 0;
		any = 1;
	}
	return any;
}

static size_t
put_utf8(char *o, uint32_t c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xC0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	o[0] = (char)(0xE0 | (c >> 12));
	o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
	o[2] = (char)(0x80 | (c & 0x3F));
	return 3;
}

int
names_render(const char *raw, char **out, enum names_enc *enc)
{
	const unsigned char *p = (const unsigned char *)raw;
	size_t len = strlen(raw), o = 0, n;
	uint32_t cp;
	char *s;

	*out = NULL;
	/* Worst case: every byte becomes \xNN (4 bytes), or a 3-byte letter. */
	if (len > (SIZE_MAX - 1) / 4 || (s = pa_malloc(len * 4 + 1)) == NULL)
		return PA_ENOMEM;
	if (utf8_valid(raw)) {
		memcpy(s, raw, len + 1);
		*enc = NAMES_UTF8;
	} else if (looks_cp1251(p)) {
		for (; *p; p++)
			o += put_utf8(s + o, *p < 0x80 ? *p : cp1251_letter(*p));
		s[o] = '\0';
		*enc = NAMES_CP1251;
	} else {
		while (*p) {
			if (*p == '\\') {
				s[o++] = '\\';
				s[o++] = '\\';
				p++;
			} else if ((n = utf8_seq(p, &cp)) > 0) {
				memcpy(s + o, p, n);
				o += n;
				p += n;
			} else {
				o += (size_t)snprintf(s + o, 5, "\\x%02x", *p);
				p++;
			}
		}
		s[o] = '\0';
		*enc = NAMES_ESCAPED;
	}
	*out = s;
	return PA_OK;
}

const char *
names_enc_name(enum names_enc e)
{
	switch (e) {
	case NAMES_CP1251: return "cp1251";
	case NAMES_ESCAPED: return "escaped";
	default: return "utf-8";
	}
}

enum names_enc
names_enc_parse(const char *s)
{
	if (s && strcmp(s, "cp1251") == 0)
		return NAMES_CP1251;
	if (s && strcmp(s, "escaped") == 0)
		return NAMES_ESCAPED;
	return NAMES_UTF8;
}

/* Code points a terminal or a log reader must not act on. */
static int
cp_unsafe(uint32_t c)
{
	return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) ||
	    c == 0x2028 || c == 0x2029 || (c >= 0x202A && c <= 0x202E) ||
	    (c >= 0x2066 && c <= 0x2069) || c == 0x200E || c == 0x200F;
}

int
names_needs_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	while (*p) {
		if ((n = utf8_seq(p, &cp)) == 0 || cp_unsafe(cp))
			return 1;
		p += n;
	}
	return 0;
}

/* The human form of the character at p into piece[16]; returns the bytes
 * of p it covers. */
static size_t
human_piece(const unsigned char *p, char piece[16])
{
	uint32_t cp;
	size_t k;

	if ((k = utf8_seq(p, &cp)) == 0) {
		snprintf(piece, 16, "\\x%02x", *p);
		return 1;
	}
	if (cp == '\n')
		snprintf(piece, 16, "\\n");
	else if (cp == '\r')
		snprintf(piece, 16, "\\r");
	else if (cp == '\t')
		snprintf(piece, 16, "\\t");
	else if (cp < 0x20 || cp == 0x7F)
		snprintf(piece, 16, "\\x%02x", (unsigned)cp);
	else if (cp_unsafe(cp))
		snprintf(piece, 16, "\\u{%04X}", (unsigned)cp);
	else {
		memcpy(piece, p, k);
		piece[k] = '\0';
	}
	return k;
}

const char *
names_human(const char *s, char *buf, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char piece[16];
	size_t o = 0, total = 0, len, k;

	for (p = (const unsigned char *)s; *p; p += k) {
		k = human_piece(p, piece);
		total += strlen(piece);
	}
	buf[0] = '\0';
	for (p = (const unsigned char *)s; *p; p += k) {
		k = human_piece(p, piece);
		len = strlen(piece);
		/* Cut: keep room for "..." and the NUL. */
		if (total + 1 > n && o + len + 4 > n) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		memcpy(buf + o, piece, len + 1);
		o += len;
	}
	return buf;
}

/* pa_utf8 — see pa_utf8.h. */
#include "hal/pa_utf8.h"

#include <string.h>

size_t
pa_utf8_decode(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xBF;
	uint32_t c;
	size_t n, i;

	if (len == 0)
		return 0;
	if (u[0] < 0x80) {
		if (cp)
			*cp = u[0];
		return 1;
	}
	/* RFC 3629 §4: the second byte's range excludes overlong forms
	 * (E0, F0), surrogates (ED) and code points above U+10FFFF (F4). */
	if (u[0] >= 0xC2 && u[0] <= 0xDF) {
		n = 2;
		c = u[0] & 0x1F;
	} else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		n = 3;
		c = u[0] & 0x0F;
		if (u[0] == 0xE0)
			lo = 0xA0;
		else if (u[0] == 0xED)
			hi = 0x9F;
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		n = 4;
		c = u[0] & 0x07;
		if (u[0] == 0xF0)
			lo = 0x90;
		else if (u[0] == 0xF4)
			hi = 0x8F;
	} else
		return 0;       /* continuation byte, C0/C1 overlong, F5+ */
	if (len < n || u[1] < lo || u[1] > hi)
		return 0;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (u[i] & 0x3F);
	}
	if (cp)
		*cp = c;
	return n;
}

size_t
pa_utf8_seq(const char *s, size_t len)
{
	return pa_utf8_decode(s, len, NULL);
}

bool
pa_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint64_t w;
	size_t i = 0, n;

	while (i < len) {
		/* Eight ASCII bytes, none of them NUL, at a time (the bit trick
		 * of "Bit Twiddling Hacks", determine if a word has a zero
		 * byte): most of a price list; every cell of every row comes
		 * here (issue #15). */
		while (len - i >= 8) {
			memcpy(&w, u + i, 8);
			if ((w & 0x8080808080808080ULL) != 0 ||
			    ((w - 0x0101010101010101ULL) & ~w &
			    0x8080808080808080ULL) != 0)
				break;
			i += 8;
		}
		if (i == len)
			break;
		if (u[i] < 0x80) {
			if (u[i] == '\0')
				return false;
			i++;
			continue;
		}
		/* Two-byte characters (Cyrillic) inline: C2..DF, 80..BF. */
		if (u[i] >= 0xC2 && u[i] <= 0xDF && len - i >= 2 &&
		    (u[i + 1] & 0xC0) == 0x80) {
			i += 2;
			continue;
		}
		if ((n = pa_utf8_decode(s + i, len - i, NULL)) == 0)
			return false;
		i += n;
	}
	return true;
}

size_t
pa_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = max, back = 0;

	if (len <= max)
		return len;
	/* s[n] is the first byte left out: while it continues a character,
	 * that character would be cut in half. A character has at most 3
	 * continuation bytes; beyond that the text is not UTF-8 anyway. */
	while (n > 0 && back < 3 && ((unsigned char)s[n] & 0xC0) == 0x80) {
		n--;
		back++;
	}
	return n;
}

void
pa_utf8_trim(char *s)
{
	size_t n = strlen(s), i = n, need;
	unsigned char c;

	/* Walk back over at most 3 continuation bytes to the lead byte. */
	while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0x80)
		return;
	need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

/* xlsx_sst — the shared-strings table (ECMA-376 Part 1, 18.4).
 *
 * The one table the reader holds: a sheet refers to strings by index, in any
 * order, so all of them must be at hand. Held compactly — one arena and one
 * array of 32-bit offsets, no allocation per string, no NUL terminators (a
 * length is the distance to the next offset).
 *
 * Price lists here are Russian: a product name is Cyrillic letters, digits
 * and ASCII punctuation, two bytes a letter in UTF-8. A string that fits in
 * Windows-1251 (ASCII, all of Cyrillic U+0410..U+044F, Ё/ё, Ukrainian and
 * Belarusian letters, «» № – — NBSP...) is stored one byte a character and
 * tagged in its offset; anything else (ü, emoji, Chinese) stays UTF-8. With
 * a million unique names the 1M-row bench import peaked at 67 MiB before
 * and 45 MiB after (issue #3: it must fit in 64 MiB). Cells get their
 * string decoded back to UTF-8 in the row's own buffer (xlsx.c), so the
 * arena is never handed out.
 *
 * Names repeat their words ("Линза", "Оправа", a brand, a coating), so a
 * word met before is stored as a 2-byte code instead (SST_WORDS): the
 * 1M-unique-name bench workbook held 30 MiB of one-byte text and peaked at
 * 43 MiB; issue #15 wants 32. A word is a run of 5..SST_WORD_MAX bytes
 * between spaces with no digit (a digit marks an article or a size, rarely
 * repeated); the first SST_NWORDS distinct words get codes, first come,
 * so the table is bounded whatever the file holds. A code is a byte from
 * the control range (C0 but TAB, LF, CR: never in a name, and a string
 * holding one is left uncoded) and an ASCII byte: 28 x 128 words. Decoding
 * is a memcpy of the word's UTF-8, no slower than the bytes it replaces.
 *
 * <si> holds either <t> or rich-text runs <r><t>; runs are concatenated.
 * <rPh> phonetic runs (Japanese readings) are not part of the text. */
#include "agent/readers/xlsx.h"

#include <string.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hal/pa_utf8.h"

/* off[i] = start of string i | SST_1BYTE when it is stored one byte a
 * character. The arena is never longer than the UTF-8 text it holds, which
 * RS_MAX_SHARED_BYTES bounds, so bit 31 is free for the tag. */
#define SST_1BYTE 0x80000000u
#define SST_WORDS 0x40000000u
#define SST_OFF   0x3fffffffu

_Static_assert(RS_MAX_SHARED_BYTES <= SST_OFF,
    "shared-string offsets are 30 bits plus two tags");

#define SST_WORD_MIN 5          /* bytes of UTF-8: shorter saves nothing */
#define SST_WORD_MAX 64
#define SST_NCODES   28         /* 0x01..0x1f but TAB, LF, CR */
#define SST_NWORDS   (SST_NCODES * 128)
#define SST_HASH     8192       /* slots, a power of two, > 2 x SST_NWORDS */

_Static_assert(SST_NWORDS < 65535 && SST_HASH > 2 * SST_NWORDS,
    "word indexes fit the uint16 hash slots, load under a half");

/* code_k[b]: 1 + k when byte b leads the code of words k*128..k*128+127,
 * else 0. code_b[k]: that byte. */
static const unsigned char code_k[32] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 9, 10, 0, 11, 12,
	13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
};
static const unsigned char code_b[SST_NCODES] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0b, 0x0c,
	0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

/* The RS_MAX_SHARED_BYTES in force. Only unit tests lower it
 * (xlsx__sst_test_limit): proving the cap needs more text than the real
 * 256 MiB, which no test can afford to build. */
static uint32_t sst_max_bytes = RS_MAX_SHARED_BYTES;

/* 1 + k if byte b leads a word code (k its group), else 0. */
#define CODE_K(b) ((b) < 0x20 ? code_k[(b)] : 0)

/* Windows-1251 0x80..0xBF; 0xC0..0xFF are U+0410..U+044F in order. 0x98 is
 * undefined (0): never produced, so never decoded. */
static const uint16_t cp1251_hi[64] = {
	0x0402, 0x0403, 0x201a, 0x0453, 0x201e, 0x2026, 0x2020, 0x2021,  /* 80 */
	0x20ac, 0x2030, 0x0409, 0x2039, 0x040a, 0x040c, 0x040b, 0x040f,  /* 88 */
	0x0452, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,  /* 90 */
	0x0000, 0x2122, 0x0459, 0x203a, 0x045a, 0x045c, 0x045b, 0x045f,  /* 98 */
	0x00a0, 0x040e, 0x045e, 0x0408, 0x00a4, 0x0490, 0x00a6, 0x00a7,  /* A0 */
	0x0401, 0x00a9, 0x0404, 0x00ab, 0x00ac, 0x00ad, 0x00ae, 0x0407,  /* A8 */
	0x00b0, 0x00b1, 0x0406, 0x0456, 0x0491, 0x00b5, 0x00b6, 0x00b7,  /* B0 */
	0x0451, 0x2116, 0x0454, 0x00bb, 0x0458, 0x0405, 0x0455, 0x0457,  /* B8 */
};

struct sstp {
	struct xlsx__sst *s;
	const char *path, *part;
	unsigned si_depth;     /* depth of the open <si>, 0 outside */
	unsigned r_depth;      /* depth of the open <r> run, 0 outside */
	unsigned t_depth;      /* depth of the <t> we collect, 0 outside */
	size_t start;          /* arena offset of the string being built */
};

/* The code point of byte b (>= 0x80) of a 1-byte string. */
static unsigned
cp_of(unsigned char b)
{
	return b >= 0xc0 ? b + 0x350u : cp1251_hi[b - 0x80];
}

/* The byte for code point cp, or -1 when Windows-1251 has none. */
static int
byte_of(unsigned cp)
{
	unsigned i;

	if (cp < 0x80)
		return (int)cp;
	if (cp >= 0x410 && cp <= 0x44f)
		return (int)(cp - 0x350);
	for (i = 0; i < 64; i++)
		if (cp1251_hi[i] == cp && cp != 0)
			return (int)(0x80 + i);
	return -1;
}

/* Re-encode the valid UTF-8 t[0..n) in place as Windows-1251 when every
 * character has a byte there. 1 and *out the new length if done; 0 (t
 * untouched) if not. In place is safe: no character gets longer. */
static int
to_1byte(char *t, size_t n, size_t *out)
{
	const unsigned char *u = (const unsigned char *)t;
	size_t i, k, w;
	unsigned cp;
	int pass, b;

	/* Pass 0 only checks, so a string that turns out not to fit is left
	 * intact as UTF-8; pass 1 writes. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0, w = 0; i < n; i += k) {
			if (u[i] < 0x80) {
				cp = u[i], k = 1;
			} else if (u[i] < 0xe0 && i + 1 < n) {
				cp = (u[i] & 0x1fu) << 6 | (u[i + 1] & 0x3fu), k = 2;
			} else if (u[i] < 0xf0 && i + 2 < n) {
				cp = (u[i] & 0x0fu) << 12 |
				    (u[i + 1] & 0x3fu) << 6 | (u[i + 2] & 0x3fu);
				k = 3;
			} else {
				return 0;  /* 4 bytes: beyond the BMP, not here */
			}
			if ((b = byte_of(cp)) < 0)
				return 0;
			if (pass == 1)
				t[w] = (char)b;
			w++;
		}
		if (w == n)
			return 0;  /* ASCII: the same bytes, and untagged copies faster */
	}
	*out = w;
	return 1;
}

/* Index of word w[0..n) in the table, adding it while there is room:
 * >= 0, or -1 if it is not there and the table is full, or PA_ENOMEM as
 * -2. */
static long
word_code(struct xlsx__sst *s, const char *w, size_t n)
{
	uint32_t h = 2166136261u;       /* FNV-1a */
	size_t i, slot, k;
	char *t;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)w[i]) * 16777619u;
	if (s->whash == NULL) {
		if ((s->whash = pa_calloc(SST_HASH, sizeof(*s->whash))) == NULL ||
		    (s->woff = pa_calloc(SST_NWORDS + 1,
		    sizeof(*s->woff))) == NULL)
			return -2;
	}
	for (slot = h & (SST_HASH - 1); s->whash[slot] != 0;
	    slot = (slot + 1) & (SST_HASH - 1)) {
		k = s->whash[slot] - 1u;
		if (s->woff[k + 1] - s->woff[k] == n &&
		    memcmp(s->wtext + s->woff[k], w, n) == 0)
			return (long)k;
	}
	if (s->nw == SST_NWORDS)
		return -1;
	if (s->wlen + n > s->wcap) {
		k = s->wcap ? s->wcap * 2 : 4096;
		while (k < s->wlen + n)
			k *= 2;
		if ((t = pa_realloc(s->wtext, k)) == NULL)
			return -2;
		s->wtext = t;
		s->wcap = k;
	}
	memcpy(s->wtext + s->wlen, w, n);
	s->wlen += n;
	s->woff[s->nw + 1] = (uint32_t)s->wlen;
	s->whash[slot] = (uint16_t)(s->nw + 1);
	return (long)s->nw++;
}

/* Replace the words of the valid UTF-8 t[0..n) by their codes, in place (a
 * code is shorter than any word coded). PA_OK and *out the new length,
 * *coded 1 if a code was written; PA_ENOMEM. */
static int
to_words(struct xlsx__sst *s, char *t, size_t n, size_t *out, int *coded)
{
	size_t i, j, w, d;
	long k;

	*coded = 0;
	*out = n;
	for (i = 0; i < n; i++)
		if (CODE_K((unsigned char)t[i]) != 0)
			return PA_OK;   /* a control byte: leave it as it is */
	for (i = 0, w = 0; i < n; i = j) {
		if (t[i] == ' ') {
			t[w++] = t[i];
			j = i + 1;
			continue;
		}
		for (j = i, d = 0; j < n && t[j] != ' '; j++)
			d |= t[j] >= '0' && t[j] <= '9';
		k = -1;
		if (!d && j - i >= SST_WORD_MIN && j - i <= SST_WORD_MAX &&
		    (k = word_code(s, t + i, j - i)) == -2)
			return PA_ENOMEM;
		if (k >= 0) {
			t[w++] = (char)code_b[k / 128];
			t[w++] = (char)(k % 128);
			*coded = 1;
		} else {
			memmove(t + w, t + i, j - i);
			w += j - i;
		}
	}
	*out = w;
	return PA_OK;
}

static int
grow_offsets(struct xlsx__sst *s, size_t want)
{
	uint32_t *o;
	size_t ncap;

	if (want <= s->ncap)
		return PA_OK;
	ncap = s->ncap ? s->ncap : 1024;
	while (ncap < want)
		ncap *= 2;
	if ((o = pa_realloc(s->off, ncap * sizeof(*o))) == NULL)
		return PA_ENOMEM;
	s->off = o;
	s->ncap = ncap;
	return PA_OK;
}

static int
grow_arena(struct xlsx__sst *s, size_t want)
{
	size_t cap;
	char *a;

	if (want <= s->cap)
		return PA_OK;
	cap = s->cap ? s->cap : 64 * 1024;
	while (cap < want)
		cap *= 2;
	if (cap > (size_t)RS_MAX_SHARED_BYTES)
		cap = (size_t)RS_MAX_SHARED_BYTES;
	if ((a = pa_realloc(s->arena, cap)) == NULL)
		return PA_ENOMEM;
	s->arena = a;
	s->cap = cap;
	return PA_OK;
}

static void
fail(struct xlsx__xml *x, int code)
{
	struct sstp *p = x->ud;

	if (code == PA_ENOMEM)
		pa_err_set(code, "%s: out of memory reading shared strings "
		    "(%zu so far)", p->path, p->s->n);
	xlsx__xml_abort(x, code);
}

static void
sst_start(struct xlsx__xml *x, enum xlsx__ns ns, const char *local,
    const char **atts)
{
	struct sstp *p = x->ud;
	struct xlsx__sst *s = p->s;
	unsigned long hint;

	if (!(ns == XLSX_NS_MAIN || ns == XLSX_NS_NONE))
		return;
	if (x->depth == 1 && strcmp(local, "sst") == 0) {
		/* A hint only: bounded, and a wrong one merely costs a
		 * realloc. Untouched capacity is not resident memory. */
		if (xlsx__parse_uint(xlsx__attr(atts, XLSX_NS_NONE,
		    "uniqueCount"), RS_MAX_SHARED_STRINGS, &hint) &&
		    grow_offsets(s, (size_t)hint + 1) != PA_OK)
			fail(x, PA_ENOMEM);
	} else if (x->depth == 2 && strcmp(local, "si") == 0) {
		if (s->n >= RS_MAX_SHARED_STRINGS) {
			pa_err_set(PA_ELIMIT, "%s: %s has more than %u shared "
			    "strings (RS_MAX_SHARED_STRINGS)", p->path, p->part,
			    RS_MAX_SHARED_STRINGS);
			fail(x, PA_ELIMIT);
			return;
		}
		p->si_depth = x->depth;
		p->start = s->len;
	} else if (p->si_depth && x->depth == p->si_depth + 1 &&
	    strcmp(local, "r") == 0) {
		p->r_depth = x->depth;
	} else if (p->si_depth && strcmp(local, "t") == 0 &&
	    (x->depth == p->si_depth + 1 ||
	    (p->r_depth && x->depth == p->r_depth + 1))) {
		p->t_depth = x->depth;
	}
}

static void
sst_end(struct xlsx__xml *x, enum xlsx__ns ns, const char *local)
{
	struct sstp *p = x->ud;
	struct xlsx__sst *s = p->s;
	uint32_t tag = 0;
	size_t n;
	int coded;

	(void)ns, (void)local;
	if (x->depth == p->t_depth) {
		p->t_depth = 0;
	} else if (x->depth == p->r_depth) {
		p->r_depth = 0;
	} else if (x->depth == p->si_depth) {
		p->si_depth = 0;
		if (grow_offsets(s, s->n + 2) != PA_OK) {
			fail(x, PA_ENOMEM);
			return;
		}
		/* An empty string (<si/>) has no bytes and may come before
		 * the arena exists (found by fuzz_xlsx): touch nothing. */
		n = s->len - p->start;
		if (n > 0) {
			n = xlsx__unescape(s->arena + p->start, n);
			if (!pa_utf8_valid(s->arena + p->start, n)) {
				/* Cannot happen: expat hands us valid UTF-8. */
				pa_err_set(PA_EFORMAT, "%s: shared string %zu in "
				    "%s is not valid UTF-8", p->path, s->n,
				    p->part);
				fail(x, PA_EFORMAT);
				return;
			}
			s->text += n;
			if (to_words(s, s->arena + p->start, n, &n,
			    &coded) != PA_OK) {
				fail(x, PA_ENOMEM);
				return;
			}
			if (coded)
				tag |= SST_WORDS;
			/* Codes are ASCII bytes to to_1byte: kept as they are. */
			if (to_1byte(s->arena + p->start, n, &n))
				tag |= SST_1BYTE;
		}
		s->len = p->start + n;
		s->off[s->n++] = (uint32_t)p->start | tag;
		s->off[s->n] = (uint32_t)s->len;
	}
}

static void
sst_text(struct xlsx__xml *x, const char *t, int len)
{
	struct sstp *p = x->ud;
	struct xlsx__sst *s = p->s;
	size_t n = (size_t)len, cur;

	if (p->t_depth == 0)
		return;
	cur = s->len - p->start;  /* this string so far, still UTF-8 */
	if (cur + n > RS_MAX_CELL_BYTES) {
		pa_err_set(PA_ELIMIT, "%s: shared string %zu in %s is longer "
		    "than %u bytes (RS_MAX_CELL_BYTES)", p->path, s->n, p->part,
		    RS_MAX_CELL_BYTES);
		fail(x, PA_ELIMIT);
		return;
	}
	/* The limit is on the text as UTF-8, what cells hand out, not on the
	 * compact arena: a file's allowance does not depend on its script. */
	if (s->text + cur + n > sst_max_bytes) {
		pa_err_set(PA_ELIMIT, "%s: shared strings in %s exceed %u bytes "
		    "(RS_MAX_SHARED_BYTES)", p->path, p->part,
		    (unsigned)sst_max_bytes);
		fail(x, PA_ELIMIT);
		return;
	}
	if (grow_arena(s, s->len + n) != PA_OK) {
		fail(x, PA_ENOMEM);
		return;
	}
	memcpy(s->arena + s->len, t, n);
	s->len += n;
}

int
xlsx__sst_load(struct xlsx__zip *z, const char *part, struct xlsx__sst *s)
{
	struct sstp p;
	int rc;

	memset(s, 0, sizeof(*s));
	memset(&p, 0, sizeof(p));
	p.s = s;
	p.path = z->path;
	p.part = part;
	if ((rc = grow_offsets(s, 1)) != PA_OK) {
		rc = pa_err_set(rc, "%s: out of memory", z->path);
		goto out;
	}
	s->off[0] = 0;
	rc = xlsx__xml_part(z, part, RS_MAX_ZIP_ENTRY_BYTES, &p, sst_start,
	    sst_end, sst_text);
	if (rc == PA_ENOTFOUND)
		rc = PA_OK;  /* a rels entry to nothing: no shared strings */
out:
	if (rc != PA_OK)
		xlsx__sst_free(s);
	return rc;
}

/* The UTF-8 length of coded string i, stored at arena[a..b). */
static size_t
words_len(const struct xlsx__sst *s, size_t i, size_t a, size_t b)
{
	const unsigned char *u = (const unsigned char *)s->arena;
	int one = (s->off[i] & SST_1BYTE) != 0;
	size_t n = 0, k;
	unsigned c;

	while (a < b) {
		if ((c = CODE_K(u[a])) != 0) {
			k = (c - 1u) * 128u + u[a + 1];
			n += s->woff[k + 1] - s->woff[k];
			a += 2;
		} else if (one && u[a] >= 0x80) {
			n += cp_of(u[a]) < 0x800 ? 2 : 3;
			a++;
		} else {
			n++;
			a++;
		}
	}
	return n;
}

/* Write coded string i, stored at arena[a..b), as UTF-8 into out. */
static void
words_copy(const struct xlsx__sst *s, size_t i, size_t a, size_t b,
    char *out)
{
	const unsigned char *u = (const unsigned char *)s->arena;
	int one = (s->off[i] & SST_1BYTE) != 0;
	size_t k, n;
	unsigned c, cp;

	while (a < b) {
		if ((c = CODE_K(u[a])) != 0) {
			k = (c - 1u) * 128u + u[a + 1];
			n = s->woff[k + 1] - s->woff[k];
			memcpy(out, s->wtext + s->woff[k], n);
			out += n;
			a += 2;
			continue;
		}
		if (!one || u[a] < 0x80) {
			*out++ = (char)u[a++];
			continue;
		}
		cp = cp_of(u[a++]);
		if (cp < 0x800) {
			*out++ = (char)(0xc0 | cp >> 6);
		} else {
			*out++ = (char)(0xe0 | cp >> 12);
			*out++ = (char)(0x80 | (cp >> 6 & 0x3f));
		}
		*out++ = (char)(0x80 | (cp & 0x3f));
	}
}

int
xlsx__sst_len(const struct xlsx__sst *s, size_t i, size_t *len)
{
	const unsigned char *u;
	size_t a, b, n;
	unsigned cp;

	if (i >= s->n)
		return PA_ENOTFOUND;
	a = s->off[i] & SST_OFF;
	b = s->off[i + 1] & SST_OFF;
	n = b - a;
	if ((s->off[i] & SST_WORDS) != 0) {
		*len = words_len(s, i, a, b);
		return PA_OK;
	}
	if ((s->off[i] & SST_1BYTE) != 0) {
		/* Every byte above ASCII is two or three bytes in UTF-8. */
		for (u = (const unsigned char *)s->arena + a; a < b; a++, u++) {
			if (*u < 0x80)
				continue;
			cp = cp_of(*u);
			n += cp < 0x800 ? 1 : 2;
		}
	}
	*len = n;
	return PA_OK;
}

void
xlsx__sst_copy(const struct xlsx__sst *s, size_t i, char *out)
{
	const unsigned char *u;
	size_t a, b;
	unsigned cp;

	a = s->off[i] & SST_OFF;
	b = s->off[i + 1] & SST_OFF;
	if (a == b)
		return;  /* empty: the arena may not even exist */
	if ((s->off[i] & SST_WORDS) != 0) {
		words_copy(s, i, a, b, out);
		return;
	}
	if ((s->off[i] & SST_1BYTE) == 0) {
		memcpy(out, s->arena + a, b - a);
		return;
	}
	for (u = (const unsigned char *)s->arena + a; a < b; a++, u++) {
		if (*u < 0x80) {
			*out++ = (char)*u;
			continue;
		}
		cp = cp_of(*u);
		if (cp < 0x800) {
			*out++ = (char)(0xc0 | cp >> 6);
		} else {
			*out++ = (char)(0xe0 | cp >> 12);
			*out++ = (char)(0x80 | (cp >> 6 & 0x3f));
		}
		*out++ = (char)(0x80 | (cp & 0x3f));
	}
}

void
xlsx__sst_test_limit(uint32_t bytes)
{
	sst_max_bytes = bytes == 0 || bytes > RS_MAX_SHARED_BYTES ?
	    RS_MAX_SHARED_BYTES : bytes;
}

void
xlsx__sst_free(struct xlsx__sst *s)
{
	if (s == NULL)
		return;
	pa_free(s->arena);
	pa_free(s->off);
	pa_free(s->wtext);
	pa_free(s->woff);
	pa_free(s->whash);
	memset(s, 0, sizeof(*s));
}

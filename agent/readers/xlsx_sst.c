/* xlsx_sst — the shared-strings table (ECMA-376 Part 1, 18.4).
 *
 * The one table the reader holds: a sheet refers to strings by index, in any
 * order, so all of them must be at hand. Held compactly — one arena of
 * NUL-terminated strings and one array of 32-bit offsets, no allocation per
 * string — so a million unique product names cost their bytes plus four
 * bytes each. Cells point straight into the arena.
 *
 * <si> holds either <t> or rich-text runs <r><t>; runs are concatenated.
 * <rPh> phonetic runs (Japanese readings) are not part of the text. */
#include "agent/readers/xlsx.h"

#include <string.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"

_Static_assert(RS_MAX_SHARED_BYTES < UINT32_MAX,
    "shared-string offsets are 32-bit");

struct sstp {
	struct xlsx__sst *s;
	const char *path, *part;
	unsigned si_depth;     /* depth of the open <si>, 0 outside */
	unsigned r_depth;      /* depth of the open <r> run, 0 outside */
	unsigned t_depth;      /* depth of the <t> we collect, 0 outside */
	size_t start;          /* arena offset of the string being built */
};

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
	if (cap > (size_t)RS_MAX_SHARED_BYTES + 1)
		cap = (size_t)RS_MAX_SHARED_BYTES + 1;
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
		    "uniqueCount"), RS_MAX_SHARED_STRINGS, &hint) == 0 &&
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
	size_t n;

	(void)ns, (void)local;
	if (x->depth == p->t_depth) {
		p->t_depth = 0;
	} else if (x->depth == p->r_depth) {
		p->r_depth = 0;
	} else if (x->depth == p->si_depth) {
		p->si_depth = 0;
		/* Room for the NUL first: an empty first string (<si/>) must
		 * not leave the arena NULL (found by fuzz_xlsx). */
		if (grow_arena(s, s->len + 1) != PA_OK ||
		    grow_offsets(s, s->n + 2) != PA_OK) {
			fail(x, PA_ENOMEM);
			return;
		}
		n = xlsx__unescape(s->arena + p->start, s->len - p->start);
		s->len = p->start + n;
		if (!xlsx__utf8_valid(s->arena + p->start, n)) {
			/* Cannot happen: expat hands us valid UTF-8. */
			pa_err_set(PA_EFORMAT, "%s: shared string %zu in %s is "
			    "not valid UTF-8", p->path, s->n, p->part);
			fail(x, PA_EFORMAT);
			return;
		}
		s->arena[s->len++] = '\0';
		s->off[s->n++] = (uint32_t)p->start;
		s->off[s->n] = (uint32_t)s->len;
	}
}

static void
sst_text(struct xlsx__xml *x, const char *t, int len)
{
	struct sstp *p = x->ud;
	struct xlsx__sst *s = p->s;
	size_t n = (size_t)len;

	if (p->t_depth == 0)
		return;
	if (s->len - p->start + n > RS_MAX_CELL_BYTES) {
		pa_err_set(PA_ELIMIT, "%s: shared string %zu in %s is longer "
		    "than %u bytes (RS_MAX_CELL_BYTES)", p->path, s->n, p->part,
		    RS_MAX_CELL_BYTES);
		fail(x, PA_ELIMIT);
		return;
	}
	if (s->len + n + 1 > RS_MAX_SHARED_BYTES) {
		pa_err_set(PA_ELIMIT, "%s: shared strings in %s exceed %u bytes "
		    "(RS_MAX_SHARED_BYTES)", p->path, p->part,
		    RS_MAX_SHARED_BYTES);
		fail(x, PA_ELIMIT);
		return;
	}
	if (grow_arena(s, s->len + n + 1) != PA_OK) {
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

const char *
xlsx__sst_get(const struct xlsx__sst *s, size_t i, size_t *len)
{
	if (i >= s->n)
		return NULL;
	*len = s->off[i + 1] - s->off[i] - 1;
	return s->arena + s->off[i];
}

void
xlsx__sst_free(struct xlsx__sst *s)
{
	if (s == NULL)
		return;
	pa_free(s->arena);
	pa_free(s->off);
	memset(s, 0, sizeof(*s));
}

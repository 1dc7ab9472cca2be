/* xlsx — internals of the streaming XLSX reader.
 *
 * The public entry point is xlsx_open() (agent/readers/rowsrc.h); this header
 * is shared only by the xlsx_*.c files of agent/readers/:
 *
 *   xlsx_zip.c   sniffing (xls, encrypted, truncated, not a zip) and bounded
 *                streaming of zip entries (sizes, ratio, total)
 *   xlsx_xml.c   hardened expat (namespaces, no DOCTYPE, depth, token size),
 *                chunked/suspendable parsing, text helpers
 *   xlsx_book.c  [Content_Types].xml, workbook.xml and its rels: which part
 *                is the sheet, shared strings, styles; date1904
 *   xlsx_sst.c   the shared-strings table: one compact arena + offsets,
 *                repeated words as 2-byte codes
 *   xlsx_num.c   styles.xml date formats, canonical numbers, ISO dates
 *   xlsx.c       the sheet stream behind struct rs_ops
 *
 * Error messages are complete sentences naming the file: every helper that
 * fails calls pa_err_set() with the path; callers pass the code up as is. */
#ifndef XLSX_H
#define XLSX_H

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <expat.h>
#include <zip.h>

#include "agent/readers/rowsrc.h"

/* Limits of our own, beside the RS_MAX_* of rowsrc.h. */
#define XLSX_MAX_TOTAL_BYTES   (2ull * 1024 * 1024 * 1024) /* all parts inflated by one reader */
#define XLSX_MAX_META_BYTES    (64u * 1024 * 1024)  /* workbook, rels, content types, styles */
#define XLSX_RATIO_GRACE_BYTES (1u * 1024 * 1024)   /* ratio checked above this many bytes:
                                                       tiny parts compress absurdly well */
#define XLSX_MAX_MARKUP_BYTES  (1u * 1024 * 1024)   /* bytes between two '<': expat buffers a
                                                       whole tag, this bounds its buffer */
#define XLSX_MAX_ROW_BYTES     (1u * 1024 * 1024)   /* non-shared text of one row */
#define XLSX_MAX_RELS          4096u                /* relationships of the workbook */
#define XLSX_MAX_XFS           65536u               /* cellXfs (Excel's own cap is 64000) */
#define XLSX_MAX_NUMFMTS       4096u                /* custom number formats */
#define XLSX_MAX_PATH          1024u                /* a part name */
#define XLSX_MAX_ROW_NUMBER    0x7fffffffUL         /* r="..." on <row> */
#define XLSX_MAX_COL_LETTERS   3u                   /* "XFD" is Excel's last column */
#define XLSX_OLE2_SCAN_BYTES   (32u * 1024 * 1024)  /* how far we look into an OLE2 file */
#ifndef XLSX_CHUNK  /* a fuzz build shrinks it to put every token across a boundary */
#define XLSX_CHUNK             (64u * 1024)         /* bytes fed to expat at a time */
#endif
#define XLSX_NUM_MAX           512u                 /* longest canonical number + NUL */

/* --- xlsx_zip.c ----------------------------------------------------------- */

struct xlsx__zip {
	zip_t *za;
	const char *path;        /* borrowed, for messages */
	unsigned long long total; /* bytes inflated so far, all parts */
	int read_errno;          /* a read of the file failed (libzip words
	                          * it as "premature end of file") */
};

struct xlsx__entry {
	zip_file_t *zf;
	char name[XLSX_MAX_PATH];
	unsigned long long size;   /* uncompressed size the directory claims */
	unsigned long long comp;   /* compressed size */
	unsigned long long done;   /* bytes actually inflated so far */
	unsigned long long limit;  /* most bytes this part may inflate to */
};

/* Sniff path and open it as a zip. PA_EFORMAT with an actionable message
 * for .xls, encrypted workbooks, truncated zips and other formats; PA_EIO if
 * unreadable; PA_ELIMIT for too many entries. On failure z holds nothing. */
/* label (may be NULL) names the file in messages instead of path. */
int xlsx__zip_open(const char *path, const char *label, struct xlsx__zip *z);
void xlsx__zip_close(struct xlsx__zip *z);
/* 1 if the archive has an entry of that name (ASCII case-insensitive). */
int xlsx__zip_has(struct xlsx__zip *z, const char *name);
/* Set a PA_EFORMAT message saying what this zip is instead of a workbook. */
int xlsx__zip_not_workbook(struct xlsx__zip *z);
/* Open entry name for streaming, inflating at most limit bytes.
 * PA_ENOTFOUND (no message) if absent; PA_ELIMIT / PA_EFORMAT otherwise. */
int xlsx__entry_open(struct xlsx__zip *z, const char *name,
    unsigned long long limit, struct xlsx__entry *e);
/* Read up to n bytes: >= 0 bytes (0 at end), or a negative PA code with a
 * message. Counts what is really inflated: a lying header is caught. */
long xlsx__entry_read(struct xlsx__zip *z, struct xlsx__entry *e, void *buf,
    size_t n);
void xlsx__entry_close(struct xlsx__entry *e);

/* --- xlsx_xml.c ----------------------------------------------------------- */

/* The namespaces we tell apart. Transitional and Strict OOXML map to the
 * same value; NONE is an unprefixed name with no default namespace. */
enum xlsx__ns {
	XLSX_NS_NONE,
	XLSX_NS_MAIN,     /* SpreadsheetML */
	XLSX_NS_REL,      /* officeDocument relationships (r:id) */
	XLSX_NS_PKGREL,   /* package relationships (.rels) */
	XLSX_NS_CT,       /* [Content_Types].xml */
	XLSX_NS_OTHER
};

struct xlsx__xml;
/* Handlers get the parser (x->ud is theirs) so that they can abort. */
typedef void (*xlsx__start_fn)(struct xlsx__xml *x, enum xlsx__ns ns,
    const char *local, const char **atts);
typedef void (*xlsx__end_fn)(struct xlsx__xml *x, enum xlsx__ns ns,
    const char *local);
typedef void (*xlsx__text_fn)(struct xlsx__xml *x, const char *s, int len);
/* Describe where parsing is (", row 17 of sheet ..."), for error messages. */
typedef void (*xlsx__where_fn)(void *ud, char *buf, size_t n);

enum xlsx__step { XLSX_STEP_MORE, XLSX_STEP_SUSPENDED, XLSX_STEP_DONE };

struct xlsx__xml {
	XML_Parser p;
	void *ud;
	xlsx__start_fn start;
	xlsx__end_fn end;
	xlsx__text_fn text;
	xlsx__where_fn where;     /* may be NULL */
	const char *path;         /* borrowed, for messages */
	const char *part;         /* borrowed, for messages */
	unsigned depth;           /* of the element being handled */
	int err;                  /* PA code a handler aborted with */
	size_t since_lt;          /* bytes since the last '<' */
	int suspended, final;
};

/* Create a hardened namespace-aware parser. PA_ENOMEM on failure. */
int xlsx__xml_init(struct xlsx__xml *x, const char *path, const char *part,
    void *ud, xlsx__start_fn start, xlsx__end_fn end, xlsx__text_fn text);
void xlsx__xml_fini(struct xlsx__xml *x);
/* From a handler: stop for good with code (message already set). */
void xlsx__xml_abort(struct xlsx__xml *x, int code);
/* From a handler: pause after this callback; the next step resumes. */
void xlsx__xml_suspend(struct xlsx__xml *x);
/* Feed the next chunk of e (or resume). PA_OK and *st, or a PA code. */
int xlsx__xml_step(struct xlsx__xml *x, struct xlsx__zip *z,
    struct xlsx__entry *e, enum xlsx__step *st);
/* Parse a whole part. PA_ENOTFOUND (no message) if the part is absent. */
int xlsx__xml_part(struct xlsx__zip *z, const char *part,
    unsigned long long limit, void *ud, xlsx__start_fn start,
    xlsx__end_fn end, xlsx__text_fn text);
/* Value of attribute local (in namespace ns) or NULL. */
const char *xlsx__attr(const char **atts, enum xlsx__ns ns, const char *local);
/* ns is SpreadsheetML (or no namespace, which some writers use) and the
 * local name is name. */
int xlsx__is(enum xlsx__ns ns, const char *local, const char *name);
/* Decode OOXML "_xHHHH_" escapes in place; returns the new length. */
/* Value of one hex digit, -1 if c is not one (rels %XX, _xHHHH_). */
int xlsx__hexval(int c);
size_t xlsx__unescape(char *s, size_t len);
/* Strict decimal: digits only, value <= max. true and *out, or false. */
bool xlsx__parse_uint(const char *s, unsigned long max, unsigned long *out);

/* --- xlsx_book.c ---------------------------------------------------------- */

struct xlsx__book {
	char sheet_part[XLSX_MAX_PATH];   /* zip entry name, no leading '/' */
	char sst_part[XLSX_MAX_PATH];     /* "" if none */
	char styles_part[XLSX_MAX_PATH];  /* "" if none */
	char sheet_name[128];             /* for messages; may be cut short */
	int date1904;
};

/* Find the sheet to read: by name, or the first worksheet in workbook
 * order. PA_EFORMAT with the sheets found when the name is missing. */
int xlsx__book_load(struct xlsx__zip *z, const char *want, struct xlsx__book *b);
/* Resolve an OPC relationship target against the directory of the source
 * part (e.g. "xl/"). PA_OK or PA_EFORMAT (no message). */
int xlsx__resolve(const char *base_dir, const char *target, char *out,
    size_t outsz);

/* --- xlsx_sst.c ----------------------------------------------------------- */

/* Shared strings, compact: one arena without NULs and off[0..n], off[n] the
 * arena length. Bit 31 of off[i] tags string i as stored one byte a
 * character (Windows-1251), else it is UTF-8; bit 30 as holding word codes
 * (see xlsx_sst.c); the rest of off[i] is where
 * it starts and off[i + 1] where it ends. text is the UTF-8 size of all
 * strings, the size RS_MAX_SHARED_BYTES bounds (the arena is never bigger). */
struct xlsx__sst {
	char *arena;
	size_t len, cap;
	uint32_t *off;
	size_t n, ncap;
	size_t text;
	/* Words met often (xlsx_sst.c): a string tagged in bit 30 of its
	 * offset has 2-byte codes for them. wtext holds each word once, as
	 * UTF-8, word k at woff[k]..woff[k + 1]; whash finds them while
	 * loading. */
	char *wtext;
	size_t wlen, wcap;
	uint32_t *woff;
	uint16_t *whash;
	size_t nw;
};

/* Load part into s. PA_OK (a missing part leaves s empty), or PA_ELIMIT,
 * PA_EFORMAT, PA_ENOMEM with a message; s is then empty. */
int xlsx__sst_load(struct xlsx__zip *z, const char *part, struct xlsx__sst *s);
/* PA_OK and *len, the length of string i as UTF-8 (at most
 * RS_MAX_CELL_BYTES); PA_ENOTFOUND (no message) if i is out of range. */
int xlsx__sst_len(const struct xlsx__sst *s, size_t i, size_t *len);
/* Write string i (in range) as UTF-8 into out, which has room for the
 * length xlsx__sst_len() gave. No NUL is added. */
void xlsx__sst_copy(const struct xlsx__sst *s, size_t i, char *out);
void xlsx__sst_free(struct xlsx__sst *s);
/* Tests only (tests/unit/test_xlsx.c; nothing else calls it): lower the
 * RS_MAX_SHARED_BYTES cap to bytes for every later load, so a test can
 * reach it without 256 MiB of XML; 0 (or more than the cap) restores it.
 * Not thread-safe: process-wide. */
void xlsx__sst_test_limit(uint32_t bytes);

/* --- xlsx_num.c ----------------------------------------------------------- */

/* What a number format shows: a plain number or a date/time. */
enum xlsx__datekind { XLSX_NUMBER = 0, XLSX_DATE, XLSX_DATETIME, XLSX_TIME };

struct xlsx__styles {
	unsigned char *kind;   /* per cellXfs index */
	size_t n;
};

/* Load styles.xml date formats. A missing part leaves s empty (PA_OK). */
int xlsx__styles_load(struct xlsx__zip *z, const char *part,
    struct xlsx__styles *s);
enum xlsx__datekind xlsx__styles_kind(const struct xlsx__styles *s,
    unsigned long xf);
void xlsx__styles_free(struct xlsx__styles *s);
/* Classify a format code ("dd.mm.yyyy", "0.00", "[h]:mm:ss"). */
enum xlsx__datekind xlsx__fmt_kind(const char *code);
/* Classify a built-in format id (14-22 and 45-47 are dates/times). */
enum xlsx__datekind xlsx__builtin_kind(unsigned long id);
/* Render the numeric cell text v as canonical decimal (RS_CELL_NUMBER set
 * in *flags) or, for a date kind, ISO 8601. Text that is not a number is
 * copied unchanged (no flag). Writes at most XLSX_NUM_MAX bytes into out
 * (NUL-terminated) and returns the length; 0 when v is not a number we
 * offer as one (the caller keeps the text). */
size_t xlsx__num_render(const char *v, size_t len, enum xlsx__datekind kind,
    int date1904, locale_t cloc, char *out, unsigned *flags);
/* Canonical text of d: %.15g with any exponent expanded. Returns the
 * length, 0 if it does not fit in outsz. */
size_t xlsx__num_canon(double d, locale_t cloc, char *out, size_t outsz);

#endif

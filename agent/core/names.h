/* names — byte strings from the outside world (file names, names typed in
 * profiles) made safe to show and to send (issue #9).
 *
 * A POSIX file name is any byte string without '/' and NUL. Suppliers'
 * Windows machines write CP1251 names (`прайс.csv` as EF F0 E0 E9 F1), old
 * tools Latin-1, broken ones anything. The exact bytes stay with the file
 * operations; what a person reads and what goes into JSON (HQ, --json) is a
 * valid-UTF-8 rendering that says how it was made:
 *
 *   utf-8    the name was valid UTF-8: unchanged
 *   cp1251   every non-ASCII byte is a CP1251 Cyrillic letter (or Ё ё №)
 *            and none stands alone beside a Latin letter ("café" in
 *            Latin-1 is not read as "cafй"): decoded
 *   escaped  anything else: each byte that is not part of valid UTF-8
 *            becomes \xNN and a backslash becomes \\ (reversible)
 *
 * Control characters are kept in the rendering (JSON escapes them); the
 * human form (names_human) escapes them so a newline in a name cannot
 * forge a log line or a table row. */
#ifndef NAMES_H
#define NAMES_H

#include <stddef.h>

enum names_enc { NAMES_UTF8, NAMES_CP1251, NAMES_ESCAPED };

/* Render the NUL-terminated bytes raw as valid UTF-8 (see above). *out is a
 * new string (pa_free), *enc how it was made. PA_ENOMEM only. */
int names_render(const char *raw, char **out, enum names_enc *enc);
/* "utf-8", "cp1251" or "escaped". */
const char *names_enc_name(enum names_enc e);
/* Parse a names_enc_name(); unknown text reads as NAMES_UTF8. */
enum names_enc names_enc_parse(const char *s);

/* Does s need names_human (a control character, a bidi override, or a
 * byte that is not valid UTF-8)? */
int names_needs_escape(const char *s);
/* s for a human: C0 controls and DEL as \n \r \t \xNN, C1 controls, line
 * separators and bidi controls as \u{XXXX}, bytes that are not valid UTF-8
 * as \xNN. Written into buf (n > 4 bytes), cut on a character boundary
 * with "..." when it does not fit. Returns buf. */
const char *names_human(const char *s, char *buf, size_t n);

#endif

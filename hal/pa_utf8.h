/* pa_utf8 — the one UTF-8 checker (RFC 3629), shared by the readers, the
 * import pipeline, names, kkt and sync. Low-level and OS-free like pa_err and
 * pa_mem, so any layer may include it without an edge running upwards.
 *
 * Well-formed means RFC 3629 §4: no overlong forms, no surrogates
 * (U+D800..DFFF), nothing above U+10FFFF. */
#ifndef PA_UTF8_H
#define PA_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PA_UTF8_NUL SIZE_MAX

/* Length (1-4) of the one well-formed character at the start of s[0..len),
 * its code point in *cp (cp may be NULL); 0 if s does not start one or
 * len is 0. A NUL byte is a 1-byte character here. For a NUL-terminated s
 * whose length is not at hand, len may be PA_UTF8_NUL: the NUL then ends
 * any incomplete character before a byte beyond it is read. */
size_t pa_utf8_decode(const char *s, size_t len, uint32_t *cp);
/* pa_utf8_decode without the code point. */
size_t pa_utf8_seq(const char *s, size_t len);
/* Is s[0..len) text we may store: well-formed UTF-8 holding no NUL byte? */
bool pa_utf8_valid(const char *s, size_t len);
/* The largest n <= max such that s[0..n) does not end inside a character
 * (s[0..len) is the whole text; len <= max gives len). */
size_t pa_utf8_cut(const char *s, size_t len, size_t max);
/* Drop, in place, a character left incomplete at the end of the
 * NUL-terminated s by a cut that did not use pa_utf8_cut (snprintf). */
void pa_utf8_trim(char *s);

#endif

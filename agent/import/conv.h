/* conv — value converters for the import pipeline: trimming, money, stock
 * (DESIGN §5 "Row semantics"). The UTF-8 checks live in hal/pa_utf8.h.
 *
 * Every function works on a (pointer, length) pair that need not be
 * NUL-terminated, allocates nothing and keeps no state, so it is safe on any
 * thread. Failures return PA_EINVAL with a message (pa_err_msg) a store
 * technician can act on; it quotes the value but not the row or column —
 * the caller wraps it with those (pa_err_wrap). On failure *out is left
 * unchanged.
 *
 * Money is never floating point: text is parsed digit by digit into integer
 * kopecks. */
#ifndef CONV_H
#define CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Trim space, tab, CR, LF, U+00A0 NO-BREAK SPACE and U+FEFF BOM from both
 * ends of s[0..len). Inner whitespace stays. Advances *s past the leading
 * part and returns the trimmed length. */
size_t conv_trim(const char **s, size_t len);

/* The largest price accepted: 1 000 000 000,00 (a billion rubles, in
 * kopecks). An optics price list never comes near it; a value above is a
 * mangled cell (a barcode in the price column, a shifted row), and was
 * stored as INT64_MAX kopecks before (issue #9): an error row now. */
#define CONV_MONEY_MAX_KOPECKS 100000000000LL

/* Money typed by a person or exported as text, to kopecks.
 * Accepted (after conv_trim):
 *   digits               5000
 *   thousands groups     5 000 / 1 250 000 — the separator is a space,
 *                        U+00A0, U+202F or U+2009, one between groups; the
 *                        first group has 1-3 digits, the others exactly 3
 *   decimal part         . or , followed by 1 or 2 digits: 5000.5, 5 000,00
 * Refused, deliberately:
 *   3+ decimal digits    "5,000" may mean five thousand (US grouping) or
 *                        five rubles; guessing wrong is a 1000x price error
 *   no digit before or after the separator   ",5", "5000."
 *   a sign, exponent, currency or any other text   -5, +5, 1e5, 12 000 руб.
 *   more than CONV_MONEY_MAX_KOPECKS
 *   an empty value
 * Returns PA_OK and sets *kopecks, or PA_EINVAL. */
int conv_money(const char *s, size_t len, int64_t *kopecks);

/* Money from a numeric spreadsheet cell (RS_CELL_NUMBER text: "1234.5",
 * "1481.472", "1.5E-3" — a formula's cached binary double written out).
 * Any number of decimals; an exponent is allowed; rounded half away from
 * zero to whole kopecks, exactly, on the decimal digits (no double maths).
 * Negative values are refused. Returns PA_OK or PA_EINVAL. */
int conv_money_num(const char *s, size_t len, int64_t *kopecks);

/* Stock quantity: a non-negative decimal with the same grouping and
 * decimal separators as conv_money, any number of decimals (digits beyond
 * 15 significant ones are rounded away). Refuses empty, a sign, exponent,
 * inf/nan and other text, and values of 10^15 or more.
 * Returns PA_OK and sets *out, or PA_EINVAL. */
int conv_qty(const char *s, size_t len, double *out);

/* Format kopecks as "5000.00" ("-12.05" for negatives) into buf, which
 * must hold CONV_MONEY_BUFSZ bytes. Returns buf. */
#define CONV_MONEY_BUFSZ 24
char *conv_money_fmt(int64_t kopecks, char buf[CONV_MONEY_BUFSZ]);

#endif

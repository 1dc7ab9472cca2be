/* cli_out — human output: aligned tables (UTF-8 aware), state colours and
 * the import progress bar. Machine output is cli_emit_json (cli.h). */
#ifndef CLI_OUT_H
#define CLI_OUT_H

#include <jansson.h>
#include <stdio.h>

#define CLI_MAX_COLS 12

/* A table is built from JSON rows (objects); cols names the keys, heads the
 * column titles. A column whose key is "state" is coloured. */
struct cli_col {
	const char *key;
	const char *head;
	int right;              /* right-align (numbers) */
	int maxw;               /* 0 = no cap; longer cells are cut with … */
};

void cli_table(FILE *f, int color, const struct cli_col *cols, size_t ncols,
    json_t *rows);
/* Colour escape for a job state ("" when color is off). */
const char *cli_state_color(const char *state, int color);
const char *cli_reset(int color);
/* A UTC timestamp as stored ("…T…Z") in local time for people; any
 * other text unchanged. Returns buf or s. */
const char *cli_human_time(const char *s, char buf[32]);
/* Display width of UTF-8 text (code points; good enough for Cyrillic). */
size_t cli_width(const char *s);
/* "key: value" lines of a JSON object, in the order of keys (NULL-ended). */
void cli_kv(FILE *f, int color, json_t *obj, const char *const *keys);
/* Draw/refresh a one-line progress bar on f (a TTY): percent 0..100. */
void cli_progress(FILE *f, const char *label, double percent, long rows,
    long errors);
void cli_progress_end(FILE *f);

#endif

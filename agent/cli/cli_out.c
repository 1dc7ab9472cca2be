#include "agent/cli/cli_out.h"

#include <string.h>

#include "agent/core/names.h"
#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

#define GREEN  "\033[32m"
#define RED    "\033[31m"
#define YELLOW "\033[33m"
#define GREY   "\033[90m"
#define BOLD   "\033[1m"
#define RESET  "\033[0m"

const char *
cli_state_color(const char *state, int color)
{
	if (!color || state == NULL)
		return "";
	if (strcmp(state, "done") == 0)
		return GREEN;
	if (strcmp(state, "failed") == 0 || strcmp(state, "error") == 0)
		return RED;
	if (strcmp(state, "running") == 0 || strcmp(state, "warning") == 0)
		return YELLOW;
	if (strcmp(state, "cancelled") == 0 || strcmp(state, "reverted") == 0)
		return GREY;
	return "";
}

const char *
cli_reset(int color)
{
	return color ? RESET : "";
}

size_t
cli_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

const char *
cli_human_time(const char *s, char buf[32])
{
	int64_t ms;

	if (s == NULL || hal_iso_parse(s, &ms) != PA_OK)
		return s;
	hal_local_time(ms, buf);
	return buf;
}

/* Cell text of a JSON value into buf, timestamps in local time. Strings
 * come from file names, profiles and messages: a control character is
 * shown escaped, never sent to the terminal (a newline would forge a row,
 * issue #9). */
static const char *
cell(json_t *v, char *buf, size_t n)
{
	if (v == NULL || json_is_null(v))
		return "";
	if (json_is_string(v))
		return names_needs_escape(json_string_value(v)) ?
		    names_human(json_string_value(v), buf, n) :
		    n >= 32 ? cli_human_time(json_string_value(v), buf) :
		    json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, n, "%.2f", json_real_value(v));
	else if (json_is_true(v))
		return "yes";
	else if (json_is_false(v))
		return "no";
	else
		return "…";
	return buf;
}

/* Print s cut to at most w display columns (with an ellipsis). */
static size_t
put_cut(FILE *f, const char *s, size_t w)
{
	size_t cols = 0;
	const char *p = s;

	if (cli_width(s) <= w) {
		fputs(s, f);
		return cli_width(s);
	}
	while (*p && cols + 1 < w) {
		const char *q = p + 1;
		while (((unsigned char)*q & 0xC0) == 0x80)
			q++;
		fwrite(p, 1, (size_t)(q - p), f);
		p = q;
		cols++;
	}
	fputs("…", f);
	return cols + 1;
}

void
cli_table(FILE *f, int color, const struct cli_col *cols, size_t ncols,
    json_t *rows)
{
	size_t w[CLI_MAX_COLS], i, c, r;
	char buf[1024];
	json_t *row;

	if (ncols > CLI_MAX_COLS)
		ncols = CLI_MAX_COLS;
	for (c = 0; c < ncols; c++)
		w[c] = cli_width(cols[c].head);
	json_array_foreach(rows, r, row)
		for (c = 0; c < ncols; c++) {
			size_t cw = cli_width(cell(json_object_get(row, cols[c].key),
			    buf, sizeof(buf)));
			if (cols[c].maxw && cw > (size_t)cols[c].maxw)
				cw = (size_t)cols[c].maxw;
			if (cw > w[c])
				w[c] = cw;
		}
	fputs(color ? BOLD : "", f);
	for (c = 0; c < ncols; c++)
		fprintf(f, cols[c].right ? "%*s%s" : "%-*s%s",
		    (c + 1 < ncols || cols[c].right) ? (int)w[c] : 0, cols[c].head,
		    c + 1 < ncols ? "  " : "");
	fprintf(f, "%s\n", cli_reset(color));
	json_array_foreach(rows, r, row) {
		for (c = 0; c < ncols; c++) {
			const char *s = cell(json_object_get(row, cols[c].key), buf,
			    sizeof(buf));
			int colored = strcmp(cols[c].key, "state") == 0 ||
			    strcmp(cols[c].key, "level") == 0;
			size_t used, pad;
			if (cols[c].right) {
				for (pad = cli_width(s); pad < w[c]; pad++)
					fputc(' ', f);
			}
			if (colored)
				fputs(cli_state_color(s, color), f);
			used = put_cut(f, s, cols[c].maxw ? (size_t)cols[c].maxw : w[c]);
			if (colored)
				fputs(cli_reset(color), f);
			if (!cols[c].right && c + 1 < ncols)
				for (i = used; i < w[c]; i++)
					fputc(' ', f);
			if (c + 1 < ncols)
				fputs("  ", f);
		}
		fputc('\n', f);
	}
}

void
cli_kv(FILE *f, int color, json_t *obj, const char *const *keys)
{
	size_t w = 0, i;
	char buf[1024];

	for (i = 0; keys[i]; i++)
		if (strlen(keys[i]) > w)
			w = strlen(keys[i]);
	for (i = 0; keys[i]; i++) {
		json_t *v = json_object_get(obj, keys[i]);
		const char *s = cell(v, buf, sizeof(buf));
		int colored = strcmp(keys[i], "state") == 0;
		if (v == NULL || (json_is_null(v) && strcmp(keys[i], "state") != 0))
			continue;
		fprintf(f, "%-*s  %s%s%s\n", (int)w, keys[i],
		    colored ? cli_state_color(s, color) : "", s,
		    colored ? cli_reset(color) : "");
	}
}

void
cli_progress(FILE *f, const char *label, double percent, long rows,
    long errors)
{
	char bar[31];
	int fill, i;

	if (percent < 0)
		percent = 0;
	if (percent > 100)
		percent = 100;
	fill = (int)(percent * 30 / 100);
	for (i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	fprintf(f, "\r%s [%s] %5.1f%%  %ld rows  %ld errors ", label, bar,
	    percent, rows, errors);
	fflush(f);
}

void
cli_progress_end(FILE *f)
{
	fputs("\r\033[K", f);
	fflush(f);
}

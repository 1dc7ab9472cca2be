/* hq_log — see hq_log.h. */
#include "hq/hq_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int journal;
static int verbose_on;

void
hq_log_init(int verbose)
{
	const char *js = getenv("JOURNAL_STREAM");

	journal = js != NULL && js[0] != '\0';
	verbose_on = verbose;
}

static const char *
level_word(enum hq_log_level lvl)
{
	switch (lvl) {
	case HQ_LOG_ERR: return "error";
	case HQ_LOG_WARNING: return "warning";
	case HQ_LOG_NOTICE: return "notice";
	case HQ_LOG_INFO: return "info";
	case HQ_LOG_DEBUG: return "debug";
	}
	return "info"; /* cannot happen */
}

void
hq_log(enum hq_log_level lvl, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, k;

	if (lvl == HQ_LOG_DEBUG && !verbose_on)
		return;
	if (journal)
		n = snprintf(line, sizeof(line), "<%d>", (int)lvl);
	else
		n = snprintf(line, sizeof(line), "posagent-hq: %s: ",
		    level_word(lvl));
	if (n < 0 || (size_t)n >= sizeof(line))
		return; /* cannot happen: the prefixes are short */
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n += k;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2; /* a long line is cut, never split */
	/* A message may carry a client's text: no line breaks inside. */
	for (k = 0; k < n; k++)
		if (line[k] == '\n' || line[k] == '\r')
			line[k] = ' ';
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return; /* nowhere left to report it */
}

#include "hal/pa_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/hal.h"

#define PA_LOG_LINE_MAX 4096    /* longer lines are cut, never split */

static int max_prio = PA_LOG_INFO;
static int journal = -1;        /* -1 = not looked at yet */

void
pa_log_set_level(int p)
{
	max_prio = p < PA_LOG_ERR ? PA_LOG_ERR : p > PA_LOG_DEBUG ?
	    PA_LOG_DEBUG : p;
}

int
pa_log_level(void)
{
	return max_prio;
}

/* systemd.exec(5): JOURNAL_STREAM is "DEV:INODE" of the stream stderr was
 * connected to; it is inherited, so compare with what stderr is now (a
 * child whose stderr was redirected must not emit "<N>"). */
int
pa_log_to_journal(void)
{
	unsigned long long dev, ino;
	const char *js;
	struct stat st;

	if (journal >= 0)
		return journal;
	journal = 0;
	js = getenv("JOURNAL_STREAM");
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino)
		journal = 1;
	return journal;
}

void
pa_log_reset(void)
{
	journal = -1;
}

static const char *
label(int prio)
{
	switch (prio) {
	case PA_LOG_ERR:
		return "error: ";
	case PA_LOG_WARNING:
		return "warning: ";
	default:
		return "";
	}
}

void
pa_vlog(int prio, const char *fmt, va_list ap)
{
	char msg[PA_LOG_LINE_MAX], ts[32];

	if (prio > max_prio)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (pa_log_to_journal()) {
		fprintf(stderr, "<%d>%s%s\n", prio, label(prio), msg);
	} else {
		hal_now_iso(ts);
		fprintf(stderr, "%s posagent: %s%s\n", ts, label(prio), msg);
	}
}

void
pa_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pa_vlog(prio, fmt, ap);
	va_end(ap);
}

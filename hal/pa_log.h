/* pa_log — operator log lines on stderr, with syslog severities.
 *
 * Under systemd (stderr is the journal stream named by $JOURNAL_STREAM)
 * each line starts with its "<N>" priority prefix, per sd-daemon(3), and
 * carries no timestamp of its own: the journal stamps it, so
 * `journalctl -p warning` finds failed imports and HQ outages. Elsewhere a
 * line is "TIMESTAMP posagent: [warning: ]text". */
#ifndef PA_LOG_H
#define PA_LOG_H

#include <stdarg.h>

/* syslog(3) priorities; the numbers are what the journal expects. */
enum pa_log_prio {
	PA_LOG_ERR = 3,
	PA_LOG_WARNING = 4,
	PA_LOG_NOTICE = 5,
	PA_LOG_INFO = 6,
	PA_LOG_DEBUG = 7,
};

/* Lines above max_prio are dropped: -q sets PA_LOG_WARNING, -v
 * PA_LOG_DEBUG; the default is PA_LOG_INFO. Not thread-safe: set it once
 * at start-up, before threads. */
void pa_log_set_level(int max_prio);
int pa_log_level(void);

/* Write one line (no trailing newline in fmt) at prio. Never fails: a
 * log line that cannot be written is lost, the caller goes on. One
 * fprintf-style call per line, so lines from threads do not interleave
 * (stdio locks the stream per call). */
void pa_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pa_vlog(int prio, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Is stderr the journal? (cached; for tests, pa_log_reset re-reads it) */
int pa_log_to_journal(void);
void pa_log_reset(void);

#endif

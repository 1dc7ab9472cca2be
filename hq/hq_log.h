/* hq_log — posagent-hq's log lines on stderr, journald-aware.
 *
 * Under systemd (JOURNAL_STREAM set) each line starts with "<N>", the
 * syslog priority sd-daemon(3) documents, so the journal files it at the
 * right level; otherwise lines read "posagent-hq: LEVEL: text". One write(2)
 * per line, so lines from the server's threads never interleave. */
#ifndef HQ_LOG_H
#define HQ_LOG_H

enum hq_log_level { HQ_LOG_ERR = 3, HQ_LOG_WARNING = 4, HQ_LOG_NOTICE = 5,
	HQ_LOG_INFO = 6, HQ_LOG_DEBUG = 7 };

/* Read JOURNAL_STREAM once; verbose enables HQ_LOG_DEBUG lines. */
void hq_log_init(int verbose);
void hq_log(enum hq_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

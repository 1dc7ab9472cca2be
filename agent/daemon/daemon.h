/* daemon — `posagent run` (DESIGN §8): one instance per data directory,
 * settles crashed jobs and re-runs the interrupted ones, watches the inbox,
 * retries gate-refused files with backoff, sends the outbox to HQ from its
 * own thread (imports never wait for HQ), and speaks systemd's notify
 * protocol. Stops cleanly on SIGTERM/SIGINT; a running import rolls back. */
#ifndef DAEMON_H
#define DAEMON_H

#include "agent/core/config.h"

struct daemon_opts {
	const struct pa_config *cfg;
	int once;               /* handle the inbox once and exit (no sync loop) */
};

int daemon_run(const struct daemon_opts *o);

#endif

#include "hal/hal_watch.h"

#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"

struct hal_watch {
	int fd;           /* inotify fd, -1 when polling */
};

int
hal_watch_open(const char *dir, hal_watch **out)
{
	hal_watch *w;

	*out = NULL;
	if ((w = pa_calloc(1, sizeof(*w))) == NULL)
		return PA_ENOMEM;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	/* Only complete files matter: close-after-write and renames into the
	 * folder (the safe way to drop a file), never IN_CREATE. */
	if (w->fd >= 0 && inotify_add_watch(w->fd, dir, IN_CLOSE_WRITE |
	    IN_MOVED_TO) < 0) {
		close(w->fd);
		w->fd = -1;
	}
	*out = w;
	return PA_OK;
}

void
hal_watch_close(hal_watch *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	pa_free(w);
}

int
hal_watch_inotify(const hal_watch *w)
{
	return w->fd >= 0;
}

int
hal_watch_wait(hal_watch *w, long timeout_ms)
{
	struct pollfd pfd;
	char buf[4096];
	int n, got = 0;

	if (w->fd < 0) {
		poll(NULL, 0, (int)timeout_ms);
		return 1;
	}
	pfd.fd = w->fd;
	pfd.events = POLLIN;
	n = poll(&pfd, 1, (int)timeout_ms);
	if (n <= 0)
		return 0;
	/* Drain the queue; the caller rescans the folder anyway. */
	while (read(w->fd, buf, sizeof(buf)) > 0)
		got = 1;
	return got;
}

void
hal_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	len = strlen(path);
	if (len >= sizeof(sa.sun_path))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract socket namespace */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	/* Never block: a notify socket nobody reads (a stuck or absent
	 * manager) must not stall the watchdog thread or the shutdown. */
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
	    (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un,
	    sun_path) + len));
	close(fd);
}

long
hal_watchdog_ms(void)
{
	const char *s = getenv("WATCHDOG_USEC");
	char *end;
	long long us;

	if (s == NULL)
		return 0;
	errno = 0;
	us = strtoll(s, &end, 10);
	if (errno || *end || us <= 0)
		return 0;
	return (long)(us / 1000);
}

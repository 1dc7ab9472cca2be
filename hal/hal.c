/* hal — the system-call table (hal_sys) and the rest of hal.h: clocks and
 * dates, paths and directories, randomness, lock files, signals, file
 * identity, the data directory's owner.
 *
 * hal.h is implemented in three files by responsibility: this one,
 * hal_durable.c (the durable-write protocol: spool copy, whole-file
 * replace, disk reserve) and hal_secret.c (secret files). */
#include "hal/hal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "hal/pa_err.h"

static int64_t
sys_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
sys_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* open(2) is variadic: the table wants a fixed signature. */
static int
sys_open(const char *path, int flags, mode_t mode)
{
	return open(path, flags, mode);
}

struct hal_sys hal_sys = {
	.open = sys_open,
	.close = close,
	.read = read,
	.pread = pread,
	.write = write,
	.fsync = fsync,
	.rename = rename,
	.unlink = unlink,
	.now_ms = sys_now_ms,
	.mono_ms = sys_mono_ms,
};

static void
fmt_iso(int64_t t_ms, char buf[32], int with_ms)
{
	time_t s = (time_t)(t_ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	if (with_ms)
		snprintf(buf + n, 32 - n, ".%03uZ", (unsigned)(t_ms % 1000) % 1000u);
	else
		snprintf(buf + n, 32 - n, "Z");
}

void
hal_iso_ms(int64_t t_ms, char buf[32])
{
	fmt_iso(t_ms, buf, 1);
}

void
hal_now_iso(char buf[32])
{
	fmt_iso(hal_sys.now_ms(), buf, 1);
}

int
hal_iso_parse(const char *s, int64_t *t_ms)
{
	struct tm tm;
	const char *p;
	int ms = 0;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return PA_EINVAL;
	if (*p == '.') {
		int n = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 3)
				ms = ms * 10 + (*p - '0');
		for (; n < 3; n++)
			ms *= 10;
	}
	if (*p != 'Z' && *p != '\0')
		return PA_EINVAL;
	*t_ms = (int64_t)timegm(&tm) * 1000 + ms;
	return PA_OK;
}

int64_t
hal_local_midnight_ms(int days_back)
{
	time_t now = (time_t)(hal_sys.now_ms() / 1000);
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday -= days_back;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm) * 1000;
}

void
hal_local_time(int64_t t_ms, char buf[32])
{
	time_t t = (time_t)(t_ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		buf[0] = '\0'; /* cannot happen: 19 characters */
}

int
hal_local_date_parse(const char *ymd, int64_t *t_ms)
{
	struct tm tm;
	int y, m, d, n = 0;

	/* Strict YYYY-MM-DD: sscanf alone would take "2026-1-5x". */
	if (strlen(ymd) != 10 || sscanf(ymd, "%4d-%2d-%2d%n", &y, &m, &d, &n)
	    != 3 || n != 10 || ymd[4] != '-' || ymd[7] != '-' || m < 1 ||
	    m > 12 || d < 1 || d > 31 || y < 1970)
		return PA_EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	*t_ms = (int64_t)mktime(&tm) * 1000;
	/* mktime normalises 2026-02-31 to March: refuse what moved. */
	if (tm.tm_mday != d || tm.tm_mon != m - 1)
		return PA_EINVAL;
	return PA_OK;
}

void
hal_local_date(int64_t t_ms, char buf[11])
{
	time_t s = (time_t)(t_ms / 1000);
	struct tm tm;

	localtime_r(&s, &tm);
	strftime(buf, 11, "%Y-%m-%d", &tm);
}

int
hal_pathf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= n)
		return pa_err_set(PA_EINVAL, "path too long: %.80s...", buf);
	return PA_OK;
}

/* mkdir's failure as our code: permission problems say what to do. */
static int
mkdir_err(const char *dir, int e)
{
	if (e == EACCES || e == EPERM || e == EROFS)
		return pa_err_set(PA_EACCESS, "cannot create directory %s: %s "
		    "(run posagent as the user that owns the data directory, or "
		    "fix its owner and mode)", dir, strerror(e));
	if (e == ENOTDIR)
		return pa_err_set(PA_EEXISTS, "cannot create directory %s: a "
		    "part of the path is a file, not a directory", dir);
	return pa_err_set(PA_EIO, "cannot create directory %s: %s", dir,
	    strerror(e));
}

int
hal_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);
	struct stat st;
	char *p;

	if (n == 0 || n >= sizeof(buf))
		return pa_err_set(PA_EINVAL, "bad directory path '%s'", path);
	memcpy(buf, path, n + 1);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return mkdir_err(buf, errno);
		*p = '/';
	}
	if (mkdir(buf, 0750) != 0 && errno != EEXIST)
		return mkdir_err(buf, errno);
	/* We create files in every directory we make: say so now, not with
	 * SQLite's "attempt to write a readonly database" later (issue #9). */
	if (stat(buf, &st) != 0)
		return pa_err_set(PA_EIO, "stat %s: %s", buf, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return pa_err_set(PA_EEXISTS, "%s is a file, not a directory", buf);
	if (access(buf, W_OK | X_OK) != 0)
		return pa_err_set(PA_EACCESS, "directory %s is not writable by "
		    "this user (uid %u): run posagent as the user that owns it, or "
		    "fix its owner and mode", buf, (unsigned)geteuid());
	return PA_OK;
}

uint64_t
hal_disk_free(const char *path)
{
	struct statvfs vfs;

	if (statvfs(path, &vfs) != 0)
		return 0;
	return (uint64_t)vfs.f_bavail * vfs.f_frsize;
}

int
hal_uuid4(char buf[37])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return pa_err_set(PA_EIO, "getrandom: %s", strerror(errno));
		}
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6],
	    b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return PA_OK;
}

int
hal_lock_file(const char *path, int *fd_out)
{
	struct stat held, now;
	int fd, tries;

	*fd_out = -1;
	/* A holder may unlink the file just before it unlocks (hal_lock_drop):
	 * whoever opened the old path then locks an orphan inode while a third
	 * process locks a fresh file at the path, and both "hold" the lock.
	 * So after locking, the path must still name the inode we locked;
	 * else start over on the new file. Bounded: each retry means another
	 * process finished with the lock in between. */
	for (tries = 0; tries < 100; tries++) {
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0)
			return pa_err_set(PA_EIO, "open lock %s: %s", path,
			    strerror(errno));
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno;
			close(fd);
			if (e == EWOULDBLOCK)
				return pa_err_set(PA_ELOCKED, "%s is held by another "
				    "posagent process", path);
			return pa_err_set(PA_EIO, "lock %s: %s", path, strerror(e));
		}
		if (fstat(fd, &held) == 0 && stat(path, &now) == 0 &&
		    held.st_dev == now.st_dev && held.st_ino == now.st_ino) {
			*fd_out = fd;
			return PA_OK;
		}
		close(fd);
	}
	return pa_err_set(PA_ELOCKED, "%s keeps being replaced by other posagent "
	    "processes", path);
}

void
hal_unlock_file(int fd)
{
	if (fd >= 0)
		close(fd);
}

void
hal_lock_drop(const char *path, int fd)
{
	if (fd < 0)
		return;
	/* Unlink while still holding: a waiter that opened this inode sees
	 * the path gone after it locks and retries (hal_lock_file). */
	unlink(path);
	close(fd);
}

static volatile sig_atomic_t stop_flag, reload_flag;

static void
on_stop(int sig)
{
	stop_flag = sig;
}

static void
on_reload(int sig)
{
	(void)sig;
	reload_flag = 1;
}

void
hal_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void
hal_reload_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_reload;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
}

int
hal_reload_requested(void)
{
	int r = reload_flag != 0;

	reload_flag = 0;
	return r;
}

int
hal_stop_signal(void)
{
	return (int)stop_flag;
}

int
hal_path_id(const char *path, struct hal_file_id *id)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return pa_err_set(errno == ENOENT || errno == ENOTDIR ?
		    PA_ENOTFOUND : PA_EIO, "stat %s: %s", path, strerror(errno));
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	return PA_OK;
}

int
hal_fd_id(int fd, struct hal_file_id *id)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return pa_err_set(PA_EIO, "fstat: %s", strerror(errno));
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	return PA_OK;
}

int
hal_check_same(const char *what, const char *path,
    const struct hal_file_id *id)
{
	struct hal_file_id now;
	int rc;

	if ((rc = hal_path_id(path, &now)) == PA_OK && now.dev == id->dev &&
	    now.ino == id->ino)
		return PA_OK;
	if (rc != PA_OK && rc != PA_ENOTFOUND)
		return rc;
	return pa_err_set(PA_EGONE, "%s %s was %s while posagent was using it: "
	    "work since then went to deleted files and is not reported as "
	    "done; restore the directory and start posagent again", what, path,
	    rc == PA_ENOTFOUND ? "removed" : "replaced");
}

int
hal_stop_requested(void)
{
	return stop_flag != 0;
}

int
hal_open_regular(const char *path, uint64_t max_bytes, int *fd_out)
{
	struct stat st;
	int fd, rc = PA_OK, e;

	*fd_out = -1;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		e = errno;
		if (e == ENOENT)
			return pa_err_set(PA_ENOTFOUND, "%s: no such file", path);
		if (e == EACCES)
			return pa_err_set(PA_EACCESS, "%s: permission denied (make "
			    "it readable by the user posagent runs as)", path);
		return pa_err_set(PA_EIO, "open %s: %s", path, strerror(e));
	}
	if (fstat(fd, &st) != 0)
		rc = pa_err_set(PA_EIO, "stat %s: %s", path, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		rc = pa_err_set(PA_EFORMAT, "%s is a directory, not a file", path);
	else if (!S_ISREG(st.st_mode))
		rc = pa_err_set(PA_EFORMAT, "%s is not a regular file (a FIFO, "
		    "socket or device is not read)", path);
	else if ((uint64_t)st.st_size > max_bytes)
		rc = pa_err_set(PA_ELIMIT, "%s is too large (%lld bytes, at most "
		    "%llu)", path, (long long)st.st_size,
		    (unsigned long long)max_bytes);
	/* Reads are blocking from here on (a regular file never waits). */
	else if (fcntl(fd, F_SETFL, 0) != 0)
		rc = pa_err_set(PA_EIO, "fcntl %s: %s", path, strerror(errno));
	if (rc != PA_OK) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return PA_OK;
}

static void
user_name(uid_t uid, char *buf, size_t n)
{
	struct passwd *pw = getpwuid(uid);

	if (pw && pw->pw_name)
		snprintf(buf, n, "%s", pw->pw_name);
	else
		snprintf(buf, n, "uid %lu", (unsigned long)uid);
}

int
hal_act_as_owner(const char *dir)
{
	char owner[64], me[64];
	struct passwd *pw;
	struct stat st;

	if (stat(dir, &st) != 0)
		return errno == ENOENT ? PA_OK : pa_err_set(errno == EACCES ?
		    PA_EACCESS : PA_EIO, "data directory %s: %s", dir,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return pa_err_set(PA_EEXISTS, "%s is a file, not a directory", dir);
	user_name(st.st_uid, owner, sizeof(owner));
	if (geteuid() == 0 && st.st_uid != 0) {
		/* Root acting on the service user's directory: become that user
		 * first, so nothing it creates is root's (issue #8: a root
		 * import once left run/ and spool/ files the daemon could not
		 * open). Supplementary groups follow the user's entry. */
		pw = getpwuid(st.st_uid);
		if ((pw ? initgroups(pw->pw_name, st.st_gid) :
		    setgroups(1, &st.st_gid)) != 0 || setgid(st.st_gid) != 0 ||
		    setuid(st.st_uid) != 0)
			return pa_err_set(PA_EACCESS, "cannot act as %s, the owner of "
			    "%s: %s; run as %s", owner, dir, strerror(errno), owner);
	}
	if (access(dir, R_OK | W_OK | X_OK) != 0) {
		user_name(geteuid(), me, sizeof(me));
		return pa_err_set(PA_EACCESS, "%s cannot use the data directory %s "
		    "(owned by %s): run as %s%s", me, dir, owner, owner,
		    st.st_uid == 0 ? "" : " or root");
	}
	return PA_OK;
}

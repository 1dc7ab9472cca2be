#include "hal/hal_fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hal/hal.h"
#include "hal/pa_err.h"

#define FAULT_FDS 1024          /* fds tracked; higher ones are never hit */

enum fault_op { F_OPEN, F_READ, F_PREAD, F_WRITE, F_FSYNC, F_RENAME, F_UNLINK };

static const char *const op_names[] = {
	"open", "read", "pread", "write", "fsync", "rename", "unlink",
};

static const struct {
	const char *name;
	int err;
} errnos[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
	{ "EACCES", EACCES }, { "EPERM", EPERM }, { "EROFS", EROFS },
	{ "ENOENT", ENOENT },
};

/* Test-only state, set once at start-up before any thread exists. */
static struct {
	enum fault_op op;
	int err;
	char match[256];
	long skip;
	int armed;
	struct hal_sys real;            /* the table before arming */
	unsigned char fd_hit[FAULT_FDS];        /* opened from a matching path */
} F;

/* Is this call one to fail? Counts the SKIP calls that go through first. */
static int
strike(enum fault_op op, int hit)
{
	if (op != F.op || !hit)
		return 0;
	if (F.skip > 0) {
		F.skip--;
		return 0;
	}
	errno = F.err;
	return 1;
}

static int
path_hit(const char *path)
{
	return path != NULL && strstr(path, F.match) != NULL;
}

static int
fd_hit(int fd)
{
	return fd >= 0 && fd < FAULT_FDS && F.fd_hit[fd];
}

static int
f_open(const char *path, int flags, mode_t mode)
{
	int fd;

	if (strike(F_OPEN, path_hit(path)))
		return -1;
	fd = F.real.open(path, flags, mode);
	if (fd >= 0 && fd < FAULT_FDS)
		F.fd_hit[fd] = (unsigned char)path_hit(path);
	return fd;
}

static int
f_close(int fd)
{
	if (fd >= 0 && fd < FAULT_FDS)
		F.fd_hit[fd] = 0;
	return F.real.close(fd);
}

static ssize_t
f_read(int fd, void *buf, size_t n)
{
	return strike(F_READ, fd_hit(fd)) ? -1 : F.real.read(fd, buf, n);
}

static ssize_t
f_pread(int fd, void *buf, size_t n, off_t off)
{
	return strike(F_PREAD, fd_hit(fd)) ? -1 : F.real.pread(fd, buf, n, off);
}

static ssize_t
f_write(int fd, const void *buf, size_t n)
{
	return strike(F_WRITE, fd_hit(fd)) ? -1 : F.real.write(fd, buf, n);
}

static int
f_fsync(int fd)
{
	return strike(F_FSYNC, fd_hit(fd)) ? -1 : F.real.fsync(fd);
}

static int
f_rename(const char *from, const char *to)
{
	return strike(F_RENAME, path_hit(from) || path_hit(to)) ? -1 :
	    F.real.rename(from, to);
}

static int
f_unlink(const char *path)
{
	return strike(F_UNLINK, path_hit(path)) ? -1 : F.real.unlink(path);
}

int
hal_fault_arm(const char *spec)
{
	char buf[512], *op, *en, *match, *skip, *end, *save = NULL;
	size_t i;
	int o = -1, e = 0;
	long k = 0;

	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return pa_err_set(PA_EINVAL, "fault spec too long");
	op = strtok_r(buf, ":", &save);
	en = strtok_r(NULL, ":", &save);
	match = strtok_r(NULL, ":", &save);
	skip = strtok_r(NULL, ":", &save);
	for (i = 0; op && i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strcmp(op, op_names[i]) == 0)
			o = (int)i;
	for (i = 0; en && i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcmp(en, errnos[i].name) == 0)
			e = errnos[i].err;
	if (skip) {
		errno = 0;
		k = strtol(skip, &end, 10);
		if (errno || *end || k < 0)
			o = -1;
	}
	if (o < 0 || e == 0 || match == NULL ||
	    strlen(match) >= sizeof(F.match))
		return pa_err_set(PA_EINVAL, "fault spec \"%s\": want "
		    "OP:ERRNO:MATCH[:SKIP] (hal/hal_fault.h)", spec);
	hal_fault_disarm();
	memset(&F, 0, sizeof(F));
	F.armed = 1;
	F.op = (enum fault_op)o;
	F.err = e;
	F.skip = k;
	snprintf(F.match, sizeof(F.match), "%s", match);
	F.real = hal_sys;
	hal_sys.open = f_open;
	hal_sys.close = f_close;
	hal_sys.read = f_read;
	hal_sys.pread = f_pread;
	hal_sys.write = f_write;
	hal_sys.fsync = f_fsync;
	hal_sys.rename = f_rename;
	hal_sys.unlink = f_unlink;
	return PA_OK;
}

void
hal_fault_disarm(void)
{
	if (F.armed)
		hal_sys = F.real;
	F.armed = 0;
}

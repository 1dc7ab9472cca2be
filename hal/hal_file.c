#include "hal/hal_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/hal.h"
#include "hal/pa_err.h"

static void
finfo_set(const struct stat *st, struct hal_finfo *fi)
{
	fi->type = S_ISREG(st->st_mode) ? HAL_F_REG : S_ISDIR(st->st_mode) ?
	    HAL_F_DIR : HAL_F_OTHER;
	fi->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
}

int
hal_open_read(const char *path, const char *name, int *fd_out,
    struct hal_finfo *fi)
{
	struct stat st;
	int fd, e;

	*fd_out = -1;
	if (name == NULL)
		name = path;
	if ((fd = hal_sys.open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0)) < 0)
		return pa_err_set(PA_EIO, "cannot open %s: %s", name,
		    strerror(errno));
	if (fstat(fd, &st) != 0) {
		e = errno;
		hal_close(fd);
		return pa_err_set(PA_EIO, "cannot open %s: %s", name, strerror(e));
	}
	finfo_set(&st, fi);
	*fd_out = fd;
	return PA_OK;
}

/* A read's outcome: r bytes, or errno as PA_EIO with errno kept for the
 * caller (libzip reads it for its own error). */
static int
read_result(ssize_t r, size_t *got)
{
	int e;

	if (r < 0) {
		e = errno;
		pa_err_set(PA_EIO, "%s", strerror(e));
		errno = e;
		return PA_EIO;
	}
	*got = (size_t)r;
	return PA_OK;
}

int
hal_read(int fd, void *buf, size_t n, size_t *got)
{
	ssize_t r;

	*got = 0;
	while ((r = hal_sys.read(fd, buf, n)) < 0 && errno == EINTR)
		;
	return read_result(r, got);
}

int
hal_pread(int fd, void *buf, size_t n, uint64_t off, size_t *got)
{
	ssize_t r;

	*got = 0;
	while ((r = hal_sys.pread(fd, buf, n, (off_t)off)) < 0 && errno == EINTR)
		;
	return read_result(r, got);
}

void
hal_close(int fd)
{
	/* Linux closes the fd even when close reports EINTR or EIO: never
	 * retry, and a read-only file has nothing to lose here. */
	if (fd >= 0)
		(void)hal_sys.close(fd);
}

int
hal_file_info(const char *path, int follow, struct hal_finfo *fi)
{
	struct stat st;

	if ((follow ? stat(path, &st) : lstat(path, &st)) != 0)
		return pa_err_set(errno == ENOENT ? PA_ENOTFOUND : PA_EIO,
		    "cannot read %s: %s", path, strerror(errno));
	finfo_set(&st, fi);
	return PA_OK;
}

int
hal_readable(const char *path)
{
	return access(path, R_OK) == 0;
}

int
hal_unlink(const char *path)
{
	if (hal_sys.unlink(path) == 0)
		return PA_OK;
	return pa_err_set(errno == ENOENT ? PA_ENOTFOUND : PA_EIO,
	    "remove %s: %s", path, strerror(errno));
}

int
hal_rename(const char *from, const char *to)
{
	int e;

	if (hal_sys.rename(from, to) == 0)
		return PA_OK;
	e = errno;
	return pa_err_set(e == ENOSPC || e == EDQUOT ? PA_ENOSPC :
	    e == EACCES || e == EPERM || e == EROFS ? PA_EACCESS :
	    e == ENOENT ? PA_ENOTFOUND : PA_EIO, "rename %s to %s: %s", from,
	    to, strerror(e));
}

/* A hal_dir is the libc DIR itself: the type only hides <dirent.h> from
 * callers, so listing a folder allocates nothing more than opendir does. */
int
hal_dir_open(const char *path, hal_dir **d)
{
	DIR *dir;

	if ((dir = opendir(path)) == NULL) {
		*d = NULL;
		return pa_err_set(PA_EIO, "cannot read folder %s: %s", path,
		    strerror(errno));
	}
	*d = (hal_dir *)dir;
	return PA_OK;
}

const char *
hal_dir_next(hal_dir *d)
{
	struct dirent *de;

	while ((de = readdir((DIR *)d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			return de->d_name;
	return NULL;
}

void
hal_dir_close(hal_dir *d)
{
	if (d != NULL)
		closedir((DIR *)d);
}

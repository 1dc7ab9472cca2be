/* hal_durable — the durable-write protocol of hal.h: the content-addressed
 * spool copy (hal_spool_file), whole-file replace (hal_write_file) and the
 * disk reserve (hal_prealloc_file). One protocol, one file: temp file in the
 * target directory, fsync, rename, fsync the directory; each failure says
 * which step failed (Redis, Fluent Bit; STYLE "one durable-write helper").
 *
 * Apart from hal.c so the protocol reads in one place. Every call that can
 * fail in an interesting way goes through hal_sys, so a test's injected EIO
 * or ENOSPC (hal_fault.h) reaches it. */
#include "hal/hal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/pa_err.h"
#include "hal/pa_sha256.h"

static int
fsync_dir(const char *dir)
{
	int fd, rc = PA_OK;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return pa_err_set(PA_EIO, "open directory %s: %s", dir,
		    strerror(errno));
	if (hal_sys.fsync(fd) != 0)
		rc = pa_err_set(PA_EIO, "fsync directory %s: %s", dir,
		    strerror(errno));
	close(fd);
	return rc;
}

static int
write_all(int fd, const void *buf, size_t n, const char *what)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = hal_sys.write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return pa_err_set(errno == ENOSPC || errno == EDQUOT ?
			    PA_ENOSPC : PA_EIO, "write %s: %s", what, strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return PA_OK;
}

/* Does dir hold a regular file of exactly this size? */
static int
size_in_dir(const char *dir, uint64_t size)
{
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(dir);
	int found = 0;

	if (d == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL)
		found = e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, 0)
		    == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
	closedir(d);
	return found;
}

/* Hash src without copying it. Its reads go through hal_sys as the copy's
 * do: an injected fault must reach whichever path the spool takes. */
static int
hash_only(const char *src, char hex[65], uint64_t *size)
{
	struct pa_sha256 ctx;
	unsigned char buf[65536], dig[32];
	uint64_t total = 0;
	int in, rc = PA_OK, i;
	ssize_t n;

	if ((in = hal_sys.open(src, O_RDONLY | O_CLOEXEC, 0)) < 0)
		return PA_EIO;
	pa_sha256_init(&ctx);
	while ((n = hal_sys.read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = PA_EIO;
			break;
		}
		pa_sha256_update(&ctx, buf, (size_t)n);
		total += (uint64_t)n;
	}
	pa_sha256_finish(&ctx, dig);
	hal_sys.close(in);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", dig[i]);
	*size = total;
	return rc;
}

/* The one durable-write protocol: temp file in the target directory, fsync,
 * rename, fsync the directory. Hashing while copying reads the source once.
 * A file that may be kept already (one of that size is) is hashed first and
 * not copied again: re-importing the same list writes nothing here (flash
 * wear; DESIGN §5). */
int
hal_spool_file(const char *src, const char *dir, char hex[65], uint64_t *size)
{
	struct pa_sha256 ctx;
	unsigned char buf[65536], dig[32];
	char tmp[PATH_MAX], dst[PATH_MAX];
	uint64_t total = 0;
	struct stat st;
	int in = -1, out = -1, rc, i;
	ssize_t n;

	if (stat(src, &st) == 0 && S_ISREG(st.st_mode) &&
	    size_in_dir(dir, (uint64_t)st.st_size) &&
	    hash_only(src, hex, size) == PA_OK &&
	    hal_pathf(dst, sizeof(dst), "%s/%s", dir, hex) == PA_OK &&
	    stat(dst, &st) == 0 && (uint64_t)st.st_size == *size)
		return PA_OK; /* same content already kept */
	pa_sha256_init(&ctx);
	tmp[0] = '\0';
	/* The source through hal_sys (open too: the fault table knows an fd
	 * by the path it was opened with), so an injected read error reaches
	 * the copy as it reaches the readers (hal_fault.h). */
	if ((in = hal_sys.open(src, O_RDONLY | O_CLOEXEC, 0)) < 0) {
		int e = errno;
		rc = pa_err_set(e == ENOENT ? PA_ENOTFOUND : e == EACCES ?
		    PA_EACCESS : PA_EIO, "cannot open %s: %s%s", src,
		    strerror(e), e == EACCES ? " (make it readable by the user "
		    "posagent runs as)" : "");
		goto out;
	}
	if ((rc = hal_pathf(tmp, sizeof(tmp), "%s/.in.%ld", dir,
	    (long)getpid())) != PA_OK)
		goto out;
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) < 0) {
		rc = pa_err_set(PA_EIO, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	while ((n = hal_sys.read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = pa_err_set(PA_EIO, "cannot read %s (copying it into the "
			    "spool): %s", src, strerror(errno));
			goto out;
		}
		pa_sha256_update(&ctx, buf, (size_t)n);
		if ((rc = write_all(out, buf, (size_t)n, tmp)) != PA_OK)
			goto out;
		total += (uint64_t)n;
	}
	pa_sha256_finish(&ctx, dig);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", dig[i]);
	*size = total;
	if ((rc = hal_pathf(dst, sizeof(dst), "%s/%s", dir, hex)) != PA_OK)
		goto out;
	if (stat(dst, &st) == 0 && (uint64_t)st.st_size == total) {
		/* Same content already kept: mark it used now, so retention
		 * (spool files unused for a day) leaves it to this import. */
		(void)utimensat(AT_FDCWD, dst, NULL, 0);
		rc = PA_OK;
		goto out;
	}
	if (hal_sys.fsync(out) != 0) {
		rc = pa_err_set(errno == ENOSPC ? PA_ENOSPC : PA_EIO, "fsync %s: %s",
		    tmp, strerror(errno));
		goto out;
	}
	close(out);
	out = -1;
	if (hal_sys.rename(tmp, dst) != 0) {
		rc = pa_err_set(PA_EIO, "rename %s to %s: %s", tmp, dst,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	rc = fsync_dir(dir);
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		hal_sys.close(in);
	if (tmp[0])
		unlink(tmp);
	return rc;
}

int
hal_prealloc_file(const char *path, uint64_t bytes)
{
	struct stat st;
	int fd, e;

	if (stat(path, &st) == 0 && (uint64_t)st.st_size >= bytes)
		return PA_OK;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640)) < 0)
		return pa_err_set(PA_EIO, "create %s: %s", path, strerror(errno));
	/* Real blocks, not a sparse file: freeing it must free space. */
	e = posix_fallocate(fd, 0, (off_t)bytes);
	if (e == 0 && hal_sys.fsync(fd) != 0)
		e = errno;
	close(fd);
	if (e != 0) {
		unlink(path);
		return pa_err_set(e == ENOSPC ? PA_ENOSPC : PA_EIO, "preallocate %s: "
		    "%s", path, strerror(e));
	}
	return PA_OK;
}

int
hal_write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	int fd = -1, rc;

	/* Same durable-write protocol as the spool; the temp name starts with
	 * '.' so a textfile collector (*.prom) never reads a half file. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		*(slash == dir ? slash + 1 : slash) = '\0';
	if ((rc = hal_pathf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, slash ?
	    strrchr(path, '/') + 1 : path)) != PA_OK)
		return rc;
	/* fchmod: the mode is meant, the service's umask must not narrow it. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0 ||
	    fchmod(fd, mode) != 0) {
		rc = pa_err_set(PA_EIO, "create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((rc = write_all(fd, data, n, tmp)) != PA_OK)
		goto out;
	if (hal_sys.fsync(fd) != 0) {
		rc = pa_err_set(PA_EIO, "fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (hal_sys.rename(tmp, path) != 0) {
		rc = pa_err_set(PA_EIO, "rename %s to %s: %s", tmp, path,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0'; /* renamed: nothing to clean up */
	rc = fsync_dir(dir);
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	return rc;
}

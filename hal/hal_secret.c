/* hal_secret — reading secret files (tokens, passwords) for hal.h: the
 * OpenSSH key-file rule (a secret group or others can read is refused) in
 * one home, checked on the descriptor actually read so a file swapped
 * between check and read is not trusted.
 *
 * Apart from hal.c so the rule and its only reader sit together. */
#include "hal/hal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hal/pa_err.h"

/* Open a secret file and check, on the descriptor actually opened, that it
 * is a regular file group and others cannot read. The one home of that
 * check (OpenSSH's key-file rule): hal_check_secret_file and
 * hal_read_secret both start here. *fd_out is open on PA_OK, -1 else. */
static int
secret_open(const char *path, int *fd_out)
{
	struct stat st;
	int fd, rc = PA_OK;

	*fd_out = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return pa_err_set(errno == ENOENT ? PA_ENOTFOUND : PA_EIO,
		    "cannot open secret file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0)
		rc = pa_err_set(PA_EIO, "stat %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = pa_err_set(PA_EPERM, "%s is not a regular file", path);
	else if (st.st_mode & (S_IRWXG | S_IRWXO))
		rc = pa_err_set(PA_EPERM, "%s is readable by group or others "
		    "(mode %03o): secrets must be private; run: chmod 600 %s",
		    path, (unsigned)(st.st_mode & 0777), path);
	if (rc != PA_OK)
		close(fd);
	else
		*fd_out = fd;
	return rc;
}

int
hal_check_secret_file(const char *path)
{
	int fd, rc;

	if ((rc = secret_open(path, &fd)) == PA_OK)
		close(fd);
	return rc;
}

int
hal_read_secret(const char *path, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;
	int fd = -1, rc;

	*len = 0;
	if (cap > 0)
		buf[0] = '\0';
	if ((rc = secret_open(path, &fd)) != PA_OK)
		goto out;
	for (;;) {
		ssize_t n;

		if (got + 1 >= cap) {
			char c;
			/* Full: only a clean EOF is acceptable now. */
			n = read(fd, &c, 1);
			if (n == 0)
				break;
			rc = pa_err_set(PA_ELIMIT, "secret file %s is larger than "
			    "%zu bytes", path, cap - 1);
			goto out;
		}
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = pa_err_set(PA_EIO, "read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*len = got;
out:
	if (fd >= 0)
		close(fd);
	if (rc != PA_OK && cap > 0)
		memset(buf, 0, cap);
	return rc;
}

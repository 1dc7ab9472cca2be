#include "hal/hal_wait.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hal/hal.h"
#include "hal/pa_err.h"

/* Sleep in slices: a signal that lands between the stop check and
 * nanosleep() would otherwise be noticed only after the whole wait (up to
 * the 5-minute backoff cap). */
#define HAL_WAIT_SLICE_MS 100

static int
sys_sleep_ms(int64_t ms)
{
	while (ms > 0) {
		int64_t step = ms < HAL_WAIT_SLICE_MS ? ms : HAL_WAIT_SLICE_MS;
		struct timespec ts = { (time_t)(step / 1000),
			(long)(step % 1000) * 1000000L };

		if (hal_stop_requested())
			return PA_ECANCELLED;
		/* EINTR is fine: the loop re-checks the stop flag. */
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return hal_stop_requested() ? PA_ECANCELLED : PA_OK;
}

int (*hal_sleep_ms)(int64_t ms) = sys_sleep_ms;

uint64_t
hal_seed64(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	return (uint64_t)hal_sys.mono_ms() * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)getpid();
}

int
hal_read_secret(const char *path, char *buf, size_t cap, size_t *len)
{
	struct stat st;
	size_t got = 0;
	int fd, rc = PA_OK;

	*len = 0;
	if (cap > 0)
		buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return pa_err_set(errno == ENOENT ? PA_ENOTFOUND : PA_EIO,
		    "cannot open secret file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = pa_err_set(PA_EIO, "stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = pa_err_set(PA_EPERM, "%s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = pa_err_set(PA_EPERM, "%s is readable by group or others "
		    "(mode %03o): secrets must be private; run: chmod 600 %s",
		    path, (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
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
	close(fd);
	if (rc != PA_OK && cap > 0)
		memset(buf, 0, cap);
	return rc;
}

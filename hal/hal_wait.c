#include "hal/hal_wait.h"

#include <sys/random.h>
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

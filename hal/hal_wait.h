/* hal_wait — sleeping and seeding for loops that must stop promptly.
 *
 * Kept apart from hal.h so the sync loop's needs stay small; like hal_sys,
 * the sleep goes through a pointer a test can swap (a fake clock advances
 * instead of sleeping). */
#ifndef HAL_WAIT_H
#define HAL_WAIT_H

#include <stddef.h>
#include <stdint.h>

/* Sleep up to ms milliseconds, returning early (PA_ECANCELLED) as soon as
 * hal_stop_requested() is true; PA_OK after the full time. */
extern int (*hal_sleep_ms)(int64_t ms);

/* 64 unpredictable bits for seeding a PRNG (getrandom; falls back to the
 * clock and pid, which is fine for jitter). */
uint64_t hal_seed64(void);

#endif

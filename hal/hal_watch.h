/* hal_watch — wake up when files arrive in a folder (inotify close-write and
 * moved-in), with polling as the fallback where inotify is unavailable; and
 * the systemd notify protocol (a datagram to $NOTIFY_SOCKET, no libsystemd). */
#ifndef HAL_WATCH_H
#define HAL_WATCH_H

typedef struct hal_watch hal_watch;

/* Watch dir. Never fails for lack of inotify: *out then polls. */
int hal_watch_open(const char *dir, hal_watch **out);
void hal_watch_close(hal_watch *w);
/* Wait up to timeout_ms for a completed file in the folder, or a signal.
 * Returns 1 if something arrived (or polling is in use: rescan), 0 on
 * timeout. */
int hal_watch_wait(hal_watch *w, long timeout_ms);
/* Is inotify in use (0 = polling)? */
int hal_watch_inotify(const hal_watch *w);

/* Send "READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=..." to systemd when
 * $NOTIFY_SOCKET is set; a no-op otherwise. */
void hal_notify(const char *state);
/* Watchdog period from $WATCHDOG_USEC in ms (0 = none). */
long hal_watchdog_ms(void);

#endif

/* hal — all OS contact: clock, files, randomness, locks, signals.
 *
 * The calls that can fail in interesting ways (open, read, write, fsync,
 * rename, unlink) go through hal_sys, a table a test can swap to inject
 * ENOSPC or EIO, in the spirit of SQLite's system-call table: unit tests
 * set members directly, the binary's tests through hal_fault.h.
 *
 * Implemented by responsibility in hal.c (the table, clocks, paths, locks,
 * signals), hal_durable.c (the durable-write protocol) and hal_secret.c
 * (secret files). */
#ifndef HAL_H
#define HAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hal_sys {
	int (*open)(const char *path, int flags, mode_t mode);
	int (*close)(int fd);
	ssize_t (*read)(int fd, void *buf, size_t n);
	ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
	ssize_t (*write)(int fd, const void *buf, size_t n);
	int (*fsync)(int fd);
	int (*rename)(const char *from, const char *to);
	int (*unlink)(const char *path);
	int64_t (*now_ms)(void);        /* wall clock, ms since epoch */
	int64_t (*mono_ms)(void);       /* monotonic clock, ms */
};
/* The live table; tests may overwrite members and must restore them. */
extern struct hal_sys hal_sys;

/* "2026-11-26T05:00:00.123Z" for t_ms (ms since epoch) into buf[32]. */
void hal_iso_ms(int64_t t_ms, char buf[32]);
/* Now, formatted as hal_iso_ms. */
void hal_now_iso(char buf[32]);
/* Parse "YYYY-MM-DDTHH:MM:SS[.mmm]Z" back to ms; PA_EINVAL if malformed. */
int hal_iso_parse(const char *s, int64_t *t_ms);

/* Local midnight `days_back` days ago, in ms since epoch. */
int64_t hal_local_midnight_ms(int days_back);
/* "2026-11-26 08:00:00" in local time, for people (JSON stays UTC). */
void hal_local_time(int64_t t_ms, char buf[32]);
/* Local midnight starting the date "YYYY-MM-DD"; PA_EINVAL if malformed. */
int hal_local_date_parse(const char *ymd, int64_t *t_ms);
/* Local calendar date "YYYY-MM-DD" of t_ms. */
void hal_local_date(int64_t t_ms, char buf[11]);

/* Format a path into buf; PA_EINVAL (with a message) if it does not fit,
 * so a cut path is never used. */
int hal_pathf(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Create dir and its parents (mode 0750). */
int hal_mkdirs(const char *path);
/* Copy src into dir as dir/<sha256> (content addressed), durably: temp
 * file in dir, fsync, rename, fsync dir; reads src once, hashing as it
 * copies. hex gets the 64 lowercase hex digits, *size the byte count. When
 * dir already holds that content nothing is replaced. The message says
 * which step failed. */
int hal_spool_file(const char *src, const char *dir, char hex[65],
    uint64_t *size);
/* Create path holding bytes of allocated (not sparse) blocks, unless it
 * already is that large. PA_ENOSPC when they do not fit (nothing is left). */
int hal_prealloc_file(const char *path, uint64_t bytes);
/* Replace path with data durably and atomically (readers see the old file
 * or the new one): temp file beside it, fsync, rename, fsync the
 * directory. The message says which step failed. */
int hal_write_file(const char *path, const void *data, size_t n, mode_t mode);
/* Free bytes on the filesystem holding path (0 when unknown). */
uint64_t hal_disk_free(const char *path);
/* Is path a regular file readable by group or others? Reads through an
 * open fd (fstat) so the answer is about the file actually opened. */
int hal_check_secret_file(const char *path);
/* Read a secret file (token, password) into buf (NUL-terminated, *len
 * excludes the NUL) after the same check as hal_check_secret_file, on the
 * descriptor actually read: PA_EPERM naming the path and the fix (chmod 600)
 * otherwise; PA_ENOTFOUND if missing; PA_ELIMIT if it does not fit in
 * cap - 1 bytes. On failure buf is zeroed. */
int hal_read_secret(const char *path, char *buf, size_t cap, size_t *len);

/* Open path read-only for a file we are told to read (config, CA bundle):
 * it must be a regular file of at most max_bytes. Opening never blocks (a
 * FIFO or a device is refused, not read). *fd_out is the open fd (caller
 * closes), -1 on failure. PA_ENOTFOUND missing, PA_EACCESS permission
 * denied, PA_EFORMAT not a regular file, PA_ELIMIT too large, PA_EIO else;
 * the message names the path and says what is wrong. */
int hal_open_regular(const char *path, uint64_t max_bytes, int *fd_out);

/* RFC 4122 version-4 UUID, lowercase, into buf[37]. */
int hal_uuid4(char buf[37]);

/* Exclusive advisory lock on path (created 0640). PA_ELOCKED if another
 * process holds it. *fd_out stays open while the lock is held. On PA_OK the
 * path names the very inode locked (a file unlinked by its last holder is
 * never "held"). */
int hal_lock_file(const char *path, int *fd_out);
/* Release: close fd (-1 is ignored). */
void hal_unlock_file(int fd);
/* Release and remove the lock file (unlinked while still held, so it is
 * safe against hal_lock_file in other processes). */
void hal_lock_drop(const char *path, int fd);

/* Before touching the data directory dir: as root on a directory owned by
 * another user, become that user (groups, gid, uid), so root never leaves
 * files the service cannot open; then PA_EACCESS ("run as OWNER or root")
 * unless the directory is readable, writable and searchable. PA_OK when it
 * does not exist yet (it is created as whoever runs); PA_EEXISTS when dir
 * is a file, not a directory. */
int hal_act_as_owner(const char *dir);

/* Install SIGTERM/SIGINT handlers that set a flag read by hal_stop_requested. */
void hal_signals_install(void);
int hal_stop_requested(void);
/* The signal that requested the stop (0: none). */
int hal_stop_signal(void);
/* Install a SIGHUP handler (the daemon's reload); without it SIGHUP ends
 * the process. hal_reload_requested() reports a SIGHUP once and clears it. */
void hal_reload_install(void);
int hal_reload_requested(void);

/* Which file a path or fd names (device, inode): a directory removed and
 * made again, or a lock file unlinked, is another file (issue #9). */
struct hal_file_id {
	uint64_t dev, ino;
};
/* PA_OK with *id; PA_ENOTFOUND when path is gone; PA_EIO otherwise. */
int hal_path_id(const char *path, struct hal_file_id *id);
int hal_fd_id(int fd, struct hal_file_id *id);
/* PA_OK when path still names id, else PA_EGONE saying what (the message
 * names what, the path, and that the process must be restarted). */
int hal_check_same(const char *what, const char *path,
    const struct hal_file_id *id);

#endif

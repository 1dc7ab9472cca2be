/* hal_file — the plain file operations of the readers, the runner and the
 * inbox: open and read a file, look at a path, rename, unlink, list a
 * folder.
 *
 * Kept apart from hal.h (the durable-write protocol, locks, clocks) so this
 * header stays small. Every call that can fail in an interesting way goes
 * through hal_sys, so a test's injected EIO or ENOSPC (hal_fault.h) reaches
 * these paths as it reaches the spool. */
#ifndef HAL_FILE_H
#define HAL_FILE_H

#include <stddef.h>
#include <stdint.h>

/* What a path names. Public: callers allocate it. */
enum hal_ftype { HAL_F_REG, HAL_F_DIR, HAL_F_OTHER };
struct hal_finfo {
	enum hal_ftype type;
	uint64_t size;          /* bytes; 0 unless HAL_F_REG */
};

/* Open path read-only (close-on-exec, never a controlling tty) and tell
 * what was opened (fstat of the descriptor itself). *fd_out is the fd
 * (caller closes it with hal_close), -1 on failure. PA_EIO when it cannot
 * be opened, the message "cannot open NAME: reason" (NAME is name, or path
 * when name is NULL: a spool copy is named as the user knows it). A
 * directory opens fine: the caller decides what it accepts. */
int hal_open_read(const char *path, const char *name, int *fd_out,
    struct hal_finfo *fi);
/* One read(2) of up to n bytes, retried on EINTR. *got is the byte count,
 * 0 at end of file. PA_EIO on failure: the message is the OS's reason
 * alone, for the caller to wrap with the file and row; errno is kept. */
int hal_read(int fd, void *buf, size_t n, size_t *got);
/* As hal_read, at offset off (the file offset is not moved). */
int hal_pread(int fd, void *buf, size_t n, uint64_t off, size_t *got);
/* Close fd; -1 is ignored. */
void hal_close(int fd);

/* What path names; follow = 0 looks at a symlink itself (lstat).
 * PA_ENOTFOUND when nothing is there; PA_EIO otherwise, naming path. */
int hal_file_info(const char *path, int follow, struct hal_finfo *fi);
/* 1 when this process may read path, else 0. */
int hal_readable(const char *path);
/* Remove path. PA_ENOTFOUND when it is already gone; PA_EIO otherwise,
 * naming path and the reason. */
int hal_unlink(const char *path);
/* rename(2): PA_ENOSPC (disk full or quota), PA_EACCESS (permission),
 * PA_ENOTFOUND (from is gone) or PA_EIO; the message names both paths and
 * the reason. Nothing has moved on failure. */
int hal_rename(const char *from, const char *to);

/* A folder being listed. Its entries come in the order the filesystem
 * keeps them; "." and ".." are skipped. */
typedef struct hal_dir hal_dir;
/* PA_EIO naming path when it cannot be listed; *d is NULL then. */
int hal_dir_open(const char *path, hal_dir **d);
/* The next entry's name (valid until the next call), NULL at the end. */
const char *hal_dir_next(hal_dir *d);
/* NULL is ignored. */
void hal_dir_close(hal_dir *d);

#endif

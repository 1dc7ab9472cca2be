/* pa_err — the one error table of posagent.
 *
 * Every function of ours that can fail returns int: PA_OK (0) or a negative
 * PA_E* code. Codes are never renumbered: append new ones at the end.
 * They become process exit codes in exactly one place (agent/cli/cli.c).
 *
 * A code says what kind of failure; the detail a user can act on (which
 * file, row, column, what to do) goes into the thread's error message with
 * pa_err_set(), read back with pa_err_msg(). */
#ifndef PA_ERR_H
#define PA_ERR_H

#include <stdarg.h>

#define PA_ERRNO_MAP(X)                                                        \
	X(OK,          0,  "success")                                          \
	X(NOMEM,      -1,  "out of memory")                                    \
	X(INVAL,      -2,  "invalid argument")                                 \
	X(USAGE,      -3,  "usage error")                                      \
	X(NOTFOUND,   -4,  "not found")                                        \
	X(IO,         -5,  "input/output error")                               \
	X(DB,         -6,  "database error")                                   \
	X(CONFIG,     -7,  "configuration error")                              \
	X(PROFILE,    -8,  "invalid import profile")                           \
	X(STATE,      -9,  "operation not allowed in the job's current state") \
	X(DATA,       -10, "job failed on its data")                           \
	X(FORMAT,     -11, "unreadable file format")                           \
	X(ENCODING,   -12, "invalid text encoding")                            \
	X(LIMIT,      -13, "input exceeds a safety limit")                     \
	X(CANCELLED,  -14, "cancelled")                                        \
	X(KKT_UNSYNCED, -15, "KKT buffer not synced")                          \
	X(KKT_UNREACHABLE, -16, "KKT adapter unreachable")                     \
	X(HQ_UNAVAILABLE, -17, "HQ unavailable")                               \
	X(HQ_AUTH,    -18, "HQ refused our credentials")                       \
	X(TLS,        -19, "TLS verification failed")                          \
	X(PERM,       -20, "unsafe file permissions")                          \
	X(LOCKED,     -21, "resource locked by another process")               \
	X(EXISTS,     -22, "already exists")                                   \
	X(INTERNAL,   -23, "internal error")                                   \
	X(PROTO,      -24, "protocol error")                                   \
	X(TIMEOUT,    -25, "timed out")                                        \
	X(ACCESS,     -26, "permission denied")                                \
	X(KKT_AUTH,   -27, "KKT adapter wants credentials")                    \
	X(NOSPC,      -28, "disk full")                                        \
	X(GONE,       -29, "data directory removed or replaced")

enum pa_err {
#define PA__ERR_ENUM(name, val, msg) PA_E##name = (val),
	PA_ERRNO_MAP(PA__ERR_ENUM)
#undef PA__ERR_ENUM
};
#define PA_OK PA_EOK

/* Static text for a code; never NULL ("unknown error" for strangers). */
const char *pa_strerror(int code);
/* Symbolic name ("PA_ENOTFOUND"); never NULL. */
const char *pa_errname(int code);

/* Record a detailed message for the current thread and return code, so
 * callers can write `return pa_err_set(PA_EIO, "read %s: %s", p, strerror(e));`.
 * The message replaces any earlier one. */
int pa_err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pa_err_vset(int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Prefix the current message with more context ("profile x.json: " + old). */
int pa_err_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last message set on this thread, or pa_strerror(code) if none; for
 * PA_ENOMEM, only a message set with PA_ENOMEM (it is usually returned
 * bare, and an older message would describe another failure). */
const char *pa_err_msg(int code);
/* Forget the last message (call before an operation whose message you read). */
void pa_err_clear(void);

#endif

/* hal_fault — make one kind of OS call fail, in the binary's own tests.
 *
 * Unit tests swap hal_sys members themselves; an integration test drives
 * the real binary, so it says what to break in one string (the sanitized
 * build reads it from POSAGENT_TEST_FAULT, agent/cli/cli.c):
 *
 *     OP:ERRNO:MATCH[:SKIP]
 *
 * OP is open, read, pread, write, fsync, rename or unlink; ERRNO is EIO,
 * ENOSPC, EDQUOT, EACCES, EPERM, EROFS or ENOENT. A call fails when a path
 * it names contains MATCH (rename: either path; fd calls: the path the fd
 * was opened with through hal_sys.open). The first SKIP such calls (default
 * 0) succeed, and every one after them fails, as a bad disk does. */
#ifndef HAL_FAULT_H
#define HAL_FAULT_H

/* Arm the fault in spec. PA_EINVAL (the message says what is wrong) for a
 * spec that is not understood; nothing is armed then. */
int hal_fault_arm(const char *spec);
/* Put back the table hal_fault_arm found (no-op when not armed). */
void hal_fault_disarm(void);

#endif

/* hal_user — who runs this process, for audit records (an overridden KKT
 * gate names the person). */
#ifndef HAL_USER_H
#define HAL_USER_H

#include <stddef.h>

/* The real user's name (from the password database; "uid N" when it has no
 * entry) into name, and the real uid. Under sudo (real uid 0 and SUDO_USER
 * set) the name reads "root (sudo by NAME)", so the person is kept. Never
 * fails; name is always NUL-terminated (len >= 1). */
void hal_whoami(char *name, size_t len, long *uid);

#endif

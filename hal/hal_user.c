/* hal_user — the real user of this process (see hal_user.h). */
#include "hal/hal_user.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void
hal_whoami(char *name, size_t len, long *uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	uid_t u = getuid();
	const char *sudo = getenv("SUDO_USER");

	*uid = (long)u;
	if (getpwuid_r(u, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		snprintf(name, len, "uid %ld", (long)u);
	else if (u == 0 && sudo != NULL && sudo[0] != '\0')
		snprintf(name, len, "%s (sudo by %.64s)", pw.pw_name, sudo);
	else
		snprintf(name, len, "%s", pw.pw_name);
}

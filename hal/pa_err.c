#include "hal/pa_err.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char errmsg[1024];
static _Thread_local int errcode;       /* the code errmsg was set with */

const char *
pa_strerror(int code)
{
	switch (code) {
#define PA__ERR_STR(name, val, msg) case (val): return msg;
	PA_ERRNO_MAP(PA__ERR_STR)
#undef PA__ERR_STR
	}
	return "unknown error";
}

const char *
pa_errname(int code)
{
	switch (code) {
#define PA__ERR_NAME(name, val, msg) case (val): return "PA_E" #name;
	PA_ERRNO_MAP(PA__ERR_NAME)
#undef PA__ERR_NAME
	}
	return "PA_E?";
}

int
pa_err_vset(int code, const char *fmt, va_list ap)
{
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	errcode = code;
	return code;
}

int
pa_err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pa_err_vset(code, fmt, ap);
	va_end(ap);
	return code;
}

int
pa_err_wrap(int code, const char *fmt, ...)
{
	char old[sizeof(errmsg)];
	const char *tail;
	size_t n, t;
	va_list ap;

	memcpy(old, errmsg, sizeof(old));
	tail = old[0] ? old : pa_strerror(code);
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	/* Append what was there; a too-long message is cut, never overrun. */
	n = strlen(errmsg);
	t = strlen(tail);
	if (t > sizeof(errmsg) - 1 - n)
		t = sizeof(errmsg) - 1 - n;
	memcpy(errmsg + n, tail, t);
	errmsg[n + t] = '\0';
	errcode = code;
	return code;
}

const char *
pa_err_msg(int code)
{
	/* PA_ENOMEM is mostly returned bare, without a message of its own:
	 * the message left by an earlier failure (a bad row, say) would
	 * then describe something else. */
	if (code == PA_ENOMEM && errcode != PA_ENOMEM)
		return pa_strerror(code);
	return errmsg[0] ? errmsg : pa_strerror(code);
}

void
pa_err_clear(void)
{
	errmsg[0] = '\0';
	errcode = PA_OK;
}

#include "agent/readers/rowsrc.h"

#include "hal/pa_err.h"
#include "hal/pa_mem.h"

struct rs {
	const struct rs_ops *ops;
	void *impl;
};

int
rs_open(const char *path, const struct rs_opts *opts, rs **out)
{
	const struct rs_ops *ops = NULL;
	void *impl = NULL;
	rs *r = NULL;
	int rc;

	*out = NULL;
	if ((r = pa_calloc(1, sizeof(*r))) == NULL)
		return PA_ENOMEM;
	if (opts->format == RS_XLSX)
		rc = xlsx_open(path, opts, &ops, &impl);
	else
		rc = csvr_open(path, opts, &ops, &impl);
	if (rc != PA_OK)
		goto out;
	r->ops = ops;
	r->impl = impl;
	*out = r;
	r = NULL; /* transferred */
out:
	pa_free(r);
	return rc;
}

int
rs_next(rs *r, const struct rs_row **row)
{
	return r->ops->next(r->impl, row);
}

void
rs_progress(const rs *r, unsigned long long *done, unsigned long long *total)
{
	r->ops->progress(r->impl, done, total);
}

void
rs_close(rs *r)
{
	if (r == NULL)
		return;
	r->ops->close(r->impl);
	pa_free(r);
}

/* pipeline — one import's hot path: rows stream from a reader, are mapped
 * through the profile and upserted into the catalog in ONE transaction
 * (DESIGN §5). No per-row allocation on the happy path; error rows allocate
 * their log entry.
 *
 * The pipeline knows nothing of jobs in agent.db: it reports logs, progress
 * and asks whether to stop through a sink the caller provides. */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <jansson.h>

#include "agent/import/job.h"
#include "agent/import/pguard.h"
#include "agent/import/profile.h"
#include "agent/store/catalog.h"

struct pipe_stats {
	long total, created, updated, unchanged, skipped, errors;
	double progress;            /* 0..100 by bytes read */
	int guarded;                /* the price guard decided (guard is set) */
	struct pg_result guard;
};

struct pipe_sink {
	void *ctx;
	/* A log line. row_data borrowed (may be NULL). Non-OK aborts. */
	int (*log)(void *ctx, enum job_level lvl, long row, const char *msg,
	    const json_t *row_data);
	/* Called every few hundred rows: persist progress, check for cancel.
	 * Return PA_ECANCELLED to stop (the import rolls back). */
	int (*tick)(void *ctx, const struct pipe_stats *st);
	/* Preview mode only: one mapped row (borrowed). */
	int (*preview)(void *ctx, long row, const json_t *mapped);
};

struct pipe_opts {
	const char *path;           /* file to read (the spool copy) */
	const char *file_label;     /* name shown in messages (original name) */
	const struct profile *prof;
	cat *catalog;               /* NULL in preview mode */
	const char *job_name, *job_uuid;
	int dry_run;                /* run everything, then roll back */
	long preview;               /* > 0: map this many rows, write nothing */
	/* A person accepted whatever the price guard finds, for this run;
	 * accepted_by names them in the log ("name (uid N)"). */
	int accept_price_changes;
	const char *accepted_by;
};

/* Run the import. PA_OK: committed (or rolled back under dry_run / preview).
 * PA_EDATA: too many error rows, or the file/mapping is unusable (missing
 * column, header beyond the end); rolled back. PA_EFORMAT, PA_EENCODING,
 * PA_ELIMIT, PA_EIO from the reader; PA_EDATA also when the price guard
 * stops the import (st->guard says why); PA_ECANCELLED from the sink. On every
 * failure the catalog is untouched and pa_err_msg() says what and where. */
int pipe_run(const struct pipe_opts *o, const struct pipe_sink *sink,
    struct pipe_stats *st);

#endif

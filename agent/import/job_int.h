/* job_int — shared between job.c and jobq.c only. */
#ifndef JOB_INT_H
#define JOB_INT_H

#include <sqlite3.h>

#include "agent/import/job.h"

#define JOB_COLS "id, name, uuid, profile, file_name, file_sha256, file_size, " \
	"state, create_date, start_date, end_date, duration, total_rows, " \
	"processed_rows, created_count, updated_count, skipped_count, " \
	"error_count, progress_percent, error_message, notes, cancel_requested, " \
	"file_name_encoding, gate_override, unchanged_count, price_guard"

/* Fill j (freeing its old strings) from a row selected with JOB_COLS. */
int job__from_row(sqlite3_stmt *st, struct job *j);

#endif

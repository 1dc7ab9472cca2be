/* hq_pool — the threads that do posagent-hq's store work (event batches,
 * reads), each with its own store connection, off libmicrohttpd's
 * threads. libmicrohttpd serves many connections on each of its threads;
 * a batch stored there would hold up every other connection of that
 * thread (a heartbeat behind a 500-event transaction: issue #14's p99). So
 * the HTTP side suspends the connection, hands the work here, and the job
 * resumes it when done. */
#ifndef HQ_POOL_H
#define HQ_POOL_H

#include "hq/hq_db.h"

#define HQ_POOL_MAX_QUEUE 1024   /* jobs waiting for a worker */

typedef struct hq_pool hq_pool;

/* A job: db is the worker's connection, or NULL when the store cannot be
 * opened (then answer 503; the next job tries again). */
typedef void (*hq_pool_fn)(hq_db *db, void *arg);

/* Start n workers. *out freed by hq_pool_stop. */
int hq_pool_start(const char *db_spec, int busy_ms, int n, hq_pool **out);

/* Queue fn(db, arg). PA_OK: it will run exactly once, also when the pool
 * stops; PA_ETIMEOUT: the queue is full; PA_ECANCELLED: the pool is
 * stopping. On failure fn never runs. */
int hq_pool_submit(hq_pool *p, hq_pool_fn fn, void *arg);

/* Refuse new jobs, run the queued ones, join the workers. NULL is fine. */
void hq_pool_stop(hq_pool *p);

#endif

/* hq_hb — see hq_hb.h. */
#include "hq/hq_hb.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hq/hq_log.h"

struct hq_hb {
	const char *db_spec;
	int busy_ms, flush_ms;
	pthread_mutex_t mu;             /* pend, n, failing, stop */
	pthread_cond_t cv;
	struct hq_hb_row *pend;         /* HQ_HB_MAX_PENDING slots */
	int n;
	int failing;                    /* the last write failed */
	unsigned long begun, ended;     /* write tries, in order */
	pthread_cond_t tried;           /* a try ended */
	int try_now;                    /* a heartbeat waits for a try */
	int stop;
	pthread_mutex_t flush_mu;       /* one flush at a time, in order */
	struct hq_hb_row *take;         /* the rows a flush writes */
	pthread_t th;
	int started;
};

/* Fold an older heartbeat of the same store into the newer *n, so that
 * writing *n alone leaves what writing o and then the rows already in *n
 * would have. o matters to the gate's "since" only while *n still goes
 * on from the streak stored before it (keep_db_since). */
static void
merge_older(struct hq_hb_row *n, const struct hq_hb_row *o)
{
	if (n->refusals < 0 && o->refusals >= 0)
		n->refusals = o->refusals;      /* "keep HQ's count": o's */
	if (!n->refusing || n->since_ms > 0 || !n->keep_db_since)
		return;
	if (!o->refusing) {
		/* o ends the streak stored before it: n's own begins anew, at
		 * its earliest refusing row (streak_ms, else now_ms). */
		n->keep_db_since = 0;
	} else if (o->since_ms > 0) {
		n->since_ms = o->since_ms;      /* what o stores, n goes on */
	} else {
		n->keep_db_since = o->keep_db_since;
		n->streak_ms = o->streak_ms > 0 ? o->streak_ms : o->now_ms;
	}
}

/* Under h->mu: put row as the latest of its store. Takes row->doc. An
 * older row (put back after a failed write) folds into a newer one. */
static int
pend_put(hq_hb *h, struct hq_hb_row *row)
{
	struct hq_hb_row *p;
	int i;

	for (i = 0; i < h->n; i++) {
		p = &h->pend[i];
		if (strcmp(p->agent, row->agent) != 0)
			continue;
		if (row->now_ms >= p->now_ms) {
			merge_older(row, p);
			free(p->doc); /* jansson's allocation */
			*p = *row;
		} else {
			merge_older(p, row);
			free(row->doc);
		}
		row->doc = NULL; /* transferred */
		return PA_OK;
	}
	if (h->n == HQ_HB_MAX_PENDING) {
		free(row->doc);
		row->doc = NULL;
		return pa_err_set(PA_ETIMEOUT, "HQ holds %d heartbeats its store "
		    "has not taken yet", HQ_HB_MAX_PENDING);
	}
	h->pend[h->n++] = *row;
	row->doc = NULL; /* transferred */
	return PA_OK;
}

int
hq_hb_put(hq_hb *h, struct hq_hb_row *row)
{
	int rc;

	unsigned long want;
	struct timespec dl;

	pthread_mutex_lock(&h->mu);
	rc = pend_put(h, row);
	if (rc == PA_OK && h->failing) {
		/* The flag is as old as the last try (up to flush_ms, longer
		 * while nothing was pending): the store may be back. Ask the
		 * writer for a try that takes this row and wait for it, at
		 * most busy_ms, before telling the agent the store fails. */
		want = h->begun + 1;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += (long)h->busy_ms * 1000000;
		dl.tv_sec += dl.tv_nsec / 1000000000;
		dl.tv_nsec %= 1000000000;
		h->try_now = 1;         /* also if the writer is not waiting yet */
		pthread_cond_signal(&h->cv);
		while (h->ended < want && !h->stop &&
		    pthread_cond_timedwait(&h->tried, &h->mu, &dl) != ETIMEDOUT)
			;
		if (h->failing)
			rc = pa_err_set(PA_EDB, "the store is failing: heartbeat "
			    "kept in memory until it is back");
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

/* Under h->mu: a write try ended; wake the heartbeats waiting for it. */
static void
try_ended(hq_hb *h, unsigned long try, int failed)
{
	h->failing = failed;
	h->ended = try;
	pthread_cond_broadcast(&h->tried);
}

int
hq_hb_flush(hq_hb *h, hq_db *db)
{
	unsigned long try;
	int i, n, rc;

	pthread_mutex_lock(&h->flush_mu);
	pthread_mutex_lock(&h->mu);
	try = ++h->begun;
	n = h->n;
	memcpy(h->take, h->pend, (size_t)n * sizeof(*h->take));
	h->n = 0;
	pthread_mutex_unlock(&h->mu);
	rc = hq_store_heartbeats(db, h->take, n);
	pthread_mutex_lock(&h->mu);
	try_ended(h, try, rc != PA_OK);
	for (i = 0; i < n; i++) {
		/* Kept for the next flush; a newer row put meanwhile wins. */
		if (rc != PA_OK)
			pend_put(h, &h->take[i]); /* when the table filled up
			    meanwhile, the row is dropped: the store's next
			    heartbeat replaces it */
		else
			free(h->take[i].doc);
	}
	pthread_mutex_unlock(&h->mu);
	pthread_mutex_unlock(&h->flush_mu);
	return rc;
}

static void *
loop(void *arg)
{
	hq_hb *h = arg;
	hq_db *db = NULL;
	struct timespec ts;
	int stop = 0, n, rc, logged = 0;

	while (!stop) {
		pthread_mutex_lock(&h->mu);
		if (!h->stop && !h->try_now) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)h->flush_ms * 1000000;
			ts.tv_sec += ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&h->cv, &h->mu, &ts);
		}
		stop = h->stop;
		h->try_now = 0;
		n = h->n;
		pthread_mutex_unlock(&h->mu);
		if (n == 0)
			continue;
		if (db == NULL && hq_db_open(h->db_spec, h->busy_ms, &db) != PA_OK) {
			pthread_mutex_lock(&h->mu);
			try_ended(h, ++h->begun, 1);
			pthread_mutex_unlock(&h->mu);
		} else if ((rc = hq_hb_flush(h, db)) == PA_OK || (rc == PA_EIO &&
		    hq_hb_flush(h, db) == PA_OK)) {      /* a new session */
			logged = 0;
			continue;
		}
		/* Once per outage, not every flush_ms. */
		if (!logged++)
			hq_log(HQ_LOG_WARNING, "heartbeats not stored: %s (kept "
			    "in memory, retried)", pa_err_msg(PA_EDB));
		/* A broken PostgreSQL connection stays broken: open anew. */
		hq_db_close(db);
		db = NULL;
	}
	hq_db_close(db);
	return NULL;
}

int
hq_hb_start(const char *db_spec, int busy_ms, int flush_ms, hq_hb **out)
{
	hq_hb *h;

	*out = NULL;
	if ((h = pa_calloc(1, sizeof(*h))) == NULL)
		return PA_ENOMEM;
	h->db_spec = db_spec;
	h->busy_ms = busy_ms;
	h->flush_ms = flush_ms;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->flush_mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	pthread_cond_init(&h->tried, NULL);
	if ((h->pend = pa_calloc(HQ_HB_MAX_PENDING, sizeof(*h->pend))) == NULL ||
	    (h->take = pa_calloc(HQ_HB_MAX_PENDING, sizeof(*h->take))) == NULL) {
		hq_hb_stop(h);
		return PA_ENOMEM;
	}
	if (pthread_create(&h->th, NULL, loop, h) != 0) {
		hq_hb_stop(h);
		return pa_err_set(PA_EINTERNAL, "cannot start the heartbeat "
		    "writer thread");
	}
	h->started = 1;
	*out = h;
	return PA_OK;
}

void
hq_hb_stop(hq_hb *h)
{
	int i;

	if (h == NULL)
		return;
	if (h->started) {
		/* The thread's last turn writes what is left. */
		pthread_mutex_lock(&h->mu);
		h->stop = 1;
		pthread_cond_signal(&h->cv);
		pthread_cond_broadcast(&h->tried);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->th, NULL);
	}
	for (i = 0; h->pend && i < h->n; i++)
		free(h->pend[i].doc);
	if (h->n > 0)
		hq_log(HQ_LOG_WARNING, "%d heartbeats not stored at exit (the "
		    "store is failing)", h->n);
	pa_free(h->pend);
	pa_free(h->take);
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->flush_mu);
	pthread_cond_destroy(&h->cv);
	pthread_cond_destroy(&h->tried);
	pa_free(h);
}

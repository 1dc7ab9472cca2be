/* hq_pool — see hq_pool.h. */
#include "hq/hq_pool.h"

#include <pthread.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hq/hq_log.h"

struct job {
	hq_pool_fn fn;
	void *arg;
};

struct hq_pool {
	const char *db_spec;
	int busy_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job q[HQ_POOL_MAX_QUEUE];        /* a ring, oldest at head */
	int head, n;
	int stop;
	pthread_t *th;
	int nth;
};

static void *
worker(void *arg)
{
	hq_pool *p = arg;
	hq_db *db = NULL;
	struct job j;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->n == 0 && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->n == 0) {                /* stopping and drained */
			pthread_mutex_unlock(&p->mu);
			break;
		}
		j = p->q[p->head];
		p->head = (p->head + 1) % HQ_POOL_MAX_QUEUE;
		p->n--;
		pthread_mutex_unlock(&p->mu);
		if (db == NULL && hq_db_open(p->db_spec, p->busy_ms, &db) != PA_OK)
			hq_log(HQ_LOG_WARNING, "store: %s", pa_err_msg(PA_EDB));
		j.fn(db, j.arg);
	}
	hq_db_close(db);
	return NULL;
}

int
hq_pool_submit(hq_pool *p, hq_pool_fn fn, void *arg)
{
	int rc = PA_OK;

	pthread_mutex_lock(&p->mu);
	if (p->stop)
		rc = pa_err_set(PA_ECANCELLED, "HQ is stopping");
	else if (p->n == HQ_POOL_MAX_QUEUE)
		rc = pa_err_set(PA_ETIMEOUT, "HQ is busy: %d requests wait for "
		    "the store", HQ_POOL_MAX_QUEUE);
	else {
		p->q[(p->head + p->n) % HQ_POOL_MAX_QUEUE] = (struct job){ fn, arg };
		p->n++;
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int
hq_pool_start(const char *db_spec, int busy_ms, int n, hq_pool **out)
{
	hq_pool *p;

	*out = NULL;
	if ((p = pa_calloc(1, sizeof(*p))) == NULL)
		return PA_ENOMEM;
	p->db_spec = db_spec;
	p->busy_ms = busy_ms;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if ((p->th = pa_calloc((size_t)n, sizeof(*p->th))) == NULL) {
		hq_pool_stop(p);
		return PA_ENOMEM;
	}
	for (; p->nth < n; p->nth++)
		if (pthread_create(&p->th[p->nth], NULL, worker, p) != 0) {
			hq_pool_stop(p);
			return pa_err_set(PA_EINTERNAL, "cannot start a store "
			    "worker thread");
		}
	*out = p;
	return PA_OK;
}

void
hq_pool_stop(hq_pool *p)
{
	int i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	pa_free(p->th);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	pa_free(p);
}

/* hq_db_sqlite — the embedded default store: one SQLite file in WAL mode.
 *
 * Several posagent-hq processes may share the file: SQLite's locks make
 * their writes serial, and the unique keys of the schema make a batch that
 * arrives at two of them at once count once. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hq/hq_db.h"

#define SQ_MAX_STMTS 64         /* distinct statements of hq_store.c */
#define SQ_MAX_SQL   4096

struct sq_stmt {
	const char *key;        /* the shared SQL text (constant) */
	sqlite3_stmt *st;
};

struct sq_conn {
	sqlite3 *db;
	struct sq_stmt cache[SQ_MAX_STMTS];
	int n;
	int busy_ms;
	int holds_writer;
	int quick;              /* this transaction commits without fsync */
};

/* SQLite has one writer at a time. Inside this process the worker threads
 * take turns here instead of in SQLite's busy handler, which sleeps in
 * steps of up to 100 ms (that handler still arbitrates between processes
 * sharing the file). Quick transactions (heartbeats) go before waiting
 * batches. One turn per process: posagent-hq opens one store. */
static pthread_mutex_t sq_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sq_cv = PTHREAD_COND_INITIALIZER;
static int sq_busy;             /* a writer holds the turn */
static int sq_quick_waiting;

/* Wait for the write turn until deadline; PA_ETIMEOUT after it. */
static int
sq_turn_take(int quick, const struct timespec *until)
{
	int e = 0;

	pthread_mutex_lock(&sq_mu);
	if (quick)
		sq_quick_waiting++;
	while (e == 0 && (sq_busy || (!quick && sq_quick_waiting > 0)))
		e = pthread_cond_timedwait(&sq_cv, &sq_mu, until);
	if (e == 0)
		sq_busy = 1;
	if (quick)
		sq_quick_waiting--;
	/* A quick waiter that gave up may have been holding batches back. */
	if (e != 0 && quick)
		pthread_cond_broadcast(&sq_cv);
	pthread_mutex_unlock(&sq_mu);
	return e == 0 ? PA_OK : PA_ETIMEOUT;
}

static void
sq_turn_give(void)
{
	pthread_mutex_lock(&sq_mu);
	sq_busy = 0;
	pthread_cond_broadcast(&sq_cv);
	pthread_mutex_unlock(&sq_mu);
}

static void sq_release(struct sq_conn *c);

/* The turn, waiting at most the connection's busy timeout. */
static int
sq_turn_wait(struct sq_conn *c, int quick)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += c->busy_ms / 1000;
	until.tv_nsec += (long)(c->busy_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	if (sq_turn_take(quick, &until) != PA_OK)
		return pa_err_set(PA_ETIMEOUT, "store busy: no write turn within "
		    "%d ms", c->busy_ms);
	return PA_OK;
}

/* One place maps SQLite's result codes to ours. */
static int
sq_err(struct sq_conn *c, int src, const char *what)
{
	int prim = src & 0xff;

	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		return pa_err_set(PA_ETIMEOUT, "store busy (%s): %s", what,
		    sqlite3_errmsg(c->db));
	if (src == SQLITE_CONSTRAINT_PRIMARYKEY || src == SQLITE_CONSTRAINT_UNIQUE)
		return pa_err_set(PA_EEXISTS, "%s: %s", what, sqlite3_errmsg(c->db));
	if (prim == SQLITE_NOMEM)
		return PA_ENOMEM;
	return pa_err_set(PA_EDB, "sqlite %s: %s", what, sqlite3_errmsg(c->db));
}


static void
sq_close(void *arg)
{
	struct sq_conn *c = arg;
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		sqlite3_finalize(c->cache[i].st);
	sqlite3_close_v2(c->db);
	pa_free(c);
}

static int
sq_script(void *arg, const char *sql)
{
	struct sq_conn *c = arg;
	char *msg = NULL;
	int src;

	src = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
	sqlite3_free(msg);
	return src == SQLITE_OK ? PA_OK : sq_err(c, sqlite3_extended_errcode(c->db),
	    "script");
}

static int
sq_open(const char *spec, int busy_ms, void **out)
{
	struct sq_conn *c = NULL;
	int rc = PA_OK, src;

	*out = NULL;
	if ((c = pa_calloc(1, sizeof(*c))) == NULL)
		return PA_ENOMEM;
	src = sqlite3_open_v2(spec, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		rc = pa_err_set(PA_EDB, "cannot open database %s: %s", spec,
		    c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, busy_ms);
	c->busy_ms = busy_ms;
	/* WAL: readers (the dashboard) never block the receiver. FULL: an
	 * acknowledged event is on disk before the agent deletes its copy. */
	if ((rc = sq_script(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	    " PRAGMA foreign_keys=OFF; PRAGMA cache_size=-8192")) != PA_OK) {
		pa_err_wrap(rc, "database %s: ", spec);
		goto out;
	}
	*out = c;
	c = NULL; /* transferred */
out:
	sq_close(c);
	return rc;
}

/* The shared SQL says $N; SQLite's numbered form is ?N. */
static int
sq_prepare(struct sq_conn *c, const char *key, sqlite3_stmt **st)
{
	char sql[SQ_MAX_SQL];
	size_t i, n = strlen(key);
	int src;

	for (i = 0; i < (size_t)c->n; i++)
		if (c->cache[i].key == key) {
			*st = c->cache[i].st;
			return PA_OK;
		}
	if (n >= sizeof(sql) || c->n == SQ_MAX_STMTS)
		return pa_err_set(PA_EINTERNAL, "statement cache full or SQL too "
		    "long"); /* cannot happen: hq_store.c's SQL is fixed */
	for (i = 0; i <= n; i++)
		sql[i] = key[i] == '$' ? '?' : key[i];
	src = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL);
	if (src != SQLITE_OK)
		return sq_err(c, sqlite3_extended_errcode(c->db), "prepare");
	c->cache[c->n].key = key;
	c->cache[c->n].st = *st;
	c->n++;
	return PA_OK;
}

static int
sq_exec(void *arg, const char *sql, const struct hq_val *p, int np,
    hq_rows **rows, long *changes)
{
	struct sq_conn *c = arg;
	sqlite3_stmt *st = NULL;
	const char *cells[32];
	int lens[32];
	hq_rows *r = NULL;
	int rc, src, i, nc, turn = 0;

	if ((rc = sq_prepare(c, sql, &st)) != PA_OK)
		return rc;
	/* A write outside a transaction (an alert claimed, a store registered
	 * on first contact, old alerts pruned) takes the write turn too: it
	 * holds SQLite's write lock while it runs, and a batch that holds the
	 * turn would otherwise sleep in the busy handler under BEGIN
	 * IMMEDIATE (issue #14: 13 ms sleeps with the turn held). */
	if (!sqlite3_stmt_readonly(st) && sqlite3_get_autocommit(c->db)) {
		if ((rc = sq_turn_wait(c, 0)) != PA_OK)
			return rc;
		turn = 1;
	}
	for (i = 0; i < np; i++) {
		if (p[i].t == HQ_V_INT)
			src = sqlite3_bind_int64(st, i + 1, p[i].i);
		else if (p[i].t == HQ_V_TEXT)
			src = sqlite3_bind_text(st, i + 1, p[i].s, -1, SQLITE_STATIC);
		else
			src = sqlite3_bind_null(st, i + 1);
		if (src != SQLITE_OK) {
			rc = sq_err(c, src, "bind");
			goto out;
		}
	}
	nc = sqlite3_column_count(st);
	if (nc > 32) {
		rc = pa_err_set(PA_EINTERNAL, "too many columns"); /* cannot happen */
		goto out;
	}
	if (rows && (r = hq__rows_new(nc)) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (r == NULL)
			continue;
		for (i = 0; i < nc; i++) {
			cells[i] = (const char *)sqlite3_column_text(st, i);
			lens[i] = sqlite3_column_bytes(st, i);
		}
		if ((rc = hq__rows_add(r, cells, lens)) != PA_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = sq_err(c, sqlite3_extended_errcode(c->db), "step");
		goto out;
	}
	if (changes)
		*changes = sqlite3_changes(c->db);
	if (rows) {
		*rows = r;
		r = NULL; /* transferred */
	}
out:
	hq_rows_free(r);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (turn)
		sq_turn_give();
	return rc;
}

static int
sq_begin(void *arg, int quick)
{
	struct sq_conn *c = arg;
	int rc;

	if ((rc = sq_turn_wait(c, quick)) != PA_OK)
		return rc;
	c->holds_writer = 1;
	/* WAL with synchronous=NORMAL commits without fsync (durable at the
	 * next checkpoint); the pragma holds until set back at release. */
	if (quick && (rc = sq_script(c, "PRAGMA synchronous=NORMAL")) != PA_OK)
		goto fail;
	c->quick = quick;
	/* IMMEDIATE: the write lock now, so two writers never deadlock on
	 * a read-to-write upgrade. */
	if ((rc = sq_script(c, "BEGIN IMMEDIATE")) != PA_OK)
		goto fail;
	return PA_OK;
fail:
	sq_release(c);
	return rc;
}

static void
sq_release(struct sq_conn *c)
{
	if (c->quick) {
		c->quick = 0;
		sq_script(c, "PRAGMA synchronous=FULL"); /* cannot fail outside a
		    transaction */
	}
	if (c->holds_writer) {
		c->holds_writer = 0;
		sq_turn_give();
	}
}

static int
sq_commit(void *arg)
{
	struct sq_conn *c = arg;
	int rc = sq_script(c, "COMMIT");

	/* A failed COMMIT is rolled back by the caller, which releases. */
	if (rc == PA_OK)
		sq_release(c);
	return rc;
}

static void
sq_rollback(void *arg)
{
	struct sq_conn *c = arg;

	if (!sqlite3_get_autocommit(c->db))
		sq_script(c, "ROLLBACK"); /* a failure leaves nothing to undo */
	sq_release(c);
}

const struct hq_db_ops hq_db_sqlite_ops = {
	"sqlite", sq_open, sq_close, sq_exec, sq_script, sq_begin, sq_commit,
	sq_rollback, NULL, NULL, NULL,
};

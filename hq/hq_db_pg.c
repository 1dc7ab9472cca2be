/* hq_db_pg — PostgreSQL store (libpq) for chains that outgrow one machine:
 * stateless posagent-hq replicas behind a load balancer share one database.
 * Same schema and same SQL as SQLite (hq_store.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hq/hq_db.h"
#include "hq/hq_log.h"

#define PG_MAX_STMTS  64
#define PG_MAX_PARAMS 16
/* Statements sent before their results are read: few enough that neither
 * side's socket buffer fills while the other waits (libpq's pipeline
 * mode deadlock), many enough to save most round trips. */
#define PG_PIPE_CHUNK 256

/* A result still to read in pipeline mode: where a statement's count of
 * changed rows goes (NULL: not wanted, or a statement prepared on the way). */
struct pg_pending {
	long *changes;
	int prep;       /* a statement prepared on the way: its index + 1 */
};

struct pg_conn {
	PGconn *pg;
	char settings[160];                 /* the session's SETs */
	const char *keys[PG_MAX_STMTS];     /* prepared as "s<index>" */
	int n;
	int piping;
	int pipe_rc;                        /* first failure of the batch */
	struct pg_pending pend[PG_PIPE_CHUNK + PG_MAX_STMTS];
	int npend;
};

static void
pg_quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* "relation already exists, skipping" and the like */
}

/* A new session in place of a lost one, with the same settings. A
 * failure leaves the connection bad: the next statement fails at once
 * and tries again. */
static void
pg_reconnect(struct pg_conn *c)
{
	PGresult *res;

	c->n = 0; /* prepared statements died with the session */
	c->piping = 0;
	c->npend = 0;
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		hq_log(HQ_LOG_WARNING, "PostgreSQL connection lost; no new "
		    "session yet (the next request tries again)");
		return;
	}
	hq_log(HQ_LOG_NOTICE, "PostgreSQL connection lost; a new session is "
	    "open");
	res = PQexec(c->pg, c->settings);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		PQreset(c->pg); /* then without the timeouts until the next
		    loss: PostgreSQL refused a plain SET, cannot happen */
	PQclear(res);
}

/* One place maps SQLSTATEs to our codes (PostgreSQL Appendix A). */
static int
pg_err(struct pg_conn *c, PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);
	char m[400];
	size_t n;

	snprintf(m, sizeof(m), "%s", msg && msg[0] ? msg : PQerrorMessage(c->pg));
	n = strlen(m);
	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' '))
		m[--n] = '\0';
	if (state && strcmp(state, "23505") == 0)
		return pa_err_set(PA_EEXISTS, "%s: %s", what, m);
	/* statement_timeout, lock_timeout, serialization, deadlock: the store
	 * is slow or contended, the request may be repeated. */
	if (state && (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
		return pa_err_set(PA_ETIMEOUT, "store busy (%s): %s", what, m);
	/* A session ended by the server (pg_terminate_backend, a shutdown:
	 * 57P01..57P03) or a connection fault (class 08) may still read as
	 * CONNECTION_OK until libpq sees the socket close: it is lost all the
	 * same, and the caller's one retry must get a new session. */
	if (PQstatus(c->pg) != CONNECTION_OK || (state &&
	    (strncmp(state, "57P0", 4) == 0 || strncmp(state, "08", 2) == 0))) {
		/* This request failed for good (the agent sends the batch
		 * again); the next one gets a new session when PostgreSQL is
		 * back (a restart, pg_terminate_backend). */
		pg_reconnect(c);
		return pa_err_set(PA_EIO, "PostgreSQL connection lost (%s): %s",
		    what, m);
	}
	return pa_err_set(PA_EDB, "postgresql %s: %s", what, m);
}

static void
pg_close(void *arg)
{
	struct pg_conn *c = arg;

	if (c == NULL)
		return;
	PQfinish(c->pg);
	pa_free(c);
}

static int
pg_script(void *arg, const char *sql)
{
	struct pg_conn *c = arg;
	PGresult *res = PQexec(c->pg, sql);
	int rc = PA_OK;

	if (res == NULL || (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK))
		rc = pg_err(c, res, "script");
	PQclear(res);
	return rc;
}

static int
pg_open(const char *spec, int busy_ms, void **out)
{
	struct pg_conn *c = NULL;
	int rc = PA_OK;

	*out = NULL;
	if ((c = pa_calloc(1, sizeof(*c))) == NULL)
		return PA_ENOMEM;
	if ((c->pg = PQconnectdb(spec)) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		/* The message may repeat the URL's password: name the server
		 * only by libpq's words. */
		rc = pa_err_set(PA_EDB, "cannot connect to PostgreSQL: %s",
		    PQerrorMessage(c->pg));
		goto out;
	}
	PQsetNoticeProcessor(c->pg, pg_quiet, NULL);
	snprintf(c->settings, sizeof(c->settings), "SET statement_timeout = %d; "
	    "SET lock_timeout = %d; SET client_min_messages = warning",
	    busy_ms * 4, busy_ms);
	if ((rc = pg_script(c, c->settings)) != PA_OK)
		goto out;
	*out = c;
	c = NULL; /* transferred */
out:
	pg_close(c);
	return rc;
}

static int
pg_prepare(struct pg_conn *c, const char *key, char name[16])
{
	PGresult *res;
	int i, rc = PA_OK;

	for (i = 0; i < c->n; i++)
		if (c->keys[i] == key) {
			snprintf(name, 16, "s%d", i);
			return PA_OK;
		}
	if (c->n == PG_MAX_STMTS)
		return pa_err_set(PA_EINTERNAL, "statement cache full"); /* cannot
		    happen: hq_store.c's SQL is fixed */
	snprintf(name, 16, "s%d", c->n);
	res = PQprepare(c->pg, name, key, 0, NULL);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_err(c, res, "prepare");
	else
		c->keys[c->n++] = key;
	PQclear(res);
	return rc;
}

static int
pg_exec(void *arg, const char *sql, const struct hq_val *p, int np,
    hq_rows **rows, long *changes)
{
	struct pg_conn *c = arg;
	char name[16], num[PG_MAX_PARAMS][24];
	const char *vals[PG_MAX_PARAMS], *cells[32];
	int lens[32], i, j, nc, nr;
	PGresult *res = NULL;
	hq_rows *r = NULL;
	ExecStatusType es;
	int rc;

	if (np > PG_MAX_PARAMS)
		return pa_err_set(PA_EINTERNAL, "too many parameters"); /* cannot
		    happen */
	if ((rc = pg_prepare(c, sql, name)) != PA_OK)
		return rc;
	for (i = 0; i < np; i++) {
		if (p[i].t == HQ_V_INT) {
			snprintf(num[i], sizeof(num[i]), "%lld", (long long)p[i].i);
			vals[i] = num[i];
		} else {
			vals[i] = p[i].t == HQ_V_TEXT ? p[i].s : NULL;
		}
	}
	res = PQexecPrepared(c->pg, name, np, vals, NULL, NULL, 0);
	es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
		rc = pg_err(c, res, "statement");
		goto out;
	}
	if (changes) {
		const char *t = PQcmdTuples(res);
		*changes = (t && t[0]) ? strtol(t, NULL, 10) : 0;
	}
	if (rows == NULL)
		goto out;
	nc = PQnfields(res);
	nr = PQntuples(res);
	if (nc > 32) {
		rc = pa_err_set(PA_EINTERNAL, "too many columns"); /* cannot happen */
		goto out;
	}
	if ((r = hq__rows_new(nc)) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		for (j = 0; j < nc; j++) {
			cells[j] = PQgetisnull(res, i, j) ? NULL : PQgetvalue(res, i, j);
			lens[j] = PQgetlength(res, i, j);
		}
		if ((rc = hq__rows_add(r, cells, lens)) != PA_OK)
			goto out;
	}
	*rows = r;
	r = NULL; /* transferred */
out:
	hq_rows_free(r);
	PQclear(res);
	return rc;
}

/* --- pipeline (hq_db_batch_*) --------------------------------------------- */

static int
pg_pipe_begin(void *arg)
{
	struct pg_conn *c = arg;

	if (PQenterPipelineMode(c->pg) != 1)
		return pg_err(c, NULL, "pipeline");
	c->piping = 1;
	c->pipe_rc = PA_OK;
	c->npend = 0;
	return PA_OK;
}

/* Sync and read every pending result in order: each statement's result
 * is followed by a NULL, the sync by PGRES_PIPELINE_SYNC. After a failure
 * the rest of the chunk comes back PGRES_PIPELINE_ABORTED. */
static int
pg_pipe_drain(struct pg_conn *c)
{
	PGresult *res;
	ExecStatusType es;
	int idx = 0, nulls = 0;

	if (PQpipelineSync(c->pg) != 1) {
		if (c->pipe_rc == PA_OK)
			c->pipe_rc = pg_err(c, NULL, "pipeline sync");
		c->npend = 0;
		return c->pipe_rc;
	}
	for (;;) {
		if ((res = PQgetResult(c->pg)) == NULL) {
			idx++;
			/* A broken connection answers NULL forever. */
			if (++nulls > c->npend + 2) {
				if (c->pipe_rc == PA_OK)
					c->pipe_rc = pg_err(c, NULL, "pipeline");
				break;
			}
			continue;
		}
		es = PQresultStatus(res);
		if (es == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			break;
		}
		if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
			if (idx < c->npend && c->pend[idx].changes) {
				const char *t = PQcmdTuples(res);
				*c->pend[idx].changes = (t && t[0]) ?
				    strtol(t, NULL, 10) : 0;
			}
		} else {
			/* A prepare skipped by an aborted pipeline (a lock
			 * timeout before it, say) never reached the server:
			 * forget it and what was queued after it, or the next
			 * batch asks for a statement that does not exist. */
			if (idx < c->npend && c->pend[idx].prep > 0 &&
			    c->pend[idx].prep - 1 < c->n)
				c->n = c->pend[idx].prep - 1;
			if (es != PGRES_PIPELINE_ABORTED && c->pipe_rc == PA_OK)
				c->pipe_rc = pg_err(c, res, "statement");
		}
		PQclear(res);
	}
	c->npend = 0;
	return c->pipe_rc;
}

static int
pg_pipe_exec(void *arg, const char *sql, const struct hq_val *p, int np,
    long *changes)
{
	struct pg_conn *c = arg;
	char name[16], num[PG_MAX_PARAMS][24];
	const char *vals[PG_MAX_PARAMS];
	int i;

	if (c->pipe_rc != PA_OK)
		return c->pipe_rc;
	if (np > PG_MAX_PARAMS)
		return pa_err_set(PA_EINTERNAL, "too many parameters"); /* cannot
		    happen */
	for (i = 0; i < c->n && c->keys[i] != sql; i++)
		;
	snprintf(name, sizeof(name), "s%d", i);
	if (i == c->n) {
		if (c->n == PG_MAX_STMTS)
			return pa_err_set(PA_EINTERNAL, "statement cache full");
		if (PQsendPrepare(c->pg, name, sql, 0, NULL) != 1)
			return c->pipe_rc = pg_err(c, NULL, "prepare");
		c->pend[c->npend].changes = NULL;
		c->pend[c->npend++].prep = c->n + 1;
		c->keys[c->n++] = sql;
	}
	for (i = 0; i < np; i++) {
		if (p[i].t == HQ_V_INT) {
			snprintf(num[i], sizeof(num[i]), "%lld", (long long)p[i].i);
			vals[i] = num[i];
		} else {
			vals[i] = p[i].t == HQ_V_TEXT ? p[i].s : NULL;
		}
	}
	if (PQsendQueryPrepared(c->pg, name, np, vals, NULL, NULL, 0) != 1)
		return c->pipe_rc = pg_err(c, NULL, "send");
	c->pend[c->npend].changes = changes;
	c->pend[c->npend++].prep = 0;
	if (c->npend >= PG_PIPE_CHUNK)
		return pg_pipe_drain(c);
	return PA_OK;
}

static int
pg_pipe_end(void *arg)
{
	struct pg_conn *c = arg;
	int rc = PA_OK;

	if (c->npend > 0)
		rc = pg_pipe_drain(c);
	if (rc == PA_OK)
		rc = c->pipe_rc;
	if (PQexitPipelineMode(c->pg) != 1 && rc == PA_OK)
		rc = pg_err(c, NULL, "pipeline end");
	c->piping = 0;
	return rc;
}

static int
pg_begin(void *c, int quick)
{
	return pg_script(c, quick ? "BEGIN; SET LOCAL synchronous_commit = off" :
	    "BEGIN");
}

static int
pg_commit(void *c)
{
	return pg_script(c, "COMMIT");
}

static void
pg_rollback(void *c)
{
	pg_script(c, "ROLLBACK"); /* a failure leaves nothing to undo */
}

const struct hq_db_ops hq_db_pg_ops = {
	"postgresql", pg_open, pg_close, pg_exec, pg_script, pg_begin, pg_commit,
	pg_rollback, pg_pipe_begin, pg_pipe_exec, pg_pipe_end,
};

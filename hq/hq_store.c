/* hq_store — schema and every statement of posagent-hq (see hq_store.h).
 * Portable SQL: both SQLite (3.35+) and PostgreSQL (11+) run each text as
 * is; parameters are $N. */
#include "hq/hq_store.h"

#include <stdio.h>
#include <string.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Version 1. Types are the common subset: TEXT, BIGINT, no serials (every
 * key comes from the agents). */
static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS hq_meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS hq_agent("
    " id TEXT PRIMARY KEY, token_hash TEXT, created_ms BIGINT NOT NULL,"
    " first_contact BIGINT NOT NULL DEFAULT 0, last_seen_ms BIGINT,"
    " hb_doc TEXT, pruned_seq BIGINT NOT NULL DEFAULT 0,"
    " gate_since_ms BIGINT, gate_refusals BIGINT NOT NULL DEFAULT 0,"
    " dead_letters BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS hq_operator("
    " name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,"
    " created_ms BIGINT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS hq_event("
    " agent_id TEXT NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL,"
    " ts TEXT NOT NULL, received_ms BIGINT NOT NULL,"
    " PRIMARY KEY (agent_id, seq));"
    "CREATE INDEX IF NOT EXISTS hq_event_ts ON hq_event(type, ts);"
    "CREATE TABLE IF NOT EXISTS hq_job("
    " agent_id TEXT NOT NULL, uuid TEXT NOT NULL, name TEXT NOT NULL,"
    " state TEXT NOT NULL, seq BIGINT NOT NULL, ts TEXT NOT NULL,"
    " create_date TEXT, end_date TEXT, doc TEXT NOT NULL,"
    " updated_ms BIGINT NOT NULL, PRIMARY KEY (agent_id, uuid));"
    "CREATE INDEX IF NOT EXISTS hq_job_agent ON hq_job(agent_id, create_date);"
    "CREATE INDEX IF NOT EXISTS hq_job_state ON hq_job(state, updated_ms);"
    "CREATE TABLE IF NOT EXISTS hq_log("
    " agent_id TEXT NOT NULL, seq BIGINT NOT NULL, job_uuid TEXT NOT NULL,"
    " level TEXT NOT NULL, row_no BIGINT NOT NULL, message TEXT NOT NULL,"
    " row_data TEXT, ts TEXT NOT NULL, PRIMARY KEY (agent_id, seq));"
    "CREATE INDEX IF NOT EXISTS hq_log_job ON hq_log(agent_id, job_uuid, seq);"
    "CREATE INDEX IF NOT EXISTS hq_log_ts ON hq_log(ts);"
    "CREATE TABLE IF NOT EXISTS hq_alert("
    " agent_id TEXT NOT NULL, kind TEXT NOT NULL, incident TEXT NOT NULL,"
    " fired_ms BIGINT NOT NULL, PRIMARY KEY (agent_id, kind, incident));";

static const char SQL_META_SET[] =
    "INSERT INTO hq_meta(k, v) VALUES ('schema', '1') ON CONFLICT (k) DO NOTHING";
static const char SQL_META_GET[] = "SELECT v FROM hq_meta WHERE k = 'schema'";

int
hq_store_migrate(hq_db *db)
{
	hq_rows *r = NULL;
	int rc;

	if ((rc = hq_db_script(db, SCHEMA)) != PA_OK ||
	    (rc = hq_db_exec(db, SQL_META_SET, NULL, 0, NULL, NULL)) != PA_OK ||
	    (rc = hq_db_exec(db, SQL_META_GET, NULL, 0, &r, NULL)) != PA_OK)
		goto out;
	if (hq_rows_int(r, 0, 0) != 1)
		rc = pa_err_set(PA_EDB, "database schema version %s is not the "
		    "one this posagent-hq knows (1)", hq_rows_text(r, 0, 0) ?
		    hq_rows_text(r, 0, 0) : "?");
out:
	hq_rows_free(r);
	return rc;
}

/* --- agents and operators ------------------------------------------------ */

static const char SQL_AGENT_ADD[] =
    "INSERT INTO hq_agent(id, token_hash, created_ms, first_contact)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET"
    " token_hash = coalesce(excluded.token_hash, hq_agent.token_hash)";
static const char SQL_AGENT_FIRST[] =
    "INSERT INTO hq_agent(id, token_hash, created_ms, first_contact)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING";
static const char SQL_AGENT_GET[] =
    "SELECT token_hash, gate_since_ms, gate_refusals FROM hq_agent WHERE id = $1";
static const char SQL_OP_ADD[] =
    "INSERT INTO hq_operator(name, token_hash, created_ms) VALUES ($1, $2, $3)"
    " ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash";
static const char SQL_OP_CHECK[] =
    "SELECT name FROM hq_operator WHERE token_hash = $1";

int
hq_store_agent_add(hq_db *db, const char *id, const char *token_hash,
    int first_contact, int64_t now_ms)
{
	struct hq_val p[] = { HQ_TEXT(id), HQ_TEXT(token_hash), HQ_INT(now_ms),
	    HQ_INT(first_contact) };

	/* First contact never replaces a registration made by a person. */
	return hq_db_exec(db, first_contact ? SQL_AGENT_FIRST : SQL_AGENT_ADD, p,
	    N(p), NULL, NULL);
}

int
hq_store_agent_get(hq_db *db, const char *id, struct hq_agent_row *out)
{
	struct hq_val p[] = { HQ_TEXT(id) };
	hq_rows *r = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = hq_db_exec(db, SQL_AGENT_GET, p, N(p), &r, NULL)) != PA_OK)
		return rc;
	if (hq_rows_count(r) == 1) {
		out->exists = 1;
		snprintf(out->token_hash, sizeof(out->token_hash), "%s",
		    hq_rows_text(r, 0, 0) ? hq_rows_text(r, 0, 0) : "");
		out->gate_since_ms = hq_rows_int(r, 0, 1);
		out->gate_refusals = hq_rows_int(r, 0, 2);
	}
	hq_rows_free(r);
	return PA_OK;
}

int
hq_store_operator_add(hq_db *db, const char *name, const char *hash,
    int64_t now_ms)
{
	struct hq_val p[] = { HQ_TEXT(name), HQ_TEXT(hash), HQ_INT(now_ms) };

	return hq_db_exec(db, SQL_OP_ADD, p, N(p), NULL, NULL);
}

int
hq_store_operator_check(hq_db *db, const char *hash, int *ok)
{
	struct hq_val p[] = { HQ_TEXT(hash) };
	hq_rows *r = NULL;
	int rc;

	*ok = 0;
	if ((rc = hq_db_exec(db, SQL_OP_CHECK, p, N(p), &r, NULL)) == PA_OK)
		*ok = hq_rows_count(r) == 1;
	hq_rows_free(r);
	return rc;
}

/* --- receiving ----------------------------------------------------------- */

/* The ledger row says whether an event is new to HQ; the derived rows are
 * keyed so that a repeat changes nothing either. Seqs at or below the
 * agent's pruned_seq were
 * stored once and removed by retention: they count as duplicates (the
 * agent row is read inside the write transaction, so retention cannot move
 * it meanwhile). */
static const char SQL_LEDGER[] =
    "INSERT INTO hq_event(agent_id, seq, type, ts, received_ms)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agent_id, seq) DO NOTHING";
static const char SQL_PRUNED[] = "SELECT pruned_seq FROM hq_agent WHERE id = $1";
/* An older snapshot (lower seq) never overwrites a newer one, whatever
 * order the batches arrive in. */
static const char SQL_JOB[] =
    "INSERT INTO hq_job(agent_id, uuid, name, state, seq, ts, create_date,"
    " end_date, doc, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT (agent_id, uuid) DO UPDATE SET name = excluded.name,"
    " state = excluded.state, seq = excluded.seq, ts = excluded.ts,"
    " create_date = excluded.create_date, end_date = excluded.end_date,"
    " doc = excluded.doc, updated_ms = excluded.updated_ms"
    " WHERE hq_job.seq < excluded.seq";
static const char SQL_LOG[] =
    "INSERT INTO hq_log(agent_id, seq, job_uuid, level, row_no, message,"
    " row_data, ts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT (agent_id, seq) DO NOTHING";
static const char SQL_GATE_REFUSED[] =
    "UPDATE hq_agent SET gate_refusals = gate_refusals + 1 WHERE id = $1";
static const char SQL_MAX_SEQ[] =
    "SELECT (SELECT max(seq) FROM hq_event WHERE agent_id = $1),"
    " (SELECT pruned_seq FROM hq_agent WHERE id = $1)";

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The JSON text a derived row keeps (the job snapshot, a log's row_data),
 * made before the write transaction so the writer's turn is spent on SQL
 * only. *keep stays NULL when the event keeps none. */
static int
derived_text(const struct hq_event *e, char **keep)
{
	json_t *rd;

	*keep = NULL;
	if (strcmp(e->type, "job") == 0)
		*keep = json_dumps(e->data, JSON_COMPACT);
	else if (strcmp(e->type, "log") == 0 && json_is_object(rd =
	    json_object_get(e->data, "row_data")))
		*keep = json_dumps(rd, JSON_COMPACT | JSON_PRESERVE_ORDER);
	else
		return PA_OK;
	return *keep ? PA_OK : PA_ENOMEM;
}

/* The derived rows of one event. Idempotent by themselves (the log's key,
 * the snapshot's seq rule), so a batch can go out pipelined before the
 * ledger says which events were new. */
static int
store_derived(hq_db *db, const char *agent, const struct hq_event *e,
    int64_t now, const char *keep)
{
	json_int_t row;
	int rc = PA_OK;

	if (strcmp(e->type, "job") == 0) {
		struct hq_val p[] = { HQ_TEXT(agent), HQ_TEXT(jstr(e->data, "uuid")),
		    HQ_TEXT(jstr(e->data, "name")), HQ_TEXT(jstr(e->data, "state")),
		    HQ_INT(e->seq), HQ_TEXT(e->ts),
		    HQ_TEXT(jstr(e->data, "create_date")),
		    HQ_TEXT(jstr(e->data, "end_date")), HQ_TEXT(keep), HQ_INT(now) };
		rc = hq_db_batch_exec(db, SQL_JOB, p, N(p), NULL);
	} else if (strcmp(e->type, "log") == 0) {
		row = json_integer_value(json_object_get(e->data, "row_number"));
		struct hq_val p[] = { HQ_TEXT(agent), HQ_INT(e->seq),
		    HQ_TEXT(jstr(e->data, "job_uuid")),
		    HQ_TEXT(jstr(e->data, "level")), HQ_INT(row),
		    HQ_TEXT(jstr(e->data, "message")), HQ_TEXT(keep),
		    HQ_TEXT(e->ts) };
		rc = hq_db_batch_exec(db, SQL_LOG, p, N(p), NULL);
	}
	return rc;
}

/* The agent's gate writes exactly this warning when it refuses an import
 * (agent/import/runner.c gate_log): the count of refusals HQ shows for an
 * agent whose heartbeat does not carry its own (kkt.refusing). */
static int
is_refusal(const struct hq_event *e)
{
	const char *lvl = jstr(e->data, "level"), *msg = jstr(e->data, "message");

	return strcmp(e->type, "log") == 0 && lvl && strcmp(lvl, "warning") == 0 &&
	    json_integer_value(json_object_get(e->data, "row_number")) == 0 &&
	    msg && strncmp(msg, "import refused: ", 16) == 0;
}

int
hq_store_ingest(hq_db *db, const char *agent, const struct hq_event *ev,
    int n, int64_t now_ms, long long *ack, long *fresh)
{
	hq_rows *r = NULL;
	char **keep = NULL;
	long *ch = NULL;
	int64_t pruned;
	int i, rc;

	*ack = 0;
	*fresh = 0;
	if (n == 0) {
		struct hq_val p[] = { HQ_TEXT(agent) };
		if ((rc = hq_db_exec(db, SQL_MAX_SEQ, p, N(p), &r, NULL)) != PA_OK)
			return rc;
		*ack = hq_rows_int(r, 0, 0) > hq_rows_int(r, 0, 1) ?
		    hq_rows_int(r, 0, 0) : hq_rows_int(r, 0, 1);
		hq_rows_free(r);
		return PA_OK;
	}
	if ((ch = pa_calloc((size_t)n, sizeof(*ch))) == NULL ||
	    (keep = pa_calloc((size_t)n, sizeof(*keep))) == NULL) {
		rc = PA_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = derived_text(&ev[i], &keep[i])) != PA_OK)
			goto out;
	if ((rc = hq_db_begin(db)) != PA_OK)
		goto out;
	{
		struct hq_val p[] = { HQ_TEXT(agent) };
		if ((rc = hq_db_exec(db, SQL_PRUNED, p, N(p), &r, NULL)) != PA_OK)
			goto fail;
		pruned = hq_rows_int(r, 0, 0);
		hq_rows_free(r);
		r = NULL;
	}
	if ((rc = hq_db_batch_begin(db)) != PA_OK)
		goto fail;
	for (i = 0; i < n && rc == PA_OK; i++) {
		const struct hq_event *e = &ev[i];
		struct hq_val p[] = { HQ_TEXT(agent), HQ_INT(e->seq),
		    HQ_TEXT(e->type), HQ_TEXT(e->ts), HQ_INT(now_ms) };

		if (e->seq <= pruned)
			continue; /* stored once, since removed by retention */
		if ((rc = hq_db_batch_exec(db, SQL_LEDGER, p, N(p), &ch[i])) ==
		    PA_OK)
			rc = store_derived(db, agent, e, now_ms, keep[i]);
	}
	/* Ends the batch even after a failure (the connection must leave
	 * pipeline mode); the first failure wins. */
	i = hq_db_batch_end(db);
	if (rc == PA_OK)
		rc = i;
	if (rc != PA_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		*fresh += ch[i];
		if (ch[i] && is_refusal(&ev[i])) {
			struct hq_val g[] = { HQ_TEXT(agent) };
			if ((rc = hq_db_exec(db, SQL_GATE_REFUSED, g, N(g), NULL,
			    NULL)) != PA_OK)
				goto fail;
		}
	}
	if ((rc = hq_db_commit(db)) != PA_OK)
		goto out;
	*ack = ev[n - 1].seq;
	goto out;
fail:
	hq_db_rollback(db);
	*fresh = 0;
out:
	for (i = 0; keep && i < n; i++)
		free(keep[i]); /* jansson's allocations */
	pa_free(keep);
	pa_free(ch);
	return rc;
}

/* A replica's older heartbeat never overwrites a newer one. */
static const char SQL_HEARTBEAT[] =
    "UPDATE hq_agent SET last_seen_ms = $2, hb_doc = $3, gate_since_ms = $4,"
    " gate_refusals = $5, dead_letters = $6 WHERE id = $1"
    " AND (last_seen_ms IS NULL OR last_seen_ms <= $2)";

int
hq_store_heartbeats(hq_db *db, const struct hq_hb_row *rows, int n)
{
	struct hq_agent_row cur;
	int64_t since;
	int i, rc;

	if (n == 0)
		return PA_OK;
	/* Read and write in one transaction: two replicas' heartbeats for
	 * one store never interleave the gate's "since". */
	if ((rc = hq_db_begin_quick(db)) != PA_OK)
		return rc;
	for (i = 0; i < n; i++) {
		const struct hq_hb_row *h = &rows[i];

		if ((rc = hq_store_agent_get(db, h->agent, &cur)) != PA_OK)
			goto fail;
		/* Refusing since: what the agent says, else since the first
		 * heartbeat that showed it refusing. */
		since = 0;
		if (h->refusing)
			since = h->since_ms > 0 ? h->since_ms :
			    h->keep_db_since && cur.gate_since_ms > 0 ?
			    cur.gate_since_ms : h->streak_ms > 0 ? h->streak_ms :
			    h->now_ms;
		struct hq_val p[] = { HQ_TEXT(h->agent), HQ_INT(h->now_ms),
		    HQ_TEXT(h->doc), since > 0 ? HQ_INT(since) : HQ_NULL,
		    HQ_INT(h->refusals >= 0 ? h->refusals : cur.gate_refusals),
		    HQ_INT(h->dead_letters) };
		if ((rc = hq_db_exec(db, SQL_HEARTBEAT, p, N(p), NULL, NULL)) !=
		    PA_OK)
			goto fail;
	}
	return hq_db_commit(db);
fail:
	hq_db_rollback(db);
	return rc;
}

/* --- retention ----------------------------------------------------------- */

/* The ledger of a type goes with its data; pruned_seq remembers the
 * highest seq removed so a very late resend still counts as stored. */
static const char SQL_PRUNE_MARK[] =
    "UPDATE hq_agent SET pruned_seq = (SELECT max(seq) FROM hq_event e"
    " WHERE e.agent_id = hq_agent.id AND e.type = $2 AND e.ts < $1)"
    " WHERE pruned_seq < (SELECT max(seq) FROM hq_event e"
    " WHERE e.agent_id = hq_agent.id AND e.type = $2 AND e.ts < $1)";
static const char SQL_PRUNE_LEDGER[] =
    "DELETE FROM hq_event WHERE type = $2 AND ts < $1";
static const char SQL_PRUNE_LOG[] = "DELETE FROM hq_log WHERE ts < $1";
static const char SQL_PRUNE_JOB[] =
    "DELETE FROM hq_job WHERE ts < $1 AND state <> 'running'";
static const char SQL_PRUNE_ALERT[] = "DELETE FROM hq_alert WHERE fired_ms < $1";

static int
prune_type(hq_db *db, const char *type, int days, int64_t now_ms, long *del)
{
	char cut[32];
	long ch = 0;
	int rc;

	hal_iso_ms(now_ms - (int64_t)days * 86400000, cut);
	{
		struct hq_val p[] = { HQ_TEXT(cut), HQ_TEXT(type) };
		if ((rc = hq_db_begin(db)) != PA_OK)
			return rc;
		if ((rc = hq_db_exec(db, SQL_PRUNE_MARK, p, 2, NULL, NULL)) != PA_OK ||
		    (rc = hq_db_exec(db, SQL_PRUNE_LEDGER, p, 2, NULL, NULL)) !=
		    PA_OK ||
		    (rc = hq_db_exec(db, strcmp(type, "log") == 0 ? SQL_PRUNE_LOG :
		    SQL_PRUNE_JOB, p, 1, NULL, &ch)) != PA_OK) {
			hq_db_rollback(db);
			return rc;
		}
		if ((rc = hq_db_commit(db)) != PA_OK)
			return rc;
	}
	*del += ch;
	return PA_OK;
}

int
hq_store_retention(hq_db *db, int job_days, int log_days, int64_t now_ms,
    long *deleted)
{
	int rc = PA_OK;

	*deleted = 0;
	if (log_days > 0 && (rc = prune_type(db, "log", log_days, now_ms,
	    deleted)) != PA_OK)
		return rc;
	if (job_days > 0) {
		struct hq_val p[] = { HQ_INT(now_ms - (int64_t)job_days * 86400000) };
		if ((rc = prune_type(db, "job", job_days, now_ms, deleted)) != PA_OK)
			return rc;
		rc = hq_db_exec(db, SQL_PRUNE_ALERT, p, N(p), NULL, NULL);
	}
	return rc;
}

/* --- reading ------------------------------------------------------------- */

static const char SQL_AGENTS[] =
    "SELECT id, last_seen_ms, hb_doc, gate_since_ms, gate_refusals,"
    " dead_letters, first_contact FROM hq_agent ORDER BY id";
static const char SQL_AGENT_ONE[] =
    "SELECT id, last_seen_ms, hb_doc, gate_since_ms, gate_refusals,"
    " dead_letters, first_contact FROM hq_agent WHERE id = $1";
/* The latest job per store and state, in one pass for the whole fleet. */
static const char SQL_LATEST[] =
    "SELECT agent_id, state, doc FROM (SELECT agent_id, state, doc,"
    " row_number() OVER (PARTITION BY agent_id, state"
    " ORDER BY coalesce(end_date, ts) DESC, seq DESC) AS rn FROM hq_job"
    " WHERE state IN ('done', 'failed', 'running')) t WHERE rn = 1";
static const char SQL_LATEST_ONE[] =
    "SELECT agent_id, state, doc FROM (SELECT agent_id, state, doc,"
    " row_number() OVER (PARTITION BY agent_id, state"
    " ORDER BY coalesce(end_date, ts) DESC, seq DESC) AS rn FROM hq_job"
    " WHERE agent_id = $1 AND state IN ('done', 'failed', 'running')) t"
    " WHERE rn = 1";
static const char SQL_JOBS[] =
    "SELECT doc FROM hq_job WHERE agent_id = $1"
    " AND (CAST($2 AS TEXT) IS NULL OR state = $2)"
    " AND (CAST($3 AS TEXT) IS NULL OR coalesce(create_date, ts) >= $3)"
    " AND (CAST($4 AS TEXT) IS NULL OR coalesce(create_date, ts) < $4)"
    " ORDER BY coalesce(create_date, ts) DESC, seq DESC LIMIT $5";
static const char SQL_JOB_ONE[] =
    "SELECT doc FROM hq_job WHERE agent_id = $1 AND uuid = $2";
static const char SQL_LOG_PAGE[] =
    "SELECT level, message, row_no, row_data, ts FROM hq_log"
    " WHERE agent_id = $1 AND job_uuid = $2"
    " AND (CAST($3 AS TEXT) IS NULL OR level = $3)"
    " ORDER BY seq LIMIT $4 OFFSET $5";
static const char SQL_LOG_COUNT[] =
    "SELECT count(*) FROM hq_log WHERE agent_id = $1 AND job_uuid = $2"
    " AND (CAST($3 AS TEXT) IS NULL OR level = $3)";
static const char SQL_FAILED[] =
    "SELECT agent_id, uuid, doc FROM hq_job WHERE state = 'failed'"
    " AND updated_ms >= $1 ORDER BY updated_ms LIMIT 1000";
static const char SQL_ALERT_CLAIM[] =
    "INSERT INTO hq_alert(agent_id, kind, incident, fired_ms)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (agent_id, kind, incident) DO NOTHING";

int
hq_store_agents(hq_db *db, const char *id, hq_rows **agents, hq_rows **latest)
{
	struct hq_val p[] = { HQ_TEXT(id) };
	int rc;

	*latest = NULL;
	if ((rc = hq_db_exec(db, id ? SQL_AGENT_ONE : SQL_AGENTS, p, id ? 1 : 0,
	    agents, NULL)) != PA_OK)
		return rc;
	if ((rc = hq_db_exec(db, id ? SQL_LATEST_ONE : SQL_LATEST, p, id ? 1 : 0,
	    latest, NULL)) != PA_OK) {
		hq_rows_free(*agents);
		*agents = NULL;
	}
	return rc;
}

int
hq_store_jobs(hq_db *db, const char *id, const char *state, const char *since,
    const char *until, int limit, hq_rows **rows)
{
	struct hq_val p[] = { HQ_TEXT(id), HQ_TEXT(state), HQ_TEXT(since),
	    HQ_TEXT(until), HQ_INT(limit) };

	return hq_db_exec(db, SQL_JOBS, p, N(p), rows, NULL);
}

int
hq_store_job(hq_db *db, const char *id, const char *uuid, hq_rows **rows)
{
	struct hq_val p[] = { HQ_TEXT(id), HQ_TEXT(uuid) };

	return hq_db_exec(db, SQL_JOB_ONE, p, N(p), rows, NULL);
}

int
hq_store_log(hq_db *db, const char *id, const char *uuid, const char *level,
    int64_t offset, int limit, hq_rows **rows, int64_t *total)
{
	struct hq_val p[] = { HQ_TEXT(id), HQ_TEXT(uuid), HQ_TEXT(level),
	    HQ_INT(limit), HQ_INT(offset) };
	hq_rows *c = NULL;
	int rc;

	*total = 0;
	if ((rc = hq_db_exec(db, SQL_LOG_COUNT, p, 3, &c, NULL)) != PA_OK)
		return rc;
	*total = hq_rows_int(c, 0, 0);
	hq_rows_free(c);
	return hq_db_exec(db, SQL_LOG_PAGE, p, N(p), rows, NULL);
}

int
hq_store_failed_jobs(hq_db *db, int64_t since_ms, hq_rows **rows)
{
	struct hq_val p[] = { HQ_INT(since_ms) };

	return hq_db_exec(db, SQL_FAILED, p, N(p), rows, NULL);
}

int
hq_store_alert_claim(hq_db *db, const char *agent, const char *kind,
    const char *incident, int64_t now_ms, int *fire)
{
	struct hq_val p[] = { HQ_TEXT(agent), HQ_TEXT(kind), HQ_TEXT(incident),
	    HQ_INT(now_ms) };
	long ch = 0;
	int rc;

	*fire = 0;
	if ((rc = hq_db_exec(db, SQL_ALERT_CLAIM, p, N(p), NULL, &ch)) == PA_OK)
		*fire = ch == 1;
	return rc;
}

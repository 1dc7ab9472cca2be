/* outbox — the durable event queue in agent.db (see outbox.h).
 *
 * Depth is kept by triggers in a one-row table, so outbox_put() can check
 * the cap in O(1) (COUNT(*) would read the whole table on every put), and
 * rows inserted by anything else — a test seeding with Python's sqlite3 —
 * are counted too. All SQL text lives in this file. */
#include "sync/outbox.h"

#include <stdio.h>
#include <string.h>

#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"
#include "hal/sqlx.h"

/* The outbox's tables. agent.db's one user_version sequence creates them
 * (agent/store/adb.c calls outbox_schema() in its migration list); a later
 * change to them is a new step appended there, never an edit here. */
static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS outbox("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  type TEXT NOT NULL CHECK (type IN ('job','log')),"
	"  ts TEXT NOT NULL,"
	"  data TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS outbox_stat("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  depth INTEGER NOT NULL DEFAULT 0,"
	"  log_depth INTEGER NOT NULL DEFAULT 0,"
	"  dropped INTEGER NOT NULL DEFAULT 0,"
	"  cap INTEGER NOT NULL DEFAULT 1000000);"
	"INSERT OR IGNORE INTO outbox_stat(id) VALUES (1);"
	"CREATE TRIGGER IF NOT EXISTS outbox_count_ins AFTER INSERT ON outbox "
	"BEGIN UPDATE outbox_stat SET depth = depth + 1,"
	"  log_depth = log_depth + (NEW.type = 'log') WHERE id = 1; END;"
	"CREATE TRIGGER IF NOT EXISTS outbox_count_del AFTER DELETE ON outbox "
	"BEGIN UPDATE outbox_stat SET depth = depth - 1,"
	"  log_depth = log_depth - (OLD.type = 'log') WHERE id = 1; END;"
	"CREATE TABLE IF NOT EXISTS outbox_dead("
	"  seq INTEGER PRIMARY KEY,"
	"  type TEXT NOT NULL, ts TEXT NOT NULL, data TEXT NOT NULL,"
	"  reason TEXT NOT NULL, dead_at TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS sync_state("
	"  key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	/* Before user_version covered these tables, a key said their
	 * version; a database that has it loses it here. */
	"DELETE FROM sync_state WHERE key = 'outbox.schema';";

enum {
	Q_PUT, Q_CAPINFO, Q_DROP, Q_DROPPED, Q_SETCAP, Q_PEEK, Q_ACK,
	Q_DEAD_COPY, Q_DEAD_DEL, Q_STATS, Q_DEAD_LIST, Q_STATE_GET, Q_STATE_SET,
	Q_SYNC_GET, Q_COUNT
};

static const char *const sql[Q_COUNT] = {
	[Q_PUT] = "INSERT INTO outbox(type, ts, data) VALUES (?1, ?2, ?3)",
	[Q_CAPINFO] = "SELECT depth, log_depth, cap FROM outbox_stat WHERE id = 1",
	[Q_DROP] = "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox "
	    "WHERE type = 'log' ORDER BY seq LIMIT ?1)",
	[Q_DROPPED] = "UPDATE outbox_stat SET dropped = dropped + ?1 WHERE id = 1",
	[Q_SETCAP] = "UPDATE outbox_stat SET cap = ?1 WHERE id = 1 AND cap <> ?1",
	[Q_PEEK] = "SELECT seq, type, ts, data FROM outbox "
	    "WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3",
	[Q_ACK] = "DELETE FROM outbox WHERE seq <= ?1",
	[Q_DEAD_COPY] = "INSERT OR REPLACE INTO outbox_dead"
	    "(seq, type, ts, data, reason, dead_at) "
	    "SELECT seq, type, ts, data, ?2, ?3 FROM outbox WHERE seq = ?1",
	[Q_DEAD_DEL] = "DELETE FROM outbox WHERE seq = ?1",
	[Q_STATS] = "SELECT depth, log_depth, dropped, cap,"
	    " (SELECT ts FROM outbox ORDER BY seq LIMIT 1),"
	    " (SELECT seq FROM sqlite_sequence WHERE name = 'outbox'),"
	    " (SELECT count(*) FROM outbox_dead) "
	    "FROM outbox_stat WHERE id = 1",
	[Q_DEAD_LIST] = "SELECT seq, type, ts, reason, dead_at FROM outbox_dead "
	    "ORDER BY seq DESC LIMIT ?1",
	[Q_STATE_GET] = "SELECT value FROM sync_state WHERE key = ?1",
	[Q_STATE_SET] = "INSERT OR REPLACE INTO sync_state(key, value) "
	    "VALUES (?1, ?2)",
	[Q_SYNC_GET] = "PRAGMA synchronous",
};

struct outbox {
	sqlite3 *db;
	sqlite3_stmt *st[Q_COUNT];
	char *buf;              /* serialisation buffer reused by every put */
	size_t buf_cap;
};

/* SQLite codes become ours in hal/sqlx.c, the one mapper; the message
 * says it was the outbox. */
static int
ob__err(sqlite3 *db, int rc, const char *what)
{
	char w[96];

	snprintf(w, sizeof(w), "outbox: %s", what);
	return sqlx_err(db, rc, w);
}

static int
ob__exec(sqlite3 *db, const char *q, const char *what)
{
	int rc = sqlite3_exec(db, q, NULL, NULL, NULL);

	return rc == SQLITE_OK ? PA_OK : ob__err(db, rc, what);
}

/* Step a statement that returns no rows, then reset it. */
static int
ob__run(outbox *ob, int q, const char *what)
{
	int rc = sqlite3_step(ob->st[q]);

	sqlite3_reset(ob->st[q]);
	return rc == SQLITE_DONE ? PA_OK : ob__err(ob->db, rc, what);
}

int
outbox_schema(sqlite3 *db)
{
	int rc;

	/* A savepoint works both inside the caller's migration transaction and
	 * outside any transaction. */
	if ((rc = ob__exec(db, "SAVEPOINT outbox_schema", "create schema")) != PA_OK)
		return rc;
	if ((rc = ob__exec(db, schema_sql, "create schema")) != PA_OK) {
		sqlite3_exec(db, "ROLLBACK TO outbox_schema; RELEASE outbox_schema",
		    NULL, NULL, NULL);
		return rc;
	}
	return ob__exec(db, "RELEASE outbox_schema", "create schema");
}

int
outbox_open(sqlite3 *db, outbox **out)
{
	outbox *ob = NULL;
	int rc = PA_OK, i;

	*out = NULL;
	if ((ob = pa_calloc(1, sizeof(*ob))) == NULL)
		return PA_ENOMEM;
	ob->db = db;
	for (i = 0; i < Q_COUNT; i++) {
		int src = sqlite3_prepare_v3(db, sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &ob->st[i], NULL);
		if (src != SQLITE_OK) {
			rc = ob__err(db, src, "prepare statement");
			goto out;
		}
	}
	*out = ob;
	ob = NULL; /* transferred */
out:
	outbox_close(ob);
	return rc;
}

void
outbox_close(outbox *ob)
{
	int i;

	if (ob == NULL)
		return;
	for (i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(ob->st[i]);
	pa_free(ob->buf);
	pa_free(ob);
}

/* ts goes into the HQ request as a JSON string: accept only the characters
 * an ISO-8601 timestamp has, so it never needs escaping. */
static int
ts_ok(const char *ts)
{
	size_t i;

	for (i = 0; ts[i]; i++) {
		char c = ts[i];
		if (i >= OUTBOX_MAX_TS)
			return 0;
		if (!((c >= '0' && c <= '9') || c == '-' || c == ':' || c == '.' ||
		    c == 'T' || c == 'Z' || c == '+'))
			return 0;
	}
	return i > 0;
}

/* Serialise data into ob->buf (NUL-terminated); *len excludes the NUL. */
static int
serialise(outbox *ob, const json_t *data, size_t *len)
{
	unsigned long nofail = pa_mem_failures();
	size_t need;

	need = json_dumpb(data, ob->buf, ob->buf_cap, JSON_COMPACT);
	if (need == 0 && pa_mem_failures() != nofail)
		return PA_ENOMEM;
	if (need == 0)
		return pa_err_set(PA_EINVAL, "outbox: event data cannot be "
		    "serialised");
	if (need + 1 > ob->buf_cap) {
		size_t ncap = need + 1 > 4096 ? need + 1 : 4096;
		char *nb = pa_realloc(ob->buf, ncap);
		if (nb == NULL)
			return PA_ENOMEM;
		ob->buf = nb;
		ob->buf_cap = ncap;
		if (json_dumpb(data, ob->buf, ob->buf_cap, JSON_COMPACT) != need)
			return pa_err_set(PA_EINTERNAL, "outbox: serialisation "
			    "changed size"); /* cannot happen: data is const */
	}
	ob->buf[need] = '\0';
	*len = need;
	return PA_OK;
}

/* Over the cap: drop the oldest log events (never job events). Runs in the
 * producer's transaction, so the drop commits with the event that caused it. */
static int
enforce_cap(outbox *ob)
{
	sqlite3_stmt *st = ob->st[Q_CAPINFO];
	long long depth, log_depth, cap, n;
	int rc;

	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return ob__err(ob->db, rc, "read depth");
	}
	depth = sqlite3_column_int64(st, 0);
	log_depth = sqlite3_column_int64(st, 1);
	cap = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	if (depth <= cap || log_depth <= 0)
		return PA_OK;
	n = depth - cap < log_depth ? depth - cap : log_depth;
	sqlite3_bind_int64(ob->st[Q_DROP], 1, n);
	if ((rc = ob__run(ob, Q_DROP, "drop oldest log events")) != PA_OK)
		return rc;
	sqlite3_bind_int64(ob->st[Q_DROPPED], 1, sqlite3_changes(ob->db));
	return ob__run(ob, Q_DROPPED, "count dropped events");
}

int
outbox_put(outbox *ob, const char *type, const char *ts, const json_t *data)
{
	sqlite3_stmt *st = ob->st[Q_PUT];
	size_t len = 0;
	int rc;

	if (type == NULL || (strcmp(type, "job") != 0 && strcmp(type, "log") != 0))
		return pa_err_set(PA_EINVAL, "outbox: event type must be job or "
		    "log, not '%s'", type ? type : "(null)");
	if (ts == NULL || !ts_ok(ts))
		return pa_err_set(PA_EINVAL, "outbox: bad event timestamp '%s'",
		    ts ? ts : "(null)");
	if (!json_is_object(data))
		return pa_err_set(PA_EINVAL, "outbox: event data must be a JSON "
		    "object");
	if ((rc = serialise(ob, data, &len)) != PA_OK)
		return rc;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ts, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ob->buf, (int)len, SQLITE_STATIC);
	rc = ob__run(ob, Q_PUT, "append event");
	sqlite3_clear_bindings(st);
	if (rc != PA_OK)
		return rc;
	return enforce_cap(ob);
}

int
outbox_set_cap(outbox *ob, long long cap)
{
	sqlite3_stmt *st = ob->st[Q_CAPINFO];
	long long cur = -1;
	int rc;

	if (cap < 1)
		return pa_err_set(PA_EINVAL, "outbox: cap must be positive");
	/* Read first: even an UPDATE that changes nothing takes the write
	 * lock, and `posagent status` must not wait behind a long import. */
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cur = sqlite3_column_int64(st, 2);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return ob__err(ob->db, rc, "read cap");
	if (cur == cap)
		return PA_OK;
	sqlite3_bind_int64(ob->st[Q_SETCAP], 1, cap);
	return ob__run(ob, Q_SETCAP, "set cap");
}

static void
batch_clear(struct outbox_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		pa_free(b->ev[i].data);
		b->ev[i].data = NULL;
	}
	b->n = 0;
	b->bytes = 0;
}

void
outbox_batch_free(struct outbox_batch *b)
{
	if (b == NULL)
		return;
	batch_clear(b);
	pa_free(b->ev);
	b->ev = NULL;
	b->alloc = 0;
}

static int
batch_grow(struct outbox_batch *b)
{
	size_t ncap = b->alloc ? b->alloc * 2 : 64;
	struct outbox_event *nev;

	nev = pa_realloc(b->ev, ncap * sizeof(*nev));
	if (nev == NULL)
		return PA_ENOMEM;
	b->ev = nev;
	b->alloc = ncap;
	return PA_OK;
}

int
outbox_peek(outbox *ob, long long after, long long upto, size_t max_events,
    size_t max_bytes, struct outbox_batch *b)
{
	sqlite3_stmt *st = ob->st[Q_PEEK];
	int rc = PA_OK, src;

	batch_clear(b);
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, upto < 0 ? INT64_MAX : upto);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max_events);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		struct outbox_event *e;
		const char *type = (const char *)sqlite3_column_text(st, 1);
		const char *ts = (const char *)sqlite3_column_text(st, 2);
		const char *data = (const char *)sqlite3_column_text(st, 3);
		size_t dlen = (size_t)sqlite3_column_bytes(st, 3);

		if (b->n > 0 && b->bytes + dlen > max_bytes)
			break;
		if (b->n == b->alloc && (rc = batch_grow(b)) != PA_OK)
			goto out;
		e = &b->ev[b->n];
		memset(e, 0, sizeof(*e));
		e->seq = sqlite3_column_int64(st, 0);
		snprintf(e->type, sizeof(e->type), "%s", type ? type : "");
		snprintf(e->ts, sizeof(e->ts), "%s", ts ? ts : "");
		if ((e->data = pa_strndup(data ? data : "{}", data ? dlen : 2)) ==
		    NULL) {
			rc = PA_ENOMEM;
			goto out;
		}
		e->data_len = data ? dlen : 2;
		b->bytes += e->data_len;
		b->n++;
	}
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = ob__err(ob->db, src, "read events");
out:
	sqlite3_reset(st);
	if (rc != PA_OK)
		batch_clear(b);
	return rc;
}

/* The connection's synchronous level (0..3), or -1 if unknown. */
static int
sync_level(outbox *ob)
{
	sqlite3_stmt *st = ob->st[Q_SYNC_GET];
	int v = -1;

	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return v;
}

int
outbox_ack(outbox *ob, long long upto, long long *removed)
{
	char restore[40];
	int rc, level = -1;

	if (removed)
		*removed = 0;
	/* An ack needs no fsync of its own: if a power cut undoes it, the
	 * events are sent again and HQ deduplicates them. Skipping it halves
	 * the fsyncs per batch. Only outside a transaction: inside one, the
	 * commit belongs to the caller. The next FULL commit of anyone's
	 * syncs the WAL, acks included. */
	if (sqlite3_get_autocommit(ob->db) && (level = sync_level(ob)) > 1)
		sqlite3_exec(ob->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	sqlite3_bind_int64(ob->st[Q_ACK], 1, upto);
	if ((rc = ob__run(ob, Q_ACK, "delete acknowledged events")) == PA_OK &&
	    removed)
		*removed = sqlite3_changes(ob->db);
	if (level > 1) {
		/* PRAGMA takes no parameters; level is SQLite's own 2 or 3. */
		snprintf(restore, sizeof(restore), "PRAGMA synchronous=%d", level);
		sqlite3_exec(ob->db, restore, NULL, NULL, NULL);
	}
	return rc;
}

int
outbox_dead_letter(outbox *ob, long long seq, const char *reason)
{
	char now[32];
	int rc;

	hal_now_iso(now);
	if ((rc = ob__exec(ob->db, "SAVEPOINT outbox_dead", "dead-letter")) !=
	    PA_OK)
		return rc;
	sqlite3_bind_int64(ob->st[Q_DEAD_COPY], 1, seq);
	sqlite3_bind_text(ob->st[Q_DEAD_COPY], 2, reason ? reason : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(ob->st[Q_DEAD_COPY], 3, now, -1, SQLITE_STATIC);
	rc = ob__run(ob, Q_DEAD_COPY, "dead-letter event");
	sqlite3_clear_bindings(ob->st[Q_DEAD_COPY]);
	if (rc != PA_OK)
		goto out;
	sqlite3_bind_int64(ob->st[Q_DEAD_DEL], 1, seq);
	rc = ob__run(ob, Q_DEAD_DEL, "dead-letter event");
out:
	if (rc != PA_OK) {
		sqlite3_exec(ob->db, "ROLLBACK TO outbox_dead; RELEASE outbox_dead",
		    NULL, NULL, NULL);
		return rc;
	}
	return ob__exec(ob->db, "RELEASE outbox_dead", "dead-letter");
}

int
outbox_stats(outbox *ob, struct outbox_stats *s)
{
	sqlite3_stmt *st = ob->st[Q_STATS];
	const char *ts;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = ob__err(ob->db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
		    "read outbox stats");
		goto out;
	}
	s->depth = sqlite3_column_int64(st, 0);
	s->log_depth = sqlite3_column_int64(st, 1);
	s->dropped = sqlite3_column_int64(st, 2);
	s->cap = sqlite3_column_int64(st, 3);
	ts = (const char *)sqlite3_column_text(st, 4);
	snprintf(s->oldest_ts, sizeof(s->oldest_ts), "%s", ts ? ts : "");
	s->last_seq = sqlite3_column_int64(st, 5);
	s->dead = sqlite3_column_int64(st, 6);
	rc = PA_OK;
out:
	sqlite3_reset(st);
	return rc;
}

int
outbox_dead_json(outbox *ob, int limit, json_t **out)
{
	sqlite3_stmt *st = ob->st[Q_DEAD_LIST];
	json_t *arr = NULL;
	int rc = PA_OK, src;

	*out = NULL;
	if ((arr = json_array()) == NULL)
		return PA_ENOMEM;
	sqlite3_bind_int(st, 1, limit);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_pack("{s:I,s:s?,s:s?,s:s?,s:s?}",
		    "seq", (json_int_t)sqlite3_column_int64(st, 0),
		    "type", (const char *)sqlite3_column_text(st, 1),
		    "ts", (const char *)sqlite3_column_text(st, 2),
		    "reason", (const char *)sqlite3_column_text(st, 3),
		    "dead_at", (const char *)sqlite3_column_text(st, 4));
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			rc = PA_ENOMEM;
			goto out;
		}
	}
	if (src != SQLITE_DONE) {
		rc = ob__err(ob->db, src, "read dead letters");
		goto out;
	}
	*out = arr;
	arr = NULL; /* transferred */
out:
	sqlite3_reset(st);
	json_decref(arr);
	return rc;
}

int
outbox_state_get(outbox *ob, const char *key, char *buf, size_t cap)
{
	sqlite3_stmt *st = ob->st[Q_STATE_GET];
	int rc = PA_OK, src;

	if (cap > 0)
		buf[0] = '\0';
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (v && (size_t)snprintf(buf, cap, "%s", v) >= cap)
			rc = pa_err_set(PA_ELIMIT, "outbox: state %s too long", key);
	} else if (src != SQLITE_DONE) {
		rc = ob__err(ob->db, src, "read sync state");
	}
	sqlite3_reset(st);
	return rc;
}

int
outbox_state_set(outbox *ob, const char *key, const char *value)
{
	sqlite3_stmt *st = ob->st[Q_STATE_SET];

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value ? value : "", -1, SQLITE_STATIC);
	return ob__run(ob, Q_STATE_SET, "write sync state");
}

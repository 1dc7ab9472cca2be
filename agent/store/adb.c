#include "agent/store/adb.h"
#include "agent/store/adb_int.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hal/sqlx.h"
#include "hal/hal.h"
#include "hal/pa_err.h"
#include "hal/pa_mem.h"

/* The one way agent.db's schema is versioned, the outbox's tables included:
 * forward-only steps, index i bringing user_version from i to i+1, each run
 * inside the migration's transaction. A step is SQL text, a function of the
 * module that owns the tables (sync/ keeps its SQL to itself), or both (the
 * function first). Never edit a shipped step: append a new one. */
struct migration {
	const char *sql;
	int (*fn)(sqlite3 *db);
};

static const struct migration migrations[] = {
	/* 0 -> 1 */
	{
	"CREATE TABLE profile("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  json TEXT NOT NULL,"
	"  created_at TEXT NOT NULL);"
	"CREATE TABLE job("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  profile TEXT NOT NULL,"
	"  file_name TEXT NOT NULL,"
	"  file_sha256 TEXT NOT NULL,"
	"  file_size INTEGER NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN"
	"    ('draft','running','done','failed','cancelled')),"
	"  create_date TEXT NOT NULL,"
	"  start_date TEXT, end_date TEXT, duration REAL,"
	"  total_rows INTEGER NOT NULL DEFAULT 0,"
	"  processed_rows INTEGER NOT NULL DEFAULT 0,"
	"  created_count INTEGER NOT NULL DEFAULT 0,"
	"  updated_count INTEGER NOT NULL DEFAULT 0,"
	"  skipped_count INTEGER NOT NULL DEFAULT 0,"
	"  error_count INTEGER NOT NULL DEFAULT 0,"
	"  progress_percent REAL NOT NULL DEFAULT 0,"
	"  error_message TEXT, notes TEXT,"
	"  cancel_requested INTEGER NOT NULL DEFAULT 0,"
	"  dry_run INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX job_state ON job(state);"
	"CREATE INDEX job_sha ON job(file_sha256, profile);"
	"CREATE TABLE job_log("
	"  id INTEGER PRIMARY KEY,"
	"  job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,"
	"  level TEXT NOT NULL CHECK (level IN ('info','warning','error')),"
	"  message TEXT NOT NULL,"
	"  row_number INTEGER NOT NULL DEFAULT 0,"
	"  row_data TEXT,"
	"  create_date TEXT NOT NULL);"
	"CREATE INDEX job_log_job ON job_log(job_id, id);"
	"CREATE TABLE sequence(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE agent_state(key TEXT PRIMARY KEY, value TEXT);", NULL },
	/* 1 -> 2: file_name is the valid-UTF-8 rendering of the name's bytes;
	 * this says how it was made (agent/core/names.h, issue #9). */
	{ "ALTER TABLE job ADD COLUMN file_name_encoding TEXT NOT NULL "
	"DEFAULT 'utf-8';", NULL },
	/* 2 -> 3: an import run past a refusing KKT gate by a person
	 * (--override-gate) keeps who, why and what the adapter said, as JSON
	 * {"by","reason","kkt"}; and while the gate keeps refusing imports,
	 * since when and how often (one row, gone when the gate passes), for
	 * the heartbeat (issue #10). */
	{ "ALTER TABLE job ADD COLUMN gate_override TEXT;"
	"CREATE TABLE gate_refusal("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  since TEXT NOT NULL,"
	"  refusals INTEGER NOT NULL,"
	"  last_ts TEXT NOT NULL,"
	"  last_reason TEXT NOT NULL);", NULL },
	/* 3 -> 4: unchanged rows, the price guard's verdict, and the state
	 * `reverted`. A CHECK cannot be altered, so the table is rebuilt the
	 * way SQLite documents (foreign keys are off while migrating, so
	 * dropping the old table keeps the logs). */
	{ "CREATE TABLE job_new("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  profile TEXT NOT NULL,"
	"  file_name TEXT NOT NULL,"
	"  file_sha256 TEXT NOT NULL,"
	"  file_size INTEGER NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN"
	"    ('draft','running','done','failed','cancelled','reverted')),"
	"  create_date TEXT NOT NULL,"
	"  start_date TEXT, end_date TEXT, duration REAL,"
	"  total_rows INTEGER NOT NULL DEFAULT 0,"
	"  processed_rows INTEGER NOT NULL DEFAULT 0,"
	"  created_count INTEGER NOT NULL DEFAULT 0,"
	"  updated_count INTEGER NOT NULL DEFAULT 0,"
	"  skipped_count INTEGER NOT NULL DEFAULT 0,"
	"  error_count INTEGER NOT NULL DEFAULT 0,"
	"  progress_percent REAL NOT NULL DEFAULT 0,"
	"  error_message TEXT, notes TEXT,"
	"  cancel_requested INTEGER NOT NULL DEFAULT 0,"
	"  dry_run INTEGER NOT NULL DEFAULT 0,"
	"  file_name_encoding TEXT NOT NULL DEFAULT 'utf-8',"
	"  gate_override TEXT,"
	"  unchanged_count INTEGER NOT NULL DEFAULT 0,"
	"  price_guard TEXT);"
	"INSERT INTO job_new(id, name, uuid, profile, file_name, file_sha256,"
	"  file_size, state, create_date, start_date, end_date, duration,"
	"  total_rows, processed_rows, created_count, updated_count,"
	"  skipped_count, error_count, progress_percent, error_message, notes,"
	"  cancel_requested, dry_run, file_name_encoding, gate_override)"
	"  SELECT id, name, uuid, profile, file_name, file_sha256,"
	"  file_size, state, create_date, start_date, end_date, duration,"
	"  total_rows, processed_rows, created_count, updated_count,"
	"  skipped_count, error_count, progress_percent, error_message, notes,"
	"  cancel_requested, dry_run, file_name_encoding, gate_override FROM job;"
	"DROP TABLE job;"
	"ALTER TABLE job_new RENAME TO job;"
	"CREATE INDEX job_state ON job(state);"
	"CREATE INDEX job_sha ON job(file_sha256, profile);", NULL },
	/* 4 -> 5: the outbox's tables join this sequence (until now they
	 * kept their own version in sync_state and were checked on every
	 * open; outbox_schema() is idempotent, so a database that has them
	 * keeps its events); agent_state was never used (issue #11). */
	{ "DROP TABLE IF EXISTS agent_state;", outbox_schema },
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int
migrate(adb *a)
{
	int version, rc, i;

	if ((rc = sqlx_user_version(a->db, &version)) != PA_OK)
		return rc;
	if (version > NMIGRATIONS)
		return pa_err_set(PA_EDB, "agent.db schema version %d is newer than "
		    "this posagent understands (%d): upgrade posagent", version,
		    NMIGRATIONS);
	if (version == NMIGRATIONS)
		return PA_OK;
	if ((rc = adb_begin(a)) != PA_OK)
		return rc;
	/* Re-read under the write lock: another first command may have
	 * migrated meanwhile (issue #8). */
	if ((rc = sqlx_user_version(a->db, &version)) != PA_OK)
		goto out;
	for (i = version; i < NMIGRATIONS; i++) {
		if (migrations[i].fn && (rc = migrations[i].fn(a->db)) != PA_OK)
			goto out;
		if (migrations[i].sql && (rc = sqlx_exec(a->db, migrations[i].sql,
		    "migrate agent.db")) != PA_OK)
			goto out;
	}
	if ((rc = sqlx_set_user_version(a->db, NMIGRATIONS)) != PA_OK)
		goto out;
	rc = adb_commit(a);
out:
	if (rc != PA_OK)
		adb_rollback(a);
	return rc;
}

int
adb_open(const char *data_dir, adb **out)
{
	char path[PATH_MAX];
	adb *a = NULL;
	int rc;

	*out = NULL;
	if ((rc = hal_mkdirs(data_dir)) != PA_OK)
		return pa_err_wrap(rc == PA_EEXISTS ? PA_ECONFIG : rc, "data "
		    "directory ([agent] data_dir or -d): ");
	if ((size_t)snprintf(path, sizeof(path), "%s/agent.db", data_dir) >=
	    sizeof(path))
		return pa_err_set(PA_ECONFIG, "data_dir too long: %s", data_dir);
	if ((a = pa_calloc(1, sizeof(*a))) == NULL)
		return PA_ENOMEM;
	/* FULL: a committed job event must survive power loss (DESIGN §3). */
	if ((rc = sqlx_open(path, SQLX_SYNC_FULL | SQLX_INCR_VACUUM, &a->db)) !=
	    PA_OK)
		goto out;
	/* Migrate before foreign keys are on: a step that rebuilds a table
	 * must not cascade into the rows that refer to it. */
	if ((rc = migrate(a)) != PA_OK)
		goto out;
	if ((rc = sqlx_exec(a->db, "PRAGMA foreign_keys=ON", "agent.db")) != PA_OK)
		goto out;
	if ((rc = outbox_open(a->db, &a->ob)) != PA_OK)
		goto out;
	*out = a;
	a = NULL; /* transferred */
out:
	adb_close(a);
	return rc;
}

void
adb_close(adb *a)
{
	int i;

	if (a == NULL)
		return;
	for (i = 0; i < ADB__NSQL; i++)
		sqlite3_finalize(a->st[i]);
	outbox_close(a->ob);
	sqlx_close(a->db);
	pa_free(a);
}

outbox *
adb_outbox(adb *a)
{
	return a->ob;
}

int
adb__stmt(adb *a, enum adb__sql id, sqlite3_stmt **st)
{
	int rc;

	*st = NULL;
	if (a->st[id] == NULL) {
		if ((rc = sqlx_prepare(a->db, adb__sql[id], &a->st[id])) != PA_OK)
			return rc;
		a->prepared++;
	}
	*st = a->st[id];
	return PA_OK;
}

void
adb__done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int
adb__step_done(adb *a, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	return rc == SQLITE_DONE ? PA_OK : sqlx_err(a->db, rc, what);
}

long
adb_prepared(const adb *a)
{
	return a->prepared;
}

int
adb_begin(adb *a)
{
	return sqlx_exec(a->db, "BEGIN IMMEDIATE", "begin agent.db transaction");
}

int
adb_commit(adb *a)
{
	return sqlx_exec(a->db, "COMMIT", "commit agent.db transaction");
}

int
adb_rollback(adb *a)
{
	if (sqlite3_get_autocommit(a->db))
		return PA_OK;
	return sqlx_exec(a->db, "ROLLBACK", "roll back agent.db transaction");
}

int
adb_in_tx(adb *a)
{
	return !sqlite3_get_autocommit(a->db);
}

static int
pragma_int(adb *a, enum adb__sql id, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = adb__stmt(a, id, &st)) != PA_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = PA_OK;
	} else {
		rc = sqlx_err(a->db, rc, "read agent.db size");
	}
	adb__done(st);
	return rc;
}

int
adb_pages(adb *a, struct adb_pages *out)
{
	int64_t mode = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = pragma_int(a, ADB__PAGE_SIZE, &out->page_size)) != PA_OK ||
	    (rc = pragma_int(a, ADB__PAGE_COUNT, &out->pages)) != PA_OK ||
	    (rc = pragma_int(a, ADB__FREELIST_COUNT, &out->free_pages)) != PA_OK ||
	    (rc = pragma_int(a, ADB__AUTO_VACUUM, &mode)) != PA_OK)
		return rc;
	out->incremental = mode == 2;
	return PA_OK;
}

int
adb_vacuum_incremental(adb *a)
{
	return sqlx_exec(a->db, "PRAGMA incremental_vacuum", "return free pages");
}

int
adb_vacuum_full(adb *a)
{
	int rc;

	if ((rc = sqlx_exec(a->db, "PRAGMA auto_vacuum=INCREMENTAL",
	    "enable incremental vacuum")) != PA_OK)
		return rc;
	return sqlx_exec(a->db, "VACUUM", "vacuum agent.db");
}

void
adb_checkpoint(adb *a)
{
	(void)sqlite3_exec(a->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
	    NULL);
}

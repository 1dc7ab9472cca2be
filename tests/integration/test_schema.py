"""agent.db has one schema version, PRAGMA user_version, covering the
outbox's tables too (issue #11)."""
import sqlite3


def _db(agent):
    return sqlite3.connect(str(agent.data / "agent.db"))


def test_fresh_agent_db_is_fully_versioned(agent):
    r = agent.run("profile", "list")
    assert r.rc == 0, r
    db = _db(agent)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {n for (n,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        keys = [k for (k,) in db.execute("SELECT key FROM sync_state")]
    finally:
        db.close()
    assert version >= 5
    assert {"outbox", "outbox_stat", "outbox_dead", "sync_state"} <= tables
    assert "agent_state" not in tables
    assert "outbox.schema" not in keys


def test_version_4_database_migrates_and_keeps_its_events(agent):
    """A database written before the outbox joined user_version (it kept
    its own key in sync_state, and an unused agent_state table)."""
    assert agent.run("profile", "list").rc == 0
    db = _db(agent)
    try:
        db.executescript(
            "CREATE TABLE agent_state(key TEXT PRIMARY KEY, value TEXT);"
            "INSERT INTO sync_state(key, value) VALUES ('outbox.schema', '1');"
            "INSERT INTO outbox(type, ts, data) VALUES"
            "  ('log', '2026-01-01T00:00:00.000Z', '{}');"
            "PRAGMA user_version = 4;")
    finally:
        db.close()
    r = agent.run("profile", "list")
    assert r.rc == 0, r
    db = _db(agent)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        has_state = db.execute("SELECT count(*) FROM sqlite_master WHERE "
                               "name = 'agent_state'").fetchone()[0]
        key = db.execute("SELECT count(*) FROM sync_state WHERE "
                         "key = 'outbox.schema'").fetchone()[0]
        depth = db.execute("SELECT depth FROM outbox_stat").fetchone()[0]
        rows = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        db.close()
    assert version >= 5
    assert has_state == 0
    assert key == 0
    assert rows == 1 and depth == 1

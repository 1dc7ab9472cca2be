"""posagent-hq receiving (DESIGN §7) over real TLS, on SQLite and on
PostgreSQL: identity, exactly-once, bounds, backpressure, derived views."""
import threading
import time

from fx_hqd import (AGENT_ID, add_agent, batch, hq_post, job_event, log_event,
                    start_hqd, wait_for)


def test_batch_is_stored_and_acked(hqd, hq_pki):
    evs = [job_event(1, state="running"), log_event(2), log_event(3, row=3),
           job_event(4, state="failed", error_message="3 error rows")]
    st, doc, _ = hq_post(hqd, hq_pki, AGENT_ID, "events", batch(evs))
    assert (st, doc) == (200, {"ack": 4})
    assert hqd.store.count("hq_event") == 4
    assert hqd.store.count("hq_log") == 2
    assert hqd.store.query("SELECT state FROM hq_job") == [["failed"]]
    # The agent's probe: an empty batch answers the highest stored seq.
    st, doc, _ = hq_post(hqd, hq_pki, AGENT_ID, "events", batch([]))
    assert (st, doc) == (200, {"ack": 4})


def test_resent_batch_counts_once(hqd, hq_pki):
    evs = [job_event(1), log_event(2), log_event(3)]
    for _ in range(3):
        st, doc, _ = hq_post(hqd, hq_pki, AGENT_ID, "events", batch(evs))
        assert (st, doc) == (200, {"ack": 3})
    # An overlapping resend: old part ignored, new part stored.
    st, doc, _ = hq_post(hqd, hq_pki, AGENT_ID, "events",
                         batch(evs[1:] + [log_event(4), log_event(5)]))
    assert (st, doc) == (200, {"ack": 5})
    assert hqd.store.count("hq_event") == 5
    assert hqd.store.count("hq_log") == 4


def test_concurrent_duplicates_on_two_processes_count_once(hqd, hq_pki, tmp_path):
    """The same batches at the same time, to two posagent-hq sharing one
    store: the unique (agent_id, seq) key lets each event in once."""
    other = start_hqd(tmp_path, hqd.store, hq_pki, name="hqd2")
    try:
        evs = [job_event(1)] + [log_event(s, row=s) for s in range(2, 301)]
        results = []

        def post(srv):
            results.append(hq_post(srv, hq_pki, AGENT_ID, "events", batch(evs))[:2])

        ts = [threading.Thread(target=post, args=(s,)) for s in (hqd, other, hqd, other)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert results == [(200, {"ack": 300})] * 4
        assert hqd.store.count("hq_event") == 300
        assert hqd.store.count("hq_log") == 299
    finally:
        other.stop()


def test_another_stores_id_is_refused_and_logged(hqd, hq_pki):
    add_agent(hqd.store, "store-test-002")
    # store-test-001's certificate posting as store-test-002.
    st, doc, _ = hq_post(hqd, hq_pki, "store-test-002", "events",
                         batch([job_event(1)], "store-test-002"))
    assert st == 403, doc
    assert "not those of agent store-test-002" in doc["error"]
    st, _, _ = hq_post(hqd, hq_pki, "store-test-002", "heartbeat",
                       {"agent_id": "store-test-002"})
    assert st == 403
    assert hqd.store.count("hq_event") == 0
    assert "refused 127.0.0.1: credentials are not those of agent store-test-002" \
        in hqd.stderr()


def test_unknown_store_refused_until_registered(hqd, hq_pki):
    st, doc, _ = hq_post(hqd, hq_pki, "store-test-002", "events",
                         batch([job_event(1)], "store-test-002"), client="client2")
    assert st == 403 and "not registered" in doc["error"]
    add_agent(hqd.store, "store-test-002")
    st, doc, _ = hq_post(hqd, hq_pki, "store-test-002", "events",
                         batch([job_event(1)], "store-test-002"), client="client2")
    assert (st, doc) == (200, {"ack": 1})


def test_no_credential_is_401(hqd, hq_pki):
    st, doc, hd = hq_post(hqd, hq_pki, AGENT_ID, "events", batch([job_event(1)]),
                          client=None)
    assert st == 401 and hd.get("WWW-Authenticate") == "Bearer"
    assert hqd.store.count("hq_event") == 0


def test_first_contact_accepted_only_when_configured(tmp_path, hq_db, hq_pki):
    srv = start_hqd(tmp_path, hq_db, hq_pki, "--accept-new-agents")
    try:
        st, doc, _ = hq_post(srv, hq_pki, "store-test-002", "events",
                             batch([job_event(1)], "store-test-002"), client="client2")
        assert (st, doc) == (200, {"ack": 1})
        assert hq_db.query("SELECT id, first_contact FROM hq_agent") == \
            [["store-test-002", 1 if hq_db.kind == "sqlite" else "1"]]
        assert "registered on first contact" in srv.stderr()
        # The certificate still has to name the id.
        st, _, _ = hq_post(srv, hq_pki, "store-test-003", "events",
                           batch([job_event(1)], "store-test-003"), client="client2")
        assert st == 403
    finally:
        srv.stop()


def test_token_registered_for_the_store(hqd, hq_pki, tmp_path):
    tf = tmp_path / "store2.token"
    r = add_agent(hqd.store, "store-test-002", token_file=str(tf))
    assert "new token written" in r.stdout and oct(tf.stat().st_mode & 0o777) == "0o600"
    tok = tf.read_text().strip()
    st, doc, _ = hq_post(hqd, hq_pki, "store-test-002", "events",
                         batch([job_event(1)], "store-test-002"), client=None, token=tok)
    assert (st, doc) == (200, {"ack": 1})
    # Its token is no identity for another store, nor an operator's.
    st, _, _ = hq_post(hqd, hq_pki, AGENT_ID, "events", batch([job_event(1)]),
                       client=None, token=tok)
    assert st == 403
    assert hqd.api("/api/v1/fleet", token=tok, expect=None)[0] == 401
    assert tok not in str(hqd.store.query("SELECT token_hash FROM hq_agent"))


def test_malformed_requests_are_400_and_store_nothing(hqd, hq_pki):
    cases = [
        (b"{not json", "body is not JSON"),
        ([1, 2], "not a JSON object"),
        ({"events": []}, "agent_id"),
        (batch([job_event(1)], "store-x"), "does not match"),
        ({"agent_id": AGENT_ID, "events": {}}, "events: missing or not an array"),
        (batch([job_event(1), log_event(1)]), "events[1].seq"),
        (batch([job_event(1), {**log_event(2), "ts": "yesterday"}]), "events[1] (seq 2).ts"),
        (batch([job_event(1), {**log_event(2), "data": []}]), "data: missing or not an object"),
        (batch([job_event(1), job_event(2, uuid=7)]), "data.uuid"),
        (batch([job_event(1), {**log_event(2), "seq": "2"}]), "events[1].seq"),
    ]
    for body, words in cases:
        st, doc, _ = hq_post(hqd, hq_pki, AGENT_ID, "events", body)
        assert st == 400, (body, doc)
        assert words in doc["error"], (words, doc)
    assert hqd.store.count("hq_event") == 0 and hqd.store.count("hq_job") == 0
    st, doc, _ = hq_post(hqd, hq_pki, AGENT_ID, "heartbeat",
                         {"agent_id": AGENT_ID, "kkt": "fine"})
    assert st == 400 and "kkt" in doc["error"]


def test_oversized_batches_are_413(hqd, hq_pki):
    evs = [log_event(s, row=1) for s in range(1, 10002)]
    st, doc, _ = hq_post(hqd, hq_pki, AGENT_ID, "events", batch(evs))
    assert st == 413 and "at most 10000" in doc["error"]
    big = batch([{**log_event(1), "data": {**log_event(1)["data"], "message": "x" * (7 << 20)}}])
    st, doc, _ = hq_post(hqd, hq_pki, AGENT_ID, "events", big)
    assert st == 413
    assert hqd.store.count("hq_event") == 0


def test_older_snapshot_never_overwrites_newer(hqd, hq_pki):
    st, _, _ = hq_post(hqd, hq_pki, AGENT_ID, "events",
                       batch([job_event(10, state="done", processed_rows=5)]))
    assert st == 200
    # seq 5 (running) arrives late, after a dead-letter gap was filled, say.
    st, _, _ = hq_post(hqd, hq_pki, AGENT_ID, "events",
                       batch([job_event(5, state="running")]))
    assert st == 200
    st, doc = hqd.api(f"/api/v1/agents/{AGENT_ID}")
    assert [j["state"] for j in doc["jobs"]] == ["done"]
    assert doc["agent"]["last_done"]["processed_rows"] == 5


def test_store_busy_answers_429_with_retry_after(tmp_path, hq_db, hq_pki):
    add_agent(hq_db)
    srv = start_hqd(tmp_path, hq_db, hq_pki, "--busy-timeout-ms", "200")
    holder = None
    try:
        if hq_db.kind == "sqlite":
            import sqlite3
            holder = sqlite3.connect(hq_db.spec, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
        else:
            import subprocess
            holder = subprocess.Popen(
                ["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-A", "-t", "-d",
                 hq_db.spec], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            holder.stdin.write("BEGIN; LOCK TABLE hq_event IN ACCESS EXCLUSIVE MODE;"
                               " SELECT 'locked';\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "locked"
        st, doc, hd = hq_post(srv, hq_pki, AGENT_ID, "events", batch([job_event(1)]))
        assert st == 429, doc
        assert hd.get("Retry-After") == "1"
        if hq_db.kind == "sqlite":
            holder.execute("ROLLBACK")
        else:
            holder.stdin.write("ROLLBACK;\n")
            holder.stdin.flush()
        st, doc, _ = hq_post(srv, hq_pki, AGENT_ID, "events", batch([job_event(1)]))
        assert (st, doc) == (200, {"ack": 1})
    finally:
        if hq_db.kind == "sqlite" and holder:
            holder.close()
        elif holder:
            holder.stdin.close()
            holder.wait(timeout=30)
        srv.stop()


def test_retention_per_event_type(tmp_path, hq_db, hq_pki):
    """Log events older than --retain-log-days go, job snapshots stay (their
    own retention is longer); a late resend of a removed event is not stored
    again."""
    add_agent(hq_db)
    srv = start_hqd(tmp_path, hq_db, hq_pki, "--retain-log-days", "30",
                    "--retain-job-days", "3650", "--alert-interval-ms", "100")
    try:
        old = [dict(job_event(1), ts="2020-01-01T00:00:00.000Z"),
               dict(log_event(2), ts="2020-01-01T00:00:01.000Z"),
               dict(log_event(3), ts="2020-01-01T00:00:02.000Z")]
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        new = [dict(log_event(4), ts=now)]
        st, doc, _ = hq_post(srv, hq_pki, AGENT_ID, "events", batch(old + new))
        assert (st, doc) == (200, {"ack": 4})
        wait_for(lambda: hq_db.count("hq_log") == 1, what="old logs removed")
        assert hq_db.count("hq_job") == 1
        assert hq_db.count("hq_event") == 2
        assert [int(r[0]) for r in hq_db.query("SELECT pruned_seq FROM hq_agent")] == [3]
        st, doc, _ = hq_post(srv, hq_pki, AGENT_ID, "events", batch(old[1:]))
        assert (st, doc) == (200, {"ack": 3})
        assert hq_db.count("hq_log") == 1 and hq_db.count("hq_event") == 2
    finally:
        srv.stop()

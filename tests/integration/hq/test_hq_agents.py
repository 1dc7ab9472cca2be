"""The real posagent syncing through real TLS (mbedTLS client, GnuTLS
server) to the real posagent-hq, on SQLite and on PostgreSQL."""
import json
import signal
import sqlite3

from fx_hq import outbox_rows, use_hq

from fx_hqd import AGENT_ID, add_agent, start_hqd, wait_for


def use_hqd(agent, srv, pki, **kw):
    return use_hq(agent, srv, pki, cert_file=pki["client"],
                  key_file=pki["client_key"], **kw)


def seed_valid(agent, n, start=0):
    """n events as an import makes them: per 100, a job snapshot then logs."""
    db = sqlite3.connect(str(agent.data / "agent.db"))
    try:
        with db:
            for i in range(start, start + n):
                ts = "2026-11-26T05:%02d:%02d.%03dZ" % (i // 60000 % 60, i // 1000 % 60, i % 1000)
                uuid = "job-%05d" % (i // 100)
                if i % 100 == 0:
                    t, data = "job", {"name": "IMP/%05d" % (i // 100), "uuid": uuid,
                                      "state": "done", "profile": "Test",
                                      "file_name": "f.csv", "end_date": ts}
                else:
                    t, data = "log", {"job": "IMP/%05d" % (i // 100), "job_uuid": uuid,
                                      "level": "error", "row_number": i % 100 + 1,
                                      "message": f"row {i} «bad»",
                                      "row_data": {"SKU": f"S{i}"}}
                db.execute("INSERT INTO outbox(type, ts, data) VALUES (?,?,?)",
                           (t, ts, json.dumps(data, ensure_ascii=False)))
    finally:
        db.close()


def write_csv(agent, name, rows):
    p = agent.dir / name
    lines = ["SKU,Product Name,Price,Stock,Category,Brand"]
    lines += [",".join(r) for r in rows]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_real_import_reaches_hq_and_its_api(agent, hqd, hq_pki):
    use_hqd(agent, hqd, hq_pki)
    agent.add_profile()
    f = write_csv(agent, "list.csv", [
        ("SKU1", "Lens 1.5", "1000.00", "3", "Lenses", "A"),
        ("SKU2", "Lens 1.6", "12 000 руб.", "3", "Lenses", "A"),   # error row 3
        ("SKU3", "Frame", "2500,50", "1", "Frames", "B"),
    ])
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0, r
    sent = agent.jrun("status")[1]["outbox"]["depth"]
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    assert hqd.store.count("hq_event") == sent
    st, fleet = hqd.api("/api/v1/fleet")
    a = fleet["agents"][0]
    assert a["id"] == AGENT_ID and a["online"] is True
    assert a["last_done"]["name"] == job["name"] and a["last_failed"] is None
    assert a["version"] and a["kkt"]["backend"] == "none"
    assert a["outbox"]["depth"] is not None
    st, doc = hqd.api(f"/api/v1/agents/{AGENT_ID}/jobs/{job['uuid']}?level=error")
    assert doc["job"]["state"] == "done" and doc["log"]["total"] == 1
    e = doc["log"]["entries"][0]
    assert e["row_number"] == 3 and e["row_data"]["Price"] == "12 000 руб."


def test_agent_posting_as_another_store_gets_403(agent, hqd, hq_pki):
    add_agent(hqd.store, "store-test-002")
    agent.conf["agent"]["id"] = "store-test-002"   # but store-test-001's cert
    use_hqd(agent, hqd, hq_pki)
    seed_valid(agent, 10)
    r = agent.run("sync", "--once")
    assert r.rc != 0, r
    assert "HTTP 403" in r.err + r.out, r
    assert len(outbox_rows(agent)) == 10           # kept, not dead-lettered
    assert hqd.store.count("hq_event") == 0
    assert "credentials are not those of agent store-test-002" in hqd.stderr()


def test_resent_events_are_stored_exactly_once(agent, hqd, hq_pki):
    use_hqd(agent, hqd, hq_pki, batch_max=150)
    seed_valid(agent, 1000)
    rows = outbox_rows(agent)
    assert agent.run("sync", "--once").rc == 0
    assert outbox_rows(agent) == []
    # The agent never saw the acks (say): the same events come again.
    db = sqlite3.connect(str(agent.data / "agent.db"))
    with db:
        db.executemany("INSERT INTO outbox(seq, type, ts, data) VALUES (?,?,?,?)",
                       [r[:4] for r in rows])
    db.close()
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    assert outbox_rows(agent) == []
    assert hqd.store.count("hq_event") == 1000
    assert hqd.store.count("hq_log") == 990
    assert hqd.store.count("hq_job") == 10


def test_kill_9_of_hq_mid_batch_loses_and_doubles_nothing(agent, hqd, hq_pki, tmp_path):
    total = 6000
    use_hqd(agent, hqd, hq_pki, batch_max=200)
    seed_valid(agent, total)
    srv, store, seen = hqd, hqd.store, 0
    try:
        for rnd in range(3):
            p = agent.popen("sync", "--once")
            # The moment: HQ has stored more than before, the agent is sending.
            wait_for(lambda: store.count("hq_event") > seen, what="a batch stored")
            srv.proc.kill()
            srv.proc.wait()
            p.communicate(timeout=120)
            seen = store.count("hq_event")
            assert seen < total, "the agent finished before the kill: test proves nothing"
            srv = start_hqd(tmp_path, store, hq_pki, name=f"hqd{rnd}", port=srv.port)
        r = agent.run("sync", "--once")
        assert r.rc == 0, r
        assert outbox_rows(agent) == []
        assert store.count("hq_event") == total
        assert [int(x[0]) for x in store.query("SELECT min(seq) FROM hq_event")] == [1]
        assert [int(x[0]) for x in store.query("SELECT max(seq) FROM hq_event")] == [total]
        assert store.count("hq_log") == total - total // 100
    finally:
        srv.stop(signal.SIGKILL)

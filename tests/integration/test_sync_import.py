"""`posagent import` writes job and log events to the outbox in the same
transaction as the change (DESIGN §7); `posagent sync` delivers them."""
from fx_hq import use_hq


def write_csv(agent, name, rows):
    p = agent.dir / name
    lines = ["SKU,Product Name,Price,Stock,Category,Brand"]
    lines += [",".join(r) for r in rows]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_import_job_and_log_events_reach_hq(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    agent.add_profile()
    f = write_csv(agent, "list.csv", [
        ("SKU1", "Lens 1.5", "1000.00", "3", "Lenses", "A"),
        ("SKU2", "Lens 1.6", "12 000 руб.", "3", "Lenses", "A"),   # error row
        ("SKU3", "Frame", "2500,50", "1", "Frames", "B"),
    ])
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0, r
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    evs = hq.events()
    assert [e["seq"] for e in evs] == sorted(e["seq"] for e in evs)
    jobs = [e for e in evs if e["type"] == "job"]
    logs = [e for e in evs if e["type"] == "log"]
    assert jobs and logs, evs
    assert jobs[-1]["data"]["name"] == job["name"]
    assert jobs[-1]["data"]["state"] == "done"
    assert any(e["data"].get("row_number") == 3 and e["data"].get("level") == "error"
               for e in logs), logs
    assert all(e["data"].get("job") == job["name"] for e in logs)


def test_outbox_cap_drops_oldest_log_events_not_job_events(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, outbox_max_events=1000)
    # Any command that opens the syncer records the configured cap in
    # agent.db, where every producer reads it.
    assert agent.run("status").rc == 0
    agent.add_profile()
    # A job logs its first 1000 row messages in full (issue #8), so two
    # such jobs overflow the cap. Row 2 is good: no fail fast.
    for n in range(2):
        rows = [(f"SKU{n}-{i}", f"Item {i}", "bad" if i else "1", "1", "C", "B")
                for i in range(1501)]
        f = write_csv(agent, f"bad{n}.csv", rows)
        rc, job, r = agent.jrun("import", f, "--profile", "Test")
        assert rc == 0, r
        assert job["error_count"] == 1500
    doc = agent.jrun("status")[1]
    assert doc["outbox"]["depth"] <= 1000
    assert doc["outbox"]["dropped_log_events"] >= 900
    r = agent.run("status")
    assert "log events dropped over the cap" in r.out
    assert agent.run("sync", "--once").rc == 0
    evs = hq.events()
    states = [e["data"]["state"] for e in evs if e["type"] == "job"]
    # Every job event survived (at least created and finished) ...
    assert states[-1] == "done" and len(states) >= 2
    # ... and the log events kept are the newest ones.
    rows_seen = [e["data"]["row_number"] for e in evs if e["type"] == "log"
                 and e["data"].get("row_number")]
    assert max(rows_seen) == 1002     # the last one logged in full

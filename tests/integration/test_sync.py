"""HQ sync through the real binary: drain, heartbeat, status, loop mode,
configuration rules (DESIGN §7). Faults: test_sync_faults.py; TLS:
test_sync_tls.py; kill -9 loop: test_sync_crash.py."""
import os
import signal
import sqlite3

from fx_hq import AGENT_ID, outbox_rows, seed_events, start_hq, stop_hq, use_hq, wait_for

HEARTBEAT_KEYS = {"agent_id", "version", "ts", "uptime_s", "kkt", "outbox", "jobs",
                  "disk_free_bytes", "hq_state"}


def assert_exactly_once_in_order(hq, seqs):
    evs = hq.events()
    assert [e["seq"] for e in evs] == sorted(seqs), "HQ holds other events than sent"
    arrival = [e["arrival"] for e in evs]
    assert arrival == sorted(arrival), "events first reached HQ out of seq order"


def test_drain_delivers_every_event_once_in_order(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, batch_max=100)
    seqs = seed_events(agent, 1234)
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    assert "delivered 1234 events in 13 batches over 1 connection; outbox empty" in r.out
    assert_exactly_once_in_order(hq, seqs)
    st = hq.stats()
    assert st["duplicates"] == 0
    assert st["max_batch"] == 100
    # One easy handle, one keep-alive connection for every batch + heartbeat.
    assert st["connections"] == 1 and st["requests"] == 14
    assert outbox_rows(agent) == []
    ev = hq.events()[0]
    assert ev["type"] == "job" and ev["data"]["message"] == "row 0 «ok»"
    assert ev["ts"].endswith("Z")


def test_sync_once_json_summary(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 10)
    rc, doc, r = agent.jrun("sync", "--once")
    assert rc == 0, r
    assert doc["result"] == "drained"
    assert doc["delivered"] == 10 and doc["batches"] == 1 and doc["dead_lettered"] == 0
    assert doc["outbox"] == {"depth": 0, "oldest_ts": None}
    assert doc["connections"] == 1


def test_empty_outbox_sends_only_a_heartbeat(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    st = hq.stats()
    assert st["events_requests"] == 0 and st["heartbeat_requests"] == 1


def test_heartbeat_document(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 3)
    assert agent.run("sync", "--once").rc == 0
    hb = hq.heartbeats()
    assert len(hb) == 1
    doc = hb[0]
    assert HEARTBEAT_KEYS <= set(doc)
    assert doc["agent_id"] == AGENT_ID
    assert doc["outbox"]["depth"] == 0 and doc["outbox"]["oldest_ts"] is None
    assert doc["kkt"]["backend"] == "none"
    assert set(doc["jobs"]) >= {"running", "progress_percent", "last_done", "last_failed"}
    assert doc["disk_free_bytes"] > 0
    assert doc["hq_state"] in ("online", "offline")
    assert "sync" not in doc           # status-only detail stays local


def test_status_shows_the_heartbeat_without_contacting_hq(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 5)
    assert agent.run("sync", "--once").rc == 0
    seed_events(agent, 2)
    before = hq.stats()["requests"]
    rc, doc, r = agent.jrun("status")
    assert rc == 0, r
    assert HEARTBEAT_KEYS <= set(doc)
    # events + heartbeat: two successes, so online (hysteresis: 2 up).
    assert doc["hq_state"] == "online"
    assert doc["outbox"]["depth"] == 2 and doc["outbox"]["oldest_ts"]
    assert doc["outbox"]["dropped_log_events"] == 0
    assert doc["sync"]["last_ok"] and doc["sync"]["last_heartbeat"]
    assert doc["sync"]["last_error"] is None
    assert hq.stats()["requests"] == before
    r = agent.run("status")
    assert r.rc == 0, r
    assert "online since" in r.out and "2 events" in r.out


def test_status_goes_offline_after_three_failures(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 1)
    assert agent.run("sync", "--once").rc == 0
    assert agent.jrun("status")[1]["hq_state"] == "online"
    seed_events(agent, 1)
    hq.fault("refuse")
    for i in range(3):
        r = agent.run("sync", "--once")
        assert r.rc == 69, r
        assert "cannot connect" in r.err
        want = "online" if i < 2 else "offline"
        doc = agent.jrun("status")[1]
        assert doc["hq_state"] == want, (i, doc)
    assert "cannot connect" in doc["sync"]["last_error"]
    assert doc["sync"]["last_error_code"] == "PA_EHQ_UNAVAILABLE"
    hq.clear()
    assert agent.run("sync", "--once").rc == 0     # events + heartbeat
    assert agent.jrun("status")[1]["hq_state"] == "online"


def test_sync_without_url_is_a_config_error(agent):
    assert agent.run("init").rc == 0
    r = agent.run("sync", "--once")
    assert r.rc == 78, r
    assert "[hq] url is empty" in r.err
    rc, doc, r = agent.jrun("status")
    assert rc == 0, r
    assert doc["sync"]["enabled"] is False and doc["hq_state"] == "offline"


def test_http_to_a_non_loopback_host_is_refused(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    agent.conf["hq"]["url"] = "http://hq.example.ru:8080"
    agent.write_conf()
    seed_events(agent, 1)
    r = agent.run("sync", "--once")
    assert r.rc == 78, r
    assert "http:// is refused for a non-loopback host" in r.err
    assert len(outbox_rows(agent)) == 1


def test_plain_http_to_loopback_is_allowed(agent, tmp_path, hq_certs):
    peer = start_hq(tmp_path, plain=True, name="plain")
    try:
        use_hq(agent, peer, hq_certs)
        seeds = seed_events(agent, 20)
        r = agent.run("sync", "--once")
        assert r.rc == 0, r
        assert_exactly_once_in_order(peer, seeds)
    finally:
        stop_hq(peer)


def test_loop_mode_drains_new_events_and_stops_on_sigterm(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, batch_max=50)
    seqs = seed_events(agent, 120)
    p = agent.popen("sync")
    try:
        wait_for(lambda: len(hq.events()) == 120, what="first 120 events")
        # Events committed while the loop runs are picked up too.
        seqs += seed_events(agent, 30, start_ts=500)
        wait_for(lambda: len(hq.events()) == 150, what="30 more events")
        wait_for(lambda: len(hq.heartbeats()) >= 2, what="periodic heartbeats")
        doc = agent.jrun("status")[1]
        assert doc["sync"]["loop_started"]
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert_exactly_once_in_order(hq, seqs)
    # A clean stop clears the loop marker: status says no loop is running.
    doc = agent.jrun("status")[1]
    assert doc["sync"]["loop_started"] is None and doc["uptime_s"] == 0


def test_one_sender_per_data_dir(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 5)
    p = agent.popen("sync")
    try:
        wait_for(lambda: len(hq.events()) == 5, what="loop delivering")
        r = agent.run("sync", "--once")
        assert r.rc == 69, r
        assert "another posagent process" in r.err
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)


def test_sync_help(agent):
    r = agent.run("sync", "--help")
    assert r.rc == 0 and "--once" in r.out
    r = agent.run("sync", "--bogus")
    assert r.rc == 64


def test_seq_is_never_reused_after_drain(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    first = seed_events(agent, 10)
    assert agent.run("sync", "--once").rc == 0
    second = seed_events(agent, 10)
    assert min(second) > max(first)
    assert agent.run("sync", "--once").rc == 0
    assert_exactly_once_in_order(hq, first + second)
    db = sqlite3.connect(str(agent.data / "agent.db"))
    try:
        assert db.execute("SELECT depth FROM outbox_stat").fetchone()[0] == 0
    finally:
        db.close()


def test_status_human_output_names_everything(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    r = agent.run("status")
    assert r.rc == 0, r
    for word in ("agent", "hq", "outbox", "jobs", "kkt", "disk free", "uptime"):
        assert word in r.out, word
    assert os.path.basename(str(agent.data)) not in r.err

"""The read API (operator tokens only), derived views, the dashboard page."""
import re
import time

from fx_hqd import (AGENT_ID, add_operator, batch, heartbeat, hq_post, job_event,
                  log_event, request)


def test_read_api_needs_an_operator_token(hqd, hq_pki):
    assert hqd.api("/api/v1/fleet", token="", expect=401)[1]["error"]
    assert hqd.api("/api/v1/fleet", token="pahq_wrong", expect=401)
    # An agent's certificate is no operator credential.
    st, _, _ = request(hqd, "GET", "/api/v1/fleet",
                       cert=(hq_pki["client"], hq_pki["client_key"]))
    assert st == 401
    # The token is stored only as its hash.
    assert hqd.token not in str(hqd.store.query("SELECT * FROM hq_operator"))
    # A new token for the same operator replaces the old one.
    new = add_operator(hqd.store)
    assert hqd.api("/api/v1/fleet", expect=401)
    assert hqd.api("/api/v1/fleet", token=new)[0] == 200


def test_fleet_shows_heartbeat_and_jobs(hqd, hq_pki):
    evs = [job_event(1, uuid="a", state="done", name="IMP/00001"),
           job_event(2, uuid="b", state="failed", name="IMP/00002",
                     error_message="missing column Price"),
           job_event(3, uuid="c", state="running", name="IMP/00003", progress_percent=10)]
    assert hq_post(hqd, hq_pki, AGENT_ID, "events", batch(evs))[0] == 200
    assert hq_post(hqd, hq_pki, AGENT_ID, "heartbeat",
                   heartbeat(jobs={"running": 1, "progress_percent": 42.5}))[0] == 200
    st, doc = hqd.api("/api/v1/fleet")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", doc["now"])
    a = doc["agents"][0]
    assert a["online"] is True and a["version"] == "1.2.3"
    assert a["kkt"]["verdict"] == "synced" and a["hq_state"] == "online"
    assert a["outbox"]["depth"] == 7 and a["outbox"]["oldest_ts"] == "2026-11-26T04:00:00.000Z"
    assert a["dead_letters"] == 2 and a["disk_free_bytes"] == 123456
    assert a["last_done"]["name"] == "IMP/00001"
    assert a["last_failed"]["error_message"] == "missing column Price"
    assert a["running"] == {"job": "IMP/00003", "progress_percent": 42.5}
    assert a["gate_refusing_since"] is None and a["gate_refusals"] == 0


def test_gate_refusing_since_and_refusals(hqd, hq_pki):
    bad = {"backend": "opticserp", "reachable": True, "synced": False, "pending": 3,
           "verdict": "not_synced"}
    assert hq_post(hqd, hq_pki, AGENT_ID, "heartbeat", heartbeat(kkt=bad))[0] == 200
    since = hqd.api("/api/v1/fleet")[1]["agents"][0]["gate_refusing_since"]
    assert since
    # The agent's refusal warning, as its runner writes it.
    ev = log_event(1, row=0, level="warning",
                   message="import refused: KKT buffer not synced: 3 receipts")
    assert hq_post(hqd, hq_pki, AGENT_ID, "events", batch([ev]))[0] == 200
    assert hq_post(hqd, hq_pki, AGENT_ID, "heartbeat", heartbeat(kkt=bad))[0] == 200
    a = hqd.api("/api/v1/fleet")[1]["agents"][0]
    assert a["gate_refusing_since"] == since and a["gate_refusals"] == 1
    assert hq_post(hqd, hq_pki, AGENT_ID, "heartbeat", heartbeat())[0] == 200
    assert hqd.api("/api/v1/fleet")[1]["agents"][0]["gate_refusing_since"] is None
    # The agent's own account (kkt.refusing, docs/hq-sync.md) wins.
    own = dict(bad, refusing={"since": "2026-11-25T10:00:00.000Z", "refusals": 9,
                              "last_at": "2026-11-26T04:00:00.000Z",
                              "last_reason": "3 receipts", "refusing_s": 3600})
    assert hq_post(hqd, hq_pki, AGENT_ID, "heartbeat", heartbeat(kkt=own))[0] == 200
    a = hqd.api("/api/v1/fleet")[1]["agents"][0]
    assert a["gate_refusing_since"] == "2026-11-25T10:00:00.000Z" and a["gate_refusals"] == 9
    assert hq_post(hqd, hq_pki, AGENT_ID, "heartbeat",
                   heartbeat(kkt=dict(bad, verdict="synced", refusing=None)))[0] == 200
    a = hqd.api("/api/v1/fleet")[1]["agents"][0]
    assert a["gate_refusing_since"] is None and a["gate_refusals"] == 0


def test_agent_jobs_filter_by_state_and_date(hqd, hq_pki):
    evs = [job_event(1, uuid="a", state="done", create_date="2026-11-01T10:00:00.000Z"),
           job_event(2, uuid="b", state="failed", create_date="2026-11-02T10:00:00.000Z"),
           job_event(3, uuid="c", state="done", create_date="2026-11-03T10:00:00.000Z")]
    assert hq_post(hqd, hq_pki, AGENT_ID, "events", batch(evs))[0] == 200
    base = f"/api/v1/agents/{AGENT_ID}"
    assert [j["uuid"] for j in hqd.api(base)[1]["jobs"]] == ["c", "b", "a"]
    assert [j["uuid"] for j in hqd.api(base + "?state=done")[1]["jobs"]] == ["c", "a"]
    doc = hqd.api(base + "?since=2026-11-02T00:00:00Z&until=2026-11-03T00:00:00Z")[1]
    assert [j["uuid"] for j in doc["jobs"]] == ["b"]
    assert doc["agent"]["id"] == AGENT_ID
    assert hqd.api(base + "?since=yesterday", expect=400)
    assert hqd.api("/api/v1/agents/store-nobody", expect=404)


def test_job_log_is_paged_with_row_data(hqd, hq_pki):
    evs = [job_event(1, uuid="a", state="failed")]
    evs += [log_event(s, uuid="a", row=s, level="error" if s % 2 else "warning")
            for s in range(2, 12)]
    assert hq_post(hqd, hq_pki, AGENT_ID, "events", batch(evs))[0] == 200
    path = f"/api/v1/agents/{AGENT_ID}/jobs/a"
    doc = hqd.api(path + "?page=2&page_size=3")[1]
    assert doc["job"]["uuid"] == "a"
    assert (doc["log"]["page"], doc["log"]["page_size"], doc["log"]["total"]) == (2, 3, 10)
    assert [e["row_number"] for e in doc["log"]["entries"]] == [5, 6, 7]
    e = doc["log"]["entries"][0]
    assert set(e) == {"level", "message", "row_number", "row_data", "ts"}
    assert e["row_data"] == {"SKU": "A5", "Price": "x"}
    doc = hqd.api(path + "?level=error&page_size=100")[1]
    assert doc["log"]["total"] == 5 and all(e["level"] == "error" for e in doc["log"]["entries"])
    assert hqd.api(path + "?page_size=0", expect=400)
    assert hqd.api(path + "?level=fatal", expect=400)
    assert hqd.api(f"/api/v1/agents/{AGENT_ID}/jobs/nope", expect=404)


def test_offline_after_heartbeats_stop(tmp_path, hq_db, hq_pki):
    from fx_hqd import add_agent, start_hqd
    add_agent(hq_db)
    tok = add_operator(hq_db)
    srv = start_hqd(tmp_path, hq_db, hq_pki, "--offline-after", "1")
    srv.token = tok
    try:
        assert hq_post(srv, hq_pki, AGENT_ID, "heartbeat", heartbeat())[0] == 200
        t0 = time.monotonic()
        a = srv.api("/api/v1/fleet")[1]["agents"][0]
        assert a["online"] is True or time.monotonic() - t0 > 1
        from fx_hqd import wait_for
        wait_for(lambda: srv.api("/api/v1/fleet")[1]["agents"][0]["online"] is False,
                 what="offline after 1 s without heartbeat")
    finally:
        srv.stop()


def test_dashboard_page_with_strict_csp(hqd):
    st, body, hd = request(hqd, "GET", "/")
    assert st == 200 and hd["Content-Type"].startswith("text/html")
    assert "<html" in body.lower()
    csp = hd["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "http" not in csp and "*" not in csp
    # Every inline script is allowed by its hash, nothing else.
    assert re.search(r"script-src( 'sha256-[A-Za-z0-9+/=]{44}')+;", csp), csp
    assert request(hqd, "GET", "/nothing")[0] == 404

"""--alert-cmd: a JSON document on the command's stdin when a store stays
offline, an import fails, or a gate refuses too long; once per incident."""
import json

from fx_hqd import (AGENT_ID, add_agent, batch, heartbeat, hq_post, job_event,
                  start_hqd, wait_for)

REFUSING = {"backend": "opticserp", "reachable": True, "synced": False, "pending": 3,
            "verdict": "not_synced"}


def alerts(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def kinds(path, kind):
    return [a for a in alerts(path) if a["alert"] == kind]


def test_alerts_fire_once_per_incident(tmp_path, hq_db, hq_pki):
    out = tmp_path / "alerts.jsonl"
    add_agent(hq_db)
    srv = start_hqd(tmp_path, hq_db, hq_pki, "--alert-cmd", f"cat >> {out}; echo >> {out}",
                    "--alert-offline-after", "1", "--offline-after", "1",
                    "--alert-gate-after", "0", "--alert-interval-ms", "100")
    try:
        assert hq_post(srv, hq_pki, AGENT_ID, "heartbeat", heartbeat(kkt=REFUSING))[0] == 200
        gate = wait_for(lambda: kinds(out, "gate_refusing"), what="gate alert")[0]
        assert gate["agent_id"] == AGENT_ID and "KKT gate" in gate["summary"]
        assert gate["agent"]["kkt"]["verdict"] == "not_synced"
        off = wait_for(lambda: kinds(out, "offline"), what="offline alert")[0]
        assert off["agent"]["online"] is False and "offline since" in off["summary"]
        ev = job_event(1, uuid="f1", state="failed", error_message="missing column Price")
        assert hq_post(srv, hq_pki, AGENT_ID, "events", batch([ev]))[0] == 200
        failed = wait_for(lambda: kinds(out, "import_failed"), what="failure alert")[0]
        assert failed["job"]["uuid"] == "f1" and "missing column Price" in failed["summary"]
        # Many checks later: still one alert each.
        assert len(kinds(out, "offline")) == 1 and len(kinds(out, "gate_refusing")) == 1
        # Back, then silent again: a new offline incident; the gate streak
        # goes on (same "since"), so no new gate alert.
        assert hq_post(srv, hq_pki, AGENT_ID, "heartbeat", heartbeat(kkt=REFUSING))[0] == 200
        wait_for(lambda: len(kinds(out, "offline")) == 2, what="second offline alert")
        assert len(kinds(out, "gate_refusing")) == 1
        assert len(kinds(out, "import_failed")) == 1
    finally:
        srv.stop()

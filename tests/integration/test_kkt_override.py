"""The audited override of a refusing KKT gate, and how long the gate has
been refusing (DESIGN §6, issue #10).

`job run JOB --override-gate REASON` / `import ... --override-gate REASON`:
only with [kkt] allow_override = true (else exit 64 naming the setting),
never from the daemon, never with an empty reason; recorded with the user,
the reason and what the adapter said, on the job, in its log and in the
job event sent to HQ."""
import datetime
import json
import os
import pwd
import sqlite3

import pytest

from conftest import FIXTURES
from fx_hq import use_hq
from fx_kkt import use_kkt

SEED = os.path.join(FIXTURES, "uat03", "supplier_price_list.csv")
JOB = "IMP/00001"
REASON = "OFD down since Monday, ticket 4711"


def me():
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = f"uid {uid}"
    return f"{name} (uid {uid})"


def allow(agent, url, backend="opticserp", on=True):
    use_kkt(agent, url, backend)
    agent.conf["kkt"]["allow_override"] = "true" if on else "false"
    agent.write_conf()


def log_entries(agent, name=JOB):
    rc, doc, r = agent.jrun("log", name)
    assert rc == 0, r
    return doc["entries"]


def catalog_rows(agent):
    db = sqlite3.connect(str(agent.data / "catalog.db"))
    try:
        return db.execute("SELECT count(*) FROM product").fetchone()[0]
    finally:
        db.close()


# --- refused before anything happens ---------------------------------------

@pytest.mark.parametrize("setting", [None, "false"])
def test_override_refused_without_allow_override_exit_64(agent, kkt_peer, setting):
    use_kkt(agent, kkt_peer.url)
    if setting is not None:
        agent.conf["kkt"]["allow_override"] = setting
        agent.write_conf()
    profile = agent.add_profile()
    kkt_peer.set("pending", pending=2)
    r = agent.run("import", SEED, "--profile", profile, "--override-gate", REASON)
    assert r.rc == 64, r
    assert "[kkt] allow_override" in r.err
    assert agent.jrun("job", "list")[1] == []       # no job was created
    assert kkt_peer.hits("opticserp_status") == 0


@pytest.mark.parametrize("reason", ["", "   ", "two\nlines"])
def test_override_with_empty_or_bad_reason_exit_64(agent, kkt_peer, reason):
    allow(agent, kkt_peer.url)
    profile = agent.add_profile()
    kkt_peer.set("pending", pending=2)
    assert agent.run("job", "create", SEED, "--profile", profile).rc == 0
    r = agent.run("job", "run", JOB, "--override-gate", reason)
    assert r.rc == 64, r
    assert "--override-gate" in r.err
    assert agent.jrun("job", "show", JOB)[1]["state"] == "draft"


def test_override_needs_a_reason_argument(agent, kkt_peer):
    allow(agent, kkt_peer.url)
    assert agent.run("job", "create", SEED, "--profile", agent.add_profile()).rc == 0
    r = agent.run("job", "run", JOB, "--override-gate")
    assert r.rc == 64, r


def test_daemon_never_overrides(agent, kkt_peer):
    allow(agent, kkt_peer.url)
    agent.add_profile(file_pattern="*.csv")
    kkt_peer.set("pending", pending=2)
    r = agent.run("run", "--override-gate", REASON)
    assert r.rc == 64, r
    assert "never overrides" in r.err
    inbox = agent.data / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "p.csv").write_bytes(open(SEED, "rb").read())
    assert agent.run("run", "--once").rc == 0
    rc, job, r = agent.jrun("job", "show", JOB)
    assert rc == 0, r
    assert job["state"] == "draft"              # allow_override is not for it
    assert "gate_override" not in job
    assert all("overridden" not in e["message"] for e in log_entries(agent))


# --- the override, recorded ---------------------------------------------------

@pytest.mark.parametrize("backend", ["opticserp", "atol"])
def test_override_runs_the_import_and_records_who_why_and_what_the_adapter_said(
        agent, kkt_peer, backend):
    allow(agent, kkt_peer.url, backend)
    profile = agent.add_profile()
    kkt_peer.set("pending", pending=3)
    r = agent.run("import", SEED, "--profile", profile)
    assert r.rc == 75, r
    rc, job, r = agent.jrun("job", "run", JOB, "--override-gate", REASON)
    assert rc == 0, r
    assert job["state"] == "done"
    assert catalog_rows(agent) == 10
    ov = job["gate_override"]
    assert ov["by"] == me()
    assert ov["reason"] == REASON
    assert ov["kkt"]["backend"] == backend
    assert ov["kkt"]["synced"] is False and ov["kkt"]["pending"] == 3
    assert "3 receipts" in ov["kkt"]["reason"]
    warn = [e["message"] for e in log_entries(agent) if e["level"] == "warning"]
    assert warn[-1].startswith(f'KKT gate overridden by {me()}, reason: "{REASON}"; '
                               "the KKT adapter said: KKT buffer not synced: 3 receipts"), warn
    # job show keeps it
    rc, shown, r = agent.jrun("job", "show", JOB)
    assert rc == 0 and shown["gate_override"] == ov, r
    r = agent.run("job", "show", JOB)
    assert r.rc == 0, r
    assert f'gate_override       by {me()}, reason "{REASON}"; KKT: KKT buffer not synced' in r.out


def test_override_when_the_adapter_is_unreachable_says_so(agent, kkt_refusing_url):
    allow(agent, kkt_refusing_url)
    profile = agent.add_profile()
    rc, job, r = agent.jrun("import", SEED, "--profile", profile,
                            "--override-gate", REASON)
    assert rc == 0, r
    assert job["state"] == "done"
    assert job["gate_override"]["kkt"]["reachable"] is False
    warn = [e["message"] for e in log_entries(agent) if e["level"] == "warning"]
    assert len(warn) == 1, warn
    assert "the KKT adapter could not be asked: KKT adapter at" in warn[0]
    assert "unreachable" in warn[0]


def test_override_not_needed_when_the_gate_passes(agent, kkt_peer):
    allow(agent, kkt_peer.url)
    kkt_peer.set("synced")
    rc, job, r = agent.jrun("import", SEED, "--profile", agent.add_profile(),
                            "--override-gate", REASON)
    assert rc == 0, r
    assert "gate_override" not in job
    assert any("--override-gate not used" in e["message"] for e in log_entries(agent))


def test_reset_clears_the_override(agent, kkt_peer):
    """The override belongs to the run it let through: a reset job must be
    overridden again (or pass the gate) to run."""
    allow(agent, kkt_peer.url)
    kkt_peer.set("pending", pending=1)
    bad = agent.dir / "wrong_columns.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    rc, job, r = agent.jrun("import", bad, "--profile", agent.add_profile(),
                            "--override-gate", REASON)
    assert rc == 65, r
    assert job["state"] == "failed" and job["gate_override"]["reason"] == REASON
    rc, job, r = agent.jrun("job", "reset", JOB)
    assert rc == 0, r
    assert job["state"] == "draft"
    assert "gate_override" not in job
    assert agent.run("job", "run", JOB).rc == 75


def test_override_reaches_hq_in_the_job_event(agent, kkt_peer, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    allow(agent, kkt_peer.url)
    kkt_peer.set("dlq", dlq_size=1)
    rc, job, r = agent.jrun("import", SEED, "--profile", agent.add_profile(),
                            "--override-gate", REASON)
    assert rc == 0, r
    assert agent.run("sync", "--once").rc == 0
    evs = [e for e in hq.events() if e["type"] == "job"]
    assert evs and all(e["data"]["name"] == JOB for e in evs)
    assert evs[-1]["data"]["state"] == "done"
    ov = evs[-1]["data"]["gate_override"]
    assert ov["by"] == me() and ov["reason"] == REASON
    assert ov["kkt"]["blocking"] == ["1 DLQ entry unresolved: resolve it in the adapter"]
    warn = [e["data"]["message"] for e in hq.events()
            if e["type"] == "log" and e["data"]["level"] == "warning"]
    assert any("KKT gate overridden by" in m for m in warn), warn


# --- how long the gate has been refusing ---------------------------------------

def test_status_shows_since_when_and_how_often_the_gate_refused(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url)
    profile = agent.add_profile()
    rc, doc, r = agent.jrun("status")
    assert rc == 0, r
    assert doc["kkt"]["refusing"] is None
    kkt_peer.set("pending", pending=2)
    assert agent.run("import", SEED, "--profile", profile).rc == 75
    assert agent.run("job", "run", JOB).rc == 75
    rc, doc, r = agent.jrun("status")
    ref = doc["kkt"]["refusing"]
    assert ref["refusals"] == 2, doc
    assert ref["since"] and ref["last_at"] >= ref["since"]
    assert ref["refusing_s"] >= 0
    assert ref["last_reason"].startswith("KKT buffer not synced: 2 receipts pending")
    r = agent.run("status")
    # Human output shows local time (issue #13); JSON stays UTC.
    since = datetime.datetime.strptime(ref["since"][:19], "%Y-%m-%dT%H:%M:%S")
    local = since.replace(tzinfo=datetime.timezone.utc).astimezone()
    assert f"refusing imports since {local:%Y-%m-%d %H:%M:%S}" in r.out, r
    assert "2 refusals" in r.out
    kkt_peer.set("synced")
    assert agent.run("job", "run", JOB).rc == 0
    assert agent.jrun("status")[1]["kkt"]["refusing"] is None


def test_heartbeat_carries_the_refusal_streak(agent, kkt_peer, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    use_kkt(agent, kkt_peer.url)
    kkt_peer.set("syncing", syncing=1)
    assert agent.run("import", SEED, "--profile", agent.add_profile()).rc == 75
    assert agent.run("sync", "--once").rc == 0
    hb = hq.heartbeats()
    assert hb, hq.stats()
    ref = hb[-1]["kkt"]["refusing"]
    assert ref["refusals"] == 1
    assert "(syncing?)" in ref["last_reason"]

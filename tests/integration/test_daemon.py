"""posagent run: the inbox daemon (DESIGN §8)."""
import os
import shutil
import signal
import sqlite3
import time

from conftest import FIXTURES
from fx_hq import wait_for
from fx_kkt import use_kkt

SEED = os.path.join(FIXTURES, "uat03", "supplier_price_list.csv")


def inbox(agent):
    d = agent.data / "inbox"
    d.mkdir(parents=True, exist_ok=True)
    return d


def drop(agent, name, src=SEED):
    """Drop a file the safe way: write a .part, then rename into place."""
    d = inbox(agent)
    tmp = d / (name + ".part")
    shutil.copy(src, tmp)
    os.rename(tmp, d / name)


def jobs(agent):
    return agent.jrun("job", "list")[1]


def test_matching_file_is_imported_and_archived(agent):
    agent.add_profile(file_pattern="supplier_*.csv")
    drop(agent, "supplier_2026-11.csv")
    r = agent.run("run", "--once")
    assert r.rc == 0, r
    assert (agent.data / "archive" / "supplier_2026-11.csv").exists()
    assert not (agent.data / "inbox" / "supplier_2026-11.csv").exists()
    j = jobs(agent)
    assert len(j) == 1 and j[0]["state"] == "done" and j[0]["created_count"] == 10


def test_unmatched_file_is_rejected_and_partial_files_ignored(agent):
    agent.add_profile(file_pattern="essilor_*.csv")
    drop(agent, "zeiss_2026.csv")
    shutil.copy(SEED, inbox(agent) / "essilor_1.csv.part")
    shutil.copy(SEED, inbox(agent) / ".essilor_2.csv")
    assert agent.run("run", "--once").rc == 0
    assert (agent.data / "rejected" / "zeiss_2026.csv").exists()
    assert (agent.data / "inbox" / "essilor_1.csv.part").exists()
    assert (agent.data / "inbox" / ".essilor_2.csv").exists()
    assert jobs(agent) == []


def test_same_content_is_not_imported_twice(agent):
    agent.add_profile(file_pattern="*.csv")
    drop(agent, "a.csv")
    agent.run("run", "--once")
    drop(agent, "b.csv")            # same bytes, other name
    drop(agent, "a.csv")            # same name again
    assert agent.run("run", "--once").rc == 0
    assert len(jobs(agent)) == 1
    assert (agent.data / "archive" / "b.csv").exists()
    assert (agent.data / "archive" / "a.csv.1").exists()


def test_failed_import_moves_to_failed(agent):
    agent.add_profile(file_pattern="*.csv")
    bad = agent.dir / "bad.csv"
    bad.write_text("Code,Title\n1,x\n")
    drop(agent, "bad.csv", bad)
    agent.run("run", "--once")
    assert (agent.data / "failed" / "bad.csv").exists()
    assert jobs(agent)[0]["state"] == "failed"


def test_gate_refusal_keeps_file_and_reuses_its_job(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url)
    agent.add_profile(file_pattern="*.csv")
    kkt_peer.set("pending", pending=2)
    drop(agent, "p.csv")
    assert agent.run("run", "--once").rc == 0
    assert (agent.data / "inbox" / "p.csv").exists()
    assert [j["state"] for j in jobs(agent)] == ["draft"]
    kkt_peer.set("synced")
    assert agent.run("run", "--once").rc == 0
    j = jobs(agent)
    assert [x["state"] for x in j] == ["done"] and j[0]["name"] == "IMP/00001"
    assert (agent.data / "archive" / "p.csv").exists()


def test_interrupted_job_is_rerun_on_start(agent):
    agent.add_profile()
    rc, job, r = agent.jrun("job", "create", SEED, "--profile", "Test")
    assert rc == 0, r
    db = sqlite3.connect(str(agent.data / "agent.db"))
    db.execute("UPDATE job SET state='running'")
    db.commit()
    db.close()
    inbox(agent)
    assert agent.run("run", "--once").rc == 0
    job = agent.jrun("job", "show", "IMP/00001")[1]
    assert job["state"] == "done" and job["created_count"] == 10
    log = agent.jrun("log", "IMP/00001")[1]["entries"]
    assert not any("interrupted" in e["message"] for e in log)  # reset cleared it


def test_daemon_watches_inbox_and_stops_on_sigterm(agent):
    agent.add_profile(file_pattern="*.csv")
    inbox(agent)
    p = agent.popen("run")
    try:
        wait_for(lambda: (agent.data / "posagent.lock").exists(), what="daemon start")
        second = agent.run("run", "--once")
        assert second.rc == 69 and "another" in second.err, second
        drop(agent, "live.csv")
        wait_for(lambda: (agent.data / "archive" / "live.csv").exists(), what="archive")
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    finally:
        if p.poll() is None:
            p.kill()
    assert jobs(agent)[0]["state"] == "done"


def test_daemon_sends_ready_to_systemd(agent, tmp_path):
    import socket
    import threading
    agent.add_profile(file_pattern="*.csv")
    inbox(agent)
    sock_path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(0.2)
    msgs, done = [], threading.Event()

    def reader():
        # Read all the time, as systemd does: an unread notify socket fills
        # up (net.unix.max_dgram_qlen) and the daemon then drops datagrams
        # rather than block.
        while not done.is_set():
            try:
                msgs.append(s.recv(256).decode())
            except socket.timeout:
                pass
    t = threading.Thread(target=reader)
    t.start()
    p = agent.popen("run", env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "2000000"})
    try:
        wait_for(lambda: {"READY=1", "WATCHDOG=1"} <= set(msgs), what="READY and WATCHDOG")
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=60)
        assert p.returncode == 0
        wait_for(lambda: "STOPPING=1" in msgs, what="STOPPING=1")
        # A WATCHDOG=1 or STATUS= line may come before STOPPING=1; nothing
        # but those comes after READY=1.
        after = msgs[msgs.index("READY=1") + 1:]
        assert all(m in ("STOPPING=1", "WATCHDOG=1") or m.startswith("STATUS=")
                   for m in after), after
    finally:
        done.set()
        t.join()
        s.close()
        if p.poll() is None:
            p.kill()


# --- issue #9 item 2: the daemon moves files whose names are not UTF-8 ---

def _drop_bytes(agent, raw):
    d = os.fsencode(str(inbox(agent)))
    tmp = os.path.join(d, raw + b".part")
    shutil.copy(SEED, tmp)
    os.rename(tmp, os.path.join(d, raw))


def test_non_utf8_file_name_daemon_imports_and_moves(agent):
    """The daemon logged "out of memory" every 5 s and never moved it."""
    agent.add_profile(file_pattern="*.csv")
    cp = "прайс.csv".encode("cp1251")
    _drop_bytes(agent, cp)
    r = agent.run("run", "--once")
    assert r.rc == 0, r
    archive = os.fsencode(str(agent.data / "archive"))
    assert os.listdir(archive) == [cp]         # the exact bytes, moved
    assert os.listdir(os.fsencode(str(agent.data / "inbox"))) == []
    j = jobs(agent)
    assert len(j) == 1 and j[0]["state"] == "done"
    assert j[0]["file_name"] == "прайс.csv"
    assert j[0]["file_name_encoding"] == "cp1251"
    assert "прайс.csv -> archive" in r.err


def test_non_utf8_name_matches_a_cyrillic_pattern(agent):
    agent.add_profile(file_pattern="прайс*.csv")
    _drop_bytes(agent, "прайс_ноябрь.csv".encode("cp1251"))
    assert agent.run("run", "--once").rc == 0
    assert [j["state"] for j in jobs(agent)] == ["done"]


def test_control_characters_in_file_name_do_not_forge_log_lines(agent):
    agent.add_profile(file_pattern="*.csv")
    evil = b"x\n2026-01-01T00:00:00.000Z posagent: forged\xff.csv"
    _drop_bytes(agent, evil)
    r = agent.run("run", "--once")
    assert r.rc == 0, r
    assert not any(line.startswith("2026-01-01T00:00:00.000Z")
                   for line in r.err.splitlines()), r.err
    assert "x\\n2026-01-01T00:00:00.000Z posagent: forged\\xff.csv" in r.err
    j = jobs(agent)
    assert j[0]["state"] == "done"
    assert j[0]["file_name_encoding"] == "escaped"
    # The table shows the name escaped: one row per job.
    out = agent.run("job", "list").out
    assert len(out.strip().splitlines()) == 2, out
    assert "x\\n2026" in out


# --- issue #9 item 4: the data directory removed while the daemon runs ---

def _serving(agent):
    """Start the daemon and wait until its loop has imported a file."""
    agent.add_profile(file_pattern="*.csv")
    inbox(agent)
    p = agent.popen("run")
    drop(agent, "first.csv")
    wait_for(lambda: (agent.data / "archive" / "first.csv").exists(),
             what="the daemon to serve")
    return p


def test_data_dir_removed_daemon_stops_with_74(agent):
    p = _serving(agent)
    try:
        shutil.rmtree(agent.data)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 74, err
    # Whichever the loop sees gone first (rmtree unlinks the lock early).
    assert "removed while posagent was using it" in err, err
    assert "data directory" in err or "lock file" in err
    # Nothing made again at the old path: no fresh catalog, no second lock.
    assert not (agent.data / "catalog.db").exists()
    assert not (agent.data / "posagent.lock").exists()


def test_lock_file_removed_daemon_stops_with_74(agent):
    """Without its lock a second daemon could start on the same inbox."""
    p = _serving(agent)
    try:
        os.unlink(agent.data / "posagent.lock")
        drop(agent, "second.csv")                 # wakes the loop
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 74, err
    assert "lock file" in err and "removed" in err


def test_replaced_inbox_file_supersedes_its_draft(agent, kkt_peer):
    """The old draft job stayed draft forever (issue #9)."""
    use_kkt(agent, kkt_peer.url)
    agent.add_profile(file_pattern="*.csv")
    kkt_peer.set("pending", pending=2)
    drop(agent, "p.csv")
    assert agent.run("run", "--once").rc == 0
    assert [j["state"] for j in jobs(agent)] == ["draft"]
    other = agent.dir / "other.csv"
    other.write_text("SKU,Product Name,Price,Stock\nZ1,New lens,10,1\n")
    drop(agent, "p.csv", other)                     # replaced, new content
    kkt_peer.set("synced")
    r = agent.run("run", "--once")
    assert r.rc == 0, r
    j = {x["name"]: x for x in jobs(agent)}
    assert j["IMP/00001"]["state"] == "cancelled"
    assert "superseded by IMP/00002" in j["IMP/00001"]["error_message"]
    assert j["IMP/00002"]["state"] == "done"
    assert "job IMP/00001 cancelled, superseded by IMP/00002" in r.err
    log = agent.jrun("log", "IMP/00001")[1]["entries"]
    assert any("superseded by IMP/00002" in e["message"] for e in log)

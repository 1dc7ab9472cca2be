"""Disk use with a ceiling (issue #8 §4, issue #9 item 3): capped error logs,
fail fast on a wrong file, retention that gives the space back, the disk
guard, and a disk that fills up mid-import — on a small tmpfs."""
import json
import os
import signal
import sqlite3
import subprocess

import pytest

from conftest import BIN
from fx_hq import wait_for


@pytest.fixture
def small_fs(tmp_path):
    """Mount a tmpfs of the given size (MB) under tmp_path; unmounted after.
    Tests run as root in CI; elsewhere they are skipped, saying why."""
    mounts = []

    def make(mb):
        d = tmp_path / f"fs{len(mounts)}"
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mb}m", "tmpfs",
                            str(d)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"SKIPPED LOUDLY: cannot mount a {mb} MB tmpfs "
                        f"(needs root): {r.stderr.strip()}")
        mounts.append(d)
        return d
    yield make
    for d in reversed(mounts):
        subprocess.run(["umount", "-l", str(d)], check=False)


def csv(path, rows, bad=lambda i: False, first_good=False):
    with open(path, "w") as f:
        f.write("SKU,Product Name,Price,Stock\n")
        for i in range(rows):
            price = "12 000 руб." if bad(i) and not (first_good and i == 0) else f"{i % 900 + 1}.50"
            f.write(f"D{i:07d},Линза {i},{price},{i % 9}\n")
    return path


def db_one(path, sql):
    db = sqlite3.connect(str(path))
    try:
        return db.execute(sql).fetchone()
    finally:
        db.close()


def test_error_rows_are_capped_and_counts_stay_exact(agent):
    agent.add_profile()
    f = csv(agent.dir / "bad.csv", 5000, bad=lambda i: True, first_good=True)
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0, r
    assert job["error_count"] == 4999 and job["created_count"] == 1, job
    rows = db_one(agent.data / "agent.db", "SELECT count(*) FROM job_log "
                  "WHERE row_number > 0")[0]
    assert rows == 1000
    events = db_one(agent.data / "agent.db", "SELECT count(*) FROM outbox "
                    "WHERE type = 'log'")[0]
    assert events < 1010, events           # HQ gets the capped log too
    rc, log, r = agent.jrun("log", job["name"], "--level", "warning",
                            "--page-size", "100")
    assert rc == 0, r
    msgs = [e["message"] for e in log["entries"] if e["row_number"] == 0]
    assert any("3999 more row messages" in m for m in msgs), msgs
    assert any(m.startswith("not logged: 3999 × column C (\"Price\"): '…'")
               for m in msgs), msgs


def test_wrong_file_fails_fast_whatever_max_error_percent(agent):
    agent.add_profile(max_error_percent=100)
    f = csv(agent.dir / "wrong.csv", 5000, bad=lambda i: True)
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 65, r
    assert job["state"] == "failed", job
    assert "wrong file or wrong profile" in job["error_message"], job
    assert "first 2000 data rows" in job["error_message"], job
    assert agent.catalog("SELECT count(*) AS n FROM product")[0]["n"] == 0


def test_prune_returns_the_space_of_a_bad_file(agent):
    agent.add_profile()
    rows = 100000
    # Every other row bad: no fail fast, 50k error rows.
    f = csv(agent.dir / "half.csv", rows, bad=lambda i: i % 2 == 1)
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0 and job["error_count"] == rows // 2, r
    size = lambda: sum(os.path.getsize(agent.data / n) for n in
                       ("agent.db", "agent.db-wal") if (agent.data / n).exists())
    outbox = lambda: db_one(agent.data / "agent.db", "SELECT count(*) FROM outbox")[0]
    before, ob_before = size(), outbox()
    rc, doc, r = agent.jrun("job", "prune", "--older-than", "0")
    assert rc == 0 and doc["deleted"] == 1, r
    after = size()
    print(f"prune: agent.db {before / 1e6:.2f} -> {after / 1e6:.2f} MB "
          f"(reported {doc['agent_db_bytes_before'] / 1e6:.2f} -> "
          f"{doc['agent_db_bytes_after'] / 1e6:.2f}); outbox {ob_before} events")
    assert after < before
    assert db_one(agent.data / "agent.db", "PRAGMA auto_vacuum")[0] == 2
    assert db_one(agent.data / "agent.db", "PRAGMA freelist_count")[0] == 0
    assert doc["spool_files_removed"] == 0   # spooled today: kept a day
    assert agent.jrun("job", "list")[1] == []


def use_dir(agent, d):
    agent.conf["agent"]["data_dir"] = str(d)
    agent.data = d
    agent.write_conf()


def test_disk_guard_refuses_before_start(agent, small_fs):
    fs = small_fs(24)
    use_dir(agent, fs / "var")
    agent.add_profile()
    f = csv(agent.dir / "big.csv", 200000)            # ~6.5 MB: needs ~34 MB
    rc, doc, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 74, r
    assert "disk full: not enough space" in doc["error"]["message"], doc
    assert os.listdir(fs / "var" / "spool") == []
    assert agent.jrun("job", "list")[1] == []
    assert agent.catalog("SELECT count(*) AS n FROM product") in ([], [{"n": 0}])


def fill(path):
    """Write a file until the filesystem is full; returns its path."""
    p = path / "filler"
    with open(p, "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        except OSError:
            pass
    return p


def integrity(path):
    return db_one(path, "PRAGMA integrity_check")[0]


def test_disk_full_mid_import_fails_it_and_daemon_carries_on(agent, small_fs):
    fs = small_fs(64)
    use_dir(agent, fs / "var")
    agent.add_profile(file_pattern="*.csv")
    base = csv(agent.dir / "base.csv", 10)
    rc, job, r = agent.jrun("import", base, "--profile", "Test")
    assert rc == 0, r
    inbox = agent.data / "inbox"
    inbox.mkdir(exist_ok=True)
    log = open(agent.dir / "daemon.log", "w")
    p = subprocess.Popen([BIN, "-c", str(agent.conf_path), "run"],
                         stdout=log, stderr=log)
    try:
        big = csv(inbox / "big.csv.part", 150000)   # ignored until renamed
        os.rename(big, inbox / "big.csv")
        # Freeze the daemon mid-import, fill the disk, let it go on.
        wait_for(lambda: (lambda d: d[0] == 0 and d[1]["state"] == "running"
                          and d[1]["progress_percent"] > 5)(
                              agent.jrun("job", "show", "IMP/00002")),
                 timeout=300, what="the import to be under way")
        p.send_signal(signal.SIGSTOP)
        filler = fill(fs)
        p.send_signal(signal.SIGCONT)
        job = wait_for(lambda: (lambda d: d[1] if d[0] == 0 and d[1]["state"]
                                not in ("draft", "running") else None)(
                                    agent.jrun("job", "show", "IMP/00002")),
                       timeout=300, what="the job to end")
        assert job["state"] == "failed", job
        assert job["error_message"].startswith("disk full"), job
        assert p.poll() is None                      # the daemon carries on
        assert (inbox / "big.csv").exists()          # and keeps the file
        assert agent.catalog("SELECT count(*) AS n FROM product")[0]["n"] == 10
        assert integrity(agent.data / "agent.db") == "ok"
        assert integrity(agent.data / "catalog.db") == "ok"
        os.unlink(filler)                            # space returns
        done = wait_for(lambda: [j for j in agent.jrun("job", "list")[1]
                                 if j["file_name"] == "big.csv" and j["state"] == "done"],
                        timeout=600, what="the file imported once space returned")
        assert done[0]["created_count"] == 150000 - 10
        wait_for(lambda: (agent.data / "archive" / "big.csv").exists(), what="archived")
    finally:
        p.send_signal(signal.SIGCONT)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
            log.close()
    assert p.returncode == 0


def test_disk_full_at_the_outcome_settles_from_the_catalog(agent, small_fs):
    """Issue #9 item 3: the command's report and the catalog agree."""
    fs = small_fs(64)
    use_dir(agent, fs / "var")
    agent.add_profile()
    f = csv(agent.dir / "big.csv", 150000)
    p = agent.popen("import", f, "--profile", "Test", json_out=True)
    wait_for(lambda: (lambda d: d[0] == 0 and d[1]["state"] == "running"
                      and d[1]["progress_percent"] > 5)(
                          agent.jrun("job", "show", "IMP/00001")),
             timeout=300, what="the import to be under way")
    p.send_signal(signal.SIGSTOP)
    filler = fill(fs)
    p.send_signal(signal.SIGCONT)
    out, err = p.communicate(timeout=600)
    os.unlink(filler)
    doc = json.loads(out)
    n = agent.catalog("SELECT count(*) AS n FROM product")[0]["n"]
    rec = db_one(agent.data / "catalog.db", "SELECT count(*) FROM import_record")[0]
    # Whatever step the disk filled at, report, job and catalog agree.
    if p.returncode == 0:
        assert doc["state"] == "done" and n == 150000 and rec == 1, (doc, n)
    else:
        assert p.returncode == 74, err
        assert doc["state"] == "failed" and n == 0 and rec == 0, (doc, n)
        assert doc["error_message"].startswith("disk full"), doc
    rc, job, r = agent.jrun("job", "show", "IMP/00001")
    assert rc == 0 and job["state"] == doc["state"], r
    assert integrity(agent.data / "agent.db") == "ok"

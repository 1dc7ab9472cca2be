"""Jobs: state machine, cancel, reset, logs, listing, recovery, exit codes."""
import os
import signal
import sqlite3
import time

import pytest

from fx_hq import wait_for


def big_csv(agent, rows=400000, name="big.csv"):
    p = agent.dir / name
    with open(p, "w") as f:
        f.write("SKU,Product Name,Price,Stock\n")
        for i in range(rows):
            f.write(f"S{i:07d},Линза {i},{i % 9000 + 100}.50,{i % 50}\n")
    return p


def wait_state(agent, job, states, timeout=300):
    """Wait for the job to reach one of states (polls the real binary,
    paced; the timeout only bounds a broken run)."""
    def reached():
        rc, doc, r = agent.jrun("job", "show", job)
        if rc == 66:
            return None          # not created yet
        assert rc == 0, r
        return doc if doc["state"] in states else None
    return wait_for(reached, timeout=timeout, what=f"{job} to reach {states}")


def settle(agent):
    """Read-only commands never settle a crashed job (issue #8); a command
    that writes does. This one deletes nothing."""
    r = agent.run("job", "prune", "--older-than", "36500")
    assert r.rc == 0, r


def test_create_then_run_and_illegal_transitions(agent, seed):
    agent.add_profile()
    rc, job, r = agent.jrun("job", "create", os.path.join(seed, "supplier_price_list.csv"),
                            "--profile", "Test")
    assert rc == 0 and job["state"] == "draft" and job["name"] == "IMP/00001", r
    rc, doc, r = agent.jrun("job", "reset", "IMP/00001")
    assert rc == 64 and "draft" in doc["error"]["message"], r
    rc, job, r = agent.jrun("job", "run", "1")
    assert rc == 0 and job["state"] == "done", r
    for cmd in ("run", "cancel", "reset"):
        rc, doc, r = agent.jrun("job", cmd, "IMP/00001")
        assert rc == 64 and "is done" in r.err, (cmd, r)


def test_cancel_draft_then_reset_then_run(agent, seed):
    agent.add_profile()
    agent.jrun("job", "create", os.path.join(seed, "supplier_price_list.csv"), "--profile", "Test")
    rc, job, r = agent.jrun("job", "cancel", "IMP/00001")
    assert rc == 0 and job["state"] == "cancelled", r
    rc, job, r = agent.jrun("job", "reset", "IMP/00001")
    assert rc == 0 and job["state"] == "draft" and job["total_rows"] == 0, r
    rc, job, r = agent.jrun("job", "run", "IMP/00001")
    assert rc == 0 and job["state"] == "done", r


def test_reset_clears_stats_and_logs(agent, seed):
    agent.add_profile(max_error_percent=0)
    rc, job, _ = agent.jrun("import", os.path.join(seed, "supplier_price_list_invalid.csv"),
                            "--profile", "Test")
    assert rc == 65 and job["state"] == "failed"
    rc, job, r = agent.jrun("job", "reset", job["name"])
    assert rc == 0 and job["error_count"] == 0 and job["error_message"] is None, r
    assert agent.jrun("log", job["name"])[1]["total"] == 0


def test_cancel_running_import_rolls_back(agent):
    agent.add_profile()
    f = big_csv(agent)
    p = agent.popen("import", f, "--profile", "Test", json_out=True)
    try:
        wait_state(agent, "IMP/00001", ("running",))
        rc, job, r = agent.jrun("job", "cancel", "IMP/00001")
        assert rc == 0 and job["state"] == "cancelled", r
        out, err = p.communicate(timeout=60)
        assert p.returncode == 65, err
    finally:
        if p.poll() is None:
            p.kill()
    assert agent.catalog() == []
    log = agent.jrun("log", "IMP/00001", "--level", "warning")[1]
    assert any("cancelled" in e["message"] for e in log["entries"])


def test_progress_is_visible_while_running(agent):
    agent.add_profile()
    p = agent.popen("import", big_csv(agent), "--profile", "Test", json_out=True)
    try:
        wait_state(agent, "IMP/00001", ("running",))
        seen = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rc, doc, r = agent.jrun("job", "show", "IMP/00001")
            assert rc == 0, r
            if doc["state"] != "running":
                break
            seen.add(doc["progress_percent"])
            time.sleep(0.02)     # pace the poll; the import's end ends it
        p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert any(0 < x < 100 for x in seen), seen
    assert agent.jrun("job", "show", "IMP/00001")[1]["progress_percent"] == 100


def test_kill9_mid_import_is_settled_failed_on_next_start(agent):
    agent.add_profile()
    p = agent.popen("import", big_csv(agent), "--profile", "Test")
    wait_state(agent, "IMP/00001", ("running",))
    p.send_signal(signal.SIGKILL)
    p.wait()
    rc, job, r = agent.jrun("job", "show", "IMP/00001")
    assert rc == 0 and job["state"] == "running", r     # show never writes
    settle(agent)
    rc, job, r = agent.jrun("job", "show", "IMP/00001")
    assert rc == 0, r
    assert job["state"] == "failed" and "interrupted" in job["error_message"], r
    assert agent.catalog("SELECT count(*) AS n FROM product")[0]["n"] == 0


def test_running_job_with_committed_import_is_settled_done(agent, seed):
    agent.add_profile()
    rc, job, _ = agent.jrun("import", os.path.join(seed, "supplier_price_list.csv"), "--profile", "Test")
    assert rc == 0
    # Simulate a crash between the catalog commit and the job update.
    db = sqlite3.connect(str(agent.data / "agent.db"))
    db.execute("UPDATE job SET state='running', created_count=0 WHERE name='IMP/00001'")
    db.commit()
    db.close()
    rc, job, r = agent.jrun("job", "show", "IMP/00001")
    assert rc == 0 and job["state"] == "running", r     # show never writes
    settle(agent)
    rc, job, r = agent.jrun("job", "show", "IMP/00001")
    assert rc == 0 and job["state"] == "done" and job["created_count"] == 10, r


def test_log_paging(agent, seed):
    agent.add_profile()
    rows = "".join(f"E{i},Bad,notanumber,1\n" for i in range(25))
    f = agent.dir / "errs.csv"
    f.write_text("SKU,Product Name,Price,Stock\n" + rows)
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert job["error_count"] == 25, r
    rc, page, _ = agent.jrun("log", job["name"], "--level", "error", "--page", "3", "--page-size", "10")
    assert rc == 0 and page["total"] == 25 and page["page"] == 3 and page["page_size"] == 10
    assert [e["row_number"] for e in page["entries"]] == [22, 23, 24, 25, 26]
    all_entries = agent.jrun("log", job["name"], "--page-size", "1000")[1]
    assert all_entries["entries"][0]["level"] == "warning"   # backend none
    assert {"level", "message", "row_number", "row_data", "create_date"} <= set(all_entries["entries"][0])


def test_list_filters_and_grouping(agent, seed):
    agent.add_profile()
    agent.add_profile(name="Strict", max_error_percent=0)
    agent.jrun("import", os.path.join(seed, "supplier_price_list.csv"), "--profile", "Test")
    agent.jrun("import", os.path.join(seed, "supplier_price_list_invalid.csv"), "--profile", "Test")
    agent.jrun("import", os.path.join(seed, "supplier_price_list_invalid.csv"), "--profile", "Strict")
    names = lambda *a: [j["name"] for j in agent.jrun("job", "list", *a)[1]]
    assert names() == ["IMP/00003", "IMP/00002", "IMP/00001"]
    assert names("--state", "failed") == ["IMP/00003"]
    assert names("--errors") == ["IMP/00003", "IMP/00002"]
    assert names("--since", "today") == ["IMP/00003", "IMP/00002", "IMP/00001"]
    assert names("--since", "week") == names()
    groups = agent.jrun("job", "list", "--group-by", "profile")[1]
    assert {g["group"]: g["count"] for g in groups} == {"Strict": 1, "Test": 2}
    groups = agent.jrun("job", "list", "--group-by", "state")[1]
    assert {g["group"]: g["count"] for g in groups} == {"failed": 1, "done": 2}
    assert len(agent.jrun("job", "list", "--group-by", "date")[1]) == 1
    assert agent.run("job", "list", "--state", "bogus").rc == 64


def test_delete_and_prune(agent, seed):
    agent.add_profile()
    agent.jrun("import", os.path.join(seed, "supplier_price_list.csv"), "--profile", "Test")
    agent.jrun("import", os.path.join(seed, "supplier_price_list.csv"), "--profile", "Test")
    rc, doc, r = agent.jrun("job", "delete", "IMP/00001")
    assert rc == 0, r
    assert agent.run("log", "IMP/00001").rc == 66
    db = sqlite3.connect(str(agent.data / "agent.db"))
    assert db.execute("SELECT count(*) FROM job_log WHERE job_id NOT IN (SELECT id FROM job)").fetchone()[0] == 0
    db.execute("UPDATE job SET create_date='2020-01-01T00:00:00.000Z'")
    db.commit()
    db.close()
    rc, doc, r = agent.jrun("job", "prune", "--older-than", "30")
    assert rc == 0 and doc["deleted"] == 1, r
    assert agent.jrun("job", "list")[1] == []


def test_human_output_table(agent, seed):
    agent.add_profile()
    agent.jrun("import", os.path.join(seed, "supplier_price_list.csv"), "--profile", "Test")
    r = agent.run("job", "list")
    assert r.rc == 0 and "IMP/00001" in r.out and "STATE" in r.out and "\033[" not in r.out
    r = agent.run("job", "show", "IMP/00001")
    assert "created_count" in r.out and "done" in r.out


@pytest.mark.parametrize("args, code", [
    (("bogus",), 64),
    (("job",), 64),
    (("job", "show", "IMP/09999"), 66),
    (("log", "42"), 66),
    (("import", "/nonexistent.csv", "--profile", "Test"), 66),
    (("import", "x.csv"), 64),
    (("log", "1", "--page", "0"), 64),
])
def test_exit_codes(agent, args, code):
    agent.add_profile()
    r = agent.run(*args)
    assert r.rc == code, r


def test_json_errors_are_on_stdout_too(agent):
    rc, doc, r = agent.jrun("job", "show", "IMP/00077")
    assert rc == 66 and doc["error"]["code"] == 66 and "IMP/00077" in doc["error"]["message"]
    assert "IMP/00077" in r.err


def test_config_errors_exit_78(agent):
    agent.conf["kkt"]["backend"] = "bogus"
    agent.write_conf()
    assert agent.run("job", "list").rc == 78
    agent.conf["kkt"]["backend"] = "none"
    agent.conf["agent"]["nonsense"] = "1"
    agent.write_conf()
    r = agent.run("job", "list")
    assert r.rc == 78 and "nonsense" in r.err


def test_secret_file_permissions_are_checked(agent):
    tok = agent.dir / "token"
    tok.write_text("s3cret\n")
    os.chmod(tok, 0o644)
    agent.conf["hq"]["token_file"] = str(tok)
    agent.write_conf()
    r = agent.run("job", "list")
    assert r.rc == 78 and "chmod 600" in r.err and "s3cret" not in r.err
    os.chmod(tok, 0o600)
    assert agent.run("job", "list").rc == 0


def test_init_is_idempotent(agent):
    assert agent.run("init").rc == 0
    assert agent.run("init").rc == 0
    assert (agent.data / "agent.db").exists() and (agent.data / "catalog.db").exists()


def test_run_when_spool_copy_is_gone_says_so(agent, seed):
    agent.add_profile()
    rc, job, _ = agent.jrun("job", "create", os.path.join(seed, "supplier_price_list.csv"),
                            "--profile", "Test")
    os.unlink(agent.data / "spool" / job["file_sha256"])
    rc, doc, r = agent.jrun("job", "run", job["name"])
    assert rc == 66 and "gone from the spool" in r.err, r
    assert agent.jrun("job", "show", job["name"])[1]["state"] == "draft"

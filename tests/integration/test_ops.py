"""Operating the agent (issue #13): config check, no invented identity,
status reasons and exit code, the metrics file, journal severities and the
CLI conventions (-q, --since DATE, local time, TERM=dumb, --help)."""
import json
import os
import pty
import re
import shutil
import stat
import subprocess
import time

from conftest import BIN, TOP
from fx_hq import use_hq
from fx_kkt import use_kkt

CSV = "SKU,Product Name,Price,Stock\nA-1,Lens,100.00,3\nA-2,Frame,55.50,1\n"


def check(agent, *extra, json_out=True):
    r = agent.run("config", "check", *extra, json_out=json_out)
    return r, (r.json() if json_out and r.out.strip() else None)


def failed(doc):
    return {c["check"]: c["message"] for c in doc["checks"] if not c["ok"]}


# --- a missing config, a missing id ----------------------------------------

def test_init_without_a_config_is_an_error_that_says_what_to_do(tmp_path):
    r = subprocess.run([BIN, "-c", str(tmp_path / "none.conf"), "init"],
                       capture_output=True, text=True)
    assert r.returncode == 78, r
    assert "posagent --help config" in r.stderr and "[agent] id" in r.stderr
    assert not (tmp_path / "var").exists()


def test_a_config_without_id_invents_none(agent):
    del agent.conf["agent"]["id"]
    agent.write_conf()
    r = agent.run("init")
    assert r.rc == 78, r
    assert "[agent] id is not set" in r.err
    assert "store-0001" not in r.out + r.err


# --- config check ------------------------------------------------------------

def test_config_check_passes_a_valid_config(agent):
    r, doc = check(agent)
    assert r.rc == 0, r
    assert doc["ok"] is True and not failed(doc)
    r, _ = check(agent, json_out=False)
    assert r.rc == 0 and "configuration ok" in r.out, r


def test_config_check_lists_every_problem_and_exits_78(agent, tmp_path):
    agent.conf["kkt"] = {"url": "ftp://kkt"}          # backend unset, bad URL
    agent.conf["hq"] = {"url": "https://hq.example:8443", "ca_file": "/etc/hostname",
                        "pin": "sha256//short"}
    agent.conf["agent"]["metrics_file"] = str(tmp_path / "nodir" / "p.prom")
    agent.write_conf()
    r, doc = check(agent)
    assert r.rc == 78, r
    bad = failed(doc)
    assert set(bad) == {"kkt", "hq", "metrics"}, doc
    assert "backend is not set" in bad["kkt"]
    assert "pin" in bad["hq"] and "44 characters" in bad["hq"]
    assert "does not exist" in bad["metrics"]
    assert doc["error"]["code"] == 78
    assert "3 problems" in r.err


def test_config_check_refuses_an_unknown_key(agent):
    agent.conf["agent"]["colour"] = "yes"
    agent.write_conf()
    r, doc = check(agent)
    assert r.rc == 78, r
    assert "unknown setting [agent] colour" in failed(doc)["file"]


def test_config_check_refuses_a_readable_key_file(agent, hq_certs, tmp_path):
    key = tmp_path / "client.key"
    shutil.copy(hq_certs["client_key"], key)
    os.chmod(key, 0o644)
    agent.conf["hq"] = {"url": "https://localhost:1", "ca_file": hq_certs["ca"],
                        "cert_file": hq_certs["client"], "key_file": str(key)}
    agent.write_conf()
    r, doc = check(agent)
    assert r.rc == 78, r
    assert "chmod 600" in failed(doc)["agent"]


def test_config_check_finds_a_key_that_is_not_the_certificates(agent, hq_certs, tmp_path):
    key = tmp_path / "server.key"
    shutil.copy(hq_certs["server_key"], key)     # a valid key, someone else's
    os.chmod(key, 0o600)
    agent.conf["hq"] = {"url": "https://localhost:1", "ca_file": hq_certs["ca"],
                        "cert_file": hq_certs["client"], "key_file": str(key)}
    agent.write_conf()
    r, doc = check(agent)
    assert r.rc == 78, r
    assert "is not the key of cert_file" in failed(doc)["hq"]


def test_config_check_finds_a_ca_file_that_is_not_a_certificate(agent, tmp_path):
    bogus = tmp_path / "ca.pem"
    bogus.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    agent.conf["hq"] = {"url": "https://localhost:1", "ca_file": str(bogus)}
    agent.write_conf()
    r, doc = check(agent)
    assert r.rc == 78, r
    assert "ca_file" in failed(doc)["hq"]


def test_config_check_validates_stored_profiles(agent):
    assert agent.run("init").rc == 0
    agent.add_profile()
    r, doc = check(agent)
    assert r.rc == 0, r
    prof = [c for c in doc["checks"] if c["check"] == "profiles"][0]
    assert prof["message"] == "1 profile valid"


def test_config_check_online_reaches_kkt_and_hq(agent, hq, hq_certs, kkt_peer):
    use_hq(agent, hq, hq_certs, init=False)
    agent.conf["kkt"] = {"backend": "opticserp", "url": kkt_peer.url}
    agent.write_conf()
    before = hq.stats()["heartbeat_requests"]
    r, doc = check(agent, "--online")
    assert r.rc == 0, r
    names = [c["check"] for c in doc["checks"]]
    assert "kkt online" in names and "hq online" in names
    assert hq.stats()["heartbeat_requests"] == before + 1


def test_config_check_online_says_kkt_unreachable_exit_69(agent, kkt_refusing_url):
    agent.conf["kkt"] = {"backend": "opticserp", "url": kkt_refusing_url,
                         "timeout_ms": 500}
    agent.write_conf()
    r, doc = check(agent, "--online")
    assert r.rc == 69, r
    assert "kkt online" in failed(doc)


def test_config_check_online_says_hq_refuses_credentials_exit_78(agent, tmp_path, hq_certs):
    from fx_hq import start_hq, stop_hq
    (tmp_path / "hqa").mkdir()
    peer = start_hq(tmp_path / "hqa", hq_certs, token="right-token")
    try:
        tok = tmp_path / "token"
        tok.write_text("wrong-token\n")
        os.chmod(tok, 0o600)
        use_hq(agent, peer, hq_certs, init=False, token_file=str(tok))
        r, doc = check(agent, "--online")
        assert r.rc == 78, r
        assert "refused our credentials" in failed(doc)["hq online"]
    finally:
        stop_hq(peer)


# --- status: attention reasons and exit code -----------------------------

def test_status_exits_0_when_nothing_needs_attention(agent):
    assert agent.run("init").rc == 0
    rc, doc, r = agent.jrun("status")
    assert rc == 0, r
    assert doc["attention"] == []
    assert "nothing needs attention" in agent.run("status").out


def test_status_exits_1_for_a_file_stuck_in_the_inbox(agent):
    agent.conf["status"] = {"inbox_stuck_max_s": 60}
    agent.write_conf()
    assert agent.run("init").rc == 0
    f = agent.data / "inbox" / "price.csv"
    f.write_text(CSV)
    rc, doc, r = agent.jrun("status")
    assert rc == 0, r                                  # fresh file: fine
    old = time.time() - 600
    os.utime(f, (old, old))
    (agent.data / "inbox" / "next.csv.part").write_text("x")   # not a candidate
    rc, doc, r = agent.jrun("status")
    assert rc == 1, r
    assert [a["reason"] for a in doc["attention"]] == ["inbox_stuck"]
    assert "price.csv" in doc["attention"][0]["message"]
    r = agent.run("status")
    assert r.rc == 1 and "inbox_stuck: price.csv" in r.out, r


def test_status_exits_1_when_the_disk_is_nearly_full(agent):
    agent.conf["status"] = {"disk_free_min_mb": 10000000}   # 9.5 TiB
    agent.write_conf()
    assert agent.run("init").rc == 0
    rc, doc, r = agent.jrun("status")
    assert rc == 1, r
    assert [a["reason"] for a in doc["attention"]] == ["disk_low"]


def test_status_exits_1_for_an_outbox_backlog(agent, hq, hq_certs):
    from fx_hq import seed_events
    use_hq(agent, hq, hq_certs)
    agent.conf["status"] = {"outbox_max_depth": 5}
    agent.write_conf()
    seed_events(agent, 6)
    rc, doc, r = agent.jrun("status")
    assert rc == 1, r
    assert [a["reason"] for a in doc["attention"]] == ["outbox_backlog"]


def test_status_exits_1_when_hq_is_offline_too_long(agent, hq_certs):
    import json
    import sqlite3
    agent.conf["hq"] = {"url": "https://localhost:9", "ca_file": hq_certs["ca"]}
    agent.conf["status"] = {"hq_offline_max_s": 60}
    agent.write_conf()
    assert agent.run("init").rc == 0
    rc, doc, r = agent.jrun("status")
    assert rc == 0 and doc["hq_state"] == "offline", r   # no loop ran: no clock
    # The state a sync loop leaves after 10 minutes of failing (sync_state
    # is the loop's own record; waiting 10 minutes is not a test).
    def state(since):
        db = sqlite3.connect(str(agent.data / "agent.db"))
        with db:
            db.execute("INSERT OR REPLACE INTO sync_state(key, value) VALUES ('sync', ?)",
                       (json.dumps({"hq_state": "offline", "since": since,
                                    "last_error": "HQ unavailable"}),))
        db.close()
    state(time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 30)))
    rc, doc, r = agent.jrun("status")
    assert rc == 0, r                                     # 30 s < 60 s
    state(time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 600)))
    rc, doc, r = agent.jrun("status")
    assert rc == 1, r
    assert [a["reason"] for a in doc["attention"]] == ["hq_offline"], doc


# --- the metrics file ---------------------------------------------------------

def metrics(path):
    vals = {}
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) posagent_[a-z_]+ ", line), line
            continue
        name, value = line.rsplit(" ", 1)
        vals[name] = float(value)
    return vals


def test_metrics_file_after_an_import(agent, tmp_path):
    mdir = tmp_path / "textfile"
    mdir.mkdir()
    agent.conf["agent"]["metrics_file"] = str(mdir / "posagent.prom")
    agent.write_conf()
    assert agent.run("init").rc == 0
    agent.add_profile(file_pattern="*.csv")
    (agent.data / "inbox" / "price.csv").write_text(CSV)
    r = agent.run("run", "--once")
    assert r.rc == 0, r
    assert sorted(os.listdir(mdir)) == ["posagent.prom"]     # no temp left
    assert stat.S_IMODE(os.stat(mdir / "posagent.prom").st_mode) == 0o644
    m = metrics(mdir / "posagent.prom")
    assert m['posagent_jobs{state="done"}'] == 1
    assert m['posagent_jobs{state="failed"}'] == 0
    assert m["posagent_rows_imported_total"] == 2
    assert m["posagent_last_import_success_timestamp_seconds"] > time.time() - 600
    assert m["posagent_kkt_gate_open"] == 1
    assert m["posagent_outbox_events"] >= 1
    assert m["posagent_hq_online"] == 0
    assert m['posagent_attention{reason="inbox_stuck"}'] == 0
    assert m['posagent_info{agent_id="store-test-001",version="' +
             agent.run("--version").out.split()[1] + '"}'] == 1
    for name in m:
        base = name.split("{")[0]
        assert base.startswith("posagent_")
        if base.endswith("_total"):
            assert "counter" in (mdir / "posagent.prom").read_text().split(
                f"# TYPE {base} ")[1].split("\n")[0]


def test_rows_imported_total_never_goes_down(agent, tmp_path):
    # Issue #13: the counter summed the done jobs still in agent.db, so
    # reverting, deleting or pruning a job lowered it (a "reset" to
    # Prometheus). Now a lifetime count.
    prom = tmp_path / "posagent.prom"
    agent.conf["agent"]["metrics_file"] = str(prom)
    agent.write_conf()
    assert agent.run("init").rc == 0
    profile = agent.add_profile()
    price = tmp_path / "price.csv"
    price.write_text(CSV)

    def total():
        r = agent.run("run", "--once")      # the daemon writes the file
        assert r.rc == 0, r
        return metrics(prom)["posagent_rows_imported_total"]

    assert agent.run("import", price, "--profile", profile).rc == 0
    assert total() == 2
    r = agent.run("import", price, "--profile", profile, "--dry-run")
    assert r.rc == 0, r
    assert total() == 2                      # a dry run imported nothing
    r = agent.run("job", "revert", "IMP/00001")
    assert r.rc == 0, r
    assert total() == 2
    r = agent.run("job", "delete", "IMP/00001")
    assert r.rc == 0, r
    assert total() == 2
    other = tmp_path / "other.csv"
    other.write_text(CSV.replace("A-1", "B-1").replace("A-2", "B-2"))
    assert agent.run("import", other, "--profile", profile).rc == 0
    assert total() == 4


def test_gate_refusals_total_never_goes_down(agent, kkt_peer, tmp_path):
    # Issue #13: the streak gauges reset when the gate lets an import
    # through; posagent_gate_refusals_total keeps every refusal, across
    # passes and across processes (each command here is a new one).
    prom = tmp_path / "posagent.prom"
    agent.conf["agent"]["metrics_file"] = str(prom)
    agent.write_conf()
    use_kkt(agent, kkt_peer.url, "opticserp")
    assert agent.run("init").rc == 0
    profile = agent.add_profile()
    price = tmp_path / "price.csv"
    price.write_text(CSV)

    def publish():
        r = agent.run("run", "--once")      # the daemon writes the file
        assert r.rc == 0, r
        return metrics(prom)

    m = publish()
    assert m["posagent_gate_refusals_total"] == 0
    assert "# TYPE posagent_gate_refusals_total counter\n" in prom.read_text()
    kkt_peer.set("pending", pending=3)
    for _ in range(2):
        r = agent.run("import", price, "--profile", profile)
        assert r.rc == 75, r
    m = publish()
    assert m["posagent_gate_refusals_total"] == 2
    assert m["posagent_kkt_gate_refusals"] == 2
    kkt_peer.set("synced")
    r = agent.run("job", "run", "IMP/00001")
    assert r.rc == 0, r
    m = publish()
    assert m["posagent_kkt_gate_refusals"] == 0          # the streak ended
    assert m["posagent_gate_refusals_total"] == 2        # the count did not
    kkt_peer.set("pending", pending=1)
    r = agent.run("import", price, "--profile", profile)
    assert r.rc == 75, r
    m = publish()
    assert m["posagent_gate_refusals_total"] == 3
    assert m["posagent_kkt_gate_refusals"] == 1
    rc, doc, r = agent.jrun("status")
    assert rc in (0, 1) and doc["kkt"]["refusals_total"] == 3, r


# --- journal severities ----------------------------------------------------------

def run_to_journal(agent, tmp_path, journal=True):
    err = tmp_path / "stderr.log"
    with open(err, "w") as f:
        st = os.fstat(f.fileno())
        env = dict(os.environ)
        env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}" if journal else "1:1"
        p = subprocess.run([BIN, "-c", str(agent.conf_path), "run", "--once"],
                           stdout=subprocess.DEVNULL, stderr=f, env=env)
    return p.returncode, err.read_text().splitlines()


def test_journal_lines_carry_priorities_and_no_timestamp(agent, tmp_path):
    assert agent.run("init").rc == 0
    agent.add_profile(file_pattern="*.csv", max_error_percent=0)
    (agent.data / "inbox" / "bad.csv").write_text("SKU,Product Name,Price,Stock\nA-1,Lens,x,1\n")
    (agent.data / "inbox" / "other.txt").write_text("x")
    rc, lines = run_to_journal(agent, tmp_path)
    assert rc == 0, lines
    assert all(re.match(r"^<[3-7]>", l) for l in lines), lines
    assert not any(re.search(r"\d{4}-\d\d-\d\dT\d\d:", l.split(" ")[0]) for l in lines)
    assert any(l.startswith("<5>started") for l in lines), lines
    assert any(l.startswith("<5>stopped") for l in lines), lines
    assert any(l.startswith("<3>") and "bad.csv: job" in l and "failed" in l for l in lines), lines
    assert any(l.startswith("<4>") and "other.txt" in l and "rejected" in l for l in lines), lines


def test_the_error_a_service_fails_with_is_an_error_in_the_journal(agent, tmp_path):
    # Found by make systemd-check: a bad key stopped the service (exit 78)
    # but its reason reached the journal at info, hidden from -p err.
    agent.conf["agent"]["bogus_key"] = "1"
    agent.write_conf()
    err = tmp_path / "stderr.log"
    with open(err, "w") as f:
        st = os.fstat(f.fileno())
        env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
        p = subprocess.run([BIN, "-c", str(agent.conf_path), "run"],
                           stdout=subprocess.DEVNULL, stderr=f, env=env)
    assert p.returncode == 78
    lines = err.read_text().splitlines()
    assert any(l.startswith("<3>posagent: ") and "bogus_key" in l for l in lines), lines


def test_an_inherited_journal_stream_is_not_ours(agent, tmp_path):
    assert agent.run("init").rc == 0
    rc, lines = run_to_journal(agent, tmp_path, journal=False)
    assert rc == 0
    assert lines and all(re.match(r"^\d{4}-\d\d-\d\dT[\d:.]+Z posagent: ", l) for l in lines), lines


def test_verbose_adds_debug_lines(agent):
    assert agent.run("init").rc == 0
    r = agent.run("-v", "run", "--once")
    assert r.rc == 0 and "configuration " in r.err and "data_dir" in r.err, r
    r = agent.run("run", "--once")
    assert r.rc == 0 and "data_dir" not in r.err, r


def test_quiet_commands_print_only_data_and_errors(agent, tmp_path):
    # -q on every command: confirmations and progress go, errors, warnings
    # and what was asked for stay; an action prints the name of a job it
    # made and nothing else.
    r = agent.run("-q", "init")
    assert r.rc == 0 and r.out == "", r
    assert agent.run("init").out != ""            # without -q it says so
    prof = tmp_path / "p.json"
    prof.write_text(json.dumps({
        "name": "Q", "supplier_code": "Q", "file_format": "csv_utf8",
        "csv_delimiter": ",", "header_row": 1, "data_start_row": 2,
        "upsert_field": "default_code", "create_missing": True,
        "update_existing": True, "max_error_percent": 0,
        "column_mapping": {"default_code": "SKU", "name": "Product Name",
                           "list_price": "Price"}}))
    r = agent.run("-q", "profile", "add", prof)
    assert r.rc == 0 and r.out == "", r
    r = agent.run("-q", "job", "list")
    assert r.rc == 0 and r.out == "", r           # "no jobs match" is chatter
    good = tmp_path / "good.csv"
    good.write_text("SKU,Product Name,Price\nA-1,Lens,10.00\n")
    r = agent.run("-q", "import", good, "--profile", "Q")
    assert r.rc == 0 and r.out == "IMP/00001\n" and r.err == "", r
    r = agent.run("-q", "job", "create", good, "--profile", "Q")
    assert r.rc == 0 and r.out == "IMP/00002\n", r
    r = agent.run("-q", "job", "run", "IMP/00002")
    assert r.rc == 0 and r.out == "", r
    # A dry run's counts and `job show` are the data asked for.
    r = agent.run("-q", "import", good, "--profile", "Q", "--dry-run")
    assert r.rc == 0 and "dry run" in r.out and "IMP/00003" in r.out, r
    r = agent.run("-q", "job", "show", "IMP/00001")
    assert r.rc == 0 and "done" in r.out and "created_count" in r.out, r
    r = agent.run("-q", "job", "list")
    assert r.rc == 0 and "IMP/00001" in r.out and "IMP/00002" in r.out, r
    # A failed import still shows its job, and the error.
    bad = tmp_path / "bad.csv"
    bad.write_text("SKU,Product Name,Price\nA-2,Lens,x\n")
    r = agent.run("-q", "import", bad, "--profile", "Q")
    assert r.rc == 65, r
    assert "failed" in r.out and "rolled back" in r.out and r.err.startswith("posagent: "), r
    r = agent.run("-q", "job", "show", "IMP/09999")
    assert r.rc == 66 and r.out == "" and "IMP/09999" in r.err, r
    r = agent.run("-q", "job", "delete", "IMP/00002")
    assert r.rc == 0 and r.out == "", r
    r = agent.run("-q", "job", "prune", "--older-than", "1")
    assert r.rc == 0 and r.out == "", r
    r = agent.run("-q", "profile", "list")
    assert r.rc == 0 and "Q" in r.out, r
    # --json is requested data: -q does not touch it.
    rc, doc, r = agent.jrun("-q", "job", "show", "IMP/00001")
    assert rc == 0 and doc["name"] == "IMP/00001", r


def test_quiet_keeps_only_warnings(agent):
    assert agent.run("init").rc == 0
    (agent.data / "inbox" / "other.txt").write_text("x")
    r = agent.run("-q", "run", "--once")
    assert r.rc == 0, r
    assert "started" not in r.err and "rejected" in r.err


# --- CLI conventions ----------------------------------------------------------------

def test_the_man_page_describes_every_config_key():
    sample = subprocess.run([BIN, "--help", "config"], capture_output=True, text=True).stdout
    keys = {re.match(r"#?([a-z_]+) =", l).group(1) for l in sample.splitlines()
            if re.match(r"#?[a-z_]+ =", l)}
    page = open(os.path.join(TOP, "docs", "man", "posagent.conf.5.scd")).read()
    assert keys and not {k for k in keys if f"*{k}*" not in page}


def test_top_level_help_lists_every_option():
    out = subprocess.run([BIN, "--help"], capture_output=True, text=True).stdout
    for opt in ("--limit", "--replace", "run JOB [--dry-run]", "-q, --quiet",
                "-v, --verbose", "config check [--online]", "--since today|week|YYYY-MM-DD",
                "--group-by", "--preview", "--page-size", "--older-than"):
        assert opt in out, opt


def test_since_takes_a_date(agent):
    assert agent.run("init").rc == 0
    agent.add_profile()
    f = agent.dir / "p.csv"
    f.write_text(CSV)
    assert agent.run("import", f, "--profile", "Test").rc == 0
    today = time.strftime("%Y-%m-%d")
    rc, doc, r = agent.jrun("job", "list", "--since", today)
    assert rc == 0 and len(doc) == 1, r
    rc, doc, r = agent.jrun("job", "list", "--since", "2999-01-01")
    assert rc == 0 and doc == [], r
    r = agent.run("job", "list", "--since", "2026-02-30")
    assert r.rc == 64 and "YYYY-MM-DD" in r.err, r


def tty_run(agent, *args, env):
    """Run with stdout on a pseudo-terminal; returns what it printed."""
    master, slave = pty.openpty()
    e = dict(os.environ)
    e.pop("NO_COLOR", None)
    e.update(env)
    p = subprocess.Popen([BIN, "-c", str(agent.conf_path), *args], stdout=slave,
                         stderr=subprocess.DEVNULL, env=e)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    p.wait()
    os.close(master)
    return out.decode()


def test_term_dumb_means_no_colour_and_local_time(agent):
    assert agent.run("init").rc == 0
    agent.add_profile()
    f = agent.dir / "p.csv"
    f.write_text(CSV)
    assert agent.run("import", f, "--profile", "Test").rc == 0
    coloured = tty_run(agent, "job", "list", env={"TERM": "xterm"})
    assert "\033[" in coloured
    plain = tty_run(agent, "job", "list", env={"TERM": "dumb"})
    assert "\033[" not in plain and "IMP/00001" in plain
    # Human output in local time, JSON in UTC.
    rc, doc, r = agent.jrun("job", "show", "IMP/00001", env={"TZ": "Asia/Vladivostok"})
    utc = doc["create_date"]
    assert utc.endswith("Z")
    human = agent.run("job", "show", "IMP/00001", env={"TZ": "Asia/Vladivostok"}).out
    t = time.strptime(utc[:19], "%Y-%m-%dT%H:%M:%S")
    import calendar
    local = time.strftime("%Y-%m-%d %H:%M", time.gmtime(calendar.timegm(t) + 10 * 3600))
    assert local in human, human

"""posagent-hq's command line: help, version, usage errors (sysexits),
tokens shown once and stored hashed, clean SIGTERM, journald priorities."""
import os
import signal
import subprocess

from fx_hqd import HQ_BIN, run_hq, start_hqd, Store


def test_help_and_version_on_every_command():
    r = run_hq("--version")
    assert r.returncode == 0 and r.stdout.startswith("posagent-hq ")
    for args in (["--help"], ["serve", "--help"], ["agent", "add", "--help"],
                 ["operator", "add", "--help"], ["agent", "--help"],
                 ["operator", "--help"]):
        r = run_hq(*args)
        assert r.returncode == 0 and "usage: posagent-hq" in r.stdout, (args, r)


def test_usage_errors_exit_64():
    for args in ([], ["bogus"], ["serve"], ["serve", "--listen", "x"],
                 ["agent", "add"], ["agent", "add", "a b", "--db", "/tmp/x.db"],
                 ["operator", "add", "ops"], ["serve", "--threads", "0"]):
        r = run_hq(*args)
        assert r.returncode == 64, (args, r.returncode, r.stderr)
        assert "posagent-hq" in r.stderr


def test_unusable_key_or_store_exit_codes(tmp_path, hq_pki):
    key = tmp_path / "k.pem"
    key.write_bytes(open(hq_pki["server_key"], "rb").read())
    os.chmod(key, 0o644)
    base = ["serve", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "h.db"),
            "--cert", hq_pki["server"], "--client-ca", hq_pki["ca"]]
    r = run_hq(*base, "--key", key)
    assert r.returncode == 77 and "k.pem" in r.stderr, r.stderr
    r = run_hq(*base, "--key", tmp_path / "missing.pem")
    assert r.returncode == 78, r.stderr
    r = run_hq("agent", "add", "s1", "--db", tmp_path / "no" / "dir.db")
    assert r.returncode == 69, r.stderr


def test_operator_token_printed_once_and_stored_hashed(tmp_path):
    db = str(tmp_path / "h.db")
    r = run_hq("operator", "add", "alice", "--db", db)
    assert r.returncode == 0
    tok = r.stdout.strip()
    assert tok.startswith("pahq_") and len(tok) == 48
    assert tok.encode() not in open(db, "rb").read()
    rows = Store("sqlite", db).query("SELECT name, token_hash FROM hq_operator")
    assert rows[0][0] == "alice" and len(rows[0][1]) == 64


def test_agent_token_file_is_reused(tmp_path):
    db, tf = str(tmp_path / "h.db"), tmp_path / "t"
    tf.write_text("my-own-token\n")
    os.chmod(tf, 0o600)
    r = run_hq("agent", "add", "s1", "--db", db, "--token-file", tf)
    assert r.returncode == 0 and "new token" not in r.stdout
    import hashlib
    h = hashlib.sha256(b"my-own-token").hexdigest()
    assert Store("sqlite", db).query("SELECT token_hash FROM hq_agent") == [[h]]


def test_sigterm_stops_cleanly_with_journal_priorities(tmp_path, hq_pki):
    env = dict(os.environ, JOURNAL_STREAM="8:1234")
    err = open(tmp_path / "err", "w")
    p = subprocess.Popen([HQ_BIN, "serve", "--listen", "127.0.0.1:0", "--db",
                          str(tmp_path / "h.db"), "--cert", hq_pki["server"],
                          "--key", hq_pki["server_key"], "--client-ca", hq_pki["ca"]],
                         stdout=subprocess.PIPE, stderr=err, text=True, env=env)
    err.close()
    assert p.stdout.readline().startswith("posagent-hq: listening on https://127.0.0.1:")
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=60) == 0
    lines = open(tmp_path / "err").read().splitlines()
    assert lines and all(line.startswith("<") for line in lines), lines
    assert "<6>SIGTERM: stopping" in lines

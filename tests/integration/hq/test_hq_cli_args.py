"""posagent-hq's argument parsing (issue #11): getopt_long from one option
table per command, which also prints --help. COMMANDS below is the
specification, written independently of the binary's tables."""
import re

import pytest

from fx_hqd import Store, run_hq

COMMANDS = {
    "serve": {"--listen", "--db", "--cert", "--key", "--client-ca",
              "--accept-new-agents", "--behind-proxy", "--threads",
              "--busy-timeout-ms", "--max-inflight", "--offline-after",
              "--alert-cmd", "--alert-offline-after", "--alert-gate-after",
              "--alert-interval-ms", "--retain-job-days", "--retain-log-days",
              "--verbose"},
    "agent add": {"--db", "--token-file"},
    "operator add": {"--db"},
}


def listed_options(text):
    return set(re.findall(r"^  (?:-\w, )?(--[a-z][a-z-]*)", text, re.M))


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_help_of_every_command_lists_exactly_its_options(cmd):
    r = run_hq(*cmd.split(), "--help")
    assert r.returncode == 0 and f"usage: posagent-hq {cmd}" in r.stdout, r
    assert listed_options(r.stdout) == COMMANDS[cmd] | {"--help"}, r.stdout
    syn = r.stdout.split("\n\n")[0]
    assert set(re.findall(r"--[a-z][a-z-]*", syn)) == COMMANDS[cmd], syn


def test_top_level_help_lists_every_command_and_option():
    r = run_hq("--help")
    assert r.returncode == 0, r
    syn = r.stdout.split("\n\n")[0]
    for cmd, opts in COMMANDS.items():
        part = syn.split(f"posagent-hq {cmd}")[1].split("posagent-hq")[0]
        assert set(re.findall(r"--[a-z][a-z-]*", part)) == opts, (cmd, part)


def registered(db):
    return {r[0] for r in Store("sqlite", db).query("SELECT id FROM hq_agent")}


def test_opt_equals_value_options_anywhere_and_double_dash(tmp_path):
    db = str(tmp_path / "h.db")
    assert run_hq("agent", "add", f"--db={db}", "s1").returncode == 0
    assert run_hq("agent", "add", "s2", "--db", db).returncode == 0
    # After `--` a name that starts with '-' is the store ID.
    r = run_hq("agent", "add", "--db", db, "--", "-s3")
    assert r.returncode == 0, r.stderr
    r = run_hq("agent", "add", "--db", db, "-s4")
    assert r.returncode == 64 and "unknown option -s" in r.stderr, r.stderr
    assert registered(db) == {"s1", "s2", "-s3"}


@pytest.mark.parametrize("args,msg", [
    (["serve", "--bogus"], "unknown option --bogus"),
    (["agent", "add", "s1", "--db", "x", "--frob=1"], "unknown option --frob"),
    (["operator", "add", "o", "--db", "x", "--token-file", "t"],
     "unknown option --token-file"),
    (["--frob"], "unknown option --frob"),
    (["serve", "--listen"], "--listen needs a value"),
    (["agent", "add", "s1", "--db"], "--db needs a value"),
    (["serve", "--behind-proxy=yes"], "--behind-proxy takes no value"),
    (["agent", "add", "s1"], "--db SPEC is required"),
    (["agent", "add", "s1", "s2", "--db", "x"], "exactly one store ID"),
])
def test_usage_errors_exit_64_naming_the_option(args, msg):
    r = run_hq(*args)
    assert r.returncode == 64, (args, r.stderr)
    assert msg in r.stderr and "--help" in r.stderr, (args, r.stderr)


def test_docs_table_lists_every_serve_option():
    import os
    from fx_hqd import TOP
    doc = open(os.path.join(TOP, "docs", "hq.md")).read()
    table = doc.split("| `serve` option |")[1].split("\n\n")[0]
    assert set(re.findall(r"`(--[a-z][a-z-]*)", table)) == COMMANDS["serve"]

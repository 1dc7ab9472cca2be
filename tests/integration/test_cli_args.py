"""Argument parsing (issue #11: getopt_long from one option table per
command, which also prints --help). The expectation is written out here,
independently of the binary's tables: COMMANDS lists every command and its
options, and the help, the man page and the bash completion must all agree
with it. Then the GNU edge cases: --opt=value, options after positional
arguments, `--`, unknown options and missing values (exit 64, naming the
option, pointing at --help)."""
import os
import re
import subprocess

import pytest

from conftest import BIN, TOP

# The specification: command -> its options (besides --json and --help,
# which every command takes).
COMMANDS = {
    "init": set(),
    "config check": {"--online"},
    "profile add": {"--replace"},
    "profile list": set(),
    "profile show": set(),
    "profile remove": set(),
    "import": {"--profile", "--dry-run", "--preview", "--override-gate",
               "--accept-price-changes"},
    "job create": {"--profile"},
    "job run": {"--dry-run", "--override-gate", "--accept-price-changes"},
    "job cancel": set(),
    "job reset": set(),
    "job show": set(),
    "job delete": set(),
    "job revert": {"--dry-run"},
    "job list": {"--state", "--errors", "--since", "--group-by", "--limit"},
    "job prune": {"--older-than"},
    "log": {"--level", "--page", "--page-size"},
    "kkt status": set(),
    "sync": {"--once"},
    "status": set(),
    "run": {"--once"},
}
COMMON = {"--json", "--help"}
GLOBAL = {"-c", "--config", "-d", "--data-dir", "-q", "--quiet", "-v",
          "--verbose", "--json", "--version", "-h", "--help"}
MAN = os.path.join(TOP, "docs", "man", "posagent.1.scd")
COMPLETION = os.path.join(TOP, "packaging", "posagent.bash-completion")


def bare(*args, env=None, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=e, cwd=cwd)


def listed_options(help_text):
    """The long options in a help text's option lists ("  -h, --help  ...")."""
    return set(re.findall(r"^  (?:-\w, )?(--[a-z][a-z-]*)", help_text, re.M))


# --- help, man page and completion agree with the specification -------------

@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_help_of_every_command_lists_exactly_its_options(cmd):
    r = bare(*cmd.split(), "--help")
    assert r.returncode == 0, r
    assert f"usage: posagent {cmd}" in r.stdout, r.stdout
    assert listed_options(r.stdout) == COMMANDS[cmd] | COMMON, r.stdout


def test_group_help_lists_every_subcommand_and_option():
    for group in ("job", "profile", "config", "kkt"):
        r = bare(group, "--help")
        assert r.returncode == 0, r
        subs = {c for c in COMMANDS if c.startswith(group + " ")}
        for c in subs:
            assert f"posagent {c}" in r.stdout, (c, r.stdout)
        want = set().union(*(COMMANDS[c] for c in subs)) | COMMON
        assert listed_options(r.stdout) == want, r.stdout


def test_top_level_help_lists_every_command_with_every_option():
    r = bare("--help")
    assert r.returncode == 0, r
    # The synopses: "  job list [--state S] ..." and continuation lines.
    synopses = {}
    cur = None
    for line in r.stdout.split("options:")[0].splitlines():
        m = re.match(r"^  ([a-z]+(?: [a-z]+)?)\b(.*)", line)
        if m and (m.group(1) in COMMANDS or m.group(1).split()[0] in COMMANDS):
            cur = m.group(1) if m.group(1) in COMMANDS else m.group(1).split()[0]
            synopses[cur] = m.group(2)
        elif cur and line.startswith("    ") and "[" in line:
            synopses[cur] += line
        elif not line.startswith("    "):
            cur = None
    assert set(synopses) == set(COMMANDS), synopses.keys()
    for cmd, opts in COMMANDS.items():
        assert set(re.findall(r"--[a-z][a-z-]*", synopses[cmd])) == opts, cmd
    assert listed_options(r.stdout.split("options:")[1]) == \
        {o for o in GLOBAL if o.startswith("--")}


def test_man_page_lists_every_command_with_exactly_its_options():
    page = open(MAN).read()
    section = page.split("# COMMANDS")[1].split("\n# ")[0]
    found = {}
    for line in section.splitlines():
        m = re.match(r"^\*([a-z]+(?: [a-z]+)?)\*(.*)", line)
        if m:
            found[m.group(1)] = set(re.findall(r"\*(--[a-z][a-z-]*)\*", m.group(2)))
    assert found == COMMANDS
    opts = page.split("# OPTIONS")[1].split("\n# ")[0]
    pairs = re.findall(r"^\*(-[-a-z]+)\*(?:, \*(--[a-z-]+)\*)?", opts, re.M)
    assert {o for pair in pairs for o in pair if o} == GLOBAL


def complete(*words):
    """Run the real completion function with bash-completion's helpers
    stubbed; the candidates offered for the last word."""
    script = (
        '_init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; '
        'cur=${words[cword]}; prev=${words[cword-1]}; }\n'
        '_filedir() { :; }\n'
        'complete() { :; }\n'
        'source "$1"; shift\n'
        'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()\n'
        '_posagent\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n')
    r = subprocess.run(["bash", "-c", script, "bash", COMPLETION, "posagent",
                        *words], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_bash_completion_offers_exactly_the_options(cmd):
    words = cmd.split()
    # A subcommand taking a positional argument gets one first, so the
    # completion is past the subcommand word.
    offered = {w for w in complete(*words, "-") if w.startswith("-")}
    assert offered == COMMANDS[cmd] | COMMON, offered
    assert {w for w in complete("-") if w.startswith("-")} == GLOBAL - {"-h"}


# --- the GNU conventions -------------------------------------------------------

CSV = "SKU,Product Name,Price,Stock\nA1,Lens,100,1\n"


@pytest.fixture
def ready(agent):
    assert agent.run("init").rc == 0, agent
    agent.add_profile()
    return agent


def test_opt_equals_value_and_opt_space_value_agree(ready):
    f = ready.dir / "p.csv"
    f.write_text(CSV)
    r = ready.run("import", f, "--profile=Test")
    assert r.rc == 0, r
    for form in (["--state=done"], ["--state", "done"], ["--limit=1"],
                 ["--since=today", "--group-by=state"]):
        rc, doc, r = ready.jrun("job", "list", *form)
        assert rc == 0 and doc, (form, r)
    rc, doc, r = ready.jrun("log", "1", "--page-size=1", "--page=1")
    assert rc == 0 and doc["page_size"] == 1, r


def test_options_before_and_after_positional_arguments(ready):
    f = ready.dir / "p.csv"
    f.write_text(CSV)
    rc, doc, r = ready.jrun("import", "--profile", "Test", "--dry-run", f)
    assert rc == 0 and "dry run" in doc["notes"] and ready.catalog() == [], r
    rc, doc, r = ready.jrun("job", "create", f, "--profile", "Test")
    assert rc == 0 and doc["state"] == "draft", r
    # --json after the command, before or after the job.
    for args in (["job", "--json", "show", doc["name"]],
                 ["job", "show", "--json", doc["name"]],
                 ["job", "show", doc["name"], "--json"]):
        r = ready.run(*args)
        assert r.rc == 0 and r.json()["name"] == doc["name"], (args, r)


def test_options_after_arguments_even_with_posixly_correct(ready):
    f = ready.dir / "p.csv"
    f.write_text(CSV)
    r = ready.run("import", f, "--profile", "Test", env={"POSIXLY_CORRECT": "1"})
    assert r.rc == 0, r


def test_double_dash_ends_the_options(ready):
    # A price list whose name starts with '-': only `--` makes it a file.
    (ready.dir / "-p.csv").write_text(CSV)
    conf = ["-c", ready.conf_path, "--json"]
    r = bare(*conf, "import", "--profile", "Test", "-p.csv", cwd=ready.dir)
    assert r.returncode == 64 and "unknown option -p" in r.stderr, r
    r = bare(*conf, "import", "--profile", "Test", "--", "-p.csv", cwd=ready.dir)
    assert r.returncode == 0, r
    assert r.stdout and '"file_name":"-p.csv"' in r.stdout, r
    # After `--`, an option's name is an argument.
    r = ready.run("job", "list", "--", "--state")
    assert r.rc == 64 and "unexpected argument '--state'" in r.err, r


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_unknown_option_exits_64_naming_it(agent, cmd):
    # No config is read for a usage error: a missing file does not mask it.
    r = bare("-c", agent.dir / "missing.conf", *cmd.split(), "--bogus")
    assert r.returncode == 64, r
    assert "unknown option --bogus" in r.stderr and f"posagent {cmd} --help" \
        in r.stderr, r.stderr


def test_unknown_option_in_json_mode_is_a_json_error(agent):
    rc, doc, r = agent.jrun("job", "list", "--frobnicate=3")
    assert rc == 64, r
    assert doc["error"]["code"] == 64 and "--frobnicate" in doc["error"]["message"]


@pytest.mark.parametrize("args,opt", [
    (["job", "list", "--state"], "--state"),
    (["job", "list", "--limit"], "--limit"),
    (["import", "x.csv", "--profile"], "--profile"),
    (["import", "x.csv", "--profile", "T", "--preview"], "--preview"),
    (["job", "run", "1", "--override-gate"], "--override-gate"),
    (["log", "1", "--page-size"], "--page-size"),
    (["job", "prune", "--older-than"], "--older-than"),
])
def test_missing_option_value_exits_64_naming_it(agent, args, opt):
    r = agent.run(*args)
    assert r.rc == 64, r
    assert f"{opt} needs a value" in r.err and "--help" in r.err, r.err


def test_global_option_missing_value_and_unknown_global(agent):
    for args, msg in ((["-c"], "-c needs a value"),
                      (["--config"], "--config needs a value"),
                      (["--frob", "status"], "unknown option --frob"),
                      (["-x", "status"], "unknown option -x")):
        r = bare(*args)
        assert r.returncode == 64 and msg in r.stderr and "posagent --help" in \
            r.stderr, (args, r.stderr)


def test_flag_given_a_value_exits_64(agent):
    r = agent.run("job", "list", "--errors=yes")
    assert r.rc == 64 and "--errors takes no value" in r.err, r


def test_long_global_options_are_the_short_ones(ready):
    other = ready.dir / "elsewhere"
    r = bare("--config=" + str(ready.conf_path), "--data-dir", other, "--json",
             "init")
    assert r.returncode == 0 and r.stdout, r
    assert (other / "agent.db").exists()


def test_missing_or_extra_positional_arguments_exit_64(ready):
    for args, msg in ((["job", "show"], "which JOB?"),
                      (["job", "show", "1", "2"], "unexpected argument '2'"),
                      (["import", "x.csv"], "--profile NAME is required"),
                      (["job"], "which command?"),
                      (["job", "frob"], "unknown command 'frob'"),
                      (["profile", "remove"], "which NAME?")):
        r = ready.run(*args)
        assert r.rc == 64 and msg in r.err, (args, r)


def test_help_wins_over_a_usage_error(agent):
    r = bare("-c", agent.dir / "missing.conf", "job", "list", "--bogus", "--help")
    assert r.returncode == 0 and "usage: posagent job list" in r.stdout, r


def test_quiet_and_verbose_the_later_wins(ready):
    r = ready.run("-v", "-q", "run", "--once")
    assert r.rc == 0 and "data_dir" not in r.err, r
    r = ready.run("-qv", "run", "--once")       # a cluster, read in order
    assert r.rc == 0 and "data_dir" in r.err, r

"""The .deb as a store technician uses it (issue #13): build it with
`make deb`, dpkg -i, write a config, config check, import a sample price list
as the posagent user, status, the metrics file, the man pages, then
dpkg --purge and nothing left behind.

It installs a real package on this machine, so it needs root (CI runs as
root); it never runs against a posagent already installed by someone
else. It works without systemd as PID 1: the maintainer scripts fall back
to adduser and mkdir, and deb-systemd-invoke starts nothing."""
import glob
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import TOP

CONF = "/etc/posagent/posagent.conf"
DATA = "/var/lib/posagent"
EXAMPLES = "/usr/share/doc/posagent/examples"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("dpkg-buildpackage") is None,
    reason="installs a package: root and dpkg-dev (make deps) needed")


def sh(*cmd, ok=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if ok:
        assert p.returncode == 0, f"{cmd}: rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def dpkg(*args):
    # Another apt/dpkg on the machine holds the lock for a while: retry
    # while (and only while) dpkg says so, boundedly.
    for _ in range(120):
        p = sh("dpkg", *args, ok=False)
        if p.returncode == 0 or "lock" not in p.stderr:
            break
        time.sleep(1)
    assert p.returncode == 0, f"dpkg {args}: {p.stdout}\n{p.stderr}"
    return p


def as_posagent(*args, ok=True):
    return sh("runuser", "-u", "posagent", "--", "/usr/bin/posagent", *args, ok=ok,
              cwd="/")


def installed():
    p = sh("dpkg-query", "-W", "-f=${Status}", "posagent", ok=False)
    return "install ok installed" in p.stdout or "config-files" in p.stdout


def leftovers():
    found = []
    for top in ("/etc", "/var/lib", "/usr", "/lib", "/run", "/opt"):
        p = sh("find", top, "-xdev", "-name", "*posagent*", ok=False)
        found += [l for l in p.stdout.splitlines() if l]
    return found


BEFORE = []


@pytest.fixture(scope="module")
def deb():
    if installed():
        pytest.fail("a posagent package is installed on this machine: the "
                    "package test installs and purges its own; remove it "
                    "first (dpkg --purge posagent)")
    # The build's own files (apt sources `make deps` added) are not the
    # package's: what purge must remove is what install added.
    BEFORE.extend(leftovers())
    r = sh("make", "-C", TOP, "deb", ok=False)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    arch = sh("dpkg-architecture", "-qDEB_HOST_ARCH").stdout.strip()
    debs = glob.glob(os.path.join(TOP, "build", "deb", f"posagent_*_{arch}.deb"))
    assert len(debs) == 1, debs
    # lintian ran inside make deb with --fail-on error; keep what it said.
    lint = open(debs[0][:-len(".deb")] + ".lintian").read()
    assert not re.search(r"^E: ", lint, re.M), lint
    # The release build, not make test's sanitized one (MAKEFLAGS leaked
    # SAN=1 into dpkg-buildpackage: the package depended on libasan8).
    deps = sh("dpkg-deb", "-f", debs[0], "Depends").stdout
    assert "asan" not in deps and "ubsan" not in deps, deps
    return debs[0]


@pytest.fixture(scope="module")
def pkg(deb):
    try:
        dpkg("-i", deb)
        yield deb
    finally:
        if installed():
            sh("dpkg", "--purge", "posagent", ok=False)


def test_package_contents_and_permissions(pkg):
    st = os.stat(CONF)
    import grp
    import pwd
    assert oct(st.st_mode & 0o777) == "0o640"
    assert st.st_uid == 0 and grp.getgrgid(st.st_gid).gr_name == "posagent"
    d = os.stat(DATA)
    assert oct(d.st_mode & 0o777) == "0o750"
    assert pwd.getpwuid(d.st_uid).pw_name == "posagent"
    assert pwd.getpwnam("posagent").pw_shell in ("/usr/sbin/nologin", "/bin/false")
    # Stripped: no symbol table, no DWARF (those are in posagent-dbgsym).
    sections = sh("readelf", "-S", "-W", "/usr/bin/posagent").stdout
    assert ".symtab" not in sections and ".debug_info" not in sections
    for f in ("/lib/systemd/system/posagent.service", "/usr/lib/sysusers.d/posagent.conf",
              "/usr/lib/tmpfiles.d/posagent.conf",
              "/usr/share/bash-completion/completions/posagent",
              "/usr/share/doc/posagent/copyright", "/usr/share/doc/posagent/README.md.gz"):
        assert os.path.exists(f), f
    assert "ExecStart=/usr/bin/posagent " in open("/lib/systemd/system/posagent.service").read()
    assert "/etc/posagent/posagent.conf" in sh("dpkg-query", "-W", "-f=${Conffiles}",
                                              "posagent").stdout


def test_unit_verifies_and_is_sandboxed(pkg):
    unit = "/lib/systemd/system/posagent.service"
    r = sh("systemd-analyze", "verify", unit, ok=False)
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr
    r = sh("systemd-analyze", "security", "--offline=true", unit, ok=False)
    m = re.search(r"Overall exposure level for posagent.service: ([\d.]+)", r.stdout)
    assert m, r.stdout[-2000:]
    assert float(m.group(1)) <= 2.0, r.stdout


def test_man_pages_and_completion(pkg):
    for page, text in (("/usr/share/man/man1/posagent.1.gz", "config check"),
                       ("/usr/share/man/man5/posagent.conf.5.gz", "metrics_file")):
        r = sh("man", "-l", "-P", "cat", page, env={**os.environ, "MANWIDTH": "80"})
        assert text in r.stdout, page
    r = sh("bash", "-c", ". /usr/share/bash-completion/completions/posagent && complete -p posagent")
    assert "_posagent" in r.stdout


def test_a_technician_configures_imports_and_monitors(pkg):
    # The shipped config has no [agent] id: the service may not start on it.
    r = as_posagent("config", "check", ok=False)
    assert r.returncode == 78, r
    assert "[agent] id is not set" in r.stdout + r.stderr
    with open(CONF, "w") as f:
        f.write("[agent]\nid = store-0042-pos1\n"
                f"metrics_file = {DATA}/posagent.prom\n"
                "[kkt]\nbackend = none\n")
    r = as_posagent("config", "check")
    assert "configuration ok" in r.stdout
    as_posagent("init")
    as_posagent("profile", "add", f"{EXAMPLES}/essilor.json")
    r = as_posagent("--json", "import", f"{EXAMPLES}/essilor_2026-11.csv", "--profile",
                    "Essilor Price List")
    job = json.loads(r.stdout)
    assert job["state"] == "done" and job["created_count"] == 10, job
    as_posagent("run", "--once")             # the daemon publishes the metrics
    r = as_posagent("--json", "status")
    doc = json.loads(r.stdout)
    assert doc["agent_id"] == "store-0042-pos1" and doc["attention"] == []
    prom = open(f"{DATA}/posagent.prom").read()
    assert "posagent_rows_imported_total 10\n" in prom
    assert 'posagent_jobs{state="done"} 1\n' in prom
    # Files the service made belong to it.
    for f in ("agent.db", "catalog.db"):
        import pwd
        assert pwd.getpwuid(os.stat(f"{DATA}/{f}").st_uid).pw_name == "posagent"


def test_reinstall_remove_keeps_data_purge_leaves_nothing(pkg):
    dpkg("-i", pkg)                          # the upgrade path: postinst again
    assert "store-0042-pos1" in open(CONF).read()   # conffile kept
    dpkg("-r", "posagent")
    assert os.path.exists(f"{DATA}/catalog.db") and os.path.exists(CONF)
    assert not os.path.exists("/usr/bin/posagent")
    dpkg("--purge", "posagent")
    assert not installed()
    assert sh("getent", "passwd", "posagent", ok=False).returncode != 0
    assert sh("getent", "group", "posagent", ok=False).returncode != 0
    assert sorted(set(leftovers()) - set(BEFORE)) == []

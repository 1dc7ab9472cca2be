"""The arm64 / armhf .deb (issue #13), in `make test TARGET=...` only: a Debian
cross build (`make deb TARGET=...`, dpkg-buildpackage -a<arch>), then what
is inside it (architecture, dependencies, files, modes, the conffile, the
ELF machine, stripped), then the packaged binary itself under qemu-user.

Unlike test_package.py it installs nothing, so it needs no root: the
package is unpacked with dpkg-deb -x. The build is the same cross build
CI already does (about 30 s for the agent on this machine, lintian about
10 s)."""
import os
import re
import shlex
import subprocess

import pytest

from conftest import TOP

TARGET = os.environ.get("POSAGENT_TARGET", "host")
RUN = shlex.split(os.environ.get("POSAGENT_RUN", ""))
ARCH = {"aarch64-linux-gnu": "arm64", "arm-linux-gnueabihf": "armhf"}.get(TARGET)
# readelf -h's Machine line for each.
MACHINE = {"arm64": "AArch64", "armhf": "ARM"}

pytestmark = pytest.mark.skipif(ARCH is None or not RUN,
                                reason="the cross .deb: make test TARGET=<arm triplet>")


def sh(*cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert p.returncode == 0, f"{cmd}: rc={p.returncode}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p.stdout


@pytest.fixture(scope="module")
def deb():
    version = open(os.path.join(TOP, "VERSION")).read().strip()
    path = os.path.join(TOP, "build", "deb", f"posagent_{version}_{ARCH}.deb")
    # make deb removes this architecture's old files first: what is there
    # afterwards is this build's.
    sh("make", "-C", TOP, "--no-print-directory", "deb", f"TARGET={TARGET}")
    assert os.path.exists(path)
    return path


@pytest.fixture(scope="module")
def unpacked(deb, tmp_path_factory):
    root = tmp_path_factory.mktemp("deb")
    sh("dpkg-deb", "-x", deb, str(root))
    return root


def test_cross_deb_control_is_for_the_target(deb):
    fields = sh("dpkg-deb", "-f", deb, "Package", "Architecture", "Depends")
    assert "Package: posagent\n" in fields
    assert f"Architecture: {ARCH}\n" in fields
    # glibc from the target's libc6 symbols (not libc6-<arch>-cross, not
    # arch-qualified): what an arm terminal's dpkg can satisfy.
    assert re.search(r"^Depends: .*\blibc6 \(>= 2\.\d+\)", fields, re.M), fields
    assert "cross" not in fields and ":arm" not in fields, fields
    assert "asan" not in fields, fields             # the release build
    # The lintian run inside make deb (--fail-on error) kept its report.
    lint = open(deb[:-len(".deb")] + ".lintian").read()
    assert not re.search(r"^E: ", lint, re.M), lint
    # The debug symbols went to the -dbgsym package: dh_strip ran.
    assert os.path.exists(deb.replace("posagent_", "posagent-dbgsym_"))


def test_cross_deb_files_modes_and_conffile(deb):
    listing = {}
    for line in sh("dpkg-deb", "-c", deb).splitlines():
        f = line.split()
        listing[f[5].lstrip(".")] = (f[0], f[1])
    want = {
        "/usr/bin/posagent": "-rwxr-xr-x",
        "/etc/posagent/posagent.conf": "-rw-r-----",
        "/lib/systemd/system/posagent.service": "-rw-r--r--",
        "/usr/lib/sysusers.d/posagent.conf": "-rw-r--r--",
        "/usr/lib/tmpfiles.d/posagent.conf": "-rw-r--r--",
        "/usr/share/man/man1/posagent.1.gz": "-rw-r--r--",
        "/usr/share/man/man5/posagent.conf.5.gz": "-rw-r--r--",
        "/usr/share/bash-completion/completions/posagent": "-rw-r--r--",
        "/usr/share/doc/posagent/copyright": "-rw-r--r--",
    }
    for path, mode in want.items():
        assert path in listing, (path, sorted(listing))
        assert listing[path] == (mode, "root/root"), (path, listing[path])
    assert "/usr/share/lintian/overrides/posagent" in listing
    info = sh("dpkg-deb", "-I", deb, "conffiles")
    assert info.split() == ["/etc/posagent/posagent.conf"], info


def test_cross_deb_binary_is_stripped_target_elf(unpacked):
    binary = str(unpacked / "usr" / "bin" / "posagent")
    hdr = sh("readelf", "-h", binary)
    assert re.search(rf"Machine:\s+{MACHINE[ARCH]}\s*$", hdr, re.M), hdr
    if ARCH == "armhf":
        assert "hard-float ABI" in hdr, hdr
    sections = sh("readelf", "-S", "-W", binary)
    assert ".symtab" not in sections and ".debug_info" not in sections
    # glibc only (the pinned set is linked in).
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", sh("readelf", "-d", binary))
    assert needed and all(re.match(r"(libc|libm|libpthread)\.so\.|ld-linux", n)
                          for n in needed), needed


def run_packaged(unpacked, *args):
    binary = str(unpacked / "usr" / "bin" / "posagent")
    return subprocess.run(RUN + [binary, *args], capture_output=True, text=True,
                          timeout=120)


def test_cross_deb_binary_runs_under_qemu(unpacked):
    version = open(os.path.join(TOP, "VERSION")).read().strip()
    r = run_packaged(unpacked, "--version")
    assert r.returncode == 0, r
    assert version in r.stdout, r.stdout


def test_cross_deb_binary_checks_a_written_config(unpacked, tmp_path):
    # The packaged conffile as a technician edits it: the id and the KKT
    # backend set (both ship unset), the data directory this test's.
    shipped = (unpacked / "etc" / "posagent" / "posagent.conf").read_text()
    edited = re.sub(r"^#id = *$", "id = store-0042-pos1", shipped, flags=re.M)
    edited = re.sub(r"^#backend = .*$", "backend = none", edited, flags=re.M)
    edited = re.sub(r"^data_dir = .*$", f"data_dir = {tmp_path / 'var'}", edited,
                    flags=re.M)
    assert edited.count("store-0042-pos1") == 1 and str(tmp_path) in edited
    assert "\nbackend = none\n" in edited
    conf = tmp_path / "posagent.conf"
    conf.write_text(edited)
    conf.chmod(0o640)
    r = run_packaged(unpacked, "-c", str(conf), "config", "check")
    assert r.returncode == 0, r
    assert "configuration ok" in r.stdout, r.stdout
    # And a broken one is refused with EX_CONFIG, as on amd64.
    conf.write_text("[agent]\nid = store-0042-pos1\nno_such_key = 1\n")
    r = run_packaged(unpacked, "-c", str(conf), "config", "check")
    assert r.returncode == 78, r

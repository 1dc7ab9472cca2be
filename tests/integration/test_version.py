"""posagent --version --verbose (issue #12): every library linked into the
binary, with the version it reports at run time and the Debian source
package it was built from (toolchain/pins)."""
import json
import subprocess

from conftest import BIN

BUNDLED = ["mbedtls", "curl", "libzip", "zlib", "sqlite3", "jansson", "libcsv",
           "expat", "libinih"]


def _run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p
    return p.stdout


def test_version_alone_is_one_line():
    out = _run("--version")
    assert out.startswith("posagent ") and out.count("\n") == 1


def test_verbose_lists_every_bundled_library():
    doc = json.loads(_run("--version", "--verbose", "--json"))
    libs = {lib["name"]: lib for lib in doc["libraries"]}
    assert sorted(libs) == sorted(BUNDLED)
    for lib in libs.values():
        assert lib["version"] and lib["debian"] and lib["debian"] != "?", lib
    # What runs is what was pinned: mbedTLS 3.6 LTS under curl 8.
    assert libs["mbedtls"]["version"].startswith("3.6.")
    assert libs["curl"]["version"].startswith("8.") and "mbedTLS/3.6." in libs["curl"]["version"]
    assert libs["sqlite3"]["debian"].startswith(libs["sqlite3"]["version"])


def test_verbose_human_output_names_each_library():
    out = _run("-v", "--version")
    for name in BUNDLED:
        assert f"  {name} " in out

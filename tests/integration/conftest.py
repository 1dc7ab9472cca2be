"""Shared fixtures: run the real posagent binary in a private data directory.

Each test gets `agent` (an Agent bound to a fresh data dir and config file).
On failure the directory is kept and its path printed (pytest's tmp_path is
kept for the last runs anyway)."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "peers"))
sys.path.insert(0, HERE)

BIN = os.environ.get("POSAGENT_BIN", os.path.join(TOP, "build", "host-san", "posagent"))
FIXTURES = os.path.join(TOP, "tests", "fixtures")
# util-linux's setpriv (essential in Debian): root minus the capabilities
# that let it read and write past file modes.
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f"<rc={self.rc} out={self.out[-2000:]!r} err={self.err[-2000:]!r}>"


class Agent:
    """The binary with a private data dir and config. `conf` holds INI
    sections; call write_conf() after changing it."""

    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.data = tmp_path / "var"
        self.conf_path = tmp_path / "posagent.conf"
        self.conf = {
            "agent": {"id": "store-test-001", "data_dir": str(self.data)},
            "kkt": {"backend": "none"},
            "hq": {},
        }
        self.write_conf()

    def write_conf(self):
        lines = []
        for sec, kv in self.conf.items():
            lines.append(f"[{sec}]")
            for k, v in kv.items():
                lines.append(f"{k} = {v}")
        self.conf_path.write_text("\n".join(lines) + "\n")

    def run(self, *args, json_out=False, timeout=120, env=None, input=None,
            as_user=False):
        """as_user: obey file modes as an unprivileged user would, even
        when the tests run as root (root without CAP_DAC_OVERRIDE)."""
        cmd = [BIN, "-c", str(self.conf_path)]
        if as_user and os.geteuid() == 0:
            cmd = NO_DAC + cmd
        if json_out:
            cmd.append("--json")
        cmd += [str(a) for a in args]
        e = dict(os.environ)
        e.pop("NO_COLOR", None)
        if env:
            e.update(env)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env=e, input=input)
        return Result(p)

    def popen(self, *args, json_out=False, env=None):
        cmd = [BIN, "-c", str(self.conf_path)]
        if json_out:
            cmd.append("--json")
        cmd += [str(a) for a in args]
        e = dict(os.environ)
        if env:
            e.update(env)
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=e)

    def jrun(self, *args, **kw):
        """Run with --json and return (rc, parsed stdout)."""
        r = self.run(*args, json_out=True, **kw)
        try:
            doc = json.loads(r.out) if r.out.strip() else None
        except ValueError:
            raise AssertionError(f"stdout is not JSON: {r!r}")
        return r.rc, doc, r

    SEED_MAPPING = {"default_code": "SKU", "name": "Product Name",
                    "list_price": "Price", "qty_available": "Stock",
                    "category": "Category", "brand": "Brand"}

    def add_profile(self, **fields):
        prof = {
            "name": "Test", "supplier_code": "TST", "file_format": "csv_utf8",
            "csv_delimiter": ",", "csv_quote_char": "\"", "header_row": 1,
            "data_start_row": 2, "skip_empty_rows": True,
            "upsert_field": "default_code", "create_missing": True,
            "update_existing": True,
            "column_mapping": {"default_code": "SKU", "name": "Product Name",
                               "list_price": "Price", "qty_available": "Stock"},
        }
        prof.update(fields)
        p = self.dir / f"profile-{prof['name'].replace(' ', '_')}.json"
        p.write_text(json.dumps(prof, ensure_ascii=False))
        r = self.run("profile", "add", p)
        assert r.rc == 0, r
        return prof["name"]

    def catalog(self, sql="SELECT default_code, barcode, name, list_price, "
                "standard_price, qty_available, category, brand, uom, "
                "supplier_code, updated_job FROM product ORDER BY id"):
        import sqlite3
        if not (self.data / "catalog.db").exists():
            return []
        db = sqlite3.connect(str(self.data / "catalog.db"))
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute(sql)]
        finally:
            db.close()


@pytest.fixture
def agent(tmp_path):
    return Agent(tmp_path)


@pytest.fixture
def seed():
    # A byte-for-byte copy of shared/seed-fixtures/uat03 (the old system's
    # acceptance fixtures), committed so a clean clone needs nothing else.
    return os.path.join(FIXTURES, "uat03")


# Peer fixtures live beside their peers' owners.
from fx_kkt import *  # noqa: E402,F401,F403
from fx_hq import *  # noqa: E402,F401,F403
from fx_hqd import hq_db, hq_pki, hqd, pg_server  # noqa: E402,F401

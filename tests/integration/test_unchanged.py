"""Write only what changed (DESIGN §5, issue #15 part 1): a matched row
whose mapped fields are all equal is `unchanged`, counted and not written."""
import json
import os

from conftest import FIXTURES
from fx_hq import outbox_rows

PG = os.path.join(FIXTURES, "csv", "price_guard")
MAPPING = {"default_code": "SKU", "name": "Product Name", "list_price": "Price",
           "standard_price": "Cost", "qty_available": "Stock", "barcode": "Barcode"}


def everything(agent):
    return agent.catalog("SELECT * FROM product ORDER BY id")


def test_identical_reimport_is_unchanged_and_writes_no_row(agent):
    agent.add_profile(column_mapping=MAPPING)
    rc, a, r = agent.jrun("import", os.path.join(PG, "base.csv"), "--profile", "Test")
    assert rc == 0 and a["created_count"] == 10, r
    before = everything(agent)
    rc, b, r = agent.jrun("import", os.path.join(PG, "base.csv"), "--profile", "Test")
    assert rc == 0, r
    assert (b["total_rows"], b["created_count"], b["updated_count"],
            b["unchanged_count"], b["skipped_count"], b["error_count"]) == \
        (10, 0, 0, 10, 0, 0), r
    # Not written: updated_job and updated_at still name the first import.
    assert everything(agent) == before
    # HQ gets the count with the job event.
    done = [json.loads(row[3]) for row in outbox_rows(agent)
            if row[1] == "job" and json.loads(row[3])["name"] == b["name"]
            and json.loads(row[3])["state"] == "done"]
    assert done and done[-1]["unchanged_count"] == 10
    r = agent.run("job", "show", b["name"])
    assert r.rc == 0 and "unchanged_count" in r.out, r


def test_one_changed_price_is_the_only_update(agent, tmp_path):
    agent.add_profile(column_mapping=MAPPING)
    rc, _, r = agent.jrun("import", os.path.join(PG, "base.csv"), "--profile", "Test")
    assert rc == 0, r
    lines = open(os.path.join(PG, "base.csv")).read().splitlines()
    lines[3] = lines[3].replace("1900.00", "1950.00")
    f = tmp_path / "one.csv"
    f.write_text("\n".join(lines) + "\n")
    rc, b, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0, r
    assert (b["updated_count"], b["unchanged_count"], b["total_rows"]) == (1, 9, 10), r
    rows = {x["default_code"]: x for x in agent.catalog()}
    assert rows["PG003"]["updated_job"] == b["name"]
    assert [k for k, x in rows.items() if x["updated_job"] == b["name"]] == ["PG003"]


def test_supplier_code_change_is_a_change(agent):
    agent.add_profile(column_mapping=MAPPING)
    agent.jrun("import", os.path.join(PG, "base.csv"), "--profile", "Test")
    agent.add_profile(name="Other", supplier_code="OTH", column_mapping=MAPPING)
    rc, b, r = agent.jrun("import", os.path.join(PG, "base.csv"), "--profile", "Other")
    assert rc == 0 and (b["updated_count"], b["unchanged_count"]) == (10, 0), r
    assert {x["supplier_code"] for x in agent.catalog()} == {"OTH"}


def test_empty_name_on_update_keeps_the_old_one_and_is_unchanged(agent, tmp_path):
    agent.add_profile(column_mapping=MAPPING)
    agent.jrun("import", os.path.join(PG, "base.csv"), "--profile", "Test")
    lines = open(os.path.join(PG, "base.csv")).read().splitlines()
    lines[1] = lines[1].replace("Progressive Lens 1.67", "")
    f = tmp_path / "noname.csv"
    f.write_text("\n".join(lines) + "\n")
    rc, b, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0 and (b["updated_count"], b["unchanged_count"]) == (0, 10), r


def test_repeated_key_warns_even_when_its_first_row_was_unchanged(agent, tmp_path):
    agent.add_profile(column_mapping=MAPPING)
    agent.jrun("import", os.path.join(PG, "base.csv"), "--profile", "Test")
    lines = open(os.path.join(PG, "base.csv")).read().splitlines()
    f = tmp_path / "rep.csv"
    f.write_text("\n".join([lines[0], lines[1], lines[1].replace("1000.00", "1010.00")]) + "\n")
    rc, b, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0 and (b["unchanged_count"], b["updated_count"]) == (1, 1), r
    rc, log, r = agent.jrun("log", b["name"], "--level", "warning")
    assert any("appears earlier" in e["message"] and e["row_number"] == 3
               for e in log["entries"]), log
    assert {x["default_code"]: x["list_price"] for x in agent.catalog()}["PG001"] == 101000


def _written_by(fn):
    """Bytes the children reaped inside fn() caused to be written (the
    kernel adds a reaped child's I/O counters to its parent's)."""
    def wb():
        with open("/proc/self/io") as f:
            return next(int(x.split()[1]) for x in f if x.startswith("write_bytes:"))
    w0 = wb()
    out = fn()
    return out, wb() - w0


def test_identical_xlsx_reimport_does_not_rebuild_the_indexes(agent, tmp_path):
    """Issue #15: the size estimate of an XLSX sheet (its unpacked XML)
    once made every re-import of a 25k-row workbook drop and rebuild the
    catalog's indexes: 13 MiB written to change nothing."""
    import subprocess
    import sys
    gen = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "gen_xlsx.py")
    x = tmp_path / "big.xlsx"
    subprocess.run([sys.executable, gen, str(x), "25000", "--strings", "shared"],
                   check=True)
    agent.add_profile(name="X", file_format="xlsx", column_mapping={
        "default_code": "SKU", "name": "Product Name", "list_price": "Price",
        "barcode": "Barcode"})
    rc, a, r = agent.jrun("import", x, "--profile", "X")
    assert rc == 0 and a["created_count"] == 25000, r
    (rc, b, r), written = _written_by(lambda: agent.jrun("import", x, "--profile", "X"))
    assert rc == 0 and b["unchanged_count"] == 25000, r
    assert written < 2 * 1048576, written

"""posagent job revert (DESIGN §5, done → reverted; issue #15 part 2)."""
import json
import os
import sqlite3

from conftest import FIXTURES
from fx_hq import outbox_rows

PG = os.path.join(FIXTURES, "csv", "price_guard")
MAPPING = {"default_code": "SKU", "name": "Product Name", "list_price": "Price",
           "standard_price": "Cost", "qty_available": "Stock", "barcode": "Barcode"}


def everything(agent):
    """Every column of every row, ids included."""
    return agent.catalog("SELECT * FROM product ORDER BY id")


def undo_rows(agent):
    db = sqlite3.connect(str(agent.data / "catalog.db"))
    try:
        return db.execute("SELECT count(*) FROM undo_row").fetchone()[0]
    finally:
        db.close()


def write(tmp_path, name, lines):
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n")
    return f


def setup_a(agent):
    # The guard would (rightly) stop the wrong files below; not its test.
    agent.add_profile(column_mapping=MAPPING, max_changed_share_percent=100,
                      max_price_change_percent=100)
    rc, a, r = agent.jrun("import", os.path.join(PG, "base.csv"), "--profile", "Test")
    assert rc == 0 and a["created_count"] == 10, r
    return a


def test_revert_wrong_file_restores_every_column_of_every_row(agent, tmp_path):
    setup_a(agent)
    after_a = everything(agent)
    base = open(os.path.join(PG, "base.csv")).read().splitlines()
    # B: a shifted file that also brings two new products and renames one.
    shifted = open(os.path.join(PG, "shifted.csv")).read().splitlines()
    b_lines = shifted[:6] + [base[6].replace("Sunglasses Polar", "Sunglasses X")] + \
        base[7:] + ["PGNEW1,New One,10.00,5.00,1,", "PGNEW2,New Two,20.00,5.00,2,"]
    rc, b, r = agent.jrun("import", write(tmp_path, "b.csv", b_lines), "--profile", "Test")
    assert rc == 0 and (b["created_count"], b["updated_count"]) == (2, 6), r
    assert everything(agent) != after_a
    assert undo_rows(agent) == 6

    rc, dry, r = agent.jrun("job", "revert", b["name"], "--dry-run")
    assert rc == 0 and dry["state"] == "done", r
    assert dry["revert"] == {"dry_run": True, "removed": 2, "restored": 6}, r
    assert len(everything(agent)) == 12

    rc, rv, r = agent.jrun("job", "revert", b["name"])
    assert rc == 0 and rv["state"] == "reverted", r
    assert rv["revert"] == {"dry_run": False, "removed": 2, "restored": 6}, r
    assert everything(agent) == after_a
    assert undo_rows(agent) == 0
    # HQ gets the state change; the log names who did it.
    states = [json.loads(x[3])["state"] for x in outbox_rows(agent)
              if x[1] == "job" and json.loads(x[3])["name"] == b["name"]]
    assert states[-1] == "reverted"
    rc, log, r = agent.jrun("log", b["name"])
    assert any(e["message"].startswith("reverted by ") and "uid" in e["message"]
               for e in log["entries"]), log
    # Not twice; and a job that is not done cannot be reverted.
    rc, _, r = agent.jrun("job", "revert", b["name"])
    assert rc == 64 and "reverted" in r.err, r


def test_revert_refused_when_a_later_import_changed_the_rows(agent, tmp_path):
    a = setup_a(agent)
    base = open(os.path.join(PG, "base.csv")).read().splitlines()
    b_lines = [base[0], base[2].replace("1450.00", "1500.00"), "PGNEW1,New One,10.00,5.00,1,"]
    rc, b, r = agent.jrun("import", write(tmp_path, "b.csv", b_lines), "--profile", "Test")
    assert rc == 0 and (b["created_count"], b["updated_count"]) == (1, 1), r
    after_b = everything(agent)
    c_lines = [base[0], base[2].replace("1450.00", "1600.00"), "PGNEW1,New One,11.00,5.00,1,"]
    rc, c, r = agent.jrun("import", write(tmp_path, "c.csv", c_lines), "--profile", "Test")
    assert rc == 0 and c["updated_count"] == 2, r
    after_c = everything(agent)

    for extra in ([], ["--dry-run"]):
        rc, doc, r = agent.jrun("job", "revert", b["name"], *extra)
        assert rc == 64, r
        msg = doc["error"]["message"]
        assert "PG002" in msg and "PGNEW1" in msg and c["name"] in msg, msg
        assert f"Revert {c['name']} first" in msg, msg
        assert doc["state"] == "done"
        assert everything(agent) == after_c

    # In order: C, then B, then A — each back to exactly what it found.
    rc, _, r = agent.jrun("job", "revert", c["name"])
    assert rc == 0, r
    assert everything(agent) == after_b
    rc, _, r = agent.jrun("job", "revert", b["name"])
    assert rc == 0, r
    rc, _, r = agent.jrun("job", "revert", a["name"])
    assert rc == 0, r
    assert everything(agent) == []


def test_unchanged_rows_do_not_block_a_revert(agent, tmp_path):
    setup_a(agent)
    base = open(os.path.join(PG, "base.csv")).read().splitlines()
    rc, b, r = agent.jrun("import", write(tmp_path, "b.csv",
                          [base[0], base[1].replace("1000.00", "1200.00")]), "--profile", "Test")
    assert rc == 0, r
    after_b = everything(agent)
    # C re-imports B's row unchanged: it did not change it, no conflict.
    rc, c, r = agent.jrun("import", write(tmp_path, "c.csv",
                          [base[0], base[1].replace("1000.00", "1200.00")]), "--profile", "Test")
    assert rc == 0 and c["unchanged_count"] == 1, r
    assert everything(agent) == after_b
    rc, _, r = agent.jrun("job", "revert", b["name"])
    assert rc == 0, r
    assert {x["default_code"]: x["list_price"] for x in agent.catalog()}["PG001"] == 100000


def test_failed_dry_run_and_deleted_jobs_keep_no_before_images(agent, tmp_path):
    setup_a(agent)
    base = open(os.path.join(PG, "base.csv")).read().splitlines()
    f = write(tmp_path, "b.csv", [base[0], base[1].replace("1000.00", "1200.00")])
    rc, d, r = agent.jrun("import", f, "--profile", "Test", "--dry-run")
    assert rc == 0, r
    assert undo_rows(agent) == 0
    rc, doc, r = agent.jrun("job", "revert", d["name"])
    assert rc == 64 and "dry run" in doc["error"]["message"], r
    rc, b, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0 and undo_rows(agent) == 1, r
    # The before-images go with their job.
    rc, _, r = agent.jrun("job", "delete", b["name"])
    assert rc == 0 and undo_rows(agent) == 0, r


def test_pruned_jobs_take_their_before_images(agent, tmp_path):
    setup_a(agent)
    base = open(os.path.join(PG, "base.csv")).read().splitlines()
    f = write(tmp_path, "b.csv", [base[0], base[1].replace("1000.00", "1200.00")])
    rc, b, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0 and undo_rows(agent) == 1, r
    rc, doc, r = agent.jrun("job", "prune", "--older-than", "0")
    assert rc == 0 and doc["deleted"] == 2, r
    assert undo_rows(agent) == 0


def test_a_row_written_twice_by_one_file_is_restored_exactly(agent, tmp_path):
    setup_a(agent)
    after_a = everything(agent)
    base = open(os.path.join(PG, "base.csv")).read().splitlines()
    # The first row moves the price, the repeat renames it and moves the
    # price again: the older before-image holds the original price.
    b_lines = [base[0], base[1].replace("1000.00", "1200.00"),
               base[1].replace("1000.00", "1300.00").replace("Progressive", "Renamed")]
    rc, b, r = agent.jrun("import", write(tmp_path, "b.csv", b_lines), "--profile", "Test")
    assert rc == 0 and b["updated_count"] == 2, r
    rc, dry, r = agent.jrun("job", "revert", b["name"], "--dry-run")
    assert rc == 0 and dry["revert"]["restored"] == 1, r
    rc, _, r = agent.jrun("job", "revert", b["name"])
    assert rc == 0, r
    assert everything(agent) == after_a

"""CSV import end to end through the real binary (DESIGN §5)."""
import json
import re
import os
import shutil

import pytest

from conftest import FIXTURES


def imp(agent, path, profile="Test", *extra):
    return agent.jrun("import", path, "--profile", profile, *extra)


def write(agent, name, text, encoding="utf-8"):
    p = agent.dir / name
    p.write_bytes(text.encode(encoding))
    return p


def test_seed_list_creates_ten_products(agent, seed):
    agent.add_profile(column_mapping=agent.SEED_MAPPING)
    rc, job, r = imp(agent, os.path.join(seed, "supplier_price_list.csv"))
    assert rc == 0, r
    assert job["name"] == "IMP/00001" and job["state"] == "done"
    assert (job["total_rows"], job["created_count"], job["updated_count"],
            job["skipped_count"], job["error_count"]) == (10, 10, 0, 0, 0)
    assert job["progress_percent"] == 100
    assert job["duration"] >= 0 and job["start_date"] and job["end_date"]
    assert len(job["file_sha256"]) == 64 and job["file_name"] == "supplier_price_list.csv"
    rows = agent.catalog()
    assert rows[0] == {
        "default_code": "SKU001", "barcode": None, "name": "Progressive Lens 1.67",
        "list_price": 500000, "standard_price": None, "qty_available": 100.0,
        "category": "Lenses", "brand": "Brand A", "uom": None,
        "supplier_code": "TST", "updated_job": "IMP/00001"}
    assert len(rows) == 10


def test_second_import_updates_and_mixed_upsert(agent, seed):
    agent.add_profile()
    assert imp(agent, os.path.join(seed, "supplier_price_list.csv"))[0] == 0
    f = write(agent, "mixed.csv",
              "SKU,Product Name,Price,Stock,Category,Brand\n"
              "SKU001,Progressive Lens 1.67 NEW,5100.00,90,Lenses,Brand A\n"
              "SKU011,Brand New Frame,4200.50,5,Frames,Brand D\n")
    rc, job, r = imp(agent, f)
    assert rc == 0, r
    assert (job["created_count"], job["updated_count"], job["total_rows"]) == (1, 1, 2)
    cat = {p["default_code"]: p for p in agent.catalog()}
    assert cat["SKU001"]["name"] == "Progressive Lens 1.67 NEW"
    assert cat["SKU001"]["list_price"] == 510000
    assert cat["SKU011"]["list_price"] == 420050
    assert cat["SKU002"]["updated_job"] == "IMP/00001"
    assert len(cat) == 11


def test_update_writes_only_mapped_fields(agent, seed):
    agent.add_profile()
    assert imp(agent, os.path.join(seed, "supplier_price_list.csv"))[0] == 0
    agent.add_profile(name="PriceOnly", column_mapping={"default_code": "SKU", "list_price": "Price"})
    f = write(agent, "p.csv", "SKU,Price\nSKU003,3999\n")
    rc, job, r = imp(agent, f, "PriceOnly")
    assert rc == 0 and job["updated_count"] == 1, r
    p = [x for x in agent.catalog() if x["default_code"] == "SKU003"][0]
    assert p["list_price"] == 399900 and p["name"] == "Bifocal Lens 1.6" and p["qty_available"] == 80


def test_seed_invalid_rows_are_logged_and_skipped(agent, seed):
    agent.add_profile()
    rc, job, r = imp(agent, os.path.join(seed, "supplier_price_list_invalid.csv"))
    assert rc == 0, r
    assert (job["total_rows"], job["created_count"], job["error_count"]) == (5, 1, 4)
    rc, log, _ = agent.jrun("log", job["name"], "--level", "error")
    rows = {e["row_number"]: e for e in log["entries"]}
    assert set(rows) == {3, 4, 5, 6}
    assert "INVALID" in rows[3]["message"] and "Price" in rows[3]["message"]
    assert "SKU" in rows[4]["message"] and "empty" in rows[4]["message"]
    assert "-10" in rows[5]["message"]
    assert "Price" in rows[6]["message"]
    assert rows[3]["row_data"]["Product Name"] == "Invalid Price Product"
    assert [p["default_code"] for p in agent.catalog()] == ["SKU001"]


def test_max_error_percent_fails_job_and_leaves_catalog(agent, seed):
    agent.add_profile()
    assert imp(agent, os.path.join(seed, "supplier_price_list.csv"))[0] == 0
    before = agent.catalog()
    agent.add_profile(name="Strict", max_error_percent=10)
    rc, job, r = imp(agent, os.path.join(seed, "supplier_price_list_invalid.csv"), "Strict")
    assert rc == 65, r
    assert job["state"] == "failed" and "max_error_percent" in job["error_message"]
    assert job["error"]["code"] == 65
    assert agent.catalog() == before


def test_empty_rows_are_skipped_and_not_counted(agent):
    agent.add_profile()
    f = write(agent, "e.csv", "SKU,Product Name,Price,Stock\n\nA1,Lens,10,1\n , ,,\nA2,Frame,20,2\n")
    rc, job, r = imp(agent, f)
    assert rc == 0, r
    assert job["total_rows"] == 2 and job["created_count"] == 2


def test_empty_rows_count_when_not_skipped(agent):
    agent.add_profile(skip_empty_rows=False)
    f = write(agent, "e.csv", "SKU,Product Name,Price,Stock\nA1,Lens,10,1\n,,,\n")
    rc, job, r = imp(agent, f)
    assert rc == 0 and job["total_rows"] == 2 and job["error_count"] == 1, r


def test_semicolon_quoted_multiline_keeps_physical_rows(agent):
    agent.add_profile(csv_delimiter=";")
    f = write(agent, "s.csv",
              'SKU;Product Name;Price;Stock\n'
              'A1;"Lens; ""premium""\nsecond line";1 234,50;3\n'
              'A2;Frame;abc;1\n')
    rc, job, r = imp(agent, f)
    assert rc == 0 and job["created_count"] == 1 and job["error_count"] == 1, r
    p = agent.catalog()[0]
    assert p["name"] == 'Lens; "premium"\nsecond line' and p["list_price"] == 123450
    rc, log, _ = agent.jrun("log", job["name"], "--level", "error")
    assert log["entries"][0]["row_number"] == 3


def test_cp1251_russian_names_and_spaced_prices(agent):
    agent.add_profile(name="RU", file_format="csv_cp1251", csv_delimiter=";",
                      column_mapping={"default_code": "Артикул", "name": "Наименование",
                                      "list_price": "Цена", "qty_available": "Остаток"})
    rc, job, r = imp(agent, os.path.join(FIXTURES, "csv", "cp1251_semicolon.csv"), "RU")
    assert rc == 0 and job["created_count"] == 5, r
    cat = {p["default_code"]: p for p in agent.catalog()}
    assert cat["ESS-001"]["name"] == "Оправа металлическая «Классик»"
    assert cat["ESS-001"]["list_price"] == 500000
    assert cat["ESS-002"]["name"] == 'Линза 1,67 "Crizal"; антиблик'
    assert cat["ESS-002"]["list_price"] == 1250050
    assert cat["ESS-004"]["list_price"] == 7550


def test_invalid_utf8_never_reaches_the_mirror(agent):
    agent.add_profile()
    p = agent.dir / "bad.csv"
    p.write_bytes(b"SKU,Product Name,Price,Stock\nA1,Caf\xe9,10,1\nA2,Good,20,2\n")
    rc, job, r = imp(agent, p)
    assert rc == 0 and job["error_count"] == 1 and job["created_count"] == 1, r
    assert [x["name"] for x in agent.catalog()] == ["Good"]
    rc, log, _ = agent.jrun("log", job["name"], "--level", "error")
    assert "UTF-8" in log["entries"][0]["message"] and log["entries"][0]["row_number"] == 2


def test_title_rows_above_header(agent):
    agent.add_profile(header_row=3, data_start_row=4)
    f = write(agent, "t.csv", "Essilor price list,,,\nvalid from 2026-12-01,,,\n"
              "SKU,Product Name,Price,Stock\nA1,Lens,10,1\n")
    rc, job, r = imp(agent, f)
    assert rc == 0 and job["created_count"] == 1, r


def test_missing_mapped_column_fails_listing_headers(agent):
    agent.add_profile()
    f = write(agent, "m.csv", "Code,Title,Cost\nA1,Lens,10\n")
    rc, job, r = imp(agent, f)
    assert rc == 65 and job["state"] == "failed", r
    assert '"SKU"' in job["error_message"] and '"Code", "Title", "Cost"' in job["error_message"]
    assert agent.catalog() == []


def test_repeated_key_warns_and_later_row_wins(agent):
    agent.add_profile()
    f = write(agent, "d.csv", "SKU,Product Name,Price,Stock\nA1,First,10,1\nA1,Second,20,2\n")
    rc, job, r = imp(agent, f)
    assert rc == 0 and (job["created_count"], job["updated_count"]) == (1, 1), r
    assert agent.catalog()[0]["name"] == "Second"
    rc, log, _ = agent.jrun("log", job["name"], "--level", "warning")
    rows = [e for e in log["entries"] if e["row_number"] > 0]
    assert len(rows) == 1 and rows[0]["row_number"] == 3 and "earlier" in rows[0]["message"]



def test_repeats_far_apart_in_a_first_import_are_still_found(agent):
    """Issue #15: an import into an empty catalog skips the lookup of keys
    it has not created yet (a Bloom filter); every repeat must still be
    found, also after a nameless row and with an empty catalog only at the
    start."""
    agent.add_profile()
    lines = ["SKU,Product Name,Price,Stock"]
    lines.append("R0000000,,1,1")                      # no name: error row
    for i in range(3000):
        lines.append(f"R{i:07d},First {i},{i % 50 + 1},1")
    for i in range(0, 3000, 7):                         # repeats, far apart
        lines.append(f"R{i:07d},Later {i},{i % 50 + 2},2")
    rc, job, r = imp(agent, write(agent, "rep.csv", "\n".join(lines) + "\n"))
    assert rc == 0, r
    repeats = len(range(0, 3000, 7))
    assert (job["created_count"], job["updated_count"], job["error_count"]) == \
        (3000, repeats, 1), r
    cat = {p["default_code"]: p for p in agent.catalog()}
    assert len(cat) == 3000
    assert cat["R0000007"]["name"] == "Later 7" and cat["R0000008"]["name"] == "First 8"
    assert cat["R0000000"]["list_price"] == 200
    rc, log, _ = agent.jrun("log", job["name"], "--level", "warning", "--page-size", "1000")
    assert len([e for e in log["entries"] if "earlier" in e["message"]]) == repeats
    # The same file again, into the now full catalog: nothing new.
    rc, job, r = imp(agent, write(agent, "rep2.csv", "\n".join(lines) + "\n"))
    assert rc == 0 and job["created_count"] == 0, r


def test_create_missing_false_and_update_existing_false_skip(agent, seed):
    agent.add_profile()
    assert imp(agent, os.path.join(seed, "supplier_price_list.csv"))[0] == 0
    # The price moves a lot: the price guard is not what this test is about
    # (and a failed job's counts read rolled back, issue #9).
    agent.add_profile(name="NoCreate", create_missing=False,
                      max_price_change_percent=100, max_changed_share_percent=100)
    f = write(agent, "n.csv", "SKU,Product Name,Price,Stock\nSKU001,X,1,1\nNEW1,Y,1,1\n")
    rc, job, r = imp(agent, f, "NoCreate")
    assert rc == 0, r
    assert (job["updated_count"], job["skipped_count"], job["created_count"]) == (1, 1, 0), r
    agent.add_profile(name="NoUpdate", update_existing=False)
    rc, job, r = imp(agent, f, "NoUpdate")
    assert (job["updated_count"], job["skipped_count"], job["created_count"]) == (0, 1, 1), r


def test_several_products_matching_key_is_an_error_row(agent):
    agent.add_profile(name="ByName", upsert_field="name")
    f = write(agent, "a.csv", "SKU,Product Name,Price,Stock\nA1,Same,1,1\nA2,Other,1,1\n")
    assert imp(agent, f, "ByName")[0] == 0
    agent.add_profile(name="ByCode")
    f2 = write(agent, "b.csv", "SKU,Product Name,Price,Stock\nA2,Same,1,1\n")
    assert imp(agent, f2, "ByCode")[0] == 0   # now two products are named "Same"
    f3 = write(agent, "c.csv", "SKU,Product Name,Price,Stock\nZ9,Same,5,5\n")
    rc, job, r = imp(agent, f3, "ByName")
    assert job["error_count"] == 1, r
    err = agent.jrun("log", job["name"], "--level", "error")[1]["entries"][0]
    assert "several" in err["message"] and err["row_number"] == 2


def test_barcode_upsert_may_change_default_code(agent):
    agent.add_profile(name="BC", upsert_field="barcode",
                      column_mapping={"barcode": "EAN", "default_code": "SKU", "name": "Name"})
    assert imp(agent, write(agent, "1.csv", "EAN,SKU,Name\n4601234567890,OLD,Lens\n"), "BC")[0] == 0
    rc, job, r = imp(agent, write(agent, "2.csv", "EAN,SKU,Name\n4601234567890,NEW,Lens\n"), "BC")
    assert job["updated_count"] == 1, r
    assert [(p["barcode"], p["default_code"]) for p in agent.catalog()] == [("4601234567890", "NEW")]


def test_dry_run_counts_but_rolls_back(agent, seed):
    agent.add_profile()
    rc, job, r = imp(agent, os.path.join(seed, "supplier_price_list.csv"), "Test", "--dry-run")
    assert rc == 0 and job["created_count"] == 10 and "dry run" in job["notes"], r
    assert agent.catalog() == []


def test_preview_prints_mapped_rows_without_a_job(agent, seed):
    agent.add_profile()
    rc, doc, r = agent.jrun("import", os.path.join(seed, "supplier_price_list_invalid.csv"),
                            "--profile", "Test", "--preview", "3")
    assert rc == 0, r
    assert [x["row_number"] for x in doc["rows"]] == [2, 3, 4]
    assert doc["rows"][0]["list_price"] == "5000.00"
    assert "INVALID" in doc["rows"][1]["error"]
    assert agent.jrun("job", "list")[1] == []
    assert agent.catalog() == []


def test_unreadable_file_and_unknown_profile(agent):
    agent.add_profile()
    assert imp(agent, agent.dir / "nope.csv")[0] == 66
    f = write(agent, "x.csv", "SKU\n")
    rc, doc, r = imp(agent, f, "Nope")
    assert rc == 66 and "profile list" in r.err


def _indexes(agent):
    return sorted(r["name"] for r in agent.catalog(
        "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='product'"))


def _bulk(agent, name, rows, bad_last=False):
    p = agent.dir / name
    with open(p, "w") as f:
        f.write("SKU,Product Name,Price,Stock\n")
        for i in range(rows):
            f.write(f"B{i:07d},Оправа номер {i} для проверки индексов,{i % 900 + 1}.25,{i % 7}\n")
        if bad_last:
            f.write("B9999999,Broken,notaprice,1\n")
    return p


def test_large_import_keeps_the_pos_indexes(agent):
    agent.add_profile()
    rc, job, r = imp(agent, _bulk(agent, "bulk.csv", 60000))
    assert rc == 0 and job["created_count"] == 60000, r
    assert _indexes(agent) == ["product_barcode", "product_default_code", "product_name"]
    n = agent.catalog("SELECT count(*) AS n FROM product INDEXED BY product_name "
                      "WHERE name = 'Оправа номер 59999 для проверки индексов'")
    assert n[0]["n"] == 1


def test_failed_large_import_leaves_catalog_and_indexes(agent):
    agent.add_profile()
    assert imp(agent, _bulk(agent, "small.csv", 10))[0] == 0
    before = agent.catalog()
    agent.add_profile(name="Strict", max_error_percent=0)
    rc, job, r = imp(agent, _bulk(agent, "bulk.csv", 60000, bad_last=True), "Strict")
    assert rc == 65 and job["state"] == "failed", r
    assert agent.catalog() == before
    assert _indexes(agent) == ["product_barcode", "product_default_code", "product_name"]


# --- issue #9 item 2: file names that are not valid UTF-8 ---

import subprocess as _sp

from conftest import BIN as _BIN, FIXTURES as _FIX

_SEED_CSV = os.path.join(_FIX, "uat03", "supplier_price_list.csv")


def _import_bytes_name(agent, raw_name):
    """import a copy of the seed CSV whose name is the bytes raw_name."""
    src = os.path.join(os.fsencode(str(agent.dir)), raw_name)
    with open(_SEED_CSV, "rb") as f, open(src, "wb") as g:
        g.write(f.read())
    p = _sp.run([_BIN, "-c", str(agent.conf_path), "--json", "import", src,
                 "--profile", "Test"], capture_output=True)
    return p


@pytest.mark.parametrize("raw,shown,enc", [
    ("прайс.csv".encode("cp1251"), "прайс.csv", "cp1251"),
    ("Прайс №5 ЁЛКИ.csv".encode("cp1251"), "Прайс №5 ЁЛКИ.csv", "cp1251"),
    (b"bad\xff.csv", "bad\\xff.csv", "escaped"),
    ("café.csv".encode("latin-1"), "caf\\xe9.csv", "escaped"),
    ("прайс.csv".encode(), "прайс.csv", "utf-8"),
])
def test_non_utf8_file_name_imports(agent, raw, shown, enc):
    """`import` exited 70 "out of memory" and left an orphan spool file."""
    agent.add_profile()
    p = _import_bytes_name(agent, raw)
    assert p.returncode == 0, p
    job = json.loads(p.stdout.decode("utf-8"))      # valid UTF-8 JSON
    assert job["state"] == "done" and job["created_count"] == 10
    assert job["file_name"] == shown
    assert job["file_name_encoding"] == enc
    # The same rendering in the job list and in what goes to HQ.
    rc, jobs, r = agent.jrun("job", "list")
    assert rc == 0, r
    assert jobs[0]["file_name"] == shown
    r = agent.run("job", "list")
    assert r.rc == 0 and shown in r.out, r


def test_job_create_failure_leaves_no_orphan_spool(agent):
    """The file was copied to spool/ before the job failed to be created;
    nothing referenced the copy ever after."""
    import sqlite3
    agent.add_profile()
    spool = agent.data / "spool"
    p = _import_bytes_name(agent, "прайс.csv".encode("cp1251"))
    assert p.returncode == 0, p
    before = set(os.listdir(spool))
    assert len(before) == 1
    db = sqlite3.connect(str(agent.data / "agent.db"))
    db.execute("CREATE TRIGGER no_job BEFORE INSERT ON job "
               "BEGIN SELECT RAISE(ABORT, 'injected'); END")
    db.commit()
    other = agent.dir / "other.csv"
    other.write_bytes(b"SKU,Product Name,Price,Stock\nX9,n,1,1\n")
    r = agent.run("import", other, "--profile", "Test")
    assert r.rc != 0 and "injected" in r.err, r
    assert set(os.listdir(spool)) == before
    # The same content as a job's file stays: that job needs it.
    r = agent.run("import", _SEED_CSV, "--profile", "Test")
    assert r.rc != 0, r
    assert set(os.listdir(spool)) == before
    db.execute("DROP TRIGGER no_job")
    db.commit()
    db.close()


def test_data_dir_removed_during_cli_import_is_not_done(agent, kkt_peer):
    """It printed `done` and exited 0 into deleted files (issue #9 item 4).
    The KKT check holds the import while the directory goes."""
    from fx_hq import wait_for
    from fx_kkt import use_kkt
    use_kkt(agent, kkt_peer.url, timeout_ms=30000)
    agent.add_profile()
    kkt_peer.set("slow", delay_ms=3000)
    p = agent.popen("import", _SEED_CSV, "--profile", "Test", json_out=True)
    try:
        wait_for(lambda: kkt_peer.hits("opticserp_status") >= 1,
                 what="the import to ask the KKT adapter")
        shutil.rmtree(agent.data)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 74, err
    assert "removed while posagent was using it" in err
    assert '"done"' not in out
    assert not (agent.data / "catalog.db").exists()


# --- issue #9: permission problems say what to do (77/78, not 70) ---

def test_read_only_data_dir_is_a_permission_problem(agent):
    agent.add_profile()
    os.chmod(agent.data, 0o555)
    try:
        r = agent.run("job", "list", as_user=True)
    finally:
        os.chmod(agent.data, 0o750)
    assert r.rc == 77, r
    assert "cannot use the data directory" in r.err and str(agent.data) in r.err
    assert "readonly database" not in r.err


def test_data_dir_that_is_a_file_is_a_config_error(agent):
    f = agent.dir / "afile"
    f.write_text("x")
    r = agent.run("-d", f, "job", "list")
    assert r.rc == 78, r
    assert "is a file, not a directory" in r.err and "data_dir" in r.err


def test_unreadable_csv_is_a_permission_problem(agent):
    agent.add_profile()
    csv = agent.dir / "locked.csv"
    shutil.copy(_SEED_CSV, csv)
    csv.chmod(0)
    r = agent.run("import", csv, "--profile", "Test", as_user=True)
    assert r.rc == 77, r
    assert "permission denied" in r.err.lower() and "locked.csv" in r.err
    assert agent.jrun("job", "list")[1] == []


def test_price_above_documented_maximum_is_an_error_row(agent):
    """92233720368547758.07 was stored as INT64_MAX kopecks (issue #9)."""
    agent.add_profile()
    f = agent.dir / "big.csv"
    f.write_text("SKU,Product Name,Price,Stock\n"
                 "A1,ok,1 000 000 000,1\n"
                 "A2,too much,92233720368547758.07,1\n"
                 "A3,just over,1000000000.01,1\n")
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0, r
    assert job["created_count"] == 1 and job["error_count"] == 2
    assert [p["default_code"] for p in agent.catalog()] == ["A1"]
    log = agent.jrun("log", job["name"], "--level", "error")[1]["entries"]
    assert [e["row_number"] for e in log] == [3, 4]
    assert "at most 1 000 000 000,00" in log[0]["message"]


def test_cp1251_file_under_utf8_profile_fails_the_job(agent):
    """Every row was an error row and the job ended done, exit 0 (issue #9);
    the reverse mismatch already failed with 65."""
    agent.add_profile()
    f = agent.dir / "cp.csv"
    f.write_bytes("SKU,Product Name,Price,Stock\nA1,Линза,10,1\nA2,Оправа,20,2\n"
                  "A3,Футляр,30,3\nA4,Салфетка,40,4\n".encode("cp1251"))
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 65, r
    assert job["state"] == "failed"
    assert "csv_cp1251" in job["error_message"]
    assert agent.catalog() == []


def test_duplicate_mapped_header_fails_naming_both_columns(agent):
    """The first "Price" column won silently (issue #9)."""
    agent.add_profile()
    f = agent.dir / "dup.csv"
    f.write_text("SKU,Product Name,Price,Stock,Price\nA1,Lens,10,1,99\n")
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 65, r
    assert job["state"] == "failed"
    assert '"Price" (mapped to list_price) occurs twice' in job["error_message"]
    assert "columns C and E" in job["error_message"]
    assert agent.catalog() == []
    # An unmapped header may repeat.
    g = agent.dir / "dup2.csv"
    g.write_text("SKU,Product Name,Price,Stock,Note,Note\nA1,Lens,10,1,a,b\n")
    rc, job, r = agent.jrun("import", g, "--profile", "Test")
    assert rc == 0, r


def test_barcode_in_scientific_notation_warns_and_full_width_is_normalised(agent):
    """Barcodes were stored as given, unchecked (issue #9)."""
    agent.add_profile(column_mapping={"default_code": "SKU", "name": "Product Name",
                                      "list_price": "Price", "barcode": "Barcode"})
    f = agent.dir / "bc.csv"
    f.write_text("SKU,Product Name,Price,Barcode\n"
                 "A1,Lens,10,4.60123456789E+12\n"
                 "A2,Frame,20,４６０７００００１７０３６\n"
                 "A3,Case,30,4607000017043\n", encoding="utf-8")
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0, r
    assert job["created_count"] == 3 and job["error_count"] == 0
    bc = {p["default_code"]: p["barcode"] for p in agent.catalog()}
    assert bc["A2"] == "4607000017036"
    assert bc["A3"] == "4607000017043"
    log = agent.jrun("log", job["name"], "--level", "warning")[1]["entries"]
    sci = [e for e in log if "scientific notation" in e["message"]]
    assert len(sci) == 1 and sci[0]["row_number"] == 2
    assert "digits are lost" in sci[0]["message"]


def test_failed_job_counts_read_rolled_back(agent):
    """created_count: 1 after an unterminated quote at the end of the file,
    though nothing was committed (issue #9, DESIGN §5)."""
    agent.add_profile()
    f = agent.dir / "quote.csv"
    f.write_text('SKU,Product Name,Price,Stock\nA1,Lens,10,1\nA2,"Frame,20,2\n')
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 65, r
    assert job["state"] == "failed"
    assert job["created_count"] == 0 and job["updated_count"] == 0
    assert agent.catalog() == []
    out = agent.run("job", "show", job["name"]).out
    assert re.search(r"created_count +rolled back", out), out
    assert re.search(r"updated_count +rolled back", out), out

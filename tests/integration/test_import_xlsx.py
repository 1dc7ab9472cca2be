"""XLSX import through the real binary (issue #3): producers, preview,
refusals that leave the catalog untouched."""
import os

import pytest

from conftest import FIXTURES

X = os.path.join(FIXTURES, "xlsx")
MAPPING = {"default_code": "SKU", "name": "Product Name", "list_price": "Price",
           "standard_price": "Cost", "qty_available": "Stock",
           "barcode": "Barcode", "category": "Category", "brand": "Brand"}


def profile(agent, **kw):
    p = dict(name="X", file_format="xlsx", sheet="Товары", header_row=2,
             data_start_row=3, column_mapping=MAPPING)
    p.update(kw)
    return agent.add_profile(**p)


@pytest.mark.parametrize("fixture", ["libreoffice.xlsx", "real_openpyxl.xlsx",
                                     "real_xlsxwriter.xlsx", "openpyxl_shared.xlsx"])
def test_producers_import_alike(agent, fixture):
    profile(agent)
    rc, job, r = agent.jrun("import", os.path.join(X, fixture), "--profile", "X")
    assert rc == 0 and job["state"] == "done", r
    p = [x for x in agent.catalog() if x["default_code"] == "ESS-001"][0]
    assert p["barcode"] == "4601234567890"          # never 4.6E12
    assert p["name"] == "Линза Varilux Comfort 1.67 Crizal"
    assert p["list_price"] == 1250050 and p["standard_price"] == 800000
    assert p["qty_available"] == 12 and p["category"] == "Линзы"


def test_xlsx_preview_maps_without_importing(agent):
    profile(agent)
    rc, doc, r = agent.jrun("import", os.path.join(X, "libreoffice.xlsx"),
                            "--profile", "X", "--preview", "2")
    assert rc == 0, r
    assert doc["rows"][0]["row_number"] == 3 and doc["rows"][0]["list_price"] == "12500.50"
    assert len(doc["rows"]) == 2
    assert agent.catalog() == [] and agent.jrun("job", "list")[1] == []


def test_xlsx_dry_run_rolls_back(agent):
    profile(agent)
    rc, job, r = agent.jrun("import", os.path.join(X, "libreoffice.xlsx"), "--profile", "X",
                            "--dry-run")
    assert rc == 0 and job["created_count"] >= 1, r
    assert agent.catalog() == []


@pytest.mark.parametrize("fixture, words", [
    ("fake.xls", "save it as .xlsx"),
    ("libreoffice.xls", "save it as .xlsx"),
    ("encrypted.xlsx", "password"),
    ("truncated.xlsx", "damaged"),
    ("not_workbook.xlsx", "not"),
    ("billion_laughs.xlsx", "entit"),
])
def test_unusable_files_fail_the_job_and_keep_catalog(agent, seed, fixture, words):
    agent.add_profile(name="CSV", column_mapping=agent.SEED_MAPPING)
    assert agent.jrun("import", os.path.join(seed, "supplier_price_list.csv"),
                      "--profile", "CSV")[0] == 0
    before = agent.catalog()
    profile(agent, sheet=None)
    rc, job, r = agent.jrun("import", os.path.join(X, fixture), "--profile", "X")
    assert rc == 65 and job["state"] == "failed", r
    assert words in job["error_message"]
    assert fixture in job["error_message"] and "spool" not in job["error_message"]
    assert agent.catalog() == before


def test_missing_sheet_lists_the_sheets(agent):
    profile(agent, sheet="Нет такого")
    rc, job, r = agent.jrun("import", os.path.join(X, "libreoffice.xlsx"), "--profile", "X")
    assert rc == 65, r
    assert "Товары" in job["error_message"] and "Прайс" in job["error_message"]

"""Profile validation (DESIGN §4): each rule has its own clear message."""
import json

import pytest

BASE = {
    "name": "Essilor", "supplier_code": "ESS", "file_format": "csv_utf8",
    "csv_delimiter": ";", "header_row": 1, "data_start_row": 2,
    "upsert_field": "default_code",
    "column_mapping": {"default_code": "SKU", "name": "Name", "list_price": "Price"},
}


def add(agent, prof, *extra):
    p = agent.dir / "p.json"
    p.write_text(json.dumps(prof, ensure_ascii=False) if not isinstance(prof, str) else prof)
    return agent.run("profile", "add", p, *extra)


def variant(**kw):
    d = json.loads(json.dumps(BASE))
    for k, v in kw.items():
        if v is None:
            d.pop(k, None)
        else:
            d[k] = v
    return d


def test_valid_profile_is_added_and_listed(agent):
    r = add(agent, BASE)
    assert r.rc == 0, r
    rc, doc, _ = agent.jrun("profile", "list")
    assert rc == 0
    assert [p["name"] for p in doc] == ["Essilor"]
    assert doc[0]["file_format"] == "csv_utf8"
    rc, doc, _ = agent.jrun("profile", "show", "Essilor")
    assert rc == 0 and doc["column_mapping"]["default_code"] == "SKU"


@pytest.mark.parametrize("change, field, words", [
    ({"header_row": 0}, "header_row", "1 or more"),
    ({"data_start_row": 1}, "data_start_row", "greater than header_row"),
    ({"column_mapping": {}}, "column_mapping", "non-empty"),
    ({"column_mapping": "SKU"}, "column_mapping", "non-empty"),
    ({"column_mapping": {"default_code": "SKU", "colour": "Colour"}}, "column_mapping", "not a product field"),
    ({"upsert_field": "barcode"}, "upsert_field", "not in column_mapping"),
    ({"upsert_field": "list_price"}, "upsert_field", "cannot identify"),
    ({"csv_delimiter": ";;"}, "csv_delimiter", "exactly one"),
    ({"csv_delimiter": None}, "csv_delimiter", "required for CSV"),
    ({"file_format": "xls"}, "file_format", "not one of"),
    ({"file_format": None}, "file_format", "required"),
    ({"name": ""}, "name", "empty"),
    ({"max_error_percent": 150}, "max_error_percent", "0 to 100"),
    ({"skip_empty_rows": "yes"}, "skip_empty_rows", "true or false"),
    ({"data_strat_row": 2}, "data_strat_row", "unknown"),
])
def test_invalid_profile_is_refused_naming_the_field(agent, change, field, words):
    r = add(agent, variant(**change))
    assert r.rc == 78, r
    assert f"'{field}" in r.err and words in r.err, r.err
    rc, doc, _ = agent.jrun("profile", "list")
    assert doc == []


def test_tab_delimiter_is_allowed(agent):
    assert add(agent, variant(csv_delimiter="\t")).rc == 0


def test_xlsx_profile_needs_no_delimiter(agent):
    assert add(agent, variant(file_format="xlsx", csv_delimiter=None, sheet="Прайс")).rc == 0


def test_invalid_json_says_where(agent):
    r = add(agent, '{"name": "x",,}')
    assert r.rc == 78 and "line 1" in r.err, r


def test_duplicate_name_needs_replace(agent):
    assert add(agent, BASE).rc == 0
    r = add(agent, BASE)
    assert r.rc == 65 and "--replace" in r.err, r
    assert add(agent, variant(supplier_code="ES2"), "--replace").rc == 0
    rc, doc, _ = agent.jrun("profile", "show", "Essilor")
    assert doc["supplier_code"] == "ES2"


def test_remove_and_missing_profile(agent):
    assert add(agent, BASE).rc == 0
    assert agent.run("profile", "remove", "Essilor").rc == 0
    r = agent.run("profile", "show", "Essilor")
    assert r.rc == 66 and "profile list" in r.err
    assert agent.run("profile", "remove", "Essilor").rc == 66


def test_missing_profile_file(agent):
    r = agent.run("profile", "add", agent.dir / "nope.json")
    assert r.rc == 66 and "nope.json" in r.err


# --- issue #9 item 5 and weak spots: disabled profiles, names, BOM ---

def _seed():
    import os
    from conftest import FIXTURES
    return os.path.join(FIXTURES, "uat03", "supplier_price_list.csv")


def test_disabled_profile_manual_import_is_refused(agent):
    agent.add_profile(active=False)
    r = agent.run("import", _seed(), "--profile", "Test")
    assert r.rc == 78, r
    assert "profile 'Test' is disabled" in r.err and '"active": true' in r.err
    assert agent.jrun("job", "list")[1] == []       # no job made
    assert agent.catalog() == []
    r = agent.run("import", _seed(), "--profile", "Test", "--preview", "3")
    assert r.rc == 78, r
    rc, doc, r = agent.jrun("profile", "list")
    assert rc == 0 and doc[0]["active"] is False
    assert "ACTIVE" in agent.run("profile", "list").out


def test_disabled_profile_draft_job_stays_draft(agent):
    name = agent.add_profile()
    rc, job, r = agent.jrun("job", "create", _seed(), "--profile", name)
    assert rc == 0, r
    p = agent.dir / "off.json"
    prof = json.loads((agent.dir / "profile-Test.json").read_text())
    prof["active"] = False
    p.write_text(json.dumps(prof))
    assert agent.run("profile", "add", "--replace", p).rc == 0
    r = agent.run("job", "run", job["name"])
    assert r.rc == 78, r
    assert "stays draft" in r.err and "disabled" in r.err
    assert agent.jrun("job", "show", job["name"])[1]["state"] == "draft"
    assert agent.catalog() == []


def test_disabled_profile_never_matches_an_inbox_file(agent):
    agent.add_profile(active=False, file_pattern="*.csv")
    import shutil
    d = agent.data / "inbox"
    d.mkdir(parents=True, exist_ok=True)
    shutil.copy(_seed(), d / "price.csv")
    r = agent.run("run", "--once")
    assert r.rc == 0, r
    assert (agent.data / "rejected" / "price.csv").exists()
    assert agent.jrun("job", "list")[1] == []
    assert agent.catalog() == []


def test_profile_file_with_utf8_bom_is_accepted(agent):
    p = agent.dir / "bom.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps(BASE, ensure_ascii=False).encode())
    r = agent.run("profile", "add", p)
    assert r.rc == 0, r
    assert [x["name"] for x in agent.jrun("profile", "list")[1]] == ["Essilor"]


@pytest.mark.parametrize("name,words", [
    ("   ", "must not be blank"),
    ("\u00a0 \u00a0", "must not be blank"),
    ("Ess\nilor", "control characters"),
    ("Ess\u001b[31milor", "control characters"),
    ("Ess\u202eilor", "control characters"),
    (" Essilor", "start or end with a space"),
])
def test_bad_profile_names_are_refused(agent, name, words):
    r = add(agent, variant(name=name))
    assert r.rc == 78, r
    assert words in r.err
    assert agent.jrun("profile", "list")[1] == []


def test_unreadable_profile_file_is_a_permission_problem(agent):
    p = agent.dir / "p.json"
    p.write_text(json.dumps(BASE))
    p.chmod(0)
    assert agent.run("init").rc == 0
    r = agent.run("profile", "add", p, as_user=True)
    assert r.rc == 77, r
    assert "permission denied" in r.err and str(p) in r.err


def test_profile_file_that_is_a_directory_is_refused(agent):
    r = agent.run("profile", "add", agent.dir)
    assert r.rc == 78, r
    assert "is a directory" in r.err

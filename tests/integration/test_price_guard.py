"""The price guard (DESIGN §5, issue #15 part 3): a file that would move too
many prices too far fails before commit, naming the likely mistake."""
import json
import os
import shutil

import pytest

from conftest import FIXTURES
from fx_hq import outbox_rows

PG = os.path.join(FIXTURES, "csv", "price_guard")
MAPPING = {"default_code": "SKU", "name": "Product Name", "list_price": "Price",
           "standard_price": "Cost", "qty_available": "Stock", "barcode": "Barcode"}


def base(agent, **prof):
    agent.add_profile(column_mapping=MAPPING, **prof)
    rc, a, r = agent.jrun("import", os.path.join(PG, "base.csv"), "--profile", "Test")
    assert rc == 0 and a["created_count"] == 10, r
    return agent.catalog("SELECT * FROM product ORDER BY id")


@pytest.mark.parametrize("fixture,cause,words", [
    ("swapped.csv", "swap", "are Price and Cost swapped?"),
    ("times100.csv", "x100", "100 times too high"),
    ("div100.csv", "div100", "100 times too low"),
    ("shifted.csv", None, "is a column shifted"),
])
def test_wrong_price_list_fails_and_leaves_the_catalog(agent, fixture, cause, words):
    before = base(agent)
    rc, job, r = agent.jrun("import", os.path.join(PG, fixture), "--profile", "Test")
    assert rc == 65 and job["state"] == "failed", r
    msg = job["error_message"]
    assert msg.startswith("price guard: 100 % of prices would change by more than 50 %"), msg
    assert words in msg and "(10 of 10 matched products" in msg, msg
    assert "--accept-price-changes" in msg, msg
    g = job["price_guard"]
    assert (g["verdict"], g["likely_cause"], g["matched"], g["changed"]) == \
        ("failed", cause, 10, 10), g
    assert agent.catalog("SELECT * FROM product ORDER BY id") == before
    # HQ sees the verdict on the failed job's event.
    ev = [json.loads(x[3]) for x in outbox_rows(agent) if x[1] == "job"]
    assert ev[-1]["state"] == "failed" and ev[-1]["price_guard"]["verdict"] == "failed"


def test_a_legitimate_ten_percent_increase_passes(agent):
    base(agent)
    rc, job, r = agent.jrun("import", os.path.join(PG, "plus10.csv"), "--profile", "Test")
    assert rc == 0 and job["updated_count"] == 10, r
    assert job["price_guard"]["verdict"] == "passed" and job["price_guard"]["changed"] == 0
    assert {x["default_code"]: x["list_price"] for x in agent.catalog()}["PG001"] == 110000


def test_few_big_changes_stay_under_the_share(agent, tmp_path):
    base(agent)
    lines = open(os.path.join(PG, "base.csv")).read().splitlines()
    lines[1] = lines[1].replace("1000.00", "3000.00")    # 1 of 10: 10 % < 20 %
    f = tmp_path / "one.csv"
    f.write_text("\n".join(lines) + "\n")
    rc, job, r = agent.jrun("import", f, "--profile", "Test")
    assert rc == 0 and job["price_guard"]["changed"] == 1, r


def test_a_person_accepts_for_one_run_logged_with_the_user(agent):
    base(agent)
    rc, job, r = agent.jrun("import", os.path.join(PG, "times100.csv"), "--profile", "Test")
    assert rc == 65, r
    rc, job, r = agent.jrun("job", "reset", job["name"])
    assert rc == 0, r
    rc, job, r = agent.jrun("job", "run", job["name"], "--accept-price-changes")
    assert rc == 0 and job["state"] == "done", r
    assert job["price_guard"]["verdict"] == "accepted"
    assert {x["default_code"]: x["list_price"] for x in agent.catalog()}["PG001"] == 10000000
    rc, log, r = agent.jrun("log", job["name"], "--level", "warning")
    assert any("Accepted for this run by" in e["message"] and "(uid " in e["message"]
               for e in log["entries"]), log
    # For that run only: the next wrong file is stopped again.
    rc, job, r = agent.jrun("import", os.path.join(PG, "base.csv"), "--profile", "Test")
    assert rc == 65 and job["price_guard"]["likely_cause"] == "div100", r


def test_both_settings_at_100_switch_it_off(agent):
    base(agent, max_price_change_percent=100, max_changed_share_percent=100)
    rc, job, r = agent.jrun("import", os.path.join(PG, "swapped.csv"), "--profile", "Test")
    assert rc == 0 and job["price_guard"]["verdict"] == "off", r


def test_dry_run_shows_the_verdict(agent):
    before = base(agent)
    rc, job, r = agent.jrun("import", os.path.join(PG, "swapped.csv"), "--profile",
                            "Test", "--dry-run")
    assert rc == 65 and job["price_guard"]["likely_cause"] == "swap", r
    assert agent.catalog("SELECT * FROM product ORDER BY id") == before


def test_the_daemon_never_accepts(agent):
    base(agent, file_pattern="prices_*.csv")
    inbox = agent.data / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(os.path.join(PG, "swapped.csv"), inbox / "prices_1.part")
    os.rename(inbox / "prices_1.part", inbox / "prices_1.csv")
    r = agent.run("run", "--once")
    assert r.rc == 0, r
    assert (agent.data / "failed" / "prices_1.csv").exists()
    jobs = agent.jrun("job", "list")[1]
    assert jobs[0]["state"] == "failed" and jobs[0]["price_guard"]["verdict"] == "failed"


@pytest.mark.parametrize("key,value", [
    ("max_price_change_percent", 150), ("max_price_change_percent", "50"),
    ("max_changed_share_percent", -1)])
def test_profile_refuses_bad_guard_settings(agent, tmp_path, key, value):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"name": "Bad", "file_format": "csv_utf8",
                             "csv_delimiter": ",", "column_mapping": MAPPING,
                             key: value}))
    r = agent.run("profile", "add", p)
    assert r.rc == 78 and key in r.err, r

"""The KKT buffer-sync gate through the real binary (DESIGN §6, §9).

`kkt status` against the emulated adapter in every state, for both
backends; then the gate as imports see it: a refused job stays draft with
one warning log line and the catalog untouched."""
import json
import os

import pytest

from fx_kkt import use_kkt

BACKENDS = ["opticserp", "atol"]


def kkt_status(agent, *extra, env=None):
    """Run `kkt status --json`; return (rc, document, result)."""
    r = agent.run("kkt", "status", *extra, json_out=True, env=env)
    try:
        doc = json.loads(r.out)
    except ValueError:
        raise AssertionError(f"stdout is not one JSON document: {r!r}")
    return r.rc, doc, r


def assert_refused(rc, doc, r, code, verdict, *words):
    assert rc == code, r
    assert doc["verdict"] == verdict, r
    assert doc["synced"] is False, r
    assert doc["error"]["code"] == code, r
    for w in words:
        assert w in doc["reason"], r
    # main prints the same reason to stderr
    assert doc["reason"] in r.err, r


# --- kkt status: verdicts ------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_synced_adapter_exits_0(agent, kkt_peer, backend):
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("synced")
    rc, doc, r = kkt_status(agent)
    assert rc == 0, r
    assert doc["verdict"] == "synced"
    assert doc["synced"] is True and doc["reachable"] is True
    assert doc["backend"] == backend
    assert doc["url"] == kkt_peer.url
    assert doc["pending"] == 0
    assert "error" not in doc


@pytest.mark.parametrize("backend", BACKENDS)
def test_pending_receipts_exit_75(agent, kkt_peer, backend):
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("pending", pending=3)
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 75, "not_synced", "KKT buffer not synced: 3 receipts")
    assert doc["reachable"] is True
    assert doc["pending"] == 3
    if backend == "atol":
        assert "not sent to OFD since 2026-11-26T09:12 (first document №1234)" in doc["reason"]
        assert doc["first_doc_number"] == 1234
        assert doc["first_doc_datetime"] == "2026-11-26T09:12:00+03:00"
    else:
        assert doc["reason"] == ("KKT buffer not synced: 3 receipts pending: wait "
                                 "for the adapter to send them to the OFD "
                                 "(network: online)")
        assert doc["blocking"] == ["3 receipts pending: wait for the adapter "
                                   "to send them to the OFD"]
        assert doc["failed"] == 0 and doc["dlq_size"] == 0
        assert doc["unreported"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_unresolved_dlq_entry_exits_75_and_says_resolve_it(agent, kkt_peer, backend):
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("dlq", dlq_size=1)
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 75, "not_synced", "KKT buffer not synced")
    if backend == "opticserp":
        assert doc["dlq_size"] == 1
        assert doc["failed"] == 1           # the DLQ receipt is status failed
        assert doc["blocking"] == ["1 DLQ entry unresolved: resolve it in the adapter"]
    else:
        assert doc["pending"] == 1          # ATOL: not sent to the OFD
        assert doc["blocking"] == ["1 receipt not sent to the OFD"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_resolved_failed_receipts_are_history_and_do_not_block(agent, kkt_peer, backend):
    """Issue #10: the adapter keeps a receipt `failed` after its DLQ entry
    is resolved; the gate refused every import forever."""
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("failed", failed=2)
    rc, doc, r = kkt_status(agent)
    assert rc == 0, r
    assert doc["verdict"] == "synced"
    assert doc["blocking"] == []
    if backend == "opticserp":
        assert doc["failed"] == 2
        assert "2 failed (history, does not block)" in doc["reason"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_receipt_in_an_unreported_state_blocks(agent, kkt_peer, backend):
    """The adapter's `syncing` status is not listed by the endpoint: it shows
    only as total_receipts - pending - synced - failed."""
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("syncing", syncing=1)
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 75, "not_synced", "KKT buffer not synced")
    if backend == "opticserp":
        assert doc["pending"] == 0 and doc["dlq_size"] == 0
        assert doc["unreported"] == 1
        assert doc["blocking"] == [
            "1 receipt in a state the adapter does not report (syncing?)"]
    else:
        assert doc["pending"] == 1


def test_every_blocking_reason_is_named_with_its_numbers(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url, "opticserp")
    kkt_peer.set("pending", pending=2, dlq_size=1, syncing=1, failed=3)
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 75, "not_synced")
    assert doc["blocking"] == [
        "2 receipts pending: wait for the adapter to send them to the OFD",
        "1 DLQ entry unresolved: resolve it in the adapter",
        "1 receipt in a state the adapter does not report (syncing?)"]
    assert doc["reason"] == "KKT buffer not synced: " + "; ".join(doc["blocking"]) + \
        " (network: online)"
    assert doc["failed"] == 4 and doc["total_receipts"] == 107
    assert doc["synced_receipts"] == 100


@pytest.mark.parametrize("body,words", [
    ('{"total_receipts": 10, "pending": 1, "synced": 9, "failed": 1, "dlq_size": 0}',
     "pending 1 + synced 9 + failed 1 is more than total_receipts 10"),
    ('{"total_receipts": 10, "pending": -1, "synced": 9, "failed": 0, "dlq_size": 0}',
     "field 'pending' is -1"),
    ('{"pending": 0, "synced": 9, "failed": 0, "dlq_size": 0}',
     "field 'total_receipts' is missing"),
])
def test_negative_or_inconsistent_counts_fail_closed(agent, kkt_peer, body, words):
    use_kkt(agent, kkt_peer.url, "opticserp")
    kkt_peer.set("raw", body=body)
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 69, "unreachable", words)
    assert doc["reachable"] is False
    assert doc["blocking"] == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_slow_adapter_times_out_exit_69(agent, kkt_peer, backend):
    use_kkt(agent, kkt_peer.url, backend, timeout_ms=300)
    kkt_peer.set("slow", delay_ms=5000)
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 69, "unreachable", "did not answer within 300 ms")
    assert doc["reachable"] is False


@pytest.mark.parametrize("backend", BACKENDS)
def test_http_500_exits_69(agent, kkt_peer, backend):
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("http500")
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 69, "unreachable", "answered HTTP 500")


@pytest.mark.parametrize("backend", BACKENDS)
def test_garbage_json_exits_69(agent, kkt_peer, backend):
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("garbage")
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 69, "unreachable", "answered malformed JSON")


@pytest.mark.parametrize("backend,field", [("opticserp", "pending"), ("atol", "notSentCount")])
def test_count_sent_as_string_exits_69(agent, kkt_peer, backend, field):
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("wrongtypes")
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 69, "unreachable",
                   f"malformed JSON: field '{field}' is a string, expected an integer")
    assert doc["pending"] is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_oversized_answer_exits_69(agent, kkt_peer, backend):
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("raw", body='{"pad": "' + "x" * 70000 + '"}')
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 69, "unreachable", "exceeds 65536 bytes")


@pytest.mark.parametrize("backend", BACKENDS)
def test_connection_refused_exits_69(agent, kkt_refusing_url, backend):
    use_kkt(agent, kkt_refusing_url, backend)
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 69, "unreachable", "unreachable", kkt_refusing_url)


@pytest.mark.parametrize("backend", BACKENDS)
def test_proxy_from_environment_is_not_used(agent, kkt_peer, backend):
    """A terminal with http_proxy set (for HQ) must still reach its adapter."""
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("synced")
    dead = "http://127.0.0.1:9"
    env = {"http_proxy": dead, "HTTP_PROXY": dead, "https_proxy": dead,
           "HTTPS_PROXY": dead, "ALL_PROXY": dead, "all_proxy": dead,
           "no_proxy": "", "NO_PROXY": ""}
    rc, doc, r = kkt_status(agent, env=env)
    assert rc == 0, r
    assert doc["verdict"] == "synced"


# --- ATOL task life cycle --------------------------------------------------

def test_atol_polls_until_the_task_is_ready(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url, "atol")
    kkt_peer.set("synced", ready_after_polls=3)
    rc, doc, r = kkt_status(agent)
    assert rc == 0, r
    assert kkt_peer.hits("atol_post") == 1
    assert kkt_peer.hits("atol_get") == 4


def test_atol_task_stuck_in_progress_exits_69(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url, "atol", timeout_ms=400)
    kkt_peer.set("atol_stuck")
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 69, "unreachable", "still 'inProgress'",
                   "after 400 ms")
    assert kkt_peer.hits("atol_get") >= 2


def test_atol_task_error_reports_code_and_description_exit_69(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url, "atol")
    kkt_peer.set("atol_error", error_code=231, error_description="Нет связи с ККТ")
    rc, doc, r = kkt_status(agent)
    assert_refused(rc, doc, r, 69, "unreachable", "task error",
                   "errorCode 231: Нет связи с ККТ")


def test_atol_task_created_with_200_is_accepted(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url, "atol")
    kkt_peer.set("synced", post_status=200)
    rc, doc, r = kkt_status(agent)
    assert rc == 0, r


def test_atol_every_check_uses_a_fresh_task(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url, "atol")
    kkt_peer.set("synced")
    for _ in range(3):
        rc, doc, r = kkt_status(agent)
        assert rc == 0, r
    assert kkt_peer.stats()["tasks"] == 3


# --- backend none, output, usage -------------------------------------------

def test_backend_none_is_not_gated_and_asks_nobody(agent, kkt_peer):
    agent.conf["kkt"] = {"backend": "none", "url": kkt_peer.url}
    agent.write_conf()
    rc, doc, r = kkt_status(agent)
    assert rc == 0, r
    assert doc["verdict"] == "not_gated"
    assert doc["synced"] is True
    assert doc["url"] is None
    assert "backend = none" in doc["reason"]
    assert kkt_peer.stats()["hits"] == {}


def test_human_output_shows_verdict_counts_and_reason(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url, "opticserp")
    kkt_peer.set("pending", pending=3, network_status="offline")
    r = agent.run("kkt", "status")
    assert r.rc == 75, r
    lines = dict(l.split(None, 1) for l in r.out.splitlines() if " " in l)
    assert lines["backend"] == "opticserp"
    assert lines["url"] == kkt_peer.url
    assert lines["reachable"] == "yes"
    assert "verdict    not synced" in r.out
    assert lines["blocking"] == "3 receipts pending: wait for the adapter to send them to the OFD"
    assert lines["pending"] == "3"
    assert lines["failed"] == "0 (history: receipts that ever failed; does not block)"
    assert lines["network"] == "offline"
    assert "3 receipts pending" in lines["reason"]
    assert lines["elapsed"].endswith(" ms")
    assert "\033[" not in r.out          # not a TTY: no colours
    assert "KKT buffer not synced" in r.err


def test_json_flag_after_the_command_works(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url, "opticserp")
    kkt_peer.set("synced")
    r = agent.run("kkt", "status", "--json")
    assert r.rc == 0, r
    assert json.loads(r.out)["verdict"] == "synced"


def test_kkt_help_needs_no_config(agent):
    r = agent.run("kkt", "--help")
    assert r.rc == 0, r
    assert "usage: posagent" in r.out and "kkt status" in r.out
    assert "75" in r.out and "69" in r.out


@pytest.mark.parametrize("args", [("bogus",), (), ("status", "extra"), ("status", "--frob")])
def test_kkt_usage_errors_exit_64(agent, args):
    r = agent.run("kkt", *args)
    assert r.rc == 64, r


def test_non_http_url_is_a_configuration_error(agent):
    use_kkt(agent, "ftp://127.0.0.1:21", "opticserp")
    rc, doc, r = kkt_status(agent)
    assert rc == 78, r
    assert doc["verdict"] == "config_error"
    assert "http://" in doc["reason"]


# --- the gate as imports see it (DESIGN §6, §9) --------------------------

JOB = "IMP/00001"


def seed_csv(seed):
    return os.path.join(seed, "supplier_price_list.csv")


def catalog_rows(agent):
    import sqlite3
    p = agent.data / "catalog.db"
    if not p.exists():
        return 0
    db = sqlite3.connect(str(p))
    try:
        has = db.execute("SELECT count(*) FROM sqlite_master WHERE name='product'").fetchone()[0]
        return db.execute("SELECT count(*) FROM product").fetchone()[0] if has else 0
    finally:
        db.close()


def job_state(agent, name=JOB):
    rc, doc, r = agent.jrun("job", "show", name)
    assert rc == 0, r
    return doc["state"]


def job_log(agent, name=JOB):
    rc, doc, r = agent.jrun("log", name)
    assert rc == 0, r
    return doc


@pytest.mark.parametrize("backend", BACKENDS)
def test_import_refused_while_unsynced_stays_draft_then_runs_when_synced(
        agent, kkt_peer, seed, backend):
    use_kkt(agent, kkt_peer.url, backend)
    profile = agent.add_profile()
    kkt_peer.set("pending", pending=3)
    r = agent.run("import", seed_csv(seed), "--profile", profile)
    assert r.rc == 75, r
    assert "3 receipts" in r.err
    assert job_state(agent) == "draft"
    log = job_log(agent)
    assert log["total"] == 1, log
    assert log["entries"][0]["level"] == "warning"
    assert "3 receipts" in log["entries"][0]["message"]
    assert catalog_rows(agent) == 0

    kkt_peer.set("synced")
    r = agent.run("job", "run", JOB)
    assert r.rc == 0, r
    assert job_state(agent) == "done"
    assert catalog_rows(agent) == 10


@pytest.mark.parametrize("backend", BACKENDS)
def test_import_refused_while_adapter_unreachable_exits_69(
        agent, kkt_refusing_url, seed, backend):
    use_kkt(agent, kkt_refusing_url, backend)
    profile = agent.add_profile()
    r = agent.run("import", seed_csv(seed), "--profile", profile)
    assert r.rc == 69, r
    assert job_state(agent) == "draft"
    log = job_log(agent)
    assert log["total"] == 1, log
    assert log["entries"][0]["level"] == "warning"
    assert "unreachable" in log["entries"][0]["message"]
    assert catalog_rows(agent) == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_import_runs_when_synced(agent, kkt_peer, seed, backend):
    use_kkt(agent, kkt_peer.url, backend)
    profile = agent.add_profile()
    kkt_peer.set("synced")
    rc, doc, r = agent.jrun("import", seed_csv(seed), "--profile", profile)
    assert rc == 0, r
    assert doc["state"] == "done"
    assert catalog_rows(agent) == 10
    assert all(e["level"] != "warning" for e in job_log(agent)["entries"])


def test_dlq_entry_resolved_in_the_adapter_lets_the_import_run(agent, kkt_peer, seed):
    """The run of issue #10 against the real adapter: one receipt reached the
    DLQ, was resolved, and the buffer synced; imports must then pass."""
    use_kkt(agent, kkt_peer.url, "opticserp")
    profile = agent.add_profile()
    kkt_peer.set("dlq", dlq_size=1)
    r = agent.run("import", seed_csv(seed), "--profile", profile)
    assert r.rc == 75, r
    log = job_log(agent)
    assert log["total"] == 1, log
    assert log["entries"][0]["message"] == (
        "import refused: KKT buffer not synced: 1 DLQ entry unresolved: "
        "resolve it in the adapter (network: online)")
    kkt_peer.set("synced", failed=1)        # resolved: failed stays 1
    rc, doc, r = agent.jrun("job", "run", JOB)
    assert rc == 0, r
    assert doc["state"] == "done"
    assert catalog_rows(agent) == 10


def test_import_with_backend_none_is_done_with_a_warning(agent, seed):
    agent.conf["kkt"] = {"backend": "none"}
    agent.write_conf()
    profile = agent.add_profile()
    rc, doc, r = agent.jrun("import", seed_csv(seed), "--profile", profile)
    assert rc == 0, r
    assert doc["state"] == "done"
    warnings = [e for e in job_log(agent)["entries"] if e["level"] == "warning"]
    assert len(warnings) == 1, warnings
    assert "backend = none" in warnings[0]["message"]
    assert catalog_rows(agent) == 10

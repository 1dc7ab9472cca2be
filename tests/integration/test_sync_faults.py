"""HQ faults and what the agent does about each (DESIGN §7): nothing is lost,
nothing is delivered twice (HQ deduplicates), the exit status and message
say what happened."""
import email.utils
import signal
import time

import pytest

from fx_hq import outbox_rows, seed_events, use_hq, wait_for


def exactly_once(hq, seqs):
    evs = hq.events()
    assert [e["seq"] for e in evs] == sorted(seqs)
    arrival = [e["arrival"] for e in evs]
    assert arrival == sorted(arrival)


def status(agent):
    rc, doc, r = agent.jrun("status")
    assert rc == 0, r
    return doc


def test_hq_down_exit_69_and_events_kept(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 50)
    hq.fault("refuse")
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "cannot connect" in r.err
    assert len(outbox_rows(agent)) == 50
    hq.clear()
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    exactly_once(hq, seqs)


def test_loop_rides_out_an_outage(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 40)
    hq.fault("refuse")
    p = agent.popen("sync")
    try:
        wait_for(lambda: "cannot connect" in (status(agent)["sync"]["last_error"] or ""),
                 what="the loop to notice the outage")
        hq.clear()
        # Normally seconds (backoff); if jitter let five failures through
        # first, the breaker holds the next probe for 60 s.
        wait_for(lambda: len(hq.events()) == 40, timeout=150,
                 what="delivery after HQ came back")
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0
    exactly_once(hq, seqs)
    # The log says what changed, not every retry.
    assert err.count("cannot connect") == 1, err
    assert "is online" in err


@pytest.mark.parametrize("code", ["500", "503"])
def test_5xx_once_exits_69_and_keeps_events(agent, hq, hq_certs, code):
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 10)
    hq.fault(code)
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert f"answered HTTP {code}" in r.err
    assert len(outbox_rows(agent)) == 10


def test_5xx_is_retried_with_backoff_in_loop(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 30)
    hq.fault("500", count=2, path="events")
    p = agent.popen("sync")
    try:
        wait_for(lambda: len(hq.events()) == 30, what="delivery after two 500s")
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
    assert hq.stats()["statuses"]["500"] == 2
    exactly_once(hq, seqs)


def test_429_retry_after_seconds_is_honoured(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 5)
    hq.fault("429", retry_after="7", count=1)
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "HTTP 429" in r.err and "retry in 7 s as asked" in r.err
    assert len(outbox_rows(agent)) == 5


def test_429_retry_after_http_date_is_honoured(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 5)
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    hq.fault("429", retry_after=when, count=1)
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    # 120 s ahead, give or take the second boundary of the date.
    assert any(f"retry in {s} s as asked" in r.err for s in range(115, 122)), r


def test_429_then_delivery_in_loop(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 5)
    hq.fault("429", retry_after="2", count=1, path="events")
    p = agent.popen("sync")
    try:
        wait_for(lambda: len(hq.events()) == 5, what="delivery after 429")
    finally:
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
    exactly_once(hq, seqs)
    # The 429 was really sent, and the next batch came no sooner than its
    # Retry-After said (whatever the machine's load: only a lower bound).
    ev = [(c, t) for c, path, t in hq.stats()["answers"] if "/events" in path]
    assert [c for c, _ in ev][:2] == ["429", "200"], ev
    assert ev[1][1] - ev[0][1] >= 1.9, ev


@pytest.mark.parametrize("code", ["401", "403"])
def test_auth_refusal_stops_sending_and_keeps_events(agent, hq, hq_certs, code):
    use_hq(agent, hq, hq_certs, batch_max=10)
    seed_events(agent, 50)
    hq.fault(code)
    r = agent.run("sync", "--once")
    assert r.rc == 78, r
    assert f"refused our credentials (HTTP {code}" in r.err
    assert "token_file" in r.err
    # Stop sending: one refused batch, no more, no heartbeat.
    st = hq.stats()
    assert st["events_requests"] == 1 and st["heartbeat_requests"] == 0
    assert len(outbox_rows(agent)) == 50
    doc = status(agent)
    assert doc["sync"]["auth_refused"] is True
    assert doc["sync"]["last_error_code"] == "PA_EHQ_AUTH"
    hq.clear()
    assert agent.run("sync", "--once").rc == 0
    assert status(agent)["sync"]["auth_refused"] is False


def test_slow_answer_times_out_then_no_duplicate(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, timeout_ms=500)
    seqs = seed_events(agent, 20)
    hq.fault("slow", delay_ms=2000, count=1, path="events")
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "timed out" in r.err
    # HQ stored the batch after all; resending is safe.
    wait_for(lambda: len(hq.events()) == 20, what="the slow request to finish")
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    exactly_once(hq, seqs)
    assert hq.stats()["duplicates"] == 20


def test_reset_mid_answer_then_no_duplicate(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 20)
    hq.fault("reset", count=1, path="events")
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "connection failed" in r.err or "Recv failure" in r.err, r
    assert len(outbox_rows(agent)) == 20
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    exactly_once(hq, seqs)


def test_ack_lower_than_sent_resends_the_rest(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, batch_max=100)
    seqs = seed_events(agent, 250)
    hq.fault("ack_less", by=30, count=2)
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    exactly_once(hq, seqs)
    assert hq.stats()["duplicates"] == 0
    assert outbox_rows(agent) == []


def test_ack_of_nothing_is_no_progress(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, batch_max=10)
    seed_events(agent, 10)
    hq.fault("ack_less", by=10, count=1)
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "stored none of events 1..10" in r.err
    assert len(outbox_rows(agent)) == 10


def test_ack_higher_than_sent_is_a_protocol_error(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 10)
    hq.fault("ack_high", count=1)
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "acknowledged seq 1010 but the batch ended at 10" in r.err
    assert len(outbox_rows(agent)) == 10          # nothing deleted
    assert status(agent)["sync"]["last_error_code"] == "PA_EPROTO"
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    exactly_once(hq, seqs)


def test_poison_event_is_isolated_and_dead_lettered(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, batch_max=100)
    seqs = seed_events(agent, 200)
    hq.fault("poison", seq=57)
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    assert "dead-lettered seq 57" in r.out and "HTTP 400" in r.out
    exactly_once(hq, [s for s in seqs if s != 57])
    assert outbox_rows(agent) == []
    dead = outbox_rows(agent, "outbox_dead")
    assert [d[0] for d in dead] == [57]
    assert "event 57 is malformed" in dead[0][4]
    doc = status(agent)
    assert doc["outbox"]["dead_letters"] == 1
    assert doc["sync"]["dead_letters_recent"][0]["seq"] == 57
    # Bisection: far fewer requests than one per event.
    assert hq.stats()["events_requests"] < 30


def test_two_poison_events_in_one_batch(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, batch_max=64)
    seqs = seed_events(agent, 64)
    hq.fault("poison", seq=3)
    hq.fault("poison", seq=40)
    rc, doc, r = agent.jrun("sync", "--once")
    assert rc == 0, r
    assert doc["dead_lettered"] == 2
    exactly_once(hq, [s for s in seqs if s not in (3, 40)])
    assert [d[0] for d in outbox_rows(agent, "outbox_dead")] == [3, 40]


def test_hq_refusing_every_batch_dead_letters_nothing(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, batch_max=8)
    seed_events(agent, 8)
    hq.fault("reject_all")
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "refuses even an empty batch" in r.err
    assert len(outbox_rows(agent)) == 8
    assert outbox_rows(agent, "outbox_dead") == []


def test_malformed_ack_is_retried_not_trusted(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 5)
    hq.fault("bad_json", count=1, path="events")
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "answer is not JSON" in r.err
    assert len(outbox_rows(agent)) == 5
    assert agent.run("sync", "--once").rc == 0
    exactly_once(hq, seqs)


def test_oversized_answer_is_refused(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 5)
    hq.fault("big_body", count=1, path="events")
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "answer larger than 65536 bytes" in r.err
    assert len(outbox_rows(agent)) == 5


def test_bearer_token_is_sent_and_never_printed(agent, tmp_path, hq_certs):
    from fx_hq import start_hq, stop_hq
    peer = start_hq(tmp_path, hq_certs, token="tok-3f9a1c", name="tokhq")
    try:
        tok = tmp_path / "token"
        tok.write_text("tok-3f9a1c\n")
        tok.chmod(0o600)
        use_hq(agent, peer, hq_certs, token_file=str(tok))
        seqs = seed_events(agent, 5)
        r = agent.run("sync", "--once")
        assert r.rc == 0, r
        exactly_once(peer, seqs)
        tok.write_text("wrong-token\n")
        seed_events(agent, 1)
        r = agent.run("sync", "--once")
        assert r.rc == 78, r
        assert "refused our credentials (HTTP 401" in r.err
        rc, doc, r = agent.jrun("status")
        for text in (r.out, r.err):
            assert "wrong-token" not in text and "tok-3f9a1c" not in text
    finally:
        stop_hq(peer)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_token_file_readable_by_others_is_refused(agent, hq, hq_certs, tmp_path, mode):
    tok = tmp_path / "token"
    tok.write_text("secret-token\n")
    tok.chmod(0o600)
    use_hq(agent, hq, hq_certs, token_file=str(tok))
    tok.chmod(mode)
    seed_events(agent, 3)
    r = agent.run("sync", "--once")
    assert r.rc == 78, r
    assert str(tok) in r.err and "chmod 600" in r.err
    assert "secret-token" not in r.err
    assert hq.stats()["requests"] == 0


def test_key_file_readable_by_others_is_refused(agent, hq, hq_certs, tmp_path):
    import shutil
    key = tmp_path / "client.key"
    shutil.copy(hq_certs["client_key"], key)
    key.chmod(0o600)
    use_hq(agent, hq, hq_certs, cert_file=hq_certs["client"], key_file=str(key))
    key.chmod(0o644)
    r = agent.run("sync", "--once")
    assert r.rc == 78, r
    assert str(key) in r.err and "chmod 600" in r.err
    assert hq.stats()["requests"] == 0


# --- issue #9 item 1: one non-HTTP answer must not stop syncing for good ---

def test_non_http_answer_is_transient_once(agent, hq, hq_certs):
    """A TLS server that answers bytes that are not HTTP: 69 (retry later),
    never 78 (a configuration error a person must fix)."""
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 5)
    hq.fault("garbage", count=1, path="events")
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "malformed answer" in r.err, r
    assert "configuration" not in r.err
    assert len(outbox_rows(agent)) == 5
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    exactly_once(hq, seqs)


def test_non_http_answer_then_healthy_loop_keeps_syncing(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 5)
    hq.fault("garbage", count=2)
    p = agent.popen("sync")
    try:
        wait_for(lambda: hq.stats()["faults"][0]["count"] == 0,
                 what="both garbage answers to be taken")
        wait_for(lambda: len(hq.events()) == 5, what="delivery after garbage")
        assert p.poll() is None, "the sync loop ended"
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    exactly_once(hq, seqs)
    assert "malformed answer" in err


def test_non_http_answer_daemon_keeps_syncing(agent, hq, hq_certs):
    """`posagent run` logged "HQ sync stopped" and never synced again."""
    use_hq(agent, hq, hq_certs)
    (agent.data / "inbox").mkdir(parents=True, exist_ok=True)
    seqs = seed_events(agent, 3)
    hq.fault("garbage", count=2)
    p = agent.popen("run")
    try:
        wait_for(lambda: len(hq.events()) == 3, what="delivery after garbage")
        assert p.poll() is None, "the daemon ended"
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "HQ sync stopped" not in err
    exactly_once(hq, seqs)


@pytest.mark.parametrize("status", [999, 100, 302])
def test_non_api_http_status_is_not_a_config_error(agent, hq, hq_certs, status):
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 2)
    hq.fault("weird_status", status=status, count=1, path="events")
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert len(outbox_rows(agent)) == 2

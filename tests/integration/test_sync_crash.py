"""kill -9 at random moments of `posagent sync` (DESIGN §11: faults never lose
data): after 30 crashes and restarts, with producers adding events between
them, HQ holds every event exactly once and first received them in seq
order; the outbox's depth counter still matches its rows."""
import random
import sqlite3
from fx_hq import outbox_rows, seed_events, use_hq, wait_for

ROUNDS = 30


def test_kill_9_during_sync_loses_and_duplicates_nothing(agent, hq, hq_certs):
    rnd = random.Random(20261126)       # reproducible "random moments"
    use_hq(agent, hq, hq_certs, batch_max=25)
    seqs = seed_events(agent, 2000)
    for i in range(ROUNDS):
        base = hq.stats()["events_requests"]
        p = agent.popen("sync")
        # Kill points are events, not guessed sleeps: at once (before any
        # delivery), or when HQ has received the 1st or 2nd batch of this
        # run (the kill then lands before, during or after HQ's answer).
        k = rnd.choice([0, 1, 1, 2])
        if k:
            wait_for(lambda: p.poll() is not None or
                     hq.stats()["events_requests"] >= base + k or
                     not outbox_rows(agent), timeout=300,
                     what=f"round {i}: batch {k} to reach HQ")
        p.kill()
        p.communicate()
        assert p.returncode == -9, f"round {i}: sync exited by itself ({p.returncode})"
        seqs += seed_events(agent, 20, start_ts=10000 + 20 * i)
    mid = hq.stats()
    print("crash loop:", mid["stored"], "stored,", mid["duplicates"], "duplicates before the final sync")
    assert mid["stored"] > 0, "no kill landed after a delivery: test proves nothing"
    assert outbox_rows(agent), "the outbox drained before the last kill"
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    evs = hq.events()
    assert [e["seq"] for e in evs] == sorted(seqs)
    arrival = [e["arrival"] for e in evs]
    assert arrival == sorted(arrival)
    assert outbox_rows(agent) == []
    db = sqlite3.connect(str(agent.data / "agent.db"))
    try:
        depth, log_depth = db.execute("SELECT depth, log_depth FROM outbox_stat").fetchone()
        assert (depth, log_depth) == (0, 0)
    finally:
        db.close()

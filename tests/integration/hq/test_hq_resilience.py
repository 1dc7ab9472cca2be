"""posagent-hq where the network and the store misbehave: an IPv6 listener,
PostgreSQL sessions that end under a running server (an administrator's
pg_terminate_backend), and PostgreSQL stopped and started again."""
import os
import signal

from fx_hq import outbox_rows
from fx_hqd import (AGENT_ID, PG_BIN, PgServer, Store, add_agent, add_operator, batch, heartbeat, hq_post,
                    job_event, log_event, start_hqd)
from test_hq_agents import seed_valid, use_hqd


def test_listens_on_ipv6_loopback(tmp_path, hq_pki):
    store = Store("sqlite", str(tmp_path / "hq.db"))
    add_agent(store)
    tok = add_operator(store)
    srv = start_hqd(tmp_path, store, hq_pki, host="::1")
    try:
        srv.url = f"https://[::1]:{srv.port}"     # the certificate names ::1
        srv.token = tok
        st, doc, _ = hq_post(srv, hq_pki, AGENT_ID, "events",
                             batch([job_event(1), log_event(2)]))
        assert (st, doc) == (200, {"ack": 2})
        assert hq_post(srv, hq_pki, AGENT_ID, "heartbeat", heartbeat())[0] == 200
        a = srv.api("/api/v1/fleet")[1]["agents"][0]
        assert a["id"] == AGENT_ID and a["online"] is True
        # The refusal log names the IPv6 peer.
        assert hq_post(srv, hq_pki, "store-test-002", "events", batch([]),
                       client=None)[0] in (401, 403)
        assert "refused ::1" in srv.stderr()
    finally:
        assert srv.stop() == 0


def _terminate_sessions(pg, spec):
    """End every session of posagent-hq's database, as a PostgreSQL restart
    or an administrator would; returns how many."""
    db = spec.split("///")[1].split("?")[0]
    return int(pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       f"WHERE datname = '{db}' AND pid <> pg_backend_pid()"))


def test_postgresql_sessions_lost_under_a_running_hq(agent, tmp_path, pg_server, hq_pki):
    """posagent-hq recovers without a restart: the batch that meets the
    dead session is tried again on a new one (or the agent sends it
    again), reads and heartbeats work, nothing is lost or doubled."""
    store = Store("pg", pg_server.new_db(), pg_server)
    add_agent(store)
    tok = add_operator(store)
    srv = start_hqd(tmp_path, store, hq_pki, "--threads", "1")
    srv.token = tok
    try:
        use_hqd(agent, srv, hq_pki, batch_max=200)
        seed_valid(agent, 1000)
        assert agent.run("sync", "--once").rc == 0
        assert store.count("hq_event") == 1000
        # Every session posagent-hq holds: its HTTP thread's and its store
        # worker's (the heartbeat writer's once it has written).
        assert _terminate_sessions(pg_server, store.spec) >= 2
        seed_valid(agent, 1000, start=1000)
        # A few rounds at most: HQ answers 503 at worst once per session.
        for _ in range(5):
            r = agent.run("sync", "--once")
            if not outbox_rows(agent):
                break
        assert outbox_rows(agent) == [], r
        assert srv.proc.poll() is None, "posagent-hq exited"
        assert "PostgreSQL connection lost" in srv.stderr()
        assert store.count("hq_event") == 2000
        assert store.count("hq_log") == 2000 - 20
        assert store.count("hq_job") == 20
        # Reads and heartbeats on sessions that ended twice now.
        assert _terminate_sessions(pg_server, store.spec) >= 2
        assert hq_post(srv, hq_pki, AGENT_ID, "heartbeat", heartbeat())[0] == 200
        a = srv.api("/api/v1/fleet")[1]["agents"][0]
        assert a["version"] == "1.2.3" and a["outbox"]["depth"] == 7, a
    finally:
        srv.stop(signal.SIGKILL)


def test_postgresql_restart_under_a_running_hq(agent, tmp_path, hq_pki):
    """PostgreSQL stops under a running posagent-hq and starts again: while
    it is down the agent gets 503 and keeps its events, posagent-hq keeps
    running; once it is back the next sync stores everything exactly once.
    A PostgreSQL of its own: the session's one is shared with other tests."""
    pg = PgServer()
    srv = None
    try:
        store = Store("pg", pg.new_db(), pg)
        add_agent(store)
        srv = start_hqd(tmp_path, store, hq_pki, "--threads", "1")
        use_hqd(agent, srv, hq_pki, batch_max=200)
        seed_valid(agent, 500)
        assert agent.run("sync", "--once").rc == 0
        pg._run(f"{PG_BIN}/pg_ctl", "-D", pg.data, "-m", "fast", "-w", "stop")
        seed_valid(agent, 500, start=500)
        r = agent.run("sync", "--once")
        assert r.rc == 69, r                      # 503: transient, events kept
        assert len(outbox_rows(agent)) == 500
        assert srv.proc.poll() is None, "posagent-hq exited"
        assert "PostgreSQL connection lost" in srv.stderr()
        pg._run(f"{PG_BIN}/pg_ctl", "-D", pg.data, "-w", "-t", "60", "-l",
                os.path.join(pg.dir, "pg.log"), "-o",
                f"-k {pg.sock} -p {pg.port} -c listen_addresses='' -c fsync=off", "start")
        r = agent.run("sync", "--once")
        assert r.rc == 0, r
        assert outbox_rows(agent) == []
        assert store.count("hq_event") == 1000
        assert store.count("hq_log") == 1000 - 10 and store.count("hq_job") == 10
        assert srv.proc.poll() is None
    finally:
        if srv:
            srv.stop(signal.SIGKILL)
        pg.stop()

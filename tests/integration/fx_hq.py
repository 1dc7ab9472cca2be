"""HQ peer fixtures (see tests/peers/hq_peer.py and tests/peers/certs.py).

    hq_certs            session-wide test PKI (made with openssl at test time)
    hq                  a running HTTPS HQ peer: .url, .fault(kind, **kw),
                        .clear(), .tls(...), .events(), .heartbeats(),
                        .stats(), .wait_for(pred)
    start_hq(workdir, certs, **opts)   another peer (token, client_ca, plain)
    use_hq(agent, hq, certs, **hq_keys)  point an Agent's [hq] at a peer and
                        run `posagent init`
    seed_events(agent, n, ...)          queue n events straight into the
                        outbox of var/agent.db (no import needed)
"""
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

import certs as _certs

__all__ = ["HqPeer", "start_hq", "stop_hq", "hq_certs", "hq", "use_hq",
           "seed_events", "outbox_rows", "wait_for"]

_TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HQ_PEER = os.path.join(_TOP, "tests", "peers", "hq_peer.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
AGENT_ID = "store-test-001"

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_for(pred, timeout=60, what="condition"):
    """Poll pred() until true (an event, not a duration, ends the wait);
    the timeout only bounds a broken run."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class HqPeer:
    def __init__(self, proc, port, control, workdir):
        self.proc = proc
        self.port = port
        self.control = control
        self.workdir = workdir
        self.url = f"https://localhost:{port}"

    def _call(self, method, path, doc=None):
        data = json.dumps(doc).encode() if doc is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.control}{path}", data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
        with _opener.open(req, timeout=30) as r:
            return json.loads(r.read().decode())

    def fault(self, kind, **kw):
        kw["kind"] = kind
        return self._call("POST", "/fault", kw)

    def clear(self):
        return self._call("POST", "/clear", {})

    def tls(self, cert, key, client_ca=None, tls_min=None, tls_max=None):
        return self._call("POST", "/tls", {"cert": cert, "key": key, "client_ca": client_ca,
                                           "min": tls_min, "max": tls_max})

    def events(self, agent_id=AGENT_ID):
        return self._call("GET", f"/events?agent_id={agent_id}")

    def heartbeats(self):
        return self._call("GET", "/heartbeats")

    def stats(self):
        return self._call("GET", "/stats")


def start_hq(workdir, certs=None, token=None, client_ca=None, plain=False, name="hq"):
    """Start a peer process; return once its port file exists (written
    after both sockets listen), never after a fixed sleep."""
    workdir = str(workdir)
    port_file = os.path.join(workdir, f"{name}.port")
    cmd = [PYTHON, HQ_PEER, "--port-file", port_file,
           "--db", os.path.join(workdir, f"{name}.db")]
    if plain:
        cmd.append("--plain")
    else:
        cmd += ["--cert", certs["server"], "--key", certs["server_key"]]
    if client_ca:
        cmd += ["--client-ca", client_ca]
    if token:
        cmd += ["--token", token]
    log = open(os.path.join(workdir, f"{name}.log"), "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 30
    while not os.path.exists(port_file):
        if proc.poll() is not None:
            raise RuntimeError(f"hq_peer exited with {proc.returncode}; see {workdir}/{name}.log")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("hq_peer did not write its port file in 30 s")
        time.sleep(0.01)
    with open(port_file) as f:
        ports = json.load(f)
    peer = HqPeer(proc, ports["port"], ports["control"], workdir)
    if plain:
        peer.url = f"http://localhost:{ports['port']}"
    return peer


def stop_hq(peer):
    peer.proc.kill()
    peer.proc.wait(timeout=30)


@pytest.fixture(scope="session")
def hq_certs(tmp_path_factory):
    return _certs.make(tmp_path_factory.mktemp("hq-pki"))


@pytest.fixture
def hq(tmp_path, hq_certs):
    peer = start_hq(tmp_path, hq_certs)
    yield peer
    stop_hq(peer)


def use_hq(agent, peer, certs, init=True, **keys):
    """Point agent's [hq] at peer (https://localhost:PORT, the test CA) and
    create its data directory. Extra keys override (e.g. batch_max=50)."""
    hq = {"url": peer.url, "ca_file": certs["ca"], "heartbeat_s": 1,
          "timeout_ms": 3000}
    hq.update({k: v for k, v in keys.items() if v is not None})
    agent.conf["hq"] = hq
    agent.write_conf()
    if init:
        r = agent.run("init")
        assert r.rc == 0, r
    return agent


# Seeded events look recent (an hour old), as a producer's would: an old
# outbox is itself a reason for `posagent status` to exit 1 (outbox_backlog).
SEED_BASE_TS = int(time.time()) - 3600


def seed_events(agent, n, kind=lambda i: "log" if i % 10 else "job", start_ts=0):
    """Insert n events into the agent's outbox as a producer would (one
    transaction); returns their seqs. The triggers keep the depth count."""
    db = sqlite3.connect(str(agent.data / "agent.db"))
    try:
        seqs = []
        with db:
            for i in range(n):
                t = start_ts + i
                ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(SEED_BASE_TS + t)) + \
                    f".{i % 1000:03d}Z"
                data = {"i": i, "job": f"IMP/{i // 100:05d}", "message": f"row {i} «ok»"}
                cur = db.execute("INSERT INTO outbox(type, ts, data) VALUES (?,?,?)",
                                 (kind(i), ts, json.dumps(data, ensure_ascii=False)))
                seqs.append(cur.lastrowid)
        return seqs
    finally:
        db.close()


def outbox_rows(agent, table="outbox"):
    db = sqlite3.connect(str(agent.data / "agent.db"))
    try:
        return db.execute(f"SELECT * FROM {table} ORDER BY seq").fetchall()
    finally:
        db.close()

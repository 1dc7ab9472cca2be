"""KKT adapter emulator fixtures (see tests/peers/kkt_peer.py).

    kkt_peer            a running peer: .url, .set(mode=..., **kw), .stats()
    kkt_refusing_url    an http:// URL on a loopback port that refuses connections
    use_kkt(agent, url, backend, timeout_ms)   point an Agent's [kkt] at it
"""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

__all__ = ["KktPeer", "start_kkt_peer", "stop_kkt_peer", "kkt_peer",
           "kkt_refusing_url", "use_kkt"]

_TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KKT_PEER = os.path.join(_TOP, "tests", "peers", "kkt_peer.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# The control channel must not go through a proxy from the environment
# (the agent itself never uses one for the adapter either).
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class KktPeer:
    def __init__(self, proc, port, workdir):
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir

    def _call(self, method, doc=None):
        data = json.dumps(doc).encode() if doc is not None else None
        req = urllib.request.Request(self.url + "/_control", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with _opener.open(req, timeout=30) as r:
            return json.loads(r.read().decode())

    def set(self, mode="synced", **kw):
        """Replace the peer's state: every key not given returns to its default."""
        kw["mode"] = mode
        return self._call("POST", kw)

    def stats(self):
        """{"state": ..., "hits": {"opticserp_status": n, "atol_post": n, "atol_get": n}}"""
        return self._call("GET")

    def hits(self, key):
        return self.stats()["hits"].get(key, 0)


def start_kkt_peer(workdir):
    """Start the peer as a real process; return a KktPeer once it listens.
    Readiness is the port file appearing (written after bind), never a sleep."""
    port_file = os.path.join(str(workdir), "kkt_peer.port")
    log = open(os.path.join(str(workdir), "kkt_peer.log"), "wb")
    proc = subprocess.Popen([PYTHON, KKT_PEER, "--port-file", port_file],
                            stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 30
    while not os.path.exists(port_file):
        if proc.poll() is not None:
            raise RuntimeError(f"kkt_peer exited with {proc.returncode}; see {workdir}/kkt_peer.log")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("kkt_peer did not write its port file in 30 s")
        time.sleep(0.01)
    with open(port_file) as f:
        port = int(f.read().strip())
    return KktPeer(proc, port, workdir)


def stop_kkt_peer(peer):
    peer.proc.kill()
    peer.proc.wait(timeout=30)


@pytest.fixture
def kkt_peer(tmp_path):
    d = tmp_path / "kkt_peer"
    d.mkdir()
    peer = start_kkt_peer(d)
    try:
        yield peer
    finally:
        stop_kkt_peer(peer)


@pytest.fixture
def kkt_refusing_url():
    """A loopback port bound but not listening: connections are refused, and
    no other process can take the port while the test holds it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{s.getsockname()[1]}"
    finally:
        s.close()


def use_kkt(agent, url, backend="opticserp", timeout_ms=2000):
    """Point the agent's [kkt] section at url with the given backend."""
    agent.conf["kkt"] = {"backend": backend, "url": url, "timeout_ms": timeout_ms}
    agent.write_conf()

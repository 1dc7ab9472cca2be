"""posagent-hq test helpers and fixtures: the real server (POSAGENT_HQ_BIN),
on SQLite or on a real PostgreSQL 15 started here (initdb + pg_ctl in a temporary directory;
as root it runs as the postgres user, since PostgreSQL refuses root).

    hq_db           a fresh store spec, parametrized: "sqlite" and "pg"
    hqd             a running posagent-hq on hq_db (test PKI), with an
                    operator token and store-test-001 registered
    start_hqd(...)  another server (extra arguments, same or other store)
    hq_post(...)    raw HTTPS request as an agent (client cert or token)
"""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

import certs as _certs

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HQ_BIN = os.environ.get("POSAGENT_HQ_BIN",
                        os.path.join(TOP, "build", "host-san", "posagent-hq"))
PG_BIN = "/usr/lib/postgresql/15/bin"
AGENT_ID = "store-test-001"


def run_hq(*args, input=None):
    p = subprocess.run([HQ_BIN, *map(str, args)], capture_output=True, text=True,
                       timeout=60, input=input)
    return p


# --- PostgreSQL ---------------------------------------------------------------

class PgServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="hq-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = self.dir
        self.port = free_port()
        self.n = 0
        self.as_pg = os.geteuid() == 0
        if self.as_pg:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")
        self._run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-w", "-t", "60", "-l",
                  os.path.join(self.dir, "pg.log"), "-o",
                  f"-k {self.sock} -p {self.port} -c listen_addresses='' "
                  "-c fsync=off -c max_connections=200", "start")

    def _run(self, *cmd):
        if self.as_pg:
            cmd = ("runuser", "-u", "postgres", "--") + cmd
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, (cmd, p.stdout, p.stderr)
        return p

    def psql(self, sql, db="postgres"):
        p = subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-A", "-t", "-v",
                            "ON_ERROR_STOP=1", "-h", self.sock, "-p", str(self.port),
                            "-U", "postgres", "-d", db, "-c", sql],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (sql, p.stderr)
        return p.stdout.strip()

    def new_db(self):
        self.n += 1
        name = f"hq{self.n}"
        self.psql(f"CREATE DATABASE {name}")
        return f"postgresql:///{name}?host={self.sock}&port={self.port}&user=postgres"

    def stop(self):
        self._run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="session")
def pg_server():
    srv = PgServer()
    yield srv
    srv.stop()


class Store:
    """A store spec plus a way to count what it holds."""

    def __init__(self, kind, spec, pg=None):
        self.kind, self.spec, self.pg = kind, spec, pg

    def query(self, sql):
        if self.kind == "sqlite":
            import sqlite3
            db = sqlite3.connect(self.spec, timeout=30)
            try:
                return [list(r) for r in db.execute(sql)]
            finally:
                db.close()
        out = self.pg.psql(sql, db=self.spec.split("///")[1].split("?")[0])
        return [line.split("|") for line in out.splitlines() if line]

    def count(self, table, where="1=1"):
        return int(self.query(f"SELECT count(*) FROM {table} WHERE {where}")[0][0])


@pytest.fixture(params=["sqlite", "pg"])
def hq_db(request, tmp_path):
    if request.param == "sqlite":
        return Store("sqlite", str(tmp_path / "hq.db"))
    pg = request.getfixturevalue("pg_server")
    return Store("pg", pg.new_db(), pg)


@pytest.fixture(scope="session")
def hq_pki(hq_certs):
    """The test PKI plus a second store's client certificate."""
    d = os.path.dirname(hq_certs["ca"])
    if not os.path.exists(os.path.join(d, "client2.pem")):
        _certs._leaf("client2", "store-test-002", "DNS:store-test-002", "ca", d,
                     client=True)
    c = dict(hq_certs)
    c["client2"] = os.path.join(d, "client2.pem")
    c["client2_key"] = os.path.join(d, "client2.key")
    return c


# --- the server ---------------------------------------------------------------

class Hqd:
    def __init__(self, proc, port, store, workdir, log):
        self.proc, self.port, self.store, self.dir, self.log = proc, port, store, workdir, log
        self.url = f"https://localhost:{port}"
        self.token = None

    def stderr(self):
        with open(self.log) as f:
            return f.read()

    def api(self, path, token=None, expect=200):
        """GET path as an operator; returns (status, doc)."""
        tok = self.token if token is None else token
        hdr = {"Authorization": "Bearer " + tok} if tok else {}
        st, doc, _ = request(self, "GET", path, headers=hdr)
        if expect is not None:
            assert st == expect, (st, doc)
        return st, doc

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def start_hqd(workdir, store, pki, *extra, name="hqd", port=0, host="127.0.0.1"):
    workdir = str(workdir)
    log = os.path.join(workdir, f"{name}.err")
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    cmd = [HQ_BIN, "serve", "--listen", listen, "--db", store.spec,
           "--cert", pki["server"], "--key", pki["server_key"],
           "--client-ca", pki["ca"], *map(str, extra)]
    errf = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, text=True)
    errf.close()
    line = proc.stdout.readline()  # the ready line (or EOF if it died)
    if not line.startswith("posagent-hq: listening on https://"):
        proc.kill()
        proc.wait()
        raise AssertionError(f"posagent-hq did not start: {line!r}\n{open(log).read()}")
    p = int(line.strip().rsplit(":", 1)[1])
    srv = Hqd(proc, p, store, workdir, log)
    srv.ca = pki["ca"]
    return srv


def start_hqd_proxy(workdir, store, *extra, name="hqp"):
    """posagent-hq --behind-proxy: plain HTTP on loopback."""
    workdir = str(workdir)
    log = os.path.join(workdir, f"{name}.err")
    errf = open(log, "w")
    proc = subprocess.Popen([HQ_BIN, "serve", "--behind-proxy", "--listen",
                             "127.0.0.1:0", "--db", store.spec, *map(str, extra)],
                            stdout=subprocess.PIPE, stderr=errf, text=True)
    errf.close()
    line = proc.stdout.readline()
    if not line.startswith("posagent-hq: listening on http://127.0.0.1:"):
        proc.kill()
        proc.wait()
        raise AssertionError(f"posagent-hq did not start: {line!r}\n{open(log).read()}")
    return Hqd(proc, int(line.strip().rsplit(":", 1)[1]), store, workdir, log)


def add_agent(store, agent_id=AGENT_ID, token_file=None):
    args = ["agent", "add", agent_id, "--db", store.spec]
    if token_file:
        args += ["--token-file", token_file]
    r = run_hq(*args)
    assert r.returncode == 0, r.stderr
    return r


def add_operator(store, name="ops"):
    r = run_hq("operator", "add", name, "--db", store.spec)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture
def hqd(tmp_path, hq_db, hq_pki):
    add_agent(hq_db)
    tok = add_operator(hq_db)
    srv = start_hqd(tmp_path, hq_db, hq_pki)
    srv.token = tok
    yield srv
    srv.stop(signal.SIGKILL)


def request(srv, method, path, body=None, headers=None, cert=None):
    """One HTTPS request; returns (status, parsed JSON or text, headers)."""
    ctx = ssl.create_default_context(cafile=srv.ca)
    if cert:
        ctx.load_cert_chain(cert[0], cert[1])
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(srv.url + path, data=data, method=method,
                                 headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx))
    try:
        with opener.open(req, timeout=60) as r:
            st, raw, hd = r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        st, raw, hd = e.code, e.read(), dict(e.headers)
    try:
        return st, json.loads(raw), hd
    except ValueError:
        return st, raw.decode(errors="replace"), hd


def hq_post(srv, pki, agent_id, what, doc, client="client", token=None):
    cert = (pki[client], pki[client + "_key"]) if client else None
    hdr = {"Content-Type": "application/json"}
    if token:
        hdr["Authorization"] = "Bearer " + token
    return request(srv, "POST", f"/api/v1/agents/{agent_id}/{what}", doc,
                   headers=hdr, cert=cert)


def job_event(seq, uuid="u-1", state="done", name="IMP/00001", **kw):
    data = {"name": name, "uuid": uuid, "profile": "Test", "file_name": "f.csv",
            "state": state, "create_date": "2026-11-26T05:00:00.000Z",
            "end_date": "2026-11-26T05:01:00.000Z" if state in ("done", "failed") else None,
            "error_message": kw.pop("error_message", None)}
    data.update(kw)
    return {"seq": seq, "type": "job", "ts": "2026-11-26T05:00:00.%03dZ" % (seq % 1000),
            "data": data}


def log_event(seq, uuid="u-1", row=2, level="error", message="bad price"):
    return {"seq": seq, "type": "log", "ts": "2026-11-26T05:00:01.%03dZ" % (seq % 1000),
            "data": {"job": "IMP/00001", "job_uuid": uuid, "level": level,
                     "row_number": row, "message": message,
                     "row_data": {"SKU": f"A{row}", "Price": "x"}}}


def batch(events, agent_id=AGENT_ID):
    return {"agent_id": agent_id, "events": events}


def wait_for(pred, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def heartbeat(**kw):
    doc = {"agent_id": AGENT_ID, "version": "1.2.3", "ts": "2026-11-26T05:00:00.000Z",
           "uptime_s": 5, "kkt": {"backend": "opticserp", "reachable": True,
                                   "synced": True, "pending": 0, "verdict": "synced"},
           "outbox": {"depth": 7, "oldest_ts": "2026-11-26T04:00:00.000Z",
                      "dead_letters": 2},
           "jobs": {"running": 0, "progress_percent": 0, "last_done": None,
                    "last_failed": None},
           "disk_free_bytes": 123456, "hq_state": "online"}
    doc.update(kw)
    return doc

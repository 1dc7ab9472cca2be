#!/usr/bin/python3
"""HQ emulator for posagent's sync tests (DESIGN §7). Stdlib only.

API (HTTPS, or plain HTTP with --plain; HTTP/1.1 keep-alive):
  POST /api/v1/agents/{agent_id}/events     {"agent_id", "events": [...]}
       -> 200 {"ack": N}; N = the highest seq S of this request such that
          every event of the request with seq <= S is stored (resent events
          count: storage is keyed by (agent_id, seq) and deduplicated).
          With nothing stored from the request: the highest stored seq below
          it (0 if none). An empty batch is valid (the agent's probe).
  POST /api/v1/agents/{agent_id}/heartbeat  any JSON object -> 200 {}

Events and heartbeats are stored durably in a sqlite3 file (--db).

Control (plain HTTP on a second loopback port, JSON in and out):
  POST /fault {"kind": K, "count": N (default -1: until cleared), ...}
       K: refuse (stop listening) | 500 | 503 | 429 (retry_after: "2" or an
          HTTP date) | 401 | 403 | slow (delay_ms) | reset (store, then
          reset mid-answer) | ack_less (by: k events not stored) | ack_high |
          poison (seq: refuse any batch holding it with 400) | reject_all
          (400 for every events request, empty ones too) | bad_json |
          big_body | garbage (answer bytes that are not HTTP, then close) |
          weird_status (status: a nonsense code such as 999 or 302)
       "path": "events" | "heartbeat" | "any" restricts where it applies.
  POST /clear            remove every fault (and listen again after refuse)
  POST /tls {"cert", "key", "client_ca": path|null, "min", "max": "1.2"|"1.3"}
                         new TLS identity (and protocol versions) for new
                         connections (existing ones are closed)
  GET  /events[?agent_id=A]  stored events in seq order, with arrival order
  GET  /heartbeats       stored heartbeat documents
  GET  /stats            request/connection counters (with "tls:TLSv1.3"-style
                         counts of the versions negotiated)

The ports go to --port-file as JSON {"port", "control", "pid"}, written
(atomically) only once both sockets listen.
"""
import argparse
import json
import os
import re
import socket
import sqlite3
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MAX_BODY = 64 * 1024 * 1024
PATH_RE = re.compile(r"^/api/v1/agents/([A-Za-z0-9._-]{1,127})/(events|heartbeat)$")
EVENT_ONLY = {"poison", "ack_less", "ack_high", "reject_all"}


class State:
    def __init__(self, db_path, token, fsync=False):
        self.lock = threading.Lock()
        self.db = sqlite3.connect(db_path, check_same_thread=False,
                                  isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # Durable across a crash of this process (all the tests need); FULL
        # would add an fsync per request that no agent behaviour depends on.
        self.db.execute("PRAGMA synchronous=%s" % ("FULL" if fsync else "NORMAL"))
        # A request body is stored once, as received; each event row points
        # into it (re-encoding every event's data would make this peer, not
        # the agent, the bottleneck of bench/bench_sync.py).
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS batch(id INTEGER PRIMARY KEY, body BLOB);"
            "CREATE TABLE IF NOT EXISTS event(agent_id TEXT, seq INTEGER,"
            " type TEXT, ts TEXT, batch INTEGER, idx INTEGER, arrival INTEGER,"
            " PRIMARY KEY(agent_id, seq));"
            "CREATE TABLE IF NOT EXISTS heartbeat(id INTEGER PRIMARY KEY,"
            " agent_id TEXT, doc TEXT);")
        self.arrival = self.db.execute(
            "SELECT coalesce(max(arrival), 0) FROM event").fetchone()[0]
        self.token = token
        self.faults = []
        self.stats = {"requests": 0, "events_requests": 0, "heartbeat_requests": 0,
                      "connections": 0, "handshake_failures": 0, "stored": 0,
                      "duplicates": 0, "statuses": {}, "max_batch": 0,
                      "auth_headers": 0}

    def take_fault(self, endpoint):
        with self.lock:
            for f in self.faults:
                if f["count"] == 0:
                    continue
                where = f.get("path") or ("events" if f["kind"] in EVENT_ONLY else "any")
                if where not in ("any", endpoint):
                    continue
                if f["kind"] in ("refuse", "poison"):
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                return dict(f)
        return None

    def poison(self):
        """Every poisoned seq at once: a batch may hold several."""
        with self.lock:
            return {f["seq"] for f in self.faults if f["kind"] == "poison"}

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + n

    def status(self, code, path=""):
        with self.lock:
            k = str(code)
            self.stats["statuses"][k] = self.stats["statuses"].get(k, 0) + 1
            # When each answer left (CLOCK_MONOTONIC, shared by the test
            # process): a test checks a Retry-After was honoured.
            self.stats.setdefault("answers", []).append(
                [k, path, time.monotonic()])

    def store(self, agent_id, events, body, limit=None):
        """Store events[:limit] (body is the request as received); return
        the ack for this request."""
        batch = events if limit is None else events[:limit]
        with self.lock:
            db = self.db
            before = db.total_changes
            base = self.arrival
            db.execute("BEGIN IMMEDIATE")
            bid = db.execute("INSERT INTO batch(body) VALUES (?)", (body,)).lastrowid
            db.executemany("INSERT OR IGNORE INTO event VALUES (?,?,?,?,?,?,?)",
                           ((agent_id, e["seq"], e["type"], e["ts"], bid, i, base + i + 1)
                            for i, e in enumerate(batch)))
            db.execute("COMMIT")
            self.arrival = base + len(batch)
            stored = db.total_changes - before - 1
            self.stats["stored"] += stored
            self.stats["duplicates"] += len(batch) - stored
            if batch:
                return batch[-1]["seq"]
            q = "SELECT coalesce(max(seq), 0) FROM event WHERE agent_id = ?"
            args = [agent_id]
            if events:
                q += " AND seq < ?"
                args.append(events[0]["seq"])
            return db.execute(q, args).fetchone()[0]

    def events(self, agent_id=None):
        with self.lock:
            q = ("SELECT e.agent_id, e.seq, e.type, e.ts, e.batch, e.idx, e.arrival "
                 "FROM event e")
            if agent_id is not None:
                rows = self.db.execute(q + " WHERE agent_id = ? ORDER BY seq",
                                       (agent_id,)).fetchall()
            else:
                rows = self.db.execute(q + " ORDER BY agent_id, seq").fetchall()
            bodies = {}
            out = []
            for a, seq, t, ts, bid, idx, ar in rows:
                if bid not in bodies:
                    raw = self.db.execute("SELECT body FROM batch WHERE id = ?",
                                          (bid,)).fetchone()[0]
                    bodies[bid] = json.loads(raw)["events"]
                out.append({"agent_id": a, "seq": seq, "type": t, "ts": ts,
                            "data": bodies[bid][idx]["data"], "arrival": ar})
            return out

    def heartbeat(self, agent_id, doc):
        with self.lock:
            self.db.execute("INSERT INTO heartbeat(agent_id, doc) VALUES (?,?)",
                            (agent_id, json.dumps(doc)))


def validate(agent_id, doc):
    """Strict check of an events request; returns an error text or None."""
    if not isinstance(doc, dict):
        return "body is not an object"
    if doc.get("agent_id") != agent_id:
        return "agent_id does not match the URL"
    evs = doc.get("events")
    if not isinstance(evs, list):
        return "events is not an array"
    last = 0
    for e in evs:
        if not isinstance(e, dict):
            return "event is not an object"
        seq = e.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq <= last:
            return f"bad or unordered seq {seq!r}"
        last = seq
        if e.get("type") not in ("job", "log"):
            return f"seq {seq}: bad type"
        if not isinstance(e.get("ts"), str):
            return f"seq {seq}: bad ts"
        if not isinstance(e.get("data"), dict):
            return f"seq {seq}: data is not an object"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hq-peer/1"
    # Headers and body go out in separate writes: with Nagle on, the body
    # waits for the client's delayed ACK (40 ms per request).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        sys.stderr.write("hq_peer: " + (fmt % args) + "\n")

    def answer(self, code, doc=None, raw=None, headers=()):
        body = raw if raw is not None else json.dumps(doc if doc is not None else {}).encode()
        self.server.state.status(code, self.path)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def reset(self, partial):
        """Write part of an answer, then RST the connection."""
        self.wfile.write(partial)
        self.wfile.flush()
        sock = self.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        try:
            sock.close()  # no close_notify: linger 0 turns this into a RST
        except OSError:
            pass

    def do_GET(self):
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        st = self.server.state
        st.count("requests")
        m = PATH_RE.match(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self.answer(413, {"error": "too large"})
            return
        body = self.rfile.read(n)
        if not m:
            self.answer(404, {"error": "no such endpoint"})
            return
        agent_id, endpoint = m.group(1), m.group(2)
        st.count("events_requests" if endpoint == "events" else "heartbeat_requests")
        auth = self.headers.get("Authorization")
        if auth:
            st.count("auth_headers")
        if st.token is not None and auth != "Bearer " + st.token:
            self.answer(401, {"error": "bad token"}, headers=[("WWW-Authenticate", "Bearer")])
            return
        f = st.take_fault(endpoint)
        kind = f["kind"] if f else None
        if kind == "slow":
            time.sleep(f.get("delay_ms", 3000) / 1000.0)
        elif kind in ("500", "503", "401", "403"):
            self.answer(int(kind), {"error": "injected " + kind})
            return
        elif kind == "429":
            self.answer(429, {"error": "slow down"},
                        headers=[("Retry-After", str(f.get("retry_after", "1")))])
            return
        elif kind == "bad_json":
            self.answer(200, raw=b"{\"ack\": \"forty-two\"")
            return
        elif kind == "garbage":
            # A TLS server that is not HQ (or a broken proxy behind it):
            # curl calls this HTTP/0.9 and refuses it.
            self.wfile.write(b"garbage: this is not an HTTP answer\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        elif kind == "weird_status":
            code = int(f.get("status", 999))
            self.wfile.write(b"HTTP/1.1 %d Weird\r\nContent-Length: 2\r\n"
                             b"Content-Type: application/json\r\n\r\n{}" % code)
            self.wfile.flush()
            self.server.state.status(code)
            return
        elif kind == "big_body":
            self.answer(200, raw=b"{\"ack\": 0, \"pad\": \"" + b"x" * 200000 + b"\"}")
            return
        try:
            doc = json.loads(body)
        except ValueError:
            self.answer(400, {"error": "body is not JSON"})
            return
        if endpoint == "heartbeat":
            if not isinstance(doc, dict) or doc.get("agent_id") != agent_id:
                self.answer(400, {"error": "bad heartbeat"})
                return
            st.heartbeat(agent_id, doc)
            self.answer(200, {})
            return
        err = validate(agent_id, doc)
        if err:
            self.answer(400, {"error": err})
            return
        events = doc["events"]
        with st.lock:
            st.stats["max_batch"] = max(st.stats["max_batch"], len(events))
        if kind == "reject_all":
            self.answer(400, {"error": "injected: every batch refused"})
            return
        bad = [e["seq"] for e in events if e["seq"] in st.poison()]
        if bad:
            self.answer(400, {"error": f"event {bad[0]} is malformed"})
            return
        limit = None
        if kind == "ack_less":
            limit = max(0, len(events) - int(f.get("by", 1)))
        ack = st.store(agent_id, events, body, limit)
        if kind == "ack_high":
            ack = (events[-1]["seq"] if events else ack) + 1000
        if kind == "reset":
            self.reset(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       b"Content-Length: 40\r\n\r\n{\"ack\":")
            return
        self.answer(200, {"ack": ack})


class HQServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, ctx_holder):
        self.state = state
        self.ctx_holder = ctx_holder
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        self.state.count("connections")
        ctx = self.ctx_holder.get("ctx")
        with self.conns_lock:
            self.conns.add(request)
        try:
            if ctx is not None:
                request.settimeout(30)
                try:
                    request = ctx.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    self.state.count("handshake_failures")
                    return
                self.state.count("tls:" + str(request.version()))
                with self.conns_lock:
                    self.conns.add(request)
            super().finish_request(request, client_address)
        finally:
            with self.conns_lock:
                self.conns.discard(request)

    def drop_connections(self):
        with self.conns_lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        pass  # resets and aborted handshakes are part of the tests


TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def make_ctx(cert, key, client_ca, tls_min=None, tls_max=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = TLS_VERSIONS[tls_min or "1.2"]
    if tls_max:
        ctx.maximum_version = TLS_VERSIONS[tls_max]
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


class Peer:
    def __init__(self, args):
        self.args = args
        self.state = State(args.db, args.token, args.fsync)
        self.ctx = {"ctx": None if args.plain else make_ctx(args.cert, args.key, args.client_ca)}
        self.port = 0
        self.https = None
        self.listen()

    def listen(self):
        self.https = HQServer(("127.0.0.1", self.port), self.state, self.ctx)
        self.port = self.https.server_address[1]
        threading.Thread(target=self.https.serve_forever, daemon=True).start()

    def refuse(self):
        if self.https is None:
            return
        self.https.shutdown()
        self.https.server_close()
        self.https.drop_connections()
        self.https = None

    def control(self, method, path, doc):
        st = self.state
        u = urlparse(path)
        if method == "GET" and u.path == "/stats":
            with st.lock:
                s = json.loads(json.dumps(st.stats))
            s["listening"] = self.https is not None
            s["faults"] = st.faults
            return s
        if method == "GET" and u.path == "/events":
            q = parse_qs(u.query)
            return st.events(q["agent_id"][0] if "agent_id" in q else None)
        if method == "GET" and u.path == "/heartbeats":
            with st.lock:
                rows = st.db.execute("SELECT doc FROM heartbeat ORDER BY id").fetchall()
            return [json.loads(r[0]) for r in rows]
        if method == "POST" and u.path == "/fault":
            f = dict(doc)
            f.setdefault("count", -1)
            with st.lock:
                st.faults.append(f)
            if f["kind"] == "refuse":
                self.refuse()
            return {"ok": True}
        if method == "POST" and u.path == "/clear":
            with st.lock:
                st.faults = []
            if self.https is None:
                self.listen()
            return {"ok": True}
        if method == "POST" and u.path == "/tls":
            self.ctx["ctx"] = make_ctx(doc["cert"], doc["key"], doc.get("client_ca"),
                                       doc.get("min"), doc.get("max"))
            if self.https is not None:
                self.https.drop_connections()
            return {"ok": True}
        raise KeyError(path)


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def handle_any(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        doc = json.loads(self.rfile.read(n)) if n else None
        try:
            out, code = self.server.peer.control(method, self.path, doc), 200
        except KeyError:
            out, code = {"error": "unknown control " + self.path}, 404
        body = json.dumps(out).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--client-ca")
    ap.add_argument("--token")
    ap.add_argument("--plain", action="store_true", help="HTTP instead of HTTPS")
    ap.add_argument("--fsync", action="store_true",
                    help="fsync every stored batch (synchronous=FULL)")
    args = ap.parse_args()
    if not args.plain and not (args.cert and args.key):
        ap.error("--cert and --key are required unless --plain")
    peer = Peer(args)
    ctl = ThreadingHTTPServer(("127.0.0.1", 0), ControlHandler)
    ctl.daemon_threads = True
    ctl.peer = peer
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": peer.port, "control": ctl.server_address[1],
                   "pid": os.getpid()}, f)
    os.rename(tmp, args.port_file)
    ctl.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""KKT adapter emulator: the OpticsERP adapter AND the ATOL Driver v10 web
server on one loopback port (DESIGN §6). Python stdlib only.

    kkt_peer.py --port-file PATH [--host 127.0.0.1] [--port 0]

Binds (port 0: the OS picks), then writes the port number to PATH
atomically (temp file + rename), so a test waits for the file, not a sleep.

APIs emulated:
    GET  /v1/kkt/buffer/status           OpticsERP buffer status
    POST /api/v2/requests                ATOL: queue a task -> 201
    GET  /api/v2/requests/{uuid}         ATOL: task result

Control (tests drive every state at run time):
    POST /_control  {"mode": M, ...}     replace the state (unset keys reset)
    GET  /_control                       {"state": ..., "hits": {path: n}}

The receipt store behind both APIs is modelled as the real OpticsERP
adapter keeps it (measured, issue #10): 100 receipts synced, plus
    pending=N     receipts waiting to be sent
    dlq_size=N    receipts in the dead-letter queue, entry unresolved
    failed=N      receipts whose DLQ entry was resolved: still status failed
                  (the adapter's failed is cumulative: reported failed =
                  failed + dlq_size), history that no longer blocks
    syncing=N     receipts in the "syncing" state the endpoint does not list:
                  they show only in total_receipts
ATOL's notSentCount is what has not reached the OFD: pending + dlq_size +
syncing.

Modes (one state drives both APIs, so a test runs against either backend):
    synced                     nothing blocks (failed history allowed)
    pending    pending=N       N receipts unsent
    failed     failed=N        N resolved failed receipts: history only
    dlq        dlq_size=N      N unresolved DLQ entries
    syncing    syncing=N       N receipts in the unlisted "syncing" state
    slow       delay_ms=MS     answer (synced) after sleeping MS
    http500                    every API request answers 500
    garbage                    200 with a body that is not JSON
    wrongtypes                 counts sent as strings
    raw        body=S status=N this exact answer on the status/result paths
    atol_stuck                 ATOL task stays "inProgress" forever
    atol_error error_code=N error_description=S   ATOL task ends "error"
HTTP Basic authentication, as a protected ATOL web server wants it:
auth_user=U auth_password=P make every API request (not /_control)
answer 401 with WWW-Authenticate unless it carries exactly these
credentials; auth_fail_status=403 answers 403 instead.
Extra keys: network_status, first_doc_number, first_doc_datetime,
ready_after_polls=K (ATOL answers "wait"/"inProgress" K times first),
post_status=N (ATOL POST answer, default 201), delay_ms (any mode).
"""
import argparse
import base64
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULTS = {
    "mode": "synced",
    "pending": 0, "failed": 0, "dlq_size": 0, "syncing": 0,
    "network_status": "online",
    "first_doc_number": 1234,
    "first_doc_datetime": "2026-11-26T09:12:00+03:00",
    "delay_ms": 0,
    "error_code": 2,
    "error_description": "Нет связи с ККТ",
    "ready_after_polls": 0,
    "post_status": 201,
    "status": 200,
    "body": "",
    "auth_user": "", "auth_password": "", "auth_fail_status": 401,
}
MODES = {"synced", "pending", "failed", "dlq", "syncing", "slow", "http500", "garbage",
         "wrongtypes", "raw", "atol_stuck", "atol_error"}
MAX_BODY = 1024 * 1024     # requests we accept (control documents carry raw bodies)

lock = threading.Lock()
state = dict(DEFAULTS)
hits = {}
tasks = {}      # uuid -> {"polls": n}

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def snapshot():
    with lock:
        return dict(state)


SYNCED_BASE = 100


def unsent(s):
    """Receipts not yet at the OFD (ATOL's notSentCount)."""
    return s["pending"] + s["dlq_size"] + s["syncing"]


def opticserp_doc(s):
    failed = s["failed"] + s["dlq_size"]        # cumulative, as the adapter
    total = SYNCED_BASE + s["pending"] + failed + s["syncing"]
    doc = {
        "total_capacity": 1000, "current_queued": unsent(s),
        "percent_full": unsent(s) / 10.0, "network_status": s["network_status"],
        "total_receipts": total, "pending": s["pending"],
        "synced": SYNCED_BASE, "failed": failed,
        "dlq_size": s["dlq_size"],
    }
    if s["mode"] == "wrongtypes":
        for k in ("pending", "failed", "dlq_size"):
            doc[k] = str(doc[k])
    return doc


def atol_ready_doc(s):
    n = unsent(s)
    st = {"notSentCount": n,
          "notSentFirstDocNumber": s["first_doc_number"] if n else 0,
          "notSentFirstDocDateTime": s["first_doc_datetime"] if n else
          "1970-01-01T00:00:00+00:00"}
    if s["mode"] == "wrongtypes":
        st["notSentCount"] = str(n)
    return {"results": [{"errorCode": 0, "errorDescription": "Ошибок нет",
                         "status": "ready", "result": {"status": st}}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kkt_peer/1"
    # Headers and body go out in separate writes; with Nagle on, the body
    # waits for the client's delayed ACK (~40 ms) on every answer.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):     # quiet: tests read /_control
        pass

    def _send(self, code, body, ctype="application/json; charset=utf-8"):
        if not isinstance(body, (bytes, bytearray)):
            body = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
            body = body.encode("utf-8")
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass    # the client gave up (timeout tests): nothing to do

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def _hit(self, key):
        with lock:
            hits[key] = hits.get(key, 0) + 1

    def _auth_refused(self, s):
        """Basic authentication when configured; True = refused (answered)."""
        if not s["auth_user"]:
            return False
        want = "Basic " + base64.b64encode(
            f'{s["auth_user"]}:{s["auth_password"]}'.encode("utf-8")).decode()
        if self.headers.get("Authorization") == want:
            self._hit("auth_ok")
            return False
        self._hit("auth_refused")
        body = json.dumps({"error": {"code": s["auth_fail_status"],
                                     "description": "authorization required"}}).encode()
        try:
            self.send_response(s["auth_fail_status"])
            self.send_header("WWW-Authenticate", 'Basic realm="ATOL Web Server"')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return True

    def _api_prelude(self, s):
        """Delay and blanket failures shared by every API path; True = answered."""
        if s["delay_ms"]:
            time.sleep(s["delay_ms"] / 1000.0)
        if self._auth_refused(s):
            return True
        if s["mode"] == "http500":
            self._send(500, {"error": "internal error (emulated)"})
            return True
        if s["mode"] == "garbage":
            self._send(200, "{\"pending\": 0, oops <html>")
            return True
        if s["mode"] == "raw":
            self._send(s["status"], s["body"])
            return True
        return False

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/_control":
            with lock:
                self._send(200, {"state": state, "hits": hits, "tasks": len(tasks)})
            return
        if path == "/v1/kkt/buffer/status":
            self._hit("opticserp_status")
            s = snapshot()
            if not self._api_prelude(s):
                self._send(200, opticserp_doc(s))
            return
        m = re.fullmatch(r"/api/v2/requests/([^/]+)", path)
        if m:
            self._hit("atol_get")
            s = snapshot()
            if self._auth_refused(s):
                return
            with lock:
                task = tasks.get(m.group(1))
                if task is not None:
                    task["polls"] += 1
                    polls = task["polls"]
            if task is None:
                self._send(404, {"error": {"code": 404, "description": "task not found"}})
                return
            if self._api_prelude(s):
                return
            if s["mode"] == "atol_stuck" or polls <= s["ready_after_polls"]:
                st = "wait" if polls == 1 else "inProgress"
                self._send(200, {"results": [{"errorCode": 0, "errorDescription": "",
                                              "status": st, "result": None}]})
            elif s["mode"] == "atol_error":
                self._send(200, {"results": [{"errorCode": s["error_code"],
                                              "errorDescription": s["error_description"],
                                              "status": "error", "result": None}]})
            else:
                self._send(200, atol_ready_doc(s))
            return
        self._send(404, {"error": "no such path"})

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        try:
            raw = self._body()
            doc = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError):
            self._send(400, {"error": "body is not JSON"})
            return
        if path == "/_control":
            if not isinstance(doc, dict) or doc.get("mode", "synced") not in MODES:
                self._send(400, {"error": f"bad control document; modes: {sorted(MODES)}"})
                return
            unknown = set(doc) - set(DEFAULTS)
            if unknown:
                self._send(400, {"error": f"unknown keys {sorted(unknown)}"})
                return
            with lock:
                state.clear()
                state.update(DEFAULTS)
                state.update(doc)
                tasks.clear()
                hits.clear()
            self._send(200, {"state": snapshot()})
            return
        if path == "/api/v2/requests":
            self._hit("atol_post")
            s = snapshot()
            if s["delay_ms"]:
                time.sleep(s["delay_ms"] / 1000.0)
            if self._auth_refused(s):
                return
            if s["mode"] == "http500":
                self._send(500, {"error": "internal error (emulated)"})
                return
            ok = (isinstance(doc, dict) and isinstance(doc.get("uuid"), str)
                  and UUID_RE.match(doc["uuid"])
                  and doc.get("request") == [{"type": "ofdExchangeStatus"}])
            if not ok:
                self._send(400, {"error": {"code": 400, "description": "bad task"}})
                return
            with lock:
                if doc["uuid"] in tasks:
                    conflict = True
                else:
                    conflict = False
                    tasks[doc["uuid"]] = {"polls": 0}
            if conflict:
                self._send(409, {"error": {"code": 409, "description": "uuid exists"}})
                return
            self._send(s["post_status"], b"")
            return
        self._send(404, {"error": "no such path"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

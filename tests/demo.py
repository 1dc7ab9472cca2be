#!/usr/bin/python3
"""make demo: the main job on loopback, with posagent-hq as headquarters.

Starts posagent-hq (HTTPS, a throw-away PKI, an SQLite store in build/demo)
and the KKT adapter emulator (OpticsERP API), registers the demo store and
an operator, then walks through what a store terminal does: the gate refuses
while receipts are unsent, the import runs once they reach the OFD, the
outbox goes to HQ over TLS, and HQ's read API shows the job. Prints the
dashboard's URL (with /#token=…, which signs in directly) and the operator
token. On a terminal it then keeps HQ running until Enter or Ctrl-C, so the
dashboard can be opened; without one it stops at once.

usage: demo.py POSAGENT POSAGENT_HQ"""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import urllib.request

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "peers"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

import certs  # noqa: E402
from fx_kkt import start_kkt_peer, stop_kkt_peer  # noqa: E402

BOLD = "\033[1m" if sys.stdout.isatty() else ""
RESET = "\033[0m" if sys.stdout.isatty() else ""
AGENT_ID = "store-demo-001"
DEMO_PORT = 8443            # the dashboard's port when free, else any


def step(text):
    print(f"\n{BOLD}== {text}{RESET}", flush=True)


def run(binary, conf, *args, expect=(0,)):
    cmd = [binary, "-c", conf, *args]
    print(f"$ posagent {' '.join(args)}", flush=True)
    p = subprocess.run(cmd)
    if p.returncode not in expect:
        raise SystemExit(f"demo: `posagent {' '.join(args)}` exited {p.returncode}, "
                         f"expected {expect}")
    if p.returncode:
        print(f"(exit status {p.returncode})")
    return p.returncode


class Hq:
    """posagent-hq serve, started and stopped by the demo."""

    def __init__(self, binary, work, pki):
        self.bin, self.work, self.pki = binary, work, pki
        self.db = os.path.join(work, "hq.db")

    def cli(self, *args):
        p = subprocess.run([self.bin, *args, "--db", self.db], capture_output=True,
                           text=True)
        if p.returncode:
            raise SystemExit(f"demo: `posagent-hq {' '.join(args)}` exited "
                             f"{p.returncode}: {p.stderr.strip()}")
        return p.stdout

    def start(self):
        port = DEMO_PORT
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            port = 0
        finally:
            s.close()
        self.log = os.path.join(self.work, "hq.log")
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(
                [self.bin, "serve", "--listen", f"127.0.0.1:{port}", "--db", self.db,
                 "--cert", self.pki["server"], "--key", self.pki["server_key"],
                 "--client-ca", self.pki["ca"]],
                stdout=subprocess.PIPE, stderr=err, text=True)
        line = self.proc.stdout.readline()      # the ready line (EOF if it died)
        m = re.match(r"posagent-hq: listening on https://\S+:(\d+)", line)
        if not m:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit(f"demo: posagent-hq did not start; see {self.log}")
        self.url = f"https://localhost:{m.group(1)}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)

    def api(self, path, token):
        ctx = ssl.create_default_context(cafile=self.pki["ca"])
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=ctx))
        req = urllib.request.Request(self.url + path,
                                     headers={"Authorization": f"Bearer {token}"})
        with opener.open(req, timeout=30) as r:
            return json.loads(r.read().decode())


def main():
    binary = os.path.abspath(sys.argv[1])
    hq_bin = os.path.abspath(sys.argv[2])
    work = os.path.join(TOP, "build", "demo")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    pki = certs.make(os.path.join(work, "pki"))
    hq = Hq(hq_bin, work, pki)
    token_file = os.path.join(work, "hq.token")
    hq.cli("agent", "add", AGENT_ID, "--token-file", token_file)
    operator = hq.cli("operator", "add", "demo").strip().split()[-1]
    hq.start()
    kkt = start_kkt_peer(work)
    try:
        conf = os.path.join(work, "posagent.conf")
        with open(conf, "w") as f:
            f.write(f"""[agent]
id = {AGENT_ID}
data_dir = {work}/var

[kkt]
backend = opticserp
url = {kkt.url}
timeout_ms = 2000

[hq]
url = {hq.url}
ca_file = {pki['ca']}
token_file = {token_file}
heartbeat_s = 30
""")
        print(f"demo: data in {work}/var, KKT adapter emulator at {kkt.url}, "
              f"posagent-hq at {hq.url} (TLS, test CA; store {AGENT_ID} registered "
              f"with a bearer token)")
        sample = os.path.join(TOP, "examples", "essilor_2026-11.csv")
        step("Set up: data directory and the supplier's import profile")
        run(binary, conf, "init")
        run(binary, conf, "profile", "add", os.path.join(TOP, "examples", "essilor.json"))

        step("Gate check: the KKT still holds 3 receipts the OFD has not seen")
        kkt.set("pending", pending=3)
        run(binary, conf, "kkt", "status", expect=(75,))
        run(binary, conf, "import", sample, "--profile", "Essilor Price List", expect=(75,))
        run(binary, conf, "log", "IMP/00001")

        step("The adapter delivers the receipts: the buffer is synced")
        kkt.set("synced")
        run(binary, conf, "kkt", "status")

        step("Import of the sample price list (a refused job stays draft: run it)")
        run(binary, conf, "job", "run", "IMP/00001")
        run(binary, conf, "log", "IMP/00001", "--level", "error")

        step("Sync to posagent-hq over TLS (events, then a heartbeat)")
        run(binary, conf, "sync", "--once")
        doc = hq.api(f"/api/v1/agents/{AGENT_ID}", operator)
        a = doc["agent"]
        print(f"HQ sees {AGENT_ID}: {'online' if a['online'] else 'offline'}, "
              f"version {a.get('version')}, outbox depth {(a.get('outbox') or {}).get('depth')}")
        for j in doc["jobs"]:
            print(f"HQ's view of {j['name']}: state {j['state']}, "
                  f"{j.get('created_count')} created, {j.get('error_count')} errors")
        if doc["jobs"]:
            j = doc["jobs"][0]
            log = hq.api(f"/api/v1/agents/{AGENT_ID}/jobs/{j['uuid']}?level=error&page_size=3",
                         operator)["log"]
            print(f"HQ holds {log['total']} error rows of {j['name']}; first: " +
                  "; ".join(f"row {e['row_number']}: {e['message']}" for e in log["entries"][:1]))

        step("Job summary")
        run(binary, conf, "job", "list")
        run(binary, conf, "job", "show", "IMP/00001")
        step("Catalog mirror (what the POS reads)")
        import sqlite3
        db = sqlite3.connect(os.path.join(work, "var", "catalog.db"))
        for row in db.execute("SELECT default_code, name, list_price / 100.0, qty_available,"
                              " barcode FROM product ORDER BY id LIMIT 5"):
            print("  %-11s %-48s %10.2f руб. %5g  %s" % row)
        print("  ...")
        db.close()

        step("The fleet dashboard")
        print(f"Dashboard:      {hq.url}/#token={operator}")
        print(f"Operator token: {operator}")
        print(f"(The link signs in directly. The certificate is the demo's throw-away CA,\n"
              f" {pki['ca']}: let the browser accept it, or import that CA.)")
        print(f"\ndemo: done. Try: {binary} -c {conf} job list --group-by state")
        if sys.stdin.isatty():
            print(f"\nposagent-hq keeps running at {hq.url} — press Enter (or Ctrl-C) to stop it.",
                  flush=True)
            try:
                sys.stdin.readline()
            except KeyboardInterrupt:
                pass
    finally:
        stop_kkt_peer(kkt)
        hq.stop()


if __name__ == "__main__":
    main()

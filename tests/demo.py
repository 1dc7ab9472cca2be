#!/usr/bin/python3
"""make demo: the main job on loopback, with the bundled test peers.

Starts the KKT adapter emulator (OpticsERP API) and the HTTPS HQ peer with a
throw-away PKI, then walks through what a store terminal does: the gate
refuses while receipts are unsent, the import runs once they reach the OFD,
the outbox goes to HQ over TLS, and the job summary is shown.

usage: demo.py POSAGENT"""
import json
import os
import shutil
import subprocess
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "peers"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

import certs  # noqa: E402
from fx_hq import start_hq, stop_hq  # noqa: E402
from fx_kkt import start_kkt_peer, stop_kkt_peer  # noqa: E402

BOLD = "\033[1m" if sys.stdout.isatty() else ""
RESET = "\033[0m" if sys.stdout.isatty() else ""


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


def main():
    binary = os.path.abspath(sys.argv[1])
    work = os.path.join(TOP, "build", "demo")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    pki = certs.make(os.path.join(work, "pki"))
    hq = start_hq(work, pki)
    kkt = start_kkt_peer(work)
    try:
        conf = os.path.join(work, "posagent.conf")
        with open(conf, "w") as f:
            f.write(f"""[agent]
id = store-demo-001
data_dir = {work}/var

[kkt]
backend = opticserp
url = {kkt.url}
timeout_ms = 2000

[hq]
url = {hq.url}
ca_file = {pki['ca']}
heartbeat_s = 30
""")
        print(f"demo: data in {work}/var, KKT adapter emulator at {kkt.url}, "
              f"HQ at {hq.url} (TLS, test CA)")
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

        step("Sync to HQ over TLS")
        run(binary, conf, "sync", "--once")
        events = hq.events("store-demo-001")
        evs = events.get("events", events) if isinstance(events, dict) else events
        kinds = {}
        for e in evs:
            kinds[e["type"]] = kinds.get(e["type"], 0) + 1
        print(f"HQ stored {len(evs)} events from store-demo-001: "
              + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
        last_job = [e for e in evs if e["type"] == "job"][-1]["data"]
        print(f"HQ's view of {last_job['name']}: state {last_job['state']}, "
              f"{last_job['created_count']} created, {last_job['error_count']} errors")

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
        print(f"\ndemo: done. Try: {binary} -c {conf} job list --group-by state")
    finally:
        stop_kkt_peer(kkt)
        stop_hq(hq)


if __name__ == "__main__":
    main()

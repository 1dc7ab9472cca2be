#!/usr/bin/python3
"""HQ sync throughput: fill an outbox with N events (default 100k) and time
`posagent sync --once` draining it to the loopback HQ peer over TLS
(https://localhost, test PKI made on the spot), for several batch sizes.

    bench/bench_sync.py [BIN] [--events N] [--batch 100,500,2000]

Prints events/s per batch size (target: >= 20k/s). Uses a release build
(build/host/posagent) unless told otherwise; stdlib only.
"""
import argparse
import resource
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "peers"))
import certs  # noqa: E402

PEER = os.path.join(TOP, "tests", "peers", "hq_peer.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def start_peer(d, pki):
    port_file = os.path.join(d, "hq.port")
    log = open(os.path.join(d, "hq.log"), "wb")
    proc = subprocess.Popen([PYTHON, PEER, "--port-file", port_file,
                             "--db", os.path.join(d, "hq.db"),
                             "--cert", pki["server"], "--key", pki["server_key"]],
                            stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 30
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"hq_peer did not start; see {d}/hq.log")
        time.sleep(0.01)
    with open(port_file) as f:
        return proc, json.load(f)


def fill(db_path, n):
    """n events shaped like the import's log events (row_data included)."""
    db = sqlite3.connect(db_path)
    with db:
        db.executemany(
            "INSERT INTO outbox(type, ts, data) VALUES (?,?,?)",
            (("job" if i % 1000 == 0 else "log",
              "2026-11-26T05:%02d:%02d.%03dZ" % (i // 60000 % 60, i // 1000 % 60, i % 1000),
              json.dumps({"job": "IMP/00042", "job_uuid": "3f0c9a8e-1d2b-4c5d-9e8f-0a1b2c3d4e5f",
                          "level": "error", "row_number": i + 2,
                          "message": "list_price: '12 000 руб.' is not money",
                          "row_data": {"SKU": "ESS-%06d" % i, "Product Name": "Линза 1.6",
                                       "Price": "12 000 руб.", "Stock": "4"}},
                         ensure_ascii=False))
             for i in range(n)))
    db.close()


def run(binary, n, batch, pki, keep):
    d = tempfile.mkdtemp(prefix=f"bench-sync-{batch}-")
    proc, ports = start_peer(d, pki)
    try:
        conf = os.path.join(d, "posagent.conf")
        with open(conf, "w") as f:
            f.write(f"[agent]\nid = bench-store\ndata_dir = {d}/var\n"
                    f"[kkt]\nbackend = none\n"
                    f"[hq]\nurl = https://localhost:{ports['port']}\nca_file = {pki['ca']}\n"
                    f"batch_max = {batch}\ntimeout_ms = 60000\n")
        subprocess.run([binary, "-c", conf, "init"], check=True, capture_output=True)
        fill(os.path.join(d, "var", "agent.db"), n)
        u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        r = subprocess.run([binary, "-c", conf, "--json", "sync", "--once"],
                           capture_output=True, text=True)
        dt = time.monotonic() - t0
        u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
        if r.returncode != 0:
            sys.exit(f"sync failed ({r.returncode}): {r.stderr}")
        doc = json.loads(r.stdout)
        if doc["delivered"] != n:
            sys.exit(f"delivered {doc['delivered']} of {n}")
        return n / dt, dt, doc["batches"], doc["connections"], cpu
    finally:
        proc.kill()
        proc.wait()
        if not keep:
            shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", default=os.path.join(TOP, "build", "host", "posagent"))
    ap.add_argument("--events", type=int, default=100000)
    ap.add_argument("--batch", default="100,500,1000,2000,5000")
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    a = ap.parse_args()
    pki_dir = tempfile.mkdtemp(prefix="bench-sync-pki-")
    pki = certs.make(pki_dir)
    print(f"HQ sync: {a.events} events, posagent sync --once -> hq_peer over TLS "
          f"(loopback, keep-alive)")
    # agent cpu: the posagent process alone (the rest of the wall time is
    # the Python peer and the round trips).
    print(f"{'batch_max':>10} {'seconds':>9} {'events/s':>10} {'batches':>8} {'conns':>6} "
          f"{'agent cpu s':>12}")
    try:
        for b in (int(x) for x in a.batch.split(",")):
            rate, dt, nb, nc, cpu = run(a.binary, a.events, b, pki, a.keep)
            print(f"{b:>10} {dt:>9.2f} {rate:>10.0f} {nb:>8} {nc:>6} {cpu:>12.2f}",
                  flush=True)
    finally:
        shutil.rmtree(pki_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""make bench: posagent-hq under a simulated fleet, on SQLite and PostgreSQL.

For each store: a fresh database, N stores registered with bearer tokens
(`posagent-hq agent add ID --token-file F`), `posagent-hq serve` on loopback
with a throw-away PKI, then bench/hq_load.c (libcurl multi, HTTPS) plays the
fleet: first every store's heartbeat every 30 s alone for one cycle, then
the same plus bursts of job and log events in batches of 500 sent as fast as
HQ acks them (8 stores at a time). Prints sustained events/s,
p50/p99 heartbeat latency, and the server's CPU and RSS, beside the targets
of issue #14 (>= 20,000 events/s, p99 < 50 ms, RSS < 64 MB). Never asserts:
the figures are the output.

PostgreSQL: a throw-away PostgreSQL 15 cluster (initdb + pg_ctl from
Debian's postgresql-15, run as the postgres user when we are root) with its
default durability (fsync on, synchronous_commit on), or --pg URL.

usage: bench_hq.py POSAGENT_HQ HQ_LOAD [--stores 1000] [--duration 60]
          [--warmup 5] [--hb-only 30] [--batch 500] [--conns 8] [--db sqlite,pg]
          [--pg postgresql://...] [--threads N] [--keep]
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "peers"))
import certs  # noqa: E402

PG_BIN = "/usr/lib/postgresql/15/bin"
TARGET_EVENTS = 20000
TARGET_P99_MS = 50
TARGET_RSS_MIB = 64


class Pg:
    """A throw-away PostgreSQL 15 cluster on a Unix socket."""

    def __init__(self, d):
        self.dir = d
        os.makedirs(d)
        os.chmod(d, 0o755)
        self.data = os.path.join(d, "data")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.as_pg = os.geteuid() == 0
        if self.as_pg:
            shutil.chown(d, "postgres", "postgres")
        self._run(f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                  "-E", "UTF8")
        self._run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-w", "-t", "60", "-l",
                  os.path.join(d, "pg.log"), "-o",
                  f"-k {d} -p {self.port} -c listen_addresses='' -c max_connections=200",
                  "start")
        self._run(f"{PG_BIN}/psql", "-X", "-q", "-h", d, "-p", str(self.port), "-U",
                  "postgres", "-c", "CREATE DATABASE hqbench")
        self.url = f"postgresql:///hqbench?host={d}&port={self.port}&user=postgres"

    def _run(self, *cmd):
        if self.as_pg:
            cmd = ("runuser", "-u", "postgres", "--") + cmd
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            sys.exit(f"bench_hq: {' '.join(cmd)} failed: {p.stderr.strip()}")

    def stop(self):
        self._run(f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")


def register(hq_bin, spec, n, d):
    """n stores with bearer tokens (HQ makes each one); returns tokens.txt."""
    os.makedirs(d, exist_ok=True)

    def one(i):
        sid = f"bench-{i:04d}"
        tf = os.path.join(d, sid + ".token")
        p = subprocess.run([hq_bin, "agent", "add", sid, "--db", spec, "--token-file", tf],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"agent add {sid}: exit {p.returncode}: {p.stderr.strip()}")
        with open(tf) as f:
            return sid, f.read().strip()

    # The first one alone creates the schema; the rest in parallel.
    rows = [one(1)]
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        rows += list(ex.map(one, range(2, n + 1)))
    path = os.path.join(d, "tokens.txt")
    with open(path, "w") as f:
        for sid, tok in rows:
            f.write(f"{sid} {tok}\n")
    os.chmod(path, 0o600)
    return path


def serve(hq_bin, spec, pki, d, threads):
    cmd = [hq_bin, "serve", "--listen", "127.0.0.1:0", "--db", spec,
           "--cert", pki["server"], "--key", pki["server_key"], "--client-ca", pki["ca"]]
    if threads:
        cmd += ["--threads", str(threads)]
    err = open(os.path.join(d, "hq.stderr"), "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    line = proc.stdout.readline()            # the ready line, or EOF if it died
    if not line.startswith("posagent-hq: listening on https://"):
        proc.kill()
        proc.wait()
        sys.exit(f"bench_hq: posagent-hq did not start ({line.strip()!r}); "
                 f"see {d}/hq.stderr")
    return proc, int(line.strip().rsplit(":", 1)[1])


def rss_kib(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def run_one(args, kind, spec, pki, d):
    print(f"\n== {kind}: registering {args.stores} stores", flush=True)
    t = time.monotonic()
    tokens = register(args.hq, spec, args.stores, os.path.join(d, "tokens"))
    print(f"   {args.stores} stores registered in {time.monotonic() - t:.1f} s", flush=True)
    proc, port = serve(args.hq, spec, pki, d, args.threads)
    try:
        idle = rss_kib(proc.pid)
        print(f"   posagent-hq pid {proc.pid} on port {port}, idle RSS {idle / 1024:.1f} MiB",
              flush=True)
        def load(conns, duration, warmup):
            p = subprocess.run([args.load, "--url", f"https://localhost:{port}",
                                "--cacert", pki["ca"], "--tokens", tokens,
                                "--stores", str(args.stores), "--duration", str(duration),
                                "--warmup", str(warmup), "--batch", str(args.batch),
                                "--conns", str(conns), "--pid", str(proc.pid)],
                               capture_output=True, text=True, timeout=duration * 4 + 600)
            if p.returncode != 0:
                sys.exit(f"bench_hq: hq_load failed ({p.returncode}): "
                         f"{p.stderr.strip()[-2000:]}")
            if p.stderr.strip():
                print("   hq_load: " + p.stderr.strip().replace("\n", "\n   hq_load: "))
            return json.loads(p.stdout)
        # Heartbeats alone for one full cycle (every store once), then the
        # same with event bursts on top.
        quiet = {}
        if args.hb_only:
            print(f"   heartbeats only for {args.hb_only} s", flush=True)
            quiet = load(0, args.hb_only, 0)
        print(f"   heartbeats + event bursts for {args.warmup} + {args.duration} s", flush=True)
        res = load(args.conns, args.duration, args.warmup)
        res["store"] = kind
        res["idle_rss_kib"] = idle
        for k in ("hb_p50_ms", "hb_p99_ms", "hb_max_ms", "heartbeats_ok", "server_cpu_percent"):
            if k in quiet:
                res["quiet_" + k] = quiet[k]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    res["server_exit"] = rc
    return res


def verdict(value, target, higher_is_better):
    ok = value >= target if higher_is_better else value < target
    if ok:
        return "meets target"
    miss = (target - value) / target * 100 if higher_is_better else (value - target) / target * 100
    return f"MISSES target by {miss:.0f}%"


def report(results):
    print("\n== posagent-hq under a simulated fleet "
          f"({results[0]['stores']} stores, heartbeat every 30 s each, "
          f"event batches of {results[0]['batch']}, {results[0]['conns']} senders at once)")
    hdr = f"{'':28}" + "".join(f"{r['store']:>18}" for r in results) + "   target"
    print(hdr)

    def line(label, key, fmt, target=None, higher=True):
        cells = "".join(f"{fmt(r[key]) if key in r else 'n/a':>18}" for r in results)
        tgt = ""
        if target is not None:
            tgt = "   " + ("≥ " if higher else "< ") + str(target)
        print(f"{label:28}{cells}{tgt}")
    line("heartbeats alone: p50 ms", "quiet_hb_p50_ms", lambda v: f"{v:.1f}")
    line("heartbeats alone: p99 ms", "quiet_hb_p99_ms", lambda v: f"{v:.1f}", TARGET_P99_MS,
         False)
    line("heartbeats alone: server CPU", "quiet_server_cpu_percent", lambda v: f"{v:.0f}%")
    print("with event bursts:")
    line("events/s (acked)", "events_per_s", lambda v: f"{v:,.0f}", TARGET_EVENTS)
    line("heartbeat p50 ms", "hb_p50_ms", lambda v: f"{v:.1f}")
    line("heartbeat p99 ms", "hb_p99_ms", lambda v: f"{v:.1f}", TARGET_P99_MS, False)
    line("heartbeat max ms", "hb_max_ms", lambda v: f"{v:.1f}")
    line("heartbeats measured", "heartbeats_ok", lambda v: f"{v}")
    line("server CPU (of 1 core)", "server_cpu_percent", lambda v: f"{v:.0f}%")
    line("server RSS max MiB", "server_rss_max_kib", lambda v: f"{v / 1024:.1f}",
         TARGET_RSS_MIB, False)
    line("server RSS peak (HWM) MiB", "server_rss_hwm_kib", lambda v: f"{v / 1024:.1f}")
    line("server RSS idle MiB", "idle_rss_kib", lambda v: f"{v / 1024:.1f}")
    line("429 answers", "http_429", lambda v: f"{v}")
    line("other errors", "http_other", lambda v: f"{v}")
    line("network errors", "net_errors", lambda v: f"{v}")
    for r in results:
        print(f"{r['store']}: events/s {verdict(r['events_per_s'], TARGET_EVENTS, True)}; "
              f"p99 {verdict(r['hb_p99_ms'], TARGET_P99_MS, False)}; "
              f"RSS {verdict(r.get('server_rss_hwm_kib', 0) / 1024, TARGET_RSS_MIB, False)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hq")
    ap.add_argument("load")
    ap.add_argument("--stores", type=int, default=1000)
    ap.add_argument("--duration", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--hb-only", type=int, default=30,
                    help="seconds of heartbeats alone first (0: skip)")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--db", default="sqlite,pg")
    ap.add_argument("--pg", help="use this PostgreSQL database instead of a throw-away one")
    ap.add_argument("--threads", type=int, default=0, help="posagent-hq --threads")
    ap.add_argument("--keep", action="store_true", help="keep build/bench-hq")
    args = ap.parse_args()
    work = os.path.join(TOP, "build", "bench-hq")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    pki = certs.make(os.path.join(work, "pki"))
    print(f"bench_hq: {os.cpu_count()} CPUs; work in {work}")
    results = []
    for kind in args.db.split(","):
        d = os.path.join(work, kind)
        os.makedirs(d)
        pg = None
        try:
            if kind == "sqlite":
                spec = os.path.join(d, "hq.db")
            elif kind == "pg":
                if args.pg:
                    spec = args.pg
                else:
                    pg = Pg(os.path.join(d, "pgdata"))
                    spec = pg.url
            else:
                sys.exit(f"bench_hq: --db: sqlite or pg, not {kind}")
            results.append(run_one(args, kind, spec, pki, d))
        finally:
            if pg:
                pg.stop()
    report(results)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nbench_hq: raw figures in {work}/results.json")
    if not args.keep:
        for kind in args.db.split(","):
            shutil.rmtree(os.path.join(work, kind), ignore_errors=True)


if __name__ == "__main__":
    main()

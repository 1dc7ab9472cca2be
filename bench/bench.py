#!/usr/bin/env python3
"""make bench: import throughput, peak RSS and bytes written of posagent
next to `sqlite3 .import` of the same CSV into an equally indexed table
(and into a bare table indexed afterwards), measured in the same run.
Prints rows/s, peak RSS and written MiB; never asserts on time.

Bytes written are the kernel's write_bytes I/O counter of the measured
process (what it caused to be sent to storage): a reaped child's counters
are added to its parent's, so the delta of /proc/self/io around one
wait4() is exactly that child's.

usage: bench.py POSAGENT [--sizes 100000,1000000] [--keep DIR]"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

WORDS = ["Линза", "Оправа", "Футляр", "Салфетка", "Покрытие", "Прогрессивная",
         "антиблик", "металлическая", "детская", "Классик", "Премиум", "1.67"]
CATS = ["Линзы", "Оправы", "Аксессуары", "Покрытия"]
BRANDS = ["Essilor", "Zeiss", "Hoya", "Rodenstock", "Nikon"]


def gen_csv(path, rows, seed=1, change_every=0, pct=0):
    """The same rows for the same seed; with change_every = N, every Nth
    row's price (and cost) moves by pct percent (an update of 1/N)."""
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("SKU,Product Name,Price,Cost,Stock,Barcode,Category,Brand\n")
        for i in range(rows):
            name = " ".join(rnd.choice(WORDS) for _ in range(3))
            price = rnd.randint(100, 500000)
            if change_every and i % change_every == 0:
                price = price * (100 + pct) // 100
            f.write(f"SKU{i:08d},{name} {i},{price // 100}.{price % 100:02d},"
                    f"{price // 200}.00,{rnd.randint(0, 500)},"
                    f"{4600000000000 + i},{rnd.choice(CATS)},{rnd.choice(BRANDS)}\n")


def write_bytes():
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


WRITTEN = {}


def measure(cmd, env=None, stdin=None):
    """Run cmd, return (seconds, peak RSS in MiB, returncode, stderr); the
    bytes it wrote are left in WRITTEN["last"]."""
    w0 = write_bytes()
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE if stdin else None, env=env)
    if stdin:
        p.stdin.write(stdin.encode())
        p.stdin.close()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.monotonic() - t0
    WRITTEN["last"] = write_bytes() - w0
    err = p.stderr.read().decode(errors="replace")
    p.returncode = os.waitstatus_to_exitcode(status)
    return dt, ru.ru_maxrss / 1024.0, p.returncode, err


def posagent_run(binary, conf, *args):
    return measure([binary, "-c", conf, *args])


def setup_agent(work, binary, name, profile):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "posagent.conf")
    with open(conf, "w") as f:
        f.write(f"[agent]\nid = bench\ndata_dir = {d}/var\n[kkt]\nbackend = none\n")
    pf = os.path.join(d, "profile.json")
    with open(pf, "w") as f:
        json.dump(profile, f, ensure_ascii=False)
    subprocess.run([binary, "-c", conf, "profile", "add", pf], check=True,
                   stdout=subprocess.DEVNULL)
    return conf


MAPPING = {"default_code": "SKU", "name": "Product Name", "list_price": "Price",
           "standard_price": "Cost", "qty_available": "Stock",
           "barcode": "Barcode", "category": "Category", "brand": "Brand"}


def sqlite_import(work, csv_path, index_after=False):
    db = os.path.join(work, "sqlite-import.db")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    table = ("CREATE TABLE product(sku TEXT, name TEXT NOT NULL, price TEXT,"
             " cost TEXT, stock TEXT, barcode TEXT, category TEXT, brand TEXT);\n")
    index = ("CREATE INDEX p_sku ON product(sku);\n"
             "CREATE INDEX p_barcode ON product(barcode);\n"
             "CREATE INDEX p_name ON product(name);\n")
    load = f".import --csv --skip 1 {csv_path} product\n"
    script = table + (load + index if index_after else index + load)
    return measure(["sqlite3", db], stdin=script)


def catalog_bytes(conf):
    var = os.path.join(os.path.dirname(conf), "var")
    return sum(os.path.getsize(os.path.join(var, n)) for n in
               ("catalog.db", "catalog.db-wal") if os.path.exists(os.path.join(var, n)))


def line(label, rows, dt, rss, ref=None):
    rate = rows / dt if dt > 0 else 0
    rel = f"  {rate / ref:5.2f}x sqlite3" if ref else ""
    wr = WRITTEN.get("last", 0) / 1048576
    print(f"  {label:<36} {rows:>9} rows  {dt:7.2f} s  {rate:>10,.0f} rows/s"
          f"  peak RSS {rss:6.1f} MiB  wrote {wr:8.1f} MiB{rel}")
    return rate


def bench_csv(binary, work, rows):
    csv_path = os.path.join(work, f"bench-{rows}.csv")
    gen_csv(csv_path, rows)
    print(f"\nCSV, {rows} rows, 8 columns, Cyrillic names "
          f"({os.path.getsize(csv_path) / 1e6:.1f} MB)")
    dt, rss, rc, err = sqlite_import(work, csv_path)
    if rc != 0:
        print("  sqlite3 .import failed:", err.strip())
        return
    ref = line("sqlite3 .import (3 indexes)", rows, dt, rss)
    dt, rss, rc, err = sqlite_import(work, csv_path, index_after=True)
    bulk = rows / dt if rc == 0 and dt > 0 else 0
    line("sqlite3 .import, then CREATE INDEX", rows, dt, rss, ref)
    conf = setup_agent(work, binary, f"csv-{rows}", {
        "name": "Bench", "file_format": "csv_utf8", "csv_delimiter": ",",
        "column_mapping": MAPPING,
        # The all-prices row moves every price 10 %: well under the guard.
        "max_price_change_percent": 50, "max_changed_share_percent": 20})
    dt, rss, rc, err = posagent_run(binary, conf, "import", csv_path, "--profile", "Bench")
    if rc != 0:
        print("  posagent import failed:", err.strip())
        return
    fresh = line("posagent import (fresh: created)", rows, dt, rss, ref)
    if bulk:
        print(f"  {'':<36} fresh import {fresh / bulk:5.2f}x sqlite3 .import "
              f"then CREATE INDEX")
    size = catalog_bytes(conf)
    dt, rss, rc, err = posagent_run(binary, conf, "import", csv_path, "--profile", "Bench")
    again = line("posagent import (same file: unchanged)", rows, dt, rss, ref)
    print(f"  {'':<36} catalog {size / 1048576:.1f} MiB; identical re-import "
          f"wrote {100.0 * WRITTEN['last'] / size:.2f} % of it, ran "
          f"{again / fresh:.2f}x the fresh import's speed")
    for label, every, pct in (("1 % of prices +10 %", 100, 10),
                              ("all prices +10 %", 1, 10)):
        gen_csv(csv_path, rows, change_every=every, pct=pct)
        dt, rss, rc, err = posagent_run(binary, conf, "import", csv_path,
                                        "--profile", "Bench")
        if rc != 0:
            print(f"  posagent import ({label}) failed:", err.strip())
            continue
        line(f"posagent import ({label})", rows, dt, rss, ref)
        # Undo it: one transaction, from the before-images.
        dt, rss, rc, err = posagent_run(binary, conf, "job", "revert",
                                        "IMP/%05d" % (3 if every == 100 else 4))
        if rc == 0:
            line(f"  job revert of it", rows // every, dt, rss)
        else:
            print("  job revert failed:", err.strip())
        if every == 100:
            gen_csv(csv_path, rows)     # back to the original for the next row
    os.unlink(csv_path)
    return ref


def bench_xlsx(binary, work, rows, mode, csv_ref):
    gen = os.path.join(HERE, "gen_xlsx.py")
    if not os.path.exists(gen):
        return
    x = os.path.join(work, f"bench-{rows}-{mode}.xlsx")
    subprocess.run([sys.executable, gen, x, str(rows), "--strings", mode], check=True)
    print(f"\nXLSX, {rows} rows, {mode} strings ({os.path.getsize(x) / 1e6:.1f} MB)")
    conf = setup_agent(work, binary, f"xlsx-{rows}-{mode}", {
        "name": "Bench", "file_format": "xlsx", "column_mapping": MAPPING})
    dt, rss, rc, err = posagent_run(binary, conf, "import", x, "--profile", "Bench")
    if rc != 0:
        print("  posagent import failed:", err.strip())
        return
    line("posagent import xlsx (fresh)", rows, dt, rss, csv_ref)
    dt, rss, rc, err = posagent_run(binary, conf, "import", x, "--profile", "Bench")
    line("posagent import xlsx (again)", rows, dt, rss, csv_ref)
    os.unlink(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--no-xlsx", action="store_true")
    ap.add_argument("--no-sync", action="store_true")
    ap.add_argument("--keep")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="posagent-bench-")
    os.makedirs(work, exist_ok=True)
    print(f"posagent bench ({a.binary}), work dir {work}")
    print("rates are rows per second of wall time on this machine, now; "
          "peak RSS is the process's maximum resident set")
    try:
        for rows in (int(x) for x in a.sizes.split(",")):
            ref = bench_csv(a.binary, work, rows)
            if not a.no_xlsx:
                for mode in ("shared", "inline"):
                    bench_xlsx(a.binary, work, rows, mode, ref)
        sync = os.path.join(HERE, "bench_sync.py")
        if not a.no_sync and os.path.exists(sync):
            print()
            subprocess.run([sys.executable, sync, a.binary], check=False)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

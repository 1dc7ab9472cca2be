#!/usr/bin/env python3
"""make bench: import throughput and peak RSS of posagent next to
`sqlite3 .import` of the same CSV into an equally indexed table, measured
in the same run. Prints rows/s and peak RSS; never asserts on time.

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


def gen_csv(path, rows, seed=1):
    rnd = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("SKU,Product Name,Price,Cost,Stock,Barcode,Category,Brand\n")
        for i in range(rows):
            name = " ".join(rnd.choice(WORDS) for _ in range(3))
            price = rnd.randint(100, 500000)
            f.write(f"SKU{i:08d},{name} {i},{price // 100}.{price % 100:02d},"
                    f"{price // 200}.00,{rnd.randint(0, 500)},"
                    f"{4600000000000 + i},{rnd.choice(CATS)},{rnd.choice(BRANDS)}\n")


def measure(cmd, env=None, stdin=None):
    """Run cmd, return (seconds, peak RSS in MiB, returncode, stderr)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE if stdin else None, env=env)
    if stdin:
        p.stdin.write(stdin.encode())
        p.stdin.close()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.monotonic() - t0
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


def sqlite_import(work, csv_path):
    db = os.path.join(work, "sqlite-import.db")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    script = (
        "CREATE TABLE product(sku TEXT, name TEXT NOT NULL, price TEXT, cost TEXT,"
        " stock TEXT, barcode TEXT, category TEXT, brand TEXT);\n"
        "CREATE INDEX p_sku ON product(sku);\n"
        "CREATE INDEX p_barcode ON product(barcode);\n"
        "CREATE INDEX p_name ON product(name);\n"
        f".import --csv --skip 1 {csv_path} product\n")
    return measure(["sqlite3", db], stdin=script)


def line(label, rows, dt, rss, ref=None):
    rate = rows / dt if dt > 0 else 0
    rel = f"  {rate / ref:5.2f}x sqlite3" if ref else ""
    print(f"  {label:<34} {rows:>9} rows  {dt:7.2f} s  {rate:>10,.0f} rows/s"
          f"  peak RSS {rss:6.1f} MiB{rel}")
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
    conf = setup_agent(work, binary, f"csv-{rows}", {
        "name": "Bench", "file_format": "csv_utf8", "csv_delimiter": ",",
        "column_mapping": MAPPING})
    dt, rss, rc, err = posagent_run(binary, conf, "import", csv_path, "--profile", "Bench")
    if rc != 0:
        print("  posagent import failed:", err.strip())
        return
    line("posagent import (fresh: created)", rows, dt, rss, ref)
    dt, rss, rc, err = posagent_run(binary, conf, "import", csv_path, "--profile", "Bench")
    line("posagent import (again: updated)", rows, dt, rss, ref)
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

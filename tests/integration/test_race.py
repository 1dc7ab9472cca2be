"""Every command is safe while another one commits (issue #8 §1).

50 imports (two importers side by side) while four pollers run the
read-only commands (job show, job list, status) and one canceller cancels
whatever is running. Before the fix a `job show` could settle a job that
had just finished (exit 64 "cannot finish it"), or settle it a second time
(a false "settled as done on restart" warning and a second `done` event)."""
import json
import random
import sqlite3
import threading
import time

IMPORTS = 50
ROWS = 1500
TERMINAL = ("done", "failed", "cancelled")


def make_csv(agent, n):
    p = agent.dir / f"race{n:02d}.csv"
    with open(p, "w") as f:
        f.write("SKU,Product Name,Price,Stock\n")
        for i in range(ROWS):
            f.write(f"R{i:06d},Линза {i},{n + 1}.{i % 100:02d},{i % 7}\n")
    return p


def test_commands_race_free_while_imports_commit(agent):
    agent.add_profile()
    files = [make_csv(agent, n) for n in range(IMPORTS)]
    stop = threading.Event()
    lock = threading.Lock()
    bad = []              # poller answers that were not a clean document
    counts = {"show": 0, "list": 0, "status": 0, "cancel": 0, "cancelled": 0}
    import_rcs = []
    known = []            # job names seen by the pollers

    def note(kind, r, ok):
        with lock:
            counts[kind] += 1
            if not ok:
                bad.append((kind, r))

    def importer(chunk):
        for f in chunk:
            r = agent.run("import", f, "--profile", "Test", json_out=True)
            with lock:
                import_rcs.append((f.name, r.rc, r))

    def valid(r, typ):
        if r.rc != 0:
            return None
        try:
            doc = json.loads(r.out)
        except ValueError:
            return None
        return doc if isinstance(doc, typ) else None

    def poller(seed):
        rnd = random.Random(seed)
        while not stop.is_set():
            r = agent.run("job", "list", "--limit", "5", json_out=True)
            doc = valid(r, list)
            note("list", r, doc is not None and all("state" in j for j in doc))
            if doc:
                with lock:
                    known.extend(j["name"] for j in doc)
                name = rnd.choice(doc)["name"]
                r = agent.run("job", "show", name, json_out=True)
                doc = valid(r, dict)
                note("show", r, doc is not None and doc.get("name") == name
                     and doc.get("state") in ("draft", "running") + TERMINAL)
            r = agent.run("status", json_out=True)
            note("status", r, valid(r, dict) is not None)

    def canceller():
        rnd = random.Random(7)
        while not stop.is_set():
            r = agent.run("job", "list", "--state", "running", json_out=True)
            doc = valid(r, list)
            if not doc:
                time.sleep(0.05)   # nothing running: pace the loop
                continue
            if rnd.random() < 0.5:  # leave about half of them alone
                time.sleep(0.2)
                continue
            r = agent.run("job", "cancel", doc[0]["name"], json_out=True)
            with lock:
                counts["cancel"] += 1
            # cancelled (0), or it finished first (64: "is done").
            if r.rc == 0:
                with lock:
                    counts["cancelled"] += 1
            elif r.rc != 64:
                with lock:
                    bad.append(("cancel", r))

    t0 = time.monotonic()
    importers = [threading.Thread(target=importer, args=(files[i::2],))
                 for i in range(2)]
    others = [threading.Thread(target=poller, args=(s,)) for s in range(4)]
    others.append(threading.Thread(target=canceller))
    for t in importers + others:
        t.start()
    for t in importers:
        t.join()
    stop.set()
    for t in others:
        t.join()
    elapsed = time.monotonic() - t0

    assert not bad, bad[:5]
    assert len(import_rcs) == IMPORTS
    for name, rc, r in import_rcs:
        # done (0) or cancelled by the canceller (65), nothing else.
        assert rc in (0, 65), (name, r)

    db = sqlite3.connect(str(agent.data / "agent.db"))
    try:
        jobs = dict(db.execute("SELECT uuid, state FROM job").fetchall())
        events = [json.loads(d) for (d,) in db.execute(
            "SELECT data FROM outbox WHERE type = 'job' ORDER BY seq")]
        settled = db.execute("SELECT count(*) FROM job_log WHERE message "
                             "LIKE '%settled as%' OR message LIKE "
                             "'%interrupted%'").fetchone()[0]
    finally:
        db.close()
    assert len(jobs) == IMPORTS
    assert all(s in TERMINAL for s in jobs.values()), jobs
    terminal = {}
    for e in events:
        if e["state"] in TERMINAL:
            terminal.setdefault(e["uuid"], []).append(e["state"])
    for uuid, state in jobs.items():
        assert terminal.get(uuid) == [state], (uuid, state, terminal.get(uuid))
    assert settled == 0
    states = list(jobs.values())
    print(f"race: {IMPORTS} imports in {elapsed:.1f} s; polls: "
          f"{counts['show']} show, {counts['list']} list, {counts['status']} "
          f"status, all exit 0; cancels tried {counts['cancel']}, "
          f"succeeded {counts['cancelled']}; states: "
          f"{states.count('done')} done, {states.count('cancelled')} cancelled, "
          f"{states.count('failed')} failed")

"""A daemon systemd can trust (issue #8 §2): the watchdog is never starved
by an import, SIGHUP reloads the config (a bad one is refused and the old
one kept), SIGTERM logs a stop line, STATUS= says what it is doing."""
import os
import signal
import socket
import subprocess
import threading
import time

from conftest import BIN
from fx_hq import wait_for
from fx_kkt import use_kkt


def big_csv(path, rows):
    with open(path, "w") as f:
        f.write("SKU,Product Name,Price,Stock\n")
        for i in range(rows):
            f.write(f"W{i:07d},Линза {i},{i % 9000 + 100}.50,{i % 50}\n")


class Notify:
    """A NOTIFY_SOCKET that records (monotonic time, message)."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.lock = threading.Lock()
        self.done = False
        self.t = threading.Thread(target=self._run)
        self.t.start()

    def _run(self):
        while not self.done:
            try:
                m = self.sock.recv(512).decode()
            except socket.timeout:
                continue
            with self.lock:
                self.msgs.append((time.monotonic(), m))

    def seen(self, pred):
        with self.lock:
            return [m for _, m in self.msgs if pred(m)]

    def close(self):
        self.done = True
        self.t.join()
        self.sock.close()


class Daemon:
    def __init__(self, agent, env=None):
        self.log = agent.dir / "daemon.log"
        e = dict(os.environ)
        e.update(env or {})
        self.f = open(self.log, "w")
        self.p = subprocess.Popen([BIN, "-c", str(agent.conf_path), "run"],
                                  stdout=self.f, stderr=self.f, env=e)
        wait_for(lambda: "serving" in self.text(), what="daemon ready")

    def text(self):
        return self.log.read_text()

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        rc = self.p.wait(timeout=120)
        self.f.close()
        return rc

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.f.close()


def test_watchdog_pings_through_a_large_import(agent, tmp_path):
    agent.add_profile(file_pattern="*.csv")
    inbox = agent.data / "inbox"
    inbox.mkdir(parents=True)
    n = Notify(tmp_path / "notify.sock")
    d = Daemon(agent, {"NOTIFY_SOCKET": n.path, "WATCHDOG_USEC": "2000000"})
    try:
        big_csv(tmp_path / "big.csv.part", 200000)
        t0 = time.monotonic()
        os.rename(tmp_path / "big.csv.part", inbox / "big.csv")
        wait_for(lambda: (agent.data / "archive" / "big.csv").exists(),
                 timeout=600, what="the import to finish")
        t1 = time.monotonic()
        # Back to idle once the file is archived (a STATUS= event).
        wait_for(lambda: n.seen(lambda m: m.startswith("STATUS="))[-1] ==
                 "STATUS=idle", what="STATUS=idle after the import")
        assert d.stop() == 0
    finally:
        d.kill()
        n.close()
    pings = [t for t, m in n.msgs if m == "WATCHDOG=1" and t0 <= t <= t1]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    print(f"watchdog: import {t1 - t0:.1f} s, {len(pings)} pings, longest "
          f"gap {max(gaps):.3f} s (WATCHDOG_USEC 2 s)")
    # Pings every 500 ms; systemd kills at 2 s. Only the bound systemd
    # itself applies is asserted (a loaded machine may delay a ping; the
    # main loop alone pinged once per import, seconds apart).
    assert max(gaps) < 2.0, max(gaps)
    statuses = n.seen(lambda m: m.startswith("STATUS="))
    assert any(s.startswith("STATUS=importing big.csv at ") for s in statuses), statuses
    assert n.seen(lambda m: m == "STOPPING=1")


def test_sighup_reloads_config_and_refuses_a_bad_one(agent, tmp_path, kkt_peer):
    agent.add_profile(file_pattern="*.csv")
    inbox = agent.data / "inbox"
    inbox.mkdir(parents=True)
    n = Notify(tmp_path / "notify.sock")
    d = Daemon(agent, {"NOTIFY_SOCKET": n.path})
    try:
        # A bad config: refused, the daemon goes on with the old one.
        good = agent.conf_path.read_text()
        agent.conf_path.write_text(good + "[kkt]\nbackend = martian\n")
        d.p.send_signal(signal.SIGHUP)
        wait_for(lambda: "new configuration refused" in d.text(), what="refusal")
        assert d.p.poll() is None
        (tmp_path / "a.csv.part").write_text("SKU,Product Name,Price,Stock\nA1,x,1.00,1\n")
        os.rename(tmp_path / "a.csv.part", inbox / "a.csv")
        wait_for(lambda: (agent.data / "archive" / "a.csv").exists(), what="import")
        # A good one takes effect: the gate now asks the adapter, which
        # has unsent receipts, so the next file waits for KKT.
        kkt_peer.set("pending", pending=3)
        use_kkt(agent, kkt_peer.url)
        d.p.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in d.text(), what="reload")
        (tmp_path / "b.csv.part").write_text("SKU,Product Name,Price,Stock\nB1,y,2.00,1\n")
        os.rename(tmp_path / "b.csv.part", inbox / "b.csv")
        wait_for(lambda: n.seen(lambda m: m.startswith("STATUS=waiting for KKT")),
                 what="STATUS waiting for KKT")
        assert "STATUS=waiting for KKT (3 receipts unsent)" in n.seen(lambda m: True)
        assert (inbox / "b.csv").exists()
        assert d.stop(signal.SIGINT) == 0
    finally:
        d.kill()
        n.close()
    assert "stopping on SIGINT" in d.text()


def test_sigterm_logs_a_stop_line(agent):
    d = Daemon(agent)
    try:
        assert d.stop() == 0
    finally:
        d.kill()
    assert "stopping on SIGTERM" in d.text()

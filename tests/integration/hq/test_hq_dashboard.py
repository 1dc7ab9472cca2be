"""The fleet dashboard in a real browser (issue #14).

Real `posagent` agents sync over TLS to a real `posagent-hq`; headless
Chromium (Debian's `chromium` + `chromium-driver`, installed by `make deps`)
loads the page that posagent-hq serves under its Content-Security-Policy,
and is driven through chromedriver's W3C WebDriver HTTP API with urllib (no
PyPI). The test waits on the page (polls the DOM), never on fixed sleeps.
Screenshots are kept under build/test-artifacts/ and their paths printed.

Skips only when the chromium or chromedriver binary is missing, and says
so loudly (a warning in pytest's summary).
"""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import warnings

import pytest

import certs as _certs
from fx_kkt import start_kkt_peer, stop_kkt_peer

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.environ.get("POSAGENT_BIN", os.path.join(TOP, "build", "host-san", "posagent"))
HQ_BIN = os.environ.get("POSAGENT_HQ_BIN",
                        os.path.join(TOP, "build", "host-san", "posagent-hq"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = os.path.join(TOP, "build", "test-artifacts")
XSS = '<img src=x onerror="window.__xss=1">'

_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _wait(pred, what, timeout=60):
    """Poll pred() until it is true; the timeout only bounds a broken run."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# --- a minimal W3C WebDriver client --------------------------------------------

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"   # the W3C element key


class WebDriverError(Exception):
    pass


class Browser:
    """chromedriver + headless Chromium with a throw-away profile."""

    def __init__(self, workdir, spki_pin):
        self.workdir = str(workdir)
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=self.workdir)
        self.log_path = os.path.join(self.workdir, "chromedriver.log")
        self.sid = None
        self.proc = subprocess.Popen(
            [CHROMEDRIVER, "--port=0", "--log-path=" + self.log_path],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        port = None
        for line in self.proc.stdout:          # ends when chromedriver says where it is
            m = re.search(r"started successfully on port (\d+)", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            self.proc.kill()
            self.proc.wait()
            raise WebDriverError(f"chromedriver did not start; see {self.log_path}")
        self.base = f"http://127.0.0.1:{port}"
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-proxy-server",
                "--disable-dev-shm-usage", "--window-size=1366,900",
                "--lang=en-US", "--user-data-dir=" + self.profile,
                # Trust exactly the test server's key (its SPKI hash), not
                # every certificate: the throw-away CA is not in any store.
                "--ignore-certificate-errors-spki-list=" + spki_pin]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"}}}}
        try:
            self.sid = self._call("POST", "/session", caps)["sessionId"]
        except Exception:
            self.quit()
            raise

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with _direct.open(req, timeout=120) as r:
                return json.loads(r.read().decode()).get("value")
        except urllib.error.HTTPError as e:
            v = json.loads(e.read().decode() or "{}").get("value", {})
            raise WebDriverError(f"{method} {path}: {v.get('error')}: "
                                 f"{str(v.get('message', ''))[:400]}") from None

    def _s(self, method, path, body=None):
        return self._call(method, f"/session/{self.sid}{path}", body)

    def get(self, url):
        self._s("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self._s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self._s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css):
        self._s("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text):
        self._s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def clear(self, css):
        self._s("POST", f"/element/{self.find(css)}/clear", {})

    def text(self, css):
        return self.js("var e = document.querySelector(arguments[0]);"
                       "return e ? e.innerText : null;", css)

    def wait(self, script, what, *args, timeout=60):
        return _wait(lambda: self.js(script, *args), what, timeout)

    def resize(self, width, height):
        self._s("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(self._s("GET", "/screenshot")))
        print(f"\nscreenshot: {path}")
        return path

    def console(self):
        """The browser console so far (chromedriver's log endpoint)."""
        try:
            return self._s("POST", "/se/log", {"type": "browser"}) or []
        except WebDriverError:
            return []

    def quit(self):
        if self.sid:
            try:
                self._call("DELETE", f"/session/{self.sid}")
            except Exception:
                pass
            self.sid = None
        self.proc.kill()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)


# --- posagent-hq and its stores -----------------------------------------------

class Hq:
    def __init__(self, workdir, pki):
        self.dir = str(workdir)
        self.db = os.path.join(self.dir, "hq.db")
        self.pki = pki
        self.proc = None

    def cli(self, *args):
        p = subprocess.run([HQ_BIN, *args, "--db", self.db], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p.stdout

    def start(self):
        self.err_path = os.path.join(self.dir, "hq.stderr")
        out_path = os.path.join(self.dir, "hq.stdout")
        with open(self.err_path, "w") as err, open(out_path, "w") as out:
            self.proc = subprocess.Popen(
                [HQ_BIN, "serve", "--listen", "127.0.0.1:0", "--db", self.db,
                 "--cert", self.pki["server"], "--key", self.pki["server_key"],
                 "--client-ca", self.pki["ca"]],
                stdout=out, stderr=err)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"posagent-hq exited {self.proc.returncode}; "
                                     f"see {self.err_path}")
            with open(out_path) as f:
                m = re.search(r"listening on https://\S+:(\d+)", f.read())
            return m and int(m.group(1))
        self.port = _wait(ready, "posagent-hq to listen")
        self.url = f"https://localhost:{self.port}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def api(self, path, token):
        req = urllib.request.Request(self.url + path,
                                     headers={"Authorization": f"Bearer {token}"})
        import ssl
        ctx = ssl.create_default_context(cafile=self.pki["ca"])
        with urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx)).open(
                req, timeout=30) as r:
            return json.loads(r.read().decode())


class Store:
    """One store's terminal: the posagent binary with its own data dir."""

    def __init__(self, d, store_id, hq, kkt=None):
        self.dir = d
        token_file = str(d / "hq.token")
        hq.cli("agent", "add", store_id, "--token-file", token_file)
        kkt_conf = "backend = none\n" if kkt is None else \
            f"backend = opticserp\nurl = {kkt.url}\ntimeout_ms = 2000\n"
        self.conf = d / "posagent.conf"
        self.conf.write_text(
            f"[agent]\nid = {store_id}\ndata_dir = {d / 'var'}\n\n[kkt]\n{kkt_conf}\n"
            f"[hq]\nurl = {hq.url}\nca_file = {hq.pki['ca']}\ntoken_file = {token_file}\n"
            "heartbeat_s = 30\ntimeout_ms = 10000\n")
        self.ok("init")

    def run(self, *args):
        return subprocess.run([BIN, "-c", str(self.conf), *map(str, args)],
                              capture_output=True, text=True, timeout=120)

    def ok(self, *args):
        p = self.run(*args)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p

    def import_csv(self, name, rows, max_error_percent=None):
        prof = {"name": "Test", "supplier_code": "TST", "file_format": "csv_utf8",
                "csv_delimiter": ",", "header_row": 1, "data_start_row": 2,
                "upsert_field": "default_code", "create_missing": True,
                "update_existing": True,
                "column_mapping": {"default_code": "SKU", "name": "Product Name",
                                   "list_price": "Price", "qty_available": "Stock"}}
        if max_error_percent is not None:
            prof["max_error_percent"] = max_error_percent
        pf = self.dir / "profile.json"
        if not pf.exists():
            pf.write_text(json.dumps(prof))
            self.ok("profile", "add", pf)
        f = self.dir / name
        f.write_text("\n".join(["SKU,Product Name,Price,Stock"] +
                               [",".join(r) for r in rows]) + "\n", encoding="utf-8")
        p = self.run("--json", "import", f, "--profile", "Test")
        return p.returncode, (json.loads(p.stdout) if p.stdout.strip() else None), p


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """posagent-hq with four stores: one fine, one whose import failed on
    its data, one whose KKT holds unsent receipts (imports refused), and
    one registered that never reported."""
    if not CHROMIUM or not CHROMEDRIVER:
        missing = " and ".join(n for n, p in (("chromium", CHROMIUM),
                                              ("chromedriver", CHROMEDRIVER)) if not p)
        msg = (f"!!! DASHBOARD BROWSER TEST SKIPPED: {missing} not installed. "
               "Run `make deps` (installs Debian's chromium and chromium-driver). !!!")
        warnings.warn(msg)
        pytest.skip(msg)
    assert os.path.exists(HQ_BIN), f"{HQ_BIN} not built"
    base = tmp_path_factory.mktemp("dashboard")
    pki = _certs.make(base / "pki")
    hq = Hq(base, pki)
    kkt = None
    try:
        hq.start()
        token = hq.cli("operator", "add", "dash-test").strip().split()[-1]
        kkt_dir = base / "kkt"
        kkt_dir.mkdir()
        kkt = start_kkt_peer(kkt_dir)

        def store(store_id, kkt=None):
            d = base / store_id
            d.mkdir()
            return Store(d, store_id, hq, kkt)

        ok = store("store-ok-01")
        rc, job, r = ok.import_csv("essilor_ok.csv", [
            ("ESS-1", "Lens 1.5", "1000.00", "3"), ("ESS-2", "Lens 1.6", "1500.50", "2")])
        assert rc == 0 and job["state"] == "done", r

        bad = store("store-failed-02")
        rc, failed_job, r = bad.import_csv("zeiss_bad.csv", [
            ("ZS-1", "Lens 1.5", "1000.00", "3"),
            ("ZS-2", XSS, "12 000 руб.", "1"),
            ("", "No key", "10", "1")], max_error_percent=10)
        assert rc == 65 and failed_job["state"] == "failed", r

        gated = store("store-kkt-03", kkt)
        kkt.set("pending", pending=3)
        rc, _, r = gated.import_csv("hoya.csv", [("HY-1", "Lens", "10", "1")])
        assert rc == 75, r

        silent = store("store-silent-04")

        for a in (ok, bad, gated):
            a.ok("sync", "--once")
        yield {"hq": hq, "token": token, "failed_job": failed_job, "silent": silent,
               "ok": ok, "dir": base}
    finally:
        if kkt:
            stop_kkt_peer(kkt)
        hq.stop()


@pytest.fixture(scope="module")
def browser(fleet):
    b = Browser(fleet["dir"], _certs.pin_of_key(fleet["hq"].pki["server_key"])
                .split("//", 1)[1])
    try:
        yield b
    finally:
        b.quit()


ROWS = "return Array.from(document.querySelectorAll('#fleet-body tr[data-agent]'))" \
       ".map(function (r) { return r.getAttribute('data-agent'); });"


def test_dashboard_shows_the_fleet_and_reaches_a_jobs_error_rows(fleet, browser):
    b, hq = browser, fleet["hq"]
    b.get(f"{hq.url}/#token={fleet['token']}")
    ids = b.wait("var r = " + ROWS[7:] + " return r.length == 4 ? r : null;",
                 "the four stores in the fleet table")
    assert sorted(ids) == ["store-failed-02", "store-kkt-03", "store-ok-01",
                           "store-silent-04"]
    # The token left the address bar and lives in the tab's session storage.
    assert b.js("return location.hash") == "#/"
    assert b.js("return sessionStorage.getItem('posagent-hq.token')") == fleet["token"]

    def row(i):
        return b.js("var r = document.querySelector('#fleet-body tr[data-agent=\"' + "
                    "arguments[0] + '\"]'); return {cls: r.className, "
                    "online: r.getAttribute('data-online'), text: r.innerText};", i)
    silent, gated, bad, ok = (row("store-silent-04"), row("store-kkt-03"),
                              row("store-failed-02"), row("store-ok-01"))
    assert "row-off" in silent["cls"] and silent["online"] == "0", silent
    assert "Never reported" in silent["text"], silent
    assert "row-gate" in gated["cls"] and gated["online"] == "1", gated
    assert "3 receipts unsent" in gated["text"] and "Blocked by KKT" in gated["text"], gated
    assert "row-fail" in bad["cls"], bad
    assert fleet["failed_job"]["name"] in bad["text"], bad
    assert "row-off" not in ok["cls"] and "row-gate" not in ok["cls"] and \
        "row-fail" not in ok["cls"], ok
    assert "Online" in ok["text"] and "All sent" in ok["text"], ok
    summary = b.text("#fleet-summary")
    assert "4 stores" in summary and "1 offline" in summary, summary
    b.screenshot(os.path.join(ARTIFACTS, "hq-dashboard-fleet.png"))

    # The filter box and a sortable column.
    b.type("#fleet-filter", "offline")
    b.wait(ROWS[:-1] + ".join(',') == 'store-silent-04';", "the filter to keep the offline store")
    b.clear("#fleet-filter")
    b.wait(ROWS[:-1] + ".length == 4;", "the filter to be cleared")
    b.click("#fleet-head th[data-key='id']")
    assert b.js(ROWS) == sorted(ids)
    b.click("#fleet-head th[data-key='id']")
    assert b.js(ROWS) == sorted(ids, reverse=True)

    # Click the store whose import failed: its jobs.
    b.click("#fleet-body tr[data-agent='store-failed-02'] td.c-kkt")
    uuid = fleet["failed_job"]["uuid"]
    b.wait("return document.body.getAttribute('data-view') == 'store' && "
           "document.querySelector('#jobs-body tr[data-job=\"' + arguments[0] + '\"]');",
           "the store's jobs", uuid)
    assert "Failed" in b.text(f"#jobs-body tr[data-job='{uuid}']")
    # The state and date filters go to HQ (?state=, ?since=) and back.
    choose = ("var e = document.getElementById(arguments[0]); e.value = arguments[1];"
              "e.dispatchEvent(new Event('change'));")
    jobs = "return document.querySelectorAll('#jobs-body tr[data-job]').length"
    b.js(choose, "jobs-state", "done")
    b.wait(jobs + " == 0 && !document.getElementById('jobs-empty').hidden;",
           "no done import at this store")
    b.js(choose, "jobs-state", "failed")
    b.wait(jobs + " == 1;", "the failed import again")
    b.js(choose, "jobs-since", "2099-01-01")
    b.wait(jobs + " == 0;", "no import after 2099")
    b.click("#jobs-clear")
    b.wait(jobs + " == 1;", "the filters cleared")
    assert b.js("return document.getElementById('error').hidden")

    # Click the job: its error rows, with what each row contained.
    b.click(f"#jobs-body tr[data-job='{uuid}'] td.c-file")
    rows = b.wait("var r = Array.from(document.querySelectorAll('#log-body tr.log-row'));"
                  "return document.body.getAttribute('data-view') == 'job' && r.length ? "
                  "r.map(function (x) { return {row: x.getAttribute('data-row'), "
                  "level: x.getAttribute('data-level'), text: x.innerText}; }) : null;",
                  "the job's error rows")
    # The two bad rows (3: the price, 4: no SKU) and the verdict on the file (0).
    assert sorted(r["row"] for r in rows) == ["0", "3", "4"], rows
    assert all(r["level"] == "error" for r in rows), rows
    row3 = [r for r in rows if r["row"] == "3"][0]
    assert "12 000 руб." in row3["text"], rows
    # Data from the API is text, never markup: the row's name shows as typed
    # and its onerror never ran.
    assert XSS in row3["text"], rows
    assert b.js("return window.__xss === undefined && "
                "document.querySelectorAll('#log-body img').length == 0")
    assert "of 1" in b.text(".log-pageinfo") and "3 entries" in b.text(".log-pageinfo")
    b.screenshot(os.path.join(ARTIFACTS, "hq-dashboard-job-errors.png"))
    print(f"dashboard screenshots in {ARTIFACTS}")

    # Back to the fleet; the page refreshes on its own: the silent store
    # reports and turns online without anyone reloading.
    b.get(f"{hq.url}/#/")
    b.wait("return document.querySelector('#fleet-body tr[data-agent=\"store-silent-04\"]"
           "[data-online=\"0\"]') != null;", "the fleet table")
    fleet["silent"].ok("sync", "--once")
    b.wait("return document.querySelector('#fleet-body tr[data-agent=\"store-silent-04\"]"
           "[data-online=\"1\"]') != null;", "the next automatic refresh", timeout=60)

    # Everything above ran under posagent-hq's CSP; nothing was blocked.
    blocked = [e for e in b.console() if "Content Security Policy" in e.get("message", "")]
    assert not blocked, blocked


def test_dashboard_login_form_keeps_the_token_for_the_tab(fleet, browser):
    b, hq = browser, fleet["hq"]
    b.get(f"{hq.url}/#/")
    b.js("sessionStorage.clear(); location.reload();")
    b.wait("return document.body.getAttribute('data-view') == 'login';", "the login form")
    b.type("#token", "pahq_not-a-real-token")
    b.click("#login-submit")
    b.wait("var e = document.getElementById('login-error');"
           "return document.body.getAttribute('data-view') == 'login' && !e.hidden;",
           "the refusal of a wrong token")
    assert "not accept" in b.text("#login-error")
    b.type("#token", fleet["token"])
    b.click("#login-submit")
    b.wait(ROWS[:-1] + ".length == 4;", "the fleet after signing in")
    # A reload in the same tab stays signed in (sessionStorage) ...
    b.js("location.reload();")
    b.wait("return document.readyState == 'complete' && "
           "Number(document.body.getAttribute('data-loaded')) >= 1;", "the reloaded fleet")
    assert b.js("return document.body.getAttribute('data-view')") == "fleet"
    # ... and signing out forgets the token.
    b.click("#signout")
    b.wait("return document.body.getAttribute('data-view') == 'login';", "the login form")
    assert b.js("return sessionStorage.getItem('posagent-hq.token')") is None



def test_dashboard_says_why_the_price_guard_stopped_an_import(fleet, browser):
    """The agent's price guard fails an import whose prices are 100 times the
    catalog's; the job event carries the verdict and the job view says it in
    words (issue #14). Runs last: it gives store-ok-01 a failed import."""
    b, hq = browser, fleet["hq"]
    ok = fleet["ok"]
    rc, job, r = ok.import_csv("essilor_x100.csv", [
        ("ESS-1", "Lens 1.5", "100000.00", "3"), ("ESS-2", "Lens 1.6", "150050.00", "2")])
    assert rc == 65 and job["state"] == "failed", r
    assert job["price_guard"]["verdict"] == "failed", job
    assert job["price_guard"]["likely_cause"] == "x100", job
    ok.ok("sync", "--once")
    # Signed in for this tab (the test before signed out), straight to the job.
    b.get(f"{hq.url}/#/store/store-ok-01/job/{job['uuid']}")
    b.js("sessionStorage.setItem('posagent-hq.token', arguments[0]); location.reload();",
         fleet["token"])
    g = b.wait("var e = document.getElementById('job-price-guard');"
               "return document.body.getAttribute('data-view') == 'job' && e ? "
               "{verdict: e.getAttribute('data-verdict'), cls: e.className, "
               "text: e.innerText} : null;", "the job's price check")
    assert g["verdict"] == "failed" and "t-bad" in g["cls"], g
    assert g["text"].startswith("Stopped the import: 2 of 2 known products would "
                                "change price by more than 50 %"), g
    assert "100 times too high" in g["text"], g
    assert "The catalog was not changed." in g["text"], g
    assert "Price check" in b.text("#job-facts")
    b.screenshot(os.path.join(ARTIFACTS, "hq-dashboard-price-guard.png"))

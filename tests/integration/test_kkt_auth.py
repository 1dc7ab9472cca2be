"""[kkt] user and password_file: HTTP Basic authentication for an ATOL web
server (or an adapter) that asks for it (DESIGN §9, issue #10). A 401 or
403 has its own message and exits 78, never "unreachable"."""
import json
import os

import pytest

from conftest import FIXTURES
from fx_kkt import use_kkt

BACKENDS = ["opticserp", "atol"]
USER = "kassir"
PASSWORD = "s3cret-Пароль"
SEED = os.path.join(FIXTURES, "uat03", "supplier_price_list.csv")


def with_credentials(agent, url, backend, password=PASSWORD, mode=0o600):
    use_kkt(agent, url, backend)
    pw = agent.dir / "kkt.password"
    pw.write_text(password + "\n", encoding="utf-8")
    os.chmod(pw, mode)
    agent.conf["kkt"]["user"] = USER
    agent.conf["kkt"]["password_file"] = str(pw)
    agent.write_conf()


def kkt_status(agent):
    r = agent.run("kkt", "status", json_out=True)
    return r.rc, json.loads(r.out) if r.out.strip() else None, r


@pytest.mark.parametrize("backend", BACKENDS)
def test_credentials_are_sent_and_accepted(agent, kkt_peer, backend):
    with_credentials(agent, kkt_peer.url, backend)
    kkt_peer.set("synced", auth_user=USER, auth_password=PASSWORD)
    rc, doc, r = kkt_status(agent)
    assert rc == 0, r
    assert doc["verdict"] == "synced"
    assert kkt_peer.hits("auth_ok") >= 1
    assert kkt_peer.hits("auth_refused") == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_adapter_wanting_credentials_exits_78_with_its_own_message(agent, kkt_peer, backend):
    use_kkt(agent, kkt_peer.url, backend)
    kkt_peer.set("synced", auth_user=USER, auth_password=PASSWORD)
    rc, doc, r = kkt_status(agent)
    assert rc == 78, r
    assert doc["verdict"] == "config_error"
    assert doc["reachable"] is False and doc["synced"] is False
    assert doc["reason"].startswith(
        "the KKT adapter wants credentials: set [kkt] user and password_file (HTTP 401")
    assert "unreachable" not in doc["reason"]
    assert doc["reason"] in r.err


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fail_status", [401, 403])
def test_wrong_password_exits_78_naming_the_user(agent, kkt_peer, backend, fail_status):
    with_credentials(agent, kkt_peer.url, backend, password="wrong")
    kkt_peer.set("synced", auth_user=USER, auth_password=PASSWORD,
                 auth_fail_status=fail_status)
    rc, doc, r = kkt_status(agent)
    assert rc == 78, r
    assert f"refused the credentials of [kkt] user '{USER}' (HTTP {fail_status}" in doc["reason"]
    assert "wrong" not in r.out + r.err         # the password is never shown


def test_password_file_readable_by_others_is_refused(agent, kkt_peer):
    with_credentials(agent, kkt_peer.url, "atol", mode=0o644)
    r = agent.run("kkt", "status")
    assert r.rc == 78, r
    assert "password_file" in r.err and "chmod 600" in r.err
    assert kkt_peer.hits("atol_post") == 0


def test_user_without_password_file_is_a_configuration_error(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url, "atol")
    agent.conf["kkt"]["user"] = USER
    agent.write_conf()
    rc, doc, r = kkt_status(agent)
    assert rc == 78, r
    assert "[kkt] user and password_file go together" in doc["reason"]


def test_multi_line_password_file_is_refused(agent, kkt_peer):
    with_credentials(agent, kkt_peer.url, "atol", password="a\nb")
    rc, doc, r = kkt_status(agent)
    assert rc == 78, r
    assert "one line" in doc["reason"]


def test_import_refused_for_credentials_stays_draft_exit_78(agent, kkt_peer):
    use_kkt(agent, kkt_peer.url, "atol")
    kkt_peer.set("synced", auth_user=USER, auth_password=PASSWORD)
    r = agent.run("import", SEED, "--profile", agent.add_profile())
    assert r.rc == 78, r
    rc, job, r2 = agent.jrun("job", "show", "IMP/00001")
    assert rc == 0 and job["state"] == "draft", r2
    log = agent.jrun("log", "IMP/00001")[1]["entries"]
    assert [e["level"] for e in log] == ["warning"]
    assert "wants credentials" in log[0]["message"]
    with_credentials(agent, kkt_peer.url, "atol")
    r = agent.run("job", "run", "IMP/00001")
    assert r.rc == 0, r

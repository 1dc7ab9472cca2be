"""The configuration table drives the sample file: they never drift."""
import os
import subprocess

from conftest import BIN, TOP


def test_packaged_sample_matches_the_config_table():
    out = subprocess.run([BIN, "--help", "config"], capture_output=True, text=True).stdout
    with open(os.path.join(TOP, "packaging", "posagent.conf.sample")) as f:
        assert out == f.read(), "regenerate: posagent --help config > packaging/posagent.conf.sample"


def test_sample_config_loads(tmp_path):
    out = subprocess.run([BIN, "--help", "config"], capture_output=True, text=True).stdout
    conf = tmp_path / "c.conf"
    conf.write_text(out.replace("data_dir = /var/lib/posagent", f"data_dir = {tmp_path}/var")
                    .replace("#id = \n", "id = store-test-001\n")
                    .replace("#backend = opticserp", "backend = none"))
    r = subprocess.run([BIN, "-c", str(conf), "init"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# --- issue #9 item 6 and weak spots: what -c accepts ---

def _posagent(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_config_that_is_a_directory_is_refused(tmp_path):
    """It was read as an empty config: id store-0001, /var/lib/posagent."""
    r = _posagent("-c", tmp_path, "job", "list")
    assert r.returncode == 78, r
    assert "is a directory" in r.stderr and str(tmp_path) in r.stderr


def test_config_that_is_a_fifo_is_refused_not_read(tmp_path):
    fifo = tmp_path / "conf.fifo"
    os.mkfifo(fifo)
    r = _posagent("-c", fifo, "job", "list")      # used to hang here
    assert r.returncode == 78, r
    assert "not a regular file" in r.stderr


def test_config_dev_zero_is_refused():
    r = _posagent("-c", "/dev/zero", "job", "list")
    assert r.returncode == 78, r
    assert "not a regular file" in r.stderr


def test_config_too_large_is_refused(tmp_path):
    conf = tmp_path / "big.conf"
    conf.write_text("# padding\n" * 40000)
    r = _posagent("-c", conf, "job", "list")
    assert r.returncode == 78, r
    assert "too large" in r.stderr


def test_duplicate_config_key_is_refused(agent):
    """A later `backend = none` silently turned the KKT gate off."""
    agent.conf["kkt"] = {"backend": "opticserp"}
    agent.write_conf()
    with open(agent.conf_path, "a") as f:
        f.write("[kkt]\nbackend = none\n")
    r = agent.run("job", "list")
    assert r.rc == 78, r
    assert "[kkt] backend is set twice (lines 5 and 8)" in r.err, r


def test_unreadable_config_is_a_permission_problem(agent):
    agent.conf_path.chmod(0)
    r = agent.run("job", "list", as_user=True)
    assert r.rc == 77, r
    assert "permission denied" in r.err and str(agent.conf_path) in r.err


def test_unknown_config_key_names_file_and_line(agent):
    with open(agent.conf_path, "a") as f:
        f.write("[kkt]\nbackedn = none\n")
    r = agent.run("job", "list")
    assert r.rc == 78, r
    assert f"{agent.conf_path}:8: unknown setting [kkt] backedn" in r.err

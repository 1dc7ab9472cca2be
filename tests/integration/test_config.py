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
                    .replace("#backend = opticserp", "backend = none"))
    r = subprocess.run([BIN, "-c", str(conf), "init"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

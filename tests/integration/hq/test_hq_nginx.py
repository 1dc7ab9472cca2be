"""posagent-hq behind nginx (docs/hq.md, "Behind nginx"): nginx terminates
TLS and verifies the client certificate, posagent-hq --behind-proxy listens
on loopback and takes the identity from the headers nginx sets. The config
here is the one the documentation gives, with test paths."""
import os
import shutil
import socket
import subprocess
import time

from fx_hq import outbox_rows, use_hq
from fx_hqd import AGENT_ID, add_agent, run_hq, start_hqd_proxy, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;

    upstream posagent_hq {{
        server 127.0.0.1:{hq_port};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        # Ask for a store's certificate, do not require one: the dashboard
        # is for browsers without one.
        ssl_client_certificate {ca};
        ssl_verify_client optional;
        ssl_verify_depth 2;
        client_max_body_size 7m;

        location / {{
            proxy_pass http://posagent_hq;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            # Always set: a client cannot send its own.
            proxy_set_header X-Client-Verify $ssl_client_verify;
            proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""


class Nginx:
    def __init__(self, workdir, pki, hq_port):
        self.dir = os.path.join(str(workdir), "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(d=self.dir, hq_port=hq_port, port=self.port,
                                cert=pki["server"], key=pki["server_key"], ca=pki["ca"]))
        self.proc = subprocess.Popen([NGINX, "-c", conf, "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while True:  # ready when it accepts a connection
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert self.proc.poll() is None, self.proc.stderr.read()
                assert time.monotonic() < deadline, "nginx did not listen"
                time.sleep(0.02)
        self.url = f"https://localhost:{self.port}"

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def test_agent_through_nginx(agent, tmp_path, hq_db, hq_pki):
    add_agent(hq_db)
    add_agent(hq_db, "store-test-002")
    srv = start_hqd_proxy(tmp_path, hq_db)
    ngx = Nginx(tmp_path, hq_pki, srv.port)
    try:
        use_hq(agent, ngx, hq_pki, cert_file=hq_pki["client"], key_file=hq_pki["client_key"])
        agent.add_profile()
        f = agent.dir / "list.csv"
        f.write_text("SKU,Product Name,Price,Stock\nA1,Lens,100,1\n")
        assert agent.run("import", f, "--profile", "Test").rc == 0
        r = agent.run("sync", "--once")
        assert r.rc == 0, r
        assert outbox_rows(agent) == []
        assert hq_db.count("hq_event") > 0
        assert hq_db.count("hq_job") == 1
        n = hq_db.count("hq_event")
        # The same certificate as another store: refused through the proxy too.
        agent.conf["agent"]["id"] = "store-test-002"
        agent.write_conf()
        f2 = agent.dir / "list2.csv"
        f2.write_text("SKU,Product Name,Price,Stock\nA2,Lens,100,1\n")
        assert agent.run("import", f2, "--profile", "Test").rc == 0
        r = agent.run("sync", "--once")
        assert r.rc != 0 and "HTTP 403" in r.err + r.out, r
        assert hq_db.count("hq_event") == n
        assert "credentials are not those of agent store-test-002" in srv.stderr()
        assert "(via proxy)" in srv.stderr()
    finally:
        ngx.stop()
        srv.stop()


def test_behind_proxy_listens_on_loopback_only(tmp_path):
    r = run_hq("serve", "--behind-proxy", "--listen", "0.0.0.0:0",
               "--db", tmp_path / "h.db")
    assert r.returncode == 64 and "loopback" in r.stderr, r.stderr
    r = run_hq("serve", "--behind-proxy", "--listen", "127.0.0.1:0",
               "--db", tmp_path / "h.db", "--cert", "x")
    assert r.returncode == 64 and "drop --cert" in r.stderr, r.stderr

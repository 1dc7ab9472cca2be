"""Test PKI for the HQ peer, made at test time with the openssl CLI (nothing
is committed). Keys are EC P-256: fast to generate, ECDHE-ECDSA over TLS 1.2
and 1.3.

    make(dir) -> dict of paths and pins:
      ca, ca_key               the CA the agent trusts (ca_file)
      server, server_key       CN localhost, SAN localhost, IP 127.0.0.1 and ::1, signed by ca
      wronghost, wronghost_key SAN hq.other.example and IP 127.0.0.2, signed by ca
      otherca                  a second CA nobody trusts
      rogue, rogue_key         CN/SAN localhost, signed by otherca
      client, client_key       client certificate (mTLS), signed by ca
      pin_server               sha256//... of server's public key
      pin_other                sha256//... of some other key

The agent reaches the peer as https://localhost:PORT or, to test IP-address
SANs (mbedTLS 3.6), https://127.0.0.1:PORT.

Run as a script to create a directory by hand: certs.py DIR
"""
import base64
import hashlib
import os
import subprocess
import sys

OPENSSL = "openssl"


def _run(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _key(name, d):
    _run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-out", name, cwd=d)
    os.chmod(os.path.join(d, name), 0o600)


def _ca(name, cn, d):
    _key(name + ".key", d)
    _run("req", "-x509", "-new", "-key", name + ".key", "-out", name + ".pem",
         "-days", "30", "-subj", "/CN=" + cn,
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _leaf(name, cn, san, ca, d, client=False):
    _key(name + ".key", d)
    _run("req", "-new", "-key", name + ".key", "-out", name + ".csr",
         "-subj", "/CN=" + cn, cwd=d)
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n")
        f.write("keyUsage=critical,digitalSignature,keyAgreement\n")
        f.write("extendedKeyUsage=%s\n" % ("clientAuth" if client else "serverAuth"))
        if san:
            f.write("subjectAltName=%s\n" % san)
    _run("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
         "-CAkey", ca + ".key", "-CAcreateserial", "-out", name + ".pem",
         "-days", "30", "-extfile", ext, cwd=d)


def pin_of_key(key_path):
    """sha256//BASE64 of the DER SubjectPublicKeyInfo, as CURLOPT_PINNEDPUBLICKEY wants."""
    der = subprocess.run([OPENSSL, "pkey", "-in", key_path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def make(d):
    d = str(d)
    os.makedirs(d, exist_ok=True)
    _ca("ca", "posagent test CA", d)
    _ca("otherca", "somebody else's CA", d)
    _leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1,IP:::1", "ca", d)
    _leaf("wronghost", "hq.other.example", "DNS:hq.other.example,IP:127.0.0.2", "ca", d)
    _leaf("rogue", "localhost", "DNS:localhost", "otherca", d)
    _leaf("client", "store-test-001", None, "ca", d, client=True)
    _key("other.key", d)
    p = lambda n: os.path.join(d, n)
    return {
        "dir": d,
        "ca": p("ca.pem"), "ca_key": p("ca.key"),
        "otherca": p("otherca.pem"),
        "server": p("server.pem"), "server_key": p("server.key"),
        "wronghost": p("wronghost.pem"), "wronghost_key": p("wronghost.key"),
        "rogue": p("rogue.pem"), "rogue_key": p("rogue.key"),
        "client": p("client.pem"), "client_key": p("client.key"),
        "pin_server": pin_of_key(p("server.key")),
        "pin_other": pin_of_key(p("other.key")),
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: certs.py DIR")
    for k, v in make(sys.argv[1]).items():
        print(f"{k} = {v}")

"""TLS to HQ (DESIGN §7): verification always on, and a refusal says which
check failed — the CA, the host name or address, or the pin. mTLS with a
client certificate. TLS 1.2 and 1.3 (mbedTLS 3.6); HQ by name or by IP
address (IP SANs). A failed handshake names the alert HQ sent."""
import shutil

from fx_hq import outbox_rows, seed_events, start_hq, stop_hq, use_hq


def test_certificate_from_another_ca_is_refused(agent, hq, hq_certs):
    hq.tls(hq_certs["rogue"], hq_certs["rogue_key"])
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 3)
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert f"certificate not trusted by ca_file {hq_certs['ca']}" in r.err
    assert len(outbox_rows(agent)) == 3
    assert hq.stats()["stored"] == 0


def test_certificate_for_another_host_is_refused(agent, hq, hq_certs):
    hq.tls(hq_certs["wronghost"], hq_certs["wronghost_key"])
    use_hq(agent, hq, hq_certs)
    seed_events(agent, 3)
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "certificate is for another host" in r.err
    assert hq.stats()["stored"] == 0


def test_pin_mismatch_is_refused(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, pin=hq_certs["pin_other"])
    seed_events(agent, 3)
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "public key does not match pin" in r.err
    assert hq.stats()["stored"] == 0


def test_matching_pin_is_accepted(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, pin=hq_certs["pin_server"])
    seqs = seed_events(agent, 3)
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    assert [e["seq"] for e in hq.events()] == seqs


def test_bad_pin_syntax_is_a_config_error(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, pin="sha256//nope")
    r = agent.run("sync", "--once")
    assert r.rc == 78, r
    assert "[hq] pin" in r.err


def test_https_without_ca_file_is_a_config_error(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    del agent.conf["hq"]["ca_file"]
    agent.write_conf()
    r = agent.run("sync", "--once")
    assert r.rc == 78, r
    assert "[hq] ca_file is required" in r.err


def test_unreadable_ca_file_is_a_config_error(agent, hq, hq_certs, tmp_path):
    use_hq(agent, hq, hq_certs, ca_file=str(tmp_path / "missing-ca.pem"))
    seed_events(agent, 1)
    r = agent.run("sync", "--once")
    assert r.rc == 78, r
    assert "missing-ca.pem" in r.err


def _by_ip(agent, hq):
    agent.conf["hq"]["url"] = f"https://127.0.0.1:{hq.port}"
    agent.write_conf()


def test_ip_address_url_verifies_against_the_ip_san(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs)
    _by_ip(agent, hq)
    seqs = seed_events(agent, 3)
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    assert [e["seq"] for e in hq.events()] == seqs


def test_ip_address_not_in_the_certificate_is_refused(agent, hq, hq_certs):
    # wronghost carries IP:127.0.0.2 (and a DNS name), not 127.0.0.1.
    hq.tls(hq_certs["wronghost"], hq_certs["wronghost_key"])
    use_hq(agent, hq, hq_certs)
    _by_ip(agent, hq)
    seed_events(agent, 1)
    r = agent.run("sync", "--once")
    assert r.rc == 69, r
    assert "certificate is for another host" in r.err
    assert hq.stats()["stored"] == 0


def test_tls13_only_hq_negotiates_tls13(agent, hq, hq_certs):
    hq.tls(hq_certs["server"], hq_certs["server_key"], tls_min="1.3")
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 2)
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    assert [e["seq"] for e in hq.events()] == seqs
    st = hq.stats()
    assert st.get("tls:TLSv1.3", 0) >= 1 and "tls:TLSv1.2" not in st, st


def test_tls12_only_hq_still_works(agent, hq, hq_certs):
    hq.tls(hq_certs["server"], hq_certs["server_key"], tls_max="1.2")
    use_hq(agent, hq, hq_certs)
    seqs = seed_events(agent, 2)
    r = agent.run("sync", "--once")
    assert r.rc == 0, r
    assert [e["seq"] for e in hq.events()] == seqs
    st = hq.stats()
    assert st.get("tls:TLSv1.2", 0) >= 1 and "tls:TLSv1.3" not in st, st


def _mtls_peer(tmp_path, hq_certs):
    return start_hq(tmp_path, hq_certs, client_ca=hq_certs["ca"], name="mtls")


def test_mtls_with_client_certificate(agent, tmp_path, hq_certs):
    peer = _mtls_peer(tmp_path, hq_certs)
    try:
        key = tmp_path / "client.key"
        shutil.copy(hq_certs["client_key"], key)
        key.chmod(0o600)
        use_hq(agent, peer, hq_certs, cert_file=hq_certs["client"], key_file=str(key))
        seqs = seed_events(agent, 7)
        r = agent.run("sync", "--once")
        assert r.rc == 0, r
        assert [e["seq"] for e in peer.events()] == seqs
    finally:
        stop_hq(peer)


def test_mtls_over_tls13_with_client_certificate(agent, tmp_path, hq_certs):
    """HQ behind a proxy with TLS 1.3 only and client certificates."""
    peer = _mtls_peer(tmp_path, hq_certs)
    try:
        peer.tls(hq_certs["server"], hq_certs["server_key"], client_ca=hq_certs["ca"],
                 tls_min="1.3")
        key = tmp_path / "client.key"
        shutil.copy(hq_certs["client_key"], key)
        key.chmod(0o600)
        use_hq(agent, peer, hq_certs, cert_file=hq_certs["client"], key_file=str(key))
        seqs = seed_events(agent, 3)
        r = agent.run("sync", "--once")
        assert r.rc == 0, r
        assert [e["seq"] for e in peer.events()] == seqs
        assert peer.stats().get("tls:TLSv1.3", 0) >= 1
    finally:
        stop_hq(peer)


def test_mtls13_without_client_certificate_names_the_alert(agent, tmp_path, hq_certs):
    """TLS 1.3: HQ says certificate_required after the handshake; the
    message says so as a fact, not as a guess."""
    peer = _mtls_peer(tmp_path, hq_certs)
    try:
        peer.tls(hq_certs["server"], hq_certs["server_key"], client_ca=hq_certs["ca"],
                 tls_min="1.3")
        use_hq(agent, peer, hq_certs)
        seed_events(agent, 2)
        r = agent.run("sync", "--once")
        assert r.rc == 69, r
        assert "certificate_required (116), TLS 1.3 agreed" in r.err
        assert "HQ requires a client certificate; set [hq] cert_file and key_file" in r.err
        assert "guess" not in r.err
        assert len(outbox_rows(agent)) == 2
    finally:
        stop_hq(peer)


def test_mtls12_without_client_certificate_guesses_and_says_so(agent, tmp_path, hq_certs):
    """TLS 1.2: a plain handshake_failure alert; the client certificate is
    only the likely cause, and the message says it is a guess."""
    peer = _mtls_peer(tmp_path, hq_certs)
    try:
        peer.tls(hq_certs["server"], hq_certs["server_key"], client_ca=hq_certs["ca"],
                 tls_max="1.2")
        use_hq(agent, peer, hq_certs)
        seed_events(agent, 2)
        r = agent.run("sync", "--once")
        assert r.rc == 69, r
        assert "HQ sent alert" in r.err, r.err
        assert "a guess" in r.err and "cert_file and key_file" in r.err
        assert len(outbox_rows(agent)) == 2
    finally:
        stop_hq(peer)


def test_client_certificate_from_another_ca_is_named(agent, tmp_path, hq_certs):
    peer = _mtls_peer(tmp_path, hq_certs)
    try:
        key = tmp_path / "rogue.key"
        shutil.copy(hq_certs["rogue_key"], key)
        key.chmod(0o600)
        use_hq(agent, peer, hq_certs, cert_file=hq_certs["rogue"], key_file=str(key))
        seed_events(agent, 1)
        r = agent.run("sync", "--once")
        assert r.rc == 69, r
        assert "HQ refused this terminal's client certificate: alert" in r.err, r.err
    finally:
        stop_hq(peer)


def test_cert_without_key_is_a_config_error(agent, hq, hq_certs):
    use_hq(agent, hq, hq_certs, cert_file=hq_certs["client"])
    r = agent.run("sync", "--once")
    assert r.rc == 78, r
    assert "cert_file and key_file go together" in r.err


def test_ca_file_that_is_a_directory_says_so(agent, hq, hq_certs, tmp_path):
    """issue #9: mbedTLS said "PK - Memory allocation failed"."""
    d = tmp_path / "ca-dir"
    d.mkdir()
    use_hq(agent, hq, hq_certs, ca_file=str(d))
    seed_events(agent, 1)
    r = agent.run("sync", "--once")
    assert r.rc == 78, r
    assert "[hq] ca_file" in r.err and "is a directory" in r.err, r
    assert "Memory allocation" not in r.err
    assert hq.stats()["requests"] == 0


def test_ca_file_unreadable_is_a_permission_problem(agent, hq, hq_certs, tmp_path):
    ca = tmp_path / "ca.pem"
    shutil.copy(hq_certs["ca"], ca)
    ca.chmod(0)
    use_hq(agent, hq, hq_certs, ca_file=str(ca))
    seed_events(agent, 1)
    r = agent.run("sync", "--once", as_user=True)
    assert r.rc == 77, r
    assert "permission denied" in r.err

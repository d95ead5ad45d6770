"""Sessions renew themselves (issue 8 part 5).

Samba ends a Kerberos session when the service ticket it was made with
expires, and then answers STATUS_NETWORK_SESSION_EXPIRED.  Here the KDC
gives cifs/ tickets that live RENEW_SECS seconds, so every session expires
during the test.  smb2fs must log in again on the same session (the
server's session id, tree and open files stay: smbstatus shows the same
ones before and after), replay what failed, and lose nothing; with no
fresh ticket to be had, operations fail with EKEYEXPIRED and the log says
whose ticket needs `kinit`; after kinit the same mount carries on.
"""

import errno
import hashlib
import json
import os
import threading
import time

import pytest

import krb5env

RENEW_SECS = krb5env.SHORT_TICKET_SECS
PRINCIPAL = "alice@" + krb5env.REALM


@pytest.fixture
def short_realm(krb5_short_server):
    return krb5_short_server


@pytest.fixture
def share(short_realm):
    _, srv = short_realm
    d = srv.share_dir("share")
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    return d


def status(srv):
    return json.loads(srv.smbstatus("--json"))


def our_session(srv):
    """(session id, tree id) of the one session on the server."""
    st = status(srv)
    sessions = list(st.get("sessions", {}).values())
    assert len(sessions) == 1, sessions
    tcons = [t for t in st.get("tcons", {}).values()
             if t["session_id"] == sessions[0]["session_id"]]
    assert len(tcons) == 1, tcons
    return sessions[0]["session_id"], tcons[0]["tcon_id"]


def opens_of(srv, share_dir, name):
    """The server's open handles of share_dir/name: {key: opened_at}."""
    f = status(srv).get("open_files", {}).get(os.path.join(share_dir, name), {})
    return {k: o["opened_at"] for k, o in f.get("opens", {}).items()}


def mount_krb5(realm, srv, mount_factory, tmp_path, how, extra=()):
    env = {"KRB5_CONFIG": realm.krb5_conf}
    if how == "keytab":
        opts = ["sec=krb5", "keytab=%s" % realm.keytab("alice"),
                "username=" + PRINCIPAL]
        env["KRB5CCNAME"] = "FILE:%s" % (tmp_path / "none.ccache")
    else:
        cc = "FILE:%s" % (tmp_path / "alice.ccache")
        r = realm.kinit("alice", cc)
        assert r.returncode == 0, r.stderr
        env["KRB5CCNAME"] = cc
        opts = ["sec=krb5"]
    return mount_factory(srv, user=None, password=None,
                         options=opts + list(extra), env=env)


@pytest.mark.slow
@pytest.mark.parametrize("how,extra", [("ccache", []), ("keytab", ["seal"])],
                         ids=["ccache", "keytab-seal"])
def test_copy_across_expiry(short_realm, share, mount_factory, tmp_path, how,
                            extra):
    """A copy that runs across the session's expiry, with other threads
    listing and stat'ing beside it, finishes with the right checksum on
    the server, through the handle it started with, on the same session."""
    realm, srv = short_realm
    m = mount_krb5(realm, srv, mount_factory, tmp_path, how, extra)
    t0 = time.time()
    session = our_session(srv)
    data = os.urandom(128 * 1024 * 48)  # 6 MiB in 48 pieces
    dst = os.path.join(m.mountpoint, "copy.bin")
    stop = threading.Event()
    errors = []

    def lister():
        n = 0
        while not stop.is_set():
            try:
                os.listdir(m.mountpoint)
                with open(os.path.join(m.mountpoint, "side-%d" % (n % 3)), "w") as f:
                    f.write("side %d" % n)
                n += 1
            except OSError as e:
                errors.append(e)
            time.sleep(0.1)

    threads = [threading.Thread(target=lister) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        with open(dst, "wb") as f:
            f.write(data[:128 * 1024])
            f.flush()
            os.fsync(f.fileno())
            first = opens_of(srv, share, "copy.bin")
            assert first, "the copy has no open handle on the server"
            piece = 128 * 1024
            deadline = t0 + RENEW_SECS + 4
            for i in range(1, 48):
                f.write(data[i * piece:(i + 1) * piece])
                # spread the copy over the expiry
                time.sleep(max(0, (deadline - time.time()) / (48 - i)))
            f.flush()
            os.fsync(f.fileno())
            assert time.time() - t0 > RENEW_SECS + 1
            # the handle the copy started with is the one it ends with
            assert opens_of(srv, share, "copy.bin") == first, m.stderr()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    with open(os.path.join(share, "copy.bin"), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(data).hexdigest()
    with open(dst, "rb") as f:
        assert f.read() == data
    assert our_session(srv) == session
    log = m.stderr()
    # renewed ahead of the end: the server never had to say "expired"
    assert "was about to end; logged in again as %s" % PRINCIPAL in log, log
    assert "reconnect" not in log, log


@pytest.mark.slow
def test_no_fresh_ticket_then_kinit(short_realm, share, mount_factory,
                                    tmp_path):
    """The TGT ends with the session: no new service ticket can be had, so
    operations fail with EKEYEXPIRED and the log names the principal;
    after kinit the same session, and the file open across it, carry on.
    The first request after the expiry is a compound (a listing): Samba
    4.17 signs the replies after its "expired" badly, which must not cost
    the connection."""
    realm, srv = short_realm
    cc = "FILE:%s" % (tmp_path / "short.ccache")
    r = realm.kinit("alice", cc, lifetime="%ds" % RENEW_SECS)
    assert r.returncode == 0, r.stderr
    m = mount_factory(srv, user=None, password=None, options=["sec=krb5"],
                      env={"KRB5_CONFIG": realm.krb5_conf, "KRB5CCNAME": cc})
    t0 = time.time()
    session = our_session(srv)
    kept = open(os.path.join(m.mountpoint, "kept.txt"), "w")
    kept.write("before ")
    kept.flush()
    os.fsync(kept.fileno())
    sub = os.path.join(m.mountpoint, "sub")
    os.mkdir(sub)
    time.sleep(max(0, t0 + RENEW_SECS + 2 - time.time()))

    with pytest.raises(OSError) as ei:
        os.listdir(sub)
    assert ei.value.errno == errno.EKEYEXPIRED, m.stderr()
    with pytest.raises(OSError) as ei:
        with open(os.path.join(m.mountpoint, "new1.txt"), "w") as f:
            f.write("x")
    assert ei.value.errno == errno.EKEYEXPIRED, m.stderr()
    log = m.stderr()
    lines = [ln for ln in log.splitlines() if "cannot be renewed" in ln]
    assert len(lines) == 1, log  # said once, not once per operation
    assert "kinit" in lines[0] and PRINCIPAL in lines[0], lines[0]

    r = realm.kinit("alice", cc)
    assert r.returncode == 0, r.stderr
    assert os.listdir(sub) == []
    with open(os.path.join(m.mountpoint, "new2.txt"), "w") as f:
        f.write("after kinit")
    kept.write("and after")
    kept.close()
    with open(os.path.join(share, "kept.txt")) as f:
        assert f.read() == "before and after"
    with open(os.path.join(share, "new2.txt")) as f:
        assert f.read() == "after kinit"
    assert not os.path.exists(os.path.join(share, "new1.txt"))
    assert our_session(srv) == session
    log = m.stderr()
    assert "expired; logged in again as %s" % PRINCIPAL in log, log
    assert "reconnect" not in log, log

"""sec=krb5: Kerberos logins against a private MIT KDC and an smbd that
takes its tickets (krb5env.py), and NTLM against the same server.

Each mount checks both sides: the file written through the mount is on
disk, owned by the Unix account the principal maps to, and the session is
signed (smbstatus).  The failures each give one line naming the cause.
"""

import os
import signal
import time

import pytest

import krb5env
import smbenv

REALM = krb5env.REALM


def krb_env(realm, ccache=None, **extra):
    """smb2fs's environment: the realm's krb5.conf, the given ccache."""
    env = {"KRB5_CONFIG": realm.krb5_conf}
    env["KRB5CCNAME"] = ccache or "FILE:" + realm.path("none.ccache")
    env.update(extra)
    return env


@pytest.fixture
def alice_ccache(krb5_server, tmp_path):
    realm, _ = krb5_server
    cc = "FILE:%s" % (tmp_path / "alice.ccache")
    r = realm.kinit("alice", cc)
    assert r.returncode == 0, r.stderr
    return cc


@pytest.fixture
def krb_share(krb5_server):
    _, srv = krb5_server
    d = srv.share_dir("share")
    for name in os.listdir(d):
        p = os.path.join(d, name)
        if os.path.isdir(p):
            import shutil
            shutil.rmtree(p)
        else:
            os.unlink(p)
    return d


def check_mount_works(srv, m, share_dir, name, unix_user="smb2fs_alice"):
    with open(os.path.join(m.mountpoint, name), "w") as f:
        f.write("hello " + name)
    path = os.path.join(share_dir, name)
    with open(path) as f:
        assert f.read() == "hello " + name
    import pwd
    assert pwd.getpwuid(os.stat(path).st_uid).pw_name == unix_user
    assert name in os.listdir(m.mountpoint)


def session_of(srv, before):
    now = srv.new_sessions(before)
    assert len(now) == 1, now
    return now[0]


def one_line(r):
    assert r.returncode not in (0, None), r
    assert len(r.lines) == 1, r.stderr
    assert r.lines[0].startswith("smb2fs: "), r.lines[0]
    return r.lines[0]


# ---------------------------------------------------------------------------
# logins that work


def test_krb5_from_ccache(krb5_server, krb_share, alice_ccache, mount_factory):
    realm, srv = krb5_server
    before = {s["pid"] for s in srv.sessions()}
    m = mount_factory(srv, user=None, password=None, options=["sec=krb5", "debug"],
                      env=krb_env(realm, alice_ccache))
    check_mount_works(srv, m, krb_share, "cc.txt")
    s = session_of(srv, before)
    assert s["user"] == "smb2fs_alice", s["line"]
    assert s["signing"] not in ("", "-"), s["line"]
    # aes256-cts tickets: the GSS session key is 32 bytes
    assert "logged in with Kerberos, session key of 32 bytes" in m.stderr()


def test_krb5i_and_spn_override(krb5_server, krb_share, alice_ccache,
                                mount_factory):
    """spn= names the service principal (here the server's other name)."""
    realm, srv = krb5_server
    m = mount_factory(srv, user=None, password=None,
                      options=["sec=krb5i",
                               "spn=cifs/%s" % krb5env.SERVICE_HOST],
                      env=krb_env(realm, alice_ccache))
    check_mount_works(srv, m, krb_share, "spn.txt")


def test_krb5_from_keytab(krb5_server, krb_share, mount_factory):
    """keytab= with username=principal: no ccache at all (KRB5CCNAME names
    a file that does not exist, and none is created)."""
    realm, srv = krb5_server
    env = krb_env(realm)
    m = mount_factory(srv, user="alice", password=None, credentials=False,
                      options=["keytab=" + realm.keytab("alice")], env=env)
    check_mount_works(srv, m, krb_share, "kt.txt")
    assert not os.path.exists(env["KRB5CCNAME"][5:])
    assert not os.path.exists(realm.path("ccache_0"))


def test_krb5_cruid(krb5_server, krb_share, mount_factory):
    """cruid=USER takes that user's default ccache (krb5.conf's
    default_ccache_name for their uid), not the caller's KRB5CCNAME."""
    realm, srv = krb5_server
    uid = smbenv.ensure_unix_user(smbenv.USERS["bob"]).pw_uid
    cc = "FILE:" + realm.path("ccache_%d" % uid)
    assert realm.kinit("bob", cc).returncode == 0
    try:
        m = mount_factory(srv, user=None, password=None,
                          options=["cruid=%d" % uid], env=krb_env(realm))
        check_mount_works(srv, m, krb_share, "cruid.txt",
                          unix_user=smbenv.USERS["bob"])
    finally:
        os.unlink(cc[5:])


def test_ntlm_same_server(krb5_server, krb_share, mount_factory):
    realm, srv = krb5_server
    before = {s["pid"] for s in srv.sessions()}
    m = mount_factory(srv, env=krb_env(realm))
    check_mount_works(srv, m, krb_share, "ntlm.txt")
    assert session_of(srv, before)["user"] == "smb2fs_alice"


@pytest.mark.slow
def test_krb5_reconnect_logs_in_again(krb5_server, krb_share, alice_ccache,
                                      mount_factory):
    """After the server process dies, the mount logs in again with a
    ticket from the same ccache: nothing was kept but its name."""
    realm, srv = krb5_server
    before = {s["pid"] for s in srv.sessions()}
    m = mount_factory(srv, user=None, password=None, options=["sec=krb5"],
                      env=krb_env(realm, alice_ccache))
    check_mount_works(srv, m, krb_share, "before.txt")
    victim = session_of(srv, before)["pid"]
    os.kill(victim, signal.SIGKILL)
    deadline = time.time() + 5
    while os.path.exists("/proc/%d" % victim) and time.time() < deadline:
        time.sleep(0.05)
    check_mount_works(srv, m, krb_share, "after.txt")
    s = session_of(srv, before | {victim})
    assert s["user"] == "smb2fs_alice", s["line"]


@pytest.fixture(scope="module")
def krb5_aes256_server(krb5_server):
    """A second smbd of the realm that encrypts with AES-256-GCM only."""
    realm, _ = krb5_server
    srv = krb5env.KrbSambaServer(realm, extra_global={
        "server smb3 encryption algorithms": "AES-256-GCM",
        "smb encrypt": "required"}).start()
    yield srv
    srv.stop()


def test_krb5_aes256_uses_full_session_key(krb5_server, krb5_aes256_server,
                                           alice_ccache, mount_factory):
    """3.1.1 with AES-256: the cipher keys come from the whole 32-byte
    Kerberos session key (MS-SMB2 3.2.5.3.1); a wrong key fails at once."""
    realm, _ = krb5_server
    srv = krb5_aes256_server
    before = {s["pid"] for s in srv.sessions()}
    m = mount_factory(srv, user=None, password=None, options=["sec=krb5"],
                      env=krb_env(realm, alice_ccache))
    check_mount_works(srv, m, srv.share_dir("share"), "enc.txt")
    s = session_of(srv, before)
    assert s["encryption"] != "-", s["line"]


# ---------------------------------------------------------------------------
# one-line errors


def test_no_ticket(krb5_server, run_smb2fs):
    realm, srv = krb5_server
    cc = "FILE:" + realm.path("nothing-here.ccache")
    r = run_smb2fs(srv.unc(), options=["port=%d" % srv.port, "sec=krb5"],
                   user=None, env=krb_env(realm, cc))
    line = one_line(r)
    assert "no Kerberos ticket in %s (run kinit)" % cc in line, line


def test_expired_ticket(krb5_server, run_smb2fs, tmp_path):
    realm, srv = krb5_server
    cc = "FILE:%s" % (tmp_path / "short.ccache")
    assert realm.kinit("alice", cc, lifetime="3s").returncode == 0
    time.sleep(4)
    r = run_smb2fs(srv.unc(), options=["port=%d" % srv.port, "sec=krb5"],
                   user=None, env=krb_env(realm, cc))
    line = one_line(r)
    assert "ticket in %s has expired (run kinit)" % cc in line, line


def test_unknown_spn(krb5_server, alice_ccache, run_smb2fs):
    realm, srv = krb5_server
    r = run_smb2fs(srv.unc(), options=["port=%d" % srv.port, "sec=krb5",
                                       "spn=cifs/nosuch.smb2fs.test"],
                   user=None, env=krb_env(realm, alice_ccache))
    line = one_line(r)
    assert "does not know the service principal cifs/nosuch.smb2fs.test" \
        in line, line


def test_kdc_unreachable(krb5_server, run_smb2fs, tmp_path):
    realm, srv = krb5_server
    conf = str(tmp_path / "dead-kdc.conf")
    realm.write_krb5_conf(conf, smbenv.closed_port())
    r = run_smb2fs(srv.unc(), options=["port=%d" % srv.port,
                                       "keytab=" + realm.keytab("alice")],
                   env=krb_env(realm, KRB5_CONFIG=conf), timeout=60)
    line = one_line(r)
    assert "KDC unreachable" in line, line


@pytest.mark.parametrize("case", ["wrong_principal", "missing_file"])
def test_keytab_errors(krb5_server, run_smb2fs, case):
    realm, srv = krb5_server
    if case == "wrong_principal":
        opts, user, want = ["keytab=" + realm.keytab("alice")], "bob", \
            "has no key for bob"
    else:
        opts, user, want = ["keytab=" + realm.path("no.keytab")], "alice", \
            "cannot read the keytab"
    r = run_smb2fs(srv.unc(), options=["port=%d" % srv.port] + opts,
                   user=user, env=krb_env(realm))
    line = one_line(r)
    assert want in line, line


def test_krb5_option_errors(krb5_server, run_smb2fs):
    realm, srv = krb5_server
    for opts, want in (
            (["keytab=/x"], "keytab= needs username="),
            (["sec=ntlmssp", "keytab=/x"], "keytab= needs sec=krb5"),
            (["sec=ntlm"], "not supported"),
            (["sec=krb5", "keytab=/x", "cruid=0"], "exclude each other")):
        r = run_smb2fs(srv.unc(), options=opts, user=None,
                       env=krb_env(realm))
        assert r.returncode == 2, r
        assert want in one_line(r)


# ---------------------------------------------------------------------------
# clock skew (libfaketime: apt-get install faketime)


def libfaketime():
    """The path of libfaketime.so.1, or skip (fail with
    SMB2FS_REQUIRE_ALL=1) when the faketime package is missing."""
    import glob
    for pattern in ("/usr/lib/*/faketime/libfaketime.so.1",
                    "/usr/lib/faketime/libfaketime.so.1",
                    "/usr/local/lib/faketime/libfaketime.so.1"):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    smbenv.skip_or_fail("libfaketime missing (apt-get install faketime)")


@pytest.fixture
def skewed_server(krb5_server):
    """make(offset): an smbd of the realm whose clock is `offset` (faketime
    syntax, "+1h") off the KDC's and ours; smb2fs itself runs unchanged."""
    realm, _ = krb5_server
    lib = libfaketime()
    started = []

    def make(offset):
        srv = krb5env.KrbSambaServer(realm)
        srv.env = dict(realm.env, LD_PRELOAD=lib, FAKETIME=offset)
        started.append(srv)
        return srv.start()

    yield make
    for srv in started:
        srv.stop()


@pytest.mark.parametrize("offset,want", [
    # smbd's clock ahead: our authenticator is an hour old to it, and it
    # answers MORE_PROCESSING_REQUIRED with a KRB-ERROR KRB_AP_ERR_SKEW
    ("+1h", "the clocks of this machine and the KDC or server differ too "
            "much (clock skew; set the time, e.g. with NTP)"),
    # smbd's clock behind: the ticket starts an hour in its future
    # (KRB_AP_ERR_TKT_NYV)
    ("-1h", "the server says the Kerberos ticket is not valid yet (its "
            "clock is behind the KDC's: clock skew; set the time, e.g. with "
            "NTP)"),
])
def test_clock_skew_at_server(krb5_server, skewed_server, alice_ccache,
                              run_smb2fs, offset, want):
    """The server's KRB-ERROR (in place of an AP-REP) names the cause,
    not "its AP-REP does not prove it is cifs/...": the ticket is good,
    the server's clock is not."""
    realm, _ = krb5_server
    srv = skewed_server(offset)
    r = run_smb2fs(srv.unc(), options=["port=%d" % srv.port, "sec=krb5"],
                   user=None, env=krb_env(realm, alice_ccache))
    line = one_line(r)
    assert line == "smb2fs: cannot log in to 127.0.0.1 with Kerberos: " \
        + want, line


def test_clock_skew_at_kdc(krb5_server, alice_ccache, run_smb2fs):
    """smb2fs's clock an hour ahead (libfaketime preloaded into it; ASan
    must then not insist on coming first): the KDC refuses the request for
    the service ticket with KRB_AP_ERR_SKEW."""
    realm, srv = krb5_server
    asan = os.environ.get("ASAN_OPTIONS", "")
    env = krb_env(realm, alice_ccache, LD_PRELOAD=libfaketime(),
                  FAKETIME="+1h",
                  ASAN_OPTIONS=(asan + ":" if asan else "")
                  + "verify_asan_link_order=0")
    r = run_smb2fs(srv.unc(), options=["port=%d" % srv.port, "sec=krb5"],
                   user=None, env=env)
    line = one_line(r)
    assert line == "smb2fs: cannot log in to 127.0.0.1 with Kerberos: the " \
        "clocks of this machine and the KDC or server differ too much " \
        "(clock skew; set the time, e.g. with NTP)", line

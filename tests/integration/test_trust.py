"""What smb2fs trusts, and what it refuses ("trust" issue).

  A  a guest / null session the user did not ask for (-o guest) fails the
     mount at login, on every dialect, even when the server "requires"
     signing;
  B  every non-guest session signs every request and requires signed
     replies, also when the server merely allows signing; -o nosign opts
     out; the debug line says which;
  C  the server's SPNEGO mechListMIC, when sent, must verify;
  E  a reconnect never settles for less than the mount started with
     (dialect, signing, a real user, the same server GUID), and it names
     the old session (PreviousSessionId);
  F  an UNSIGNED "session gone" reply on a signed session is forged: the
     client drops that connection without another word on it and rebuilds;
  G  interim STATUS_PENDING replies extend a wait only when signed, and
     only up to 10 x timeout=N in total.

Most tests use the scripted server (fake_smb2_server.py; the knobs are
described there); the signing tests also run against the real Samba
(smbstatus shows whether the session signs).
"""

import errno
import os
import re

import pytest

import fake_smb2_server as F
import fsop
import smbenv

PW = "pw"
OP_TIMEOUT = 45   # a child op slower than this is a hang: smb2fs is killed

def fs_op(m, op, rel="", timeout=OP_TIMEOUT):
    """(("ok", result) or ("errno", n), seconds it took)."""
    return fsop.run(m, op, rel, timeout)


def mount_fake(fake_server, mount_factory, mode, options=(), **knobs):
    """The fake share ("fs" modes) mounted in the foreground with -o debug
    (stderr collected in m.stderr()); the server knows the password, so it
    signs unless told not to."""
    srv = fake_server(mode, password=PW, **knobs)
    m = mount_factory(srv, share="x", password=PW,
                      options=["actimeo=0", "debug"] + list(options))
    return srv, m


def connected_line(text):
    """The -o debug line logged when a session and tree are up."""
    lines = [ln for ln in text.splitlines() if "connected to " in ln]
    assert lines, "no 'connected to' debug line in:\n" + text[-4000:]
    return lines[0]


def one_line(r):
    assert r.returncode != 0, r
    assert len(r.lines) == 1, "expected one line on stderr, got:\n" + \
        r.stderr
    assert r.lines[0].startswith("smb2fs: "), r.lines[0]
    return r.lines[0]


def still_mounted(m):
    assert m.proc.poll() is None, "smb2fs died:\n" + m.stderr()[-4000:]
    assert smbenv.is_mounted(m.mountpoint)


# ---------------------------------------------------------------------------
# A: guest fallback refused


GUEST_DIALECTS = [("3.1.1", 0x0311), ("3.0.2", 0x0302), ("2.1", 0x0210)]
GUEST_FLAGS = [("guest", F.SMB2_SESSION_FLAG_IS_GUEST, r"as guest"),
               ("null", F.SMB2_SESSION_FLAG_IS_NULL, r"anonymously")]


@pytest.mark.parametrize("flag,flag_value,wording", GUEST_FLAGS,
                         ids=[g[0] for g in GUEST_FLAGS])
@pytest.mark.parametrize("vers,dialect", GUEST_DIALECTS,
                         ids=[d[0] for d in GUEST_DIALECTS])
def test_guest_fallback_refused(fake_server, run_smb2fs, vers, dialect,
                                flag, flag_value, wording):
    """SESSION_SETUP succeeds with IS_GUEST / IS_NULL although alice gave a
    password (and the server's NEGOTIATE says signing is required): the
    mount fails at login, one line, nothing mounted, no TREE_CONNECT."""
    srv = fake_server("fs", password=PW, dialect=dialect,
                      security_mode=F.SMB2_NEGOTIATE_SIGNING_ENABLED |
                      F.SMB2_NEGOTIATE_SIGNING_REQUIRED,
                      session_flags=flag_value)
    r = run_smb2fs("//127.0.0.1/x",
                   options=["port=%d" % srv.port, "vers=%s" % vers],
                   password=PW, foreground=False, timeout=30)
    line = one_line(r)
    assert re.search(r"as guest|anonymously", line), line
    assert re.search(wording, line), line
    assert "refusing" in line and "-o guest" in line, line
    assert "'alice'" in line and "127.0.0.1" in line, line
    assert "SESSION_SETUP" in srv.commands()
    assert "TREE_CONNECT" not in srv.commands(), srv.commands()


# ---------------------------------------------------------------------------
# B: signing by default


def test_fake_server_signing_enabled_session_is_signed(fake_server,
                                                       mount_factory):
    """The server only ALLOWS signing (SecurityMode 1) and signs its
    replies: smb2fs still signs every request after SESSION_SETUP (each
    one verifies with the session key) and says 'signing on'."""
    srv, m = mount_fake(fake_server, mount_factory, "fs",
                        options=["vers=2.1"])
    assert fs_op(m, "listdir", "")[0] == ("ok", ["bad", "d", "f",
                                                 "gr\u00fc\u00dfe.txt"])
    assert fs_op(m, "read", "f")[0] == ("ok", "0123456789")
    assert "signing on" in connected_line(m.stderr())
    c = srv.conns[0]
    assert "CREATE" in c.commands and "READ" in c.commands
    assert c.unsigned == [], c.unsigned
    assert c.bad_signatures == [], c.bad_signatures


def test_fake_server_nosign_opts_out(fake_server, mount_factory):
    """-o nosign against a server that does not require signing: requests
    go unsigned and the debug line says 'signing off'."""
    srv, m = mount_fake(fake_server, mount_factory, "fs",
                        options=["vers=2.1", "nosign"])
    assert fs_op(m, "read", "f")[0] == ("ok", "0123456789")
    assert "signing off" in connected_line(m.stderr())
    assert "CREATE" in srv.conns[0].unsigned, srv.conns[0]


def test_unsigned_server_refused_by_default(fake_server, run_smb2fs):
    """A server that knows the key but does not sign (an attacker in the
    middle, or a misconfigured server) is refused without any option."""
    srv = fake_server("unsigned", password=PW)
    r = run_smb2fs("//127.0.0.1/x", options=["port=%d" % srv.port],
                   password=PW, foreground=False, timeout=30)
    line = one_line(r)
    assert "127.0.0.1" in line
    assert re.search(r"sign", line, re.I), line


def test_unsigned_server_mounts_with_nosign(fake_server, mount_factory):
    srv, m = mount_fake(fake_server, mount_factory, "unsigned",
                        options=["nosign"])
    assert fs_op(m, "read", "f")[0] == ("ok", "0123456789")
    assert "signing off" in connected_line(m.stderr())


def _samba_mount(smbd, share_dir, mount_factory, options):
    before = {s["pid"] for s in smbd.sessions()}
    m = mount_factory(smbd, options=["debug"] + options)
    with open(os.path.join(m.mountpoint, "t.txt"), "w") as f:
        f.write("signed?")
    with open(os.path.join(share_dir, "t.txt")) as f:
        assert f.read() == "signed?"
    assert os.listdir(m.mountpoint) == ["t.txt"]
    os.unlink(os.path.join(m.mountpoint, "t.txt"))
    sess = smbd.new_sessions(before)
    assert len(sess) == 1, smbd.smbstatus("-b")
    return m, sess[0]


@pytest.mark.parametrize("vers,alg", [("2.1", "HMAC-SHA256"), ("3.0.2", "AES-128-CMAC"),
                                      ("3.1.1", "AES-128-GMAC")])
def test_samba_default_mount_signs(smbd, share_dir, mount_factory, vers, alg):
    """Samba with `server signing = default` (signing allowed, not
    required): a default mount signs everything (smbstatus shows the
    algorithm, not '-' or 'partial(...)'); 3.1.1 negotiates AES-GMAC, the
    cheapest, and Samba verifies it."""
    m, s = _samba_mount(smbd, share_dir, mount_factory, ["vers=%s" % vers])
    assert s["signing"] == alg, s["line"]
    assert "signing on" in connected_line(m.stderr())


@pytest.mark.parametrize("vers", ["2.1", "3.1.1"])
def test_samba_nosign_mount_does_not_sign(smbd, share_dir, mount_factory,
                                          vers):
    """-o nosign: signing only if the server requires it (Samba here does
    not).  On 3.1.1 the TREE_CONNECT is still signed (MS-SMB2 3.2.4.1.1
    requires it), which smbstatus shows as 'partial(...)'."""
    m, s = _samba_mount(smbd, share_dir, mount_factory,
                        ["vers=%s" % vers, "nosign"])
    if vers == "3.1.1":
        assert s["signing"] == "-" or s["signing"].startswith("partial"), \
            s["line"]
    else:
        assert s["signing"] == "-", s["line"]
    assert "signing off" in connected_line(m.stderr())


# ---------------------------------------------------------------------------
# C: SPNEGO mechListMIC


def test_wrong_mech_list_mic_refused(fake_server, run_smb2fs):
    """The final NegTokenResp carries a mechListMIC that does not verify
    (16 random bytes): the login is refused, one line."""
    srv = fake_server("mic_wrong", password=PW)
    r = run_smb2fs("//127.0.0.1/x", options=["port=%d" % srv.port],
                   password=PW, foreground=False, timeout=30)
    line = one_line(r)
    assert "127.0.0.1" in line, line
    assert re.search(r"MIC|signature", line, re.I), line
    assert "TREE_CONNECT" not in srv.commands(), srv.commands()


def test_right_mech_list_mic_mounts(fake_server, mount_factory):
    """A correct server mechListMIC (MS-NLMP 3.4.4.2 over the client's
    MechTypeList) is accepted, and the session signs."""
    srv, m = mount_fake(fake_server, mount_factory, "mic_right")
    assert fs_op(m, "read", "f")[0] == ("ok", "0123456789")
    assert "signing on" in connected_line(m.stderr())
    assert srv.conns[0].unsigned == [] and \
        srv.conns[0].bad_signatures == [], srv.conns[0]


def test_client_mics_verify(fake_server, mount_factory):
    """The client sends an NTLM MIC in AUTHENTICATE and a SPNEGO
    mechListMIC in its second leg, and both verify with the exported
    session key (checked by the fake server)."""
    srv, m = mount_fake(fake_server, mount_factory, "fs")
    assert fs_op(m, "statvfs", "")[0][0] == "ok"
    assert srv.client_mics == [{"ntlm_mic": True, "mech_list_mic": True}], \
        srv.client_mics


# ---------------------------------------------------------------------------
# E: reconnect keeps the floor


def test_reconnect_sends_previous_session_id(fake_server, mount_factory):
    """The server drops the connection on the first CREATE of f; smb2fs
    reconnects, names the old session in SESSION_SETUP (PreviousSessionId,
    MS-SMB2 2.2.5) and the retried stat succeeds, signed."""
    srv, m = mount_fake(fake_server, mount_factory, "drop_once",
                        options=["timeout=5"])
    assert fs_op(m, "statvfs", "")[0][0] == "ok"
    assert fs_op(m, "stat", "f")[0] == ("ok", [oct(0o100755), 10]), \
        m.stderr()[-4000:]
    assert len(srv.conns) >= 2, srv.conns
    c1, c2 = srv.conns[0], srv.conns[1]
    assert c1.trigger_time is not None
    assert c1.prev_session_ids and set(c1.prev_session_ids) == {0}, c1
    assert c1.session_id in c2.prev_session_ids, \
        (hex(c1.session_id), [hex(x) for x in c2.prev_session_ids])
    assert c2.signing and c2.unsigned == [] and c2.bad_signatures == [], c2


WEAKER = {
    # mode -> (pattern, flags) a line in the mount's stderr must match
    "reconnect_dialect_202": r"(refus|below).*2\.0\.2|2\.0\.2.*(refus|below)",
    "reconnect_unsigned": r"(refus|not signed|unsigned|missing signature)"
                          r".*sign|not signed",
    "reconnect_guest": r"refus.*guest|guest.*refus",
    "reconnect_new_guid": r"(refus|chang).*GUID|GUID.*(refus|chang)",
}


@pytest.mark.parametrize("mode", sorted(WEAKER))
def test_reconnect_does_not_accept_weaker_server(fake_server, mount_factory,
                                                 mode):
    """A good signed 2.1 mount; the server drops the connection and comes
    back weaker (SMB 2.0.2 / unsigned / the guest flag / another GUID).
    The operation gets EIO, never a success over the weaker session; the
    mount stays; stderr names what changed."""
    srv, m = mount_fake(fake_server, mount_factory, mode,
                        options=["timeout=5"])
    assert fs_op(m, "statvfs", "")[0][0] == "ok"
    assert "signing on" in connected_line(m.stderr())
    res, took = fs_op(m, "stat", "f")
    assert res == ("errno", errno.EIO), (res, m.stderr()[-4000:])
    assert len(srv.conns) >= 2, srv.conns
    # the weaker server really was reached and refused
    assert "NEGOTIATE" in srv.conns[1].commands, srv.conns
    still_mounted(m)
    err = m.stderr()
    assert any(re.search(WEAKER[mode], ln, re.I)
               for ln in err.splitlines()), err[-4000:]
    # nothing was served over the weaker session
    assert all("CREATE" not in c.commands for c in srv.conns[1:]), srv.conns


# ---------------------------------------------------------------------------
# F: forged "session gone"


@pytest.mark.parametrize("mode", ["forged_session_deleted",
                                  "forged_session_expired"])
def test_unsigned_session_gone_is_forged(fake_server, mount_factory, mode):
    """The CREATE of f is answered with an UNSIGNED
    STATUS_USER_SESSION_DELETED / STATUS_NETWORK_SESSION_EXPIRED on the
    signed session: smb2fs sends nothing more on that connection (no
    TREE_DISCONNECT, LOGOFF or SESSION_SETUP there), drops it at once,
    rebuilds on a new one, and the stat succeeds there."""
    srv, m = mount_fake(fake_server, mount_factory, mode,
                        options=["vers=2.1", "timeout=5"])
    assert fs_op(m, "statvfs", "")[0][0] == "ok"
    res, took = fs_op(m, "stat", "f")
    assert res == ("ok", [oct(0o100755), 10]), (res, m.stderr()[-4000:])
    assert srv.wait_closed(1, timeout=5), srv.conns
    c1 = srv.conns[0]
    assert c1.trigger_time is not None, srv.conns
    assert c1.after_trigger() == [], c1.commands
    assert c1.closed - c1.trigger_time < 3, c1
    assert len(srv.conns) >= 2, srv.conns
    assert "SESSION_SETUP" in srv.conns[1].commands
    assert "TREE_CONNECT" in srv.conns[1].commands
    still_mounted(m)


# ---------------------------------------------------------------------------
# G: bounded waits


def _pending_run(fake_server, mount_factory, mode):
    """Mounts with timeout=1 against a server that answers the CREATE of f
    (first connection only) with interim STATUS_PENDING replies every
    0.3 s and never a final one; stats f.  Returns the first connection's
    record, how long after that CREATE it was dropped, the stat's result
    and how long the stat took."""
    srv, m = mount_fake(fake_server, mount_factory, mode,
                        options=["vers=2.1", "timeout=1"])
    assert fs_op(m, "statvfs", "")[0][0] == "ok"
    res, took = fs_op(m, "stat", "f", timeout=40)
    assert srv.wait_closed(1, timeout=5), srv.conns
    c1 = srv.conns[0]
    assert c1.trigger_time is not None, srv.conns
    assert res == ("ok", [oct(0o100755), 10]), (res, m.stderr()[-4000:])
    return m, c1, c1.closed - c1.trigger_time, took


def test_signed_interim_replies_are_capped(fake_server, mount_factory):
    """Signed interims: each extends the wait, but only to 10 x 1 s after
    the request was sent: the connection is dropped after ~10 s (not ~1 s,
    not never) and the retry on a new connection succeeds."""
    m, c1, waited, took = _pending_run(fake_server, mount_factory, "pend_signed")
    assert 6 <= waited <= 16, "first connection dropped after %.1f s" % \
        waited
    assert c1.interims_sent >= 10, c1.interims_sent
    assert took < 25, took
    still_mounted(m)


def test_unsigned_interim_replies_do_not_extend(fake_server, mount_factory):
    """The interim replies are NOT signed on the signed session: they do
    not extend the wait, so the first attempt ends after about
    timeout=1 s."""
    m, c1, waited, took = _pending_run(fake_server, mount_factory, "pend_unsigned")
    assert waited < 4, "first connection dropped after %.1f s" % waited
    assert took < 15, took
    still_mounted(m)


# ---------------------------------------------------------------------------
# B (continued): the signing algorithm the server forces on 3.1.1


@pytest.fixture(scope="module",
                params=["AES-128-CMAC", "AES-128-GMAC", "HMAC-SHA256"])
def smbd_sign_alg(request):
    """A Samba whose SIGNING_CAPABILITIES answer can only name one
    algorithm (`server smb3 signing algorithms`), while we offer GMAC,
    CMAC and HMAC-SHA256 in that order."""
    srv = smbenv.SambaServer(extra_global={
        "server smb3 signing algorithms": request.param})
    srv.start()
    yield request.param, srv
    srv.stop()


def test_samba_forced_signing_algorithm(smbd_sign_alg, mount_factory,
                                        rand_bytes):
    """vers=3.1.1 against a server that allows only one signing algorithm:
    the mount signs with the one the server picked (smbstatus names it;
    Samba checks every request's signature with it, so a client signing
    with another one would fail at the first signed request), and data
    written and read through the mount (several MiB of multi-credit
    READs and WRITEs, every one signed) survives both ways."""
    alg, srv = smbd_sign_alg
    share_dir = srv.share_dir()
    for name in os.listdir(share_dir):
        os.unlink(os.path.join(share_dir, name))
    before = {s["pid"] for s in srv.sessions()}
    m = mount_factory(srv, options=["vers=3.1.1", "actimeo=0", "debug"])
    data = rand_bytes(3 * 1024 * 1024 + 321, seed=len(alg))
    with open(os.path.join(m.mountpoint, "signed.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(share_dir, "signed.bin"), "rb") as f:
        assert f.read() == data
    with open(os.path.join(share_dir, "back.bin"), "wb") as f:
        f.write(data[::-1])
    with open(os.path.join(m.mountpoint, "back.bin"), "rb") as f:
        assert f.read() == data[::-1]
    assert sorted(os.listdir(m.mountpoint)) == ["back.bin", "signed.bin"]
    sess = srv.new_sessions(before)
    assert len(sess) == 1, srv.smbstatus("-b")
    s = sess[0]
    assert s["protocol"] == "SMB3_11", s["line"]
    assert s["signing"] == alg, s["line"]
    assert s["encryption"] in ("-", ""), s["line"]
    line = connected_line(m.stderr())
    assert "SMB 3.1.1" in line and "signing on" in line, line

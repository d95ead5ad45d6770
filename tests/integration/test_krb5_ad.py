"""sec=krb5 against a Samba AD domain controller (addcenv.py): tickets
from its KDC carry a PAC and name a domain account, the server maps the
account's SID to a uid through winbindd, and the same server takes NTLM
as SMB2FS\\alice.  test_krb5.py covers the rest of Kerberos (lifetimes,
reconnects, keytab and KDC errors) against the faster MIT realm.

Each mount writes through the mount and checks the file on the server's
disk (content, and the uid winbindd gave the user); the data test compares
SHA-256 sums both ways.  The failures each give one line naming the cause.
"""

import os
import shutil
import time

import pytest

import addcenv
from smbenv import sha256, sha256_file

REALM = addcenv.REALM
DOMAIN = addcenv.DOMAIN


def krb_env(dc, ccache=None):
    """smb2fs's environment: the DC's krb5.conf and the given ccache (by
    default one that does not exist)."""
    return {"KRB5_CONFIG": dc.krb5_conf,
            "KRB5CCNAME": ccache or "FILE:" + dc.path("none.ccache")}


def opts(dc, *more):
    return ["port=%d" % dc.port] + list(more)


@pytest.fixture(scope="module")
def alice_ccache(ad_dc):
    """alice's TGT, from kinit with her password."""
    cc = "FILE:" + ad_dc.path("alice.ccache")
    r = ad_dc.kinit("alice", cc)
    assert r.returncode == 0, r.stderr
    return cc


@pytest.fixture(scope="module")
def alice_uid(ad_dc):
    return ad_dc.uid_of("alice")


@pytest.fixture
def ad_share(ad_dc):
    """The DC's [share] directory, emptied."""
    d = ad_dc.share_dir("share")
    for name in os.listdir(d):
        p = os.path.join(d, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)
    return d


def check_mount_works(m, share_dir, name, uid):
    """Write through the mount; the server has the bytes, owned by uid."""
    with open(os.path.join(m.mountpoint, name), "w") as f:
        f.write("hello " + name)
    path = os.path.join(share_dir, name)
    with open(path) as f:
        assert f.read() == "hello " + name
    st = os.stat(path)
    assert st.st_uid == uid, (st.st_uid, uid)
    assert name in os.listdir(m.mountpoint)


def pids(dc):
    return {s["pid"] for s in dc.sessions()}


def new_session(dc, before, uid, timeout=5):
    """The one SMB session of uid the DC has now and had not in `before`
    (a mount's session shows up shortly after the mount returns)."""
    deadline = time.time() + timeout
    while True:
        now = [s for s in dc.sessions()
               if s["pid"] not in before and s["user"] == str(uid)]
        if now or time.time() > deadline:
            break
        time.sleep(0.1)
    assert len(now) == 1, dc.sessions()
    return now[0]


def one_line(r):
    assert r.returncode not in (0, None), r
    assert len(r.lines) == 1, r.stderr
    assert r.lines[0].startswith("smb2fs: "), r.lines[0]
    return r.lines[0]


# ---------------------------------------------------------------------------
# logins that work


@pytest.mark.parametrize("kinit", ["password", "keytab"])
def test_krb5_from_ccache(ad_dc, ad_share, alice_ccache, alice_uid,
                          mount_factory, tmp_path, kinit):
    """kinit alice@REALM (with her password, or `kinit -k` with the keytab
    samba-tool exported), then mount with nothing but the ccache: the
    server takes the ticket (with its PAC) as SMB2FS\\alice."""
    cc = alice_ccache
    if kinit == "keytab":
        cc = "FILE:%s" % (tmp_path / "kt.ccache")
        r = ad_dc.kinit("alice", cc, keytab=True)
        assert r.returncode == 0, r.stderr
    before = pids(ad_dc)
    m = mount_factory(ad_dc, user=None, password=None,
                      options=["sec=krb5", "debug"],
                      env=krb_env(ad_dc, cc))
    check_mount_works(m, ad_share, "cc.txt", alice_uid)
    assert "logged in with Kerberos" in m.stderr()
    # smbstatus on the DC: alice's session (her uid), signed
    s = new_session(ad_dc, before, alice_uid)
    assert s["signing"] not in ("", "-"), s["line"]


def test_krb5_keytab(ad_dc, ad_share, alice_uid, mount_factory):
    """keytab= (exported by samba-tool) with username=alice@REALM: no
    kinit and no ccache (none is created)."""
    env = krb_env(ad_dc)
    m = mount_factory(ad_dc, user="alice@" + REALM, password=None,
                      credentials=False,
                      options=["keytab=" + ad_dc.keytab("alice")], env=env)
    check_mount_works(m, ad_share, "kt.txt", alice_uid)
    assert not os.path.exists(env["KRB5CCNAME"][5:])
    assert not os.path.exists(ad_dc.path("ccache_0"))


def test_krb5_spn_names_the_dc(ad_dc, ad_share, alice_ccache, alice_uid,
                               mount_factory):
    """spn=cifs/<the DC's DNS name>: an SPN nobody added (the KDC maps
    cifs/ onto the DC account's host/ names), connecting by address."""
    m = mount_factory(ad_dc, user=None, password=None,
                      options=["sec=krb5i", "spn=cifs/" + addcenv.FQDN],
                      env=krb_env(ad_dc, alice_ccache))
    check_mount_works(m, ad_share, "spn.txt", alice_uid)


@pytest.mark.parametrize("form", ["domain_option", "backslash"])
def test_ntlm_domain_user(ad_dc, ad_share, alice_uid, mount_factory, form):
    """NTLM as SMB2FS\\alice to the same server: the same domain account."""
    if form == "domain_option":
        m = mount_factory(ad_dc, user="alice", options=["domain=" + DOMAIN],
                          env=krb_env(ad_dc))
    else:
        m = mount_factory(ad_dc, user="%s\\alice" % DOMAIN,
                          password=ad_dc.password, env=krb_env(ad_dc))
    check_mount_works(m, ad_share, "ntlm-%s.txt" % form, alice_uid)


def test_krb5_data_checksums(ad_dc, ad_share, alice_ccache, mount_factory,
                             rand_bytes):
    """Several MiB each way over a Kerberos-signed session; SHA-256 of what
    arrives equals what was sent."""
    m = mount_factory(ad_dc, user=None, password=None, options=["sec=krb5"],
                      env=krb_env(ad_dc, alice_ccache))
    up = rand_bytes(3 * 1024 * 1024 + 4097, seed=1)
    with open(os.path.join(m.mountpoint, "up.bin"), "wb") as f:
        f.write(up)
    assert sha256_file(os.path.join(ad_share, "up.bin")) == sha256(up)

    down = rand_bytes(2 * 1024 * 1024 + 123, seed=2)
    server_file = os.path.join(ad_share, "down.bin")
    with open(server_file, "wb") as f:
        f.write(down)
    os.chmod(server_file, 0o644)
    assert sha256_file(os.path.join(m.mountpoint, "down.bin")) == sha256(down)


def test_krb5_encrypted_share(ad_dc, alice_ccache, alice_uid, mount_factory,
                              rand_bytes):
    """[enc] has `smb encrypt = required`: the tree's messages are sealed
    with keys from the Kerberos session key; data goes both ways intact."""
    d = ad_dc.share_dir("enc")
    for name in os.listdir(d):
        os.unlink(os.path.join(d, name))
    before = pids(ad_dc)
    m = mount_factory(ad_dc, share="enc", user=None, password=None,
                      options=["sec=krb5", "debug"],
                      env=krb_env(ad_dc, alice_ccache))
    data = rand_bytes(1024 * 1024 + 7, seed=3)
    with open(os.path.join(m.mountpoint, "enc.bin"), "wb") as f:
        f.write(data)
    path = os.path.join(d, "enc.bin")
    assert sha256_file(path) == sha256(data)
    assert os.stat(path).st_uid == alice_uid
    with open(os.path.join(m.mountpoint, "enc.bin"), "rb") as f:
        assert sha256(f.read()) == sha256(data)
    s = new_session(ad_dc, before, alice_uid)
    assert "AES" in s["encryption"], s["line"]   # partial(AES-128-GCM)


# ---------------------------------------------------------------------------
# one-line errors


def test_no_ticket(ad_dc, run_smb2fs):
    cc = "FILE:" + ad_dc.path("nothing-here.ccache")
    r = run_smb2fs(ad_dc.unc(), options=opts(ad_dc, "sec=krb5"), user=None,
                   env=krb_env(ad_dc, cc))
    line = one_line(r)
    assert "no Kerberos ticket in %s (run kinit)" % cc in line, line


def test_unknown_spn(ad_dc, alice_ccache, run_smb2fs):
    spn = "cifs/nosuch." + addcenv.DNS_DOMAIN
    r = run_smb2fs(ad_dc.unc(), options=opts(ad_dc, "sec=krb5", "spn=" + spn),
                   user=None, env=krb_env(ad_dc, alice_ccache))
    line = one_line(r)
    assert "does not know the service principal %s" % spn in line, line


def test_denied_share_krb5(ad_dc, alice_ccache, run_smb2fs):
    """alice's ticket is good, [denied] is `valid users = SMB2FS\\bob`: the
    tree connect fails and the line names the share and the status."""
    r = run_smb2fs(ad_dc.unc("denied"), options=opts(ad_dc, "sec=krb5"),
                   user=None, env=krb_env(ad_dc, alice_ccache))
    line = one_line(r)
    assert line.startswith("smb2fs: cannot connect to \\\\%s\\denied: "
                           % ad_dc.ip), line
    assert line.endswith("(STATUS_ACCESS_DENIED)"), line


def test_encrypted_share_refuses_smb21(ad_dc, alice_ccache, run_smb2fs):
    """SMB 2.1 cannot encrypt, so Samba refuses the [enc] tree connect."""
    r = run_smb2fs(ad_dc.unc("enc"), options=opts(ad_dc, "sec=krb5",
                                                  "vers=2.1"),
                   user=None, env=krb_env(ad_dc, alice_ccache))
    line = one_line(r)
    assert line.startswith("smb2fs: cannot connect to \\\\%s\\enc: "
                           % ad_dc.ip), line
    assert line.endswith("(STATUS_ACCESS_DENIED)"), line


def test_denied_share_ntlm(ad_dc, run_smb2fs):
    r = run_smb2fs(ad_dc.unc("denied"),
                   options=opts(ad_dc, "domain=" + DOMAIN), user="alice",
                   password=ad_dc.password, env=krb_env(ad_dc))
    line = one_line(r)
    assert "'%s\\alice'" % DOMAIN in line, line
    assert line.endswith("(STATUS_ACCESS_DENIED)"), line


def test_denied_share_lets_bob_in(ad_dc, mount_factory):
    """The control for the two tests above: bob may use [denied]."""
    m = mount_factory(ad_dc, share="denied", user="bob",
                      options=["domain=" + DOMAIN], env=krb_env(ad_dc))
    with open(os.path.join(m.mountpoint, "bob.txt"), "w") as f:
        f.write("bob")
    assert os.stat(os.path.join(ad_dc.share_dir("denied"), "bob.txt")) \
        .st_uid == ad_dc.uid_of("bob")


def test_ntlm_wrong_password(ad_dc, run_smb2fs):
    r = run_smb2fs(ad_dc.unc(), options=opts(ad_dc, "domain=" + DOMAIN),
                   user="alice", password="Wrong-Pw.1", env=krb_env(ad_dc))
    line = one_line(r)
    assert line == ("smb2fs: cannot log in to %s as '%s\\alice': wrong user "
                    "name or password (STATUS_LOGON_FAILURE)"
                    % (ad_dc.ip, DOMAIN)), line

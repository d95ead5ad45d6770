"""SMB3 encryption (issue 8, part 1) against the real Samba.

  - each of the four ciphers forced on the server (`server smb encrypt =
    required` + `server smb3 encryption algorithms`): the mount encrypts
    without being asked (SMB2_SESSION_FLAG_ENCRYPT_DATA), smbstatus shows
    the cipher, and data survives a copy both ways;
  - `-o seal` against a server that only offers encryption: the session is
    encrypted (smbstatus), AES-128-GCM on 3.1.1, AES-128-CCM on 3.0;
  - a share with `smb encrypt = required` on a server that does not
    require it: the tree connect turns encryption on;
  - one-line mount errors: seal pinned to 2.x, seal against a server that
    cannot encrypt, a share that requires encryption on 2.1.
"""

import hashlib
import os

import pytest

import smbenv

CIPHERS = ["AES-128-CCM", "AES-128-GCM", "AES-256-CCM", "AES-256-GCM"]


def copy_roundtrip(mp, share_dir, rand_bytes, size=3 * 1024 * 1024 + 123):
    data = rand_bytes(size, seed=size)
    with open(os.path.join(mp, "big.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(share_dir, "big.bin"), "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    with open(os.path.join(mp, "big.bin"), "rb") as f:
        assert f.read() == data
    os.mkdir(os.path.join(mp, "d"))
    assert sorted(os.listdir(mp)) == ["big.bin", "d"]


def encryption_of(srv, before):
    sess = srv.new_sessions(before)
    assert len(sess) == 1, sess
    return sess[0]["encryption"], sess[0]["line"]


@pytest.fixture(scope="module", params=CIPHERS)
def smbd_cipher(request):
    srv = smbenv.SambaServer(extra_global={
        "server smb encrypt": "required",
        "server smb3 encryption algorithms": request.param})
    srv.start()
    yield request.param, srv
    srv.stop()


def test_server_forces_cipher(smbd_cipher, mount_factory, rand_bytes):
    cipher, srv = smbd_cipher
    before = {s["pid"] for s in srv.sessions()}
    m = mount_factory(srv, options=["actimeo=0"])
    enc, line = encryption_of(srv, before)
    assert enc == cipher, line
    copy_roundtrip(m.mountpoint, srv.share_dir(), rand_bytes)


@pytest.mark.parametrize("vers,cipher", [("3.1.1", "AES-128-GCM"), ("3.0", "AES-128-CCM")])
def test_seal_option(smbd, share_dir, mount_factory, rand_bytes, vers, cipher):
    before = {s["pid"] for s in smbd.sessions()}
    m = mount_factory(smbd, options=["seal", "vers=" + vers, "actimeo=0", "debug"])
    enc, line = encryption_of(smbd, before)
    # "partial": the server does not require it, the client encrypts; the
    # tree connect (share) line says whether its traffic is encrypted
    assert enc in (cipher, "partial(%s)" % cipher), line
    shares = [ln for ln in smbd.smbstatus("-S").splitlines()
              if ln.split()[:1] == ["share"] and ln.split()[1].isdigit()]
    assert any(cipher in ln for ln in shares), shares
    copy_roundtrip(m.mountpoint, share_dir, rand_bytes)


def test_default_mount_not_encrypted(smbd, share_dir, mount_factory):
    before = {s["pid"] for s in smbd.sessions()}
    mount_factory(smbd)
    enc, line = encryption_of(smbd, before)
    assert enc in ("-", ""), line


@pytest.fixture(scope="module")
def smbd_share_encrypt():
    srv = smbenv.SambaServer(share_opts={"share": {"smb encrypt": "required"}})
    srv.start()
    yield srv
    srv.stop()


def test_share_requires_encryption(smbd_share_encrypt, mount_factory, rand_bytes):
    srv = smbd_share_encrypt
    m = mount_factory(srv, options=["actimeo=0", "debug"])
    copy_roundtrip(m.mountpoint, srv.share_dir(), rand_bytes, size=200000)
    assert "encryption AES-128-GCM" in m.stderr()


def test_share_requires_encryption_on_21(smbd_share_encrypt, run_smb2fs):
    r = run_smb2fs(smbd_share_encrypt.unc(), ["port=%d" % smbd_share_encrypt.port, "vers=2.1"],
                   password=smbd_share_encrypt.password)
    assert r.returncode != 0 and len(r.lines) == 1, r
    assert "\\\\127.0.0.1\\share" in r.lines[0], r


@pytest.mark.parametrize("vers", ["2.0", "2.1"])
def test_seal_pinned_to_2x(smbd, run_smb2fs, vers):
    r = run_smb2fs(smbd.unc(), ["port=%d" % smbd.port, "seal", "vers=" + vers],
                   password=smbd.password)
    assert r.returncode != 0 and len(r.lines) == 1, r
    assert "'seal' option needs SMB 3.0 or later" in r.lines[0], r


@pytest.fixture(scope="module")
def smbd_no_encrypt():
    srv = smbenv.SambaServer(extra_global={"server smb encrypt": "off"})
    srv.start()
    yield srv
    srv.stop()


def test_seal_server_cannot_encrypt(smbd_no_encrypt, run_smb2fs):
    srv = smbd_no_encrypt
    r = run_smb2fs(srv.unc(), ["port=%d" % srv.port, "seal"], password=srv.password)
    assert r.returncode != 0 and len(r.lines) == 1, r
    assert "cannot encrypt with 127.0.0.1" in r.lines[0], r


# The line for a 2.x mount of a share that requires encryption.  Samba
# answers such a TREE_CONNECT with STATUS_ACCESS_DENIED (MS-SMB2 3.3.5.7),
# exactly as it answers a user the share does not allow, so the line must
# name both causes.
@pytest.mark.parametrize("vers,dialect", [("2.0", "2.0.2"), ("2.1", "2.1")])
def test_share_requires_encryption_on_2x_hint(smbd_share_encrypt, run_smb2fs,
                                              vers, dialect):
    srv = smbd_share_encrypt
    r = run_smb2fs(srv.unc(), ["port=%d" % srv.port, "vers=" + vers],
                   password=srv.password)
    assert r.returncode != 0 and len(r.lines) == 1, r
    assert r.lines[0] == (
        "smb2fs: cannot connect to \\\\127.0.0.1\\share: user 'alice' is "
        "logged in but not allowed to use this share, or the share requires "
        "encryption, which needs SMB 3.0 or later and this connection "
        "negotiated SMB %s (STATUS_ACCESS_DENIED)" % dialect), r.lines[0]


def test_access_denied_on_3x_has_no_encryption_hint(smbd_share_encrypt,
                                                    run_smb2fs):
    """The control: on 3.x an encrypted share is no reason for
    ACCESS_DENIED (the tree connect turns encryption on), so a share the
    user may not use is blamed on the user alone."""
    srv = smbd_share_encrypt
    r = run_smb2fs(srv.unc("denied"), ["port=%d" % srv.port, "vers=3.1.1"],
                   password=srv.password)
    assert r.returncode != 0 and len(r.lines) == 1, r
    assert r.lines[0] == (
        "smb2fs: cannot connect to \\\\127.0.0.1\\denied: user 'alice' is "
        "logged in but not allowed to use this share (STATUS_ACCESS_DENIED)"
    ), r.lines[0]

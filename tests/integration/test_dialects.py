"""Every dialect, pinned with -o vers=..., really used (smbstatus says so),
and a server with `server signing = mandatory`."""

import os

import pytest

DIALECTS = {  # -o vers=  ->  smbstatus "Protocol Version"
    "2.0": "SMB2_02",
    "2.1": "SMB2_10",
    "3.0": "SMB3_00",
    "3.0.2": "SMB3_02",
    "3.1.1": "SMB3_11",
}


def round_trip(mp, share_dir, rand_bytes, name="rt.bin"):
    data = rand_bytes(1_000_003, seed=len(name))
    with open(os.path.join(mp, name), "wb") as f:
        f.write(data)
    with open(os.path.join(mp, name), "rb") as f:
        assert f.read() == data
    with open(os.path.join(share_dir, name), "rb") as f:
        assert f.read() == data
    os.unlink(os.path.join(mp, name))


@pytest.mark.parametrize("vers", list(DIALECTS))
def test_dialect_pinned(smbd, share_dir, mount_factory, rand_bytes, vers):
    before = {s["pid"] for s in smbd.sessions()}
    m = mount_factory(smbd, options=["vers=%s" % vers])
    os.listdir(m.mountpoint)
    sess = smbd.new_sessions(before)
    assert len(sess) == 1, smbd.smbstatus("-b")
    assert sess[0]["protocol"] == DIALECTS[vers], sess[0]["line"]
    assert sess[0]["user"] == "smb2fs_alice"
    round_trip(m.mountpoint, share_dir, rand_bytes)


def test_default_dialect_is_3_1_1(smbd, share_dir, mount_factory):
    before = {s["pid"] for s in smbd.sessions()}
    m = mount_factory(smbd)
    os.listdir(m.mountpoint)
    sess = smbd.new_sessions(before)
    assert [s["protocol"] for s in sess] == ["SMB3_11"], sess


@pytest.mark.parametrize("vers", ["2.1", "3.0", "3.1.1"])
def test_signing_mandatory_server(smbd_signing, mount_factory, rand_bytes,
                                  vers):
    share_dir = smbd_signing.share_dir("share")
    before = {s["pid"] for s in smbd_signing.sessions()}
    m = mount_factory(smbd_signing, options=["vers=%s" % vers])
    round_trip(m.mountpoint, share_dir, rand_bytes, name="sig-%s" % vers)
    sess = smbd_signing.new_sessions(before)
    assert len(sess) == 1, smbd_signing.smbstatus("-b")
    assert sess[0]["protocol"] == DIALECTS[vers]
    # smbstatus shows the signing algorithm in use, "-" if unsigned
    assert sess[0]["signing"] not in ("", "-"), sess[0]["line"]


def test_sign_option_against_normal_server(smbd, share_dir, mount_factory,
                                           rand_bytes):
    before = {s["pid"] for s in smbd.sessions()}
    m = mount_factory(smbd, options=["sign", "vers=3.1.1"])
    round_trip(m.mountpoint, share_dir, rand_bytes, name="signopt")
    sess = smbd.new_sessions(before)
    assert len(sess) == 1
    s = sess[0]["signing"]
    assert s not in ("", "-") and not s.startswith("partial"), \
        sess[0]["line"]

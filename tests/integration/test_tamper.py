"""A byte flipped on the path is an error, not data (issue 8, part 6).

smb2fs mounts the real smbd through conftest's `proxy` (a
fault_proxy.FaultProxy, which is a tamper_proxy.TamperProxy), which, once
the session is up and the test arms it, flips one byte in the next reply
of a kind:

  - `seal` mount: one byte of the ciphertext of an encrypted READ reply
    (the AES-GCM tag no longer verifies), and one byte of the next
    encrypted reply of any size (a directory listing);
  - default mount (signed, not encrypted): one byte of the data of a
    signed READ reply (the AES-GMAC signature no longer verifies).

The read (or listing) must fail with EIO, or succeed with the right data
after the connection was dropped and the request retried on a new one;
it must never return the flipped bytes.  The mount stays usable.
"""

import errno
import os

import pytest

SIZE = 4 * 1024 * 1024 + 4321


def read_or_eio(path, m):
    """The file's bytes, or None when the read failed with EIO."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        assert e.errno == errno.EIO, "%s\n%s" % (e, m.stderr()[-3000:])
        return None


@pytest.mark.parametrize("mode", ["seal", "sign"])
def test_flipped_read_reply(mode, smbd, sclient, proxy, mount_factory, rand_bytes):
    data = rand_bytes(SIZE, seed=8)
    # through Samba, which records the creation time the reopen after the
    # reconnect checks (a file made on its disk behind its back reads with
    # another creation time on the next session: ESTALE)
    sclient.put_bytes("f.bin", data)
    m = mount_factory(proxy, options=[mode, "actimeo=0", "debug"])
    path = os.path.join(m.mountpoint, "f.bin")
    assert os.stat(path).st_size == SIZE          # the session is up
    proxy.arm("sealed" if mode == "seal" else "signed", min_len=65536)
    got = read_or_eio(path, m)
    assert proxy.flipped == 1, "the proxy saw no %s READ reply" % mode
    print("%s: flipped READ reply -> %s" % (mode, "EIO" if got is None else "retried"))
    if got is not None:
        # never the flipped bytes: only the right data, on a new connection
        assert got == data
        assert proxy.connections >= 2
    # still usable, and the data read now is right
    assert read_or_eio(path, m) == data
    assert proxy.connections >= 2 or got is None


def test_flipped_sealed_listing(smbd, share_dir, proxy, mount_factory):
    names = sorted("file-%03d" % i for i in range(40))
    for n in names:
        open(os.path.join(share_dir, n), "w").close()
    m = mount_factory(proxy, options=["seal", "actimeo=0"])
    os.stat(m.mountpoint)
    proxy.arm("sealed", min_len=0)     # the next encrypted reply, whatever it is
    try:
        got = sorted(os.listdir(m.mountpoint))
    except OSError as e:
        assert e.errno == errno.EIO, e
        got = None
    assert proxy.flipped == 1
    print("seal: flipped reply to a listing -> %s" % ("EIO" if got is None else "retried"))
    assert got is None or got == names
    assert sorted(os.listdir(m.mountpoint)) == names
    assert proxy.connections >= 2

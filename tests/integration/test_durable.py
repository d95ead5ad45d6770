"""Durable handles (issue 11, part 3): open files survive a lost
connection as the same open on the server.

Every file open on SMB 3.x asks for a durable v2 handle (DH2Q); Samba
grants it with the RWH lease the open asks for.  After a reconnect the
client reclaims it with DH2C (the FileId and CreateGuid, the same
ClientGuid and lease key), so the open keeps its byte-range locks, lease
and delete-pending state; when the server refuses (the smbd serving it
died, or durable handles are off), the identity-checked reopen by name
takes over, and the program sees no error either way.

  (a) the connection cut (fault proxy) while a file is open for writing:
      no error, the right SHA-256, the open reclaimed with DH2C, and a
      byte-range lock taken before the cut still blocks a second mount;
  (b) the smbd child serving the session killed (kill -9): no error, the
      right copy, DH2C tried first and refused, then the reopen;
  (c) an unlinked file still open across a cut: still readable, and gone
      from the server after the close;
  (d) a share with `durable handles = no`: the reconnect reopens as
      before, with no error;
  (e) a lease break the server sent while the connection was already
      dead: the reopened file's lease comes back with the break in
      progress, and it is acknowledged, so another client's open and our
      own rename of the file go through in seconds (without it: over
      20 s here, and 80 s with three reconnects in the mixed load);
  (f) a byte-range lock whose reply went with the connection: sent again
      on the reclaimed handle with the same LockSequence, the server
      answers it as done instead of refusing it for the lock it already
      took.
"""

import errno
import fcntl
import os
import threading
import time

import pytest

import smbenv

RECLAIMED = "reclaimed durable handle"
REFUSED = "durable reclaim of"


def lock_refused(path, start, length):
    """True when a write lock on [start, start+length) of path (opened
    for writing) is refused at once."""
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, length, start)
        except OSError as e:
            assert e.errno in (errno.EAGAIN, errno.EACCES), e
            return True
        fcntl.lockf(fd, fcntl.LOCK_UN, length, start)
        return False
    finally:
        os.close(fd)


def write_across(fd, part1, part2, fault):
    os.write(fd, part1)
    os.fsync(fd)
    fault()
    os.write(fd, part2)
    os.fsync(fd)
    assert os.pread(fd, len(part1) + len(part2), 0) == part1 + part2


def test_cut_reclaims_durable_handle(smbd, share_dir, proxy, mount_factory, rand_bytes):
    m = mount_factory(proxy, options=["debug", "actimeo=0", "echo_interval=2"])
    other = mount_factory(smbd, options=["actimeo=0"])
    name = "durable.bin"
    part1, part2 = rand_bytes(300_000, seed=1), rand_bytes(500_000, seed=2)
    fd = os.open(os.path.join(m.mountpoint, name), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 100, 0)
        assert lock_refused(os.path.join(other.mountpoint, name), 0, 100)
        before = proxy.connections
        write_across(fd, part1, part2, proxy.cut)
        assert proxy.connections > before, "no reconnect happened"
        log = m.stderr()
        assert RECLAIMED in log, log[-4000:]
        assert REFUSED not in log, log[-4000:]
        # the lock held by the reclaimed open still keeps others out, and
        # it was not taken a second time (no "lost with the connection")
        assert lock_refused(os.path.join(other.mountpoint, name), 0, 100)
        assert "lost with the connection" not in log, log[-4000:]
        fcntl.lockf(fd, fcntl.LOCK_UN, 100, 0)
        assert smbenv.wait_for(lambda: not lock_refused(os.path.join(other.mountpoint, name), 0, 100),
                               10, interval=0.1) is not None
    finally:
        os.close(fd)
    assert smbenv.sha256_file(os.path.join(share_dir, name)) == smbenv.sha256(part1 + part2)


@pytest.mark.slow
def test_killed_smbd_falls_back_to_reopen(smbd, share_dir, mount_factory, rand_bytes):
    before = {s["pid"] for s in smbd.sessions()}
    m = mount_factory(smbd, options=["debug", "actimeo=0"])
    name = "killed.bin"
    part1, part2 = rand_bytes(200_000, seed=3), rand_bytes(400_000, seed=4)
    fd = os.open(os.path.join(m.mountpoint, name), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        write_across(fd, part1, part2, lambda: smbd.kill_session(before))
    finally:
        os.close(fd)
    assert smbenv.sha256_file(os.path.join(share_dir, name)) == smbenv.sha256(part1 + part2)
    log = m.stderr()
    # DH2C first, refused (the open died with its smbd), then the reopen
    assert REFUSED in log, log[-4000:]
    assert "reopen " in log[log.index(REFUSED):], log[-4000:]
    assert "cannot reopen" not in log, log[-4000:]


def test_unlinked_open_file_survives_cut(smbd, share_dir, proxy, mount_factory, rand_bytes):
    m = mount_factory(proxy, options=["debug", "actimeo=0", "echo_interval=2"])
    data = rand_bytes(100_000, seed=5)
    path = os.path.join(m.mountpoint, "gone.bin")
    with open(path, "wb") as f:
        f.write(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.unlink(path)
        assert "gone.bin" not in os.listdir(m.mountpoint)
        # on the server: only the reserved name, delete-pending
        assert all(n.startswith(".smb2fs-deleted-") for n in os.listdir(share_dir))
        proxy.cut()
        assert os.fstat(fd).st_size == len(data)
        assert os.pread(fd, len(data), 0) == data
        log = m.stderr()
        assert RECLAIMED in log, log[-4000:]
    finally:
        os.close(fd)
    # delete-on-close was kept by the reclaimed open: the file goes now
    assert smbenv.wait_for(lambda: not [n for n in os.listdir(share_dir)
                                        if n.startswith(".smb2fs-deleted-")],
                           10, interval=0.1) is not None, os.listdir(share_dir)
    assert os.listdir(m.mountpoint) == []


def test_break_lost_with_the_connection_is_acknowledged(smbd, share_dir, proxy, mount_factory,
                                                       rand_bytes):
    m = mount_factory(proxy, options=["debug", "echo_interval=2"])
    other = mount_factory(smbd, options=["actimeo=0"])
    name, moved = "breaking.bin", "broken.bin"
    data = rand_bytes(100_000, seed=8)
    path = os.path.join(m.mountpoint, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)  # our open holds RWH now
        # The other mount's open makes the server break our lease; the
        # notice goes into the dead connection.
        proxy.blackhole()
        other_done = []

        def other_write(off):
            with open(os.path.join(other.mountpoint, name), "r+b") as f:
                f.seek(off)
                f.write(b"B" * 10)
            other_done.append(time.monotonic())

        t = threading.Thread(target=other_write, args=(0,))
        t.start()
        # our watchdog gives the connection up (2 x echo_interval); the
        # server then lets the other mount in
        assert smbenv.wait_for(lambda: "the connection is dead" in m.stderr(), 15,
                               interval=0.1) is not None, m.stderr()[-4000:]
        proxy.heal()
        t.join(40)
        assert other_done, "the other mount's open never went through"
        # Our next call reopens the open (Samba closed the durable one
        # for the other mount's open) with the same lease key, and the
        # server's lease is still breaking: the reply says so.
        assert os.pread(fd, 10, 0) == b"B" * 10
        assert smbenv.wait_for(lambda: "lease break in progress at an open" in m.stderr(), 10,
                               interval=0.1) is not None, m.stderr()[-4000:]
        # Acknowledged: the file is not held for anyone, ourselves
        # included (without the acknowledgment both waited over 20 s).
        start = time.monotonic()
        t = threading.Thread(target=other_write, args=(10,))
        t.start()
        t.join(20)
        assert len(other_done) == 2, "the other mount's second open hung"
        assert other_done[1] - start < 10
        start = time.monotonic()
        os.rename(path, os.path.join(m.mountpoint, moved))
        assert time.monotonic() - start < 10
        assert os.pread(fd, 20, 0) == b"B" * 20
        # (a refused acknowledgment is logged with its status)
        assert "lease break acknowledgment:" not in m.stderr(), m.stderr()[-4000:]
    finally:
        os.close(fd)
    assert smbenv.sha256_file(os.path.join(share_dir, moved)) == \
        smbenv.sha256(b"B" * 20 + data[20:])


def test_lock_sent_again_after_its_reply_was_lost(smbd, share_dir, proxy, mount_factory):
    m = mount_factory(proxy, options=["debug", "echo_interval=2"])
    other = mount_factory(smbd)
    name = "relock.bin"
    fd = os.open(os.path.join(m.mountpoint, name), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"x" * 100)
        os.fsync(fd)  # a durable handle with its lease
        got = []

        def lock():
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
                got.append("locked")
            except OSError as e:
                got.append(e)

        # The server takes the lock; its reply is the frame the proxy
        # swallows, then the connection goes.
        proxy.drop(1)
        t = threading.Thread(target=lock)
        t.start()
        assert smbenv.wait_for(lambda: proxy.dropped == 1, 10, interval=0.05) is not None
        proxy.cut()
        t.join(30)
        log = m.stderr()
        assert got == ["locked"], (got, log[-4000:])
        assert RECLAIMED in log, log[-4000:]
        assert lock_refused(os.path.join(other.mountpoint, name), 0, 10)
        fcntl.lockf(fd, fcntl.LOCK_UN, 10, 0)
        assert smbenv.wait_for(lambda: not lock_refused(os.path.join(other.mountpoint, name), 0, 10),
                               10, interval=0.1) is not None
    finally:
        os.close(fd)


@pytest.fixture(scope="module")
def smbd_nodurable():
    smbenv.need_samba()
    srv = smbenv.SambaServer(share_opts={"share": {"durable handles": "no"}})
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def proxy_nodurable(smbd_nodurable, fault_proxies):
    # torn down after the mount (requested before mount_factory): the
    # unmount still needs the server
    return fault_proxies(smbd_nodurable)


def test_no_durable_handles_reopens(smbd_nodurable, proxy_nodurable, mount_factory, rand_bytes):
    share_dir = smbd_nodurable.share_dir("share")
    for n in os.listdir(share_dir):
        os.unlink(os.path.join(share_dir, n))
    p = proxy_nodurable
    m = mount_factory(p, options=["debug", "actimeo=0", "echo_interval=2"])
    part1, part2 = rand_bytes(150_000, seed=6), rand_bytes(250_000, seed=7)
    fd = os.open(os.path.join(m.mountpoint, "plain.bin"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        write_across(fd, part1, part2, p.cut)
    finally:
        os.close(fd)
    log = m.stderr()
    assert "durable handle for" not in log, log[-4000:]
    assert RECLAIMED not in log and REFUSED not in log, log[-4000:]
    assert "reopen " in log, log[-4000:]
    assert smbenv.sha256_file(os.path.join(share_dir, "plain.bin")) == smbenv.sha256(part1 + part2)

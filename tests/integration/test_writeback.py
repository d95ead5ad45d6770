"""Write-behind (src/client/writeback.c): write() is answered once the data
is queued; the data is on the server when close() or fsync() returns, any
failure of queued data is reported by a later write, fsync or close (never
lost silently), a reader sees what was written, other clients see it
within about a second, and a dropped connection loses nothing."""

import errno
import os
import subprocess
import time

import pytest



def test_small_writes_arrive_in_order(mnt, share_dir, rand_bytes):
    data = rand_bytes(3 * 1024 * 1024 + 123, seed=11)
    p = os.path.join(mnt, "seq.bin")
    with open(p, "wb", buffering=0) as f:
        for i in range(0, len(data), 4096):
            f.write(data[i:i + 4096])
    # close() returned: the server has all of it
    with open(os.path.join(share_dir, "seq.bin"), "rb") as f:
        assert f.read() == data


def test_rewrites_of_the_same_bytes_keep_the_last(mnt, share_dir):
    # Overlapping writes must reach the server in the order they were made.
    p = os.path.join(mnt, "over.bin")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for i in range(200):
            os.pwrite(fd, bytes([i]) * (256 * 1024), 0)
            os.pwrite(fd, bytes([i]) * 10, 1024 * 1024 + i)
    finally:
        os.close(fd)
    with open(os.path.join(share_dir, "over.bin"), "rb") as f:
        got = f.read()
    assert got[:256 * 1024] == bytes([199]) * (256 * 1024)
    assert got[1024 * 1024 + 199:1024 * 1024 + 209] == bytes([199]) * 10


def test_writes_through_two_descriptors_keep_their_order(mnt, share_dir):
    # write() through fd a returned before the same bytes were written
    # through fd b: b's data must be what the server keeps.
    p = os.path.join(mnt, "two.bin")
    a = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    b = os.open(p, os.O_WRONLY)
    try:
        for i in range(50):
            os.pwrite(a, bytes([i]) * 300_000, 0)
            os.pwrite(b, bytes([100 + i]) * 300_000, 0)
    finally:
        os.close(a)
        os.close(b)
    with open(os.path.join(share_dir, "two.bin"), "rb") as f:
        assert f.read() == bytes([149]) * 300_000


def read_after_write(mountpoint):
    """Writes through one descriptor, reads through it and through a second
    one (its pages dropped, so the read goes to the filesystem), and stats:
    every view must show the write at once.  Leaves raw.bin behind."""
    p = os.path.join(mountpoint, "raw.bin")
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    other = None
    try:
        os.write(fd, b"hello world")
        assert os.pread(fd, 11, 0) == b"hello world"        # same handle
        os.pwrite(fd, b"HELLO", 0)
        other = os.open(p, os.O_RDONLY)
        os.posix_fadvise(other, 0, 0, os.POSIX_FADV_DONTNEED)
        assert os.pread(other, 11, 0) == b"HELLO world"     # another handle
        assert os.fstat(fd).st_size == 11
        assert os.stat(p).st_size == 11
    finally:
        os.close(fd)
        if other is not None:
            os.close(other)


def test_read_after_write_sees_the_data(mnt, share_dir):
    read_after_write(mnt)


def test_fsync_puts_data_on_the_server(mnt, share_dir, rand_bytes):
    data = rand_bytes(300_000, seed=12)
    fd = os.open(os.path.join(mnt, "fs.bin"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
        with open(os.path.join(share_dir, "fs.bin"), "rb") as f:
            assert f.read() == data  # before close
    finally:
        os.close(fd)


def test_quiet_writer_data_reaches_the_server(mnt, share_dir):
    # A writer that stops without closing: its data goes out within ~1 s.
    fd = os.open(os.path.join(mnt, "quiet.log"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"one line\n")
        deadline = time.time() + 5
        got = b""
        while time.time() < deadline:
            with open(os.path.join(share_dir, "quiet.log"), "rb") as f:
                got = f.read()
            if got:
                break
            time.sleep(0.1)
        assert got == b"one line\n"
    finally:
        os.close(fd)


def test_cache_none_writes_through(smbd, share_dir, mount_factory):
    m = mount_factory(smbd, options=["cache=none"])
    fd = os.open(os.path.join(m.mountpoint, "wt.bin"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"x" * 5000)
        # no close, no fsync: with cache=none write() returned after the server had it
        with open(os.path.join(share_dir, "wt.bin"), "rb") as f:
            assert f.read() == b"x" * 5000
    finally:
        os.close(fd)


@pytest.fixture
def small_fs(share_dir):
    """A 1 MiB tmpfs inside the share: writing more gives the server
    STATUS_DISK_FULL."""
    d = os.path.join(share_dir, "small")
    os.mkdir(d)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0777", "tmpfs", d], check=True)
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", d])
        os.rmdir(d)


def errors_writing_past_full(p):
    """Writes 3 MiB in 4 KiB writes into p (on a 1 MiB filesystem), then
    fsync and close; returns the errnos they raised, in order."""
    errs = []
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for _ in range(3 * 256):  # 3 MiB into 1 MiB
            try:
                os.write(fd, b"z" * 4096)
            except OSError as e:
                errs.append(e.errno)
                break
        try:
            os.fsync(fd)
        except OSError as e:
            errs.append(e.errno)
    finally:
        try:
            os.close(fd)
        except OSError as e:
            errs.append(e.errno)
    return errs


def test_queued_write_failure_is_reported(mnt, small_fs):
    errs = errors_writing_past_full(os.path.join(mnt, "small", "big.bin"))
    assert errs and errs[0] == errno.ENOSPC, errs


@pytest.mark.slow
def test_connection_lost_mid_stream_loses_nothing(smbd, share_dir, mount_factory, rand_bytes):
    before = {s["pid"] for s in smbd.sessions()}
    m = mount_factory(smbd)
    data = rand_bytes(8 * 1024 * 1024, seed=13)
    with open(os.path.join(m.mountpoint, "cut.bin"), "wb", buffering=0) as f:
        half = len(data) // 2
        for i in range(0, half, 65536):
            f.write(data[i:i + 65536])
        smbd.kill_session(before)
        for i in range(half, len(data), 65536):
            f.write(data[i:i + 65536])
    with open(os.path.join(share_dir, "cut.bin"), "rb") as f:
        assert f.read() == data
    assert m.proc.poll() is None  # still serving


def test_listing_beside_queued_writes_keeps_the_size(mnt, share_dir, rand_bytes):
    """A directory listing taken while writes are still queued shows the
    server's (smaller) size for the file being written.  That size must not
    reach the kernel as the file's attributes: it would cut the file short
    for every reader until the attributes expire (and under a read lease
    they do not)."""
    path = os.path.join(mnt, "growing.bin")
    data = rand_bytes(300 * 1024)
    with open(path, "wb") as f:
        for i in range(0, len(data), 50 * 1024):
            f.write(data[i:i + 50 * 1024])
            f.flush()              # to the daemon, still queued there
            os.listdir(mnt)        # the server has less than that
            assert os.stat(path).st_size == i + 50 * 1024
    with open(path, "rb") as f:
        assert f.read() == data
    with open(os.path.join(share_dir, "growing.bin"), "rb") as f:
        assert f.read() == data


def test_truncate_through_another_descriptor_wins(mnt, share_dir, rand_bytes):
    """Writes still queued on one descriptor go out before a truncation
    through another one (ftruncate, or an O_TRUNC open), not after it:
    otherwise they bring the old size and the cut data back (found by the
    random integrity tester)."""
    path = os.path.join(mnt, "cut.bin")
    data = rand_bytes(100000)
    fd1 = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.pwrite(fd1, data, 0)
        fd2 = os.open(path, os.O_WRONLY)
        os.ftruncate(fd2, 50000)
        assert os.fstat(fd2).st_size == 50000
        os.close(fd2)
        assert os.stat(path).st_size == 50000
        os.pwrite(fd1, b"x" * 10, 0)
        fd3 = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.close(fd3)
    finally:
        os.close(fd1)
    assert os.stat(path).st_size == 0
    assert os.path.getsize(os.path.join(share_dir, "cut.bin")) == 0

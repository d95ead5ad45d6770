"""Coherence between clients (issue 11 part 4): with cache=strict (the
default) what another client writes -- smbclient here, a second mount in
test_leases.py and below -- is what a reader on this mount gets within a
second, also through a descriptor that stayed open and had read (and
cached) the old data, and also when the size changed: the server breaks
this mount's lease, and smb2fs drops the kernel's pages and attributes of
the file (src/client/lease.c, fs_lease_lost in src/fs/fs.c).

The reader mounts use actimeo=30: without the lease break nothing would
make them look at the server again within these tests."""

import os
import time

import pytest

from smbenv import poll
from test_compound import Log
from test_leases import _put, _read

WITHIN = 1.0  # seconds: the promise


def _reader(smbd, mount_factory, extra=()):
    return mount_factory(smbd, options=["debug", "actimeo=30"] + list(extra))


def _read_all(fd):
    size = os.fstat(fd).st_size
    return os.pread(fd, size + 4096, 0)


@pytest.mark.parametrize("new", [
    pytest.param(b"version-2" * 1000, id="same-size"),
    pytest.param(b"grown-up!" * 3000, id="grow"),
    pytest.param(b"short", id="shrink"),
])
def test_smbclient_put_reaches_an_open_reader(smbd, share_dir, mount_factory,
                                              sclient, new):
    old = b"version-1" * 1000
    _put(share_dir, "f.bin", old)
    a = _reader(smbd, mount_factory)
    pa = os.path.join(a.mountpoint, "f.bin")
    fd = os.open(pa, os.O_RDONLY)
    try:
        assert _read_all(fd) == old  # in the page cache now
        assert os.fstat(fd).st_size == len(old)
        log = Log(a)
        log.mark()
        t0 = time.time()
        sclient.put_bytes("f.bin", new)
        # through the descriptor that stayed open: size and data
        assert poll(lambda: os.fstat(fd).st_size, len(new), WITHIN) == len(new)
        assert poll(lambda: _read_all(fd), new, WITHIN) == new
        assert time.time() - t0 < WITHIN + 2  # (smbclient's own run included)
        # and by name, to stat and to a new open
        assert os.stat(pa).st_size == len(new)
        assert _read(pa) == new
        assert "lease break f.bin" in log.since()
    finally:
        os.close(fd)


def test_smbclient_put_after_the_reader_closed(smbd, share_dir, mount_factory,
                                              sclient):
    """Read, close (the handle stays open under the lease: deferred close,
    the kernel keeps the pages), another client rewrites, reopen: the new
    data at once, for a same-size, a larger and a smaller rewrite."""
    _put(share_dir, "c.txt", b"AAAA" * 100)
    a = _reader(smbd, mount_factory)
    pa = os.path.join(a.mountpoint, "c.txt")
    assert _read(pa) == b"AAAA" * 100
    for new in (b"BBBB" * 100, b"CCCC" * 900, b"DD"):
        sclient.put_bytes("c.txt", new)
        assert poll(lambda: _read(pa), new, WITHIN) == new
        assert poll(lambda: os.stat(pa).st_size, len(new), WITHIN) == len(new)


def test_reader_open_across_several_rewrites(smbd, share_dir, mount_factory,
                                             sclient):
    """One descriptor open the whole time, the file rewritten again and
    again by smbclient: every version shows through it, each within a
    second of the put."""
    _put(share_dir, "r.txt", b"v0")
    a = _reader(smbd, mount_factory)
    fd = os.open(os.path.join(a.mountpoint, "r.txt"), os.O_RDONLY)
    try:
        assert _read_all(fd) == b"v0"
        for i in range(1, 6):
            new = (b"v%d-" % i) * (1 + 700 * (i % 3))
            sclient.put_bytes("r.txt", new)
            t0 = time.time()
            assert poll(lambda: _read_all(fd), new, WITHIN) == new
            assert time.time() - t0 < WITHIN
    finally:
        os.close(fd)


def test_appends_reach_a_tail_reader(smbd, share_dir, mount_factory):
    """A log another client appends to, line after line, through a
    descriptor it keeps open (a second mount, O_APPEND): a reader here
    that keeps its descriptor open sees each line within a second, as
    `tail -f` would, though only the first append can break a lease."""
    _put(share_dir, "log.txt", b"line0\n")
    a = _reader(smbd, mount_factory)
    b = mount_factory(smbd)
    fd = os.open(os.path.join(a.mountpoint, "log.txt"), os.O_RDONLY)
    wfd = os.open(os.path.join(b.mountpoint, "log.txt"),
                  os.O_WRONLY | os.O_APPEND)
    try:
        want = b"line0\n"
        assert _read_all(fd) == want
        for i in range(1, 5):
            line = b"line%d\n" % i
            os.write(wfd, line)
            os.fsync(wfd)
            want += line
            t0 = time.time()
            assert poll(lambda: _read_all(fd), want, WITHIN) == want
            assert time.time() - t0 < WITHIN
    finally:
        os.close(wfd)
        os.close(fd)


@pytest.mark.parametrize("size", [3, 40000], ids=["shrink", "grow"])
def test_other_mounts_resize_reaches_an_open_reader(smbd, share_dir,
                                                    mount_factory, size):
    """A second mount truncates (or extends) and rewrites the file the
    reader holds open: the reader's size and data follow within a
    second."""
    _put(share_dir, "s.bin", b"0123456789" * 1000)
    a = _reader(smbd, mount_factory)
    b = mount_factory(smbd)
    fd = os.open(os.path.join(a.mountpoint, "s.bin"), os.O_RDONLY)
    try:
        assert _read_all(fd) == b"0123456789" * 1000
        new = (b"x" * size)
        with open(os.path.join(b.mountpoint, "s.bin"), "r+b") as f:
            f.truncate(size)
            f.seek(0)
            f.write(new)
        assert poll(lambda: os.fstat(fd).st_size, size, WITHIN) == size
        assert poll(lambda: _read_all(fd), new, WITHIN) == new
    finally:
        os.close(fd)


def test_writer_mount_sees_smbclient_put_in_its_open_file(smbd, share_dir,
                                                          mount_factory,
                                                          sclient):
    """The mount holds the file open read-write (an RWH lease, writes
    queued and sent): smbclient's put breaks it; the descriptor then
    reads what smbclient wrote."""
    a = _reader(smbd, mount_factory)
    pa = os.path.join(a.mountpoint, "rw.txt")
    fd = os.open(pa, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        os.write(fd, b"mine" * 10)
        os.fsync(fd)
        assert os.pread(fd, 100, 0) == b"mine" * 10
        sclient.put_bytes("rw.txt", b"theirs")
        assert poll(lambda: _read_all(fd), b"theirs", WITHIN) == b"theirs"
    finally:
        os.close(fd)
    assert _read(os.path.join(share_dir, "rw.txt")) == b"theirs"

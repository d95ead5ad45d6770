"""cache=loose: the kernel's FUSE writeback cache (fs.c fs_init).

write() lands in the kernel's page cache and the kernel sends dirty pages
in WRITEs of up to max_write, so `dd bs=4k` costs one FUSE request per
MiB instead of one per 4 KiB.  What that brings, and what is checked here:

  * the kernel reads the rest of a page a write covers only in part, also
    through an O_WRONLY descriptor: such opens ask the server for read
    access too, and open without it (and bypass the page cache) when the
    server refuses;
  * dirty pages go out through whichever writing handle the kernel picks,
    so close() and fsync() of one descriptor wait for every handle of the
    file (O_APPEND from two descriptors);
  * the kernel keeps size and mtime itself and sends mtime back with
    SETATTR at flush: tar x / cp -p times still come out right;
  * a failure of the server (ENOSPC) still reaches fsync()/close().

Each test says what it would do without cache=loose's changes.
"""

import errno
import os
import random
import re
import subprocess
import time

import pytest

import test_times
from test_writeback import errors_writing_past_full, read_after_write, small_fs  # noqa: F401 (fixture)

LOOSE = ["cache=loose"]


@pytest.fixture
def loose_factory(mount_factory):
    """mount_factory with cache=loose (also for test_times' fresh mounts)."""
    def make(server, **kw):
        kw["options"] = LOOSE + list(kw.get("options", []))
        return mount_factory(server, **kw)
    return make


@pytest.fixture
def lmnt(smbd, share_dir, loose_factory):
    return loose_factory(smbd).mountpoint


def on_disk(share_dir, name):
    with open(os.path.join(share_dir, name), "rb") as f:
        return f.read()


def fuse_writes(log):
    """Sizes of the WRITE requests libfuse's -d log shows."""
    return [int(n) for n in re.findall(r"^\s*write(?:page)?\[\d+\] (\d+) bytes to",
                                       log, re.M)]


def test_4k_writes_are_gathered_by_the_kernel(smbd, share_dir, loose_factory,
                                              rand_bytes):
    """Without the writeback cache every 4 KiB write() is one FUSE WRITE
    (1280 here); with it the kernel sends whole MiBs."""
    m = loose_factory(smbd, extra_args=["-d"])
    data = rand_bytes(5 * 1024 * 1024 + 1000, seed=21)
    with open(os.path.join(m.mountpoint, "seq.bin"), "wb", buffering=0) as f:
        for i in range(0, len(data), 4096):
            f.write(data[i:i + 4096])
    # close() returned: the server has all of it
    assert on_disk(share_dir, "seq.bin") == data
    sizes = fuse_writes(m.stderr())
    assert sum(sizes) >= len(data)
    assert len(sizes) <= 64, "%d FUSE writes for %d 4 KiB write()s" % (
        len(sizes), len(data) // 4096)


def test_random_overwrites_are_exact_after_close(lmnt, share_dir, rand_bytes):
    size = 3 * 1024 * 1024 + 77
    want = bytearray(rand_bytes(size, seed=22))
    p = os.path.join(lmnt, "rnd.bin")
    with open(p, "wb") as f:
        f.write(want)
    r = random.Random(23)
    fd = os.open(p, os.O_RDWR)
    try:
        for _ in range(500):
            off = r.randrange(size + 1000)
            n = r.randrange(1, 9000)
            chunk = bytes([r.randrange(256)]) * n
            os.pwrite(fd, chunk, off)
            if off > len(want):
                want.extend(b"\0" * (off - len(want)))
            want[off:off + n] = chunk
    finally:
        os.close(fd)
    assert on_disk(share_dir, "rnd.bin") == bytes(want)


def test_o_append_from_two_descriptors(lmnt, share_dir):
    """The kernel writes both descriptors' pages through the newest
    writing handle: close() of the other one must still wait for them
    (without smb2_flush_file they sat queued on that handle for up to a
    second after close() returned)."""
    p = os.path.join(lmnt, "log.txt")
    with open(p, "wb") as f:
        f.write(b"start\n")
    a = os.open(p, os.O_WRONLY | os.O_APPEND)
    b = os.open(p, os.O_WRONLY | os.O_APPEND)
    want = b"start\n"
    try:
        for i in range(50):
            la, lb = b"a%03d\n" % i, b"b%03d\n" % i
            os.write(a, la)
            os.write(b, lb)
            want += la + lb
    finally:
        os.close(a)
    assert on_disk(share_dir, "log.txt") == want  # right after close(a)
    os.write(b, b"last\n")
    os.close(b)
    assert on_disk(share_dir, "log.txt") == want + b"last\n"


def test_read_after_write(lmnt, share_dir):
    read_after_write(lmnt)
    assert on_disk(share_dir, "raw.bin") == b"HELLO world"


def test_partial_page_write_through_o_wronly(lmnt, share_dir):
    """The kernel reads the rest of the page through the O_WRONLY handle:
    without read access on it the write() failed."""
    with open(os.path.join(share_dir, "wo.txt"), "wb") as f:
        f.write(b"0123456789" * 1000)
    os.chmod(os.path.join(share_dir, "wo.txt"), 0o666)
    fd = os.open(os.path.join(lmnt, "wo.txt"), os.O_WRONLY)
    try:
        os.pwrite(fd, b"abc", 5000)
    finally:
        os.close(fd)
    want = bytearray(b"0123456789" * 1000)
    want[5000:5003] = b"abc"
    assert on_disk(share_dir, "wo.txt") == bytes(want)


def test_write_only_file_on_the_server(smbd, share_dir, loose_factory):
    """A file the share lets us write but not read (mode 0222, owned by
    root).  The O_WRONLY open asks for read access too, is refused, and
    asks again without it.  Samba grants such a file neither
    FILE_READ_DATA nor FILE_READ_EA, and every smb2fs open asks for
    FILE_READ_EA (fileid.c), so the second CREATE is refused too: EACCES,
    as with cache=strict (where it is the only CREATE)."""
    path = os.path.join(share_dir, "wonly.bin")
    with open(path, "wb") as f:
        f.write(b"x" * 10000)
    os.chmod(path, 0o222)
    denied = {}
    for mode in ("strict", "loose"):
        m = loose_factory(smbd, options=["debug", "cache=" + mode])
        with pytest.raises(PermissionError):
            os.open(os.path.join(m.mountpoint, "wonly.bin"), os.O_WRONLY)
        denied[mode] = len(re.findall(r"< CREATE .*STATUS_ACCESS_DENIED",
                                      m.stderr()))
    assert denied == {"strict": 1, "loose": 2}
    assert on_disk(share_dir, "wonly.bin") == b"x" * 10000


def test_fsync_puts_data_on_the_server(lmnt, share_dir, rand_bytes):
    data = rand_bytes(300_000, seed=24)
    fd = os.open(os.path.join(lmnt, "fs.bin"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
        assert on_disk(share_dir, "fs.bin") == data  # before close
    finally:
        os.close(fd)


def test_enospc_is_reported_by_fsync_or_close(lmnt, small_fs):  # noqa: F811
    """3 MiB into 1 MiB: write() only fills the page cache, so the failure
    comes from fsync() (or close()), never lost."""
    errs = errors_writing_past_full(os.path.join(lmnt, "small", "big.bin"))
    assert errs and errs[0] == errno.ENOSPC, errs


def test_tar_x_keeps_every_mtime(smbd, share_dir, loose_factory, scratch):
    test_times.test_tar_x_keeps_every_mtime(smbd, share_dir, loose_factory,
                                            scratch)


def test_cp_p_keeps_mtime(smbd, share_dir, loose_factory, scratch):
    test_times.test_cp_p_keeps_mtime(smbd, share_dir, loose_factory, scratch)


def test_write_after_utime_takes_the_writes_time(smbd, share_dir,
                                                 loose_factory):
    test_times.test_write_after_utime_takes_the_writes_time(
        smbd, share_dir, loose_factory)


def test_utime_then_close_without_more_writes(smbd, share_dir, loose_factory):
    test_times.test_utime_then_close_without_more_writes(
        smbd, share_dir, loose_factory)


def test_mtime_is_the_last_write_not_the_close(smbd, lmnt, share_dir):
    """The kernel stamps write() and sends that time at flush."""
    p = os.path.join(lmnt, "late.txt")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"data")
        t = time.time()
        time.sleep(2.5)  # past Samba's delayed write-time update
    finally:
        os.close(fd)
    test_times.wait_closed(smbd)
    m = os.stat(os.path.join(share_dir, "late.txt")).st_mtime
    assert t - 1 <= m <= t + 1, m - t


def test_other_clients_changes(lmnt, share_dir, sclient):
    """What cache=loose gives up (docs/options.md): the kernel keeps a
    cached file's size itself.  Contents within that size are read again
    at each open (or kept while a read lease says they are current: the
    other client's write breaks it); the server's new size shows once the
    kernel dropped the inode (here: drop_caches with the file closed)."""
    p = os.path.join(lmnt, "c.txt")
    with open(p, "wb") as f:
        f.write(b"a" * 100)
    with open(p, "rb") as f:
        assert f.read() == b"a" * 100
    sclient.put_bytes("c.txt", b"b" * 100)  # same size, by another client
    with open(p, "rb") as f:
        assert f.read() == b"b" * 100
    sclient.put_bytes("c.txt", b"b" * 100 + b"c" * 50)  # grows, by another client
    time.sleep(1.2)  # past actimeo
    subprocess.run(["sh", "-c", "sync; echo 2 > /proc/sys/vm/drop_caches"],
                   check=True)
    assert os.stat(p).st_size == 150
    with open(p, "rb") as f:
        assert f.read() == b"b" * 100 + b"c" * 50

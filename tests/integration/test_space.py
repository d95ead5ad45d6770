"""Space and server-side copy (src/client/space.c, src/fs/ops_space.c):
fallocate's modes, SEEK_DATA/SEEK_HOLE from the server's allocated ranges,
st_blocks from the allocation size, and copy_file_range as
FSCTL_SRV_COPYCHUNK_WRITE, which moves no file data over the connection.

The share lives on the test machine's disk (ext4 here: punching holes and
SEEK_DATA work there), so the server's view is os.stat / os.lseek on
share_dir.  Bytes on the connection are the kernel's own counters of the
mount's TCP socket (`ss -ti`: bytes_sent / bytes_received)."""

import ctypes
import errno
import os
import subprocess

import pytest

import smbenv

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_ZERO_RANGE = 0x10
MiB = 1024 * 1024

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                            ctypes.c_int64]


def fallocate(fd, mode, off, length):
    if _libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def conn_bytes(pid, port):
    return smbenv.tcp_bytes(pid, port)


@pytest.fixture
def mount(smbd, share_dir, mount_factory):
    return mount_factory(smbd)


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o666)  # made on the server's disk: alice may write it


# ---- fallocate ------------------------------------------------------------


def test_fallocate_default_extends_with_zeros(mount, share_dir):
    p = os.path.join(mount.mountpoint, "a.bin")
    write_file(p, b"x" * 1000)
    fd = os.open(p, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, 3 * MiB)
        assert os.fstat(fd).st_size == 3 * MiB
        # inside the file: nothing changes
        os.posix_fallocate(fd, 100, 200)
        assert os.fstat(fd).st_size == 3 * MiB
    finally:
        os.close(fd)
    assert os.stat(p).st_size == 3 * MiB
    assert os.stat(os.path.join(share_dir, "a.bin")).st_size == 3 * MiB
    with open(p, "rb") as f:
        got = f.read()
    assert got == b"x" * 1000 + bytes(3 * MiB - 1000)


def test_fallocate_keep_size_keeps_size(mount, share_dir):
    p = os.path.join(mount.mountpoint, "k.bin")
    write_file(p, b"y" * 5000)
    fd = os.open(p, os.O_RDWR)
    try:
        fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 * MiB)
        assert os.fstat(fd).st_size == 5000
    finally:
        os.close(fd)
    assert os.stat(os.path.join(share_dir, "k.bin")).st_size == 5000
    with open(p, "rb") as f:
        assert f.read() == b"y" * 5000


def test_fallocate_unsupported_modes(mount):
    p = os.path.join(mount.mountpoint, "u.bin")
    write_file(p, b"z" * 8192)
    fd = os.open(p, os.O_RDWR)
    try:
        for mode in (FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_PUNCH_HOLE):
            with pytest.raises(OSError) as e:
                fallocate(fd, mode, 0, 4096)
            assert e.value.errno == errno.EOPNOTSUPP, mode
    finally:
        os.close(fd)
    with open(p, "rb") as f:
        assert f.read() == b"z" * 8192


def test_punch_hole_reads_zeros_and_frees_blocks(mount, share_dir,
                                                 rand_bytes):
    data = rand_bytes(4 * MiB, seed=3)
    srv = os.path.join(share_dir, "p.bin")
    write_file(srv, data)
    os.sync()
    blocks_before = os.stat(srv).st_blocks
    p = os.path.join(mount.mountpoint, "p.bin")
    with open(p, "rb") as f:  # the kernel caches pages that the punch must drop
        assert f.read() == data
    fd = os.open(p, os.O_RDWR)
    try:
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  MiB, 2 * MiB)
        assert os.fstat(fd).st_size == 4 * MiB
        assert os.pread(fd, 2 * MiB, MiB) == bytes(2 * MiB)
    finally:
        os.close(fd)
    expect = data[:MiB] + bytes(2 * MiB) + data[3 * MiB:]
    with open(p, "rb") as f:
        assert f.read() == expect
    with open(srv, "rb") as f:
        assert f.read() == expect
    st = os.stat(srv)
    assert st.st_size == 4 * MiB
    # 2 MiB (4096 sectors) were given back on the server's disk
    assert st.st_blocks <= blocks_before - 4096 + 16, (blocks_before,
                                                       st.st_blocks)
    # and st_blocks on the mount follows the server's allocation size
    assert os.stat(p).st_blocks <= blocks_before - 4096 + 16
    # the punched range is a hole the server can show
    fd = os.open(p, os.O_RDONLY)
    try:
        assert os.lseek(fd, MiB, os.SEEK_HOLE) == MiB
        assert os.lseek(fd, MiB, os.SEEK_DATA) == 3 * MiB
    finally:
        os.close(fd)


def test_fallocate_fills_the_holes_of_a_sparse_file(mount, share_dir,
                                                    rand_bytes):
    data = rand_bytes(4 * MiB, seed=5)
    srv = os.path.join(share_dir, "h.bin")
    write_file(srv, data)
    p = os.path.join(mount.mountpoint, "h.bin")
    fd = os.open(p, os.O_RDWR)
    try:
        # the punch makes the file sparse on the server, with a 2 MiB hole
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, MiB, 2 * MiB)
        os.sync()
        holed = os.stat(srv).st_blocks
        # allocating over it gives the blocks back, the data unchanged
        os.posix_fallocate(fd, 0, 4 * MiB)
        assert os.fstat(fd).st_size == 4 * MiB
    finally:
        os.close(fd)
    os.sync()
    assert os.stat(srv).st_blocks >= holed + 4096 - 16, (holed,
                                                         os.stat(srv).st_blocks)
    expect = data[:MiB] + bytes(2 * MiB) + data[3 * MiB:]
    with open(srv, "rb") as f:
        assert f.read() == expect
    with open(p, "rb") as f:
        assert f.read() == expect


def test_fallocate_of_a_big_hole_is_not_written(mount, share_dir):
    # more than 64 MiB of zeros to write: refused, as cifs (glibc's
    # posix_fallocate then writes one byte a block itself)
    p = os.path.join(mount.mountpoint, "big-hole.bin")
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.ftruncate(fd, 100 * MiB)
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 100 * MiB)
        with pytest.raises(OSError) as e:
            fallocate(fd, 0, 0, 100 * MiB)
        assert e.value.errno == errno.EOPNOTSUPP
        fallocate(fd, 0, 0, 10 * MiB)  # this much is written
    finally:
        os.close(fd)
    os.sync()
    st = os.stat(os.path.join(share_dir, "big-hole.bin"))
    assert st.st_size == 100 * MiB
    assert 10 * MiB // 512 <= st.st_blocks < 20 * MiB // 512, st.st_blocks


def test_zero_range(mount, share_dir, rand_bytes):
    data = rand_bytes(MiB, seed=4)
    p = os.path.join(mount.mountpoint, "z.bin")
    write_file(p, data)
    fd = os.open(p, os.O_RDWR)
    try:
        fallocate(fd, FALLOC_FL_ZERO_RANGE, 100, 5000)
        assert os.fstat(fd).st_size == MiB
        # past the end without KEEP_SIZE: the size grows
        fallocate(fd, FALLOC_FL_ZERO_RANGE, MiB - 10, 1010)
        assert os.fstat(fd).st_size == MiB + 1000
        # with KEEP_SIZE it does not
        fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                  MiB, 2 * MiB)
        assert os.fstat(fd).st_size == MiB + 1000
    finally:
        os.close(fd)
    expect = data[:100] + bytes(5000) + data[5100:MiB - 10] + bytes(1010)
    with open(os.path.join(share_dir, "z.bin"), "rb") as f:
        assert f.read() == expect
    with open(p, "rb") as f:
        assert f.read() == expect


def test_zero_range_after_queued_writes(mount, share_dir):
    # write() queued the data (write-behind); the zeroing must come after it
    p = os.path.join(mount.mountpoint, "q.bin")
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, b"\xee" * (2 * MiB))
        fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 4096, 8192)
    finally:
        os.close(fd)
    with open(os.path.join(share_dir, "q.bin"), "rb") as f:
        got = f.read()
    assert got == b"\xee" * 4096 + bytes(8192) + b"\xee" * (2 * MiB - 12288)


@pytest.fixture(scope="module")
def smbd_strict():
    """An smbd whose share allocates what it is asked to ("strict
    allocate = yes"; Samba's default only checks the free space)."""
    srv = smbenv.SambaServer(share_opts={"share": {"strict allocate": "yes"}})
    srv.start()
    yield srv
    srv.stop()


def test_st_blocks_from_the_allocation_size(smbd_strict, mount_factory):
    share = smbd_strict.share_dir("share")
    m = mount_factory(smbd_strict)
    p = os.path.join(m.mountpoint, "alloc.bin")
    srv = os.path.join(share, "alloc.bin")
    write_file(p, b"a" * 4096)
    fd = os.open(p, os.O_RDWR)
    try:
        fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 8 * MiB)
        assert os.fstat(fd).st_size == 4096
        # the server allocated beyond the end of file, and says so
        assert os.stat(srv).st_blocks >= 8 * MiB // 512
        assert os.fstat(fd).st_blocks >= 8 * MiB // 512
        os.posix_fallocate(fd, 0, 12 * MiB)
        assert os.fstat(fd).st_size == 12 * MiB
        assert os.stat(srv).st_size == 12 * MiB
        assert os.stat(srv).st_blocks >= 12 * MiB // 512
        assert os.stat(p).st_blocks >= 12 * MiB // 512
    finally:
        os.close(fd)
    os.unlink(p)


# ---- SEEK_DATA / SEEK_HOLE --------------------------------------------------


def test_seek_data_and_hole_on_a_sparse_file(mount, share_dir):
    srv = os.path.join(share_dir, "sparse.bin")
    with open(srv, "wb") as f:
        f.truncate(8 * MiB)
        f.seek(MiB)
        f.write(b"d" * (64 * 1024))
        f.seek(5 * MiB)
        f.write(b"e" * (64 * 1024))
    os.chmod(srv, 0o666)
    os.sync()
    p = os.path.join(mount.mountpoint, "sparse.bin")
    # Samba 4.17 reports a file it did not mark sparse (its DOS attributes)
    # as allocated throughout, however its disk blocks lie: then the
    # answers are the generic ones, all data
    fd = os.open(p, os.O_RDONLY)
    try:
        assert os.lseek(fd, 0, os.SEEK_DATA) == 0
        assert os.lseek(fd, 3 * MiB, os.SEEK_DATA) == 3 * MiB
        assert os.lseek(fd, 0, os.SEEK_HOLE) == 8 * MiB
    finally:
        os.close(fd)
    # a punch (of what is a hole already) makes it sparse (FSCTL_SET_SPARSE)
    fd = os.open(p, os.O_RDWR)
    try:
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 3 * MiB,
                  MiB)
    finally:
        os.close(fd)
    fd = os.open(p, os.O_RDONLY)
    sfd = os.open(srv, os.O_RDONLY)
    try:
        cases = [(0, os.SEEK_DATA), (0, os.SEEK_HOLE),
                 (MiB, os.SEEK_HOLE), (MiB + 100, os.SEEK_DATA),
                 (MiB + 64 * 1024, os.SEEK_DATA), (3 * MiB, os.SEEK_HOLE),
                 (5 * MiB + 10, os.SEEK_HOLE), (7 * MiB, os.SEEK_HOLE)]
        for off, whence in cases:
            assert os.lseek(fd, off, whence) == os.lseek(sfd, off, whence), (
                off, whence)
        assert os.lseek(fd, 0, os.SEEK_DATA) == MiB
        assert os.lseek(fd, MiB, os.SEEK_HOLE) == MiB + 64 * 1024
        assert os.lseek(fd, 2 * MiB, os.SEEK_DATA) == 5 * MiB
        assert os.lseek(fd, 7 * MiB, os.SEEK_HOLE) == 7 * MiB
        for off in (5 * MiB + 64 * 1024, 8 * MiB, 9 * MiB):
            with pytest.raises(OSError) as e:
                os.lseek(fd, off, os.SEEK_DATA)
            assert e.value.errno == errno.ENXIO, off
        with pytest.raises(OSError) as e:
            os.lseek(fd, 8 * MiB, os.SEEK_HOLE)
        assert e.value.errno == errno.ENXIO
    finally:
        os.close(fd)
        os.close(sfd)


def test_seek_on_a_full_file_and_queued_writes(mount):
    p = os.path.join(mount.mountpoint, "full.bin")
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, b"f" * 300000)  # queued: the server must have it first
        assert os.lseek(fd, 0, os.SEEK_DATA) == 0
        assert os.lseek(fd, 1000, os.SEEK_DATA) == 1000
        assert os.lseek(fd, 1000, os.SEEK_HOLE) == 300000
    finally:
        os.close(fd)


# ---- copy_file_range ------------------------------------------------------


def copy_all(src, dst, count, offset_src=None, offset_dst=None):
    fi = os.open(src, os.O_RDONLY)
    fo = os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644)
    done = 0
    try:
        while done < count:
            n = os.copy_file_range(
                fi, fo, count - done,
                None if offset_src is None else offset_src + done,
                None if offset_dst is None else offset_dst + done)
            if n == 0:
                break
            done += n
    finally:
        os.close(fi)
        os.close(fo)
    return done


def test_copy_file_range_moves_no_data(smbd, mount, share_dir, rand_bytes):
    data = rand_bytes(48 * MiB, seed=7)
    write_file(os.path.join(share_dir, "big.bin"), data)
    src = os.path.join(mount.mountpoint, "big.bin")
    dst = os.path.join(mount.mountpoint, "big.copy")
    os.stat(src)
    before = conn_bytes(mount.pid(), smbd.port)
    assert copy_all(src, dst, len(data)) == len(data)
    after = conn_bytes(mount.pid(), smbd.port)
    moved = (after[0] - before[0]) + (after[1] - before[1])
    # a few requests of a few hundred bytes each, not 48 MiB
    assert moved < 256 * 1024, moved
    assert os.stat(dst).st_size == len(data)
    digest = smbenv.sha256(data)
    assert smbenv.sha256_file(os.path.join(share_dir, "big.copy")) == digest
    assert smbenv.sha256_file(dst) == digest


def test_copy_file_range_with_offsets(mount, share_dir, rand_bytes):
    a = rand_bytes(3 * MiB + 17, seed=8)
    b = rand_bytes(5 * MiB, seed=9)
    write_file(os.path.join(share_dir, "a.bin"), a)
    write_file(os.path.join(share_dir, "b.bin"), b)
    src = os.path.join(mount.mountpoint, "a.bin")
    dst = os.path.join(mount.mountpoint, "b.bin")
    with open(dst, "rb") as f:  # pages the copy must invalidate
        assert f.read() == b
    n = MiB + 5
    assert copy_all(src, dst, n, 12345, 2 * MiB + 3) == n
    expect = b[:2 * MiB + 3] + a[12345:12345 + n] + b[2 * MiB + 3 + n:]
    with open(dst, "rb") as f:
        assert f.read() == expect
    with open(os.path.join(share_dir, "b.bin"), "rb") as f:
        assert f.read() == expect
    # past the source's end: what there is, then 0
    assert copy_all(src, dst, 10 * MiB, 3 * MiB, 6 * MiB) == 17
    assert os.stat(dst).st_size == 6 * MiB + 17
    with open(dst, "rb") as f:
        f.seek(5 * MiB)
        assert f.read() == bytes(MiB) + a[3 * MiB:]


def test_copy_file_range_sees_queued_writes(mount, share_dir, rand_bytes):
    data = rand_bytes(3 * MiB + 4321, seed=10)
    src = os.path.join(mount.mountpoint, "w.bin")
    dst = os.path.join(mount.mountpoint, "w.copy")
    fw = os.open(src, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fw, data)             # queued, no fsync
        os.write(fd, b"\x01" * 5000)   # queued into the destination
        fi = os.open(src, os.O_RDONLY)
        try:
            n = os.copy_file_range(fi, fd, len(data), 0, 0)
        finally:
            os.close(fi)
        assert n == len(data)
        # the destination's queued write went out before, not after
    finally:
        os.close(fw)
        os.close(fd)
    with open(os.path.join(share_dir, "w.copy"), "rb") as f:
        assert f.read() == data
    with open(dst, "rb") as f:
        assert f.read() == data


@pytest.mark.parametrize("cp", [["cp"], ["cp", "--reflink=auto"]])
def test_cp_copies_within_the_share(smbd, mount, share_dir, rand_bytes, cp):
    data = rand_bytes(64 * MiB, seed=12)
    write_file(os.path.join(share_dir, "cp.bin"), data)
    src = os.path.join(mount.mountpoint, "cp.bin")
    dst = os.path.join(mount.mountpoint, "cp.copy")
    os.stat(src)
    before = conn_bytes(mount.pid(), smbd.port)
    subprocess.run(cp + [src, dst], check=True, timeout=120)
    after = conn_bytes(mount.pid(), smbd.port)
    moved = (after[0] - before[0]) + (after[1] - before[1])
    assert moved < MiB, moved  # coreutils 9 cp: copy_file_range
    digest = smbenv.sha256(data)
    assert smbenv.sha256_file(os.path.join(share_dir, "cp.copy")) == digest
    assert smbenv.sha256_file(dst) == digest


def test_copy_file_range_with_the_kernels_writeback_cache(smbd, share_dir,
                                                          mount_factory,
                                                          rand_bytes):
    # cache=loose: the source's and the destination's dirty pages are the
    # kernel's; it writes them before it asks for the copy
    m = mount_factory(smbd, options=["cache=loose"])
    data = rand_bytes(2 * MiB + 99, seed=13)
    src = os.path.join(m.mountpoint, "l.bin")
    dst = os.path.join(m.mountpoint, "l.copy")
    fw = os.open(src, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    fd = os.open(dst, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fw, data)
        os.write(fd, b"\x02" * 3 * MiB)
        assert os.copy_file_range(fw, fd, len(data), 0, 4096) == len(data)
        assert os.pread(fd, len(data), 4096) == data
    finally:
        os.close(fw)
        os.close(fd)
    with open(os.path.join(share_dir, "l.copy"), "rb") as f:
        got = f.read()
    assert got == b"\x02" * 4096 + data + b"\x02" * (3 * MiB - 4096 - len(data))


def test_copy_and_punch_after_a_reconnect(smbd, share_dir, mount_factory,
                                          rand_bytes):
    # the connection is gone when the copy starts: it reconnects, the
    # handles are reopened, and the copy asks the reopened source for a
    # new resume key (the old one named an open the server closed)
    before = {s["pid"] for s in smbd.sessions()}
    m = mount_factory(smbd)
    data = rand_bytes(20 * MiB + 3, seed=14)
    write_file(os.path.join(share_dir, "r.bin"), data)
    src = os.path.join(m.mountpoint, "r.bin")
    dst = os.path.join(m.mountpoint, "r.copy")
    fi = os.open(src, os.O_RDWR)
    fo = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        victim = smbd.kill_session(before)
        done = 0
        while done < len(data):
            n = os.copy_file_range(fi, fo, len(data) - done, done, done)
            assert n > 0
            done += n
        fallocate(fi, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, MiB)
    finally:
        os.close(fi)
        os.close(fo)
    assert smbenv.sha256_file(os.path.join(share_dir, "r.copy")) == \
        smbenv.sha256(data)
    with open(os.path.join(share_dir, "r.bin"), "rb") as f:
        assert f.read() == bytes(MiB) + data[MiB:]
    # it was a new session that did it
    assert [x for x in smbd.sessions()
            if x["pid"] not in before | {victim}]

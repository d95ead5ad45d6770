"""Modification times set while a file is open for writing, and fsync.

What tar and cp -p do on this mount (strace): open(O_WRONLY|O_CREAT|O_EXCL),
write, futimens(fd) -- which reaches FUSE as utimens(path) without a file
handle -- then fchown/fchmod, then close.  The times must survive the close
of the writing handle, on the server's disk and through the mount.

Each check looks at the mount after the attribute cache (actimeo=1) ran
out, and through a fresh mount, so what is seen is what the server has.
"""

import errno
import io
import os
import subprocess
import tarfile
import time

import pytest

OLD = 1_000_000_000  # 2001-09-09


def wait_closed(smbd, timeout=10):
    """Waits until the server has no open files: a FUSE release (and so
    our CLOSE) runs after close(2) has returned."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if "Locked files:" not in smbd.smbstatus("-L"):
            return
        time.sleep(0.1)
    pytest.fail("files still open on the server:\n" + smbd.smbstatus("-L"))


def mtimes(root, names):
    return {n: int(os.stat(os.path.join(root, n)).st_mtime) for n in names}


def check_mtimes(root, want, where):
    got = mtimes(root, want)
    wrong = sorted(n for n in want if got[n] != want[n])
    assert not wrong, "%s: %d of %d mtimes wrong, e.g. %s: %d, want %d" % (
        where, len(wrong), len(want), wrong[0], got[wrong[0]], want[wrong[0]])


def check_everywhere(smbd, mount_factory, share_dir, mp, want):
    """want: name -> mtime (seconds), on disk, via mp, via a fresh mount."""
    wait_closed(smbd)
    check_mtimes(share_dir, want, "server's disk")
    time.sleep(1.2)  # past actimeo=1
    check_mtimes(mp, want, "the same mount")
    check_mtimes(mount_factory(smbd).mountpoint, want, "a fresh mount")


def test_tar_x_keeps_every_mtime(smbd, share_dir, mount_factory, scratch):
    mp = mount_factory(smbd).mountpoint
    archive = os.path.join(scratch, "a.tar")
    want = {}
    with tarfile.open(archive, "w") as t:
        d = tarfile.TarInfo("dir")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        d.mtime = OLD
        t.addfile(d)
        for i in range(50):
            name = "dir/f%02d.txt" % i
            data = (b"%d " % i) * (1 + i * 37)
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = OLD + i * 86_400 + i  # distinct, all in the past
            t.addfile(ti, io.BytesIO(data))
            want[name] = ti.mtime
    want["dir"] = OLD
    subprocess.run(["tar", "xf", archive, "-C", mp], check=True)
    check_everywhere(smbd, mount_factory, share_dir, mp, want)


def test_cp_p_keeps_mtime(smbd, share_dir, mount_factory, scratch):
    mp = mount_factory(smbd).mountpoint
    src = os.path.join(scratch, "src.txt")
    with open(src, "wb") as f:
        f.write(b"preserve me\n" * 1000)
    os.utime(src, (OLD + 5, OLD + 7))
    subprocess.run(["cp", "-p", src, os.path.join(mp, "copy.txt")],
                   check=True)
    check_everywhere(smbd, mount_factory, share_dir, mp,
                     {"copy.txt": OLD + 7})
    with open(os.path.join(share_dir, "copy.txt"), "rb") as f:
        assert f.read() == b"preserve me\n" * 1000


@pytest.mark.parametrize("how", ["path", "fd"])
def test_utime_while_open_for_write_is_kept(smbd, share_dir, mount_factory,
                                            how):
    mp = mount_factory(smbd).mountpoint
    p = os.path.join(mp, "u.txt")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"data")
        os.utime(p if how == "path" else fd, (OLD, OLD + 1))
        time.sleep(2.5)  # past Samba's delayed write-time update
    finally:
        os.close(fd)
    check_everywhere(smbd, mount_factory, share_dir, mp,
                     {"u.txt": OLD + 1})


def test_utime_after_rename_of_open_file(smbd, share_dir, mount_factory):
    mp = mount_factory(smbd).mountpoint
    fd = os.open(os.path.join(mp, "a.txt"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"data")
        os.rename(os.path.join(mp, "a.txt"), os.path.join(mp, "b.txt"))
        os.utime(os.path.join(mp, "b.txt"), (OLD, OLD + 2))
    finally:
        os.close(fd)
    check_everywhere(smbd, mount_factory, share_dir, mp, {"b.txt": OLD + 2})


def test_write_after_utime_takes_the_writes_time(smbd, share_dir,
                                                 mount_factory):
    """POSIX: a write after an explicit mtime updates it again.  The
    explicit time stops the server stamping that handle's writes, so the
    client sets the last write's time at close: mtime is the time of the
    last write, not the old time and not the close (2.5 s later)."""
    mp = mount_factory(smbd).mountpoint
    p = os.path.join(mp, "w.txt")
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"first ")
        os.utime(fd, (OLD, OLD))
        t0 = time.time()
        os.write(fd, b"second")
        t1 = time.time()
        time.sleep(2.5)
    finally:
        os.close(fd)
    wait_closed(smbd)
    for where in (share_dir, mp):
        if where == mp:
            time.sleep(1.2)
        m = os.stat(os.path.join(where, "w.txt")).st_mtime
        assert t0 - 1 <= m <= t1 + 1, (where, m - t0)
    with open(os.path.join(share_dir, "w.txt"), "rb") as f:
        assert f.read() == b"first second"


def test_utime_then_close_without_more_writes(smbd, share_dir,
                                              mount_factory):
    """utime after the last write, then fsync and close: still kept (the
    close-time fix-up is only for writes that follow the utime)."""
    mp = mount_factory(smbd).mountpoint
    p = os.path.join(mp, "k.txt")
    with open(p, "wb") as f:
        f.write(b"x" * 100_000)
        f.flush()
        os.utime(f.fileno(), (OLD, OLD + 3))
        os.fsync(f.fileno())
    check_everywhere(smbd, mount_factory, share_dir, mp, {"k.txt": OLD + 3})


def test_fsync_read_only_fd_returns_0(mnt, sclient):
    sclient.put_bytes("ro.txt", b"read only")
    fd = os.open(os.path.join(mnt, "ro.txt"), os.O_RDONLY)
    try:
        assert os.read(fd, 100) == b"read only"
        os.fsync(fd)       # EACCES before: FLUSH on a read-only handle
        os.fdatasync(fd)
    finally:
        os.close(fd)


def test_fsync_written_fd_puts_data_on_server(mnt, share_dir, rand_bytes):
    data = rand_bytes(200_003, seed=3)
    for flags in (os.O_WRONLY, os.O_RDWR):
        name = "s%d.bin" % flags
        fd = os.open(os.path.join(mnt, name), flags | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
            with open(os.path.join(share_dir, name), "rb") as f:
                assert f.read() == data  # before close
        finally:
            os.close(fd)


def test_truncate_path_while_open_for_write(mnt, share_dir):
    """truncate(path) goes through the open writing handle."""
    p = os.path.join(mnt, "t.bin")
    with open(p, "wb") as f:
        f.write(b"0123456789")
        f.flush()
        os.truncate(p, 4)
        f.seek(0, os.SEEK_END)
        with open(os.path.join(share_dir, "t.bin"), "rb") as g:
            assert g.read() == b"0123"
    with pytest.raises(OSError) as e:
        os.truncate(os.path.join(mnt, "missing"), 0)
    assert e.value.errno == errno.ENOENT

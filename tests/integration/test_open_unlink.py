"""Unlink of an open file (issue 9 part 3): the name goes at once, the
descriptors keep the data until the last close, then the file is gone on
the server; and rename of a directory that holds open files (part 4): the
descriptors keep working under the new name.  Checked through the mount and
in the share directory on disk.
"""

import fcntl
import os

import pytest

from smbenv import server_names, wait_for


def visible_server_names(share_dir):
    """server_names without the reserved names unlinked-but-open files wait
    under at the share root (the mount never shows them)."""
    return [n for n in server_names(share_dir)
            if not n.startswith(".smb2fs-deleted-")]


def assert_no_hidden_in_mount(mp):
    for root, dirs, files in os.walk(mp):
        for n in dirs + files:
            assert not n.startswith(".fuse_hidden"), (root, n)
            assert not n.startswith(".smb2fs-deleted-"), (root, n)


def test_unlink_open_file_keeps_data_until_close(mnt, share_dir):
    d = os.path.join(mnt, "d")
    os.mkdir(d)
    p = os.path.join(d, "f.bin")
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"hello world")
        mode = os.fstat(fd).st_mode
        os.unlink(p)
        assert os.fstat(fd).st_mode == mode
        assert os.fstat(fd).st_size == 11
        assert os.listdir(d) == []
        assert not os.path.exists(p)
        assert os.listdir(os.path.join(share_dir, "d")) == []
        assert_no_hidden_in_mount(mnt)
        # the descriptor keeps working, data consistent
        assert os.pread(fd, 100, 0) == b"hello world"
        os.pwrite(fd, b"WORLD", 6)
        os.fsync(fd)
        assert os.pread(fd, 100, 0) == b"hello WORLD"
        assert os.fstat(fd).st_size == 11
        os.write(fd, b"!" * 100_000)
        os.fsync(fd)
        assert os.fstat(fd).st_size == 11 + 100_000
        assert os.pread(fd, 11, 0) == b"hello WORLD"
    finally:
        os.close(fd)
    wait_for(lambda: server_names(share_dir) == ["d"], 5)
    assert server_names(share_dir) == ["d"]
    os.rmdir(d)
    assert server_names(share_dir) == []
    assert os.listdir(mnt) == []


def test_rmdir_of_emptied_parent(mnt, share_dir):
    d = os.path.join(mnt, "p")
    os.mkdir(d)
    p = os.path.join(d, "f")
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"x" * 1000)
        os.unlink(p)
        os.rmdir(d)  # the file no longer lives there
        assert not os.path.exists(d)
        assert os.pread(fd, 10, 0) == b"x" * 10
    finally:
        os.close(fd)
    wait_for(lambda: server_names(share_dir) == [], 5)
    assert server_names(share_dir) == []


def test_two_descriptors_keep_working(mnt, share_dir):
    p = os.path.join(mnt, "two.bin")
    with open(p, "wb") as f:
        f.write(b"0123456789")
    rw = os.open(p, os.O_RDWR)
    ro = os.open(p, os.O_RDONLY)
    try:
        os.unlink(p)
        assert os.listdir(mnt) == []
        assert visible_server_names(share_dir) == []
        assert os.pread(ro, 10, 0) == b"0123456789"
        os.pwrite(rw, b"ab", 0)
        os.fsync(rw)
        assert os.pread(ro, 10, 0) == b"ab23456789"
        os.close(rw)
        rw = -1
        assert os.pread(ro, 10, 0) == b"ab23456789"
        assert os.fstat(ro).st_size == 10
    finally:
        if rw >= 0:
            os.close(rw)
        os.close(ro)
    wait_for(lambda: server_names(share_dir) == [], 5)
    assert server_names(share_dir) == []


def test_new_file_with_same_name(mnt, share_dir):
    p = os.path.join(mnt, "same")
    old = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(old, b"old data")
        os.unlink(p)
        with open(p, "wb") as f:
            f.write(b"new")
        assert os.listdir(mnt) == ["same"]
        assert visible_server_names(share_dir) == ["same"]
        with open(os.path.join(share_dir, "same"), "rb") as f:
            assert f.read() == b"new"
        assert os.pread(old, 100, 0) == b"old data"
        os.pwrite(old, b"OLD", 0)
        os.fsync(old)
        with open(p, "rb") as f:
            assert f.read() == b"new"
        assert os.pread(old, 100, 0) == b"OLD data"
    finally:
        os.close(old)
    wait_for(lambda: server_names(share_dir) == ["same"], 5)
    assert server_names(share_dir) == ["same"]
    with open(p, "rb") as f:
        assert f.read() == b"new"


def test_second_mount_does_not_see_name(smbd, share_dir, mount_factory):
    a = mount_factory(smbd).mountpoint
    b = mount_factory(smbd).mountpoint
    p = os.path.join(a, "shared.txt")
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"data")
        os.fsync(fd)
        assert os.path.exists(os.path.join(b, "shared.txt"))
        os.unlink(p)
        # (the second mount's cached entry lasts actimeo)
        wait_for(lambda: not os.listdir(b)
                 and not os.path.exists(os.path.join(b, "shared.txt")), 5,
                 interval=0.2)
        assert os.listdir(b) == []
        assert not os.path.exists(os.path.join(b, "shared.txt"))
        assert_no_hidden_in_mount(b)
        assert os.pread(fd, 10, 0) == b"data"
    finally:
        os.close(fd)
    wait_for(lambda: server_names(share_dir) == [], 5)
    assert server_names(share_dir) == []


def test_rename_over_open_file(mnt, share_dir):
    t = os.path.join(mnt, "target")
    with open(t, "wb") as f:
        f.write(b"old")
    fd = os.open(t, os.O_RDONLY)
    try:
        with open(os.path.join(mnt, "src"), "wb") as f:
            f.write(b"new!")
        os.rename(os.path.join(mnt, "src"), t)
        assert os.listdir(mnt) == ["target"]
        assert visible_server_names(share_dir) == ["target"]
        assert disk(share_dir, "target") == b"new!"
        assert os.pread(fd, 10, 0) == b"old"
        assert os.fstat(fd).st_size == 3
    finally:
        os.close(fd)
    wait_for(lambda: server_names(share_dir) == ["target"], 5)
    assert server_names(share_dir) == ["target"]


# ---- rename of a directory that holds open files (part 4)


def disk(share_dir, rel):
    with open(os.path.join(share_dir, rel), "rb") as f:
        return f.read()


def test_rename_dir_with_open_file(mnt, share_dir):
    os.mkdir(os.path.join(mnt, "a"))
    fd = os.open(os.path.join(mnt, "a", "file"), os.O_RDWR | os.O_CREAT, 0o644)
    ro = None
    try:
        os.write(fd, b"before ")
        os.fsync(fd)
        ro = os.open(os.path.join(mnt, "a", "file"), os.O_RDONLY)
        os.rename(os.path.join(mnt, "a"), os.path.join(mnt, "b"))
        assert os.listdir(mnt) == ["b"]
        assert os.listdir(os.path.join(share_dir)) == ["b"]
        os.write(fd, b"after")
        os.fsync(fd)
        assert os.pread(fd, 100, 0) == b"before after"
        assert os.pread(ro, 100, 0) == b"before after"
        assert disk(share_dir, "b/file") == b"before after"
        assert os.fstat(fd).st_size == 12
    finally:
        os.close(fd)
        if ro is not None:
            os.close(ro)
    assert disk(share_dir, "b/file") == b"before after"
    with open(os.path.join(mnt, "b", "file"), "rb") as f:
        assert f.read() == b"before after"


def test_rename_nested_dirs_with_open_files(mnt, share_dir):
    deep = os.path.join(mnt, "a", "x", "y")
    os.makedirs(deep)
    f1 = os.open(os.path.join(deep, "f1"), os.O_RDWR | os.O_CREAT, 0o644)
    f2 = os.open(os.path.join(mnt, "a", "f2"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(f1, b"one")
        os.write(f2, b"two")
        os.rename(os.path.join(mnt, "a"), os.path.join(mnt, "c"))
        os.rename(os.path.join(mnt, "c", "x"), os.path.join(mnt, "c", "z"))
        os.write(f1, b"-1")
        os.write(f2, b"-2")
        os.fsync(f1)
        os.fsync(f2)
        assert disk(share_dir, "c/z/y/f1") == b"one-1"
        assert disk(share_dir, "c/f2") == b"two-2"
        assert os.pread(f1, 100, 0) == b"one-1"
    finally:
        os.close(f1)
        os.close(f2)
    assert sorted(server_names(share_dir)) == sorted(
        ["c", "c/f2", "c/z", "c/z/y", "c/z/y/f1"])


def test_rename_dir_keeps_queued_writes(mnt, share_dir, rand_bytes):
    os.mkdir(os.path.join(mnt, "q"))
    data = rand_bytes(3_000_000, seed=7)
    fd = os.open(os.path.join(mnt, "q", "big"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for off in range(0, len(data), 10_000):
            os.write(fd, data[off:off + 10_000])
        # no fsync: write-behind still holds some of it
        os.rename(os.path.join(mnt, "q"), os.path.join(mnt, "r"))
        os.write(fd, b"tail")
    finally:
        os.close(fd)
    assert disk(share_dir, "r/big") == data + b"tail"
    assert not os.path.exists(os.path.join(share_dir, "q"))


def test_rename_dir_keeps_lock(smbd, share_dir, mount_factory):
    a = mount_factory(smbd).mountpoint
    b = mount_factory(smbd).mountpoint
    os.mkdir(os.path.join(a, "l"))
    fd = os.open(os.path.join(a, "l", "f"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"locked")
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(os.path.join(a, "l"), os.path.join(a, "m"))
        other = os.open(os.path.join(b, "m", "f"), os.O_RDWR)
        try:
            with pytest.raises(OSError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(other, fcntl.LOCK_UN)
        finally:
            os.close(other)
        assert os.pread(fd, 10, 0) == b"locked"
    finally:
        os.close(fd)

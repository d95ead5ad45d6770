"""Mounting a directory inside a share (issue 10 part 4): //server/share/sub/dir
shows sub/dir, as mount.cifs's prefix path does.  Every operation lands below
that directory on the server's disk, the unlinked-open reserved name waits in
that directory (hidden as at the share root), a reconnect keeps the prefix,
and a prefix that is missing or not a directory fails the mount with one
line naming it and the NT status.
"""

import os

import pytest

from smbenv import server_names, wait_for
from test_errors import one_line


@pytest.fixture
def subdir(share_dir):
    """share/sub/dir on disk with a file and a directory in it, and files
    outside it that the mount must not show."""
    d = os.path.join(share_dir, "sub", "dir")
    os.makedirs(os.path.join(d, "inner"))
    with open(os.path.join(d, "a.txt"), "w") as f:
        f.write("alpha\n")
    with open(os.path.join(d, "inner", "b.txt"), "w") as f:
        f.write("beta\n")
    with open(os.path.join(share_dir, "outside.txt"), "w") as f:
        f.write("not shown\n")
    with open(os.path.join(share_dir, "sub", "sibling.txt"), "w") as f:
        f.write("not shown\n")
    open_up(share_dir)
    return d


def open_up(root):
    """What root made on disk, writable by the share's users (as the
    share directory itself is)."""
    for dirpath, dirs, files in os.walk(root):
        for n in dirs:
            os.chmod(os.path.join(dirpath, n), 0o777)
        for n in files:
            os.chmod(os.path.join(dirpath, n), 0o666)


def test_listing_and_stat(smbd, subdir, mount_factory):
    m = mount_factory(smbd, share="share/sub/dir")
    mp = m.mountpoint
    assert sorted(os.listdir(mp)) == ["a.txt", "inner"]
    assert os.listdir(os.path.join(mp, "inner")) == ["b.txt"]
    with open(os.path.join(mp, "a.txt")) as f:
        assert f.read() == "alpha\n"
    assert os.stat(os.path.join(mp, "inner", "b.txt")).st_size == 5
    # nothing outside the prefix is reachable by name
    assert not os.path.exists(os.path.join(mp, "outside.txt"))
    assert not os.path.exists(os.path.join(mp, "sibling.txt"))
    assert not os.path.exists(os.path.join(mp, "dir"))
    # the root is the prefix directory (its times are that directory's)
    st = os.stat(mp)
    assert os.path.isdir(mp)
    assert abs(st.st_mtime - os.stat(subdir).st_mtime) < 2
    sv = os.statvfs(mp)
    assert sv.f_blocks > 0 and sv.f_bsize > 0
    # /proc/mounts names the directory, as for cifs
    with open("/proc/self/mounts") as f:
        src = [ln.split()[0] for ln in f if ln.split()[1] == mp]
    assert src == ["//127.0.0.1/share/sub/dir"], src


def test_changes_land_under_the_prefix(smbd, share_dir, subdir,
                                       mount_factory):
    m = mount_factory(smbd, share="share/sub/dir")
    mp = m.mountpoint
    outside = sorted(n for n in server_names(share_dir)
                     if not n.startswith("sub/dir"))

    with open(os.path.join(mp, "new.txt"), "w") as f:
        f.write("new\n")
    with open(os.path.join(subdir, "new.txt")) as f:
        assert f.read() == "new\n"
    with open(os.path.join(mp, "new.txt"), "a") as f:
        f.write("more\n")
    with open(os.path.join(subdir, "new.txt")) as f:
        assert f.read() == "new\nmore\n"

    os.mkdir(os.path.join(mp, "d1"))
    os.mkdir(os.path.join(mp, "d2"))
    assert os.path.isdir(os.path.join(subdir, "d1"))
    os.rename(os.path.join(mp, "new.txt"), os.path.join(mp, "d1", "moved.txt"))
    assert os.path.isfile(os.path.join(subdir, "d1", "moved.txt"))
    # between two directories of the mount: both names under the prefix
    os.rename(os.path.join(mp, "d1", "moved.txt"),
              os.path.join(mp, "d2", "moved2.txt"))
    assert os.listdir(os.path.join(subdir, "d1")) == []
    assert os.listdir(os.path.join(subdir, "d2")) == ["moved2.txt"]
    # a directory renamed into another one
    os.rename(os.path.join(mp, "d1"), os.path.join(mp, "d2", "d1"))
    assert os.path.isdir(os.path.join(subdir, "d2", "d1"))
    # a hard link
    os.link(os.path.join(mp, "a.txt"), os.path.join(mp, "d2", "a-link"))
    assert os.stat(os.path.join(subdir, "d2", "a-link")).st_ino == \
        os.stat(os.path.join(subdir, "a.txt")).st_ino
    # a symlink (mfsymlinks): the target text is the mount's, as given
    os.symlink("../a.txt", os.path.join(mp, "d2", "sym"))
    assert os.readlink(os.path.join(mp, "d2", "sym")) == "../a.txt"
    with open(os.path.join(mp, "d2", "sym")) as f:
        assert f.read() == "alpha\n"
    # copy_file_range (server-side copy) inside the prefix
    src = os.open(os.path.join(mp, "a.txt"), os.O_RDONLY)
    dst = os.open(os.path.join(mp, "copy.txt"), os.O_WRONLY | os.O_CREAT,
                  0o644)
    try:
        assert os.copy_file_range(src, dst, 6) == 6
    finally:
        os.close(src)
        os.close(dst)
    with open(os.path.join(subdir, "copy.txt")) as f:
        assert f.read() == "alpha\n"
    # truncate, utimens, chmod
    os.truncate(os.path.join(mp, "copy.txt"), 2)
    assert os.path.getsize(os.path.join(subdir, "copy.txt")) == 2
    os.utime(os.path.join(mp, "copy.txt"), (1_000_000_000, 1_000_000_000))
    assert os.stat(os.path.join(subdir, "copy.txt")).st_mtime == 1_000_000_000

    os.unlink(os.path.join(mp, "copy.txt"))
    assert not os.path.exists(os.path.join(subdir, "copy.txt"))
    os.unlink(os.path.join(mp, "d2", "sym"))
    os.unlink(os.path.join(mp, "d2", "a-link"))
    os.unlink(os.path.join(mp, "d2", "moved2.txt"))
    os.rmdir(os.path.join(mp, "d2", "d1"))
    os.rmdir(os.path.join(mp, "d2"))
    assert sorted(os.listdir(subdir)) == ["a.txt", "inner"]
    assert sorted(os.listdir(mp)) == ["a.txt", "inner"]
    # nothing changed outside the prefix
    assert sorted(n for n in server_names(share_dir)
                  if not n.startswith("sub/dir")) == outside


def test_unlink_open_file(smbd, share_dir, subdir, mount_factory):
    m = mount_factory(smbd, share="share/sub/dir")
    mp = m.mountpoint
    os.mkdir(os.path.join(mp, "d"))
    p = os.path.join(mp, "d", "f.bin")
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"hello")
        os.unlink(p)
        assert os.listdir(os.path.join(mp, "d")) == []
        assert os.listdir(os.path.join(subdir, "d")) == []
        # the file waits under a reserved name in the prefix directory
        # (not at the share root), which the mount's root does not list
        hidden = [n for n in os.listdir(subdir)
                  if n.startswith(".smb2fs-deleted-")]
        assert len(hidden) == 1, os.listdir(subdir)
        assert not [n for n in os.listdir(share_dir)
                    if n.startswith(".smb2fs-deleted-")]
        assert sorted(os.listdir(mp)) == ["a.txt", "d", "inner"]
        assert not os.path.exists(os.path.join(mp, hidden[0]))
        assert os.fstat(fd).st_size == 5
        os.pwrite(fd, b"HELLO", 0)
        os.fsync(fd)
        assert os.pread(fd, 10, 0) == b"HELLO"
        os.rmdir(os.path.join(mp, "d"))
    finally:
        os.close(fd)
    assert wait_for(lambda: sorted(os.listdir(subdir)) == ["a.txt", "inner"],
                    5) is not None, os.listdir(subdir)


def test_lease_break_reaches_the_file_under_the_prefix(smbd, share_dir,
                                                       subdir, mount_factory):
    # A: the prefix, with a long attribute timeout (only the break makes it
    # look again); B: the whole share
    a = mount_factory(smbd, share="share/sub/dir", options=["actimeo=30"])
    b = mount_factory(smbd)
    pa = os.path.join(a.mountpoint, "a.txt")
    fd = os.open(pa, os.O_RDONLY)
    try:
        assert os.pread(fd, 100, 0) == b"alpha\n"  # in A's page cache
        with open(os.path.join(b.mountpoint, "sub", "dir", "a.txt"),
                  "r+") as f:
            f.write("ALPHA")  # same size: only the data tells
        # the break names sub\dir\a.txt; A drops the pages of /a.txt
        assert wait_for(lambda: os.pread(fd, 100, 0) == b"ALPHA\n",
                        5) is not None, os.pread(fd, 100, 0)
    finally:
        os.close(fd)


@pytest.mark.slow
def test_reconnect_keeps_the_prefix(smbd, share_dir, subdir, mount_factory):
    before = {s["pid"] for s in smbd.sessions()}
    m = mount_factory(smbd, share="share/sub/dir")
    mp = m.mountpoint
    fd = os.open(os.path.join(mp, "keep.bin"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"one")
        os.fsync(fd)
        victim = smbd.kill_session(before)
        assert wait_for(lambda: not os.path.exists("/proc/%d" % victim),
                        5) is not None
        # the open file is reopened under the prefix, and I/O goes on
        os.write(fd, b"two")
        os.fsync(fd)
        assert os.pread(fd, 10, 0) == b"onetwo"
    finally:
        os.close(fd)
    with open(os.path.join(subdir, "keep.bin"), "rb") as f:
        assert f.read() == b"onetwo"
    with open(os.path.join(mp, "after.txt"), "w") as f:
        f.write("after\n")
    assert os.path.isfile(os.path.join(subdir, "after.txt"))
    assert sorted(os.listdir(mp)) == ["a.txt", "after.txt", "inner",
                                      "keep.bin"]
    assert not os.path.exists(os.path.join(share_dir, "keep.bin"))


def test_backslash_form_and_prefixpath(smbd, share_dir, subdir,
                                       mount_factory):
    m = mount_factory(smbd, share="share", start=False)
    m.unc = "\\\\127.0.0.1\\share\\sub"
    m.start()
    assert sorted(os.listdir(m.mountpoint)) == ["dir", "sibling.txt"]
    m2 = mount_factory(smbd, share="share", options=["prefixpath=/sub/dir/"])
    assert sorted(os.listdir(m2.mountpoint)) == ["a.txt", "inner"]


def test_prefix_with_mapped_name(smbd, share_dir, mount_factory):
    # ':' is stored in its SFM private-use form (mapposix, the default),
    # in the prefix as in every other name
    d = os.path.join(share_dir, "a\uf022b")
    os.mkdir(d)
    with open(os.path.join(d, "in.txt"), "w") as f:
        f.write("x")
    open_up(share_dir)
    m = mount_factory(smbd, share="share/a:b")
    assert os.listdir(m.mountpoint) == ["in.txt"]
    with open(os.path.join(m.mountpoint, "c:d"), "w") as f:
        f.write("y")
    assert sorted(os.listdir(d)) == ["c\uf022d", "in.txt"]


@pytest.mark.parametrize("foreground", [True, False], ids=["fg", "daemon"])
def test_missing_prefix(smbd, share_dir, run_smb2fs, foreground):
    os.mkdir(os.path.join(share_dir, "sub"))
    for path, status in (("sub/nosuch", "STATUS_OBJECT_NAME_NOT_FOUND"),
                         ("nosuch/deeper", "STATUS_OBJECT_PATH_NOT_FOUND")):
        r = run_smb2fs(smbd.unc("share") + "/" + path,
                       options=["port=%d" % smbd.port], password=smbd.password,
                       foreground=foreground)
        line = one_line(r)
        assert r.returncode == 1, r
        assert line == ("smb2fs: cannot connect to \\\\127.0.0.1\\share: "
                        "%s does not exist on the share (%s)"
                        % (path, status)), line


@pytest.mark.parametrize("foreground", [True, False], ids=["fg", "daemon"])
def test_prefix_is_a_file(smbd, share_dir, run_smb2fs, foreground):
    os.mkdir(os.path.join(share_dir, "sub"))
    with open(os.path.join(share_dir, "sub", "file"), "w") as f:
        f.write("x")
    r = run_smb2fs(smbd.unc("share") + "/sub/file",
                   options=["port=%d" % smbd.port], password=smbd.password,
                   foreground=foreground)
    line = one_line(r)
    assert r.returncode == 1, r
    assert line == ("smb2fs: cannot connect to \\\\127.0.0.1\\share: "
                    "sub/file is not a directory (STATUS_NOT_A_DIRECTORY)"
                    ), line


def test_bad_prefix_is_a_usage_error(run_smb2fs):
    r = run_smb2fs("//127.0.0.1/share/a/../b", password="x")
    line = one_line(r)
    assert r.returncode == 2, r
    assert "'.' and '..'" in line, line

"""Symlinks, hard links and special files (issue 9, parts 5 and 6).

Symlinks are Minshall+French link files (mfsymlinks, on by default): a
regular file of exactly 1067 bytes, "XSym\\n" + 4-digit length + "\\n" +
MD5 of the target in hex + "\\n" + the target + "\\n", spaces to the end
(src/util/mfsym.c).  Hard links are SMB FileLinkInformation; the link
count comes from the server.  With `sfu`, FIFOs and devices are Services
for Unix files (an empty SYSTEM file; "IntxCHR\\0"/"IntxBLK\\0" + major +
minor as 64-bit little-endian)."""

import errno
import hashlib
import os
import stat
import struct
import subprocess
import time

import pytest

import fsop

MF_SIZE = 1067
ACTIMEO = 1.2  # the default actimeo (1 s), and a little


def mf_bytes(target):
    t = target.encode()
    body = b"XSym\n%04d\n%s\n%s\n" % (len(t), hashlib.md5(t).hexdigest().encode(), t)
    return body + b" " * (MF_SIZE - len(body))


@pytest.mark.parametrize("target", ["target.txt", "/etc/hostname",
                                    "sub/../ünïcødé/κλειδί.txt"])
def test_symlink_round_trip(mnt, share_dir, target):
    link = os.path.join(mnt, "link")
    os.symlink(target, link)
    assert os.readlink(link) == target
    st = os.lstat(link)
    assert stat.S_ISLNK(st.st_mode)
    assert st.st_size == len(target.encode())
    # the server's disk holds the mfsymlink format, byte for byte
    with open(os.path.join(share_dir, "link"), "rb") as f:
        assert f.read() == mf_bytes(target)
    # the listing says so too, and `ls -l` shows the target
    assert "link" in os.listdir(mnt)
    out = subprocess.run(["ls", "-l", mnt], capture_output=True, text=True,
                         check=True).stdout
    line = [ln for ln in out.splitlines() if ln.endswith("link -> " + target)]
    assert line and line[0].startswith("l"), out


def test_symlink_is_followed(mnt, share_dir):
    with open(os.path.join(mnt, "real.txt"), "w") as f:
        f.write("through the link\n")
    os.mkdir(os.path.join(mnt, "d"))
    os.symlink("../real.txt", os.path.join(mnt, "d", "rel"))
    os.symlink("d", os.path.join(mnt, "dirlink"))
    with open(os.path.join(mnt, "d", "rel")) as f:
        assert f.read() == "through the link\n"
    # a link to a directory leads into it
    assert os.listdir(os.path.join(mnt, "dirlink")) == ["rel"]
    assert os.path.realpath(os.path.join(mnt, "dirlink", "rel")) == \
        os.path.realpath(os.path.join(mnt, "real.txt"))
    # unlink removes the link, not its target
    os.unlink(os.path.join(mnt, "d", "rel"))
    assert os.path.exists(os.path.join(share_dir, "real.txt"))
    assert not os.path.lexists(os.path.join(mnt, "d", "rel"))


def test_symlink_exists_and_too_long(mnt):
    link = os.path.join(mnt, "l")
    os.symlink("a", link)
    with pytest.raises(FileExistsError):
        os.symlink("b", link)
    assert os.readlink(link) == "a"
    with pytest.raises(OSError) as e:
        os.symlink("x" * 1025, os.path.join(mnt, "long"))
    assert e.value.errno == errno.ENAMETOOLONG
    assert not os.path.lexists(os.path.join(mnt, "long"))


def test_server_made_mfsymlink_shows_as_link(mnt, share_dir):
    with open(os.path.join(share_dir, "srv"), "wb") as f:
        f.write(mf_bytes("made/on/the/server"))
    # a 1067-byte file that is not a link stays a file
    with open(os.path.join(share_dir, "plain"), "wb") as f:
        f.write(b"x" * MF_SIZE)
    names = sorted(os.listdir(mnt))
    assert names == ["plain", "srv"]
    assert stat.S_ISLNK(os.lstat(os.path.join(mnt, "srv")).st_mode)
    assert os.readlink(os.path.join(mnt, "srv")) == "made/on/the/server"
    st = os.lstat(os.path.join(mnt, "plain"))
    assert stat.S_ISREG(st.st_mode) and st.st_size == MF_SIZE
    with pytest.raises(OSError) as e:
        os.readlink(os.path.join(mnt, "plain"))
    assert e.value.errno == errno.EINVAL


def test_nomfsymlinks(smbd, share_dir, mount_factory):
    mp = mount_factory(smbd, options=["nomfsymlinks"]).mountpoint
    with pytest.raises(OSError) as e:
        os.symlink("t", os.path.join(mp, "l"))
    assert e.value.errno == errno.EPERM
    assert not os.path.lexists(os.path.join(share_dir, "l"))
    with open(os.path.join(share_dir, "srv"), "wb") as f:
        f.write(mf_bytes("t"))
    st = os.lstat(os.path.join(mp, "srv"))
    assert stat.S_ISREG(st.st_mode) and st.st_size == MF_SIZE


def test_hard_link(mnt, share_dir):
    a, b = os.path.join(mnt, "a"), os.path.join(mnt, "b")
    with open(a, "w") as f:
        f.write("one\n")
    assert os.stat(a).st_nlink == 1
    os.link(a, b)
    assert os.stat(b).st_nlink == 2
    # The kernel keeps the other name's attributes for actimeo (1 s):
    # libfuse's high-level API gives each name its own node.
    time.sleep(ACTIMEO)
    assert os.stat(a).st_nlink == 2
    # one file on the server's disk
    assert os.stat(os.path.join(share_dir, "a")).st_ino == \
        os.stat(os.path.join(share_dir, "b")).st_ino
    with open(b, "a") as f:
        f.write("two\n")
    # (a's size and pages in the kernel: as another client's write, after
    # the lease break or actimeo)
    time.sleep(ACTIMEO)
    with open(a) as f:
        assert f.read() == "one\ntwo\n"
    with pytest.raises(FileExistsError):
        os.link(a, b)
    os.unlink(a)
    assert not os.path.exists(a)
    with open(b) as f:
        assert f.read() == "one\ntwo\n"
    time.sleep(ACTIMEO)
    assert os.stat(b).st_nlink == 1
    with pytest.raises(FileNotFoundError):
        os.link(os.path.join(mnt, "missing"), os.path.join(mnt, "c"))


def test_mkfifo_without_sfu_fails(mnt, share_dir):
    with pytest.raises(OSError) as e:
        os.mkfifo(os.path.join(mnt, "fifo"))
    assert e.value.errno == errno.EPERM
    with pytest.raises(OSError) as e:
        os.mknod(os.path.join(mnt, "dev"), stat.S_IFCHR | 0o644, os.makedev(1, 3))
    assert e.value.errno == errno.EPERM
    assert os.listdir(share_dir) == []


def test_sfu_fifo_and_devices(smbd, share_dir, mount_factory):
    mp = mount_factory(smbd, options=["sfu"]).mountpoint
    os.mkfifo(os.path.join(mp, "fifo"))
    os.mknod(os.path.join(mp, "chr"), stat.S_IFCHR | 0o644, os.makedev(1, 3))
    os.mknod(os.path.join(mp, "blk"), stat.S_IFBLK | 0o644, os.makedev(8, 17))
    st = os.lstat(os.path.join(mp, "fifo"))
    assert stat.S_ISFIFO(st.st_mode)
    st = os.lstat(os.path.join(mp, "chr"))
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    st = os.lstat(os.path.join(mp, "blk"))
    assert stat.S_ISBLK(st.st_mode) and st.st_rdev == os.makedev(8, 17)
    out = subprocess.run(["ls", "-l", mp], capture_output=True, text=True,
                         check=True).stdout
    kinds = {ln.split()[-1]: ln[0] for ln in out.splitlines()[1:]}
    assert kinds == {"fifo": "p", "chr": "c", "blk": "b"}, out
    # on the server's disk: SFU contents
    assert os.path.getsize(os.path.join(share_dir, "fifo")) == 0
    with open(os.path.join(share_dir, "chr"), "rb") as f:
        assert f.read() == b"IntxCHR\0" + struct.pack("<QQ", 1, 3)
    with open(os.path.join(share_dir, "blk"), "rb") as f:
        assert f.read() == b"IntxBLK\0" + struct.pack("<QQ", 8, 17)
    # a mount without sfu shows them as the files they are
    mp2 = mount_factory(smbd).mountpoint
    st = os.lstat(os.path.join(mp2, "chr"))
    assert stat.S_ISREG(st.st_mode) and st.st_size == 24
    assert stat.S_ISREG(os.lstat(os.path.join(mp2, "fifo")).st_mode)


def test_sfu_needs_system_attribute(smbd, share_dir, mount_factory):
    """An SFU header in a file without the SYSTEM attribute (written on
    the server's disk: Samba gives it none) is a plain file."""
    with open(os.path.join(share_dir, "fake"), "wb") as f:
        f.write(b"IntxCHR\0" + struct.pack("<QQ", 1, 3))
    open(os.path.join(share_dir, "empty"), "wb").close()
    mp = mount_factory(smbd, options=["sfu"]).mountpoint
    assert stat.S_ISREG(os.lstat(os.path.join(mp, "fake")).st_mode)
    assert stat.S_ISREG(os.lstat(os.path.join(mp, "empty")).st_mode)


def test_reparse_point_symlinks(fake_server, mount_factory):
    """Symlinks a server keeps as reparse points (Windows; Samba 4.17 never
    shows them): the fake server's "lnk" -> "f" and "dlnk" -> "d" answer
    a plain CREATE with STATUS_STOPPED_ON_SYMLINK and give their target
    through FSCTL_GET_REPARSE_POINT."""
    srv = fake_server("fs_reparse", password="x")
    m = mount_factory(srv, share="x", password="x",
                      options=["vers=2.1", "actimeo=0"])
    names = fsop.run(m, "listdir", "", 15)[0]
    assert names[0] == "ok" and {"lnk", "dlnk", "f", "d"} <= set(names[1])
    assert fsop.run(m, "lstat", "lnk", 15)[0] == ("ok", [oct(0o120777), 1])
    assert fsop.run(m, "readlink", "lnk", 15)[0] == ("ok", "f")
    assert fsop.run(m, "lstat", "dlnk", 15)[0] == ("ok", [oct(0o120777), 1])
    assert fsop.run(m, "readlink", "dlnk", 15)[0] == ("ok", "d")
    # followed by the kernel: the target's data and listing
    assert fsop.run(m, "read", "lnk", 15)[0] == ("ok", "0123456789")
    assert fsop.run(m, "listdir", "dlnk", 15)[0] == ("ok", ["x"])
    # a plain file is no link
    assert fsop.run(m, "readlink", "f", 15)[0] == ("errno", errno.EINVAL)
    assert not srv.problems

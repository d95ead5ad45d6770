"""Extended attributes (issue 9, part 7): user.NAME is the SMB extended
attribute NAME (src/fs/ops_xattr.c, src/client/xattr.c), which Samba keeps
as the xattr user.NAME of the file on its own disk (ext4 here, which has
user xattrs); nouser_xattr turns them off."""

import ctypes
import errno
import os

import pytest


def test_xattr_round_trip(mnt, share_dir):
    p = os.path.join(mnt, "f")
    with open(p, "w") as f:
        f.write("x")
    assert os.listxattr(p) == []
    os.setxattr(p, "user.color", b"blue")
    value = bytes(range(256)) * 3 + b"\0end"
    os.setxattr(p, "user.bin", value)
    assert os.getxattr(p, "user.color") == b"blue"
    assert os.getxattr(p, "user.bin") == value
    assert sorted(os.listxattr(p)) == ["user.bin", "user.color"]
    # replace
    os.setxattr(p, "user.color", b"green")
    assert os.getxattr(p, "user.color") == b"green"
    # what Samba keeps on its disk: the same names and values
    disk = os.path.join(share_dir, "f")
    assert os.getxattr(disk, "user.color") == b"green"
    assert os.getxattr(disk, "user.bin") == value
    # remove
    os.removexattr(p, "user.color")
    assert os.listxattr(p) == ["user.bin"]
    with pytest.raises(OSError) as e:
        os.getxattr(p, "user.color")
    assert e.value.errno == errno.ENODATA
    with pytest.raises(OSError) as e:
        os.removexattr(p, "user.color")
    assert e.value.errno == errno.ENODATA
    assert "user.color" not in os.listxattr(disk)


def test_xattr_on_directory_and_flags(mnt):
    d = os.path.join(mnt, "d")
    os.mkdir(d)
    os.setxattr(d, "user.k", b"v", os.XATTR_CREATE)
    with pytest.raises(FileExistsError):
        os.setxattr(d, "user.k", b"w", os.XATTR_CREATE)
    os.setxattr(d, "user.k", b"w", os.XATTR_REPLACE)
    assert os.getxattr(d, "user.k") == b"w"
    with pytest.raises(OSError) as e:
        os.setxattr(d, "user.none", b"v", os.XATTR_REPLACE)
    assert e.value.errno == errno.ENODATA


def test_xattr_limits_and_namespaces(mnt):
    p = os.path.join(mnt, "f")
    open(p, "w").close()
    # (what one value may hold is up to the server's file system too:
    # ext4 without ea_inode takes about a block)
    big = bytes(range(256)) * 15
    os.setxattr(p, "user.big", big)
    assert os.getxattr(p, "user.big") == big
    # getxattr(2) with size 0 gives the length, a short buffer ERANGE
    libc = ctypes.CDLL(None, use_errno=True)
    libc.getxattr.restype = ctypes.c_ssize_t
    libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p,
                              ctypes.c_size_t]
    assert libc.getxattr(p.encode(), b"user.big", None, 0) == len(big)
    buf = ctypes.create_string_buffer(100)
    assert libc.getxattr(p.encode(), b"user.big", buf, 100) == -1
    assert ctypes.get_errno() == errno.ERANGE
    with pytest.raises(OSError) as e:
        os.setxattr(p, "user.toobig", b"z" * 65536)
    assert e.value.errno == errno.E2BIG
    with pytest.raises(OSError) as e:
        os.setxattr(p, "user." + "n" * 256, b"v")
    assert e.value.errno == errno.ERANGE
    for name in ("trusted.x", "security.x"):
        with pytest.raises(OSError) as e:
            os.setxattr(p, name, b"v")
        assert e.value.errno == errno.EOPNOTSUPP, name
    with pytest.raises(OSError) as e:
        os.getxattr(p, "missing.ns")
    assert e.value.errno in (errno.EOPNOTSUPP, errno.ENODATA)
    with pytest.raises(FileNotFoundError):
        os.getxattr(os.path.join(mnt, "nope"), "user.x")


def test_xattr_seen_by_second_mount(smbd, share_dir, mount_factory):
    m1 = mount_factory(smbd).mountpoint
    m2 = mount_factory(smbd).mountpoint
    with open(os.path.join(m1, "f"), "w") as f:
        f.write("x")
    os.setxattr(os.path.join(m1, "f"), "user.shared", b"\x00\x01two")
    assert os.getxattr(os.path.join(m2, "f"), "user.shared") == b"\x00\x01two"
    assert os.listxattr(os.path.join(m2, "f")) == ["user.shared"]
    # and one set on the server's disk shows through the mount
    os.setxattr(os.path.join(share_dir, "f"), "user.fromdisk", b"d")
    assert os.getxattr(os.path.join(m2, "f"), "user.fromdisk") == b"d"


def test_nouser_xattr(smbd, share_dir, mount_factory):
    mp = mount_factory(smbd, options=["nouser_xattr"]).mountpoint
    p = os.path.join(mp, "f")
    open(p, "w").close()
    for call, args in ((os.setxattr, ("user.a", b"v")), (os.getxattr, ("user.a",)),
                       (os.removexattr, ("user.a",)), (os.listxattr, ())):
        with pytest.raises(OSError) as e:
            call(p, *args)
        assert e.value.errno == errno.EOPNOTSUPP, call.__name__
    assert "user.a" not in os.listxattr(os.path.join(share_dir, "f"))


def test_xattr_names_ignore_case(mnt, share_dir):
    """SMB compares EA names without case: Samba keeps the case a name was
    first set with and finds it under any other."""
    p = os.path.join(mnt, "f")
    open(p, "w").close()
    os.setxattr(p, "user.MixedCase", b"1")
    assert os.getxattr(p, "user.mixedcase") == b"1"
    os.setxattr(p, "user.MIXEDCASE", b"2")
    assert os.listxattr(p) == ["user.MixedCase"]
    assert os.getxattr(p, "user.MixedCase") == b"2"
    assert os.getxattr(os.path.join(share_dir, "f"), "user.MixedCase") == b"2"

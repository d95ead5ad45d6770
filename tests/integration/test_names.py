"""Names that have no SMB form never reach the server.

Linux names are bytes; SMB names are UTF-16.  A name that is not valid
UTF-8 used to be sent as an empty name, which SMB reads as the share root.
Every operation on such a name must now fail locally with EILSEQ, and the
share on disk must be exactly as it was.
"""

import errno
import os

import pytest

BAD = b"bad\xffname"


def snapshot(share_dir):
    """Everything on disk below the share: names, types, sizes, contents."""
    root = os.fsencode(share_dir)
    st = os.stat(root)
    seen = {b".": ("dir", st.st_ino)}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            seen[os.path.relpath(p, root)] = ("dir", os.stat(p).st_ino)
        for f in filenames:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                seen[os.path.relpath(p, root)] = ("file", fh.read())
    return seen


@pytest.fixture
def populated(share_dir):
    with open(os.path.join(share_dir, "keep.txt"), "wb") as f:
        f.write(b"keep me\n")
    os.mkdir(os.path.join(share_dir, "sub"))
    with open(os.path.join(share_dir, "sub", "inner.txt"), "wb") as f:
        f.write(b"inner\n")
    return share_dir


def expect_eilseq(fn, *args):
    with pytest.raises(OSError) as e:
        fn(*args)
    assert e.value.errno == errno.EILSEQ, (fn.__name__, args, e.value)


def test_non_utf8_names_fail_with_eilseq(mnt, populated):
    before = snapshot(populated)
    mp = os.fsencode(mnt)
    bad = os.path.join(mp, BAD)
    nested = os.path.join(mp, b"sub", BAD)
    deep = os.path.join(mp, BAD, b"x")

    for path in (bad, nested, deep):
        expect_eilseq(os.stat, path)
        for flags in (os.O_RDONLY,
                      os.O_WRONLY | os.O_CREAT,
                      os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                      os.O_RDWR | os.O_CREAT | os.O_TRUNC):
            expect_eilseq(os.open, path, flags, 0o644)
        expect_eilseq(os.mkdir, path)
        expect_eilseq(os.rmdir, path)
        expect_eilseq(os.unlink, path)
        expect_eilseq(os.truncate, path, 0)
        expect_eilseq(os.listdir, path)
        expect_eilseq(os.rename, path, os.path.join(mp, b"new"))

    # Rename to such a name: source and target both stay as they were.
    expect_eilseq(os.rename, os.path.join(mp, b"keep.txt"), bad)
    expect_eilseq(os.rename, os.path.join(mp, b"keep.txt"), nested)
    expect_eilseq(os.rename, os.path.join(mp, b"sub"), bad)
    expect_eilseq(os.rename, os.path.join(mp, b"sub", b"inner.txt"), bad)

    assert snapshot(populated) == before
    # The mount still works, and still sees the same share.
    assert sorted(os.listdir(mp)) == [b"keep.txt", b"sub"]
    with open(os.path.join(mp, b"keep.txt"), "rb") as f:
        assert f.read() == b"keep me\n"


def test_valid_non_ascii_names_still_work(mnt, populated):
    mp = os.fsencode(mnt)
    name = "caf\u00e9 \U0001F600".encode()
    fd = os.open(os.path.join(mp, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, b"ok")
    os.close(fd)
    os.mkdir(os.path.join(mp, name + b".d"))
    os.rename(os.path.join(mp, name), os.path.join(mp, name + b".d", name))
    with open(os.path.join(populated, name.decode() + ".d", name.decode()), "rb") as f:
        assert f.read() == b"ok"


def test_listing_survives_a_server_name_without_utf8(mnt, populated):
    # A name Samba cannot express in UTF-16 as is: whatever the server
    # makes of it, the rest of the directory is listed.
    with open(os.path.join(os.fsencode(populated), b"raw\xfe"), "wb") as f:
        f.write(b"x")
    names = os.listdir(mnt)
    assert "keep.txt" in names and "sub" in names
    assert all("/" not in n and "\0" not in n for n in names)

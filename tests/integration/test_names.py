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


# ---------------------------------------------------------------------------
# Names SMB cannot store: the SFM private-use mapping (mapposix, default)

# What macOS and cifs's mapposix store for each character SMB refuses
# (written out here independently of src/util/sfm.c).
SFM = {'"': "\uf020", "*": "\uf021", ":": "\uf022", "<": "\uf023",
       ">": "\uf024", "?": "\uf025", "\\": "\uf026", "|": "\uf027"}
SFM.update({chr(c): chr(0xF000 + c) for c in range(1, 0x20)})

SPECIAL_NAMES = [
    "back\\slash", "co:lon", "st*ar", "que?stion", 'dq"uote', "l<t", "g>t",
    "pi|pe", "ctl\x01x", "tab\tnl\n", "esc\x1b[0m", "trailing space ",
    "trailing dot.", "dots...", "all\\:*?\"<>|\x1f .",
]


def sfm_form(name):
    """The name as the server stores it under the SFM scheme."""
    out = "".join(SFM.get(ch, ch) for ch in name)
    if out.endswith(" "):
        out = out[:-1] + "\uf028"
    elif out.endswith("."):
        out = out[:-1] + "\uf029"
    return out


def test_sfm_names_round_trip(mnt, share_dir, sclient):
    for name in SPECIAL_NAMES:
        with open(os.path.join(mnt, name), "w") as f:
            f.write("content of %r" % name)
    assert sorted(os.listdir(mnt)) == sorted(SPECIAL_NAMES)
    for name in SPECIAL_NAMES:
        with open(os.path.join(mnt, name)) as f:
            assert f.read() == "content of %r" % name
        assert os.stat(os.path.join(mnt, name)).st_size == len("content of %r" % name)
    # Samba (no vfs_catia/fruit here) keeps the private-use code points as
    # they came, in UTF-8: exactly what a macOS client stores and shows.
    on_disk = sorted(os.listdir(share_dir))
    assert on_disk == sorted(sfm_form(n) for n in SPECIAL_NAMES)
    assert not any(set(n) & set('\\:*?"<>|') for n in on_disk)
    assert not any(n.endswith((" ", ".")) for n in on_disk)
    for name in SPECIAL_NAMES:
        with open(os.path.join(share_dir, sfm_form(name))) as f:
            assert f.read() == "content of %r" % name
    # and another SMB client lists the private-use names (the ones its
    # listing can show: no blanks or controls)
    listed = sclient.ls()
    for name in SPECIAL_NAMES:
        if not any(ch.isspace() or ord(ch) < 0x20 for ch in name):
            assert sfm_form(name) in listed, (name, listed)


def test_sfm_rename_mkdir_unlink(mnt, share_dir):
    a, b = "from:here?", "to <there>."
    with open(os.path.join(mnt, a), "w") as f:
        f.write("moved")
    os.rename(os.path.join(mnt, a), os.path.join(mnt, b))
    assert os.listdir(mnt) == [b]
    assert os.listdir(share_dir) == [sfm_form(b)]
    # directories, and every component of a path is mapped
    d = "dir*|. "
    os.mkdir(os.path.join(mnt, d))
    os.rename(os.path.join(mnt, b), os.path.join(mnt, d, a))
    assert os.listdir(mnt) == [d]
    assert os.listdir(os.path.join(mnt, d)) == [a]
    with open(os.path.join(share_dir, sfm_form(d), sfm_form(a))) as f:
        assert f.read() == "moved"
    os.rename(os.path.join(mnt, d), os.path.join(mnt, "plain"))
    with open(os.path.join(mnt, "plain", a)) as f:
        assert f.read() == "moved"
    os.unlink(os.path.join(mnt, "plain", a))
    os.rmdir(os.path.join(mnt, "plain"))
    assert os.listdir(share_dir) == []


def test_sfm_names_stored_by_a_mac_show_their_characters(mnt, share_dir):
    # Files a macOS client (or cifs with mapposix) left on the share.
    for name in ("mac:name", "what?", "ends with dot.", "ctl\x02"):
        with open(os.path.join(share_dir, sfm_form(name)), "w") as f:
            f.write(name)
    # A private-use period or space inside a name stays: the way out puts
    # them only at the end.  A name that would read as "." stays as stored.
    for raw in ("mid\uf029dle", "\uf029"):
        with open(os.path.join(share_dir, raw), "w") as f:
            f.write(raw)
    listed = sorted(os.listdir(mnt))
    assert listed == sorted(["mac:name", "what?", "ends with dot.", "ctl\x02",
                             "mid\uf029dle", "\uf029"])
    for name in listed:
        with open(os.path.join(mnt, name)) as f:
            assert f.read() == name


def test_nomapposix_refuses_what_smb_cannot_store(smbd, share_dir, mount_factory):
    with open(os.path.join(share_dir, sfm_form("a:b")), "w") as f:
        f.write("x")
    m = mount_factory(smbd, options=["nomapposix"])
    for bad in ("a\\b", "c:d"):
        with pytest.raises(OSError) as e:
            open(os.path.join(m.mountpoint, bad), "w").close()
        assert e.value.errno == errno.EINVAL, bad
    # sent as given, refused by Samba (STATUS_OBJECT_NAME_INVALID)
    for bad in ("st*ar", "que?stion", 'dq"uote', "l<t", "g>t", "pi|pe", "ctl\x01"):
        with pytest.raises(OSError) as e:
            open(os.path.join(m.mountpoint, bad), "w").close()
        assert e.value.errno == errno.EINVAL, (bad, e.value)
    # what is stored is shown as stored
    assert os.listdir(m.mountpoint) == ["a\uf022b"]
    assert os.listdir(share_dir) == ["a\uf022b"]


def test_long_names(mnt, share_dir):
    mp = os.fsencode(mnt)
    ok, long = b"n" * 255, b"n" * 256
    with open(os.path.join(mp, ok), "wb") as f:
        f.write(b"255")
    assert os.listdir(mp) == [ok]
    assert os.stat(os.path.join(mp, ok)).st_size == 3
    os.mkdir(os.path.join(mp, b"d" * 255))
    for fn, args in ((os.stat, (os.path.join(mp, long),)),
                     (os.open, (os.path.join(mp, long), os.O_WRONLY | os.O_CREAT, 0o644)),
                     (os.mkdir, (os.path.join(mp, long),)),
                     (os.mkdir, (os.path.join(mp, b"d" * 255, long),)),
                     (os.rename, (os.path.join(mp, ok), os.path.join(mp, long))),
                     (os.listdir, (os.path.join(mp, long),))):
        with pytest.raises(OSError) as e:
            fn(*args)
        assert e.value.errno == errno.ENAMETOOLONG, (fn.__name__, e.value)
    # Mapped characters count one each in SMB's 255, but Samba stores the
    # name in UTF-8 on a Linux filesystem (255 bytes), 3 bytes each: 85 fit
    # (more: Samba answers STATUS_OBJECT_NAME_INVALID, EINVAL).
    mapped = "?" * 84 + "."
    with open(os.path.join(mnt, mapped), "w") as f:
        f.write("m")
    assert sorted(os.listdir(mnt)) == sorted([ok.decode(), "d" * 255, mapped])
    assert sorted(os.listdir(share_dir)) == sorted([ok.decode(), "d" * 255, sfm_form(mapped)])

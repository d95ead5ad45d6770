"""Everyday file operations through the mount, checked against what the
server really has ("dual view": smbclient and the share directory on disk).
"""

import errno
import filecmp
import os
import subprocess
import time

import pytest


def disk(share_dir, name):
    with open(os.path.join(share_dir, name), "rb") as f:
        return f.read()


def test_ls_shows_server_side_files(smbd, sclient, share_dir,
                                    mount_factory, rand_bytes):
    sizes = {"empty.bin": 0, "one.bin": 1, "k.bin": 1000,
             "big.bin": 65537, "name with spaces.txt": 12}
    for name, n in sizes.items():
        sclient.put_bytes(name, rand_bytes(n, seed=n))
    sclient.mkdir("subdir")
    mp = mount_factory(smbd).mountpoint

    assert sorted(os.listdir(mp)) == sorted(list(sizes) + ["subdir"])
    for name, n in sizes.items():
        st = os.stat(os.path.join(mp, name))
        assert st.st_size == n, name
    assert os.path.isdir(os.path.join(mp, "subdir"))

    out = subprocess.run(["ls", "-l", "--time-style=+%s", mp],
                         capture_output=True, text=True, check=True).stdout
    seen = {}
    for line in out.splitlines()[1:]:
        f = line.split(None, 6)
        seen[f[6]] = (f[0][0], int(f[4]))
    for name, n in sizes.items():
        assert seen[name] == ("-", n), (name, out)
    assert seen["subdir"][0] == "d"


def test_write_through_mount_read_by_server(mnt, sclient, share_dir,
                                            rand_bytes):
    data = rand_bytes(300_001, seed=1)
    with open(os.path.join(mnt, "w.bin"), "wb") as f:
        f.write(data)
    assert sclient.get_bytes("w.bin") == data
    assert disk(share_dir, "w.bin") == data


def test_cat_small_file(mnt, sclient):
    text = b"line one\nline two\n\xc3\xa9t\xc3\xa9\n"
    sclient.put_bytes("notes.txt", text)
    out = subprocess.run(["cat", os.path.join(mnt, "notes.txt")],
                         capture_output=True, check=True).stdout
    assert out == text


@pytest.mark.slow
def test_cp_20mib_in_and_out(mnt, share_dir, scratch, rand_bytes):
    src = os.path.join(scratch, "src.bin")
    back = os.path.join(scratch, "back.bin")
    with open(src, "wb") as f:
        f.write(rand_bytes(20 * 1024 * 1024, seed=20))
    subprocess.run(["cp", src, os.path.join(mnt, "big.bin")], check=True)
    assert os.path.getsize(os.path.join(share_dir, "big.bin")) == \
        20 * 1024 * 1024
    assert filecmp.cmp(src, os.path.join(share_dir, "big.bin"),
                       shallow=False)
    subprocess.run(["cp", os.path.join(mnt, "big.bin"), back], check=True)
    subprocess.run(["cmp", src, back], check=True)


def test_rename(mnt, sclient, share_dir):
    sclient.put_bytes("a.txt", b"AAA")
    os.rename(os.path.join(mnt, "a.txt"), os.path.join(mnt, "b.txt"))
    assert not os.path.exists(os.path.join(mnt, "a.txt"))
    assert sorted(os.listdir(share_dir)) == ["b.txt"]
    assert sclient.get_bytes("b.txt") == b"AAA"


def test_rename_over_existing(mnt, sclient, share_dir):
    sclient.put_bytes("src.txt", b"new content")
    sclient.put_bytes("dst.txt", b"old content that is longer")
    subprocess.run(["mv", os.path.join(mnt, "src.txt"),
                    os.path.join(mnt, "dst.txt")], check=True)
    assert sorted(os.listdir(mnt)) == ["dst.txt"]
    assert sorted(os.listdir(share_dir)) == ["dst.txt"]
    assert disk(share_dir, "dst.txt") == b"new content"
    with open(os.path.join(mnt, "dst.txt"), "rb") as f:
        assert f.read() == b"new content"


def test_rename_into_subdir(mnt, share_dir):
    os.mkdir(os.path.join(mnt, "d"))
    with open(os.path.join(mnt, "f"), "w") as f:
        f.write("x")
    os.rename(os.path.join(mnt, "f"), os.path.join(mnt, "d", "g"))
    assert os.listdir(os.path.join(share_dir, "d")) == ["g"]


def test_rm(mnt, sclient, share_dir):
    sclient.put_bytes("gone.txt", b"bye")
    os.unlink(os.path.join(mnt, "gone.txt"))
    assert not os.path.exists(os.path.join(mnt, "gone.txt"))
    assert os.listdir(share_dir) == []
    assert not sclient.exists("gone.txt")


def test_mkdir_rmdir(mnt, sclient, share_dir):
    d = os.path.join(mnt, "dir1")
    os.mkdir(d)
    assert os.path.isdir(os.path.join(share_dir, "dir1"))
    assert "dir1" in sclient.ls()
    with open(os.path.join(d, "inner.txt"), "w") as f:
        f.write("inner")
    assert disk(share_dir, "dir1/inner.txt") == b"inner"
    with pytest.raises(OSError) as e:
        os.rmdir(d)
    assert e.value.errno == errno.ENOTEMPTY
    assert os.path.isdir(os.path.join(share_dir, "dir1"))
    os.unlink(os.path.join(d, "inner.txt"))
    os.rmdir(d)
    assert os.listdir(share_dir) == []


def test_nested_dirs_listing(mnt, share_dir):
    os.makedirs(os.path.join(mnt, "a", "b", "c"))
    with open(os.path.join(mnt, "a", "b", "c", "deep.txt"), "w") as f:
        f.write("deep")
    assert disk(share_dir, "a/b/c/deep.txt") == b"deep"
    assert os.listdir(os.path.join(mnt, "a", "b")) == ["c"]


def test_touch_new_and_mtime(mnt, share_dir):
    p = os.path.join(mnt, "t.txt")
    before = time.time()
    subprocess.run(["touch", p], check=True)
    st = os.stat(p)
    assert st.st_size == 0
    assert os.path.exists(os.path.join(share_dir, "t.txt"))
    assert st.st_mtime > before - 120  # server clock is this machine
    subprocess.run(["touch", "-d", "2020-01-02 03:04:05 UTC", p], check=True)
    want = 1577934245
    assert int(os.stat(p).st_mtime) == want
    assert int(os.stat(os.path.join(share_dir, "t.txt")).st_mtime) == want


def test_truncate_grow_and_shrink(mnt, share_dir):
    p = os.path.join(mnt, "tr.bin")
    with open(p, "wb") as f:
        f.write(b"0123456789")
    subprocess.run(["truncate", "-s", "100000", p], check=True)
    assert os.stat(p).st_size == 100000
    data = disk(share_dir, "tr.bin")
    assert data == b"0123456789" + b"\0" * (100000 - 10)
    subprocess.run(["truncate", "-s", "4", p], check=True)
    assert os.stat(p).st_size == 4
    assert disk(share_dir, "tr.bin") == b"0123"
    with open(p, "rb") as f:
        assert f.read() == b"0123"


def test_overwrite_middle_and_append(mnt, share_dir):
    p = os.path.join(mnt, "rw.bin")
    with open(p, "wb") as f:
        f.write(b"a" * 1000)
    with open(p, "r+b") as f:
        f.seek(500)
        f.write(b"XYZ")
    with open(p, "ab") as f:
        f.write(b"tail")
    want = b"a" * 500 + b"XYZ" + b"a" * 497 + b"tail"
    assert disk(share_dir, "rw.bin") == want
    with open(p, "rb") as f:
        assert f.read() == want


def test_statfs(mnt):
    st = os.statvfs(mnt)
    assert st.f_bsize > 0 and st.f_frsize > 0
    assert st.f_blocks > 0
    assert 0 < st.f_bfree <= st.f_blocks
    out = subprocess.run(["df", "-h", mnt], capture_output=True, text=True,
                         check=True).stdout
    assert mnt in out or os.path.basename(mnt) in out


def test_mount_is_fuse_smb2fs(mnt):
    with open("/proc/mounts") as f:
        entries = [ln.split() for ln in f if ln.split()[1] == mnt]
    assert entries, "not in /proc/mounts"
    assert entries[0][2].startswith("fuse"), entries


def test_errors_enoent_eexist(mnt, sclient):
    with pytest.raises(OSError) as e:
        open(os.path.join(mnt, "missing.txt"), "rb")
    assert e.value.errno == errno.ENOENT
    with pytest.raises(OSError) as e:
        os.stat(os.path.join(mnt, "nodir", "x"))
    assert e.value.errno == errno.ENOENT
    sclient.mkdir("exists")
    with pytest.raises(OSError) as e:
        os.mkdir(os.path.join(mnt, "exists"))
    assert e.value.errno == errno.EEXIST
    with pytest.raises(OSError) as e:
        os.rmdir(os.path.join(mnt, "missing-dir"))
    assert e.value.errno == errno.ENOENT


def test_server_side_change_becomes_visible(mnt, sclient):
    sclient.put_bytes("late.txt", b"v1")
    with open(os.path.join(mnt, "late.txt"), "rb") as f:
        assert f.read() == b"v1"
    sclient.put_bytes("late.txt", b"version 2")
    deadline = time.time() + 10  # allow for attribute caching
    while time.time() < deadline:
        with open(os.path.join(mnt, "late.txt"), "rb") as f:
            if f.read() == b"version 2":
                break
        time.sleep(0.2)
    else:
        pytest.fail("server-side change not visible within 10 s")


def test_daemon_mode_round_trip(smbd, share_dir, mount_factory):
    m = mount_factory(smbd, foreground=False)
    pid = m.pid()
    assert pid, "no smb2fs daemon found for the mount"
    assert m.proc.wait(timeout=10) == 0  # parent exits 0 once mounted
    with open(os.path.join(m.mountpoint, "d.txt"), "w") as f:
        f.write("daemon")
    assert disk(share_dir, "d.txt") == b"daemon"
    m.stop()
    assert not os.path.exists("/proc/%d" % pid) or \
        open("/proc/%d/stat" % pid).read().split(") ")[1][0] == "Z", \
        "daemon still running after unmount"


def test_guest_mount(smbd, mount_factory):
    m = mount_factory(smbd, share="guestshare", user=None, password=None,
                      options=["guest"])
    with open(os.path.join(m.mountpoint, "g.txt"), "w") as f:
        f.write("guest was here")
    with open(os.path.join(smbd.share_dir("guestshare"), "g.txt")) as f:
        assert f.read() == "guest was here"
    os.unlink(os.path.join(m.mountpoint, "g.txt"))


def test_unicode_names_round_trip(mnt, sclient, share_dir):
    # a surrogate pair (U+1F600) and accented letters, through UTF-16LE
    name = "r\u00e9sum\u00e9 \U0001F600.txt"
    with open(os.path.join(mnt, name), "w") as f:
        f.write("x")
    assert name in os.listdir(mnt)
    assert os.path.exists(os.path.join(share_dir, name))
    assert name in sclient.ls()


def test_names_smb_would_misread_are_refused(smbd, share_dir, mount_factory):
    # ':' would name an alternate data stream and '\\' is the SMB
    # separator: both would reach another object than the one named.
    # (By default they are mapped instead: test_names.py, mapposix.)
    mnt = mount_factory(smbd, options=["nomapposix"]).mountpoint
    for bad in ("a:b", "a\\b"):
        with pytest.raises(OSError) as e:
            open(os.path.join(mnt, bad), "w").close()
        assert e.value.errno == errno.EINVAL, bad
    assert os.listdir(share_dir) == []

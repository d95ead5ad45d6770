"""Inode numbers (issue 11 part 6): with `serverino` (the default) st_ino
is the server's file id, which Samba takes from the inode number of the
file on its disk, so a test can hold what the mount shows against
os.stat under share_dir.  Stable across remounts and reconnects, shared
by hard links; `noserverino` gives libfuse's own numbers."""

import os
import shutil
import subprocess
import time

import pytest



def _tree(root):
    """A file, a directory, a file in it, a hard link pair, made on the
    server's disk (names -> disk inode numbers)."""
    os.mkdir(os.path.join(root, "d"))
    for n in ("f", "d/g"):
        with open(os.path.join(root, n), "w") as f:
            f.write(n)
    os.link(os.path.join(root, "f"), os.path.join(root, "d/f2"))
    for n in ("d", "f", "d/g", "d/f2"):
        os.chmod(os.path.join(root, n), 0o777 if n == "d" else 0o666)
    return {n: os.stat(os.path.join(root, n)).st_ino
            for n in ("", "d", "f", "d/g", "d/f2")}


def _stat_inos(mp, names):
    return {n: os.stat(os.path.join(mp, n)).st_ino for n in names}


def _listed_inos(mp):
    """names -> inode numbers of the listings of / and d: d_ino
    (DirEntry.inode()) and the entries' stat."""
    dino, sino = {}, {}
    for sub in ("", "d"):
        with os.scandir(os.path.join(mp, sub)) as it:
            for e in it:
                n = os.path.join(sub, e.name) if sub else e.name
                dino[n] = e.inode()
                sino[n] = e.stat(follow_symlinks=False).st_ino
    return dino, sino


def test_inode_numbers_are_the_servers(smbd, share_dir, mount_factory):
    disk = _tree(share_dir)
    mp = mount_factory(smbd).mountpoint
    # by stat (LOOKUP, the stat compound), the root included
    assert _stat_inos(mp, disk) == disk
    # by listing: d_ino of READDIR(PLUS) and the attributes it carried
    dino, sino = _listed_inos(mp)
    want = {n: i for n, i in disk.items() if n}
    assert dino == want
    assert sino == want
    # hard links: one inode number, two links
    a, b = os.stat(os.path.join(mp, "f")), os.stat(os.path.join(mp, "d/f2"))
    assert a.st_ino == b.st_ino
    assert (a.st_nlink, b.st_nlink) == (2, 2)
    # fstat through an open descriptor
    with open(os.path.join(mp, "d/g")) as f:
        assert os.fstat(f.fileno()).st_ino == disk["d/g"]


def test_new_files_get_the_servers_numbers(mnt, share_dir):
    """What the mount creates: file, directory, hard link, rename."""
    os.mkdir(os.path.join(mnt, "nd"))
    fd = os.open(os.path.join(mnt, "nd", "nf"), os.O_CREAT | os.O_WRONLY,
                 0o644)
    st_open = os.fstat(fd)
    os.write(fd, b"data")
    os.close(fd)
    st_dir = os.stat(os.path.join(mnt, "nd"))
    st_file = os.stat(os.path.join(mnt, "nd", "nf"))
    disk = lambda n: os.stat(os.path.join(share_dir, n)).st_ino  # noqa: E731
    assert st_dir.st_ino == disk("nd")
    assert st_file.st_ino == st_open.st_ino == disk("nd/nf")
    os.link(os.path.join(mnt, "nd", "nf"), os.path.join(mnt, "hl"))
    st_link = os.stat(os.path.join(mnt, "hl"))
    assert st_link.st_ino == st_file.st_ino
    assert st_link.st_nlink == 2
    os.rename(os.path.join(mnt, "hl"), os.path.join(mnt, "moved"))
    assert os.stat(os.path.join(mnt, "moved")).st_ino == st_file.st_ino
    # a truncate and utime (the getattr after them comes from the CLOSE
    # reply, which carries no id) keep the number
    os.truncate(os.path.join(mnt, "moved"), 2)
    os.utime(os.path.join(mnt, "moved"), (1e9, 1e9))
    assert os.stat(os.path.join(mnt, "moved")).st_ino == st_file.st_ino
    # a file replaced by another under the same name shows the new number
    with open(os.path.join(mnt, "other"), "w") as f:
        f.write("o")
    os.rename(os.path.join(mnt, "other"), os.path.join(mnt, "moved"))
    assert os.stat(os.path.join(mnt, "moved")).st_ino == disk("moved")
    assert disk("moved") != st_file.st_ino


def test_stable_across_remount_and_reconnect(smbd, share_dir, mount_factory):
    disk = _tree(share_dir)
    names = list(disk)
    m = mount_factory(smbd)
    first = _stat_inos(m.mountpoint, names)
    first_listed = _listed_inos(m.mountpoint)
    m.stop()
    m2 = mount_factory(smbd)
    assert _stat_inos(m2.mountpoint, names) == first == disk
    assert _listed_inos(m2.mountpoint) == first_listed
    m2.stop()

    before = {s["pid"] for s in smbd.sessions()}
    m3 = mount_factory(smbd, options=["actimeo=0"])
    with open(os.path.join(m3.mountpoint, "d/g")) as f:
        assert os.fstat(f.fileno()).st_ino == disk["d/g"]
        smbd.kill_session(before)
        # the open file was reopened underneath: the same number
        assert os.fstat(f.fileno()).st_ino == disk["d/g"]
        assert f.read() == "d/g"
    assert _stat_inos(m3.mountpoint, names) == disk
    assert _listed_inos(m3.mountpoint) == first_listed


def test_noserverino_is_libfuses_numbering(smbd, share_dir, mount_factory):
    disk = _tree(share_dir)
    mp = mount_factory(smbd, options=["noserverino"]).mountpoint
    got = _stat_inos(mp, disk)
    # libfuse numbers its nodes from 1 (the root) as it meets them
    assert got[""] == 1
    assert all(got[n] != disk[n] for n in disk)
    # each name its own node: hard links do not share a number
    assert got["f"] != got["d/f2"]
    assert os.stat(os.path.join(mp, "f")).st_nlink == 2


def test_find_inum_and_ls_i(smbd, share_dir, mount_factory):
    disk = _tree(share_dir)
    mp = mount_factory(smbd).mountpoint
    out = subprocess.run(["find", ".", "-inum", str(disk["f"])], cwd=mp,
                         capture_output=True, text=True, check=True).stdout
    assert sorted(out.split()) == ["./d/f2", "./f"]
    out = subprocess.run(["ls", "-i", "d"], cwd=mp, capture_output=True,
                         text=True, check=True).stdout
    shown = {ln.split()[1]: int(ln.split()[0]) for ln in out.splitlines()}
    assert shown == {"f2": disk["d/f2"], "g": disk["d/g"]}
    # find -samefile, which compares st_dev and st_ino
    out = subprocess.run(["find", ".", "-samefile", "f"], cwd=mp,
                         capture_output=True, text=True, check=True).stdout
    assert sorted(out.split()) == ["./d/f2", "./f"]


def _linked_tree(root):
    os.makedirs(os.path.join(root, "src", "sub"))
    with open(os.path.join(root, "src", "a"), "wb") as f:
        f.write(os.urandom(10000))
    os.link(os.path.join(root, "src", "a"), os.path.join(root, "src", "sub", "b"))
    os.link(os.path.join(root, "src", "a"), os.path.join(root, "src", "c"))
    with open(os.path.join(root, "src", "plain"), "w") as f:
        f.write("plain")
    for dp, dns, fns in os.walk(root):
        for n in dns:
            os.chmod(os.path.join(dp, n), 0o777)
        for n in fns:
            os.chmod(os.path.join(dp, n), 0o666)


@pytest.mark.skipif(not shutil.which("rsync"), reason="rsync not installed")
def test_rsync_keeps_hard_links(mnt, share_dir, tmp_path):
    _linked_tree(share_dir)
    dst = tmp_path / "copy"
    subprocess.run(["rsync", "-aH", os.path.join(mnt, "src") + "/", str(dst)],
                   check=True)
    a, b, c = (os.stat(dst / n) for n in ("a", "sub/b", "c"))
    assert a.st_ino == b.st_ino == c.st_ino
    assert a.st_nlink == 3
    assert os.stat(dst / "plain").st_nlink == 1


def test_tar_keeps_hard_links(mnt, share_dir, tmp_path):
    _linked_tree(share_dir)
    archive = tmp_path / "t.tar"
    subprocess.run(["tar", "-cf", str(archive), "src"], cwd=mnt, check=True)
    listing = subprocess.run(["tar", "-tvf", str(archive)],
                             capture_output=True, text=True,
                             check=True).stdout
    # one member holds the data, the others are hard links to it
    assert listing.count(" link to ") == 2, listing
    out = tmp_path / "x"
    out.mkdir()
    subprocess.run(["tar", "-xf", str(archive)], cwd=str(out), check=True)
    assert os.stat(out / "src" / "a").st_nlink == 3
    # and back into the mount: the extracted links are one file there too
    subprocess.run(["tar", "-xf", str(archive), "-C", mnt,
                    "--transform", "s,^src,back,"], check=True)
    time.sleep(1.1)  # the other names' cached link counts (actimeo)
    ia = os.stat(os.path.join(mnt, "back", "a"))
    assert ia.st_ino == os.stat(os.path.join(mnt, "back", "sub", "b")).st_ino
    assert ia.st_nlink == 3
    assert ia.st_ino == os.stat(os.path.join(share_dir, "back", "a")).st_ino


def test_numbers_without_descriptors(smbd, share_dir, mount_factory):
    """nocifsacl: no stat compound follows a listing, the numbers are the
    server's all the same (from the listing, and the CREATE's QFid)."""
    disk = _tree(share_dir)
    mp = mount_factory(smbd, options=["nocifsacl"]).mountpoint
    dino, sino = _listed_inos(mp)
    want = {n: i for n, i in disk.items() if n}
    assert dino == want and sino == want
    assert _stat_inos(mp, disk) == disk

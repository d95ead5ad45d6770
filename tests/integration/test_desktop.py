"""Desktop programs on an smb2fs mount (issue 10 part 7): what a GIO file
manager (PCManFM, Thunar, Nautilus, Caja, Nemo) does on a mount, through
GLib's own command line tool `gio` -- no X needed.  The screenshot of a
file manager on the mount is made by hand with docs/desktop/
make-screenshot.sh; docs/desktop.md has the results of both.

  gio list     names, sizes and types of the mount root and a subdirectory
               are what was created on the server's disk (share_dir);
               dot files are hidden unless -h
  gio info     of a file and a directory: type, size, unix::mode, owner,
               access::can-*, times and etag agree with stat() / the disk
  gio copy     to and from the mount (and within it), contents compared
               with the server's disk
  gio copy -p  of a 200 MiB file from and to the mount through a link
               throttled to 64 MiB/s (a Python proxy in front of smbd, as a
               LAN would be; on loopback the copy is over before gio's first
               progress line): the progress goes up in several steps over
               seconds, i.e. reads and writes stream
  gio trash    on the mount: GLib puts the file into .Trash-$UID at the
               mount root (the mount is another device than $HOME), a
               rename on the share; on a read-only share it fails with a
               message and a non-zero exit, the file stays
  gio mount -l lists the mount when it is under $HOME (GLib's unix volume
               monitor shows only mounts under $HOME, /media, /run/media)

gio runs with GIO_USE_VFS=local and GIO_USE_VOLUME_MONITOR=unix: plain GLib,
no gvfs daemons or D-Bus session (gvfs is not installed in CI; with it the
same file:// operations go through the same GLocalFile code).  Listing or
emptying the trash (trash:///) needs gvfsd-trash and is not tested.
"""

import os
import re
import shutil
import stat
import subprocess
import time

import pytest

from smbenv import sha256_file, skip_or_fail

GIO_ENV = {
    "GIO_USE_VFS": "local",
    "GIO_USE_VOLUME_MONITOR": "unix",
    "LC_ALL": "C.UTF-8",
    "LANG": "C.UTF-8",
    "LANGUAGE": "",
    "NO_AT_BRIDGE": "1",
}


@pytest.fixture(autouse=True)
def _need_gio():
    if shutil.which("gio") is None:
        skip_or_fail("gio missing (apt-get install libglib2.0-bin)")


@pytest.fixture
def gio(tmp_path):
    """gio(*args, check=True) -> CompletedProcess; HOME is a private
    directory (the home trash and gio's caches are never the real ones)."""
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env.update(GIO_ENV)
    env["HOME"] = str(home)
    env["XDG_DATA_HOME"] = str(home / ".local" / "share")
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    env["XDG_RUNTIME_DIR"] = str(home)

    def run(*args, check=True, timeout=120, home_dir=None):
        e = env
        if home_dir is not None:
            e = dict(env, HOME=home_dir)
        r = subprocess.run(["gio"] + list(args), capture_output=True,
                           text=True, timeout=timeout, env=e,
                           stdin=subprocess.DEVNULL)
        if check:
            assert r.returncode == 0, "gio %s: rc=%d\n%s%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr)
        return r

    run.env = env
    return run


def write(path, data, mode=None):
    with open(path, "wb") as f:
        f.write(data)
    if mode is not None:
        os.chmod(path, mode)


def make_tree(share_dir):
    """A small tree on the server's disk; returns {relpath: bytes or None
    (directory)}.  Everything writable for the share's users."""
    tree = {
        "Documents": None,
        "Documents/report.txt": b"quarterly numbers\n" * 40,
        "Documents/notes with spaces.md": b"# notes\n",
        "Documents/Archive": None,
        "Pictures": None,
        "Pictures/holiday.jpg": bytes(range(256)) * 33,
        "empty dir": None,
        "readme.txt": b"hello from the server\n",
        "big.bin": os.urandom(300000),
        "empty.dat": b"",
        ".hidden": b"dot file\n",
    }
    for rel, data in tree.items():
        p = os.path.join(share_dir, rel)
        if data is None:
            os.makedirs(p, exist_ok=True)
            os.chmod(p, 0o777)
        else:
            write(p, data, 0o666)
    return tree


TYPES = {"(regular)": "file", "(directory)": "dir"}


def parse_list(out):
    """`gio list -a standard::*` lines: name TAB size TAB (type) TAB attrs
    -> {name: (size, type, attrs string)}."""
    res = {}
    for line in out.splitlines():
        if not line:
            continue
        f = line.split("\t")
        assert len(f) >= 3, "odd gio list line %r" % line
        res[f[0]] = (int(f[1]), f[2], "\t".join(f[3:]))
    return res


def expected_entries(tree, sub, hidden=False):
    exp = {}
    for rel, data in tree.items():
        parent, name = os.path.split(rel)
        if parent != sub or (name.startswith(".") and not hidden):
            continue
        exp[name] = ("dir", None) if data is None else ("file", len(data))
    return exp


def check_listing(out, exp):
    got = parse_list(out)
    assert sorted(got) == sorted(exp), (sorted(got), sorted(exp))
    for name, (kind, size) in exp.items():
        gsize, gtype, attrs = got[name]
        assert TYPES.get(gtype) == kind, (name, gtype, kind)
        if kind == "file":
            assert gsize == size, (name, gsize, size)
            # display-name / edit-name are the name (UTF-8, no escaping)
            assert "standard::display-name=%s" % name in attrs, attrs
            assert "standard::content-type=" in attrs, attrs
        else:
            assert "standard::content-type=inode/directory" in attrs, attrs


def test_gio_list(gio, mnt, share_dir):
    tree = make_tree(share_dir)
    r = gio("list", "-a", "standard::*", mnt)
    check_listing(r.stdout, expected_entries(tree, ""))
    r = gio("list", "-h", "-a", "standard::*", mnt)
    check_listing(r.stdout, expected_entries(tree, "", hidden=True))
    r = gio("list", "-a", "standard::*", os.path.join(mnt, "Documents"))
    check_listing(r.stdout, expected_entries(tree, "Documents"))
    # the same through a file:// URI, as a file manager passes it
    r = gio("list", "-a", "standard::*",
            "file://" + os.path.join(mnt, "Pictures"))
    check_listing(r.stdout, expected_entries(tree, "Pictures"))
    r = gio("list", "-a", "standard::*", os.path.join(mnt, "empty dir"))
    assert r.stdout == ""
    # content types come from the names (and a sniff of the data)
    got = parse_list(gio("list", "-a", "standard::content-type",
                         mnt).stdout)
    assert "standard::content-type=text/plain" in got["readme.txt"][2]


def parse_info(out):
    """`gio info` -> {attribute: value} from its 'attributes:' section."""
    attrs = {}
    section = False
    for line in out.splitlines():
        if line.startswith("attributes:"):
            section = True
            continue
        if section and line.startswith("  ") and ": " in line:
            k, v = line.strip().split(": ", 1)
            attrs[k] = v.strip()
    return attrs


def test_gio_info(gio, mnt, share_dir):
    tree = make_tree(share_dir)
    path = os.path.join(mnt, "Documents", "report.txt")
    r = gio("info", path)
    assert "unix mount: //127.0.0.1/share %s fuse.smb2fs" % mnt in r.stdout
    a = parse_info(r.stdout)
    st = os.stat(path)
    disk = os.stat(os.path.join(share_dir, "Documents", "report.txt"))
    assert a["standard::type"] == "1"              # G_FILE_TYPE_REGULAR
    assert a["standard::name"] == "report.txt"
    assert int(a["standard::size"]) == len(tree["Documents/report.txt"])
    assert a["standard::content-type"] == "text/plain"
    mode = int(a["unix::mode"])
    assert stat.S_ISREG(mode) and mode == st.st_mode, (oct(mode),
                                                        oct(st.st_mode))
    assert int(a["unix::uid"]) == st.st_uid
    assert int(a["unix::gid"]) == st.st_gid
    assert int(a["unix::inode"]) == st.st_ino
    assert int(a["unix::nlink"]) >= 1
    assert a["owner::user"]  # a name (or the number) for st_uid
    # alice may read, write, delete and rename on [share]; root's view with
    # default_permissions follows the mode bits, which allow it
    for k in ("access::can-read", "access::can-write", "access::can-delete",
              "access::can-rename", "access::can-trash"):
        assert a[k] == "TRUE", (k, a)
    assert a["access::can-execute"] == ("TRUE" if mode & 0o111 else "FALSE")
    # times: the server's mtime, to the microsecond (SMB keeps 100 ns)
    assert int(a["time::modified"]) == int(disk.st_mtime)
    assert abs(int(a["time::modified"]) * 10**6
               + int(a["time::modified-usec"])
               - disk.st_mtime_ns // 1000) <= 1
    assert a["etag::value"].startswith(a["time::modified"] + ":")
    assert a["id::filesystem"] and a["id::file"]

    # a directory
    d = parse_info(gio("info", os.path.join(mnt, "Pictures")).stdout)
    assert d["standard::type"] == "2"              # G_FILE_TYPE_DIRECTORY
    assert d["standard::content-type"] == "inode/directory"
    assert stat.S_ISDIR(int(d["unix::mode"]))
    for k in ("access::can-read", "access::can-write",
              "access::can-execute"):
        assert d[k] == "TRUE", (k, d)

    # a read-only file (write bits taken away through the mount; alice
    # owns it as she created it) says so
    ro = os.path.join(mnt, "ro.txt")
    with open(ro, "w") as f:
        f.write("read only\n")
    os.chmod(ro, 0o444)
    a = parse_info(gio("info", ro).stdout)
    assert int(a["unix::mode"]) & 0o222 == 0
    # root ignores mode bits, so access::can-write stays as access(W_OK)
    assert a["access::can-write"] == (
        "TRUE" if os.access(ro, os.W_OK) else "FALSE")

    # filesystem info (what a file manager shows as free space)
    f = parse_info(gio("info", "-f", mnt).stdout)
    sv = os.statvfs(mnt)
    assert int(f["filesystem::size"]) == sv.f_blocks * sv.f_frsize
    # (the share's disk is shared with everything else: free space moves)
    assert abs(int(f["filesystem::free"]) - sv.f_bavail * sv.f_frsize) \
        <= 0.01 * sv.f_blocks * sv.f_frsize
    assert f["filesystem::type"].startswith("fuse")
    # GLib tells "remote" from statfs f_type, and FUSE's says only "fuse":
    # FALSE here, as for sshfs (docs/desktop.md)
    assert f["filesystem::remote"] in ("TRUE", "FALSE")

    # a name that does not exist: a clean error
    r = gio("info", os.path.join(mnt, "no-such-file"), check=False)
    assert r.returncode != 0 and "No such file" in r.stderr, r


def test_gio_copy(gio, mnt, share_dir, tmp_path):
    make_tree(share_dir)
    local = tmp_path / "local"
    local.mkdir()
    src = local / "upload.bin"
    write(src, os.urandom(3 * 1024 * 1024 + 123))
    # to the mount
    gio("copy", str(src), os.path.join(mnt, "Documents") + "/")
    assert sha256_file(src) == sha256_file(os.path.join(share_dir, "Documents", "upload.bin"))
    # from the mount
    gio("copy", os.path.join(mnt, "big.bin"), str(local / "big.bin"))
    assert sha256_file(local / "big.bin") == sha256_file(os.path.join(share_dir, "big.bin"))
    # within the mount, keeping attributes (mtime) as a file manager's
    # paste does
    gio("copy", "-p", "--preserve", os.path.join(mnt, "big.bin"),
        os.path.join(mnt, "Pictures", "big copy.bin"))
    dst = os.path.join(share_dir, "Pictures", "big copy.bin")
    assert sha256_file(dst) == sha256_file(os.path.join(share_dir, "big.bin"))
    assert int(os.stat(dst).st_mtime) == int(
        os.stat(os.path.join(share_dir, "big.bin")).st_mtime)
    # an existing target is replaced (gio copy overwrites, like cp), with
    # -b the old one is kept as name~ (a rename on the share)
    gio("copy", "-b", str(src), os.path.join(mnt, "readme.txt"))
    assert sha256_file(src) == sha256_file(os.path.join(share_dir, "readme.txt"))
    with open(os.path.join(share_dir, "readme.txt~"), "rb") as f:
        assert f.read() == b"hello from the server\n"
    # gio move (a file manager's drag within the mount: a rename)
    gio("move", os.path.join(mnt, "empty.dat"),
        os.path.join(mnt, "Documents", "Archive") + "/")
    assert os.path.exists(os.path.join(share_dir, "Documents", "Archive",
                                       "empty.dat"))
    assert not os.path.exists(os.path.join(share_dir, "empty.dat"))
    # gio remove
    gio("remove", os.path.join(mnt, "Pictures", "big copy.bin"))
    assert not os.path.exists(dst)


# ---------------------------------------------------------------------------
# progress over a throttled link


PROGRESS = re.compile(r"Transferred ([\d.]+)\s*(\S*B|bytes?) out of "
                      r"([\d.]+)\s*(\S*B|bytes?)")
UNITS = {"bytes": 1, "byte": 1, "B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def gio_copy_progress(gio, src, dst, timeout=300):
    """Run `gio copy -p src dst`; returns (rc, [(seconds, done, total)]).
    gio prints its progress lines (every 0.2 s at most, each ended with \\r
    and an ESC[K) to stdout whether or not it is a terminal."""
    t0 = time.monotonic()
    p = subprocess.Popen(["gio", "copy", "-p", src, dst],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=gio.env, stdin=subprocess.DEVNULL)
    seen = []
    buf = b""
    fd = p.stdout.fileno()
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
        parts = re.split(rb"[\r\n]", buf)
        buf = parts.pop()
        for line in parts:
            line = line.replace(b"\x1b[K", b"").decode().replace("\xa0",
                                                                 " ")
            m = PROGRESS.search(line)
            if m:
                seen.append((time.monotonic() - t0,
                             float(m.group(1)) * UNITS[m.group(2)],
                             float(m.group(3)) * UNITS[m.group(4)]))
    err = p.stderr.read().decode(errors="replace")
    rc = p.wait(timeout=timeout)
    assert rc == 0, "gio copy -p %s %s: rc=%d %s" % (src, dst, rc, err)
    return seen


def check_progress(seen, size, what):
    report = "\n".join("%6.2fs %12.0f / %.0f" % s for s in seen)
    assert seen, "%s: no progress lines" % what
    total = seen[-1][2]
    assert abs(total - size) <= 0.05e6, (what, total, size)
    assert seen[-1][1] == total, what + ": did not end at the total\n" + report
    done = [d for _, d, _ in seen]
    assert done == sorted(done), what + ": progress went back\n" + report
    mid = [(t, d) for t, d, _ in seen if 0 < d < total]
    distinct = sorted({d for _, d in mid})
    # 200 MiB at 64 MiB/s is ~3.3 s, a line every 0.2 s: ~15 steps; ask for
    # 5 spread over at least a second
    assert len(distinct) >= 5, what + ": few intermediate values\n" + report
    assert mid[-1][0] - mid[0][0] >= 1.0, what + ": no steady progress\n" \
        + report
    return report


@pytest.mark.slow
def test_gio_copy_progress_large_file(gio, smbd, share_dir, proxy,
                                      mount_factory, tmp_path):
    size = 200 * 1024 * 1024
    # (the proxy fixture, asked for before mount_factory, stops after the
    # unmount, which needs the server)
    proxy.rate(64 << 20)
    m = mount_factory(proxy)
    mnt = m.mountpoint
    block = os.urandom(1 << 20)
    with open(os.path.join(share_dir, "large.bin"), "wb") as f:
        for i in range(size >> 20):
            f.write(i.to_bytes(8, "little") + block[8:])
    os.chmod(os.path.join(share_dir, "large.bin"), 0o666)
    local = tmp_path / "large.copy"
    seen = gio_copy_progress(gio, os.path.join(mnt, "large.bin"),
                             str(local))
    down = check_progress(seen, size, "from the mount")
    assert sha256_file(local) == sha256_file(os.path.join(share_dir, "large.bin"))
    seen = gio_copy_progress(gio, str(local),
                             os.path.join(mnt, "large-up.bin"))
    up = check_progress(seen, size, "to the mount")
    assert sha256_file(local) == sha256_file(os.path.join(share_dir, "large-up.bin"))
    print("from the mount:\n%s\nto the mount:\n%s" % (down, up))


# ---------------------------------------------------------------------------
# trash


def test_gio_trash(gio, mnt, share_dir):
    make_tree(share_dir)
    uid = os.getuid()
    trash = os.path.join(share_dir, ".Trash-%d" % uid)
    assert not os.path.exists(trash)
    gio("trash", os.path.join(mnt, "readme.txt"))
    gio("trash", os.path.join(mnt, "Documents", "notes with spaces.md"))
    gio("trash", os.path.join(mnt, "Pictures"))     # a non-empty directory
    # moved (renamed on the share) into <mount root>/.Trash-$UID/files
    assert not os.path.exists(os.path.join(share_dir, "readme.txt"))
    assert not os.path.exists(os.path.join(share_dir, "Pictures"))
    with open(os.path.join(trash, "files", "readme.txt"), "rb") as f:
        assert f.read() == b"hello from the server\n"
    assert os.path.isfile(os.path.join(trash, "files", "notes with spaces.md"))
    assert os.path.isfile(os.path.join(trash, "files", "Pictures",
                                       "holiday.jpg"))
    # .trashinfo: Path relative to the mount root (the trash's top
    # directory), URI-escaped, and a DeletionDate
    with open(os.path.join(trash, "info",
                           "notes with spaces.md.trashinfo")) as f:
        info = f.read()
    assert info.startswith("[Trash Info]\n"), info
    assert "\nPath=Documents/notes%20with%20spaces.md\n" in info, info
    assert re.search(r"\nDeletionDate=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\n",
                     info), info
    # the trash directory is private to its user (GLib creates it 0700)
    assert stat.S_IMODE(os.stat(os.path.join(mnt, ".Trash-%d" % uid))
                        .st_mode) == 0o700
    # a second file of the same name gets another name in the trash
    with open(os.path.join(mnt, "readme.txt"), "w") as f:
        f.write("second\n")
    gio("trash", os.path.join(mnt, "readme.txt"))
    names = sorted(os.listdir(os.path.join(trash, "files")))
    assert len([n for n in names if n.startswith("readme")]) == 2, names


def test_gio_trash_read_only_share_fails_clearly(gio, smbd, mount_factory):
    m = mount_factory(smbd, share="readonly")
    path = os.path.join(m.mountpoint, "readme.txt")
    r = gio("trash", path, check=False)
    assert r.returncode != 0, r
    # e.g. "gio: file:///...readme.txt: Unable to find or create trash
    # directory for ..." or a "Read-only file system" / permission error
    assert "readme.txt" in r.stderr and r.stderr.startswith("gio: "), r
    assert os.path.exists(path)
    assert not os.path.exists(os.path.join(m.mountpoint,
                                           ".Trash-%d" % os.getuid()))


# ---------------------------------------------------------------------------
# volume monitor


def test_gio_mount_list(gio, smbd, share_dir, mount_factory, tmp_path):
    """GLib's unix volume monitor lists user-visible mounts: those under
    $HOME, /media or /run/media/$USER.  mount_factory mounts under
    tmp_path, so with HOME=tmp_path the mount is 'in the home'."""
    m = mount_factory(smbd)
    r = gio("mount", "-l", "-i", home_dir=str(tmp_path))
    mp = os.path.realpath(m.mountpoint)
    assert "-> file://%s\n" % mp in r.stdout, r.stdout
    block = r.stdout.split("-> file://%s\n" % mp, 1)[1]
    assert "can_unmount=1" in block.split("Mount(")[0], r.stdout
    # outside $HOME it is not shown (as for any other fuse mount)
    r = gio("mount", "-l", home_dir="/nonexistent")
    assert "file://%s\n" % mp not in r.stdout, r.stdout

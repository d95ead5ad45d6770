"""Modes and owners that stick (issue 9, part 1): stat shows the mode,
owner and group the file's security descriptor maps to (src/wire/secdesc.c,
src/client/security.c), chmod and chown write the descriptor back, another
mount and the server's disk see the change; a share whose server keeps no
ACLs falls back to file_mode=/dir_mode=/uid=/gid=.

A module server of our own: its "denied" share makes alice an admin user
(Samba then acts as root for her, so chown to another uid is allowed), its
"guestshare" has `nt acl support = no` (Samba answers every security query
with a NULL DACL owned by Everyone).

On the server's disk: Samba 4.17 stores an NT ACL set through SMB as a
POSIX ACL with named entries for the owner and group, so the group bits of
st_mode show the ACL's mask; effective_mode() reads the permissions the
ACL really gives (owner, owning group under the mask, other)."""

import os
import re
import struct
import subprocess
import time

import pytest

import smbenv

ALICE = smbenv.USERS["alice"]


@pytest.fixture(scope="module")
def msrv():
    srv = smbenv.SambaServer(share_opts={
        "denied": {"valid users": "%s %s" % (ALICE, smbenv.USERS["bob"]),
                   "admin users": ALICE},
        "guestshare": {"nt acl support": "no"},
    })
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def sdir(msrv):
    d = msrv.share_dir("share")
    for name in os.listdir(d):
        subprocess.run(["rm", "-rf", os.path.join(d, name)], check=True)
    return d


def drop_caches():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def effective_mode(path):
    """The permission bits the server's file system applies: st_mode, or
    with a POSIX access ACL its owner, owning-group-under-mask and other
    entries (tags: 1 user_obj, 2 user, 4 group_obj, 8 group, 0x10 mask,
    0x20 other)."""
    st = os.stat(path)
    try:
        raw = os.getxattr(path, "system.posix_acl_access")
    except OSError:
        return st.st_mode & 0o777
    perms = {}
    for off in range(4, len(raw), 8):
        tag, perm, _ = struct.unpack_from("<HHI", raw, off)
        perms.setdefault(tag, perm)
    mask = perms.get(0x10, 7)
    return perms[1] << 6 | (perms[4] & mask) << 3 | perms[0x20]


def mode(path):
    return os.stat(path).st_mode & 0o7777


def create(path, data=b"x\n"):
    with open(path, "wb") as f:
        f.write(data)


def test_chmod_600_sticks(msrv, sdir, mount_factory):
    m = mount_factory(msrv)
    p = os.path.join(m.mountpoint, "secret")
    create(p)
    os.chmod(p, 0o600)
    assert mode(p) == 0o600
    assert effective_mode(os.path.join(sdir, "secret")) == 0o600
    drop_caches()
    time.sleep(1.2)  # past actimeo: asked again
    assert mode(p) == 0o600
    m.stop()
    m2 = mount_factory(msrv)
    assert mode(os.path.join(m2.mountpoint, "secret")) == 0o600
    # the listing agrees with stat (ls -l)
    assert {e.name: e.stat().st_mode & 0o777
            for e in os.scandir(m2.mountpoint)} == {"secret": 0o600}


def test_modes_from_the_server(msrv, sdir, mount_factory):
    """Modes set on the server's disk show through the mount, files and
    directories, with the owner and group the server has.  Reading a
    descriptor needs READ_CONTROL, which Samba gives the owner and any
    class with a bit: a file we may not read it of shows file_mode."""
    alice = smbenv.pwd.getpwnam(ALICE)
    for name, md, uid in (("a", 0o640, alice.pw_uid), ("b", 0o751, 0),
                          ("c", 0o404, 0), ("e", 0o640, 0)):
        create(os.path.join(sdir, name))
        os.chown(os.path.join(sdir, name), uid, 0)
        os.chmod(os.path.join(sdir, name), md)
    os.mkdir(os.path.join(sdir, "d"))
    os.chown(os.path.join(sdir, "d"), alice.pw_uid, 0)
    os.chmod(os.path.join(sdir, "d"), 0o750)
    m = mount_factory(msrv)
    got = {n: mode(os.path.join(m.mountpoint, n)) for n in "abcde"}
    assert got == {"a": 0o640, "b": 0o751, "c": 0o404, "d": 0o750,
                   "e": 0o755}
    st = os.stat(os.path.join(m.mountpoint, "b"))
    assert (st.st_uid, st.st_gid) == (0, 0)  # S-1-22-1-0 / S-1-22-2-0
    # alice is a Samba account: her SID is a domain SID, shown as uid=
    st = os.stat(os.path.join(m.mountpoint, "a"))
    assert (st.st_uid, st.st_gid) == (os.getuid(), 0)
    assert os.path.isdir(os.path.join(m.mountpoint, "d"))


def test_mkdir_mode(msrv, sdir, mount_factory):
    """mkdir's mode (after the umask) is set when the server's differs."""
    m = mount_factory(msrv, options=["debug"])
    old = os.umask(0o022)
    try:
        os.mkdir(os.path.join(m.mountpoint, "priv"), 0o700)
        os.mkdir(os.path.join(m.mountpoint, "pub"))
    finally:
        os.umask(old)
    assert mode(os.path.join(m.mountpoint, "priv")) == 0o700
    assert mode(os.path.join(m.mountpoint, "pub")) == 0o755
    assert effective_mode(os.path.join(sdir, "priv")) == 0o700
    assert effective_mode(os.path.join(sdir, "pub")) == 0o755


def test_create_mode(msrv, sdir, mount_factory):
    """open(O_CREAT, mode) gives the new file that mode (the share's
    `create mask = 0666` would give 0666): a linker's output runs, a
    private file stays private; no lease of ours is broken on the way."""
    m = mount_factory(msrv, options=["debug"])
    p = os.path.join(m.mountpoint, "a.out")
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o755)
    os.write(fd, b"#!/bin/sh\necho built\n" * 500)
    os.fchmod(fd, 0o750)       # while writes are queued
    os.write(fd, b"echo done\n")
    os.close(fd)
    assert mode(p) == 0o750
    assert os.stat(p).st_size == os.stat(os.path.join(sdir, "a.out")).st_size
    out = subprocess.run([p], check=True, capture_output=True, text=True)
    assert out.stdout.endswith("built\ndone\n")
    q = os.path.join(m.mountpoint, "private")
    os.close(os.open(q, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    assert mode(q) == 0o600
    assert effective_mode(os.path.join(sdir, "private")) == 0o600
    assert "lease break" not in m.stderr()


def test_chmod_444_sets_readonly(msrv, sdir, mount_factory):
    m = mount_factory(msrv)
    p = os.path.join(m.mountpoint, "ro")
    create(p)
    os.chmod(p, 0o444)
    assert mode(p) == 0o444
    assert effective_mode(os.path.join(sdir, "ro")) == 0o444
    info = msrv.smbclient("alice", "share").run("allinfo ro").stdout
    assert re.search(r"attributes: \w*R", info), info
    os.chmod(p, 0o644)
    assert mode(p) == 0o644
    info = msrv.smbclient("alice", "share").run("allinfo ro").stdout
    assert not re.search(r"attributes: \w*R", info), info
    with open(p, "ab") as f:
        f.write(b"more\n")


def test_chmod_x_makes_a_program_run(msrv, sdir, mount_factory):
    m = mount_factory(msrv)
    p = os.path.join(m.mountpoint, "hello.sh")
    create(p, b"#!/bin/sh\necho hello from the share\n")
    os.chmod(p, 0o644)
    with pytest.raises(PermissionError):
        subprocess.run([p], check=True)
    os.chmod(p, 0o755)
    out = subprocess.run([p], check=True, capture_output=True, text=True)
    assert out.stdout == "hello from the share\n"
    assert effective_mode(os.path.join(sdir, "hello.sh")) == 0o755


def test_second_mount_sees_chmod(msrv, sdir, mount_factory):
    a = mount_factory(msrv)
    b = mount_factory(msrv, options=["actimeo=0"])
    create(os.path.join(a.mountpoint, "shared"))
    os.chmod(os.path.join(a.mountpoint, "shared"), 0o640)
    assert mode(os.path.join(b.mountpoint, "shared")) == 0o640
    os.chmod(os.path.join(a.mountpoint, "shared"), 0o705)
    assert mode(os.path.join(b.mountpoint, "shared")) == 0o705
    os.mkdir(os.path.join(a.mountpoint, "dir"))
    os.chmod(os.path.join(a.mountpoint, "dir"), 0o700)
    assert mode(os.path.join(b.mountpoint, "dir")) == 0o700


def test_chown_seen_by_another_mount(msrv, mount_factory):
    """alice is an admin user of "denied": the server lets her give files
    away.  Owner and group go as S-1-22-1-uid / S-1-22-2-gid."""
    d = msrv.share_dir("denied")
    a = mount_factory(msrv, share="denied")
    b = mount_factory(msrv, share="denied", options=["actimeo=0"])
    p = os.path.join(a.mountpoint, "given")
    create(p)
    os.chmod(p, 0o640)
    os.chown(p, 12345, 12346)
    st = os.stat(p)
    assert (st.st_uid, st.st_gid) == (12345, 12346)
    disk = os.stat(os.path.join(d, "given"))
    assert (disk.st_uid, disk.st_gid) == (12345, 12346)
    st = os.stat(os.path.join(b.mountpoint, "given"))
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (12345, 12346, 0o640)
    os.chown(p, -1, 0)  # group only
    assert os.stat(os.path.join(b.mountpoint, "given")).st_gid == 0
    assert os.stat(os.path.join(d, "given")).st_uid == 12345
    # forceuid/forcegid show uid=/gid= whatever the server says
    c = mount_factory(msrv, share="denied",
                      options=["uid=4242", "gid=4343", "forceuid", "forcegid"])
    st = os.stat(os.path.join(c.mountpoint, "given"))
    assert (st.st_uid, st.st_gid) == (4242, 4343)


def test_chown_refused_is_ignored(msrv, sdir, mount_factory):
    """Not an admin on "share": Samba refuses to give the file away.  The
    chown is accepted and ignored (logged once), as cifs does without
    cifsacl, so tar x and cp -p as root work; stat shows the real owner."""
    m = mount_factory(msrv)
    p = os.path.join(m.mountpoint, "mine")
    create(p)
    before = os.stat(p)
    os.chown(p, 12345, -1)
    os.chown(p, 12345, 12346)
    st = os.stat(p)
    assert (st.st_uid, st.st_gid) == (before.st_uid, before.st_gid)
    assert os.stat(os.path.join(sdir, "mine")).st_uid != 12345
    assert m.stderr().count("refuses to change owners") == 1


def test_fallback_when_the_server_keeps_no_acls(msrv, mount_factory):
    """`nt acl support = no`: every descriptor is a NULL DACL owned by
    Everyone; the mount stops asking and shows file_mode/dir_mode and
    uid=/gid=."""
    d = msrv.share_dir("guestshare")
    create(os.path.join(d, "f"))
    os.chown(os.path.join(d, "f"), smbenv.pwd.getpwnam(ALICE).pw_uid, -1)
    os.chmod(os.path.join(d, "f"), 0o600)
    os.makedirs(os.path.join(d, "sub"), exist_ok=True)
    m = mount_factory(msrv, share="guestshare", options=["debug"])
    assert mode(os.path.join(m.mountpoint, "f")) == 0o755
    assert mode(os.path.join(m.mountpoint, "sub")) == 0o755
    st = os.stat(os.path.join(m.mountpoint, "f"))
    assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    assert "keeps no ACLs" in m.stderr()
    # chmod only toggles the read-only attribute here
    os.chmod(os.path.join(m.mountpoint, "f"), 0o444)
    assert mode(os.path.join(m.mountpoint, "f")) == 0o555
    os.chmod(os.path.join(m.mountpoint, "f"), 0o644)
    assert mode(os.path.join(m.mountpoint, "f")) == 0o755
    os.chown(os.path.join(m.mountpoint, "f"), 12345, -1)  # accepted, ignored
    m2 = mount_factory(msrv, share="guestshare",
                       options=["file_mode=0640", "dir_mode=0750",
                                "uid=4242", "gid=4343"])
    st = os.stat(os.path.join(m2.mountpoint, "f"))
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 4242, 4343)
    assert mode(os.path.join(m2.mountpoint, "sub")) == 0o750


def test_nocifsacl_and_noperm(msrv, sdir, mount_factory):
    create(os.path.join(sdir, "f"))
    os.chmod(os.path.join(sdir, "f"), 0o600)
    m = mount_factory(msrv, options=["nocifsacl", "file_mode=0664", "noperm", "debug"])
    assert mode(os.path.join(m.mountpoint, "f")) == 0o664
    assert mode(m.mountpoint) == 0o755
    # no descriptor asked for (the stat's one QUERY_INFO is the link count)
    assert "QUERY_INFO+QUERY_INFO" not in m.stderr()
    opts = smbenv.mount_entry(m.mountpoint)[3].split(",")
    assert "default_permissions" not in opts
    d = mount_factory(msrv)
    opts = smbenv.mount_entry(d.mountpoint)[3].split(",")
    assert "default_permissions" in opts


def test_stat_is_one_round_trip(msrv, sdir, mount_factory):
    """The descriptor comes in the stat's own compound."""
    create(os.path.join(sdir, "one"))
    m = mount_factory(msrv, options=["debug", "actimeo=0"])
    before = m.stderr().count("compound of")
    os.stat(os.path.join(m.mountpoint, "one"))
    text = m.stderr()
    # (descriptor, link count)
    assert "compound of 4: CREATE+QUERY_INFO+QUERY_INFO+CLOSE" in text
    assert text.count("compound of") - before >= 1
    frames = [ln for ln in text.splitlines()[-40:] if "compound of" in ln]
    assert frames and all("CREATE+QUERY_INFO+QUERY_INFO+CLOSE" in f for f in frames[-1:])


def test_fallback_when_security_queries_are_refused(fake_server,
                                                    mount_factory):
    """The fake server answers security queries STATUS_NOT_SUPPORTED: the
    mount turns them off once (one log line) and shows file_mode."""
    import fsop
    srv = fake_server("fs", password="x")
    m = mount_factory(srv, share="x", password="x",
                      options=["vers=2.1", "actimeo=0", "debug"])
    assert fsop.run(m, "stat", "f", 15)[0] == ("ok", [oct(0o100755), 10])
    mark = len(m.stderr())
    assert fsop.run(m, "stat", "f", 15)[0] == ("ok", [oct(0o100755), 10])
    text = m.stderr()
    assert text.count("refuses security queries") == 1, text
    # (the one QUERY_INFO left is the link count, FileStandardInformation)
    assert "QUERY_INFO+QUERY_INFO" not in text[mark:], text[mark:]
    assert "compound of 3: CREATE+QUERY_INFO+CLOSE" in text[mark:]


def readonly_attr(msrv, name):
    """Whether the server keeps FILE_ATTRIBUTE_READONLY on share's name."""
    info = msrv.smbclient("alice", "share").run("allinfo %s" % name).stdout
    assert "attributes:" in info, info
    return bool(re.search(r"attributes: \w*R", info))


def test_rm_of_files_without_write_bits(msrv, sdir, mount_factory):
    """POSIX asks for write permission on the directory only.  chmod a-w
    sets FILE_ATTRIBUTE_READONLY, which Samba will not delete
    (STATUS_CANNOT_DELETE): the mount clears it and deletes again, as
    cifs does.  An empty directory without write bits goes too, and a
    rename replaces a read-only file."""
    m = mount_factory(msrv)
    for md in (0o444, 0o400, 0o000, 0o555):
        name = "f%03o" % md
        p = os.path.join(m.mountpoint, name)
        create(p)
        os.chmod(p, md)
        assert mode(p) & 0o222 == 0
        assert readonly_attr(msrv, name)
        os.unlink(p)
        assert not os.path.exists(p)
        assert not os.path.exists(os.path.join(sdir, name))
    d = os.path.join(m.mountpoint, "d")
    os.mkdir(d)
    os.chmod(d, 0o555)
    os.rmdir(d)
    assert not os.path.exists(os.path.join(sdir, "d"))
    t = os.path.join(m.mountpoint, "target")
    create(t, b"old\n")
    os.chmod(t, 0o444)
    create(os.path.join(m.mountpoint, "new"), b"new\n")
    os.chmod(os.path.join(m.mountpoint, "new"), 0o640)
    os.rename(os.path.join(m.mountpoint, "new"), t)
    with open(os.path.join(sdir, "target"), "rb") as f:
        assert f.read() == b"new\n"
    assert mode(t) == 0o640
    assert sorted(os.listdir(sdir)) == ["target"]


def test_unlink_refused_leaves_the_file_as_it_was(msrv, sdir, mount_factory):
    """bob, not the owner, may not chmod alice's read-only file, so its
    READONLY stays and Samba refuses the delete: EACCES, and the file
    keeps its mode and attribute (nothing half done)."""
    a = mount_factory(msrv)
    b = mount_factory(msrv, user="bob", options=["debug"])
    p = os.path.join(a.mountpoint, "ro")
    create(p)
    os.chmod(p, 0o444)
    with pytest.raises(PermissionError):
        os.unlink(os.path.join(b.mountpoint, "ro"))
    assert "STATUS_CANNOT_DELETE" in b.stderr()
    assert os.path.exists(os.path.join(sdir, "ro"))
    assert effective_mode(os.path.join(sdir, "ro")) == 0o444
    assert readonly_attr(msrv, "ro")
    time.sleep(1.2)  # past actimeo: asked again
    assert mode(p) == 0o444
    os.unlink(p)  # the owner may
    assert os.listdir(sdir) == []


def test_times_of_a_file_without_write_bits(msrv, sdir, mount_factory):
    """The owner sets a file's times whatever its mode (utimensat), by
    path and through a read-only descriptor (futimens); the mode and
    READONLY stay."""
    m = mount_factory(msrv)
    p = os.path.join(m.mountpoint, "ro")
    disk = os.path.join(sdir, "ro")
    create(p)
    os.chmod(p, 0o444)
    subprocess.run(["touch", "-d", "@1000000000", p], check=True)
    assert os.stat(p).st_mtime == 1000000000
    assert os.stat(disk).st_mtime == 1000000000
    fd = os.open(p, os.O_RDONLY)
    try:
        os.utime(fd, (1100000000, 1100000000))
        assert os.fstat(fd).st_mtime == 1100000000
    finally:
        os.close(fd)
    assert os.stat(disk).st_mtime == 1100000000
    before = time.time()
    os.utime(p)  # UTIME_NOW
    assert os.stat(disk).st_mtime >= before - 2
    assert mode(p) == 0o444
    assert effective_mode(disk) == 0o444
    assert readonly_attr(msrv, "ro")
    with pytest.raises(PermissionError):
        open(p, "ab")

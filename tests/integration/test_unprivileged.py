"""Mounting without root (issue 10, part 5), with a throwaway account.

* A normal user runs smb2fs on a directory they own with their own
  credentials file (libfuse mounts through the set-uid fusermount3), uses
  the mount, and unmounts it with `fusermount3 -u`.
* An /etc/fstab line with `user` or `users`, of type `smb2fs` (mount(8)
  runs /sbin/mount.smb2fs as the calling user) and of type `fuse.smb2fs`
  (mount(8) runs mount.fuse3, which runs `smb2fs` from PATH), mounted with
  `mount MNT` and unmounted with `umount MNT` by that user.
* What must not work: reading a credentials file the user cannot read,
  allow_other without user_allow_other, a set-uid smb2fs.

The test runs as root and changes the machine for its duration only:
  - creates the account smb2fs-tuser if missing (removed again afterwards),
  - appends a line to /etc/fstab (restored),
  - points /sbin/mount.smb2fs and /usr/local/sbin/smb2fs at a copy of the
    binary under test (whatever was there is put back),
  - makes /dev/fuse mode 0666 if it is not (udev's default on Debian; a
    container without udev may have 0600), and restores the mode.
The binary is copied into a world-readable temporary directory because
the build directory may not be reachable for other users.
"""

import contextlib
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import smbenv  # noqa: E402

TUSER = "smb2fs-tuser"
HELPER = "/sbin/mount.smb2fs"
PATH_LINK = "/usr/local/sbin/smb2fs"  # first in mount.fuse3's default PATH


def _need():
    if os.geteuid() != 0:
        smbenv.skip_or_fail("needs root (creates an account, edits /etc/fstab)")
    if not os.path.exists("/dev/fuse"):
        smbenv.skip_or_fail("/dev/fuse missing")
    for tool in ("fusermount3", "runuser", "mount", "umount", "mount.fuse3",
                 "useradd", "userdel"):
        if not smbenv.which(tool):
            smbenv.skip_or_fail("%s missing (apt-get install fuse3 util-linux "
                                "passwd)" % tool)
    fm = smbenv.which("fusermount3")
    st = os.stat(fm)
    if not (st.st_mode & stat.S_ISUID and st.st_uid == 0):
        smbenv.skip_or_fail("%s is not set-uid root" % fm)


@contextlib.contextmanager
def _replaced(path, target):
    """path is a symlink to target while the block runs; whatever was at
    path before (file, link or nothing) is put back afterwards."""
    backup = None
    if os.path.lexists(path):
        backup = path + ".smb2fs-test-backup"
        os.rename(path, backup)
    try:
        os.symlink(target, path)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        if backup:
            os.rename(backup, path)


@pytest.fixture(scope="module")
def tuser():
    _need()
    created = False
    try:
        pw = pwd.getpwnam(TUSER)
    except KeyError:
        pw = smbenv.ensure_unix_user(TUSER)
        created = True
    # a user's view of /dev/fuse as on a Debian system with udev
    mode = stat.S_IMODE(os.stat("/dev/fuse").st_mode)
    if mode & 0o666 != 0o666:
        os.chmod("/dev/fuse", mode | 0o666)
    try:
        yield pw
    finally:
        if mode & 0o666 != 0o666:
            os.chmod("/dev/fuse", mode)
        if created:
            subprocess.run([smbenv.which("userdel"), TUSER],
                           capture_output=True)


class Env:
    """A world-readable directory with a copy of smb2fs, a credentials
    file and mount points owned by the test user."""

    def __init__(self, pw, smb2fs_bin, smbd):
        self.pw = pw
        self.smbd = smbd
        self.dir = tempfile.mkdtemp(prefix="smb2fs-unpriv-")
        os.chmod(self.dir, 0o755)
        self.bin = os.path.join(self.dir, "smb2fs")
        shutil.copy(smb2fs_bin, self.bin)
        os.chmod(self.bin, 0o755)
        # sanitizer reports of a daemonized smb2fs (running as the user)
        self.logdir = self.mkdir("log")
        self.cred = os.path.join(self.dir, "cred")
        smbenv.write_credentials(self.cred, "alice", smbd.password)
        os.chown(self.cred, pw.pw_uid, pw.pw_gid)
        self.mounts = []

    def mkdir(self, name, owner=True):
        p = os.path.join(self.dir, name)
        os.mkdir(p, 0o755)
        if owner:
            os.chown(p, self.pw.pw_uid, self.pw.pw_gid)
        return p

    def env(self):
        return smbenv.sanitizer_env(self.logdir)

    def as_user(self, argv, check=False, timeout=60):
        """argv run as the test user (from /, with the sanitizer env)."""
        return subprocess.run([smbenv.which("runuser"), "-u", TUSER, "--"]
                              + list(argv), capture_output=True, text=True,
                              cwd="/", env=self.env(), timeout=timeout,
                              check=check)

    def sh(self, script, **kw):
        return self.as_user(["/bin/sh", "-c", script], **kw)

    def cleanup(self):
        for mp in self.mounts:
            if smbenv.is_mounted(mp):
                smbenv.unmount(mp)
        report = smbenv.collect_sanitizer_output(self.logdir)
        shutil.rmtree(self.dir, ignore_errors=True)
        return report


@pytest.fixture
def uenv(tuser, smb2fs_bin, smbd, share_dir):
    e = Env(tuser, smb2fs_bin, smbd)
    try:
        yield e
    finally:
        report = e.cleanup()
    assert not report, "sanitizer report:\n" + report


def _gone(pid):
    """pid has exited (gone, or a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _proc_ids(pid):
    """(real, effective, saved, fs) uids of pid."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return tuple(int(x) for x in line.split()[1:5])
    raise AssertionError("no Uid line for pid %d" % pid)


def _check_user_mount(e, mp, share_dir, name, noexec):
    """The mount at mp belongs to the test user and works for them."""
    uid, gid = e.pw.pw_uid, e.pw.pw_gid
    entry = smbenv.mount_entry(mp)
    assert entry, "%s is not mounted" % mp
    assert entry[0] == "//127.0.0.1/share" and entry[2] == "fuse.smb2fs", entry
    opts = entry[3].split(",")
    assert "user_id=%d" % uid in opts and "group_id=%d" % gid in opts, entry
    assert "allow_other" not in opts, entry
    assert ("noexec" in opts) == noexec, entry

    # The daemon runs as the user, with no privilege left.
    pid = smbenv.find_smb2fs_pid(mp)
    assert pid, "no smb2fs process for %s" % mp
    assert _proc_ids(pid) == (uid,) * 4

    # Write and read through the mount, as the user.
    path = os.path.join(mp, name)
    r = e.sh("printf 'hello from %%s\\n' \"$(id -un)\" > '%s' && cat '%s' "
             "&& stat -c '%%u %%g' '%s'" % (path, path, path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "hello from " + TUSER
    assert lines[1].split()[0] == str(uid)  # new files show as the user's
    with open(os.path.join(share_dir, name)) as f:  # the server has it
        assert f.read() == "hello from %s\n" % TUSER

    # noexec reaches the kernel: a script on the mount does not run.
    script = os.path.join(mp, name + ".sh")
    r = e.sh("printf '#!/bin/sh\\necho ran\\n' > '%s' && chmod 755 '%s' "
             "&& '%s'" % (script, script, script))
    if noexec:
        assert r.returncode != 0 and "ran" not in r.stdout, (r.stdout, r.stderr)
        assert "Permission denied" in r.stderr, r.stderr
    else:
        assert r.returncode == 0 and r.stdout == "ran\n", (r.stdout, r.stderr)

    # Without allow_other even root is kept out, as with any FUSE mount.
    with pytest.raises(PermissionError):
        os.listdir(mp)
    return pid


def test_user_mounts_and_fusermount_unmounts(uenv, share_dir):
    e = uenv
    mp = e.mkdir("mnt")
    e.mounts.append(mp)
    r = e.as_user([e.bin, "//127.0.0.1/share", mp, "-o",
                   "port=%d,credentials=%s" % (e.smbd.port, e.cred)])
    assert r.returncode == 0, r.stderr
    pid = _check_user_mount(e, mp, share_dir, "by-user.txt", noexec=False)

    r = e.as_user([smbenv.which("fusermount3"), "-u", mp])
    assert r.returncode == 0, r.stderr
    assert not smbenv.is_mounted(mp)
    assert smbenv.wait_for(lambda: _gone(pid), 10, interval=0.1) is not None, \
        "smb2fs still running after fusermount3 -u"


def test_user_cannot_read_others_credentials(uenv):
    """credentials= is read with the user's rights, never root's."""
    e = uenv
    mp = e.mkdir("mnt")
    e.mounts.append(mp)
    secret = os.path.join(e.dir, "root-cred")
    smbenv.write_credentials(secret, "alice", e.smbd.password)  # root, 0600
    r = e.as_user([e.bin, "//127.0.0.1/share", mp, "-o",
                   "port=%d,credentials=%s" % (e.smbd.port, secret)])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert ("cannot read credentials file %s: Permission denied" % secret
            in r.stderr), r.stderr
    assert not smbenv.is_mounted(mp)


def test_user_allow_other_needs_fuse_conf(uenv):
    e = uenv
    with open("/etc/fuse.conf") as f:
        if any(line.strip() == "user_allow_other" for line in f):
            pytest.skip("/etc/fuse.conf has user_allow_other")
    mp = e.mkdir("mnt")
    e.mounts.append(mp)
    r = e.as_user([e.bin, "//127.0.0.1/share", mp, "-o",
                   "port=%d,credentials=%s,allow_other"
                   % (e.smbd.port, e.cred)])
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "user_allow_other" in r.stderr, r.stderr
    assert "smb2fs: cannot mount on %s" % mp in r.stderr, r.stderr
    assert not smbenv.is_mounted(mp)


def test_setuid_binary_refused(uenv):
    e = uenv
    if os.statvfs(e.dir).f_flag & os.ST_NOSUID:
        pytest.skip("%s is on a nosuid file system" % e.dir)
    suid = os.path.join(e.dir, "smb2fs-suid")
    shutil.copy(e.bin, suid)
    os.chmod(suid, 0o4755)
    mp = e.mkdir("mnt")
    e.mounts.append(mp)
    r = e.as_user([suid, "//127.0.0.1/share", mp, "-o",
                   "port=%d,credentials=/etc/shadow" % e.smbd.port])
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "refusing to run set-user-ID" in r.stderr, r.stderr
    assert "shadow" not in r.stderr
    assert not smbenv.is_mounted(mp)


@contextlib.contextmanager
def _fstab_line(line):
    with open("/etc/fstab") as f:
        saved = f.read()
    try:
        # in place: /etc/fstab may be a bind mount in a container
        with open("/etc/fstab", "w") as f:
            f.write(saved + ("" if saved.endswith("\n") or not saved else "\n")
                    + line + "\n")
        yield
    finally:
        with open("/etc/fstab", "w") as f:
            f.write(saved)


@pytest.mark.parametrize("fstype,useropt", [
    ("smb2fs", "user"), ("smb2fs", "users"),
    ("fuse.smb2fs", "user"), ("fuse.smb2fs", "users"),
])
def test_fstab_user_mount(uenv, share_dir, fstype, useropt):
    e = uenv
    mp = e.mkdir("fstab-%s-%s" % (fstype, useropt))
    e.mounts.append(mp)
    line = ("//127.0.0.1/share %s %s port=%d,credentials=%s,%s,noauto,"
            "_netdev,nofail,x-test.smb2fs=1 0 0"
            % (mp, fstype, e.smbd.port, e.cred, useropt))
    # type smb2fs: mount(8) runs /sbin/mount.smb2fs; fuse.smb2fs:
    # mount.fuse3 runs `smb2fs` from its PATH
    link = HELPER if fstype == "smb2fs" else PATH_LINK
    with _replaced(link, e.bin), _fstab_line(line):
        r = e.as_user([smbenv.which("mount"), mp])
        assert r.returncode == 0, r.stderr
        # `user`/`users` imply noexec, nosuid, nodev (mount(8))
        pid = _check_user_mount(e, mp, share_dir, "fstab.txt", noexec=True)
        r = e.as_user([smbenv.which("umount"), mp])
        assert r.returncode == 0, r.stderr
        assert not smbenv.is_mounted(mp)
        assert smbenv.wait_for(lambda: _gone(pid), 10, interval=0.1) is not None, \
            "smb2fs still running after umount"


def test_fstab_user_mount_reads_credentials_as_user(uenv):
    """A `user` fstab line naming a file only root can read does not let
    the user log in with it: mount.smb2fs runs with the user's rights."""
    e = uenv
    mp = e.mkdir("fstab-secret")
    e.mounts.append(mp)
    secret = os.path.join(e.dir, "root-cred")
    smbenv.write_credentials(secret, "alice", e.smbd.password)  # root, 0600
    line = ("//127.0.0.1/share %s smb2fs port=%d,credentials=%s,user,noauto 0 0"
            % (mp, e.smbd.port, secret))
    with _replaced(HELPER, e.bin), _fstab_line(line):
        r = e.as_user([smbenv.which("mount"), mp])
        assert r.returncode != 0, r.stderr
        assert "Permission denied" in r.stderr, r.stderr
        assert not smbenv.is_mounted(mp)

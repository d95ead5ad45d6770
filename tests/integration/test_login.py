"""Where the login comes from: credentials file (the default fixture),
PASSWD in the environment, domain= and DOMAIN\\user forms; each mount is
checked by doing real I/O, which needs a real session as alice."""

import os

import pytest


def write_read(mp, share_dir, name):
    with open(os.path.join(mp, name), "w") as f:
        f.write(name)
    with open(os.path.join(share_dir, name)) as f:
        assert f.read() == name


def test_password_from_passwd_env(smbd, share_dir, mount_factory):
    env = dict(os.environ, PASSWD=smbd.password)
    m = mount_factory(smbd, credentials=False, env=env)
    write_read(m.mountpoint, share_dir, "env.txt")


def test_wrong_passwd_env_is_logon_failure(smbd, mount_factory):
    env = dict(os.environ, PASSWD="not-the-password")
    m = mount_factory(smbd, credentials=False, env=env, start=False)
    m.start(expect_success=False)
    rc = m.wait()
    assert rc != 0
    assert "STATUS_LOGON_FAILURE" in m.stderr()


@pytest.mark.parametrize("how", ["option", "prefix"])
def test_domain(smbd, share_dir, mount_factory, how):
    workgroup = "SMB2FSTEST"
    if how == "option":
        m = mount_factory(smbd, options=["domain=%s" % workgroup])
    else:
        m = mount_factory(smbd, user="%s\\alice" % workgroup,
                          password=smbd.password)
    write_read(m.mountpoint, share_dir, "dom-%s.txt" % how)


def test_passwd_env_not_left_in_environ(smbd, share_dir, mount_factory):
    env = dict(os.environ, PASSWD=smbd.password)
    m = mount_factory(smbd, credentials=False, env=env)
    write_read(m.mountpoint, share_dir, "env2.txt")
    with open("/proc/%d/environ" % m.pid(), "rb") as f:
        environ = f.read()
    assert smbd.password.encode() not in environ


def test_password_prompt_on_a_terminal(smbd, share_dir, tmp_path):
    # No password anywhere and a terminal on stdin: smb2fs asks, like
    # mount.cifs, with echo off, and the typed password logs in.
    import pty
    import select
    import smbenv

    mp = tmp_path / "mnt"
    mp.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PASSWD"}
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(smbenv.smb2fs_bin(),
                  [smbenv.smb2fs_bin(), smbd.unc("share"), str(mp), "-o",
                   "username=alice,port=%d" % smbd.port], env)
    out = b""
    try:
        while b"Password for alice@" not in out:
            r, _, _ = select.select([fd], [], [], 10)
            assert r, "no password prompt: %r" % out
            out += os.read(fd, 1024)
        os.write(fd, (smbd.password + "\n").encode())
        _, status = os.waitpid(pid, 0)
        try:
            while True:
                r, _, _ = select.select([fd], [], [], 0.2)
                if not r:
                    break
                out += os.read(fd, 1024)
        except OSError:
            pass
        assert os.WEXITSTATUS(status) == 0, out
        assert smbd.password.encode() not in out  # not echoed
        write_read(str(mp), share_dir, "prompted.txt")
    finally:
        smbenv.unmount(str(mp))
        os.close(fd)

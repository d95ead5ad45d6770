"""Test environment helpers for smb2fs integration tests.

Pure standard library, so it can be imported by conftest.py and run as a
script (``python3 tests/integration/smbenv.py serve``) by tests/demo.sh.

What lives here:

* ``SambaServer`` -- a private smbd on 127.0.0.1 with its own smb.conf; every
  directory Samba writes to (private, lock, state, cache, pid, ncalrpc, log,
  the shares) lives in one temp dir, so it never touches /etc/samba or
  /var/lib/samba and can run next to a system smbd.
* ``Smbclient`` -- wraps ``smbclient`` for the "server side" of the dual view.
* ``Mount`` -- runs the smb2fs binary, waits for the mount, unmounts, and
  collects sanitizer reports from its stderr.
* small utilities (free_port, is_mounted, ...) and the tests' shared
  helpers: wait_for/poll (waiting for a condition), sha256/sha256_file,
  server_names, run_checked and skip_or_fail (these two need pytest, which
  they import when called).

Users
-----
smbd insists on a Unix account for every SMB user (tdbsam entries are keyed by
a passwd entry and smbd setuid()s to it when serving a share).  We create
*namespaced* system accounts ``smb2fs_alice`` and ``smb2fs_bob`` (no home,
nologin shell, only if missing; root is required anyway to mount FUSE and to
run smbd) and map the SMB names ``alice``/``bob`` onto them with a private
``username map`` file.  That way:

  * a fresh CI machine needs nothing but ``useradd`` (in passwd, always there),
  * a developer machine never gets generic ``alice``/``bob`` login accounts,
    and the accounts are obviously ours (``userdel smb2fs_alice`` to clean),
  * clients (smb2fs, smbclient) still log in as plain ``alice``/``bob``, which
    is what the error messages name.
"""

import contextlib
import hashlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# SMB user name -> Unix account it is mapped onto.
USERS = {"alice": "smb2fs_alice", "bob": "smb2fs_bob"}
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "WARNING: ThreadSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer")


def log(msg):
    print("[smbenv] " + msg, file=sys.stderr, flush=True)


def which(name):
    """shutil.which plus the sbin dirs (smbd is in /usr/sbin)."""
    found = shutil.which(name)
    if found:
        return found
    for d in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def free_port(start=4450, end=4600, host="127.0.0.1"):
    """First port in [start, end) we can bind on host (TCP)."""
    for port in range(start, end):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((host, port))
        except OSError:
            continue
        finally:
            s.close()
        return port
    raise RuntimeError("no free port in %d..%d" % (start, end))


def closed_port():
    """A local TCP port nobody listens on (connect gives ECONNREFUSED)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # bound but never listened: now free and refusing
    return port


def wait_for(cond, timeout=10.0, interval=0.05):
    """Seconds until cond() holds (polled every interval), or None when it
    still does not after timeout.  (0.0 when it holds at once: compare
    with `is not None`.)"""
    t0 = time.monotonic()
    while True:
        if cond():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(interval)


def poll(fn, want, timeout=5.0, interval=0.05):
    """fn() once it returns want, or its last value after timeout (for an
    assertion that shows what it was)."""
    deadline = time.monotonic() + timeout
    got = fn()
    while got != want and time.monotonic() < deadline:
        time.sleep(interval)
        got = fn()
    return got


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def server_names(root):
    """Every name anywhere under root (a share's directory on disk, hidden
    names included), relative to it, sorted."""
    out = []
    for dirpath, dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for n in dirs + files:
            out.append(n if rel == "." else os.path.join(rel, n))
    return sorted(out)


def skip_or_fail(reason):
    """pytest.skip, or pytest.fail under SMB2FS_REQUIRE_ALL=1."""
    import pytest
    if os.environ.get("SMB2FS_REQUIRE_ALL") == "1":
        pytest.fail(reason + " (SMB2FS_REQUIRE_ALL=1)")
    pytest.skip(reason)


def need_samba():
    """skip_or_fail unless smbd and its tools are here and we are root."""
    for tool in ("smbd", "smbclient", "smbpasswd", "smbstatus"):
        if not which(tool):
            skip_or_fail("%s missing (apt-get install samba smbclient)"
                         % tool)
    if os.geteuid() != 0:
        skip_or_fail("Samba fixture needs root")


def run_checked(argv, check=True, timeout=120, **kw):
    """subprocess.run with text stdout/stderr captured and stdin from
    /dev/null (kw: cwd, env, ...); with check, an exit status other than 0
    fails the test with both outputs."""
    import pytest
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.run(argv, capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        where = " (in %s)" % kw["cwd"] if kw.get("cwd") else ""
        pytest.fail("%s%s exited %d\n--- stdout ---\n%s\n--- stderr ---\n%s"
                    % (" ".join(map(str, argv)), where, p.returncode,
                       p.stdout[-4000:], p.stderr[-8000:]), pytrace=False)
    return p


def is_mounted(mountpoint):
    mp = os.path.realpath(mountpoint)
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 2 and fields[1].replace("\\040", " ") == mp:
                return True
    return False


def mount_entry(mountpoint):
    mp = os.path.realpath(mountpoint)
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 2 and fields[1] == mp:
                return fields
    return None


def _die_with_parent():
    """preexec_fn: SIGTERM the child if the harness dies (no orphan smbd
    holding a port when pytest is killed)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


def ensure_unix_user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise RuntimeError("need root to create Unix account %s" % name)
    useradd = which("useradd")
    subprocess.run([useradd, "--system", "--no-create-home", "--home-dir",
                    "/nonexistent", "--shell", "/usr/sbin/nologin",
                    "--user-group", name], check=True)
    return pwd.getpwnam(name)


def stop_group(proc):
    """Stops a server started in a session of its own (start_new_session):
    SIGTERM, up to 10 s, then SIGKILL to the whole group, since forked
    children (smbd's one per connection) may linger."""
    if not proc:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


class SambaServer:
    """A private smbd on 127.0.0.1:<port>.

    ``signing``: None (Samba default), "mandatory", "disabled", ...
    ``extra_global``: dict of extra [global] options.
    ``share_opts``: {share name: dict of extra options for that share}.
    """

    def __init__(self, port=None, signing=None, extra_global=None,
                 password=None, basedir=None, share_opts=None, env=None,
                 usermap_extra=None):
        # env: smbd's environment (krb5env.py passes KRB5_CONFIG);
        # usermap_extra: more "unixname = names" lines for `username map`.
        self.env = env
        self.usermap_extra = list(usermap_extra or [])
        self.port = port or free_port()
        self.signing = signing
        self.extra_global = dict(extra_global or {})
        self.share_opts = {k: dict(v) for k, v in (share_opts or {}).items()}
        self.password = password or ("Pw-" + secrets.token_hex(6))
        self.passwords = {u: self.password for u in USERS}
        self.basedir = basedir or tempfile.mkdtemp(prefix="smb2fs-samba-")
        # smbd serves shares as the mapped unix user: it must traverse here.
        os.chmod(self.basedir, 0o755)
        self.conf = os.path.join(self.basedir, "smb.conf")
        self.logfile = os.path.join(self.basedir, "smbd.out")
        self.proc = None
        self.host = "127.0.0.1"
        self.shares = {}

    # -- layout --------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.basedir, *parts)

    def share_dir(self, share="share"):
        return self.shares[share]

    def _write_conf(self):
        d = self.path
        for sub in ("private", "lock", "state", "cache", "pid", "ncalrpc",
                    "log", "shares"):
            os.makedirs(d(sub), exist_ok=True)
        os.chmod(d("private"), 0o700)
        for share in ("share", "denied", "guestshare", "readonly"):
            p = d("shares", share)
            os.makedirs(p, exist_ok=True)
            # Both mapped users (and the guest account) may write.
            os.chmod(p, 0o777)
            self.shares[share] = p
        with open(d("shares", "readonly", "readme.txt"), "w") as f:
            f.write("read only\n")
        with open(d("usermap"), "w") as f:
            for smbname, unixname in USERS.items():
                f.write("%s = %s\n" % (unixname, smbname))
            for line in self.usermap_extra:
                f.write(line + "\n")
        g = {
            "workgroup": "SMB2FSTEST",
            "netbios name": "SMB2FSTEST",
            "server string": "smb2fs test server",
            "server role": "standalone server",
            "interfaces": "127.0.0.1",
            "bind interfaces only": "yes",
            "smb ports": str(self.port),
            "disable netbios": "yes",
            "server min protocol": "SMB2_02",
            "server max protocol": "SMB3_11",
            "passdb backend": "tdbsam:" + d("private", "passdb.tdb"),
            "private dir": d("private"),
            "lock directory": d("lock"),
            "state directory": d("state"),
            "cache directory": d("cache"),
            "pid directory": d("pid"),
            "ncalrpc dir": d("ncalrpc"),
            "binddns dir": d("private", "bind-dns"),
            "log file": d("log", "log.%m"),
            "max log size": "0",
            "log level": "1",
            "username map": d("usermap"),
            "map to guest": "Bad User",
            "guest account": "nobody",
            "load printers": "no",
            "printing": "bsd",
            "printcap name": "/dev/null",
            "disable spoolss": "yes",
            "smb encrypt": "if_required",
            "dns proxy": "no",
            "winbind scan trusted domains": "no",
            "rpc start on demand helpers": "yes",
            "kernel oplocks": "no",
            "kernel share modes": "no",
            "posix locking": "no",
            # The harness runs as root on a throwaway machine; be explicit.
            "obey pam restrictions": "no",
            "unix password sync": "no",
        }
        if self.signing:
            g["server signing"] = self.signing
        g.update(self.extra_global)
        alice, bob = USERS["alice"], USERS["bob"]
        shares = {
            "share": {"path": self.shares["share"], "read only": "no",
                      "valid users": "%s %s" % (alice, bob),
                      "create mask": "0666", "directory mask": "0777"},
            "denied": {"path": self.shares["denied"], "read only": "no",
                       "valid users": bob},
            "guestshare": {"path": self.shares["guestshare"],
                           "read only": "no", "guest ok": "yes",
                           "create mask": "0666", "directory mask": "0777"},
            "readonly": {"path": self.shares["readonly"], "read only": "yes",
                         "valid users": "%s %s" % (alice, bob)},
        }
        for name, extra in self.share_opts.items():
            shares[name].update(extra)
        with open(self.conf, "w") as f:
            f.write("[global]\n")
            for k, v in g.items():
                f.write("\t%s = %s\n" % (k, v))
            for name, opts in shares.items():
                f.write("\n[%s]\n" % name)
                for k, v in opts.items():
                    f.write("\t%s = %s\n" % (k, v))

    def _add_users(self):
        for smbname, unixname in USERS.items():
            ensure_unix_user(unixname)
            pw = self.passwords[smbname]
            subprocess.run([which("smbpasswd"), "-c", self.conf, "-a", "-s",
                            unixname], input="%s\n%s\n" % (pw, pw), text=True,
                           check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    # -- lifecycle -----------------------------------------------------
    def start(self, timeout=30):
        smbd = which("smbd")
        if not smbd:
            raise RuntimeError("smbd not found (apt-get install samba)")
        self._write_conf()
        self._add_users()
        self._out = open(self.logfile, "ab")
        # --no-process-group keeps smbd in *our* process group ... but we
        # want to kill smbd and all its forked children at the end without
        # touching pytest, so give it a fresh session/process group instead.
        self.proc = subprocess.Popen(
            [smbd, "--foreground", "--no-process-group", "--debug-stdout",
             "-s", self.conf],
            stdin=subprocess.DEVNULL, stdout=self._out,
            stderr=subprocess.STDOUT, start_new_session=True, env=self.env,
            preexec_fn=_die_with_parent)
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("smbd exited with %s; log:\n%s"
                                   % (self.proc.returncode, self.read_log()))
            r = self.smbclient("alice").run("ls", check=False, timeout=10)
            if r.returncode == 0:
                return self
            last = r.stdout + r.stderr
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("smbd did not accept a login within %ss: %s\n%s"
                           % (timeout, last, self.read_log()))

    def read_log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()[-8000:]
        except OSError:
            return ""

    def stop(self, cleanup=True):
        stop_group(self.proc)
        self.proc = None
        if getattr(self, "_out", None):
            self._out.close()
            self._out = None
        if cleanup:
            shutil.rmtree(self.basedir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- helpers -------------------------------------------------------
    def unc(self, share="share"):
        return "//%s/%s" % (self.host, share)

    def smbclient(self, user="alice", share="share", password=None, **kw):
        return Smbclient(self, user, share,
                         password if password is not None
                         else self.passwords.get(user, ""), **kw)

    def children(self):
        """PIDs of smbd processes forked from the main smbd (one per client
        connection, plus helpers such as smbd-notifyd/cleanupd)."""
        if not self.proc:
            return []
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    stat = f.read()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid:
                out.append(int(pid))
        return out

    def smbstatus(self, *args):
        r = subprocess.run([which("smbstatus"), "-s", self.conf] + list(args),
                           capture_output=True, text=True, timeout=30)
        return r.stdout

    def sessions(self):
        """Parse `smbstatus -b`: list of dicts pid/user/machine/protocol/
        encryption/signing."""
        out = []
        started = False
        for line in self.smbstatus("-b").splitlines():
            if line.startswith("----"):
                started = True
                continue
            if not started or not line.strip():
                continue
            f = line.split()
            if len(f) < 5 or not f[0].isdigit():
                continue
            # PID Username Group Machine Protocol-Version Encryption Signing
            # Machine is "127.0.0.1 (ipv4:127.0.0.1:port)" -> 2 fields
            rest = f[3:]
            proto_idx = next((i for i, x in enumerate(rest)
                              if x.startswith("SMB") or x.startswith("NT1")),
                             None)
            pi = proto_idx if proto_idx is not None else len(rest)
            out.append({
                "pid": int(f[0]), "user": f[1], "group": f[2],
                "protocol": rest[pi] if pi < len(rest) else "",
                "encryption": rest[pi + 1] if pi + 1 < len(rest) else "",
                "signing": rest[pi + 2] if pi + 2 < len(rest) else "",
                "line": line,
            })
        return out

    def new_sessions(self, before, timeout=5):
        """sessions() whose pid is not in `before`, waiting up to timeout
        seconds for one to appear (a mount's session shows up shortly
        after the mount returns)."""
        deadline = time.time() + timeout
        while True:
            now = [s for s in self.sessions() if s["pid"] not in before]
            if now or time.time() > deadline:
                return now
            time.sleep(0.2)

    def serving_pid(self, before, timeout=5):
        """The pid of the smbd child serving the one new session (pid not
        in `before`), waiting up to timeout seconds for it."""
        now = self.new_sessions(before, timeout)
        assert now, "no new smbd session:\n" + self.smbstatus("-b")
        assert len(now) == 1, now
        return now[0]["pid"]

    def kill_session(self, before):
        """SIGKILLs the smbd child serving the one new session (waiting up
        to 5 s for it to be gone); returns its pid."""
        victim = self.serving_pid(before)
        assert victim in self.children()
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: not os.path.exists("/proc/%d" % victim), 5)
        return victim

    def env(self):
        return {
            "SMB2FS_TEST_SERVER": self.host,
            "SMB2FS_TEST_PORT": str(self.port),
            "SMB2FS_TEST_UNC": self.unc(),
            "SMB2FS_TEST_USER": "alice",
            "SMB2FS_TEST_PASSWORD": self.password,
            "SMB2FS_TEST_SHARE_DIR": self.share_dir(),
            "SMB2FS_TEST_CONF": self.conf,
            "SMB2FS_TEST_PID": str(self.proc.pid if self.proc else ""),
        }


class Smbclient:
    """Run smbclient against one share as one user."""

    def __init__(self, server, user, share, password, protocol=None,
                 extra_args=None):
        self.server = server
        self.user = user
        self.share = share
        self.password = password
        self.protocol = protocol
        self.extra_args = list(extra_args or [])  # e.g. --client-protection=encrypt

    def _argv(self):
        argv = [which("smbclient"), "-s", "/dev/null", "-p",
                str(self.server.port),
                "//%s/%s" % (self.server.host, self.share)]
        if self.user is None:
            argv += ["-N"]
        else:
            argv += ["-U", "%s%%%s" % (self.user, self.password)]
        if self.protocol:
            argv += ["-m", self.protocol]
        return argv + self.extra_args

    def run(self, commands, check=True, timeout=60):
        argv = self._argv() + ["-c", commands]
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout)
        # smbclient returns 0 even if a command in -c failed; catch NT_STATUS
        if check and (r.returncode != 0 or "NT_STATUS_" in r.stdout
                      or "NT_STATUS_" in r.stderr):
            raise AssertionError("smbclient %r failed (%d):\n%s%s"
                                 % (commands, r.returncode, r.stdout,
                                    r.stderr))
        return r

    @staticmethod
    def _q(path):
        return '"%s"' % path.replace("/", "\\")

    def put(self, local, remote):
        self.run("put %s %s" % ('"%s"' % local, self._q(remote)))

    def get(self, remote, local):
        self.run("get %s %s" % (self._q(remote), '"%s"' % local))

    def put_bytes(self, remote, data):
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(data)
            name = f.name
        try:
            self.put(name, remote)
        finally:
            os.unlink(name)

    def get_bytes(self, remote):
        fd, name = tempfile.mkstemp()
        os.close(fd)
        try:
            self.get(remote, name)
            with open(name, "rb") as f:
                return f.read()
        finally:
            os.unlink(name)

    def mkdir(self, remote):
        self.run("mkdir %s" % self._q(remote))

    def ls(self, remote=""):
        """Names listed by `ls` in a directory (without . and ..)."""
        cmd = "ls %s" % self._q(remote.rstrip("/") + "/*") if remote \
            else "ls"
        r = self.run(cmd)
        names = []
        for line in r.stdout.splitlines():
            # "  name   A   123  Mon Jan  1 00:00:00 2024"
            if not line.startswith("  ") or "blocks of size" in line:
                continue
            parts = line.strip().rsplit(None, 7)
            if len(parts) >= 8:
                names.append(parts[0].strip())
        return [n for n in names if n not in (".", "..")]

    def exists(self, remote):
        r = self.run("allinfo %s" % self._q(remote), check=False)
        return r.returncode == 0 and "NT_STATUS_" not in r.stdout + r.stderr


# ---------------------------------------------------------------------------
# smb2fs binary and mounts


def smb2fs_bin():
    b = os.environ.get("SMB2FS_BIN", os.path.join("build", "smb2fs"))
    if not os.path.isabs(b):
        b = os.path.join(REPO_ROOT, b)
    return b


def write_credentials(path, username, password, domain=None):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("username=%s\npassword=%s\n" % (username, password))
        if domain:
            f.write("domain=%s\n" % domain)
    os.chmod(path, 0o600)
    return path


def unmount(mountpoint, timeout=10):
    """fusermount3 -u, falling back to a lazy unmount."""
    if not is_mounted(mountpoint):
        return True
    fm = which("fusermount3") or "fusermount3"
    r = subprocess.run([fm, "-u", mountpoint], capture_output=True,
                       text=True)
    if r.returncode != 0:
        subprocess.run([fm, "-uz", mountpoint], capture_output=True)
    deadline = time.time() + timeout
    while time.time() < deadline and is_mounted(mountpoint):
        time.sleep(0.1)
    return not is_mounted(mountpoint)


def sanitizer_report(text):
    return any(m in text for m in SANITIZER_MARKERS)


def sanitizer_env(workdir, extra=None):
    """Environment for an smb2fs run: sanitizer reports additionally go to
    files in workdir (log_path), because a daemonized smb2fs has its stderr
    redirected to /dev/null by fuse_daemonize()."""
    env = dict(os.environ)
    if extra:
        env.update(extra)
    base = os.path.join(workdir, "sanitizer")
    for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        cur = env.get(var, "")
        env[var] = (cur + ":" if cur else "") + "log_path=" + base
    return env


def collect_sanitizer_output(workdir, stderr_text=""):
    """Sanitizer reports found in stderr_text or in workdir/sanitizer.*."""
    texts = []
    if sanitizer_report(stderr_text):
        texts.append(stderr_text)
    try:
        names = sorted(os.listdir(workdir))
    except OSError:
        names = []
    for name in names:
        if name.startswith("sanitizer"):
            with open(os.path.join(workdir, name), errors="replace") as f:
                t = f.read()
            if t.strip():
                texts.append("== %s ==\n%s" % (name, t))
    return "\n".join(texts)


class MountError(Exception):
    def __init__(self, msg, returncode=None, stderr=""):
        super().__init__(msg)
        self.returncode = returncode
        self.stderr = stderr


class Mount:
    """One smb2fs mount.

    ``foreground``: run with -f and keep the process as a child (stderr
    goes to a file, so sanitizer output is collected).  Without it smb2fs
    daemonizes; its stderr (before and after daemonizing) still goes to the
    same file since the daemon inherits the fd.
    """

    def __init__(self, unc, mountpoint, options=None, username="alice",
                 password=None, workdir=None, foreground=True,
                 credentials=True, extra_args=None, binary=None, env=None):
        self.unc = unc
        self.mountpoint = mountpoint
        self.options = list(options or [])
        self.username = username
        self.password = password
        self.workdir = workdir or tempfile.mkdtemp(prefix="smb2fs-mnt-")
        self.foreground = foreground
        self.credentials = credentials
        self.extra_args = list(extra_args or [])
        self.binary = binary or smb2fs_bin()
        self.env = env
        self.proc = None
        self.stderr_path = os.path.join(self.workdir, "smb2fs.stderr")
        self.stdout_path = os.path.join(self.workdir, "smb2fs.stdout")
        self.argv = None

    def build_argv(self):
        opts = []
        if self.username is not None:
            opts.append("username=%s" % self.username)
        if self.credentials and self.password is not None:
            cred = write_credentials(os.path.join(self.workdir, "cred"),
                                     self.username or "", self.password)
            opts.append("credentials=%s" % cred)
        opts += self.options
        argv = [self.binary, self.unc, self.mountpoint]
        if opts:
            argv += ["-o", ",".join(opts)]
        if self.foreground:
            argv.append("-f")
        return argv + self.extra_args

    def start(self, timeout=20, expect_success=True):
        os.makedirs(self.mountpoint, exist_ok=True)
        self.argv = self.build_argv()
        env = sanitizer_env(self.workdir, self.env)
        err = open(self.stderr_path, "ab")
        out = open(self.stdout_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err, env=env,
                                         start_new_session=True)
        finally:
            err.close()
            out.close()
        if not expect_success:
            return self
        deadline = time.time() + timeout
        while time.time() < deadline:
            if is_mounted(self.mountpoint):
                return self
            rc = self.proc.poll()
            if rc is not None and (self.foreground or rc != 0):
                raise MountError("smb2fs exited with %s before mounting:\n%s"
                                 % (rc, self.stderr()), rc, self.stderr())
            time.sleep(0.05)
        raise MountError("mount did not appear within %ss:\n%s"
                         % (timeout, self.stderr()), None, self.stderr())

    def wait(self, timeout=30):
        """Wait for the process to exit (for expected failures)."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sanitizer_output(self):
        """stderr plus any sanitizer log files; empty string if clean."""
        return collect_sanitizer_output(self.workdir, self.stderr())

    def pid(self):
        """PID of the process serving the mount (the daemon if daemonized)."""
        if self.foreground and self.proc:
            return self.proc.pid
        return find_smb2fs_pid(self.mountpoint)

    def stop(self):
        """Unmount and reap; returns the collected stderr."""
        ok = unmount(self.mountpoint)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if not self.foreground:
            # the daemon is not our child; give it time to flush and exit
            deadline = time.time() + 10
            while time.time() < deadline and find_smb2fs_pid(
                    self.mountpoint, any_state=True):
                time.sleep(0.1)
        if not ok:
            raise MountError("could not unmount %s" % self.mountpoint)
        return self.stderr()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def tcp_bytes(pid, port):
    """(sent, received): the payload bytes process pid's established TCP
    connections to port carried, from the kernel's tcp_info counters
    (`ss -ti` bytes_sent / bytes_received; retransmissions included)."""
    out = subprocess.run([which("ss") or "ss", "-tinpH", "state",
                          "established", "( dport = :%d )" % port],
                         capture_output=True, text=True, check=True).stdout
    sent = recv = 0
    found = False
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if "pid=%d," % pid not in line:
            continue
        # the counters are on the socket's line or the indented next one
        info = line + " " + (lines[i + 1] if i + 1 < len(lines) else "")
        s = re.search(r"bytes_sent:(\d+)", info)
        r = re.search(r"bytes_received:(\d+)", info)
        sent += int(s.group(1)) if s else 0
        recv += int(r.group(1)) if r else 0
        found = True
    if not found:
        raise RuntimeError("no connection of pid %d to port %d in:\n%s"
                           % (pid, port, out))
    return sent, recv


def find_smb2fs_pid(mountpoint, any_state=False):
    """Find a running smb2fs whose argv mentions mountpoint."""
    mp = os.path.realpath(mountpoint)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if not argv or b"smb2fs" not in os.path.basename(argv[0]):
            continue
        if state == "Z" and not any_state:
            continue
        if any(os.path.realpath(a.decode(errors="replace")) == mp
               for a in argv[1:] if a):
            return int(pid)
    return None


# ---------------------------------------------------------------------------
# script mode, used by tests/demo.sh


def _serve(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="smbenv.py serve")
    ap.add_argument("--envfile", required=True,
                    help="write shell-sourceable variables here once ready")
    ap.add_argument("--signing", default=None)
    a = ap.parse_args(argv)
    srv = SambaServer(signing=a.signing)
    stop = []

    def on_signal(signum, frame):
        stop.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        srv.start()
        tmp = a.envfile + ".tmp"
        with open(tmp, "w") as f:
            for k, v in srv.env().items():
                f.write("%s='%s'\n" % (k, v))
        os.rename(tmp, a.envfile)
        log("smbd ready on 127.0.0.1:%d (%s)" % (srv.port, srv.basedir))
        while not stop and srv.proc.poll() is None:
            time.sleep(0.2)
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        sys.exit(_serve(sys.argv[2:]))
    print("usage: smbenv.py serve --envfile FILE [--signing mandatory]",
          file=sys.stderr)
    sys.exit(2)

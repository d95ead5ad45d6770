#!/usr/bin/env python3
"""The smb2fs benchmark (issue 7): smb2fs against smbclient, libfuse's
passthrough_ll and smbnetfs, all in one run, on one private loopback smbd.

    sudo python3 tests/bench/bench.py [--quick] [--only WORKLOAD ...]

Run as root from the repository root after building (`build/smb2fs`, or the
binary named by SMB2FS_BIN).  It prints one line per workload: the smb2fs
figure, the peers' figures, the ratio the target is stated in, the target,
and "met" or "MISSED".  It is not a test: it exits 0 whatever the figures
are, and non-zero only when the harness itself broke (not root, no smb2fs
binary, smbd did not start).  It is not part of tests/run-all.sh or CI.

Workloads (--only takes these names; the default runs all of them):

  read     sequential read of a big file, cold, dd bs=1M   >= 1.0 x smbclient get
  write    sequential write, dd bs=1M, timed to close      >= 1.0 x smbclient put
  write4k  the same write with dd bs=4k                    >= 0.8 x smbclient put
  create   create N empty files; delete them               <= 2.5 x passthrough_ll
  tar      tar x of N small files; rm -rf of them          <= 3 x passthrough_ll
  stat     list and stat N files, warm                     <= 1.5 x passthrough_ll
           (and, for information, stat the N files by name)
  ls       ls -l of N entries, cold                        <= 1.5 x passthrough_ll
  rss      peak RSS of the smb2fs daemon in a write+read    <= 64 MiB
  nosign   read and write again with smb2fs -o nosign (the cost of signing)
  seal     read (cold) and write the big file with smb2fs -o seal against
           smbclient --client-protection=encrypt       >= 0.8 x smbclient -e
           (write and write4k also run smb2fs -o cache=loose, for information)
  copy     cp of the big file within the share (coreutils 9: copy_file_range,
           FSCTL_SRV_COPYCHUNK on the server) against dd bs=1M of it
           (read + write through the mount): wall time and the bytes the
           mount's TCP connection carried (the kernel's tcp_info counters)
  rtt      requests per operation, from the -o debug log
  profile  where the time of create, tar, stat and ls goes: after each of
           those groups, one more smb2fs run on an -o debug mount; per
           row, requests and round trips per file, the time waited on the
           server by kind of round trip (e.g. CREATE+SET_INFO+CLOSE),
           the CPU time of the smbd serving the mount, and the "floor" (the
           round trips no SMB2 client can avoid) against passthrough_ll's
           time and the target.  Profiles the selected ones of those four
           groups; `--only profile` alone runs all four.  See
           tests/bench/smbprofile.py.

Each figure is the median of --repeat runs (3).  Every run has a time cap
(--run-timeout); a run that hits it reports the rate it reached, marked
"(partial)", and a peer's run that takes longer than --slow seconds is not
repeated.  See docs/performance.md for what each workload does exactly.
"""

import argparse
import contextlib
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import smbenv  # noqa: E402
import smbprofile  # noqa: E402

PASSTHROUGH_SRC = "/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c"

SIZES = {
    # MiB of the big file, files for create, tar, stat, ls
    "full": dict(mib=1024, create=2000, tar=3000, stat=2000, ls=10000),
    "quick": dict(mib=64, create=200, tar=300, stat=200, ls=1000),
}
WORKLOADS = ["read", "write", "write4k", "create", "tar", "stat", "ls",
             "rss", "nosign", "seal", "copy", "rtt", "profile"]
PROFILED = ["create", "tar", "stat", "ls"]   # the groups `profile` covers

SMB2FS, NOSIGN, LOOSE, SMBCLIENT, PT, SMBNETFS = (
    "smb2fs", "smb2fs-nosign", "smb2fs-loose", "smbclient", "passthrough_ll",
    "smbnetfs")
# Encrypted peers: smb2fs -o seal and smbclient --client-protection=encrypt
SEAL, SMBCLIENT_E = "smb2fs-seal", "smbclient-e"
COLUMNS = [SMB2FS, SMBCLIENT, PT, SMBNETFS]


class Unavailable(Exception):
    """This system cannot run here (not installed, does not mount, ...)."""


class HarnessError(Exception):
    """The harness itself broke: the run cannot go on."""


def log(msg):
    print("[bench] " + msg, file=sys.stderr, flush=True)


def drop_caches():
    """Write back dirty pages and drop the page, dentry and inode caches
    (client and server side: they are the same kernel)."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def fill_random(path, mib):
    """A file of mib MiB of incompressible data (16 distinct 1 MiB blocks
    in a shuffled order, so it is cheap to make)."""
    blocks = [os.urandom(1 << 20) for _ in range(min(16, max(1, mib)))]
    rnd = random.Random(mib)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(rnd.choice(blocks))
        f.flush()
        os.fsync(f.fileno())


def vm_hwm_kib(pid):
    """Peak resident set size (VmHWM) of pid in KiB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def median(values):
    return statistics.median(values) if values else None


# ---------------------------------------------------------------------------
# FUSE daemons that are not smb2fs (passthrough_ll, smbnetfs)


class FuseDaemon:
    """A FUSE filesystem run in the foreground as our child, in its own
    process group; stop() unmounts and reaps the group."""

    def __init__(self, argv, mountpoint, root, logpath, env=None):
        self.argv = argv
        self.mountpoint = mountpoint
        self.root = root
        self.logpath = logpath
        self.env = env
        self.proc = None

    def _tail(self):
        try:
            with open(self.logpath, errors="replace") as f:
                return f.read()[-600:].strip()
        except OSError:
            return ""

    def start(self, timeout=20):
        os.makedirs(self.mountpoint, exist_ok=True)
        with open(self.logpath, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=out, env=self.env,
                                         start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Unavailable("exited with %s: %s"
                                  % (self.proc.returncode, self._tail()))
            if smbenv.is_mounted(self.mountpoint):
                # the first access may connect (smbnetfs): bound it
                try:
                    r = subprocess.run(["ls", self.root], timeout=15,
                                       capture_output=True)
                    if r.returncode == 0:
                        return self
                except subprocess.TimeoutExpired:
                    pass
            time.sleep(0.1)
        self.stop()
        raise Unavailable("did not mount within %d s: %s"
                          % (timeout, self._tail()))

    def stop(self):
        smbenv.unmount(self.mountpoint)
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        # smbnetfs forks helpers into the same process group
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)
            if sig == signal.SIGTERM:
                time.sleep(0.2)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.proc = None


# ---------------------------------------------------------------------------
# The bench: server, systems, workloads


class Bench:
    def __init__(self, args, work, srv):
        self.args = args
        self.work = work
        self.srv = srv
        self.src = os.path.join(work, "src.bin")   # setup_data may move it
        self.size = SIZES["quick" if args.quick else "full"]
        self.share = srv.share_dir("share")
        self.cli = srv.smbclient()
        self.cli_e = srv.smbclient(extra_args=["--client-protection=encrypt"])
        self.unavailable = {}      # system -> reason
        self.sessions = {}         # system -> smbstatus session dict
        self.passthrough_bin = None
        self.smbnetfs_conf = None
        self.nmount = 0
        self.hwm = []              # VmHWM (KiB) of smb2fs mounts, per run
        self.notes = []
        self.probe = None          # a Probe while a profile run is on
        self.profiles = {}         # group -> finished Probe, or an error string

    # -- setup ---------------------------------------------------------
    def build_passthrough(self):
        """Compile libfuse's passthrough_ll example into the temp dir."""
        if not os.path.exists(PASSTHROUGH_SRC):
            self.unavailable[PT] = "no %s (libfuse3-dev)" % PASSTHROUGH_SRC
            return
        out = os.path.join(self.work, "passthrough_ll")
        cc = shutil.which("cc") or shutil.which("gcc")
        try:
            flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"],
                                   capture_output=True, text=True, check=True,
                                   timeout=30).stdout.split()
            r = subprocess.run([cc, "-O2", "-o", out, PASSTHROUGH_SRC,
                                "-I", os.path.dirname(PASSTHROUGH_SRC)] + flags,
                               capture_output=True, text=True, timeout=120)
        except (OSError, TypeError, subprocess.SubprocessError) as e:
            self.unavailable[PT] = "cannot compile: %s" % e
            return
        if r.returncode != 0:
            self.unavailable[PT] = "cannot compile: %s" % r.stderr.strip()[-300:]
            return
        self.passthrough_bin = out

    def setup_smbnetfs(self):
        """A private HOME for smbnetfs: ~/.smb/smb.conf points libsmbclient
        at nothing but loopback, and ~/.smb/smbnetfs.conf holds the login.
        The port goes in the path (<mnt>/127.0.0.1:PORT/share): libsmbclient
        takes it from the smb:// URL smbnetfs builds from the path."""
        exe = smbenv.which("smbnetfs")
        if not exe:
            self.unavailable[SMBNETFS] = ("not installed (run "
                                          "tests/bench/install-bench-deps.sh)")
            return
        home = os.path.join(self.work, "smbnetfs-home")
        os.makedirs(os.path.join(home, ".smb"), mode=0o700)
        with open(os.path.join(home, ".smb", "smb.conf"), "w") as f:
            f.write("[global]\n\tworkgroup = SMB2FSTEST\n"
                    "\tdisable netbios = yes\n\tsmb ports = %d\n"
                    "\tclient min protocol = SMB2_02\n" % self.srv.port)
        conf = os.path.join(home, ".smb", "smbnetfs.conf")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write('auth "alice" "%s"\n' % self.srv.password)
            f.write('smb_query_browsers "false"\n')
            f.write('use_libsecret "false"\n')
        self.smbnetfs_conf = (exe, home, conf)

    def setup_data(self, groups):
        s = self.size
        mib = s["mib"]
        if groups & {"write", "write4k", "rss", "nosign", "seal"}:
            # In RAM when there is room: a source file on disk may be
            # evicted between runs and read from the disk again, which
            # measures the disk, differently from run to run.
            shm = "/dev/shm"
            if os.path.isdir(shm):
                st = os.statvfs(shm)
                if st.f_bavail * st.f_frsize > 3 * mib * 1024 * 1024:
                    d = tempfile.mkdtemp(prefix="smb2fs-bench-src-", dir=shm)
                    self.src = os.path.join(d, "src.bin")
            log("making a %d MiB source file (%s)" % (mib, self.src))
            fill_random(self.src, mib)
        if "copy" in groups:
            log("making a %d MiB file on the share to copy" % mib)
            fill_random(os.path.join(self.share, "bench-copy.bin"), mib)
        if groups & {"read", "nosign", "seal"}:
            log("making a %d MiB file on the share" % mib)
            fill_random(os.path.join(self.share, "bench-read.bin"), mib)
        if "stat" in groups:
            self._empty_files(os.path.join(self.share, "bench-stat"), s["stat"])
        if "ls" in groups:
            self._empty_files(os.path.join(self.share, "bench-ls"), s["ls"])
        if "tar" in groups:
            self._make_tarball(s["tar"])

    @staticmethod
    def _empty_files(d, n):
        os.makedirs(d)
        os.chmod(d, 0o755)
        for i in range(n):
            os.close(os.open(os.path.join(d, "f%05d" % i),
                             os.O_CREAT | os.O_WRONLY, 0o644))

    def _make_tarball(self, n):
        """n small files (0-8 KiB, 100 per directory) with old mtimes, as in a
        source tree: what `tar x` unpacks."""
        rnd = random.Random(7)
        tree = os.path.join(self.work, "tree")
        for i in range(n):
            d = os.path.join(tree, "src", "d%03d" % (i // 100))
            os.makedirs(d, exist_ok=True)
            p = os.path.join(d, "file%05d.c" % i)
            with open(p, "wb") as f:
                f.write(rnd.randbytes(rnd.randint(0, 8192)))
            os.utime(p, (1500000000 + i, 1500000000 + i))
        with tarfile.open(os.path.join(self.work, "tree.tar"), "w") as t:
            t.add(os.path.join(tree, "src"), arcname="src")
        shutil.rmtree(tree)

    # -- systems -------------------------------------------------------
    def _probe_session(self, system, before):
        if system in self.sessions or system not in (SMB2FS, NOSIGN, SEAL, SMBNETFS):
            return
        new = self.srv.new_sessions(before, timeout=3)
        if new:
            self.sessions[system] = new[0]

    @contextlib.contextmanager
    def mounted(self, system, debug=False):
        """Mount `system` fresh; yield the directory that is the share's
        root through it."""
        if system in self.unavailable:
            raise Unavailable(self.unavailable[system])
        self.nmount += 1
        mnt = os.path.join(self.work, "mnt%d" % self.nmount)
        probe = self.probe if system == SMB2FS else None
        before = {x["pid"] for x in self.srv.sessions()} \
            if probe or (system not in self.sessions
                         and system in (SMB2FS, NOSIGN, SEAL, SMBNETFS)) \
            else set()
        debug = debug or probe is not None
        if system in (SMB2FS, NOSIGN, LOOSE, SEAL):
            opts = ["port=%d" % self.srv.port]
            opts += [o for o in self.args.smb2fs_opts.split(",") if o]
            if system == NOSIGN:
                opts.append("nosign")
            if system == SEAL:
                opts.append("seal")
            if system == LOOSE:
                opts.append("cache=loose")
            if debug:
                opts.append("debug")
            wd = os.path.join(self.work, "m%d" % self.nmount)
            os.makedirs(wd)
            m = smbenv.Mount(self.srv.unc("share"), mnt, password=self.srv.password,
                             options=opts, foreground=True, workdir=wd)
            try:
                m.start()
            except smbenv.MountError as e:
                raise Unavailable("mount failed: %s" % str(e).strip()[-300:])
            try:
                if probe:
                    new = self.srv.new_sessions(before, timeout=3)
                    probe.attach(m, new[0]["pid"] if len(new) == 1 else None)
                self._probe_session(system, before)
                yield mnt, m
            finally:
                hwm = vm_hwm_kib(m.proc.pid) if m.proc else None
                if hwm:
                    self.hwm.append(hwm)
                m.last_hwm = hwm
                try:
                    m.stop()
                except smbenv.MountError as e:
                    log("unmount: %s" % e)
        elif system == PT:
            fd = FuseDaemon([self.passthrough_bin, "-f", "-o",
                             "source=%s" % self.share, mnt], mnt, mnt,
                            os.path.join(self.work, "pt%d.log" % self.nmount))
            fd.start()
            try:
                yield mnt, fd
            finally:
                fd.stop()
        elif system == SMBNETFS:
            exe, home, conf = self.smbnetfs_conf
            root = os.path.join(mnt, "%s:%d" % (self.srv.host, self.srv.port),
                                "share")
            env = dict(os.environ, HOME=home)
            fd = FuseDaemon([exe, mnt, "-f", "-o", "config=%s,big_writes" % conf],
                            mnt, root,
                            os.path.join(self.work, "smbnetfs%d.log" % self.nmount),
                            env=env)
            try:
                fd.start()
            except Unavailable as e:
                self.unavailable[SMBNETFS] = str(e)
                raise
            try:
                self._probe_session(system, before)
                yield root, fd
            finally:
                fd.stop()
        else:
            raise ValueError(system)

    def probe_smbclient_session(self, system=SMBCLIENT):
        """Dialect and signing of an smbclient session (kept open briefly)."""
        cli = self.cli_e if system == SMBCLIENT_E else self.cli
        before = {x["pid"] for x in self.srv.sessions()}
        p = subprocess.Popen(cli._argv(), stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             text=True)
        try:
            new = self.srv.new_sessions(before, timeout=5)
            if new:
                self.sessions[system] = new[0]
        finally:
            with contextlib.suppress(Exception):
                p.communicate("quit\n", timeout=10)
            if p.poll() is None:
                p.kill()
                p.wait()

    # -- profile -------------------------------------------------------
    def phase(self, row, n, dirs=1):
        """Around the timed part of a workload: in a profile run, records
        the span of the debug log, the CPU time of smbd and smb2fs and
        smbd's system calls for the row (n files in dirs directories);
        otherwise nothing."""
        if self.probe is None or self.probe.mount is None:
            return contextlib.nullcontext()
        return self.probe.phase(row, n, dirs)

    def profile_run(self, name, fn):
        """One more smb2fs run of group `name` on an -o debug mount, after
        the timed runs; kept in self.profiles[name]."""
        log("%s: smb2fs -o debug run (profile)" % name)
        rows = [r for r, g in ROW_GROUP.items() if g == name]
        self.probe = probe = smbprofile.Probe(name, rows, self.args.syscalls)
        try:
            out = fn(SMB2FS, "profile")
            probe.walls = {row: v[0] for row, v in out.items()}
            probe.close()
            probe.finish()
            self.profiles[name] = probe
        except Exception as e:  # noqa: BLE001 -- reported, the bench goes on
            self.profiles[name] = "%s: %s" % (type(e).__name__, str(e)[:200])
            log("%s: profile run failed: %s" % (name, e))
        finally:
            probe.close()
            self.probe = None

    # -- primitives ----------------------------------------------------
    def deadline(self):
        return time.monotonic() + self.args.run_timeout

    def dd(self, src, dst, bs):
        """Run dd under a time cap; returns (bytes/s, partial)."""
        cap = self.args.run_timeout
        argv = ["timeout", "-s", "INT", "-k", "30", str(cap), "dd",
                "if=" + src, "of=" + dst, "bs=" + bs]
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=cap + 60,
                           env=dict(os.environ, LC_ALL="C"))
        dt = time.perf_counter() - t0
        m = re.search(r"^(\d+) bytes", r.stderr, re.M)
        if not m:
            raise RuntimeError("dd failed (%d): %s" % (r.returncode, r.stderr.strip()[-300:]))
        if r.returncode not in (0, 124):   # 124: stopped by the cap
            raise RuntimeError("dd failed (%d): %s" % (r.returncode, r.stderr.strip()[-300:]))
        return int(m.group(1)) / dt, r.returncode == 124

    def smbclient_rate(self, cmd, cli=None):
        """Run one smbclient get/put; its own figure (bytes per ms, which it
        prints as kb/s or KiloBytes/sec) in bytes/s; it covers open..close,
        not the connect and login."""
        t0 = time.perf_counter()
        r = (cli or self.cli).run(cmd, timeout=self.args.run_timeout + 60)
        dt = time.perf_counter() - t0
        m = re.search(r"\(([\d.]+) (?:kb/s|KiloBytes/sec)\)", r.stdout + r.stderr)
        if m:
            return float(m.group(1)) * 1000.0
        return self.size["mib"] * (1 << 20) / dt

    def timed_loop(self, items, fn):
        """Time fn(item) over items; raise on passing the run's time cap."""
        end = self.deadline()
        t0 = time.perf_counter()
        for i, it in enumerate(items):
            fn(it)
            if (i & 63) == 0 and time.monotonic() > end:
                raise RuntimeError("over the %d s cap" % self.args.run_timeout)
        return time.perf_counter() - t0

    def timed_cmd(self, argv):
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=self.args.run_timeout,
                           env=dict(os.environ, LC_ALL="C"))
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            raise RuntimeError("%s exited %d: %s" % (argv[0], r.returncode,
                                                     r.stderr.strip()[-300:]))
        return dt

    # -- workloads: one run of one system -> {row: (value, partial)} -------
    def w_read(self, system, rep):
        if system == SMBCLIENT:
            drop_caches()
            return {"read": (self.smbclient_rate('get bench-read.bin /dev/null'), False)}
        drop_caches()
        with self.mounted(system) as (root, _):
            rate, partial = self.dd(os.path.join(root, "bench-read.bin"),
                                    "/dev/null", "1M")
        return {"read": (rate, partial)}

    def _write(self, system, rep, bs, row):
        src = self.src
        name = "bench-write-%s-%d.bin" % (system, rep)
        ondisk = os.path.join(self.share, name)
        os.sync()   # no writeback of an earlier run during this one
        try:
            if system == SMBCLIENT:
                return {row: (self.smbclient_rate('put "%s" %s' % (src, name)), False)}
            with self.mounted(system) as (root, _):
                rate, partial = self.dd(src, os.path.join(root, name), bs)
                # data on the server when close returned
                got = os.path.getsize(ondisk) if os.path.exists(ondisk) else -1
                if not partial and got != self.size["mib"] << 20:
                    raise RuntimeError("server has %d bytes after close" % got)
            return {row: (rate, partial)}
        finally:
            with contextlib.suppress(OSError):
                os.unlink(ondisk)

    def w_write(self, system, rep):
        return self._write(system, rep, "1M", "write")

    def w_seal(self, system, rep):
        """One encrypted cold read and one encrypted write of the big file
        (each on a fresh mount): smb2fs -o seal, or smbclient -e."""
        out = {}
        if system == SMBCLIENT_E:
            drop_caches()
            out["read-seal"] = (self.smbclient_rate("get bench-read.bin /dev/null",
                                                    self.cli_e), False)
            name = "bench-write-seal-%s-%d.bin" % (system, rep)
            os.sync()
            try:
                out["write-seal"] = (self.smbclient_rate('put "%s" %s' % (self.src, name),
                                                         self.cli_e), False)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.share, name))
            return out
        out["read-seal"] = self.w_read(system, rep)["read"]
        out["write-seal"] = self._write(system, rep, "1M", "write")["write"]
        return out

    def w_write4k(self, system, rep):
        return self._write(system, rep, "4k", "write4k")

    def w_create(self, system, rep):
        n = self.size["create"]
        d = "bench-create-%s-%s" % (system, rep)
        try:
            with self.mounted(system) as (root, _):
                top = os.path.join(root, d)
                os.mkdir(top)
                paths = [os.path.join(top, "f%05d" % i) for i in range(n)]
                flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY
                with self.phase("create", n):
                    t_create = self.timed_loop(
                        paths, lambda p: os.close(os.open(p, flags, 0o644)))
                with self.phase("delete", n):
                    t_delete = self.timed_loop(paths, os.unlink)
                os.rmdir(top)
        finally:
            shutil.rmtree(os.path.join(self.share, d), ignore_errors=True)
        return {"create": (t_create, False), "delete": (t_delete, False)}

    def w_tar(self, system, rep):
        d = "bench-tar-%s-%s" % (system, rep)
        tarball = os.path.join(self.work, "tree.tar")
        try:
            with self.mounted(system) as (root, _):
                top = os.path.join(root, d)
                os.mkdir(top)
                n = self.size["tar"]
                dirs = (n + 99) // 100 + 1          # src/ and its d000, d001, ...
                with self.phase("tar x", n, dirs):
                    t_x = self.timed_cmd(["tar", "-x", "--no-same-owner", "-f",
                                          tarball, "-C", top])
                with self.phase("rm -rf", n, dirs):
                    t_rm = self.timed_cmd(["rm", "-rf", os.path.join(top, "src")])
                os.rmdir(top)
        finally:
            shutil.rmtree(os.path.join(self.share, d), ignore_errors=True)
        return {"tar x": (t_x, False), "rm -rf": (t_rm, False)}

    def w_stat(self, system, rep):
        gap = self.args.stat_gap
        with self.mounted(system) as (root, _):
            d = os.path.join(root, "bench-stat")

            def list_and_stat():
                t0 = time.perf_counter()
                for e in os.scandir(d):
                    e.stat(follow_symlinks=False)
                return time.perf_counter() - t0

            list_and_stat()                   # warm up
            # past the 1 s attribute and entry timeouts of both smb2fs
            # (actimeo) and passthrough_ll (timeout=1.0)
            time.sleep(gap)
            with self.phase("stat", self.size["stat"]):
                t_list = list_and_stat()
            time.sleep(gap)
            paths = [os.path.join(d, "f%05d" % i) for i in range(self.size["stat"])]
            with self.phase("stat-name", self.size["stat"]):
                t_name = self.timed_loop(paths, os.lstat)
        return {"stat": (t_list, False), "stat-name": (t_name, False)}

    def w_ls(self, system, rep):
        drop_caches()
        with self.mounted(system) as (root, _):
            with self.phase("ls", self.size["ls"]):
                t = self.timed_cmd(["sh", "-c", 'ls -l "$1" > /dev/null', "sh",
                                    os.path.join(root, "bench-ls")])
        return {"ls": (t, False)}

    def w_rss(self, system, rep):
        src = self.src
        name = "bench-rss-%d.bin" % rep
        try:
            with self.mounted(system) as (root, m):
                self.dd(src, os.path.join(root, name), "1M")
                drop_caches()
                self.dd(os.path.join(root, name), "/dev/null", "1M")
            hwm = m.last_hwm
        finally:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.share, name))
        if not hwm:
            raise RuntimeError("no VmHWM")
        return {"rss": (hwm / 1024.0, False)}

    def w_copy(self, system, rep):
        """cp of the big file to a new name on the same mount (server-side
        copy), then dd bs=1M of it (every byte read and written over the
        connection); time and bytes on the connection for each."""
        src_name = "bench-copy.bin"
        names = ("bench-copy-cp.bin", "bench-copy-dd.bin")
        out = {}
        try:
            with self.mounted(system) as (root, m):
                src = os.path.join(root, src_name)
                os.stat(src)
                pid = m.proc.pid
                for row, name, argv in (
                        ("copy", names[0], ["cp", src]),
                        ("copy-rw", names[1], ["dd", "if=" + src, "bs=1M"])):
                    dst = os.path.join(root, name)
                    argv = argv + ([dst] if argv[0] == "cp" else ["of=" + dst])
                    before = smbenv.tcp_bytes(pid, self.srv.port)
                    t = self.timed_cmd(argv)
                    after = smbenv.tcp_bytes(pid, self.srv.port)
                    got = os.path.getsize(os.path.join(self.share, name))
                    if got != self.size["mib"] << 20:
                        raise RuntimeError("%s: server has %d bytes" % (argv[0], got))
                    moved = (after[0] - before[0]) + (after[1] - before[1])
                    out[row] = (t, False)
                    out[row + "-net"] = (moved / 1024.0, False)
        finally:
            for name in names:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.share, name))
        return out

    # -- running -------------------------------------------------------
    def run_group(self, name, fn, systems, results):
        """Run fn for every system, --repeat times, interleaved (rep 1 of
        each system, then rep 2, ...).  results[(row, system)] gets a list
        of (value, partial) or an error string."""
        stopped = set()
        for rep in range(self.args.repeat):
            for system in systems:
                if system in stopped:
                    continue
                log("%s: %s run %d" % (name, system, rep + 1))
                t0 = time.monotonic()
                try:
                    out = fn(system, rep)
                except Unavailable as e:
                    stopped.add(system)
                    results.setdefault(("*" + name, system), str(e))
                    continue
                except Exception as e:  # noqa: BLE001 -- one system's failure
                    stopped.add(system)
                    results.setdefault(("*" + name, system),
                                       "%s: %s" % (type(e).__name__, str(e)[:200]))
                    log("%s: %s failed: %s" % (name, system, e))
                    continue
                for row, v in out.items():
                    results.setdefault((row, system), []).append(v)
                    if v[1]:
                        stopped.add(system)   # hit the cap: do not repeat
                if system != SMB2FS and time.monotonic() - t0 > self.args.slow:
                    stopped.add(system)

    def rtt(self):
        """Requests smb2fs sends for single operations (counted in its
        -o debug log: one '> COMMAND' line per request)."""
        out = []
        for name in ("rt-stat", "rt-rm", "rt-rm2", "rt-ren"):
            with open(os.path.join(self.share, name), "w") as f:
                f.write("x")
            os.chmod(os.path.join(self.share, name), 0o666)
        os.makedirs(os.path.join(self.share, "rt-ls"), exist_ok=True)
        for i in range(10):
            open(os.path.join(self.share, "rt-ls", "f%d" % i), "w").close()
        with open(os.path.join(self.share, "rt-cat"), "wb") as f:
            f.write(os.urandom(256 * 1024))
        tarball = os.path.join(self.work, "one.tar")
        src = os.path.join(self.work, "one")
        os.makedirs(src, exist_ok=True)
        with open(os.path.join(src, "rt-tar"), "wb") as f:
            f.write(b"x" * 1000)
        with tarfile.open(tarball, "w") as t:
            t.add(os.path.join(src, "rt-tar"), arcname="rt-tar")
        with self.mounted(SMB2FS, debug=True) as (root, m):
            p = lambda n: os.path.join(root, n)  # noqa: E731

            def sh(*argv):
                subprocess.run(list(argv), check=True, timeout=30)

            # (label, untimed preparation, the operation)
            ops = [
                ("stat (not cached)", None, lambda: os.stat(p("rt-stat"))),
                ("create empty file (open O_CREAT, close)", None,
                 lambda: os.close(os.open(p("rt-new"), os.O_CREAT | os.O_EXCL
                                          | os.O_WRONLY, 0o644))),
                ("touch new file", None, lambda: sh("touch", p("rt-touch"))),
                ("write 4 KiB file (create, write, close)", None,
                 lambda: _write_file(p("rt-write"), b"y" * 4096)),
                ("tar x of one 1000-byte file", None,
                 lambda: sh("tar", "-x", "--no-same-owner", "-f", tarball,
                            "-C", root)),
                ("rm (not cached)", None, lambda: sh("rm", p("rt-rm"))),
                ("rm of a file just stat'ed", lambda: os.stat(p("rt-rm2")),
                 lambda: sh("rm", p("rt-rm2"))),
                ("mkdir", None, lambda: os.mkdir(p("rt-mkdir"))),
                ("rename (names looked up)",
                 lambda: (os.stat(p("rt-ren")), os.path.exists(p("rt-ren2"))),
                 lambda: os.rename(p("rt-ren"), p("rt-ren2"))),
                ("ls of a 10-entry directory (looked up)",
                 lambda: os.stat(p("rt-ls")),
                 lambda: os.listdir(p("rt-ls"))),
                ("statfs", None, lambda: os.statvfs(root)),
                ("cat of a 256 KiB file read just before",
                 lambda: _read_file(p("rt-cat")),
                 lambda: _read_file(p("rt-cat"))),
            ]
            for label, prep, op in ops:
                time.sleep(1.2)      # let smb2fs's and the kernel's 1 s caches lapse
                os.stat(root)        # the parent is looked up, as in a busy shell
                if prep:
                    prep()
                start = os.path.getsize(m.stderr_path)
                op()
                time.sleep(0.5)      # let asynchronous RELEASE/FORGET land
                with open(m.stderr_path, errors="replace") as f:
                    f.seek(start)
                    text = f.read()
                cmds = re.findall(r" > ([A-Z_]+) ", text)
                counts = {}
                for c in cmds:
                    counts[c] = counts.get(c, 0) + 1
                # round trips: a request sent alone is one; a compound
                # frame is announced by one "compound of N:" line
                alone = len(re.findall(r" > [A-Z_]+ mid=\S+ sid=\S+ tid=\S+\n",
                                       text))
                trips = alone + len(re.findall(r"compound of \d+: ", text))
                out.append((label, len(cmds), counts, trips))
        for name in ("rt-stat", "rt-rm", "rt-rm2", "rt-new", "rt-touch",
                     "rt-write", "rt-tar", "rt-ren", "rt-ren2", "rt-cat"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.share, name))
        for name in ("rt-mkdir", "rt-ls"):
            shutil.rmtree(os.path.join(self.share, name), ignore_errors=True)
        return out


def _read_file(path):
    with open(path, "rb") as f:
        return f.read()


def _write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------
# report


def fmt_rate(v):
    return "%.0f MB/s" % (v / 1e6)


def fmt_time(v):
    return "%.1f ms" % (v * 1e3) if v < 1 else "%.2f s" % v


def fmt_mib(v):
    return "%.1f MiB" % v


def fmt_kib(v):
    return "%.0f KiB" % v if v < 10240 else "%.0f MiB" % (v / 1024)


def cell(results, row, system, fmt, notes):
    """(text, median value or None) for one system's figure in a row; a
    reason for n/a goes to notes."""
    v = results.get((row, system))
    if isinstance(v, list) and v:
        vals = [x[0] for x in v]
        med = median(vals)
        txt = fmt(med)
        if any(x[1] for x in v):
            txt += " p"
        elif len(vals) < 3:
            txt += " (%d)" % len(vals)
        return txt, med
    err = results.get(("*" + ROW_GROUP.get(row, row), system))
    if isinstance(err, str):
        note = "%s, %s: %s" % (system, ROW_GROUP.get(row, row), err)
        if note not in notes:
            notes.append(note)
        return "n/a", None
    return "-", None


ROW_GROUP = {"read": "read", "write": "write", "write4k": "write4k",
             "create": "create", "delete": "create", "tar x": "tar",
             "rm -rf": "tar", "stat": "stat", "stat-name": "stat", "ls": "ls",
             "rss": "rss",
             "read-nosign": "read", "write-nosign": "write",
             "write-loose": "write", "write4k-loose": "write4k",
             "read-seal": "seal", "write-seal": "seal",
             "copy": "copy", "copy-net": "copy", "copy-rw": "copy",
             "copy-rw-net": "copy"}


def table_rows(s):
    """The report's rows for sizes s: (group, row, label, smb2fs system,
    reference system, kind, target, formatter)."""
    mib = s["mib"]
    return [
        ("read", "read", "read %d MiB cold, dd bs=1M" % mib,
         SMB2FS, SMBCLIENT, "ge", 1.0, fmt_rate),
        ("write", "write", "write %d MiB, dd bs=1M" % mib,
         SMB2FS, SMBCLIENT, "ge", 1.0, fmt_rate),
        ("write4k", "write4k", "write %d MiB, dd bs=4k" % mib,
         SMB2FS, SMBCLIENT, "ge", 0.8, fmt_rate),
        ("write", "write-loose", "write %d MiB, dd bs=1M, loose" % mib,
         LOOSE, SMBCLIENT, "info", None, fmt_rate),
        ("write4k", "write4k-loose", "write %d MiB, dd bs=4k, loose" % mib,
         LOOSE, SMBCLIENT, "info", None, fmt_rate),
        ("create", "create", "create %d empty files" % s["create"],
         SMB2FS, PT, "le", 2.5, fmt_time),
        ("create", "delete", "delete %d files" % s["create"],
         SMB2FS, PT, "le", 2.5, fmt_time),
        ("tar", "tar x", "tar x %d files" % s["tar"], SMB2FS, PT, "le", 3.0, fmt_time),
        ("tar", "rm -rf", "rm -rf %d files" % s["tar"], SMB2FS, PT, "le", 3.0, fmt_time),
        ("stat", "stat", "list+stat %d files, warm" % s["stat"], SMB2FS, PT, "le", 1.5,
         fmt_time),
        ("stat", "stat-name", "stat %d by name, warm" % s["stat"], SMB2FS, PT, "info",
         None, fmt_time),
        ("ls", "ls", "ls -l %d entries, cold" % s["ls"], SMB2FS, PT, "le", 1.5, fmt_time),
        ("rss", "rss", "peak RSS, %d MiB write+read" % mib, SMB2FS, None, "max",
         64.0, fmt_mib),
        ("nosign", "read-nosign", "read %d MiB cold, -o nosign" % mib, NOSIGN,
         SMBCLIENT, "info", None, fmt_rate),
        ("nosign", "write-nosign", "write %d MiB, -o nosign" % mib, NOSIGN,
         SMBCLIENT, "info", None, fmt_rate),
        # the smbclient column of these rows is smbclient -e (encrypted)
        ("seal", "read-seal", "read %d MiB cold, -o seal" % mib, SEAL,
         SMBCLIENT_E, "ge", 0.8, fmt_rate),
        ("seal", "write-seal", "write %d MiB, -o seal" % mib, SEAL,
         SMBCLIENT_E, "ge", 0.8, fmt_rate),
        # server-side copy: cp (copy_file_range) against dd (read+write)
        ("copy", "copy", "cp %d MiB in the share" % mib, SMB2FS, None,
         "info", None, fmt_time),
        ("copy", "copy-net", "  bytes on the connection", SMB2FS, None,
         "info", None, fmt_kib),
        ("copy", "copy-rw", "dd bs=1M %d MiB in the share" % mib, SMB2FS,
         None, "info", None, fmt_time),
        ("copy", "copy-rw-net", "  bytes on the connection", SMB2FS, None,
         "info", None, fmt_kib),
    ]


def report(bench, results, selected):
    rows = table_rows(bench.size)
    widths = (30, 11, 11, 14, 11, 6, 24, 6)
    notes = []
    head = ("workload", "smb2fs", "smbclient", "passthrough_ll", "smbnetfs",
            "ratio", "target", "result")
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    summary = []
    for group, row, label, mine, ref, kind, target, fmt in rows:
        if group not in selected:
            continue
        key = row.replace("-nosign", "").replace("-loose", "")
        src_row = key if mine in (NOSIGN, LOOSE) else row
        my_txt, my_v = cell(results, src_row, mine, fmt, notes)
        peers = []
        for sysname in COLUMNS[1:]:
            if sysname == SMBCLIENT and ref == SMBCLIENT_E:
                sysname = SMBCLIENT_E
            peers.append(cell(results, key, sysname, fmt, notes)[0])
        ratio_txt, tgt_txt, res = "-", "", "-"
        if kind == "ge":
            _, ref_v = cell(results, key, ref, fmt, notes)
            tgt_txt = ">= %.1f x %s" % (target, "smbclient -e" if ref == SMBCLIENT_E
                                        else "smbclient")
            if my_v and ref_v:
                ratio = my_v / ref_v
                ratio_txt = "%.2f" % ratio
                res = "met" if ratio >= target else "MISSED"
            else:
                res = "n/a"
            _, plain_v = cell(results, key.replace("-seal", ""), SMB2FS, fmt, [])
            if mine == SEAL and my_v and plain_v:
                summary.append("encryption costs %s: smb2fs -o seal takes %.2f x as long "
                               "as the default (signed)" % (key.replace("-seal", ""),
                                                           plain_v / my_v))
        elif kind == "le":
            _, ref_v = cell(results, key, ref, fmt, notes)
            tgt_txt = "<= %.1f x passthrough_ll" % target
            if my_v and ref_v:
                ratio = my_v / ref_v
                ratio_txt = "%.2f" % ratio
                res = "met" if ratio <= target else "MISSED"
            else:
                res = "n/a"
        elif kind == "max":
            tgt_txt = "<= %.0f MiB" % target
            res = ("met" if my_v <= target else "MISSED") if my_v else "n/a"
        elif mine == SMB2FS:      # info row, time vs passthrough_ll
            _, ref_v = cell(results, key, ref, fmt, notes)
            if my_v and ref_v:
                ratio_txt = "%.2f" % (my_v / ref_v)
            tgt_txt = "(info)" if ref is None else "(info) vs passthrough_ll"
        else:
            _, ref_v = cell(results, key, ref, fmt, notes)
            _, signed_v = cell(results, key, SMB2FS, fmt, notes)
            if my_v and ref_v:
                ratio_txt = "%.2f" % (my_v / ref_v)
            tgt_txt = "(info) vs smbclient"
            if my_v and signed_v and mine == NOSIGN:
                summary.append("signing costs %s: smb2fs default is %.2f x slower "
                               "than -o nosign" % (key, my_v / signed_v))
            elif my_v and signed_v:
                summary.append("cache=loose %s: %.2f x the default (cache=strict)"
                               % (key, my_v / signed_v))
        lines.append("  ".join(c.ljust(w) for c, w in zip(
            (label, my_txt) + tuple(peers) + (ratio_txt, tgt_txt, res),
            widths)).rstrip())
    return lines, summary, notes


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__[__doc__.index("Workloads (--only"):],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="small sizes (64 MiB, 200 files...), about a minute")
    ap.add_argument("--only", nargs="+", choices=WORKLOADS, metavar="WORKLOAD",
                    help="run only these workloads: " + ", ".join(WORKLOADS))
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    ap.add_argument("--run-timeout", type=int, default=None,
                    help="cap on one run, seconds (default 180, --quick 60)")
    ap.add_argument("--slow", type=float, default=30.0,
                    help="a peer's run longer than this is not repeated (s)")
    ap.add_argument("--stat-gap", type=float, default=1.2,
                    help="stat warm: seconds between the warm-up pass and the "
                    "timed pass (past the 1 s attribute caches)")
    ap.add_argument("--syscalls", action="store_true",
                    help="profile: also count the system calls of the smbd "
                    "serving the mount (perf stat on its syscall tracepoints; "
                    "slows smbd's system calls a little, so the floor reads "
                    "a few %% high)")
    ap.add_argument("--no-install", action="store_true",
                    help="do not run tests/bench/install-bench-deps.sh")
    ap.add_argument("--smb2fs-opts", default="", metavar="OPTS",
                    help="more -o options for every smb2fs mount, e.g. "
                    "nocifsacl (what per-file modes cost)")
    args = ap.parse_args()
    args.repeat = max(1, min(args.repeat, 9))
    if args.run_timeout is None:
        args.run_timeout = 60 if args.quick else 180
    selected = set(args.only or WORKLOADS)
    if "profile" in selected and not selected & set(PROFILED):
        selected |= set(PROFILED)   # the floor is read against their runs

    if os.geteuid() != 0:
        print("bench: run as root (FUSE mounts, a private smbd, drop_caches)",
              file=sys.stderr)
        return 2
    binary = smbenv.smb2fs_bin()
    if not os.access(binary, os.X_OK):
        print("bench: no smb2fs binary at %s (build first, or set SMB2FS_BIN)"
              % binary, file=sys.stderr)
        return 2
    if not args.no_install:
        r = subprocess.run(["bash", os.path.join(HERE, "install-bench-deps.sh")])
        if r.returncode != 0:
            log("install-bench-deps.sh failed; missing peers will show n/a")

    def on_term(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)

    work = tempfile.mkdtemp(prefix="smb2fs-bench-")
    os.chmod(work, 0o755)
    # The share in RAM when there is room: the bench measures the network
    # filesystems, not this machine's disk (whose writeback and cache
    # eviction made write figures swing by 2 x between runs).
    base = None
    if os.path.isdir("/dev/shm"):
        st = os.statvfs("/dev/shm")
        need = (8 * SIZES["quick" if args.quick else "full"]["mib"] + 2048) << 20
        if st.f_bavail * st.f_frsize > need:
            base = tempfile.mkdtemp(prefix="smb2fs-bench-samba-", dir="/dev/shm")
    srv = smbenv.SambaServer(basedir=base)
    started = time.monotonic()
    benches = []
    try:
        try:
            srv.start()
        except Exception as e:  # noqa: BLE001
            raise HarnessError("smbd did not start: %s" % e)
        bench = Bench(args, work, srv)
        benches.append(bench)
        bench.build_passthrough()
        bench.setup_smbnetfs()
        bench.setup_data(selected)
        results = {}
        nosign = [NOSIGN] if "nosign" in selected else []
        groups = [
            ("read", bench.w_read, [SMB2FS, SMBCLIENT, PT, SMBNETFS], nosign),
            ("write", bench.w_write, [SMB2FS, SMBCLIENT, PT, SMBNETFS],
             nosign + ([LOOSE] if "write" in selected else [])),
            ("write4k", bench.w_write4k, [SMB2FS, SMBCLIENT, PT, SMBNETFS],
             [LOOSE] if "write4k" in selected else []),
            ("create", bench.w_create, [SMB2FS, PT, SMBNETFS], []),
            ("tar", bench.w_tar, [SMB2FS, PT, SMBNETFS], []),
            ("stat", bench.w_stat, [SMB2FS, PT, SMBNETFS], []),
            ("ls", bench.w_ls, [SMB2FS, PT, SMBNETFS], []),
            ("rss", bench.w_rss, [SMB2FS], []),
            ("seal", bench.w_seal, [SEAL, SMBCLIENT_E], []),
            ("copy", bench.w_copy, [SMB2FS], []),
        ]
        for name, fn, systems, extra in groups:
            if name in selected:
                bench.run_group(name, fn, systems + extra, results)
                if "profile" in selected and name in PROFILED:
                    bench.profile_run(name, fn)
            elif extra:   # nosign alone: smb2fs default and -o nosign
                bench.run_group(name, fn, [SMB2FS, SMBCLIENT] + extra, results)
        rtt = bench.rtt() if "rtt" in selected else None
        for system in (SMBCLIENT, SMBCLIENT_E) if "seal" in selected else (SMBCLIENT,):
            if system not in bench.sessions:
                with contextlib.suppress(Exception):
                    bench.probe_smbclient_session(system)
        lines, summary, notes = report(bench, results, selected)
    except HarnessError as e:
        print("bench: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        srv.stop()
        for d in sorted(os.listdir(work)) if os.path.isdir(work) else []:
            p = os.path.join(work, d)
            if d.startswith("mnt") and smbenv.is_mounted(p):
                smbenv.unmount(p)
                if smbenv.is_mounted(p):
                    subprocess.run(["umount", "-l", p], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
        for b in benches:   # the source file in /dev/shm
            if not b.src.startswith(work):
                shutil.rmtree(os.path.dirname(b.src), ignore_errors=True)

    print()
    print("smb2fs benchmark (%s sizes), %s, binary %s, %d core(s), median of %d, "
          "%.0f s" % ("quick" if args.quick else "full",
                      time.strftime("%Y-%m-%d %H:%M"), binary, os.cpu_count() or 0,
                      args.repeat, time.monotonic() - started))
    if args.smb2fs_opts:
        print("  smb2fs mounts with -o %s" % args.smb2fs_opts)
    for system in (SMB2FS, NOSIGN, SEAL, SMBCLIENT, SMBCLIENT_E, SMBNETFS):
        s = bench.sessions.get(system)
        if s:
            print("  %s session: %s, encryption %s, signing %s"
                  % (system, s["protocol"], s["encryption"], s["signing"]))
    for system, why in sorted(bench.unavailable.items()):
        print("  %s: n/a (%s)" % (system, why))
    print()
    for line in lines:
        print(line)
    print()
    print("ratio: throughput smb2fs / smbclient (higher is better), or time "
          "smb2fs / passthrough_ll (lower is better).  p: the run hit the "
          "%d s cap, the rate it reached; (N): median of N runs only "
          "(a slow peer is not repeated)" % args.run_timeout)
    for line in summary + notes:
        print(line)
    if bench.profiles:
        print()
        print("profile: one more smb2fs run per workload, with -o debug; a round "
              "trip's wait is from its first request line to its last reply line "
              "in the log (send -> reply read); the floor is the wait of the "
              "round trips no SMB2 client can avoid, count x median per kind")
        def med(row, system):
            v = results.get((row, system))
            return median([x[0] for x in v]) if isinstance(v, list) else None
        for group, row, label, mine, ref, kind, target, fmt in table_rows(bench.size):
            probe = bench.profiles.get(group)
            if isinstance(probe, str):
                print("  %s: n/a (%s)" % (label, probe))
            elif probe is not None and mine == SMB2FS:
                for line in smbprofile.report_lines(probe, row, label, med(row, SMB2FS),
                                                    med(row, PT), target):
                    print(line)
    if rtt:
        print()
        print("smb2fs requests and round trips per operation (from -o debug; "
              "a request inside a compound counts as one request):")
        for label, n, counts, trips in rtt:
            detail = ", ".join("%s %d" % kv for kv in sorted(counts.items()))
            print("  %-42s %3d requests, %2d round trips  (%s)"
                  % (label, n, trips, detail))
    return 0


if __name__ == "__main__":
    sys.exit(main())

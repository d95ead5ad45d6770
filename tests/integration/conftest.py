"""pytest fixtures for the smb2fs integration tests.

Fixtures (see smbenv.py for the machinery):

  smbd            session-scoped private Samba on 127.0.0.1 (signing default)
  smbd_signing    module-scoped Samba with `server signing = mandatory`
  share_dir       the [share] directory on disk, emptied before each test
  sclient         smbclient helper for [share] as alice ("server view")
  mount_factory   make_mount(server, share="share", **Mount kwargs) -> Mount;
                  unmounts everything at the end and fails the test on any
                  ASan/UBSan report
  mnt             [share] of `smbd` mounted as alice with -f; the mountpoint
  run_smb2fs      run smb2fs expecting it to exit (failure cases); checks no
                  sanitizer report and that nothing is left mounted
  fake_server     factory for fake_smb2_server.FakeSMB2Server
  fault_proxies   make(server) -> a started fault_proxy.FaultProxy (cut,
                  blackhole, delay, drop, rate) in front of server
  proxy           fault_proxies(smbd)
  krb5_server     module-scoped Kerberos realm (MIT KDC) + smbd that takes
                  its tickets and NTLM (krb5env.py); needs krb5-kdc,
                  krb5-admin-server and krb5-user
  ad_dc           module-scoped Samba AD domain controller (KDC, winbindd,
                  file server) on its own loopback address (addcenv.py);
                  needs samba-ad-dc, samba-ad-provision and winbind

Skips: everything that needs FUSE skips when /dev/fuse or fusermount3 is
missing or we are not root; everything that needs Samba skips when smbd or
smbclient is missing.  In CI both are installed, so nothing skips there.
Set SMB2FS_REQUIRE_ALL=1 (tests/run-all.sh does) to turn those skips into
failures.
"""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import addcenv  # noqa: E402
import fake_smb2_server  # noqa: E402
import fault_proxy  # noqa: E402
import krb5env  # noqa: E402
import smbenv  # noqa: E402


_skip_or_fail = smbenv.skip_or_fail
_need_samba = smbenv.need_samba


def _need_fuse():
    if not os.path.exists("/dev/fuse"):
        _skip_or_fail("/dev/fuse missing")
    if not smbenv.which("fusermount3"):
        _skip_or_fail("fusermount3 missing (apt-get install fuse3)")
    if os.geteuid() != 0:
        _skip_or_fail("integration tests must run as root")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def pytest_report_header(config):
    b = smbenv.smb2fs_bin()
    return "smb2fs binary: %s (%s)" % (
        b, "present" if os.access(b, os.X_OK) else "MISSING")


# ---------------------------------------------------------------------------
# servers


@pytest.fixture(scope="session")
def smbd():
    _need_samba()
    # SMB2FS_TEST_SAMBA_DIR: keep the session server's state (smb.conf, log,
    # shares) in this directory and leave it there afterwards, for debugging.
    keep = os.environ.get("SMB2FS_TEST_SAMBA_DIR")
    if keep:
        os.makedirs(keep, exist_ok=True)
    srv = smbenv.SambaServer(basedir=keep or None)
    srv.start()
    yield srv
    srv.stop(cleanup=not keep)


@pytest.fixture(scope="module")
def smbd_signing():
    _need_samba()
    srv = smbenv.SambaServer(signing="mandatory")
    srv.start()
    yield srv
    srv.stop()


def _need_krb5():
    missing = krb5env.missing_tools()
    if missing:
        _skip_or_fail("%s missing (apt-get install krb5-kdc krb5-admin-server "
                      "krb5-user)" % ", ".join(missing))


def _krb5_realm_and_server(cifs_maxlife=None):
    _need_samba()
    _need_krb5()
    realm = krb5env.KrbRealm("Pw-" + secrets.token_hex(6)).start()
    try:
        if cifs_maxlife:
            realm.limit_service_tickets(cifs_maxlife)
        srv = krb5env.KrbSambaServer(realm).start()
    except Exception:
        realm.stop()
        raise
    yield realm, srv
    srv.stop()
    realm.stop()


@pytest.fixture(scope="module")
def krb5_server():
    """(realm, smbd): the realm's KDC and an smbd taking its tickets."""
    yield from _krb5_realm_and_server()


@pytest.fixture(scope="module")
def krb5_short_server():
    """krb5_server whose cifs/127.0.0.1 tickets live krb5env.SHORT_TICKET_SECS
    seconds (the TGT keeps its 10 hours): every session expires in a test."""
    yield from _krb5_realm_and_server(krb5env.SHORT_TICKET_SECS)


def _need_ad_dc():
    missing = addcenv.missing()
    if missing:
        _skip_or_fail("%s missing (apt-get install samba-ad-dc "
                      "samba-ad-provision winbind smbclient krb5-user)"
                      % ", ".join(missing))


@pytest.fixture(scope="module")
def ad_dc():
    """A provisioned Samba AD DC (addcenv.AdDC): realm AD.SMB2FS.TEST,
    domain SMB2FS, users alice and bob; provisioning takes ~5 s, so once
    per module."""
    _need_samba()
    _need_ad_dc()
    dc = addcenv.AdDC().start()
    yield dc
    dc.stop()


def _empty_dir(path):
    for name in os.listdir(path):
        p = os.path.join(path, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            os.unlink(p)


@pytest.fixture
def share_dir(smbd):
    d = smbd.share_dir("share")
    _empty_dir(d)
    return d


@pytest.fixture
def sclient(smbd, share_dir):
    return smbd.smbclient("alice", "share")


@pytest.fixture
def fake_server():
    started = []

    def make(mode="network_access_denied", **kw):
        srv = fake_smb2_server.FakeSMB2Server(mode=mode, **kw).start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def fault_proxies():
    """make(server) -> a started fault_proxy.FaultProxy in front of server;
    healed and stopped at the end.  Ask for it before mount_factory, so
    the mounts through it go first (their unmount needs the server)."""
    started = []

    def make(server):
        p = fault_proxy.FaultProxy(server).start()
        started.append(p)
        return p

    yield make
    for p in started:
        p.heal()
        p.stop()


@pytest.fixture
def proxy(smbd, fault_proxies):
    """A FaultProxy in front of the session's smbd."""
    return fault_proxies(smbd)


# ---------------------------------------------------------------------------
# smb2fs


@pytest.fixture(scope="session")
def smb2fs_bin():
    b = smbenv.smb2fs_bin()
    if not os.access(b, os.X_OK):
        pytest.fail("smb2fs binary not found at %s: build it (meson setup "
                    "build && ninja -C build) or set SMB2FS_BIN" % b)
    return b


@pytest.fixture
def mount_factory(tmp_path, smb2fs_bin):
    _need_fuse()
    mounts = []
    counter = [0]

    def make(server, share="share", user="alice", password=None,
             start=True, **kw):
        counter[0] += 1
        workdir = tmp_path / ("m%d" % counter[0])
        workdir.mkdir()
        mp = str(workdir / "mnt")
        if password is None and user is not None:
            password = server.passwords.get(user, server.password)
        m = smbenv.Mount(server.unc(share), mp, username=user,
                         password=password, workdir=str(workdir),
                         binary=smb2fs_bin, **kw)
        m.options = ["port=%d" % server.port] + m.options
        mounts.append(m)
        if start:
            m.start()
        return m

    yield make

    problems = []
    for m in mounts:
        try:
            m.stop()
        except Exception as e:  # keep unmounting the others
            problems.append("%s: %s" % (m.mountpoint, e))
        report = m.sanitizer_output()
        if report:
            problems.append("sanitizer report from %s:\n%s"
                            % (" ".join(m.argv or []), report))
        if smbenv.is_mounted(m.mountpoint):
            problems.append("%s still mounted" % m.mountpoint)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def mnt(smbd, share_dir, mount_factory):
    return mount_factory(smbd).mountpoint


class Run:
    """Result of run_smb2fs."""

    def __init__(self, argv, returncode, stdout, stderr, mountpoint):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.mountpoint = mountpoint

    @property
    def lines(self):
        return [ln for ln in self.stderr.strip().splitlines() if ln.strip()]

    def __repr__(self):
        return "<smb2fs rc=%r stderr=%r>" % (self.returncode, self.stderr)


@pytest.fixture
def run_smb2fs(tmp_path, smb2fs_bin):
    """run(unc, options=[...], foreground=True, user="alice", password=PW,
    credentials=True, args=None, timeout=30, env=None) for runs that must
    *fail* (env: variables to add, e.g. KRB5_CONFIG)
    (args: a complete argv instead, "{mp}" = the mountpoint):
    returns a Run; fails the test if smb2fs hangs, reports a sanitizer
    error, or leaves something mounted."""
    _need_fuse()
    mps = []
    counter = [0]

    def run(unc, options=None, foreground=True, user="alice", password=None,
            credentials=True, args=None, timeout=30, env=None):
        counter[0] += 1
        workdir = str(tmp_path / ("r%d" % counter[0]))
        os.makedirs(workdir)
        mp = os.path.join(workdir, "mnt")
        os.makedirs(mp)
        mps.append(mp)
        m = smbenv.Mount(unc, mp, options=options, username=user,
                         password=password, workdir=workdir,
                         foreground=foreground, credentials=credentials,
                         binary=smb2fs_bin)
        # in explicit args, "{mp}" stands for this run's mountpoint
        argv = [a.replace("{mp}", mp) for a in args] if args is not None \
            else m.build_argv()
        env = smbenv.sanitizer_env(workdir, env)
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True,
                               timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            smbenv.unmount(mp)
            pytest.fail("smb2fs %s did not exit within %ss" %
                        (" ".join(argv), timeout))
        mounted = smbenv.is_mounted(mp)
        if mounted:
            smbenv.unmount(mp)
        report = smbenv.collect_sanitizer_output(workdir, p.stderr)
        assert not report, "sanitizer report:\n" + report
        assert not mounted, "smb2fs left %s mounted (rc=%s, stderr=%r)" % (
            mp, p.returncode, p.stderr)
        return Run(argv, p.returncode, p.stdout, p.stderr, mp)

    yield run
    for mp in mps:
        smbenv.unmount(mp)


@pytest.fixture
def rand_bytes():
    def make(n, seed=None):
        import random
        r = random.Random(seed)
        return r.randbytes(n)
    return make


@pytest.fixture
def scratch():
    d = tempfile.mkdtemp(prefix="smb2fs-scratch-")
    yield d
    shutil.rmtree(d, ignore_errors=True)

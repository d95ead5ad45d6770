"""A Samba Active Directory domain controller on loopback, for the sec=krb5
tests against a real domain (test_krb5_ad.py; krb5env.py is the fast MIT
realm with a standalone smbd).

One `samba` process is the domain's KDC (Heimdal, built into Samba), its
winbindd and its file server, so a Kerberos ticket here carries a PAC, the
user is a domain account (SID mapped to a uid by winbindd, no Unix account
needed) and NTLM logins name the domain (SMB2FS\\alice).

All state is in one temp dir: smb.conf (written before provisioning, so
samba-tool never reads /etc/samba/smb.conf), the sam.ldb and every other
directory Samba writes to, the shares, the exported keytab and the
client's krb5.conf (KRB5_CONFIG: /etc is never read or written).

Things that bite (measured on Debian 12 / Samba 4.17):

* The DC binds its own loopback address (127.0.0.3 or the next one with
  the ports free), with `interfaces = IP/8`: a bare address that is not on
  any interface gives "no network interfaces found" and smbd panics.  So
  it runs next to the session's smbd and the MIT KDC on 127.0.0.1.
* smbd on a DC maps SIDs to uids through libwbclient, which only connects
  to the compiled-in /run/samba/winbindd/pipe.  samba therefore runs in a
  private mount namespace with a directory of ours bind-mounted over
  /run/samba; wbinfo/smbstatus must be run inside it (nsenter).
* `samba -i` exits as soon as its stdin is closed; -F does not.
* Samba's KDC refuses TGTs with 2 minutes or less left, so short-lived
  ticket tests belong to the MIT realm.
"""

import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import krb5env
import smbenv

REALM = "AD.SMB2FS.TEST"
DNS_DOMAIN = REALM.lower()
DOMAIN = "SMB2FS"            # NetBIOS domain name: SMB2FS\alice
HOST = "dc1"
FQDN = "%s.%s" % (HOST, DNS_DOMAIN)
USERS = ("alice", "bob")
SMB_PORT = 445
# the DC's ports: KDC, kpasswd, endpoint mapper, SMB (TCP); KDC, kpasswd (UDP)
TCP_PORTS = (88, 464, 135, SMB_PORT)
UDP_PORTS = (88, 464)
TOOLS = ("samba", "samba-tool", "winbindd", "smbclient", "smbstatus",
         "wbinfo", "unshare", "nsenter", "mount", "kinit")
# what samba-tool domain provision reads (package samba-ad-provision)
PROVISION_DATA = "/usr/share/samba/setup/provision.ldif"


def missing():
    """What is missing to run a DC: tool names, or package names for
    data files without a tool of their own."""
    out = [t for t in TOOLS if not smbenv.which(t)]
    if not os.path.exists(PROVISION_DATA):
        out.append("samba-ad-provision")
    if not glob.glob("/usr/lib/*/samba/ldb/samba_dsdb.so"):
        out.append("samba-dsdb-modules")
    return out


def _can_bind(ip, port, kind):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_loopback_ip(first=3, last=60):
    """127.0.0.<n> (n >= first) where all the DC's ports are free."""
    for n in range(first, last):
        ip = "127.0.0.%d" % n
        if all(_can_bind(ip, p, socket.SOCK_STREAM) for p in TCP_PORTS) and \
                all(_can_bind(ip, p, socket.SOCK_DGRAM) for p in UDP_PORTS):
            return ip
    raise RuntimeError("no loopback address 127.0.0.%d..%d with ports %s free"
                       % (first, last - 1, TCP_PORTS))


def _proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _alive(pid):
    st = _proc_state(pid)
    return st is not None and st != "Z"


class AdDC:
    """A Samba AD DC for REALM on `ip` (default: the first free 127.0.0.x,
    x >= 3).  Users alice and bob share `password`; alice's keys are also
    in keytab("alice").  Shares: share (read-write), denied (valid users =
    SMB2FS\\bob only) and enc (smb encrypt = required).

    Offers what conftest's mount_factory needs of a server: host, port,
    unc(), password, passwords."""

    SHARES = ("share", "denied", "enc")

    def __init__(self, password=None, basedir=None, ip=None):
        # AD password policy: 7+ characters from 3 of 4 classes
        self.password = password or ("Pw-%s.9" % secrets.token_hex(6))
        self.passwords = {u: self.password for u in USERS}
        self.basedir = basedir or tempfile.mkdtemp(prefix="smb2fs-addc-")
        # smbd serves the shares as the users' uids: they must traverse here
        os.chmod(self.basedir, 0o755)
        self.ip = ip
        self.host = ip
        self.port = SMB_PORT
        self.dcdir = self.path("dc")
        self.conf = self.path("dc", "etc", "smb.conf")
        self.krb5_conf = self.path("krb5.conf")
        self.logfile = self.path("samba.out")
        self.proc = None
        self.mntns = None       # samba's mount namespace (/proc/PID/ns/mnt)
        self._out = None

    # -- layout --------------------------------------------------------
    def path(self, *p):
        return os.path.join(self.basedir, *p)

    def share_dir(self, share="share"):
        return self.path("shares", share)

    def keytab(self, user):
        return self.path("%s.keytab" % user)

    def unc(self, share="share"):
        return "//%s/%s" % (self.host, share)

    @property
    def spn(self):
        """The service principal smb2fs asks for when mounting //IP/..."""
        return "cifs/%s@%s" % (self.ip, REALM)

    @property
    def env(self):
        """Environment of any Kerberos client (and samba itself)."""
        e = dict(os.environ)
        e["KRB5_CONFIG"] = self.krb5_conf
        e.pop("KRB5CCNAME", None)
        return e

    def _write_krb5_conf(self):
        # the SPN is built from exactly the name the client was given
        # (cifs/127.0.0.x)
        krb5env.write_client_krb5_conf(
            self.krb5_conf, REALM, self.ip, self.basedir,
            [self.ip, "." + DNS_DOMAIN, DNS_DOMAIN], admin=self.ip)

    def _write_smb_conf(self):
        d = self.dcdir
        for sub in ("etc", "private", "state", "cache", "run", "log",
                    "runsamba", "bind-dns"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chmod(os.path.join(d, "private"), 0o700)
        for share in self.SHARES:
            os.makedirs(self.share_dir(share), exist_ok=True)
            os.chmod(self.share_dir(share), 0o1777)
        g = [
            ("netbios name", HOST.upper()),
            ("realm", REALM),
            ("workgroup", DOMAIN),
            ("server role", "active directory domain controller"),
            # the file server, the RPC servers winbindd needs, the KDC and
            # winbindd; no LDAP, DNS, NBT, CLDAP, replication
            ("server services", "s3fs, rpc, kdc, winbindd"),
            ("prefork children", "1"),
            ("dns proxy", "no"),
            ("interfaces", "%s/8" % self.ip),
            ("bind interfaces only", "yes"),
            ("smb ports", str(SMB_PORT)),
            ("disable netbios", "yes"),
            ("private dir", os.path.join(d, "private")),
            ("state directory", os.path.join(d, "state")),
            ("lock directory", d),
            ("cache directory", os.path.join(d, "cache")),
            ("binddns dir", os.path.join(d, "bind-dns")),
            ("pid directory", os.path.join(d, "run")),
            ("ncalrpc dir", os.path.join(d, "run", "ncalrpc")),
            ("ntp signd socket directory",
             os.path.join(d, "run", "ntp_signd")),
            # where the bind mount puts /run/samba/winbindd for smbd
            ("winbindd socket directory",
             os.path.join(d, "runsamba", "winbindd")),
            ("log file", os.path.join(d, "log", "log.%m")),
            ("max log size", "0"),
            ("log level", "1"),
            ("load printers", "no"),
            ("printing", "bsd"),
            ("printcap name", "/dev/null"),
            ("disable spoolss", "yes"),
            ("usershare path", ""),
            ("include system krb5 conf", "no"),
        ]
        shares = [
            ("sysvol", [("path", os.path.join(d, "state", "sysvol")),
                        ("read only", "no")]),
            ("netlogon", [("path", os.path.join(d, "state", "sysvol",
                                                DNS_DOMAIN, "scripts")),
                          ("read only", "no")]),
            ("share", [("path", self.share_dir("share")),
                       ("read only", "no")]),
            # alice logs in, then the tree connect -> STATUS_ACCESS_DENIED
            ("denied", [("path", self.share_dir("denied")),
                        ("read only", "no"),
                        ("valid users", "%s\\bob" % DOMAIN)]),
            # SMB3 only, every message of the tree encrypted
            ("enc", [("path", self.share_dir("enc")),
                     ("read only", "no"),
                     ("smb encrypt", "required")]),
        ]
        with open(self.conf, "w") as f:
            f.write("[global]\n")
            for k, v in g:
                f.write("\t%s = %s\n" % (k, v))
            for name, opts in shares:
                f.write("\n[%s]\n" % name)
                for k, v in opts:
                    f.write("\t%s = %s\n" % (k, v))

    def samba_tool(self, *args, timeout=120):
        r = subprocess.run([smbenv.which("samba-tool")] + list(args)
                           + ["-s", self.conf], env=self.env,
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("samba-tool %s failed (%d):\n%s%s"
                               % (" ".join(args[:3]), r.returncode,
                                  r.stdout[-3000:], r.stderr[-3000:]))
        return r

    def _provision(self):
        # offline, straight into sam.ldb: no daemon is needed yet
        self.samba_tool("domain", "provision", "--targetdir=" + self.dcdir,
                        "--realm=" + REALM, "--domain=" + DOMAIN,
                        "--server-role=dc", "--dns-backend=NONE",
                        "--host-name=" + HOST,
                        "--adminpass=" + self.password)
        for user in USERS:
            self.samba_tool("user", "create", user, self.password)
        # the KDC finds cifs/<ip> through the DC's account (it maps cifs/
        # to host/ for the names it has, but an address is not one of them)
        self.samba_tool("spn", "add", "cifs/" + self.ip, HOST.upper() + "$")
        self.samba_tool("domain", "exportkeytab", self.keytab("alice"),
                        "--principal=alice@" + REALM)

    # -- lifecycle -----------------------------------------------------
    def start(self, timeout=30):
        """Provision, start samba, wait for an NTLM login to [share]; on
        any failure nothing is left running (and the temp dir is gone)."""
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout):
        if self.ip is None:
            self.ip = self.host = free_loopback_ip()
        self._write_krb5_conf()
        self._write_smb_conf()
        self._provision()
        # /run/samba is where the samba package keeps it; only created when
        # missing, and only ever mounted over inside samba's own namespace
        os.makedirs("/run/samba", exist_ok=True)
        script = 'mount --bind "$1" /run/samba && shift && exec "$@"'
        argv = [smbenv.which("unshare"), "--mount", "--propagation",
                "private", "/bin/sh", "-c", script, "sh",
                self.path("dc", "runsamba"), smbenv.which("samba"),
                "-s", self.conf, "--foreground", "--no-process-group",
                "--debug-stdout"]
        self._out = open(self.logfile, "ab")
        self.proc = subprocess.Popen(
            argv, cwd=self.dcdir, env=self.env, stdin=subprocess.DEVNULL,
            stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=smbenv._die_with_parent)
        deadline = time.time() + timeout
        last = ""
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("samba exited with %s:\n%s"
                                   % (self.proc.returncode, self.read_log()))
            self._note_mntns()
            r = self.smbclient("alice", "share", "ls", timeout=10)
            if r.returncode == 0 and "NT_STATUS_" not in r.stdout:
                self._note_mntns()
                return self
            last = r.stdout + r.stderr
            time.sleep(0.1)
        raise RuntimeError("the DC did not accept a login within %ss: %s\n%s"
                           % (timeout, last, self.read_log()))

    def _note_mntns(self):
        """Remember samba's mount namespace once it has one of its own."""
        if self.mntns is not None or self.proc is None:
            return
        with contextlib.suppress(OSError):
            ns = os.readlink("/proc/%d/ns/mnt" % self.proc.pid)
            if ns != os.readlink("/proc/self/ns/mnt"):
                self.mntns = ns

    def read_log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()[-8000:]
        except OSError:
            return ""

    def _ours(self):
        """Live processes of this DC: in samba's mount namespace, or naming
        our smb.conf (nothing else is in that namespace or names it)."""
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            pid = int(name)
            try:
                ns = os.readlink("/proc/%d/ns/mnt" % pid)
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    argv = f.read()
            except OSError:
                continue
            if (self.mntns and ns == self.mntns) or \
                    self.conf.encode() in argv.split(b"\0"):
                if _alive(pid):
                    pids.append(pid)
        return pids

    def stop(self, cleanup=True):
        if self.proc is not None:
            self._note_mntns()
            smbenv.stop_group(self.proc)
            self.proc = None
        # smbd makes itself a session leader, out of reach of killpg: samba
        # stops it on SIGTERM, and this catches anything that outlived it
        deadline = time.time() + 10
        sig = signal.SIGTERM
        while True:
            left = self._ours()
            if not left:
                break
            if time.time() > deadline:
                sig = signal.SIGKILL
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            if time.time() > deadline + 5:
                raise RuntimeError("DC processes left: %s" % left)
            time.sleep(0.1)
        if self._out:
            self._out.close()
            self._out = None
        if cleanup:
            shutil.rmtree(self.basedir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- clients -------------------------------------------------------
    def smbclient(self, user, share, commands, password=None, timeout=30):
        """smbclient with NTLM as DOMAIN\\user (the server side view)."""
        pw = self.password if password is None else password
        argv = [smbenv.which("smbclient"), "-s", "/dev/null",
                "//%s/%s" % (self.ip, share), "-p", str(self.port),
                "--use-kerberos=disabled",
                "-U", "%s\\%s%%%s" % (DOMAIN, user, pw), "-c", commands]
        return subprocess.run(argv, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def kinit(self, user, ccache, keytab=False):
        """kinit user@REALM into ccache, with the password or the keytab."""
        argv = [smbenv.which("kinit"), "-c", ccache]
        if keytab:
            argv += ["-k", "-t", self.keytab(user), "%s@%s" % (user, REALM)]
            return subprocess.run(argv, env=self.env, capture_output=True,
                                  text=True, timeout=30)
        argv.append("%s@%s" % (user, REALM))
        return subprocess.run(argv, env=self.env, input=self.password + "\n",
                              capture_output=True, text=True, timeout=30)

    def in_ns(self, *argv, timeout=30):
        """Run a tool inside samba's mount namespace, where winbindd's pipe
        is (wbinfo, smbstatus)."""
        return subprocess.run([smbenv.which("nsenter"), "-t",
                               str(self.proc.pid), "-m"] + list(argv),
                              env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def uid_of(self, user):
        """The uid winbindd gave DOMAIN\\user (idmap.ldb, 3000000 and up)."""
        r = self.in_ns(smbenv.which("wbinfo"), "--name-to-sid",
                       "%s\\%s" % (DOMAIN, user))
        sid = r.stdout.split()[0] if r.returncode == 0 and r.stdout else ""
        r = self.in_ns(smbenv.which("wbinfo"), "--sid-to-uid", sid)
        if r.returncode != 0 or not r.stdout.strip().isdigit():
            raise RuntimeError("wbinfo cannot map %s\\%s (%s): %s%s"
                               % (DOMAIN, user, sid, r.stdout, r.stderr))
        return int(r.stdout.strip())

    def sessions(self):
        """`smbstatus -b`, one dict per session: pid, user (a uid: there is
        no NSS module for the domain's users), protocol, encryption,
        signing, line."""
        r = self.in_ns(smbenv.which("smbstatus"), "-s", self.conf, "-b")
        out = []
        for line in r.stdout.splitlines():
            f = line.split()
            if len(f) < 3 or not f[0].isdigit():
                continue
            # PID User Group Machine "(ipv4:...)" Protocol Encryption Signing
            i = next((i for i, x in enumerate(f) if x.startswith("SMB")),
                     len(f))
            more = f[i:] + ["", "", ""]
            out.append({"pid": int(f[0]), "user": f[1], "protocol": more[0],
                        "encryption": more[1], "signing": more[2],
                        "line": line})
        return out

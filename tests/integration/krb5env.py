"""A Kerberos realm on loopback for the sec=krb5 tests: an MIT KDC
(krb5kdc) and a standalone smbd that accepts both Kerberos and NTLM.

Why MIT KDC + standalone smbd rather than a Samba AD DC: it starts in a
fraction of a second instead of ~5 s of provisioning, needs no winbindd
(whose client library only talks to the compiled-in /run/samba socket, so
an AD DC would need a private mount namespace), reuses SambaServer and its
Unix accounts as they are, and lets the tests pick any ticket lifetime.
What it lacks compared with AD: no PAC and no domain membership, which
smb2fs never sees anyway (it only carries the AP-REQ/AP-REP).

Everything lives in one temp dir: the realm's database, the KDC's and the
client's krb5.conf (KRB5_CONFIG / KRB5_KDC_PROFILE: /etc is never read
or written), the server's keytab and one keytab per user.  The KDC and smbd
listen on free ports of 127.0.0.1, so this runs next to the session's
plain Samba.

Two service principals exist: cifs/127.0.0.1 (what smb2fs asks for when
mounting //127.0.0.1/...) and cifs/smb1.smb2fs.test (for spn=).  MIT puts
a PAC in every ticket and a standalone smbd refuses tickets with one, so
both carry +no_auth_data_required.  The principals alice and bob map onto
the Unix accounts of smbenv.USERS through `username map`.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import smbenv

REALM = "SMB2FS.TEST"
SERVICE_HOST = "smb1.smb2fs.test"
SHORT_TICKET_SECS = 15  # krb5_short_server's cifs tickets
TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local", "kinit", "klist",
         "kdestroy")


def missing_tools():
    return [t for t in TOOLS if not smbenv.which(t)]


def free_udp_tcp_port(start=8800, end=8900):
    """A port free for both TCP and UDP on 127.0.0.1 (the KDC takes both)."""
    for port in range(start, end):
        ok = True
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no free KDC port in %d..%d" % (start, end))


def write_client_krb5_conf(path, realm, kdc, basedir, names, admin=None):
    """A client krb5.conf (KRB5_CONFIG) for `realm` whose KDC is `kdc`
    ("host[:port]"); `names` (host names, ".domain" suffixes) map to the
    realm.  No DNS anywhere: the SPN is built from exactly the name given,
    the KDC is found by address."""
    admin_line = "\t\tadmin_server = %s\n" % admin if admin else ""
    mapping = "".join("\t%s = %s\n" % (n, realm) for n in names)
    with open(path, "w") as f:
        f.write("""[libdefaults]
	default_realm = %(realm)s
	dns_lookup_realm = false
	dns_lookup_kdc = false
	rdns = false
	dns_canonicalize_hostname = false
	udp_preference_limit = 1
	default_ccache_name = FILE:%(base)s/ccache_%%{uid}
	kdc_timeout = 2000
	max_retries = 1
[realms]
	%(realm)s = {
		kdc = %(kdc)s
%(admin)s	}
[domain_realm]
%(mapping)s""" % {"realm": realm, "base": basedir, "kdc": kdc, "admin": admin_line,
                  "mapping": mapping})


class KrbRealm:
    """MIT KDC for REALM on 127.0.0.1:<kdc_port>, principals alice, bob
    (password `password`) and the cifs/ services; `env` is what every
    Kerberos client of the realm needs (KRB5_CONFIG)."""

    def __init__(self, password, basedir=None):
        self.password = password
        self.basedir = basedir or tempfile.mkdtemp(prefix="smb2fs-krb5-")
        os.chmod(self.basedir, 0o755)
        self.kdc_port = free_udp_tcp_port()
        self.krb5_conf = self.path("krb5.conf")
        self.kdc_conf = self.path("kdc.conf")
        self.server_keytab = self.path("smb.keytab")
        self.proc = None

    def path(self, *p):
        return os.path.join(self.basedir, *p)

    def keytab(self, user):
        return self.path("%s.keytab" % user)

    @property
    def env(self):
        e = dict(os.environ)
        e["KRB5_CONFIG"] = self.krb5_conf
        e["KRB5_KDC_PROFILE"] = self.kdc_conf
        e.pop("KRB5CCNAME", None)
        return e

    def write_krb5_conf(self, path, kdc_port):
        """The realm's client krb5.conf with the KDC at kdc_port (the tests
        write one pointing at a dead port)."""
        write_client_krb5_conf(path, REALM, "127.0.0.1:%d" % kdc_port,
                               self.basedir, ["127.0.0.1", ".smb2fs.test"])

    def _kadmin(self, query):
        subprocess.run([smbenv.which("kadmin.local"), "-q", query],
                       env=self.env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)

    def start(self, timeout=20):
        self.write_krb5_conf(self.krb5_conf, self.kdc_port)
        with open(self.kdc_conf, "w") as f:
            f.write("""[kdcdefaults]
	kdc_listen = 127.0.0.1:%(port)d
	kdc_tcp_listen = 127.0.0.1:%(port)d
[realms]
	%(realm)s = {
		database_name = %(base)s/principal
		key_stash_file = %(base)s/stash
		acl_file = %(base)s/kadm5.acl
		max_life = 10h
		max_renewable_life = 1d
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}
[logging]
	kdc = FILE:%(base)s/kdc.log
""" % {"realm": REALM, "base": self.basedir, "port": self.kdc_port})
        subprocess.run([smbenv.which("kdb5_util"), "create", "-s", "-r", REALM,
                        "-P", "master-" + self.password], env=self.env,
                       check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
        for user in smbenv.USERS:
            self._kadmin("addprinc -pw %s %s" % (self.password, user))
            self._kadmin("ktadd -k %s -norandkey %s" % (self.keytab(user), user))
        for spn in ("cifs/127.0.0.1", "cifs/" + SERVICE_HOST):
            self._kadmin("addprinc -randkey +no_auth_data_required " + spn)
            self._kadmin("ktadd -k %s %s" % (self.server_keytab, spn))
        self.proc = subprocess.Popen(
            [smbenv.which("krb5kdc"), "-n", "-P", self.path("kdc.pid")],
            env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=smbenv._die_with_parent)
        deadline = time.time() + timeout
        ccache = "FILE:" + self.path("probe.ccache")
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("krb5kdc exited with %s:\n%s"
                                   % (self.proc.returncode, self.log()))
            if self.kinit("alice", ccache).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("the KDC did not answer within %ss:\n%s"
                           % (timeout, self.log()))

    def limit_service_tickets(self, secs):
        """cifs/127.0.0.1 tickets live at most secs seconds (so does every
        SMB session made with one)."""
        self._kadmin('modprinc -maxlife "%d seconds" cifs/127.0.0.1' % secs)

    def log(self):
        try:
            with open(self.path("kdc.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def kinit(self, user, ccache, lifetime=None, keytab=False):
        """kinit user into ccache (with the password, or its keytab)."""
        argv = [smbenv.which("kinit"), "-c", ccache]
        if lifetime:
            argv += ["-l", lifetime]
        if keytab:
            argv += ["-k", "-t", self.keytab(user), user]
            return subprocess.run(argv, env=self.env, capture_output=True,
                                  text=True, timeout=30)
        argv.append(user)
        return subprocess.run(argv, env=self.env, input=self.password + "\n",
                              capture_output=True, text=True, timeout=30)

    def stop(self, cleanup=True):
        smbenv.stop_group(self.proc)
        self.proc = None
        if cleanup:
            shutil.rmtree(self.basedir, ignore_errors=True)


class KrbSambaServer(smbenv.SambaServer):
    """smbd that accepts Kerberos tickets of `realm` (and NTLM as usual)."""

    def __init__(self, realm, **kw):
        extra = dict(kw.pop("extra_global", None) or {})
        extra.update({
            "realm": REALM,
            "kerberos method": "dedicated keytab",
            "dedicated keytab file": "FILE:" + realm.server_keytab,
        })
        # alice@REALM reaches smbd as "alice" (or WORKGROUP\alice).
        umap = ["%s = %s SMB2FSTEST\\%s" % (unix, smb, smb)
                for smb, unix in smbenv.USERS.items()]
        super().__init__(extra_global=extra, password=realm.password,
                         env=realm.env, usermap_extra=umap, **kw)
        self.realm = realm

"""docs/options.md's option table against the parser, --help and the man
page (issue 10, parts 2 and 3).  No server and no mount: every run points
at a mount point that does not exist, so an accepted option ends in exit
status 1 ("cannot mount on ...") and a refused one in exit status 2 with
one line naming it, both before anything is sent."""

import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OPTIONS_MD = os.path.join(ROOT, "docs", "options.md")
MAN_DIR = os.path.join(ROOT, "docs", "man")
sys.path.insert(0, MAN_DIR)
import gen_man  # noqa: E402  (the man pages' reader of the same table)
STATUSES = ("implemented", "no effect", "refused")

# Every option of mount.cifs(8): cifs-utils 7.0 (Debian 12) and the newer
# upstream page (acregmax, acdirmax, closetimeo, upcall_target,
# multichannel, max_channels, compress, sloppy).
MOUNT_CIFS = """
username user password pass credentials cred uid forceuid cruid gid
forcegid idsfromsid port netbiosname servern file_mode dir_mode ip addr
domain dom workgroup domainauto guest iocharset ro rw setuids nosetuids
perm noperm dynperm cache nostrictsync handlecache nohandlecache
handletimeout rwpidforward mapchars nomapchars mapposix intr nointr hard
soft noacl cifsacl backupuid backupgid nocase ignorecase sec seal rdma
resilienthandles noresilienthandles persistenthandles nopersistenthandles
snapshot nobrl forcemandatorylock locallease nolease sfu mfsymlinks
echo_interval serverino noserverino posix unix linux noposix nounix
nolinux nouser_xattr nodfs noautotune nosharesock noblocksend rsize wsize
bsize max_credits fsc multiuser actimeo acregmax acdirmax upcall_target
multichannel max_channels closetimeo noposixpaths posixpaths compress vers
sloppy
""".split()

# A value for each placeholder of the table's option column.
PLACEHOLDER = {
    "NAME": "x", "SECRET": "pw", "USER": "root", "GROUP": "root",
    "N": "10", "MODE": "0644", "SECONDS": "5", "BYTES": "65536",
    "DIR": "sub", "TEXT": "x", "ADDR": "127.0.0.1", "MS": "1000",
    "TIME": "1", "V": "3",
}
# Options that need a particular value, or others beside them.
SAMPLE = {"sec": "ntlmssp", "port": "445", "username": "alice",
          "user": "alice", "domain": "CORP"}
EXTRA = {"spn": ["sec=krb5"], "keytab": ["username=alice"]}


def table_rows():
    """[(names, status, meaning)] of the table under '## Options' (read
    as the man pages read it, gen_man.option_rows); names are the
    backquoted entries of the first column ("rsize=BYTES")."""
    rows = []
    with open(OPTIONS_MD, encoding="utf-8") as f:
        for option, status, meaning in gen_man.option_rows(f.read()):
            names = re.findall(r"`([^`]+)`", option)
            assert names, option
            rows.append((names, status, meaning))
    return rows


ROWS = table_rows()
ENTRIES = [(n, st) for names, st, _ in ROWS for n in names]


def key(entry):
    return entry.split("=", 1)[0]


def token(entry, tmp_path):
    """An -o token for a table entry, with a usable value."""
    k = key(entry)
    if k == "x-*":
        return "x-systemd.automount"
    if k in ("credentials", "cred"):
        f = tmp_path / "cred"
        f.write_text("username=alice\npassword=pw\n")
        f.chmod(0o600)
        return "%s=%s" % (k, f)
    if k == "keytab":
        return "keytab=%s" % (tmp_path / "keytab")
    if "=" not in entry:
        return k
    ph = entry.split("=", 1)[1].replace("\\|", "|")
    if k in SAMPLE:
        return "%s=%s" % (k, SAMPLE[k])
    if "|" in ph:
        return "%s=%s" % (k, ph.split("|")[0])
    return "%s=%s" % (k, PLACEHOLDER.get(ph, ph))


def run(smb2fs_bin, tmp_path, opts):
    env = dict(os.environ, PASSWD="pw")
    argv = [smb2fs_bin, "//127.0.0.1/share", str(tmp_path / "no-such-mp")]
    for o in opts:
        argv += ["-o", o]
    return subprocess.run(argv, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=env,
                          timeout=30)


def test_table_well_formed():
    assert len(ROWS) > 60
    for names, status, meaning in ROWS:
        assert status in STATUSES, (names, status)
        assert meaning, names
    # `user=NAME` (username=) and bare `user` (fstab) are two entries
    keys = [n if key(n) == "user" else key(n) for n, _ in ENTRIES]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    assert not dup, "options in more than one row: %s" % dup


def test_every_mount_cifs_option_has_a_row():
    keys = {key(n) for n, _ in ENTRIES}
    missing = [o for o in MOUNT_CIFS if o not in keys]
    assert not missing, "mount.cifs options missing from docs/options.md: " \
        "%s" % missing


@pytest.mark.parametrize("entry", [n for n, st in ENTRIES
                                   if st == "refused"])
def test_refused_option_exits_2_naming_it(smb2fs_bin, tmp_path, entry):
    r = run(smb2fs_bin, tmp_path, [token(entry, tmp_path)])
    lines = r.stderr.splitlines()
    assert r.returncode == 2, (entry, r.returncode, r.stderr)
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("smb2fs: option '%s" % key(entry)), lines[0]
    assert "not supported" in lines[0], lines[0]


@pytest.mark.parametrize("entry", [n for n, st in ENTRIES
                                   if st != "refused"])
def test_accepted_option_is_not_refused(smb2fs_bin, tmp_path, entry):
    k = key(entry)
    r = run(smb2fs_bin, tmp_path, EXTRA.get(k, []) + [token(entry, tmp_path)])
    assert r.returncode != 2, (entry, r.stderr)
    assert "unknown option" not in r.stderr, r.stderr
    assert "not supported" not in r.stderr, r.stderr


@pytest.mark.parametrize("opts,word", [
    (["iocharset=latin1"], "iocharset"),     # only utf8 is "no effect"
    (["vers=1.0"], "vers"),
    (["sec=ntlm"], "sec=ntlm"),
    (["cache=singleclient"], "cache"),
    (["rsize=100"], "rsize"),
    (["frobnicate"], "frobnicate"),
])
def test_bad_values_exit_2(smb2fs_bin, tmp_path, opts, word):
    r = run(smb2fs_bin, tmp_path, opts)
    assert r.returncode == 2, r.stderr
    assert word in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


def mentions(text, name):
    if name == "x-*":
        return "x-*" in text
    return re.search(r"(?<![A-Za-z0-9_-])%s(?![A-Za-z0-9_])"
                     % re.escape(name), text) is not None


def test_help_lists_every_option(smb2fs_bin):
    r = subprocess.run([smb2fs_bin, "--help"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0
    missing = sorted({key(n) for n, _ in ENTRIES
                      if not mentions(r.stdout, key(n))})
    assert not missing, "options in docs/options.md but not in --help: " \
        "%s" % missing


def roff_text(path):
    t = open(path, encoding="utf-8").read()
    t = re.sub(r"\\f[BIRP]", "", t)
    return t.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")


def man_pages(tmp_path, smb2fs_bin):
    """The pages built next to the binary (meson), else built here."""
    built = os.path.join(os.path.dirname(os.path.abspath(smb2fs_bin)),
                         "docs", "man")
    pages = []
    for prog in ("smb2fs", "mount.smb2fs"):
        p = os.path.join(built, prog + ".8")
        if not os.path.exists(p):
            p = str(tmp_path / (prog + ".8"))
            subprocess.run([sys.executable, os.path.join(MAN_DIR,
                            "gen_man.py"), os.path.join(MAN_DIR,
                            "smb2fs.8.in"), OPTIONS_MD, p, prog, "test"],
                           check=True)
        pages.append(p)
    return pages


def test_man_page_lists_every_option(tmp_path, smb2fs_bin):
    for page in man_pages(tmp_path, smb2fs_bin):
        text = roff_text(page)
        missing = sorted({key(n) for n, _ in ENTRIES
                          if not mentions(text, key(n))})
        assert not missing, "%s lacks %s" % (page, missing)
        for word in ("credentials=", "/etc/fstab", "EXIT STATUS",
                     "STATUS_LOGON_FAILURE", "STATUS_BAD_NETWORK_NAME",
                     "SECURITY", "FILES"):
            assert word in text, (page, word)


def test_man_page_renders_without_warnings(tmp_path, smb2fs_bin):
    if not shutil.which("groff"):
        pytest.skip("groff not installed")
    for page in man_pages(tmp_path, smb2fs_bin):
        r = subprocess.run(["groff", "-man", "-ww", "-z", page],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and not r.stderr, r.stderr


def test_rsize_wsize_cap_request_sizes(smbd, mount_factory, share_dir):
    """rsize=/wsize= cap the READ and WRITE sizes (debug logs the ones in
    use), and a file bigger than both still goes in and out whole."""
    m = mount_factory(smbd, options=["rsize=70000", "wsize=20000", "debug",
                                     "nolease"])
    data = os.urandom(300 * 1024 + 7)
    with open(os.path.join(m.mountpoint, "sizes.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(share_dir, "sizes.bin"), "rb") as f:
        assert f.read() == data
    with open(os.path.join(m.mountpoint, "sizes.bin"), "rb") as f:
        assert f.read() == data
    log = m.stderr()
    # rounded down to whole 4 KiB pages: 69632 (17 x 4096) and 16384
    conn = [ln for ln in log.splitlines() if "max read" in ln]
    assert conn and all(re.search(r"max read 69632 write 16384$", ln)
                        for ln in conn), conn

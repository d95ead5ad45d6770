"""Distribution packages (issue 10 part 1; packaging/README.md).

  * packaging/build-deb.sh builds the .deb (dpkg-buildpackage -us -uc -b in
    a temporary copy of the tree), lintian reports no errors on it, and
    `apt-get install ./smb2fs_*.deb` gives /usr/bin/smb2fs,
    /sbin/mount.smb2fs and the man pages meson installs; `apt-get purge`
    takes every one of its files away again.  The package is purged at the
    end whatever happened, and the test refuses to touch an smb2fs package
    that was installed before it ran.
  * `rpmspec -P packaging/rpm/smb2fs.spec` parses the spec, with every
    %meson macro expanded (Debian's rpm has no Fedora meson macros; the
    spec brings fallbacks).

Needs root (apt-get) and dpkg-dev, debhelper, lintian, rpm, fakeroot and
the Build-Depends (tests/install-deps.sh); skips without them unless
SMB2FS_REQUIRE_ALL=1.  The package build takes about a minute.
"""

import glob
import os
import re
import shutil
import subprocess

import pytest

from smbenv import run_checked, skip_or_fail

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, "packaging", "rpm", "smb2fs.spec")
BUILD_DEB = os.path.join(ROOT, "packaging", "build-deb.sh")
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def _need(*tools):
    for tool in tools:
        if not shutil.which(tool):
            skip_or_fail("%s missing (tests/install-deps.sh installs it)"
                         % tool)


def _meson_version():
    with open(os.path.join(ROOT, "meson.build")) as f:
        m = re.search(r"version\s*:\s*'([^']+)'", f.read())
    return m.group(1)


def _installed(pkg):
    """Anything dpkg knows of pkg but "not-installed" (installed,
    config-files, half-installed) counts: it needs a purge."""
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       universal_newlines=True)
    return p.returncode == 0 and \
        not p.stdout.strip().endswith("not-installed")


def test_rpmspec_parses():
    _need("rpmspec")
    p = run_checked(["rpmspec", "-P", SPEC])
    out = p.stdout
    assert re.search(r"^Name:\s+smb2fs$", out, re.M), out
    assert re.search(r"^Version:\s+%s$" % re.escape(_meson_version()),
                     out, re.M), "spec Version is not meson.build's"
    assert re.search(r"^Requires:\s+fuse3$", out, re.M), out
    # Every %meson* macro expanded into plain commands.
    assert "%meson" not in out, out
    assert re.search(r"^meson setup .*--prefix=/usr", out, re.M), out
    assert "meson install" in out and "meson test" in out


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_deb_build_lint_install_purge(tmp_path):
    _need("dpkg-buildpackage", "dh", "lintian", "fakeroot", "apt-get",
          "meson", "ninja")
    if os.geteuid() != 0:
        skip_or_fail("installing the .deb needs root")
    if _installed("smb2fs"):
        skip_or_fail("an smb2fs package is already installed; this test "
                     "installs and purges its own and leaves that one alone "
                     "(apt-get purge smb2fs to run it)")

    # Build.
    out = tmp_path / "deb"
    p = run_checked([BUILD_DEB, str(out)], timeout=600)
    deb = p.stdout.strip().splitlines()[-1]
    assert os.path.isfile(deb), p.stdout
    assert os.path.basename(deb).startswith(
        "smb2fs_%s-" % _meson_version()), deb
    changes = deb[:-len(".deb")] + ".changes"
    assert os.path.isfile(changes)

    # lintian: no errors (warnings are listed in packaging/README.md).
    lint = run_checked(["lintian", "--fail-on", "error", changes],
                       check=False, timeout=600)
    print(lint.stdout)
    errors = [ln for ln in lint.stdout.splitlines() if ln.startswith("E:")]
    assert lint.returncode == 0 and not errors, lint.stdout + lint.stderr

    # Contents and dependencies.
    listing = run_checked(["dpkg-deb", "-c", deb]).stdout
    assert re.search(r" \./usr/bin/smb2fs$", listing, re.M), listing
    assert re.search(r" \./usr/sbin/mount\.smb2fs -> ", listing, re.M), listing
    for page in ("smb2fs.8.gz", "mount.smb2fs.8.gz"):
        assert "./usr/share/man/man8/" + page in listing, listing
    depends = run_checked(["dpkg-deb", "-f", deb, "Depends"]).stdout
    for dep in ("fuse3", "libfuse3-3", "libssl3", "libkrb5-3",
                "libgssapi-krb5-2"):
        assert re.search(r"(^|, )%s( |,|$)" % re.escape(dep),
                         depends.strip()), depends

    installed_files = []
    try:
        run_checked(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install",
                     "-y", "-q", "--no-install-recommends", deb],
                    env=APT_ENV, timeout=600)
        installed_files = [f for f in run_checked(["dpkg", "-L", "smb2fs"])
                           .stdout.splitlines() if f and f != "/."]

        v = run_checked(["/usr/bin/smb2fs", "--version"])
        assert _meson_version() in v.stdout + v.stderr
        assert os.path.realpath("/sbin/mount.smb2fs") == \
            os.path.realpath("/usr/bin/smb2fs")
        v = run_checked(["/sbin/mount.smb2fs", "--version"])
        assert _meson_version() in v.stdout + v.stderr
        man = [f for f in installed_files if f.startswith("/usr/share/man/")
               and not os.path.isdir(f)]
        for f in man:
            assert os.path.exists(f), f
        for page in ("smb2fs.8.gz", "mount.smb2fs.8.gz"):
            assert "/usr/share/man/man8/" + page in man, installed_files
        assert os.path.isfile("/usr/share/doc/smb2fs/copyright")
    finally:
        if _installed("smb2fs"):
            subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=600",
                            "purge", "-y", "-q", "smb2fs"], env=APT_ENV,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    # Purged: the package and every file and symlink it had are gone.
    assert not _installed("smb2fs")
    assert installed_files, "dpkg -L smb2fs listed nothing"
    left = [f for f in installed_files
            if os.path.lexists(f) and not os.path.isdir(f)]
    if os.path.lexists("/usr/share/doc/smb2fs"):
        left.append("/usr/share/doc/smb2fs")
    assert not left, "left behind after apt-get purge: %s" % left
    assert not os.path.lexists("/sbin/mount.smb2fs")
    assert not glob.glob("/usr/share/man/man8/*smb2fs.8*")

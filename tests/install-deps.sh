#!/bin/bash
# Install everything smb2fs needs to build and to run its tests, from
# Debian 12's archive only (no pip).  Idempotent: does nothing when all
# packages are already installed.  Used by .ci/run, tests/run-all.sh and
# tests/demo.sh.
set -euo pipefail

PKGS=(
  # build
  gcc libc6-dev meson ninja-build pkg-config libfuse3-dev libssl-dev
  # Kerberos (sec=krb5): MIT GSSAPI headers and libraries
  libkrb5-dev
  # run
  fuse3
  # tests: a private Samba, smbclient for the server-side view, pytest
  samba smbclient python3 python3-pytest python3-pytest-timeout
  # tests: a private MIT KDC (krb5kdc, kdb5_util / kadmin.local) and kinit;
  # they use their own krb5.conf (KRB5_CONFIG), never /etc/krb5.conf
  krb5-kdc krb5-admin-server krb5-user
  # tests: a private Samba AD DC (samba-tool domain provision, its KDC,
  # winbindd); samba-ad-provision is only a Recommends of samba-ad-dc
  samba-ad-dc samba-ad-provision winbind
  # tests: a server (or client) whose clock is off, for the clock-skew lines
  faketime
  # tests: real programs on the mount (test_programs.py); gcc is above,
  # tar is Essential
  git make rsync
  # coreutils/diffutils/util-linux/passwd (cmp, truncate, df, useradd) are
  # Essential/required on Debian
  diffutils passwd procps
  # tests: gio list/info/copy/trash on the mount (test_desktop.py); plain
  # GLib, no gvfs daemons (docs/desktop.md)
  libglib2.0-bin
  # packaging (test_packaging.py): build the .deb with dpkg-buildpackage,
  # check it with lintian, parse the RPM spec with rpmspec (from rpm)
  build-essential dpkg-dev debhelper fakeroot lintian rpm
)

# --list: print the packages, one per line (for .ci/run's own apt-get).
if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${PKGS[@]}"
  exit 0
fi
# --only PKG...: install these packages instead (same idempotent check and
# lock handling; tests/bench/install-bench-deps.sh uses it).
if [ "${1:-}" = "--only" ]; then
  shift
  PKGS=("$@")
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A freshly booted machine may still be running apt-daily: wait for the
# dpkg lock instead of failing at once.
apt-get -o DPkg::Lock::Timeout=600 update -q
# The packages' own services are not started (see .ci/run): a policy-rc.d
# that says "no" for the length of the install, unless one is there.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  guard=/usr/sbin/policy-rc.d
  trap 'rm -f "$guard"' EXIT
fi
# --no-install-recommends keeps it small; samba's own Depends are enough.
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
# Where a policy-rc.d was already there it decided; any system smbd or KDC
# it let start does not matter: the tests use their own on other ports.

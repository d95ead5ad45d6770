#!/bin/bash
# Install what tests/bench/bench.py needs beyond tests/install-deps.sh, from
# Debian 12's archive only.  Idempotent: does nothing when everything is
# installed.  Not used by CI (the benchmark is not a test).
#
#   smbnetfs      a second FUSE SMB client to compare with (libsmbclient)
#   libfuse3-dev  ships examples/passthrough_ll.c, compiled at bench time
#   gcc pkg-config to compile it
#   samba smbclient fuse3 tar   the server, the smbclient peer, fusermount3
set -euo pipefail

PKGS=(samba smbclient fuse3 libfuse3-dev gcc libc6-dev pkg-config tar
      coreutils smbnetfs)

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
  echo "install-bench-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi
echo "install-bench-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"

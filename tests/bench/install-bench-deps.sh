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

exec "$(dirname "$0")/../install-deps.sh" --only "${PKGS[@]}"

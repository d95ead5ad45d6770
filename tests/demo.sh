#!/bin/bash
# Demo: build smb2fs, start a throwaway Samba on 127.0.0.1, mount its share,
# use it, unmount, stop Samba.  Needs root.  Exits 0 when everything worked.
#
#   sudo tests/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: must run as root (FUSE mount, private smbd): run it as root, or sudo $0" >&2
  exit 1
fi
tests/install-deps.sh

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

echo "== building"
[ -f build/build.ninja ] || meson setup build
ninja -C build
BIN=${SMB2FS_BIN:-$ROOT/build/smb2fs}

WORK=$(mktemp -d /tmp/smb2fs-demo.XXXXXX)
MNT=$WORK/mnt
mkdir -p "$MNT"
SERVER_PID=

cleanup() {
  set +e
  if grep -q " $MNT " /proc/mounts; then
    fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
  fi
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting a private smbd on 127.0.0.1"
"$PY" tests/integration/smbenv.py serve --envfile "$WORK/env" &
SERVER_PID=$!
for _ in $(seq 1 300); do
  [ -f "$WORK/env" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "demo: smbd failed to start" >&2; exit 1; }
  sleep 0.1
done
[ -f "$WORK/env" ] || { echo "demo: smbd did not come up" >&2; exit 1; }
# shellcheck disable=SC1091
. "$WORK/env"

# credentials file, like you would keep in /root/.smbcred
umask 077
printf 'username=%s\npassword=%s\n' "$SMB2FS_TEST_USER" "$SMB2FS_TEST_PASSWORD" > "$WORK/cred"
umask 022

echo "== mounting $SMB2FS_TEST_UNC (port $SMB2FS_TEST_PORT) on $MNT"
set -x
"$BIN" "$SMB2FS_TEST_UNC" "$MNT" -o "username=$SMB2FS_TEST_USER,credentials=$WORK/cred,port=$SMB2FS_TEST_PORT"
{ set +x; } 2>/dev/null
grep " $MNT " /proc/mounts

echo "== a file created on the server side"
printf 'hello from the server\n' > "$SMB2FS_TEST_SHARE_DIR/from-server.txt"
set -x
ls -l "$MNT"
cat "$MNT/from-server.txt"
echo "written through smb2fs" > "$MNT/hello.txt"
cat "$MNT/hello.txt"
{ set +x; } 2>/dev/null
cmp "$MNT/hello.txt" "$SMB2FS_TEST_SHARE_DIR/hello.txt"
echo "(the server's copy is identical)"
set -x
df -h "$MNT"
fusermount3 -u "$MNT"
{ set +x; } 2>/dev/null
if grep -q " $MNT " /proc/mounts; then echo "demo: still mounted" >&2; exit 1; fi

echo "== demo OK"

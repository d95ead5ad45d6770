#!/bin/bash
# Screenshots of a file manager (PCManFM, Debian 12) browsing an smb2fs
# mount, under Xvfb: docs/desktop/file-manager.png.  With --copy also two
# screenshots of PCManFM's progress dialog during a 200 MiB copy from the
# mount over a link held to 20 MiB/s (docs/desktop/copy-progress-1.png and
# -2.png, a few seconds apart).  docs/desktop.md describes the results.
#
#   sudo docs/desktop/make-screenshot.sh [--copy]
#
# Needs root (FUSE mount, private smbd).  Installs what is missing with
# apt-get (xvfb, pcmanfm, x11-apps for xwd, netpbm for PNG, xdotool, an
# icon theme), builds smb2fs if needed ($SMB2FS_BIN, default build/smb2fs),
# starts a throwaway Samba on 127.0.0.1 and mounts its share with the test
# harness (docs/desktop/share_env.py -> tests/integration/smbenv.py), fills
# it with a few folders and files, starts Xvfb :99 (1024x768), opens
# PCManFM on the mount, takes the screenshot, and cleans everything up
# (PCManFM, Xvfb, unmount, Samba) on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
OUT=$ROOT/docs/desktop
COPY=0
[ "${1:-}" = "--copy" ] && COPY=1
DISP=${DISP:-:99}

if [ "$(id -u)" -ne 0 ]; then
  echo "make-screenshot: must run as root: sudo $0" >&2
  exit 1
fi
# Samba, FUSE and the build (as tests/install-deps.sh), then the desktop
tests/install-deps.sh --only gcc libc6-dev meson ninja-build pkg-config \
  libfuse3-dev libssl-dev libkrb5-dev fuse3 samba smbclient python3 \
  python3-pytest \
  xvfb pcmanfm x11-apps netpbm xdotool lxde-icon-theme

BIN=${SMB2FS_BIN:-$ROOT/build/smb2fs}
if [ ! -x "$BIN" ]; then
  [ -f build/build.ninja ] || meson setup build
  ninja -C build
fi
export SMB2FS_BIN=$BIN
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

WORK=$(mktemp -d /tmp/smb2fs-desktop.XXXXXX)
chmod 755 "$WORK"
# under the (private) home of PCManFM below: GLib's volume monitor shows
# mounts under $HOME in the side pane
MNT=$WORK/home/share
mkdir -p "$WORK/home"
ENV_PID='' XVFB_PID='' FM_PID=''

cleanup() {
  set +e
  [ -n "$FM_PID" ] && kill "$FM_PID" 2>/dev/null && wait "$FM_PID" 2>/dev/null
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null && wait "$XVFB_PID" 2>/dev/null
  if [ -n "$ENV_PID" ]; then
    kill "$ENV_PID" 2>/dev/null    # share_env.py unmounts and stops Samba
    wait "$ENV_PID" 2>/dev/null
  fi
  if grep -q " $MNT " /proc/mounts; then
    fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== Samba + smb2fs mount on $MNT"
args=(--mountpoint "$MNT" --envfile "$WORK/env")
[ $COPY = 1 ] && args+=(--rate $((20 * 1024 * 1024)) --big-mib 200)
"$PY" docs/desktop/share_env.py "${args[@]}" &
ENV_PID=$!
for _ in $(seq 1 600); do
  [ -f "$WORK/env" ] && break
  kill -0 "$ENV_PID" 2>/dev/null || { echo "make-screenshot: no mount" >&2; exit 1; }
  sleep 0.1
done
[ -f "$WORK/env" ] || { echo "make-screenshot: mount timed out" >&2; exit 1; }
grep " $MNT " /proc/mounts
ls -la "$MNT"

echo "== Xvfb $DISP"
Xvfb "$DISP" -screen 0 1024x768x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
export DISPLAY=$DISP
for _ in $(seq 1 100); do
  xdotool getdisplaygeometry >/dev/null 2>&1 && break
  kill -0 "$XVFB_PID" 2>/dev/null || { cat "$WORK/xvfb.log" >&2; exit 1; }
  sleep 0.1
done

# PCManFM in a private home: a 1024x768 window, detailed list view, the
# nuoveXT2 icons; no D-Bus session, no gvfs (plain GLib on file://)
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config
export XDG_CACHE_HOME=$WORK/home/.cache XDG_RUNTIME_DIR=$WORK/home/run
export GIO_USE_VFS=local GIO_USE_VOLUME_MONITOR=unix NO_AT_BRIDGE=1
export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset DBUS_SESSION_BUS_ADDRESS
mkdir -p "$XDG_CONFIG_HOME/pcmanfm/default" "$XDG_RUNTIME_DIR" "$XDG_CACHE_HOME"
chmod 700 "$XDG_RUNTIME_DIR"
cat >"$XDG_CONFIG_HOME/pcmanfm/default/pcmanfm.conf" <<EOF
[config]
bm_open_method=0

[volume]
mount_on_startup=0
mount_removable=0
autorun=0

[ui]
win_width=1024
win_height=768
splitter_pos=180
side_pane_mode=places
view_mode=list
show_hidden=0
sort=name;ascending;
EOF
echo 'gtk-icon-theme-name = "nuoveXT2"' >"$HOME/.gtkrc-2.0"

shot() {   # shot FILE: the whole 1024x768 screen as PNG
  xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng -compression 9 >"$1"
  echo "screenshot: $1 ($(stat -c %s "$1") bytes)"
}

echo "== PCManFM on $MNT"
pcmanfm --no-desktop "$MNT" >"$WORK/pcmanfm.log" 2>&1 &
FM_PID=$!
win=$(xdotool search --sync --onlyvisible --class pcmanfm | head -1)
xdotool windowmove "$win" 0 0 windowsize "$win" 1024 768
sleep 3
shot "$OUT/file-manager.png"

if [ $COPY = 1 ]; then
  echo "== a 200 MiB copy from the mount in PCManFM"
  # with the mouse (no window manager, so no keyboard focus until a
  # click): select big-video.mkv (the 6th row of the list), Ctrl+C, type
  # the local directory into the location bar, Ctrl+V
  mkdir -p "$WORK/local"
  xdotool mousemove 260 245 click 1
  sleep 0.5
  xdotool key ctrl+c
  sleep 0.5
  xdotool mousemove 600 45 click --repeat 3 1
  sleep 0.3
  xdotool type --delay 20 "$WORK/local"
  xdotool key Return
  sleep 1.5
  xdotool mousemove 600 400 click 1
  xdotool key ctrl+v
  sleep 4
  shot "$OUT/copy-progress-1.png"
  sleep 3
  shot "$OUT/copy-progress-2.png"
  # wait for the copy to finish, then compare
  for _ in $(seq 1 120); do
    [ "$(stat -c %s "$WORK/local/big-video.mkv" 2>/dev/null || echo 0)" = \
      "$(stat -c %s "$MNT/big-video.mkv")" ] && break
    sleep 1
  done
  sleep 1
  cmp "$MNT/big-video.mkv" "$WORK/local/big-video.mkv" && echo "copy OK"
fi
echo "== done"

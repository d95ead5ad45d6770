"""A throwaway Samba and an smb2fs mount of its [share], for
make-screenshot.sh.  Reuses the integration tests' harness
(tests/integration/smbenv.py).

    python3 share_env.py --mountpoint DIR --envfile FILE [--rate BYTES/S]

Starts a private smbd on 127.0.0.1 (a free port), mounts //127.0.0.1/share
on DIR as alice (smb2fs -f, with $SMB2FS_BIN or build/smb2fs), fills it
with a few folders and files through the mount, writes shell variables
(MNT, SHARE_DIR, SMB2FS_PID) to FILE, and waits; SIGTERM or SIGINT
unmounts and stops Samba.  --rate: the mount goes through a proxy that
holds each direction to that many bytes/s (a LAN instead of loopback), so
that a large copy lasts long enough to see its progress dialog.
"""

import argparse
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
INTEG = os.path.join(HERE, "..", "..", "tests", "integration")
sys.path.insert(0, INTEG)

import smbenv  # noqa: E402

TREE = {
    "Documents/Quarterly report.txt": b"Q3: up and to the right.\n" * 200,
    "Documents/meeting-notes.md": b"# Meeting\n\n- smb2fs on the desktop\n",
    "Documents/budget.csv": b"item,cost\nserver,1000\ndisks,400\n",
    "Pictures/holiday.ppm": None,                # a small generated image
    "Music/": None,
    "Projects/smb2fs/README": b"a FUSE filesystem for SMB2/3 shares\n",
    "Projects/website/index.html": b"<html><body>hello</body></html>\n",
    "readme.txt": b"Files on //127.0.0.1/share, mounted with smb2fs.\n",
    "backup.tar": bytes(4 * 1024 * 1024),
    "script.sh": b"#!/bin/sh\necho hello\n",
}


def ppm():
    w, h = 64, 48
    px = bytearray()
    for y in range(h):
        for x in range(w):
            px += bytes((x * 4, y * 5, 160))
    return b"P6\n%d %d\n255\n" % (w, h) + bytes(px)


def populate(mnt, big_mib):
    for rel, data in TREE.items():
        p = os.path.join(mnt, rel)
        if rel.endswith("/"):
            os.makedirs(p, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(ppm() if data is None else data)
    os.chmod(os.path.join(mnt, "script.sh"), 0o755)
    if big_mib:
        block = os.urandom(1 << 20)
        with open(os.path.join(mnt, "big-video.mkv"), "wb") as f:
            for i in range(big_mib):
                f.write(i.to_bytes(8, "little") + block[8:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mountpoint", required=True)
    ap.add_argument("--envfile", required=True)
    ap.add_argument("--rate", type=int, default=0)
    ap.add_argument("--big-mib", type=int, default=0,
                    help="also a file big-video.mkv of this many MiB")
    a = ap.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    srv = smbenv.SambaServer().start()
    proxy = mount = None
    try:
        target = srv
        if a.rate:
            from fault_proxy import FaultProxy  # the tests' throttled link
            proxy = target = FaultProxy(srv).start()
            proxy.rate(a.rate)
        os.makedirs(a.mountpoint, exist_ok=True)
        workdir = a.envfile + ".d"
        os.makedirs(workdir, exist_ok=True)
        mount = smbenv.Mount(srv.unc(), a.mountpoint,
                             options=["port=%d" % target.port],
                             password=srv.password, workdir=workdir)
        mount.start()
        populate(a.mountpoint, a.big_mib)
        with open(a.envfile + ".tmp", "w") as f:
            f.write("MNT='%s'\nSHARE_DIR='%s'\nSMB2FS_PID='%d'\n"
                    % (a.mountpoint, srv.share_dir(), mount.pid()))
        os.rename(a.envfile + ".tmp", a.envfile)
        smbenv.log("mounted %s on %s" % (srv.unc(), a.mountpoint))
        while not stop and srv.proc.poll() is None \
                and mount.proc.poll() is None:
            time.sleep(0.2)
    finally:
        if mount:
            try:
                mount.stop()
            except Exception as e:  # noqa: BLE001
                smbenv.log("unmount: %s" % e)
        if proxy:
            proxy.stop()
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

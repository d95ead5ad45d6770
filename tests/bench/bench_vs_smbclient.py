#!/usr/bin/env python3
"""Benchmark: smb2fs against Samba's smbclient, measured in the same run on
the same private loopback smbd.  Prints ratios, not pass/fail: this is not a
timed test.  Run as root from the repository root after building:

    sudo python3 tests/bench/bench_vs_smbclient.py [--mib 256] [--files 300]

Each figure is the best of --repeat runs, to cut scheduling noise.
ratio = smb2fs time / smbclient time (lower is better for smb2fs);
sign cost = smb2fs default (every message signed) / smb2fs -o nosign.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
import smbenv  # noqa: E402


def best_of(n, fn):
    best = None
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return best


def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=256, help="size of the big file")
    ap.add_argument("--files", type=int, default=300, help="small files")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="smb2fs-bench-")
    big = os.path.join(work, "big.bin")
    with open(big, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(args.mib):
            f.write(chunk)
    small_dir = os.path.join(work, "small")
    os.mkdir(small_dir)
    for i in range(args.files):
        with open(os.path.join(small_dir, "f%04d" % i), "wb") as f:
            f.write(os.urandom(4096))

    def fs_timings(srv, mnt, options):
        """smb2fs figures for one mount with these options."""
        m = smbenv.Mount(srv.unc("share"), mnt, password=srv.password,
                         options=["port=%d" % srv.port] + options, foreground=True)
        m.start()
        try:
            target = os.path.join(mnt, "big.bin")

            def fs_write():
                with open(big, "rb") as src, open(target, "wb") as dst:
                    while True:
                        b = src.read(1 << 20)
                        if not b:
                            break
                        dst.write(b)

            def fs_read():
                drop_caches()
                with open(target, "rb") as src:
                    while src.read(1 << 20):
                        pass

            def fs_small_put():
                d = os.path.join(mnt, "small")
                os.makedirs(d, exist_ok=True)
                for name in os.listdir(small_dir):
                    with open(os.path.join(small_dir, name), "rb") as s, \
                            open(os.path.join(d, name), "wb") as t:
                        t.write(s.read())

            def fs_list():
                time.sleep(1.1)  # let the 1 s attribute cache (actimeo) expire
                t0 = time.perf_counter()
                for e in os.scandir(os.path.join(mnt, "small")):
                    e.stat()
                return time.perf_counter() - t0

            return [best_of(args.repeat, fs_write), best_of(args.repeat, fs_read),
                    best_of(1, fs_small_put), min(fs_list() for _ in range(args.repeat))]
        finally:
            m.stop()

    names = ["write %d MiB" % args.mib, "read %d MiB" % args.mib,
             "create %d x 4 KiB" % args.files, "list+stat %d files" % args.files]
    with smbenv.SambaServer() as srv:
        cli = srv.smbclient()

        def sc_write():
            cli.put(big, "big2.bin")

        def sc_read():
            cli.get("big2.bin", os.devnull)

        def sc_small_put():
            cli.run("mkdir small2; prompt off; recurse off; lcd %s; cd small2; mput f*"
                    % small_dir, check=False)

        def sc_list():
            cli.run("cd small2; ls")

        sc = [best_of(args.repeat, sc_write), best_of(args.repeat, sc_read),
              best_of(1, sc_small_put), best_of(args.repeat, sc_list)]
        signed = fs_timings(srv, os.path.join(work, "mnt"), [])
        unsigned = fs_timings(srv, os.path.join(work, "mnt2"), ["nosign"])
    print("%-22s %10s %10s %10s %9s %9s" % ("operation", "signed s", "nosign s", "smbclient",
                                             "ratio", "sign cost"))
    for name, a, u, b in zip(names, signed, unsigned, sc):
        print("%-22s %10.3f %10.3f %10.3f %9.2f %9.2f" % (
            name, a, u, b, a / b if b else float("nan"), a / u if u else float("nan")))
    print("ratio = smb2fs (default, signed) / smbclient (smbclient includes its own connect "
          "and login per command)")
    print("sign cost = smb2fs default (signed) / smb2fs -o nosign, same server, same run")


if __name__ == "__main__":
    main()

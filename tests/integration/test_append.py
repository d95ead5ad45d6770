"""O_APPEND between mounts (src/client/fileops.c, src/fs/ops_file.c): the
kernel puts an O_APPEND write at the size it cached, which another
client's appends make stale; smb2fs sends such writes at the server's end
of file (WRITE offset -1) one by one, so every line lands whole, once,
after what any client appended before it."""

import os
import re
import subprocess
import sys

import pytest

WRITER = r"""
import os, sys
path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
for i in range(n):
    line = ("%s %05d " % (tag, i)).ljust(63, tag[-1]) + "\n"
    assert os.write(fd, line.encode()) == len(line)
os.close(fd)
"""

LINE = re.compile(r"^(m\dp\d) (\d{5}) (\w+)$")


def _check(data, tags, n):
    seen = {}
    for ln in data.decode().split("\n")[:-1]:
        m = LINE.match(ln)
        assert m and len(ln) == 63, "torn line: %r" % ln
        key = (m.group(1), int(m.group(2)))
        seen[key] = seen.get(key, 0) + 1
    want = {(t, i): 1 for t in tags for i in range(n)}
    missing = sorted(set(want) - set(seen))
    twice = sorted(k for k, v in seen.items() if v > 1)
    assert not missing and not twice, (missing[:5], twice[:5])
    assert len(data) == 64 * n * len(tags)


@pytest.mark.parametrize("cache", ["strict", "none", "loose"])
def test_appends_from_two_mounts_all_land(smbd, share_dir, mount_factory,
                                          cache):
    mounts = [mount_factory(smbd, options=["cache=%s" % cache]),
              mount_factory(smbd, options=["cache=%s" % cache])]
    n = 500
    ps, tags = [], []
    for mi, m in enumerate(mounts):
        for pi in range(2):
            tag = "m%dp%d" % (mi + 1, pi + 1)
            tags.append(tag)
            ps.append(subprocess.Popen(
                [sys.executable, "-c", WRITER,
                 os.path.join(m.mountpoint, "log"), tag, str(n)],
                stderr=subprocess.PIPE, text=True))
    for p in ps:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with open(os.path.join(share_dir, "log"), "rb") as f:
        _check(f.read(), tags, n)
    # and each mount reads the whole file (not with cache=loose: the
    # kernel keeps the size it knew, docs/options.md)
    for m in mounts if cache != "loose" else []:
        with open(os.path.join(m.mountpoint, "log"), "rb") as f:
            _check(f.read(), tags, n)


def test_append_after_the_other_mount_grew_the_file(smbd, share_dir,
                                                    mount_factory):
    a = mount_factory(smbd, options=["actimeo=30"])
    b = mount_factory(smbd)
    pa, pb = os.path.join(a.mountpoint, "f"), os.path.join(b.mountpoint, "f")
    with open(pa, "wb") as f:
        f.write(b"one\n")
    os.stat(pa)  # A caches size 4 for 30 s
    with open(pb, "ab") as f:
        f.write(b"two\n")
    with open(pa, "ab") as f:
        f.write(b"three\n")
    with open(os.path.join(share_dir, "f"), "rb") as f:
        assert f.read() == b"one\ntwo\nthree\n"

"""Statistics (issue 10, part 6): the virtual extended attribute
user.smb2fs.stats on the mount's root is the mount's counters as lines of
"key: value" (docs/stats.md; src/conn/stats.c counts requests, errors,
latency, data and credits; src/client counts handles, reconnects and
renewals; src/fs/ops_xattr.c answers the name on "/" only)."""

import ctypes
import errno
import os
import re

import pytest


NAME = "user.smb2fs.stats"
MIB = 1024 * 1024


def parse(text):
    """{'key': int or str, ...}; cmd.X lines -> {'cmd': {X: {requests,...}}};
    latency_us -> {'latency_us': {'<100': n, ..., '>=1000000': n}}."""
    out = {"cmd": {}}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        assert sep, "not a key: value line: %r" % line
        assert key not in out, "key twice: %r" % key
        if key.startswith("cmd."):
            f = value.split()
            assert len(f) % 2 == 0, line
            out["cmd"][key[4:]] = {f[i]: int(f[i + 1]) for i in range(0, len(f), 2)}
        elif key == "latency_us":
            out[key] = dict(b.split(":") for b in value.split())
            out[key] = {k: int(v) for k, v in out[key].items()}
        elif key == "credits":
            f = value.split()
            out[key] = {f[i]: int(f[i + 1]) for i in range(0, len(f), 2)}
        elif re.fullmatch(r"\d+", value):
            out[key] = int(value)
        else:
            out[key] = value
    return out


def stats(mp):
    raw = os.getxattr(mp, NAME)
    text = raw.decode()
    assert text.endswith("\n") and "\0" not in text
    return parse(text)


def cmd(s, name, field="requests"):
    return s["cmd"].get(name, {}).get(field, 0)


def test_stats_format(mnt):
    s = stats(mnt)
    for key in ("uptime_s", "requests", "errors", "timeouts", "bytes_read",
                "bytes_written", "latency_mean_us", "open_handles",
                "deferred_closes", "reconnects", "reconnect_failures",
                "session_renewals", "session_renewal_failures"):
        assert isinstance(s[key], int), key
    assert s["server"].startswith("\\\\")
    # the mount itself: NEGOTIATE, SESSION_SETUP (two legs), TREE_CONNECT
    for c in ("NEGOTIATE", "SESSION_SETUP", "TREE_CONNECT"):
        assert cmd(s, c) >= 1, c
    assert cmd(s, "SESSION_SETUP") >= 2
    assert cmd(s, "SESSION_SETUP", "errors") == 0  # MORE_PROCESSING is no error
    assert s["requests"] == sum(v["requests"] for v in s["cmd"].values())
    assert set(s["latency_us"]) == {"<100", "<1000", "<10000", "<100000",
                                    "<1000000", ">=1000000"}
    # at rest every request got its reply (errors without one aside),
    # each counted in one bucket
    replies = sum(s["latency_us"].values())
    assert s["requests"] - s["errors"] <= replies <= s["requests"]
    assert s["credits"]["granted"] > 0
    assert s["credits"]["in_flight"] == 0
    assert s["reconnects"] == 0
    # the buffer size protocol: a short buffer is ERANGE
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(16)
    n = libc.getxattr(mnt.encode(), NAME.encode(), buf, ctypes.c_size_t(16))
    assert n == -1 and ctypes.get_errno() == errno.ERANGE
    size = libc.getxattr(mnt.encode(), NAME.encode(), None, ctypes.c_size_t(0))
    assert size > 200


def test_counters_move(mnt, share_dir):
    data = os.urandom(MIB)
    with open(os.path.join(share_dir, "from-server.bin"), "wb") as f:
        f.write(data)
    s0 = stats(mnt)

    # write 1 MiB, read 1 MiB the server wrote (not in the kernel's cache)
    with open(os.path.join(mnt, "big.bin"), "wb") as f:
        f.write(data)
    with open(os.path.join(mnt, "from-server.bin"), "rb") as f:
        assert f.read() == data
    for i in range(5):
        with open(os.path.join(mnt, "small%d" % i), "w") as f:
            f.write("x")
    assert len(os.listdir(mnt)) == 7
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(mnt, "no-such-file"))
    s1 = stats(mnt)

    assert s1["bytes_written"] - s0["bytes_written"] >= MIB
    assert s1["bytes_read"] - s0["bytes_read"] >= MIB
    assert cmd(s1, "WRITE") > cmd(s0, "WRITE")
    assert cmd(s1, "READ") > cmd(s0, "READ")
    assert cmd(s1, "CREATE") >= cmd(s0, "CREATE") + 6
    assert cmd(s1, "CLOSE") > cmd(s0, "CLOSE")
    assert cmd(s1, "QUERY_DIRECTORY") > cmd(s0, "QUERY_DIRECTORY")
    # the missing name: a CREATE that failed (OBJECT_NAME_NOT_FOUND)
    assert cmd(s1, "CREATE", "errors") > cmd(s0, "CREATE", "errors")
    assert s1["errors"] > s0["errors"]
    assert s1["requests"] > s0["requests"]
    assert sum(s1["latency_us"].values()) > sum(s0["latency_us"].values())
    assert s1["latency_mean_us"] > 0
    for c, v in s1["cmd"].items():
        assert v["mean_us"] >= 0 and v["errors"] <= v["requests"], c
    assert s1["uptime_s"] >= s0["uptime_s"]


def test_open_handles(smbd, share_dir, mount_factory):
    mp = mount_factory(smbd, options=["closetimeo=0"]).mountpoint
    s0 = stats(mp)
    fd = os.open(os.path.join(mp, "held"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"held open")
        s1 = stats(mp)
        assert s1["open_handles"] >= s0["open_handles"] + 1
    finally:
        os.close(fd)
    s2 = stats(mp)
    assert s2["open_handles"] <= s1["open_handles"] - 1


def test_stats_not_settable_nor_listed(mnt, share_dir):
    for call, args in ((os.setxattr, (NAME, b"0")), (os.removexattr, (NAME,))):
        with pytest.raises(OSError) as e:
            call(mnt, *args)
        assert e.value.errno == errno.EPERM, call.__name__
    assert NAME not in os.listxattr(mnt)
    # nothing reached the server's copy of the root
    assert NAME not in os.listxattr(share_dir)
    # the root's real EAs still work
    os.setxattr(mnt, "user.other", b"v")
    assert os.getxattr(mnt, "user.other") == b"v"
    assert os.listxattr(mnt) == ["user.other"]
    os.removexattr(mnt, "user.other")


def test_stats_name_elsewhere_is_an_ordinary_ea(mnt, share_dir):
    p = os.path.join(mnt, "f")
    os.mkdir(os.path.join(mnt, "d"))
    with open(p, "w") as f:
        f.write("x")
    for path in (p, os.path.join(mnt, "d")):
        with pytest.raises(OSError) as e:
            os.getxattr(path, NAME)
        assert e.value.errno == errno.ENODATA
    # ...and it goes to the server like any other
    os.setxattr(p, NAME, b"mine")
    assert os.getxattr(p, NAME) == b"mine"
    assert os.getxattr(os.path.join(share_dir, "f"), NAME) == b"mine"
    assert os.listxattr(p) == [NAME]


def test_stats_with_nouser_xattr(smbd, share_dir, mount_factory):
    mp = mount_factory(smbd, options=["nouser_xattr"]).mountpoint
    s = stats(mp)
    assert s["requests"] > 0
    with pytest.raises(OSError) as e:
        os.getxattr(mp, "user.other")
    assert e.value.errno == errno.EOPNOTSUPP
    with pytest.raises(OSError) as e:
        os.setxattr(mp, NAME, b"0")
    assert e.value.errno == errno.EPERM


def test_reconnect_counted(smbd, share_dir, mount_factory):
    before = {s["pid"] for s in smbd.sessions()}
    mp = mount_factory(smbd).mountpoint
    with open(os.path.join(mp, "a"), "w") as f:
        f.write("a")
    s0 = stats(mp)
    assert s0["reconnects"] == 0
    smbd.kill_session(before)
    # the connection is gone: readable still, without asking the server
    stats(mp)
    with open(os.path.join(mp, "b"), "w") as f:  # reconnects underneath
        f.write("b")
    assert sorted(os.listdir(mp)) == ["a", "b"]
    s1 = stats(mp)
    assert s1["reconnects"] == 1
    assert s1["reconnect_failures"] == 0
    # the counts run across connections
    assert s1["requests"] > s0["requests"]
    assert cmd(s1, "NEGOTIATE") == cmd(s0, "NEGOTIATE") + 1
    assert s1["errors"] > s0["errors"]  # what the dead connection failed
    assert s1["credits"]["granted"] > 0

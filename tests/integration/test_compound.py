"""Compounded path operations and the daemon's attribute cache, against the
real Samba (the fake server answers compounds too, see the end).

Round trips are counted from the -o debug log: a request line without
"(compound)" is one round trip, and every compound frame is announced by
one "compound of N: ..." line (src/client/compound.c)."""

import errno
import os
import re
import subprocess
import time

import pytest

import fsop
from smbenv import wait_for

ACTIMEO = 1.0


class Log:
    """Reads what a -o debug mount logged since the last mark."""

    def __init__(self, m):
        self.m = m
        self.pos = 0

    def mark(self):
        self.pos = os.path.getsize(self.m.stderr_path)

    def since(self):
        with open(self.m.stderr_path, errors="replace") as f:
            f.seek(self.pos)
            return f.read()


def requests(text):
    return re.findall(r" > ([A-Z_]+) mid=", text)


def round_trips(text):
    single = [ln for ln in text.splitlines()
              if re.search(r" > [A-Z_]+ mid=", ln) and "(compound)" not in ln]
    return len(single) + len(re.findall(r"compound of \d+: ", text))


@pytest.fixture
def dbg(smbd, share_dir, mount_factory):
    m = mount_factory(smbd, options=["debug", "actimeo=%g" % ACTIMEO])
    return m, Log(m)


def measure(m, log, op, prep=None, settle=0.3):
    """(round trips, requests, log) of op, after the caches lapsed."""
    time.sleep(ACTIMEO + 0.2)
    os.stat(m.mountpoint)
    if prep:
        prep()
    log.mark()
    op()
    time.sleep(settle)  # RELEASE and FORGET arrive asynchronously
    text = log.since()
    return round_trips(text), requests(text), text


def test_round_trips_per_operation(dbg, share_dir):
    m, log = dbg
    mp = m.mountpoint
    p = lambda n: os.path.join(mp, n)  # noqa: E731
    for n in ("s", "u", "u2", "r", "t", "big"):
        with open(os.path.join(share_dir, n), "wb") as f:
            f.write(b"12345")
        os.chmod(os.path.join(share_dir, n), 0o666)  # Samba runs as alice
    os.mkdir(os.path.join(share_dir, "small"))
    for i in range(10):
        open(os.path.join(share_dir, "small", "f%d" % i), "w").close()

    # stat, not cached: CREATE+CLOSE in one frame, with the QUERY_INFOs of
    # the security descriptor (mode and owner) and of FileStandardInformation
    # (the link count) between them
    rt, req, text = measure(m, log, lambda: os.stat(p("s")))
    assert (rt, sorted(req)) == (1, ["CLOSE", "CREATE", "QUERY_INFO", "QUERY_INFO"]), text
    # stat again at once: the kernel's cache or ours, nothing on the wire
    rt, req, text = measure(m, log, lambda: os.stat(p("s")),
                            prep=lambda: None, settle=0)
    rt2 = round_trips(log.since()) if rt else 0
    assert rt2 <= 1

    # statfs: CREATE+QUERY_INFO+CLOSE
    rt, req, text = measure(m, log, lambda: os.statvfs(mp))
    assert (rt, sorted(req)) == (1, ["CLOSE", "CREATE", "QUERY_INFO"]), text

    # mkdir: the LOOKUP (negative) and the mkdir; libfuse's getattr after
    # it is answered from the CREATE reply and the descriptor read in the
    # same frame.  The share's `directory mask = 0777` gives the new
    # directory 0777, not the 0755 asked for: chmod's two frames follow
    # (CREATE+QUERY_INFO kept open, SET_INFO+QUERY_INFO+CLOSE)
    rt, req, text = measure(m, log, lambda: os.mkdir(p("newdir")))
    assert rt == 4 and sorted(req) == sorted(
        ["CREATE", "QUERY_INFO", "CLOSE"] * 2 + ["QUERY_INFO"] +
        ["CREATE", "QUERY_INFO", "SET_INFO", "QUERY_INFO", "CLOSE"]), text
    assert os.path.isdir(os.path.join(share_dir, "newdir"))

    # unlink of a file just looked up: CREATE+SET_INFO+CLOSE
    rt, req, text = measure(m, log, lambda: os.unlink(p("u")),
                            prep=lambda: os.stat(p("u")))
    assert (rt, sorted(req)) == (1, ["CLOSE", "CREATE", "SET_INFO"]), text
    assert not os.path.exists(os.path.join(share_dir, "u"))
    # rm, not cached: its lstat (LOOKUP) + the unlink
    rt, req, text = measure(
        m, log, lambda: subprocess.run(["rm", p("u2")], check=True))
    assert rt == 2, text

    # rename of looked-up names (target absent): one frame
    def prep_rename():
        os.stat(p("r"))
        assert not os.path.exists(p("r2"))
    rt, req, text = measure(m, log, lambda: os.rename(p("r"), p("r2")),
                            prep=prep_rename)
    assert (rt, sorted(req)) == (1, ["CLOSE", "CREATE", "SET_INFO"]), text
    assert os.path.exists(os.path.join(share_dir, "r2"))

    # rmdir
    rt, req, text = measure(m, log, lambda: os.rmdir(p("newdir")),
                            prep=lambda: os.stat(p("newdir")))
    assert (rt, sorted(req)) == (1, ["CLOSE", "CREATE", "SET_INFO"]), text

    # listing of a small directory: CREATE+QUERY_DIRECTORY x3+CLOSE, then
    # the entries' descriptors and link counts (a listing has neither):
    # one CREATE+QUERY_INFO x2+CLOSE each, all in flight at once
    rt, req, text = measure(m, log, lambda: os.listdir(p("small")),
                            prep=lambda: os.stat(p("small")))
    assert rt == 11, text
    assert sorted(req) == sorted(["CLOSE", "CREATE", "QUERY_DIRECTORY",
                                  "QUERY_DIRECTORY", "QUERY_DIRECTORY"] +
                                 ["CREATE", "QUERY_INFO", "QUERY_INFO",
                                  "CLOSE"] * 10), text
    # ... and stat of its entries right after: from the listing
    log.mark()
    for i in range(10):
        os.stat(p("small/f%d" % i))
    assert round_trips(log.since()) == 0, log.since()

    # truncate and utime by path (no open handle): CREATE+SET_INFO+CLOSE;
    # the getattr after the setattr comes from the CLOSE reply
    rt, req, text = measure(m, log, lambda: os.truncate(p("t"), 2),
                            prep=lambda: os.stat(p("t")))
    assert (rt, sorted(req)) == (1, ["CLOSE", "CREATE", "SET_INFO"]), text
    rt, req, text = measure(m, log, lambda: os.utime(p("t"), (1e9, 1e9)),
                            prep=lambda: os.stat(p("t")))
    assert (rt, sorted(req)) == (1, ["CLOSE", "CREATE", "SET_INFO"]), text
    st = os.stat(p("t"))
    assert (st.st_size, st.st_mtime) == (2, 1e9)
    assert os.stat(os.path.join(share_dir, "t")).st_mtime == 1e9

    # an exclusive create + close: LOOKUP, CREATE, the new file's
    # attributes and descriptor through the new handle in one frame (the
    # CREATE reply has no descriptor; libfuse's getattr then needs no
    # request), CLOSE.  The share's `create mask = 0666` gives the file
    # 0666, not the 0644 asked for: a chmod follows, in one frame
    # (CREATE+SET_INFO+QUERY_INFO+CLOSE: the descriptor is known)
    rt, req, text = measure(m, log, lambda: os.close(os.open(
        p("new"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)))
    assert rt == 5 and req.count("QUERY_INFO") == 5, text  # (+ the link count)

    # touch of a new file: LOOKUP (CREATE+QUERY_INFO+CLOSE), CREATE, its
    # attributes and descriptor, the chmod (as above), SET_INFO of the
    # times through the new handle with a QUERY_INFO in the same frame,
    # CLOSE: 6 round trips (5 where the server's mode is the one asked for)
    rt, req, text = measure(
        m, log, lambda: subprocess.run(["touch", p("touched")], check=True))
    assert rt == 6, text
    assert os.path.exists(os.path.join(share_dir, "touched"))


def test_rename_over_existing_file(mnt, share_dir):
    for n, data in (("a", b"AAAA"), ("b", b"B")):
        with open(os.path.join(mnt, n), "wb") as f:
            f.write(data)
    assert os.stat(os.path.join(mnt, "b")).st_size == 1
    os.rename(os.path.join(mnt, "a"), os.path.join(mnt, "b"))
    # at once, through the mount (no waiting for caches)
    assert not os.path.exists(os.path.join(mnt, "a"))
    assert os.stat(os.path.join(mnt, "b")).st_size == 4
    with open(os.path.join(mnt, "b"), "rb") as f:
        assert f.read() == b"AAAA"
    assert sorted(os.listdir(mnt)) == ["b"]
    # and on the server
    assert sorted(os.listdir(share_dir)) == ["b"]
    with open(os.path.join(share_dir, "b"), "rb") as f:
        assert f.read() == b"AAAA"


def test_rename_directory_subtree(mnt, share_dir):
    os.makedirs(os.path.join(mnt, "d1", "sub"))
    with open(os.path.join(mnt, "d1", "sub", "f"), "wb") as f:
        f.write(b"x" * 7)
    assert os.stat(os.path.join(mnt, "d1", "sub", "f")).st_size == 7
    os.rename(os.path.join(mnt, "d1"), os.path.join(mnt, "d2"))
    assert not os.path.exists(os.path.join(mnt, "d1", "sub", "f"))
    assert not os.path.exists(os.path.join(mnt, "d1"))
    assert os.stat(os.path.join(mnt, "d2", "sub", "f")).st_size == 7
    assert os.path.getsize(os.path.join(share_dir, "d2", "sub", "f")) == 7


def test_rmdir_not_empty_and_unlink_missing(mnt, share_dir):
    os.mkdir(os.path.join(mnt, "full"))
    open(os.path.join(mnt, "full", "x"), "w").close()
    with pytest.raises(OSError) as e:
        os.rmdir(os.path.join(mnt, "full"))
    assert e.value.errno == errno.ENOTEMPTY
    assert os.path.isdir(os.path.join(share_dir, "full"))
    assert os.listdir(os.path.join(mnt, "full")) == ["x"]
    with pytest.raises(OSError) as e:
        os.unlink(os.path.join(mnt, "missing"))
    assert e.value.errno == errno.ENOENT
    with pytest.raises(OSError) as e:
        os.rmdir(os.path.join(mnt, "missing"))
    assert e.value.errno == errno.ENOENT
    # a missing parent, through the compound too
    with pytest.raises(OSError) as e:
        os.stat(os.path.join(mnt, "nodir", "x"))
    assert e.value.errno == errno.ENOENT


def test_listing_of_5000_entries(mnt, share_dir):
    d = os.path.join(share_dir, "many")
    os.mkdir(d)
    names = {"file-%05d.txt" % i for i in range(5000)}
    for n in names:
        open(os.path.join(d, n), "w").close()
    assert set(os.listdir(os.path.join(mnt, "many"))) == names
    out = subprocess.run(["ls", "-l", os.path.join(mnt, "many")],
                         capture_output=True, text=True, check=True).stdout
    assert len(out.splitlines()) == 5001


def test_listing_that_fills_two_replies_is_read_once(smbd, share_dir,
                                                      mount_factory):
    """10,000 short names fill two 1 MiB replies exactly: the third query
    in the first frame says the listing ended, so it is not read again."""
    m = mount_factory(smbd, options=["debug"])
    d = os.path.join(share_dir, "tenk")
    os.mkdir(d)
    for i in range(10000):
        open(os.path.join(d, "f%05d" % i), "w").close()
    assert len(os.listdir(os.path.join(m.mountpoint, "tenk"))) == 10000
    assert "listing it again on a kept handle" not in m.stderr()


def test_listing_longer_than_one_compound(smbd, share_dir, mount_factory):
    """Over two QUERY_DIRECTORY replies' worth: listed again on a kept
    handle, complete, and each entry once."""
    m = mount_factory(smbd, options=["debug"])
    d = os.path.join(share_dir, "long")
    os.mkdir(d)
    names = {("n%05d-" % i) + "x" * 150 for i in range(16000)}
    for n in names:
        open(os.path.join(d, n), "w").close()
    got = os.listdir(os.path.join(m.mountpoint, "long"))
    assert len(got) == len(names) and set(got) == names
    assert "listing it again on a kept handle" in m.stderr()


def test_seen_by_other_mount_and_smbclient(smbd, share_dir, mount_factory,
                                           sclient):
    a = mount_factory(smbd).mountpoint
    b = mount_factory(smbd).mountpoint
    pa, pb = os.path.join(a, "shared.txt"), os.path.join(b, "shared.txt")
    assert not os.path.exists(pb)          # B caches "no such file"
    with open(pa, "wb") as f:
        f.write(b"hello")
    assert os.stat(pa).st_size == 5
    assert "shared.txt" in sclient.run("ls").stdout
    took = wait_for(lambda: os.path.exists(pb), 10.0)
    assert took is not None and took < ACTIMEO + 0.6, took
    assert os.stat(pb).st_size == 5
    os.unlink(pa)
    assert not os.path.exists(pa)          # at once on A
    assert not os.path.exists(os.path.join(share_dir, "shared.txt"))
    assert "shared.txt" not in sclient.run("ls").stdout
    took = wait_for(lambda: not os.path.exists(pb), 10.0)
    assert took is not None and took < ACTIMEO + 0.6, took


def test_server_side_changes_visible_within_actimeo(mnt, sclient,
                                                    share_dir):
    p = os.path.join(mnt, "remote.txt")
    assert not os.path.exists(p)           # a cached negative entry
    sclient.put_bytes("remote.txt", b"abc")
    took = wait_for(lambda: os.path.exists(p), 10.0)
    assert took is not None and took < ACTIMEO + 0.6, took
    assert os.stat(p).st_size == 3
    sclient.run("del remote.txt")
    took = wait_for(lambda: not os.path.exists(p), 10.0)
    assert took is not None and took < ACTIMEO + 0.6, took
    # a listing made the entry known; a server-side delete still shows
    sclient.put_bytes("listed.txt", b"abcd")
    took = wait_for(lambda: "listed.txt" in os.listdir(mnt), 10.0)
    assert took is not None and took < ACTIMEO + 0.6, took
    assert os.stat(os.path.join(mnt, "listed.txt")).st_size == 4
    sclient.run("del listed.txt")
    took = wait_for(lambda: not os.path.exists(
        os.path.join(mnt, "listed.txt")), 10.0)
    assert took is not None and took < ACTIMEO + 0.6, took


def test_local_changes_visible_at_once(mnt, share_dir):
    p = os.path.join(mnt, "f")
    os.mkdir(os.path.join(mnt, "sub"))
    os.utime(os.path.join(mnt, "sub"), (1e9, 1e9))
    assert os.stat(os.path.join(mnt, "sub")).st_mtime == 1e9
    open(os.path.join(mnt, "sub", "x"), "w").close()
    # the directory's cached times moved with the create
    assert os.stat(os.path.join(mnt, "sub")).st_mtime > 1e9
    os.unlink(os.path.join(mnt, "sub", "x"))
    os.rmdir(os.path.join(mnt, "sub"))
    with open(p, "wb") as f:
        f.write(b"1")
    assert os.stat(p).st_size == 1
    with open(p, "ab") as f:               # a write drops cached attributes
        f.write(b"2345")
    assert os.stat(p).st_size == 5
    os.truncate(p, 3)
    assert os.stat(p).st_size == 3
    assert os.path.getsize(os.path.join(share_dir, "f")) == 3
    os.rename(p, p + ".new")
    assert not os.path.exists(p)
    assert os.stat(p + ".new").st_size == 3
    assert os.listdir(mnt) == ["f.new"]
    os.unlink(p + ".new")
    assert not os.path.exists(p + ".new")
    assert os.listdir(mnt) == []
    os.mkdir(p)                            # same name, now a directory
    assert os.path.isdir(p)
    os.rmdir(p)
    assert not os.path.exists(p)


def test_truncating_open_beside_a_writer_keeps_the_file(smbd, share_dir,
                                                         mount_factory):
    # With another handle open for writing the open's reply cannot be
    # trusted for the size, but the file is certainly there.
    m = mount_factory(smbd, options=["actimeo=5"])
    p = os.path.join(m.mountpoint, "b.txt")
    with open(p, "w") as f:
        f.write("hello")
    with open(os.path.join(m.mountpoint, "a.txt"), "w"):   # a writer
        os.close(os.open(p, os.O_WRONLY | os.O_TRUNC))
        assert os.stat(p).st_size == 0
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT))
        assert os.stat(p).st_size == 0


def test_actimeo_zero_caches_nothing(smbd, share_dir, mount_factory):
    m = mount_factory(smbd, options=["debug", "actimeo=0"])
    log = Log(m)
    with open(os.path.join(share_dir, "z"), "wb") as f:
        f.write(b"z")
    p = os.path.join(m.mountpoint, "z")
    os.stat(p)
    log.mark()
    os.stat(p)
    # the kernel caches nothing either: GETATTR of the root, LOOKUP of z
    # and GETATTR of z each reach the server (with a cache, the GETATTR
    # right after the LOOKUP would not)
    assert round_trips(log.since()) == 3, log.since()


# ---- the fake server: compounds, and a broken reply inside one ----------

def test_fake_server_gets_related_requests(fake_server, mount_factory):
    srv = fake_server("fs", password="x")
    m = mount_factory(srv, share="x", password="x",
                      options=["vers=2.1", "actimeo=0"])
    assert fsop.run(m, "stat", "f", 15)[0] == ("ok", [oct(0o100755), 10])
    assert fsop.run(m, "listdir", "d", 15)[0] == ("ok", ["x"])
    assert fsop.run(m, "stat", "nope", 15)[0] == ("errno", errno.ENOENT)
    assert "CLOSE" in srv.related and "QUERY_DIRECTORY" in srv.related
    assert not srv.problems, srv.problems
    assert srv.connections() == 1


@pytest.mark.parametrize("mode,op,rel", [
    ("create_bad_size", "stat", "bad"),
    ("create_truncated", "stat", "bad"),
    ("dir_outbuf_len_past_end", "listdir", "d"),
    ("dir_next_past_end", "listdir", "d"),
])
def test_broken_reply_inside_compound_is_eio(fake_server, mount_factory,
                                             mode, op, rel):
    """The broken CREATE or QUERY_DIRECTORY reply arrives inside a
    compound (its CLOSE went out related in the same frame): EIO, and the
    mount goes on serving on the same connection."""
    srv = fake_server(mode, password="x")
    m = mount_factory(srv, share="x", password="x",
                      options=["vers=2.1", "actimeo=0"])
    assert fsop.run(m, op, rel, 30)[0] == ("errno", errno.EIO)
    assert srv.hostile_sent >= 1
    assert "CLOSE" in srv.related, srv.related
    assert m.proc.poll() is None
    assert fsop.run(m, "stat", "f", 15)[0] == ("ok", [oct(0o100755), 10])
    assert fsop.run(m, "listdir", "", 15)[0][0] == "ok"
    assert srv.connections() == 1
    assert not srv.problems, srv.problems

"""Leases (src/client/lease.c): every file open asks for a read+write+handle
lease; another client's open or write breaks it, and smb2fs then sends the
data it still queues and drops what the kernel caches of the file, so two
mounts of one share see each other's writes at once, also through
descriptors that stay open.  While the lease holds, a second open of the
file keeps the kernel's pages (no READ goes out), and a read-only handle
stays open for closetimeo seconds after close() for the next open to take
back without a request (deferred close, src/client/handles.c)."""

import os
import random
import re
import threading
import time

import pytest

from smbenv import poll
from test_compound import Log, requests


def _locks(smbd, name):
    """The Oplock column of `smbstatus -L` for the open files called name."""
    out = smbd.smbstatus("-L")
    return [ln for ln in out.splitlines() if ln.rstrip().endswith(name) or
            (" %s " % name) in ln]


def _lease_of(smbd, name):
    m = [re.search(r"LEASE\(([RWH]*)\)", ln) for ln in _locks(smbd, name)]
    return [x.group(1) for x in m if x]


def _put(share_dir, name, data):
    """Makes a file on the server's disk that both users may write."""
    p = os.path.join(share_dir, name)
    with open(p, "wb") as f:
        f.write(data)
    os.chmod(p, 0o666)


def _two_mounts(smbd, mount_factory, a_opts=(), b_opts=()):
    # A long attribute timeout: without a lease break nothing would make
    # A look at the server again within these tests.
    a = mount_factory(smbd, options=["debug", "actimeo=30"] + list(a_opts))
    b = mount_factory(smbd, options=list(b_opts))
    return a, b


def test_open_file_holds_a_read_write_handle_lease(smbd, share_dir,
                                                   mount_factory):
    m = mount_factory(smbd, options=["closetimeo=0"])
    p = os.path.join(m.mountpoint, "held.txt")
    with open(p, "w") as f:
        f.write("x")
        f.flush()
        assert _lease_of(smbd, "held.txt") == ["RWH"]
    fd = os.open(p, os.O_RDONLY)
    try:
        assert _lease_of(smbd, "held.txt") == ["RWH"]
    finally:
        os.close(fd)
    # closetimeo=0: nothing stays open
    assert poll(lambda: _locks(smbd, "held.txt"), []) == []


@pytest.mark.parametrize("opts", [["cache=none"], ["vers=2.0"]])
def test_no_lease_without_caching_or_before_smb21(smbd, share_dir,
                                                  mount_factory, opts):
    m = mount_factory(smbd, options=opts)
    p = os.path.join(m.mountpoint, "plain.txt")
    with open(p, "w") as f:
        f.write("abc")
        f.flush()
        assert _locks(smbd, "plain.txt"), "the open file is not listed"
        assert _lease_of(smbd, "plain.txt") == []
    with open(p) as f:
        assert f.read() == "abc"


def test_other_clients_write_reaches_an_open_reader(smbd, share_dir,
                                                    mount_factory):
    a, b = _two_mounts(smbd, mount_factory)
    pa = os.path.join(a.mountpoint, "shared.txt")
    with open(os.path.join(b.mountpoint, "shared.txt"), "w") as f:
        f.write("version-1")
    fd = os.open(pa, os.O_RDONLY)
    try:
        assert os.pread(fd, 100, 0) == b"version-1"  # now in A's page cache
        log = Log(a)
        log.mark()
        with open(os.path.join(b.mountpoint, "shared.txt"), "r+") as f:
            f.write("version-2")  # same size: only the data tells
        # the break drops A's pages; its next read goes to the server
        assert poll(lambda: os.pread(fd, 100, 0), b"version-2") == b"version-2"
        assert "lease break shared.txt" in log.since()
    finally:
        os.close(fd)


def test_second_open_keeps_the_cached_pages(smbd, share_dir, mount_factory,
                                            rand_bytes):
    a, b = _two_mounts(smbd, mount_factory)
    data = rand_bytes(256 * 1024, seed=5)
    _put(share_dir, "pages.bin", data)
    pa = os.path.join(a.mountpoint, "pages.bin")
    log = Log(a)
    fd1 = os.open(pa, os.O_RDONLY)
    try:
        assert os.pread(fd1, len(data), 0) == data
        log.mark()
        fd2 = os.open(pa, os.O_RDONLY)
        try:
            assert os.pread(fd2, len(data), 0) == data
            assert "READ" not in requests(log.since()), \
                "the second open re-read pages the lease kept valid"
            # Another client writes: the pages go, the next read is READ.
            new = bytes(reversed(data))
            with open(os.path.join(b.mountpoint, "pages.bin"), "r+b") as f:
                f.write(new)
            assert poll(lambda: os.pread(fd2, len(new), 0), new) == new
            assert "READ" in requests(log.since())
        finally:
            os.close(fd2)
    finally:
        os.close(fd1)


def test_queued_writes_reach_another_client_at_once(smbd, share_dir,
                                                    mount_factory):
    a, b = _two_mounts(smbd, mount_factory)
    _put(share_dir, "wb.txt", b"old-data")
    fd = os.open(os.path.join(a.mountpoint, "wb.txt"), os.O_WRONLY)
    try:
        os.pwrite(fd, b"new-data", 0)  # queued by write-behind in A
        t0 = time.time()
        # B's open breaks A's write lease; A sends the data, then acks
        with open(os.path.join(b.mountpoint, "wb.txt")) as f:
            assert f.read() == "new-data"
        assert time.time() - t0 < 5, "the break was not acknowledged promptly"
    finally:
        os.close(fd)
    with open(os.path.join(share_dir, "wb.txt")) as f:
        assert f.read() == "new-data"


def test_reopen_after_the_name_moved_to_another_file(smbd, share_dir,
                                                     mount_factory):
    # A's lease key belongs to the file A has open.  When another client
    # renames it away and makes a new file under the name, A's next open
    # of the name must not reuse that key (the server refuses a key on
    # two files): it gets a new one and reads the new file.
    a, b = _two_mounts(smbd, mount_factory)
    _put(share_dir, "name.txt", b"first")
    fd = os.open(os.path.join(a.mountpoint, "name.txt"), os.O_RDONLY)
    try:
        assert os.pread(fd, 100, 0) == b"first"
        os.rename(os.path.join(b.mountpoint, "name.txt"),
                  os.path.join(b.mountpoint, "moved.txt"))
        with open(os.path.join(b.mountpoint, "name.txt"), "w") as f:
            f.write("second")
        # A's entry for the name is cached for 30 s; the open itself
        # goes to the server.
        log = Log(a)
        log.mark()
        with open(os.path.join(a.mountpoint, "name.txt"), "rb") as f:
            assert f.read() == b"second"
        # the server refused the old key once; the new one worked
        assert re.search(r"< CREATE .*STATUS_INVALID_PARAMETER.*\n.*> CREATE .*\n"
                         r".*< CREATE .*STATUS_SUCCESS", log.since())
    finally:
        os.close(fd)


@pytest.mark.slow
def test_lease_is_asked_again_after_a_reconnect(smbd, share_dir,
                                                mount_factory):
    b = mount_factory(smbd)
    before = {s["pid"] for s in smbd.sessions()}
    a = mount_factory(smbd, options=["actimeo=30", "debug"])
    pa = os.path.join(a.mountpoint, "again.txt")
    # made through SMB, so Samba keeps its creation time (the reopen
    # after the reconnect checks it)
    with open(os.path.join(b.mountpoint, "again.txt"), "w") as f:
        f.write("before-1")
    fd = os.open(pa, os.O_RDONLY)
    try:
        assert os.pread(fd, 100, 0) == b"before-1"
        smbd.kill_session(before)
        # While A was away, B changed the file: A's pages must not survive.
        with open(os.path.join(b.mountpoint, "again.txt"), "r+") as f:
            f.write("after--2")
        assert poll(lambda: os.pread(fd, 100, 0), b"after--2") == b"after--2"
        assert poll(lambda: _lease_of(smbd, "again.txt"), ["RWH"]) == ["RWH"]
        # ... and the new lease breaks like the first one did
        with open(os.path.join(b.mountpoint, "again.txt"), "r+") as f:
            f.write("after--3")
        assert poll(lambda: os.pread(fd, 100, 0), b"after--3") == b"after--3"
    finally:
        os.close(fd)


# ---- deferred close ----

def _read(path):
    with open(path, "rb") as f:
        return f.read()


def test_reopen_after_close_reads_nothing(smbd, share_dir, mount_factory,
                                          rand_bytes):
    m = mount_factory(smbd, options=["debug", "actimeo=30"])
    data = rand_bytes(300_000, seed=9)
    p = os.path.join(m.mountpoint, "again.bin")
    with open(p, "wb") as f:
        f.write(data)
    log = Log(m)
    assert _read(p) == data
    # closed by us, still open on the server, under the lease
    assert _lease_of(smbd, "again.bin") == ["RWH"]
    log.mark()
    for _ in range(3):
        assert _read(p) == data
    # each open proves the name with a CREATE; the pages stay
    got = requests(log.since())
    assert got.count("CREATE") == 3 and "READ" not in got, got


@pytest.mark.parametrize("moved", ["file", "parent"])
def test_name_reused_by_another_client_after_a_deferred_close(
        smbd, share_dir, mount_factory, moved):
    # Another client moves the file (or the directory above it, which
    # breaks no lease) and makes a new one under the old name: our next
    # open must read the new file, not the one our kept handle has.
    a, b = _two_mounts(smbd, mount_factory, a_opts=["actimeo=0"])
    os.mkdir(os.path.join(b.mountpoint, "d"))
    with open(os.path.join(b.mountpoint, "d", "f.txt"), "w") as f:
        f.write("old file")
    pa = os.path.join(a.mountpoint, "d", "f.txt")
    assert _read(pa) == b"old file"  # kept under the lease
    if moved == "file":
        os.rename(os.path.join(b.mountpoint, "d", "f.txt"),
                  os.path.join(b.mountpoint, "d", "g.txt"))
    else:
        os.rename(os.path.join(b.mountpoint, "d"),
                  os.path.join(b.mountpoint, "d2"))
        os.mkdir(os.path.join(b.mountpoint, "d"))
    with open(os.path.join(b.mountpoint, "d", "f.txt"), "w") as f:
        f.write("new file")
    assert _read(pa) == b"new file"


def test_deferred_close_ends_after_closetimeo(smbd, share_dir, mount_factory):
    m = mount_factory(smbd, options=["closetimeo=1"])
    p = os.path.join(m.mountpoint, "timed.txt")
    with open(p, "w") as f:
        f.write("t")
    assert _read(p) == b"t"
    assert _lease_of(smbd, "timed.txt") == ["RWH"]
    assert poll(lambda: _locks(smbd, "timed.txt"), [], timeout=4) == []


def test_other_clients_write_after_a_deferred_close(smbd, share_dir,
                                                    mount_factory):
    a, b = _two_mounts(smbd, mount_factory)
    pa = os.path.join(a.mountpoint, "dc.txt")
    with open(os.path.join(b.mountpoint, "dc.txt"), "w") as f:
        f.write("version-1")
    assert _read(pa) == b"version-1"  # handle deferred, pages kept
    with open(os.path.join(b.mountpoint, "dc.txt"), "r+") as f:
        f.write("version-2")
    assert poll(lambda: _read(pa), b"version-2") == b"version-2"


def test_other_client_removes_a_file_we_keep(smbd, share_dir, mount_factory):
    # The server breaks H to let the other client's delete through: the
    # kept handle must go then, or the file would stay delete-pending and
    # its name taken until our timer.
    a, b = _two_mounts(smbd, mount_factory)
    pb = os.path.join(b.mountpoint, "del.txt")
    with open(pb, "w") as f:
        f.write("one")
    assert _read(os.path.join(a.mountpoint, "del.txt")) == b"one"  # kept
    assert _lease_of(smbd, "del.txt") == ["RWH"]
    t0 = time.time()
    os.unlink(pb)
    with open(pb, "w") as f:  # the name is free again at once
        f.write("two")
    assert time.time() - t0 < 3
    assert _read(os.path.join(share_dir, "del.txt")) == b"two"


def test_remove_and_rename_right_after_reading(smbd, share_dir,
                                               mount_factory):
    # Our own deferred handles must not keep a removed file delete-pending
    # or stop a directory with a file just read from being renamed.
    m = mount_factory(smbd)
    mp = m.mountpoint
    os.mkdir(os.path.join(mp, "d"))
    for name in ("d/x.txt", "gone.txt", "dst.txt", "src.txt"):
        with open(os.path.join(mp, name), "w") as f:
            f.write(name)
        assert _read(os.path.join(mp, name)) == name.encode()
    os.unlink(os.path.join(mp, "gone.txt"))
    assert not os.path.exists(os.path.join(share_dir, "gone.txt"))
    with open(os.path.join(mp, "gone.txt"), "w") as f:  # the name is free
        f.write("new")
    os.rename(os.path.join(mp, "src.txt"), os.path.join(mp, "dst.txt"))
    assert _read(os.path.join(share_dir, "dst.txt")) == b"src.txt"
    os.rename(os.path.join(mp, "d"), os.path.join(mp, "d2"))
    assert _read(os.path.join(share_dir, "d2", "x.txt")) == b"d/x.txt"
    os.unlink(os.path.join(mp, "d2", "x.txt"))
    os.rmdir(os.path.join(mp, "d2"))
    assert not os.path.exists(os.path.join(share_dir, "d2"))


@pytest.mark.slow
def test_deferred_handle_after_a_reconnect(smbd, share_dir, mount_factory):
    before = {s["pid"] for s in smbd.sessions()}
    m = mount_factory(smbd)
    p = os.path.join(m.mountpoint, "rc.txt")
    with open(p, "w") as f:
        f.write("kept")
    assert _read(p) == b"kept"  # deferred
    smbd.kill_session(before)
    assert _read(p) == b"kept"  # a new handle on the new connection
    assert poll(lambda: _lease_of(smbd, "rc.txt"), ["RWH"]) == ["RWH"]


def test_attributes_kept_under_the_lease_past_actimeo(smbd, share_dir,
                                                      mount_factory):
    a, b = _two_mounts(smbd, mount_factory, a_opts=["actimeo=1"])
    pa = os.path.join(a.mountpoint, "attrs.txt")
    with open(os.path.join(b.mountpoint, "attrs.txt"), "w") as f:
        f.write("12345")
    log = Log(a)
    fd = os.open(pa, os.O_RDONLY)
    try:
        assert os.fstat(fd).st_size == 5
        time.sleep(1.3)            # past actimeo, the lease still held
        log.mark()
        # (fstat: a stat by name would also look the mount's root up)
        assert os.fstat(fd).st_size == 5
        assert requests(log.since()) == [], "asked the server under a read lease"
        # another client's write breaks the lease and drops the entry
        with open(os.path.join(b.mountpoint, "attrs.txt"), "a") as f:
            f.write("678")
        assert poll(lambda: os.fstat(fd).st_size, 8) == 8
    finally:
        os.close(fd)


@pytest.mark.parametrize("change", ["grow", "shrink", "same-size"])
def test_open_sees_what_another_client_closed(smbd, share_dir, mount_factory,
                                              change):
    """Close-to-open: A looked the file up (the kernel keeps its size for
    actimeo, and A holds no handle, so no lease tells it of changes); B
    changes and closes it; A's next open() reads what B wrote, all of it,
    and A's stat after the open shows B's size (as NFS and cifs do: the
    CREATE reply's attributes replace the cached ones)."""
    a, b = _two_mounts(smbd, mount_factory, a_opts=["closetimeo=0"])
    _put(share_dir, "c2o.txt", b"0123456789")
    pa = os.path.join(a.mountpoint, "c2o.txt")
    assert os.stat(pa).st_size == 10
    new = {"grow": b"0123456789abcdefghij", "shrink": b"0123",
           "same-size": b"ABCDEFGHIJ"}[change]
    with open(os.path.join(b.mountpoint, "c2o.txt"), "r+b") as f:
        f.truncate(0)
        f.write(new)
    assert os.stat(pa).st_size == 10  # within actimeo=30: the cached size
    assert _read(pa) == new
    assert os.stat(pa).st_size == len(new)


def test_open_after_other_mounts_close_under_listers_and_held_files(smbd, mount_factory):
    """Close-to-open while the reading mount is busy with the files: two
    threads list and stat the directory and one holds every file open
    (read leases) while B rewrites one file after another and A opens and
    reads each right after B's close.  Every read must be B's version,
    whole.  Before: 6 % of them stopped at the size of B's truncation (0)
    that a listing had shown A's kernel, and with that fixed 2 % read an
    older version's pages that A's R lease kept (the server grants R to
    A's open before its smbd tells A of the break B's write made)."""
    a = mount_factory(smbd, options=[])
    b = mount_factory(smbd, options=[])
    names = ["f%d" % i for i in range(4)]
    os.makedirs(os.path.join(b.mountpoint, "d"))
    for n in names:
        with open(os.path.join(b.mountpoint, "d", n), "wb") as f:
            f.write(b"v0\n")
    rng = random.Random(5)
    stop = threading.Event()
    errors = []

    def lister():
        while not stop.is_set():
            try:
                for e in os.scandir(os.path.join(a.mountpoint, "d")):
                    e.stat()
            except OSError as e:
                errors.append(e)

    def holder():
        fds = [os.open(os.path.join(a.mountpoint, "d", n), os.O_RDONLY) for n in names]
        try:
            while not stop.is_set():
                for fd in fds:
                    os.pread(fd, 65536, 0)
                time.sleep(0.01)
        except OSError as e:
            errors.append(e)
        finally:
            for fd in fds:
                os.close(fd)

    threads = [threading.Thread(target=t) for t in (lister, lister, holder)]
    for t in threads:
        t.start()
    stale = []
    try:
        for i in range(1, 1001):
            n = rng.choice(names)
            v = b"v%d-%s\n" % (i, n.encode()) + os.urandom(rng.choice((10, 200, 3000, 70000)))
            p = os.path.join(b.mountpoint, "d", n)
            if rng.random() < 0.5:
                with open(p, "wb") as f:  # truncate, then write
                    f.write(v)
            else:
                fd = os.open(p, os.O_RDWR)
                try:
                    os.pwrite(fd, v, 0)
                    os.ftruncate(fd, len(v))
                finally:
                    os.close(fd)
            with open(os.path.join(a.mountpoint, "d", n), "rb") as f:
                got = f.read()
            if got != v:
                stale.append("round %d %s: read %d bytes (%r), B wrote %d (%r)"
                             % (i, n, len(got), got[:10], len(v), v[:10]))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[:3]
    assert not stale, "%d of 1000 reads were not B's version:\n%s" % (
        len(stale), "\n".join(stale[:10]))


@pytest.mark.parametrize("how", ["append", "wronly", "wronly-trunc"])
def test_read_after_own_write_through_an_uncached_descriptor(
        smbd, share_dir, mount_factory, how):
    """A reader's pages stay while a lease of ours holds (deferred close),
    and a descriptor that writes around the page cache (O_APPEND, O_WRONLY)
    must not leave them stale: the next read shows the write, as through a
    descriptor held open across it."""
    m = mount_factory(smbd)
    p = os.path.join(m.mountpoint, "own.txt")
    with open(p, "wb") as f:
        f.write(b"0123456789")
    held = open(p, "rb")
    assert held.read() == b"0123456789"
    assert _read(p) == b"0123456789"   # pages cached, handle deferred
    flags = {"append": os.O_WRONLY | os.O_APPEND, "wronly": os.O_WRONLY,
             "wronly-trunc": os.O_WRONLY | os.O_TRUNC}[how]
    fd = os.open(p, flags)
    os.write(fd, b"abcdef")
    os.close(fd)
    want = {"append": b"0123456789abcdef", "wronly": b"abcdef6789",
            "wronly-trunc": b"abcdef"}[how]
    assert _read(p) == want
    held.seek(0)
    assert held.read() == want
    held.close()

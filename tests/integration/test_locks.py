"""Byte-range locks between clients (src/client/locks.c, src/fs/ops_lock.c):
fcntl record locks and flock become SMB2 LOCK requests, so a lock taken
through one mount holds against a process on a second mount of the same
share; blocking locks wait for the other client's unlock (the server keeps
the LOCK pending) and a signal ends the wait with EINTR (CANCEL); closing
a descriptor ends its process's locks; with nobrl locks stay local.  Two
sqlite3 writers on two mounts keep their database exact."""

import errno
import fcntl
import os
import sqlite3
import struct
import subprocess
import sys
import time

import pytest

# A process that takes a lock and holds it until told (one command a line
# on stdin: "unlock", "close", "exit"); prints "locked" / "eintr" / "busy".
HOLDER = r"""
import fcntl, os, signal, sys, time
path, kind, how, start, length = sys.argv[1:6]
start, length = int(start), int(length)
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
def alarm(sig, frm):
    raise InterruptedError
signal.signal(signal.SIGALRM, alarm)
if how.startswith("alarm"):
    signal.setitimer(signal.ITIMER_REAL, float(how[5:]))
t0 = time.monotonic()
try:
    if kind == "flock":
        fcntl.flock(fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if how == "nb" else 0))
    else:
        op = fcntl.LOCK_EX if kind == "wr" else fcntl.LOCK_SH
        fcntl.lockf(fd, op | (fcntl.LOCK_NB if how == "nb" else 0), length, start)
    signal.setitimer(signal.ITIMER_REAL, 0)
    print("locked %.3f" % (time.monotonic() - t0), flush=True)
except InterruptedError:
    print("eintr %.3f" % (time.monotonic() - t0), flush=True)
except OSError as e:
    print("busy %d" % e.errno, flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "unlock":
        if kind == "flock":
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            fcntl.lockf(fd, fcntl.LOCK_UN, length, start)
    elif cmd == "close":
        os.close(fd)
    elif cmd == "exit":
        break
    print("ok", flush=True)
"""


class Holder:
    def __init__(self, path, kind="wr", how="wait", start=0, length=10):
        self.p = subprocess.Popen(
            [sys.executable, "-c", HOLDER, path, kind, how, str(start),
             str(length)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True)

    def result(self, timeout=30):
        """The first line: (word, number)."""
        line = _readline(self.p, timeout)
        word, num = line.split()
        return word, float(num)

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        assert _readline(self.p, 30) == "ok"

    def stop(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("exit\n")
                self.p.stdin.flush()
            except BrokenPipeError:
                pass
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def _readline(p, timeout):
    import select
    r, _, _ = select.select([p.stdout], [], [], timeout)
    assert r, "helper process gave no answer within %s s" % timeout
    line = p.stdout.readline().strip()
    assert line, "helper process ended"
    return line


@pytest.fixture
def two(smbd, share_dir, mount_factory):
    a = mount_factory(smbd)
    b = mount_factory(smbd)
    with open(os.path.join(share_dir, "f"), "wb") as f:
        f.write(b"x" * 100)
    os.chmod(os.path.join(share_dir, "f"), 0o666)
    return (os.path.join(a.mountpoint, "f"), os.path.join(b.mountpoint, "f"))


@pytest.fixture
def holders():
    hs = []

    def make(*a, **kw):
        h = Holder(*a, **kw)
        hs.append(h)
        return h

    yield make
    for h in hs:
        h.stop()


def _try_lock(path, kind="wr", start=0, length=10):
    """Non-blocking lock from this process through path: True if granted
    (then released and closed)."""
    fd = os.open(path, os.O_RDWR)
    try:
        if kind == "flock":
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            op = fcntl.LOCK_EX if kind == "wr" else fcntl.LOCK_SH
            fcntl.lockf(fd, op | fcntl.LOCK_NB, length, start)
        return True
    except OSError as e:
        assert e.errno in (errno.EAGAIN, errno.EACCES), e
        return False
    finally:
        os.close(fd)


@pytest.mark.parametrize("kind", ["wr", "flock"])
def test_lock_on_one_mount_holds_against_the_other(two, holders, kind):
    pa, pb = two
    h = holders(pa, kind)
    assert h.result()[0] == "locked"
    assert not _try_lock(pb, kind), "mount B took a lock mount A holds"
    # a blocking waiter on B waits until A unlocks
    w = holders(pb, kind)
    time.sleep(1.0)
    assert w.p.poll() is None
    h.cmd("unlock")
    word, waited = w.result()
    assert word == "locked"
    assert 0.7 <= waited < 15, waited
    # and now A cannot have it
    assert not _try_lock(pa, kind)
    w.cmd("unlock")
    assert _try_lock(pa, kind)


def test_read_locks_share_write_lock_waits(two, holders):
    pa, pb = two
    r1 = holders(pa, "rd")
    assert r1.result()[0] == "locked"
    assert _try_lock(pb, "rd")
    assert not _try_lock(pb, "wr")
    # ranges that do not overlap are independent
    assert _try_lock(pb, "wr", start=10, length=10)
    r1.cmd("unlock")
    assert _try_lock(pb, "wr")


def test_getlk_reports_the_other_mounts_lock(two, holders):
    pa, pb = two
    h = holders(pa, "wr", start=0, length=10)
    assert h.result()[0] == "locked"
    fd = os.open(pb, os.O_RDWR)
    try:
        def getlk(typ, start, length):
            arg = struct.pack("hhxxxxqqixxxx", typ, os.SEEK_SET, start, length, 0)
            return struct.unpack("hhxxxxqqixxxx", fcntl.fcntl(fd, fcntl.F_GETLK, arg))[0]
        assert getlk(fcntl.F_WRLCK, 0, 10) == fcntl.F_WRLCK
        assert getlk(fcntl.F_RDLCK, 5, 1) == fcntl.F_WRLCK
        assert getlk(fcntl.F_WRLCK, 20, 10) == fcntl.F_UNLCK
        # F_GETLK leaves nothing behind
        h.cmd("unlock")
        assert _try_lock(pa, "wr", start=20, length=10)
    finally:
        os.close(fd)


def test_interrupted_wait_is_eintr_and_takes_nothing(two, holders):
    pa, pb = two
    h = holders(pa, "wr")
    assert h.result()[0] == "locked"
    w = holders(pb, "wr", how="alarm1.5")
    word, waited = w.result()
    assert word == "eintr", word
    assert 1.4 <= waited < 10, waited
    # the waiter still holds its descriptor: had the cancelled LOCK been
    # granted on the server, nobody else could lock now
    h.cmd("unlock")
    time.sleep(0.5)
    assert _try_lock(pa, "wr"), "the interrupted lock was taken on the server"


def test_close_releases_the_locks(two, holders):
    pa, pb = two
    h = holders(pa, "wr")
    assert h.result()[0] == "locked"
    assert not _try_lock(pb)
    h.cmd("close")  # POSIX: any close of the file by the process
    assert _try_lock(pb)
    h2 = holders(pa, "flock")
    assert h2.result()[0] == "locked"
    assert not _try_lock(pb, "flock")
    h2.stop()  # the process ends: its flock goes with the descriptor
    assert _try_lock(pb, "flock")


def test_process_locks_span_descriptors(two, holders):
    """An owner's unlock through another descriptor of the file ends the
    lock it took through the first (sqlite does that)."""
    pa, pb = two
    fd1 = os.open(pa, os.O_RDWR)
    fd2 = os.open(pa, os.O_RDWR)
    try:
        fcntl.lockf(fd1, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        assert not _try_lock(pb)
        fcntl.lockf(fd2, fcntl.LOCK_UN, 10, 0)
        assert _try_lock(pb)
        # upgrade and downgrade of one range, and a split by a partial unlock
        fcntl.lockf(fd1, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 0)
        assert _try_lock(pb, "rd") and not _try_lock(pb, "wr")
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        assert not _try_lock(pb, "rd")
        fcntl.lockf(fd1, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 0)
        assert _try_lock(pb, "rd")
        fcntl.lockf(fd1, fcntl.LOCK_UN, 2, 4)  # [4,6) out of [0,10)
        assert _try_lock(pb, "wr", 4, 2)
        assert not _try_lock(pb, "wr", 0, 4) and not _try_lock(pb, "wr", 6, 4)
    finally:
        os.close(fd2)  # ends every lock of this process on the file
        os.close(fd1)
    assert _try_lock(pb, "wr", 0, 100)


def test_nobrl_keeps_locks_local(smbd, share_dir, mount_factory, holders):
    a = mount_factory(smbd, options=["nobrl"])
    b = mount_factory(smbd, options=["nobrl"])
    with open(os.path.join(share_dir, "f"), "wb") as f:
        f.write(b"x" * 100)
    os.chmod(os.path.join(share_dir, "f"), 0o666)
    pa, pb = os.path.join(a.mountpoint, "f"), os.path.join(b.mountpoint, "f")
    h = holders(pa, "wr")
    assert h.result()[0] == "locked"
    assert _try_lock(pb), "nobrl: B should not see A's lock"
    assert not _try_lock(pa), "nobrl: locks still hold on the same mount"


SQLITE_WORKER = r"""
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db, timeout=120, isolation_level=None)
done = 0
while done < n:
    try:
        con.execute("BEGIN IMMEDIATE")
        v = con.execute("SELECT v FROM t WHERE id = 1").fetchone()[0]
        con.execute("UPDATE t SET v = ? WHERE id = 1", (v + 1,))
        con.execute("COMMIT")
        done += 1
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            raise
        try:
            con.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass
        time.sleep(0.01)
print(done, flush=True)
"""


@pytest.mark.slow
def test_two_sqlite_writers_on_two_mounts(smbd, share_dir, mount_factory):
    opts = os.environ.get("SMB2FS_SQLITE_OPTS", "").split()
    a = mount_factory(smbd, options=opts)
    b = mount_factory(smbd, options=opts)
    db = os.path.join(share_dir, "count.db")
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
    con.execute("INSERT INTO t VALUES (1, 0)")
    con.commit()
    con.close()
    for p in os.listdir(share_dir):
        os.chmod(os.path.join(share_dir, p), 0o666)
    os.chmod(share_dir, 0o777)
    n = int(os.environ.get("SMB2FS_SQLITE_N", "1000"))
    t0 = time.monotonic()
    ps = [subprocess.Popen([sys.executable, "-c", SQLITE_WORKER,
                            os.path.join(m.mountpoint, "count.db"), str(n)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True) for m in (a, b)]
    outs = [p.communicate(timeout=900) for p in ps]
    took = time.monotonic() - t0
    for p, (out, err) in zip(ps, outs):
        assert p.returncode == 0, err
        assert out.strip() == str(n)
    con = sqlite3.connect(os.path.join(a.mountpoint, "count.db"))
    total = con.execute("SELECT v FROM t WHERE id = 1").fetchone()[0]
    check = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    print("2 x %d transactions in %.1f s" % (n, took))
    assert total == 2 * n
    assert check == "ok"


@pytest.mark.slow
def test_locks_come_back_after_a_reconnect(smbd, share_dir, mount_factory,
                                           holders):
    """A reconnect loses the server's locks with the connection: the
    reopened handle takes them again, and a blocking wait goes on."""
    with open(os.path.join(share_dir, "f"), "wb") as f:
        f.write(b"x" * 100)
    os.chmod(os.path.join(share_dir, "f"), 0o666)
    b = mount_factory(smbd)
    before = {s["pid"] for s in smbd.sessions()}
    a = mount_factory(smbd)
    pa, pb = os.path.join(a.mountpoint, "f"), os.path.join(b.mountpoint, "f")
    hb = holders(pb, "wr", start=20, length=10)
    assert hb.result()[0] == "locked"
    # one process on A: holds [0,10), then waits for [20,30) (B's)
    w = subprocess.Popen([sys.executable, "-c", SAME_OWNER, pa],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    try:
        assert _readline(w, 30) == "holding"
        time.sleep(1.0)
        smbd.kill_session(before)
        os.listdir(a.mountpoint)  # A reconnects
        time.sleep(0.5)
        assert not _try_lock(pb), "A's held lock was not taken again"
        assert w.poll() is None
        hb.cmd("unlock")
        assert _readline(w, 30) == "locked"
        assert not _try_lock(pb, start=20, length=10)
        assert not _try_lock(pb)
    finally:
        w.stdin.close()
        w.wait(30)
    assert _try_lock(pb, "wr", 0, 100)


SAME_OWNER = r"""
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
print("holding", flush=True)
fcntl.lockf(fd, fcntl.LOCK_EX, 10, 20)
print("locked", flush=True)
sys.stdin.read()
"""

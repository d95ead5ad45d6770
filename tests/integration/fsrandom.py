"""Seeded random-operation integrity tester (issue 9 part 12).

An in-memory model of a small tree (a few directories, up to MAX_FILES
files of up to MAX_SIZE bytes) and a seeded random sequence of operations
applied both to the model and to an smb2fs mount: open/create (O_CREAT,
O_TRUNC, O_APPEND), pwrite at random offsets (past EOF too: holes read as
zeros), pread checked against the model, ftruncate, fsync, close, rename of
files (open ones too) and of directories, unlink (open files too: the
descriptors keep working), mkdir/rmdir, listdir, stat, mmap (MAP_SHARED read
and write, msync), copy_file_range, and with a second mount of the same
share: reads through mount B of data that mount A has closed or fsynced
(close-to-open), and writes through B read back through A.

Only what docs/posix.md says holds is checked: no inode numbers, names are
plain lowercase ASCII, no hard links.  Pure standard library.

A failure raises IntegrityError with the seed, the operation index and the
last operations, so `SMB2FS_RANDOM_SEED=<seed> SMB2FS_RANDOM_OPS=<n>`
reproduces it.
"""

import collections
import errno
import mmap
import os
import random

MAX_FILES = 12
MAX_SIZE = 256 * 1024
MAX_FDS = 14
FILE_NAMES = ["f%d" % i for i in range(16)]
DIR_NAMES = ["d%d" % i for i in range(4)]
LOG_LEN = 30


class IntegrityError(AssertionError):
    pass


class MFile:
    """A file's data in the model; its identity survives renames and
    unlinks (descriptors point at it)."""
    _ids = 0

    def __init__(self):
        MFile._ids += 1
        self.id = MFile._ids
        self.data = bytearray()
        self.path = None        # None once unlinked (or renamed over)
        self.dirty = False      # written through A since last fsync/close

    def write(self, off, buf):
        end = off + len(buf)
        if end > len(self.data):
            self.data.extend(b"\0" * (end - len(self.data)))
        self.data[off:end] = buf

    def truncate(self, n):
        if n < len(self.data):
            del self.data[n:]
        else:
            self.data.extend(b"\0" * (n - len(self.data)))


class MFd:
    def __init__(self, fd, f, readable, writable, append):
        self.fd = fd
        self.f = f
        self.readable = readable
        self.writable = writable
        self.append = append

    def __repr__(self):
        return "fd%d(#%d%s%s%s)" % (self.fd, self.f.id,
                                    "r" if self.readable else "",
                                    "w" if self.writable else "",
                                    "a" if self.append else "")


class Tester:
    def __init__(self, root, seed, nops, root_b=None, share_dir=None,
                 log=None):
        self.root = root
        self.root_b = root_b
        self.share_dir = share_dir
        self.seed = seed
        self.nops = nops
        self.rng = random.Random(seed)
        self.dirs = {""}                  # model paths of directories
        self.files = {}                   # model path -> MFile
        self.fds = []
        self.recent = collections.deque(maxlen=LOG_LEN)
        self.i = 0
        self.counts = collections.Counter()
        self.out = log

    # ---------------------------------------------------------------- util
    def p(self, rel, b=False):
        return os.path.join(self.root_b if b else self.root, rel)

    def note(self, s):
        line = "%6d %s" % (self.i, s)
        self.recent.append(line)
        if self.out:
            self.out.write(line + "\n")

    def fail(self, what):
        raise IntegrityError(
            "integrity check failed: %s\n  seed=%d op=%d (of %d)\n"
            "  reproduce: SMB2FS_RANDOM_SEED=%d SMB2FS_RANDOM_OPS=%d\n"
            "  last operations:\n    %s" % (
                what, self.seed, self.i, self.nops, self.seed, self.i + 1,
                "\n    ".join(self.recent)))

    def check_data(self, what, got, want, off=0):
        if got != want:
            n = min(len(got), len(want))
            first = next((k for k in range(n) if got[k] != want[k]), n)
            self.fail("%s: %d bytes read, %d expected, first difference at "
                      "offset %d (got %r, want %r)" % (
                          what, len(got), len(want), off + first,
                          bytes(got[first:first + 8]),
                          bytes(want[first:first + 8])))

    def call(self, what, fn, *a):
        try:
            return fn(*a)
        except OSError as e:
            self.fail("%s: unexpected %s" % (what, e))

    def expect_err(self, what, errs, fn, *a):
        try:
            fn(*a)
        except OSError as e:
            if e.errno not in errs:
                self.fail("%s: errno %s, expected %s" % (
                    what, errno.errorcode.get(e.errno, e.errno),
                    [errno.errorcode[x] for x in errs]))
            return
        self.fail("%s: succeeded, expected %s" % (
            what, [errno.errorcode[x] for x in errs]))

    def pread_all(self, fd, n, off):
        out = bytearray()
        while len(out) < n:
            b = os.pread(fd, n - len(out), off + len(out))
            if not b:
                break
            out += b
        return bytes(out)

    def rand_data(self, n):
        # Mostly random bytes; sometimes a run of one value, sometimes
        # zeros (zeros written must not be confused with holes).
        k = self.rng.random()
        if k < 0.1:
            return b"\0" * n
        if k < 0.25:
            return bytes([self.rng.randrange(256)]) * n
        return self.rng.randbytes(n)

    def rand_len(self):
        k = self.rng.random()
        if k < 0.4:
            return self.rng.randint(1, 512)
        if k < 0.8:
            return self.rng.randint(1, 8192)
        return self.rng.randint(1, 65536)

    def rand_off(self, size):
        k = self.rng.random()
        if k < 0.15:
            return size                          # append position
        if k < 0.25:
            return min(MAX_SIZE - 1, size + self.rng.randint(1, 70000))
        if k < 0.35:
            return self.rng.randrange(0, MAX_SIZE // 4096) * 4096
        return self.rng.randint(0, max(0, size))

    def children(self, d):
        pre = d + "/" if d else ""
        out = set()
        for x in list(self.dirs) + list(self.files):
            if x and x.startswith(pre) and "/" not in x[len(pre):]:
                out.add(x[len(pre):])
        return out

    def fresh_path(self, names, depth_limit=2):
        d = self.rng.choice(sorted(self.dirs))
        if names is DIR_NAMES and d.count("/") + 1 >= depth_limit:
            d = ""
        name = self.rng.choice(names)
        return (d + "/" if d else "") + name

    def opened(self, f):
        return [x for x in self.fds if x.f is f]

    def pick_fd(self, pred=lambda x: True):
        c = [x for x in self.fds if pred(x)]
        return self.rng.choice(c) if c else None

    # ----------------------------------------------------------------- ops
    def op_open(self):
        if len(self.fds) >= MAX_FDS:
            return self.op_close()
        rel = self.fresh_path(FILE_NAMES)
        if rel in self.dirs:
            return
        f = self.files.get(rel)
        mode = self.rng.choice(["r", "w", "rw", "rw", "rw"])
        flags = {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}[mode]
        append = mode != "r" and self.rng.random() < 0.15
        trunc = mode != "r" and self.rng.random() < 0.1
        creat = self.rng.random() < 0.8
        if append:
            flags |= os.O_APPEND
        if trunc:
            flags |= os.O_TRUNC
        if creat:
            flags |= os.O_CREAT
        desc = "open %s %s%s%s%s" % (rel, mode, " APPEND" if append else "",
                                     " TRUNC" if trunc else "",
                                     " CREAT" if creat else "")
        if f is None and (not creat or
                          len(self.files) >= MAX_FILES):
            if creat:
                return
            self.note(desc + " (expect ENOENT)")
            self.expect_err(desc, (errno.ENOENT,), os.open, self.p(rel),
                            flags, 0o644)
            return
        self.note(desc)
        fd = self.call(desc, os.open, self.p(rel), flags, 0o644)
        if f is None:
            f = MFile()
            f.path = rel
            self.files[rel] = f
        if trunc and f.data:
            f.truncate(0)
            f.dirty = True
        self.fds.append(MFd(fd, f, mode != "w", mode != "r", append))

    def op_close(self):
        x = self.pick_fd()
        if not x:
            return
        self.note("close %r %s" % (x, x.f.path))
        self.fds.remove(x)
        self.call("close %r" % x, os.close, x.fd)
        x.f.dirty = False

    def op_write(self):
        x = self.pick_fd(lambda x: x.writable)
        if not x:
            return self.op_open()
        f = x.f
        n = self.rand_len()
        if x.append:
            off = len(f.data)
            if off + n > MAX_SIZE:
                return
            buf = self.rand_data(n)
            self.note("append %r %s +%d at %d" % (x, f.path, n, off))
            got = self.call("write %r" % x, os.write, x.fd, buf)
        else:
            off = self.rand_off(len(f.data))
            n = min(n, MAX_SIZE - off)
            if n <= 0:
                return
            buf = self.rand_data(n)
            self.note("pwrite %r %s %d@%d (size %d)" % (x, f.path, n, off,
                                                        len(f.data)))
            got = self.call("pwrite %r" % x, os.pwrite, x.fd, buf, off)
        if got != n:
            self.fail("write %r returned %d of %d" % (x, got, n))
        f.write(off, buf)
        f.dirty = True

    def op_read(self):
        x = self.pick_fd(lambda x: x.readable)
        if not x:
            return self.op_open()
        f = x.f
        size = len(f.data)
        k = self.rng.random()
        if k < 0.2:
            off, n = 0, size + 10
        else:
            off = self.rng.randint(0, size + 100)
            n = self.rand_len()
        self.note("pread %r %s %d@%d (size %d)" % (x, f.path, n, off, size))
        got = self.call("pread %r" % x, self.pread_all, x.fd, n, off)
        self.check_data("pread %r %s %d@%d" % (x, f.path, n, off), got,
                        bytes(f.data[off:off + n]), off)

    def op_truncate(self):
        x = self.pick_fd(lambda x: x.writable)
        if not x:
            return
        size = len(x.f.data)
        n = self.rng.choice([0, self.rng.randint(0, size),
                             self.rng.randint(0, MAX_SIZE),
                             min(MAX_SIZE, size + self.rng.randint(1, 5000))])
        self.note("ftruncate %r %s %d -> %d" % (x, x.f.path, size, n))
        self.call("ftruncate %r" % x, os.ftruncate, x.fd, n)
        x.f.truncate(n)
        x.f.dirty = True

    def op_fsync(self):
        x = self.pick_fd()
        if not x:
            return
        self.note("fsync %r %s" % (x, x.f.path))
        self.call("fsync %r" % x, os.fsync, x.fd)
        x.f.dirty = False

    def op_fstat(self):
        # fstat of an unlinked file fails with ESTALE once its directory is
        # gone too (docs/posix.md); only named files here.
        x = self.pick_fd(lambda x: x.f.path is not None)
        if not x:
            return
        self.note("fstat %r %s" % (x, x.f.path))
        st = self.call("fstat %r" % x, os.fstat, x.fd)
        if st.st_size != len(x.f.data):
            self.fail("fstat %r %s: size %d, model %d" % (
                x, x.f.path, st.st_size, len(x.f.data)))

    def op_stat(self):
        if self.rng.random() < 0.3 or not self.files:
            rel = self.fresh_path(FILE_NAMES)
        else:
            rel = self.rng.choice(sorted(self.files))
        self.note("stat %s" % rel)
        if rel in self.files:
            st = self.call("stat %s" % rel, os.stat, self.p(rel))
            if st.st_size != len(self.files[rel].data):
                self.fail("stat %s: size %d, model %d" % (
                    rel, st.st_size, len(self.files[rel].data)))
            if not (st.st_mode & 0o170000 == 0o100000):
                self.fail("stat %s: not a regular file (mode %o)" % (
                    rel, st.st_mode))
        elif rel in self.dirs:
            st = self.call("stat %s" % rel, os.stat, self.p(rel))
            if not (st.st_mode & 0o170000 == 0o040000):
                self.fail("stat %s: not a directory" % rel)
        else:
            self.expect_err("stat %s" % rel, (errno.ENOENT,), os.stat,
                            self.p(rel))

    def op_listdir(self):
        d = self.rng.choice(sorted(self.dirs))
        self.note("listdir /%s" % d)
        got = set(self.call("listdir /%s" % d, os.listdir, self.p(d)))
        want = self.children(d)
        if got != want:
            self.fail("listdir /%s: extra %s, missing %s" % (
                d, sorted(got - want), sorted(want - got)))

    def op_unlink(self):
        if not self.files:
            return
        rel = self.rng.choice(sorted(self.files))
        f = self.files[rel]
        self.note("unlink %s (#%d, %d open)" % (rel, f.id,
                                                len(self.opened(f))))
        self.call("unlink %s" % rel, os.unlink, self.p(rel))
        del self.files[rel]
        f.path = None

    def _move(self, src, dst):
        """Model side of a rename of src (file or dir) to dst."""
        if src in self.files:
            old = self.files.pop(dst, None)
            if old is not None:
                old.path = None
            f = self.files.pop(src)
            f.path = dst
            self.files[dst] = f
            return
        pre = src + "/"
        self.dirs = {dst + x[len(src):] if (x == src or x.startswith(pre))
                     else x for x in self.dirs}
        moved = {}
        for k in list(self.files):
            if k.startswith(pre):
                f = self.files.pop(k)
                f.path = dst + k[len(src):]
                moved[f.path] = f
        self.files.update(moved)

    def op_rename_file(self):
        if not self.files:
            return
        src = self.rng.choice(sorted(self.files))
        dst = self.fresh_path(FILE_NAMES)
        if dst in self.dirs or dst == src:
            return
        f = self.files[src]
        over = self.files.get(dst)
        self.note("rename %s -> %s (#%d, %d open%s)" % (
            src, dst, f.id, len(self.opened(f)),
            ", over #%d with %d open" % (over.id, len(self.opened(over)))
            if over else ""))
        self.call("rename %s %s" % (src, dst), os.rename, self.p(src),
                  self.p(dst))
        self._move(src, dst)

    def op_mkdir(self):
        rel = self.fresh_path(DIR_NAMES)
        if rel in self.files:
            return
        if rel in self.dirs:
            self.note("mkdir %s (expect EEXIST)" % rel)
            self.expect_err("mkdir %s" % rel, (errno.EEXIST,), os.mkdir,
                            self.p(rel))
            return
        self.note("mkdir %s" % rel)
        self.call("mkdir %s" % rel, os.mkdir, self.p(rel))
        self.dirs.add(rel)

    def op_rmdir(self):
        c = sorted(self.dirs - {""})
        if not c:
            return
        rel = self.rng.choice(c)
        if self.children(rel):
            self.note("rmdir %s (expect ENOTEMPTY)" % rel)
            self.expect_err("rmdir %s" % rel, (errno.ENOTEMPTY, errno.EEXIST),
                            os.rmdir, self.p(rel))
            return
        self.note("rmdir %s" % rel)
        self.call("rmdir %s" % rel, os.rmdir, self.p(rel))
        self.dirs.discard(rel)

    def op_rename_dir(self):
        c = sorted(self.dirs - {""})
        if not c:
            return
        src = self.rng.choice(c)
        dst = self.fresh_path(DIR_NAMES)
        if (dst in self.dirs or dst in self.files or
                dst.startswith(src + "/")):
            return
        # the tree stays at most two levels deep
        depth = max(x.count("/") for x in self.dirs
                    if x == src or x.startswith(src + "/")) - src.count("/")
        if dst.count("/") + depth > 1:
            return
        nopen = sum(1 for x in self.fds if x.f.path and
                    x.f.path.startswith(src + "/"))
        self.note("rename dir %s -> %s (%d open below)" % (src, dst, nopen))
        self.call("rename dir %s %s" % (src, dst), os.rename, self.p(src),
                  self.p(dst))
        self._move(src, dst)

    def op_mmap(self):
        # MAP_SHARED needs a page-cache descriptor: not O_APPEND
        # (docs/posix.md).  A fresh O_RDWR open, or an open O_RDWR one.
        x = self.pick_fd(lambda x: x.readable and x.writable and
                         not x.append and x.f.data)
        own = False
        if x is None or self.rng.random() < 0.5:
            c = [k for k, f in self.files.items() if f.data]
            if not c:
                return
            rel = self.rng.choice(sorted(c))
            self.note("open %s rw (for mmap)" % rel)
            fd = self.call("open %s" % rel, os.open, self.p(rel), os.O_RDWR)
            x = MFd(fd, self.files[rel], True, True, False)
            own = True
        f = x.f
        size = len(f.data)
        self.note("mmap %r %s size %d" % (x, f.path, size))
        m = self.call("mmap %r" % x, mmap.mmap, x.fd, size, mmap.MAP_SHARED,
                      mmap.PROT_READ | mmap.PROT_WRITE)
        try:
            self.check_data("mmap read %r %s" % (x, f.path), m[:],
                            bytes(f.data))
            for _ in range(self.rng.randint(1, 3)):
                off = self.rng.randrange(size)
                n = min(self.rand_len(), size - off)
                buf = self.rand_data(n)
                self.note("mmap write %d@%d" % (n, off))
                m[off:off + n] = buf
                f.write(off, buf)
                f.dirty = True
            self.note("msync")
            self.call("msync %r" % x, m.flush)
            f.dirty = False
        finally:
            m.close()
        if own:
            self.call("close %r" % x, os.close, x.fd)

    def op_copy_range(self):
        src = self.pick_fd(lambda x: x.readable and x.f.data)
        dst = self.pick_fd(lambda x: x.writable and not x.append)
        if not src or not dst or src.f is dst.f:
            return
        size = len(src.f.data)
        soff = self.rng.randint(0, size - 1)
        n = min(self.rng.choice([self.rand_len(), size]), size - soff)
        doff = self.rand_off(len(dst.f.data))
        n = min(n, MAX_SIZE - doff)
        if n <= 0:
            return
        self.note("copy_file_range %r %s %d@%d -> %r %s @%d" % (
            src, src.f.path, n, soff, dst, dst.f.path, doff))
        done = 0
        while done < n:
            k = self.call("copy_file_range", os.copy_file_range, src.fd,
                          dst.fd, n - done, soff + done, doff + done)
            if k == 0:
                break
            done += k
        if done != n:
            self.fail("copy_file_range copied %d of %d" % (done, n))
        dst.f.write(doff, bytes(src.f.data[soff:soff + n]))
        dst.f.dirty = True

    # Two mounts.  B is mounted with closetimeo=0, so it holds no handle
    # between operations (another client's open handle makes a rename of
    # its directory fail, and keeps an unlinked name: docs/posix.md).
    def op_b_read(self):
        c = [k for k, f in self.files.items() if not f.dirty]
        if not c:
            return
        rel = self.rng.choice(sorted(c))
        f = self.files[rel]
        self.note("B read %s (#%d, size %d, %d open on A)" % (
            rel, f.id, len(f.data), len(self.opened(f))))
        fd = self.call("B open %s" % rel, os.open, self.p(rel, True),
                       os.O_RDONLY)
        try:
            got = self.call("B read %s" % rel, self.pread_all, fd,
                            MAX_SIZE + 1, 0)
        finally:
            os.close(fd)
        self.check_data("B read %s after A's close/fsync" % rel, got,
                        bytes(f.data))

    def op_b_write(self):
        # A file no descriptor on A holds: B writes and closes, then A opens
        # it again and must see B's data.
        c = [k for k, f in self.files.items() if not self.opened(f)]
        if not c:
            return
        rel = self.rng.choice(sorted(c))
        f = self.files[rel]
        off = self.rand_off(len(f.data))
        n = min(self.rand_len(), MAX_SIZE - off)
        if n <= 0:
            return
        buf = self.rand_data(n)
        self.note("B pwrite %s %d@%d (size %d), close" % (rel, n, off,
                                                          len(f.data)))
        fd = self.call("B open %s" % rel, os.open, self.p(rel, True),
                       os.O_RDWR)
        try:
            got = self.call("B pwrite %s" % rel, os.pwrite, fd, buf, off)
        finally:
            self.call("B close %s" % rel, os.close, fd)
        if got != n:
            self.fail("B pwrite returned %d of %d" % (got, n))
        f.write(off, buf)
        self.note("A read %s after B's close" % rel)
        fd = self.call("A open %s" % rel, os.open, self.p(rel), os.O_RDONLY)
        try:
            data = self.call("A read %s" % rel, self.pread_all, fd,
                             MAX_SIZE + 1, 0)
        finally:
            os.close(fd)
        self.check_data("A read %s after B's write+close" % rel, data,
                        bytes(f.data))

    # ---------------------------------------------------------------- main
    def weights(self):
        w = [
            (self.op_open, 10), (self.op_close, 7), (self.op_write, 25),
            (self.op_read, 20), (self.op_truncate, 3), (self.op_fsync, 3),
            (self.op_fstat, 3), (self.op_stat, 4), (self.op_listdir, 3),
            (self.op_unlink, 3), (self.op_rename_file, 4),
            (self.op_rename_dir, 1), (self.op_mkdir, 1.5),
            (self.op_rmdir, 1), (self.op_mmap, 2), (self.op_copy_range, 2),
        ]
        if self.root_b:
            w += [(self.op_b_read, 6), (self.op_b_write, 2)]
        return w

    def run(self):
        ops, ws = zip(*self.weights())
        for self.i in range(self.nops):
            op = self.rng.choices(ops, ws)[0]
            self.counts[op.__name__[3:]] += 1
            op()
        self.i = self.nops
        self.finish()
        return self.counts

    def finish(self):
        for x in list(self.fds):
            self.note("close %r %s" % (x, x.f.path))
            self.call("close %r" % x, os.close, x.fd)
            self.fds.remove(x)
        # every file and directory through the mount
        for d in sorted(self.dirs):
            self.op_listdir_of(d)
        for rel, f in sorted(self.files.items()):
            self.note("final read %s" % rel)
            with open(self.p(rel), "rb") as fh:
                self.check_data("final read %s" % rel, fh.read(),
                                bytes(f.data))
        if not self.share_dir:
            return
        # and on the server's disk
        got_dirs, got_files = set(), set()
        for top, dirs, files in os.walk(self.share_dir):
            rel = os.path.relpath(top, self.share_dir)
            rel = "" if rel == "." else rel + "/"
            got_dirs.update(rel + d for d in dirs)
            got_files.update(rel + n for n in files
                             if not n.startswith(".smb2fs-deleted-"))
        if got_dirs != self.dirs - {""}:
            self.fail("server directories: extra %s, missing %s" % (
                sorted(got_dirs - self.dirs), sorted(self.dirs - got_dirs)))
        if got_files != set(self.files):
            self.fail("server files: extra %s, missing %s" % (
                sorted(got_files - set(self.files)),
                sorted(set(self.files) - got_files)))
        for rel, f in sorted(self.files.items()):
            with open(os.path.join(self.share_dir, rel), "rb") as fh:
                self.check_data("server disk %s" % rel, fh.read(),
                                bytes(f.data))

    def op_listdir_of(self, d):
        self.note("final listdir /%s" % d)
        got = set(self.call("listdir /%s" % d, os.listdir, self.p(d)))
        want = self.children(d)
        if got != want:
            self.fail("listdir /%s: extra %s, missing %s" % (
                d, sorted(got - want), sorted(want - got)))

"""Real programs on an smb2fs mount (issue 9 part 12): what people run on a
network share works as on a local disk, checked by outcome, against a real
Samba, default mount options.

  make   builds a C program (three .c files, a header) on the mount, runs
         the built binary from the mount (its exec bit is there), and after
         touching one source rebuilds only the objects that depend on it
         (mtimes order as on a local disk);
  git    init, commit ~50 files in nested dirs, modify / git mv / git rm,
         commit again, gc; fsck --full clean, status empty; clone from the
         mount to a local directory and from a local repository onto the
         mount, the checked-out trees equal;
  tar    a local tree (a few hundred files, 3 MiB random ones, symlinks,
         empty dirs, varied modes and mtimes) extracted onto the mount and
         archived back: contents, rwx bits, mtimes (to the second) and
         symlink targets as they were;
  rsync  -a onto the mount, then a --checksum --itemize-changes --dry-run
         re-run finds nothing to do, also after changing a few files; and
         back from the mount;
  cp -a  onto the mount, within the mount (copy_file_range: a server-side
         copy) and back.

Where useful the files' contents are also compared with the server's disk
(share_dir).  The two-mount sqlite3 test is in test_locks.py
(test_two_sqlite_writers_on_two_mounts).

Owners: as root, tar, rsync -a and cp -a try to give files root's uid;
Samba refuses the chown for alice and smb2fs ignores that without an error
(docs/posix.md, "Modes and owners"), so the files on the mount belong to
the mount's user.  The rsync test gives its local tree that owner first,
so that rsync -a (which compares owners as root) has nothing left to do.

Trees get mtimes in whole 100 ns units: SMB keeps times in those (finer
ones are cut, as on NTFS), and rsync -a compares nanoseconds.

test_read_only_files: removing files without write bits and setting their
times (rm, git's object store, tar's symlink placeholders, touch, rsync).
"""

import os
import random
import shutil
import stat

import pytest

from smbenv import run_checked, sha256_file, skip_or_fail

FILE_MODES = [0o644, 0o600, 0o755, 0o700, 0o640, 0o444, 0o750, 0o664, 0o555]
DIR_MODES = [0o755, 0o700, 0o750, 0o775]
# a fixed base for the trees' mtimes (2023-11-14), in the past as tar
# expects; each entry gets its own offset
MTIME_BASE = 1700000000


@pytest.fixture(autouse=True)
def _programs():
    missing = [t for t in ("make", "gcc", "git", "tar", "rsync", "cp")
               if shutil.which(t) is None]
    if missing:
        skip_or_fail("%s missing (tests/install-deps.sh)" % ", ".join(missing))


def snapshot(root, modes=True, mtimes=True, dir_mtimes=True, skip=()):
    """{relative path: description} of everything below root (root itself
    left out): a directory's rwx bits and mtime, a file's rwx bits, mtime
    (whole seconds) and SHA-256, a symlink's target."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in dirnames + sorted(filenames):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            mode = stat.S_IMODE(st.st_mode) if modes else None
            mtime = int(st.st_mtime) if mtimes else None
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode, mtime if dir_mtimes else None)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", mode, mtime, st.st_size, sha256_file(p))
            else:
                out[rel] = ("other", st.st_mode)
        # symlinks to directories are listed in dirnames: os.walk does not
        # follow them (followlinks=False), lstat above describes them
    return out


def assert_same(want, got, what):
    if want == got:
        return
    lines = []
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            lines.append("  %s:\n    want %r\n    got  %r"
                         % (k, want.get(k), got.get(k)))
    pytest.fail("%s: %d entries differ:\n%s" % (
        what, len(lines), "\n".join(lines[:25])), pytrace=False)


def server_contents(share_dir, sub, snap):
    """The SHA-256 of each regular file of snap as the server's disk has it
    (symlinks are mfsymlink files there, directories have no contents)."""
    return {rel: sha256_file(os.path.join(share_dir, sub, rel))
            for rel, d in snap.items() if d[0] == "file"}


def file_hashes(snap):
    return {rel: d[4] for rel, d in snap.items() if d[0] == "file"}


def make_tree(root, seed, nfiles, nbig=2, big=3 << 20, unsafe_links=True):
    """A tree of nfiles regular files in nested directories (some big and
    random, some empty, some with a space in the name), symlinks (relative,
    to a directory, dangling; with unsafe_links also one with "..", one
    absolute), empty directories, varied modes and mtimes; returns the
    number of entries.  Mtimes are whole multiples of 100 ns: SMB keeps
    times in 100 ns units (as NTFS), finer ones are cut."""
    r = random.Random(seed)
    os.makedirs(root)
    dirs = [""]
    for i in range(max(3, nfiles // 12)):
        parent = r.choice(dirs)
        d = os.path.join(parent, "d%02d" % i)
        os.mkdir(os.path.join(root, d))
        dirs.append(d)
    files = []
    for i in range(nfiles):
        d = r.choice(dirs)
        name = "f%03d%s" % (i, r.choice([".c", ".txt", ".dat", "", " x.md"]))
        rel = os.path.join(d, name)
        if i < nbig:
            data = r.randbytes(big + r.randrange(4096))
        elif i % 17 == 0:
            data = b""
        else:
            data = r.randbytes(r.randrange(1, 40000)) if i % 3 == 0 else \
                ("line %d of %s\n" % (i, rel) * r.randrange(1, 200)).encode()
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
        files.append(rel)
    links = [("l_rel", files[5]),
             ("l_dir", dirs[2]),
             ("l_dangling", "no/such/target")]
    if unsafe_links:
        # dirs[1] is d00, at the top
        links += [(os.path.join(dirs[1], "l_up"),
                   os.path.join("..", files[0])),
                  ("l_abs", "/etc/hostname")]
    for name, target in links:
        os.symlink(target, os.path.join(root, name))
    empties = []
    for i in range(4):
        e = os.path.join(r.choice(dirs), "empty%d" % i)
        os.mkdir(os.path.join(root, e))
        empties.append(e)
    # modes and mtimes: files first, then directories deepest first (a
    # directory's mtime changes when its entries do)
    for i, rel in enumerate(files):
        p = os.path.join(root, rel)
        os.chmod(p, FILE_MODES[i % len(FILE_MODES)])
        t = MTIME_BASE + r.randrange(0, 10**7)
        os.utime(p, ns=(t * 10**9 + r.randrange(10**7) * 100,
                        t * 10**9 + r.randrange(10**7) * 100))
    for i, d in enumerate(sorted(dirs[1:] + empties, key=len, reverse=True)):
        p = os.path.join(root, d)
        os.chmod(p, DIR_MODES[i % len(DIR_MODES)])
        t = MTIME_BASE + r.randrange(0, 10**7)
        os.utime(p, (t, t))
    return len(files) + len(links) + len(dirs) - 1 + len(empties)


# ---------------------------------------------------------------------------
# make


MAKEFILE = """\
CC = gcc
CFLAGS = -O0 -Wall
OBJS = main.o calc.o util.o

hello: $(OBJS)
\t$(CC) -o $@ $(OBJS)

main.o: main.c util.h
\t$(CC) $(CFLAGS) -c -o $@ main.c
calc.o: calc.c
\t$(CC) $(CFLAGS) -c -o $@ calc.c
util.o: util.c util.h
\t$(CC) $(CFLAGS) -c -o $@ util.c

clean:
\trm -f hello $(OBJS)
"""

SOURCES = {
    "util.h": "#define GREETING \"hello from the mount\"\n"
              "int twice(int);\nint calc(int);\n",
    "main.c": "#include <stdio.h>\n#include \"util.h\"\n"
              "int main(int argc, char **argv)\n{\n"
              "    printf(\"%s: %d %d\\n\", GREETING, twice(argc + 20),"
              " calc(7));\n    return 0;\n}\n",
    "util.c": "#include \"util.h\"\nint twice(int x) { return 2 * x; }\n",
    "calc.c": "int calc(int x) { return x * x + 1; }\n",
}


def compiled(out):
    """The objects a make run compiled, and whether it linked."""
    objs = sorted(ln.split(" -o ")[1].split()[0] for ln in out.splitlines()
                  if " -c -o " in ln)
    linked = any(ln.startswith("gcc -o hello ") for ln in out.splitlines())
    return objs, linked


def test_make_builds_and_runs_a_program_and_rebuilds_by_mtime(mnt,
                                                              share_dir):
    src = os.path.join(mnt, "proj")
    os.mkdir(src)
    for name, text in SOURCES.items():
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    with open(os.path.join(src, "Makefile"), "w") as f:
        f.write(MAKEFILE)

    out = run_checked(["make"], cwd=src).stdout
    assert compiled(out) == (["calc.o", "main.o", "util.o"], True), out
    hello = os.path.join(src, "hello")
    st = os.stat(hello)
    assert st.st_mode & 0o111 == 0o111, oct(st.st_mode)
    assert os.access(hello, os.X_OK)
    # the binary on the server's disk is the one we run
    assert sha256_file(hello) == sha256_file(os.path.join(share_dir, "proj", "hello"))
    p = run_checked([hello, "a", "b"], cwd=src)
    assert p.stdout == "hello from the mount: 46 50\n"
    # built files are not newer than what was built from them: nothing to do
    assert run_checked(["make", "-q"], cwd=src, check=False).returncode == 0, \
        run_checked(["make", "-d", "-n"], cwd=src, check=False).stdout[-3000:]
    out = run_checked(["make"], cwd=src).stdout
    assert compiled(out) == ([], False), out

    # touch one source: only its object and the link
    run_checked(["touch", os.path.join(src, "calc.c")])
    assert run_checked(["make", "-q"], cwd=src, check=False).returncode == 1
    out = run_checked(["make"], cwd=src).stdout
    assert compiled(out) == (["calc.o"], True), out
    assert run_checked(["make", "-q"], cwd=src, check=False).returncode == 0

    # change the header (rewrite in place): the two objects that include it
    with open(os.path.join(src, "util.h"), "r+") as f:
        text = f.read().replace("hello from the mount", "rebuilt on the mount")
        f.seek(0)
        f.write(text)
        f.truncate()
    out = run_checked(["make"], cwd=src).stdout
    assert compiled(out) == (["main.o", "util.o"], True), out
    assert run_checked([hello], cwd=src).stdout == "rebuilt on the mount: 42 50\n"

    # an editor that saves by writing a new file and renaming it over
    tmp = os.path.join(src, ".util.c.swp")
    with open(tmp, "w") as f:
        f.write("#include \"util.h\"\nint twice(int x) { return 3 * x; }\n")
    os.rename(tmp, os.path.join(src, "util.c"))
    out = run_checked(["make"], cwd=src).stdout
    assert compiled(out) == (["util.o"], True), out
    assert run_checked([hello], cwd=src).stdout == "rebuilt on the mount: 63 50\n"
    assert sha256_file(hello) == sha256_file(os.path.join(share_dir, "proj", "hello"))

    run_checked(["make", "clean"], cwd=src)
    assert sorted(os.listdir(src)) == sorted(list(SOURCES) + ["Makefile"])
    assert sorted(os.listdir(os.path.join(share_dir, "proj"))) == \
        sorted(list(SOURCES) + ["Makefile"])


# ---------------------------------------------------------------------------
# git


def git_env(tmp_path):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("GIT_"):
            del env[k]
    env.update({
        "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.org",
        "GIT_COMMITTER_NAME": "Test Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.org",
        "GIT_AUTHOR_DATE": "2024-01-02T03:04:05Z",
        "GIT_COMMITTER_DATE": "2024-01-02T03:04:05Z",
        # the files may show another owner than the caller (root)
        "GIT_CONFIG_COUNT": "3",
        "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*",
        "GIT_CONFIG_KEY_1": "init.defaultBranch", "GIT_CONFIG_VALUE_1": "main",
        "GIT_CONFIG_KEY_2": "gc.auto", "GIT_CONFIG_VALUE_2": "0",
    })
    return env


def worktree(root):
    """A checked-out tree without .git: contents, the exec bit (what git
    records) and symlink targets."""
    out = {}
    for rel, d in snapshot(root, skip={".git"}, mtimes=False).items():
        if d[0] == "file":
            out[rel] = ("file", bool(d[1] & 0o100), d[4])
        elif d[0] == "dir":
            out[rel] = ("dir",)
        else:
            out[rel] = d
    return out


def write(path, text, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


@pytest.mark.slow
def test_git_commit_fsck_and_clone_both_ways(mnt, share_dir, tmp_path):
    env = git_env(tmp_path)
    repo = os.path.join(mnt, "repo")
    os.mkdir(repo)

    def git(*args, cwd=repo, **kw):
        return run_checked(["git"] + list(args), cwd=cwd, env=env, **kw).stdout

    git("init", "-q")
    # git probes the file system at init: modes and symlinks work here
    assert git("config", "core.filemode").strip() == "true"
    assert git("config", "core.symlinks", check=False).strip() in ("", "true")
    for i in range(50):
        d = os.path.join("src", "mod%d" % (i % 5), "sub%d" % (i % 3))
        write(os.path.join(repo, d, "file%02d.txt" % i),
              "".join("file %d line %d\n" % (i, j) for j in range(i * 7)))
    write(os.path.join(repo, "run.sh"), "#!/bin/sh\necho ran\n", 0o755)
    os.symlink("src/mod1/sub1/file01.txt", os.path.join(repo, "link"))
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    assert "100755 " in git("ls-files", "-s", "run.sh")
    assert git("ls-files", "-s", "link").startswith("120000 ")

    # modify, rename (a file, a directory), delete, add; commit
    for i in (3, 14, 25):
        p = os.path.join(repo, "src", "mod%d" % (i % 5), "sub%d" % (i % 3),
                         "file%02d.txt" % i)
        with open(p, "a") as f:
            f.write("changed %d\n" % i)
    git("mv", "src/mod0/sub0/file00.txt", "src/moved.txt")
    git("mv", "src/mod2", "src/renamed")
    os.makedirs(os.path.join(repo, "src", "new", "dir"))
    git("mv", "src/mod1/sub1/file16.txt", "src/new/dir/file16.txt")
    git("rm", "-q", "src/mod4/sub1/file04.txt", "src/mod3/sub0/file33.txt")
    os.unlink(os.path.join(repo, "src/mod4/sub2/file29.txt"))
    write(os.path.join(repo, "added", "a.txt"), "new\n")
    git("add", "-A")
    git("commit", "-q", "-m", "second")
    git("gc", "-q")
    assert git("rev-list", "--count", "HEAD").strip() == "2"
    p = run_checked(["git", "fsck", "--full", "--strict"], cwd=repo, env=env)
    assert p.stdout == "" and "error" not in p.stderr.lower(), p.stderr
    assert git("status", "--porcelain", "--untracked-files=all") == ""
    assert run_checked([os.path.join(repo, "run.sh")]).stdout == "ran\n"
    tracked = len(git("ls-files").splitlines())
    assert tracked == 52 - 3 + 1

    # clone from the mount to a local directory
    local = str(tmp_path / "clone_local")
    git("clone", "-q", repo, local, cwd=str(tmp_path))
    want = worktree(repo)
    assert len([d for d in want.values() if d[0] == "file"]) == tracked - 1
    assert_same(want, worktree(local), "clone from the mount")
    run_checked(["git", "fsck", "--full"], cwd=local, env=env)
    # the server's disk has the same contents
    snap = snapshot(repo, skip={".git"})
    assert server_contents(share_dir, "repo", snap) == file_hashes(snap)

    # clone a local repository onto the mount; commit there
    origin = str(tmp_path / "origin")
    os.mkdir(origin)
    git("init", "-q", cwd=origin)
    for i in range(30):
        write(os.path.join(origin, "lib", "p%d" % (i % 4), "m%02d.py" % i),
              "x = %d\n" % i * (i + 1))
    write(os.path.join(origin, "tool"), "#!/bin/sh\necho tool\n", 0o755)
    git("add", "-A", cwd=origin)
    git("commit", "-q", "-m", "origin", cwd=origin)
    onmnt = os.path.join(mnt, "cloned")
    git("clone", "-q", origin, onmnt, cwd=mnt)
    assert_same(worktree(origin), worktree(onmnt), "clone onto the mount")
    assert git("status", "--porcelain", cwd=onmnt) == ""
    run_checked(["git", "fsck", "--full", "--strict"], cwd=onmnt, env=env)
    write(os.path.join(onmnt, "lib", "p0", "m00.py"), "x = 'changed'\n")
    git("commit", "-q", "-a", "-m", "on the mount", cwd=onmnt)
    git("pull", "-q", onmnt, "main", cwd=origin)
    assert_same(worktree(onmnt), worktree(origin), "pull from the mount")
    assert git("rev-parse", "HEAD", cwd=origin) == \
        git("rev-parse", "HEAD", cwd=onmnt)


# ---------------------------------------------------------------------------
# tar


@pytest.mark.slow
def test_tar_extract_onto_the_mount_and_archive_back(mnt, share_dir,
                                                     tmp_path):
    src = str(tmp_path / "src")
    # with symlinks whose target is absolute or has "..": tar x puts them
    # in place only at the end, over a mode-0 placeholder file it unlinks
    n = make_tree(src, seed=12, nfiles=300, nbig=3)
    want = snapshot(src)
    assert len(want) == n
    run_checked(["tar", "-C", src, "-cf", str(tmp_path / "a.tar"), "."])

    dst = os.path.join(mnt, "t")
    os.mkdir(dst)
    run_checked(["tar", "-C", dst, "-xf", str(tmp_path / "a.tar")])
    assert_same(want, snapshot(dst), "tar x onto the mount")
    assert server_contents(share_dir, "t", want) == file_hashes(want)

    run_checked(["tar", "-C", dst, "-cf", str(tmp_path / "b.tar"), "."])
    back = str(tmp_path / "back")
    os.mkdir(back)
    run_checked(["tar", "-C", back, "-xf", str(tmp_path / "b.tar")])
    assert_same(want, snapshot(back), "tar c from the mount")
    # the two archives list the same entries with the same modes and times
    lst = [run_checked(["tar", "--numeric-owner", "--full-time", "-tvf",
                str(tmp_path / t)]).stdout.splitlines() for t in
           ("a.tar", "b.tar")]
    strip = [sorted(ln.split(None, 2)[0] + " " + ln.split(None, 3)[3]
                    for ln in x) for x in lst]
    assert strip[0] == strip[1]


# ---------------------------------------------------------------------------
# rsync


def mount_owner(mnt):
    p = os.path.join(mnt, ".owner-probe")
    with open(p, "w"):
        pass
    st = os.stat(p)
    os.unlink(p)
    return st.st_uid, st.st_gid


def chown_tree(root, uid, gid):
    os.lchown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def rsync_changes(src, dst, *extra):
    """What rsync -a --checksum would still do (a dry run)."""
    p = run_checked(["rsync", "-a", "--checksum", "--itemize-changes", "--dry-run"]
            + list(extra) + [src + "/", dst + "/"])
    return p.stdout.splitlines()


@pytest.mark.slow
def test_rsync_archive_and_checksum_rerun(mnt, share_dir, tmp_path):
    src = str(tmp_path / "src")
    make_tree(src, seed=34, nfiles=150, nbig=2)
    uid, gid = mount_owner(mnt)
    chown_tree(src, uid, gid)
    dst = os.path.join(mnt, "r")

    run_checked(["rsync", "-a", src + "/", dst + "/"])
    assert_same(snapshot(src), snapshot(dst), "rsync -a onto the mount")
    assert rsync_changes(src, dst) == []
    # and without --checksum: sizes and mtimes alone say "up to date"
    p = run_checked(["rsync", "-a", "--itemize-changes", "--dry-run",
             src + "/", dst + "/"])
    assert p.stdout == ""

    # change a few files: contents (same size, same mtime: only --checksum
    # sees it), an append, a mode, a new file, a deletion
    snap = snapshot(src)
    files = sorted(k for k, d in snap.items() if d[0] == "file" and d[3] > 10)
    same_size = os.path.join(src, files[0])
    st = os.stat(same_size)
    with open(same_size, "r+b") as f:
        b = f.read(1)
        f.seek(0)
        f.write(bytes([b[0] ^ 0xff]))
    os.utime(same_size, ns=(st.st_atime_ns, st.st_mtime_ns))
    with open(os.path.join(src, files[1]), "ab") as f:
        f.write(b"appended\n")
    os.chmod(os.path.join(src, files[2]), 0o711)
    os.unlink(os.path.join(src, files[3]))
    new = os.path.join(src, os.path.dirname(files[4]), "brand new")
    with open(new, "w") as f:
        f.write("new file\n")
    os.lchown(new, uid, gid)
    changed = sorted(rsync_changes(src, dst, "--delete"))
    names = sorted(ln.split(None, 1)[1] for ln in changed)
    assert names == sorted([files[0], files[1], files[2], files[3],
                            os.path.relpath(new, src),
                            os.path.dirname(files[4]) + "/"]), changed
    run_checked(["rsync", "-a", "--checksum", "--delete", src + "/", dst + "/"])
    assert rsync_changes(src, dst, "--delete") == []
    want = snapshot(src)
    assert_same(want, snapshot(dst), "rsync -a re-run onto the mount")
    assert server_contents(share_dir, "r", want) == file_hashes(want)

    # back from the mount
    back = str(tmp_path / "back")
    run_checked(["rsync", "-a", dst + "/", back + "/"])
    assert rsync_changes(dst, back) == []
    assert_same(want, snapshot(back), "rsync -a from the mount")


# ---------------------------------------------------------------------------
# cp -a


@pytest.mark.slow
def test_cp_archive_onto_within_and_off_the_mount(mnt, share_dir, tmp_path):
    src = str(tmp_path / "src")
    make_tree(src, seed=56, nfiles=120, nbig=2)
    want = snapshot(src)
    onto = os.path.join(mnt, "c")
    run_checked(["cp", "-a", src, onto])
    assert_same(want, snapshot(onto), "cp -a onto the mount")
    assert server_contents(share_dir, "c", want) == file_hashes(want)
    # within the mount (coreutils 9: copy_file_range, a server-side copy)
    within = os.path.join(mnt, "c2")
    run_checked(["cp", "-a", onto, within])
    assert_same(want, snapshot(within), "cp -a within the mount")
    assert server_contents(share_dir, "c2", want) == file_hashes(want)
    back = str(tmp_path / "back")
    run_checked(["cp", "-a", within, back])
    assert_same(want, snapshot(back), "cp -a from the mount")


# ---------------------------------------------------------------------------
# files without write permission


# Found by this module, fixed in src/client/pathops.c:
#  - unlink() of a file whose mode has no write bit: chmod a-w sets
#    FILE_ATTRIBUTE_READONLY, and Samba answers the FileDispositionInformation
#    SET_INFO with STATUS_CANNOT_DELETE (POSIX needs write permission on the
#    directory only): the attribute is cleared and the delete retried;
#  - utimensat() with explicit times on such a file: the CREATE with
#    FILE_WRITE_ATTRIBUTES is STATUS_ACCESS_DENIED (POSIX lets the owner set
#    times whatever the mode): u+w for the moment, then the mode back.
@pytest.mark.parametrize("case", ["rm", "git_gc", "tar_unsafe_symlink",
                                  "touch", "rsync_times"])
def test_read_only_files(case, mnt, share_dir, tmp_path):
    """What programs do with files that have no write bit, as on a local
    disk: remove them (rm, git's object store, tar's symlink placeholders)
    and set their times (touch, rsync)."""
    if case == "rm":
        p = os.path.join(mnt, "ro")
        with open(p, "w") as f:
            f.write("x")
        os.chmod(p, 0o444)
        run_checked(["rm", "-f", p])
        assert not os.path.exists(p)
        assert not os.path.exists(os.path.join(share_dir, "ro"))
    elif case == "git_gc":
        env = git_env(tmp_path)
        repo = os.path.join(mnt, "repo")
        os.mkdir(repo)
        run_checked(["git", "init", "-q"], cwd=repo, env=env)
        for i in range(5):
            write(os.path.join(repo, "f%d" % i), "file %d\n" % i)
        errs = ""
        for cmd in (["add", "-A"], ["commit", "-q", "-m", "x"], ["gc", "-q"]):
            errs += run_checked(["git"] + cmd, cwd=repo, env=env).stderr
        assert "unable to unlink" not in errs, errs
        counts = dict(ln.split(": ") for ln in run_checked(
            ["git", "count-objects", "-v"], cwd=repo, env=env)
            .stdout.splitlines())
        assert counts["count"] == "0" and counts["garbage"] == "0", counts
        run_checked(["rm", "-rf", repo])
        assert os.listdir(share_dir) == []
    elif case == "tar_unsafe_symlink":
        src = str(tmp_path / "src")
        os.makedirs(os.path.join(src, "d"))
        with open(os.path.join(src, "file"), "w") as f:
            f.write("x")
        os.symlink("../file", os.path.join(src, "d", "l_up"))
        os.symlink("/etc/hostname", os.path.join(src, "l_abs"))
        want = snapshot(src, dir_mtimes=False)
        run_checked(["tar", "-C", src, "-cf", str(tmp_path / "a.tar"), "."])
        dst = os.path.join(mnt, "t")
        os.mkdir(dst)
        run_checked(["tar", "-C", dst, "-xf", str(tmp_path / "a.tar")])
        assert_same(want, snapshot(dst, dir_mtimes=False), "tar x")
    elif case == "touch":
        p = os.path.join(mnt, "ro")
        with open(p, "w") as f:
            f.write("x")
        os.chmod(p, 0o444)
        run_checked(["touch", "-d", "@1000000000", p])
        assert os.stat(p).st_mtime == 1000000000
        assert os.stat(os.path.join(share_dir, "ro")).st_mtime == 1000000000
    elif case == "rsync_times":
        src = str(tmp_path / "src")
        os.mkdir(src)
        p = os.path.join(src, "ro")
        with open(p, "w") as f:
            f.write("x")
        os.chmod(p, 0o444)
        uid, gid = mount_owner(mnt)
        chown_tree(src, uid, gid)
        dst = os.path.join(mnt, "r")
        run_checked(["rsync", "-a", src + "/", dst + "/"])
        # the same contents, another mtime: --checksum only sets the time
        os.utime(p, (1000000000, 1000000000))
        run_checked(["rsync", "-a", "--checksum", src + "/", dst + "/"])
        assert os.stat(os.path.join(dst, "ro")).st_mtime == 1000000000
        assert rsync_changes(src, dst) == []

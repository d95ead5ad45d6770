"""Complete listings in the daemon's cache (src/fs/attrcache.h, "dir
records"), against the real Samba: while a directory's listing is fresh, a
lookup of a name it does not hold is answered without a round trip, so
creating files sends no negative lookups (CREATE+CLOSE failing with
OBJECT_NAME_NOT_FOUND) once the directory was listed or made by this mount,
or once lookups of missing names in it kept reaching the server.

Counted from the -o debug log (see test_compound.py)."""

import errno
import os
import re
import time

import pytest

from smbenv import wait_for
from test_compound import Log, requests

LIST_AFTER_MISSES = 8   # ATTRCACHE_LIST_AFTER_MISSES (attrcache.h)
EXCL = os.O_CREAT | os.O_EXCL | os.O_WRONLY


def not_found(text):
    """Server lookups of a missing name: CREATE replies with that status."""
    return len(re.findall(r"< CREATE mid=\d+ .*STATUS_OBJECT_NAME_NOT_FOUND",
                          text))


def listings(text):
    return requests(text).count("QUERY_DIRECTORY")


def create(path):
    os.close(os.open(path, EXCL, 0o644))


def server_dir(share_dir, name, files=()):
    d = os.path.join(share_dir, name)
    os.mkdir(d)
    os.chmod(d, 0o777)  # Samba runs as alice
    for n in files:
        open(os.path.join(d, n), "w").close()
        os.chmod(os.path.join(d, n), 0o666)
    return d


def mount(smbd, mount_factory, actimeo):
    m = mount_factory(smbd, options=["debug", "actimeo=%g" % actimeo])
    return m, Log(m)


def test_create_in_made_dir_sends_no_negative_lookups(smbd, share_dir,
                                                      mount_factory):
    m, log = mount(smbd, mount_factory, 30)
    d = os.path.join(m.mountpoint, "made")
    os.mkdir(d)
    log.mark()
    for i in range(100):
        create(os.path.join(d, "f%03d" % i))
    text = log.since()
    assert not_found(text) == 0, text
    assert listings(text) == 0, text
    # one CREATE per file (its LOOKUP asked nobody), each with its CLOSE;
    # plus chmod's own open (CREATE+SET_INFO+QUERY_INFO+CLOSE), since the
    # share's `create mask = 0666` gives the files 0666, not 0644
    chmods = text.count("compound of 4: CREATE+SET_INFO+QUERY_INFO+CLOSE")
    assert requests(text).count("CREATE") - chmods == 100, text
    assert sorted(os.listdir(os.path.join(share_dir, "made"))) == \
        ["f%03d" % i for i in range(100)]
    # our own names are known: an existing one is refused by the kernel
    with pytest.raises(FileExistsError):
        create(os.path.join(d, "f007"))


def test_create_in_listed_dir_sends_no_negative_lookups(smbd, share_dir,
                                                        mount_factory):
    server_dir(share_dir, "listed", ["old%02d" % i for i in range(50)])
    m, log = mount(smbd, mount_factory, 30)
    d = os.path.join(m.mountpoint, "listed")
    assert len(os.listdir(d)) == 50
    log.mark()
    for i in range(100):
        create(os.path.join(d, "new%03d" % i))
    text = log.since()
    assert not_found(text) == 0, text
    assert listings(text) == 0, text
    # a listed name is still looked up and found
    assert os.path.exists(os.path.join(d, "old07"))
    with pytest.raises(FileExistsError):
        create(os.path.join(d, "old08"))


def test_lookups_that_keep_missing_list_the_directory(smbd, share_dir,
                                                      mount_factory):
    """Before: a directory this mount neither made nor listed; each of the
    first few creates asks the server for its name, then one listing
    answers the rest."""
    server_dir(share_dir, "plain", ["x%02d" % i for i in range(20)])
    m, log = mount(smbd, mount_factory, 30)
    d = os.path.join(m.mountpoint, "plain")
    log.mark()
    for i in range(100):
        create(os.path.join(d, "f%03d" % i))
    text = log.since()
    assert not_found(text) == LIST_AFTER_MISSES, text
    assert len(re.findall(r"compound of \d+: CREATE\+QUERY_DIRECTORY",
                          text)) == 1, text
    assert len(os.listdir(d)) == 120


def test_actimeo_zero_keeps_no_listing(smbd, share_dir, mount_factory):
    m, log = mount(smbd, mount_factory, 0)
    d = os.path.join(m.mountpoint, "made")
    os.mkdir(d)
    os.listdir(d)
    log.mark()
    for i in range(20):
        create(os.path.join(d, "f%02d" % i))
    text = log.since()
    assert not_found(text) == 20, text
    assert listings(text) == 0, text


def test_own_changes_keep_the_listing_exact(smbd, share_dir, mount_factory):
    server_dir(share_dir, "src", ["moved-in"])
    server_dir(share_dir, "dst", ["keep", "old"])
    m, log = mount(smbd, mount_factory, 30)
    mp = m.mountpoint
    dst = lambda n: os.path.join(mp, "dst", n)  # noqa: E731
    os.listdir(os.path.join(mp, "dst"))
    os.listdir(os.path.join(mp, "src"))
    # rename into, rename away, unlink, create again, mkdir, rmdir
    os.rename(os.path.join(mp, "src", "moved-in"), dst("moved-in"))
    os.rename(dst("old"), dst("renamed"))
    create(dst("tmp"))
    os.unlink(dst("tmp"))
    os.mkdir(dst("sub"))
    create(dst("sub/inner"))
    os.mkdir(dst("gone"))
    os.rmdir(dst("gone"))
    # a new mount's view would be the server's: compare with it at once
    want = sorted(os.listdir(os.path.join(share_dir, "dst")))
    assert want == ["keep", "moved-in", "renamed", "sub"]
    for n in want:
        assert os.path.exists(dst(n)), n
    for n in ("old", "tmp", "gone", "never"):
        assert not os.path.exists(dst(n)), n
    assert os.path.exists(dst("sub/inner"))
    assert not os.path.exists(os.path.join(mp, "src", "moved-in"))
    # and a removed name can be made again
    create(dst("tmp"))
    assert os.path.exists(os.path.join(share_dir, "dst", "tmp"))


def test_case_insensitive_names_are_asked(smbd, share_dir, mount_factory):
    """A name that differs from a listed one only by case is the server's
    to decide (Samba: the same file)."""
    server_dir(share_dir, "ci", ["a.txt"])
    with open(os.path.join(share_dir, "ci", "a.txt"), "wb") as f:
        f.write(b"abc")
    m, log = mount(smbd, mount_factory, 30)
    d = os.path.join(m.mountpoint, "ci")
    os.listdir(d)
    create(os.path.join(d, "made.txt"))
    log.mark()
    with pytest.raises(FileExistsError):
        create(os.path.join(d, "A.txt"))
    assert os.stat(os.path.join(d, "A.TXT")).st_size == 3
    # the name we made, in another case: asked too, and found
    assert os.path.exists(os.path.join(d, "MADE.TXT"))
    text = log.since()
    assert requests(text).count("CREATE") >= 2, text
    with open(os.path.join(d, "A.txt"), "ab") as f:
        f.write(b"d")
    assert sorted(os.listdir(os.path.join(share_dir, "ci"))) == \
        ["a.txt", "made.txt"]
    with open(os.path.join(share_dir, "ci", "a.txt"), "rb") as f:
        assert f.read() == b"abcd"


def test_another_clients_name_shows_after_actimeo(smbd, share_dir,
                                                  mount_factory, sclient):
    """Documented staleness: a name another client makes in a directory
    this mount listed is reported missing until the listing is actimeo
    old (as a negative entry would be), and seen after that."""
    actimeo = 2.0
    m, log = mount(smbd, mount_factory, actimeo)
    d = os.path.join(m.mountpoint, "shared")
    t0 = time.monotonic()
    os.mkdir(d)
    sclient.put_bytes("shared/remote.txt", b"abc")
    p = os.path.join(d, "remote.txt")
    seen_at_once = os.path.exists(p)
    if time.monotonic() - t0 < actimeo * 0.8:
        assert not seen_at_once
    # the record lapses actimeo after the mkdir; the kernel's negative
    # entry from the lookup above lasts actimeo more at most
    took = wait_for(lambda: os.path.exists(p), 10.0)
    assert took is not None and took < 2 * actimeo + 0.6, took
    with open(p, "rb") as f:
        assert f.read() == b"abc"
    # a name another client removed is asked for (listed names are not
    # trusted), so it goes as soon as the kernel's own entry lapses
    os.listdir(d)
    sclient.run("del shared\\remote.txt")
    took = wait_for(lambda: not os.path.exists(p), 10.0)
    assert took is not None and took < actimeo + 0.6, took
    with pytest.raises(OSError) as e:
        os.stat(p)
    assert e.value.errno == errno.ENOENT

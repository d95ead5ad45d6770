"""Change notify (src/client/notify.c, fs.c fs_dir_changed): with a long
actimeo, mount B watches the directories it listed or in which it found a
name missing, and another client's changes there show within a second or
two: new names in listings and lookups (a name B found missing too),
removed names gone.  Another client can still rename and remove a
directory B watches, B's own renames of watched directories work, the
watches come back after a reconnect, and nonotify keeps the old
behaviour (nothing shows before actimeo)."""

import errno
import os
import time

import pytest

from smbenv import wait_for

ACTIMEO = 30
SOON = 2.0


def two_mounts(smbd, mount_factory, b_opts=("notify",)):
    """A: plain (watches nothing); B: watches (notify), both actimeo=30."""
    a = mount_factory(smbd, options=["actimeo=%d" % ACTIMEO])
    b = mount_factory(smbd, options=["actimeo=%d" % ACTIMEO] + list(b_opts))
    return a.mountpoint, b.mountpoint


def until(cond, limit=SOON):
    """Seconds until cond() holds, or None past limit."""
    took = wait_for(cond, limit, interval=0.01)
    if took is not None:
        print("visible after %.3f s" % took)
    return took


def exists(p):
    try:
        os.stat(p)
        return True
    except FileNotFoundError:
        return False


def touch(p, data=b"x"):
    with open(p, "wb") as f:
        f.write(data)


def settle():
    """Lets B's watcher thread make the watch asked for."""
    time.sleep(0.3)


def test_listing_shows_new_file(smbd, share_dir, mount_factory):
    a, b = two_mounts(smbd, mount_factory)
    os.mkdir(os.path.join(a, "d"))
    touch(os.path.join(a, "d", "old"))
    assert os.listdir(os.path.join(b, "d")) == ["old"]
    settle()
    touch(os.path.join(a, "d", "new"))
    took = until(lambda: sorted(os.listdir(os.path.join(b, "d"))) == ["new", "old"])
    assert took is not None
    # and the name itself, which B's listing record said was missing
    assert until(lambda: exists(os.path.join(b, "d", "new"))) is not None


def test_missing_name_appears(smbd, share_dir, mount_factory):
    a, b = two_mounts(smbd, mount_factory)
    os.mkdir(os.path.join(a, "d"))
    p = os.path.join(b, "d", "later")
    with pytest.raises(FileNotFoundError):
        os.stat(p)
    settle()
    touch(os.path.join(a, "d", "later"))
    took = until(lambda: exists(p))
    assert took is not None, "a name B found missing stayed missing"
    # in the root too
    q = os.path.join(b, "rootlater")
    assert not exists(q)
    settle()
    touch(os.path.join(a, "rootlater"))
    assert until(lambda: exists(q)) is not None


def test_removed_file_disappears(smbd, share_dir, mount_factory):
    a, b = two_mounts(smbd, mount_factory)
    os.mkdir(os.path.join(a, "d"))
    for n in ("x", "y"):
        touch(os.path.join(a, "d", n))
    d = os.path.join(b, "d")
    assert sorted(os.listdir(d)) == ["x", "y"]
    assert exists(os.path.join(d, "x"))
    settle()
    os.unlink(os.path.join(a, "d", "x"))
    assert until(lambda: os.listdir(d) == ["y"]) is not None
    assert until(lambda: not exists(os.path.join(d, "x"))) is not None


def test_smbclient_creator(smbd, share_dir, mount_factory, sclient):
    a, b = two_mounts(smbd, mount_factory)
    os.mkdir(os.path.join(a, "s"))
    p = os.path.join(b, "s", "from_smbclient")
    assert not exists(p)
    assert os.listdir(os.path.join(b, "s")) == []
    settle()
    sclient.put_bytes("s/from_smbclient", b"hello")
    assert until(lambda: exists(p)) is not None
    assert os.listdir(os.path.join(b, "s")) == ["from_smbclient"]
    with open(p, "rb") as f:
        assert f.read() == b"hello"


def test_others_can_rename_and_remove_watched_dirs(smbd, share_dir, mount_factory,
                                                    sclient):
    a, b = two_mounts(smbd, mount_factory)
    os.makedirs(os.path.join(a, "top", "w"))
    touch(os.path.join(a, "top", "w", "f"))
    os.mkdir(os.path.join(a, "gone"))
    # B watches top/w (listed), top (a name missing) and gone
    assert os.listdir(os.path.join(b, "top", "w")) == ["f"]
    assert not exists(os.path.join(b, "top", "nothing"))
    assert os.listdir(os.path.join(b, "gone")) == []
    settle()
    # A (another SMB client) renames the watched directory and its parent
    os.rename(os.path.join(a, "top", "w"), os.path.join(a, "top", "w2"))
    os.rename(os.path.join(a, "top"), os.path.join(a, "top2"))
    assert os.listdir(os.path.join(share_dir, "top2")) == ["w2"]
    # and removes a watched directory: A's rmdir succeeds, and the
    # directory is delete-pending until B's watch ends, which B closes as
    # soon as the server tells it (one round trip: a re-create of the name
    # or a removal of the parent by A inside that window fails, see
    # docs/architecture.md, Change notify)
    os.rmdir(os.path.join(a, "gone"))
    assert until(lambda: not os.path.exists(os.path.join(share_dir, "gone")),
                 limit=0.5) is not None
    os.mkdir(os.path.join(a, "gone"))  # the name is free again
    # smbclient too
    assert os.listdir(os.path.join(b, "top2", "w2")) == ["f"]
    settle()
    sclient.run('rename top2 top3')
    assert os.path.isdir(os.path.join(share_dir, "top3", "w2"))
    assert until(lambda: sorted(os.listdir(b)) == ["gone", "top3"]) is not None


def test_own_rename_of_watched_dir(smbd, share_dir, mount_factory):
    a, b = two_mounts(smbd, mount_factory)
    os.makedirs(os.path.join(b, "p", "q"))
    touch(os.path.join(b, "p", "q", "f"))
    assert os.listdir(os.path.join(b, "p", "q")) == ["f"]
    assert os.listdir(os.path.join(b, "p")) == ["q"]
    settle()
    os.rename(os.path.join(b, "p"), os.path.join(b, "p2"))
    os.rename(os.path.join(b, "p2", "q"), os.path.join(b, "p2", "q2"))
    assert os.listdir(os.path.join(share_dir, "p2")) == ["q2"]
    # watched again after the rename: A's change shows
    assert os.listdir(os.path.join(b, "p2", "q2")) == ["f"]
    settle()
    touch(os.path.join(a, "p2", "q2", "g"))
    assert until(lambda: sorted(os.listdir(os.path.join(b, "p2", "q2"))) == ["f", "g"]) \
        is not None
    os.unlink(os.path.join(b, "p2", "q2", "f"))
    os.unlink(os.path.join(b, "p2", "q2", "g"))
    os.rmdir(os.path.join(b, "p2", "q2"))
    # (A watches it too, since its lookup of "g" found it missing: it is
    # delete-pending until A's watch ends, which A's watcher is told)
    assert until(lambda: not os.path.exists(os.path.join(share_dir, "p2", "q2"))) is not None


def test_notifications_after_reconnect(smbd, share_dir, mount_factory):
    a = mount_factory(smbd, options=["actimeo=%d" % ACTIMEO]).mountpoint
    before = {s["pid"] for s in smbd.sessions()}
    b = mount_factory(smbd, options=["actimeo=%d" % ACTIMEO, "notify"]).mountpoint
    os.mkdir(os.path.join(a, "r"))
    p = os.path.join(b, "r", "after")
    assert not exists(p)
    settle()
    smbd.kill_session(before)
    # no operation on B: its watcher reconnects and watches again
    time.sleep(1.0)
    touch(os.path.join(a, "r", "after"))
    assert until(lambda: exists(p), limit=5.0) is not None


@pytest.mark.parametrize("opts", [(), ("nonotify",), ("notify", "nonotify")])
def test_nonotify_keeps_the_cache(smbd, share_dir, mount_factory, opts):
    """The default: a name B found missing stays missing for actimeo."""
    a, b = two_mounts(smbd, mount_factory, b_opts=opts)
    os.mkdir(os.path.join(a, "n"))
    p = os.path.join(b, "n", "late")
    assert not exists(p)
    touch(os.path.join(a, "n", "late"))
    assert until(lambda: exists(p), limit=SOON) is None


def test_short_actimeo_watches_nothing(smbd, share_dir, mount_factory, sclient):
    """notify with actimeo under 2 s: no watches (the caches lapse as soon),
    so another client's rmdir of a directory B listed is never delayed."""
    m = mount_factory(smbd, options=["actimeo=1", "notify"]).mountpoint
    sclient.mkdir("short")
    assert os.listdir(os.path.join(m, "short")) == []
    settle()
    r = sclient.run("rmdir short; mkdir short", check=False)
    assert "NT_STATUS" not in r.stdout + r.stderr

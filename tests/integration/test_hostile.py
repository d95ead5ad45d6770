"""smb2fs against a server that turns hostile after the mount is up.

The fake server (fake_smb2_server.py, "fs" modes) completes NEGOTIATE,
SESSION_SETUP and TREE_CONNECT and serves a tiny read-only share:

    /f          10 bytes "0123456789"
    /d/x        empty file
    /bad        a file whose CREATE reply is the hostile one (modes create_*)
    /grüße.txt  empty file

Each hostile mode breaks exactly ONE reply (see FS_HOSTILE there).  For
every mode the test runs the operation that draws the bad reply in a child
process (so a hang is a timeout, not a stuck pytest), checks the result --
EIO for a malformed reply; success where the protocol lets the client
recover (a stray MessageId is dropped, a connection cut mid-frame is
reconnected and the operation retried) -- then checks that smb2fs is still
alive and answers other requests, unmounts cleanly (exit status 0) and left
no ASan/UBSan/LSan report (mount_factory's collection, smbenv.py).
"""

import errno

import pytest

import fsop

OP_TIMEOUT = 40   # > smb2fs' 30 s request timeout: a timeout here is a hang
PROMPT = 15       # an answer slower than this is reported as a failure too

def fs_op(m, op, rel, timeout=OP_TIMEOUT):
    """("ok", result) or ("errno", n); a slow answer fails the test."""
    res, elapsed = fsop.run(m, op, rel, timeout)
    assert elapsed < PROMPT, "%s %s took %.1fs" % (op, rel, elapsed)
    return res


ROOT_NAMES = sorted(["f", "d", "bad", "gr\u00fc\u00dfe.txt"])
STATVFS = [4096, 1000000, 600000, 500000]  # bsize, blocks, bfree, bavail


def mount_fake(fake_server, mount_factory, mode):
    # The server knows the password, so it can sign (smb2fs signs by
    # default and requires signed replies).
    srv = fake_server(mode, password="x")
    m = mount_factory(srv, share="x", password="x",
                      options=["vers=2.1", "actimeo=0"])
    return srv, m


def check_healthy(m):
    """The process is alive and serves requests that the mode leaves
    intact."""
    assert m.proc.poll() is None, "smb2fs died:\n" + m.stderr()[-4000:]
    assert fs_op(m, "statvfs", "") == ("ok", STATVFS)
    assert fs_op(m, "listdir", "") == ("ok", ROOT_NAMES)
    # (the fake server refuses security queries: file_mode=, 0755)
    assert fs_op(m, "stat", "f") == ("ok", [oct(0o100755), 10])


def unmount_clean(srv, m):
    m.stop()
    rc = m.proc.returncode
    report = m.sanitizer_output()
    assert not report, "sanitizer report:\n" + report
    assert rc == 0, "smb2fs exit status %s after unmount:\n%s" % (
        rc, m.stderr()[-4000:])
    assert not srv.problems, srv.problems


def test_fake_share_works(fake_server, mount_factory):
    """The well-behaved share: the baseline every hostile mode deviates
    from in one reply."""
    srv, m = mount_fake(fake_server, mount_factory, "fs")
    assert fs_op(m, "stat", "") == ("ok", [oct(0o40755), 0])
    check_healthy(m)
    assert fs_op(m, "read", "f") == ("ok", "0123456789")
    assert fs_op(m, "listdir", "d") == ("ok", ["x"])
    assert fs_op(m, "stat", "d/x") == ("ok", [oct(0o100755), 0])
    assert fs_op(m, "stat", "nope") == ("errno", errno.ENOENT)
    assert fs_op(m, "listdir", "f") == ("errno", errno.ENOTDIR)
    assert srv.connections() == 1
    unmount_clean(srv, m)


# mode -> (operation, path): the reply it breaks; the result must be EIO
MALFORMED = {
    "create_bad_size": ("stat", "bad"),
    "create_truncated": ("stat", "bad"),
    "dir_next_past_end": ("listdir", "d"),
    "dir_outbuf_len_past_end": ("listdir", "d"),
    "dir_outbuf_off_past_end": ("listdir", "d"),
    "read_len_past_end": ("read", "f"),
    "read_more_than_asked": ("read", "f"),
}


@pytest.mark.parametrize("mode", sorted(MALFORMED))
def test_malformed_reply_is_eio(fake_server, mount_factory, mode):
    op, rel = MALFORMED[mode]
    srv, m = mount_fake(fake_server, mount_factory, mode)
    assert fs_op(m, op, rel) == ("errno", errno.EIO), m.stderr()[-4000:]
    # (the kernel may ask twice: readahead, then a plain read; a LOOKUP,
    # then a retry of the path walk)
    first = srv.hostile_sent
    assert first >= 1, srv.events
    check_healthy(m)
    # the same bad reply again: same answer, still no hang or crash
    assert fs_op(m, op, rel) == ("errno", errno.EIO), m.stderr()[-4000:]
    assert srv.hostile_sent > first
    check_healthy(m)
    # a malformed body is the request's failure, not the connection's
    assert srv.connections() == 1, m.stderr()[-4000:]
    unmount_clean(srv, m)


def test_stray_message_id_is_dropped(fake_server, mount_factory):
    """Replies with MessageIds nobody is waiting for (one never used, one
    already answered) are dropped; the real reply that follows is used and
    the connection stays up."""
    srv, m = mount_fake(fake_server, mount_factory, "stray_message_id")
    assert fs_op(m, "statvfs", "") == ("ok", STATVFS), m.stderr()[-4000:]
    assert srv.strays_sent == 2
    check_healthy(m)
    assert srv.strays_sent == 4
    assert srv.connections() == 1, m.stderr()[-4000:]
    unmount_clean(srv, m)


def test_connection_closed_mid_frame_reconnects(fake_server, mount_factory):
    """The server sends the frame header and half of a READ reply, then
    closes the connection: smb2fs reconnects (new NEGOTIATE, SESSION_SETUP,
    TREE_CONNECT), reopens the file and retries the READ transparently."""
    srv, m = mount_fake(fake_server, mount_factory, "close_mid_frame")
    assert fs_op(m, "read", "f") == ("ok", "0123456789"), m.stderr()[-4000:]
    assert srv.broke_connection
    assert srv.connections() == 2, m.stderr()[-4000:]
    assert srv.commands().count("TREE_CONNECT") == 2
    check_healthy(m)
    unmount_clean(srv, m)


def test_endless_listing_is_bounded(fake_server, mount_factory):
    """QUERY_DIRECTORY of d returns the same valid listing for ever.  The
    readdir must end (with an error or a truncated listing) in bounded
    time and memory, and smb2fs must stay usable."""
    srv, m = mount_fake(fake_server, mount_factory, "dir_endless")
    assert fs_op(m, "listdir", "d", timeout=PROMPT) == ("errno", errno.EIO)
    check_healthy(m)
    unmount_clean(srv, m)

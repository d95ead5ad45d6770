"""One filesystem operation on a mount, run in a child process, so that an
operation smb2fs never answers is a timeout in the test, not a stuck pytest.
Shared by the tests that face the scripted fake server."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import smbenv

OP_SCRIPT = r"""
import json, os, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "stat":
        st = os.stat(path)
        res = [oct(st.st_mode), st.st_size]
    elif op == "lstat":
        st = os.lstat(path)
        res = [oct(st.st_mode), st.st_size]
    elif op == "readlink":
        res = os.readlink(path)
    elif op == "listdir":
        res = sorted(os.listdir(path))
    elif op == "read":
        with open(path, "rb") as f:
            res = f.read().decode("latin-1")
    elif op == "statvfs":
        sv = os.statvfs(path)
        res = [sv.f_bsize, sv.f_blocks, sv.f_bfree, sv.f_bavail]
    else:
        raise SystemExit("bad op " + op)
    print(json.dumps({"ok": res}))
except OSError as e:
    print(json.dumps({"errno": e.errno, "msg": str(e)}))
"""


def run(m, op, rel, timeout):
    """Runs op ("stat", "lstat", "readlink", "listdir", "read", "statvfs")
    on m.mountpoint/rel.
    Returns (("ok", result) or ("errno", n), seconds it took); fails the
    test, killing smb2fs, when it takes longer than timeout."""
    path = os.path.join(m.mountpoint, rel)
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-c", OP_SCRIPT, op, path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # A process waiting on a FUSE request the daemon already took is
        # not killable; killing smb2fs aborts the connection and frees it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(m.proc.pid, signal.SIGKILL)
        p.kill()
        p.communicate(timeout=30)
        smbenv.unmount(m.mountpoint)
        pytest.fail("%s %s hung for %ss (smb2fs killed); its stderr:\n%s"
                    % (op, rel, timeout, m.stderr()[-4000:]))
    elapsed = time.monotonic() - t0
    assert p.returncode == 0 and out.strip(), \
        "%s %s: rc=%s %s %s" % (op, rel, p.returncode, out, err)
    r = json.loads(out)
    return (("ok", r["ok"]) if "ok" in r else ("errno", r["errno"])), elapsed

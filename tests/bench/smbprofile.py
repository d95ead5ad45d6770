"""Where the time of a metadata workload goes: the `profile` part of
tests/bench/bench.py.

The bench runs each metadata workload once more on an `smb2fs -o debug`
mount.  smb2fs logs one line per request it sends and one per reply it
reads, each with a timestamp, and a `compound of N: A+B+C` line before a
compound frame.  From that log this module rebuilds the round trips of each
timed phase, how long smb2fs waited for each one, which SMB commands they
were, and how much of the waiting is the "floor": the round trips no SMB2
client can avoid for that workload.  It also samples the CPU time the smbd
serving the mount and the smb2fs daemon used during each phase (from
/proc), which does not depend on smb2fs's own clock.

The wait of a round trip is taken from the log's timestamps: from the line
logged just before the frame is written (the first `> CMD` line of the
frame) to the last reply line of the frame (logged by the thread that
waited, after it woke up).  It is the time the calling thread was blocked
on the server: the write into the loopback socket, smbd's work, the reply
read, parsed and verified by smb2fs's receiver thread, and the wake-up.
The `N ms` figure at the end of smb2fs's own reply lines is not used: its
clock starts after the write returns, and on loopback the write often
returns only after smbd (woken on the same core) has already answered, so
it reads 0.000 ms for a wait of 0.4 ms.  It is shown for comparison only
(`smb2fs's own figure`).
"""

import contextlib
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import time

OK = "STATUS_SUCCESS"

_LINE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{6}) smb2fs debug: (.*)$")
_CMPD = re.compile(r"^compound of (\d+): ([A-Z_0-9+]+)$")
_REQ = re.compile(r"^> ([A-Z_0-9]+) mid=(\d+) sid=\S+ tid=\S+( \(compound\))?$")
_REP = re.compile(r"^< ([A-Z_0-9]+) mid=(\d+) (?:sid=\S+ tid=\S+ )?(\S+).*? ([\d.]+) ms$")


class Trip:
    """One frame sent and its replies."""
    __slots__ = ("off", "t0", "t1", "cmds", "statuses", "want", "logged", "last_mid")

    def __init__(self, off, t0, want):
        self.off = off          # byte offset of its first request line
        self.t0 = t0            # seconds (log clock) of its first request line
        self.t1 = None          # of its last reply line
        self.cmds = []
        self.statuses = []
        self.want = want        # the commands the compound line announced
        self.logged = 0.0       # smb2fs's own latency figure (max over members), ms
        self.last_mid = -1

    @property
    def status(self):
        return self.statuses[0] if self.statuses else "no reply"

    @property
    def wait(self):
        return None if self.t1 is None else max(0.0, self.t1 - self.t0)

    @property
    def note(self):
        """"cut short": a listing closed before its end (smb2fs lists the
        directory again on a kept handle), else ""."""
        if self.cmds and self.cmds[-1] == "CLOSE" and "QUERY_DIRECTORY" in self.cmds:
            last = max(i for i, c in enumerate(self.cmds) if c == "QUERY_DIRECTORY")
            if self.statuses[last] == OK:
                return "cut short"
        return ""

    @property
    def key(self):
        return (tuple(self.cmds), self.status, self.note)


def parse_debug_log(path, start=0):
    """The round trips in smb2fs's -o debug log at path (from byte start),
    in the order they were sent."""
    trips = []
    announced = []       # compound lines not yet matched to their requests
    filling = []         # compound trips whose request lines are still coming
    by_mid = {}
    day = 0.0
    last = None
    off = start
    with open(path, "rb") as f:
        f.seek(start)
        for raw in f:
            here = off
            off += len(raw)
            m = _LINE.match(raw.decode("ascii", "replace").rstrip("\n"))
            if not m:
                continue
            t = (int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
                 + int(m.group(4)) / 1e6)
            if last is not None and t + day < last - 43200:
                day += 86400.0          # the log clock went past midnight
            t += day
            last = t
            body = m.group(5)
            c = _CMPD.match(body)
            if c:
                announced.append(c.group(2).split("+"))
                continue
            c = _REQ.match(body)
            if c:
                cmd, mid, compound = c.group(1), int(c.group(2)), bool(c.group(3))
                # A frame's MessageIds are taken together, so no other
                # frame's lie between them: a request line of a compound
                # belongs to the frame being logged whose last MessageId is
                # the closest below its own, if that frame expects its
                # command next (two threads' lines may interleave).
                trip = None
                if compound:
                    below = [x for x in filling if x.last_mid < mid]
                    if below:
                        x = max(below, key=lambda x: x.last_mid)
                        if x.want[len(x.cmds)] == cmd:
                            trip = x
                if trip is None:
                    want = [cmd]
                    if compound:
                        for i, names in enumerate(announced):
                            if names[0] == cmd:
                                want = announced.pop(i)
                                break
                    trip = Trip(here, t, want)
                    trips.append(trip)
                    if compound:
                        filling.append(trip)
                trip.cmds.append(cmd)
                trip.last_mid = mid
                if trip in filling and len(trip.cmds) >= len(trip.want):
                    filling.remove(trip)
                by_mid[mid] = (trip, len(trip.statuses))
                trip.statuses.append("no reply")
                continue
            c = _REP.match(body)
            if c:
                hit = by_mid.pop(int(c.group(2)), None)
                if hit is None:
                    continue
                trip, i = hit
                status = c.group(3)
                if status.startswith("error="):
                    status = "error"
                trip.statuses[i] = status
                trip.t1 = t if trip.t1 is None else max(trip.t1, t)
                trip.logged = max(trip.logged, float(c.group(4)))
    return trips


# -- CPU time from /proc ---------------------------------------------------

def proc_cpu(pid):
    """(seconds on CPU summed over pid's live threads, utime s, stime s,
    times its threads were put on a CPU), or None."""
    if not pid:
        return None
    ns = runs = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    a = f.read().split()
                ns += int(a[0])
                runs += int(a[2])
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = float(os.sysconf("SC_CLK_TCK"))
        return (ns / 1e9, int(fields[11]) / tick, int(fields[12]) / tick, runs)
    except (OSError, ValueError, IndexError):
        return None


def cpu_delta(a, b):
    """(cpu s, user s, sys s, runs) used between samples a and b.  The
    schedstat sum (ns) is the figure unless the tick counters, which also
    count threads that exited meanwhile, say clearly more."""
    if not a or not b:
        return None
    ns = b[0] - a[0]
    user, sys_ = b[1] - a[1], b[2] - a[2]
    total = ns if ns > 0 and user + sys_ - ns < 0.02 else user + sys_
    return (total, user, sys_, b[3] - a[3])


class SyscallCount:
    """`perf stat -e 'syscalls:sys_enter_*' -p PID`: counts every system
    call the process makes (in-kernel counters, nothing traced to user
    space).  It starts disabled and is switched on and off through perf's
    control fifo (a few ms), so it can be started before the run and
    cover exactly one phase.  It is not free: with the tracepoints on,
    every system call of the process takes the slow path (about 0.3 us more
    here), which is why the bench only counts with --syscalls.  Counts are
    None when perf or the tracepoints are missing."""

    def __init__(self, pid, workdir):
        self.proc = None
        self.ctl = self.ack = None
        self.ok = False
        perf = shutil.which("perf")
        if not perf or not pid:
            return
        fifo = os.path.join(workdir, "perf-%d-%d" % (pid, time.monotonic_ns()))
        os.mkfifo(fifo + ".ctl")
        os.mkfifo(fifo + ".ack")
        self.ack = os.open(fifo + ".ack", os.O_RDONLY | os.O_NONBLOCK)
        self.proc = subprocess.Popen(
            [perf, "stat", "-x", ",", "-e", "syscalls:sys_enter_*", "-p", str(pid),
             "--control", "fifo:%s.ctl,%s.ack" % (fifo, fifo), "-D", "-1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while self.ctl is None and time.monotonic() < deadline:
            try:
                self.ctl = os.open(fifo + ".ctl", os.O_WRONLY | os.O_NONBLOCK)
            except OSError:          # perf has not opened its end yet
                if self.proc.poll() is not None:
                    break
                time.sleep(0.01)

    def _send(self, what):
        if self.ctl is None:
            return False
        try:
            os.write(self.ctl, (what + "\n").encode())
        except OSError:
            return False
        ready, _, _ = select.select([self.ack], [], [], 10)
        if not ready:
            return False
        with contextlib.suppress(OSError):
            os.read(self.ack, 64)
        return True

    def enable(self):
        self.ok = self._send("enable")

    def disable(self):
        self.ok = self._send("disable") and self.ok

    def stop(self):
        """{syscall name: count} while enabled, or None."""
        if self.proc is None:
            return None
        for fd in (self.ctl, self.ack):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.proc.send_signal(signal.SIGINT)
        try:
            err = self.proc.communicate(timeout=20)[1]
        except subprocess.TimeoutExpired:
            self.proc.kill()
            err = self.proc.communicate()[1]
        self.proc = None
        counts = {}
        for line in err.splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0].isdigit() and f[2].startswith("syscalls:sys_enter_"):
                if int(f[0]):
                    counts[f[2][len("syscalls:sys_enter_"):]] = int(f[0])
        return counts if self.ok and counts else None


class Probe:
    """One profile run: the -o debug mount, the smbd process serving it,
    and per timed phase (a table row) the span of the log it wrote, the
    number of files, and the CPU time smbd and smb2fs used."""

    def __init__(self, group, rows, syscalls=False):
        self.group = group
        self.rows = rows          # the phases the run will have
        self.syscalls = syscalls  # count smbd's system calls (perf)
        self.counters = {}        # row -> SyscallCount
        self.mount = None
        self.smbd = None
        self.daemon = None
        self.phases = {}     # row -> dict(n, span, cpu={"smbd": delta, "smb2fs": delta})
        self.walls = {}      # row -> the debug run's own time for the row
        self.trips = {}      # row -> [Trip]

    def attach(self, mount, smbd_pid):
        self.mount = mount
        self.smbd = smbd_pid
        self.daemon = mount.proc.pid if mount.proc else None
        if self.syscalls and smbd_pid:
            for row in self.rows:
                self.counters[row] = SyscallCount(smbd_pid, mount.workdir)

    def close(self):
        """Stop the perf processes, whatever happened."""
        for row, sc in self.counters.items():
            counts = sc.stop()
            if row in self.phases:
                self.phases[row]["syscalls"] = counts
        self.counters = {}

    def sample(self):
        return {"smbd": proc_cpu(self.smbd), "smb2fs": proc_cpu(self.daemon)}

    @contextlib.contextmanager
    def phase(self, row, n, dirs=1):
        """Around the timed part of row: n files in dirs directories."""
        path = self.mount.stderr_path
        sc = self.counters.get(row)
        if sc:
            sc.enable()
        off0 = os.path.getsize(path)
        c0 = self.sample()
        yield
        c1 = self.sample()
        off1 = os.path.getsize(path)
        if sc:
            sc.disable()
        self.phases[row] = dict(n=n, dirs=dirs, span=(off0, off1),
                                cpu={k: cpu_delta(c0[k], c1[k]) for k in c0},
                                syscalls=None)

    def finish(self):
        """Read the log once the run is over (replies that came in after a
        phase ended are in it by then)."""
        if not self.phases:
            return
        first = min(p["span"][0] for p in self.phases.values())
        trips = parse_debug_log(self.mount.stderr_path, first)
        for row, p in self.phases.items():
            a, b = p["span"]
            self.trips[row] = [t for t in trips if a <= t.off < b]


# -- what each round trip is, and the floor ---------------------------------
#
# A round trip's kind is its key: (commands, status of the first reply,
# note).  The floors below only count round trips whose whole cost no
# SMB2 client can avoid; requests that could ride in another frame (the
# CLOSE after a create, the WRITE and times of tar x) are left out, so
# the floor is a lower bound.

def is_listing(k):
    return "QUERY_DIRECTORY" in k[0]


def starts_listing(k):
    return is_listing(k) and k[0][0] == "CREATE"


def is_delete(k):
    cmds, status = k[0], k[1]
    return (cmds[0] == "CREATE" and "SET_INFO" in cmds and cmds[-1] == "CLOSE"
            and status == OK)


def is_create(k):
    """A CREATE that is not a lookup (CREATE+CLOSE), a listing or a delete:
    in the create and tar x phases, the open(O_CREAT) of a new file."""
    return (k[0][0] == "CREATE" and k[0] != ("CREATE", "CLOSE")
            and "QUERY_DIRECTORY" not in k[0] and not is_delete(k) and k[1] == OK)


def is_delete_or_listing(k):
    return is_delete(k) or is_listing(k)


# row -> (is a round trip in the floor, what the floor is, the phase whose
# round trips are the floor when not the row's own).  Listings count once
# per directory: rm reads each directory twice, and smb2fs reads a big one
# twice when its first frame did not reach the end.
FLOORS = {
    "create": (is_create, "the CREATE that makes each file (its CLOSE not counted)", None),
    "delete": (is_delete, "one CREATE+SET_INFO(delete)+CLOSE per file", None),
    "tar x": (is_create, "the CREATE that makes each file (its data, times and "
              "CLOSE not counted)", None),
    "rm -rf": (is_delete_or_listing, "one CREATE+SET_INFO(delete)+CLOSE per file and "
               "directory, one listing per directory", None),
    "stat": (is_listing, "one listing of the directory", None),
    "stat-name": (is_listing, "one listing of the directory (the list+stat run's)",
                  "stat"),
    "ls": (is_listing, "one listing of the directory", None),
}


def role(k, row):
    cmds, status, note = k
    if "QUERY_DIRECTORY" in cmds:
        return "listing, cut short: listed again" if note else "listing"
    if cmds == ("CREATE", "CLOSE"):
        if status == "STATUS_OBJECT_NAME_NOT_FOUND":
            return "lookup, no such name"
        return "mkdir or lookup" if row == "tar x" else "lookup/stat"
    if is_delete(k) or (cmds[0] == "CREATE" and "SET_INFO" in cmds):
        return "delete" if row in ("delete", "rm -rf") else "set attributes by path"
    if cmds == ("CREATE",):
        return "open, creating" if row in ("create", "tar x") else "open"
    if cmds[0] == "SET_INFO":
        return "set attributes on the handle"
    return {("CLOSE",): "close", ("WRITE",): "write", ("QUERY_INFO",): "getattr",
            ("FLUSH",): "flush", ("ECHO",): "keepalive"}.get(cmds, "")


def kind_label(k, row):
    text = "+".join(k[0])
    if k[1] != OK:
        text += " " + k[1].replace("STATUS_", "")
    r = role(k, row)
    return text + (" (%s)" % r if r else "")


def _union(intervals):
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def _cost(waits):
    """count x median: robust to a burst of load elsewhere on the machine."""
    return len(waits) * statistics.median(waits) if waits else 0.0


def floor_of(probe, row):
    """(floor seconds, round trips counted, {key: waits} of the floor kinds)."""
    test, _, floor_from = FLOORS[row]
    src = floor_from or row
    dirs = probe.phases.get(src, {}).get("dirs", 1)
    kinds = {}
    for t in probe.trips.get(src, []):
        if t.wait is not None and test(t.key):
            kinds.setdefault(t.key, []).append(t.wait)
    floor = sum(_cost(ws) for k, ws in kinds.items() if not starts_listing(k))
    count = sum(len(ws) for k, ws in kinds.items() if not starts_listing(k))
    # One listing per directory.  A listing cut short (then read again on
    # a kept handle) was the first pass, on cold server caches: it is the
    # one a client must pay, the second pass is the avoidable one.
    cut = [w for k, ws in kinds.items() if starts_listing(k) and k[2] for w in ws]
    whole = [w for k, ws in kinds.items() if starts_listing(k) and not k[2] for w in ws]
    take = cut[:dirs]
    floor += sum(take)
    count += len(take)
    if whole and dirs > len(take):
        floor += min(len(whole), dirs - len(take)) * statistics.median(whole)
        count += min(len(whole), dirs - len(take))
    return floor, count, kinds


def analyse(probe, row):
    """The profile of one row: a dict, or None if the row was not timed."""
    p = probe.phases.get(row)
    if p is None:
        return None
    trips = probe.trips.get(row, [])
    kinds = {}
    for t in trips:
        if t.wait is not None:
            kinds.setdefault(t.key, []).append(t.wait)
    test, floor_text, floor_from = FLOORS[row]
    floor, floor_count, _ = floor_of(probe, row)
    total = sum(_cost(ws) for ws in kinds.values())
    return dict(
        n=p["n"], dirs=p["dirs"], wall=probe.walls.get(row),
        requests=sum(len(t.cmds) for t in trips), trips=len(trips),
        unanswered=sum(1 for t in trips if t.wait is None),
        waited=sum(ws for t in trips for ws in [t.wait] if ws is not None),
        outstanding=_union([(t.t0, t.t1) for t in trips if t.t1 is not None]),
        logged=sum(t.logged for t in trips),
        kinds=sorted(kinds.items(), key=lambda kv: -sum(kv[1])),
        in_floor=test, floor=floor, floor_count=floor_count,
        floor_text=floor_text, floor_from=floor_from,
        avoidable=max(0.0, total - (0.0 if floor_from else floor)),
        cpu=p["cpu"], syscalls=p.get("syscalls"))


def _ms(v):
    if v < 0.01:
        return "%.2f ms" % (v * 1e3)
    return "%.0f ms" % (v * 1e3) if v < 1 else "%.2f s" % v


def verdict(floor, mine, pt, target):
    """The floor's ratio to passthrough_ll against the target, in words."""
    ratio = floor / pt
    if ratio > target:
        return "target below the server's floor"
    if mine and mine / pt <= target:
        return "met (%.2f x)" % (mine / pt)
    return "missed (%.2f x), the floor is below the target" % (mine / pt) \
        if mine else "the floor is below the target"


def report_lines(probe, row, label, mine, pt, target):
    """Text lines for one row.  mine and pt: the medians of the timed
    (non-debug) runs of smb2fs and passthrough_ll, or None; target: the
    row's ratio target, or None for an information row."""
    a = analyse(probe, row)
    if a is None:
        return ["  %s: not profiled" % label]
    n = a["n"] or 1
    out = []
    head = ("  %s: %.2f requests, %.2f round trips per file; waited %s in %d round "
            "trips" % (label, a["requests"] / n, a["trips"] / n, _ms(a["waited"]),
                       a["trips"] - a["unanswered"]))
    if a["wall"]:
        head += " = %.0f %% of this run's %s" % (100 * a["waited"] / a["wall"],
                                                 _ms(a["wall"]))
    if mine:
        head += " (%s without -o debug)" % _ms(mine)
    out.append(head)
    if a["waited"] and a["outstanding"] < 0.95 * a["waited"]:
        out.append("    (round trips overlapped: a request was outstanding %s of it)"
                   % _ms(a["outstanding"]))
    shown = a["kinds"][:6]
    for k, w in shown:
        tag = ""
        if a["in_floor"](k) and not a["floor_from"]:
            tag = " [floor: once per directory]" if starts_listing(k) else " [floor]"
        out.append("    %6d x %7.3f ms median = %8s  %s%s"
                   % (len(w), statistics.median(w) * 1e3, _ms(sum(w)),
                      kind_label(k, row), tag))
    rest = a["kinds"][len(shown):]
    if rest:
        out.append("    %6d round trips of %d other kinds = %s"
                   % (sum(len(w) for _, w in rest), len(rest),
                      _ms(sum(sum(w) for _, w in rest))))
    out.append("    (smb2fs's own latency figures, whose clock starts after the "
               "send, sum to %s)" % _ms(a["logged"] / 1e3))
    d = a["cpu"].get("smbd")
    if d:
        line = ("    smbd CPU %.3f ms per file (user %.3f, sys %.3f; put on a CPU %.1f "
                "times per file), %s in all" % (d[0] * 1e3 / n, d[1] * 1e3 / n,
                                                d[2] * 1e3 / n, d[3] / n, _ms(d[0])))
        if pt:
            line += " = %.2f x passthrough_ll" % (d[0] / pt)
        out.append(line)
    sc = a["syscalls"]
    if sc:
        top = sorted(sc.items(), key=lambda kv: -kv[1])
        out.append("    smbd system calls: %.1f per file (%s)" % (
            sum(sc.values()) / n,
            ", ".join("%s %.1f" % (name, c / n) for name, c in top[:7])))
    d = a["cpu"].get("smb2fs")
    if d:
        out.append("    smb2fs daemon CPU %.3f ms per file, with debug logging (put on a "
                   "CPU %.1f times per file)" % (d[0] * 1e3 / n, d[3] / n))
    floor = a["floor"]
    fl = "    floor: %s: %d round trips, %s" % (a["floor_text"], a["floor_count"],
                                                _ms(floor))
    if pt:
        fl += " = %.2f x passthrough_ll (%s)" % (floor / pt, _ms(pt))
        if target is not None:
            fl += "; target <= %.1f x: %s" % (target, verdict(floor, mine, pt, target))
    out.append(fl)
    if a["trips"]:
        nt = a["trips"] - a["unanswered"] - (0 if a["floor_from"] else a["floor_count"])
        line = ("    outside the floor: %.2f round trips per file, %s (count x median)"
                % (nt / n, _ms(a["avoidable"])))
        if mine and pt and not a["floor_from"]:
            line += "; without them about %.2f x passthrough_ll" % (
                max(mine - a["avoidable"], 0.0) / pt)
        out.append(line)
    return out

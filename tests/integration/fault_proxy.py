"""A TCP proxy between smb2fs and a real smbd that the tests drive to
make the network fail (issue 11, part 7).  It is tamper_proxy.TamperProxy
(same use: start(), mount through it, stop(); proxy.connections and
proxy.connected_at count smb2fs's connections, reconnects included) with
faults that act on whole direct-TCP frames (a zero byte and a 24-bit
length), in both directions:

    proxy = FaultProxy(srv).start()
    proxy.blackhole()    # every frame, either way, on every connection
                         # (new ones too) is read and thrown away: the
                         # server looks alive to TCP (no reset, no FIN,
                         # data acknowledged) and never answers
    proxy.heal()         # frames flow again (those thrown away are gone)
    proxy.delay(0.5)     # each frame waits this long before it goes on
    proxy.drop(n)        # the next n server->client frames are lost
    proxy.cut()          # every connection now open is reset (RST)
    proxy.rate(n)        # each direction of each connection carries at
                         # most n bytes a second (a LAN, not loopback)

proxy.blackholed_at says when the last blackhole started, and
proxy.swallowed counts the frames thrown away;
proxy.wait_new_connection(t, timeout) waits for smb2fs to connect again
(seconds from t, or None).
"""

import socket
import struct
import time

from smbenv import wait_for
from tamper_proxy import TamperProxy


class FaultProxy(TamperProxy):
    def __init__(self, server, host="127.0.0.1"):
        super().__init__(server, host)
        self._hole = False
        self._delay = 0.0
        self._drop = 0
        self._rate = 0
        self.blackholed_at = None
        self.swallowed = 0
        self.dropped = 0

    # -- faults ------------------------------------------------------------
    def blackhole(self):
        with self.lock:
            self._hole = True
            self.blackholed_at = time.monotonic()

    def heal(self):
        with self.lock:
            self._hole = False

    def delay(self, seconds):
        with self.lock:
            self._delay = float(seconds)

    def rate(self, bytes_per_sec):
        with self.lock:
            self._rate = bytes_per_sec

    def drop(self, n=1):
        with self.lock:
            self._drop += n

    def cut(self):
        """Resets every connection open now (SO_LINGER 0, then close)."""
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            except OSError:
                pass
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def connections_since(self, t):
        """Connections smb2fs opened at or after monotonic time t."""
        with self.lock:
            return [x for x in self.connected_at if x >= t]

    def wait_new_connection(self, since, timeout):
        """Seconds from monotonic time since to the first connection
        opened at or after it, waiting up to timeout; None if none came."""
        if wait_for(lambda: self.connections_since(since), timeout) is None:
            return None
        return self.connections_since(since)[0] - since

    # -- internals (TamperProxy._pump's hooks) -----------------------------
    def _pass(self, down):
        """Whether a frame read now goes on (after the delay)."""
        with self.lock:
            if self._hole:
                self.swallowed += 1
                return False
            if down and self._drop:
                self._drop -= 1
                self.dropped += 1
                return False
            d = self._delay
        if d:
            time.sleep(d)
        return True

    def _pace(self, clock, n):
        """Sleeps as long as sending n more bytes at the rate takes;
        clock = [start, bytes] of this direction (an idle spell earns no
        burst)."""
        with self.lock:
            rate = self._rate
        if not rate:
            return
        now = time.monotonic()
        if clock[1] / rate - (now - clock[0]) < -0.5:
            clock[0], clock[1] = now, 0
        clock[1] += n
        ahead = clock[1] / rate - (now - clock[0])
        if ahead > 0:
            time.sleep(ahead)


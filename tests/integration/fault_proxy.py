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
proxy.swallowed counts the frames thrown away.
"""

import socket
import struct
import threading
import time

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

    # -- internals ---------------------------------------------------------
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

    def _pump(self, src, dst, down):
        clock = [time.monotonic(), 0]
        try:
            while True:
                nb = self._read_exact(src, 4)
                if nb is None:
                    break
                n = nb[1] << 16 | nb[2] << 8 | nb[3]
                frame = self._read_exact(src, n)
                if frame is None:
                    break
                if not self._pass(down):
                    continue
                if down:
                    self._maybe_flip(frame)
                self._pace(clock, 4 + n)
                dst.sendall(bytes(nb) + bytes(frame))
        except OSError:
            pass
        self._close_both(src, dst)

    def _pump_up(self, c, u):
        self._pump(c, u, False)

    def _pump_down(self, u, c):
        self._pump(u, c, True)

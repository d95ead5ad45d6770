"""A TCP proxy between smb2fs and a real smbd that can flip one byte in a
reply: the attacker on the path of issue 8 ("a byte flipped in an
encrypted reply is an error, not data").

    proxy = TamperProxy(srv).start()     # listens on 127.0.0.1:proxy.port
    m = mount_factory(proxy, ...)         # mounts through it (same unc,
                                          # passwords, another port)
    proxy.arm(kind="sealed", min_len=65536)
    ... read; proxy.flipped says how many frames were changed ...
    proxy.stop()

Bytes are copied a direct-TCP frame (a zero byte, a 24-bit length) at a
time, both ways; while armed, the next server -> client frame that matches
has one byte flipped, then the proxy disarms:

  kind="sealed"  an encrypted frame (TRANSFORM_HEADER, ProtocolId
                 0xFD 'S' 'M' 'B') of at least min_len bytes; the byte is
                 in the ciphertext, near the end (READ data)
  kind="signed"  a plain SMB2 READ reply (0xFE 'S' 'M' 'B', command 8,
                 STATUS_SUCCESS) of at least min_len bytes; the byte is in
                 its data, near the end

Every connection smb2fs makes (a reconnect too) goes through the proxy;
proxy.connections counts them (proxy.connected_at: when each came).
fault_proxy.FaultProxy adds faults (blackhole, delay, drop, cut).
"""

import socket
import struct
import threading
import time


class TamperProxy:
    def __init__(self, server, host="127.0.0.1"):
        self.server = server
        self.host = host
        self.port = None           # chosen by the kernel in start()
        self.lock = threading.Lock()
        self.armed = None          # (kind, min_len) while armed
        self.flipped = 0
        self.flipped_at = []       # (frame length, offset) of each flip
        self.connections = 0
        self.connected_at = []     # time.monotonic() of each connection
        self._stop = threading.Event()
        self._socks = []
        self._lsock = None
        self._thread = None

    # what mount_factory reads from a server
    @property
    def passwords(self):
        return self.server.passwords

    @property
    def password(self):
        return self.server.password

    def unc(self, share="share"):
        return self.server.unc(share)

    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, 0))    # no race with other test runs for a port
        self.port = s.getsockname()[1]
        s.listen(8)
        s.settimeout(0.2)
        self._lsock = s
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        with self.lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        if self._thread:
            self._thread.join(5)
        if self._lsock:
            self._lsock.close()

    def arm(self, kind="sealed", min_len=65536):
        assert kind in ("sealed", "signed")
        with self.lock:
            self.armed = (kind, min_len)

    # -- internals -----------------------------------------------------
    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                c, _ = self._lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                u = socket.create_connection((self.server.host, self.server.port), 5)
            except OSError:
                c.close()
                continue
            for s in (c, u):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
                self.connected_at.append(time.monotonic())
                self._socks += [c, u]
            threading.Thread(target=self._pump_up, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(u, c), daemon=True).start()

    @staticmethod
    def _close_both(a, b):
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _pump_up(self, c, u):
        self._pump(c, u, False)

    def _pump_down(self, u, c):
        self._pump(u, c, True)

    # hooks of _pump (fault_proxy.FaultProxy's faults)
    def _pass(self, down):
        """Whether a frame read now goes on."""
        return True

    def _pace(self, clock, n):
        """Waits before n more bytes go on; clock = [start, bytes] of this
        direction of this connection."""

    @staticmethod
    def _read_exact(s, n):
        buf = bytearray()
        while len(buf) < n:
            b = s.recv(n - len(buf))
            if not b:
                return None
            buf += b
        return buf

    def _maybe_flip(self, frame):
        with self.lock:
            armed = self.armed
        if not armed:
            return
        kind, min_len = armed
        n = len(frame)
        if n < max(min_len, 200):
            return
        if kind == "sealed":
            if frame[:4] != b"\xfdSMB":
                return
        else:
            if frame[:4] != b"\xfeSMB":
                return
            command, = struct.unpack_from("<H", frame, 12)
            status, = struct.unpack_from("<I", frame, 8)
            if command != 8 or status != 0:
                return
        off = n - 100   # in the READ data (and, sealed, in the ciphertext)
        frame[off] ^= 0x10
        with self.lock:
            self.armed = None
            self.flipped += 1
            self.flipped_at.append((n, off))

    def _pump(self, src, dst, down):
        """Copies src to dst a direct-TCP frame at a time (down: server to
        client, where frames may be flipped)."""
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

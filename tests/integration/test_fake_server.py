"""The scripted fake SMB2 server: self-checks with a raw client (no smb2fs
needed) and smb2fs against its hostile modes."""

import socket
import struct

import pytest

import fake_smb2_server as F
import smbenv


class RawClient:
    """Minimal SMB2 client: enough to drive the fake server."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.mid = 0
        self.session_id = 0

    def close(self):
        self.sock.close()

    def request(self, command, body, tree_id=0):
        hdr = struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 1, 0, command,
                          31, 0, 0, self.mid, 0, tree_id, self.session_id,
                          b"\0" * 16)
        self.mid += 1
        pkt = hdr + body
        self.sock.sendall(struct.pack(">I", len(pkt)) + pkt)
        return self.response()

    def response(self):
        n = struct.unpack(">I", self._recv(4))[0] & 0xFFFFFF
        pkt = self._recv(n)
        return F.parse_header(pkt), pkt

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            c = self.sock.recv(n - len(buf))
            if not c:
                raise ConnectionError("closed")
            buf += c
        return buf

    def negotiate(self, dialects=(0x0202, 0x0210, 0x0300, 0x0302, 0x0311)):
        body = struct.pack("<HHHHI16sIHH", 36, len(dialects), 1, 0, 0,
                           b"\x11" * 16, 0, 0, 0)
        body += struct.pack("<%dH" % len(dialects), *dialects)
        return self.request(F.NEGOTIATE, body)

    def session_setup(self, token):
        body = struct.pack("<HBBIIHHQ", 25, 0, 1, 0, 0, 64 + 24, len(token),
                           0) + token
        return self.request(F.SESSION_SETUP, body)


def _secbuf(pkt, off_field, len_field):
    off = struct.unpack_from("<H", pkt, off_field)[0]
    ln = struct.unpack_from("<H", pkt, len_field)[0]
    return pkt[off:off + ln]


def _ntlm_negotiate():
    return b"NTLMSSP\0" + struct.pack("<IIHHIHHI", 1, 0xE2088297, 0, 0, 0,
                                      0, 0, 0)


def _ntlm_authenticate(user="alice", domain="", nt=b"\0" * 24):
    u, d = user.encode("utf-16-le"), domain.encode("utf-16-le")
    base = 64
    payload = d + u + nt
    fields = struct.pack("<HHI", 0, 0, base)                       # LM
    fields += struct.pack("<HHI", len(nt), len(nt), base + len(d) + len(u))
    fields += struct.pack("<HHI", len(d), len(d), base)            # domain
    fields += struct.pack("<HHI", len(u), len(u), base + len(d))   # user
    fields += struct.pack("<HHI", 0, 0, base)                      # wks
    fields += struct.pack("<HHI", 0, 0, base)                      # key
    msg = b"NTLMSSP\0" + struct.pack("<I", 3) + fields + \
        struct.pack("<I", 0x60088215)
    msg += b"\0" * (base - len(msg))
    return msg + payload


def test_raw_client_walks_to_tree_connect_denied(fake_server):
    srv = fake_server()
    c = RawClient(srv.port)
    try:
        h, pkt = c.negotiate()
        assert h["status"] == 0 and h["flags"] & 1 and h["credits"] == 32
        assert struct.unpack_from("<HHH", pkt, 64) == (65, 1, 0x0210)
        blob = _secbuf(pkt, 64 + 56, 64 + 58)
        assert blob.startswith(b"\x60") and F.NTLMSSP_OID in blob

        h, pkt = c.session_setup(F.der(0x60, F.SPNEGO_OID + b"\xa0\x00") +
                                 _ntlm_negotiate())
        assert h["status"] == F.STATUS_MORE_PROCESSING_REQUIRED
        assert h["session_id"] != 0
        c.session_id = h["session_id"]
        blob = _secbuf(pkt, 64 + 4, 64 + 6)
        assert blob.startswith(b"\xa1")
        chal = F.find_ntlmssp(blob)
        assert struct.unpack_from("<I", chal, 8)[0] == 2
        assert chal[24:32] == srv.server_challenge
        tl, _, toff = struct.unpack_from("<HHI", chal, 40)
        info = chal[toff:toff + tl]
        ids = []
        i = 0
        while i + 4 <= len(info):
            av, ln = struct.unpack_from("<HH", info, i)
            ids.append(av)
            i += 4 + ln
        assert ids[-1] == F.MSV_AV_EOL
        for want in (F.MSV_AV_NB_DOMAIN_NAME, F.MSV_AV_NB_COMPUTER_NAME,
                     F.MSV_AV_TIMESTAMP):
            assert want in ids

        h, pkt = c.session_setup(_ntlm_authenticate())
        assert h["status"] == 0 and h["session_id"] == c.session_id
        assert srv.auth_users[-1] == ("", "alice")

        path = "\\\\127.0.0.1\\x".encode("utf-16-le")
        h, pkt = c.request(F.TREE_CONNECT,
                           struct.pack("<HHHH", 9, 0, 72, len(path)) + path)
        assert h["status"] == 0xC00000CA
        assert struct.unpack_from("<H", pkt, 64)[0] == 9
        h, pkt = c.request(F.LOGOFF, struct.pack("<HH", 4, 0))
        assert h["status"] == 0
    finally:
        c.close()


@pytest.mark.parametrize("mode", F.HOSTILE_MODES)
def test_raw_client_hostile_modes_are_hostile(fake_server, mode):
    srv = fake_server(mode)
    c = RawClient(srv.port)
    try:
        h, pkt = c.negotiate()
        if mode == "truncated_negotiate":
            assert len(pkt) < 64 + 64
        elif mode == "bad_secbuf_offset":
            assert struct.unpack_from("<H", pkt, 64 + 56)[0] > len(pkt)
        elif mode == "secbuf_len_overflow":
            off, ln = struct.unpack_from("<HH", pkt, 64 + 56)
            assert off + ln > len(pkt)
        elif mode == "bad_dialect":
            assert struct.unpack_from("<H", pkt, 68)[0] == 0x0399
    finally:
        c.close()


@pytest.mark.skipif(not smbenv.which("smbclient"), reason="no smbclient")
def test_smbclient_accepts_fake_server(fake_server):
    """An independent client (Samba's) gets through NTLMSSP and signed
    TREE_CONNECT and reports the scripted status."""
    import subprocess
    srv = fake_server(password="pw")
    r = subprocess.run([smbenv.which("smbclient"), "-s", "/dev/null", "-p",
                        str(srv.port), "//127.0.0.1/x", "-U", "alice%pw",
                        "-m", "SMB2_10", "-c", "ls"],
                       capture_output=True, text=True, timeout=30)
    assert "NT_STATUS_NETWORK_ACCESS_DENIED" in r.stdout + r.stderr


# ---------------------------------------------------------------------------
# smb2fs against the fake server


@pytest.mark.parametrize("foreground", [True, False], ids=["fg", "daemon"])
def test_network_access_denied_message(fake_server, run_smb2fs, foreground):
    srv = fake_server(password="pw")
    r = run_smb2fs("//127.0.0.1/x", options=["port=%d" % srv.port],
                   password="pw", foreground=foreground)
    assert r.returncode != 0
    assert len(r.lines) == 1, r.stderr
    line = r.lines[0]
    assert line.startswith("smb2fs: cannot connect to \\\\127.0.0.1\\x: "), \
        line
    assert line.endswith("(STATUS_NETWORK_ACCESS_DENIED)"), line
    assert "network-level restriction" in line
    assert "TREE_CONNECT" in srv.commands()


@pytest.mark.parametrize("mode", F.HOSTILE_MODES)
def test_hostile_negotiate_fails_cleanly(fake_server, run_smb2fs, mode):
    srv = fake_server(mode)
    r = run_smb2fs("//127.0.0.1/x", options=["port=%d" % srv.port],
                   password="pw", timeout=60)
    assert r.returncode != 0, r
    assert len(r.lines) == 1, r.stderr
    assert r.lines[0].startswith("smb2fs: "), r.stderr
    assert "127.0.0.1" in r.lines[0]
    # it must not have gone on to authenticate after a bogus NEGOTIATE
    assert "TREE_CONNECT" not in srv.commands()


def test_fake_server_logon_failure(fake_server, run_smb2fs):
    srv = fake_server(password="right", check_password=True)
    r = run_smb2fs("//127.0.0.1/x", options=["port=%d" % srv.port],
                   password="wrong")
    assert r.returncode != 0
    assert len(r.lines) == 1, r.stderr
    assert "STATUS_LOGON_FAILURE" in r.lines[0]
    assert "'alice'" in r.lines[0]

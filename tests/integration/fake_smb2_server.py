"""A tiny scripted SMB2 server for tests (pure Python stdlib).

It speaks just enough SMB 2.1 to get a client through
NEGOTIATE -> SESSION_SETUP (NTLMSSP in SPNEGO, two legs) -> TREE_CONNECT,
and then answers TREE_CONNECT with a configurable status
(default STATUS_NETWORK_ACCESS_DENIED), which a real Samba cannot easily be
made to return.  Authentication is NOT verified unless check_password is
set: any AUTHENTICATE message is accepted.  SecurityMode says "signing
enabled" (not required) unless "security_mode" says otherwise.

Signing: when the server is given the user's password it derives the
NTLMv2 session key (decrypting the client's EncryptedRandomSessionKey) and,
on SMB 2.x, signs EVERY reply from the final SESSION_SETUP reply on
(MS-SMB2 3.3.4.1.1 lets it), so a client that signs by default accepts it.
Without the password it cannot sign anything, and "sign": False turns
signing off on purpose (an attacker without the key).  SMB 3.0.2 and 3.1.1
(with the SHA-512 preauth context) are spoken only as far as NEGOTIATE and
SESSION_SETUP: enough for the guest-flag tests; 3.x signing (AES-CMAC /
the KDF) is not implemented.

Behaviour is chosen by a *mode* (see MODES).  Each mode is a dict of
overrides; later tests can add hostile replies by adding entries:

    "tree_status":      NTSTATUS for TREE_CONNECT (None = success)
    "session_status":   NTSTATUS for the final SESSION_SETUP leg (None = ok)
    "negotiate":        callable(server, conn, hdr, body) -> bytes | None
                        replaces the NEGOTIATE response *payload* (header
                        included); use it to send malformed replies.
    "close_after_negotiate": drop the connection after answering NEGOTIATE.
    "fs":               after a successful TREE_CONNECT (tree id 7, DISK),
                        serve a tiny read-only share (see FS_TREE below):
                        CREATE / CLOSE / QUERY_DIRECTORY (FileIdBoth...) /
                        QUERY_INFO (FsFullSize, NetworkOpen, All) / READ;
                        anything else gets STATUS_NOT_SUPPORTED.
    "reparse":          with "fs": the root also holds "lnk" and "dlnk",
                        symlinks kept as reparse points (as Windows keeps
                        them; see FS_REPARSE): a CREATE without
                        FILE_OPEN_REPARSE_POINT gets STATUS_STOPPED_ON_SYMLINK,
                        IOCTL FSCTL_GET_REPARSE_POINT their reparse data.
    "hostile":          with "fs": the ONE reply to break once the mount is
                        up (see FS_HOSTILE_MODES); everything else stays
                        valid so the client can be checked for recovery.

Trust knobs (mode keys; FakeSMB2Server(**kw) sets them too):

    "sign":             True (default): sign every reply after SESSION_SETUP
                        when the key is known; False: never sign.
    "security_mode":    NEGOTIATE SecurityMode (1 = signing enabled, 3 =
                        signing required).
    "session_flags":    SessionFlags of the final SESSION_SETUP reply
                        (1 = IS_GUEST, 2 = IS_NULL) whatever the client sent.
    "server_guid":      16 bytes; default: one random GUID per server (the
                        same on every connection, as a real server).
    "mech_list_mic":    None (no mechListMIC in the final NegTokenResp),
                        "wrong" (16 random bytes) or "right" (MS-NLMP
                        3.4.4.2 signature over the client's mechTypes).
    "trigger":          what to do with the FIRST CREATE of "f" (once per
                        server, i.e. after the mount is up):
                        "drop"            close the connection, no reply;
                        ("forge", STATUS) answer it with an UNSIGNED error
                                          STATUS (a forged session-gone);
                        "pend_signed"     interim STATUS_PENDING replies
                                          (signed) every 0.3 s, never a
                                          final reply;
                        "pend_unsigned"   the same, unsigned.
    "after_reconnect":  dict of these keys (and "dialect") that apply from
                        the second connection on: a server that comes back
                        weaker after the trigger.

Every connection is recorded in FakeSMB2Server.conns (ConnRecord): the
commands in order, SESSION_SETUP PreviousSessionIds, the SessionId given,
when it opened / closed, when the trigger fired and which commands came
after it.

References: MS-SMB2 2.2.1.2 (sync header), 2.2.4 (NEGOTIATE response),
2.2.6 (SESSION_SETUP response), 2.2.10 (TREE_CONNECT response),
2.2.2 (ERROR response); MS-NLMP 2.2.1.2 (CHALLENGE_MESSAGE), 2.2.2.1
(AV_PAIR); RFC 4178 (SPNEGO NegTokenInit/NegTokenResp).

Usage as a script (prints "PORT <n>" when listening, runs until killed):

    python3 fake_smb2_server.py [--mode MODE] [--port N] [--tree-status HEX]
"""

import hashlib
import hmac
import os
import socket
import socketserver
import struct
import sys
import threading
import time
import uuid

# --- constants -------------------------------------------------------------

SMB2_MAGIC = b"\xfeSMB"

NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT = 0, 1, 2, 3, 4
ECHO, CANCEL = 13, 12
COMMAND_NAMES = {0: "NEGOTIATE", 1: "SESSION_SETUP", 2: "LOGOFF",
                 3: "TREE_CONNECT", 4: "TREE_DISCONNECT", 5: "CREATE",
                 6: "CLOSE", 7: "FLUSH", 8: "READ", 9: "WRITE", 10: "LOCK",
                 11: "IOCTL", 12: "CANCEL", 13: "ECHO",
                 14: "QUERY_DIRECTORY", 15: "CHANGE_NOTIFY", 16: "QUERY_INFO",
                 17: "SET_INFO", 18: "OPLOCK_BREAK"}

STATUS_SUCCESS = 0x00000000
STATUS_MORE_PROCESSING_REQUIRED = 0xC0000016
STATUS_NOT_SUPPORTED = 0xC00000BB
STATUS_NETWORK_ACCESS_DENIED = 0xC00000CA
STATUS_BAD_NETWORK_NAME = 0xC00000CC
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_LOGON_FAILURE = 0xC000006D
STATUS_USER_SESSION_DELETED = 0xC0000203
STATUS_NO_MORE_FILES = 0x80000006
STATUS_END_OF_FILE = 0xC0000011
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_OBJECT_NAME_NOT_FOUND = 0xC0000034
STATUS_FILE_CLOSED = 0xC0000128
STATUS_NOT_A_DIRECTORY = 0xC0000103
STATUS_FILE_IS_A_DIRECTORY = 0xC00000BA
STATUS_MEDIA_WRITE_PROTECTED = 0xC00000A2
STATUS_PENDING = 0x00000103
STATUS_NETWORK_SESSION_EXPIRED = 0xC000035C
STATUS_STOPPED_ON_SYMLINK = 0x8000002D
STATUS_NOT_A_REPARSE_POINT = 0xC0000275

SMB2_FLAGS_ASYNC_COMMAND = 0x00000002
SMB2_FLAGS_SIGNED = 0x00000008
SMB2_FLAGS_RELATED_OPERATIONS = 0x00000004
# where each command that names an open keeps its FileId (body offset)
FILEID_OFFSET = {6: 8, 7: 8, 8: 16, 9: 16, 11: 8, 14: 8, 16: 24, 17: 16}
RELATED_FID = b"\xff" * 16
SMB2_SESSION_FLAG_IS_GUEST = 0x0001
SMB2_SESSION_FLAG_IS_NULL = 0x0002
SMB2_NEGOTIATE_SIGNING_ENABLED = 0x0001
SMB2_NEGOTIATE_SIGNING_REQUIRED = 0x0002

CREATE, CLOSE, READ, QUERY_DIRECTORY, QUERY_INFO = 5, 6, 8, 14, 16
IOCTL = 11

FLAGS_SERVER_TO_REDIR = 0x00000001
CREDITS_GRANTED = 32

SPNEGO_OID = b"\x06\x06\x2b\x06\x01\x05\x05\x02"                  # 1.3.6.1.5.5.2
NTLMSSP_OID = b"\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"  # 1.3.6.1.4.1.311.2.2.10

# NTLMSSP negotiate flags (MS-NLMP 2.2.2.5)
NTLMSSP_NEGOTIATE_UNICODE = 0x00000001
NTLMSSP_REQUEST_TARGET = 0x00000004
NTLMSSP_NEGOTIATE_SIGN = 0x00000010
NTLMSSP_NEGOTIATE_SEAL = 0x00000020
NTLMSSP_NEGOTIATE_NTLM = 0x00000200
NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000
NTLMSSP_TARGET_TYPE_SERVER = 0x00020000
NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000
NTLMSSP_NEGOTIATE_VERSION = 0x02000000
NTLMSSP_NEGOTIATE_128 = 0x20000000
NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000
NTLMSSP_NEGOTIATE_56 = 0x80000000

CHALLENGE_FLAGS = (NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET |
                   NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_NTLM |
                   NTLMSSP_NEGOTIATE_ALWAYS_SIGN | NTLMSSP_TARGET_TYPE_SERVER |
                   NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
                   NTLMSSP_NEGOTIATE_TARGET_INFO | NTLMSSP_NEGOTIATE_VERSION |
                   NTLMSSP_NEGOTIATE_128 | NTLMSSP_NEGOTIATE_KEY_EXCH |
                   NTLMSSP_NEGOTIATE_56)

# AV_PAIR ids (MS-NLMP 2.2.2.1)
MSV_AV_EOL = 0
MSV_AV_NB_COMPUTER_NAME = 1
MSV_AV_NB_DOMAIN_NAME = 2
MSV_AV_DNS_COMPUTER_NAME = 3
MSV_AV_DNS_DOMAIN_NAME = 4
MSV_AV_TIMESTAMP = 7

SERVER_NAME = "FAKESRV"
DOMAIN_NAME = "FAKEDOM"


def filetime_now():
    return int((time.time() + 11644473600) * 10_000_000)


# --- ASN.1 DER (just enough for SPNEGO) -----------------------------------

def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def spnego_neg_token_init():
    """GSS-API InitialContextToken wrapping a NegTokenInit offering NTLMSSP."""
    mech_types = der(0xA0, der(0x30, NTLMSSP_OID))
    neg_token_init = der(0xA0, der(0x30, mech_types))
    return der(0x60, SPNEGO_OID + neg_token_init)


def spnego_neg_token_resp(neg_state, supported_mech=False, token=None,
                          mech_list_mic=None):
    """NegTokenResp: neg_state 0=accept-completed, 1=accept-incomplete."""
    fields = der(0xA0, der(0x0A, bytes([neg_state])))
    if supported_mech:
        fields += der(0xA1, NTLMSSP_OID)
    if token is not None:
        fields += der(0xA2, der(0x04, token))
    if mech_list_mic is not None:
        fields += der(0xA3, der(0x04, mech_list_mic))
    return der(0xA1, der(0x30, fields))


def der_read(buf, pos=0):
    """(tag, value, next_pos) of the DER TLV at pos; raises ValueError."""
    if pos + 2 > len(buf):
        raise ValueError("short DER")
    tag, n = buf[pos], buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4 or pos + k > len(buf):
            raise ValueError("bad DER length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        raise ValueError("DER value past end")
    return tag, buf[pos:pos + n], pos + n


def der_fields(seq_value):
    """{tag: (value, raw TLV)} of the TLVs in a constructed value."""
    out = {}
    pos = 0
    while pos < len(seq_value):
        tag, val, nxt = der_read(seq_value, pos)
        out[tag] = (val, seq_value[pos:nxt])
        pos = nxt
    return out


def spnego_parse_client_token(blob):
    """The parts of a client's SPNEGO token we care about:
    {"kind": "init"|"resp"|"raw", "mech_types": DER of the MechTypeList
    (NegTokenInit only), "token": the NTLMSSP message, "mic": mechListMIC
    or None}.  Falls back to a search for "NTLMSSP" on anything odd."""
    res = {"kind": "raw", "mech_types": None, "token": find_ntlmssp(blob),
           "mic": None}
    try:
        tag, val, _ = der_read(blob)
        if tag == 0x60:      # InitialContextToken: OID, [0] NegTokenInit
            f = der_fields(val)
            inner = f[0xA0][0]
            _, seq, _ = der_read(inner)
            res["kind"] = "init"
        elif tag == 0xA1:    # NegTokenResp
            _, seq, _ = der_read(val)
            res["kind"] = "resp"
        else:
            return res
        f = der_fields(seq)
        if res["kind"] == "init" and 0xA0 in f:
            res["mech_types"] = f[0xA0][0]     # the SEQUENCE OF OID, as sent
        if 0xA2 in f:
            _, tok, _ = der_read(f[0xA2][0])
            res["token"] = tok
        if 0xA3 in f:
            _, mic, _ = der_read(f[0xA3][0])
            res["mic"] = mic
    except (ValueError, KeyError):
        pass
    return res


def find_ntlmssp(blob):
    """The NTLMSSP message inside a (possibly SPNEGO-wrapped) token."""
    i = blob.find(b"NTLMSSP\0")
    return blob[i:] if i >= 0 else b""


# --- NTLMSSP ---------------------------------------------------------------

def av_pair(av_id, value):
    return struct.pack("<HH", av_id, len(value)) + value


def ntlm_target_info(timestamp=None):
    u = lambda s: s.encode("utf-16-le")  # noqa: E731
    return (av_pair(MSV_AV_NB_DOMAIN_NAME, u(DOMAIN_NAME)) +
            av_pair(MSV_AV_NB_COMPUTER_NAME, u(SERVER_NAME)) +
            av_pair(MSV_AV_DNS_DOMAIN_NAME, u(DOMAIN_NAME.lower() + ".test")) +
            av_pair(MSV_AV_DNS_COMPUTER_NAME,
                    u(SERVER_NAME.lower() + "." + DOMAIN_NAME.lower()
                      + ".test")) +
            av_pair(MSV_AV_TIMESTAMP,
                    struct.pack("<Q", timestamp or filetime_now())) +
            av_pair(MSV_AV_EOL, b""))


def ntlm_challenge(server_challenge, flags=CHALLENGE_FLAGS):
    """CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2)."""
    target_name = DOMAIN_NAME.encode("utf-16-le")
    target_info = ntlm_target_info()
    header_len = 56  # 8 sig + 4 type + 8 name + 4 flags + 8 chal + 8 rsvd
    #                  + 8 info fields + 8 version
    name_off = header_len
    info_off = name_off + len(target_name)
    version = struct.pack("<BBH3sB", 10, 0, 19041, b"\0\0\0", 15)
    msg = (b"NTLMSSP\0" + struct.pack("<I", 2) +
           struct.pack("<HHI", len(target_name), len(target_name), name_off) +
           struct.pack("<I", flags) + server_challenge + b"\0" * 8 +
           struct.pack("<HHI", len(target_info), len(target_info), info_off) +
           version)
    assert len(msg) == header_len
    return msg + target_name + target_info


# --- NTLMv2 session key + SMB 2.x signing ---------------------------------
# Only needed so that a client which signs the session (as smbclient and
# most clients do when the server offers signing) accepts our replies.
# MD4 is not available from hashlib on OpenSSL 3 without the legacy
# provider, so here is a small pure-Python one (RFC 1320).

def _md4(data):
    def lrot(x, n):
        x &= 0xFFFFFFFF
        return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF
    msg = bytearray(data)
    bitlen = (8 * len(data)) & 0xFFFFFFFFFFFFFFFF
    msg.append(0x80)
    while len(msg) % 64 != 56:
        msg.append(0)
    msg += struct.pack("<Q", bitlen)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off:off + 64])
        aa, bb, cc, dd = a, b, c, d
        f = lambda x_, y, z: (x_ & y) | (~x_ & z)  # noqa: E731
        g = lambda x_, y, z: (x_ & y) | (x_ & z) | (y & z)  # noqa: E731
        h = lambda x_, y, z: x_ ^ y ^ z  # noqa: E731
        for i in range(16):
            k = i
            s = (3, 7, 11, 19)[i % 4]
            if i % 4 == 0:
                a = lrot(a + f(b, c, d) + x[k], s)
            elif i % 4 == 1:
                d = lrot(d + f(a, b, c) + x[k], s)
            elif i % 4 == 2:
                c = lrot(c + f(d, a, b) + x[k], s)
            else:
                b = lrot(b + f(c, d, a) + x[k], s)
        for i in range(16):
            k = (i % 4) * 4 + i // 4
            s = (3, 5, 9, 13)[i % 4]
            t = 0x5A827999
            if i % 4 == 0:
                a = lrot(a + g(b, c, d) + x[k] + t, s)
            elif i % 4 == 1:
                d = lrot(d + g(a, b, c) + x[k] + t, s)
            elif i % 4 == 2:
                c = lrot(c + g(d, a, b) + x[k] + t, s)
            else:
                b = lrot(b + g(c, d, a) + x[k] + t, s)
        order = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)
        for i in range(16):
            k = order[i]
            s = (3, 9, 11, 15)[i % 4]
            t = 0x6ED9EBA1
            if i % 4 == 0:
                a = lrot(a + h(b, c, d) + x[k] + t, s)
            elif i % 4 == 1:
                d = lrot(d + h(a, b, c) + x[k] + t, s)
            elif i % 4 == 2:
                c = lrot(c + h(d, a, b) + x[k] + t, s)
            else:
                b = lrot(b + h(c, d, a) + x[k] + t, s)
        a = (a + aa) & 0xFFFFFFFF
        b = (b + bb) & 0xFFFFFFFF
        c = (c + cc) & 0xFFFFFFFF
        d = (d + dd) & 0xFFFFFFFF
    return struct.pack("<4I", a, b, c, d)


def _rc4(key, data):
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) & 0xFF])
    return bytes(out)


def _hmac_md5(key, data):
    return hmac.new(key, data, hashlib.md5).digest()


def _field(msg, off):
    ln, _mx, o = struct.unpack_from("<HHI", msg, off)
    return msg[o:o + ln]


def parse_authenticate(msg):
    """Fields of an NTLMSSP AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3)."""
    return {
        "nt_response": _field(msg, 20),
        "domain": _field(msg, 28).decode("utf-16-le", "replace"),
        "user": _field(msg, 36).decode("utf-16-le", "replace"),
        "workstation": _field(msg, 44).decode("utf-16-le", "replace"),
        "enc_session_key": _field(msg, 52),
        "flags": struct.unpack_from("<I", msg, 60)[0],
    }


def ntlmv2_session_key(auth, password, server_challenge):
    """(proof_ok, exported_session_key) for an NTLMv2 AUTHENTICATE."""
    nt = auth["nt_response"]
    if len(nt) < 24:
        return False, None
    nt_hash = _md4(password.encode("utf-16-le"))
    key = _hmac_md5(nt_hash, (auth["user"].upper() + auth["domain"])
                    .encode("utf-16-le"))
    proof = _hmac_md5(key, server_challenge + nt[16:])
    ok = hmac.compare_digest(proof, nt[:16])
    base = _hmac_md5(key, proof)
    if auth["flags"] & NTLMSSP_NEGOTIATE_KEY_EXCH and \
            len(auth["enc_session_key"]) == 16:
        return ok, _rc4(base, auth["enc_session_key"])
    return ok, base


NTLM_C2S_SIGN = b"session key to client-to-server signing key magic constant\0"
NTLM_S2C_SIGN = b"session key to server-to-client signing key magic constant\0"
NTLM_C2S_SEAL = b"session key to client-to-server sealing key magic constant\0"
NTLM_S2C_SEAL = b"session key to server-to-client sealing key magic constant\0"


def ntlm_sign(exported_key, data, seq=0, server=True, key_exch=True):
    """MS-NLMP 3.4.4.2 (extended session security) signature of data with
    sequence number seq, as the server (server=True) or the client sends
    it: 01000000 || checksum (RC4-sealed with KEY_EXCH) || seq.  Only valid
    as the FIRST use of that direction's RC4 handle (a mechListMIC is)."""
    sign_key = hashlib.md5(exported_key + (NTLM_S2C_SIGN if server
                                           else NTLM_C2S_SIGN)).digest()
    seal_key = hashlib.md5(exported_key + (NTLM_S2C_SEAL if server
                                           else NTLM_C2S_SEAL)).digest()
    seqb = struct.pack("<I", seq)
    checksum = _hmac_md5(sign_key, seqb + data)[:8]
    if key_exch:
        checksum = _rc4(seal_key, checksum)
    return struct.pack("<I", 1) + checksum + seqb


def smb2_sign(payload, session_key):
    """SMB 2.0.2/2.1 signing: HMAC-SHA256 over the message, first 16 bytes
    into the header's Signature field (MS-SMB2 3.1.4.1)."""
    msg = bytearray(payload)
    flags = struct.unpack_from("<I", msg, 16)[0] | 0x00000008  # SIGNED
    struct.pack_into("<I", msg, 16, flags)
    msg[48:64] = b"\0" * 16
    sig = hmac.new(session_key, bytes(msg), hashlib.sha256).digest()[:16]
    msg[48:64] = sig
    return bytes(msg)


# --- SMB2 framing ----------------------------------------------------------

HDR = struct.Struct("<4sHHIHHIIQIIQ16s")  # 64 bytes
assert HDR.size == 64


def parse_header(pkt):
    (magic, size, credit_charge, status, command, credits, flags, next_cmd,
     message_id, reserved, tree_id, session_id, sig) = HDR.unpack_from(pkt)
    return {"magic": magic, "command": command, "status": status,
            "credits": credits, "flags": flags, "next": next_cmd,
            "message_id": message_id, "tree_id": tree_id,
            "session_id": session_id, "credit_charge": credit_charge}


def make_header(req, status, session_id=None, tree_id=None, command=None):
    return HDR.pack(SMB2_MAGIC, 64, req.get("credit_charge", 0), status,
                    req["command"] if command is None else command,
                    CREDITS_GRANTED, FLAGS_SERVER_TO_REDIR, 0,
                    req["message_id"], 0,
                    req["tree_id"] if tree_id is None else tree_id,
                    req["session_id"] if session_id is None else session_id,
                    b"\0" * 16)


def make_async_header(req, status, session_id, async_id):
    """ASYNC header (MS-SMB2 2.2.1.1): flags | ASYNC_COMMAND and the AsyncId
    at offset 32 in place of Reserved/TreeId."""
    hdr = bytearray(make_header(req, status, session_id=session_id))
    struct.pack_into("<I", hdr, 16,
                     FLAGS_SERVER_TO_REDIR | SMB2_FLAGS_ASYNC_COMMAND)
    struct.pack_into("<Q", hdr, 32, async_id)
    return bytes(hdr)


def error_body():
    # StructureSize 9, ErrorContextCount 0, Reserved 0, ByteCount 0,
    # ErrorData: one zero byte (counted by StructureSize 9).
    return struct.pack("<HBBI", 9, 0, 0, 0) + b"\0"


def frame(payload):
    """Direct-TCP transport header: 0x00 + 24-bit big-endian length."""
    return struct.pack(">I", len(payload)) + payload


def negotiate_contexts_311(signing_alg=1):
    """3.1.1 negotiate contexts (MS-SMB2 2.2.3.1): SHA-512 preauth integrity
    with a 32-byte salt, and signing capabilities choosing signing_alg
    (0 HMAC-SHA256, 1 AES-CMAC; None = no signing context).  Each context
    is padded to 8 bytes; returns (count, bytes)."""
    ctxs = []
    data = struct.pack("<HHH", 1, 32, 0x0001) + bytes(range(32))
    ctxs.append(struct.pack("<HHI", 0x0001, len(data), 0) + data)
    if signing_alg is not None:
        data = struct.pack("<HH", 1, signing_alg)
        ctxs.append(struct.pack("<HHI", 0x0008, len(data), 0) + data)
    return len(ctxs), b"".join(pad8(c) for c in ctxs)


def negotiate_body(dialect, security_blob, sec_offset=None, sec_len=None,
                   security_mode=0x0001, server_guid=None, contexts=None):
    """NEGOTIATE response body (MS-SMB2 2.2.4), buffer right after it;
    contexts=(count, bytes) are appended 8-aligned after the buffer."""
    off = 64 + 64 if sec_offset is None else sec_offset
    ln = len(security_blob) if sec_len is None else sec_len
    now = filetime_now()
    ctx_count, ctx_bytes = contexts or (0, b"")
    ctx_off = 0
    tail = security_blob
    if ctx_count:
        tail = security_blob + b"\0" * (-(128 + len(security_blob)) % 8)
        ctx_off = 128 + len(tail)
        tail += ctx_bytes
    body = struct.pack("<HHHH16sIIIIQQHHI", 65, security_mode, dialect,
                       ctx_count, server_guid or uuid.uuid4().bytes_le,
                       0x00000001 | 0x00000004,  # DFS | LARGE_MTU
                       8 * 1024 * 1024, 8 * 1024 * 1024, 8 * 1024 * 1024,
                       now, now - 10_000_000 * 3600, off, ln, ctx_off)
    assert len(body) == 64
    return body + tail


# --- hostile negotiate replies --------------------------------------------

def _neg_truncated(server, conn, req, body):
    """A NEGOTIATE response cut off in the middle of its fixed part (the
    transport length matches what is sent, so the *SMB2* body is short)."""
    full = make_header(req, STATUS_SUCCESS) + negotiate_body(
        0x0210, spnego_neg_token_init())
    return full[:64 + 20]


def _neg_bad_secbuf_offset(server, conn, req, body):
    """SecurityBufferOffset/Length point far beyond the end of the packet."""
    blob = spnego_neg_token_init()
    return make_header(req, STATUS_SUCCESS) + negotiate_body(
        0x0210, blob, sec_offset=0xFF00, sec_len=len(blob))


def _neg_secbuf_len_overflow(server, conn, req, body):
    """Offset valid, but the length runs past the end of the packet."""
    blob = spnego_neg_token_init()
    return make_header(req, STATUS_SUCCESS) + negotiate_body(
        0x0210, blob, sec_len=0xFFFF)


def _neg_bad_dialect(server, conn, req, body):
    """A dialect the client never offered."""
    return make_header(req, STATUS_SUCCESS) + negotiate_body(
        0x0399, spnego_neg_token_init())


# --- a tiny share, for the modes that let a mount succeed -----------------
#
# MS-SMB2 2.2.13/2.2.14 (CREATE), 2.2.16 (CLOSE), 2.2.20 (READ), 2.2.34
# (QUERY_DIRECTORY), 2.2.38 (QUERY_INFO); MS-FSCC 2.4.17
# (FileIdBothDirectoryInformation), 2.4.29 (FileNetworkOpenInformation),
# 2.4.2 (FileAllInformation), 2.5.4 (FileFsFullSizeInformation).

FS_TREE_ID = 7
FILE_DATA = b"0123456789"
FT_FIXED = 133000000000000000  # 2022-06-17, a fixed FILETIME
ATTR_DIR, ATTR_ARCHIVE = 0x10, 0x20

# path (SMB form, share-relative, "" = root) -> (is_dir, data or children)
FS_TREE = {
    "": (True, ["f", "d", "bad", "gr\u00fc\u00dfe.txt"]),
    "f": (False, FILE_DATA),
    "d": (True, ["x"]),
    "d\\x": (False, b""),
    "bad": (False, b"never served"),
    "gr\u00fc\u00dfe.txt": (False, b""),
}

# "reparse" mode: name -> (target, is_dir), relative symlinks (MS-FSCC
# 2.1.2.4, IO_REPARSE_TAG_SYMLINK)
FS_REPARSE = {"lnk": ("f", False), "dlnk": ("d", True)}
ATTR_REPARSE = 0x400


def reparse_attrs(name):
    return ATTR_REPARSE | (ATTR_DIR if FS_REPARSE[name][1] else ATTR_ARCHIVE)


def symlink_reparse_data(target):
    """REPARSE_DATA_BUFFER of a relative symlink: substitute and print
    names both the target (UTF-16LE)."""
    t = target.encode("utf-16-le")
    body = struct.pack("<HHHHI", 0, len(t), len(t), len(t), 1) + t + t
    return struct.pack("<IHH", 0xA000000C, len(body), 0) + body


FS_FULL_SIZE = (1000000, 500000, 600000, 8, 512)  # units, caller, actual,
#                                                   sectors/unit, bytes/sector


def pad8(b):
    return b + b"\0" * (-len(b) % 8)


def fs_attrs(path):
    is_dir, data = FS_TREE[path]
    return ATTR_DIR if is_dir else ATTR_ARCHIVE, 0 if is_dir else len(data)


def create_rsp_body(attrs, eof, file_id):
    """CREATE response body (StructureSize 89), no create contexts."""
    return struct.pack("<HBBIQQQQQQIIQQII", 89, 0, 0, 1,  # FILE_OPENED
                       FT_FIXED, FT_FIXED, FT_FIXED, FT_FIXED,
                       (eof + 4095) & ~4095, eof, attrs, 0,
                       file_id[0], file_id[1], 0, 0)


def close_rsp_body():
    return struct.pack("<HHIQQQQQQI", 60, 0, 0, 0, 0, 0, 0, 0, 0, 0)


def id_both_dir_entry(name, attrs, eof, file_id):
    """One FileIdBothDirectoryInformation entry, NextEntryOffset 0."""
    n = name.encode("utf-16-le")
    e = struct.pack("<IIQQQQQQIIIBB24sHQ", 0, 0, FT_FIXED, FT_FIXED,
                    FT_FIXED, FT_FIXED, eof, (eof + 4095) & ~4095, attrs,
                    len(n), 0, 0, 0, b"\0" * 24, 0, file_id) + n
    assert len(e) == 104 + len(n)
    return e


def dir_listing(path, reparse=False):
    """The full listing of a directory: ".", "..", then its children,
    chained with 8-aligned NextEntryOffset."""
    entries = [id_both_dir_entry(".", ATTR_DIR, 0, 1),
               id_both_dir_entry("..", ATTR_DIR, 0, 2)]
    for i, child in enumerate(FS_TREE[path][1]):
        full = child if not path else path + "\\" + child
        attrs, eof = fs_attrs(full)
        entries.append(id_both_dir_entry(child, attrs, eof, 100 + i))
    if reparse and not path:
        for i, name in enumerate(sorted(FS_REPARSE)):
            entries.append(id_both_dir_entry(name, reparse_attrs(name), 0,
                                             200 + i))
    return chain_dir_entries(entries)


def chain_dir_entries(entries):
    """Joins directory entries with 8-aligned NextEntryOffset (MS-FSCC
    2.4): every entry but the last is padded and points at the next."""
    out = b""
    for i, e in enumerate(entries):
        if i < len(entries) - 1:
            e = pad8(e)
            e = struct.pack("<I", len(e)) + e[4:]
        out += e
    return out


def out_buffer_body(buf, off=64 + 8, length=None):
    """QUERY_DIRECTORY / QUERY_INFO response body (StructureSize 9)."""
    return struct.pack("<HHI", 9, off, len(buf) if length is None
                       else length) + buf


def read_rsp_body(data, data_len=None):
    return struct.pack("<HBBIII", 17, 64 + 16, 0,
                       len(data) if data_len is None else data_len, 0, 0) + \
        data


def network_open_info(attrs, eof):
    return struct.pack("<QQQQQQII", FT_FIXED, FT_FIXED, FT_FIXED, FT_FIXED,
                       (eof + 4095) & ~4095, eof, attrs, 0)


def file_all_info(path, attrs, eof):
    n = path.encode("utf-16-le")
    return (struct.pack("<QQQQII", FT_FIXED, FT_FIXED, FT_FIXED, FT_FIXED,
                        attrs, 0) +
            struct.pack("<QQIBBH", (eof + 4095) & ~4095, eof, 1, 0,
                        1 if attrs & ATTR_DIR else 0, 0) +
            struct.pack("<QIIQIII", 0x1000 + len(path), 0, 0x001F01FF, 0, 0,
                        0, len(n)) + n)


# Which reply each hostile mode breaks, and how (after the mount is up).
FS_HOSTILE = {
    # CREATE of "bad": StructureSize 88 instead of 89 (body otherwise valid)
    "create_bad_size": "CREATE 'bad': StructureSize 88",
    # CREATE of "bad": body cut off after 20 of its 88 fixed bytes
    "create_truncated": "CREATE 'bad': body truncated to 20 bytes",
    # QUERY_DIRECTORY of "d": first entry's NextEntryOffset past the buffer
    "dir_next_past_end": "QUERY_DIRECTORY 'd': NextEntryOffset past buffer",
    # QUERY_DIRECTORY of "d": OutputBufferLength runs past the message end
    "dir_outbuf_len_past_end": "QUERY_DIRECTORY 'd': OutputBufferLength "
                               "past end of message",
    # QUERY_DIRECTORY of "d": OutputBufferOffset beyond the message
    "dir_outbuf_off_past_end": "QUERY_DIRECTORY 'd': OutputBufferOffset "
                               "past end of message",
    # QUERY_DIRECTORY of "d": never STATUS_NO_MORE_FILES, the same valid
    # listing for ever
    "dir_endless": "QUERY_DIRECTORY 'd': listing never ends",
    # READ of "f": DataLength 100000 but only the 10 real bytes sent
    "read_len_past_end": "READ 'f': DataLength 100000, 10-byte buffer",
    # READ of "f": DataLength = asked + 4096, and that many bytes really sent
    "read_more_than_asked": "READ 'f': more data than the Length asked for",
    # statvfs' QUERY_INFO: two replies nobody asked for (MessageId +1000 and
    # an old, already answered one), then the real reply
    "stray_message_id": "QUERY_INFO: stray MessageIds before the reply",
    # first READ of "f": frame header + half the reply, then TCP close
    # (once; the reconnected session works)
    "close_mid_frame": "READ 'f': connection closed mid-frame (once)",
}
FS_HOSTILE_MODES = sorted(FS_HOSTILE)


MODES = {
    # the default: everything works up to TREE_CONNECT, which is refused
    "network_access_denied": {"tree_status": STATUS_NETWORK_ACCESS_DENIED},
    "bad_network_name": {"tree_status": STATUS_BAD_NETWORK_NAME},
    "logon_failure": {"session_status": STATUS_LOGON_FAILURE},
    # hostile replies
    "truncated_negotiate": {"negotiate": _neg_truncated},
    "bad_secbuf_offset": {"negotiate": _neg_bad_secbuf_offset},
    "secbuf_len_overflow": {"negotiate": _neg_secbuf_len_overflow},
    "bad_dialect": {"negotiate": _neg_bad_dialect},
    "close_after_negotiate": {"close_after_negotiate": True},
    # a share that works (smb2fs can mount it), and hostile variants
    "fs": {"tree_status": None, "fs": True},
    "fs_reparse": {"tree_status": None, "fs": True, "reparse": True},
}
for _h in FS_HOSTILE:
    MODES[_h] = {"tree_status": None, "fs": True, "hostile": _h}
# trust attacks on the working share (see the knobs in the module doc)
_FS = {"tree_status": None, "fs": True}
MODES.update({
    "guest_flag": dict(_FS, session_flags=SMB2_SESSION_FLAG_IS_GUEST),
    "null_flag": dict(_FS, session_flags=SMB2_SESSION_FLAG_IS_NULL),
    "unsigned": dict(_FS, sign=False),
    "mic_wrong": dict(_FS, mech_list_mic="wrong"),
    "mic_right": dict(_FS, mech_list_mic="right"),
    "forged_session_deleted": dict(
        _FS, trigger=("forge", STATUS_USER_SESSION_DELETED)),
    "forged_session_expired": dict(
        _FS, trigger=("forge", STATUS_NETWORK_SESSION_EXPIRED)),
    "pend_signed": dict(_FS, trigger="pend_signed"),
    "pend_unsigned": dict(_FS, trigger="pend_unsigned"),
    "drop_once": dict(_FS, trigger="drop"),
    "reconnect_dialect_202": dict(_FS, trigger="drop",
                                  after_reconnect={"dialect": 0x0202}),
    "reconnect_unsigned": dict(_FS, trigger="drop",
                               after_reconnect={"sign": False}),
    "reconnect_guest": dict(_FS, trigger="drop", after_reconnect={
        "session_flags": SMB2_SESSION_FLAG_IS_GUEST}),
    "reconnect_new_guid": dict(_FS, trigger="drop", after_reconnect={
        "server_guid": b"\x42" * 16}),
})
HOSTILE_MODES = ["truncated_negotiate", "bad_secbuf_offset",
                 "secbuf_len_overflow", "bad_dialect"]


# --- server ----------------------------------------------------------------

class _Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.request.settimeout(self.server.fake.idle_timeout)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def check_request_signature(self, req, raw):
        """Records, once the session is set up, each request that is not
        signed (ConnRecord.unsigned) or whose SMB 2.x signature does not
        verify with the session key (ConnRecord.bad_signatures)."""
        if self.legs != 2 or not req["session_id"] or \
                req["command"] in (NEGOTIATE, SESSION_SETUP, CANCEL):
            return
        fake = self.server.fake
        name = COMMAND_NAMES.get(req["command"], str(req["command"]))
        if not req["flags"] & SMB2_FLAGS_SIGNED:
            with fake._lock:
                self.rec.unsigned.append(name)
            return
        if self.session_key and self.dialect < 0x0300:
            msg = bytearray(raw)
            msg[48:64] = b"\0" * 16
            want = hmac.new(self.session_key, bytes(msg),
                            hashlib.sha256).digest()[:16]
            if not hmac.compare_digest(want, raw[48:64]):
                with fake._lock:
                    self.rec.bad_signatures.append(name)

    def opt(self, key, default=None):
        """A trust knob for this connection: "after_reconnect" overrides
        apply from the second connection on, then the mode, then default."""
        fake = self.server.fake
        later = fake.mode.get("after_reconnect") or {}
        if self.rec.index >= 2 and key in later:
            return later[key]
        return fake.mode.get(key, default)

    def handle(self):
        fake = self.server.fake
        fake._note("connect", None)
        # each reply of a compound goes out on its own: without this,
        # Nagle holds the second until the client's delayed ACK (40 ms)
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rec = fake._new_conn()
        self.session_id = 0
        self.legs = 0
        self.session_key = None
        self.signing_active = False    # sign every reply from now on
        self.closed = False
        self.send_mu = threading.Lock()
        self.dialect = self.opt("dialect", fake.dialect)
        self.ntlm_negotiate = None     # the client's NEGOTIATE_MESSAGE
        self.ntlm_challenge = None     # ours, as sent
        self.mech_types = None         # DER MechTypeList from NegTokenInit
        self.opens = {}  # (persistent, volatile) FileId -> open state
        self.fired_in_frame = False
        try:
            while True:
                nb = self.recv_exact(4)
                if nb is None:
                    break
                length = struct.unpack(">I", nb)[0] & 0x00FFFFFF
                pkt = self.recv_exact(length)
                if pkt is None:
                    break
                if pkt[:4] != SMB2_MAGIC or len(pkt) < 64:
                    fake._note("garbage", pkt[:8])
                    break
                off = 0
                self.chain_fid = None   # the open a related request means
                self.chain_err = None   # the failed CREATE's status
                try:
                    while True:  # walk a compound chain, answer each separately
                        req = parse_header(pkt[off:])
                        end = off + req["next"] if req["next"] else len(pkt)
                        body = pkt[off + 64:end]
                        self.check_request_signature(req, pkt[off:end])
                        body = self.related(req, body)
                        if body is None:
                            pass  # answered with the CREATE's error
                        elif not self.dispatch(req, body):
                            return
                        if not req["next"]:
                            break
                        off = end
                finally:
                    if self.fired_in_frame:
                        # the rest of a compound went out with the trigger
                        # request: it is not sent "after" the reply (also
                        # when the client hung up before it was answered)
                        self.fired_in_frame = False
                        with fake._lock:
                            self.rec.trigger_at = len(self.rec.commands)
        except (ConnectionError, socket.timeout, OSError):
            pass
        finally:
            self.closed = True
            with fake._lock:
                self.rec.closed = time.monotonic()
            fake._note("disconnect", None)

    def related(self, req, body):
        """MS-SMB2 3.3.5.2.7.2: a related request (flag set, FileId all
        0xFF) acts on the open the request before it created or named; if
        that was a failed CREATE, it fails with the CREATE's status (as
        Samba does).  Returns the body to dispatch, or None when answered
        here."""
        fake = self.server.fake
        off = FILEID_OFFSET.get(req["command"])
        if off is None or len(body) < off + 16:
            return body
        if req["flags"] & SMB2_FLAGS_RELATED_OPERATIONS:
            with fake._lock:
                fake.related.append(COMMAND_NAMES.get(req["command"]))
            if self.chain_err is not None:
                self._err(req, self.chain_err)
                return None
            if body[off:off + 16] == RELATED_FID and self.chain_fid:
                body = body[:off] + struct.pack("<QQ", *self.chain_fid) + \
                    body[off + 16:]
        elif body[off:off + 16] != RELATED_FID:
            self.chain_fid = struct.unpack_from("<QQ", body, off)
        return body

    def send(self, payload, req=None, sign=None):
        """Frames and sends one reply.  sign=None: sign when this session
        signs (the key is known, SMB 2.x, "sign" not turned off, the final
        SESSION_SETUP reply sent) or, as before, when the request was signed
        and the key is known; sign=False: never; sign=True: whenever the
        key is known."""
        if sign is None:
            sign = bool(self.session_key) and self.opt("sign", True) and (
                self.signing_active or
                (req is not None and req["flags"] & SMB2_FLAGS_SIGNED))
        if sign and self.session_key and self.dialect < 0x0300:
            payload = smb2_sign(payload, self.session_key)
        with self.send_mu:
            self.request.sendall(frame(payload))

    def negotiate_reply(self, req):
        fake = self.server.fake
        blob = spnego_neg_token_init() if fake.spnego_hint else b""
        ctxs = negotiate_contexts_311(self.opt("signing_alg", 1)) \
            if self.dialect == 0x0311 else None
        return make_header(req, STATUS_SUCCESS) + negotiate_body(
            self.dialect, blob,
            security_mode=self.opt("security_mode",
                                   SMB2_NEGOTIATE_SIGNING_ENABLED),
            server_guid=self.opt("server_guid", fake.server_guid),
            contexts=ctxs)

    def dispatch(self, req, body):
        fake = self.server.fake
        mode = fake.mode
        cmd = req["command"]
        fake._note(COMMAND_NAMES.get(cmd, str(cmd)), body)
        with fake._lock:
            self.rec.commands.append(COMMAND_NAMES.get(cmd, str(cmd)))
        if cmd == NEGOTIATE:
            if "negotiate" in mode:
                self.send(mode["negotiate"](fake, self, req, body))
            else:
                dialects = []
                if len(body) >= 36:
                    count = struct.unpack_from("<H", body, 2)[0]
                    dialects = list(struct.unpack_from(
                        "<%dH" % count, body, 36)) if len(body) >= \
                        36 + 2 * count else []
                fake.client_dialects = dialects
                self.send(self.negotiate_reply(req))
            if mode.get("close_after_negotiate"):
                return False
            return True
        if cmd == SESSION_SETUP:
            if len(body) >= 24:
                sec_off, sec_len = struct.unpack_from("<HH", body, 12)
                token = body[sec_off - 64:sec_off - 64 + sec_len]
                with fake._lock:
                    self.rec.prev_session_ids.append(
                        struct.unpack_from("<Q", body, 16)[0])
            else:
                token = b""
            sp = spnego_parse_client_token(token)
            ntlm = sp["token"]
            raw = token.startswith(b"NTLMSSP\0")
            msg_type = struct.unpack_from("<I", ntlm, 8)[0] \
                if len(ntlm) >= 12 and ntlm.startswith(b"NTLMSSP\0") else 0
            fake.ntlm_messages.append((msg_type, ntlm))
            if msg_type == 1 or (msg_type == 0 and self.legs == 0):
                self.session_id = fake.next_session_id()
                with fake._lock:
                    self.rec.session_id = self.session_id
                self.legs = 1
                self.ntlm_negotiate = ntlm if msg_type == 1 else None
                if sp["mech_types"] is not None:
                    self.mech_types = sp["mech_types"]
                chal = ntlm_challenge(fake.server_challenge)
                self.ntlm_challenge = chal
                blob = chal if raw else spnego_neg_token_resp(
                    1, supported_mech=True, token=chal)
                self.send(make_header(req, STATUS_MORE_PROCESSING_REQUIRED,
                                      session_id=self.session_id) +
                          struct.pack("<HHHH", 9, 0, 72, len(blob)) + blob)
                return True
            status = mode.get("session_status") or STATUS_SUCCESS
            exported = None
            if msg_type == 3:
                auth = parse_authenticate(ntlm)
                fake.auth_users.append((auth["domain"], auth["user"]))
                if fake.password is not None:
                    ok, key = ntlmv2_session_key(auth, fake.password,
                                                 fake.server_challenge)
                    self.session_key = exported = key
                    if not ok and fake.check_password:
                        status = STATUS_LOGON_FAILURE
                    self.check_client_mics(ntlm, auth, sp, exported)
            if status != STATUS_SUCCESS:
                self.send(make_header(req, status,
                                      session_id=self.session_id) +
                          error_body())
                return True
            self.legs = 2
            flags = self.opt("session_flags", 0)
            mic = None
            want_mic = self.opt("mech_list_mic")
            if want_mic == "wrong":
                mic = os.urandom(16)
            elif want_mic == "right" and exported is not None:
                mic = ntlm_sign(exported, self.mech_types or
                                der(0x30, NTLMSSP_OID), seq=0, server=True,
                                key_exch=bool(auth["flags"] &
                                              NTLMSSP_NEGOTIATE_KEY_EXCH))
            blob = b"" if raw else spnego_neg_token_resp(
                0, mech_list_mic=mic)
            # A guest/anonymous session has no key: nothing is signed.
            self.signing_active = bool(self.session_key) and not (
                flags & (SMB2_SESSION_FLAG_IS_GUEST |
                         SMB2_SESSION_FLAG_IS_NULL))
            with fake._lock:
                self.rec.signing = self.signing_active and \
                    bool(self.opt("sign", True)) and self.dialect < 0x0300
            self.send(make_header(req, STATUS_SUCCESS,
                                  session_id=self.session_id) +
                      struct.pack("<HHHH", 9, flags, 72 if blob else 0,
                                  len(blob)) + blob)
            return True
        if cmd == TREE_CONNECT:
            if len(body) >= 8:
                p_off, p_len = struct.unpack_from("<HH", body, 4)
                fake.tree_paths.append(
                    body[p_off - 64:p_off - 64 + p_len].decode(
                        "utf-16-le", "replace"))
            status = mode.get("tree_status", STATUS_NETWORK_ACCESS_DENIED)
            if status in (None, STATUS_SUCCESS):
                self.send(make_header(req, STATUS_SUCCESS,
                                      tree_id=FS_TREE_ID) +
                          struct.pack("<HBBIII", 16, 1, 0, 0, 0, 0x001F01FF), req)
            else:
                self.send(make_header(req, status) + error_body(), req)
            return True
        if cmd == LOGOFF:
            self.send(make_header(req, STATUS_SUCCESS) +
                      struct.pack("<HH", 4, 0), req)
            return True
        if cmd == TREE_DISCONNECT:
            self.send(make_header(req, STATUS_SUCCESS) +
                      struct.pack("<HH", 4, 0), req)
            return True
        if cmd == ECHO:
            self.send(make_header(req, STATUS_SUCCESS) +
                      struct.pack("<HH", 4, 0), req)
            return True
        if cmd == CANCEL:
            return True  # no response to CANCEL
        if mode.get("fs") and (cmd in (CREATE, CLOSE, READ, QUERY_DIRECTORY,
                                       QUERY_INFO) or
                               (cmd == IOCTL and mode.get("reparse"))):
            return self.fs_dispatch(req, body, mode.get("hostile"))
        self.send(make_header(req, STATUS_NOT_SUPPORTED) + error_body(), req)
        return True

    def check_client_mics(self, ntlm, auth, sp, exported):
        """Records whether the client's MICs verify (None = not sent): the
        NTLM MIC in AUTHENTICATE (MS-NLMP 3.1.5.1.2, HMAC_MD5 over the
        three messages with the MIC zeroed; present when the payload starts
        at 88 or later, after Version and MIC) and the SPNEGO mechListMIC
        (MS-SPNG 3.1.5.1: the client's first NTLM signature, seq 0, over
        the MechTypeList DER it sent)."""
        fake = self.server.fake
        offs = [struct.unpack_from("<HHI", ntlm, o)
                for o in range(12, 60, 8)]
        first = min((o for ln, _mx, o in offs if ln), default=64)
        ntlm_mic = None
        if first >= 88 and len(ntlm) >= 88 and self.ntlm_negotiate and \
                self.ntlm_challenge:
            msg = bytearray(ntlm)
            sent = bytes(msg[72:88])
            msg[72:88] = b"\0" * 16
            want = _hmac_md5(exported, self.ntlm_negotiate +
                             self.ntlm_challenge + bytes(msg))
            ntlm_mic = hmac.compare_digest(want, sent)
        spnego_mic = None
        if sp["mic"] is not None:
            want = ntlm_sign(exported, self.mech_types or
                             der(0x30, NTLMSSP_OID), seq=0, server=False,
                             key_exch=bool(auth["flags"] &
                                           NTLMSSP_NEGOTIATE_KEY_EXCH))
            spnego_mic = hmac.compare_digest(want, sp["mic"])
        with fake._lock:
            fake.client_mics.append({"ntlm_mic": ntlm_mic,
                                     "mech_list_mic": spnego_mic})

    def fire_trigger(self, req, trigger):
        """The "trigger" knob, on the first CREATE of "f".  Returns the
        dispatch result (False = connection closed)."""
        fake = self.server.fake
        with fake._lock:
            self.rec.trigger_time = time.monotonic()
            self.rec.trigger_at = len(self.rec.commands)
        self.fired_in_frame = True
        if trigger == "drop":
            self.request.shutdown(socket.SHUT_RDWR)
            return False
        if isinstance(trigger, tuple) and trigger[0] == "forge":
            self.send(make_header(req, trigger[1]) + error_body(),
                      sign=False)
            return True
        if trigger in ("pend_signed", "pend_unsigned"):
            threading.Thread(target=self._pend_forever,
                             args=(req, trigger == "pend_signed"),
                             daemon=True).start()
            return True
        raise ValueError("bad trigger %r" % (trigger,))

    def _pend_forever(self, req, signed):
        """Interim STATUS_PENDING replies (MS-SMB2 3.3.4.2) every 0.3 s
        until the client goes away; never the final reply."""
        fake = self.server.fake
        async_id = 0x5150000 + req["message_id"]
        while not self.closed:
            pkt = make_async_header(req, STATUS_PENDING, self.session_id,
                                    async_id) + error_body()
            try:
                self.send(pkt, sign=signed)
            except OSError:
                break
            with fake._lock:
                self.rec.interims_sent += 1
            time.sleep(0.3)

    # -- the share ("fs" modes) -------------------------------------------

    def _err(self, req, status):
        if req["command"] == CREATE:
            self.chain_fid, self.chain_err = None, status
        self.send(make_header(req, status) + error_body(), req)
        return True

    def _ok(self, req, body):
        self.send(make_header(req, STATUS_SUCCESS) + body, req)
        return True

    def _handle(self, body, off):
        """The open behind the FileId at body offset off, or None."""
        if len(body) < off + 16:
            return None
        return self.opens.get(struct.unpack_from("<QQ", body, off))

    def fs_dispatch(self, req, body, hostile):
        fake = self.server.fake
        cmd = req["command"]
        if req["tree_id"] != FS_TREE_ID or req["session_id"] != \
                self.session_id:
            fake.problems.append("%s with tree 0x%x session 0x%x" % (
                COMMAND_NAMES[cmd], req["tree_id"], req["session_id"]))
            return self._err(req, STATUS_USER_SESSION_DELETED)
        if cmd == CREATE:
            if len(body) < 56:
                return self._err(req, STATUS_INVALID_PARAMETER)
            disp, opts = struct.unpack_from("<II", body, 36)
            n_off, n_len = struct.unpack_from("<HH", body, 44)
            name = body[n_off - 64:n_off - 64 + n_len].decode(
                "utf-16-le", "replace")
            fake.opened.append(name)
            trigger = self.opt("trigger")
            if name == "f" and trigger is not None:
                with fake._lock:
                    fire = not fake.triggered
                    fake.triggered = True
                if fire:
                    return self.fire_trigger(req, trigger)
            if self.opt("reparse") and name in FS_REPARSE:
                if not opts & 0x00200000:  # FILE_OPEN_REPARSE_POINT
                    return self._err(req, STATUS_STOPPED_ON_SYMLINK)
                with fake._lock:
                    fake._next_fid += 1
                    fid = (fake._next_fid, fake._next_fid ^ 0x5A5A0000)
                self.chain_fid, self.chain_err = fid, None
                self.opens[fid] = {"path": name, "listed": False,
                                   "reparse": True}
                return self._ok(req, create_rsp_body(reparse_attrs(name), 0,
                                                     fid))
            if name not in FS_TREE:
                return self._err(req, STATUS_OBJECT_NAME_NOT_FOUND
                                 if disp == 1 else
                                 STATUS_MEDIA_WRITE_PROTECTED)
            if disp not in (1, 3):  # only FILE_OPEN / FILE_OPEN_IF
                return self._err(req, STATUS_MEDIA_WRITE_PROTECTED)
            is_dir = FS_TREE[name][0]
            if opts & 0x1 and not is_dir:
                return self._err(req, STATUS_NOT_A_DIRECTORY)
            if opts & 0x40 and is_dir:
                return self._err(req, STATUS_FILE_IS_A_DIRECTORY)
            with fake._lock:
                fake._next_fid += 1
                fid = (fake._next_fid, fake._next_fid ^ 0x5A5A0000)
            attrs, eof = fs_attrs(name)
            self.chain_fid, self.chain_err = fid, None
            rsp = create_rsp_body(attrs, eof, fid)
            if name == "bad" and hostile == "create_bad_size":
                rsp = struct.pack("<H", 88) + rsp[2:]
                fake.hostile_sent += 1
            elif name == "bad" and hostile == "create_truncated":
                rsp = rsp[:20]
                fake.hostile_sent += 1
            else:
                self.opens[fid] = {"path": name, "listed": False}
            return self._ok(req, rsp)
        if cmd == CLOSE:
            h = self._handle(body, 8)
            if h is None:
                return self._err(req, STATUS_FILE_CLOSED)
            del self.opens[struct.unpack_from("<QQ", body, 8)]
            return self._ok(req, close_rsp_body())
        if cmd == IOCTL:
            h = self._handle(body, 8)
            if h is None:
                return self._err(req, STATUS_FILE_CLOSED)
            ctl = struct.unpack_from("<I", body, 4)[0]
            if ctl != 0x000900A8:  # FSCTL_GET_REPARSE_POINT
                return self._err(req, STATUS_NOT_SUPPORTED)
            if not h.get("reparse"):
                return self._err(req, STATUS_NOT_A_REPARSE_POINT)
            out = symlink_reparse_data(FS_REPARSE[h["path"]][0])
            return self._ok(req, struct.pack(
                "<HHI16sIIIIII", 49, 0, ctl, body[8:24], 112, 0, 112,
                len(out), 0, 0) + out)
        h = self._handle(body, {QUERY_DIRECTORY: 8, QUERY_INFO: 24,
                                READ: 16}.get(cmd, 8))
        if h is not None and h.get("reparse"):
            return self._err(req, STATUS_NOT_SUPPORTED)
        if cmd == QUERY_DIRECTORY:
            h = self._handle(body, 8)
            if h is None:
                return self._err(req, STATUS_FILE_CLOSED)
            cls, flags = body[2], body[3]
            if not FS_TREE[h["path"]][0]:
                return self._err(req, STATUS_INVALID_PARAMETER)
            if cls != 0x25:
                return self._err(req, STATUS_NOT_SUPPORTED)
            if flags & 0x01:  # SMB2_RESTART_SCANS
                h["listed"] = False
            if h["listed"] and not (h["path"] == "d" and
                                    hostile == "dir_endless"):
                return self._err(req, STATUS_NO_MORE_FILES)
            h["listed"] = True
            buf = dir_listing(h["path"], self.opt("reparse"))
            if h["path"] == "d" and hostile and hostile.startswith("dir_"):
                fake.hostile_sent += 1
            if h["path"] == "d" and hostile == "dir_next_past_end":
                buf = struct.pack("<I", len(buf) + 64) + buf[4:]
            if h["path"] == "d" and hostile == "dir_outbuf_len_past_end":
                return self._ok(req, out_buffer_body(
                    buf, length=len(buf) + 4096))
            if h["path"] == "d" and hostile == "dir_outbuf_off_past_end":
                return self._ok(req, out_buffer_body(buf, off=0xFF00))
            return self._ok(req, out_buffer_body(buf))
        if cmd == QUERY_INFO:
            h = self._handle(body, 24)
            if h is None:
                return self._err(req, STATUS_FILE_CLOSED)
            info_type, cls = body[2], body[3]
            attrs, eof = fs_attrs(h["path"])
            if (info_type, cls) == (2, 7):
                buf = struct.pack("<QQQII", *FS_FULL_SIZE)
            elif (info_type, cls) == (1, 0x22):
                buf = network_open_info(attrs, eof)
            elif (info_type, cls) == (1, 0x12):
                buf = file_all_info(h["path"], attrs, eof)
            else:
                return self._err(req, STATUS_NOT_SUPPORTED)
            if hostile == "stray_message_id" and (info_type, cls) == (2, 7):
                for mid in (req["message_id"] + 1000,
                            max(req["message_id"] - 1, 0)):
                    stray = dict(req, message_id=mid)
                    self.send(make_header(stray, STATUS_SUCCESS) +
                              out_buffer_body(b"\xEE" * 32), stray)
                fake.strays_sent += 2
                fake.hostile_sent += 1
            return self._ok(req, out_buffer_body(buf))
        if cmd == READ:
            h = self._handle(body, 16)
            if h is None:
                return self._err(req, STATUS_FILE_CLOSED)
            if FS_TREE[h["path"]][0]:
                return self._err(req, STATUS_INVALID_PARAMETER)
            length, offset = struct.unpack_from("<IQ", body, 4)
            data = FS_TREE[h["path"]][1]
            if offset >= len(data):
                return self._err(req, STATUS_END_OF_FILE)
            chunk = data[offset:offset + length]
            if h["path"] == "f" and hostile in ("read_len_past_end",
                                                "read_more_than_asked"):
                fake.hostile_sent += 1
            if h["path"] == "f" and hostile == "read_len_past_end":
                return self._ok(req, read_rsp_body(chunk, data_len=100000))
            if h["path"] == "f" and hostile == "read_more_than_asked":
                return self._ok(req, read_rsp_body(
                    chunk + b"X" * (length + 4096 - len(chunk))))
            if h["path"] == "f" and hostile == "close_mid_frame":
                with fake._lock:
                    first = not fake.broke_connection
                    fake.broke_connection = True
                if first:
                    fake.hostile_sent += 1
                    pkt = frame(make_header(req, STATUS_SUCCESS) +
                                read_rsp_body(chunk))
                    self.request.sendall(pkt[:4 + 64 + 6])
                    time.sleep(0.05)
                    self.request.shutdown(socket.SHUT_RDWR)
                    return False
            return self._ok(req, read_rsp_body(chunk))
        return self._err(req, STATUS_NOT_SUPPORTED)


class ConnRecord:
    """What happened on one TCP connection (FakeSMB2Server.conns)."""

    def __init__(self, index):
        self.index = index              # 1 = the first connection
        self.commands = []              # command names, in arrival order
        self.prev_session_ids = []      # PreviousSessionId of each
        #                                 SESSION_SETUP request
        self.session_id = 0             # the SessionId this server gave
        self.signing = False            # replies after SESSION_SETUP signed
        self.opened = time.monotonic()
        self.closed = None              # time.monotonic() at disconnect
        self.trigger_time = None        # when the trigger fired here
        self.trigger_at = None          # len(commands) after the frame
        #                                 that carried it
        self.interims_sent = 0
        self.unsigned = []              # requests after SESSION_SETUP
        #                                 that were not signed
        self.bad_signatures = []        # ...signed, but not verifying

    def after_trigger(self):
        """Commands the client sent on this connection after the trigger
        request (empty if it did not fire here)."""
        if self.trigger_at is None:
            return []
        return self.commands[self.trigger_at:]

    def __repr__(self):
        return "<conn %d sid=0x%x %s closed=%s>" % (
            self.index, self.session_id, self.commands,
            None if self.closed is None else "%.2f" % (self.closed -
                                                     self.opened))


class _TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class FakeSMB2Server:
    """Scripted SMB2 server on 127.0.0.1 in a background thread.

    >>> with FakeSMB2Server(mode="network_access_denied") as srv:
    ...     srv.port
    """

    TRUST_KNOBS = ("sign", "security_mode", "session_flags", "server_guid",
                   "mech_list_mic", "trigger", "after_reconnect",
                   "signing_alg")

    def __init__(self, mode="network_access_denied", port=0,
                 tree_status=None, dialect=0x0210, spnego_hint=True,
                 idle_timeout=30, password=None, check_password=False,
                 **knobs):
        if isinstance(mode, str):
            self.mode_name = mode
            mode = dict(MODES[mode])
        else:
            self.mode_name = "custom"
            mode = dict(mode)
        if tree_status is not None:
            mode["tree_status"] = tree_status
        for k, v in knobs.items():
            if k not in self.TRUST_KNOBS:
                raise TypeError("unknown fake server knob %r" % k)
            mode[k] = v
        self.mode = mode
        # one GUID for the server's lifetime, as a real server has
        self.server_guid = uuid.uuid4().bytes_le
        self.passwords = {}         # for conftest.mount_factory
        self.conns = []             # ConnRecord per TCP connection
        self.client_mics = []       # per AUTHENTICATE: MIC check results
        self.triggered = False
        self.dialect = dialect
        self.spnego_hint = spnego_hint
        self.idle_timeout = idle_timeout
        # With a password we can derive the NTLM session key and sign
        # replies to signed requests; check_password also rejects a wrong
        # one with STATUS_LOGON_FAILURE.
        self.password = password
        self.check_password = check_password
        self.auth_users = []
        self.server_challenge = b"\x01\x23\x45\x67\x89\xab\xcd\xef"
        self.events = []
        self.ntlm_messages = []
        self.tree_paths = []
        self.client_dialects = []
        self.opened = []            # CREATE names, in order ("fs" modes)
        self.related = []           # commands that came as related ops
        self.problems = []          # requests with wrong tree/session ids
        self.strays_sent = 0
        self.hostile_sent = 0       # replies broken on purpose
        self.broke_connection = False
        self._next_fid = 0
        self._lock = threading.Lock()
        self._sid = 0x0000400000000000
        self._srv = _TCPServer(("127.0.0.1", port), _Handler)
        self._srv.fake = self
        self.port = self._srv.server_address[1]
        self._thread = None

    def unc(self, share="x"):
        """For conftest.mount_factory, which takes a server object."""
        return "//127.0.0.1/%s" % share

    def _new_conn(self):
        with self._lock:
            rec = ConnRecord(len(self.conns) + 1)
            self.conns.append(rec)
            return rec

    def wait_closed(self, index, timeout=10):
        """Waits until connection `index` (1-based) is closed; True if so."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.conns) >= index and \
                        self.conns[index - 1].closed is not None:
                    return True
            time.sleep(0.05)
        return False

    def connections(self):
        with self._lock:
            return self.events.count("connect")

    def next_session_id(self):
        with self._lock:
            self._sid += 1
            return self._sid

    def _note(self, what, data):
        with self._lock:
            self.events.append(what)

    def commands(self):
        with self._lock:
            return [e for e in self.events
                    if e not in ("connect", "disconnect", "garbage")]

    def start(self):
        self._thread = threading.Thread(target=self._srv.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._srv.shutdown()
        self._srv.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", default="network_access_denied",
                    choices=sorted(MODES))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tree-status", type=lambda s: int(s, 16), default=None)
    ap.add_argument("--password", default=None,
                    help="the user's password: lets the server derive the "
                    "session key and sign (SMB 2.x)")
    ap.add_argument("--dialect", type=lambda s: int(s, 16), default=0x0210,
                    help="dialect to choose, hex (202, 210, 302, 311)")
    ap.add_argument("--no-sign", action="store_true",
                    help="never sign replies, even with --password")
    ap.add_argument("--security-mode", type=int, default=None,
                    help="NEGOTIATE SecurityMode (1 enabled, 3 required)")
    ap.add_argument("--session-flags", type=int, default=None,
                    help="SessionFlags of the final SESSION_SETUP reply "
                    "(1 IS_GUEST, 2 IS_NULL)")
    a = ap.parse_args(argv)
    knobs = {}
    if a.no_sign:
        knobs["sign"] = False
    if a.security_mode is not None:
        knobs["security_mode"] = a.security_mode
    if a.session_flags is not None:
        knobs["session_flags"] = a.session_flags
    srv = FakeSMB2Server(mode=a.mode, port=a.port, tree_status=a.tree_status,
                         password=a.password, dialect=a.dialect,
                         **knobs).start()
    print("PORT %d" % srv.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Writes the seed corpora for the fuzz targets (stdlib only, deterministic).

    python3 tests/fuzz/make_seeds.py          # rewrites tests/fuzz/seeds/

seeds/wire/*.bin  whole SMB2 messages (64-byte header + body, no 4-byte
                  transport frame): fuzz_wire.c runs every decoder on the
                  whole input, so each seed is one valid server reply.
seeds/auth/*.bin  first byte selects the parser in fuzz_auth.c (byte % 3):
                  0 = NTLMSSP CHALLENGE_MESSAGE (raw), 1 = SPNEGO NegTokenInit
                  from a NEGOTIATE reply (server hints), 2 = SPNEGO
                  NegTokenResp (here carrying a CHALLENGE).

Layouts: MS-SMB2 2.2.1.2, 2.2.2, 2.2.4, 2.2.6, 2.2.10, 2.2.14, 2.2.20,
2.2.23.2, 2.2.25.2,
2.2.32, 2.2.34, 2.2.38, 2.2.41; MS-FSCC 2.4.17, 2.4.2, 2.5.4; MS-NLMP 2.2.1.2;
RFC 4178.
"""

import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FT = 133000000000000000  # a fixed FILETIME (2022)


def hdr(cmd, status=0, mid=1, tree_id=7, session_id=0x0000400000000001,
        flags=0x1):
    return struct.pack("<4sHHIHHIIQIIQ16s", b"\xfeSMB", 64, 1, status, cmd,
                       32, flags, 0, mid, 0xFEFF, tree_id, session_id,
                       b"\0" * 16)


def pad8(b):
    return b + b"\0" * (-len(b) % 8)


# --- ASN.1 / SPNEGO ---------------------------------------------------------
# The DER helpers are the fake server's: one implementation for both.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from fake_smb2_server import chain_dir_entries, der  # noqa: E402

SPNEGO_OID = b"\x06\x06\x2b\x06\x01\x05\x05\x02"
NTLMSSP_OID = b"\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"
KRB5_OID = b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"
MSKRB5_OID = b"\x06\x09\x2a\x86\x48\x82\xf7\x12\x01\x02\x02"


def neg_token_init(mechs, hints=False):
    fields = der(0xA0, der(0x30, b"".join(mechs)))
    if hints:  # negHints as Windows sends it (hintName)
        fields += der(0xA3, der(0x30, der(0xA0, der(
            0x1B, b"not_defined_in_RFC4178@please_ignore"))))
    return der(0x60, SPNEGO_OID + der(0xA0, der(0x30, fields)))


def neg_token_resp(state, mech=True, token=None, mic=None):
    f = der(0xA0, der(0x0A, bytes([state])))
    if mech:
        f += der(0xA1, NTLMSSP_OID)
    if token is not None:
        f += der(0xA2, der(0x04, token))
    if mic is not None:
        f += der(0xA3, der(0x04, mic))
    return der(0xA1, der(0x30, f))


# --- NTLMSSP ----------------------------------------------------------------

def av(i, v):
    return struct.pack("<HH", i, len(v)) + v


def u16(s):
    return s.encode("utf-16-le")


def target_info(extra=b""):
    return (av(2, u16("FAKEDOM")) + av(1, u16("FAKESRV")) +
            av(4, u16("fakedom.test")) + av(3, u16("fakesrv.fakedom.test")) +
            av(5, u16("fakedom.test")) + av(7, struct.pack("<Q", FT)) +
            extra + av(0, b""))


def ntlm_challenge(flags=0xE28A8215, info=None, name="FAKEDOM"):
    tn = u16(name)
    ti = target_info() if info is None else info
    off = 56
    msg = (b"NTLMSSP\0" + struct.pack("<I", 2) +
           struct.pack("<HHI", len(tn), len(tn), off) +
           struct.pack("<I", flags) + bytes(range(1, 9)) + b"\0" * 8 +
           struct.pack("<HHI", len(ti), len(ti), off + len(tn)) +
           struct.pack("<BBH3sB", 10, 0, 19041, b"\0\0\0", 15))
    assert len(msg) == off
    return msg + tn + ti


# --- SMB2 replies -----------------------------------------------------------

def negotiate(dialect, blob, contexts=()):
    fixed = 64 + 64
    sec_off = fixed
    buf = blob
    ctx_off = 0
    if contexts:
        ctx_off = (fixed + len(blob) + 7) & ~7
        buf = pad8(blob)
        chain = b""
        for i, (t, d) in enumerate(contexts):
            c = struct.pack("<HHI", t, len(d), 0) + d
            chain += pad8(c) if i < len(contexts) - 1 else c
        buf += chain
    body = struct.pack("<HHHH16sIIIIQQHHI", 65, 0x0001, dialect,
                       len(contexts), bytes(range(16)), 0x2F, 0x800000,
                       0x800000, 0x800000, FT, FT - 36000000000,
                       sec_off, len(blob), ctx_off)
    return hdr(0, mid=0, tree_id=0, session_id=0) + body + buf


def session_setup(status, blob, flags=0):
    return (hdr(1, status=status, tree_id=0) +
            struct.pack("<HHHH", 9, flags, 72 if blob else 0, len(blob)) +
            blob)


def tree_connect():
    return hdr(3, tree_id=7) + struct.pack("<HBBIII", 16, 1, 0, 0x0800, 0,
                                           0x001F01FF)


def create_ctx_chain(ctxs):
    out = b""
    for i, (name, data) in enumerate(ctxs):
        name_off = 16
        data_off = (name_off + len(name) + 7) & ~7 if data else 0
        e = struct.pack("<IHHHHI", 0, name_off, len(name), 0, data_off,
                        len(data)) + name
        if data:
            e += b"\0" * (data_off - len(e)) + data
        if i < len(ctxs) - 1:
            e = pad8(e)
            e = struct.pack("<I", len(e)) + e[4:]
        out += e
    return out


def create(attrs=0x10, eof=0, ctxs=()):
    chain = create_ctx_chain(ctxs) if ctxs else b""
    off = 64 + 88 if chain else 0
    body = struct.pack("<HBBIQQQQQQII QQ II", 89, 0, 0, 1, FT, FT, FT, FT,
                       (eof + 4095) & ~4095, eof, attrs, 0,
                       0x1122334455667788, 0x99AABBCCDDEEFF00, off,
                       len(chain))
    return hdr(5) + body + chain


def close():
    return hdr(6) + struct.pack("<HHIQQQQQQI", 60, 1, 0, FT, FT, FT, FT, 4096,
                                10, 0x20)


def read(data, remaining=0):
    return hdr(8) + struct.pack("<HBBII I", 17, 80, 0, len(data), remaining,
                                0) + data


def write(count):
    return hdr(9) + struct.pack("<HHIIHH", 17, 0, count, 0, 0, 0)


def out_buffer(cmd, buf, status=0):
    return hdr(cmd, status=status) + struct.pack("<HHI", 9, 72, len(buf)) + buf


def id_both_entry(name, attrs, eof, file_id, short=""):
    n = u16(name)
    sn = u16(short)[:24]
    e = struct.pack("<IIQQQQQQIIIB", 0, 0, FT, FT, FT, FT, eof,
                    (eof + 4095) & ~4095, attrs, len(n), 0, len(sn))
    e += b"\0" + sn + b"\0" * (24 - len(sn)) + b"\0\0" + \
        struct.pack("<Q", file_id) + n
    assert len(e) == 104 + len(n)
    return e


def dir_listing(entries):
    return chain_dir_entries(entries)


def sid(text):
    """MS-DTYP 2.4.2.2: "S-1-22-1-1000" -> bytes."""
    parts = [int(x) for x in text.split("-")[1:]]
    rev, auth, subs = parts[0], parts[1], parts[2:]
    return (struct.pack("<BB", rev, len(subs)) + auth.to_bytes(6, "big") +
            b"".join(struct.pack("<I", x) for x in subs))


def secdesc(owner, group, aces):
    """MS-DTYP 2.4.6 self-relative SECURITY_DESCRIPTOR: owner, group, and
    a DACL of (type, flags, mask, sid) ACEs (2.4.4.2)."""
    body = b"".join(struct.pack("<BBHI", t, f, 8 + len(sid(s)), m) + sid(s)
                    for t, f, m, s in aces)
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(body), len(aces), 0) + body
    o, g = sid(owner), sid(group)
    return (struct.pack("<BBHIIII", 1, 0, 0x8004, 20, 20 + len(o), 0,
                        20 + len(o) + len(g)) + o + g + acl)


def file_all_info(name="dir\\f.txt"):
    n = u16(name)
    basic = struct.pack("<QQQQII", FT, FT, FT, FT, 0x20, 0)
    std = struct.pack("<QQIBBH", 4096, 10, 1, 0, 0, 0)
    internal = struct.pack("<Q", 0x1234)
    ea = struct.pack("<I", 0)
    access = struct.pack("<I", 0x001F01FF)
    pos = struct.pack("<Q", 0)
    mode = struct.pack("<I", 0)
    align = struct.pack("<I", 0)
    nm = struct.pack("<I", len(n)) + n
    return basic + std + internal + ea + access + pos + mode + align + nm


def fs_full_size():
    return struct.pack("<QQQII", 1000000, 500000, 600000, 8, 512)


def ioctl(ctl, inp, outp):
    fixed = 64 + 48
    in_off = fixed if inp else 0
    out_off = (fixed + len(inp) + 7) & ~7 if outp else 0
    body = struct.pack("<HHIQQIIIIII", 49, 0, ctl, 0xFFFFFFFFFFFFFFFF,
                       0xFFFFFFFFFFFFFFFF, in_off, len(inp), out_off,
                       len(outp), 0, 0)
    buf = inp
    if outp:
        buf = pad8(buf) + outp
    return hdr(11) + body + buf


def error(status, data=b"\0", cmd=5, ctx_count=0):
    n = len(data) if data != b"\0" else 0
    return hdr(cmd, status=status) + struct.pack("<HBBI", 9, ctx_count, 0,
                                                 n) + data


def wire_seeds():
    chal = ntlm_challenge()
    s = {}
    s["negotiate_311"] = negotiate(0x0311, neg_token_init(
        [MSKRB5_OID, KRB5_OID, NTLMSSP_OID], hints=True), contexts=[
        (1, struct.pack("<HHH", 1, 32, 1) + bytes(range(32))),
        (2, struct.pack("<HH", 1, 2)),
        (8, struct.pack("<HH", 1, 1)),
        (5, u16("fakesrv")),
    ])
    s["negotiate_210"] = negotiate(0x0210, neg_token_init([NTLMSSP_OID]))
    s["session_setup_chal"] = session_setup(
        0xC0000016, neg_token_resp(1, token=chal))
    s["session_setup_done"] = session_setup(0, neg_token_resp(0, mech=False))
    s["tree_connect"] = tree_connect()
    s["create_ctx"] = create(attrs=0x20, eof=10, ctxs=[
        (b"MxAc", struct.pack("<II", 0, 0x001F01FF)),
        (b"QFid", struct.pack("<QQ", 0x1234, 0) + b"\0" * 16),
        (b"DH2Q", struct.pack("<IIQ", 0, 0, 0) + b"\x11" * 16),
    ])
    s["create_dir"] = create()
    # a CREATE granting a v2 lease (2.2.14.2.11), a lease break
    # notification (2.2.23.2) and the response to its acknowledgment
    # (2.2.25.2)
    s["create_lease"] = create(attrs=0x20, eof=10, ctxs=[
        (b"RqLs", b"\x5a" * 16 + struct.pack("<IIQ", 7, 0, 0) +
         b"\0" * 16 + struct.pack("<HH", 1, 0)),
    ])
    s["lease_break"] = hdr(18, mid=0xFFFFFFFFFFFFFFFF, tree_id=0,
                           session_id=0) + struct.pack(
        "<HHI16sIIIII", 44, 2, 1, b"\x5a" * 16, 7, 1, 0, 0, 0)
    s["lease_break_rsp"] = hdr(18) + struct.pack("<HHI16sIQ", 36, 0, 0,
                                                 b"\x5a" * 16, 1, 0)
    s["close"] = close()
    s["lock"] = hdr(10) + struct.pack("<HH", 4, 0)  # (2.2.27)
    s["read"] = read(b"0123456789")
    s["write"] = write(4096)
    s["query_dir"] = out_buffer(14, dir_listing([
        id_both_entry(".", 0x10, 0, 1),
        id_both_entry("..", 0x10, 0, 2),
        id_both_entry("gr\u00fc\u00dfe-\u65e5\u672c-\U0001F600.txt", 0x20,
                      12345, 3, short="GRE~1.TXT"),
    ]))
    s["query_info_all"] = out_buffer(16, file_all_info())
    s["query_info_fs"] = out_buffer(16, fs_full_size())
    s["ioctl_validate"] = ioctl(0x00140204, b"",
                                struct.pack("<I16sHH", 0x7F, bytes(16), 1,
                                            0x0311))
    s["ioctl_inout"] = ioctl(0x00140204, b"\x01" * 24, b"\x02" * 24)
    # space and server-side copy (src/wire/fsctl.c)
    s["ioctl_resume_key"] = ioctl(0x00140078, b"",
                                  bytes(range(24)) + struct.pack("<I", 0))
    s["ioctl_copychunk"] = ioctl(0x001480F2, b"",
                                 struct.pack("<III", 16, 1 << 20, 16 << 20))
    s["ioctl_alloc_ranges"] = ioctl(0x000940CF, struct.pack("<QQ", 0, 8 << 20),
                                    struct.pack("<QQQQ", 1 << 20, 65536,
                                                5 << 20, 65536))
    s["error_plain"] = error(0xC0000034)
    # STATUS_STOPPED_ON_SYMLINK with a Symbolic Link Error Response
    sub = u16("target")
    sym = struct.pack("<IIIHHHHHHI", 36 + 2 * len(sub), 0x4C4D5953,
                      0xA000000C, 12 + 2 * len(sub), 0, 0, len(sub),
                      len(sub), len(sub), 1) + sub + sub
    s["error_symlink"] = error(0x8000002D, sym)
    s["echo"] = hdr(13) + struct.pack("<HH", 4, 0)
    s["set_info"] = hdr(17) + struct.pack("<H", 2)
    # bare buffers for the body-level parsers fuzz_wire.c also runs on the
    # raw input (fscc_dir_walk, fscc_parse_*, smb2_create_contexts_walk)
    s["raw_dir_listing"] = s["query_dir"][64 + 8:]
    s["raw_file_all_info"] = file_all_info()
    # a file's security descriptor as Samba sends it (mode 0751, owner and
    # group as Unix SIDs, one inherit-only ACE), reply and bare
    sd = secdesc("S-1-22-1-1000", "S-1-22-2-100", [
        (0, 0, 0x001E01FF, "S-1-22-1-1000"),
        (0, 0, 0x001200A9, "S-1-22-2-100"),
        (0, 0, 0x001200A0, "S-1-1-0"),
        (0, 0x0B, 0x001F01FF, "S-1-3-0"),
    ])
    s["query_info_sd"] = out_buffer(16, sd)
    s["raw_secdesc"] = sd
    # extended attributes (MS-FSCC 2.4.15: FILE_FULL_EA_INFORMATION, 4-byte
    # aligned entries), reply and bare; a file's head as an mfsymlink and
    # an SFU character device (src/util/mfsym.c)
    def ea(name, value, last):
        e = struct.pack("<IBBH", 0, 0, len(name), len(value)) + name + b"\0" + value
        e += b"\0" * (-len(e) % 4 if not last else 0)
        return (struct.pack("<I", 0 if last else len(e)) + e[4:])
    eas = ea(b"color", b"blue", False) + ea(b"bin", bytes(range(7)), True)
    s["query_info_ea"] = out_buffer(16, eas)
    s["raw_ea_list"] = eas
    tgt = b"../some/target"
    mf = b"XSym\n%04d\n%s\n%s\n" % (len(tgt), hashlib.md5(tgt).hexdigest().encode(), tgt)
    s["raw_mfsymlink"] = mf + b" " * (1067 - len(mf))
    s["raw_sfu_chr"] = b"IntxCHR\0" + struct.pack("<QQ", 1, 3)
    # FSCTL_GET_REPARSE_POINT of a relative symlink (MS-FSCC 2.1.2.4)
    tn = u16("..\\dir\\file")
    rp = struct.pack("<HHHHI", 0, len(tn), len(tn), len(tn), 1) + tn + tn
    rp = struct.pack("<IHH", 0xA000000C, len(rp), 0) + rp
    s["ioctl_reparse_symlink"] = ioctl(0x000900A8, b"", rp)
    s["raw_reparse_symlink"] = rp
    # encrypted replies (2.2.41 TRANSFORM_HEADER + ciphertext): the WRITE
    # responses of Microsoft's SMB 3.0 (AES-128-CCM) and 3.1.1 (AES-128-GCM)
    # encryption examples, as the Open Specifications blog prints them
    s["transform_ccm"] = bytes.fromhex(
        "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014"
        "00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079"
        "E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787"
        "1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1"
        "77309E5B")
    s["transform_gcm"] = bytes.fromhex(
        "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000"
        "00005000000000000100250000000010000026BBBF949983A6C1C796559D0F2C510C"
        "B651D1F7B6AC8DED32A2A0B8F2D793A815C6F6B848D69767A215841A42D400AE6DDB"
        "5F0B44173A014973321FDD7950DA6179159B82E03C9E18A050FF0EA1C967")
    s["raw_ctx_chain"] = create_ctx_chain([
        (b"MxAc", struct.pack("<II", 0, 0x001F01FF)),
        (b"RqLs", b"\x22" * 32)])
    return s


def auth_seeds():
    chal = ntlm_challenge()
    s = {}
    s["ntlm_challenge"] = b"\x00" + chal
    # guest selector (0x81: bit 7 set and 0x81 % 3 == 0), flags without
    # KEY_EXCH, empty TargetName and TargetInfo
    s["ntlm_challenge_guest"] = b"\x81" + ntlm_challenge(
        flags=0x00088205, info=b"", name="")
    s["ntlm_challenge_big_info"] = b"\x00" + ntlm_challenge(
        info=target_info(av(6, struct.pack("<I", 2)) +
                         av(9, u16("cifs/fakesrv")) + av(10, b"\0" * 16)))
    s["spnego_hints"] = b"\x01" + neg_token_init(
        [MSKRB5_OID, KRB5_OID, NTLMSSP_OID], hints=True)
    s["spnego_hints_ntlm"] = b"\x01" + neg_token_init([NTLMSSP_OID])
    s["spnego_resp_chal"] = b"\x02" + neg_token_resp(1, token=chal)
    s["spnego_resp_done"] = b"\x02" + neg_token_resp(0, mech=False,
                                                     mic=b"\x01" * 16)
    s["spnego_resp_reject"] = b"\x02" + neg_token_resp(2, mech=False)
    return s


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(HERE, "seeds")
    for sub, seeds in (("wire", wire_seeds()), ("auth", auth_seeds())):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            if name.endswith(".bin"):
                os.unlink(os.path.join(d, name))
        for name, data in sorted(seeds.items()):
            assert len(data) < 2048, name
            with open(os.path.join(d, name + ".bin"), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

/* Unit tests for the pure SMB2 wire layer: buf, utf16, ntstatus, command
 * codecs.  Golden bytes are built by hand from MS-SMB2 section 2.2. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "smb2fs/buf.h"
#include "smb2fs/conn.h"
#include "smb2fs/fscc.h"
#include "smb2fs/ntstatus.h"
#include "smb2fs/utf16.h"
#include "smb2fs/wire.h"

/* ---------- helpers ---------- */

/* Compares body bytes (after the 64-byte header) with a hex string. */
static void check_body(const struct wbuf *w, const char *hex, int line)
{
	unsigned char exp[1024];
	size_t n = hex2bin(hex, exp, sizeof(exp));
	check_count++;
	if (w->err || w->len != SMB2_HDR_SIZE + n || memcmp(w->p + SMB2_HDR_SIZE, exp, n) != 0) {
		check_failures++;
		fprintf(stderr, "test_wire.c:%d: body mismatch (len %zu, want %zu)\n  got: ", line,
			w->len >= SMB2_HDR_SIZE ? w->len - SMB2_HDR_SIZE : 0, n);
		for (size_t i = SMB2_HDR_SIZE; i < w->len; i++)
			fprintf(stderr, "%02x", w->p[i]);
		fprintf(stderr, "\n");
	}
}
#define CHECK_BODY(w, hex) check_body((w), (hex), __LINE__)

/* Starts a message: a request header for cmd (so body offsets are as on the wire). */
static void start(struct wbuf *w, uint16_t cmd, bool response)
{
	struct smb2_hdr h;
	memset(&h, 0, sizeof(h));
	h.command = cmd;
	h.credits = 1;
	h.flags = response ? SMB2_FLAGS_SERVER_TO_REDIR : 0;
	h.process_id = 0xFEFF;
	wbuf_reset(w);
	CHECK_EQ(smb2_hdr_encode(w, &h), 0);
	CHECK_EQ(w->len, SMB2_HDR_SIZE);
}

/* Appends hex bytes to w. */
static void hexput(struct wbuf *w, const char *hex)
{
	unsigned char b[1024];
	size_t n = hex2bin(hex, b, sizeof(b));
	wbuf_bytes(w, b, n);
}

typedef int (*decode_fn)(const uint8_t *msg, size_t len);

/* Every strict prefix of a valid message must be rejected, without reading
 * outside the (exactly sized, heap) copy. */
static void trunc_all(decode_fn dec, const uint8_t *m, size_t n, int line)
{
	int bad = 0;
	for (size_t l = 0; l < n; l++) {
		uint8_t *c = malloc(l ? l : 1);
		memcpy(c, m, l);
		if (dec(c, l) != -EBADMSG)
			bad++;
		free(c);
	}
	uint8_t *c = malloc(n);
	memcpy(c, m, n);
	int rc = dec(c, n);
	free(c);
	check_count++;
	if (bad || rc != 0) {
		check_failures++;
		fprintf(stderr, "test_wire.c:%d: truncation: %d prefixes accepted, full rc %d\n",
			line, bad, rc);
	}
}
#define TRUNC_ALL(dec, w) trunc_all((dec), (w)->p, (w)->len, __LINE__)

static int dec_hdr(const uint8_t *m, size_t n) { struct smb2_hdr h; return smb2_hdr_decode(m, n, &h); }
static int dec_neg(const uint8_t *m, size_t n) { struct smb2_negotiate_rsp r; return smb2_negotiate_decode(m, n, &r); }
static int dec_sess(const uint8_t *m, size_t n) { struct smb2_session_setup_rsp r; return smb2_session_setup_decode(m, n, &r); }
static int dec_tree(const uint8_t *m, size_t n) { struct smb2_tree_connect_rsp r; return smb2_tree_connect_decode(m, n, &r); }
static int dec_create(const uint8_t *m, size_t n) { struct smb2_create_rsp r; return smb2_create_decode(m, n, &r); }
static int dec_close(const uint8_t *m, size_t n) { struct smb2_close_rsp r; return smb2_close_decode(m, n, &r); }
static int dec_read(const uint8_t *m, size_t n) { struct smb2_read_rsp r; return smb2_read_decode(m, n, &r); }
static int dec_write(const uint8_t *m, size_t n) { struct smb2_write_rsp r; return smb2_write_decode(m, n, &r); }
static int dec_qdir(const uint8_t *m, size_t n) { struct smb2_query_directory_rsp r; return smb2_query_directory_decode(m, n, &r); }
static int dec_qinfo(const uint8_t *m, size_t n) { struct smb2_query_info_rsp r; return smb2_query_info_decode(m, n, &r); }
static int dec_ioctl(const uint8_t *m, size_t n) { struct smb2_ioctl_rsp r; return smb2_ioctl_decode(m, n, &r); }
static int dec_err(const uint8_t *m, size_t n) { struct smb2_error_rsp r; return smb2_error_decode(m, n, &r); }

/* ---------- buf ---------- */

static void test_buf(void)
{
	static const uint8_t d[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	struct rbuf r;
	uint8_t tmp[4];

	rbuf_init(&r, d, sizeof(d));
	CHECK_EQ(rbuf_u8(&r), 1);
	CHECK_EQ(rbuf_u16(&r), 0x0302);
	CHECK_EQ(rbuf_u32(&r), 0x07060504u);
	CHECK_EQ(rbuf_u64(&r), 0x0f0e0d0c0b0a0908ull);
	CHECK(!r.err);
	CHECK_EQ(rbuf_left(&r), 0);
	CHECK_EQ(rbuf_u8(&r), 0);
	CHECK(r.err);
	CHECK_EQ(rbuf_u16(&r), 0); /* sticky */

	rbuf_init(&r, d, 3);
	CHECK_EQ(rbuf_u32(&r), 0);  /* too short: zero + err */
	CHECK(r.err);
	rbuf_init(&r, d, 3);
	rbuf_bytes(&r, tmp, 4);
	CHECK(r.err);
	CHECK(tmp[0] == 0 && tmp[3] == 0);
	rbuf_init(&r, d, 3);
	CHECK(rbuf_ptr(&r, 3) == d);
	CHECK(rbuf_ptr(&r, 1) == NULL);
	rbuf_init(&r, d, 3);
	rbuf_seek(&r, 3);
	CHECK(!r.err);
	rbuf_seek(&r, 4);
	CHECK(r.err);
	rbuf_init(&r, d, 8);
	CHECK(rbuf_at(&r, 8, 0) != NULL);
	CHECK(rbuf_at(&r, 4, 4) == d + 4);
	CHECK(!r.err);
	CHECK(rbuf_at(&r, 5, 4) == NULL);
	CHECK(r.err);
	rbuf_init(&r, d, 8);
	CHECK(rbuf_at(&r, SIZE_MAX, 2) == NULL);
	rbuf_init(&r, d, 8);
	CHECK(rbuf_at(&r, 2, SIZE_MAX) == NULL);
	rbuf_init(&r, d, 8);
	rbuf_skip(&r, SIZE_MAX);
	CHECK(r.err);

	struct wbuf w;
	wbuf_init(&w);
	wbuf_u8(&w, 0xAA);
	wbuf_u16(&w, 0x1234);
	wbuf_u32(&w, 0xdeadbeef);
	wbuf_align(&w, 8);
	CHECK_EQ(w.len, 8);
	wbuf_u64(&w, 0x0102030405060708ull);
	wbuf_zero(&w, 3);
	wbuf_put_u16_at(&w, 14, 0xBEEF);
	unsigned char exp[32];
	size_t n = hex2bin("aa3412efbeadde00 080706050403efbe 000000", exp, sizeof(exp));
	CHECK_EQ(w.len, n);
	CHECK_MEM(w.p, exp, n);
	CHECK(!w.err);
	wbuf_put_u32_at(&w, 16, 1);  /* out of range */
	CHECK_EQ(w.err, -EINVAL);
	/* sticky: the first error stays, later writes do nothing */
	size_t len = w.len;
	CHECK_EQ(wbuf_fail(&w, -EILSEQ), -EINVAL);
	wbuf_u32(&w, 1);
	CHECK_EQ(w.len, len);
	CHECK_EQ(wbuf_check(&w, 0), -EINVAL);
	wbuf_reset(&w);
	CHECK(!w.err && w.len == 0);
	CHECK_EQ(wbuf_check(&w, 0), 0);
	CHECK_EQ(wbuf_check(&w, -EOVERFLOW), -EOVERFLOW);
	CHECK_EQ(w.err, -EOVERFLOW);
	wbuf_reset(&w);
	CHECK_EQ(wbuf_fail(&w, 5), -EINVAL);  /* not an errno: still an error */
	wbuf_reset(&w);
	for (int i = 0; i < 10000; i++)
		wbuf_u32(&w, (uint32_t)i);
	CHECK_EQ(w.len, 40000);
	CHECK_EQ(le32_load(w.p + 4 * 9999), 9999);
	wbuf_free_secure(&w);
	CHECK(w.p == NULL);
	CHECK(!wbuf_reserve(&(struct wbuf){ .err = -ENOMEM }, 1));
	struct wbuf big;
	wbuf_init(&big);
	wbuf_u8(&big, 1);
	CHECK(!wbuf_reserve(&big, SIZE_MAX));
	CHECK_EQ(big.err, -EOVERFLOW);
	wbuf_free(&big);
}

/* ---------- utf16 ---------- */

static void test_utf16(void)
{
	struct wbuf w;
	char *s = NULL;
	unsigned char exp[16];

	wbuf_init(&w);
	/* U+1F600 GRINNING FACE: UTF-8 F0 9F 98 80, UTF-16LE 3D D8 00 DE */
	CHECK_EQ(utf16_from_utf8(&w, "\xF0\x9F\x98\x80", 4), 4);
	CHECK_EQ(w.len, 4);
	hex2bin("3dd800de", exp, sizeof(exp));
	CHECK_MEM(w.p, exp, 4);
	CHECK_EQ(utf16_to_utf8(exp, 4, &s), 0);
	CHECK(s && strcmp(s, "\xF0\x9F\x98\x80") == 0);
	free(s);

	/* ASCII + 2-byte + 3-byte */
	wbuf_reset(&w);
	CHECK_EQ(utf16_from_utf8(&w, "a\xC3\xA9\xE2\x82\xAC", 6), 6);
	hex2bin("6100e900ac20", exp, sizeof(exp));
	CHECK_MEM(w.p, exp, 6);
	CHECK_EQ(utf16_to_utf8(w.p, w.len, &s), 0);
	CHECK(s && strcmp(s, "a\xC3\xA9\xE2\x82\xAC") == 0);
	free(s);

	/* Empty */
	wbuf_reset(&w);
	CHECK_EQ(utf16_from_utf8(&w, "", 0), 0);
	CHECK_EQ(utf16_to_utf8(exp, 0, &s), 0);
	CHECK(s && s[0] == 0);
	free(s);

	/* Bad UTF-8: overlong, truncated, surrogate encoded, > U+10FFFF, stray
	 * continuation, NUL inside; nothing is left appended on failure. */
	static const struct { const char *s; size_t n; } bad8[] = {
		{ "\xC0\x80", 2 }, { "\xE0\x80\xAF", 3 }, { "\xE2\x82", 2 }, { "\xF0\x9F\x98", 3 },
		{ "\xED\xA0\x80", 3 }, { "\xF4\x90\x80\x80", 4 }, { "\x80", 1 }, { "a\0b", 3 },
		{ "\xFF", 1 }, { "ab\xC3", 3 },
	};
	for (size_t i = 0; i < sizeof(bad8) / sizeof(bad8[0]); i++) {
		wbuf_reset(&w);
		wbuf_u8(&w, 0x77);
		CHECK(utf8_valid(bad8[i].s, bad8[i].n) == false);
		CHECK_EQ(utf16_from_utf8(&w, bad8[i].s, bad8[i].n), -EILSEQ);
		CHECK_EQ(w.len, 1);
		CHECK_EQ(w.err, -EILSEQ);  /* sticky: the message cannot be sent */
		uint8_t *p16 = (uint8_t *)1;
		size_t n16 = 7;
		CHECK_EQ(utf16_from_utf8_alloc(bad8[i].s, bad8[i].n, &p16, &n16), -EILSEQ);
		CHECK(p16 == NULL && n16 == 0);
	}
	CHECK(utf8_valid("a\xC3\xA9\xF0\x9F\x98\x80", 7));

	/* The allocating form: same bytes, then a 2-byte NUL not counted */
	uint8_t *p16 = NULL;
	size_t n16 = 0;
	CHECK_EQ(utf16_from_utf8_alloc("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 10, &p16, &n16), 0);
	hex2bin("6100e900ac20 3dd800de 0000", exp, sizeof(exp));
	CHECK_EQ(n16, 10);
	CHECK(p16 && memcmp(p16, exp, 12) == 0);
	free(p16);
	CHECK_EQ(utf16_from_utf8_alloc("", 0, &p16, &n16), 0);
	CHECK(p16 && n16 == 0 && p16[0] == 0 && p16[1] == 0);
	free(p16);
	CHECK_EQ(utf16_from_utf8_alloc(NULL, 0, &p16, &n16), 0);  /* NULL, 0 is "" */
	free(p16);
	CHECK_EQ(utf16_from_utf8_alloc(NULL, 1, &p16, &n16), -EINVAL);
	CHECK(p16 == NULL);
	CHECK(utf8_valid("", 0) && utf8_valid(NULL, 0));

	/* Bad UTF-16: odd length, lone high at end, lone low, high + non-low, NUL */
	static const char *bad16[] = { "4100 41", "3dd8", "00de", "3dd84100", "41000000", "00dc3dd8" };
	for (size_t i = 0; i < sizeof(bad16) / sizeof(bad16[0]); i++) {
		uint8_t b[16];
		size_t n = hex2bin(bad16[i], b, sizeof(b));
		s = (char *)1;
		CHECK_EQ(utf16_to_utf8(b, n, &s), -EILSEQ);
		CHECK(s == NULL);
	}
	wbuf_free(&w);
}

/* ---------- ntstatus ---------- */

static void test_ntstatus(void)
{
	uint32_t code, prev = 0;
	int err;
	const char *name;
	size_t n = nt_status_table_entry(0, &code, &err, &name);
	CHECK(n > 50);
	for (size_t i = 0; i < n; i++) {
		nt_status_table_entry(i, &code, &err, &name);
		if (i > 0)
			CHECK(code > prev);  /* sorted, no duplicates: bsearch relies on it */
		CHECK(name != NULL && strncmp(name, "STATUS_", 7) == 0);
		CHECK(nt_status_name(code) == name);
		CHECK_EQ(nt_status_err(code), -err);
		if (nt_status_is_error(code))
			CHECK(err > 0);
		prev = code;
	}
	CHECK_EQ(nt_status_err(STATUS_SUCCESS), 0);
	CHECK_EQ(nt_status_err(STATUS_OBJECT_NAME_NOT_FOUND), -ENOENT);
	CHECK_EQ(nt_status_err(STATUS_OBJECT_PATH_NOT_FOUND), -ENOENT);
	CHECK_EQ(nt_status_err(STATUS_OBJECT_NAME_COLLISION), -EEXIST);
	CHECK_EQ(nt_status_err(STATUS_ACCESS_DENIED), -EACCES);
	CHECK_EQ(nt_status_err(STATUS_DIRECTORY_NOT_EMPTY), -ENOTEMPTY);
	CHECK_EQ(nt_status_err(STATUS_FILE_IS_A_DIRECTORY), -EISDIR);
	CHECK_EQ(nt_status_err(STATUS_NOT_A_DIRECTORY), -ENOTDIR);
	CHECK_EQ(nt_status_err(STATUS_SHARING_VIOLATION), -EBUSY);
	CHECK_EQ(nt_status_err(STATUS_DISK_FULL), -ENOSPC);
	CHECK_EQ(nt_status_err(STATUS_DELETE_PENDING), -ENOENT);
	CHECK_EQ(nt_status_err(STATUS_NETWORK_SESSION_EXPIRED), -ECONNRESET);
	CHECK_EQ(nt_status_err(STATUS_USER_SESSION_DELETED), -ECONNRESET);
	CHECK_EQ(nt_status_err(STATUS_NETWORK_NAME_DELETED), -ECONNRESET);
	CHECK_EQ(nt_status_err(STATUS_LOGON_FAILURE), -EACCES);
	CHECK_EQ(nt_status_err(STATUS_BAD_NETWORK_NAME), -ENOENT);
	CHECK_EQ(nt_status_err(STATUS_NOT_SUPPORTED), -EOPNOTSUPP);
	CHECK_EQ(nt_status_err(STATUS_NOT_IMPLEMENTED), -EOPNOTSUPP);
	CHECK_EQ(nt_status_err(STATUS_INVALID_DEVICE_REQUEST), -EOPNOTSUPP);
	CHECK_EQ(nt_status_err(STATUS_NAME_TOO_LONG), -ENAMETOOLONG);
	CHECK_EQ(nt_status_err(0xC0FFEE00u), -EIO);
	CHECK_EQ(nt_status_err(0x00001234u), 0);
	CHECK_EQ(nt_status_fail_err(0x00001234u), -EIO); /* unexpected: never success */
	CHECK_EQ(nt_status_fail_err(STATUS_ACCESS_DENIED), -EACCES);
	CHECK(nt_status_name(0xC0FFEE00u) == NULL);
	char buf[48];
	CHECK(strcmp(nt_status_str(STATUS_ACCESS_DENIED, buf, sizeof(buf)), "STATUS_ACCESS_DENIED") == 0);
	CHECK(strcmp(nt_status_str(0xC0FFEE00u, buf, sizeof(buf)), "NT status 0xC0FFEE00") == 0);
	CHECK(!nt_status_is_error(STATUS_BUFFER_OVERFLOW));
	CHECK(nt_status_is_error(STATUS_ACCESS_DENIED));
}

/* ---------- command names ---------- */

static void test_cmd_names(void)
{
	static const char *const want[] = {
		"NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT", "CREATE",
		"CLOSE", "FLUSH", "READ", "WRITE", "LOCK", "IOCTL", "CANCEL", "ECHO",
		"QUERY_DIRECTORY", "CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO", "OPLOCK_BREAK",
	};
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(strcmp(smb2_cmd_name((uint16_t)i), want[i]) == 0);
	CHECK(strcmp(smb2_cmd_name(SMB2_NCOMMANDS), "UNKNOWN") == 0);
	CHECK(strcmp(smb2_cmd_name(0xFFFF), "UNKNOWN") == 0);
}

/* ---------- header (2.2.1) ---------- */

static void test_hdr(void)
{
	struct wbuf w;
	struct smb2_hdr h, d;
	unsigned char exp[64];

	wbuf_init(&w);
	memset(&h, 0, sizeof(h));
	h.credit_charge = 1;
	h.status = 0;
	h.command = SMB2_CREATE;
	h.credits = 31;
	h.flags = SMB2_FLAGS_SIGNED;
	h.next_command = 0;
	h.message_id = 0x0102030405060708ull;
	h.process_id = 0xFEFF;
	h.tree_id = 0xAABBCCDD;
	h.session_id = 0x1122334455667788ull;
	for (int i = 0; i < 16; i++)
		h.signature[i] = (uint8_t)(0xA0 + i);
	CHECK_EQ(smb2_hdr_encode(&w, &h), 0);
	hex2bin("fe534d42 4000 0100 00000000 0500 1f00 08000000 00000000"
		"0807060504030201 fffe0000 ddccbbaa 8877665544332211"
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", exp, sizeof(exp));
	CHECK_EQ(w.len, 64);
	CHECK_MEM(w.p, exp, 64);
	CHECK_EQ(smb2_hdr_decode(w.p, w.len, &d), 0);
	CHECK(memcmp(&d, &h, sizeof(h)) == 0);
	TRUNC_ALL(dec_hdr, &w);

	/* The field accessors read and patch the same bytes */
	CHECK_EQ(smb2_hdr_command(w.p), SMB2_CREATE);
	CHECK_EQ(smb2_hdr_flags(w.p), SMB2_FLAGS_SIGNED);
	CHECK_EQ(smb2_hdr_next_command(w.p), 0);
	CHECK_EQ(smb2_hdr_message_id(w.p), 0x0102030405060708ull);
	CHECK_EQ(smb2_hdr_tree_id(w.p), 0xAABBCCDD);
	CHECK_EQ(smb2_hdr_session_id(w.p), 0x1122334455667788ull);
	CHECK_MEM(w.p + SMB2_HDR_SIGNATURE_OFF, h.signature, SMB2_HDR_SIGNATURE_LEN);
	CHECK_EQ(SMB2_HDR_SIGNATURE_OFF + SMB2_HDR_SIGNATURE_LEN, SMB2_HDR_SIZE);
	smb2_hdr_set_credit_charge(w.p, 0x0302);
	smb2_hdr_set_credit_request(w.p, 0x0504);
	smb2_hdr_set_flags(w.p, SMB2_FLAGS_RELATED_OPERATIONS);
	smb2_hdr_add_flags(w.p, SMB2_FLAGS_SIGNED);
	smb2_hdr_set_next_command(w.p, 0x88);
	smb2_hdr_set_message_id(w.p, 0x1112131415161718ull);
	hex2bin("fe534d42 4000 0203 00000000 0500 0405 0c000000 88000000"
		"1817161514131211 fffe0000 ddccbbaa 8877665544332211", exp, sizeof(exp));
	CHECK_MEM(w.p, exp, 48);
	CHECK_EQ(smb2_hdr_decode(w.p, w.len, &d), 0);
	CHECK(d.credit_charge == 0x0302 && d.credits == 0x0504 && d.next_command == 0x88 &&
	      d.flags == (SMB2_FLAGS_RELATED_OPERATIONS | SMB2_FLAGS_SIGNED) &&
	      d.message_id == 0x1112131415161718ull);

	/* async form */
	wbuf_reset(&w);
	h.flags = SMB2_FLAGS_ASYNC_COMMAND | SMB2_FLAGS_SERVER_TO_REDIR;
	h.status = STATUS_PENDING;
	h.async_id = 0x0000000A0000000Bull;
	h.process_id = 0;
	h.tree_id = 0;
	CHECK_EQ(smb2_hdr_encode(&w, &h), 0);
	hex2bin("fe534d42 4000 0100 03010000 0500 1f00 03000000 00000000"
		"0807060504030201 0b0000000a000000 8877665544332211", exp, sizeof(exp));
	CHECK_MEM(w.p, exp, 48);
	CHECK_EQ(smb2_hdr_decode(w.p, w.len, &d), 0);
	CHECK_EQ(d.async_id, 0x0000000A0000000Bull);
	CHECK_EQ(d.tree_id, 0);
	CHECK_EQ(d.status, STATUS_PENDING);

	w.p[0] = 0xFF;  /* SMB1 / transform ids are not SMB2 headers */
	CHECK_EQ(smb2_hdr_decode(w.p, w.len, &d), -EBADMSG);
	w.p[0] = 0xFE;
	w.p[4] = 65;
	CHECK_EQ(smb2_hdr_decode(w.p, w.len, &d), -EBADMSG);
	wbuf_free(&w);
}

/* ---------- NEGOTIATE (2.2.3 / 2.2.4) ---------- */

static void test_negotiate(void)
{
	struct wbuf w;
	wbuf_init(&w);

	static const uint16_t dialects[] = { 0x0202, 0x0210, 0x0300, 0x0302, 0x0311 };
	static const uint16_t ciphers[] = { SMB2_CIPHER_AES128_GCM, SMB2_CIPHER_AES128_CCM };
	static const uint16_t signs[] = { SMB2_SIGNING_AES_CMAC, SMB2_SIGNING_HMAC_SHA256 };
	static const uint8_t salt[] = { 0xAA, 0xBB, 0xCC, 0xDD };
	struct smb2_negotiate_req q;
	memset(&q, 0, sizeof(q));
	q.security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED;
	q.capabilities = SMB2_GLOBAL_CAP_ENCRYPTION | SMB2_GLOBAL_CAP_LARGE_MTU;
	for (int i = 0; i < 16; i++)
		q.client_guid[i] = (uint8_t)i;
	q.dialects = dialects;
	q.n_dialects = 5;
	q.preauth_salt = salt;
	q.preauth_salt_len = sizeof(salt);
	q.ciphers = ciphers;
	q.n_ciphers = 2;
	q.sign_algs = signs;
	q.n_sign_algs = 2;
	q.netname = "srv";

	start(&w, SMB2_NEGOTIATE, false);
	CHECK_EQ(smb2_negotiate_encode(&w, &q), 0);
	CHECK_BODY(&w,
		"2400 0500 0100 0000 44000000 000102030405060708090a0b0c0d0e0f"
		"70000000 0400 0000"                    /* NegotiateContextOffset 112, count 4 */
		"0202 1002 0003 0203 1103 0000"         /* dialects + pad to 112 */
		"0100 0a00 00000000 0100 0400 0100 aabbccdd 000000000000" /* preauth @112 */
		"0200 0600 00000000 0200 0200 0100 0000"                   /* encryption @136 */
		"0500 0600 00000000 7300 7200 7600 0000"                   /* netname @152 */
		"0800 0600 00000000 0200 0100 0000");                      /* signing @168 */

	/* Without 3.1.1: no contexts, ClientStartTime zero. */
	q.n_dialects = 2;
	start(&w, SMB2_NEGOTIATE, false);
	CHECK_EQ(smb2_negotiate_encode(&w, &q), 0);
	CHECK_BODY(&w, "2400 0200 0100 0000 44000000 000102030405060708090a0b0c0d0e0f"
		       "0000000000000000 0202 1002");
	q.n_dialects = 0;
	CHECK_EQ(smb2_negotiate_encode(&w, &q), -EINVAL);
	/* bad netname */
	q.n_dialects = 5;
	q.netname = "\xC0\x80";
	start(&w, SMB2_NEGOTIATE, false);
	CHECK_EQ(smb2_negotiate_encode(&w, &q), -EILSEQ);

	/* Response: 3.1.1 with blob and three contexts (offsets from header). */
	struct smb2_negotiate_rsp r;
	start(&w, SMB2_NEGOTIATE, true);
	hexput(&w, "4100 0100 1103 0300 f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff 47000000"
		   "00001000 00002000 00003000 1111111111111111 2222222222222222"
		   "8000 0400 88000000"
		   "60010203 00000000"                            /* blob @128, pad to 136 */
		   "0100 2600 00000000 0100 2000 0100"              /* preauth @136, 38 bytes */
		   "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f 0000"
		   "0200 0400 00000000 0100 0200 00000000"          /* encryption @184 */
		   "0800 0400 00000000 0100 0100");                 /* signing @200 */
	CHECK_EQ(w.len, 212);
	CHECK_EQ(smb2_negotiate_decode(w.p, w.len, &r), 0);
	CHECK_EQ(r.security_mode, 1);
	CHECK_EQ(r.dialect, 0x0311);
	CHECK_EQ(r.server_guid[0], 0xF0);
	CHECK_EQ(r.server_guid[15], 0xFF);
	CHECK_EQ(r.capabilities, 0x47);
	CHECK_EQ(r.max_transact_size, 0x100000);
	CHECK_EQ(r.max_read_size, 0x200000);
	CHECK_EQ(r.max_write_size, 0x300000);
	CHECK_EQ(r.system_time, 0x1111111111111111ull);
	CHECK_EQ(r.server_start_time, 0x2222222222222222ull);
	CHECK(r.sec_blob == w.p + 128 && r.sec_blob_len == 4);
	CHECK(r.has_preauth && r.preauth_hash_alg == SMB2_PREAUTH_HASH_SHA512);
	CHECK(r.has_cipher && r.cipher == SMB2_CIPHER_AES128_GCM);
	CHECK(r.has_signing && r.signing_alg == SMB2_SIGNING_AES_CMAC);
	TRUNC_ALL(dec_neg, &w);

	uint8_t *m = malloc(w.len);
	size_t n = w.len;
#define MUT(off, hex, want) do { memcpy(m, w.p, n); hex2bin(hex, m + (off), 8); \
		CHECK_EQ(smb2_negotiate_decode(m, n, &r), want); } while (0)
	MUT(64, "4000", -EBADMSG);                 /* StructureSize 64 */
	MUT(64 + 56, "7f00", -EBADMSG);            /* blob offset inside fixed part */
	MUT(64 + 56, "d200", -EBADMSG);            /* blob 212..216 beyond end */
	MUT(64 + 58, "ffff", -EBADMSG);            /* blob length overflow */
	MUT(64 + 60, "89000000", -EBADMSG);        /* context offset misaligned */
	MUT(64 + 60, "78000000", -EBADMSG);        /* context offset inside fixed part */
	MUT(64 + 60, "ffffffff", -EBADMSG);        /* context offset outside */
	MUT(64 + 6, "0400", -EBADMSG);             /* one context too many */
	MUT(136 + 2, "ff00", -EBADMSG);            /* context DataLength overflow */
	MUT(136 + 10, "2100", -EBADMSG);           /* salt length beyond context */
	MUT(136 + 8, "0000", -EBADMSG);            /* zero hash algorithms */
	MUT(184 + 8, "0200", -EBADMSG);            /* server chose two ciphers */
	MUT(200, "0100", -EBADMSG);                /* duplicate preauth context */
	MUT(200, "0300", 0);                       /* unknown (compression) type: skipped */
	MUT(64 + 4, "0203", 0);                    /* 3.0.2: contexts ignored */
	CHECK(!r.has_preauth);
	free(m);

	/* 2.1 response with empty blob and offset 0 (server quirk). */
	start(&w, SMB2_NEGOTIATE, true);
	hexput(&w, "4100 0000 1002 0000 00000000000000000000000000000000 00000000"
		   "00000100 00000100 00000100 0000000000000000 0000000000000000"
		   "0000 0000 00000000");
	CHECK_EQ(smb2_negotiate_decode(w.p, w.len, &r), 0);
	CHECK(r.sec_blob == NULL && r.sec_blob_len == 0);
	CHECK_EQ(r.dialect, 0x0210);
	TRUNC_ALL(dec_neg, &w);
	wbuf_free(&w);
}

/* ---------- SESSION_SETUP / LOGOFF (2.2.5-2.2.8) ---------- */

static void test_session(void)
{
	struct wbuf w;
	wbuf_init(&w);
	static const uint8_t blob[] = { 0x60, 0x01 };
	struct smb2_session_setup_req q = { .flags = 0, .security_mode = 1, .capabilities = 1,
					    .previous_session_id = 0x99, .blob = blob, .blob_len = 2 };
	start(&w, SMB2_SESSION_SETUP, false);
	CHECK_EQ(smb2_session_setup_encode(&w, &q), 0);
	CHECK_BODY(&w, "1900 00 01 01000000 00000000 5800 0200 9900000000000000 6001");
	q.blob_len = 0;
	q.blob = NULL;
	start(&w, SMB2_SESSION_SETUP, false);
	CHECK_EQ(smb2_session_setup_encode(&w, &q), 0);
	CHECK_BODY(&w, "1900 00 01 01000000 00000000 5800 0000 9900000000000000 00");

	struct smb2_session_setup_rsp r;
	start(&w, SMB2_SESSION_SETUP, true);
	hexput(&w, "0900 0100 4800 0300 a1b2c3");
	CHECK_EQ(smb2_session_setup_decode(w.p, w.len, &r), 0);
	CHECK_EQ(r.session_flags, SMB2_SESSION_FLAG_IS_GUEST);
	CHECK(r.blob == w.p + 72 && r.blob_len == 3);
	TRUNC_ALL(dec_sess, &w);
	w.p[68] = 0x40;  /* offset into the header */
	CHECK_EQ(smb2_session_setup_decode(w.p, w.len, &r), -EBADMSG);
	w.p[68] = 0x49;  /* 73 + 3 > 75 */
	CHECK_EQ(smb2_session_setup_decode(w.p, w.len, &r), -EBADMSG);
	w.p[68] = 0x48;
	w.p[70] = 0xFF;
	CHECK_EQ(smb2_session_setup_decode(w.p, w.len, &r), -EBADMSG);
	w.p[64] = 8;
	CHECK_EQ(smb2_session_setup_decode(w.p, w.len, &r), -EBADMSG);
	/* empty blob, offset 0 */
	start(&w, SMB2_SESSION_SETUP, true);
	hexput(&w, "0900 0000 0000 0000");
	CHECK_EQ(smb2_session_setup_decode(w.p, w.len, &r), 0);
	CHECK(r.blob_len == 0);

	start(&w, SMB2_LOGOFF, false);
	CHECK_EQ(smb2_logoff_encode(&w), 0);
	CHECK_BODY(&w, "0400 0000");
	start(&w, SMB2_TREE_DISCONNECT, false);
	CHECK_EQ(smb2_tree_disconnect_encode(&w), 0);
	CHECK_BODY(&w, "0400 0000");
	start(&w, SMB2_ECHO, false);
	CHECK_EQ(smb2_echo_encode(&w), 0);
	CHECK_BODY(&w, "0400 0000");
	start(&w, SMB2_CANCEL, false);
	CHECK_EQ(smb2_cancel_encode(&w), 0);
	CHECK_BODY(&w, "0400 0000");

	start(&w, SMB2_LOGOFF, true);
	hexput(&w, "0400 0000");
	CHECK_EQ(smb2_empty_rsp_decode(w.p, w.len), 0);
	TRUNC_ALL(smb2_empty_rsp_decode, &w);
	w.p[64] = 5;
	CHECK_EQ(smb2_empty_rsp_decode(w.p, w.len), -EBADMSG);
	start(&w, SMB2_SET_INFO, true);
	hexput(&w, "0200");
	CHECK_EQ(smb2_empty_rsp_decode(w.p, w.len), 0);
	w.p[64] = 4;
	CHECK_EQ(smb2_empty_rsp_decode(w.p, w.len), -EBADMSG);
	wbuf_free(&w);
}

/* ---------- TREE_CONNECT (2.2.9 / 2.2.10) ---------- */

static void test_tree(void)
{
	struct wbuf w;
	wbuf_init(&w);
	struct smb2_tree_connect_req q = { .flags = 0, .path = "\\\\s\\x" };
	start(&w, SMB2_TREE_CONNECT, false);
	CHECK_EQ(smb2_tree_connect_encode(&w, &q), 0);
	CHECK_BODY(&w, "0900 0000 4800 0a00 5c005c0073005c007800");
	q.path = "";
	CHECK_EQ(smb2_tree_connect_encode(&w, &q), -EINVAL);

	struct smb2_tree_connect_rsp r;
	start(&w, SMB2_TREE_CONNECT, true);
	hexput(&w, "1000 01 00 00800000 08000000 ff011f00");
	CHECK_EQ(smb2_tree_connect_decode(w.p, w.len, &r), 0);
	CHECK_EQ(r.share_type, SMB2_SHARE_TYPE_DISK);
	CHECK_EQ(r.share_flags, SMB2_SHAREFLAG_ENCRYPT_DATA);
	CHECK_EQ(r.capabilities, 8);
	CHECK_EQ(r.maximal_access, 0x001f01ff);
	TRUNC_ALL(dec_tree, &w);
	w.p[64] = 9;
	CHECK_EQ(smb2_tree_connect_decode(w.p, w.len, &r), -EBADMSG);
	wbuf_free(&w);
}

/* ---------- CREATE (2.2.13 / 2.2.14) ---------- */

struct ctx_seen {
	int n;
	char names[4][5];
	size_t lens[4];
	const uint8_t *data[4];
};

static int ctx_cb(const struct smb2_create_context *c, void *arg)
{
	struct ctx_seen *s = arg;
	if (s->n < 4) {
		memcpy(s->names[s->n], c->name, 5);
		s->lens[s->n] = c->data_len;
		s->data[s->n] = c->data;
	}
	s->n++;
	return 0;
}

static int ctx_stop(const struct smb2_create_context *c, void *arg)
{
	(void)c;
	(void)arg;
	return 42;
}

static int walk_hex(const char *hex)
{
	uint8_t b[256];
	size_t n = hex2bin(hex, b, sizeof(b));
	uint8_t *c = malloc(n ? n : 1);
	memcpy(c, b, n);
	struct ctx_seen s = { 0 };
	int rc = smb2_create_contexts_walk(c, n, ctx_cb, &s);
	free(c);
	return rc;
}

static void test_create(void)
{
	struct wbuf w;
	wbuf_init(&w);
	struct smb2_create_context ctx[2] = {
		{ .name = "MxAc" },
		{ .name = "TEST", .data = (const uint8_t *)"xyz", .data_len = 3 },
	};
	struct smb2_create_req q = {
		.oplock_level = SMB2_OPLOCK_LEVEL_NONE,
		.impersonation_level = SMB2_IMPERSONATION_IMPERSONATION,
		.desired_access = GENERIC_READ,
		.file_attributes = FILE_ATTRIBUTE_NORMAL,
		.share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
		.create_disposition = FILE_OPEN,
		.create_options = FILE_NON_DIRECTORY_FILE,
		.name = "a\\b",
		.contexts = ctx,
		.n_contexts = 2,
	};
	start(&w, SMB2_CREATE, false);
	CHECK_EQ(smb2_create_encode(&w, &q), 0);
	CHECK_BODY(&w,
		"3900 00 00 02000000 0000000000000000 0000000000000000"
		"00000080 80000000 07000000 01000000 40000000"
		"7800 0600 80000000 33000000"
		"61005c006200 0000"                                   /* name @120, pad to 128 */
		"18000000 1000 0400 0000 0000 00000000 4d784163 00000000" /* MxAc @128 */
		"00000000 1000 0400 0000 1800 03000000 54455354 00000000 78797a"); /* TEST @152 */
	/* Round trip: walk the request chain we just built. */
	struct ctx_seen s = { 0 };
	CHECK_EQ(smb2_create_contexts_walk(w.p + 128, w.len - 128, ctx_cb, &s), 0);
	CHECK_EQ(s.n, 2);
	CHECK(strcmp(s.names[0], "MxAc") == 0 && s.lens[0] == 0 && s.data[0] == NULL);
	CHECK(strcmp(s.names[1], "TEST") == 0 && s.lens[1] == 3 && memcmp(s.data[1], "xyz", 3) == 0);
	CHECK_EQ(smb2_create_contexts_walk(w.p + 128, w.len - 128, ctx_stop, NULL), 42);

	/* Share root: empty name still carries one Buffer byte. */
	q.name = "";
	q.n_contexts = 0;
	start(&w, SMB2_CREATE, false);
	CHECK_EQ(smb2_create_encode(&w, &q), 0);
	CHECK_BODY(&w,
		"3900 00 00 02000000 0000000000000000 0000000000000000"
		"00000080 80000000 07000000 01000000 40000000"
		"7800 0000 00000000 00000000 00");
	/* Bad context name */
	struct smb2_create_context badc = { .name = "" };
	q.contexts = &badc;
	q.n_contexts = 1;
	start(&w, SMB2_CREATE, false);
	CHECK_EQ(smb2_create_encode(&w, &q), -EINVAL);

	/* Response with an MxAc context (QueryStatus 0, MaximalAccess 0x1f01ff) */
	struct smb2_create_rsp r;
	start(&w, SMB2_CREATE, true);
	hexput(&w, "5900 00 00 01000000 1100000000000000 2200000000000000 3300000000000000"
		   "4400000000000000 0010000000000000 0500000000000000 20000000 00000000"
		   "0100000000000000 0200000000000000 98000000 20000000"
		   "00000000 1000 0400 0000 1800 08000000 4d784163 00000000 00000000 ff011f00");
	CHECK_EQ(smb2_create_decode(w.p, w.len, &r), 0);
	CHECK_EQ(r.create_action, FILE_OPENED);
	CHECK_EQ(r.creation_time, 0x11);
	CHECK_EQ(r.last_access_time, 0x22);
	CHECK_EQ(r.last_write_time, 0x33);
	CHECK_EQ(r.change_time, 0x44);
	CHECK_EQ(r.allocation_size, 4096);
	CHECK_EQ(r.end_of_file, 5);
	CHECK_EQ(r.file_attributes, FILE_ATTRIBUTE_ARCHIVE);
	CHECK_EQ(r.file_id.persistent, 1);
	CHECK_EQ(r.file_id.volatile_, 2);
	CHECK(r.contexts == w.p + 152 && r.contexts_len == 32);
	memset(&s, 0, sizeof(s));
	CHECK_EQ(smb2_create_contexts_walk(r.contexts, r.contexts_len, ctx_cb, &s), 0);
	CHECK(s.n == 1 && strcmp(s.names[0], "MxAc") == 0 && s.lens[0] == 8);
	CHECK_EQ(le32_load(s.data[0] + 4), 0x001f01ff);
	TRUNC_ALL(dec_create, &w);
	w.p[64 + 80] = 0x90;  /* contexts offset inside fixed part */
	CHECK_EQ(smb2_create_decode(w.p, w.len, &r), -EBADMSG);
	w.p[64 + 80] = 0x98;
	w.p[64 + 84] = 0x21;  /* contexts length overflows */
	CHECK_EQ(smb2_create_decode(w.p, w.len, &r), -EBADMSG);
	w.p[64 + 84] = 0x20;
	w.p[152 + 12] = 0x09; /* data length overflows its context */
	CHECK_EQ(smb2_create_decode(w.p, w.len, &r), -EBADMSG);
	w.p[152 + 12] = 0x08;
	w.p[64] = 88;
	CHECK_EQ(smb2_create_decode(w.p, w.len, &r), -EBADMSG);

	/* Hostile chains */
	const char *one = "1000 0400 0000 1800 04000000 41414141 00000000 01020304";
	char buf[512];
	CHECK_EQ(walk_hex(""), 0);
	snprintf(buf, sizeof(buf), "00000000 %s", one);
	CHECK_EQ(walk_hex(buf), 0);
	snprintf(buf, sizeof(buf), "08000000 %s", one);  /* Next inside the header: loop */
	CHECK_EQ(walk_hex(buf), -EBADMSG);
	snprintf(buf, sizeof(buf), "20000000 %s", one);  /* Next == length: no room */
	CHECK_EQ(walk_hex(buf), -EBADMSG);
	snprintf(buf, sizeof(buf), "f0ffffff %s", one);  /* Next overflow */
	CHECK_EQ(walk_hex(buf), -EBADMSG);
	snprintf(buf, sizeof(buf), "18000000 %s 00000000 00000000 %s", one, one);
	CHECK_EQ(walk_hex(buf), -EBADMSG);  /* data at 24..28 overflows the 24-byte extent */
	snprintf(buf, sizeof(buf), "20000000 %s 00000000 00000000 %s", one, one);
	CHECK_EQ(walk_hex(buf), 0);
	snprintf(buf, sizeof(buf), "20000000 %s 00000000 20000000 %s", one, one);
	CHECK_EQ(walk_hex(buf), -EBADMSG);  /* second Next points past the end */
	CHECK_EQ(walk_hex("00000000 1000 0000 0000 0000 00000000"), -EBADMSG); /* no name */
	CHECK_EQ(walk_hex("00000000 0800 0400 0000 0000 00000000"), -EBADMSG); /* name in header */
	CHECK_EQ(walk_hex("00000000 1000 0800 0000 0000 00000000 41414141"), -EBADMSG);
	CHECK_EQ(walk_hex("00000000 1000 0400 0000 1400 ffffffff 41414141"), -EBADMSG);
	CHECK_EQ(walk_hex("00000000 1000 0400 0000 ffff 01000000 41414141"), -EBADMSG);
	CHECK_EQ(walk_hex("00000000 1000 0400 0000 0000"), -EBADMSG); /* truncated */
	wbuf_free(&w);
}

/* ---------- CLOSE / FLUSH (2.2.15-2.2.18) ---------- */

static void test_close_flush(void)
{
	struct wbuf w;
	wbuf_init(&w);
	struct smb2_close_req q = { .flags = SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB,
				    .file_id = { 0x0102030405060708ull, 0x1112131415161718ull } };
	start(&w, SMB2_CLOSE, false);
	CHECK_EQ(smb2_close_encode(&w, &q), 0);
	CHECK_BODY(&w, "1800 0100 00000000 0807060504030201 1817161514131211");
	start(&w, SMB2_FLUSH, false);
	CHECK_EQ(smb2_flush_encode(&w, &q.file_id), 0);
	CHECK_BODY(&w, "1800 0000 00000000 0807060504030201 1817161514131211");

	struct smb2_close_rsp r;
	start(&w, SMB2_CLOSE, true);
	hexput(&w, "3c00 0100 00000000 0100000000000000 0200000000000000 0300000000000000"
		   "0400000000000000 0010000000000000 0900000000000000 10000000");
	CHECK_EQ(smb2_close_decode(w.p, w.len, &r), 0);
	CHECK_EQ(r.flags, 1);
	CHECK_EQ(r.creation_time, 1);
	CHECK_EQ(r.last_access_time, 2);
	CHECK_EQ(r.last_write_time, 3);
	CHECK_EQ(r.change_time, 4);
	CHECK_EQ(r.allocation_size, 4096);
	CHECK_EQ(r.end_of_file, 9);
	CHECK_EQ(r.file_attributes, FILE_ATTRIBUTE_DIRECTORY);
	TRUNC_ALL(dec_close, &w);
	wbuf_free(&w);
}

/* ---------- LOCK (2.2.26 / 2.2.27) ---------- */

static void test_lock(void)
{
	struct wbuf w;
	wbuf_init(&w);
	struct smb2_lock_element el[2] = {
		{ .offset = 0x40000000, .length = 1,
		  .flags = SMB2_LOCKFLAG_EXCLUSIVE_LOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY },
		{ .offset = 2, .length = UINT64_MAX - 2, .flags = SMB2_LOCKFLAG_UNLOCK },
	};
	struct smb2_lock_req q = { .file_id = { 0x0102030405060708ull, 0x1112131415161718ull },
				   .locks = el, .count = 1 };
	start(&w, SMB2_LOCK, false);
	CHECK_EQ(smb2_lock_encode(&w, &q), 0);
	CHECK_BODY(&w, "3000 0100 00000000 0807060504030201 1817161514131211"
		       "0000004000000000 0100000000000000 12000000 00000000");
	q.count = 2;
	el[0].flags = SMB2_LOCKFLAG_UNLOCK;
	start(&w, SMB2_LOCK, false);
	CHECK_EQ(smb2_lock_encode(&w, &q), 0);
	CHECK_BODY(&w, "3000 0200 00000000 0807060504030201 1817161514131211"
		       "0000004000000000 0100000000000000 04000000 00000000"
		       "0200000000000000 fdffffffffffffff 04000000 00000000");
	/* refused before sending: no element, a range past 2^64, flags
	 * 2.2.26.1 does not list (two kinds, unlock + fail immediately) */
	struct smb2_lock_element bad[] = {
		{ .offset = 2, .length = UINT64_MAX - 1, .flags = SMB2_LOCKFLAG_SHARED_LOCK },
		{ .offset = 0, .length = 1, .flags = SMB2_LOCKFLAG_SHARED_LOCK | SMB2_LOCKFLAG_EXCLUSIVE_LOCK },
		{ .offset = 0, .length = 1, .flags = SMB2_LOCKFLAG_UNLOCK | SMB2_LOCKFLAG_FAIL_IMMEDIATELY },
		{ .offset = 0, .length = 1, .flags = 0 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct smb2_lock_req b = { .locks = &bad[i], .count = 1 };
		start(&w, SMB2_LOCK, false);
		CHECK_EQ(smb2_lock_encode(&w, &b), -EINVAL);
		CHECK_EQ(w.err, -EINVAL);
	}
	q.count = 0;
	start(&w, SMB2_LOCK, false);
	CHECK_EQ(smb2_lock_encode(&w, &q), -EINVAL);
	q.count = SMB2_LOCK_MAX + 1;
	start(&w, SMB2_LOCK, false);
	CHECK_EQ(smb2_lock_encode(&w, &q), -EINVAL);

	start(&w, SMB2_LOCK, true);
	hexput(&w, "0400 0000");
	CHECK_EQ(smb2_lock_decode(w.p, w.len), 0);
	TRUNC_ALL(smb2_lock_decode, &w);
	w.p[64] = 2;
	CHECK_EQ(smb2_lock_decode(w.p, w.len), -EBADMSG);
	wbuf_free(&w);
}

/* ---------- leases (2.2.13.2.8/10, 2.2.14.2.10/11, 2.2.23-2.2.25) ---------- */

static int dec_break(const uint8_t *m, size_t n)
{
	struct smb2_lease_break b;
	int r = smb2_break_notify_decode(m, n, &b);
	return r == 1 ? 0 : r == 0 ? 1 : r;
}
static int dec_ack_rsp(const uint8_t *m, size_t n)
{
	uint8_t key[16];
	uint32_t st;
	return smb2_lease_ack_rsp_decode(m, n, key, &st);
}

static void test_lease(void)
{
	struct smb2_lease_ctx l = { .state = SMB2_LEASE_READ_CACHING | SMB2_LEASE_HANDLE_CACHING |
					     SMB2_LEASE_WRITE_CACHING };
	uint8_t out[SMB2_LEASE_V2_SIZE], want[64];
	for (int i = 0; i < 16; i++)
		l.key[i] = (uint8_t)(0xA0 + i);

	/* v1 request: key, state, flags 0, duration 0 */
	CHECK_EQ(smb2_lease_ctx_encode(&l, out), 32);
	size_t n = hex2bin("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 07000000 00000000 0000000000000000",
			   want, sizeof(want));
	CHECK_EQ(n, 32);
	CHECK_MEM(out, want, 32);

	/* v2 request: + parent key, epoch, reserved; only the parent flag may be set */
	l.v2 = true;
	l.flags = SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET | SMB2_LEASE_FLAG_BREAK_IN_PROGRESS;
	memset(l.parent_key, 0x5A, 16);
	l.epoch = 0x0102;
	CHECK_EQ(smb2_lease_ctx_encode(&l, out), 52);
	n = hex2bin("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 07000000 04000000 0000000000000000"
		    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a 0201 0000",
		    want, sizeof(want));
	CHECK_EQ(n, 52);
	CHECK_MEM(out, want, 52);

	/* responses: v1 and v2 by length, anything else refused */
	struct smb2_lease_ctx d;
	n = hex2bin("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 03000000 02000000 0000000000000000"
		    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a 0700 0000",
		    want, sizeof(want));
	CHECK_EQ(smb2_lease_ctx_decode(want, 32, &d), 0);
	CHECK(!d.v2);
	CHECK_MEM(d.key, l.key, 16);
	CHECK_EQ(d.state, SMB2_LEASE_READ_CACHING | SMB2_LEASE_HANDLE_CACHING);
	CHECK_EQ(d.flags, SMB2_LEASE_FLAG_BREAK_IN_PROGRESS);
	CHECK_EQ(smb2_lease_ctx_decode(want, 52, &d), 0);
	CHECK(d.v2);
	CHECK_EQ(d.epoch, 7);
	CHECK_MEM(d.parent_key, l.parent_key, 16);
	for (size_t bad = 0; bad < 60; bad++)
		if (bad != 32 && bad != 52)
			CHECK_EQ(smb2_lease_ctx_decode(want, bad, &d), -EBADMSG);
	CHECK_EQ(smb2_lease_ctx_decode(NULL, 32, &d), -EBADMSG);

	/* lease break notification */
	struct wbuf w;
	struct smb2_lease_break b;
	wbuf_init(&w);
	start(&w, SMB2_OPLOCK_BREAK, true);
	hexput(&w, "2c00 0300 01000000 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 07000000 01000000"
		   "00000000 00000000 00000000");
	CHECK_EQ(smb2_break_notify_decode(w.p, w.len, &b), 1);
	CHECK_EQ(b.new_epoch, 3);
	CHECK_EQ(b.flags, SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED);
	CHECK_MEM(b.key, l.key, 16);
	CHECK_EQ(b.current_state, 7);
	CHECK_EQ(b.new_state, SMB2_LEASE_READ_CACHING);
	TRUNC_ALL(dec_break, &w);
	/* an oplock break notification: recognised, not a lease break */
	start(&w, SMB2_OPLOCK_BREAK, true);
	hexput(&w, "1800 01 00 00000000 0100000000000000 0200000000000000");
	CHECK_EQ(smb2_break_notify_decode(w.p, w.len, &b), 0);
	/* another StructureSize is refused */
	start(&w, SMB2_OPLOCK_BREAK, true);
	hexput(&w, "2400 0000 00000000 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 01000000 0000000000000000");
	CHECK_EQ(smb2_break_notify_decode(w.p, w.len, &b), -EBADMSG);

	/* acknowledgment: StructureSize 36, reserved, flags 0, key, state, duration 0 */
	start(&w, SMB2_OPLOCK_BREAK, false);
	CHECK_EQ(smb2_lease_ack_encode(&w, l.key, SMB2_LEASE_READ_CACHING), 0);
	CHECK_BODY(&w, "2400 0000 00000000 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 01000000 0000000000000000");
	/* the server's response has the same shape */
	uint8_t key[16];
	uint32_t st = 99;
	start(&w, SMB2_OPLOCK_BREAK, true);
	hexput(&w, "2400 0000 00000000 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 01000000 0000000000000000");
	CHECK_EQ(smb2_lease_ack_rsp_decode(w.p, w.len, key, &st), 0);
	CHECK_MEM(key, l.key, 16);
	CHECK_EQ(st, SMB2_LEASE_READ_CACHING);
	TRUNC_ALL(dec_ack_rsp, &w);
	wbuf_free(&w);
}

/* ---------- READ / WRITE (2.2.19-2.2.22) ---------- */

static void test_rw(void)
{
	struct wbuf w;
	wbuf_init(&w);
	struct smb2_read_req q = { .flags = 0, .length = 0x10000, .offset = 0x123456789ull,
				   .file_id = { 1, 2 }, .minimum_count = 1, .remaining_bytes = 0 };
	start(&w, SMB2_READ, false);
	CHECK_EQ(smb2_read_encode(&w, &q), 0);
	CHECK_BODY(&w, "3100 50 00 00000100 8967452301000000 0100000000000000 0200000000000000"
		       "01000000 00000000 00000000 0000 0000 00");

	struct smb2_read_rsp r;
	start(&w, SMB2_READ, true);
	hexput(&w, "1100 50 00 05000000 00000000 00000000 68656c6c6f");
	CHECK_EQ(smb2_read_decode(w.p, w.len, &r), 0);
	CHECK(r.data == w.p + 80 && r.data_len == 5 && memcmp(r.data, "hello", 5) == 0);
	TRUNC_ALL(dec_read, &w);
	w.p[66] = 0x40;  /* data offset inside the header */
	CHECK_EQ(smb2_read_decode(w.p, w.len, &r), -EBADMSG);
	w.p[66] = 0x4F;  /* inside the fixed part */
	CHECK_EQ(smb2_read_decode(w.p, w.len, &r), -EBADMSG);
	w.p[66] = 0x51;  /* 81 + 5 > 85 */
	CHECK_EQ(smb2_read_decode(w.p, w.len, &r), -EBADMSG);
	w.p[66] = 0x50;
	le32_store(w.p + 68, 0xFFFFFFFFu);
	CHECK_EQ(smb2_read_decode(w.p, w.len, &r), -EBADMSG);
	start(&w, SMB2_READ, true);
	hexput(&w, "1100 00 00 00000000 00000000 00000000");  /* zero length, offset 0 */
	CHECK_EQ(smb2_read_decode(w.p, w.len, &r), 0);
	CHECK_EQ(r.data_len, 0);

	struct smb2_write_req wq = { .offset = 0x200, .file_id = { 3, 4 },
				     .data = (const uint8_t *)"abc", .data_len = 3,
				     .flags = SMB2_WRITEFLAG_WRITE_THROUGH };
	start(&w, SMB2_WRITE, false);
	CHECK_EQ(smb2_write_encode(&w, &wq), 0);
	CHECK_BODY(&w, "3100 7000 03000000 0002000000000000 0300000000000000 0400000000000000"
		       "00000000 00000000 0000 0000 01000000 616263");
	struct smb2_write_rsp wr;
	start(&w, SMB2_WRITE, true);
	hexput(&w, "1100 0000 03000000 00000000 0000 0000");
	CHECK_EQ(smb2_write_decode(w.p, w.len, &wr), 0);
	CHECK_EQ(wr.count, 3);
	TRUNC_ALL(dec_write, &w);
	wbuf_free(&w);
}

/* ---------- QUERY_DIRECTORY / QUERY_INFO / SET_INFO ---------- */

static void test_query(void)
{
	struct wbuf w;
	wbuf_init(&w);
	struct smb2_query_directory_req q = { .info_class = 0x25, .flags = SMB2_RESTART_SCANS,
					      .file_index = 0, .file_id = { 5, 6 }, .pattern = "*",
					      .output_buffer_length = 0x10000 };
	start(&w, SMB2_QUERY_DIRECTORY, false);
	CHECK_EQ(smb2_query_directory_encode(&w, &q), 0);
	CHECK_BODY(&w, "2100 25 01 00000000 0500000000000000 0600000000000000 6000 0200 00000100 2a00");

	struct smb2_query_directory_rsp r;
	start(&w, SMB2_QUERY_DIRECTORY, true);
	hexput(&w, "0900 4800 04000000 deadbeef");
	CHECK_EQ(smb2_query_directory_decode(w.p, w.len, &r), 0);
	CHECK(r.buf == w.p + 72 && r.buf_len == 4);
	TRUNC_ALL(dec_qdir, &w);
	w.p[66] = 0x49;
	CHECK_EQ(smb2_query_directory_decode(w.p, w.len, &r), -EBADMSG);
	w.p[66] = 0x47;
	CHECK_EQ(smb2_query_directory_decode(w.p, w.len, &r), -EBADMSG);

	struct smb2_query_info_req qi = { .info_type = SMB2_0_INFO_FILE, .file_info_class = 0x12,
					  .output_buffer_length = 0x1000, .file_id = { 7, 8 } };
	start(&w, SMB2_QUERY_INFO, false);
	CHECK_EQ(smb2_query_info_encode(&w, &qi), 0);
	CHECK_BODY(&w, "2900 01 12 00100000 6800 0000 00000000 00000000 00000000"
		       "0700000000000000 0800000000000000 00");
	struct smb2_query_info_rsp ir;
	start(&w, SMB2_QUERY_INFO, true);
	hexput(&w, "0900 4800 02000000 0102");
	CHECK_EQ(smb2_query_info_decode(w.p, w.len, &ir), 0);
	CHECK(ir.buf == w.p + 72 && ir.buf_len == 2);
	TRUNC_ALL(dec_qinfo, &w);
	le32_store(w.p + 68, 0xFFFFFFF0u);
	CHECK_EQ(smb2_query_info_decode(w.p, w.len, &ir), -EBADMSG);

	static const uint8_t eof[8] = { 0x10 };
	struct smb2_set_info_req si = { .info_type = SMB2_0_INFO_FILE, .file_info_class = 0x14,
					.file_id = { 9, 10 }, .buf = eof, .buf_len = 8 };
	start(&w, SMB2_SET_INFO, false);
	CHECK_EQ(smb2_set_info_encode(&w, &si), 0);
	CHECK_BODY(&w, "2100 01 14 08000000 6000 0000 00000000 0900000000000000 0a00000000000000"
		       "1000000000000000");
	wbuf_free(&w);
}

/* ---------- IOCTL (2.2.31 / 2.2.32) ---------- */

static void test_ioctl(void)
{
	struct wbuf w;
	wbuf_init(&w);
	struct smb2_ioctl_req q = { .ctl_code = FSCTL_VALIDATE_NEGOTIATE_INFO,
				    .file_id = { UINT64_MAX, UINT64_MAX },
				    .input = (const uint8_t *)"\x01\x02", .input_len = 2,
				    .max_input_response = 0, .max_output_response = 24,
				    .flags = SMB2_0_IOCTL_IS_FSCTL };
	start(&w, SMB2_IOCTL, false);
	CHECK_EQ(smb2_ioctl_encode(&w, &q), 0);
	CHECK_BODY(&w, "3900 0000 04021400 ffffffffffffffff ffffffffffffffff 78000000 02000000"
		       "00000000 00000000 00000000 18000000 01000000 00000000 0102");

	struct smb2_ioctl_rsp r;
	start(&w, SMB2_IOCTL, true);
	hexput(&w, "3100 0000 04021400 ffffffffffffffff ffffffffffffffff 70000000 00000000"
		   "70000000 04000000 00000000 00000000 41424344");
	CHECK_EQ(smb2_ioctl_decode(w.p, w.len, &r), 0);
	CHECK_EQ(r.ctl_code, FSCTL_VALIDATE_NEGOTIATE_INFO);
	CHECK_EQ(r.file_id.persistent, UINT64_MAX);
	CHECK(r.input == NULL && r.input_len == 0);
	CHECK(r.output == w.p + 112 && r.output_len == 4);
	TRUNC_ALL(dec_ioctl, &w);
	le32_store(w.p + 64 + 32, 0x6F);
	CHECK_EQ(smb2_ioctl_decode(w.p, w.len, &r), -EBADMSG);
	le32_store(w.p + 64 + 32, 0xFFFFFFFEu);
	CHECK_EQ(smb2_ioctl_decode(w.p, w.len, &r), -EBADMSG);
	le32_store(w.p + 64 + 32, 0x70);
	le32_store(w.p + 64 + 28, 5);  /* input count 5 at offset 0x70: 117 > 116 */
	CHECK_EQ(smb2_ioctl_decode(w.p, w.len, &r), -EBADMSG);
	wbuf_free(&w);
}

/* ---------- VALIDATE_NEGOTIATE_INFO (2.2.31.4 / 2.2.32.6) ---------- */

static int dec_vneg(const uint8_t *m, size_t n)
{
	struct smb2_validate_negotiate_rsp r;
	return smb2_validate_negotiate_decode(m, n, &r);
}

static void test_validate_negotiate(void)
{
	static const uint16_t dialects[] = { SMB2_DIALECT_202, SMB2_DIALECT_210, SMB2_DIALECT_300,
					     SMB2_DIALECT_302 };
	struct smb2_validate_negotiate_req q = {
		.capabilities = SMB2_GLOBAL_CAP_LARGE_MTU,
		.security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED | SMB2_NEGOTIATE_SIGNING_REQUIRED,
		.dialects = dialects,
		.n_dialects = 4,
	};
	unsigned char exp[64];
	struct wbuf w;

	for (int i = 0; i < 16; i++)
		q.guid[i] = (uint8_t)(0x10 + i);
	wbuf_init(&w);
	CHECK_EQ(smb2_validate_negotiate_encode(&w, &q), 0);
	/* Capabilities, Guid, SecurityMode, DialectCount, Dialects */
	size_t n = hex2bin("04000000 101112131415161718191a1b1c1d1e1f 0300 0400"
			   "0202 1002 0003 0203", exp, sizeof(exp));
	CHECK_EQ(n, 32);
	CHECK_EQ(w.len, n);
	CHECK_MEM(w.p, exp, n);

	/* appends: the payload goes after what the buffer holds */
	wbuf_reset(&w);
	wbuf_u8(&w, 0xAA);
	q.n_dialects = 1;
	CHECK_EQ(smb2_validate_negotiate_encode(&w, &q), 0);
	CHECK_EQ(w.len, 1 + 26);
	CHECK_EQ(le16_load(w.p + 1 + 22), 1);
	CHECK_EQ(le16_load(w.p + 1 + 24), SMB2_DIALECT_202);

	/* no dialects: refused, and the buffer poisoned */
	wbuf_reset(&w);
	q.n_dialects = 0;
	CHECK_EQ(smb2_validate_negotiate_encode(&w, &q), -EINVAL);
	CHECK_EQ(w.err, -EINVAL);
	wbuf_reset(&w);
	q.n_dialects = 0x10000;
	CHECK_EQ(smb2_validate_negotiate_encode(&w, &q), -EOVERFLOW);
	CHECK_EQ(w.err, -EOVERFLOW);
	CHECK_EQ(w.len, 0);
	wbuf_free(&w);

	/* Response: Capabilities, Guid, SecurityMode, Dialect */
	struct smb2_validate_negotiate_rsp r;
	n = hex2bin("47000000 a0a1a2a3a4a5a6a7a8a9aaabacadaeaf 0100 0203", exp, sizeof(exp));
	CHECK_EQ(n, SMB2_VALIDATE_NEGOTIATE_RSP_SIZE);
	CHECK_EQ(smb2_validate_negotiate_decode(exp, n, &r), 0);
	CHECK_EQ(r.capabilities, 0x47);
	CHECK_MEM(r.guid, exp + 4, 16);
	CHECK_EQ(r.security_mode, SMB2_NEGOTIATE_SIGNING_ENABLED);
	CHECK_EQ(r.dialect, SMB2_DIALECT_302);
	/* every shorter output is rejected, without reading past it */
	trunc_all(dec_vneg, exp, n, __LINE__);
	CHECK_EQ(smb2_validate_negotiate_decode(NULL, 0, &r), -EBADMSG);
	/* trailing bytes are not the decoder's business */
	CHECK_EQ(smb2_validate_negotiate_decode(exp, n + 4, &r), 0);
	CHECK_EQ(r.dialect, SMB2_DIALECT_302);
}

/* ---------- ERROR (2.2.2) ---------- */

static void test_error(void)
{
	struct wbuf w;
	wbuf_init(&w);
	struct smb2_error_rsp r;
	start(&w, SMB2_CREATE, true);
	hexput(&w, "0900 00 00 00000000 00");  /* Windows sends one ErrorData byte */
	CHECK_EQ(smb2_error_decode(w.p, w.len, &r), 0);
	CHECK_EQ(r.byte_count, 0);
	start(&w, SMB2_CREATE, true);
	hexput(&w, "0900 01 00 04000000 01020304");
	CHECK_EQ(smb2_error_decode(w.p, w.len, &r), 0);
	CHECK(r.context_count == 1 && r.byte_count == 4 && r.data == w.p + 72);
	TRUNC_ALL(dec_err, &w);
	le32_store(w.p + 68, 0xFFFFFFFFu);
	CHECK_EQ(smb2_error_decode(w.p, w.len, &r), -EBADMSG);
	wbuf_free(&w);
}

/* A listening socket on loopback, to see what a connection sends. */
static int listen_loopback(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* Every encoder failure poisons the buffer with its reason, and a poisoned
 * buffer never leaves: no empty name (= the share root), no truncated field. */
static void test_encoder_errors(void)
{
	struct wbuf w;
	wbuf_init(&w);

	/* CREATE of a name that is not UTF-8 */
	struct smb2_create_req cq = { .create_disposition = FILE_OPEN_IF, .name = "a\xFF" "b" };
	start(&w, SMB2_CREATE, false);
	CHECK_EQ(smb2_create_encode(&w, &cq), -EILSEQ);
	CHECK_EQ(w.err, -EILSEQ);
	/* a later encoder into the same buffer keeps the first reason */
	CHECK_EQ(smb2_echo_encode(&w), -EILSEQ);
	CHECK_EQ(w.err, -EILSEQ);

	/* ... and the connection refuses it: nothing reaches the server */
	uint16_t port = 0;
	int lfd = listen_loopback(&port);
	CHECK(lfd >= 0);
	struct smb2_conn *c = NULL;
	char err[256];
	CHECK_EQ(smb2_conn_open("127.0.0.1", port, 5, false, &c, err, sizeof(err)), 0);
	int sfd = accept(lfd, NULL, NULL);
	CHECK(sfd >= 0);
	struct smb2_reply rep;
	CHECK_EQ(smb2_conn_call(c, &w, 0, 1, &rep), -EILSEQ);
	wbuf_reset(&w);
	CHECK_EQ(smb2_hdr_encode(&w, &(struct smb2_hdr){ .command = SMB2_ECHO }), 0);
	CHECK_EQ(wbuf_fail(&w, -EOVERFLOW), -EOVERFLOW);  /* poisoned after a good header */
	CHECK_EQ(smb2_conn_call(c, &w, 0, 1, &rep), -EOVERFLOW);
	uint8_t b[4];
	CHECK(recv(sfd, b, sizeof(b), MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	smb2_conn_free(c);
	close(sfd);
	close(lfd);

	/* QUERY_DIRECTORY pattern, TREE_CONNECT path, NEGOTIATE netname */
	struct smb2_query_directory_req qd = { .pattern = "\xC0\x80" };
	start(&w, SMB2_QUERY_DIRECTORY, false);
	CHECK_EQ(smb2_query_directory_encode(&w, &qd), -EILSEQ);
	CHECK_EQ(w.err, -EILSEQ);
	struct smb2_tree_connect_req tq = { .path = "\\\\srv\\sh\xE2\x82" };
	start(&w, SMB2_TREE_CONNECT, false);
	CHECK_EQ(smb2_tree_connect_encode(&w, &tq), -EILSEQ);
	CHECK_EQ(w.err, -EILSEQ);
	static const uint16_t d311[] = { SMB2_DIALECT_311 };
	struct smb2_negotiate_req nq = { .dialects = d311, .n_dialects = 1, .netname = "s\xFF" };
	start(&w, SMB2_NEGOTIATE, false);
	CHECK_EQ(smb2_negotiate_encode(&w, &nq), -EILSEQ);
	CHECK_EQ(w.err, -EILSEQ);

	/* Lengths that do not fit their field */
	size_t big = 40000;  /* 80000 bytes of UTF-16: over NameLength's u16 */
	char *name = malloc(big + 1);
	memset(name, 'a', big);
	name[big] = '\0';
	cq.name = name;
	start(&w, SMB2_CREATE, false);
	CHECK_EQ(smb2_create_encode(&w, &cq), -EOVERFLOW);
	CHECK_EQ(w.err, -EOVERFLOW);
	qd.pattern = name;
	start(&w, SMB2_QUERY_DIRECTORY, false);
	CHECK_EQ(smb2_query_directory_encode(&w, &qd), -EOVERFLOW);
	CHECK_EQ(w.err, -EOVERFLOW);
	free(name);
	static uint8_t blob[0x10000];
	struct smb2_session_setup_req sq = { .blob = blob, .blob_len = sizeof(blob) };
	start(&w, SMB2_SESSION_SETUP, false);
	CHECK_EQ(smb2_session_setup_encode(&w, &sq), -EOVERFLOW);
	CHECK_EQ(w.err, -EOVERFLOW);
	CHECK_EQ(w.len, SMB2_HDR_SIZE);  /* nothing half-written */
	/* A body that starts too far in for its u16 offset fields */
	struct smb2_write_req wq = { .data = blob, .data_len = 1 };
	wbuf_reset(&w);
	wbuf_zero(&w, 0x10000);
	CHECK_EQ(smb2_write_encode(&w, &wq), -EOVERFLOW);

	/* Bad arguments poison the buffer too */
	struct smb2_create_context bad_ctx = { .name = "" };
	struct smb2_create_req cq2 = { .name = "x", .contexts = &bad_ctx, .n_contexts = 1 };
	start(&w, SMB2_CREATE, false);
	CHECK_EQ(smb2_create_encode(&w, &cq2), -EINVAL);
	CHECK_EQ(w.err, -EINVAL);

	/* The rename builder: not UTF-8, empty */
	wbuf_reset(&w);
	CHECK_EQ(fscc_build_rename(&w, false, "dir\\\xFF"), -EILSEQ);
	CHECK_EQ(w.err, -EILSEQ);
	CHECK_EQ(w.len, 0);
	wbuf_reset(&w);
	CHECK_EQ(fscc_build_rename(&w, false, ""), -EINVAL);
	CHECK_EQ(w.err, -EINVAL);
	wbuf_free(&w);
}

/* 2.2.41 TRANSFORM_HEADER.  The golden header is the 3.1.1 request of the
 * Microsoft Open Specifications blog "SMB 3.1.1 Encryption in Windows 10"
 * (2015): signature, nonce, OriginalMessageSize 0x87, Flags 1, SessionId
 * 0x100000000025. */
static void test_transform(void)
{
	uint8_t frame[SMB2_TRANSFORM_HDR_SIZE + 0x87], out[SMB2_TRANSFORM_HDR_SIZE];
	uint8_t want[SMB2_TRANSFORM_HDR_SIZE];
	size_t wn;
	struct smb2_transform_hdr h, d;

	wn = hex2bin("FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C00000000"
		"87000000" "0000" "0100" "2500000000100000", want, sizeof(want));
	CHECK_EQ(wn, SMB2_TRANSFORM_HDR_SIZE);
	memset(&h, 0, sizeof(h));
	memcpy(h.signature, want + 4, 16);
	memcpy(h.nonce, want + 20, 16);
	h.original_size = 0x87;
	h.flags = SMB2_TRANSFORM_FLAG_ENCRYPTED;
	h.session_id = 0x100000000025ull;
	CHECK_EQ(smb2_transform_hdr_encode(out, &h), 0);
	CHECK_MEM(out, want, sizeof(want));

	memset(frame, 0xAB, sizeof(frame));
	memcpy(frame, want, sizeof(want));
	CHECK(smb2_is_transform(frame, sizeof(frame)));
	CHECK(!smb2_is_transform(frame, 3));
	CHECK_EQ(smb2_transform_hdr_decode(frame, sizeof(frame), &d), 0);
	CHECK_MEM(d.signature, h.signature, 16);
	CHECK_MEM(d.nonce, h.nonce, 16);
	CHECK_EQ(d.original_size, 0x87);
	CHECK_EQ(d.flags, 1);
	CHECK_EQ(d.session_id, 0x100000000025ull);

	/* OriginalMessageSize must be exactly the rest of the frame. */
	CHECK_EQ(smb2_transform_hdr_decode(frame, sizeof(frame) - 1, &d), -EBADMSG);
	uint8_t big[sizeof(frame) + 1];
	memcpy(big, frame, sizeof(frame));
	big[sizeof(frame)] = 0;
	CHECK_EQ(smb2_transform_hdr_decode(big, sizeof(big), &d), -EBADMSG);
	/* Short frames: nothing, a partial header, a header with no message. */
	CHECK_EQ(smb2_transform_hdr_decode(frame, 0, &d), -EBADMSG);
	CHECK_EQ(smb2_transform_hdr_decode(NULL, 100, &d), -EBADMSG);
	CHECK_EQ(smb2_transform_hdr_decode(frame, SMB2_TRANSFORM_HDR_SIZE - 1, &d), -EBADMSG);
	/* Shorter than an SMB2 header, though consistent. */
	uint8_t tiny[SMB2_TRANSFORM_HDR_SIZE + 63];
	memcpy(tiny, frame, SMB2_TRANSFORM_HDR_SIZE);
	le32_store(tiny + 36, 63);
	CHECK_EQ(smb2_transform_hdr_decode(tiny, sizeof(tiny), &d), -EBADMSG);
	le32_store(tiny + 36, 0);
	CHECK_EQ(smb2_transform_hdr_decode(tiny, SMB2_TRANSFORM_HDR_SIZE, &d), -EBADMSG);
	/* Another ProtocolId: a plain message (0xFE) or a compressed one (0xFC). */
	frame[0] = 0xFE;
	CHECK_EQ(smb2_transform_hdr_decode(frame, sizeof(frame), &d), -EBADMSG);
	CHECK(!smb2_is_transform(frame, sizeof(frame)));
	frame[0] = 0xFC;
	CHECK_EQ(smb2_transform_hdr_decode(frame, sizeof(frame), &d), -EBADMSG);
	frame[0] = 0xFD;
	/* Flags other than "encrypted". */
	le16_store(frame + 42, 0);
	CHECK_EQ(smb2_transform_hdr_decode(frame, sizeof(frame), &d), -EBADMSG);
	le16_store(frame + 42, 3);
	CHECK_EQ(smb2_transform_hdr_decode(frame, sizeof(frame), &d), -EBADMSG);
	le16_store(frame + 42, 1);
	/* Reserved is ignored on receipt. */
	le16_store(frame + 40, 0xFFFF);
	CHECK_EQ(smb2_transform_hdr_decode(frame, sizeof(frame), &d), 0);
	CHECK_EQ(smb2_transform_hdr_decode(frame, sizeof(frame), NULL), -EINVAL);

	/* Encoding refuses a size that cannot hold an SMB2 header. */
	h.original_size = 63;
	CHECK_EQ(smb2_transform_hdr_encode(out, &h), -EINVAL);
	CHECK_EQ(smb2_transform_hdr_encode(NULL, &h), -EINVAL);
}

int main(void)
{
	test_buf();
	test_utf16();
	test_ntstatus();
	test_cmd_names();
	test_hdr();
	test_negotiate();
	test_session();
	test_tree();
	test_create();
	test_close_flush();
	test_lock();
	test_lease();
	test_rw();
	test_query();
	test_ioctl();
	test_validate_negotiate();
	test_error();
	test_encoder_errors();
	test_transform();
	return check_done("test_wire");
}

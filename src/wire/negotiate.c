/* NEGOTIATE request/response, including SMB 3.1.1 negotiate contexts. */
#include "wire_int.h"
#include "smb2fs/utf16.h"

#include <string.h>

/* MS-SMB2 2.2.3.1: appends one context (8-aligned from the header start),
 * with its DataLength patched after the data is written by the caller. */
static size_t ctx_begin(struct wbuf *w, uint16_t type)
{
	wbuf_align(w, 8);
	size_t at = w->len;
	wbuf_u16(w, type);
	wbuf_u16(w, 0);  /* DataLength, patched in ctx_end */
	wbuf_u32(w, 0);  /* Reserved */
	return at;
}

static int ctx_end(struct wbuf *w, size_t at)
{
	if (w->err)
		return w->err;
	size_t dlen = w->len - at - 8;
	if (dlen > 0xFFFF)
		return wire_fail(w, -EOVERFLOW);
	wbuf_put_u16_at(w, at + 2, (uint16_t)dlen);
	return 0;
}

/* MS-SMB2 2.2.3 (request) with 2.2.3.1.1/.2/.4/.7 contexts */
int smb2_negotiate_encode(struct wbuf *w, const struct smb2_negotiate_req *q)
{
	bool want_ctx = false;
	int rc;

	if (!w)
		return -EINVAL;
	if (!q || !q->dialects || q->n_dialects == 0 || (q->preauth_salt_len && !q->preauth_salt) ||
	    (q->n_ciphers && !q->ciphers) || (q->n_sign_algs && !q->sign_algs))
		return wire_fail(w, -EINVAL);
	if (q->n_dialects > 0xFFFF || q->preauth_salt_len > 0xFFFF || q->n_ciphers > 0xFFFF ||
	    q->n_sign_algs > 0xFFFF)
		return wire_fail(w, -EOVERFLOW);
	for (unsigned i = 0; i < q->n_dialects; i++)
		if (q->dialects[i] == SMB2_DIALECT_311)
			want_ctx = true;

	size_t body = w->len;
	wbuf_u16(w, 36);                      /* StructureSize */
	wbuf_u16(w, (uint16_t)q->n_dialects);
	wbuf_u16(w, q->security_mode);
	wbuf_u16(w, 0);                       /* Reserved */
	wbuf_u32(w, q->capabilities);
	wbuf_bytes(w, q->client_guid, 16);
	/* NegotiateContextOffset(4) + Count(2) + Reserved2(2), or ClientStartTime(8) = 0 */
	wbuf_u64(w, 0);
	for (unsigned i = 0; i < q->n_dialects; i++)
		wbuf_u16(w, q->dialects[i]);
	if (!want_ctx)
		return wire_done(w);

	uint16_t count = 0;
	size_t at;

	wbuf_align(w, 8);
	size_t first = w->len;
	if (first > 0xFFFFFFFFu)
		return wire_fail(w, -EOVERFLOW);

	at = ctx_begin(w, SMB2_PREAUTH_INTEGRITY_CAPABILITIES);
	wbuf_u16(w, 1);                       /* HashAlgorithmCount */
	wbuf_u16(w, (uint16_t)q->preauth_salt_len);
	wbuf_u16(w, SMB2_PREAUTH_HASH_SHA512);
	wbuf_bytes(w, q->preauth_salt, q->preauth_salt_len);
	if ((rc = ctx_end(w, at)) < 0)
		return rc;
	count++;

	if (q->n_ciphers) {
		at = ctx_begin(w, SMB2_ENCRYPTION_CAPABILITIES);
		wbuf_u16(w, (uint16_t)q->n_ciphers);
		for (unsigned i = 0; i < q->n_ciphers; i++)
			wbuf_u16(w, q->ciphers[i]);
		if ((rc = ctx_end(w, at)) < 0)
			return rc;
		count++;
	}
	if (q->netname) {
		at = ctx_begin(w, SMB2_NETNAME_NEGOTIATE_CONTEXT_ID);
		long n = utf16_from_utf8(w, q->netname, strlen(q->netname));
		if (n < 0)
			return (int)n;
		if ((rc = ctx_end(w, at)) < 0)
			return rc;
		count++;
	}
	if (q->n_sign_algs) {
		at = ctx_begin(w, SMB2_SIGNING_CAPABILITIES);
		wbuf_u16(w, (uint16_t)q->n_sign_algs);
		for (unsigned i = 0; i < q->n_sign_algs; i++)
			wbuf_u16(w, q->sign_algs[i]);
		if ((rc = ctx_end(w, at)) < 0)
			return rc;
		count++;
	}
	wbuf_put_u32_at(w, body + 28, (uint32_t)first);
	wbuf_put_u16_at(w, body + 32, count);
	return wire_done(w);
}

/* MS-SMB2 2.2.4 response fixed part: 64 bytes after the header. */
#define NEG_RSP_FIXED (SMB2_HDR_SIZE + 64)

/* MS-SMB2 2.2.3.1.x response contexts (server picks exactly one value). */
static int parse_ctx(struct smb2_negotiate_rsp *r, uint16_t type, const uint8_t *d, size_t dlen)
{
	struct rbuf c;

	rbuf_init(&c, d, dlen);
	switch (type) {
	case SMB2_PREAUTH_INTEGRITY_CAPABILITIES: {  /* 2.2.3.1.1 */
		if (r->has_preauth)
			return -EBADMSG;
		uint16_t n = rbuf_u16(&c);
		uint16_t salt = rbuf_u16(&c);
		if (c.err || n < 1 || (size_t)n * 2 + salt > rbuf_left(&c))
			return -EBADMSG;
		r->preauth_hash_alg = rbuf_u16(&c);
		r->has_preauth = true;
		break;
	}
	case SMB2_ENCRYPTION_CAPABILITIES: {  /* 2.2.3.1.2 */
		if (r->has_cipher)
			return -EBADMSG;
		uint16_t n = rbuf_u16(&c);
		if (c.err || n != 1 || rbuf_left(&c) < 2)
			return -EBADMSG;
		r->cipher = rbuf_u16(&c);
		r->has_cipher = true;
		break;
	}
	case SMB2_SIGNING_CAPABILITIES: {  /* 2.2.3.1.7 */
		if (r->has_signing)
			return -EBADMSG;
		uint16_t n = rbuf_u16(&c);
		if (c.err || n != 1 || rbuf_left(&c) < 2)
			return -EBADMSG;
		r->signing_alg = rbuf_u16(&c);
		r->has_signing = true;
		break;
	}
	default:
		break;  /* compression, transport, RDMA, ...: ignored */
	}
	return c.err ? -EBADMSG : 0;
}

/* MS-SMB2 2.2.4 */
int smb2_negotiate_decode(const uint8_t *msg, size_t len, struct smb2_negotiate_rsp *r)
{
	struct rbuf b;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (wire_body_begin(&b, msg, len, 65) < 0)
		return -EBADMSG;
	r->security_mode = rbuf_u16(&b);
	r->dialect = rbuf_u16(&b);
	uint16_t ctx_count = rbuf_u16(&b);
	rbuf_bytes(&b, r->server_guid, 16);
	r->capabilities = rbuf_u32(&b);
	r->max_transact_size = rbuf_u32(&b);
	r->max_read_size = rbuf_u32(&b);
	r->max_write_size = rbuf_u32(&b);
	r->system_time = rbuf_u64(&b);
	r->server_start_time = rbuf_u64(&b);
	uint16_t sec_off = rbuf_u16(&b);
	uint16_t sec_len = rbuf_u16(&b);
	uint32_t ctx_off = rbuf_u32(&b);
	if (b.err)
		return -EBADMSG;
	if (wire_buffer(msg, len, sec_off, sec_len, NEG_RSP_FIXED, &r->sec_blob) < 0)
		return -EBADMSG;
	r->sec_blob_len = sec_len;

	if (r->dialect != SMB2_DIALECT_311 || ctx_count == 0)
		return 0;
	/* 2.2.4: contexts start 8-aligned (from the header) after the fixed part. */
	if (ctx_off < NEG_RSP_FIXED || (ctx_off & 7) || ctx_off > len)
		return -EBADMSG;
	size_t pos = ctx_off;
	for (unsigned i = 0; i < ctx_count; i++) {
		if (i > 0) {
			size_t pad = (8 - (pos & 7)) & 7;
			if (pad > len - pos)
				return -EBADMSG;
			pos += pad;
		}
		if (len - pos < 8)
			return -EBADMSG;
		uint16_t type = le16_load(msg + pos);
		uint16_t dlen = le16_load(msg + pos + 2);
		pos += 8;
		if (dlen > len - pos)
			return -EBADMSG;
		int rc = parse_ctx(r, type, msg + pos, dlen);
		if (rc < 0)
			return rc;
		pos += dlen;
	}
	return 0;
}

/* CREATE request/response and create-context chains. */
#include "wire_int.h"
#include "smb2fs/utf16.h"

#include <string.h>

/* MS-SMB2 2.2.13.2: appends the chain (first context must already be at an
 * 8-aligned position).  Returns the chain length or a negative errno. */
static long contexts_encode(struct wbuf *w, const struct smb2_create_context *c, unsigned n)
{
	size_t start = w->len;
	size_t prev = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t nl = strnlen(c[i].name, sizeof(c[i].name));
		if (nl == 0 || nl > 4 || (c[i].data_len && !c[i].data))
			return wire_fail(w, -EINVAL);
		if (c[i].data_len > 0xFFFFFFFFu - 24)
			return wire_fail(w, -EOVERFLOW);
		wbuf_align(w, 8);
		size_t at = w->len;
		if (i > 0)
			wbuf_put_u32_at(w, prev, (uint32_t)(at - prev)); /* Next of previous */
		wbuf_u32(w, 0);                 /* Next */
		wbuf_u16(w, 16);                /* NameOffset */
		wbuf_u16(w, (uint16_t)nl);      /* NameLength */
		wbuf_u16(w, 0);                 /* Reserved */
		wbuf_u16(w, c[i].data_len ? 24 : 0); /* DataOffset: name padded to 8 */
		wbuf_u32(w, (uint32_t)c[i].data_len);
		wbuf_bytes(w, c[i].name, nl);
		if (c[i].data_len) {
			wbuf_align(w, 8);
			wbuf_bytes(w, c[i].data, c[i].data_len);
		}
		prev = at;
	}
	if (w->err)
		return w->err;
	if (w->len - start > 0xFFFFFFFFu)
		return wire_fail(w, -EOVERFLOW);
	return (long)(w->len - start);
}

/* MS-SMB2 2.2.13 */
int smb2_create_encode(struct wbuf *w, const struct smb2_create_req *q)
{
	uint16_t name_off;
	if (!w)
		return -EINVAL;
	if (!q || !q->name || (q->n_contexts && !q->contexts))
		return wire_fail(w, -EINVAL);
	size_t body = w->len;
	if (wire_off16(w, body + 56, &name_off) < 0)
		return w->err;
	wbuf_u16(w, 57);                   /* StructureSize */
	wbuf_u8(w, 0);                     /* SecurityFlags */
	wbuf_u8(w, q->oplock_level);
	wbuf_u32(w, q->impersonation_level);
	wbuf_u64(w, 0);                    /* SmbCreateFlags */
	wbuf_u64(w, 0);                    /* Reserved */
	wbuf_u32(w, q->desired_access);
	wbuf_u32(w, q->file_attributes);
	wbuf_u32(w, q->share_access);
	wbuf_u32(w, q->create_disposition);
	wbuf_u32(w, q->create_options);
	wbuf_u16(w, name_off);             /* NameOffset */
	wbuf_u16(w, 0);                    /* NameLength, patched */
	wbuf_u32(w, 0);                    /* CreateContextsOffset, patched */
	wbuf_u32(w, 0);                    /* CreateContextsLength, patched */
	/* An unconvertible name must fail here: sent empty it would name
	 * the share root. */
	long n = utf16_from_utf8(w, q->name, strlen(q->name));
	if (n < 0)
		return (int)n;
	if (n > 0xFFFF)
		return wire_fail(w, -EOVERFLOW);
	wbuf_put_u16_at(w, body + 46, (uint16_t)n);
	if (n == 0)
		wbuf_u8(w, 0);             /* Buffer must be at least one byte */
	if (q->n_contexts) {
		wbuf_align(w, 8);
		size_t off = w->len;
		if (off > 0xFFFFFFFFu)
			return wire_fail(w, -EOVERFLOW);
		long cl = contexts_encode(w, q->contexts, q->n_contexts);
		if (cl < 0)
			return (int)cl;
		wbuf_put_u32_at(w, body + 48, (uint32_t)off);
		wbuf_put_u32_at(w, body + 52, (uint32_t)cl);
	}
	return wire_done(w);
}

/* MS-SMB2 2.2.14 */
int smb2_create_decode(const uint8_t *msg, size_t len, struct smb2_create_rsp *r)
{
	struct rbuf b;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (wire_body_begin(&b, msg, len, 89) < 0)
		return -EBADMSG;
	r->oplock_level = rbuf_u8(&b);
	r->flags = rbuf_u8(&b);
	r->create_action = rbuf_u32(&b);
	r->creation_time = rbuf_u64(&b);
	r->last_access_time = rbuf_u64(&b);
	r->last_write_time = rbuf_u64(&b);
	r->change_time = rbuf_u64(&b);
	r->allocation_size = rbuf_u64(&b);
	r->end_of_file = rbuf_u64(&b);
	r->file_attributes = rbuf_u32(&b);
	rbuf_skip(&b, 4);
	r->file_id.persistent = rbuf_u64(&b);
	r->file_id.volatile_ = rbuf_u64(&b);
	uint32_t off = rbuf_u32(&b);
	uint32_t n = rbuf_u32(&b);
	if (b.err || wire_buffer(msg, len, off, n, SMB2_HDR_SIZE + 88, &r->contexts) < 0)
		return -EBADMSG;
	r->contexts_len = n;
	if (n && smb2_create_contexts_walk(r->contexts, n, NULL, NULL) < 0)
		return -EBADMSG;
	return 0;
}

/* MS-SMB2 2.2.13.2 (request) / 2.2.14.2 (response) */
int smb2_create_contexts_walk(const uint8_t *chain, size_t len,
			      int (*cb)(const struct smb2_create_context *c, void *arg), void *arg)
{
	size_t pos = 0;

	if (len == 0)
		return 0;
	if (!chain)
		return -EBADMSG;
	for (;;) {
		if (len - pos < 16)
			return -EBADMSG;
		const uint8_t *p = chain + pos;
		uint32_t next = le32_load(p);
		uint16_t name_off = le16_load(p + 4);
		uint16_t name_len = le16_load(p + 6);
		uint16_t data_off = le16_load(p + 10);
		uint32_t data_len = le32_load(p + 12);
		/* This context spans [pos, pos+ext). */
		size_t ext = len - pos;
		if (next) {
			if (next < 16 || next > ext)
				return -EBADMSG;  /* backwards, self-loop or past the end */
			ext = next;
		}
		if (name_len == 0 || name_off < 16 || name_off > ext || name_len > ext - name_off)
			return -EBADMSG;
		if (data_len && (data_off < 16 || data_off > ext || data_len > ext - data_off))
			return -EBADMSG;
		struct smb2_create_context c;
		memset(&c, 0, sizeof(c));
		if (name_len <= 4)
			memcpy(c.name, p + name_off, name_len);
		c.data = data_len ? p + data_off : NULL;
		c.data_len = data_len;
		if (cb) {
			int rc = cb(&c, arg);
			if (rc)
				return rc;
		}
		if (!next)
			return 0;
		pos += next;
	}
}

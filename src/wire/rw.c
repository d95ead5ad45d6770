/* READ and WRITE. */
#include "wire_int.h"

#include <string.h>

/* MS-SMB2 2.2.19 */
int smb2_read_encode(struct wbuf *w, const struct smb2_read_req *q)
{
	if (!w)
		return -EINVAL;
	if (!q)
		return wire_fail(w, -EINVAL);
	wbuf_u16(w, 49);                 /* StructureSize */
	wbuf_u8(w, 0x50);                /* Padding: data wanted at header + 80 */
	wbuf_u8(w, q->flags);
	wbuf_u32(w, q->length);
	wbuf_u64(w, q->offset);
	wbuf_u64(w, q->file_id.persistent);
	wbuf_u64(w, q->file_id.volatile_);
	wbuf_u32(w, q->minimum_count);
	wbuf_u32(w, 0);                  /* Channel */
	wbuf_u32(w, q->remaining_bytes);
	wbuf_u16(w, 0);                  /* ReadChannelInfoOffset */
	wbuf_u16(w, 0);                  /* ReadChannelInfoLength */
	wbuf_u8(w, 0);                   /* Buffer: one byte required */
	return wire_done(w);
}

/* MS-SMB2 2.2.20, the fixed part: DataOffset (from the header start) and
 * DataLength in *off and *n.  0 or -EBADMSG. */
static int read_rsp_fixed(const uint8_t *msg, size_t len, struct smb2_read_rsp *r, uint8_t *off,
			  uint32_t *n)
{
	struct rbuf b;

	memset(r, 0, sizeof(*r));
	if (wire_body_begin(&b, msg, len, 17) < 0)
		return -EBADMSG;
	*off = rbuf_u8(&b);
	rbuf_skip(&b, 1);
	*n = rbuf_u32(&b);
	r->data_remaining = rbuf_u32(&b);
	return b.err ? -EBADMSG : 0;
}

int smb2_read_decode(const uint8_t *msg, size_t len, struct smb2_read_rsp *r)
{
	uint8_t off;
	uint32_t n;

	if (!r)
		return -EINVAL;
	if (read_rsp_fixed(msg, len, r, &off, &n) < 0 ||
	    wire_buffer(msg, len, off, n, SMB2_HDR_SIZE + 16, &r->data) < 0)
		return -EBADMSG;
	r->data_len = n;
	return 0;
}

int smb2_read_decode_split(const uint8_t *msg, size_t len, size_t tail_len,
			   struct smb2_read_rsp *r)
{
	uint8_t off;
	uint32_t n;

	if (!r)
		return -EINVAL;
	/* the data is the tail, all of it, right after msg */
	if (read_rsp_fixed(msg, len, r, &off, &n) < 0 || off != len || n != tail_len)
		return -EBADMSG;
	r->data_len = n;
	return 0;
}

/* MS-SMB2 2.2.21.  with_data: append the data; else the caller sends
 * data_len bytes right after the body (smb2_write_encode_head). */
static int write_encode(struct wbuf *w, const struct smb2_write_req *q, bool with_data)
{
	uint16_t data_off;
	if (!w)
		return -EINVAL;
	if (!q || (with_data && q->data_len && !q->data))
		return wire_fail(w, -EINVAL);
	if (wire_off16(w, w->len + 48, &data_off) < 0)
		return w->err;
	wbuf_u16(w, 49);                     /* StructureSize */
	wbuf_u16(w, data_off);               /* DataOffset */
	wbuf_u32(w, q->data_len);
	wbuf_u64(w, q->offset);
	wbuf_u64(w, q->file_id.persistent);
	wbuf_u64(w, q->file_id.volatile_);
	wbuf_u32(w, 0);                      /* Channel */
	wbuf_u32(w, 0);                      /* RemainingBytes */
	wbuf_u16(w, 0);                      /* WriteChannelInfoOffset */
	wbuf_u16(w, 0);                      /* WriteChannelInfoLength */
	wbuf_u32(w, q->flags);
	if (!q->data_len)
		wbuf_u8(w, 0); /* Buffer: one byte required */
	else if (with_data)
		wbuf_bytes(w, q->data, q->data_len);
	return wire_done(w);
}

int smb2_write_encode(struct wbuf *w, const struct smb2_write_req *q)
{
	return write_encode(w, q, true);
}

int smb2_write_encode_head(struct wbuf *w, const struct smb2_write_req *q)
{
	return write_encode(w, q, false);
}

/* MS-SMB2 2.2.22 */
int smb2_write_decode(const uint8_t *msg, size_t len, struct smb2_write_rsp *r)
{
	struct rbuf b;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (wire_body_begin(&b, msg, len, 17) < 0)
		return -EBADMSG;
	rbuf_skip(&b, 2);
	r->count = rbuf_u32(&b);
	return b.err ? -EBADMSG : 0;
}

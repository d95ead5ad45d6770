/* CLOSE and FLUSH. */
#include "wire_int.h"

#include <string.h>

/* MS-SMB2 2.2.15 */
int smb2_close_encode(struct wbuf *w, const struct smb2_close_req *q)
{
	if (!w)
		return -EINVAL;
	if (!q)
		return wire_fail(w, -EINVAL);
	wbuf_u16(w, 24);
	wbuf_u16(w, q->flags);
	wbuf_u32(w, 0);
	wbuf_u64(w, q->file_id.persistent);
	wbuf_u64(w, q->file_id.volatile_);
	return wire_done(w);
}

/* MS-SMB2 2.2.16 */
int smb2_close_decode(const uint8_t *msg, size_t len, struct smb2_close_rsp *r)
{
	struct rbuf b;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (wire_body_begin(&b, msg, len, 60) < 0)
		return -EBADMSG;
	r->flags = rbuf_u16(&b);
	rbuf_skip(&b, 4);
	r->creation_time = rbuf_u64(&b);
	r->last_access_time = rbuf_u64(&b);
	r->last_write_time = rbuf_u64(&b);
	r->change_time = rbuf_u64(&b);
	r->allocation_size = rbuf_u64(&b);
	r->end_of_file = rbuf_u64(&b);
	r->file_attributes = rbuf_u32(&b);
	return b.err ? -EBADMSG : 0;
}

/* MS-SMB2 2.2.17 */
int smb2_flush_encode(struct wbuf *w, const struct smb2_fileid *id)
{
	if (!w)
		return -EINVAL;
	if (!id)
		return wire_fail(w, -EINVAL);
	wbuf_u16(w, 24);
	wbuf_u16(w, 0);
	wbuf_u32(w, 0);
	wbuf_u64(w, id->persistent);
	wbuf_u64(w, id->volatile_);
	return wire_done(w);
}

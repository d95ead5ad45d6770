/* SESSION_SETUP and LOGOFF. */
#include "wire_int.h"

#include <string.h>

/* MS-SMB2 2.2.5 */
int smb2_session_setup_encode(struct wbuf *w, const struct smb2_session_setup_req *q)
{
	uint16_t blob_off;
	if (!w)
		return -EINVAL;
	if (!q || (q->blob_len && !q->blob))
		return wire_fail(w, -EINVAL);
	if (q->blob_len > 0xFFFF || wire_off16(w, w->len + 24, &blob_off) < 0)
		return wire_fail(w, -EOVERFLOW);
	wbuf_u16(w, 25);                 /* StructureSize */
	wbuf_u8(w, q->flags);
	wbuf_u8(w, q->security_mode);
	wbuf_u32(w, q->capabilities);
	wbuf_u32(w, 0);                  /* Channel */
	wbuf_u16(w, blob_off);           /* SecurityBufferOffset */
	wbuf_u16(w, (uint16_t)q->blob_len);
	wbuf_u64(w, q->previous_session_id);
	if (q->blob_len)
		wbuf_bytes(w, q->blob, q->blob_len);
	else
		wbuf_u8(w, 0);           /* Buffer is at least one byte */
	return wire_done(w);
}

/* MS-SMB2 2.2.6 */
int smb2_session_setup_decode(const uint8_t *msg, size_t len, struct smb2_session_setup_rsp *r)
{
	struct rbuf b;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (wire_body_begin(&b, msg, len, 9) < 0)
		return -EBADMSG;
	r->session_flags = rbuf_u16(&b);
	uint16_t off = rbuf_u16(&b);
	uint16_t n = rbuf_u16(&b);
	if (b.err || wire_buffer(msg, len, off, n, SMB2_HDR_SIZE + 8, &r->blob) < 0)
		return -EBADMSG;
	r->blob_len = n;
	return 0;
}

/* MS-SMB2 2.2.7 */
int smb2_logoff_encode(struct wbuf *w)
{
	if (!w)
		return -EINVAL;
	wbuf_u16(w, 4);
	wbuf_u16(w, 0);
	return wire_done(w);
}

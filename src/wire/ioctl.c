/* IOCTL, and the FSCTL_VALIDATE_NEGOTIATE_INFO payloads it carries. */
#include "wire_int.h"

#include <string.h>

/* MS-SMB2 2.2.31 */
int smb2_ioctl_encode(struct wbuf *w, const struct smb2_ioctl_req *q)
{
	if (!w)
		return -EINVAL;
	if (!q || (q->input_len && !q->input))
		return wire_fail(w, -EINVAL);
	size_t body = w->len;
	if (body + 56 > 0xFFFFFFFFu)
		return wire_fail(w, -EOVERFLOW);
	wbuf_u16(w, 57);                     /* StructureSize */
	wbuf_u16(w, 0);                      /* Reserved */
	wbuf_u32(w, q->ctl_code);
	wbuf_u64(w, q->file_id.persistent);
	wbuf_u64(w, q->file_id.volatile_);
	wbuf_u32(w, q->input_len ? (uint32_t)(body + 56) : 0); /* InputOffset */
	wbuf_u32(w, q->input_len);
	wbuf_u32(w, q->max_input_response);
	wbuf_u32(w, 0);                      /* OutputOffset */
	wbuf_u32(w, 0);                      /* OutputCount */
	wbuf_u32(w, q->max_output_response);
	wbuf_u32(w, q->flags);
	wbuf_u32(w, 0);                      /* Reserved2 */
	if (q->input_len)
		wbuf_bytes(w, q->input, q->input_len);
	else
		wbuf_u8(w, 0);
	return wire_done(w);
}

/* MS-SMB2 2.2.32 */
int smb2_ioctl_decode(const uint8_t *msg, size_t len, struct smb2_ioctl_rsp *r)
{
	struct rbuf b;
	const size_t fixed = SMB2_HDR_SIZE + 48;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (wire_body_begin(&b, msg, len, 49) < 0)
		return -EBADMSG;
	rbuf_skip(&b, 2);
	r->ctl_code = rbuf_u32(&b);
	r->file_id.persistent = rbuf_u64(&b);
	r->file_id.volatile_ = rbuf_u64(&b);
	uint32_t in_off = rbuf_u32(&b);
	uint32_t in_n = rbuf_u32(&b);
	uint32_t out_off = rbuf_u32(&b);
	uint32_t out_n = rbuf_u32(&b);
	r->flags = rbuf_u32(&b);
	if (b.err || wire_buffer(msg, len, in_off, in_n, fixed, &r->input) < 0 ||
	    wire_buffer(msg, len, out_off, out_n, fixed, &r->output) < 0)
		return -EBADMSG;
	r->input_len = in_n;
	r->output_len = out_n;
	return 0;
}

/* MS-SMB2 2.2.31.4: Capabilities, Guid, SecurityMode, DialectCount,
 * Dialects[DialectCount]. */
int smb2_validate_negotiate_encode(struct wbuf *w, const struct smb2_validate_negotiate_req *q)
{
	if (!w)
		return -EINVAL;
	if (!q || !q->dialects || q->n_dialects == 0)
		return wire_fail(w, -EINVAL);
	if (q->n_dialects > 0xFFFF)
		return wire_fail(w, -EOVERFLOW);
	wbuf_u32(w, q->capabilities);
	wbuf_bytes(w, q->guid, 16);
	wbuf_u16(w, q->security_mode);
	wbuf_u16(w, (uint16_t)q->n_dialects);
	for (unsigned i = 0; i < q->n_dialects; i++)
		wbuf_u16(w, q->dialects[i]);
	return wire_done(w);
}

/* MS-SMB2 2.2.32.6: Capabilities, Guid, SecurityMode, Dialect. */
int smb2_validate_negotiate_decode(const uint8_t *out, size_t len,
				   struct smb2_validate_negotiate_rsp *r)
{
	struct rbuf b;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (!out || len < SMB2_VALIDATE_NEGOTIATE_RSP_SIZE)
		return -EBADMSG;
	rbuf_init(&b, out, len);
	r->capabilities = rbuf_u32(&b);
	rbuf_bytes(&b, r->guid, 16);
	r->security_mode = rbuf_u16(&b);
	r->dialect = rbuf_u16(&b);
	return b.err ? -EBADMSG : 0;
}

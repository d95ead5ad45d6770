/* ECHO, CANCEL, ERROR response and the empty (StructureSize 4/2) replies. */
#include "wire_int.h"

#include <string.h>

/* MS-SMB2 2.2.28 */
int smb2_echo_encode(struct wbuf *w)
{
	if (!w)
		return -EINVAL;
	wbuf_u16(w, 4);
	wbuf_u16(w, 0);
	return wire_done(w);
}

/* MS-SMB2 2.2.30 */
int smb2_cancel_encode(struct wbuf *w)
{
	if (!w)
		return -EINVAL;
	wbuf_u16(w, 4);
	wbuf_u16(w, 0);
	return wire_done(w);
}

/* MS-SMB2 2.2.8 / 2.2.12 / 2.2.29 / 2.2.18 (StructureSize 4) and 2.2.40
 * (SET_INFO response, StructureSize 2).  The command comes from the header. */
int smb2_empty_rsp_decode(const uint8_t *msg, size_t len)
{
	struct rbuf b;

	if (!msg || len < SMB2_HDR_SIZE)
		return -EBADMSG;
	uint16_t cmd = smb2_hdr_command(msg);
	uint16_t want = cmd == SMB2_SET_INFO ? 2 : 4;
	return wire_body_begin(&b, msg, len, want) < 0 ? -EBADMSG : 0;
}

/* MS-SMB2 2.2.2 */
int smb2_error_decode(const uint8_t *msg, size_t len, struct smb2_error_rsp *r)
{
	struct rbuf b;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (wire_body_begin(&b, msg, len, 9) < 0)
		return -EBADMSG;
	r->context_count = rbuf_u8(&b);
	rbuf_skip(&b, 1);
	uint32_t n = rbuf_u32(&b);
	if (b.err || wire_buffer(msg, len, SMB2_HDR_SIZE + 8, n, SMB2_HDR_SIZE + 8, &r->data) < 0)
		return -EBADMSG;
	r->byte_count = n;
	return 0;
}

/* SMB2 packet header, sync and async forms. */
#include "smb2fs/wire.h"
#include "wire_int.h"

#include <errno.h>
#include <string.h>

/* MS-SMB2 2.2.1.1 (async) / 2.2.1.2 (sync) */
int smb2_hdr_encode(struct wbuf *w, const struct smb2_hdr *h)
{
	if (!w)
		return -EINVAL;
	if (!h)
		return wire_fail(w, -EINVAL);
	wbuf_u32(w, SMB2_PROTOCOL_ID);
	wbuf_u16(w, SMB2_HDR_SIZE);
	wbuf_u16(w, h->credit_charge);
	wbuf_u32(w, h->status);
	wbuf_u16(w, h->command);
	wbuf_u16(w, h->credits);
	wbuf_u32(w, h->flags);
	wbuf_u32(w, h->next_command);
	wbuf_u64(w, h->message_id);
	if (h->flags & SMB2_FLAGS_ASYNC_COMMAND) {
		wbuf_u64(w, h->async_id);
	} else {
		wbuf_u32(w, h->process_id);
		wbuf_u32(w, h->tree_id);
	}
	wbuf_u64(w, h->session_id);
	wbuf_bytes(w, h->signature, 16);
	return wire_done(w);
}

/* MS-SMB2 2.2.1.1 / 2.2.1.2 */
int smb2_hdr_decode(const uint8_t *msg, size_t len, struct smb2_hdr *h)
{
	struct rbuf r;

	if (!h)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	if (!msg || len < SMB2_HDR_SIZE)
		return -EBADMSG;
	rbuf_init(&r, msg, len);
	if (rbuf_u32(&r) != SMB2_PROTOCOL_ID || rbuf_u16(&r) != SMB2_HDR_SIZE)
		return -EBADMSG;
	h->credit_charge = rbuf_u16(&r);
	h->status = rbuf_u32(&r);
	h->command = rbuf_u16(&r);
	h->credits = rbuf_u16(&r);
	h->flags = rbuf_u32(&r);
	h->next_command = rbuf_u32(&r);
	h->message_id = rbuf_u64(&r);
	if (h->flags & SMB2_FLAGS_ASYNC_COMMAND) {
		h->async_id = rbuf_u64(&r);
	} else {
		h->process_id = rbuf_u32(&r);
		h->tree_id = rbuf_u32(&r);
	}
	h->session_id = rbuf_u64(&r);
	rbuf_bytes(&r, h->signature, 16);
	return r.err ? -EBADMSG : 0;
}

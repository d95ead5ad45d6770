/* Leases: the RqLs create context, break notifications and their
 * acknowledgment (MS-SMB2 2.2.13.2.8/10, 2.2.14.2.10/11, 2.2.23-2.2.25). */
#include "wire_int.h"

#include <string.h>

size_t smb2_lease_ctx_encode(const struct smb2_lease_ctx *l, uint8_t out[SMB2_LEASE_V2_SIZE])
{
	memset(out, 0, SMB2_LEASE_V2_SIZE);
	memcpy(out, l->key, 16);
	le32_store(out + 16, l->state);
	/* LeaseDuration (8 bytes at 24) is reserved: zero. */
	if (!l->v2) {
		le32_store(out + 20, 0); /* LeaseFlags: none in a v1 request */
		return SMB2_LEASE_V1_SIZE;
	}
	le32_store(out + 20, l->flags & SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET);
	memcpy(out + 32, l->parent_key, 16);
	le16_store(out + 48, l->epoch);
	return SMB2_LEASE_V2_SIZE;
}

int smb2_lease_ctx_decode(const uint8_t *data, size_t len, struct smb2_lease_ctx *l)
{
	memset(l, 0, sizeof(*l));
	if (!data || (len != SMB2_LEASE_V1_SIZE && len != SMB2_LEASE_V2_SIZE))
		return -EBADMSG;
	memcpy(l->key, data, 16);
	l->state = le32_load(data + 16);
	l->flags = le32_load(data + 20);
	if (len == SMB2_LEASE_V2_SIZE) {
		l->v2 = true;
		memcpy(l->parent_key, data + 32, 16);
		l->epoch = le16_load(data + 48);
	}
	return 0;
}

/* MS-SMB2 2.2.23.1 (StructureSize 24) or 2.2.23.2 (44). */
int smb2_break_notify_decode(const uint8_t *msg, size_t len, struct smb2_lease_break *b)
{
	struct rbuf r;

	memset(b, 0, sizeof(*b));
	if (!msg || len < SMB2_HDR_SIZE + 2)
		return -EBADMSG;
	uint16_t size = le16_load(msg + SMB2_HDR_SIZE);
	if (size == 24)
		return wire_body_begin(&r, msg, len, 24) < 0 ? -EBADMSG : 0;
	if (wire_body_begin(&r, msg, len, 44) < 0)
		return -EBADMSG;
	b->new_epoch = rbuf_u16(&r);
	b->flags = rbuf_u32(&r);
	rbuf_bytes(&r, b->key, 16);
	b->current_state = rbuf_u32(&r);
	b->new_state = rbuf_u32(&r);
	b->reason = rbuf_u32(&r);
	b->access_mask_hint = rbuf_u32(&r);
	b->share_mask_hint = rbuf_u32(&r);
	return r.err ? -EBADMSG : 1;
}

/* MS-SMB2 2.2.24.2 */
int smb2_lease_ack_encode(struct wbuf *w, const uint8_t key[16], uint32_t state)
{
	if (!w)
		return -EINVAL;
	if (!key)
		return wire_fail(w, -EINVAL);
	wbuf_u16(w, 36);
	wbuf_u16(w, 0);
	wbuf_u32(w, 0);
	wbuf_bytes(w, key, 16);
	wbuf_u32(w, state);
	wbuf_u64(w, 0);
	return wire_done(w);
}

/* MS-SMB2 2.2.25.2 */
int smb2_lease_ack_rsp_decode(const uint8_t *msg, size_t len, uint8_t key[16], uint32_t *state)
{
	struct rbuf r;

	if (wire_body_begin(&r, msg, len, 36) < 0)
		return -EBADMSG;
	rbuf_skip(&r, 6);
	rbuf_bytes(&r, key, 16);
	*state = rbuf_u32(&r);
	rbuf_skip(&r, 8);
	return r.err ? -EBADMSG : 0;
}

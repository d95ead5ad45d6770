/* SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41): the 52 bytes in front of an
 * encrypted message or compound chain.  Only the framing lives here; the
 * AEAD over it is crypto's (src/crypto/seal.c). */
#include "smb2fs/wire.h"
#include "wire_int.h"

#include <errno.h>
#include <string.h>

int smb2_transform_hdr_encode(uint8_t out[SMB2_TRANSFORM_HDR_SIZE],
			      const struct smb2_transform_hdr *h)
{
	if (!out || !h || h->original_size < SMB2_HDR_SIZE)
		return -EINVAL;
	le32_store(out, SMB2_TRANSFORM_PROTOCOL_ID);
	memcpy(out + SMB2_TRANSFORM_SIGNATURE_OFF, h->signature, 16);
	memcpy(out + SMB2_TRANSFORM_NONCE_OFF, h->nonce, 16);
	le32_store(out + 36, h->original_size);
	le16_store(out + 40, 0); /* Reserved */
	le16_store(out + 42, h->flags);
	le64_store(out + 44, h->session_id);
	return 0;
}

int smb2_transform_hdr_decode(const uint8_t *frame, size_t len, struct smb2_transform_hdr *h)
{
	struct rbuf r;

	if (!h)
		return -EINVAL;
	memset(h, 0, sizeof(*h));
	if (!frame || len < SMB2_TRANSFORM_HDR_SIZE)
		return -EBADMSG;
	rbuf_init(&r, frame, len);
	if (rbuf_u32(&r) != SMB2_TRANSFORM_PROTOCOL_ID)
		return -EBADMSG;
	rbuf_bytes(&r, h->signature, 16);
	rbuf_bytes(&r, h->nonce, 16);
	h->original_size = rbuf_u32(&r);
	(void)rbuf_u16(&r); /* Reserved: ignored on receipt */
	h->flags = rbuf_u16(&r);
	h->session_id = rbuf_u64(&r);
	if (r.err)
		return -EBADMSG;
	/* 3.x sends 0x0001 here (3.0/3.0.2 call it EncryptionAlgorithm, with
	 * the same value); anything else is not an encrypted message. */
	if (h->flags != SMB2_TRANSFORM_FLAG_ENCRYPTED)
		return -EBADMSG;
	/* The encrypted message is the rest of the frame, exactly, and holds
	 * at least one SMB2 header (it may be a whole compound chain). */
	if (h->original_size != len - SMB2_TRANSFORM_HDR_SIZE || h->original_size < SMB2_HDR_SIZE)
		return -EBADMSG;
	return 0;
}

/* Shared body helpers for the SMB2 codecs. */
#include "wire_int.h"

/* MS-SMB2 2.2: every body starts with its StructureSize. */
int wire_body_begin(struct rbuf *r, const uint8_t *msg, size_t len, uint16_t structure_size)
{
	if (!msg || len < SMB2_HDR_SIZE || len - SMB2_HDR_SIZE < wire_fixed(structure_size))
		return -EBADMSG;
	rbuf_init(r, msg, len);
	rbuf_seek(r, SMB2_HDR_SIZE);
	if (rbuf_u16(r) != structure_size)
		return -EBADMSG;
	return r->err ? -EBADMSG : 0;
}

int wire_buffer(const uint8_t *msg, size_t len, uint64_t off, uint64_t n, size_t min_off,
		const uint8_t **out)
{
	*out = NULL;
	if (n == 0)
		return 0;
	if (off < min_off || off > len || n > len - off)
		return -EBADMSG;
	*out = msg + off;
	return 0;
}

int wire_out_buffer_decode(const uint8_t *msg, size_t len, const uint8_t **buf, uint32_t *buf_len)
{
	struct rbuf b;

	*buf = NULL;
	*buf_len = 0;
	if (wire_body_begin(&b, msg, len, 9) < 0)
		return -EBADMSG;
	uint16_t off = rbuf_u16(&b);
	uint32_t n = rbuf_u32(&b);
	if (b.err || wire_buffer(msg, len, off, n, SMB2_HDR_SIZE + 8, buf) < 0)
		return -EBADMSG;
	*buf_len = n;
	return 0;
}

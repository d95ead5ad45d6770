/* QUERY_INFO and SET_INFO. */
#include "wire_int.h"

#include <string.h>

/* MS-SMB2 2.2.37 */
int smb2_query_info_encode(struct wbuf *w, const struct smb2_query_info_req *q)
{
	uint16_t in_off;
	if (!w)
		return -EINVAL;
	if (!q || (q->input_len && !q->input))
		return wire_fail(w, -EINVAL);
	if (wire_off16(w, w->len + 40, &in_off) < 0)
		return w->err;
	wbuf_u16(w, 41);                     /* StructureSize */
	wbuf_u8(w, q->info_type);
	wbuf_u8(w, q->file_info_class);
	wbuf_u32(w, q->output_buffer_length);
	wbuf_u16(w, in_off);                 /* InputBufferOffset */
	wbuf_u16(w, 0);                      /* Reserved */
	wbuf_u32(w, q->input_len);
	wbuf_u32(w, q->additional_information);
	wbuf_u32(w, q->flags);
	wbuf_u64(w, q->file_id.persistent);
	wbuf_u64(w, q->file_id.volatile_);
	if (q->input_len)
		wbuf_bytes(w, q->input, q->input_len);
	else
		wbuf_u8(w, 0);
	return wire_done(w);
}

/* MS-SMB2 2.2.38 */
int smb2_query_info_decode(const uint8_t *msg, size_t len, struct smb2_query_info_rsp *r)
{
	if (!r)
		return -EINVAL;
	return wire_out_buffer_decode(msg, len, &r->buf, &r->buf_len);
}

/* MS-SMB2 2.2.39 */
int smb2_set_info_encode(struct wbuf *w, const struct smb2_set_info_req *q)
{
	uint16_t buf_off;
	if (!w)
		return -EINVAL;
	if (!q || (q->buf_len && !q->buf))
		return wire_fail(w, -EINVAL);
	if (wire_off16(w, w->len + 32, &buf_off) < 0)
		return w->err;
	wbuf_u16(w, 33);                     /* StructureSize */
	wbuf_u8(w, q->info_type);
	wbuf_u8(w, q->file_info_class);
	wbuf_u32(w, q->buf_len);
	wbuf_u16(w, buf_off);                /* BufferOffset */
	wbuf_u16(w, 0);                      /* Reserved */
	wbuf_u32(w, q->additional_information);
	wbuf_u64(w, q->file_id.persistent);
	wbuf_u64(w, q->file_id.volatile_);
	if (q->buf_len)
		wbuf_bytes(w, q->buf, q->buf_len);
	else
		wbuf_u8(w, 0);
	return wire_done(w);
}

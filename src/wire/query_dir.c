/* QUERY_DIRECTORY. */
#include "wire_int.h"
#include "smb2fs/utf16.h"

#include <string.h>

/* MS-SMB2 2.2.33 */
int smb2_query_directory_encode(struct wbuf *w, const struct smb2_query_directory_req *q)
{
	uint16_t name_off;
	if (!w)
		return -EINVAL;
	if (!q)
		return wire_fail(w, -EINVAL);
	size_t body = w->len;
	if (wire_off16(w, body + 32, &name_off) < 0)
		return w->err;
	wbuf_u16(w, 33);                      /* StructureSize */
	wbuf_u8(w, q->info_class);
	wbuf_u8(w, q->flags);
	wbuf_u32(w, q->file_index);
	wbuf_u64(w, q->file_id.persistent);
	wbuf_u64(w, q->file_id.volatile_);
	wbuf_u16(w, name_off);                /* FileNameOffset */
	wbuf_u16(w, 0);                       /* FileNameLength, patched */
	wbuf_u32(w, q->output_buffer_length);
	const char *pat = q->pattern ? q->pattern : "";
	long n = utf16_from_utf8(w, pat, strlen(pat));
	if (n < 0)
		return (int)n;
	if (n > 0xFFFF)
		return wire_fail(w, -EOVERFLOW);
	wbuf_put_u16_at(w, body + 26, (uint16_t)n);
	if (n == 0)
		wbuf_u8(w, 0);
	return wire_done(w);
}

/* MS-SMB2 2.2.34 */
int smb2_query_directory_decode(const uint8_t *msg, size_t len, struct smb2_query_directory_rsp *r)
{
	if (!r)
		return -EINVAL;
	return wire_out_buffer_decode(msg, len, &r->buf, &r->buf_len);
}

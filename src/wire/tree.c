/* TREE_CONNECT and TREE_DISCONNECT. */
#include "wire_int.h"
#include "smb2fs/utf16.h"

#include <string.h>

/* MS-SMB2 2.2.9 */
int smb2_tree_connect_encode(struct wbuf *w, const struct smb2_tree_connect_req *q)
{
	uint16_t path_off;
	if (!w)
		return -EINVAL;
	if (!q || !q->path || !*q->path)
		return wire_fail(w, -EINVAL);
	size_t body = w->len;
	if (wire_off16(w, body + 8, &path_off) < 0)
		return w->err;
	wbuf_u16(w, 9);                      /* StructureSize */
	wbuf_u16(w, q->flags);
	wbuf_u16(w, path_off);               /* PathOffset */
	wbuf_u16(w, 0);                      /* PathLength, patched */
	long n = utf16_from_utf8(w, q->path, strlen(q->path));
	if (n < 0)
		return (int)n;
	if (n > 0xFFFF)
		return wire_fail(w, -EOVERFLOW);
	wbuf_put_u16_at(w, body + 6, (uint16_t)n);
	return wire_done(w);
}

/* MS-SMB2 2.2.10 */
int smb2_tree_connect_decode(const uint8_t *msg, size_t len, struct smb2_tree_connect_rsp *r)
{
	struct rbuf b;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (wire_body_begin(&b, msg, len, 16) < 0)
		return -EBADMSG;
	r->share_type = rbuf_u8(&b);
	rbuf_skip(&b, 1);
	r->share_flags = rbuf_u32(&b);
	r->capabilities = rbuf_u32(&b);
	r->maximal_access = rbuf_u32(&b);
	return b.err ? -EBADMSG : 0;
}

/* MS-SMB2 2.2.11 */
int smb2_tree_disconnect_encode(struct wbuf *w)
{
	if (!w)
		return -EINVAL;
	wbuf_u16(w, 4);
	wbuf_u16(w, 0);
	return wire_done(w);
}

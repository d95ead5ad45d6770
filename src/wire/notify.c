/* CHANGE_NOTIFY request and response, and the FILE_NOTIFY_INFORMATION
 * entries its reply carries. */
#include "wire_int.h"
#include "smb2fs/fscc.h"
#include "smb2fs/utf16.h"

#include <stdlib.h>

/* MS-SMB2 2.2.35: StructureSize 32, Flags, OutputBufferLength, FileId,
 * CompletionFilter, Reserved. */
int smb2_change_notify_encode(struct wbuf *w, const struct smb2_change_notify_req *q)
{
	if (!w)
		return -EINVAL;
	if (!q || q->completion_filter == 0 || (q->flags & ~SMB2_WATCH_TREE))
		return wire_fail(w, -EINVAL);
	wbuf_u16(w, 32);
	wbuf_u16(w, q->flags);
	wbuf_u32(w, q->output_buffer_length);
	wbuf_u64(w, q->file_id.persistent);
	wbuf_u64(w, q->file_id.volatile_);
	wbuf_u32(w, q->completion_filter);
	wbuf_u32(w, 0);
	return wire_done(w);
}

/* MS-SMB2 2.2.36: the QUERY_DIRECTORY response's shape. */
int smb2_change_notify_decode(const uint8_t *msg, size_t len, const uint8_t **buf,
			      uint32_t *buf_len)
{
	if (!buf || !buf_len)
		return -EINVAL;
	return wire_out_buffer_decode(msg, len, buf, buf_len);
}

/* MS-FSCC 2.4.42: NextEntryOffset, Action, FileNameLength, FileName. */
int fscc_notify_walk(const uint8_t *buf, size_t len,
		     int (*cb)(const struct fscc_notify *e, void *arg), void *arg)
{
	size_t off = 0;
	if (!cb || (len && !buf))
		return -EINVAL;
	if (len == 0)
		return 0;
	for (;;) {
		if (len - off < 12)
			return -EBADMSG;
		const uint8_t *p = buf + off;
		uint32_t next = le32_load(p), action = le32_load(p + 4), nlen = le32_load(p + 8);
		size_t room = next ? next : len - off;
		if (next && (next < 12 || next > len - off))
			return -EBADMSG;
		if (nlen == 0 || (nlen & 1) || nlen > room - 12)
			return -EBADMSG;
		if (action < FILE_ACTION_ADDED || action > FILE_ACTION_RENAMED_NEW_NAME)
			return -EBADMSG;
		char *name = NULL;
		if (utf16_to_utf8(p + 12, nlen, &name) < 0)
			return -EBADMSG;
		struct fscc_notify e = {action, name};
		int r = cb(&e, arg);
		free(name);
		if (r)
			return r;
		if (!next)
			return 0;
		off += next;
	}
}

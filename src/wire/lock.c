/* LOCK request and response (byte-range locks). */
#include "wire_int.h"

/* MS-SMB2 2.2.26 / 2.2.26.1.  StructureSize is 48 whatever the count (it
 * counts one element); one element is 24 bytes.  A request holds 1 to
 * SMB2_LOCK_MAX elements; a flag combination outside the ones 2.2.26.1
 * lists, or a range whose end passes 2^64, is refused before anything is
 * written past the fixed part. */
int smb2_lock_encode(struct wbuf *w, const struct smb2_lock_req *q)
{
	if (!w)
		return -EINVAL;
	if (!q || !q->locks || q->count == 0 || q->count > SMB2_LOCK_MAX)
		return wire_fail(w, -EINVAL);
	for (unsigned i = 0; i < q->count; i++) {
		const struct smb2_lock_element *e = &q->locks[i];
		uint32_t kind = e->flags & ~SMB2_LOCKFLAG_FAIL_IMMEDIATELY;
		bool ok = kind == SMB2_LOCKFLAG_SHARED_LOCK || kind == SMB2_LOCKFLAG_EXCLUSIVE_LOCK ||
			  e->flags == SMB2_LOCKFLAG_UNLOCK;
		if (!ok || e->offset + e->length < e->offset)
			return wire_fail(w, -EINVAL);
	}
	wbuf_u16(w, 48);
	wbuf_u16(w, q->count);
	wbuf_u32(w, q->sequence);
	wbuf_u64(w, q->file_id.persistent);
	wbuf_u64(w, q->file_id.volatile_);
	for (unsigned i = 0; i < q->count; i++) {
		wbuf_u64(w, q->locks[i].offset);
		wbuf_u64(w, q->locks[i].length);
		wbuf_u32(w, q->locks[i].flags);
		wbuf_u32(w, 0);
	}
	return wire_done(w);
}

/* MS-SMB2 2.2.27: StructureSize 4, Reserved. */
int smb2_lock_decode(const uint8_t *msg, size_t len)
{
	struct rbuf b;

	if (!msg)
		return -EBADMSG;
	return wire_body_begin(&b, msg, len, 4) < 0 ? -EBADMSG : 0;
}

/* The payloads of the IOCTLs behind space operations and server-side copy:
 * resume key and copychunk (MS-SMB2 2.2.31.1, 2.2.32.1-3), set sparse,
 * zero data, allocated ranges (MS-FSCC 2.3.34, 2.3.64, 2.3.70), and the
 * FileAllocationInformation buffer of SET_INFO (MS-FSCC 2.4.4).  These are
 * the IOCTL's Input/Output (ioctl.c frames them), not SMB2 messages. */
#include "wire_int.h"

#include <string.h>

/* 2.2.31.1 SRV_COPYCHUNK_COPY: SourceKey (24), ChunkCount, Reserved, then
 * ChunkCount SRV_COPYCHUNKs of SourceOffset, TargetOffset, Length,
 * Reserved (24 bytes each). */
int smb2_copychunk_encode(struct wbuf *w, const uint8_t key[SMB2_RESUME_KEY_SIZE],
			  const struct smb2_copychunk *chunks, unsigned n)
{
	if (!w)
		return -EINVAL;
	if (!key || !chunks || n == 0 || n > SMB2_COPYCHUNK_MAX_CHUNKS)
		return wire_fail(w, -EINVAL);
	wbuf_bytes(w, key, SMB2_RESUME_KEY_SIZE);
	wbuf_u32(w, n);
	wbuf_u32(w, 0);
	for (unsigned i = 0; i < n; i++) {
		wbuf_u64(w, chunks[i].src_off);
		wbuf_u64(w, chunks[i].dst_off);
		wbuf_u32(w, chunks[i].len);
		wbuf_u32(w, 0);
	}
	return wire_done(w);
}

/* 2.2.32.3 SRV_REQUEST_RESUME_KEY: ResumeKey (24), ContextLength, Context. */
int smb2_resume_key_decode(const uint8_t *out, size_t len, uint8_t key[SMB2_RESUME_KEY_SIZE])
{
	if (!key)
		return -EINVAL;
	if (!out || len < SMB2_RESUME_KEY_SIZE)
		return -EBADMSG;
	memcpy(key, out, SMB2_RESUME_KEY_SIZE);
	return 0;
}

/* 2.2.32.1 SRV_COPYCHUNK_RESPONSE */
int smb2_copychunk_rsp_decode(const uint8_t *out, size_t len, struct smb2_copychunk_rsp *r)
{
	struct rbuf b;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	if (!out || len < SMB2_COPYCHUNK_RSP_SIZE)
		return -EBADMSG;
	rbuf_init(&b, out, len);
	r->chunks_written = rbuf_u32(&b);
	r->chunk_bytes_written = rbuf_u32(&b);
	r->total_bytes_written = rbuf_u32(&b);
	return b.err ? -EBADMSG : 0;
}

int smb2_set_sparse_encode(struct wbuf *w, bool sparse)
{
	if (!w)
		return -EINVAL;
	wbuf_u8(w, sparse ? 1 : 0);
	return wire_done(w);
}

int smb2_zero_data_encode(struct wbuf *w, uint64_t off, uint64_t end)
{
	if (!w)
		return -EINVAL;
	if (end < off)
		return wire_fail(w, -EINVAL);
	wbuf_u64(w, off);  /* FileOffset */
	wbuf_u64(w, end);  /* BeyondFinalZero */
	return wire_done(w);
}

int smb2_alloc_range_encode(struct wbuf *w, uint64_t off, uint64_t len)
{
	if (!w)
		return -EINVAL;
	wbuf_u64(w, off);  /* FileOffset */
	wbuf_u64(w, len);  /* Length */
	return wire_done(w);
}

int smb2_alloc_ranges_decode(const uint8_t *out, size_t len, struct smb2_alloc_range *ranges,
			     size_t max, size_t *n)
{
	struct rbuf b;
	uint64_t prev_end = 0;

	if (!n || (max && !ranges))
		return -EINVAL;
	*n = 0;
	if (len % 16 || (len && !out))
		return -EBADMSG;
	if (len / 16 > max)
		return -E2BIG;
	rbuf_init(&b, out, len);
	for (size_t i = 0; i < len / 16; i++) {
		uint64_t off = rbuf_u64(&b), l = rbuf_u64(&b);
		if (b.err || off > UINT64_MAX - l || (i > 0 && off < prev_end))
			return -EBADMSG;
		ranges[i].off = off;
		ranges[i].len = l;
		prev_end = off + l;
	}
	*n = len / 16;
	return 0;
}

int smb2_allocation_info_encode(struct wbuf *w, uint64_t size)
{
	if (!w)
		return -EINVAL;
	wbuf_u64(w, size);
	return wire_done(w);
}

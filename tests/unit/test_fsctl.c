/* Unit tests for the space and server-side copy payloads (src/wire/fsctl.c):
 * golden bytes built by hand from MS-SMB2 2.2.31.1 / 2.2.32.1, 2.2.32.3 and
 * MS-FSCC 2.3.34, 2.3.64, 2.3.70, 2.4.4; every truncation of a response;
 * malformed allocated-range lists. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smb2fs/buf.h"
#include "smb2fs/wire.h"

static void check_bytes(const struct wbuf *w, const char *hex, int line)
{
	unsigned char exp[512];
	size_t n = hex2bin(hex, exp, sizeof(exp));
	check_count++;
	if (w->err || w->len != n || memcmp(w->p, exp, n) != 0) {
		check_failures++;
		fprintf(stderr, "test_fsctl.c:%d: bytes mismatch (len %zu, want %zu, err %d)\n", line,
			w->len, n, w->err);
	}
}

static void test_copychunk(void)
{
	uint8_t key[SMB2_RESUME_KEY_SIZE];
	for (int i = 0; i < SMB2_RESUME_KEY_SIZE; i++)
		key[i] = (uint8_t)(0xA0 + i);
	struct smb2_copychunk ch[2] = {
		{.src_off = 0x0102030405060708ull, .dst_off = 0x10, .len = 0x100000},
		{.src_off = 0x100000, .dst_off = 0x200000, .len = 5},
	};
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(smb2_copychunk_encode(&w, key, ch, 2), 0);
	/* SourceKey, ChunkCount, Reserved, then SourceOffset, TargetOffset,
	 * Length, Reserved per chunk */
	check_bytes(&w,
		    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7 02000000 00000000"
		    "0807060504030201 1000000000000000 00001000 00000000"
		    "0000100000000000 0000200000000000 05000000 00000000",
		    __LINE__);
	CHECK_EQ(w.len, 32 + 2 * 24);
	/* no chunks, too many: refused and the buffer poisoned */
	wbuf_reset(&w);
	CHECK_EQ(smb2_copychunk_encode(&w, key, ch, 0), -EINVAL);
	CHECK_EQ(w.err, -EINVAL);
	wbuf_reset(&w);
	CHECK_EQ(smb2_copychunk_encode(&w, key, ch, SMB2_COPYCHUNK_MAX_CHUNKS + 1), -EINVAL);
	wbuf_reset(&w);
	CHECK_EQ(smb2_copychunk_encode(&w, NULL, ch, 1), -EINVAL);
	CHECK_EQ(smb2_copychunk_encode(NULL, key, ch, 1), -EINVAL);
	wbuf_free(&w);

	/* SRV_COPYCHUNK_RESPONSE: ChunksWritten, ChunkBytesWritten,
	 * TotalBytesWritten (after INVALID_PARAMETER: the server's limits) */
	unsigned char m[16];
	size_t n = hex2bin("00010000 00001000 00000001", m, sizeof(m));
	struct smb2_copychunk_rsp r;
	CHECK_EQ(smb2_copychunk_rsp_decode(m, n, &r), 0);
	CHECK_EQ(r.chunks_written, 256);
	CHECK_EQ(r.chunk_bytes_written, 1u << 20);
	CHECK_EQ(r.total_bytes_written, 16u << 20);
	for (size_t l = 0; l < n; l++)
		CHECK_EQ(smb2_copychunk_rsp_decode(m, l, &r), -EBADMSG);
	CHECK_EQ(smb2_copychunk_rsp_decode(NULL, 12, &r), -EBADMSG);
	CHECK_EQ(smb2_copychunk_rsp_decode(m, n, NULL), -EINVAL);
}

static void test_resume_key(void)
{
	unsigned char m[40];
	uint8_t key[SMB2_RESUME_KEY_SIZE];
	/* ResumeKey, ContextLength 4, Context */
	size_t n = hex2bin("0102030405060708090a0b0c0d0e0f101112131415161718 04000000 deadbeef",
			   m, sizeof(m));
	CHECK_EQ(smb2_resume_key_decode(m, n, key), 0);
	CHECK_MEM(key, m, SMB2_RESUME_KEY_SIZE);
	CHECK_EQ(smb2_resume_key_decode(m, SMB2_RESUME_KEY_SIZE, key), 0);
	for (size_t l = 0; l < SMB2_RESUME_KEY_SIZE; l++)
		CHECK_EQ(smb2_resume_key_decode(m, l, key), -EBADMSG);
	CHECK_EQ(smb2_resume_key_decode(NULL, 24, key), -EBADMSG);
}

static void test_sparse_zero_alloc(void)
{
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(smb2_set_sparse_encode(&w, true), 0);
	check_bytes(&w, "01", __LINE__);
	wbuf_reset(&w);
	CHECK_EQ(smb2_set_sparse_encode(&w, false), 0);
	check_bytes(&w, "00", __LINE__);

	wbuf_reset(&w);
	CHECK_EQ(smb2_zero_data_encode(&w, 0x100000, 0x300001), 0);
	check_bytes(&w, "0000100000000000 0100300000000000", __LINE__);
	wbuf_reset(&w);
	CHECK_EQ(smb2_zero_data_encode(&w, 5, 5), 0); /* empty: allowed */
	wbuf_reset(&w);
	CHECK_EQ(smb2_zero_data_encode(&w, 6, 5), -EINVAL);
	CHECK_EQ(w.err, -EINVAL);

	wbuf_reset(&w);
	CHECK_EQ(smb2_alloc_range_encode(&w, 0x1000, 0xFFFFFFFFFull), 0);
	check_bytes(&w, "0010000000000000 ffffffff0f000000", __LINE__);

	wbuf_reset(&w);
	CHECK_EQ(smb2_allocation_info_encode(&w, 0x0800000), 0);
	check_bytes(&w, "0000800000000000", __LINE__);
	wbuf_free(&w);
	CHECK_EQ(smb2_set_sparse_encode(NULL, true), -EINVAL);
	CHECK_EQ(smb2_zero_data_encode(NULL, 0, 1), -EINVAL);
	CHECK_EQ(smb2_alloc_range_encode(NULL, 0, 1), -EINVAL);
	CHECK_EQ(smb2_allocation_info_encode(NULL, 1), -EINVAL);
}

static void test_alloc_ranges(void)
{
	unsigned char m[64];
	struct smb2_alloc_range rg[4];
	size_t n = 0;
	size_t len = hex2bin("0000100000000000 0000010000000000"  /* 1 MiB, 64 KiB */
			     "0000500000000000 0000010000000000", /* 5 MiB, 64 KiB */
			     m, sizeof(m));
	CHECK_EQ(smb2_alloc_ranges_decode(m, len, rg, 4, &n), 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(rg[0].off, 0x100000);
	CHECK_EQ(rg[0].len, 0x10000);
	CHECK_EQ(rg[1].off, 0x500000);
	CHECK_EQ(rg[1].len, 0x10000);
	/* empty: no ranges (all of the range is a hole) */
	CHECK_EQ(smb2_alloc_ranges_decode(NULL, 0, rg, 4, &n), 0);
	CHECK_EQ(n, 0);
	/* not whole elements */
	for (size_t l = 1; l < len; l++)
		if (l % 16)
			CHECK_EQ(smb2_alloc_ranges_decode(m, l, rg, 4, &n), -EBADMSG);
	/* more than the caller holds */
	CHECK_EQ(smb2_alloc_ranges_decode(m, len, rg, 1, &n), -E2BIG);
	CHECK_EQ(n, 0);
	/* out of order, overlapping, wrapping */
	len = hex2bin("0000500000000000 0000010000000000"
		      "0000100000000000 0000010000000000", m, sizeof(m));
	CHECK_EQ(smb2_alloc_ranges_decode(m, len, rg, 4, &n), -EBADMSG);
	len = hex2bin("0000100000000000 0000100000000000"
		      "0000180000000000 0000010000000000", m, sizeof(m));
	CHECK_EQ(smb2_alloc_ranges_decode(m, len, rg, 4, &n), -EBADMSG);
	len = hex2bin("00000000000000f0 0000000000000020", m, sizeof(m));
	CHECK_EQ(smb2_alloc_ranges_decode(m, len, rg, 4, &n), -EBADMSG);
	/* adjacent ranges are fine */
	len = hex2bin("0000100000000000 0000100000000000"
		      "0000200000000000 0000010000000000", m, sizeof(m));
	CHECK_EQ(smb2_alloc_ranges_decode(m, len, rg, 4, &n), 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(smb2_alloc_ranges_decode(m, len, rg, 4, NULL), -EINVAL);
}

int main(void)
{
	test_copychunk();
	test_resume_key();
	test_sparse_zero_alloc();
	test_alloc_ranges();
	return check_done("test_fsctl");
}

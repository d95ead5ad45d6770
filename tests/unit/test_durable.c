/* Durable handle v2 contexts (MS-SMB2 2.2.13.2.11, 2.2.13.2.12,
 * 2.2.14.2.12), byte for byte from the spec's layouts, and in a CREATE's
 * context chain next to a lease. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "smb2fs/buf.h"
#include "smb2fs/wire.h"

static const uint8_t guid[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static void test_dh2q(void)
{
	uint8_t out[SMB2_DH2Q_SIZE], want[64];
	/* Timeout 60000 ms, no flags, reserved zero, CreateGuid */
	CHECK_EQ(smb2_dh2q_encode(60000, 0, guid, out), 32);
	size_t n = hex2bin("60ea0000 00000000 0000000000000000 00112233445566778899aabbccddeeff",
			   want, sizeof(want));
	CHECK_EQ(n, 32);
	CHECK_MEM(out, want, 32);
	/* persistent asked; other flag bits never go out */
	CHECK_EQ(smb2_dh2q_encode(0, 0xFFFFFFFFu, guid, out), 32);
	n = hex2bin("00000000 02000000 0000000000000000 00112233445566778899aabbccddeeff",
		    want, sizeof(want));
	CHECK_MEM(out, want, 32);

	/* response: Timeout, Flags; shorter is malformed */
	uint32_t t = 0, f = 0;
	n = hex2bin("30750000 02000000", want, sizeof(want));
	CHECK_EQ(smb2_dh2q_rsp_decode(want, n, &t, &f), 0);
	CHECK_EQ(t, 30000);
	CHECK_EQ(f, SMB2_DHANDLE_FLAG_PERSISTENT);
	for (size_t bad = 0; bad < 8; bad++)
		CHECK_EQ(smb2_dh2q_rsp_decode(want, bad, &t, &f), -EBADMSG);
	CHECK_EQ(smb2_dh2q_rsp_decode(NULL, 8, &t, &f), -EBADMSG);
}

static void test_dh2c(void)
{
	uint8_t out[SMB2_DH2C_SIZE], want[64];
	struct smb2_fileid id = {.persistent = 0x0102030405060708ull,
				 .volatile_ = 0x1112131415161718ull};
	CHECK_EQ(smb2_dh2c_encode(&id, guid, 0, out), 36);
	size_t n = hex2bin("0807060504030201 1817161514131211 00112233445566778899aabbccddeeff"
			   "00000000", want, sizeof(want));
	CHECK_EQ(n, 36);
	CHECK_MEM(out, want, 36);
	CHECK_EQ(smb2_dh2c_encode(&id, guid, SMB2_DHANDLE_FLAG_PERSISTENT | 1, out), 36);
	CHECK_EQ(out[32], 2);
	CHECK_EQ(out[33] | out[34] | out[35], 0);
}

/* The chain a reopen sends (DH2C then RqLs), as 2.2.13.2 lays it out. */
static int seen(const struct smb2_create_context *c, void *arg)
{
	int *n = arg;
	if (*n == 0) {
		CHECK(strcmp(c->name, SMB2_CREATE_DH2C_TAG) == 0);
		CHECK_EQ(c->data_len, 36);
	} else {
		CHECK(strcmp(c->name, SMB2_CREATE_LEASE_TAG) == 0);
		CHECK_EQ(c->data_len, 52);
	}
	(*n)++;
	return 0;
}

static void test_chain(void)
{
	uint8_t dh[SMB2_DH2C_SIZE], ls[SMB2_LEASE_V2_SIZE];
	struct smb2_fileid id = {1, 2};
	struct smb2_lease_ctx l = {.state = 7, .v2 = true};
	memset(l.key, 0xA5, 16);
	struct smb2_create_context ctx[2] = {
		{.name = SMB2_CREATE_DH2C_TAG, .data = dh, .data_len = smb2_dh2c_encode(&id, guid, 0, dh)},
		{.name = SMB2_CREATE_LEASE_TAG, .data = ls, .data_len = smb2_lease_ctx_encode(&l, ls)},
	};
	struct smb2_create_req q = {.desired_access = 0x120089, .create_disposition = 1,
				    .name = "a", .contexts = ctx, .n_contexts = 2};
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(smb2_create_encode(&w, &q), 0);
	/* body 56 + name 2 -> contexts at 64 (8-aligned) */
	uint32_t off = le32_load(w.p + 48), len = le32_load(w.p + 52);
	CHECK_EQ(off, 64);
	/* DH2C: 16 header + 8 name (4 + pad) + 36 data = 60, padded to 64 for
	 * the next; RqLs: 24 + 52 = 76 */
	CHECK_EQ(len, 64 + 76);
	CHECK_EQ(le32_load(w.p + off), 64);           /* Next */
	CHECK_EQ(le16_load(w.p + off + 4), 16);       /* NameOffset */
	CHECK_EQ(le16_load(w.p + off + 6), 4);        /* NameLength */
	CHECK_EQ(le16_load(w.p + off + 10), 24);      /* DataOffset */
	CHECK_EQ(le32_load(w.p + off + 12), 36);      /* DataLength */
	CHECK_MEM(w.p + off + 16, "DH2C", 4);
	CHECK_MEM(w.p + off + 24, dh, 36);
	int n = 0;
	CHECK_EQ(smb2_create_contexts_walk(w.p + off, len, seen, &n), 0);
	CHECK_EQ(n, 2);
	wbuf_free(&w);
}

/* The replay flag and the channel sequence go where 2.2.1.2 puts them. */
static void test_header(void)
{
	uint8_t msg[SMB2_HDR_SIZE];
	memset(msg, 0, sizeof(msg));
	smb2_hdr_add_flags(msg, SMB2_FLAGS_REPLAY_OPERATION);
	CHECK_EQ(msg[16 + 3], 0x20);
	smb2_hdr_set_channel_sequence(msg, 0x0102);
	CHECK_EQ(msg[8], 0x02);
	CHECK_EQ(msg[9], 0x01);
	CHECK_EQ(msg[10] | msg[11], 0);
}

int main(void)
{
	test_dh2q();
	test_dh2c();
	test_chain();
	test_header();
	return check_done("durable");
}

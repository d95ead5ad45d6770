/* libFuzzer target: runs every wire/fscc decoder on the input, and the
 * decryption of a TRANSFORM frame.
 *   clang -fsanitize=fuzzer,address -Iinclude tests/fuzz/fuzz_wire.c \
 *         src/util/(all .c) src/wire/(all .c) src/crypto/(all .c) -lcrypto
 * The first byte selects nothing: every decoder sees the whole input, so a
 * single corpus exercises all of them.  Pointers returned by decoders are
 * read in full so out-of-bounds results are caught by ASan. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smb2fs/crypto.h"
#include "smb2fs/fscc.h"
#include "smb2fs/mfsym.h"
#include "smb2fs/ntstatus.h"
#include "smb2fs/secdesc.h"
#include "smb2fs/sfm.h"
#include "smb2fs/utf16.h"
#include "smb2fs/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void touch(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sink ^= p[i];
}

static int ctx_cb(const struct smb2_create_context *c, void *arg)
{
	(void)arg;
	touch((const uint8_t *)c->name, strlen(c->name));
	touch(c->data, c->data_len);
	return 0;
}

static int dir_cb(const struct fscc_dirent *e, void *arg)
{
	(void)arg;
	touch((const uint8_t *)e->name, strlen(e->name));
	return 0;
}

static int ea_cb(const struct fscc_ea *e, void *arg)
{
	(void)arg;
	touch((const uint8_t *)e->name, e->name_len);
	touch(e->value, e->value_len);
	return 0;
}

/* A file's head as an mfsymlink and as an SFU file (mfsym.h). */
static void fuzz_special(const uint8_t *p, size_t n)
{
	char target[MFSYM_TARGET_MAX + 1];
	size_t tlen;
	if (mfsym_parse(p, n, target, sizeof(target), &tlen) == 0 &&
	    (tlen > MFSYM_TARGET_MAX || target[tlen]))
		abort();
	uint32_t ma, mi;
	(void)sfu_parse(p, n, n, &ma, &mi);
	char *t = NULL;
	bool rel;
	if (fscc_parse_symlink_reparse(p, n, &t, &rel) == 0) {
		touch((const uint8_t *)t, strlen(t));
		free(t);
	}
}

/* The SFM mapping (sfm.h) of a name as a server lists it: mapped back and
 * out again it is the stored name, unless it holds what no SMB name holds
 * or a real trailing space or period; and every path converts to UTF-8. */
static void sfm_check(const char *s)
{
	size_t n = strlen(s);
	char *back = malloc(n + 1), *out = malloc(3 * n + 1), *path = NULL;
	if (!back || !out)
		abort();
	size_t bl = sfm_name_from_smb(s, n, back);
	if (bl > n || back[bl] || !utf8_valid(back, bl))
		abort();
	size_t ol = sfm_name_to_smb(back, bl, out);
	bool plain = n && !strpbrk(s, "\"*:<>?\\|/") && s[n - 1] != ' ' && s[n - 1] != '.';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20)
			plain = false;
	if (plain && (ol != n || memcmp(out, s, n)))
		abort();
	free(back);
	free(out);
	for (int map = 0; map < 2; map++) {
		if (sfm_path_to_smb(s, map, &path) == 0 && !utf8_valid(path, strlen(path)))
			abort();
		free(path);
	}
}

/* A security descriptor: parse, map, rebuild (and parse the rebuilt one,
 * which must succeed), and a chmod DACL built from it. */
static void fuzz_secdesc(const uint8_t *p, size_t n)
{
	struct sd_desc sd;
	if (sd_parse(p, n, &sd) != 0)
		return;
	struct sd_posix px;
	sd_to_posix(&sd, &px);
	sink ^= (uint8_t)px.mode;
	for (unsigned i = 0; i < sd.n_aces; i++)
		touch(sd.aces[i].raw, sd.aces[i].size);
	struct wbuf w;
	wbuf_init(&w);
	if (sd_build(&w, &sd) == 0) {
		struct sd_desc again;
		if (sd_parse(w.p, w.len, &again) != 0)
			abort();
		sd_free(&again);
	}
	wbuf_reset(&w);
	if (sd.has_owner && sd.has_group && sd_build_mode(&w, &sd, &sd.owner, &sd.group, 0751) == 0) {
		struct sd_desc again;
		if (sd_parse(w.p, w.len, &again) != 0)
			abort();
		sd_free(&again);
	}
	wbuf_free(&w);
	sd_free(&sd);
}

/* The IOCTL outputs of space operations and server-side copy (fsctl.c). */
static void fuzz_fsctl(const uint8_t *p, size_t n)
{
	uint8_t key[SMB2_RESUME_KEY_SIZE];
	struct smb2_copychunk_rsp cc;
	struct smb2_alloc_range rg[8];
	size_t nr = 0;
	if (smb2_resume_key_decode(p, n, key) == 0)
		touch(key, sizeof(key));
	(void)smb2_copychunk_rsp_decode(p, n, &cc);
	if (smb2_alloc_ranges_decode(p, n, rg, 8, &nr) == 0)
		for (size_t i = 0; i < nr; i++)
			sink ^= (uint8_t)(rg[i].off + rg[i].len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smb2_hdr h;
	struct smb2_error_rsp er;
	struct smb2_negotiate_rsp ng;
	struct smb2_session_setup_rsp ss;
	struct smb2_tree_connect_rsp tc;
	struct smb2_create_rsp cr;
	struct smb2_close_rsp cl;
	struct smb2_read_rsp rd;
	struct smb2_write_rsp wr;
	struct smb2_query_directory_rsp qd;
	struct smb2_query_info_rsp qi;
	struct smb2_ioctl_rsp io;
	struct smb2_validate_negotiate_rsp vn;
	struct fscc_stat st;
	struct fscc_fs_full_size fs;

	if (smb2_hdr_decode(data, size, &h) == 0)
		sink ^= (uint8_t)smb2_cmd_name(h.command)[0];
	if (smb2_error_decode(data, size, &er) == 0)
		touch(er.data, er.byte_count);
	if (smb2_negotiate_decode(data, size, &ng) == 0)
		touch(ng.sec_blob, ng.sec_blob_len);
	if (smb2_session_setup_decode(data, size, &ss) == 0)
		touch(ss.blob, ss.blob_len);
	(void)smb2_tree_connect_decode(data, size, &tc);
	(void)smb2_empty_rsp_decode(data, size);
	if (smb2_create_decode(data, size, &cr) == 0) {
		touch(cr.contexts, cr.contexts_len);
		(void)smb2_create_contexts_walk(cr.contexts, cr.contexts_len, ctx_cb, NULL);
	}
	(void)smb2_close_decode(data, size, &cl);
	(void)smb2_lock_decode(data, size);
	struct smb2_lease_break lb;
	struct smb2_lease_ctx lc;
	uint8_t lkey[16];
	uint32_t lstate;
	if (smb2_break_notify_decode(data, size, &lb) == 1)
		touch(lb.key, sizeof(lb.key));
	(void)smb2_lease_ack_rsp_decode(data, size, lkey, &lstate);
	(void)smb2_lease_ctx_decode(data, size, &lc);
	if (smb2_read_decode(data, size, &rd) == 0)
		touch(rd.data, rd.data_len);
	(void)smb2_write_decode(data, size, &wr);
	if (smb2_query_directory_decode(data, size, &qd) == 0) {
		touch(qd.buf, qd.buf_len);
		(void)fscc_dir_walk(FileIdBothDirectoryInformation, qd.buf, qd.buf_len, dir_cb, NULL);
	}
	if (smb2_query_info_decode(data, size, &qi) == 0) {
		touch(qi.buf, qi.buf_len);
		(void)fscc_parse_all(qi.buf, qi.buf_len, &st);
		fuzz_secdesc(qi.buf, qi.buf_len);
		(void)fscc_ea_walk(qi.buf, qi.buf_len, ea_cb, NULL);
	}
	fuzz_secdesc(data, size);
	if (smb2_ioctl_decode(data, size, &io) == 0) {
		touch(io.input, io.input_len);
		touch(io.output, io.output_len);
		(void)smb2_validate_negotiate_decode(io.output, io.output_len, &vn);
		fuzz_fsctl(io.output, io.output_len);
		fuzz_special(io.output, io.output_len);
	}

	/* A whole received frame as the transform header sees it, then its
	 * decryption under a fixed key (fails on the tag, but walks every
	 * length first). */
	struct smb2_transform_hdr th;
	if (smb2_transform_hdr_decode(data, size, &th) == 0) {
		static const uint8_t key[32];
		uint8_t *plain = malloc(th.original_size);
		if (plain) {
			if (smb2_decrypt_msg((uint16_t)(1 + th.nonce[0] % 4), key, data, size, plain,
					     NULL) == 0)
				touch(plain, th.original_size);
			free(plain);
		}
	}

	/* Raw buffers straight into the body-level parsers. */
	(void)smb2_create_contexts_walk(data, size, ctx_cb, NULL);
	static const uint8_t classes[] = { FileDirectoryInformation, FileFullDirectoryInformation,
					   FileBothDirectoryInformation, FileIdFullDirectoryInformation,
					   FileIdBothDirectoryInformation };
	for (size_t i = 0; i < sizeof(classes); i++)
		(void)fscc_dir_walk(classes[i], data, size, dir_cb, NULL);
	memset(&st, 0, sizeof(st));
	(void)fscc_parse_basic(data, size, &st);
	(void)fscc_parse_standard(data, size, &st);
	(void)fscc_parse_network_open(data, size, &st);
	(void)fscc_parse_all(data, size, &st);
	(void)fscc_parse_fs_full_size(data, size, &fs);
	(void)smb2_validate_negotiate_decode(data, size, &vn);
	(void)fscc_ea_walk(data, size, ea_cb, NULL);
	fuzz_special(data, size);
	fuzz_fsctl(data, size);

	char *s = NULL;
	if (utf16_to_utf8(data, size, &s) == 0) {
		struct wbuf w;
		wbuf_init(&w);
		/* round trip must reproduce the input exactly */
		if (utf16_from_utf8(&w, s, strlen(s)) != (long)size || memcmp(w.p ? w.p : data, data, size))
			abort();
		wbuf_free(&w);
		/* ...and so must the allocating form, NUL-terminated */
		uint8_t *p16 = NULL;
		size_t n16 = 0;
		if (utf16_from_utf8_alloc(s, strlen(s), &p16, &n16) != 0 || n16 != size ||
		    memcmp(p16, data, size) != 0 || p16[size] != 0 || p16[size + 1] != 0)
			abort();
		free(p16);
		sfm_check(s);
		free(s);
	}
	if (size >= 4)
		(void)nt_status_err(le32_load(data));
	return 0;
}

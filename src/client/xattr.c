/* SMB extended attributes (EAs) of a path, each one compound inside
 * client_run: CREATE (FILE_READ_EA or FILE_WRITE_EA) + QUERY_INFO or
 * SET_INFO of FileFullEaInformation (MS-FSCC 2.4.15, codecs in
 * src/wire/ea.c) + CLOSE.  Names are the EA names (the fs layer strips
 * Linux's "user." prefix); a value of length 0 removes an EA (SMB has no
 * empty EAs). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

#ifndef STATUS_NONEXISTENT_EA_ENTRY
#define STATUS_NONEXISTENT_EA_ENTRY 0xC0000051u
#endif
#ifndef STATUS_NO_EAS_ON_FILE
#define STATUS_NO_EAS_ON_FILE 0xC0000052u
#endif

/* Largest EA list asked for: one EA of the largest size fits, and a whole
 * list up to the negotiated maximum (at most 1 MiB). */
static uint32_t ea_out_len(struct smb2_client *c, bool one)
{
	uint32_t want = one ? 65536 + 512 : 1u << 20;
	return c->max_trans && c->max_trans < want ? c->max_trans : want;
}

struct ea_op {
	const char *path;          /* SMB path */
	bool set;
	const struct wbuf *in;     /* get: FILE_GET_EA_INFORMATION (NULL: all);
				    * set: the FILE_FULL_EA_INFORMATION */
	/* results of a query (valid until ea_op_done) */
	struct pchain p;
	bool have;
	const uint8_t *buf;
	uint32_t buf_len;
};

static void ea_op_done(struct ea_op *eo)
{
	if (eo->have)
		pchain_free(&eo->p);
	eo->have = false;
}

static int op_ea(struct smb2_client *c, void *arg)
{
	struct ea_op *eo = arg;
	ea_op_done(eo);
	struct pchain *p = &eo->p;
	uint32_t access = (eo->set ? FILE_WRITE_EA : FILE_READ_EA) | SYNCHRONIZE;
	pchain_start(p, c, eo->path, access, FILE_OPEN, 0, 0);
	eo->have = true;
	struct wbuf *w;
	if (eo->set) {
		pchain_set_info(p, SMB2_0_INFO_FILE, FileFullEaInformation, 0, eo->in, 0);
	} else {
		uint32_t out = ea_out_len(c, eo->in != NULL);
		struct smb2_query_info_req q = {
			.info_type = SMB2_0_INFO_FILE,
			.file_info_class = FileFullEaInformation,
			.output_buffer_length = out,
			.flags = 0x01, /* SL_RESTART_SCAN: from the first EA */
			.file_id = SMB2_FILEID_RELATED,
			.input = eo->in ? eo->in->p : NULL,
			.input_len = eo->in ? (uint32_t)eo->in->len : 0,
		};
		w = pchain_act(p, SMB2_QUERY_INFO, out, STATUS_NO_EAS_ON_FILE);
		cmpd_enc(&p->k, smb2_query_info_encode(w, &q));
	}
	int r = pchain_run(p, true, 0);
	if (r < 0)
		return r;
	struct cmpd_msg *m = pchain_result(p, 0);
	if (m->r < 0)
		return m->status == STATUS_NONEXISTENT_EA_ENTRY ? -ENODATA : m->r;
	eo->buf = NULL;
	eo->buf_len = 0;
	if (!eo->set && m->status != STATUS_NO_EAS_ON_FILE) {
		struct smb2_query_info_rsp qr;
		if (smb2_query_info_decode(m->rep.msg, m->rep.len, &qr) < 0) {
			smb2_log_error("malformed QUERY_INFO reply (EAs of %s)", eo->path);
			return -EIO;
		}
		eo->buf = qr.buf;
		eo->buf_len = qr.buf_len;
	}
	return 0;
}

static int run_ea(struct smb2_client *c, const char *path, struct ea_op *eo)
{
	char *p;
	int r = smb_path(c, path, &p);
	if (r < 0)
		return r;
	eo->path = p;
	r = client_run(c, op_ea, eo);
	eo->path = NULL;
	free(p);
	return r;
}

/* ---- get ---- */

struct ea_find {
	const char *name;
	const struct fscc_ea *found;
	struct fscc_ea e;
};

static int find_cb(const struct fscc_ea *e, void *arg)
{
	struct ea_find *f = arg;
	/* EA names are case-insensitive (servers may change their case) */
	if (e->name_len == strlen(f->name) && strncasecmp(e->name, f->name, e->name_len) == 0) {
		f->e = *e;
		f->found = &f->e;
		return 1;
	}
	return 0;
}

ssize_t smb2_get_ea(struct smb2_client *c, const char *path, const char *name, void *buf,
		    size_t size)
{
	struct wbuf in;
	wbuf_init(&in);
	int r = wbuf_check(&in, fscc_build_get_ea(&in, name));
	if (r < 0) {
		wbuf_free(&in);
		return r == -EINVAL ? -ENODATA : r;
	}
	struct ea_op eo = {.in = &in};
	r = run_ea(c, path, &eo);
	ssize_t n = r;
	if (r == 0) {
		struct ea_find f = {.name = name};
		int w = fscc_ea_walk(eo.buf, eo.buf_len, find_cb, &f);
		if (w < 0) {
			smb2_log_error("malformed EA list from the server (%s)", path);
			n = -EIO;
		} else if (!f.found || f.found->value_len == 0) {
			/* a missing EA comes back with no value (MS-FSA) */
			n = -ENODATA;
		} else if (size == 0) {
			n = f.found->value_len;
		} else if (size < f.found->value_len) {
			n = -ERANGE;
		} else {
			memcpy(buf, f.found->value, f.found->value_len);
			n = f.found->value_len;
		}
	}
	ea_op_done(&eo);
	wbuf_free(&in);
	return n;
}

/* ---- list ---- */

struct ea_list {
	int (*cb)(const char *name, size_t name_len, void *arg);
	void *arg;
};

static int list_cb(const struct fscc_ea *e, void *arg)
{
	struct ea_list *l = arg;
	if (e->value_len == 0)
		return 0;
	return l->cb(e->name, e->name_len, l->arg);
}

int smb2_list_ea(struct smb2_client *c, const char *path,
		 int (*cb)(const char *name, size_t name_len, void *arg), void *arg)
{
	struct ea_op eo = {0};
	int r = run_ea(c, path, &eo);
	if (r == 0) {
		struct ea_list l = {cb, arg};
		r = fscc_ea_walk(eo.buf, eo.buf_len, list_cb, &l);
		if (r == -EBADMSG) {
			smb2_log_error("malformed EA list from the server (%s)", path);
			r = -EIO;
		}
	}
	ea_op_done(&eo);
	return r;
}

/* ---- set / remove ---- */

int smb2_set_ea(struct smb2_client *c, const char *path, const char *name, const void *value,
		size_t len)
{
	struct wbuf in;
	wbuf_init(&in);
	int r = wbuf_check(&in, fscc_build_full_ea(&in, name, value, len));
	if (r == 0) {
		struct ea_op eo = {.set = true, .in = &in};
		r = run_ea(c, path, &eo);
		ea_op_done(&eo);
	}
	wbuf_free(&in);
	return r;
}

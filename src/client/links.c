/* Links and files with special contents, each one compound (one round
 * trip) inside client_run, so a reconnect reruns it whole:
 *  - smb2_read_head: CREATE + READ + CLOSE (readlink, and the look at a
 *    candidate mfsymlink or SFU file, smb2fs/mfsym.h);
 *  - smb2_create_with: CREATE (FILE_CREATE) + WRITE + CLOSE (a new
 *    mfsymlink or SFU file);
 *  - smb2_link: CREATE + SET_INFO FileLinkInformation + CLOSE (a hard
 *    link);
 *  - the link count the stat compound asks for (link_add_query_std). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

#ifndef STATUS_NOT_A_REPARSE_POINT
#define STATUS_NOT_A_REPARSE_POINT 0xC0000275u
#endif

/* ---- the link count in a stat compound ---- */

void link_add_query_std(struct cmpd *k)
{
	struct smb2_query_info_req q = {
		.info_type = SMB2_0_INFO_FILE,
		.file_info_class = FileStandardInformation,
		.output_buffer_length = 24,
		.file_id = SMB2_FILEID_RELATED,
	};
	struct wbuf *w = cmpd_add(k, SMB2_QUERY_INFO, true, 0, 0);
	cmpd_enc(k, smb2_query_info_encode(w, &q));
}

uint32_t link_take_std(const struct cmpd_msg *m)
{
	struct smb2_query_info_rsp qr;
	struct fscc_stat st;
	memset(&st, 0, sizeof(st));
	if (m->r < 0 || smb2_query_info_decode(m->rep.msg, m->rep.len, &qr) < 0 ||
	    fscc_parse_standard(qr.buf, qr.buf_len, &st) < 0)
		return 0;
	return st.nlink;
}

/* The file part of the QFid DiskFileId (MS-SMB2 2.2.14.2.9) the open
 * asked for: what listings show as FileId. */
uint64_t smb2_file_server_id(struct smb2_file *f)
{
	if (!f || !f->ident.known)
		return 0;
	return le64_load(f->ident.disk_id);
}

/* ---- the head of a file ---- */

struct head_op {
	const char *path;        /* SMB path */
	uint8_t *buf;
	size_t len;
	size_t got;
};

static int op_read_head(struct smb2_client *c, void *arg)
{
	struct head_op *ho = arg;
	struct pchain p;
	pchain_start(&p, c, ho->path, FILE_READ_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE, FILE_OPEN,
		     FILE_NON_DIRECTORY_FILE, 0);
	struct smb2_read_req q = {
		.length = (uint32_t)ho->len,
		.offset = 0,
		.file_id = SMB2_FILEID_RELATED,
	};
	struct wbuf *w = pchain_act(&p, SMB2_READ, ho->len, STATUS_END_OF_FILE);
	cmpd_enc(&p.k, smb2_read_encode(w, &q));
	int r = pchain_run(&p, true, 0);
	if (r == 0) {
		struct cmpd_msg *m = pchain_result(&p, 0);
		struct smb2_read_rsp rr;
		ho->got = 0;
		if (m->r < 0)
			r = m->r;
		else if (m->status == STATUS_END_OF_FILE)
			ho->got = 0;
		else if (smb2_read_decode(m->rep.msg, m->rep.len, &rr) < 0 || rr.data_len > ho->len) {
			smb2_log_error("malformed READ reply for %s", ho->path);
			r = -EIO;
		} else {
			memcpy(ho->buf, rr.data, rr.data_len);
			ho->got = rr.data_len;
		}
	}
	pchain_free(&p);
	return r;
}

ssize_t smb2_read_head(struct smb2_client *c, const char *path, void *buf, size_t len)
{
	if (len == 0 || len > 65536)
		return -EINVAL;
	int wr = wb_settle_path(c, path);
	if (wr < 0)
		return wr;
	struct head_op ho = {.buf = buf, .len = len};
	char *p;
	int r = smb_path(c, path, &p);
	if (r < 0)
		return r;
	ho.path = p;
	r = client_run(c, op_read_head, &ho);
	free(p);
	return r < 0 ? r : (ssize_t)ho.got;
}

/* ---- a new file with its contents ---- */

struct create_op {
	const char *path;
	const uint8_t *data;
	size_t len;
	uint32_t attrs;
	int attempts;
	bool half;               /* created, but the WRITE failed */
	struct smb2_attrs *after;
};

static int op_create_with(struct smb2_client *c, void *arg)
{
	struct create_op *co = arg;
	co->attempts++;
	struct pchain p;
	pchain_start(&p, c, co->path, FILE_WRITE_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE, FILE_CREATE,
		     FILE_NON_DIRECTORY_FILE, co->attrs);
	if (co->len) {
		struct smb2_write_req q = {
			.offset = 0,
			.file_id = SMB2_FILEID_RELATED,
			.data = co->data,
			.data_len = (uint32_t)co->len,
		};
		struct wbuf *w = pchain_act(&p, SMB2_WRITE, 0, 0);
		cmpd_enc(&p.k, smb2_write_encode(w, &q));
	}
	int r = pchain_run(&p, true, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
	if (r == 0 && co->len) {
		struct cmpd_msg *m = pchain_result(&p, 0);
		struct smb2_write_rsp wr;
		if (m->r < 0)
			r = m->r;
		else if (smb2_write_decode(m->rep.msg, m->rep.len, &wr) < 0 || wr.count != co->len)
			r = -EIO;
		co->half = r < 0 && !err_is_transport(r);
	}
	if (r == 0 && p.closed_attrs && co->after) {
		co->after->valid = true;
		co->after->st = p.after;
	}
	pchain_free(&p);
	return r;
}

int smb2_create_with(struct smb2_client *c, const char *path, const void *data, size_t len,
		     uint32_t attrs, struct smb2_attrs *after)
{
	if (len > 65536)
		return -EINVAL;
	struct create_op co = {.data = data, .len = len, .attrs = attrs, .after = after};
	if (after)
		after->valid = false;
	char *p;
	int r = smb_path(c, path, &p);
	if (r < 0)
		return r;
	co.path = p;
	r = client_run(c, op_create_with, &co);
	if (r == -EEXIST && co.attempts > 1)
		smb2_log_info("create %s: the connection dropped during the first attempt and the "
			      "name now exists; it cannot be proved ours: reporting EEXIST", path);
	if (r < 0 && co.half)
		(void)smb2_unlink(c, path); /* created, not written: no half link */
	free(p);
	return r;
}

/* ---- hard links ---- */

struct link_op {
	const char *from;        /* SMB paths */
	const char *to;
	struct wbuf *info;
	int attempts;
};

static int op_link(struct smb2_client *c, void *arg)
{
	struct link_op *lo = arg;
	lo->attempts++;
	struct pchain p;
	pchain_start(&p, c, lo->from, FILE_READ_ATTRIBUTES | SYNCHRONIZE, FILE_OPEN, 0, 0);
	pchain_set_info(&p, SMB2_0_INFO_FILE, FileLinkInformation, 0, lo->info, 0);
	int r = pchain_run(&p, true, 0);
	if (r == 0)
		r = pchain_result(&p, 0)->r;
	pchain_free(&p);
	return r;
}

int smb2_link(struct smb2_client *c, const char *from, const char *to)
{
	char *sfrom = NULL, *sto = NULL;
	int r = smb_path(c, from, &sfrom);
	if (r == 0)
		r = smb_path(c, to, &sto);
	if (r < 0)
		goto out;
	struct wbuf d;
	wbuf_init(&d);
	/* FileLinkInformation (MS-FSCC 2.4.27.2) has FileRenameInformation's
	 * SMB2 layout: ReplaceIfExists, RootDirectory 0, the new name from
	 * the share root.  link(2) never replaces. */
	r = wbuf_check(&d, fscc_build_rename(&d, false, sto));
	if (r == 0) {
		struct link_op lo = {.from = sfrom, .to = sto, .info = &d};
		r = client_run(c, op_link, &lo);
		if (r == -EEXIST && lo.attempts > 1)
			smb2_log_info("link %s: the connection dropped during the first attempt and the "
				      "name now exists; reporting EEXIST", to);
	}
	wbuf_free(&d);
out:
	free(sfrom);
	free(sto);
	return r;
}

/* ---- reparse-point symlinks ---- */

struct reparse_op {
	const char *path;        /* SMB path */
	char *target;
};

static int op_read_reparse(struct smb2_client *c, void *arg)
{
	struct reparse_op *ro = arg;
	struct pchain p;
	pchain_start(&p, c, ro->path, FILE_READ_ATTRIBUTES | SYNCHRONIZE, FILE_OPEN,
		     FILE_OPEN_REPARSE_POINT, 0);
	struct smb2_ioctl_req q = {
		.ctl_code = FSCTL_GET_REPARSE_POINT,
		.file_id = SMB2_FILEID_RELATED,
		.max_output_response = 16384, /* MAXIMUM_REPARSE_DATA_BUFFER_SIZE */
		.flags = SMB2_0_IOCTL_IS_FSCTL,
	};
	struct wbuf *w = pchain_act(&p, SMB2_IOCTL, 0, 0);
	cmpd_enc(&p.k, smb2_ioctl_encode(w, &q));
	int r = pchain_run(&p, true, 0);
	if (r == 0) {
		struct cmpd_msg *m = pchain_result(&p, 0);
		struct smb2_ioctl_rsp ir;
		bool rel;
		free(ro->target);
		ro->target = NULL;
		if (m->r < 0) {
			/* not a reparse point, or a server without them */
			r = m->status == STATUS_NOT_A_REPARSE_POINT || m->r == -EOPNOTSUPP ? -EINVAL
											  : m->r;
		} else if (smb2_ioctl_decode(m->rep.msg, m->rep.len, &ir) < 0) {
			smb2_log_error("malformed IOCTL reply (reparse point of %s)", ro->path);
			r = -EIO;
		} else {
			r = fscc_parse_symlink_reparse(ir.output, ir.output_len, &ro->target, &rel);
			if (r == -EBADMSG) {
				smb2_log_error("malformed reparse data of %s", ro->path);
				r = -EIO;
			} else if (r == -EOPNOTSUPP) {
				r = -EINVAL; /* another kind of reparse point */
			}
		}
	}
	pchain_free(&p);
	return r;
}

int smb2_read_reparse_link(struct smb2_client *c, const char *path, char **target)
{
	struct reparse_op ro = {0};
	char *p;
	*target = NULL;
	int r = smb_path(c, path, &p);
	if (r < 0)
		return r;
	ro.path = p;
	r = client_run(c, op_read_reparse, &ro);
	free(p);
	if (r < 0) {
		free(ro.target);
		return r;
	}
	*target = ro.target;
	return 0;
}

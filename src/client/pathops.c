/* Path-based operations: each opens the path with just the access it needs,
 * does one thing on the handle, and closes it.  (Compounding these into one
 * round trip is a later step; the shape already is open/act/close.) */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"


struct path_op {
	const char *path;          /* share-relative SMB path */
	uint32_t access, disposition, options, attrs;
	/* the action on the open handle; NULL = open and close only */
	int (*act)(struct smb2_client *c, const struct smb2_fileid *id, struct path_op *po);
	struct smb2_create_rsp cr;
	/* action arguments */
	uint64_t u64a, u64b;
	bool flag;
	const char *name;
	struct fscc_fs_full_size *fs;
	struct wbuf *listing;      /* readdir: concatenated raw listings */
};

static int op_path(struct smb2_client *c, void *arg)
{
	struct path_op *po = arg;
	struct smb2_fileid id;
	int r = file_create(c, po->path, po->access, po->disposition, po->options, po->attrs, &id, &po->cr);
	if (r < 0)
		return r;
	if (po->act)
		r = po->act(c, &id, po);
	int rc = file_close_id(c, &id);
	/* A failed CLOSE matters only if the action succeeded (e.g. a
	 * delete-on-close that did not happen). */
	return r < 0 ? r : rc;
}

static int run_path(struct smb2_client *c, const char *posix_path, struct path_op *po)
{
	char *p = smb_path(posix_path);
	if (!p)
		return -ENOMEM;
	po->path = p;
	int r = client_run(c, op_path, po);
	free(p);
	return r;
}

/* ---- stat ---- */

int smb2_stat(struct smb2_client *c, const char *path, struct fscc_stat *st)
{
	struct path_op po = {.access = FILE_READ_ATTRIBUTES, .disposition = FILE_OPEN};
	int r = run_path(c, path, &po);
	if (r == 0)
		fill_stat_from_create(&po.cr, st);
	return r;
}

/* ---- readdir ---- */

/* Entries are collected first and handed to the callback only after the
 * whole listing arrived, so a retry after reconnect never repeats any. */
static int act_list(struct smb2_client *c, const struct smb2_fileid *id, struct path_op *po)
{
	wbuf_reset(po->listing);
	for (int first = 1;; first = 0) {
		struct smb2_query_directory_req q = {
			.info_class = FileIdBothDirectoryInformation,
			.flags = first ? SMB2_RESTART_SCANS : 0,
			.file_id = *id,
			.pattern = "*",
			.output_buffer_length = c->max_trans < 65536 ? c->max_trans : 65536,
		};
		struct smb2_reply rep;
		struct smb2_query_directory_rsp qr;
		struct wbuf w;
		uint32_t st = 0;
		req_start(c, &w, SMB2_QUERY_DIRECTORY);
		smb2_query_directory_encode(&w, &q);
		int r = req_call(c, &w, q.output_buffer_length, &rep, STATUS_NO_MORE_FILES, &st);
		if (r < 0)
			return r;
		if (st == STATUS_NO_MORE_FILES) {
			smb2_reply_free(&rep);
			return 0;
		}
		r = smb2_query_directory_decode(rep.msg, rep.len, &qr);
		if (r < 0 || qr.buf_len == 0) {
			smb2_reply_free(&rep);
			return r < 0 ? -EIO : 0;
		}
		/* length-prefixed chunks: [u32 len][listing bytes][pad to 8] */
		wbuf_u32(po->listing, qr.buf_len);
		wbuf_zero(po->listing, 4);
		wbuf_bytes(po->listing, qr.buf, qr.buf_len);
		wbuf_align(po->listing, 8);
		smb2_reply_free(&rep);
		if (po->listing->err)
			return -ENOMEM;
	}
}

int smb2_readdir(struct smb2_client *c, const char *path,
		 int (*cb)(const struct fscc_dirent *e, void *arg), void *arg)
{
	struct wbuf listing;
	wbuf_init(&listing);
	struct path_op po = {
		.access = FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.options = FILE_DIRECTORY_FILE,
		.act = act_list,
		.listing = &listing,
	};
	int r = run_path(c, path, &po);
	size_t off = 0;
	while (r == 0 && off + 8 <= listing.len) {
		uint32_t n = le32_load(listing.p + off);
		r = fscc_dir_walk(FileIdBothDirectoryInformation, listing.p + off + 8, n, cb, arg);
		if (r == -EBADMSG) {
			smb2_log_error("malformed directory listing from the server");
			r = -EIO;
		}
		off += 8 + ((n + 7u) & ~7u);
	}
	wbuf_free(&listing);
	return r;
}

/* ---- create / delete ---- */

int smb2_mkdir(struct smb2_client *c, const char *path)
{
	struct path_op po = {
		.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_CREATE,
		.options = FILE_DIRECTORY_FILE,
		.attrs = FILE_ATTRIBUTE_DIRECTORY,
	};
	return run_path(c, path, &po);
}

/* Delete by setting the disposition (MS-FSCC 2.4.11): unlike
 * FILE_DELETE_ON_CLOSE at open time, the server reports a non-empty
 * directory here, as STATUS_DIRECTORY_NOT_EMPTY. */
static int act_delete(struct smb2_client *c, const struct smb2_fileid *id, struct path_op *po)
{
	(void)po;
	struct wbuf d;
	wbuf_init(&d);
	fscc_build_disposition(&d, true);
	int r = file_set_info(c, id, FileDispositionInformation, &d);
	wbuf_free(&d);
	return r;
}

int smb2_rmdir(struct smb2_client *c, const char *path)
{
	struct path_op po = {
		.access = DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.options = FILE_DIRECTORY_FILE,
		.act = act_delete,
	};
	return run_path(c, path, &po);
}

int smb2_unlink(struct smb2_client *c, const char *path)
{
	struct path_op po = {
		.access = DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.options = FILE_NON_DIRECTORY_FILE | FILE_OPEN_REPARSE_POINT,
		.act = act_delete,
	};
	return run_path(c, path, &po);
}

/* ---- rename ---- */

static int act_rename(struct smb2_client *c, const struct smb2_fileid *id, struct path_op *po)
{
	struct wbuf d;
	wbuf_init(&d);
	fscc_build_rename(&d, po->flag, po->name);
	int r = file_set_info(c, id, FileRenameInformation, &d);
	wbuf_free(&d);
	return r;
}

int smb2_rename(struct smb2_client *c, const char *from, const char *to, bool replace)
{
	char *target = smb_path(to);
	if (!target)
		return -ENOMEM;
	struct path_op po = {
		.access = DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.act = act_rename,
		.flag = replace,
		.name = target,
	};
	int r = run_path(c, from, &po);
	free(target);
	return r;
}

/* ---- truncate, times ---- */

static int act_eof(struct smb2_client *c, const struct smb2_fileid *id, struct path_op *po)
{
	struct wbuf d;
	wbuf_init(&d);
	fscc_build_end_of_file(&d, po->u64a);
	int r = file_set_info(c, id, FileEndOfFileInformation, &d);
	wbuf_free(&d);
	return r;
}

int smb2_truncate(struct smb2_client *c, const char *path, uint64_t size)
{
	struct path_op po = {
		.access = FILE_WRITE_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.options = FILE_NON_DIRECTORY_FILE,
		.act = act_eof,
		.u64a = size,
	};
	return run_path(c, path, &po);
}

static int act_times(struct smb2_client *c, const struct smb2_fileid *id, struct path_op *po)
{
	struct wbuf d;
	wbuf_init(&d);
	fscc_build_basic(&d, 0, po->u64a, po->u64b, 0, 0);
	int r = file_set_info(c, id, FileBasicInformation, &d);
	wbuf_free(&d);
	return r;
}

struct ftimes_args {
	struct smb2_file *f;
	struct path_op po;
};

static int op_ftimes(struct smb2_client *c, void *arg)
{
	struct ftimes_args *a = arg;
	if (a->f->stale)
		return -ESTALE;
	return act_times(c, &a->f->id, &a->po);
}

int smb2_set_times(struct smb2_client *c, const char *path, struct smb2_file *f,
		   uint64_t atime, uint64_t mtime)
{
	/* On a handle opened for writing, set the times through it: the
	 * server then keeps them instead of stamping the time of a later
	 * write on that same handle. */
	if (f && (f->flags & O_ACCMODE) != O_RDONLY) {
		struct ftimes_args a = {.f = f, .po = {.u64a = atime, .u64b = mtime}};
		return client_run(c, op_ftimes, &a);
	}
	struct path_op po = {
		.access = FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.act = act_times,
		.u64a = atime,
		.u64b = mtime,
	};
	return run_path(c, path, &po);
}

/* ---- statfs ---- */

static int act_statfs(struct smb2_client *c, const struct smb2_fileid *id, struct path_op *po)
{
	struct smb2_reply rep;
	const uint8_t *b;
	uint32_t bl;
	int r = file_query_info(c, id, SMB2_0_INFO_FILESYSTEM, FileFsFullSizeInformation, 32, &rep, &b, &bl);
	if (r < 0)
		return r;
	r = fscc_parse_fs_full_size(b, bl, po->fs);
	smb2_reply_free(&rep);
	return r < 0 ? -EIO : 0;
}

int smb2_statfs(struct smb2_client *c, struct fscc_fs_full_size *out)
{
	struct path_op po = {
		.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.act = act_statfs,
		.fs = out,
	};
	return run_path(c, "/", &po);
}

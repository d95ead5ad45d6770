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
	uint8_t set_class;         /* act_set_info: class and prebuilt buffer */
	const struct wbuf *set_data;
	struct fscc_fs_full_size *fs;
	struct wbuf *listing;      /* readdir: concatenated raw listings */
	const char *rename_to;     /* rename: SMB path of the target */
	/* Act on a handle of ours that can write to the path, if one is
	 * open (prefer first), instead of opening one more. */
	bool via_writer;
	struct smb2_file *prefer;
	bool sets_mtime;           /* the action sets LastWriteTime */
	bool changes_data;         /* ... or changes the data (truncate) */
	int attempts;              /* how often op_path ran (retries after reconnect) */
};

static int op_path(struct smb2_client *c, void *arg)
{
	struct path_op *po = arg;
	struct smb2_fileid id;
	po->attempts++;
	if (po->via_writer && files_writer_id(c, po->path, po->prefer, &id)) {
		int r = po->act(c, &id, po);
		if (r == 0 && (po->sets_mtime || po->changes_data))
			files_note_id(c, &id, po->sets_mtime);
		/* -EBADF: closed under us (STATUS_FILE_CLOSED); use our own. */
		if (r != -EBADF)
			return r;
	}
	int r = file_create(c, po->path, po->access, po->disposition, po->options, po->attrs, &id, &po->cr);
	if (r < 0)
		return r;
	if (po->act)
		r = po->act(c, &id, po);
	if (r == 0 && po->rename_to)
		files_renamed(c, po->path, po->rename_to);
	int rc = file_close_id(c, &id);
	/* The action's result is what counts.  A CLOSE lost with the
	 * connection is not a failure: the server closes the handle itself
	 * (and then deletes a file marked for deletion); retrying the whole
	 * operation would turn a done rename or mkdir into an error. */
	if (r < 0)
		return r;
	return err_is_transport(rc) ? 0 : rc;
}

/* After a reconnect an operation may run a second time although the first
 * run reached the server and only its reply was lost.  This says whether
 * the error of such a rerun is the first run's success showing.  (Not for
 * creates: an existing name cannot be proved to be the first run's, and
 * mkdir, like O_EXCL, promises the caller the object is new.) */
static bool rerun_saw_own_removal(const struct path_op *po, int r)
{
	return po->attempts > 1 && r == -ENOENT;
}

static int run_path(struct smb2_client *c, const char *posix_path, struct path_op *po)
{
	char *p;
	int r = smb_path(posix_path, &p);
	if (r < 0)
		return r;
	po->path = p;
	r = client_run(c, op_path, po);
	free(p);
	return r;
}

/* ---- stat ---- */

int smb2_stat(struct smb2_client *c, const char *path, struct fscc_stat *st)
{
	int wr = wb_settle_path(c, path);
	if (wr < 0)
		return wr;
	struct path_op po = {.access = FILE_READ_ATTRIBUTES, .disposition = FILE_OPEN};
	int r = run_path(c, path, &po);
	if (r == 0)
		fill_stat_from_create(&po.cr, st);
	return r;
}

/* ---- readdir ---- */

/* Bounds on one directory listing.  A real directory of ten million
 * entries fits; a server that never says STATUS_NO_MORE_FILES does not get
 * to loop us forever or fill our memory. */
#define LIST_MAX_ROUNDS 20000
#define LIST_MAX_BYTES (256u * 1024 * 1024)

/* Entries are collected first and handed to the callback only after the
 * whole listing arrived, so a retry after reconnect never repeats any. */
static int act_list(struct smb2_client *c, const struct smb2_fileid *id, struct path_op *po)
{
	wbuf_reset(po->listing);
	for (int round = 0;; round++) {
		int first = round == 0;
		if (round >= LIST_MAX_ROUNDS || po->listing->len > LIST_MAX_BYTES) {
			smb2_log_error("directory %s: the server's listing does not end "
				       "(%d rounds, %zu bytes); giving up", po->path, round, po->listing->len);
			return -EIO;
		}
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
		int r = req_call(c, &w, smb2_query_directory_encode(&w, &q), q.output_buffer_length, &rep,
				 STATUS_NO_MORE_FILES, &st);
		/* The first round may say STATUS_NO_SUCH_FILE: nothing matched
		 * "*" (an empty volume root has no "." or ".."). */
		if (r < 0 && first && st == STATUS_NO_SUCH_FILE)
			return 0;
		if (r < 0)
			return r;
		if (st == STATUS_NO_MORE_FILES) {
			smb2_reply_free(&rep);
			return 0;
		}
		r = smb2_query_directory_decode(rep.msg, rep.len, &qr);
		if (r < 0 || qr.buf_len == 0) {
			smb2_reply_free(&rep);
			if (r < 0)
				smb2_log_error("malformed QUERY_DIRECTORY reply for %s", po->path);
			return r < 0 ? -EIO : 0;
		}
		/* length-prefixed chunks: [u32 len][listing bytes][pad to 8] */
		wbuf_u32(po->listing, qr.buf_len);
		wbuf_zero(po->listing, 4);
		wbuf_bytes(po->listing, qr.buf, qr.buf_len);
		wbuf_align(po->listing, 8);
		smb2_reply_free(&rep);
		if (po->listing->err)
			return po->listing->err;
	}
}

struct list_walk {
	int (*cb)(const struct fscc_dirent *e, void *arg);
	void *arg;
	const char *dir;
};

static int list_entry(const struct fscc_dirent *e, void *arg)
{
	struct list_walk *lw = arg;
	return lw->cb(e, lw->arg);
}

/* Logs an entry the listing leaves out (its name is no POSIX name);
 * control characters are masked so a name cannot forge log lines. */
static void list_skipped(const char *name, const char *why, void *arg)
{
	const struct list_walk *lw = arg;
	char shown[96] = "";
	if (name) {
		size_t i = 0;
		for (; name[i] && i < sizeof(shown) - 1; i++)
			shown[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
		shown[i] = '\0';
	}
	smb2_log_debug("directory /%s: skipping entry \"%s\": %s", lw->dir, shown, why);
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
	struct list_walk lw = {cb, arg, path};
	while (*lw.dir == '/')
		lw.dir++;
	while (r == 0 && off + 8 <= listing.len) {
		uint32_t n = le32_load(listing.p + off);
		r = fscc_dir_walk_ex(FileIdBothDirectoryInformation, listing.p + off + 8, n, list_entry,
				     list_skipped, &lw);
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
	int r = run_path(c, path, &po);
	if (r == -EEXIST && po.attempts > 1)
		smb2_log_info("mkdir %s: the connection dropped during the first attempt and the "
			      "directory now exists; it cannot be proved ours: reporting EEXIST", path);
	return r;
}

/* SET_INFO of a buffer the caller built (disposition, rename, end of
 * file, basic times) on the freshly opened handle. */
static int act_set_info(struct smb2_client *c, const struct smb2_fileid *id, struct path_op *po)
{
	return file_set_info(c, id, po->set_class, po->set_data);
}

static int run_set_info(struct smb2_client *c, const char *path, struct path_op *po, uint8_t cls,
			struct wbuf *data, int built)
{
	po->act = act_set_info;
	po->set_class = cls;
	po->set_data = data;
	int r = wbuf_check(data, built);
	if (r == 0)
		r = run_path(c, path, po);
	wbuf_free(data);
	return r;
}

/* Delete by setting the disposition (MS-FSCC 2.4.11): unlike
 * FILE_DELETE_ON_CLOSE at open time, the server reports a non-empty
 * directory here, as STATUS_DIRECTORY_NOT_EMPTY. */
static int delete_path(struct smb2_client *c, const char *path, uint32_t options)
{
	struct path_op po = {
		.access = DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.options = options,
	};
	struct wbuf d;
	wbuf_init(&d);
	int built = fscc_build_disposition(&d, true);
	int r = run_set_info(c, path, &po, FileDispositionInformation, &d, built);
	return rerun_saw_own_removal(&po, r) ? 0 : r;
}

int smb2_rmdir(struct smb2_client *c, const char *path)
{
	return delete_path(c, path, FILE_DIRECTORY_FILE);
}

int smb2_unlink(struct smb2_client *c, const char *path)
{
	return delete_path(c, path, FILE_NON_DIRECTORY_FILE | FILE_OPEN_REPARSE_POINT);
}

int smb2_rename(struct smb2_client *c, const char *from, const char *to, bool replace)
{
	char *target;
	int r = smb_path(to, &target);
	if (r < 0)
		return r;
	struct path_op po = {
		.access = DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.rename_to = target,
	};
	struct wbuf d;
	wbuf_init(&d);
	int built = fscc_build_rename(&d, replace, target);
	r = run_set_info(c, from, &po, FileRenameInformation, &d, built);
	free(target);
	return rerun_saw_own_removal(&po, r) ? 0 : r;
}

int smb2_truncate(struct smb2_client *c, const char *path, uint64_t size)
{
	int wr = wb_settle_path(c, path);
	if (wr < 0)
		return wr;
	struct path_op po = {
		.access = FILE_WRITE_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.options = FILE_NON_DIRECTORY_FILE,
		.via_writer = true,
		.changes_data = true,
	};
	struct wbuf d;
	wbuf_init(&d);
	int built = fscc_build_end_of_file(&d, size);
	return run_set_info(c, path, &po, FileEndOfFileInformation, &d, built);
}

int smb2_set_times(struct smb2_client *c, const char *path, struct smb2_file *f,
		   uint64_t atime, uint64_t mtime)
{
	int wr = wb_settle_path(c, path);
	if (wr < 0)
		return wr;
	struct wbuf d;
	wbuf_init(&d);
	int built = fscc_build_basic(&d, 0, atime, mtime, 0, 0);
	/* While the file is open for writing here, set the times through that
	 * handle: set through another one, they are lost when the writing
	 * handle's writes or close stamp the server's time (tar, cp -p). */
	struct path_op po = {
		.access = FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.via_writer = true,
		.prefer = f,
		.sets_mtime = mtime != 0,
	};
	return run_set_info(c, path, &po, FileBasicInformation, &d, built);
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

/* Path-based operations: each opens the path with just the access it needs,
 * does one thing on the handle, and closes it, all in ONE compound
 * (compound.c): CREATE + CLOSE for stat and mkdir, CREATE + SET_INFO +
 * CLOSE for delete, rename, truncate and times, CREATE + QUERY_INFO +
 * CLOSE for statfs, CREATE + QUERY_DIRECTORY x3 + CLOSE for listings.
 * Unlink and utimens of a file without write bits, which Samba refuses,
 * go again around a chmod u+w (owner_write_around). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/conn.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"
#include "smb2fs/sfm.h"


struct path_op {
	const char *path;          /* share-relative SMB path */
	uint32_t access, disposition, options, attrs;
	/* adds the related acts between CREATE and CLOSE; NULL = none */
	void (*add_acts)(struct pchain *p, struct path_op *po);
	/* reads the acts' replies; NULL = the first act's result (or 0) */
	int (*take)(struct pchain *p, struct path_op *po);
	uint16_t close_flags;      /* POSTQUERY_ATTRIB: attributes after the act */
	struct smb2_create_rsp cr;
	struct smb2_attrs *after;  /* may be NULL: what the reply chain told */
	/* action arguments */
	uint8_t set_class;         /* SET_INFO: class and prebuilt buffer */
	const struct wbuf *set_data;
	struct fscc_fs_full_size *fs;
	struct fscc_stat *sd;      /* stat, mkdir: the descriptor's POSIX view */
	uint32_t *nlink;           /* stat: the link count (links.c), 0 unknown */
	uint64_t *file_id;         /* stat, mkdir: the server's file id (QFid), 0 unknown */
	const char *rename_to;     /* rename: SMB path of the target */
	bool then_delete;          /* rename: mark it delete-on-close there too, on
				    * the same handle (unlinked.c) */
	int delete_r;              /* ... that act's outcome, and its NT status */
	uint32_t delete_status;
	bool removes;              /* delete: the name goes (lease.c forgets it) */
	/* Act on a handle of ours that can write to the path, if one is
	 * open (prefer first), instead of opening one more. */
	bool via_writer;
	struct smb2_file *prefer;
	bool sets_mtime;           /* the action sets LastWriteTime */
	bool changes_data;         /* ... or changes the data (truncate) */
	int attempts;              /* how often op_path ran (retries after reconnect) */
	uint32_t status;           /* the NT status that failed it (CREATE's, else the
				    * first act's); 0 when none did or none came */
};

static void set_after(struct path_op *po, const struct fscc_stat *st)
{
	if (po->after) {
		po->after->valid = true;
		po->after->st = *st;
	}
}

static void acts_set_info(struct pchain *p, struct path_op *po)
{
	pchain_set_info(p, SMB2_0_INFO_FILE, po->set_class, 0, po->set_data, 0);
	if (po->then_delete) {
		struct wbuf d;
		wbuf_init(&d);
		int built = fscc_build_disposition(&d, true);
		pchain_set_info(p, SMB2_0_INFO_FILE, FileDispositionInformation, 0, &d, built);
		wbuf_free(&d);
	}
}

/* rename + disposition: the rename's outcome is the answer; the
 * disposition's is kept (a related act the server runs whatever the
 * rename's fate: a failed rename leaves the file delete-pending under
 * its own name). */
static int take_rename_delete(struct pchain *p, struct path_op *po)
{
	po->delete_r = pchain_result(p, 1)->r;
	po->delete_status = pchain_result(p, 1)->status;
	int r = pchain_result(p, 0)->r;
	if (r < 0 && po->delete_r == 0)
		lease_forget_path(p->k.c, po->path);
	return r;
}

/* SET_INFO through our own writing handle, and a related QUERY_INFO in the
 * same frame, so the caller learns the attributes the change left (the
 * getattr FUSE sends after every setattr then needs no round trip). */
static int writer_set_info(struct smb2_client *c, const struct smb2_fileid *id, struct path_op *po)
{
	struct cmpd k;
	cmpd_init(&k, c);
	cmpd_set_info(&k, false, id, SMB2_0_INFO_FILE, po->set_class, 0, po->set_data, 0);
	struct smb2_query_info_req q = {
		.info_type = SMB2_0_INFO_FILE,
		.file_info_class = FileNetworkOpenInformation,
		.output_buffer_length = 56,
		.file_id = SMB2_FILEID_RELATED,
	};
	struct wbuf *w = cmpd_add(&k, SMB2_QUERY_INFO, true, 0, 0);
	cmpd_enc(&k, smb2_query_info_encode(w, &q));
	int r = cmpd_run(&k);
	if (r == 0)
		r = k.m[0].r;
	if (r < 0)
		po->status = k.m[0].status;
	struct smb2_query_info_rsp qr;
	struct fscc_stat st;
	if (r == 0 && k.m[1].r == 0 && smb2_query_info_decode(k.m[1].rep.msg, k.m[1].rep.len, &qr) == 0 &&
	    fscc_parse_network_open(qr.buf, qr.buf_len, &st) == 0)
		set_after(po, &st);
	cmpd_free(&k);
	return r;
}

/* The CREATE of a path chain, asking with a QFid context for the file's
 * on-disk id when po wants it (serverino): the id comes in the CREATE
 * reply, so stat and mkdir learn it with no message more. */
static void path_chain_start(struct pchain *p, struct smb2_client *c, struct path_op *po)
{
	struct smb2_create_context qfid = {.name = "QFid"};
	struct smb2_create_req q;
	file_create_req(&q, po->path, po->access, po->disposition, po->options, po->attrs);
	if (po->file_id) {
		q.contexts = &qfid;
		q.n_contexts = 1;
	}
	pchain_start_req(p, c, &q);
}

/* The id from the CREATE reply of a chain that asked for it (the file
 * part of the DiskFileId); 0 if none. */
static uint64_t path_chain_file_id(struct pchain *p)
{
	struct file_identity ident = {0};
	struct smb2_create_rsp cr;
	if (pchain_create_rsp(p, &cr) == 0 && cr.contexts_len)
		(void)smb2_create_contexts_walk(cr.contexts, cr.contexts_len, file_take_qfid, &ident);
	return ident.known ? le64_load(ident.disk_id) : 0;
}

static int op_path(struct smb2_client *c, void *arg)
{
	struct path_op *po = arg;
	struct smb2_fileid id;
	po->attempts++;
	po->status = 0;
	if (po->after)
		po->after->valid = false;
	if (po->via_writer && files_writer_id(c, po->path, po->prefer, &id)) {
		int r = writer_set_info(c, &id, po);
		if (r == 0 && (po->sets_mtime || po->changes_data))
			files_note_id(c, &id, po->sets_mtime);
		/* -EBADF: closed under us (STATUS_FILE_CLOSED); use our own. */
		if (r != -EBADF)
			return r;
		po->status = 0;
		if (po->after)
			po->after->valid = false;
	}
	struct pchain p;
	path_chain_start(&p, c, po);
	if (po->add_acts)
		po->add_acts(&p, po);
	unsigned std_i = p.n_acts;
	if (po->nlink)
		link_add_query_std(&p.k);
	/* The act's result is what counts; a CLOSE whose reply was lost with
	 * the connection is not a failure (pchain_run): the server closes the
	 * handle itself (and then deletes a file marked for deletion), and
	 * rerunning the operation would turn a done rename or mkdir into an
	 * error. */
	int r = pchain_run(&p, true, po->close_flags);
	if (p.k.m[0].r < 0)
		po->status = p.k.m[0].status;
	else if (p.n_acts && pchain_result(&p, 0)->r < 0)
		po->status = pchain_result(&p, 0)->status;
	if (r == 0) {
		po->cr = p.cr;
		if (po->take)
			r = po->take(&p, po);
		else if (p.n_acts)
			r = pchain_result(&p, 0)->r;
		if (po->nlink)
			*po->nlink = link_take_std(pchain_result(&p, std_i));
		if (po->file_id)
			*po->file_id = path_chain_file_id(&p);
	}
	if (r == 0 && p.closed_attrs)
		set_after(po, &p.after);
	/* A lease key stays with its file: the name that went, or that a
	 * rename replaced, no longer leads to the key's file. */
	if (r == 0 && po->removes)
		lease_forget_path(c, po->path);
	if (r == 0 && po->rename_to) {
		lease_forget_path(c, po->rename_to);
		files_renamed(c, po->path, po->rename_to);
	}
	pchain_free(&p);
	return r;
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
	int r = smb_path(c, posix_path, &p);
	if (r < 0)
		return r;
	po->path = p;
	/* (a rename of a directory with files of ours open below it closes
	 * and reopens them around it: handles.c) */
	r = po->rename_to ? files_move_below(c, p, op_path, po) : client_run(c, op_path, po);
	free(p);
	return r;
}

/* ---- stat ---- */

/* The file's security descriptor in the same frame (security.c): CREATE
 * (with READ_CONTROL) + QUERY_INFO + CLOSE. */
static void acts_sd(struct pchain *p, struct path_op *po)
{
	(void)po;
	p->n_acts++;
	sec_add_query(&p->k, true, &SMB2_FILEID_RELATED);
}

static int take_sd(struct pchain *p, struct path_op *po)
{
	memset(po->sd, 0, sizeof(*po->sd));
	return sec_take(p->k.c, pchain_result(p, 0), po->sd);
}

static void want_sd(struct smb2_client *c, struct path_op *po, struct fscc_stat *sd)
{
	memset(sd, 0, sizeof(*sd));
	if (!smb2_sd_active(c))
		return;
	po->access |= READ_CONTROL;
	po->add_acts = acts_sd;
	po->take = take_sd;
	po->sd = sd;
}

int smb2_stat(struct smb2_client *c, const char *path, struct fscc_stat *st)
{
	int wr = wb_settle_path(c, path);
	if (wr < 0)
		return wr;
	struct fscc_stat sd;
	uint32_t nlink = 0;
	uint64_t file_id = 0;
	/* (FILE_OPEN_REPARSE_POINT: a server's own symlink is stat'ed itself) */
	struct path_op po = {.access = FILE_READ_ATTRIBUTES, .disposition = FILE_OPEN,
			     .options = FILE_OPEN_REPARSE_POINT, .nlink = &nlink,
			     .file_id = &file_id};
	want_sd(c, &po, &sd);
	int r = run_path(c, path, &po);
	if (r == -EACCES && po.sd) {
		/* READ_CONTROL refused on this file: its attributes alone
		 * (shown with the fallback modes) */
		po = (struct path_op){.access = FILE_READ_ATTRIBUTES, .disposition = FILE_OPEN,
				      .options = FILE_OPEN_REPARSE_POINT, .nlink = &nlink,
				      .file_id = &file_id};
		r = run_path(c, path, &po);
		memset(&sd, 0, sizeof(sd));
		sd.sd_asked = true;
	}
	if (r == 0) {
		fill_stat_from_create(&po.cr, st);
		fscc_sd_view_copy(st, &sd);
		st->nlink = nlink;
		st->file_id = file_id;
	}
	return r;
}

/* ---- readdir ---- */

/* Bounds on one directory listing.  A real directory of ten million
 * entries fits; a server that never says STATUS_NO_MORE_FILES does not get
 * to loop us forever or fill our memory. */
#define LIST_MAX_ROUNDS 20000
#define LIST_MAX_BYTES (256u * 1024 * 1024)

struct list_op {
	const char *path;
	struct wbuf *listing;      /* concatenated raw listings */
	bool big;                  /* did not fit one compound: go the long way */
	int attempts;
};

/* QUERY_DIRECTORY requests in a listing's first frame.  Only a reply of
 * STATUS_NO_MORE_FILES says a listing is complete, so the last one is
 * there to say so for a directory whose entries just fill the others (a
 * directory of 10,000 short names fills two 1 MiB replies exactly: with
 * two requests it was listed twice). */
#define LIST_FIRST_QUERIES 3

/* Largest QUERY_DIRECTORY output to ask for: the negotiated maximum
 * (1 MiB with multi-credit requests, 64 KiB without; about 8,000 entries
 * of short names per reply), less while the server's credit window is
 * small: the first frame's chain of them must leave room for other
 * requests. */
static uint32_t list_buf_len(struct smb2_client *c)
{
	uint32_t len = c->max_trans;
	uint32_t window = smb2_conn_window(c->conn);
	while (len > 65536 && LIST_FIRST_QUERIES * ((len + 65535) / 65536) + 2 > window / 2)
		len /= 2;
	return len > 65536 ? len & ~65535u : len;
}

static void add_query_dir(struct cmpd *k, bool related, const struct smb2_fileid *id, bool first,
			  uint32_t len)
{
	struct smb2_query_directory_req q = {
		.info_class = FileIdBothDirectoryInformation,
		.flags = first ? SMB2_RESTART_SCANS : 0,
		.file_id = *id,
		.pattern = "*",
		.output_buffer_length = len,
	};
	struct wbuf *w = cmpd_add(k, SMB2_QUERY_DIRECTORY, related, len, STATUS_NO_MORE_FILES);
	cmpd_enc(k, smb2_query_directory_encode(w, &q));
}

/* Takes one QUERY_DIRECTORY reply into the listing: 1 = the listing is
 * complete, 0 = more may follow, or -errno. */
static int list_take(struct list_op *lo, const struct cmpd_msg *m, bool first)
{
	struct smb2_query_directory_rsp qr;
	/* The first round may say STATUS_NO_SUCH_FILE: nothing matched "*"
	 * (an empty volume root has no "." or ".."). */
	if (m->r < 0 && first && m->status == STATUS_NO_SUCH_FILE)
		return 1;
	if (m->r < 0)
		return m->r;
	if (m->status == STATUS_NO_MORE_FILES)
		return 1;
	if (lo->listing->len > LIST_MAX_BYTES) {
		smb2_log_error("directory %s: the server's listing does not end (%zu bytes); giving up",
			       lo->path, lo->listing->len);
		return -EIO;
	}
	if (smb2_query_directory_decode(m->rep.msg, m->rep.len, &qr) < 0) {
		smb2_log_error("malformed QUERY_DIRECTORY reply for %s", lo->path);
		return -EIO;
	}
	if (qr.buf_len == 0)
		return 1;
	/* length-prefixed chunks: [u32 len][4 zero bytes][listing bytes][pad to 8] */
	wbuf_u32(lo->listing, qr.buf_len);
	wbuf_zero(lo->listing, 4);
	wbuf_bytes(lo->listing, qr.buf, qr.buf_len);
	wbuf_align(lo->listing, 8);
	return lo->listing->err ? lo->listing->err : 0;
}

/* The rest of a listing that outgrew the first chain, on an open handle. */
static int list_more(struct smb2_client *c, const struct smb2_fileid *id, struct list_op *lo,
		     uint32_t len)
{
	for (int round = 0;; round++) {
		if (round >= LIST_MAX_ROUNDS) {
			smb2_log_error("directory %s: the server's listing does not end "
				       "(%d rounds, %zu bytes); giving up", lo->path, round, lo->listing->len);
			return -EIO;
		}
		struct cmpd k;
		cmpd_init(&k, c);
		add_query_dir(&k, false, id, false, len);
		int r = cmpd_run(&k);
		if (r == 0)
			r = err_is_transport(k.m[0].r) ? k.m[0].r : list_take(lo, &k.m[0], false);
		cmpd_free(&k);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

/* A directory's listing in one round trip when its entries fit the first
 * replies: CREATE + QUERY_DIRECTORY x3 + CLOSE (LIST_FIRST_QUERIES).  When
 * the last reply does not end the listing, the handle is already closed and a
 * listing cannot be resumed on another one (no position to resume at), so
 * it is read again the long way: CREATE + QUERY_DIRECTORY x3 kept open,
 * QUERY_DIRECTORY on the real FileId until STATUS_NO_MORE_FILES, CLOSE.
 * That costs a big directory (over about 16,000 short names) one extra
 * round trip among many, and a rerun after reconnect goes the long way
 * at once.  Entries are collected first and handed to the callback only
 * after the whole listing arrived, so a rerun never repeats any. */
static int op_list(struct smb2_client *c, void *arg)
{
	struct list_op *lo = arg;
	lo->attempts++;
	for (;;) {
		wbuf_reset(lo->listing);
		uint32_t len = list_buf_len(c);
		struct pchain p;
		pchain_start(&p, c, lo->path, FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
			     FILE_OPEN, FILE_DIRECTORY_FILE, 0);
		p.n_acts = LIST_FIRST_QUERIES;
		for (unsigned i = 0; i < LIST_FIRST_QUERIES; i++)
			add_query_dir(&p.k, true, &SMB2_FILEID_RELATED, i == 0, len);
		bool keep = lo->big;
		int r = pchain_run(&p, !keep, 0);
		bool opened = keep && r == 0; /* a handle we must close */
		for (unsigned i = 0; r == 0 && i < LIST_FIRST_QUERIES; i++)
			r = list_take(lo, pchain_result(&p, i), i == 0);
		if (opened) {
			struct smb2_fileid id = p.cr.file_id;
			if (r == 0)
				r = list_more(c, &id, lo, len);
			int rc = file_close_id(c, &id);
			if (r >= 0 && rc < 0 && !err_is_transport(rc))
				r = rc;
		}
		pchain_free(&p);
		if (r != 0 || keep)
			return r < 0 ? r : 0;
		lo->big = true;
		smb2_log_debug("directory %s: more than %d replies; listing it again on a kept handle",
			       lo->path, LIST_FIRST_QUERIES);
	}
}

struct list_walk {
	int (*cb)(const struct fscc_dirent *e, void *arg);
	void *arg;
	const char *dir;
	bool map;                  /* mapposix: names back from their SFM form */
};

static int list_entry(const struct fscc_dirent *e, void *arg)
{
	struct list_walk *lw = arg;
	size_t n = strlen(e->name);
	/* unlinked files still open somewhere (unlinked.c) */
	if (!*lw->dir && strncmp(e->name, SMB2_UNLINKED_PREFIX, strlen(SMB2_UNLINKED_PREFIX)) == 0)
		return 0;
	/* Every SFM code point is EF 80 xx in UTF-8. */
	if (!lw->map || !memmem(e->name, n, "\xEF\x80", 2))
		return lw->cb(e, lw->arg);
	char *name = malloc(n + 1);
	if (!name)
		return -ENOMEM;
	struct fscc_dirent m = *e;
	sfm_name_from_smb(e->name, n, name);
	m.name = name;
	int r = lw->cb(&m, lw->arg);
	free(name);
	return r;
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
	struct list_op lo = {.listing = &listing};
	char *p;
	int r = smb_path(c, path, &p);
	if (r == 0) {
		lo.path = p;
		r = client_run(c, op_list, &lo);
		free(p);
	}
	size_t off = 0;
	struct list_walk lw = {cb, arg, path, c->mapposix};
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

int smb2_mkdir(struct smb2_client *c, const char *path, struct smb2_attrs *st)
{
	uint64_t file_id = 0;
	struct path_op po = {
		.file_id = &file_id,
		.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_CREATE,
		.options = FILE_DIRECTORY_FILE,
		.attrs = FILE_ATTRIBUTE_DIRECTORY,
	};
	struct fscc_stat sd;
	want_sd(c, &po, &sd);
	int r = run_path(c, path, &po);
	if (r == -EEXIST && po.attempts > 1)
		smb2_log_info("mkdir %s: the connection dropped during the first attempt and the "
			      "directory now exists; it cannot be proved ours: reporting EEXIST", path);
	if (st) {
		st->valid = r == 0;
		if (r == 0) {
			fill_stat_from_create(&po.cr, &st->st);
			fscc_sd_view_copy(&st->st, &sd);
			st->st.file_id = file_id;
		}
	}
	return r;
}

/* CREATE + SET_INFO of a buffer the caller built (disposition, rename,
 * end of file, basic times) + CLOSE. */
static int run_set_info(struct smb2_client *c, const char *path, struct path_op *po, uint8_t cls,
			struct wbuf *data, int built)
{
	po->add_acts = acts_set_info;
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
 * directory here, as STATUS_DIRECTORY_NOT_EMPTY.  *status: the NT status
 * that failed it. */
static int delete_once(struct smb2_client *c, const char *path, uint32_t options, uint32_t *status)
{
	struct path_op po = {
		.access = DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.options = options,
		.removes = true,
	};
	struct wbuf d;
	wbuf_init(&d);
	int built = fscc_build_disposition(&d, true);
	int r = run_set_info(c, path, &po, FileDispositionInformation, &d, built);
	*status = po.status;
	return rerun_saw_own_removal(&po, r) ? 0 : r;
}

/* Before we remove or rename smbpath: our kept (deferred) handles at or
 * below it would keep a removed file delete-pending (a directory with
 * files below from going, a rename from happening), and our watches at
 * or below it would hold the directory too (notify.c). */
static void release_below(struct smb2_client *c, const char *smbpath)
{
	files_close_deferred_below(c, smbpath);
	notify_close_below(c, smbpath);
}

static void release_below_posix(struct smb2_client *c, const char *path)
{
	char *sp;
	if (smb_path(c, path, &sp) == 0) {
		release_below(c, sp);
		free(sp);
	}
}

/* Samba refuses some changes of a file without the owner's write bit
 * where POSIX allows them: unlink of a file with FILE_ATTRIBUTE_READONLY
 * (chmod a-w sets it; STATUS_CANNOT_DELETE, where POSIX asks only for
 * write permission on the directory), and utimens (Samba maps a mode
 * without the owner's w to an ACL without FILE_WRITE_ATTRIBUTES; the
 * owner may set times whatever the mode).  As cifs_unlink does: chmod u+w
 * (only the owner may: else err stands), run op once more, and chmod
 * back: whatever the outcome (restore_always), or only when op failed (a
 * delete: the name that reached the file is gone).  Without descriptors
 * chmod toggles only READONLY (mode: any a-w). */
struct write_around {
	const char *what;          /* for the log: "unlink", "utimens" */
	struct smb2_file *f;       /* a handle of ours on the file, or NULL */
	bool restore_always;
	struct smb2_attrs *after;  /* restore_always: what the restoring CLOSE told */
	int (*op)(struct smb2_client *c, const char *path, void *arg);
	void *arg;
};

static int owner_write_around(struct smb2_client *c, const char *path, const struct write_around *a,
			      int err)
{
	struct fscc_stat st;
	if (smb2_stat(c, path, &st) < 0 || (st.file_attributes & FILE_ATTRIBUTE_REPARSE_POINT))
		return err;
	bool sd = smb2_sd_active(c);
	if (sd && !st.has_mode)
		return err;
	unsigned mode = sd ? st.mode : 0444;
	if ((mode & 0200) && !(st.file_attributes & FILE_ATTRIBUTE_READONLY))
		return err; /* nothing a chmod u+w would change */
	if (smb2_chmod(c, path, a->f, mode | 0200, NULL) < 0)
		return err;
	int r = a->op(c, path, a->arg);
	if (r == 0 && !a->restore_always) {
		/* (a file with other names keeps the u+w those names show:
		 * none of them is known here to restore it through) */
		if (st.nlink > 1)
			smb2_log_info("%s %s: done around a chmod u+w; the file's %u other names now "
				      "show mode %03o", a->what, path, st.nlink - 1, mode | 0200);
		return 0;
	}
	/* (the chmod's CLOSE tells the attributes both changes left) */
	if (smb2_chmod(c, path, a->f, mode, r == 0 ? a->after : NULL) < 0) {
		smb2_log_error("%s %s: %s (%d), and its mode %03o could not be restored", a->what, path,
			       r == 0 ? "done" : "failed", r, mode);
		if (a->after)
			a->after->valid = false;
	}
	return r;
}

struct delete_args {
	uint32_t options;
	uint32_t status;
};

static int delete_op(struct smb2_client *c, const char *path, void *arg)
{
	struct delete_args *d = arg;
	return delete_once(c, path, d->options, &d->status);
}

static int delete_path(struct smb2_client *c, const char *path, uint32_t options)
{
	release_below_posix(c, path);
	struct delete_args d = {.options = options};
	int r = delete_once(c, path, options, &d.status);
	if (r == -EACCES && d.status == STATUS_CANNOT_DELETE && !(options & FILE_DIRECTORY_FILE)) {
		struct write_around a = {.what = "unlink", .op = delete_op, .arg = &d};
		r = owner_write_around(c, path, &a, r);
	}
	return r;
}

int smb2_rmdir(struct smb2_client *c, const char *path)
{
	return delete_path(c, path, FILE_DIRECTORY_FILE);
}

int smb2_unlink(struct smb2_client *c, const char *path)
{
	return delete_path(c, path, FILE_NON_DIRECTORY_FILE | FILE_OPEN_REPARSE_POINT);
}

/* CREATE + SET_INFO rename (+ SET_INFO disposition: then_delete) + CLOSE. */
static int rename_path(struct smb2_client *c, const char *from, const char *target, bool replace,
		       struct path_op *po)
{
	po->access = DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE;
	po->disposition = FILE_OPEN;
	po->rename_to = target;
	if (po->then_delete)
		po->take = take_rename_delete;
	/* A directory with open files below cannot be renamed, nor can a
	 * file replace one that is open: none of ours only deferred. */
	release_below_posix(c, from);
	release_below(c, target);
	struct wbuf d;
	wbuf_init(&d);
	int built = fscc_build_rename(&d, replace, target);
	int r = run_set_info(c, from, po, FileRenameInformation, &d, built);
	return rerun_saw_own_removal(po, r) ? 0 : r;
}

int smb2_rename(struct smb2_client *c, const char *from, const char *to, bool replace)
{
	char *target;
	int r = smb_path(c, to, &target);
	if (r < 0)
		return r;
	struct path_op po = {0};
	r = rename_path(c, from, target, replace, &po);
	free(target);
	return r;
}

int path_rename_delete(struct smb2_client *c, const char *path, const char *target, int *del_r,
		       uint32_t *del_status)
{
	struct path_op po = {.then_delete = true, .delete_r = -EIO};
	int r = rename_path(c, path, target, false, &po);
	/* a rerun that found the name gone: the first run did both */
	*del_r = r == 0 && po.attempts > 1 && po.delete_r == -ENOENT ? 0 : po.delete_r;
	*del_status = po.delete_status;
	return r;
}

int smb2_truncate(struct smb2_client *c, const char *path, uint64_t size, struct smb2_attrs *after)
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
		.close_flags = SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB,
		.after = after,
	};
	struct wbuf d;
	wbuf_init(&d);
	int built = fscc_build_end_of_file(&d, size);
	return run_set_info(c, path, &po, FileEndOfFileInformation, &d, built);
}

static int set_times_once(struct smb2_client *c, const char *path, struct smb2_file *f,
			  uint64_t atime, uint64_t mtime, struct smb2_attrs *after, uint32_t *status)
{
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
		.close_flags = SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB,
		.after = after,
	};
	int r = run_set_info(c, path, &po, FileBasicInformation, &d, built);
	*status = po.status;
	return r;
}

struct times_args {
	struct smb2_file *f;
	uint64_t atime, mtime;
	struct smb2_attrs *after;
	uint32_t status;
};

static int set_times_op(struct smb2_client *c, const char *path, void *arg)
{
	struct times_args *t = arg;
	return set_times_once(c, path, t->f, t->atime, t->mtime, t->after, &t->status);
}

int smb2_set_times(struct smb2_client *c, const char *path, struct smb2_file *f,
		   uint64_t atime, uint64_t mtime, struct smb2_attrs *after)
{
	int wr = wb_settle_path(c, path);
	if (wr < 0)
		return wr;
	struct times_args t = {f, atime, mtime, after, 0};
	int r = set_times_op(c, path, &t);
	if (r == -EACCES && t.status == STATUS_ACCESS_DENIED && smb2_sd_active(c)) {
		struct write_around a = {.what = "utimens", .f = f, .restore_always = true,
					 .after = after, .op = set_times_op, .arg = &t};
		r = owner_write_around(c, path, &a, r);
	}
	return r;
}

/* ---- statfs ---- */

static void acts_statfs(struct pchain *p, struct path_op *po)
{
	(void)po;
	struct smb2_query_info_req q = {
		.info_type = SMB2_0_INFO_FILESYSTEM,
		.file_info_class = FileFsFullSizeInformation,
		.output_buffer_length = 32,
		.file_id = SMB2_FILEID_RELATED,
	};
	struct wbuf *w = pchain_act(p, SMB2_QUERY_INFO, 0, 0);
	cmpd_enc(&p->k, smb2_query_info_encode(w, &q));
}

static int take_statfs(struct pchain *p, struct path_op *po)
{
	struct cmpd_msg *m = pchain_result(p, 0);
	struct smb2_query_info_rsp qr;
	if (m->r < 0)
		return m->r;
	if (smb2_query_info_decode(m->rep.msg, m->rep.len, &qr) < 0 ||
	    fscc_parse_fs_full_size(qr.buf, qr.buf_len, po->fs) < 0) {
		smb2_log_error("malformed QUERY_INFO reply (class 0x%02x)", FileFsFullSizeInformation);
		return -EIO;
	}
	return 0;
}

int smb2_statfs(struct smb2_client *c, struct fscc_fs_full_size *out)
{
	struct path_op po = {
		.access = FILE_READ_ATTRIBUTES | SYNCHRONIZE,
		.disposition = FILE_OPEN,
		.add_acts = acts_statfs,
		.take = take_statfs,
		.fs = out,
	};
	return run_path(c, "/", &po);
}

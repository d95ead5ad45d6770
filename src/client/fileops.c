/* Operations on open files: CREATE/CLOSE, READ/WRITE in negotiated-size
 * chunks, FLUSH, handle-based QUERY_INFO/SET_INFO.  Open files are kept on
 * the client's list so reconnect can reopen them. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_i.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

uint32_t file_access_for_flags(int flags)
{
	uint32_t a = FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE | FILE_READ_EA;
	int acc = flags & O_ACCMODE;
	if (acc == O_RDONLY || acc == O_RDWR)
		a |= FILE_READ_DATA;
	if (acc == O_WRONLY || acc == O_RDWR)
		a |= FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA;
	return a;
}

void fill_stat_from_create(const struct smb2_create_rsp *r, struct fscc_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->creation_time = r->creation_time;
	st->last_access_time = r->last_access_time;
	st->last_write_time = r->last_write_time;
	st->change_time = r->change_time;
	st->end_of_file = r->end_of_file;
	st->allocation_size = r->allocation_size;
	st->file_attributes = r->file_attributes;
}

static int take_qfid(const struct smb2_create_context *cc, void *arg)
{
	struct file_identity *ident = arg;
	/* MS-SMB2 2.2.14.2.9: DiskFileId (16 bytes: file, volume) + 16 reserved */
	if (strcmp(cc->name, "QFid") == 0 && cc->data_len >= 16) {
		memcpy(ident->disk_id, cc->data, 16);
		ident->known = true;
	}
	return 0;
}

int file_create_ident(struct smb2_client *c, const char *smbpath, uint32_t access,
		      uint32_t disposition, uint32_t options, uint32_t attrs, struct smb2_fileid *id,
		      struct smb2_create_rsp *out, struct file_identity *ident)
{
	/* QFid asks the server for the file's on-disk identity, so a reopen
	 * after reconnect can tell it reached the same file. */
	static const struct smb2_create_context qfid = {.name = "QFid"};
	struct smb2_create_req q = {
		.oplock_level = SMB2_OPLOCK_LEVEL_NONE,
		.impersonation_level = SMB2_IMPERSONATION_IMPERSONATION,
		.desired_access = access,
		.file_attributes = attrs,
		/* Share everything, as POSIX expects: other opens, rename and
		 * unlink of an open file must all still work. */
		.share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
		.create_disposition = disposition,
		.create_options = options,
		.name = smbpath,
		.contexts = ident ? &qfid : NULL,
		.n_contexts = ident ? 1 : 0,
	};
	struct smb2_reply rep;
	struct smb2_create_rsp cr;
	struct wbuf w;
	if (ident)
		memset(ident, 0, sizeof(*ident));
	req_start(c, &w, SMB2_CREATE);
	int r = req_call(c, &w, smb2_create_encode(&w, &q), 0, &rep, 0, NULL);
	if (r < 0)
		return r;
	r = smb2_create_decode(rep.msg, rep.len, &cr);
	if (r < 0) {
		smb2_log_error("malformed CREATE reply for %s", smbpath);
		smb2_reply_free(&rep);
		return -EIO;
	}
	if (ident && cr.contexts_len &&
	    smb2_create_contexts_walk(cr.contexts, cr.contexts_len, take_qfid, ident) < 0) {
		smb2_log_error("malformed create contexts in the CREATE reply for %s", smbpath);
		smb2_reply_free(&rep);
		file_close_id(c, &cr.file_id); /* the server did open it */
		return -EIO;
	}
	*id = cr.file_id;
	if (ident)
		ident->creation_time = cr.creation_time;
	if (out) {
		*out = cr;
		out->contexts = NULL; /* points into the freed reply */
		out->contexts_len = 0;
	}
	smb2_reply_free(&rep);
	return 0;
}

int file_create(struct smb2_client *c, const char *smbpath, uint32_t access, uint32_t disposition,
		uint32_t options, uint32_t attrs, struct smb2_fileid *id, struct smb2_create_rsp *out)
{
	return file_create_ident(c, smbpath, access, disposition, options, attrs, id, out, NULL);
}

int file_close_id(struct smb2_client *c, const struct smb2_fileid *id)
{
	struct smb2_close_req q = {.flags = 0, .file_id = *id};
	struct smb2_reply rep;
	struct wbuf w;
	req_start(c, &w, SMB2_CLOSE);
	int r = req_call(c, &w, smb2_close_encode(&w, &q), 0, &rep, 0, NULL);
	if (r == 0)
		smb2_reply_free(&rep);
	return r;
}

/* ---- open ---- */

struct open_args {
	struct smb2_file *f;
	int flags;
	struct smb2_create_rsp cr;
	int attempts;
};

/* CREATE and, in the same read-locked section, put the handle on the
 * client's list: a reconnect then either happens before (and this CREATE
 * runs on the new session) or after (and reopens this file too). */
static int op_open(struct smb2_client *c, void *arg)
{
	struct open_args *a = arg;
	uint32_t disp = FILE_OPEN;
	uint32_t opts = 0;
	a->attempts++;
	if (a->flags & O_CREAT) {
		/* Exclusive on every run: a rerun after reconnect must not
		 * open a file that someone else created meanwhile. */
		if (a->flags & O_EXCL)
			disp = FILE_CREATE;
		else if (a->flags & O_TRUNC)
			disp = FILE_OVERWRITE_IF;
		else
			disp = FILE_OPEN_IF;
		opts |= FILE_NON_DIRECTORY_FILE;
	} else if (a->flags & O_TRUNC) {
		disp = FILE_OVERWRITE;
	}
	if (a->flags & O_DIRECTORY)
		opts |= FILE_DIRECTORY_FILE;
	uint32_t access = file_access_for_flags(a->flags);
	if (a->flags & O_TRUNC)
		access |= FILE_WRITE_DATA; /* FILE_OVERWRITE needs write access */
	int r = file_create_ident(c, a->f->path, access, disp, opts,
				  (a->flags & O_CREAT) ? FILE_ATTRIBUTE_ARCHIVE : 0, &a->f->id, &a->cr,
				  &a->f->ident);
	if (r < 0)
		return r;
	struct smb2_file *f = a->f;
	f->is_dir = a->cr.file_attributes & FILE_ATTRIBUTE_DIRECTORY;
	pthread_mutex_lock(&c->files_mu);
	f->prev = NULL;
	f->next = c->files;
	if (c->files)
		c->files->prev = f;
	c->files = f;
	pthread_mutex_unlock(&c->files_mu);
	return 0;
}

int smb2_open(struct smb2_client *c, const char *path, int flags, struct smb2_file **out,
	      struct fscc_stat *st)
{
	char *p;
	int r = smb_path(path, &p);
	if (r < 0)
		return r;
	struct smb2_file *f = calloc(1, sizeof(*f));
	if (!f) {
		free(p);
		return -ENOMEM;
	}
	f->path = p;
	/* A reopen after reconnect must neither create nor truncate again. */
	f->flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC);
	wb_init(&f->wb);
	f->write_behind = c->write_behind && wb_enabled_for(flags);
	struct open_args a = {.f = f, .flags = flags};
	r = client_run(c, op_open, &a);
	/* The first run's reply was lost with the connection, so we never
	 * learned which file (if any) it made: the one found now cannot be
	 * proved ours, and O_EXCL promises the caller it is new. */
	if (r == -EEXIST && a.attempts > 1 && (flags & O_EXCL))
		smb2_log_info("exclusive create of %s: the connection dropped during the first "
			      "attempt and the file now exists; it may be ours, but cannot be "
			      "proved to be: reporting EEXIST", p);
	if (r < 0) {
		wb_destroy(&f->wb);
		free(f);
		free(p);
		return r;
	}
	if (f->write_behind)
		__atomic_add_fetch(&c->wb_files, 1, __ATOMIC_RELAXED);
	if (st)
		fill_stat_from_create(&a.cr, st);
	*out = f;
	return 0;
}

int smb2_close(struct smb2_client *c, struct smb2_file *f)
{
	/* What write() accepted goes out before the handle closes; its
	 * failure is close()'s (FUSE reports it from flush, this is the net). */
	int wr = f->write_behind ? wb_drain(c, f) : 0;
	pthread_rwlock_rdlock(&c->lock);
	pthread_mutex_lock(&c->files_mu);
	if (f->prev)
		f->prev->next = f->next;
	else if (c->files == f)
		c->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	uint64_t wrote = f->write_after_mtime_set;
	pthread_mutex_unlock(&c->files_mu);
	int r = 0;
	if (c->state == CLIENT_UP && !f->stale) {
		if (wrote) {
			/* The explicit mtime keeps the server from stamping the
			 * writes that followed it: give the file their time. */
			struct wbuf d;
			wbuf_init(&d);
			if (fscc_build_basic(&d, 0, 0, wrote, 0, 0) == 0)
				(void)file_set_info(c, &f->id, FileBasicInformation, &d);
			wbuf_free(&d);
		}
		r = file_close_id(c, &f->id);
		/* A handle on a dropped connection is already closed by the
		 * server; nothing was lost that CLOSE would have saved, since
		 * every WRITE was acknowledged before it returned. */
		if (err_is_transport(r))
			r = 0;
	}
	pthread_rwlock_unlock(&c->lock);
	if (f->write_behind)
		__atomic_sub_fetch(&c->wb_files, 1, __ATOMIC_RELAXED);
	wb_destroy(&f->wb);
	free(f->path);
	free(f);
	return wr ? wr : r;
}

bool files_writer_id(struct smb2_client *c, const char *smbpath, struct smb2_file *prefer,
		     struct smb2_fileid *id)
{
	bool found = false;
	pthread_mutex_lock(&c->files_mu);
	if (prefer && !prefer->stale && file_can_write(prefer)) {
		*id = prefer->id;
		found = true;
	}
	for (struct smb2_file *f = c->files; f && !found; f = f->next) {
		if (!f->stale && file_can_write(f) && strcmp(f->path, smbpath) == 0) {
			*id = f->id;
			found = true;
		}
	}
	pthread_mutex_unlock(&c->files_mu);
	return found;
}

static bool same_id(const struct smb2_fileid *a, const struct smb2_fileid *b)
{
	return a->persistent == b->persistent && a->volatile_ == b->volatile_;
}

/* Marks f after a change through it: mtime_set, or a data change. */
static void file_note(struct smb2_file *f, bool mtime_set)
{
	if (mtime_set) {
		f->mtime_set = true;
		f->write_after_mtime_set = 0;
	} else if (f->mtime_set) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		f->write_after_mtime_set = fscc_time_from_unix((int64_t)now.tv_sec, now.tv_nsec);
	}
}

void files_note_id(struct smb2_client *c, const struct smb2_fileid *id, bool mtime_set)
{
	pthread_mutex_lock(&c->files_mu);
	for (struct smb2_file *f = c->files; f; f = f->next) {
		if (same_id(&f->id, id)) {
			file_note(f, mtime_set);
			break;
		}
	}
	pthread_mutex_unlock(&c->files_mu);
}

static void file_wrote(struct smb2_client *c, struct smb2_file *f)
{
	pthread_mutex_lock(&c->files_mu);
	file_note(f, false);
	pthread_mutex_unlock(&c->files_mu);
}

void files_renamed(struct smb2_client *c, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	pthread_mutex_lock(&c->files_mu);
	for (struct smb2_file *f = c->files; f; f = f->next) {
		/* the renamed object itself, or anything below it */
		if (strncmp(f->path, from, fl) != 0 || (f->path[fl] != '\0' && f->path[fl] != '\\'))
			continue;
		size_t rest = strlen(f->path + fl);
		char *p = malloc(tl + rest + 1);
		if (!p) {
			f->stale = true; /* cannot follow it: never reopen the old name */
			continue;
		}
		memcpy(p, to, tl);
		memcpy(p + tl, f->path + fl, rest + 1);
		free(f->path);
		f->path = p;
	}
	pthread_mutex_unlock(&c->files_mu);
}

/* ---- read / write ---- */

/* Largest READ/WRITE payload to send now: the negotiated maximum, cut to
 * what the server's credit window can pay for (64 KiB a credit). */
static size_t io_chunk(struct smb2_client *c, uint32_t negotiated)
{
	uint64_t window = (uint64_t)smb2_conn_window(c->conn) * 65536;
	if (window < 65536)
		window = 65536;
	return negotiated < window ? negotiated : (size_t)window;
}

struct io_args {
	struct smb2_file *f;
	uint8_t *buf;
	const uint8_t *cbuf;
	size_t len;
	uint64_t off;
	size_t done;
};

static int op_read(struct smb2_client *c, void *arg)
{
	struct io_args *a = arg;
	if (a->f->stale)
		return -ESTALE;
	while (a->done < a->len) {
		size_t want = a->len - a->done, chunk = io_chunk(c, c->max_read);
		if (want > chunk)
			want = chunk;
		struct smb2_read_req q = {
			.length = (uint32_t)want,
			.offset = a->off + a->done,
			.file_id = a->f->id,
		};
		struct smb2_reply rep;
		struct smb2_read_rsp rr;
		struct wbuf w;
		uint32_t st = 0;
		req_start(c, &w, SMB2_READ);
		int r = req_call(c, &w, smb2_read_encode(&w, &q), want, &rep, 0, &st);
		if (r == -nt_status_to_errno(STATUS_END_OF_FILE) && st == STATUS_END_OF_FILE)
			return 0;
		if (r < 0)
			return r;
		r = smb2_read_decode(rep.msg, rep.len, &rr);
		if (r < 0 || rr.data_len > want) {
			smb2_reply_free(&rep);
			smb2_log_error("malformed READ reply (offset %llu)",
				       (unsigned long long)(a->off + a->done));
			return -EIO;
		}
		memcpy(a->buf + a->done, rr.data, rr.data_len);
		a->done += rr.data_len;
		smb2_reply_free(&rep);
		if (rr.data_len < want)
			break; /* end of file */
	}
	return 0;
}

/* Before a read or an attribute query: what this mount's handles on the
 * same file accepted from write() must be on the server, or the read
 * would not see it. */
static int drain_before_read(struct smb2_client *c, struct smb2_file *f)
{
	if (f->write_behind && wb_pending(f)) {
		int r = wb_drain(c, f);
		if (r < 0)
			return r;
	}
	if (__atomic_load_n(&c->wb_files, __ATOMIC_RELAXED) == 0)
		return 0;
	pthread_mutex_lock(&c->files_mu);
	char *path = strdup(f->path);
	pthread_mutex_unlock(&c->files_mu);
	if (!path)
		return -ENOMEM;
	int r = wb_drain_path(c, path);
	free(path);
	return r;
}

ssize_t smb2_pread(struct smb2_client *c, struct smb2_file *f, void *buf, size_t len, uint64_t off)
{
	int dr = drain_before_read(c, f);
	if (dr < 0)
		return dr;
	struct io_args a = {.f = f, .buf = buf, .len = len, .off = off};
	/* A retry after reconnect restarts from what was already read. */
	int r = client_run(c, op_read, &a);
	/* POSIX: what was read before a failure is returned, not the error. */
	return r < 0 && a.done == 0 ? r : (ssize_t)a.done;
}

static int op_write(struct smb2_client *c, void *arg)
{
	struct io_args *a = arg;
	if (a->f->stale)
		return -ESTALE;
	while (a->done < a->len) {
		size_t n = a->len - a->done, chunk = io_chunk(c, c->max_write);
		if (n > chunk)
			n = chunk;
		struct smb2_write_req q = {
			.offset = a->off + a->done,
			.file_id = a->f->id,
			.data = a->cbuf + a->done,
			.data_len = (uint32_t)n,
		};
		struct smb2_reply rep;
		struct smb2_write_rsp wr;
		struct wbuf w;
		req_start(c, &w, SMB2_WRITE);
		int r = req_call(c, &w, smb2_write_encode(&w, &q), n, &rep, 0, NULL);
		if (r < 0)
			return r;
		r = smb2_write_decode(rep.msg, rep.len, &wr);
		smb2_reply_free(&rep);
		if (r < 0 || wr.count > n) {
			smb2_log_error("malformed WRITE reply (offset %llu)",
				       (unsigned long long)(a->off + a->done));
			return -EIO;
		}
		if (wr.count == 0)
			return -EIO; /* no progress: do not loop forever */
		a->done += wr.count;
	}
	return 0;
}

ssize_t smb2_pwrite(struct smb2_client *c, struct smb2_file *f, const void *buf, size_t len,
		    uint64_t off)
{
	if (f->write_behind) {
		ssize_t n = wb_write(c, f, buf, len, off);
		if (n > 0)
			file_wrote(c, f);
		return n;
	}
	struct io_args a = {.f = f, .cbuf = buf, .len = len, .off = off};
	int r = client_run(c, op_write, &a);
	if (a.done)
		file_wrote(c, f);
	return r < 0 && a.done == 0 ? r : (ssize_t)a.done;
}

/* ---- flush, fstat, ftruncate ---- */

static int op_flush(struct smb2_client *c, void *arg)
{
	struct smb2_file *f = arg;
	if (f->stale)
		return -ESTALE;
	struct smb2_reply rep;
	struct wbuf w;
	req_start(c, &w, SMB2_FLUSH);
	int r = req_call(c, &w, smb2_flush_encode(&w, &f->id), 0, &rep, 0, NULL);
	if (r == 0)
		smb2_reply_free(&rep);
	return r;
}

int smb2_fsync(struct smb2_client *c, struct smb2_file *f)
{
	/* Nothing to make durable, and servers refuse FLUSH on a handle
	 * without write access (STATUS_ACCESS_DENIED). */
	if (!file_can_write(f))
		return 0;
	int r = f->write_behind ? wb_drain(c, f) : 0;
	return r < 0 ? r : client_run(c, op_flush, f);
}

int smb2_flush(struct smb2_client *c, struct smb2_file *f)
{
	return f->write_behind ? wb_drain(c, f) : 0;
}

/* QUERY_INFO of one file-information class on an open handle. */
int file_query_info(struct smb2_client *c, const struct smb2_fileid *id, uint8_t info_type,
		    uint8_t cls, uint32_t out_len, struct smb2_reply *rep, const uint8_t **buf,
		    uint32_t *buf_len)
{
	struct smb2_query_info_req q = {
		.info_type = info_type,
		.file_info_class = cls,
		.output_buffer_length = out_len,
		.file_id = *id,
	};
	struct smb2_query_info_rsp qr;
	struct wbuf w;
	req_start(c, &w, SMB2_QUERY_INFO);
	int r = req_call(c, &w, smb2_query_info_encode(&w, &q), 0, rep, 0, NULL);
	if (r < 0)
		return r;
	if (smb2_query_info_decode(rep->msg, rep->len, &qr) < 0) {
		smb2_reply_free(rep);
		smb2_log_error("malformed QUERY_INFO reply (class 0x%02x)", cls);
		return -EIO;
	}
	*buf = qr.buf;
	*buf_len = qr.buf_len;
	return 0;
}

/* SET_INFO of one file-information class on an open handle. */
int file_set_info(struct smb2_client *c, const struct smb2_fileid *id, uint8_t cls,
		  const struct wbuf *data)
{
	if (data->err)
		return data->err;
	if (data->len > UINT32_MAX)
		return -EOVERFLOW;
	struct smb2_set_info_req q = {
		.info_type = SMB2_0_INFO_FILE,
		.file_info_class = cls,
		.file_id = *id,
		.buf = data->p,
		.buf_len = (uint32_t)data->len,
	};
	struct smb2_reply rep;
	struct wbuf w;
	req_start(c, &w, SMB2_SET_INFO);
	int r = req_call(c, &w, smb2_set_info_encode(&w, &q), 0, &rep, 0, NULL);
	if (r == 0)
		smb2_reply_free(&rep);
	return r;
}

struct fstat_args {
	struct smb2_file *f;
	struct fscc_stat *st;
};

static int op_fstat(struct smb2_client *c, void *arg)
{
	struct fstat_args *a = arg;
	if (a->f->stale)
		return -ESTALE;
	struct smb2_reply rep;
	const uint8_t *b;
	uint32_t bl;
	int r = file_query_info(c, &a->f->id, SMB2_0_INFO_FILE, FileNetworkOpenInformation, 56, &rep, &b, &bl);
	if (r < 0)
		return r;
	r = fscc_parse_network_open(b, bl, a->st);
	smb2_reply_free(&rep);
	return r < 0 ? -EIO : 0;
}

int smb2_fstat(struct smb2_client *c, struct smb2_file *f, struct fscc_stat *st)
{
	struct fstat_args a = {f, st};
	int r = drain_before_read(c, f);
	return r < 0 ? r : client_run(c, op_fstat, &a);
}

struct fset_args {
	struct smb2_file *f;
	uint8_t cls;
	const struct wbuf *data;
};

static int op_fset_info(struct smb2_client *c, void *arg)
{
	struct fset_args *a = arg;
	if (a->f->stale)
		return -ESTALE;
	return file_set_info(c, &a->f->id, a->cls, a->data);
}

int file_handle_set_info(struct smb2_client *c, struct smb2_file *f, uint8_t cls, struct wbuf *data,
			 int built)
{
	struct fset_args a = {f, cls, data};
	int r = wbuf_check(data, built);
	if (r == 0)
		r = client_run(c, op_fset_info, &a);
	wbuf_free(data);
	return r;
}

int smb2_ftruncate(struct smb2_client *c, struct smb2_file *f, uint64_t size)
{
	/* queued writes beyond the new end would extend the file again */
	int r = f->write_behind ? wb_drain(c, f) : 0;
	if (r < 0)
		return r;
	struct wbuf d;
	wbuf_init(&d);
	int built = fscc_build_end_of_file(&d, size);
	r = file_handle_set_info(c, f, FileEndOfFileInformation, &d, built);
	if (r == 0)
		file_wrote(c, f);
	return r;
}

/* I/O on open handles: READ and WRITE in negotiated-size chunks (writes
 * that are not queued by writeback.c), FLUSH, fstat, ftruncate and
 * SET_INFO through a handle, each reconnect-safe (client_run). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

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
		struct smb2_req *rq;
		struct wbuf w;
		uint32_t st = 0;
		req_start(c, &w, SMB2_READ);
		/* the data is received straight into the caller's buffer when
		 * it can be (conn.h), instead of being copied from the reply */
		int r = wbuf_check(&w, smb2_read_encode(&w, &q));
		if (r == 0) {
			r = smb2_conn_submit_read(c->conn, &w, want, a->buf + a->done, want,
						  c->timeout_sec, &rq);
			if (r == 0)
				r = smb2_conn_wait(c->conn, rq, &rep);
			r = req_result(c, r, &rep, 0, &st);
		}
		wbuf_free(&w);
		if (r == nt_status_err(STATUS_END_OF_FILE) && st == STATUS_END_OF_FILE)
			return 0;
		if (r < 0)
			return r;
		r = rep.tail_len ? smb2_read_decode_split(rep.msg, rep.len, rep.tail_len, &rr)
				 : smb2_read_decode(rep.msg, rep.len, &rr);
		if (r < 0 || rr.data_len > want) {
			smb2_reply_free(&rep);
			smb2_log_error("malformed READ reply (offset %llu)",
				       (unsigned long long)(a->off + a->done));
			return -EIO;
		}
		if (!rep.tail_len && rr.data_len)
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
	return wb_settle_file(c, f, true); /* (free when nothing is queued) */
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
		struct smb2_req *rq;
		struct wbuf w;
		req_start(c, &w, SMB2_WRITE);
		/* the data is sent from the caller's buffer, not copied */
		int r = wbuf_check(&w, smb2_write_encode_head(&w, &q));
		if (r == 0) {
			r = smb2_conn_submit_data(c->conn, &w, q.data, n, n, c->timeout_sec, &rq);
			if (r == 0)
				r = smb2_conn_wait(c->conn, rq, &rep);
			r = req_result(c, r, &rep, 0, NULL);
		}
		wbuf_free(&w);
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

static ssize_t pwrite_src(struct smb2_client *c, struct smb2_file *f, const struct wb_src *src,
			  size_t len, uint64_t off)
{
	if (f->write_behind) {
		ssize_t n = wb_write(c, f, src, len, off);
		if (n > 0)
			files_wrote(c, f);
		return n;
	}
	/* a synchronous write sends from one buffer */
	uint8_t *tmp = NULL;
	if (src->fill) {
		int r = -ENOMEM;
		tmp = malloc(len ? len : 1);
		if (!tmp || (r = src->fill(src->arg, tmp, len)) < 0) {
			free(tmp);
			return r;
		}
	}
	struct io_args a = {.f = f, .cbuf = tmp ? tmp : src->mem, .len = len, .off = off};
	int r;
	if (f->flags & O_APPEND) {
		/* At the server's end of file, whatever size the kernel
		 * thought: Samba has no atomic append (a WRITE at offset -1 is
		 * refused), so our mounts take turns on the file's append
		 * lock, read the size and write there. */
		struct fscc_stat st;
		r = locks_append_begin(c, f);
		if (r == 0) {
			r = smb2_fstat(c, f, &st);
			a.off = st.end_of_file;
			if (r == 0)
				r = client_run(c, op_write, &a);
			locks_append_end(c, f);
		}
	} else {
		r = client_run(c, op_write, &a);
	}
	free(tmp);
	if (a.done)
		files_wrote(c, f);
	return r < 0 && a.done == 0 ? r : (ssize_t)a.done;
}

ssize_t smb2_pwrite(struct smb2_client *c, struct smb2_file *f, const void *buf, size_t len,
		    uint64_t off)
{
	struct wb_src src = {.mem = buf};
	return pwrite_src(c, f, &src, len, off);
}

ssize_t smb2_pwrite_fill(struct smb2_client *c, struct smb2_file *f, size_t len, uint64_t off,
			 smb2_fill_fn fill, void *arg)
{
	struct wb_src src = {.fill = fill, .arg = arg};
	return pwrite_src(c, f, &src, len, off);
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

struct fstat_args {
	struct smb2_file *f;
	struct fscc_stat *st;
};

int file_stat_id(struct smb2_client *c, const struct smb2_fileid *id, bool sd, struct fscc_stat *st)
{
	if (sd && smb2_sd_active(c))
		return sec_stat_id(c, id, st);
	struct smb2_reply rep;
	const uint8_t *b;
	uint32_t bl;
	int r = file_query_info(c, id, SMB2_0_INFO_FILE, FileNetworkOpenInformation, 56, &rep, &b, &bl);
	if (r < 0)
		return r;
	r = fscc_parse_network_open(b, bl, st);
	smb2_reply_free(&rep);
	return r < 0 ? -EIO : 0;
}

static int op_fstat(struct smb2_client *c, void *arg)
{
	struct fstat_args *a = arg;
	if (a->f->stale)
		return -ESTALE;
	return file_stat_id(c, &a->f->id, false, a->st);
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
	/* queued writes beyond the new end would extend the file again:
	 * this handle's, and those of our other handles on the file */
	int r = wb_settle_file(c, f, false);
	if (r == 0 && f->write_behind)
		r = wb_drain(c, f);
	if (r < 0)
		return r;
	struct wbuf d;
	wbuf_init(&d);
	int built = fscc_build_end_of_file(&d, size);
	r = file_handle_set_info(c, f, FileEndOfFileInformation, &d, built);
	if (r == 0)
		files_wrote(c, f);
	return r;
}

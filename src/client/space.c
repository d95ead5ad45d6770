/* Space and server-side copy on open handles: fallocate's modes as
 * FileAllocationInformation, FileEndOfFileInformation, FSCTL_SET_SPARSE and
 * FSCTL_SET_ZERO_DATA; SEEK_DATA/SEEK_HOLE from FSCTL_QUERY_ALLOCATED_RANGES;
 * copy_file_range as FSCTL_SRV_COPYCHUNK_WRITE with the source's resume key.
 *
 * Ordering with write-behind: every entry point first sends what this
 * mount's handles queued for the files it touches (wb_settle_file), so
 * the server copies, zeroes or maps the data write() accepted, and a
 * queued write cannot land after the operation and undo it.  Each request
 * runs inside client_run; a rerun after a reconnect uses the reopened
 * handles' FileIds (and asks the source for a new resume key: keys name
 * an open, which the old connection took with it). */
#include <errno.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

/* Copychunk limits we start from: Samba's and Windows' (MS-SMB2
 * 3.3.3: 256 chunks, 1 MiB a chunk, 16 MiB a request).  A server with
 * smaller ones answers STATUS_INVALID_PARAMETER with its own, which we
 * then use. */
#define CC_CHUNK (1u << 20)
#define CC_CHUNKS 16u
#define CC_TOTAL (16u << 20)
/* Ranges asked per QUERY_ALLOCATED_RANGES (16 bytes each). */
#define RANGES_MAX 4096
/* Holes a fallocate inside a sparse file fills with zeros (SMB has no
 * "allocate this range"); beyond that it is -EOPNOTSUPP, as cifs. */
#define FILL_MAX (64u << 20)

/* One FSCTL on an open handle.  On 0, *out and *out_len point into *rep
 * (freed by the caller); ok2 as req_call's (a status whose reply's
 * output counts, e.g. STATUS_BUFFER_OVERFLOW). */
static int fsctl(struct smb2_client *c, const struct smb2_fileid *id, uint32_t ctl, struct wbuf *in,
		 int built, uint32_t max_out, uint32_t ok2, struct smb2_reply *rep,
		 const uint8_t **out, uint32_t *out_len, uint32_t *status)
{
	int bad = wbuf_check(in, built);
	if (bad)
		return bad;
	if (in->len > UINT32_MAX)
		return -EOVERFLOW;
	struct smb2_ioctl_req q = {
		.ctl_code = ctl,
		.file_id = *id,
		.input = in->p,
		.input_len = (uint32_t)in->len,
		.max_output_response = max_out,
		.flags = SMB2_0_IOCTL_IS_FSCTL,
	};
	struct wbuf w;
	struct smb2_ioctl_rsp io;
	req_start(c, &w, SMB2_IOCTL);
	size_t payload = in->len > max_out ? in->len : max_out;
	int r = req_call(c, &w, smb2_ioctl_encode(&w, &q), payload, rep, ok2, status);
	if (r < 0)
		return r;
	if (smb2_ioctl_decode(rep->msg, rep->len, &io) < 0) {
		smb2_reply_free(rep);
		smb2_log_error("malformed IOCTL reply (FSCTL 0x%08x)", ctl);
		return -EIO;
	}
	*out = io.output;
	*out_len = io.output_len;
	return 0;
}

/* An FSCTL whose reply carries nothing we need. */
static int fsctl_simple(struct smb2_client *c, const struct smb2_fileid *id, uint32_t ctl,
			struct wbuf *in, int built)
{
	struct smb2_reply rep;
	const uint8_t *out;
	uint32_t out_len;
	int r = fsctl(c, id, ctl, in, built, 0, 0, &rep, &out, &out_len, NULL);
	if (r == 0)
		smb2_reply_free(&rep);
	return r;
}

/* ---- allocated ranges ---- */

/* The allocated ranges of [off, off+len) from f's handle, in order,
 * starting at or after off: up to RANGES_MAX into r (*more: the server
 * had more).  -EOPNOTSUPP: the server has no such query. */
static int query_ranges(struct smb2_client *c, struct smb2_file *f, uint64_t off, uint64_t len,
			struct smb2_alloc_range *rg, size_t *n, bool *more)
{
	struct wbuf in;
	struct smb2_reply rep;
	const uint8_t *out;
	uint32_t out_len, st = 0;
	wbuf_init(&in);
	int built = smb2_alloc_range_encode(&in, off, len);
	int r = fsctl(c, &f->id, FSCTL_QUERY_ALLOCATED_RANGES, &in, built, RANGES_MAX * 16,
		      STATUS_BUFFER_OVERFLOW, &rep, &out, &out_len, &st);
	wbuf_free(&in);
	if (r < 0)
		return r;
	r = smb2_alloc_ranges_decode(out, out_len, rg, RANGES_MAX, n);
	smb2_reply_free(&rep);
	if (r < 0) {
		smb2_log_error("malformed QUERY_ALLOCATED_RANGES reply");
		return -EIO;
	}
	*more = st == STATUS_BUFFER_OVERFLOW && *n > 0;
	return 0;
}

/* Allocated ranges are a hint a server may not keep (MS-FSCC: ranges for
 * a file that is not sparse may be reported whole): the answers below
 * are only ever "data where there may be none", never the reverse. */
static bool no_ranges_query(int r)
{
	return r == -EOPNOTSUPP || r == -ENOSYS || r == -EINVAL || r == -ENOTTY;
}

struct seek_args {
	struct smb2_file *f;
	uint64_t off, eof;
	bool hole;
	uint64_t res;
	struct smb2_alloc_range *rg;
};

static int op_seek(struct smb2_client *c, void *arg)
{
	struct seek_args *a = arg;
	if (a->f->stale)
		return -ESTALE;
	uint64_t pos = a->off;
	while (pos < a->eof) {
		size_t n = 0;
		bool more = false;
		int r = query_ranges(c, a->f, pos, a->eof - pos, a->rg, &n, &more);
		if (no_ranges_query(r)) {
			/* all of the file is data (the generic lseek's answer) */
			a->res = a->hole ? a->eof : a->off;
			return 0;
		}
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++) {
			uint64_t s = a->rg[i].off, e = s + a->rg[i].len;
			if (e <= pos || a->rg[i].len == 0)
				continue;
			if (!a->hole) {
				a->res = s > pos ? s : pos;
				return a->res < a->eof ? 0 : -ENXIO;
			}
			if (s > pos) {
				a->res = pos; /* pos is in a hole */
				return 0;
			}
			pos = e;
		}
		if (!more)
			break;
	}
	if (!a->hole)
		return -ENXIO; /* no data after off */
	/* the virtual hole at the end of file */
	a->res = pos < a->eof ? pos : a->eof;
	return 0;
}

int smb2_seek_data(struct smb2_client *c, struct smb2_file *f, uint64_t off, bool hole,
		   uint64_t *out)
{
	struct fscc_stat st;
	int r = wb_settle_file(c, f, true);
	if (r == 0)
		r = smb2_fstat(c, f, &st);
	if (r < 0)
		return r;
	if (off >= st.end_of_file)
		return -ENXIO;
	struct seek_args a = {.f = f, .off = off, .eof = st.end_of_file, .hole = hole};
	a.rg = malloc(RANGES_MAX * sizeof(*a.rg));
	if (!a.rg)
		return -ENOMEM;
	r = client_run(c, op_seek, &a);
	free(a.rg);
	if (r == 0)
		*out = a.res;
	return r;
}

/* ---- fallocate ---- */

struct space_args {
	struct smb2_file *f;
	uint32_t ctl;          /* FSCTL_SET_SPARSE or FSCTL_SET_ZERO_DATA */
	uint64_t off, end;
};

static int op_fsctl_range(struct smb2_client *c, void *arg)
{
	struct space_args *a = arg;
	if (a->f->stale)
		return -ESTALE;
	struct wbuf in;
	wbuf_init(&in);
	int built = a->ctl == FSCTL_SET_SPARSE ? smb2_set_sparse_encode(&in, true)
					       : smb2_zero_data_encode(&in, a->off, a->end);
	int r = fsctl_simple(c, &a->f->id, a->ctl, &in, built);
	wbuf_free(&in);
	return r;
}

static int set_u64_info(struct smb2_client *c, struct smb2_file *f, uint8_t cls, uint64_t v)
{
	struct wbuf d;
	wbuf_init(&d);
	int built = cls == FileAllocationInformation ? smb2_allocation_info_encode(&d, v)
						     : fscc_build_end_of_file(&d, v);
	return file_handle_set_info(c, f, cls, &d, built);
}

/* Writes zeros into the holes of [off, end) (all inside the end of file)
 * of a sparse file: SMB has no "allocate this range", and a hole reads as
 * zeros, so writing them changes no data.  Up to FILL_MAX bytes. */
struct fill_args {
	struct smb2_file *f;
	uint64_t off, end;
	struct smb2_alloc_range *rg;
	uint64_t holes[2 * 64]; /* [start, end) pairs found, up to 64 */
	size_t nholes;
	uint64_t total;
};

static int add_hole(struct fill_args *a, uint64_t s, uint64_t e)
{
	if (a->nholes == 64 || a->total + (e - s) > FILL_MAX)
		return -E2BIG; /* too much to write: -EOPNOTSUPP (fill_holes) */
	a->holes[2 * a->nholes] = s;
	a->holes[2 * a->nholes + 1] = e;
	a->nholes++;
	a->total += e - s;
	return 0;
}

static int op_find_holes(struct smb2_client *c, void *arg)
{
	struct fill_args *a = arg;
	if (a->f->stale)
		return -ESTALE;
	a->nholes = 0;
	a->total = 0;
	uint64_t pos = a->off;
	while (pos < a->end) {
		size_t n = 0;
		bool more = false;
		int r = query_ranges(c, a->f, pos, a->end - pos, a->rg, &n, &more);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n && pos < a->end; i++) {
			uint64_t s = a->rg[i].off, e = s + a->rg[i].len;
			if (s > a->end)
				s = a->end;
			if (s > pos && (r = add_hole(a, pos, s)) < 0)
				return r;
			if (e > pos)
				pos = e;
		}
		if (!more) {
			if (pos < a->end && (r = add_hole(a, pos, a->end)) < 0)
				return r;
			break;
		}
	}
	return 0;
}

static int fill_holes(struct smb2_client *c, struct smb2_file *f, uint64_t off, uint64_t end)
{
	struct fill_args *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->f = f;
	a->off = off;
	a->end = end;
	a->rg = malloc(RANGES_MAX * sizeof(*a->rg));
	int r = a->rg ? client_run(c, op_find_holes, a) : -ENOMEM;
	if (no_ranges_query(r)) {
		r = 0; /* no map: nothing known to fill */
		a->nholes = 0;
	} else if (r == -E2BIG) {
		r = -EOPNOTSUPP;
	}
	uint8_t *zeros = NULL;
	if (r == 0 && a->nholes && !(zeros = calloc(1, CC_CHUNK)))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < a->nholes; i++) {
		for (uint64_t p = a->holes[2 * i]; r == 0 && p < a->holes[2 * i + 1];) {
			uint64_t n = a->holes[2 * i + 1] - p;
			if (n > CC_CHUNK)
				n = CC_CHUNK;
			ssize_t w = smb2_pwrite(c, f, zeros, (size_t)n, p);
			if (w < 0)
				r = (int)w;
			else if (w == 0)
				r = -EIO;
			else
				p += (uint64_t)w;
		}
	}
	if (r == 0 && a->nholes && f->write_behind)
		r = wb_drain(c, f);
	free(zeros);
	free(a->rg);
	free(a);
	return r;
}

int smb2_fallocate(struct smb2_client *c, struct smb2_file *f, int mode, uint64_t off,
		   uint64_t len)
{
	bool keep = mode & FALLOC_FL_KEEP_SIZE;
	int kind = mode & ~FALLOC_FL_KEEP_SIZE;
	if (kind != 0 && kind != FALLOC_FL_PUNCH_HOLE && kind != FALLOC_FL_ZERO_RANGE)
		return -EOPNOTSUPP;
	if (kind == FALLOC_FL_PUNCH_HOLE && !keep)
		return -EOPNOTSUPP; /* fallocate(2): punching always keeps the size */
	if (len == 0 || off > UINT64_MAX - len || off + len > INT64_MAX)
		return -EINVAL;
	if (!file_can_write(f))
		return -EBADF;
	uint64_t end = off + len;
	struct fscc_stat st;
	int r = wb_settle_file(c, f, true);
	if (r == 0)
		r = smb2_fstat(c, f, &st);
	if (r < 0)
		return r;
	uint64_t eof = st.end_of_file;
	uint64_t inside = end < eof ? end : eof; /* the part before the end of file */

	if (kind == 0) {
		/* Inside the end of file only a sparse file has holes to fill. */
		if (off < inside && (st.file_attributes & FILE_ATTRIBUTE_SPARSE_FILE))
			r = fill_holes(c, f, off, inside);
	} else if (off < inside) {
		/* Zeroing or punching: SET_ZERO_DATA deallocates what it
		 * zeroes on a sparse file (Samba: fallocate PUNCH_HOLE; on a
		 * file that is not sparse it allocates again with "strict
		 * allocate").  Punching wants the blocks freed: sparse first. */
		struct space_args a = {.f = f, .ctl = FSCTL_SET_SPARSE};
		if (kind == FALLOC_FL_PUNCH_HOLE && !(st.file_attributes & FILE_ATTRIBUTE_SPARSE_FILE))
			r = client_run(c, op_fsctl_range, &a);
		if (r == 0) {
			a.ctl = FSCTL_SET_ZERO_DATA;
			a.off = off;
			a.end = inside;
			r = client_run(c, op_fsctl_range, &a);
		}
	}
	/* Past the end of file: allocation (AllocationSize below the end of
	 * file would cut the file, so only ever above it), then the size. */
	if (r == 0 && end > eof && kind != FALLOC_FL_PUNCH_HOLE) {
		r = set_u64_info(c, f, FileAllocationInformation, end);
		if (r == 0 && !keep)
			r = set_u64_info(c, f, FileEndOfFileInformation, end);
	}
	if (r == 0)
		files_wrote(c, f);
	return r;
}

/* ---- server-side copy ---- */

struct copy_args {
	struct smb2_file *in, *out;
	uint64_t off_in, off_out, len;
	uint64_t done;
	uint32_t chunk, chunks, total; /* the limits in use */
};

static int get_resume_key(struct smb2_client *c, struct smb2_file *f, uint8_t key[SMB2_RESUME_KEY_SIZE])
{
	struct wbuf in;
	struct smb2_reply rep;
	const uint8_t *out;
	uint32_t out_len;
	wbuf_init(&in);
	int r = fsctl(c, &f->id, FSCTL_SRV_REQUEST_RESUME_KEY, &in, 0, 32, 0, &rep, &out, &out_len, NULL);
	wbuf_free(&in);
	if (r < 0)
		return r;
	r = smb2_resume_key_decode(out, out_len, key);
	smb2_reply_free(&rep);
	if (r < 0) {
		smb2_log_error("malformed SRV_REQUEST_RESUME_KEY reply");
		return -EIO;
	}
	return 0;
}

/* New limits from a STATUS_INVALID_PARAMETER reply: used only when they
 * are below those just refused, so the loop ends. */
static bool take_limits(struct copy_args *a, const struct smb2_copychunk_rsp *l)
{
	if (l->chunks_written == 0 || l->chunk_bytes_written == 0 || l->total_bytes_written == 0)
		return false;
	if (l->chunks_written >= a->chunks && l->chunk_bytes_written >= a->chunk &&
	    l->total_bytes_written >= a->total)
		return false;
	a->chunks = l->chunks_written < a->chunks ? l->chunks_written : a->chunks;
	a->chunk = l->chunk_bytes_written < a->chunk ? l->chunk_bytes_written : a->chunk;
	a->total = l->total_bytes_written < a->total ? l->total_bytes_written : a->total;
	return true;
}

static int op_copy(struct smb2_client *c, void *arg)
{
	struct copy_args *a = arg;
	struct smb2_copychunk ch[SMB2_COPYCHUNK_MAX_CHUNKS];
	uint8_t key[SMB2_RESUME_KEY_SIZE];
	if (a->in->stale || a->out->stale)
		return -ESTALE;
	int r = get_resume_key(c, a->in, key);
	if (r < 0)
		return r;
	while (a->done < a->len) {
		unsigned n = 0;
		uint64_t sum = 0;
		while (n < a->chunks && n < SMB2_COPYCHUNK_MAX_CHUNKS && a->done + sum < a->len &&
		       sum < a->total) {
			uint64_t l = a->len - a->done - sum;
			if (l > a->chunk)
				l = a->chunk;
			if (l > a->total - sum)
				l = a->total - sum;
			ch[n].src_off = a->off_in + a->done + sum;
			ch[n].dst_off = a->off_out + a->done + sum;
			ch[n].len = (uint32_t)l;
			sum += l;
			n++;
		}
		struct wbuf in;
		struct smb2_reply rep;
		const uint8_t *out;
		uint32_t out_len, st = 0;
		struct smb2_copychunk_rsp cr;
		wbuf_init(&in);
		int built = smb2_copychunk_encode(&in, key, ch, n);
		r = fsctl(c, &a->out->id, FSCTL_SRV_COPYCHUNK_WRITE, &in, built, SMB2_COPYCHUNK_RSP_SIZE,
			  STATUS_INVALID_PARAMETER, &rep, &out, &out_len, &st);
		wbuf_free(&in);
		if (r < 0)
			return r;
		r = smb2_copychunk_rsp_decode(out, out_len, &cr);
		smb2_reply_free(&rep);
		if (r < 0) {
			smb2_log_error("malformed SRV_COPYCHUNK reply");
			return st == STATUS_INVALID_PARAMETER ? -EINVAL : -EIO;
		}
		if (st == STATUS_INVALID_PARAMETER) {
			/* the reply names the server's limits (MS-SMB2 3.3.5.15.6) */
			if (!take_limits(a, &cr))
				return -EINVAL;
			smb2_log_debug("server copychunk limits: %u chunks of %u bytes, %u a request",
				       a->chunks, a->chunk, a->total);
			continue;
		}
		if (cr.total_bytes_written == 0 || cr.total_bytes_written > sum)
			return a->done ? 0 : -EIO; /* no progress, or nonsense */
		a->done += cr.total_bytes_written;
	}
	return 0;
}

ssize_t smb2_copy_range(struct smb2_client *c, struct smb2_file *in, uint64_t off_in,
			struct smb2_file *out, uint64_t off_out, uint64_t len)
{
	if (!file_can_write(out) || in->is_dir)
		return -EBADF;
	if (off_in > INT64_MAX || off_out > INT64_MAX)
		return -EINVAL;
	/* the source's queued data must be on the server before it is read
	 * there, the destination's before the copy overwrites it */
	struct fscc_stat st;
	int r = wb_settle_file(c, in, true);
	if (r == 0)
		r = wb_settle_file(c, out, true);
	if (r == 0)
		r = smb2_fstat(c, in, &st);
	if (r < 0)
		return r;
	if (off_in >= st.end_of_file || len == 0)
		return 0;
	if (len > st.end_of_file - off_in)
		len = st.end_of_file - off_in;
	if (len > (uint64_t)INT64_MAX - off_out)
		len = (uint64_t)INT64_MAX - off_out;
	struct copy_args a = {
		.in = in, .out = out, .off_in = off_in, .off_out = off_out, .len = len,
		.chunk = CC_CHUNK, .chunks = CC_CHUNKS, .total = CC_TOTAL,
	};
	r = client_run(c, op_copy, &a);
	if (a.done)
		files_wrote(c, out);
	return r < 0 && a.done == 0 ? r : (ssize_t)a.done;
}

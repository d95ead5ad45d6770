/* Write-behind: the one owner of data accepted from write() but not yet
 * acknowledged by the server.
 *
 * A write is copied into the file's queue and answered at once.  Small
 * sequential writes are gathered into one chunk of up to the WRITE size;
 * full chunks go out at once, up to WB_INFLIGHT of them per file at a time,
 * so a writer keeps the connection busy instead of waiting a round trip per
 * write() (dd bs=4k, cp, tar).  The flusher thread signs and sends the
 * full chunks (WB_AHEAD at most) while the writer's next write() is being
 * copied; a writer further ahead sends and waits itself.  The data is
 * copied once: into the chunk, which the WRITE is sent from in place
 * (smb2_conn_submit_data).  A chunk is freed only when the server has
 * acknowledged all of it.  An error of a chunk is kept and reported on the
 * handle's next write, flush (close) or fsync; a transport failure is
 * not an error: the chunk is sent again after the reconnect, through the
 * reopened handle.  Chunks that overlap one in flight wait for it, so the
 * server never sees two writes to the same bytes in a different order.
 *
 * Locking: every entry point runs inside client_run (the client lock held
 * for reading, so the connection and the file's id stay put), then takes the
 * file's wb.mu, which serializes the file's writers and drainers; wb.mu may
 * be held across a wait for a reply.  Order: client.lock -> files_mu ->
 * wb.mu -> conn.mu (nothing takes files_mu while holding a wb.mu; a drain by
 * path walks the open files under files_mu).  reconnect (client lock held
 * for writing) calls wb_conn_lost, which needs no wb.mu: nobody else is
 * inside. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_i.h"
#include "smb2fs/clock.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

/* In flight per file: with 1 MiB chunks, 4 MiB on the wire keeps a
 * loopback or LAN link busy; the queue stays far below the RSS budget. */
#define WB_INFLIGHT 4
/* Full chunks a writer leaves to the flusher thread to send, beyond
 * those in flight, before it sends and waits itself. */
#define WB_AHEAD 2
/* Writes at least this big are copied before the queue's lock is taken
 * (with 1 MiB chunks, those that become a chunk of their own). */
#define WB_PRECOPY_MIN (512u * 1024)
/* Queued data is sent at the latest this long after it was accepted, so
 * other clients see it soon even when the writer goes quiet. */
#define WB_MAX_AGE_MS 1000
#define WB_TICK_MS 250

struct wb_chunk {
	uint64_t off;
	size_t len;
	uint8_t *data;
	struct smb2_req *req;  /* in flight; NULL = not sent yet (or to resend) */
	struct wb_chunk *next;
};

bool wb_enabled_for(int flags)
{
	/* Synchronous and direct I/O promise the data is out when write()
	 * returns; read-only handles never write. */
	return (flags & O_ACCMODE) != O_RDONLY && !(flags & (O_SYNC | O_DSYNC | O_DIRECT));
}

void wb_init(struct wb_queue *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
}

static void chunk_free(struct wb_chunk *k)
{
	free(k->data);
	free(k);
}

void wb_destroy(struct wb_queue *q)
{
	/* Only after wb_drain: anything left was lost with a stale handle. */
	for (struct wb_chunk *k = q->head, *n; k; k = n) {
		n = k->next;
		chunk_free(k);
	}
	free(q->buf);
	pthread_mutex_destroy(&q->mu);
}

static void keep_error(struct wb_queue *q, int err)
{
	if (!q->err)
		q->err = err;
}

static size_t chunk_size(const struct smb2_client *c)
{
	return c->max_write;
}

/* Copies the next n bytes of the write's data (pieces are taken in order)
 * to dst; *done counts what was taken. */
static int src_take(const struct wb_src *s, size_t *done, uint8_t *dst, size_t n)
{
	int r = 0;
	if (s->fill)
		r = s->fill(s->arg, dst, n);
	else if (n)
		memcpy(dst, s->mem + *done, n);
	if (r == 0)
		*done += n;
	return r;
}

/* Appends a chunk of len bytes at off: data itself (the chunk takes it)
 * or, without data, the next len bytes of src. */
static int enqueue(struct wb_queue *q, uint8_t *data, const struct wb_src *src, size_t *done,
		   size_t len, uint64_t off)
{
	struct wb_chunk *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->data = data;
	if (!data) {
		int r = -ENOMEM;
		k->data = malloc(len);
		if (!k->data || (r = src_take(src, done, k->data, len)) < 0) {
			free(k->data);
			free(k);
			return r;
		}
	}
	k->off = off;
	k->len = len;
	if (q->tail)
		q->tail->next = k;
	else
		q->head = k;
	q->tail = k;
	q->nchunks++;
	return 0;
}

/* The gathering buffer becomes a chunk of its own. */
static int seal_buffer(struct wb_queue *q)
{
	if (!q->buf_len)
		return 0;
	int r = enqueue(q, q->buf, NULL, NULL, q->buf_len, q->buf_off);
	if (r < 0)
		return r;
	q->buf = NULL;
	q->buf_len = q->buf_cap = 0;
	return 0;
}

static void unlink_chunk(struct wb_queue *q, struct wb_chunk *k)
{
	struct wb_chunk **pp = &q->head, *prev = NULL;
	while (*pp && *pp != k) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = k->next;
	if (q->tail == k)
		q->tail = prev;
	q->nchunks--;
}

/* Collects the reply of an in-flight chunk.  Returns 0 (acknowledged, or
 * an error kept for the file) or a transport error (chunk to be resent). */
static int collect(struct smb2_client *c, struct wb_queue *q, struct wb_chunk *k)
{
	struct smb2_reply rep;
	int r = smb2_conn_wait(c->conn, k->req, &rep);
	k->req = NULL;
	if (r < 0)
		return -ECONNRESET; /* no reply: the connection died (a timeout kills it too) */
	uint32_t st = rep.hdr.status;
	struct smb2_write_rsp wr;
	if (st == STATUS_NETWORK_SESSION_EXPIRED) {
		smb2_reply_free(&rep);
		return ERR_SESSION_EXPIRED; /* sent again after the new login */
	}
	if (st == STATUS_USER_SESSION_DELETED || st == STATUS_NETWORK_NAME_DELETED) {
		smb2_reply_free(&rep);
		return ERR_SESSION_GONE;
	}
	if (st != STATUS_SUCCESS) {
		int e = nt_status_fail_err(st);
		smb2_reply_free(&rep);
		smb2_log_debug("write-behind at %llu: %s; reported on the next call",
			       (unsigned long long)k->off, strerror(-e));
		keep_error(q, e);
	} else if (smb2_write_decode(rep.msg, rep.len, &wr) < 0 || wr.count > k->len || wr.count == 0) {
		smb2_reply_free(&rep);
		smb2_log_error("malformed WRITE reply (offset %llu)", (unsigned long long)k->off);
		keep_error(q, -EIO);
	} else {
		smb2_reply_free(&rep);
		if (wr.count < k->len) {
			/* short write: the rest goes out again */
			memmove(k->data, k->data + wr.count, k->len - wr.count);
			k->off += wr.count;
			k->len -= wr.count;
			return 0;
		}
	}
	unlink_chunk(q, k);
	chunk_free(k);
	return 0;
}

static bool overlaps(const struct wb_chunk *a, const struct wb_chunk *b)
{
	return a->off < b->off + b->len && b->off < a->off + a->len;
}

static int submit(struct smb2_client *c, struct smb2_file *f, struct wb_chunk *k)
{
	struct smb2_write_req wq = {
		.offset = k->off,
		.file_id = f->id,
		.data = k->data,
		.data_len = (uint32_t)k->len,
	};
	struct wbuf w;
	req_start(c, &w, SMB2_WRITE);
	/* the data goes out from the chunk itself, not copied after the header */
	int r = wbuf_check(&w, smb2_write_encode_head(&w, &wq));
	if (r == 0)
		r = smb2_conn_submit_data(c->conn, &w, k->data, k->len, k->len, c->timeout_sec, &k->req);
	wbuf_free(&w);
	if (r < 0 && !smb2_conn_alive(c->conn))
		r = -ECONNRESET;
	return r;
}

enum pump_mode {
	PUMP_NOWAIT, /* send what fits, collect what came back, never wait */
	PUMP_ROOM,   /* the same, waiting for replies until every full chunk is sent */
	PUMP_ALL,    /* also the gathering buffer, and wait until nothing is left */
};

/* Sends what is ready and collects what has come back.  Returns 0 or a
 * transport error (client_run reconnects and calls again). */
static int pump(struct smb2_client *c, struct smb2_file *f, enum pump_mode mode)
{
	bool all = mode == PUMP_ALL;
	struct wb_queue *q = &f->wb;
	int r;
	if (f->stale) {
		if (q->head || q->buf_len)
			keep_error(q, -ESTALE); /* the handle is gone, and with it this data */
		for (struct wb_chunk *k = q->head, *n; k; k = n) {
			n = k->next;
			if (k->req) {
				struct smb2_reply rep;
				if (smb2_conn_wait(c->conn, k->req, &rep) == 0)
					smb2_reply_free(&rep);
			}
			chunk_free(k);
		}
		q->head = q->tail = NULL;
		q->nchunks = 0;
		q->buf_len = 0;
		return 0;
	}
	if (all && (r = seal_buffer(q)) < 0) {
		keep_error(q, r);
		return 0;
	}
	for (;;) {
		/* collect finished chunks, oldest first */
		unsigned inflight = 0;
		for (struct wb_chunk *k = q->head, *n; k; k = n) {
			n = k->next;
			if (k->req && smb2_conn_done(c->conn, k->req)) {
				if ((r = collect(c, q, k)) < 0)
					return r;
			} else if (k->req) {
				inflight++;
			}
		}
		/* send unsent chunks in order while there is room */
		struct wb_chunk *wait_for = NULL;
		for (struct wb_chunk *k = q->head; k; k = k->next) {
			if (k->req)
				continue;
			if (inflight >= WB_INFLIGHT) {
				wait_for = q->head;
				break;
			}
			for (struct wb_chunk *o = q->head; o != k; o = o->next) {
				if (o->req && overlaps(o, k)) {
					wait_for = o;
					break;
				}
			}
			if (wait_for)
				break;
			if ((r = submit(c, f, k)) < 0) {
				if (err_is_transport(r))
					return r;
				keep_error(q, r);
				unlink_chunk(q, k);
				chunk_free(k);
				break; /* the list changed: start over */
			}
			inflight++;
		}
		if (!wait_for && all) {
			for (struct wb_chunk *k = q->head; k; k = k->next)
				if (k->req) {
					wait_for = k;
					break;
				}
		}
		if (!wait_for) {
			bool unsent = false;
			for (struct wb_chunk *k = q->head; k; k = k->next)
				unsent |= !k->req;
			if (!unsent)
				return 0;
			continue;
		}
		if (mode == PUMP_NOWAIT)
			return 0;
		/* block for the oldest (or the overlapping) chunk */
		while (wait_for && !wait_for->req)
			wait_for = wait_for->next;
		if (wait_for && (r = collect(c, q, wait_for)) < 0)
			return r;
	}
}

/* Wakes the flusher thread to send the full chunks writers left it. */
static void kick_sender(struct smb2_client *c)
{
	pthread_mutex_lock(&c->wb_flusher_mu);
	c->wb_kick = true;
	pthread_cond_signal(&c->wb_flusher_cond);
	pthread_mutex_unlock(&c->wb_flusher_mu);
}

struct wb_args {
	struct smb2_file *f;
	const struct wb_src *src;
	size_t len;
	uint64_t off;
	bool accepted;
	bool kick;     /* full chunks left for the sender thread */
	uint8_t *pre;  /* the data, copied before wb.mu was taken (wb_write) */
};

static int op_wb_write(struct smb2_client *c, void *arg)
{
	struct wb_args *a = arg;
	struct wb_queue *q = &a->f->wb;
	int r = 0;
	pthread_mutex_lock(&q->mu);
	if (!a->accepted) {
		if (!q->head && !q->buf_len)
			clock_gettime(CLOCK_MONOTONIC, &q->since);
		if (q->err) {
			r = q->err;
			q->err = 0;
			goto out;
		}
		size_t cs = chunk_size(c), done = 0;
		if (q->buf_len && a->off == q->buf_off + q->buf_len && q->buf_len + a->len <= q->buf_cap) {
			if ((r = src_take(a->src, &done, q->buf + q->buf_len, a->len)) < 0)
				goto out;
			q->buf_len += a->len;
		} else {
			if ((r = seal_buffer(q)) < 0)
				goto out;
			if (a->pre && a->len >= cs / 2 && a->len <= cs) {
				/* one chunk: it takes the buffer copied before */
				if ((r = enqueue(q, a->pre, NULL, NULL, a->len, a->off)) < 0)
					goto out;
				a->pre = NULL;
			} else if (a->len >= cs / 2) {
				/* big writes are chunks of their own */
				while (done < a->len && r == 0) {
					size_t n = a->len - done < cs ? a->len - done : cs;
					r = enqueue(q, NULL, a->src, &done, n, a->off + done);
				}
				if (r < 0)
					goto out;
			} else {
				free(q->buf); /* left by a stale handle's pump */
				q->buf = malloc(cs);
				if (!q->buf) {
					r = -ENOMEM;
					goto out;
				}
				q->buf_cap = cs;
				if ((r = src_take(a->src, &done, q->buf, a->len)) < 0)
					goto out;
				q->buf_len = a->len;
				q->buf_off = a->off;
			}
		}
		if (q->buf_len == q->buf_cap && (r = seal_buffer(q)) < 0)
			goto out;
		a->accepted = true;
	}
	/* A few full chunks are left to the sender thread, so this write is
	 * answered while they are signed and sent; past that the writer
	 * sends (and waits for replies) itself, which bounds the queue. */
	unsigned unsent = 0;
	for (struct wb_chunk *k = q->head; k; k = k->next)
		unsent += !k->req;
	if (c->wb_flusher_running && unsent <= WB_AHEAD)
		a->kick = unsent > 0;
	else
		r = pump(c, a->f, PUMP_ROOM);
out:
	pthread_mutex_unlock(&q->mu);
	return r;
}

ssize_t wb_write(struct smb2_client *c, struct smb2_file *f, const struct wb_src *src, size_t len,
		 uint64_t off)
{
	/* Each handle's queue keeps its own writes in order; across handles
	 * on the same file, a write must not overtake one another handle of
	 * ours accepted earlier: that one goes out first. */
	if (__atomic_load_n(&c->wb_files, __ATOMIC_RELAXED) > 1) {
		int dr = wb_settle_file(c, f, false);
		if (dr < 0)
			return dr;
	}
	/* A big write is copied before wb.mu is taken, so the copy overlaps
	 * the sender thread signing and sending the previous chunk (which
	 * holds wb.mu); the queue then takes the buffer as a chunk. */
	struct wb_src pre_src;
	uint8_t *pre = NULL;
	if (len >= WB_PRECOPY_MIN && c->wb_flusher_running) {
		size_t done = 0;
		int pr = -ENOMEM;
		if (!(pre = malloc(len)) || (pr = src_take(src, &done, pre, len)) < 0) {
			free(pre);
			return pr;
		}
		pre_src = (struct wb_src){.mem = pre};
		src = &pre_src;
	}
	struct wb_args a = {.f = f, .src = src, .len = len, .off = off, .pre = pre};
	int r = client_run(c, op_wb_write, &a);
	free(a.pre); /* unless the queue took it */
	if (a.kick)
		kick_sender(c); /* after wb.mu is released, for the sender to take */
	/* Accepted data is the queue's now: it goes out after a reconnect,
	 * or its failure is reported by a later call (pump keeps errors). */
	return a.accepted ? (ssize_t)len : r;
}

static int op_wb_drain(struct smb2_client *c, void *arg)
{
	struct smb2_file *f = arg;
	pthread_mutex_lock(&f->wb.mu);
	int r = pump(c, f, PUMP_ALL);
	pthread_mutex_unlock(&f->wb.mu);
	return r;
}

int wb_drain(struct smb2_client *c, struct smb2_file *f)
{
	pthread_mutex_lock(&f->wb.mu);
	bool idle = !f->wb.head && !f->wb.buf_len;
	int err = f->wb.err;
	f->wb.err = 0;
	pthread_mutex_unlock(&f->wb.mu);
	if (idle)
		return err;
	int r = client_run(c, op_wb_drain, f);
	pthread_mutex_lock(&f->wb.mu);
	if (!err)
		err = f->wb.err;
	f->wb.err = 0;
	pthread_mutex_unlock(&f->wb.mu);
	return err ? err : r;
}

bool wb_pending(struct smb2_file *f)
{
	pthread_mutex_lock(&f->wb.mu);
	bool p = f->wb.head || f->wb.buf_len;
	pthread_mutex_unlock(&f->wb.mu);
	return p;
}

/* Sends what this mount's handles on one file have queued: the file named
 * by path, or self's (read under files_mu: it follows renames); or on
 * every file strictly below the directory below. */
struct settle_args {
	const char *path;
	const char *below;
	struct smb2_file *self;
	bool include_self;
	int r;
};

static bool settle_one(struct smb2_client *c, struct smb2_file *g, void *arg)
{
	struct settle_args *a = arg;
	const char *path = a->self ? a->self->path : a->path;
	if ((g == a->self && !a->include_self) || !g->write_behind)
		return true;
	if (a->below ? strncmp(g->path, a->below, strlen(a->below)) != 0 ||
			       g->path[strlen(a->below)] != '\\'
		     : strcmp(g->path, path) != 0)
		return true;
	pthread_mutex_lock(&g->wb.mu);
	int r = g->wb.head || g->wb.buf_len ? pump(c, g, PUMP_ALL) : 0;
	pthread_mutex_unlock(&g->wb.mu);
	if (r < 0 && !a->r)
		a->r = r;
	/* below a directory each file goes (its errors stay with it) */
	return a->r == 0 || (a->below && !err_is_transport(r));
}

static int op_settle(struct smb2_client *c, void *arg)
{
	struct settle_args *a = arg;
	a->r = 0;
	files_each(c, settle_one, a);
	return a->r;
}

/* Errors of queued data stay with the handles that wrote it (pump keeps
 * them for their owners); only a failure to reach the server is ours. */
static int settle(struct smb2_client *c, struct settle_args *a)
{
	if (__atomic_load_n(&c->wb_files, __ATOMIC_RELAXED) == 0)
		return 0; /* nothing can be queued anywhere */
	int r = client_run(c, op_settle, a);
	return err_is_transport(r) || r == -EIO || r == -EHOSTDOWN ? r : 0;
}

int wb_drain_path(struct smb2_client *c, const char *smbpath)
{
	struct settle_args a = {.path = smbpath};
	return settle(c, &a);
}

int wb_drain_below(struct smb2_client *c, const char *dir)
{
	struct settle_args a = {.below = dir};
	return settle(c, &a);
}

int wb_settle_file(struct smb2_client *c, struct smb2_file *f, bool include_self)
{
	struct settle_args a = {.self = f, .include_self = include_self};
	return settle(c, &a);
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec != b->tv_sec ? a->tv_sec < b->tv_sec : a->tv_nsec < b->tv_nsec;
}

/* The next tick: ms after now. */
static void tick_after(struct timespec *t, long ms)
{
	smb2_clock_after_ms(CLOCK_MONOTONIC, ms, t);
}

static bool older_than(const struct timespec *t, long ms)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000L + (now.tv_nsec - t->tv_nsec) / 1000000L >= ms;
}

/* The flusher's round: sends whatever waited too long.  A file whose
 * writer is busy (wb.mu taken) is left to it. */
static bool flush_one_old(struct smb2_client *c, struct smb2_file *f, void *arg)
{
	int *r = arg;
	if (!f->write_behind || pthread_mutex_trylock(&f->wb.mu) != 0)
		return true;
	if ((f->wb.head || f->wb.buf_len) && older_than(&f->wb.since, WB_MAX_AGE_MS))
		*r = pump(c, f, PUMP_ALL);
	pthread_mutex_unlock(&f->wb.mu);
	return *r == 0;
}

static int op_flush_old(struct smb2_client *c, void *arg)
{
	(void)arg;
	int r = 0;
	files_each(c, flush_one_old, &r);
	return r;
}

/* The sender's round: full chunks writers left (kick_sender) go out, and
 * what came back is collected, without waiting for replies.  A file whose
 * writer is busy is left to it: that writer kicks again when it is done. */
static bool send_one_ready(struct smb2_client *c, struct smb2_file *f, void *arg)
{
	int *r = arg;
	if (!f->write_behind || pthread_mutex_trylock(&f->wb.mu) != 0)
		return true;
	if (f->wb.head)
		*r = pump(c, f, PUMP_NOWAIT);
	pthread_mutex_unlock(&f->wb.mu);
	return *r == 0;
}

static int op_send_ready(struct smb2_client *c, void *arg)
{
	(void)arg;
	int r = 0;
	files_each(c, send_one_ready, &r);
	return r;
}

/* The flusher thread: sends what writers handed it at once, and every
 * WB_TICK_MS whatever waited too long. */
static void *flusher_main(void *arg)
{
	struct smb2_client *c = arg;
	struct timespec tick;
	tick_after(&tick, WB_TICK_MS);
	pthread_mutex_lock(&c->wb_flusher_mu);
	while (!c->wb_flusher_stop) {
		bool due = false;
		while (!c->wb_kick && !c->wb_flusher_stop && !due)
			due = pthread_cond_timedwait(&c->wb_flusher_cond, &c->wb_flusher_mu, &tick) ==
			      ETIMEDOUT;
		if (!due) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			due = !ts_before(&now, &tick);
		}
		if (due)
			tick_after(&tick, WB_TICK_MS);
		bool kicked = c->wb_kick;
		c->wb_kick = false;
		if (c->wb_flusher_stop || __atomic_load_n(&c->wb_files, __ATOMIC_RELAXED) == 0)
			continue;
		pthread_mutex_unlock(&c->wb_flusher_mu);
		if (kicked)
			(void)client_run(c, op_send_ready, NULL);
		if (due)
			(void)client_run(c, op_flush_old, NULL);
		pthread_mutex_lock(&c->wb_flusher_mu);
	}
	pthread_mutex_unlock(&c->wb_flusher_mu);
	return NULL;
}

int wb_flusher_start(struct smb2_client *c)
{
	pthread_mutex_init(&c->wb_flusher_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wb_flusher_cond, &ca);
	pthread_condattr_destroy(&ca);
	c->wb_flusher_stop = false;
	c->wb_kick = false;
	int r = pthread_create(&c->wb_flusher, NULL, flusher_main, c);
	c->wb_flusher_running = r == 0;
	return -r;
}

void wb_flusher_stop(struct smb2_client *c)
{
	if (!c->wb_flusher_running)
		return;
	pthread_mutex_lock(&c->wb_flusher_mu);
	c->wb_flusher_stop = true;
	pthread_cond_signal(&c->wb_flusher_cond);
	pthread_mutex_unlock(&c->wb_flusher_mu);
	pthread_join(c->wb_flusher, NULL);
	c->wb_flusher_running = false;
	pthread_cond_destroy(&c->wb_flusher_cond);
	pthread_mutex_destroy(&c->wb_flusher_mu);
}

int wb_settle_path(struct smb2_client *c, const char *posix_path)
{
	if (__atomic_load_n(&c->wb_files, __ATOMIC_RELAXED) == 0)
		return 0;
	char *p;
	int r = smb_path(c, posix_path, &p);
	if (r < 0)
		return 0; /* the operation itself reports the bad name */
	r = wb_drain_path(c, p);
	free(p);
	return r;
}

static bool collect_in_flight(struct smb2_client *c, struct smb2_file *f, void *arg)
{
	(void)arg;
	struct wb_queue *q = &f->wb;
	for (struct wb_chunk *k = q->head, *n; k; k = n) {
		n = k->next;
		if (k->req && collect(c, q, k) < 0)
			k->req = NULL; /* goes out again on the new connection */
	}
	return true;
}

void wb_conn_lost(struct smb2_client *c)
{
	if (c->conn)
		files_each(c, collect_in_flight, NULL);
}

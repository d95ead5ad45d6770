/* Byte-range locks: the one owner of the locks this mount holds on the
 * server (fcntl and flock through FUSE, as SMB2 LOCK requests).
 *
 * SMB2 locks belong to a handle (FileId); POSIX record locks belong to a
 * process (FUSE's lock_owner) and cover the file whatever descriptor
 * took them; flock locks belong to an open file description.  So:
 *
 *  - Each POSIX owner's locks on one file are one record, held through
 *    one handle: the descriptor the owner first locked through (it stays
 *    open while the locks live: closing any descriptor of the file ends
 *    them all, FUSE flush -> F_UNLCK of the whole file).  Later calls of
 *    that owner through another descriptor of the same file (same QFid
 *    identity, else same path) use the record's handle, so an unlock
 *    through another descriptor finds the lock (sqlite does that).
 *    Different owners use their own handles, and the server keeps them
 *    apart as it keeps other clients apart.
 *  - A flock is a record of its own handle, one byte at FLOCK_OFF: far
 *    past any data (SMB locks are mandatory for I/O through other
 *    handles; flock must not block readers), inside the range cifs's
 *    flock locks, and apart from fcntl ranges below 2^63 - 1.
 *  - POSIX semantics on SMB's: SMB unlocks only exact ranges and stacks
 *    overlapping locks, POSIX splits and replaces.  A request first
 *    unlocks what the owner holds inside its range (a lock reaching out
 *    of it is unlocked and its outer parts locked again, FAIL_IMMEDIATELY),
 *    then locks the range.  A change of type of exactly one held range is
 *    done as SMB allows: exclusive -> shared by taking the shared lock
 *    first (Samba lets a handle stack it on its own exclusive lock) and
 *    then unlocking (the exclusive one goes first); shared -> exclusive
 *    by unlocking first (an exclusive lock conflicts with the handle's
 *    own shared one), and taking the shared lock back if the exclusive
 *    one cannot be had.  In that window another client can take the
 *    range: the one place the upgrade is not atomic.
 *  - Blocking locks (F_SETLKW, flock without LOCK_NB) are one LOCK
 *    without FAIL_IMMEDIATELY: the server answers STATUS_PENDING and
 *    replies when the lock is granted.  The wait runs outside the client
 *    lock (a reconnect or session renewal must not wait for another
 *    client's unlock), in slices of SMB2_INTR_LOOK_MS after which it asks
 *    whether the caller was interrupted (client_interrupted: the fs
 *    layer's check, or the client closing); then a CANCEL goes out and the answer is
 *    -EINTR (unless the lock was granted first).  The request has no
 *    deadline once the server said it is pending (smb2_conn_no_deadline).
 *    reconnect() calls locks_conn_lost() before the connection goes:
 *    it kills the connection and waits for the waiters to let go of it;
 *    they then start over on the new one.
 *  - A reconnect that reclaims a durable handle (handles.c, DH2C) keeps
 *    its locks on the server: nothing is taken again.  A handle reopened
 *    by name instead lost its locks with the connection: files_reopen_all
 *    calls locks_reopened() for it, which takes its locks again
 *    (FAIL_IMMEDIATELY); one that another client took meanwhile is lost,
 *    and logged as such.
 *  - Before an unlock (and a lock) what write-behind holds for the file
 *    goes out, so the next holder elsewhere reads it.
 *
 * locks_mu is a leaf: guards the records; never held across a request.
 * A record being changed is `busy`: other calls on it wait. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "client_i.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

/* POSIX ranges end below 2^63 (a lock "to the end of the file" is
 * [start, 2^63), as cifs sends it); above them one byte for flock and one
 * for the append lock, apart from every fcntl range. */
#define POSIX_END 0x8000000000000000ull
#define FLOCK_OFF POSIX_END
#define APPEND_OFF (POSIX_END + 1)

struct lk_range {
	uint64_t off, len;
	bool excl;
};

struct lk_owner {
	uint64_t owner;          /* FUSE lock_owner; flock: 0 */
	bool is_flock;
	struct smb2_file *h;     /* the handle the locks are held through */
	bool by_ident;           /* the file: h's QFid identity, else its path */
	uint8_t ident[16];
	char *path;
	struct lk_range *r;
	unsigned n, cap;
	bool busy;
	unsigned waiting;        /* blocking LOCKs of this record in flight: it
				  * is not busy meanwhile, but stays */
	struct lk_owner *next;
};

void locks_init(struct smb2_client *c)
{
	pthread_mutex_init(&c->locks_mu, NULL);
	pthread_cond_init(&c->locks_cond, NULL);
}

static void owner_free(struct lk_owner *o)
{
	free(o->r);
	free(o->path);
	free(o);
}

void locks_destroy(struct smb2_client *c)
{
	for (struct lk_owner *o = c->locks, *n; o; o = n) {
		n = o->next;
		owner_free(o);
	}
	c->locks = NULL;
	pthread_cond_destroy(&c->locks_cond);
	pthread_mutex_destroy(&c->locks_mu);
}

/* ---- requests ---- */

static int lock_status_err(uint32_t st)
{
	if (st == STATUS_LOCK_NOT_GRANTED || st == STATUS_FILE_LOCK_CONFLICT)
		return -EAGAIN;
	if (st == STATUS_CANCELLED)
		return -EINTR;
	return nt_status_fail_err(st);
}

struct lk_call {
	struct smb2_file *f;
	struct smb2_lock_element el[SMB2_LOCK_MAX];
	unsigned n;
	uint32_t sequence;     /* LockSequence: the same for every attempt */
	/* a blocking lock: its request, waited for outside the client lock */
	struct smb2_conn *conn;
	struct smb2_req *q;
};

/* A request's LockSequence (MS-SMB2 2.2.26), taken once per request
 * and sent with each attempt: the server remembers the last number per
 * index of a durable open (Samba checks it then, 3.3.5.14), so a LOCK
 * sent again after its reply went with the connection is answered as
 * done instead of conflicting with the lock it already took (a reclaimed
 * handle keeps it), and an unlock sent again is not refused.  Indexes
 * 1-64 in turn; each index's number one more than its last, so a new
 * request never matches what the server holds for the index. */
static uint32_t lock_sequence_take(struct smb2_file *f)
{
	unsigned i = __atomic_fetch_add(&f->lock_seq_taken, 1, __ATOMIC_RELAXED) % 64;
	unsigned num = (__atomic_add_fetch(&f->lock_seq_num[i], 1, __ATOMIC_RELAXED)) & 0xF;
	return num | (uint32_t)(i + 1) << 4;
}

static int build(struct smb2_client *c, struct lk_call *a, struct wbuf *w)
{
	/* (reserved in 2.0.2) */
	uint32_t seq = c->dialect >= SMB2_DIALECT_210 ? a->sequence : 0;
	struct smb2_lock_req q = {.sequence = seq, .file_id = a->f->id, .locks = a->el,
				  .count = (uint16_t)a->n};
	req_start(c, w, SMB2_LOCK);
	return smb2_lock_encode(w, &q);
}

static int op_lock_now(struct smb2_client *c, void *arg)
{
	struct lk_call *a = arg;
	if (a->f->stale)
		return -ESTALE;
	struct wbuf w;
	struct smb2_reply rep;
	uint32_t st = 0;
	int enc = build(c, a, &w);
	int r = req_call(c, &w, enc, 0, &rep, 0, &st);
	if (r == 0) {
		if (smb2_lock_decode(rep.msg, rep.len) < 0)
			r = -EIO;
		smb2_reply_free(&rep);
		return r;
	}
	/* a conflict is EAGAIN whichever status says it; the rest as mapped */
	if (st && lock_status_err(st) == -EAGAIN)
		return -EAGAIN;
	return r;
}

/* Submits a blocking LOCK and registers as a waiter (under the read lock,
 * so no reconnect is under way). */
static int op_lock_submit(struct smb2_client *c, void *arg)
{
	struct lk_call *a = arg;
	if (a->f->stale)
		return -ESTALE;
	struct wbuf w;
	int r = wbuf_check(&w, build(c, a, &w));
	if (r == 0)
		r = smb2_conn_submit(c->conn, &w, 0, c->timeout_sec, &a->q);
	wbuf_free(&w);
	if (r < 0)
		return smb2_conn_alive(c->conn) ? r : -ECONNRESET;
	a->conn = c->conn;
	smb2_conn_no_deadline(a->conn, a->q);
	pthread_mutex_lock(&c->locks_mu);
	c->lock_waiters++;
	pthread_mutex_unlock(&c->locks_mu);
	return 0;
}

static void waiter_done(struct smb2_client *c)
{
	pthread_mutex_lock(&c->locks_mu);
	c->lock_waiters--;
	pthread_cond_broadcast(&c->locks_cond);
	pthread_mutex_unlock(&c->locks_mu);
}

/* Reports err to client_run once, then succeeds. */
struct kick {
	int err;
	bool done;
};
static int op_kick(struct smb2_client *c, void *arg)
{
	(void)c;
	struct kick *k = arg;
	if (k->done)
		return 0;
	k->done = true;
	return k->err;
}

static int lock_wait(struct smb2_client *c, struct lk_call *a)
{
	bool cancelled = false;
	for (;;) {
		int r = client_run(c, op_lock_submit, a);
		if (r < 0)
			return r;
		while (!smb2_conn_wait_for(a->conn, a->q, SMB2_INTR_LOOK_MS)) {
			if (!cancelled && client_interrupted(c)) {
				cancelled = true;
				(void)smb2_conn_cancel(a->conn, a->q);
			}
		}
		struct smb2_reply rep;
		int w = smb2_conn_wait(a->conn, a->q, &rep);
		bool alive = smb2_conn_alive(a->conn);
		uint32_t st = w == 0 ? rep.hdr.status : 0;
		if (w == 0)
			smb2_reply_free(&rep);
		waiter_done(c); /* the connection may go from here on */
		if (w == 0 && st == STATUS_SUCCESS)
			return 0;
		if (cancelled)
			return -EINTR; /* cancelled, or the connection went meanwhile */
		if (w < 0 || !alive)
			continue; /* the next submit fails, and client_run reconnects */
		if (st == STATUS_USER_SESSION_DELETED || st == STATUS_NETWORK_NAME_DELETED ||
		    st == STATUS_NETWORK_SESSION_EXPIRED) {
			/* client_run rebuilds or renews the session when an
			 * operation reports it: report it through one */
			struct kick k = {st == STATUS_NETWORK_SESSION_EXPIRED ? ERR_SESSION_EXPIRED
									 : ERR_SESSION_GONE};
			r = client_run(c, op_kick, &k);
			if (r < 0)
				return r;
			continue;
		}
		return lock_status_err(st);
	}
}

/* One lock (wait: blocking) or up to SMB2_LOCK_MAX unlocks on f. */
static int srv_lock(struct smb2_client *c, struct smb2_file *f, uint64_t off, uint64_t len, bool excl,
		    bool wait)
{
	struct lk_call a = {.f = f, .n = 1, .sequence = lock_sequence_take(f)};
	a.el[0] = (struct smb2_lock_element){off, len,
		(excl ? SMB2_LOCKFLAG_EXCLUSIVE_LOCK : SMB2_LOCKFLAG_SHARED_LOCK) |
		(wait ? 0 : SMB2_LOCKFLAG_FAIL_IMMEDIATELY)};
	return wait ? lock_wait(c, &a) : client_run(c, op_lock_now, &a);
}

static int srv_unlock(struct smb2_client *c, struct smb2_file *f, const struct lk_range *r, unsigned n)
{
	int err = 0;
	for (unsigned i = 0; i < n;) {
		struct lk_call a = {.f = f, .sequence = lock_sequence_take(f)};
		for (; i < n && a.n < SMB2_LOCK_MAX; i++)
			a.el[a.n++] = (struct smb2_lock_element){r[i].off, r[i].len, SMB2_LOCKFLAG_UNLOCK};
		int e = client_run(c, op_lock_now, &a);
		/* a handle the server no longer has holds no locks either */
		if (e < 0 && e != -ESTALE && !err)
			err = e;
	}
	return err;
}

/* ---- records ---- */

static bool same_file(const struct lk_owner *o, const struct lk_owner *k)
{
	if (o->is_flock || k->is_flock)
		return o->h == k->h;
	if (o->by_ident != k->by_ident)
		return false;
	return o->by_ident ? memcmp(o->ident, k->ident, 16) == 0 : strcmp(o->path, k->path) == 0;
}

/* The key of f's file for owner; path copied under files_mu. */
static int make_key(struct smb2_client *c, struct smb2_file *f, uint64_t owner, bool is_flock,
		    struct lk_owner *k)
{
	memset(k, 0, sizeof(*k));
	k->owner = owner;
	k->is_flock = is_flock;
	k->h = f;
	if (f->ident.known) {
		k->by_ident = true;
		memcpy(k->ident, f->ident.disk_id, 16);
		return 0;
	}
	pthread_mutex_lock(&c->files_mu);
	k->path = strdup(f->path);
	pthread_mutex_unlock(&c->files_mu);
	return k->path ? 0 : -ENOMEM;
}

/* With locks_mu held. */
static struct lk_owner *find_locked(struct smb2_client *c, const struct lk_owner *k)
{
	for (struct lk_owner *o = c->locks; o; o = o->next)
		if (o->owner == k->owner && o->is_flock == k->is_flock && same_file(o, k))
			return o;
	return NULL;
}

/* Finds (create: or makes) k's record and marks it busy; NULL: none. */
static struct lk_owner *take(struct smb2_client *c, struct lk_owner *k, bool create)
{
	pthread_mutex_lock(&c->locks_mu);
	struct lk_owner *o;
	while ((o = find_locked(c, k)) && o->busy)
		pthread_cond_wait(&c->locks_cond, &c->locks_mu);
	if (!o && create) {
		o = calloc(1, sizeof(*o));
		if (o) {
			*o = *k;
			k->path = NULL; /* moved */
			o->next = c->locks;
			c->locks = o;
		}
	}
	if (o)
		o->busy = true;
	pthread_mutex_unlock(&c->locks_mu);
	return o;
}

/* Ends a change: an empty record goes. */
static void give(struct smb2_client *c, struct lk_owner *o)
{
	pthread_mutex_lock(&c->locks_mu);
	o->busy = false;
	if (o->n == 0 && o->waiting == 0) {
		for (struct lk_owner **p = &c->locks; *p; p = &(*p)->next) {
			if (*p == o) {
				*p = o->next;
				break;
			}
		}
		owner_free(o);
	}
	pthread_cond_broadcast(&c->locks_cond);
	pthread_mutex_unlock(&c->locks_mu);
}

/* The record's ranges change only while it is busy (by its one worker),
 * but locks_reopened and locks_file_closing read them: under locks_mu. */
static int add_range(struct smb2_client *c, struct lk_owner *o, uint64_t off, uint64_t len, bool excl)
{
	int r = 0;
	pthread_mutex_lock(&c->locks_mu);
	if (o->n == o->cap) {
		unsigned cap = o->cap ? o->cap * 2 : 4;
		struct lk_range *n = realloc(o->r, cap * sizeof(*n));
		if (n) {
			o->r = n;
			o->cap = cap;
		} else {
			r = -ENOMEM;
		}
	}
	if (r == 0)
		o->r[o->n++] = (struct lk_range){off, len, excl};
	pthread_mutex_unlock(&c->locks_mu);
	return r;
}

static void del_range(struct smb2_client *c, struct lk_owner *o, unsigned i)
{
	pthread_mutex_lock(&c->locks_mu);
	o->r[i] = o->r[--o->n];
	pthread_mutex_unlock(&c->locks_mu);
}

/* Unlocks what o holds in [s, e); parts of a lock outside it are locked
 * again (FAIL_IMMEDIATELY: a lost part is logged). */
static int unlock_span(struct smb2_client *c, struct lk_owner *o, uint64_t s, uint64_t e)
{
	struct lk_range gone[SMB2_LOCK_MAX];
	int err = 0;
	for (;;) {
		unsigned n = 0;
		for (unsigned i = 0; i < o->n && n < SMB2_LOCK_MAX;) {
			struct lk_range *x = &o->r[i];
			if (x->off < e && x->off + x->len > s && x->len) {
				gone[n++] = *x;
				del_range(c, o, i);
			} else if (x->len == 0 && x->off >= s && x->off < e) {
				gone[n++] = *x;
				del_range(c, o, i);
			} else {
				i++;
			}
		}
		if (n == 0)
			return err;
		int r = srv_unlock(c, o->h, gone, n);
		if (r < 0 && !err)
			err = r;
		for (unsigned i = 0; i < n; i++) {
			struct lk_range x = gone[i];
			struct lk_range part[2] = {{x.off, s > x.off ? s - x.off : 0, x.excl},
						   {e, x.off + x.len > e ? x.off + x.len - e : 0, x.excl}};
			for (int j = 0; j < 2; j++) {
				if (part[j].len == 0)
					continue;
				if (srv_lock(c, o->h, part[j].off, part[j].len, part[j].excl, false) == 0)
					(void)add_range(c, o, part[j].off, part[j].len, part[j].excl);
				else
					smb2_log_error("byte-range lock %llu+%llu lost while splitting it",
						       (unsigned long long)part[j].off,
						       (unsigned long long)part[j].len);
			}
		}
	}
}

/* What write-behind holds for the file goes out first. */
static int settle(struct smb2_client *c, struct smb2_file *f)
{
	if (__atomic_load_n(&c->wb_files, __ATOMIC_RELAXED) == 0)
		return 0;
	return wb_settle_file(c, f, true);
}

static int set_lock(struct smb2_client *c, struct lk_owner *k, int type, uint64_t s, uint64_t len,
		    bool wait)
{
	uint64_t e = len ? s + len : s;
	if (type == F_UNLCK) {
		struct lk_owner *o = take(c, k, false);
		if (!o)
			return 0;
		int r = settle(c, o->h);
		int u = unlock_span(c, o, s, len ? e : s + 1);
		give(c, o);
		return r < 0 ? r : u;
	}
	bool excl = type == F_WRLCK;
	int r = settle(c, k->h);
	if (r < 0)
		return r;
	struct lk_owner *o = take(c, k, true);
	if (!o)
		return -ENOMEM;
	int exact = -1;
	for (unsigned i = 0; i < o->n; i++)
		if (o->r[i].off == s && o->r[i].len == len)
			exact = (int)i;
	if (exact >= 0 && o->r[exact].excl == excl) {
		r = 0;
	} else if (exact >= 0 && !excl) {
		/* exclusive -> shared: stack the shared lock, then unlock (the
		 * server drops the exclusive one first) */
		r = srv_lock(c, o->h, s, len, false, false);
		if (r == 0) {
			struct lk_range x = o->r[exact];
			(void)srv_unlock(c, o->h, &x, 1);
			o->r[exact].excl = false;
		}
	} else {
		bool had_shared = exact >= 0;
		(void)unlock_span(c, o, s, len ? e : s + 1);
		if (wait) {
			/* The record is free while the server keeps us waiting:
			 * the owner's other threads may change its other ranges,
			 * and a reconnect takes the held ones again. */
			pthread_mutex_lock(&c->locks_mu);
			o->waiting++;
			o->busy = false;
			pthread_cond_broadcast(&c->locks_cond);
			pthread_mutex_unlock(&c->locks_mu);
		}
		r = srv_lock(c, o->h, s, len, excl, wait);
		if (wait) {
			pthread_mutex_lock(&c->locks_mu);
			while (o->busy)
				pthread_cond_wait(&c->locks_cond, &c->locks_mu);
			o->busy = true;
			o->waiting--;
			pthread_mutex_unlock(&c->locks_mu);
		}
		if (r == 0) {
			r = add_range(c, o, s, len, excl);
		} else if (had_shared) {
			/* POSIX: a failed upgrade keeps the read lock */
			if (srv_lock(c, o->h, s, len, false, false) == 0)
				(void)add_range(c, o, s, len, false);
			else
				smb2_log_error("byte-range read lock %llu+%llu lost by a failed upgrade",
					       (unsigned long long)s, (unsigned long long)len);
		}
	}
	give(c, o);
	return r;
}

/* The file's data may have changed elsewhere unless we hold write caching. */
static bool write_cached(struct smb2_client *c, struct smb2_file *f)
{
	if (!f->lease)
		return false;
	pthread_mutex_lock(&c->lease_mu);
	bool w = (f->lease->state & SMB2_LEASE_WRITE_CACHING) != 0;
	pthread_mutex_unlock(&c->lease_mu);
	return w;
}

/* ---- API (client.h) ---- */

int smb2_lock(struct smb2_client *c, struct smb2_file *f, uint64_t owner, int type, uint64_t start,
	      uint64_t len, bool wait, bool *stale)
{
	if (stale)
		*stale = false;
	if (type != F_RDLCK && type != F_WRLCK && type != F_UNLCK)
		return -EINVAL;
	if (start >= POSIX_END || (len && (start + len < start || start + len > POSIX_END)))
		return -EOVERFLOW;
	if (len == 0)
		len = POSIX_END - start; /* to the end of the file */
	struct lk_owner k;
	int r = make_key(c, f, owner, false, &k);
	if (r < 0)
		return r;
	r = set_lock(c, &k, type, start, len, wait);
	free(k.path);
	if (r == 0 && type != F_UNLCK && stale)
		*stale = !write_cached(c, f);
	return r;
}

bool smb2_lock_held(struct smb2_client *c, struct smb2_file *f, uint64_t owner, bool is_flock)
{
	pthread_mutex_lock(&c->locks_mu);
	bool none = c->locks == NULL; /* no lock anywhere: every close() asks */
	pthread_mutex_unlock(&c->locks_mu);
	if (none)
		return false;
	struct lk_owner k;
	if (make_key(c, f, owner, is_flock, &k) < 0)
		return true;
	pthread_mutex_lock(&c->locks_mu);
	bool held = find_locked(c, &k) != NULL;
	pthread_mutex_unlock(&c->locks_mu);
	free(k.path);
	return held;
}

int smb2_lock_test(struct smb2_client *c, struct smb2_file *f, int *type, uint64_t start,
		   uint64_t len)
{
	if (start >= POSIX_END || (len && (start + len < start || start + len > POSIX_END)))
		return -EOVERFLOW;
	if (len == 0)
		len = POSIX_END - start;
	/* As cifs: try the lock through f and give it back at once. */
	bool excl = *type == F_WRLCK;
	int r = srv_lock(c, f, start, len, excl, false);
	if (r == 0) {
		struct lk_range x = {start, len, excl};
		(void)srv_unlock(c, f, &x, 1);
		*type = F_UNLCK;
		return 0;
	}
	if (r != -EAGAIN)
		return r;
	if (excl && srv_lock(c, f, start, len, false, false) == 0) {
		struct lk_range x = {start, len, false};
		(void)srv_unlock(c, f, &x, 1);
		*type = F_RDLCK; /* only readers hold it */
	} else {
		*type = F_WRLCK;
	}
	return 0;
}

int smb2_flock(struct smb2_client *c, struct smb2_file *f, int op, bool *stale)
{
	if (stale)
		*stale = false;
	struct lk_owner k = {.is_flock = true, .h = f};
	int kind = op & (LOCK_SH | LOCK_EX | LOCK_UN);
	int type = kind == LOCK_SH ? F_RDLCK : kind == LOCK_EX ? F_WRLCK : kind == LOCK_UN ? F_UNLCK : -1;
	if (type < 0)
		return -EINVAL;
	int r = set_lock(c, &k, type, FLOCK_OFF, 1, !(op & LOCK_NB));
	if (r == 0 && type != F_UNLCK && stale)
		*stale = !write_cached(c, f);
	return r;
}

int locks_append_begin(struct smb2_client *c, struct smb2_file *f)
{
	return srv_lock(c, f, APPEND_OFF, 1, true, true);
}

void locks_append_end(struct smb2_client *c, struct smb2_file *f)
{
	struct lk_range x = {APPEND_OFF, 1, true};
	(void)srv_unlock(c, f, &x, 1);
}

/* ---- handles.c and reconnect.c ---- */

bool locks_file_closing(struct smb2_client *c, struct smb2_file *f)
{
	bool had = false;
	pthread_mutex_lock(&c->locks_mu);
	for (struct lk_owner **p = &c->locks; *p;) {
		struct lk_owner *o = *p;
		if (o->h == f && !o->busy && !o->waiting) {
			had = had || o->n;
			*p = o->next;
			owner_free(o);
		} else {
			had = had || (o->h == f && o->n);
			p = &o->next;
		}
	}
	pthread_mutex_unlock(&c->locks_mu);
	return had;
}

void locks_conn_lost(struct smb2_client *c)
{
	pthread_mutex_lock(&c->locks_mu);
	if (c->lock_waiters && c->conn)
		smb2_conn_kill(c->conn, -ECONNRESET);
	while (c->lock_waiters)
		pthread_cond_wait(&c->locks_cond, &c->locks_mu);
	pthread_mutex_unlock(&c->locks_mu);
}

void locks_reopened(struct smb2_client *c, struct smb2_file *f)
{
	/* Every range again on the new handle (the old one went with the
	 * connection).  The records are marked busy meanwhile, and no lock is
	 * held over a request.  A record another thread is changing is left
	 * to it: its request fails with the old connection and runs again. */
	struct lk_owner *todo[64];
	unsigned nt = 0;
	pthread_mutex_lock(&c->locks_mu);
	for (struct lk_owner *o = c->locks; o && nt < 64; o = o->next) {
		if (o->h == f && o->n && !o->busy) {
			o->busy = true;
			todo[nt++] = o;
		}
	}
	pthread_mutex_unlock(&c->locks_mu);
	for (unsigned t = 0; t < nt; t++) {
		struct lk_owner *o = todo[t];
		for (unsigned i = 0; i < o->n;) {
			struct lk_range x = o->r[i];
			struct lk_call a = {.f = f, .n = 1};
			a.el[0] = (struct smb2_lock_element){x.off, x.len,
				(x.excl ? SMB2_LOCKFLAG_EXCLUSIVE_LOCK : SMB2_LOCKFLAG_SHARED_LOCK) |
				SMB2_LOCKFLAG_FAIL_IMMEDIATELY};
			/* the client lock is held for writing: send directly */
			int r = op_lock_now(c, &a);
			if (r == 0) {
				i++;
				continue;
			}
			smb2_log_error("%s: byte-range %s lock %llu+%llu lost with the connection (%s)",
				       f->path, x.excl ? "write" : "read", (unsigned long long)x.off,
				       (unsigned long long)x.len, r == -EAGAIN ? "another client holds it" :
				       "not granted again");
			del_range(c, o, i);
		}
		give(c, o);
	}
}

/* Change notify: the one owner of the directory watches (MS-SMB2 3.2.4.13,
 * CHANGE_NOTIFY), which tell the filesystem layer when another client
 * changed a directory the kernel or the daemon has cached.
 *
 *  - A watch is one directory handle (CREATE with FILE_LIST_DIRECTORY,
 *    share read/write/delete) with one CHANGE_NOTIFY outstanding on it
 *    (names, attributes, size, last write; not the subtree).  The server
 *    answers STATUS_PENDING at once and the final reply when something
 *    changes; the watch is then armed again on the same handle, and the
 *    server keeps what changed in between for it.
 *  - Watches are asked for by the filesystem layer (smb2_notify_watch:
 *    a directory it listed, or in which it found a name missing) and
 *    made by one watcher thread, never by the caller: the CREATE and the
 *    CHANGE_NOTIFY go out from that thread (inside client_run, so a lost
 *    connection is rebuilt by it), which the receiver thread wakes when
 *    one of the requests ends (smb2_conn_on_done: a sem_post).
 *  - At most NOTIFY_MAX watches (the least recently asked for is closed
 *    first), and a watch not asked for again within the ttl the callback
 *    was installed with (the caches' lifetime) is closed: a handle of ours
 *    on a directory keeps other clients from renaming the directories
 *    above it on Samba, so it is kept only while it is useful.
 *  - Each reply becomes calls of the callback, from the watcher thread
 *    with no client lock held: (dir, name) for a name that changed, and
 *    (dir, NULL) when anything in dir may have changed: the server's
 *    overflow (STATUS_NOTIFY_ENUM_DIR), a watch just made (what changed
 *    between the listing and the watch is not reported), the directory
 *    itself gone.
 *  - Before our own rename or removal of a directory, the watches at and
 *    below it are closed (notify_close_below; Samba refuses to rename a
 *    directory with handles open below it, and a removed directory stays
 *    delete-pending while we hold it).  They come back when the
 *    filesystem layer asks again.
 *  - A reconnect loses every handle: notify_conn_lost (client lock held
 *    for writing) collects the requests and marks the watches to be
 *    opened again, which the watcher thread does on the new connection.
 *
 * Request objects (q) and handles are touched only by the watcher thread
 * with the client lock held for reading, or by notify_conn_lost / destroy
 * with it held for writing.  notify_mu (a leaf apart from the calls into
 * conn.c in notify_conn_lost) guards the list, `drop` and `used`. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_i.h"
#include "smb2fs/clock.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"
#include "smb2fs/sfm.h"

/* The watcher wakes when a request ends or work is asked for; else after
 * this, to close idle watches and retry failed ones. */
#define NOTIFY_TICK_MS 1000
#define NOTIFY_BUF 4096
#define NOTIFY_FILTER                                                                      \
	(FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_DIR_NAME |                       \
	 FILE_NOTIFY_CHANGE_ATTRIBUTES | FILE_NOTIFY_CHANGE_SIZE | FILE_NOTIFY_CHANGE_LAST_WRITE)
/* How long a closed watch's request may take to end before the
 * connection is given up on (the server must answer it). */
#define NOTIFY_END_MS 5000
#ifndef STATUS_NOTIFY_CLEANUP
#define STATUS_NOTIFY_CLEANUP 0x0000010Bu
#endif

struct smb2_watch {
	char *path;            /* POSIX path, as the filesystem layer named it */
	char *smb;             /* its SMB path (smb_path) */
	bool open;             /* id is a handle on the current connection */
	struct smb2_fileid id;
	struct smb2_req *q;    /* the outstanding CHANGE_NOTIFY, or NULL */
	bool fresh;            /* opened since the last callback of (path, NULL) */
	bool rearm;            /* opened again after a reconnect: what changed
				* meanwhile was not seen */
	bool drop;             /* to be closed and forgotten (notify_mu) */
	struct timespec used;  /* last asked for (notify_mu) */
	struct smb2_watch *next;
};

/* One callback to make after a step. */
struct notify_ev {
	char *dir;
	char *name;            /* NULL: the whole directory */
	uint32_t action;
	struct notify_ev *next;
};

static long ms_since(const struct timespec *t, const struct timespec *now)
{
	return (now->tv_sec - t->tv_sec) * 1000L + (now->tv_nsec - t->tv_nsec) / 1000000L;
}

static void ev_add(struct notify_ev ***tail, const char *dir, const char *name, uint32_t action)
{
	struct notify_ev *e = calloc(1, sizeof(*e));
	if (!e)
		return;
	e->action = action;
	e->dir = strdup(dir);
	e->name = name ? strdup(name) : NULL;
	if (!e->dir || (name && !e->name)) {
		free(e->dir);
		free(e->name);
		free(e);
		return;
	}
	**tail = e;
	*tail = &e->next;
}

static void watch_free(struct smb2_watch *w)
{
	free(w->path);
	free(w->smb);
	free(w);
}

/* ---- the requests (watcher thread, client lock held for reading) ---- */

/* A request ended (the receiver thread, conn.mu held): only a post. */
static void wake(void *arg)
{
	struct smb2_client *c = arg;
	sem_post(&c->notify_sem);
}

static int arm(struct smb2_client *c, struct smb2_watch *w)
{
	struct smb2_change_notify_req q = {.flags = 0, .output_buffer_length = NOTIFY_BUF,
					   .file_id = w->id, .completion_filter = NOTIFY_FILTER};
	struct wbuf b;
	req_start(c, &b, SMB2_CHANGE_NOTIFY);
	int r = wbuf_check(&b, smb2_change_notify_encode(&b, &q));
	if (r == 0)
		r = smb2_conn_submit(c->conn, &b, NOTIFY_BUF, c->timeout_sec, &w->q);
	wbuf_free(&b);
	if (r < 0) {
		w->q = NULL;
		return smb2_conn_alive(c->conn) ? r : -ECONNRESET;
	}
	smb2_conn_no_deadline(c->conn, w->q);
	smb2_conn_on_done(c->conn, w->q, wake, c);
	return 0;
}

/* name left dir: a watch of ours on dir/name now watches a directory
 * elsewhere (or one being removed), under a path that is no longer its. */
static void drop_child(struct smb2_client *c, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	bool root = dl == 1 && dir[0] == '/';
	pthread_mutex_lock(&c->notify_mu);
	for (struct smb2_watch *w = c->watches; w; w = w->next) {
		const char *p = w->path;
		if (!root && (strncmp(p, dir, dl) != 0 || p[dl] != '/'))
			continue;
		p += root ? 1 : dl + 1;
		if (strncmp(p, name, nl) == 0 && p[nl] == '\0')
			w->drop = true;
	}
	pthread_mutex_unlock(&c->notify_mu);
}

/* The names of a reply, as callbacks; a malformed one is an overflow. */
struct walk_ctx {
	struct smb2_client *c;
	struct smb2_watch *w;
	struct notify_ev ***tail;
	bool overflow;
};

static int take_name(const struct fscc_notify *e, void *arg)
{
	struct walk_ctx *x = arg;
	size_t n = strlen(e->name);
	if (n == 0 || n > 4 * SFM_NAME_MAX || memchr(e->name, '\\', n) || memchr(e->name, '/', n)) {
		x->overflow = true; /* not one name of this directory */
		return 1;
	}
	char name[4 * SFM_NAME_MAX + 1];
	if (x->c->mapposix)
		sfm_name_from_smb(e->name, n, name);
	else
		memcpy(name, e->name, n + 1);
	ev_add(x->tail, x->w->path, name, e->action);
	if (e->action == FILE_ACTION_REMOVED || e->action == FILE_ACTION_RENAMED_OLD_NAME)
		drop_child(x->c, x->w->path, name);
	return 0;
}

/* Collects w's finished request; returns a transport error when the
 * connection went (the watch is then opened again after the reconnect). */
static int collect(struct smb2_client *c, struct smb2_watch *w, struct notify_ev ***tail)
{
	struct smb2_reply rep;
	int r = smb2_conn_wait(c->conn, w->q, &rep);
	w->q = NULL;
	if (r < 0) {
		w->open = false;
		w->rearm = true;
		return err_is_transport(r) ? r : -ECONNRESET;
	}
	uint32_t st = rep.hdr.status;
	if (st == STATUS_SUCCESS) {
		const uint8_t *buf;
		uint32_t len;
		struct walk_ctx x = {c, w, tail, false};
		if (smb2_change_notify_decode(rep.msg, rep.len, &buf, &len) < 0 ||
		    fscc_notify_walk(buf, len, take_name, &x) < 0 || x.overflow || len == 0)
			/* an empty buffer is the server's overflow too */
			ev_add(tail, w->path, NULL, SMB2_NOTIFY_ANY);
	} else if (st == STATUS_NOTIFY_ENUM_DIR) {
		ev_add(tail, w->path, NULL, SMB2_NOTIFY_ANY);
	} else if (st == STATUS_NOTIFY_CLEANUP || st == STATUS_CANCELLED) {
		/* we closed or cancelled it */
	} else {
		/* STATUS_DELETE_PENDING (the directory is being removed), a
		 * session or tree gone, ...: close it so a removal can finish,
		 * and let the filesystem layer look again. */
		smb2_log_debug("change notify on %s ended: %s", w->smb, nt_status_name(st));
		ev_add(tail, w->path, NULL, SMB2_NOTIFY_ANY);
		pthread_mutex_lock(&c->notify_mu);
		w->drop = true;
		pthread_mutex_unlock(&c->notify_mu);
		if (st == STATUS_USER_SESSION_DELETED || st == STATUS_NETWORK_NAME_DELETED ||
		    st == STATUS_NETWORK_SESSION_EXPIRED)
			w->open = false;
	}
	smb2_reply_free(&rep);
	return 0;
}

/* Closes w's handle (its request ends with STATUS_NOTIFY_CLEANUP). */
static int close_watch(struct smb2_client *c, struct smb2_watch *w)
{
	if (!w->open)
		return 0;
	w->open = false;
	if (w->q)
		(void)smb2_conn_cancel(c->conn, w->q);
	int r = file_close_id(c, &w->id);
	if (w->q) {
		if (!smb2_conn_wait_for(c->conn, w->q, NOTIFY_END_MS)) {
			smb2_log_error("change notify on %s did not end when closed: dropping the "
				       "connection", w->smb);
			smb2_conn_kill(c->conn, -ETIMEDOUT);
		}
		struct smb2_reply rep;
		if (smb2_conn_wait(c->conn, w->q, &rep) == 0)
			smb2_reply_free(&rep);
		w->q = NULL;
	}
	return err_is_transport(r) ? r : 0;
}

struct step {
	struct notify_ev **tail;
	bool stopping;         /* close every watch */
};

/* One pass over the watches (client_run op). */
static int op_step(struct smb2_client *c, void *arg)
{
	struct step *s = arg;
	struct smb2_watch *ws[4 * NOTIFY_MAX];
	unsigned n = 0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&c->notify_mu);
	for (struct smb2_watch *w = c->watches; w && n < 4 * NOTIFY_MAX; w = w->next) {
		if (s->stopping || ms_since(&w->used, &now) > c->notify_ttl_ms)
			w->drop = true;
		ws[n++] = w;
	}
	pthread_mutex_unlock(&c->notify_mu);
	int err = 0;
	for (unsigned i = 0; i < n && !err; i++) {
		struct smb2_watch *w = ws[i];
		if (w->q && smb2_conn_done(c->conn, w->q))
			err = collect(c, w, &s->tail);
		if (err)
			break;
		pthread_mutex_lock(&c->notify_mu);
		bool drop = w->drop;
		pthread_mutex_unlock(&c->notify_mu);
		if (drop) {
			err = close_watch(c, w);
			if (err)
				break;
			pthread_mutex_lock(&c->notify_mu);
			for (struct smb2_watch **p = &c->watches; *p; p = &(*p)->next) {
				if (*p == w) {
					*p = w->next;
					break;
				}
			}
			c->n_watches--;
			pthread_cond_broadcast(&c->notify_cond);
			pthread_mutex_unlock(&c->notify_mu);
			watch_free(w);
			continue;
		}
		if (!w->open) {
			struct smb2_create_rsp cr;
			int r = file_create(c, w->smb, FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES |
					    SYNCHRONIZE, FILE_OPEN, FILE_DIRECTORY_FILE, 0, &w->id, &cr);
			if (err_is_transport(r)) {
				err = r;
				break;
			}
			if (r < 0) {
				/* gone, not a directory, not ours to watch
				 * (a removal shows in its parent's watch) */
				smb2_log_debug("cannot watch %s: %d", w->smb, r);
				pthread_mutex_lock(&c->notify_mu);
				w->drop = true;
				pthread_mutex_unlock(&c->notify_mu);
				continue;
			}
			w->open = true;
			w->fresh = true;
		}
		if (!w->q) {
			int r = arm(c, w);
			if (r < 0) {
				err = err_is_transport(r) ? r : 0;
				if (!err) {
					smb2_log_debug("cannot watch %s: %d", w->smb, r);
					pthread_mutex_lock(&c->notify_mu);
					w->drop = true;
					pthread_mutex_unlock(&c->notify_mu);
				}
				continue;
			}
			if (w->fresh)
				ev_add(&s->tail, w->path, NULL,
				       w->rearm ? SMB2_NOTIFY_ANY : SMB2_NOTIFY_WATCHED);
			w->rearm = false;
			w->fresh = false;
		}
	}
	return err;
}

static void deliver(struct smb2_client *c, struct notify_ev *e)
{
	while (e) {
		struct notify_ev *n = e->next;
		pthread_mutex_lock(&c->notify_cb_mu);
		if (c->notify_cb)
			c->notify_cb(c->notify_cb_arg, e->dir, e->name, e->action);
		pthread_mutex_unlock(&c->notify_cb_mu);
		free(e->dir);
		free(e->name);
		free(e);
		e = n;
	}
}

static void *watcher(void *arg)
{
	struct smb2_client *c = arg;
	pthread_mutex_lock(&c->notify_mu);
	for (;;) {
		bool stop = c->notify_stop;
		bool any = c->watches != NULL;
		pthread_mutex_unlock(&c->notify_mu);
		if (any) {
			struct notify_ev *evs = NULL;
			struct step s = {&evs, stop};
			int r = client_run(c, op_step, &s);
			if (r < 0 && r != -EINTR && r != -ENOTCONN)
				smb2_log_debug("change notify: %d", r);
			deliver(c, evs);
		}
		if (stop)
			break;
		struct timespec until;
		smb2_clock_after_ms(CLOCK_MONOTONIC, NOTIFY_TICK_MS, &until);
		(void)sem_clockwait(&c->notify_sem, CLOCK_MONOTONIC, &until);
		while (sem_trywait(&c->notify_sem) == 0)
			; /* one pass serves every post so far */
		pthread_mutex_lock(&c->notify_mu);
	}
	return NULL;
}

/* ---- the rest of the client ---- */

void notify_init(struct smb2_client *c)
{
	pthread_mutex_init(&c->notify_mu, NULL);
	pthread_mutex_init(&c->notify_cb_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->notify_cond, &ca);
	pthread_condattr_destroy(&ca);
	sem_init(&c->notify_sem, 0, 0);
}

void notify_stop(struct smb2_client *c)
{
	pthread_mutex_lock(&c->notify_mu);
	bool running = c->notify_running;
	c->notify_stop = true;
	pthread_mutex_unlock(&c->notify_mu);
	sem_post(&c->notify_sem);
	if (running)
		pthread_join(c->notify_thread, NULL);
	c->notify_running = false;
}

void notify_conn_lost(struct smb2_client *c)
{
	pthread_mutex_lock(&c->notify_mu);
	bool killed = false;
	for (struct smb2_watch *w = c->watches; w; w = w->next) {
		if (w->q && c->conn) {
			if (!killed)
				smb2_conn_kill(c->conn, -ECONNRESET);
			killed = true;
			struct smb2_reply rep;
			if (smb2_conn_wait(c->conn, w->q, &rep) == 0)
				smb2_reply_free(&rep);
		}
		w->q = NULL;
		w->open = false;
		w->rearm = true;
	}
	pthread_mutex_unlock(&c->notify_mu);
}

void notify_destroy(struct smb2_client *c)
{
	notify_conn_lost(c);
	for (struct smb2_watch *w = c->watches, *n; w; w = n) {
		n = w->next;
		watch_free(w);
	}
	c->watches = NULL;
	pthread_cond_destroy(&c->notify_cond);
	pthread_mutex_destroy(&c->notify_mu);
	sem_destroy(&c->notify_sem);
	pthread_mutex_destroy(&c->notify_cb_mu);
}

static bool at_or_below(const char *p, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 0)
		return true;
	return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '\\');
}

void notify_close_below(struct smb2_client *c, const char *smbdir)
{
	pthread_mutex_lock(&c->notify_mu);
	unsigned marked = 0;
	for (struct smb2_watch *w = c->watches; w; w = w->next) {
		if (at_or_below(w->smb, smbdir)) {
			w->drop = true;
			marked++;
		}
	}
	if (marked && c->notify_running) {
		sem_post(&c->notify_sem);
		/* until the watcher closed them (bounded: it may be waiting
		 * for the server itself) */
		struct timespec until;
		smb2_clock_after_ms(CLOCK_MONOTONIC, 5000, &until);
		for (;;) {
			bool left = false;
			for (struct smb2_watch *w = c->watches; w && !left; w = w->next)
				left = at_or_below(w->smb, smbdir) && w->drop;
			if (!left || pthread_cond_clockwait(&c->notify_cond, &c->notify_mu,
							    CLOCK_MONOTONIC, &until) == ETIMEDOUT)
				break;
		}
	}
	pthread_mutex_unlock(&c->notify_mu);
}

void smb2_client_set_notify_cb(struct smb2_client *c, smb2_notify_cb fn, void *arg,
			       unsigned ttl_sec)
{
	pthread_mutex_lock(&c->notify_cb_mu);
	c->notify_cb = fn;
	c->notify_cb_arg = arg;
	pthread_mutex_unlock(&c->notify_cb_mu);
	pthread_mutex_lock(&c->notify_mu);
	c->notify_ttl_ms = (long)(ttl_sec ? ttl_sec : 1) * 1000L;
	if (fn && !c->notify_running && !c->notify_stop) {
		if (pthread_create(&c->notify_thread, NULL, watcher, c) == 0)
			c->notify_running = true;
		else
			smb2_log_error("cannot start the change-notify thread: directories are not "
				       "watched");
	}
	pthread_mutex_unlock(&c->notify_mu);
}

void smb2_notify_watch(struct smb2_client *c, const char *posix_dir)
{
	pthread_mutex_lock(&c->notify_mu);
	if (!c->notify_running || c->notify_stop) {
		pthread_mutex_unlock(&c->notify_mu);
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct smb2_watch *lru = NULL;
	unsigned live = 0;
	for (struct smb2_watch *w = c->watches; w; w = w->next) {
		if (w->drop)
			continue;
		if (strcmp(w->path, posix_dir) == 0) {
			w->used = now;
			pthread_mutex_unlock(&c->notify_mu);
			return;
		}
		live++;
		if (!lru || ms_since(&w->used, &lru->used) < 0)
			lru = w;
	}
	if (c->n_watches >= 4 * NOTIFY_MAX) {
		pthread_mutex_unlock(&c->notify_mu); /* the watcher is behind */
		return;
	}
	struct smb2_watch *w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(posix_dir)) || smb_path(c, posix_dir, &w->smb) < 0) {
		if (w)
			free(w->path);
		free(w);
		pthread_mutex_unlock(&c->notify_mu);
		return;
	}
	if (live >= NOTIFY_MAX && lru)
		lru->drop = true;
	w->used = now;
	w->next = c->watches;
	c->watches = w;
	c->n_watches++;
	pthread_mutex_unlock(&c->notify_mu);
	sem_post(&c->notify_sem);
}

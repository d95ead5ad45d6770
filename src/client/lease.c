/* Leases (SMB 2.1+): the one owner of lease state.
 *
 * Every file open of ours asks for a read+write lease (MS-SMB2 3.2.4.3.8)
 * with one key per file path, shared by all our handles on that file, so
 * our own opens never break each other.  What a lease buys:
 *  - write caching: another client's open of the file makes the server
 *    break our W first, and we send the data write-behind still holds
 *    before acknowledging, so the other client sees it;
 *  - read caching: while R is held nobody else changes the data, so the
 *    kernel's pages stay valid across our opens of the file; when another
 *    client writes, the server breaks R and the kernel's pages and our
 *    cached attributes for the file are dropped.
 *  - handle caching: a read-only handle is not closed at once, so the
 *    lease, and with it the kernel's pages, outlive close() until the
 *    next open (handles.c, deferred close); any break closes such
 *    handles.
 *
 * Breaks arrive on the connection's receiver thread (smb2_conn_set_notify)
 * and are handled by one worker thread here, which may wait (for queued
 * writes, for the kernel) without stalling replies.  A break notification
 * is not signed (MS-SMB2 3.3.4.7: SessionId 0); a forged one can only make
 * us cache less, never weaken anything.
 *
 * Locking: lease_mu guards the table, the queue and every record's fields;
 * it is a leaf (nothing else is taken while it is held).  The worker calls
 * the cache callback and sends acknowledgments holding no lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/clock.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"
#include "smb2fs/sfm.h"

#define LEASE_TICK_MS 500
#define LEASE_WANT (SMB2_LEASE_READ_CACHING | SMB2_LEASE_WRITE_CACHING | SMB2_LEASE_HANDLE_CACHING)

/* A break (or, with ack false and key unused, a reconnect's loss) waiting
 * for the worker. */
struct lease_work {
	struct smb2_lease_break b;
	bool from_server;         /* false: synthetic, after a reconnect */
	bool at_open;             /* from_server: a CREATE reply's "break in
				   * progress", not a notification */
	bool rx_counted;          /* in its record's breaks_rx */
	char *path;               /* synthetic: the path that lost its lease */
	uint32_t lost;            /* synthetic: what it lost */
	struct lease_work *next;
};

static bool leasing_now(const struct smb2_client *c)
{
	return c->leasing && c->dialect >= SMB2_DIALECT_210 &&
	       (c->server_caps & SMB2_GLOBAL_CAP_LEASING);
}

struct smb2_lease *lease_hold(struct smb2_client *c, const char *smbpath)
{
	if (!c->leasing)
		return NULL;
	pthread_mutex_lock(&c->lease_mu);
	struct smb2_lease *l;
	for (l = c->leases; l; l = l->next)
		if (l->path && strcmp(l->path, smbpath) == 0)
			break;
	if (l) {
		l->refs++;
		pthread_mutex_unlock(&c->lease_mu);
		return l;
	}
	l = calloc(1, sizeof(*l));
	if (l)
		l->path = strdup(smbpath);
	if (!l || !l->path) {
		free(l);
		pthread_mutex_unlock(&c->lease_mu);
		return NULL; /* no lease: the open works without caching */
	}
	smb2_random(l->key, sizeof(l->key));
	l->refs = 1;
	l->next = c->leases;
	c->leases = l;
	pthread_mutex_unlock(&c->lease_mu);
	return l;
}

void lease_drop(struct smb2_client *c, struct smb2_lease *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&c->lease_mu);
	if (--l->refs == 0) {
		/* The server ends the lease with the key's last handle. */
		for (struct smb2_lease **pp = &c->leases; *pp; pp = &(*pp)->next) {
			if (*pp == l) {
				*pp = l->next;
				break;
			}
		}
		free(l->path);
		free(l);
	}
	pthread_mutex_unlock(&c->lease_mu);
}

bool lease_request(struct smb2_client *c, struct smb2_lease *l, struct lease_ask *ask)
{
	memset(ask, 0, sizeof(*ask));
	if (!l || !leasing_now(c))
		return false;
	pthread_mutex_lock(&c->lease_mu);
	memcpy(ask->ctx.key, l->key, sizeof(l->key));
	ask->had_read = l->live > 0 && (l->state & SMB2_LEASE_READ_CACHING);
	ask->breaks = l->breaks;
	ask->breaks_rx = l->breaks_rx;
	pthread_mutex_unlock(&c->lease_mu);
	ask->ctx.state = LEASE_WANT;
	/* MS-SMB2 3.2.4.3.8: the v2 form on 3.x */
	ask->ctx.v2 = c->dialect >= SMB2_DIALECT_300;
	return true;
}

/* The record needs no reclaim (lease_mu held). */
static void reclaim_done(struct smb2_lease *l)
{
	l->read_lost = false;
	l->reclaim_wait = l->reclaim_gap = l->reclaim_refused = 0;
}

/* R was taken from l while handles of ours are open on it (lease_mu
 * held): the reclaimer asks for it again. */
static void reclaim_want(struct smb2_client *c, struct smb2_lease *l)
{
	if (l->live == 0 || !l->path)
		return;
	reclaim_done(l);
	l->read_lost = true;
	pthread_cond_signal(&c->reclaim_cond);
}

static void enqueue(struct smb2_client *c, struct lease_work *w)
{
	pthread_mutex_lock(&c->lease_mu);
	if (c->lease_tail)
		c->lease_tail->next = w;
	else
		c->lease_head = w;
	c->lease_tail = w;
	pthread_cond_signal(&c->lease_cond);
	pthread_mutex_unlock(&c->lease_mu);
}

/* The first CREATE reply for a key after a lost connection granted its
 * lease with a break in progress (SMB2_LEASE_FLAG_BREAK_IN_PROGRESS): its
 * notification may have gone into the connection that is gone (sent
 * while the old one was already dead; a break begun later is told on
 * this connection, and the worker acknowledges it then).  The server
 * holds every other open of the file until we acknowledge it (Samba
 * 4.17, even after our reopen by name with the key: another client's
 * open and our own rename waited over 20 s in test_durable, 80 s and
 * three reconnects under load before this acknowledgment existed).
 * Nothing says what the break is to, so the worker handles it as a
 * break to nothing, which is a subset of any: queued writes go out, the
 * kernel's pages go, the acknowledgment names no caching, and the
 * reclaimer asks for R again afterwards. */
static void ack_break_in_progress(struct smb2_client *c, const struct smb2_lease_ctx *got)
{
	struct lease_work *w = calloc(1, sizeof(*w));
	if (!w)
		return; /* the other client waits, as before: slow, not wrong */
	memcpy(w->b.key, got->key, sizeof(w->b.key));
	w->b.current_state = got->state;
	w->b.new_state = 0;
	w->b.new_epoch = got->epoch;
	w->b.flags = SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED;
	w->from_server = true;
	w->at_open = true;
	enqueue(c, w);
}

bool lease_granted(struct smb2_client *c, struct smb2_lease *l, const struct lease_ask *ask,
		   const struct smb2_lease_ctx *got, const struct smb2_create_rsp *cr,
		   bool new_handle)
{
	uint32_t state = got ? got->state & LEASE_WANT : 0;
	bool breaking = got && (got->flags & SMB2_LEASE_FLAG_BREAK_IN_PROGRESS);
	pthread_mutex_lock(&c->lease_mu);
	/* A break in progress at other times is one this connection's
	 * notification tells of (the worker acknowledges it then). */
	bool lost_notice = breaking && l->after_loss;
	if (got)
		l->after_loss = false;
	/* A break the worker applied while this CREATE was out may be older
	 * or newer than the grant: keep only what both allow. */
	if (l->breaks != ask->breaks)
		state &= l->broken_to;
	l->state = state;
	if (got && got->v2)
		l->epoch = got->epoch;
	if (new_handle) {
		l->live++;
		__atomic_add_fetch(&c->leases_live, 1, __ATOMIC_RELAXED);
		/* a new open: the reclaimer tries again if it had given up */
		l->reclaim_refused = 0;
		if (l->read_lost)
			pthread_cond_signal(&c->reclaim_cond);
	}
	if (state & SMB2_LEASE_READ_CACHING)
		reclaim_done(l);
	/* The kernel's pages for the file stay valid if R was held all along
	 * since another handle of ours opened it (which dropped them): no
	 * break, no reconnect, no moment without a handle (lease_closing).
	 * A break the receiver took (before this reply: it delivers in
	 * order) that the worker has not applied yet counts too: the server
	 * grants R again to this CREATE once the other client's write is
	 * done, and the pages are from before it. */
	bool keep = ask->had_read && l->breaks == ask->breaks && (state & SMB2_LEASE_READ_CACHING) &&
		    l->breaks_rx == ask->breaks_rx && l->breaks_rx_done == l->breaks_rx &&
		    !breaking;
	/* And the data is as the key's last open saw it: Samba grants R to
	 * this CREATE before its smbd tells us of the break another client's
	 * write made (that comes later, from another process), so R alone
	 * kept an older version's pages (2 % of reads after another mount's
	 * rewrite, test_leases). */
	if (cr) {
		keep = keep && l->seen && l->seen_size == cr->end_of_file &&
		       l->seen_mtime == cr->last_write_time && l->seen_ctime == cr->change_time;
		l->seen = true;
		l->seen_size = cr->end_of_file;
		l->seen_mtime = cr->last_write_time;
		l->seen_ctime = cr->change_time;
	}
	pthread_mutex_unlock(&c->lease_mu);
	if (lost_notice)
		ack_break_in_progress(c, got);
	return keep;
}

static bool lease_has(struct smb2_client *c, struct smb2_lease *l, uint32_t bits)
{
	if (!l)
		return false;
	pthread_mutex_lock(&c->lease_mu);
	bool r = (l->state & bits) == bits;
	pthread_mutex_unlock(&c->lease_mu);
	return r;
}

bool lease_caches_handle(struct smb2_client *c, struct smb2_lease *l)
{
	return lease_has(c, l, SMB2_LEASE_READ_CACHING | SMB2_LEASE_HANDLE_CACHING);
}

void lease_closing(struct smb2_client *c, struct smb2_lease *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&c->lease_mu);
	if (l->live > 0) {
		__atomic_sub_fetch(&c->leases_live, 1, __ATOMIC_RELAXED);
		if (--l->live == 0) {
			l->breaks++; /* the lease may end: as good as a break */
			reclaim_done(l);
		}
	}
	pthread_mutex_unlock(&c->lease_mu);
}

void lease_forget_path(struct smb2_client *c, const char *smbpath)
{
	pthread_mutex_lock(&c->lease_mu);
	for (struct smb2_lease *l = c->leases; l; l = l->next) {
		if (l->path && strcmp(l->path, smbpath) == 0) {
			/* The name now leads elsewhere; the key stays the old
			 * file's (the server refuses one key on two files). */
			free(l->path);
			l->path = NULL;
		}
	}
	pthread_mutex_unlock(&c->lease_mu);
}

void leases_renamed(struct smb2_client *c, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);
	pthread_mutex_lock(&c->lease_mu);
	for (struct smb2_lease *l = c->leases; l; l = l->next) {
		if (!l->path || strncmp(l->path, from, fl) != 0 ||
		    (l->path[fl] != '\0' && l->path[fl] != '\\'))
			continue;
		size_t rest = strlen(l->path + fl);
		char *p = malloc(tl + rest + 1);
		if (p) {
			memcpy(p, to, tl);
			memcpy(p + tl, l->path + fl, rest + 1);
		}
		free(l->path);
		l->path = p; /* NULL: no longer found by name, still by key */
	}
	pthread_mutex_unlock(&c->lease_mu);
}

/* ---- breaks ---- */

void lease_notify(void *arg, const uint8_t *msg, size_t len)
{
	struct smb2_client *c = arg;
	struct smb2_hdr h;
	if (!msg) {
		leases_conn_lost(c); /* the connection ended */
		return;
	}
	if (smb2_hdr_decode(msg, len, &h) < 0 || h.command != SMB2_OPLOCK_BREAK) {
		smb2_log_debug("unsolicited message that is not a break: ignored");
		return;
	}
	struct lease_work *w = calloc(1, sizeof(*w));
	if (!w)
		return; /* the server times the break out: slow, not wrong */
	int r = smb2_break_notify_decode(msg, len, &w->b);
	if (r != 1) {
		/* We ask for no oplocks, so an oplock break is not ours. */
		smb2_log_debug("%s break notification ignored", r == 0 ? "oplock" : "malformed");
		free(w);
		return;
	}
	w->from_server = true;
	/* counted here, on the receiver thread, before any reply after it
	 * reaches its caller (lease_granted) */
	pthread_mutex_lock(&c->lease_mu);
	for (struct smb2_lease *l = c->leases; l; l = l->next) {
		if (memcmp(l->key, w->b.key, sizeof(l->key)) == 0) {
			l->breaks_rx++;
			w->rx_counted = true;
			break;
		}
	}
	pthread_mutex_unlock(&c->lease_mu);
	enqueue(c, w);
}

void leases_conn_lost(struct smb2_client *c)
{
	/* The server dropped every lease with the connection: from now on
	 * anyone can write, so what the kernel cached goes, at once (a reader
	 * served from the page cache would not even notice the reconnect).
	 * The worker does it: reconnect calls this with the client lock held
	 * for writing, and the kernel may need our FUSE threads to let go of
	 * its pages. */
	pthread_mutex_lock(&c->lease_mu);
	struct lease_work *head = NULL;
	for (struct smb2_lease *l = c->leases; l; l = l->next) {
		uint32_t lost = l->state;
		l->state = 0;
		l->broken_to = 0;
		l->breaks++;
		l->after_loss = true;
		/* the reopens ask again; one that gets no R leaves it to the
		 * reclaimer */
		if (lost & SMB2_LEASE_READ_CACHING)
			reclaim_want(c, l);
		if (!lost || !l->path)
			continue;
		struct lease_work *w = calloc(1, sizeof(*w));
		if (!w || !(w->path = strdup(l->path))) {
			free(w);
			continue;
		}
		w->lost = lost;
		w->next = head;
		head = w;
	}
	pthread_mutex_unlock(&c->lease_mu);
	while (head) {
		struct lease_work *n = head->next;
		head->next = NULL;
		enqueue(c, head);
		head = n;
	}
}

/* SMB path -> the POSIX path the filesystem layer knows (below the
 * mount's prefix directory, when it has one; with mapposix each name
 * mapped back from its SFM form, as listings are). */
static char *posix_path(const struct smb2_client *c, const char *smbpath)
{
	if (c->prefix_smb) {
		size_t pl = strlen(c->prefix_smb);
		if (strncmp(smbpath, c->prefix_smb, pl) == 0 &&
		    (smbpath[pl] == '\\' || smbpath[pl] == '\0'))
			smbpath += pl + (smbpath[pl] == '\\');
	}
	/* a name never grows back (sfm_name_from_smb) */
	char *p = malloc(strlen(smbpath) + 2);
	if (!p)
		return NULL;
	size_t o = 0;
	for (const char *s = smbpath;; s++) {
		size_t len = strcspn(s, "\\");
		p[o++] = '/';
		if (c->mapposix) {
			o += sfm_name_from_smb(s, len, p + o);
		} else {
			memcpy(p + o, s, len);
			o += len;
		}
		s += len;
		if (!*s)
			break;
	}
	p[o] = '\0';
	return p;
}

static void tell_cache(struct smb2_client *c, const char *smbpath, uint32_t lost)
{
	char *p = posix_path(c, smbpath);
	if (!p)
		return;
	pthread_mutex_lock(&c->lease_cb_mu);
	if (c->lease_cb)
		c->lease_cb(c->lease_cb_arg, p, lost);
	pthread_mutex_unlock(&c->lease_cb_mu);
	free(p);
}

struct ack_args {
	const uint8_t *key;
	uint32_t state;
	uint64_t gen; /* the connection the break came on */
};

static int op_ack(struct smb2_client *c, void *arg)
{
	struct ack_args *a = arg;
	if (c->gen != a->gen)
		return 0; /* reconnected: the lease went with the connection */
	struct smb2_reply rep;
	struct wbuf w;
	uint32_t status = 0;
	req_start(c, &w, SMB2_OPLOCK_BREAK);
	int r = req_call(c, &w, smb2_lease_ack_encode(&w, a->key, a->state), 0, &rep, 0, &status);
	if (r == 0)
		smb2_reply_free(&rep);
	else
		/* e.g. the lease already ended with its last handle */
		smb2_log_debug("lease break acknowledgment: %s", nt_status_name(status));
	return r;
}

static void handle_break(struct smb2_client *c, struct lease_work *w)
{
	char *path = NULL;
	uint32_t lost = 0;
	const struct smb2_lease *broken = NULL;
	if (w->from_server) {
		pthread_mutex_lock(&c->lease_mu);
		struct smb2_lease *l = c->leases;
		while (l && memcmp(l->key, w->b.key, sizeof(l->key)) != 0)
			l = l->next;
		if (l) {
			lost = l->state & ~w->b.new_state;
			l->state &= w->b.new_state;
			l->broken_to = w->b.new_state;
			l->breaks++;
			if (w->rx_counted)
				l->breaks_rx_done++;
			l->epoch = w->b.new_epoch;
			if (lost & SMB2_LEASE_READ_CACHING)
				reclaim_want(c, l);
			path = l->path ? strdup(l->path) : NULL;
			broken = l;
		}
		pthread_mutex_unlock(&c->lease_mu);
		if (w->at_open)
			smb2_log_debug("lease break in progress at an open of %s (its notice was "
				       "lost with a connection): 0x%x -> 0x0, ack",
				       path ? path : "(no open file)", w->b.current_state);
		else
			smb2_log_debug("lease break %s: 0x%x -> 0x%x%s",
				       path ? path : "(no open file)", w->b.current_state,
				       w->b.new_state,
				       (w->b.flags & SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED) ?
				       ", ack" : "");
	} else {
		path = w->path;
		w->path = NULL;
		lost = w->lost;
	}
	/* Handles kept after close() go at any break: another client is at
	 * the file (opening it, to write, rename or delete it: Samba breaks
	 * only W when another client opens to delete, and a kept handle
	 * would then leave the file delete-pending).  Closing the last may
	 * end the lease before the acknowledgment; the server then refuses
	 * the acknowledgment, which is harmless.  (Compared by address only:
	 * the record stays while any handle uses it.) */
	if (broken)
		files_close_deferred_lease(c, broken);
	if (path && lost) {
		/* Losing W: what the kernel holds dirty (cache=loose) comes to
		 * us first, then everything queued goes to the server, before
		 * the acknowledgment lets the other client in. */
		tell_cache(c, path, lost);
		if (lost & SMB2_LEASE_WRITE_CACHING) {
			int r = wb_drain_path(c, path);
			if (r < 0)
				smb2_log_debug("lease break %s: queued writes: %d", path, r);
		}
	}
	if (w->from_server && (w->b.flags & SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED)) {
		/* On this connection only (after a reconnect the lease is gone
		 * anyway), but after a re-login if the session expired: the
		 * other client waits for this acknowledgment. */
		struct ack_args a = {w->b.key, w->b.new_state, 0};
		pthread_rwlock_rdlock(&c->lock);
		a.gen = c->gen;
		bool up = c->state == CLIENT_UP;
		pthread_rwlock_unlock(&c->lock);
		if (up)
			(void)client_run(c, op_ack, &a);
	}
	free(path);
}

/* ---- taking read caching back ----
 *
 * A break takes R for good: the server grants it again only to a CREATE
 * that asks, and ours all came before the break.  A descriptor that stays
 * open would then keep the kernel's pages and attributes with nothing to
 * say when another client changes the file again (Samba breaks R on every
 * other client's write, but there is no R any more), so a reader would
 * see the second rewrite only after actimeo, or never.  So the worker
 * flags a record a break took R from while handles of ours are open on it
 * (read_lost; also every such record when the connection is lost), and
 * this thread, every tick (RECLAIM_TICK_MS) while the client is up, tries
 * each flagged record that is due: CREATE with the file's lease key
 * asking for the full lease (the server grants it to the key, for the
 * handles already open too, once the other client's open allows it) and
 * its CLOSE, in one frame.  At each try, whatever the answer, the
 * kernel's pages and attributes of the file go first (changed between the
 * break and the grant, or no lease to tell of the next change), and only
 * then is the grant published (lease_granted): what a reader sees is at
 * most a second old, then exact again under the new lease.  Refused tries
 * back off to one in RECLAIM_GAP_MAX ticks (under the second
 * docs/posix.md gives); after RECLAIM_TRIES_MAX refusals the record waits
 * for the next open of the file (the attribute cache's actimeo then
 * bounds what a held descriptor sees).  Records never flagged (no lease
 * on the share, an open the server gave no R) are never asked for; with
 * nothing flagged the thread sleeps until a break flags one.
 *
 * Its own thread, not the worker: the CREATE may wait for the server to
 * break a lease of ours on another name of the file (a hard link has its
 * own key), and that break needs the worker. */
#define RECLAIM_TICK_MS 250
#define RECLAIM_GAP_MAX 3 /* ticks from one try to the next (750 ms) */
#define RECLAIM_TRIES_MAX 16

static bool reclaim_flagged(const struct smb2_lease *l)
{
	return l->read_lost && l->path && l->live > 0 && l->reclaim_refused < RECLAIM_TRIES_MAX;
}

struct reclaim_args {
	const char *path;
	struct lease_ask ask;
	struct smb2_lease_ctx got;
	bool asked;           /* the server answered the CREATE */
	bool gone;            /* ... with an error: no file by the name */
};

/* CREATE (with the lease context) + CLOSE in one frame, with the client
 * lock held for reading by the caller. */
static int op_reclaim(struct smb2_client *c, void *arg)
{
	struct reclaim_args *a = arg;
	uint8_t data[SMB2_LEASE_V2_SIZE];
	struct smb2_create_context ctx = {.name = SMB2_CREATE_LEASE_TAG, .data = data};
	ctx.data_len = smb2_lease_ctx_encode(&a->ask.ctx, data);
	struct smb2_create_req q;
	/* READ_DATA: Samba grants no lease to an open for attributes only */
	file_create_req(&q, a->path, FILE_READ_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE, FILE_OPEN,
			FILE_NON_DIRECTORY_FILE, 0);
	q.contexts = &ctx;
	q.n_contexts = 1;
	q.oplock_level = SMB2_OPLOCK_LEVEL_LEASE;
	struct pchain p;
	pchain_start_req(&p, c, &q);
	int r = pchain_run(&p, true, 0);
	struct smb2_create_rsp cr;
	if (r == 0 && pchain_create_rsp(&p, &cr) == 0)
		a->asked = file_reply_lease(&cr, &a->ask, &a->got) == 0;
	else if (r < 0 && !err_is_transport(r))
		a->gone = a->asked = true; /* refused: counts as a try */
	pchain_free(&p);
	return r;
}

static void reclaim_one_lease(struct smb2_client *c, struct smb2_lease *l)
{
	pthread_mutex_lock(&c->lease_mu);
	char *path = l->path ? strdup(l->path) : NULL;
	pthread_mutex_unlock(&c->lease_mu);
	struct reclaim_args a = {.path = path};
	if (!path || !lease_request(c, l, &a.ask)) {
		free(path);
		return;
	}
	/* Only while the connection is up: a lost one is for the calls of
	 * the filesystem to rebuild, not for this thread. */
	pthread_rwlock_rdlock(&c->lock);
	if (c->state == CLIENT_UP)
		(void)op_reclaim(c, &a);
	pthread_rwlock_unlock(&c->lock);
	if (!a.asked) {
		free(path); /* not sent, or the reply lost: next tick */
		return;
	}
	/* What the kernel holds goes before R is published: a getattr that
	 * sees R (smb2_path_read_leased) must find the cache already fresh. */
	tell_cache(c, path, SMB2_LEASE_READ_CACHING);
	if (!a.gone)
		(void)lease_granted(c, l, &a.ask, &a.got, NULL, false);
	pthread_mutex_lock(&c->lease_mu);
	bool got_r = l->state & SMB2_LEASE_READ_CACHING;
	if (!got_r && l->read_lost) {
		l->reclaim_refused++;
		l->reclaim_gap = l->reclaim_gap ? l->reclaim_gap * 2 : 2;
		if (l->reclaim_gap > RECLAIM_GAP_MAX)
			l->reclaim_gap = RECLAIM_GAP_MAX;
		l->reclaim_wait = l->reclaim_gap - 1; /* ticks skipped */
	}
	unsigned refused = l->reclaim_refused;
	pthread_mutex_unlock(&c->lease_mu);
	smb2_log_debug("lease reclaim %s: %s", path,
		       got_r ? "read caching again" :
		       refused >= RECLAIM_TRIES_MAX ? "refused; not asked again until the next open" :
		       "refused");
	free(path);
}

static void reclaim_tick(struct smb2_client *c)
{
	pthread_rwlock_rdlock(&c->lock);
	bool up = c->state == CLIENT_UP && leasing_now(c);
	pthread_rwlock_unlock(&c->lock);
	if (!up)
		return;
	/* every flagged record that is due (referenced, so it stays) */
	struct smb2_lease **todo = NULL;
	size_t n = 0, cap = 0;
	pthread_mutex_lock(&c->lease_mu);
	for (struct smb2_lease *l = c->leases; l; l = l->next) {
		if (!reclaim_flagged(l))
			continue;
		if (l->reclaim_wait) {
			l->reclaim_wait--;
			continue;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct smb2_lease **v = realloc(todo, nc * sizeof(*v));
			if (!v)
				break; /* the rest are due at the next tick */
			todo = v;
			cap = nc;
		}
		l->refs++;
		todo[n++] = l;
	}
	pthread_mutex_unlock(&c->lease_mu);
	for (size_t i = 0; i < n; i++) {
		reclaim_one_lease(c, todo[i]);
		lease_drop(c, todo[i]);
	}
	free(todo);
}

static bool reclaim_wanted(struct smb2_client *c)
{
	for (const struct smb2_lease *l = c->leases; l; l = l->next)
		if (reclaim_flagged(l))
			return true;
	return false;
}

static void *reclaim_main(void *arg)
{
	struct smb2_client *c = arg;
	pthread_mutex_lock(&c->lease_mu);
	while (!c->lease_stop) {
		if (!reclaim_wanted(c)) {
			/* nothing flagged: until a break (or an open) signals */
			pthread_cond_wait(&c->reclaim_cond, &c->lease_mu);
			continue;
		}
		/* a tick after the flag (the break's other client is still at
		 * the file), whatever signals meanwhile */
		struct timespec ts;
		smb2_clock_after_ms(CLOCK_REALTIME, RECLAIM_TICK_MS, &ts);
		while (!c->lease_stop &&
		       pthread_cond_timedwait(&c->reclaim_cond, &c->lease_mu, &ts) != ETIMEDOUT)
			;
		if (c->lease_stop)
			break;
		pthread_mutex_unlock(&c->lease_mu);
		reclaim_tick(c);
		pthread_mutex_lock(&c->lease_mu);
	}
	pthread_mutex_unlock(&c->lease_mu);
	return NULL;
}

static void *lease_main(void *arg)
{
	struct smb2_client *c = arg;
	pthread_mutex_lock(&c->lease_mu);
	for (;;) {
		while (!c->lease_head && !c->lease_stop) {
			/* also the clock for deferred closes */
			struct timespec ts;
			smb2_clock_after_ms(CLOCK_REALTIME, LEASE_TICK_MS, &ts);
			int r = pthread_cond_timedwait(&c->lease_cond, &c->lease_mu, &ts);
			if (r == ETIMEDOUT && !c->lease_head && !c->lease_stop) {
				pthread_mutex_unlock(&c->lease_mu);
				files_close_deferred_expired(c);
				pthread_mutex_lock(&c->lease_mu);
			}
		}
		if (c->lease_stop)
			break;
		struct lease_work *w = c->lease_head;
		c->lease_head = w->next;
		if (!c->lease_head)
			c->lease_tail = NULL;
		pthread_mutex_unlock(&c->lease_mu);
		handle_break(c, w);
		free(w->path);
		free(w);
		pthread_mutex_lock(&c->lease_mu);
	}
	pthread_mutex_unlock(&c->lease_mu);
	return NULL;
}

void lease_init(struct smb2_client *c)
{
	pthread_mutex_init(&c->lease_mu, NULL);
	pthread_mutex_init(&c->lease_cb_mu, NULL);
	pthread_cond_init(&c->lease_cond, NULL);
	pthread_cond_init(&c->reclaim_cond, NULL);
}

int lease_worker_start(struct smb2_client *c)
{
	int r = pthread_create(&c->lease_worker, NULL, lease_main, c);
	if (r != 0)
		return -r;
	c->lease_worker_running = true;
	r = pthread_create(&c->lease_reclaimer, NULL, reclaim_main, c);
	if (r != 0) {
		lease_worker_stop(c);
		return -r;
	}
	c->lease_reclaimer_running = true;
	return 0;
}

void lease_worker_stop(struct smb2_client *c)
{
	if (c->lease_worker_running || c->lease_reclaimer_running) {
		pthread_mutex_lock(&c->lease_mu);
		c->lease_stop = true;
		pthread_cond_signal(&c->lease_cond);
		pthread_cond_signal(&c->reclaim_cond);
		pthread_mutex_unlock(&c->lease_mu);
	}
	if (c->lease_reclaimer_running) {
		pthread_join(c->lease_reclaimer, NULL);
		c->lease_reclaimer_running = false;
	}
	if (c->lease_worker_running) {
		pthread_join(c->lease_worker, NULL);
		c->lease_worker_running = false;
	}
	/* what the worker did not get to */
	for (struct lease_work *w = c->lease_head, *n; w; w = n) {
		n = w->next;
		free(w->path);
		free(w);
	}
	c->lease_head = c->lease_tail = NULL;
}

void lease_destroy(struct smb2_client *c)
{
	for (struct lease_work *w = c->lease_head, *n; w; w = n) {
		n = w->next; /* queued after the worker stopped */
		free(w->path);
		free(w);
	}
	c->lease_head = c->lease_tail = NULL;
	for (struct smb2_lease *l = c->leases, *n; l; l = n) {
		n = l->next;
		free(l->path);
		free(l);
	}
	c->leases = NULL;
	pthread_cond_destroy(&c->lease_cond);
	pthread_cond_destroy(&c->reclaim_cond);
	pthread_mutex_destroy(&c->lease_cb_mu);
	pthread_mutex_destroy(&c->lease_mu);
}

bool smb2_path_read_leased(struct smb2_client *c, const char *path)
{
	if (!c->leasing || !__atomic_load_n(&c->leases_live, __ATOMIC_RELAXED))
		return false;
	char *sp;
	if (smb_path(c, path, &sp) < 0)
		return false;
	bool held = false;
	pthread_mutex_lock(&c->lease_mu);
	for (struct smb2_lease *l = c->leases; l && !held; l = l->next)
		held = l->path && l->live > 0 && (l->state & SMB2_LEASE_READ_CACHING) &&
		       l->breaks_rx_done == l->breaks_rx && strcmp(l->path, sp) == 0;
	pthread_mutex_unlock(&c->lease_mu);
	free(sp);
	return held;
}

void smb2_client_set_lease_cb(struct smb2_client *c, smb2_lease_cb fn, void *arg)
{
	pthread_mutex_lock(&c->lease_cb_mu);
	c->lease_cb = fn;
	c->lease_cb_arg = arg;
	pthread_mutex_unlock(&c->lease_cb_mu);
}

/* The open-file table: the one owner of open handles.  It opens and
 * closes them (smb2_open / smb2_close), keeps the list the rest of the
 * client finds them in (rename-follow, the writing handle of a path, the
 * times bookkeeping), and after a reconnect reclaims the durable ones
 * (DH2C) and reopens the others.  files_mu guards
 * the list and each handle's path, id and flags. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_i.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

/* ---- open ---- */

struct open_args {
	struct smb2_file *f;
	int flags;
	struct smb2_create_rsp cr;
	int attempts;
	bool read_added; /* O_WRONLY asked as O_RDWR (read_for_write) */
	bool fresh_key;  /* the lease key was replaced once already */
	uint8_t guid[16]; /* CreateGuid of every attempt (a rerun is a replay) */
};

/* ---- durable handles ----
 *
 * On SMB 3.x every file open asks for a durable v2 handle (DH2Q with a
 * CreateGuid of its own and DURABLE_TIMEOUT_MS).  Samba grants one only
 * with an RH/RWH lease or a batch oplock (so not with cache=none), and
 * only with `durable handles = yes`, `kernel oplocks = no`, `kernel share
 * modes = no` and `posix locking = no`.  After a lost connection the
 * server keeps a durable open (its locks, lease and delete-pending state)
 * for the granted timeout; the reconnect reclaims it with DH2C on the new
 * session (same ClientGuid: client.c makes one per mount), see
 * reopen_one.  A rerun of an open whose reply was lost sends the same
 * CreateGuid with the replay flag (fileid.c). */
#define DURABLE_TIMEOUT_MS 60000

/* Fills *dh for a CREATE of a file on this session; NULL: no DH2Q (2.x,
 * directories, or no lease asked: Samba grants none without one). */
static struct durable_ask *durable_setup(struct smb2_client *c, struct durable_ask *dh,
					 const uint8_t guid[16], bool is_dir, bool replay, bool leased)
{
	if (c->dialect < SMB2_DIALECT_300 || is_dir || !leased)
		return NULL;
	*dh = (struct durable_ask){.timeout_ms = DURABLE_TIMEOUT_MS, .replay = replay};
	memcpy(dh->guid, guid, 16);
	return dh;
}

static void durable_note(struct smb2_file *f, const struct durable_ask *dh)
{
	f->durable = dh && dh->granted;
	f->durable_timeout_ms = f->durable ? dh->granted_timeout_ms : 0;
	if (dh)
		memcpy(f->create_guid, dh->guid, 16);
	if (f->durable)
		smb2_log_debug("durable handle for %s (timeout %u ms)", f->path,
			       f->durable_timeout_ms);
}

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
	int r;
	for (;;) {
		uint32_t access = file_access_for_flags(a->flags);
		if (a->flags & O_TRUNC)
			access |= FILE_WRITE_DATA; /* FILE_OVERWRITE needs write access */
		struct lease_ask ask;
		struct smb2_lease_ctx got;
		bool leased = lease_request(c, a->f->lease, &ask);
		struct durable_ask dhs;
		struct durable_ask *dh = durable_setup(c, &dhs, a->guid, a->flags & O_DIRECTORY,
						       a->attempts > 1, leased);
		r = file_create_durable(c, a->f->path, access, disp, opts,
					(a->flags & O_CREAT) ? FILE_ATTRIBUTE_ARCHIVE : 0, &a->f->id,
					&a->cr, &a->f->ident, leased ? &ask : NULL, &got, dh);
		if (r == 0 && leased)
			a->f->keep_cache = lease_granted(c, a->f->lease, &ask, &got, &a->cr, true);
		if (r == 0)
			durable_note(a->f, dh);
		if (r == -EINVAL && leased && !a->fresh_key) {
			/* The server ties a key to one file: ours still names
			 * a file that this path no longer is.  A new key. */
			lease_forget_path(c, a->f->path);
			lease_drop(c, a->f->lease);
			a->f->lease = lease_hold(c, a->f->path);
			a->fresh_key = true;
			continue;
		}
		if (r != -EACCES || !a->read_added)
			break;
		/* A write-only file (or share): open as asked.  A refused
		 * CREATE created and truncated nothing, so asking again is
		 * safe; the handle records what was granted, for reopen. */
		a->read_added = false;
		a->flags = (a->flags & ~O_ACCMODE) | O_WRONLY;
		a->f->flags = (a->f->flags & ~O_ACCMODE) | O_WRONLY;
	}
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
	__atomic_add_fetch(&c->open_files, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->files_mu);
	return 0;
}

/* ---- deferred close ----
 *
 * A read-only handle whose file we hold a read+handle lease on is not
 * closed at once: it stays on the list for closetimeo (default 5 s, as
 * cifs), so the lease outlives the close and the next open of the file
 * (its own CREATE, with the lease's key) keeps the kernel's pages instead
 * of reading the file again.  The new open is not served from the kept
 * handle: only a CREATE proves the name still leads to that file (another
 * client may have renamed it, or a directory above it, which breaks no
 * lease; the server refuses our key on another file).  One kept handle per
 * lease: deferring a newer one closes the older.  Closed when the time is
 * up, at any break of the lease (another client opens, writes, renames or
 * deletes the file: lease.c), before we remove or rename the path or a
 * directory above it, and at a reconnect (the server closed it already). */
#define DEFER_CLOSE_MAX 64

static bool can_defer(int flags)
{
	return (flags & O_ACCMODE) == O_RDONLY &&
	       !(flags & (O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY));
}

static void list_unlink(struct smb2_client *c, struct smb2_file *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else if (c->files == f)
		c->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	f->prev = f->next = NULL;
	__atomic_sub_fetch(&c->open_files, 1, __ATOMIC_RELAXED);
}

static void file_free(struct smb2_client *c, struct smb2_file *f)
{
	lease_drop(c, f->lease);
	wb_destroy(&f->wb);
	free(f->path);
	free(f);
}

struct defer_match {
	const struct smb2_lease *lease; /* NULL: any */
	const char *path;               /* at or below; NULL: any */
	long age_ms;                    /* deferred at least this long */
};

static bool defer_matches(const struct smb2_file *f, const struct defer_match *m,
			  const struct timespec *now)
{
	if (!f->deferred)
		return false;
	if (m->lease && f->lease != m->lease)
		return false;
	if (m->path) {
		size_t n = strlen(m->path);
		if (n && (strncmp(f->path, m->path, n) != 0 ||
			  (f->path[n] != '\0' && f->path[n] != '\\')))
			return false;
	}
	long age = (now->tv_sec - f->deferred_at.tv_sec) * 1000L +
		   (now->tv_nsec - f->deferred_at.tv_nsec) / 1000000L;
	return age >= m->age_ms;
}

static void close_deferred(struct smb2_client *c, const struct defer_match *m)
{
	if (!__atomic_load_n(&c->deferred, __ATOMIC_RELAXED))
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	struct smb2_file *gone = NULL;
	pthread_mutex_lock(&c->files_mu);
	for (struct smb2_file *f = c->files, *n; f; f = n) {
		n = f->next;
		if (!defer_matches(f, m, &now))
			continue;
		list_unlink(c, f);
		f->deferred = false;
		__atomic_sub_fetch(&c->deferred, 1, __ATOMIC_RELAXED);
		f->next = gone;
		gone = f;
	}
	pthread_mutex_unlock(&c->files_mu);
	if (!gone)
		return;
	/* One attempt on this connection: a handle on a lost connection is
	 * closed by the server already. */
	pthread_rwlock_rdlock(&c->lock);
	for (struct smb2_file *f = gone, *n; f; f = n) {
		n = f->next;
		lease_closing(c, f->lease);
		if (c->state == CLIENT_UP && !f->stale)
			(void)file_close_id(c, &f->id);
		file_free(c, f);
	}
	pthread_rwlock_unlock(&c->lock);
}

void files_close_deferred_lease(struct smb2_client *c, const struct smb2_lease *l)
{
	struct defer_match m = {.lease = l};
	close_deferred(c, &m);
}

void files_close_deferred_below(struct smb2_client *c, const char *smbpath)
{
	struct defer_match m = {.path = smbpath};
	close_deferred(c, &m);
}

void files_close_deferred_expired(struct smb2_client *c)
{
	struct defer_match m = {.age_ms = (long)c->close_timeout_ms};
	close_deferred(c, &m);
}

/* smb2_close's alternative: keep f open for a while (see above). */
static bool defer_close(struct smb2_client *c, struct smb2_file *f)
{
	if (!c->close_timeout_ms || !f->lease || f->stale || !can_defer(f->flags) || f->write_behind ||
	    __atomic_load_n(&f->unlinked, __ATOMIC_RELAXED) || !lease_caches_handle(c, f->lease))
		return false;
	/* the older kept handle of the file goes (one per lease) */
	files_close_deferred_lease(c, f->lease);
	bool ok = false;
	pthread_rwlock_rdlock(&c->lock);
	pthread_mutex_lock(&c->files_mu);
	/* (unlinked again under files_mu: files_mark_unlinked may have run
	 * since the check above) */
	if (c->state == CLIENT_UP && !__atomic_load_n(&f->unlinked, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&c->deferred, __ATOMIC_RELAXED) < DEFER_CLOSE_MAX) {
		clock_gettime(CLOCK_MONOTONIC, &f->deferred_at);
		f->deferred = true;
		__atomic_add_fetch(&c->deferred, 1, __ATOMIC_RELAXED);
		ok = true;
	}
	pthread_mutex_unlock(&c->files_mu);
	pthread_rwlock_unlock(&c->lock);
	return ok;
}

int smb2_open(struct smb2_client *c, const char *path, int flags, struct smb2_file **out,
	      struct fscc_stat *st)
{
	char *p;
	int r = smb_path(c, path, &p);
	if (r < 0)
		return r;
	/* O_TRUNC: what our other handles on the file queued goes out first,
	 * or it would land after the truncation and bring the data back */
	if ((flags & O_TRUNC) && (r = wb_drain_path(c, p)) < 0) {
		free(p);
		return r;
	}
	struct smb2_file *f = calloc(1, sizeof(*f));
	if (!f) {
		free(p);
		return -ENOMEM;
	}
	f->path = p;
	/* A reopen after reconnect must neither create nor truncate again. */
	f->flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC);
	wb_init(&f->wb);
	/* O_APPEND writes go out one by one, each at the server's end of
	 * file (fileops.c, locks_append_begin): queued, they could not keep
	 * that place. */
	f->write_behind = c->write_behind && wb_enabled_for(flags) && !(flags & O_APPEND);
	struct open_args a = {.f = f, .flags = flags};
	(void)smb2_random(a.guid, sizeof(a.guid));
	if (c->read_for_write && (flags & O_ACCMODE) == O_WRONLY && !(flags & O_DIRECTORY)) {
		/* The kernel's writeback cache reads the rest of a page that
		 * a write covers only in part, through this handle. */
		a.read_added = true;
		a.flags = (flags & ~O_ACCMODE) | O_RDWR;
		f->flags = (f->flags & ~O_ACCMODE) | O_RDWR;
	}
	/* Files only: directories are not leased by SMB2 servers without
	 * directory leasing, and are not read through the page cache. */
	if (!(flags & O_DIRECTORY))
		f->lease = lease_hold(c, p);
	r = client_run(c, op_open, &a);
	/* The first run's reply was lost with the connection, so we never
	 * learned which file (if any) it made: the one found now cannot be
	 * proved ours, and O_EXCL promises the caller it is new. */
	if (r == -EEXIST && a.attempts > 1 && (flags & O_EXCL))
		smb2_log_info("exclusive create of %s: the connection dropped during the first "
			      "attempt and the file now exists; it may be ours, but cannot be "
			      "proved to be: reporting EEXIST", p);
	if (r < 0) {
		lease_drop(c, f->lease);
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
	/* its locks end with the handle: never kept open under a lease */
	if (!locks_file_closing(c, f) && defer_close(c, f))
		return 0;
	pthread_rwlock_rdlock(&c->lock);
	pthread_mutex_lock(&c->files_mu);
	list_unlink(c, f);
	uint64_t wrote = f->write_after_mtime_set;
	pthread_mutex_unlock(&c->files_mu);
	lease_closing(c, f->lease);
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
	if (__atomic_load_n(&f->unlinked, __ATOMIC_RELAXED))
		unlinked_closed(c, f->path);
	file_free(c, f);
	return wr ? wr : r;
}

bool smb2_file_keep_cache(const struct smb2_file *f)
{
	return f->keep_cache;
}

bool smb2_file_can_read(struct smb2_client *c, const struct smb2_file *f)
{
	pthread_mutex_lock(&c->files_mu);
	bool r = (f->flags & O_ACCMODE) != O_WRONLY;
	pthread_mutex_unlock(&c->files_mu);
	return r;
}

struct kept_err_args {
	struct smb2_file *self;
	int err;
};

/* A failure another handle of ours on self's file kept (self's path is
 * read under files_mu, in files_each). */
static bool peek_kept_err(struct smb2_client *c, struct smb2_file *g, void *arg)
{
	(void)c;
	struct kept_err_args *a = arg;
	if (g == a->self || !g->write_behind || strcmp(g->path, a->self->path) != 0)
		return true;
	pthread_mutex_lock(&g->wb.mu);
	a->err = g->wb.err;
	pthread_mutex_unlock(&g->wb.mu);
	return a->err == 0;
}

int smb2_flush_file(struct smb2_client *c, struct smb2_file *f)
{
	int r = smb2_flush(c, f);
	if (r < 0 || __atomic_load_n(&c->wb_files, __ATOMIC_RELAXED) <= 1)
		return r;
	r = wb_settle_file(c, f, false);
	if (r == 0) {
		struct kept_err_args a = {f, 0};
		files_each(c, peek_kept_err, &a);
		r = a.err;
	}
	return r;
}

bool files_find_id(struct smb2_client *c, const char *smbpath,
		   bool (*pred)(const struct smb2_file *f), struct smb2_fileid *id)
{
	bool found = false;
	pthread_mutex_lock(&c->files_mu);
	for (struct smb2_file *f = c->files; f && !found; f = f->next) {
		if (pred(f) && strcmp(f->path, smbpath) == 0) {
			if (id)
				*id = f->id;
			found = true;
		}
	}
	pthread_mutex_unlock(&c->files_mu);
	return found;
}

static bool live_writer(const struct smb2_file *f)
{
	return !f->stale && file_can_write(f);
}

bool files_writer_id(struct smb2_client *c, const char *smbpath, struct smb2_file *prefer,
		     struct smb2_fileid *id)
{
	if (prefer) {
		pthread_mutex_lock(&c->files_mu);
		bool ok = live_writer(prefer);
		if (ok)
			*id = prefer->id;
		pthread_mutex_unlock(&c->files_mu);
		if (ok)
			return true;
	}
	return files_find_id(c, smbpath, live_writer, id);
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

void files_wrote(struct smb2_client *c, struct smb2_file *f)
{
	pthread_mutex_lock(&c->files_mu);
	file_note(f, false);
	pthread_mutex_unlock(&c->files_mu);
}

static bool open_file(const struct smb2_file *f)
{
	return !f->deferred && !f->stale && !f->is_dir;
}

bool files_open_at(struct smb2_client *c, const char *smbpath)
{
	return files_find_id(c, smbpath, open_file, NULL);
}

void files_mark_unlinked(struct smb2_client *c, const char *smbpath)
{
	pthread_mutex_lock(&c->files_mu);
	for (struct smb2_file *f = c->files; f; f = f->next)
		if (strcmp(f->path, smbpath) == 0)
			__atomic_store_n(&f->unlinked, true, __ATOMIC_RELAXED);
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
	leases_renamed(c, from, to);
}

/* Reclaims f's durable open after a reconnect (DH2C with its FileId and
 * CreateGuid, and the lease context with the same key, MS-SMB2 3.2.4.4):
 * the same open, with its byte-range locks, lease and delete-pending
 * state.  0: reclaimed; a transport error; or the server's refusal (it
 * dropped the open: timed out, its smbd died, a conflicting open). */
static int reclaim_one(struct smb2_client *c, struct smb2_file *f)
{
	struct durable_ask dh = {.reclaim = true, .old = f->id};
	memcpy(dh.guid, f->create_guid, 16);
	struct smb2_fileid id;
	struct lease_ask ask;
	struct smb2_lease_ctx got;
	bool leased = lease_request(c, f->lease, &ask);
	int r = file_create_durable(c, f->path, file_access_for_flags(f->flags), FILE_OPEN, 0, 0,
				    &id, NULL, NULL, leased ? &ask : NULL, &got, &dh);
	if (r < 0)
		return r;
	if (leased)
		(void)lease_granted(c, f->lease, &ask, &got, NULL, false);
	f->id = id;
	smb2_log_debug("reclaimed durable handle of %s (DH2C): its locks, lease and "
		       "delete-on-close stay", f->path);
	return 0;
}

/* Opens f again (the client lock is held for writing): a durable open is
 * reclaimed (reclaim_one), else f is opened by its path with the access
 * and lease key it had.  new_handle: its lease was given up with
 * lease_closing (we closed it: files_move_below; f->reopen_new says the
 * same of a handle such a move closed and a reconnect reopens); false: a
 * reconnect, the lease went with the connection and the handle still
 * counts.  A file the server no longer has, or that another file took
 * the name of, becomes stale; a transport failure is returned (the
 * caller starts over). */
static int reopen_one(struct smb2_client *c, struct smb2_file *f, bool new_handle)
{
	uint32_t opts = f->is_dir ? FILE_DIRECTORY_FILE : 0;
	if (f->reopen_new) {
		new_handle = true;
		f->durable = false; /* closed by us: nothing to reclaim */
	}
	if (!new_handle && f->durable) {
		int rr = reclaim_one(c, f);
		if (rr == 0)
			return 0;
		if (err_is_transport(rr))
			return rr;
		smb2_log_debug("durable reclaim of %s refused (%d): reopening it by name", f->path,
			       rr);
		f->durable = false;
	}
	struct file_identity now;
	struct smb2_fileid id;
	struct lease_ask ask;
	struct smb2_lease_ctx got;
	bool leased = lease_request(c, f->lease, &ask);
	struct durable_ask dhs;
	uint8_t guid[16];
	(void)smb2_random(guid, sizeof(guid));
	struct durable_ask *dh = durable_setup(c, &dhs, guid, f->is_dir, false, leased);
	int r = file_create_durable(c, f->path, file_access_for_flags(f->flags), FILE_OPEN, opts, 0,
				    &id, NULL, &now, leased ? &ask : NULL, &got, dh);
	if (r == 0 && leased)
		(void)lease_granted(c, f->lease, &ask, &got, NULL, new_handle);
	if (err_is_transport(r))
		return r;
	bool other_id = f->ident.known && now.known &&
			memcmp(f->ident.disk_id, now.disk_id, sizeof(now.disk_id)) != 0;
	bool other_birth = f->ident.creation_time && now.creation_time &&
			   f->ident.creation_time != now.creation_time;
	if (r == 0)
		smb2_log_debug("reopen %s: file id %s, creation time %s", f->path,
			       !f->ident.known || !now.known ? "unknown" : other_id ? "differs" : "same",
			       other_birth ? "differs" : "same");
	if (r == 0 && (other_id || other_birth)) {
		/* Another file took the name (deleted and re-created
		 * while we were away): writing to it would corrupt it. */
		file_close_id(c, &id);
		r = -ESTALE;
	}
	if (r == 0) {
		f->id = id;
		f->reopen_new = false;
		durable_note(f, dh);
		locks_reopened(c, f);
	}
	if (r < 0) {
		/* Deleted or renamed while we were away: the handle is gone. */
		smb2_log_error("cannot reopen %s: %d; the open file is lost", f->path, r);
		f->stale = true;
	}
	return 0;
}

/* Reopens every open file on the new session. */
int files_reopen_all(struct smb2_client *c)
{
	int err = 0;
	pthread_mutex_lock(&c->files_mu);
	for (struct smb2_file *f = c->files, *next; f; f = next) {
		next = f->next;
		if (f->deferred) {
			/* a durable one is reclaimed and stays kept; any other
			 * was closed with the old connection, nobody uses it */
			if (f->durable) {
				err = reclaim_one(c, f);
				if (err_is_transport(err))
					break;
				/* kept only under a read+handle lease, as at close */
				if (err == 0 && lease_caches_handle(c, f->lease))
					continue;
				if (err == 0)
					(void)file_close_id(c, &f->id);
				err = 0;
			}
			list_unlink(c, f);
			__atomic_sub_fetch(&c->deferred, 1, __ATOMIC_RELAXED);
			lease_closing(c, f->lease);
			file_free(c, f);
			continue;
		}
		if (f->stale)
			continue;
		err = reopen_one(c, f, false);
		if (err)
			break;
	}
	pthread_mutex_unlock(&c->files_mu);
	return err;
}

/* ---- rename of a directory with open files below ----
 *
 * Samba refuses to rename a directory while handles below it are open
 * (STATUS_ACCESS_DENIED), even ours that share delete.  So, with the client
 * lock held for writing (no operation of ours in flight, and no new one),
 * our handles below are closed, the directory renamed, and the handles
 * opened again by their new paths with the access and lease key they had,
 * as after a reconnect (reopen_one: byte-range locks are taken again).
 * What write-behind holds for them is sent before (a chunk in flight would
 * name the closed handle); while some is still queued when the lock is
 * ours, the lock is given up and the queue sent again. */
static bool strictly_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && path[n] == '\\';
}

static bool moving(const struct smb2_file *f, const char *dir)
{
	return !f->deferred && !f->stale && strictly_below(f->path, dir);
}

/* The live handles below dir (files_mu held); NULL with *n 0: none. */
static struct smb2_file **collect_below(struct smb2_client *c, const char *dir, size_t *n)
{
	*n = 0;
	for (struct smb2_file *f = c->files; f; f = f->next)
		*n += moving(f, dir);
	struct smb2_file **v = *n ? malloc(*n * sizeof(*v)) : NULL;
	size_t i = 0;
	for (struct smb2_file *f = c->files; v && f; f = f->next)
		if (moving(f, dir))
			v[i++] = f;
	if (!v)
		*n = 0;
	return v;
}

/* Sends what write-behind holds below dir; false: nothing is open there. */
static bool drain_below(struct smb2_client *c, const char *dir)
{
	bool any = false;
	pthread_mutex_lock(&c->files_mu);
	for (struct smb2_file *f = c->files; f && !any; f = f->next)
		any = moving(f, dir);
	pthread_mutex_unlock(&c->files_mu);
	/* (an error stays kept for that descriptor's next call) */
	if (any)
		(void)wb_drain_below(c, dir);
	return any;
}

int files_move_below(struct smb2_client *c, const char *dir,
		     int (*op)(struct smb2_client *c, void *arg), void *arg)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		if (!drain_below(c, dir))
			break;
		pthread_rwlock_wrlock(&c->lock);
		size_t n = 0;
		struct smb2_file **v = NULL;
		bool busy = false;
		if (c->state == CLIENT_UP) {
			pthread_mutex_lock(&c->files_mu);
			v = collect_below(c, dir, &n);
			for (size_t i = 0; i < n && !busy; i++)
				busy = v[i]->write_behind && wb_pending(v[i]);
			pthread_mutex_unlock(&c->files_mu);
		}
		if (!n || busy) {
			pthread_rwlock_unlock(&c->lock);
			free(v);
			if (!n)
				break;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			lease_closing(c, v[i]->lease);
			(void)file_close_id(c, &v[i]->id);
			/* until reopened (a reconnect may come first) */
			pthread_mutex_lock(&c->files_mu);
			v[i]->reopen_new = true;
			pthread_mutex_unlock(&c->files_mu);
		}
		int r = op(c, arg); /* follows the handles to the new paths */
		pthread_mutex_lock(&c->files_mu);
		for (size_t i = 0; i < n; i++)
			if (reopen_one(c, v[i], true) < 0)
				break; /* the connection failed: the reconnect reopens them */
		pthread_mutex_unlock(&c->files_mu);
		pthread_rwlock_unlock(&c->lock);
		free(v);
		smb2_log_debug("rename of %s: %zu open handles below closed and reopened: %d", dir, n, r);
		/* a lost connection: client_run reconnects and runs op again */
		return err_is_transport(r) ? client_run(c, op, arg) : r;
	}
	return client_run(c, op, arg);
}

void files_close_all(struct smb2_client *c, bool send_close)
{
	pthread_mutex_lock(&c->files_mu);
	struct smb2_file *f = c->files;
	c->files = NULL;
	pthread_mutex_unlock(&c->files_mu);
	while (f) {
		struct smb2_file *next = f->next;
		if (send_close && !f->stale)
			file_close_id(c, &f->id);
		__atomic_sub_fetch(&c->open_files, 1, __ATOMIC_RELAXED);
		file_free(c, f);
		f = next;
	}
}

void files_each(struct smb2_client *c, bool (*fn)(struct smb2_client *c, struct smb2_file *f, void *arg),
		void *arg)
{
	pthread_mutex_lock(&c->files_mu);
	for (struct smb2_file *f = c->files; f; f = f->next)
		if (!fn(c, f, arg))
			break;
	pthread_mutex_unlock(&c->files_mu);
}

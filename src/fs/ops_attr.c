/* Attribute and namespace operations.  Client calls return 0 or -errno,
 * which FUSE wants as is. */
#include "fs.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>


#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int list_name(const struct fscc_dirent *e, void *arg)
{
	attrcache_list_add(arg, e->name);
	return 0;
}

/* libfuse hides a file unlinked while open (or replaced by a rename) as
 * .fuse_hidden* in its directory, and unlinks that name after the last
 * close; the client keeps such files under a name of its own (client
 * unlinked.c), this basename is its key.  NULL: not such a name. */
static const char *hidden_key(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;
	b = b ? b + 1 : path;
	return b && strncmp(b, ".fuse_hidden", 12) == 0 ? b : NULL;
}

/* libfuse's high-level API asks getattr after every create, mkdir and
 * setattr, and the kernel after its own caches lapse: the attribute cache
 * (attrcache.h) answers those without a round trip when a reply already
 * told, and a missing name from the directory's complete listing when one
 * is fresh.  With a handle (fi) the cached attributes of its path are as
 * good: every write, flush and truncate through this mount drops them.
 *
 * A program creating many files looks each new name up first; for Samba a
 * missing name costs a scan of the directory, and a listing costs about as
 * much as 30-50 such lookups.  So once lookups of missing names in one
 * directory keep reaching the server (attrcache_list_wanted), the
 * directory is listed instead, and its record answers the next ones. */
int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct smb2_file *f = fs_file(fi);
	struct fscc_stat s;
	if (!f && (!path || smb2_path_reserved(path)))
		return -ENOENT; /* (an unlinked file waiting for its last close) */
	const char *key = f ? NULL : hidden_key(path);
	if (key) {
		int hr = smb2_unlinked_stat(ctx->client, key, &s);
		if (hr != -ENOENT) {
			if (hr == 0)
				fs_fill_stat(ctx, &s, st);
			return hr;
		}
	}
	/* Past actimeo, a file under our read lease keeps its attributes
	 * (attrcache_get_held says why that is safe).  No path (with fi):
	 * libfuse lost the name of an unlinked open file (its directory went). */
	int hit = ctx->cache && path && smb2_path_read_leased(ctx->client, path)
			  ? attrcache_get_held(ctx->cache, path, &s) : -1;
	if (hit < 0)
		hit = attrcache_get(ctx->cache, path, &s);
	struct attrcache_listing *l;

	if (hit < 0 && !f && (l = attrcache_list_wanted(ctx->cache, path))) {
		int lr = smb2_readdir(ctx->client, attrcache_list_dir(l), list_name, l);
		attrcache_list_end(ctx->cache, l, lr);
		hit = attrcache_get(ctx->cache, path, &s);
	}
	/* Attributes from a listing or an open carry no descriptor: the
	 * mode and owner need the stat compound (security.c). */
	if (hit > 0 && fs_needs_sd(ctx, &s))
		hit = -1;
	/* serverino: attributes from a reply without the file id (a
	 * setattr's CLOSE of a name not cached before) take the open file's,
	 * else ask (the stat compound's CREATE brings it) */
	if (hit > 0 && ctx->serverino && !s.file_id && !(s.file_id = smb2_file_server_id(f)))
		hit = -1;
	if (hit > 0) {
		fs_special_resolve(ctx, path, f, &s); /* (ops_link.c) */
		fs_fill_stat(ctx, &s, st);
		return 0;
	}
	if (hit == 0 && !f)
		return -ENOENT;
	uint64_t t = attrcache_ticket(ctx->cache);
	int r = f ? smb2_fstat_sd(ctx->client, f, &s) : smb2_stat(ctx->client, path, &s);

	if (r == -ENOENT && !f) {
		attrcache_fill(ctx->cache, path, NULL, t);
		attrcache_dir_miss(ctx->cache, path);
	}
	if (r < 0)
		return r;
	if (ctx->serverino && !s.file_id) /* (an open file's query carries none) */
		s.file_id = smb2_file_server_id(f);
	attrcache_fill(ctx->cache, path, &s, t);
	fs_special_resolve(ctx, path, f, &s);
	fs_fill_stat(ctx, &s, st);
	return 0;
}

int fs_mkdir(const char *path, mode_t mode)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct smb2_attrs a;
	/* a directory we made is empty: its record answers lookups in it */
	struct attrcache_listing *l = attrcache_list_begin(ctx->cache, path);
	uint64_t t = attrcache_ticket(ctx->cache);

	int r = smb2_mkdir(ctx->client, path, &a);
	attrcache_list_end(ctx->cache, l, r);
	fs_parent_changed(ctx, path, r);
	/* The server gives a new directory its own mode (Samba: directory
	 * mask); with descriptors, set the one asked for (umask applied by
	 * the kernel) when it differs, as cifs does with cifsacl. */
	if (r == 0 && a.valid && a.st.has_mode && a.st.mode != (mode & 0777)) {
		struct smb2_attrs b;
		t = attrcache_ticket(ctx->cache);
		if (smb2_chmod(ctx->client, path, NULL, (unsigned)(mode & 0777), &b) == 0) {
			if (!b.st.file_id) /* (the CLOSE's attributes have none) */
				b.st.file_id = a.st.file_id;
			a = b;
		} else
			a.valid = false; /* the directory exists; its mode is unknown */
	}
	if (r == 0 && a.valid)
		attrcache_set(ctx->cache, path, &a.st, t);
	else
		attrcache_forget(ctx->cache, path);
	return r;
}

/* After a removal the name is known to be gone. */
static int removed(struct smb2fs_ctx *ctx, const char *path, uint64_t t, int r, bool tree)
{
	fs_parent_removed(ctx, path, r);
	if (tree)
		attrcache_forget_tree(ctx->cache, path);
	if (r == 0 && !tree)
		attrcache_set(ctx->cache, path, NULL, t);
	else
		attrcache_forget(ctx->cache, path);
	return r;
}

int fs_rmdir(const char *path)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	uint64_t t = attrcache_ticket(ctx->cache);
	int r = smb2_rmdir(ctx->client, path);

	/* (an empty directory may still have cached negative entries) */
	return removed(ctx, path, t, r, r == 0);
}

int fs_unlink(const char *path)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	uint64_t t = attrcache_ticket(ctx->cache);
	const char *key = hidden_key(path);

	/* the last close of an unlinked file: the server deleted it */
	if (key && smb2_unlinked_forget(ctx->client, key)) {
		attrcache_forget(ctx->cache, path);
		return 0;
	}
	return removed(ctx, path, t, smb2_unlink(ctx->client, path), false);
}

int fs_rename(const char *from, const char *to, unsigned int flags)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct fscc_stat s;

	/* SMB2 rename can only replace or refuse; no atomic exchange. */
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	const char *key = hidden_key(to);
	if (key) {
		/* libfuse hiding an open file that is unlinked (or replaced) */
		uint64_t t = attrcache_ticket(ctx->cache);
		attrcache_forget(ctx->cache, to);
		return removed(ctx, from, t, smb2_unlink_open(ctx->client, from, key), false);
	}
	/* A file has no subtree to forget; anything else (or unknown) may. */
	bool file = attrcache_get(ctx->cache, from, &s) > 0 &&
		    !(s.file_attributes & FILE_ATTRIBUTE_DIRECTORY);
	int r = smb2_rename(ctx->client, from, to, !(flags & RENAME_NOREPLACE));

	fs_parent_changed(ctx, from, r);
	fs_parent_changed(ctx, to, r);
	/* (to's name is in its directory's record now: a case-only rename
	 * leaves a name that folds like from's) */
	if (r == 0 && strcmp(from, to) != 0)
		attrcache_dir_remove(ctx->cache, from);
	if (file) {
		attrcache_forget(ctx->cache, from);
		attrcache_forget(ctx->cache, to);
	} else {
		attrcache_forget_tree(ctx->cache, from);
		attrcache_forget_tree(ctx->cache, to);
	}
	return r;
}

/* A setattr's result: stored when the reply chain told it, else dropped. */
static int changed(struct smb2fs_ctx *ctx, const char *path, uint64_t t, int r,
		   const struct smb2_attrs *after)
{
	if (r == 0 && after && after->valid)
		attrcache_set(ctx->cache, path, &after->st, t); /* (keeps a descriptor's view) */
	else
		attrcache_forget(ctx->cache, path);
	return r;
}

int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct smb2_file *f = fs_file(fi);

	if (size < 0)
		return -EINVAL;
	uint64_t t = attrcache_ticket(ctx->cache);
	if (f)
		return changed(ctx, path, t, smb2_ftruncate(ctx->client, f, (uint64_t)size), NULL);
	struct smb2_attrs a;
	int r = smb2_truncate(ctx->client, path, (uint64_t)size, &a);
	return changed(ctx, path, t, r, &a);
}

/* FILETIME for one utimens slot; 0 tells the server "leave unchanged".
 * Times SMB cannot carry are refused rather than clamped: 0 and -1 are
 * special in FileBasicInformation (MS-FSCC 2.4.7), and FILETIMEs are
 * signed, so only 1601-01-01 (exclusive) to year 30828 are real times. */
static int utime_to_filetime(const struct timespec *ts, const struct timespec *now, uint64_t *ft)
{
	/* seconds between 1601-01-01 and 1970-01-01; INT64_MAX 100 ns ticks */
	const int64_t epoch = 11644473600LL, max_sec = INT64_MAX / 10000000 - epoch - 1;

	*ft = 0;
	if (ts->tv_nsec == UTIME_OMIT)
		return 0;
	if (ts->tv_nsec == UTIME_NOW)
		ts = now;
	if ((int64_t)ts->tv_sec <= -epoch || (int64_t)ts->tv_sec > max_sec)
		return -EINVAL;
	*ft = fscc_time_from_unix((int64_t)ts->tv_sec, ts->tv_nsec);
	return 0;
}

int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct timespec now;
	uint64_t at, mt;

	clock_gettime(CLOCK_REALTIME, &now);
	if (!tv) {
		at = mt = fscc_time_from_unix((int64_t)now.tv_sec, now.tv_nsec);
	} else {
		int r = utime_to_filetime(&tv[0], &now, &at);
		if (r == 0)
			r = utime_to_filetime(&tv[1], &now, &mt);
		if (r < 0)
			return r;
	}
	if (!at && !mt)
		return 0;
	if (!path)
		return -ENOENT; /* an unlinked open file whose directory went */
	struct smb2_attrs a;
	uint64_t t = attrcache_ticket(ctx->cache);
	int r = smb2_set_times(ctx->client, path, fs_file(fi), at, mt, &a);
	return changed(ctx, path, t, r, &a);
}

int fs_statfs(const char *path, struct statvfs *sv)
{
	struct fscc_fs_full_size fs;
	unsigned long bsize;
	int r;

	(void)path;
	r = smb2_statfs(fs_ctx()->client, &fs);
	if (r < 0)
		return r;
	memset(sv, 0, sizeof(*sv));
	bsize = (unsigned long)fs.sectors_per_unit * fs.bytes_per_sector;
	sv->f_bsize = sv->f_frsize = bsize ? bsize : 4096;
	sv->f_blocks = (fsblkcnt_t)fs.total_allocation_units;
	sv->f_bfree = (fsblkcnt_t)fs.actual_available_units;
	sv->f_bavail = (fsblkcnt_t)fs.caller_available_units;
	sv->f_namemax = 255;
	return 0;
}

/* chmod writes the mode into the file's DACL (client security.c), and
 * on a file sets FILE_ATTRIBUTE_READONLY when no write bit is left (clears
 * it when one comes back), as cifs does.  With descriptors off (nocifsacl,
 * or a server that refuses them) only the read-only attribute changes, so
 * cp -p, tar and rsync do not fail; chown then is accepted and ignored
 * (the owner shown is uid=/gid=). */
int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct fscc_stat s;

	if (!path)
		return -ENOENT; /* an unlinked open file whose directory went */
	/* descriptors off and the read-only state already right: nothing */
	if (!smb2_sd_active(ctx->client) && attrcache_get(ctx->cache, path, &s) > 0 &&
	    ((s.file_attributes & FILE_ATTRIBUTE_DIRECTORY) ||
	     !!(s.file_attributes & FILE_ATTRIBUTE_READONLY) == !(mode & 0222)))
		return 0;
	struct smb2_attrs a;
	uint64_t t = attrcache_ticket(ctx->cache);
	int r = smb2_chmod(ctx->client, path, fs_file(fi), (unsigned)(mode & 07777), &a);
	return changed(ctx, path, t, r, &a);
}

void fs_created_mode(struct smb2fs_ctx *ctx, const char *path, struct smb2_file *f, mode_t mode)
{
	if (!smb2_sd_active(ctx->client))
		return;
	struct fscc_stat s;
	bool chmodded;
	uint64_t t = attrcache_ticket(ctx->cache);
	int r = smb2_created_mode(ctx->client, path, f, (unsigned)(mode & 0777), &s, &chmodded);
	if (r == 0 && !s.file_id) /* (the queries through f carry none: f's own) */
		s.file_id = smb2_file_server_id(f);
	if (r == 0 && chmodded)
		attrcache_set(ctx->cache, path, &s, t);
	else if (r == 0)
		attrcache_fill(ctx->cache, path, &s, t);
	else
		attrcache_forget(ctx->cache, path);
}

int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct smb2fs_ctx *ctx = fs_ctx();

	(void)fi;
	if (!path)
		return -ENOENT; /* an unlinked open file whose directory went */
	struct smb2_attrs a;
	uint64_t t = attrcache_ticket(ctx->cache);
	int r = smb2_chown(ctx->client, path, uid == (uid_t)-1 ? UINT32_MAX : (uint32_t)uid,
			   gid == (gid_t)-1 ? UINT32_MAX : (uint32_t)gid, &a);
	return changed(ctx, path, t, r, &a);
}

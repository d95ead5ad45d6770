/* Operations table, init, and SMB attributes -> struct stat. */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "smb2fs/fscc.h"
#include "smb2fs/wire.h"

/* Directories are watched (notify) only with an actimeo of at least this;
 * then the kernel keeps a name it found missing for this long (the
 * daemon answers the lookups after that from its own cache, which the
 * watches keep exact).  Measured: a lookup of a missing name costs about
 * 2 us from the kernel's cache, 16-25 us through the daemon's (a FUSE
 * round trip): 0 would make every such lookup cost the latter. */
#define FS_NOTIFY_MIN_ACTIMEO 2.0
#ifndef FS_NOTIFY_NEGATIVE_TIMEOUT /* (-D for experiments) */
#define FS_NOTIFY_NEGATIVE_TIMEOUT 1.0
#endif
/* 1 MiB is libfuse's largest request buffer; bigger max_write is capped. */
#define FS_MAX_WRITE (1u << 20)

void fs_fill_stat(const struct smb2fs_ctx *ctx, const struct fscc_stat *in, struct stat *st)
{
	int64_t sec;
	long nsec;

	memset(st, 0, sizeof(*st));
	/* The mode the file's security descriptor maps to (secdesc.h), else
	 * file_mode/dir_mode, a read-only file without its write bits (cifs) */
	bool dir = in->file_attributes & FILE_ATTRIBUTE_DIRECTORY;
	mode_t perm = dir ? ctx->dir_mode : ctx->file_mode;
	if (in->has_mode)
		perm = in->mode & 0777;
	else if (!dir && (in->file_attributes & FILE_ATTRIBUTE_READONLY))
		perm &= ~(mode_t)0222;
	if (dir) {
		st->st_mode = S_IFDIR | perm;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | perm;
		st->st_nlink = in->nlink ? in->nlink : 1;
	}
	st->st_uid = in->has_uid && !ctx->forceuid ? (uid_t)in->uid : ctx->uid;
	st->st_gid = in->has_gid && !ctx->forcegid ? (gid_t)in->gid : ctx->gid;
	st->st_size = (off_t)in->end_of_file;
	st->st_blocks = (blkcnt_t)(in->allocation_size / 512);
	/* a regular file that stands for a symlink, FIFO or device (ops_link.c) */
	if (in->special_checked && in->special && (!dir || in->special == S_IFLNK)) {
		st->st_mode = (mode_t)in->special | (in->special == S_IFLNK ? 0777 : (perm & 0777));
		if (in->special == S_IFLNK)
			st->st_size = (off_t)in->special_size;
		else
			st->st_size = 0;
		st->st_rdev = makedev(in->rdev_major, in->rdev_minor);
	}
	fscc_time_to_unix(in->last_access_time, &sec, &nsec);
	st->st_atim.tv_sec = (time_t)sec;
	st->st_atim.tv_nsec = nsec;
	fscc_time_to_unix(in->last_write_time, &sec, &nsec);
	st->st_mtim.tv_sec = (time_t)sec;
	st->st_mtim.tv_nsec = nsec;
	fscc_time_to_unix(in->change_time, &sec, &nsec);
	st->st_ctim.tv_sec = (time_t)sec;
	st->st_ctim.tv_nsec = nsec;
	/* serverino: the server's file id (use_ino; libfuse then hands it
	 * to the kernel as is).  An id no reply told (0, rare: fs_getattr
	 * asks for it) shows as libfuse's FUSE_UNKNOWN_INO, never as 0,
	 * which readdir skips.  noserverino: libfuse numbers the nodes. */
	if (ctx->serverino)
		st->st_ino = in->file_id ? (ino_t)in->file_id : (ino_t)0xffffffffu;
}

bool fs_needs_sd(const struct smb2fs_ctx *ctx, const struct fscc_stat *s)
{
	return !s->sd_asked && smb2_sd_active(ctx->client);
}

char *fs_child_path(char **buf, size_t *cap, const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	bool slash = dl && dir[dl - 1] == '/';
	size_t need = dl + !slash + nl + 1;
	if (need > *cap) {
		char *p = realloc(*buf, need);
		if (!p)
			return NULL;
		*buf = p;
		*cap = need;
	}
	memcpy(*buf, dir, dl);
	if (!slash)
		(*buf)[dl++] = '/';
	memcpy(*buf + dl, name, nl + 1);
	return *buf;
}

static void parent_changed(struct smb2fs_ctx *ctx, const char *path, int r, bool gone)
{
	struct timespec now;

	if (r < 0) {
		attrcache_forget_parent(ctx->cache, path);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t now_ft = fscc_time_from_unix((int64_t)now.tv_sec, now.tv_nsec);
	if (gone)
		attrcache_parent_removed(ctx->cache, path, now_ft);
	else
		attrcache_touch_parent(ctx->cache, path, now_ft);
}

void fs_parent_changed(struct smb2fs_ctx *ctx, const char *path, int r)
{
	parent_changed(ctx, path, r, false);
}

void fs_parent_removed(struct smb2fs_ctx *ctx, const char *path, int r)
{
	parent_changed(ctx, path, r, true);
}

/* A lease break or a reconnect took caching of path away (client.h).
 * Called from the client's lease thread, never from a FUSE operation, so
 * the kernel may call back into us (to write dirty pages) meanwhile. */
static void fs_lease_lost(void *arg, const char *path, uint32_t lost)
{
	struct smb2fs_ctx *ctx = arg;
	attrcache_forget(ctx->cache, path);
	/* Pages and attributes: another client may change the data now.
	 * With the writeback cache, losing W also makes the kernel send its
	 * dirty pages (invalidation writes them back first).  -ENOENT: the
	 * kernel does not know the path, so it caches nothing of it. */
	if ((lost & SMB2_LEASE_READ_CACHING) ||
	    (ctx->writeback_cache && (lost & SMB2_LEASE_WRITE_CACHING)))
		(void)fuse_invalidate_path(ctx->fuse, path);
}

/* Change notify (client/notify.c): another client (or we) changed dir.
 * Called from the client's watcher thread, never from a FUSE operation.
 * What the daemon's cache holds of the name goes (a negative entry
 * first), and the directory's complete-listing record learns the name
 * or loses it, as after a change of our own; the kernel's attributes
 * and pages of the name and the directory are invalidated (-ENOENT: the
 * kernel does not know the path).  The kernel's dentries cannot be:
 * libfuse's high-level API has no path-based entry invalidation
 * (docs/architecture.md, Change notify), so a name the kernel found
 * missing is cached there for FS_NOTIFY_NEGATIVE_TIMEOUT only while
 * watches are on (then its lookup reaches the daemon, which answers from
 * its own cache), and a removed name's dentry stays until entry_timeout,
 * its inode's attributes invalid (stat: ENOENT). */
static void fs_dir_changed(void *arg, const char *dir, const char *name, uint32_t action)
{
	struct smb2fs_ctx *ctx = arg;
	if (action == SMB2_NOTIFY_WATCHED) {
		/* a name may have appeared since the lookup that found it missing */
		attrcache_forget_dir(ctx->cache, dir, true);
		return;
	}
	char *p = NULL;
	size_t cap = 0;
	if (!name || !fs_child_path(&p, &cap, dir, name)) {
		/* anything in dir may have changed */
		attrcache_forget_dir(ctx->cache, dir, false);
		(void)fuse_invalidate_path(ctx->fuse, dir);
		return;
	}
	switch (action) {
	case FILE_ACTION_ADDED:
	case FILE_ACTION_RENAMED_NEW_NAME:
		/* what we know of it as present stays (our own creation) */
		attrcache_forget_entry(ctx->cache, p, true);
		fs_parent_changed(ctx, p, 0);
		break;
	case FILE_ACTION_REMOVED:
	case FILE_ACTION_RENAMED_OLD_NAME:
		attrcache_forget(ctx->cache, p);
		fs_parent_removed(ctx, p, 0);
		(void)fuse_invalidate_path(ctx->fuse, p);
		break;
	default: /* modified */
		/* a file whose read lease we hold: its data and size are ours
		 * to know (another client's change breaks the lease first):
		 * the notification is of our own writes */
		if (!smb2_path_read_leased(ctx->client, p)) {
			/* (a directory's names did not change: its record stays) */
			attrcache_forget_entry(ctx->cache, p, false);
			(void)fuse_invalidate_path(ctx->fuse, p);
		}
		free(p);
		return;
	}
	(void)fuse_invalidate_path(ctx->fuse, dir);
	free(p);
}

/* getattr and readdir, asking for their directory to be watched: one
 * listed, or one in which a name was found missing (that is what the
 * caches hold on to for actimeo); only a directory known to exist (the
 * kernel looked it up first), not the parent of a name in a missing one. */
static void watch_parent(const char *path)
{
	char dir[4096];
	const char *name;
	if (!attrcache_split_parent(path, dir, sizeof(dir), &name))
		return;
	struct fscc_stat st;
	if (attrcache_get(fs_ctx()->cache, dir, &st) == 1 &&
	    (st.file_attributes & FILE_ATTRIBUTE_DIRECTORY))
		smb2_notify_watch(fs_ctx()->client, dir);
}

static int fs_getattr_watched(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	int r = fs_getattr(path, st, fi);
	if (r == -ENOENT && fs_ctx()->notify)
		watch_parent(path);
	return r;
}

static int fs_readdir_watched(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
			      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	int r = fs_readdir(path, buf, filler, off, fi, flags);
	if (r == 0 && off == 0 && fs_ctx()->notify)
		smb2_notify_watch(fs_ctx()->client, path);
	return r;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	uint32_t mw = smb2_client_max_write(ctx->client);

	ctx->fuse = fuse_get_context()->fuse;
	/* an operation waiting for the server ends on a FUSE interrupt */
	smb2_client_set_intr(ctx->client, fs_interrupted, ctx);

	ctx->cache = attrcache_new(ctx->actimeo, ATTRCACHE_MAX_ENTRIES);
	cfg->attr_timeout = ctx->actimeo;
	cfg->entry_timeout = ctx->actimeo;
	cfg->negative_timeout = ctx->actimeo;
	/* notify: only where the caches outlive what a watch costs (with a
	 * shorter actimeo they lapse about as soon as a notification would
	 * come); names the kernel found missing are then cached there only
	 * briefly (fs_dir_changed) */
	ctx->notify = ctx->notify && ctx->cache && ctx->actimeo >= FS_NOTIFY_MIN_ACTIMEO;
	if (ctx->notify)
		cfg->negative_timeout = FS_NOTIFY_NEGATIVE_TIMEOUT;
	cfg->use_ino = ctx->serverino;
	cfg->nullpath_ok = 0;

	/* readdir returns full attributes, so let `ls -l` use them directly
	 * instead of one LOOKUP per entry; AUTO would fall back to plain
	 * readdir after the first listing. */
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;

	/* cache=loose: write() fills the page cache and the kernel sends
	 * dirty pages in WRITEs of up to max_write (ops_file.c covers what
	 * that needs: read access on O_WRONLY handles, flushing every
	 * handle).  The kernel keeps size and mtime itself and sends mtime
	 * back with SETATTR; SMB times have 100 ns steps. */
	ctx->writeback_cache = ctx->want_writeback_cache && (conn->capable & FUSE_CAP_WRITEBACK_CACHE);
	if (ctx->writeback_cache) {
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		conn->time_gran = 100;
	} else {
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	}

	/* fcntl and flock locks: to the server (ops_lock.c), or with nobrl
	 * kept by the kernel on this machine (it then never calls us). */
	if (ctx->nobrl)
		conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);
	else
		conn->want |= conn->capable & (FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);

	if (mw == 0 || mw > FS_MAX_WRITE)
		mw = FS_MAX_WRITE;
	conn->max_write = mw;
	/* Two READs of the largest size in flight for a sequential reader
	 * (measured on loopback: 1-2 MiB doubles cold sequential reads over
	 * the 128 KiB default; more does not help further). */
	uint32_t mr = smb2_client_max_read(ctx->client);
	if (mr == 0 || mr > FS_MAX_WRITE)
		mr = FS_MAX_WRITE;
	conn->max_readahead = 2 * mr;
	fs_raise_readahead(ctx->mountpoint, 2 * mr / 1024);
	smb2_client_set_lease_cb(ctx->client, fs_lease_lost, ctx);
	/* a watch lasts as long as what it keeps current */
	if (ctx->notify)
		smb2_client_set_notify_cb(ctx->client, fs_dir_changed, ctx, (unsigned)ctx->actimeo + 1);
	return ctx;
}

void fs_destroy(void *private_data)
{
	struct smb2fs_ctx *ctx = private_data;
	/* before the cache and the fuse object go */
	smb2_client_set_lease_cb(ctx->client, NULL, NULL);
	smb2_client_set_notify_cb(ctx->client, NULL, NULL, 0);
	attrcache_free(ctx->cache);
	ctx->cache = NULL;
}

const struct fuse_operations smb2fs_ops = {
	.init = fs_init,
	.destroy = fs_destroy,
	.getattr = fs_getattr_watched,
	.opendir = fs_opendir,
	.readdir = fs_readdir_watched,
	.releasedir = fs_releasedir,
	.mkdir = fs_mkdir,
	.rmdir = fs_rmdir,
	.unlink = fs_unlink,
	.rename = fs_rename,
	.truncate = fs_truncate,
	.utimens = fs_utimens,
	.statfs = fs_statfs,
	.chmod = fs_chmod,
	.chown = fs_chown,
	.open = fs_open,
	.create = fs_create,
	.read = fs_read,
	.write = fs_write,
	.write_buf = fs_write_buf,
	.flush = fs_flush,
	.release = fs_release,
	.fsync = fs_fsync,
	.symlink = fs_symlink,
	.readlink = fs_readlink,
	.link = fs_link,
	.mknod = fs_mknod,
	.setxattr = fs_setxattr,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.removexattr = fs_removexattr,
	.fallocate = fs_fallocate,
	.lseek = fs_lseek,
	.copy_file_range = fs_copy_file_range,
	.lock = fs_lock,
	.flock = fs_flock,
};

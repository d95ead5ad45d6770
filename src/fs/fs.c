/* Operations table, init, and SMB attributes -> struct stat. */
#include "fs.h"

#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "smb2fs/fscc.h"
#include "smb2fs/wire.h"

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
	/* st_ino left 0: use_ino is off, libfuse numbers nodes itself. */
}

bool fs_needs_sd(const struct smb2fs_ctx *ctx, const struct fscc_stat *s)
{
	return !s->sd_asked && smb2_sd_active(ctx->client);
}

void fs_parent_changed(struct smb2fs_ctx *ctx, const char *path, int r)
{
	struct timespec now;

	if (r < 0) {
		attrcache_forget_parent(ctx->cache, path);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	attrcache_touch_parent(ctx->cache, path, fscc_time_from_unix((int64_t)now.tv_sec, now.tv_nsec));
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
	cfg->use_ino = 0;
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
	return ctx;
}

void fs_destroy(void *private_data)
{
	struct smb2fs_ctx *ctx = private_data;
	/* before the cache and the fuse object go */
	smb2_client_set_lease_cb(ctx->client, NULL, NULL);
	attrcache_free(ctx->cache);
	ctx->cache = NULL;
}

const struct fuse_operations smb2fs_ops = {
	.init = fs_init,
	.destroy = fs_destroy,
	.getattr = fs_getattr,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
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

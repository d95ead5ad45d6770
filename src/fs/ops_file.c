/* Open files and I/O.  fi->fh holds the struct smb2_file *. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>

/* The flags smb2_open understands (O_SYNC/O_DSYNC/O_DIRECT: no
 * write-behind; O_APPEND: each write at the server's end of file); the
 * rest have no SMB meaning. */
#define FS_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY | O_SYNC | O_DSYNC | O_DIRECT | \
		       O_APPEND)

static bool can_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

/* Close-to-open, as NFS and cifs: the kernel may hold this file's size
 * for actimeo, from before another client changed and closed it, and would
 * stop reads at that size.  Whether the CREATE reply's size or mtime is not
 * what the attribute cache holds (or it holds nothing): then that entry
 * goes.  The kernel's attributes go at every open that does not keep the
 * pages (do_open), once the attribute cache holds the reply or nothing (a
 * getattr the kernel sends at once must not get the old size back): what
 * the kernel holds can be older than our cache (a listing's attributes
 * that it dropped for a newer invalidation, a stat it did not ask for),
 * and comparing with our cache let 6 % of reads after another mount's
 * rewrite stop at the old size (test_leases).  The pages go anyway at an
 * open without keep_cache. */
static bool stale_at_open(struct smb2fs_ctx *ctx, const char *path, const struct fscc_stat *now)
{
	struct fscc_stat was;
	return attrcache_get(ctx->cache, path, &was) != 1 || was.end_of_file != now->end_of_file ||
	       was.last_write_time != now->last_write_time;
}

/* The CREATE reply carries the attributes: they go into the cache, so the
 * getattr libfuse sends right after a create needs no round trip. */
static int do_open(const char *path, int flags, struct fuse_file_info *fi)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct smb2_file *f = NULL;
	struct fscc_stat st;
	uint64_t t = attrcache_ticket(ctx->cache);
	bool quiet = __atomic_load_n(&ctx->writers, __ATOMIC_RELAXED) == 0;
	int r = smb2_open(ctx->client, path, flags & FS_OPEN_FLAGS, &f, &st);

	if (flags & O_CREAT)
		fs_parent_changed(ctx, path, r);
	if (r < 0) {
		if (flags & (O_CREAT | O_TRUNC))
			attrcache_forget(ctx->cache, path);
		return r;
	}
	/* The reply carries no file id: the open's own (QFid) is the file's,
	 * so a new file never takes the id cached for the name's old one. */
	if (!st.file_id)
		st.file_id = smb2_file_server_id(f);
	/* An exclusive create made a new file: nothing of ours is queued
	 * for it.  Otherwise another handle of ours may have writes queued
	 * that the reply does not show yet. */
	bool exact = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) || quiet;
	bool keep = smb2_file_keep_cache(f) && !(flags & O_TRUNC);
	bool stale = !keep && !(flags & O_TRUNC) && stale_at_open(ctx, path, &st);
	/* (not exact: the file is there, its size is what we do not know) */
	if ((flags & (O_CREAT | O_TRUNC)) && exact)
		attrcache_set(ctx->cache, path, &st, t);
	else if (flags & (O_CREAT | O_TRUNC))
		attrcache_forget(ctx->cache, path);
	else if (!(exact && attrcache_fill(ctx->cache, path, &st, t)) && stale)
		/* not filled (also refused: something changed the path since
		 * t, or too much changed to tell): the old entry must not
		 * answer the getattr the kernel sends next */
		attrcache_forget(ctx->cache, path);
	if (!keep && !(flags & O_TRUNC))
		(void)fuse_invalidate_path(ctx->fuse, path);
	if (can_write(flags))
		__atomic_add_fetch(&ctx->writers, 1, __ATOMIC_RELAXED);
	/* A write-only file the server would not open for reading: the page
	 * cache could not fill partial pages, so this descriptor's I/O
	 * bypasses it. */
	if (ctx->writeback_cache && !smb2_file_can_read(ctx->client, f))
		fi->direct_io = 1;
	/* Write-only (cp's and dd's target, a shell's redirection), without
	 * the writeback cache: the page cache would only copy every byte
	 * once more on its way to the server, and nothing reads through
	 * this descriptor.  The kernel drops the written range from the
	 * pages other descriptors cached. */
	if (!ctx->writeback_cache && (flags & O_ACCMODE) == O_WRONLY)
		fi->direct_io = 1;
	/* O_APPEND: the kernel puts each write at the size it cached, which
	 * another client's appends make stale; the client writes at the
	 * server's end of file instead (smb2_open), so the kernel's pages
	 * must not take the data at the offset it assumed. */
	if ((flags & O_APPEND) && can_write(flags))
		fi->direct_io = 1;
	/* Otherwise the kernel drops the file's cached pages at every open;
	 * a read lease held since another handle's open says they are
	 * current (a break drops them: fs_lease_lost). */
	if (keep)
		fi->keep_cache = 1;
	fi->fh = (uint64_t)(uintptr_t)f;
	return 0;
}

int fs_open(const char *path, struct fuse_file_info *fi)
{
	int r = do_open(path, fi->flags, fi);
	/* The kernel opens a name it still holds as existing (for actimeo)
	 * and the server no longer has it: another client removed it (an
	 * SQLite journal between two transactions elsewhere).  ESTALE makes
	 * the kernel look the name up again (LOOKUP_REVAL), so an O_CREAT
	 * open then creates the file, and a plain one gets ENOENT. */
	if (r == -ENOENT) {
		attrcache_forget(fs_ctx()->cache, path);
		return -ESTALE;
	}
	return r;
}

int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int r = do_open(path, fi->flags | O_CREAT, fi);
	if (r == 0)
		fs_created_mode(fs_ctx(), path, fs_file(fi), mode);
	return r;
}

/* The client splits into negotiated-size requests and loops until the
 * request is filled or the server reports end of file, so a short read here
 * really means EOF, as the kernel assumes without direct_io. */
int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	if (off < 0)
		return -EINVAL;
	ssize_t r = smb2_pread(fs_ctx()->client, fs_file(fi), buf, size, (uint64_t)off);
	return (int)r;
}

int fs_write(const char *path, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	if (off < 0)
		return -EINVAL;
	ssize_t r = smb2_pwrite(fs_ctx()->client, fs_file(fi), buf, size, (uint64_t)off);
	/* size and times changed (or will, when queued data lands) */
	attrcache_forget(fs_ctx()->cache, path);
	return (int)r;
}

/* Copies the next n bytes of a FUSE write into dst (from the pipe libfuse
 * spliced a large write into: the one copy of the data in this process). */
static int fill_from_bufvec(void *arg, void *dst, size_t n)
{
	struct fuse_bufvec *src = arg;
	struct fuse_bufvec d = FUSE_BUFVEC_INIT(n);
	d.buf[0].mem = dst;
	ssize_t r = fuse_buf_copy(&d, src, 0);
	return r < 0 ? (int)r : (size_t)r == n ? 0 : -EIO;
}

/* As fs_write; a large write arrives in a pipe (splice, FUSE_CAP_SPLICE_READ
 * is on with write_buf) and write-behind reads it straight into its own
 * buffer, instead of libfuse reading it into a buffer we copy from. */
int fs_write_buf(const char *path, struct fuse_bufvec *buf, off_t off, struct fuse_file_info *fi)
{
	if (off < 0)
		return -EINVAL;
	size_t size = fuse_buf_size(buf);
	ssize_t r;
	if (buf->count == 1 && !(buf->buf[0].flags & FUSE_BUF_IS_FD))
		r = smb2_pwrite(fs_ctx()->client, fs_file(fi), buf->buf[0].mem, size, (uint64_t)off);
	else
		r = smb2_pwrite_fill(fs_ctx()->client, fs_file(fi), size, (uint64_t)off, fill_from_bufvec,
				     buf);
	attrcache_forget(fs_ctx()->cache, path);
	return (int)r;
}

int fs_flush(const char *path, struct fuse_file_info *fi)
{
	/* close(2): queued writes go out now, and their errors are close()'s. */
	struct smb2_file *f = fs_file(fi);
	struct smb2fs_ctx *ctx = fs_ctx();
	/* With the writeback cache this descriptor's pages may have gone out
	 * through another writing handle of the file. */
	int r = !f ? 0 : ctx->writeback_cache ? smb2_flush_file(ctx->client, f)
					       : smb2_flush(ctx->client, f);
	if (f && can_write(fi->flags))
		attrcache_forget(ctx->cache, path);
	return r;
}

int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct smb2_file *f = fs_file(fi);

	/* The kernel ignores release errors; smb2_close frees f regardless. */
	if (f)
		smb2_close(ctx->client, f);
	if (f && can_write(fi->flags)) {
		/* CLOSE may set the time of late writes (client.h) */
		attrcache_forget(ctx->cache, path);
		__atomic_sub_fetch(&ctx->writers, 1, __ATOMIC_RELAXED);
	}
	fi->fh = 0;
	return 0;
}

int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	struct smb2_file *f = fs_file(fi);
	struct smb2fs_ctx *ctx = fs_ctx();
	if (!f)
		return 0;
	if (ctx->writeback_cache) {
		int r = smb2_flush_file(ctx->client, f); /* as in fs_flush */
		if (r < 0)
			return r;
	}
	return smb2_fsync(ctx->client, f);
}

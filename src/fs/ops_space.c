/* Space and server-side copy: fallocate, lseek SEEK_DATA/SEEK_HOLE,
 * copy_file_range (client.h, space.c).  The kernel drops its cached pages
 * of the ranges a punch, a zeroing or a copy changed and the file's
 * cached attributes (fuse_file_fallocate, fuse_copy_file_range); what is
 * left to the fs layer is the daemon's own attribute cache. */
#include "fs.h"

#include <errno.h>
#include <unistd.h>

int fs_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct smb2_file *f = fs_file(fi);
	if (!f)
		return -EBADF;
	if (off < 0 || len <= 0)
		return -EINVAL;
	int r = smb2_fallocate(ctx->client, f, mode, (uint64_t)off, (uint64_t)len);
	/* size, allocation and times changed, or may have when it failed */
	if (r != -EOPNOTSUPP)
		attrcache_forget(ctx->cache, path);
	return r;
}

off_t fs_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi)
{
	(void)path;
	struct smb2_file *f = fs_file(fi);
	uint64_t res;
	if (!f)
		return -EBADF;
	/* the kernel sends only these two; it answers the others itself */
	if ((whence != SEEK_DATA && whence != SEEK_HOLE) || off < 0)
		return -EINVAL;
	int r = smb2_seek_data(fs_ctx()->client, f, (uint64_t)off, whence == SEEK_HOLE, &res);
	return r < 0 ? r : (off_t)res;
}

ssize_t fs_copy_file_range(const char *path_in, struct fuse_file_info *fi_in, off_t off_in,
			   const char *path_out, struct fuse_file_info *fi_out, off_t off_out,
			   size_t size, int flags)
{
	(void)path_in;
	struct smb2fs_ctx *ctx = fs_ctx();
	struct smb2_file *in = fs_file(fi_in), *out = fs_file(fi_out);
	if (!in || !out)
		return -EBADF;
	if (flags != 0 || off_in < 0 || off_out < 0)
		return -EINVAL;
	ssize_t r = smb2_copy_range(ctx->client, in, (uint64_t)off_in, out, (uint64_t)off_out, size);
	attrcache_forget(ctx->cache, path_out);
	return r;
}

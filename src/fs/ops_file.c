/* Open files and I/O.  fi->fh holds the struct smb2_file *. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>

/* The flags smb2_open understands (O_SYNC/O_DSYNC/O_DIRECT: no
 * write-behind); the kernel handles O_APPEND offsets and the rest have no
 * SMB meaning. */
#define FS_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY | O_SYNC | O_DSYNC | O_DIRECT)

static int do_open(const char *path, int flags, struct fuse_file_info *fi)
{
	struct smb2_file *f = NULL;
	int r = smb2_open(fs_ctx()->client, path, flags & FS_OPEN_FLAGS, &f, NULL);

	if (r < 0)
		return r;
	fi->fh = (uint64_t)(uintptr_t)f;
	return 0;
}

int fs_open(const char *path, struct fuse_file_info *fi)
{
	return do_open(path, fi->flags, fi);
}

int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode; /* no POSIX modes on the share */
	return do_open(path, fi->flags | O_CREAT, fi);
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
	(void)path;
	if (off < 0)
		return -EINVAL;
	ssize_t r = smb2_pwrite(fs_ctx()->client, fs_file(fi), buf, size, (uint64_t)off);
	return (int)r;
}

int fs_flush(const char *path, struct fuse_file_info *fi)
{
	/* close(2): queued writes go out now, and their errors are close()'s. */
	(void)path;
	struct smb2_file *f = fs_file(fi);
	return f ? smb2_flush(fs_ctx()->client, f) : 0;
}

int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct smb2_file *f = fs_file(fi);

	(void)path;
	/* The kernel ignores release errors; smb2_close frees f regardless. */
	if (f)
		smb2_close(fs_ctx()->client, f);
	fi->fh = 0;
	return 0;
}

int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	struct smb2_file *f = fs_file(fi);
	return f ? smb2_fsync(fs_ctx()->client, f) : 0;
}

/* FUSE layer (high-level libfuse3 API): path-based operations that map
 * one-to-one onto the client API in smb2fs/client.h. */
#ifndef SMB2FS_FS_H
#define SMB2FS_FS_H

#define FUSE_USE_VERSION 35

#include <fuse.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "smb2fs/client.h"
#include "attrcache.h"

/* Filesystem state, passed as fuse_new()'s private_data. */
struct smb2fs_ctx {
	struct smb2_client *client;
	uid_t uid;          /* owner reported for every file (uid=) */
	gid_t gid;          /* gid= */
	double actimeo;     /* attribute/entry cache seconds */
	const char *mountpoint; /* absolute, as mounted */
	/* The daemon's attribute and name cache (attrcache.h), made in init
	 * for actimeo seconds; NULL when actimeo is 0.  The fs layer is its
	 * only owner: every operation that learns attributes fills it, every
	 * local change invalidates or sets what it changed. */
	struct attrcache *cache;
	/* Handles open for writing (atomic).  While there are any, replies
	 * that do not wait for queued writes (listings, plain opens) fill
	 * the cache with nothing: they may predate data still queued. */
	int writers;
	/* cache=loose: ask for the kernel's writeback cache; writeback_cache
	 * says whether init got it. */
	bool want_writeback_cache;
	bool writeback_cache;
	struct fuse *fuse;  /* for invalidations a lease break asks for (init) */
};

/* readahead.c: sets the kernel's readahead window for the mount on
 * mountpoint (best effort; needs root). */
void fs_raise_readahead(const char *mountpoint, unsigned kib);

/* The operations table (fs.c). */
extern const struct fuse_operations smb2fs_ops;

/* After a create, removal or rename in path's parent (r: its result):
 * the parent's cached times move to now on success; after a failure,
 * whose effect is unknown, its entry is dropped (fs.c). */
void fs_parent_changed(struct smb2fs_ctx *ctx, const char *path, int r);

/* Fills st from the SMB attributes (fs.c). */
void fs_fill_stat(const struct smb2fs_ctx *ctx, const struct fscc_stat *in, struct stat *st);

static inline struct smb2fs_ctx *fs_ctx(void)
{
	return fuse_get_context()->private_data;
}

static inline struct smb2_file *fs_file(const struct fuse_file_info *fi)
{
	return fi ? (struct smb2_file *)(uintptr_t)fi->fh : NULL;
}

void fs_destroy(void *private_data);

/* ops_attr.c: attributes and namespace */
int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int fs_mkdir(const char *path, mode_t mode);
int fs_rmdir(const char *path);
int fs_unlink(const char *path);
int fs_rename(const char *from, const char *to, unsigned int flags);
int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int fs_statfs(const char *path, struct statvfs *sv);
int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);

/* ops_dir.c: listings */
int fs_opendir(const char *path, struct fuse_file_info *fi);
int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
	       struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int fs_releasedir(const char *path, struct fuse_file_info *fi);

/* ops_file.c: open files and I/O */
int fs_open(const char *path, struct fuse_file_info *fi);
int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi);
int fs_write(const char *path, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi);
int fs_write_buf(const char *path, struct fuse_bufvec *buf, off_t off, struct fuse_file_info *fi);
int fs_flush(const char *path, struct fuse_file_info *fi);
int fs_release(const char *path, struct fuse_file_info *fi);
int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi);

#endif

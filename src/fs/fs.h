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
	uid_t uid;          /* owner of a file whose descriptor names no Unix
			     * user, and of every file with forceuid (uid=) */
	gid_t gid;          /* gid=, as uid */
	bool forceuid, forcegid; /* uid=/gid= win over the server's owners */
	/* Modes of files and directories whose descriptor says none (the
	 * server refuses security queries, nocifsacl, a NULL DACL):
	 * file_mode=, dir_mode= (default 0755, as mount.cifs) */
	mode_t file_mode, dir_mode;
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
	/* nobrl: the kernel keeps fcntl/flock locks local (ops_lock.c) */
	bool nobrl;
	/* serverino (default): st_ino is the server's file id (use_ino) */
	bool serverino;
	/* notify (off by default; init turns it off with actimeo under 2 s):
	 * directories listed, or in which a name was missing, are watched
	 * (client/notify.c) and other clients' changes there dropped from
	 * both caches (fs.c) */
	bool notify;
	struct fuse *fuse;  /* for invalidations a lease break asks for (init) */
	/* ops_link.c, ops_xattr.c: symlinks as mfsymlinks (default on),
	 * FIFOs and devices as SFU files (sfu, default off), user.* xattrs
	 * as SMB EAs (default on; nouser_xattr) */
	bool mfsymlinks, sfu, user_xattr;
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
/* fs_parent_changed after a removal of path: on success its name also
 * leaves the parent's complete-listing record (fs.c). */
void fs_parent_removed(struct smb2fs_ctx *ctx, const char *path, int r);

/* dir + "/" + name (no second slash after one dir ends with: "/") into
 * *buf, grown as needed (*cap bytes); returns *buf, NULL when out of
 * memory (fs.c). */
char *fs_child_path(char **buf, size_t *cap, const char *dir, const char *name);

/* Fills st from the SMB attributes (fs.c). */
void fs_fill_stat(const struct smb2fs_ctx *ctx, const struct fscc_stat *in, struct stat *st);
/* Attributes without the POSIX view of the file's descriptor while the
 * mount reads descriptors (listings, open replies): not enough for a
 * getattr (fs.c). */
bool fs_needs_sd(const struct smb2fs_ctx *ctx, const struct fscc_stat *s);

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
/* After a create through f: with descriptors on, reads the new file's
 * descriptor (the getattr that follows then needs no request) and sets
 * mode (umask applied by the kernel) when the server gave another, as
 * cifs does with cifsacl; best effort. */
void fs_created_mode(struct smb2fs_ctx *ctx, const char *path, struct smb2_file *f, mode_t mode);

/* ops_link.c: symlinks (mfsymlinks), hard links, FIFOs and devices
 * (sfu); all smb2fs/mfsym.h formats */
int fs_symlink(const char *target, const char *path);
int fs_readlink(const char *path, char *buf, size_t size);
int fs_link(const char *from, const char *to);
int fs_mknod(const char *path, mode_t mode, dev_t rdev);
/* Attributes that may be a special file's (a regular file of the
 * mfsymlink size, an SFU candidate) whose contents were not looked at:
 * they must not go to the kernel as they are (listings). */
bool fs_special_maybe(const struct smb2fs_ctx *ctx, const struct fscc_stat *s);
/* getattr: when fs_special_maybe, reads the file's head (one round trip,
 * only for such files) and records what it is in s and the attribute
 * cache.  f: the path is open through f (then it is a regular file). */
void fs_special_resolve(struct smb2fs_ctx *ctx, const char *path, const struct smb2_file *f,
			struct fscc_stat *s);

/* ops_xattr.c: user.* extended attributes as SMB EAs */
int fs_setxattr(const char *path, const char *name, const char *value, size_t size, int flags);
int fs_getxattr(const char *path, const char *name, char *value, size_t size);
int fs_listxattr(const char *path, char *list, size_t size);
int fs_removexattr(const char *path, const char *name);

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

/* ops_lock.c: fcntl record locks and flock as SMB2 byte-range locks */
int fs_lock(const char *path, struct fuse_file_info *fi, int cmd, struct flock *fl);
int fs_flock(const char *path, struct fuse_file_info *fi, int op);
/* Whether the FUSE request this thread serves was interrupted (or the
 * session is ending): the client's interrupt check (smb2_client_set_intr). */
bool fs_interrupted(void *ctx);

/* ops_space.c: fallocate, SEEK_DATA/SEEK_HOLE, server-side copy */
int fs_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi);
off_t fs_lseek(const char *path, off_t off, int whence, struct fuse_file_info *fi);
ssize_t fs_copy_file_range(const char *path_in, struct fuse_file_info *fi_in, off_t off_in,
			   const char *path_out, struct fuse_file_info *fi_out, off_t off_out,
			   size_t size, int flags);

#endif

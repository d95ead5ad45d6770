/* fcntl record locks and flock: FUSE -> client locks (locks.c, SMB2
 * LOCK), so a lock taken through one mount holds against every other
 * client of the share.  With nobrl fs_init does not ask the kernel for
 * them, so the kernel keeps locks on this machine (as cifs's nobrl) and
 * only libfuse's F_UNLCK at each flush reaches us (no record: no
 * request). */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/file.h>

/* The client's interrupt check (fs_init: smb2_client_set_intr), asked
 * every SMB2_INTR_LOOK_MS by an operation that waits: for a blocking
 * lock, for a server that does not answer, or for the reconnect of a
 * hard mount; it then ends with EINTR.  FUSE marks the request when the
 * kernel sends INTERRUPT (a signal reached the waiting process); libfuse
 * needs no `intr` option for that.  An unmount ends the wait too. */
bool fs_interrupted(void *arg)
{
	struct smb2fs_ctx *ctx = arg;
	return fuse_interrupted() != 0 || fuse_session_exited(fuse_get_session(ctx->fuse));
}

/* After a lock is taken: what this mount cached of the file may predate
 * another client's writes made under that lock (a lease break may still
 * be on its way): drop the kernel's pages and attributes and ours. */
static void lock_taken(struct smb2fs_ctx *ctx, const char *path, bool stale)
{
	if (!stale || !path) /* (no path: an unlinked open file) */
		return;
	attrcache_forget(ctx->cache, path);
	(void)fuse_invalidate_path(ctx->fuse, path);
}

/* Before an unlock: with the kernel's writeback cache, its dirty pages of
 * the file go out first (invalidation writes them back); write-behind is
 * sent by the client. */
static void before_unlock(struct smb2fs_ctx *ctx, const char *path)
{
	if (ctx->writeback_cache && path)
		(void)fuse_invalidate_path(ctx->fuse, path);
}

int fs_lock(const char *path, struct fuse_file_info *fi, int cmd, struct flock *fl)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct smb2_file *f = fs_file(fi);
	if (!f)
		return -EBADF;
	/* libfuse hands absolute ranges (l_whence SEEK_SET); l_len 0: to EOF */
	if (fl->l_start < 0 || fl->l_len < 0)
		return -EINVAL;
	uint64_t start = (uint64_t)fl->l_start, len = (uint64_t)fl->l_len;
	if (cmd == F_GETLK) {
		int type = fl->l_type;
		if (type == F_UNLCK)
			return 0;
		int r = smb2_lock_test(ctx->client, f, &type, start, len);
		if (r == 0) {
			fl->l_type = (short)type;
			fl->l_pid = 0; /* another client's: no pid of ours */
		}
		return r;
	}
	if (cmd != F_SETLK && cmd != F_SETLKW)
		return -EINVAL;
	if (fl->l_type == F_UNLCK) {
		if (!smb2_lock_held(ctx->client, f, fi->lock_owner, false))
			return 0; /* every close() comes here */
		before_unlock(ctx, path);
	}
	bool stale = false;
	int r = smb2_lock(ctx->client, f, fi->lock_owner, fl->l_type, start, len, cmd == F_SETLKW,
			  &stale);
	if (r == 0)
		lock_taken(ctx, path, stale);
	return r;
}

int fs_flock(const char *path, struct fuse_file_info *fi, int op)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	struct smb2_file *f = fs_file(fi);
	if (!f)
		return -EBADF;
	if (op & LOCK_UN) {
		if (!smb2_lock_held(ctx->client, f, 0, true))
			return 0;
		before_unlock(ctx, path);
	}
	bool stale = false;
	int r = smb2_flock(ctx->client, f, op, &stale);
	if (r == 0)
		lock_taken(ctx, path, stale);
	return r;
}

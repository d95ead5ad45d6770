/* Symlinks, hard links, FIFOs and devices over plain SMB2, which has no
 * POSIX file types.
 *
 * Symlinks are mfsymlinks (smb2fs/mfsym.h): regular files of exactly
 * 1067 bytes that cifs, macOS and Docker for Windows read as links too.
 * FIFOs and devices, with `sfu`, are SFU files: the SYSTEM attribute and
 * a small header.  Telling such a file from a plain one takes its head,
 * so only files that may be one are read: an mfsymlink candidate is a
 * regular file of exactly 1067 bytes, an SFU candidate one with the
 * SYSTEM attribute of 0 or 8..1024 bytes.  getattr reads the head of a
 * candidate once (one CREATE+READ+CLOSE round trip) and keeps what it
 * found in the attribute cache; other files cost nothing extra.  Listings
 * hand candidates to the kernel without attributes, so it looks them up
 * (getattr) before `ls -l` shows them.
 *
 * Symlinks a server keeps itself as reparse points (IO_REPARSE_TAG_SYMLINK,
 * Windows) are read with FSCTL_GET_REPARSE_POINT: every file or directory
 * with FILE_ATTRIBUTE_REPARSE_POINT is a candidate.
 *
 * Hard links are FileLinkInformation (client.h smb2_link); the link
 * count comes with every stat (FileStandardInformation). */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "smb2fs/fscc.h"
#include "smb2fs/mfsym.h"

#define SFU_MAX_SIZE 1024

bool fs_special_maybe(const struct smb2fs_ctx *ctx, const struct fscc_stat *s)
{
	if (s->special_checked)
		return false;
	/* a server's own symlink (Windows), a file or a directory */
	if (s->file_attributes & FILE_ATTRIBUTE_REPARSE_POINT)
		return true;
	if (s->file_attributes & FILE_ATTRIBUTE_DIRECTORY)
		return false;
	if (ctx->mfsymlinks && s->end_of_file == MFSYM_FILE_SIZE)
		return true;
	return ctx->sfu && (s->file_attributes & FILE_ATTRIBUTE_SYSTEM) &&
	       (s->end_of_file == 0 || (s->end_of_file >= 8 && s->end_of_file <= SFU_MAX_SIZE));
}

/* What the head of a candidate says: fills s's special fields. */
static void classify(const struct smb2fs_ctx *ctx, const uint8_t *head, size_t n,
		     struct fscc_stat *s)
{
	s->special_checked = true;
	s->special = 0;
	if (ctx->mfsymlinks && s->end_of_file == MFSYM_FILE_SIZE) {
		char target[MFSYM_TARGET_MAX + 1];
		size_t tlen;
		if (mfsym_parse(head, n, target, sizeof(target), &tlen) == 0) {
			s->special = S_IFLNK;
			s->special_size = (uint32_t)tlen;
			return;
		}
	}
	if (ctx->sfu && (s->file_attributes & FILE_ATTRIBUTE_SYSTEM)) {
		uint32_t ma = 0, mi = 0;
		unsigned t = sfu_parse(head, n, s->end_of_file, &ma, &mi);
		if (t) {
			s->special = t;
			s->rdev_major = ma;
			s->rdev_minor = mi;
		}
	}
}

void fs_special_resolve(struct smb2fs_ctx *ctx, const char *path, const struct smb2_file *f,
			struct fscc_stat *s)
{
	if (f || !fs_special_maybe(ctx, s))
		return;
	uint8_t head[MFSYM_FILE_SIZE];
	ssize_t n = 0;
	uint64_t t = attrcache_ticket(ctx->cache);
	if (s->file_attributes & FILE_ATTRIBUTE_REPARSE_POINT) {
		char *target;
		int r = smb2_read_reparse_link(ctx->client, path, &target);
		if (r < 0 && r != -EINVAL)
			return;
		s->special_checked = true;
		s->special = r == 0 ? S_IFLNK : 0; /* (-EINVAL: another kind) */
		s->special_size = r == 0 ? (uint32_t)strlen(target) : 0;
		if (r == 0)
			free(target);
		attrcache_fill(ctx->cache, path, s, t);
		return;
	}
	if (s->end_of_file > 0) {
		size_t want = s->end_of_file == MFSYM_FILE_SIZE && ctx->mfsymlinks ? MFSYM_FILE_SIZE
										  : SFU_HEAD_SIZE;
		n = smb2_read_head(ctx->client, path, head, want);
		if (n < 0)
			return; /* (unreadable: shown as the regular file it is) */
	}
	classify(ctx, head, (size_t)n, s);
	attrcache_fill(ctx->cache, path, s, t);
}

int fs_symlink(const char *target, const char *path)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	uint8_t buf[MFSYM_FILE_SIZE];

	if (!ctx->mfsymlinks)
		return -EPERM;
	int r = mfsym_build(target, strlen(target), buf);
	if (r < 0)
		return r;
	struct smb2_attrs a;
	r = smb2_create_with(ctx->client, path, buf, sizeof(buf), 0, &a);
	fs_parent_changed(ctx, path, r);
	/* (the lookup that follows reads the new file's descriptor and head) */
	attrcache_forget(ctx->cache, path);
	return r;
}

int fs_readlink(const char *path, char *buf, size_t size)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	uint8_t head[MFSYM_FILE_SIZE];
	char target[MFSYM_TARGET_MAX + 1];
	size_t tlen;

	if (size == 0)
		return -EINVAL;
	/* an mfsymlink, unless the attributes say the server keeps a
	 * reparse point; else (a read the server stopped at a symlink, a
	 * directory, no link file) the reparse point's target */
	struct fscc_stat s;
	bool reparse = attrcache_get(ctx->cache, path, &s) > 0 &&
		       (s.file_attributes & FILE_ATTRIBUTE_REPARSE_POINT);
	if (ctx->mfsymlinks && !reparse) {
		ssize_t n = smb2_read_head(ctx->client, path, head, sizeof(head));
		if (n >= 0 && mfsym_parse(head, (size_t)n, target, sizeof(target), &tlen) == 0)
			goto found;
		if (n < 0 && n != -EOPNOTSUPP && n != -EISDIR)
			return (int)n;
	}
	char *rp;
	int r = smb2_read_reparse_link(ctx->client, path, &rp);
	if (r < 0)
		return r; /* -EINVAL: not (or no longer) a symlink */
	tlen = strlen(rp);
	if (tlen > MFSYM_TARGET_MAX)
		tlen = MFSYM_TARGET_MAX; /* (cut below anyway) */
	memcpy(target, rp, tlen);
	target[tlen] = '\0';
	free(rp);
found:
	/* FUSE: NUL-terminated, cut to the buffer */
	if (tlen >= size)
		tlen = size - 1;
	memcpy(buf, target, tlen);
	buf[tlen] = '\0';
	return 0;
}

int fs_link(const char *from, const char *to)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	int r = smb2_link(ctx->client, from, to);

	fs_parent_changed(ctx, to, r);
	/* both names' link counts (and ctime) changed */
	attrcache_forget(ctx->cache, from);
	attrcache_forget(ctx->cache, to);
	return r;
}

int fs_mknod(const char *path, mode_t mode, dev_t rdev)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	uint8_t buf[SFU_DEV_SIZE];
	size_t len = 0;
	uint32_t attrs = FILE_ATTRIBUTE_SYSTEM;

	switch (mode & S_IFMT) {
	case S_IFREG:
		attrs = 0; /* (libfuse uses create for these) */
		break;
	case S_IFIFO:
		if (!ctx->sfu)
			return -EPERM;
		break; /* an empty SYSTEM file */
	case S_IFCHR:
	case S_IFBLK:
		if (!ctx->sfu)
			return -EPERM;
		sfu_build_dev(S_ISBLK(mode), major(rdev), minor(rdev), buf);
		len = sizeof(buf);
		break;
	default:
		return -EPERM; /* sockets: bind() needs no file here */
	}
	struct smb2_attrs a;
	int r = smb2_create_with(ctx->client, path, buf, len, attrs, &a);
	fs_parent_changed(ctx, path, r);
	attrcache_forget(ctx->cache, path);
	return r;
}

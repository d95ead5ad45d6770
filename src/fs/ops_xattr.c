/* Extended attributes: Linux's user.NAME is the SMB extended attribute
 * (EA) NAME of the file (client.h smb2_get_ea and friends), which Samba
 * keeps as the xattr user.NAME on its own disk and Windows as an EA.
 * Other namespaces (security., system., trusted.) have no SMB form:
 * EOPNOTSUPP.  So does everything with nouser_xattr.
 *
 * What SMB cannot say: EA names are ASCII (EINVAL otherwise), at most
 * 255 bytes (ERANGE), compared without case (user.A and user.a are one
 * attribute; the server decides which case a listing shows); values are
 * at most 65535 bytes (E2BIG) and never empty: setting an empty value
 * removes the attribute.
 *
 * One name is the daemon's own: user.smb2fs.stats on the mount's root
 * ("/") is the mount's statistics (docs/stats.md), made here and never
 * sent to the server; nouser_xattr does not hide it (nothing of the
 * share's is involved), setxattr and removexattr of it fail with EPERM,
 * and listxattr does not name it (cp -a, rsync -X and tar --xattrs would
 * otherwise copy a snapshot of counters onto the files they write).  On
 * any other path the name is an ordinary EA name. */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define STATS_XATTR "user.smb2fs.stats"

static bool is_stats(const char *path, const char *name)
{
	return strcmp(path, "/") == 0 && strcmp(name, STATS_XATTR) == 0;
}

static int get_stats(struct smb2fs_ctx *ctx, char *value, size_t size)
{
	char *text = malloc(SMB2_STATS_TEXT_MAX);
	if (!text)
		return -ENOMEM;
	int n = smb2_client_stats(ctx->client, text, SMB2_STATS_TEXT_MAX);
	if (n >= 0 && size) {
		/* the text without its NUL, as getfattr shows a value */
		if ((size_t)n > size)
			n = -ERANGE;
		else
			memcpy(value, text, (size_t)n);
	}
	free(text);
	return n;
}

#define USER_PREFIX "user."
#define USER_PREFIX_LEN 5

/* The EA name of a Linux xattr name, or NULL (not ours). */
static const char *ea_name(const struct smb2fs_ctx *ctx, const char *name)
{
	if (!ctx->user_xattr || strncmp(name, USER_PREFIX, USER_PREFIX_LEN) != 0)
		return NULL;
	return name + USER_PREFIX_LEN;
}

int fs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	if (is_stats(path, name))
		return get_stats(ctx, value, size);
	const char *ea = ea_name(ctx, name);

	if (!ea)
		return -EOPNOTSUPP;
	ssize_t n = smb2_get_ea(ctx->client, path, ea, value, size);
	return (int)n;
}

int fs_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	if (is_stats(path, name))
		return -EPERM; /* read-only, the daemon's own */
	const char *ea = ea_name(ctx, name);

	if (!ea)
		return -EOPNOTSUPP;
	if (flags & (XATTR_CREATE | XATTR_REPLACE)) {
		ssize_t n = smb2_get_ea(ctx->client, path, ea, NULL, 0);
		if (n < 0 && n != -ENODATA)
			return (int)n;
		if ((flags & XATTR_CREATE) && n >= 0)
			return -EEXIST;
		if ((flags & XATTR_REPLACE) && n == -ENODATA)
			return -ENODATA;
	}
	return smb2_set_ea(ctx->client, path, ea, value, size);
}

int fs_removexattr(const char *path, const char *name)
{
	struct smb2fs_ctx *ctx = fs_ctx();
	if (is_stats(path, name))
		return -EPERM;
	const char *ea = ea_name(ctx, name);

	if (!ea)
		return -EOPNOTSUPP;
	/* removing an EA that is not there is no error to SMB */
	ssize_t n = smb2_get_ea(ctx->client, path, ea, NULL, 0);
	if (n < 0)
		return (int)n;
	return smb2_set_ea(ctx->client, path, ea, NULL, 0);
}

struct list_fill {
	char *list;
	size_t size, len;
	int err;
};

static int list_one(const char *name, size_t name_len, void *arg)
{
	struct list_fill *lf = arg;
	size_t need = USER_PREFIX_LEN + name_len + 1;
	if (lf->size) {
		if (lf->len + need > lf->size)
			return -ERANGE;
		memcpy(lf->list + lf->len, USER_PREFIX, USER_PREFIX_LEN);
		memcpy(lf->list + lf->len + USER_PREFIX_LEN, name, name_len);
		lf->list[lf->len + need - 1] = '\0';
	}
	lf->len += need;
	return 0;
}

int fs_listxattr(const char *path, char *list, size_t size)
{
	struct smb2fs_ctx *ctx = fs_ctx();

	if (!ctx->user_xattr)
		return -EOPNOTSUPP;
	struct list_fill lf = {.list = list, .size = size};
	int r = smb2_list_ea(ctx->client, path, list_one, &lf);
	if (r < 0)
		return r;
	return (int)lf.len;
}

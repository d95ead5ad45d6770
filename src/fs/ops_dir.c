/* Directory listings.
 *
 * libfuse's high-level readdirplus only hands the kernel real entries
 * (node id + attributes, so `ls -l` needs no LOOKUP per name) when the
 * filler gets non-zero offsets; with offset 0 it sends attributes the
 * kernel ignores.  Offsets mean readdir is called again for each kernel
 * buffer, so the listing is fetched once per opendir/rewind and kept in
 * the directory handle instead of asking the server again per call.  Its
 * entries fill the attribute cache, and its names the directory's record
 * of complete contents (attrcache.h). */
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fs_dirent {
	char *name;
	struct stat st;
};

struct fs_dir {
	struct fs_dirent *ents;
	size_t n, cap;
	bool loaded;
	bool plus;  /* the entries' attributes may go to the kernel (load_state.fill) */
};

static void dir_clear(struct fs_dir *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	d->ents = NULL;
	d->n = d->cap = 0;
	d->loaded = false;
}

struct load_state {
	struct smb2fs_ctx *ctx;
	struct fs_dir *d;
	const char *dir;        /* the directory's path */
	uint64_t ticket;        /* attrcache: taken before the listing */
	bool fill;              /* no handle open for writing when it began */
	struct attrcache_listing *names; /* the directory's record (names) */
	char *child;            /* scratch for "dir/name" */
	size_t child_cap;
};

static bool is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* Every entry's attributes go into the attribute cache: a stat or lookup
 * right after a listing needs no round trip ("." is the directory). */
static void cache_entry(struct load_state *ls, const struct fscc_dirent *e)
{
	const char *name = e->name;
	if (!ls->fill || (is_dot(name) && name[1]))
		return;
	if (name[0] == '.' && !name[1]) {
		attrcache_fill(ls->ctx->cache, ls->dir, &e->st, ls->ticket);
		return;
	}
	size_t dl = strlen(ls->dir), nl = strlen(name);
	bool root = dl == 1 && ls->dir[0] == '/';
	size_t need = dl + nl + 2;
	if (need > ls->child_cap) {
		char *p = realloc(ls->child, need);
		if (!p)
			return;
		ls->child = p;
		ls->child_cap = need;
	}
	snprintf(ls->child, need, "%s/%s", root ? "" : ls->dir, name);
	attrcache_fill(ls->ctx->cache, ls->child, &e->st, ls->ticket);
}

static int load_cb(const struct fscc_dirent *e, void *arg)
{
	struct load_state *ls = arg;
	struct fs_dir *d = ls->d;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		struct fs_dirent *p = realloc(d->ents, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		d->ents = p;
		d->cap = cap;
	}
	d->ents[d->n].name = strdup(e->name);
	if (!d->ents[d->n].name)
		return -ENOMEM;
	fs_fill_stat(ls->ctx, &e->st, &d->ents[d->n].st);
	d->n++;
	cache_entry(ls, e);
	attrcache_list_add(ls->names, e->name);
	return 0;
}

int fs_opendir(const char *path, struct fuse_file_info *fi)
{
	struct fs_dir *d = calloc(1, sizeof(*d));

	(void)path;
	if (!d)
		return -ENOMEM;
	fi->fh = (uint64_t)(uintptr_t)d;
	return 0;
}

int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
	       struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;

	(void)flags;
	if (!d)
		return -EBADF;
	/* offset 0 is opendir or rewinddir: POSIX wants fresh contents */
	if (off == 0 || !d->loaded) {
		struct load_state ls = { .ctx = fs_ctx(), .d = d, .dir = path };
		int r;

		ls.ticket = attrcache_ticket(ls.ctx->cache);
		/* a file with writes still queued is listed with the size
		 * the server has: do not keep that (its name is fine) */
		ls.fill = ls.ctx->cache && __atomic_load_n(&ls.ctx->writers, __ATOMIC_RELAXED) == 0;
		/* the whole listing: the directory's names answer lookups of
		 * missing names for actimeo */
		ls.names = attrcache_list_begin(ls.ctx->cache, path);
		dir_clear(d);
		r = smb2_readdir(ls.ctx->client, path, load_cb, &ls);
		attrcache_list_end(ls.ctx->cache, ls.names, r);
		free(ls.child);
		if (r < 0) {
			dir_clear(d);
			return r;
		}
		d->loaded = true;
		d->plus = ls.fill;
	}
	for (size_t i = (size_t)(off < 0 ? 0 : off); i < d->n; i++) {
		const struct fs_dirent *e = &d->ents[i];
		/* libfuse makes no node for "." and ".."; as PLUS entries they
		 * would carry st_ino 0, which glibc's readdir skips.  Nor do
		 * sizes taken while writes were queued: the kernel would cut
		 * the file being written to the server's size. */
		enum fuse_fill_dir_flags ff = d->plus && !is_dot(e->name) ? FUSE_FILL_DIR_PLUS : 0;

		if (filler(buf, e->name, &e->st, (off_t)i + 1, ff))
			break; /* kernel buffer full; we are called again at i + 1 */
	}
	return 0;
}

int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;

	(void)path;
	if (d) {
		dir_clear(d);
		free(d);
	}
	fi->fh = 0;
	return 0;
}

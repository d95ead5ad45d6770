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
#include <stdlib.h>
#include <string.h>

struct fs_dirent {
	char *name;
	struct stat st;
	uint64_t file_id;   /* the listing's (fscc), 0: none */
	bool plus;          /* st is complete: handed to the kernel (readdirplus) */
	uint64_t ticket;    /* attrcache: taken before the request st came from */
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
 * right after a listing needs no round trip ("." is the directory).
 *
 * A listing carries no security descriptors.  While the mount reads them,
 * an entry whose cached attributes still have the descriptor's view takes
 * mode and owner from there (the cache keeps that view when the listing's
 * attributes replace the rest, attrcache.h); the others go to the kernel
 * without attributes (*plus false), so the kernel looks them up and the
 * stat compound reads the descriptor.  Returns the entry's attributes in
 * *st. */
static void cache_entry(struct load_state *ls, const struct fscc_dirent *e, struct fscc_stat *st,
			bool *plus)
{
	const char *name = e->name;
	*st = e->st;
	/* a possible symlink or SFU file: the kernel looks it up (ops_link.c) */
	*plus = !is_dot(name) && !fs_special_maybe(ls->ctx, st);
	/* (not filling: the kernel gets no attributes anyway, fs_readdir) */
	if (!ls->fill || (is_dot(name) && name[1]))
		return;
	if (name[0] == '.' && !name[1]) {
		attrcache_fill(ls->ctx->cache, ls->dir, &e->st, ls->ticket);
		return;
	}
	if (!fs_child_path(&ls->child, &ls->child_cap, ls->dir, name))
		return;
	/* a listing has no link count: the one a stat of the same file
	 * told (attrcache keeps it), else 1 (fetch_sd asks); nor a
	 * descriptor: the view the entry holds, else the kernel looks the
	 * name up */
	attrcache_fill_merged(ls->ctx->cache, ls->child, st, ls->ticket);
	if (fs_needs_sd(ls->ctx, st))
		*plus = false;
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
	struct fscc_stat st;
	cache_entry(ls, e, &st, &d->ents[d->n].plus);
	fs_fill_stat(ls->ctx, &st, &d->ents[d->n].st);
	d->ents[d->n].file_id = st.file_id;
	d->ents[d->n].ticket = ls->ticket;
	d->n++;
	attrcache_list_add(ls->names, e->name);
	return 0;
}

/* The entries the listing gave no descriptor for: their stat compounds,
 * many in flight at once (smb2_stat_many), so `ls -l` does not wait for
 * one LOOKUP after another.  What they return completes the entries and,
 * as the listing's attributes would, fills the cache. */
static void fetch_sd(struct smb2fs_ctx *ctx, const char *dir, struct fs_dir *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += !d->ents[i].plus && !is_dot(d->ents[i].name);
	if (n == 0)
		return;
	const char **names = calloc(n, sizeof(*names));
	size_t *idx = calloc(n, sizeof(*idx));
	struct fscc_stat *st = calloc(n, sizeof(*st));
	int *res = calloc(n, sizeof(*res));
	char *child = NULL;
	size_t cap = 0;
	if (!names || !idx || !st || !res)
		goto out;
	n = 0;
	for (size_t i = 0; i < d->n; i++)
		if (!d->ents[i].plus && !is_dot(d->ents[i].name)) {
			idx[n] = i;
			names[n++] = d->ents[i].name;
		}
	uint64_t t = attrcache_ticket(ctx->cache);
	if (smb2_stat_many(ctx->client, dir, names, n, st, res) < 0)
		goto out;
	for (size_t k = 0; k < n; k++) {
		if (res[k] < 0)
			continue;
		struct fs_dirent *e = &d->ents[idx[k]];
		/* (the stat compounds' CREATEs ask for no id: the listing's) */
		if (!st[k].file_id)
			st[k].file_id = e->file_id;
		fs_fill_stat(ctx, &st[k], &e->st);
		e->plus = !fs_special_maybe(ctx, &st[k]);
		e->ticket = t;
		if (fs_child_path(&child, &cap, dir, e->name))
			attrcache_fill(ctx->cache, child, &st[k], t);
	}
out:
	free(child);
	free(names);
	free(idx);
	free(st);
	free(res);
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
		/* (not while writes are queued: those stats would not wait
		 * for them; the kernel looks such entries up instead) */
		if (smb2_sd_active(ls.ctx->client) && ls.fill)
			fetch_sd(ls.ctx, path, d);
	}
	struct attrcache *cache = fs_ctx()->cache;
	char *child = NULL;
	size_t cap = 0;
	for (size_t i = (size_t)(off < 0 ? 0 : off); i < d->n; i++) {
		const struct fs_dirent *e = &d->ents[i];
		/* libfuse makes no node for "." and ".."; as PLUS entries they
		 * would carry st_ino 0, which glibc's readdir skips.  Nor do
		 * sizes taken while writes were queued: the kernel would cut
		 * the file being written to the server's size.  Nor do entries
		 * without a descriptor's mode (e->plus, cache_entry).  Nor do
		 * attributes something newer replaced meanwhile (an open's
		 * reply after another client's change, which took the
		 * kernel's): the kernel takes a readdirplus entry's as newest,
		 * and would read the file to the listing's old size. */
		enum fuse_fill_dir_flags ff = d->plus && e->plus ? FUSE_FILL_DIR_PLUS : 0;
		if (ff && cache && (!fs_child_path(&child, &cap, path, e->name) ||
				    !attrcache_current(cache, child, e->ticket)))
			ff = 0;

		if (filler(buf, e->name, &e->st, (off_t)i + 1, ff))
			break; /* kernel buffer full; we are called again at i + 1 */
	}
	free(child);
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

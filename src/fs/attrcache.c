/* Attribute and name cache: see attrcache.h. */
#include "attrcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smb2fs/clock.h"
#include "smb2fs/utf16.h"

struct ac_ent {
	struct ac_ent *hnext;          /* bucket chain */
	struct ac_ent *lprev, *lnext;  /* LRU list, most recent first */
	/* the side indexes (enum ac_index); ipprev NULL when not in one */
	struct ac_ent *inext[2], **ipprev[2];
	uint64_t dir_hash;             /* the fold hash of the parent (parent_fold_hash) */
	uint64_t hash;                 /* of the folded path */
	int64_t expires_ns;            /* CLOCK_MONOTONIC */
	uint64_t ticket;               /* of the request whose reply this is */
	/* st's POSIX view from the security descriptor (st.sd_asked) is
	 * good until then: attributes without one (a listing's, an open's,
	 * a setattr's) keep it from the entry they replace, not longer */
	int64_t sd_expires_ns;
	bool negative;
	struct fscc_stat st;
	char path[];
};

/* Side indexes of the entries: by the server's file id (positive
 * entries that have one: drop_links finds a file's other names) and by
 * their parent directory's fold hash (attrcache_forget_dir); each a table
 * of ac->nidx chains. */
enum ac_index { AC_BY_ID, AC_BY_DIR };

/* Order: one clock that every ticket and every invalidation advances.
 * A ticket is the clock's value, so tickets are unique and ordered: a
 * reply never replaces what the reply to a request made after it stored
 * (two opens of a file by two threads: the one that left first can
 * answer last, with the size from before another client's write).
 *
 * Recent invalidations, each stamped with the clock, tell a fill whether
 * its path changed after its ticket (changed_since walks back from the
 * newest while they are newer than the ticket); a fill older than the
 * ring's oldest invalidation is simply not stored. */
#define AC_RING 64
enum ac_inval_kind {
	AC_INVAL_PATH,                 /* the paths whose fold hashes to hash */
	AC_INVAL_DIR,                  /* those and the names directly in them */
	AC_INVAL_ALL,                  /* a subtree: matches every path */
};
struct ac_inval {
	uint64_t clock;
	uint64_t hash;
	enum ac_inval_kind kind;
};

/* A set of names, hashed by their fold (so a name and every name the
 * server may take for it share a bucket); exact names are kept, so our
 * own removal of one takes out exactly it. */
struct ac_name {
	struct ac_name *next;
	uint64_t fold;                 /* fold_hash of the name */
	char name[];
};

struct ac_names {
	struct ac_name **b;
	size_t nb, n;                  /* buckets (a power of two), names */
};

/* What the cache knows of one directory's names (attrcache.h, "dir
 * records"), and the misses that decide when to list it. */
struct ac_dir {
	struct ac_dir *prev, *next;    /* LRU list, most recent first */
	uint64_t hash;                 /* of the folded path */
	bool complete;                 /* names holds a listing ... */
	int64_t expires_ns;            /* ... until then (0: never had one) */
	struct ac_names names;
	int64_t window_ns;             /* start of the current miss window */
	unsigned misses;               /* server ENOENTs in the window */
	unsigned answered;             /* lookups the last record answered */
	unsigned cost;                 /* its last listing's size, in misses */
	unsigned backoff;              /* after listings that were not kept */
	bool listing;                  /* an adaptive listing is on the wire */
	char path[];
};

struct attrcache_listing {
	uint64_t ticket;
	int64_t start_ns;              /* CLOCK_MONOTONIC, before the request */
	bool adaptive;                 /* from attrcache_list_wanted */
	bool over;                     /* too many names, or out of memory */
	size_t count, max;             /* names seen; the most kept */
	struct ac_names names;
	char dir[];
};

struct attrcache {
	pthread_mutex_t mu;
	int64_t ttl_ns;
	int64_t sd_ttl_ns;     /* a descriptor's view: ATTRCACHE_SD_TTL_SEC, or ttl if longer */
	size_t max, count;
	struct ac_ent **buckets;
	size_t nbuckets;               /* a power of two */
	struct ac_ent *lru_head, *lru_tail;
	struct ac_ent **idx[2];        /* the side indexes' chains (enum ac_index) */
	size_t nidx;                   /* a power of two */
	uint64_t clock;                /* tickets and invalidations so far */
	uint64_t ninval;               /* invalidations so far (ring[ninval % AC_RING] next) */
	struct ac_inval ring[AC_RING];
	/* dir records */
	struct ac_dir *dir_head, *dir_tail;
	size_t ndirs, max_dirs;
	size_t dir_names, max_names;   /* names held in all records */
};

/* The fold: ASCII letters lowered, non-ASCII bytes left out (so names a
 * server's Unicode case rules might equate share a bucket), except the
 * letters whose simple upper or lower case is an ASCII letter: U+0130 and
 * U+0131 (dotted capital and dotless small i), U+017F (long s) and U+212A
 * (Kelvin sign) fold as i, i, s and k ("\u0131.txt" may be "I.TXT"). */
static unsigned char fold_at(const char **s)
{
	for (;;) {
		const unsigned char *p = (const unsigned char *)*s;
		if (p[0] < 0x80) {
			unsigned char ch = p[0];
			if (ch)
				(*s)++;
			return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
		}
		if (p[0] == 0xc4 && (p[1] == 0xb0 || p[1] == 0xb1)) {
			*s += 2;
			return 'i';
		}
		if (p[0] == 0xc5 && p[1] == 0xbf) {
			*s += 2;
			return 's';
		}
		if (p[0] == 0xe2 && p[1] == 0x84 && p[2] == 0xaa) {
			*s += 3;
			return 'k';
		}
		(*s)++;
	}
}

static uint64_t fold_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (unsigned char ch; (ch = fold_at(&s));)
		h = (h ^ ch) * 1099511628211ull;
	return h;
}

/* fold_hash of path's parent directory ("/a/b": of "/a", "/a": of "/";
 * "/" is its own), without copying it. */
static uint64_t parent_fold_hash(const char *path)
{
	uint64_t h = 1469598103934665603ull, parent = h;
	bool any = false;
	for (unsigned char ch; (ch = fold_at(&path));) {
		if (ch == '/')
			parent = any ? h : (h ^ '/') * 1099511628211ull;
		h = (h ^ ch) * 1099511628211ull;
		any = true;
	}
	return parent;
}

static bool fold_eq(const char *a, const char *b)
{
	for (;;) {
		unsigned char x = fold_at(&a), y = fold_at(&b);
		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

/* a is dir itself or below it, under the fold. */
static bool fold_in_tree(const char *a, const char *dir)
{
	if (strcmp(dir, "/") == 0)
		return true;
	for (;;) {
		unsigned char y = fold_at(&dir);
		if (!y)
			break;
		if (fold_at(&a) != y)
			return false;
	}
	unsigned char x = fold_at(&a);
	return x == 0 || x == '/';
}

bool attrcache_split_parent(const char *path, char *buf, size_t cap, const char **name)
{
	const char *slash = strrchr(path, '/');
	if (!slash || !slash[1])
		return false;
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= cap)
		return false;
	memcpy(buf, path, n);
	buf[n] = '\0';
	*name = slash + 1;
	return true;
}

struct attrcache *attrcache_new(double ttl_sec, size_t max_entries)
{
	if (!(ttl_sec > 0) || max_entries == 0)
		return NULL;
	struct attrcache *ac = calloc(1, sizeof(*ac));
	if (!ac)
		return NULL;
	ac->nbuckets = 64;
	while (ac->nbuckets < max_entries)
		ac->nbuckets *= 2;
	ac->buckets = calloc(ac->nbuckets, sizeof(*ac->buckets));
	ac->nidx = ac->nbuckets / 4;
	ac->idx[AC_BY_ID] = calloc(ac->nidx, sizeof(*ac->idx[0]));
	ac->idx[AC_BY_DIR] = calloc(ac->nidx, sizeof(*ac->idx[0]));
	if (!ac->buckets || !ac->idx[AC_BY_ID] || !ac->idx[AC_BY_DIR]) {
		free(ac->buckets);
		free(ac->idx[AC_BY_ID]);
		free(ac->idx[AC_BY_DIR]);
		free(ac);
		return NULL;
	}
	ac->ttl_ns = (int64_t)(ttl_sec * 1e9);
	ac->sd_ttl_ns = ttl_sec > ATTRCACHE_SD_TTL_SEC ? ac->ttl_ns : ATTRCACHE_SD_TTL_SEC * 1000000000LL;
	ac->max = max_entries;
	ac->max_dirs = ATTRCACHE_MAX_DIRS;
	ac->max_names = ATTRCACHE_MAX_DIR_NAMES;
	pthread_mutex_init(&ac->mu, NULL);
	return ac;
}

static void names_free(struct ac_names *t);

void attrcache_free(struct attrcache *ac)
{
	if (!ac)
		return;
	for (struct ac_ent *e = ac->lru_head, *n; e; e = n) {
		n = e->lnext;
		free(e);
	}
	for (struct ac_dir *d = ac->dir_head, *n; d; d = n) {
		n = d->next;
		names_free(&d->names);
		free(d);
	}
	free(ac->buckets);
	free(ac->idx[AC_BY_ID]);
	free(ac->idx[AC_BY_DIR]);
	pthread_mutex_destroy(&ac->mu);
	free(ac);
}

static void lru_unlink(struct attrcache *ac, struct ac_ent *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		ac->lru_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		ac->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void lru_push(struct attrcache *ac, struct ac_ent *e)
{
	e->lprev = NULL;
	e->lnext = ac->lru_head;
	if (ac->lru_head)
		ac->lru_head->lprev = e;
	ac->lru_head = e;
	if (!ac->lru_tail)
		ac->lru_tail = e;
}

/* The chain of index k holding key (a file id, a directory's hash). */
static struct ac_ent **idx_chain(struct attrcache *ac, enum ac_index k, uint64_t key)
{
	return &ac->idx[k][(key * 0x9e3779b97f4a7c15ull >> 32) & (ac->nidx - 1)];
}

static void idx_unlink(struct ac_ent *e, enum ac_index k)
{
	if (!e->ipprev[k])
		return;
	*e->ipprev[k] = e->inext[k];
	if (e->inext[k])
		e->inext[k]->ipprev[k] = e->ipprev[k];
	e->inext[k] = NULL;
	e->ipprev[k] = NULL;
}

static void idx_link(struct attrcache *ac, struct ac_ent *e, enum ac_index k, uint64_t key)
{
	struct ac_ent **b = idx_chain(ac, k, key);
	e->inext[k] = *b;
	if (*b)
		(*b)->ipprev[k] = &e->inext[k];
	*b = e;
	e->ipprev[k] = b;
}

/* e's place in the file-id index, after its attributes changed. */
static void id_index(struct attrcache *ac, struct ac_ent *e)
{
	idx_unlink(e, AC_BY_ID);
	if (!e->negative && e->st.file_id)
		idx_link(ac, e, AC_BY_ID, e->st.file_id);
}

static void ent_remove(struct attrcache *ac, struct ac_ent *e)
{
	struct ac_ent **pp = &ac->buckets[e->hash & (ac->nbuckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	idx_unlink(e, AC_BY_ID);
	idx_unlink(e, AC_BY_DIR);
	lru_unlink(ac, e);
	ac->count--;
	free(e);
}

static struct ac_ent *find_exact(struct attrcache *ac, const char *path, uint64_t h)
{
	for (struct ac_ent *e = ac->buckets[h & (ac->nbuckets - 1)]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

/* Drops every entry the server may take for path (negatives_only: only
 * those cached as missing). */
static void drop_variants(struct attrcache *ac, const char *path, uint64_t h, bool negatives_only)
{
	struct ac_ent *e = ac->buckets[h & (ac->nbuckets - 1)];
	while (e) {
		struct ac_ent *n = e->hnext;
		if (e->hash == h && (!negatives_only || e->negative) && fold_eq(e->path, path))
			ent_remove(ac, e);
		e = n;
	}
}

static void note_inval(struct attrcache *ac, uint64_t h, enum ac_inval_kind kind)
{
	ac->ring[ac->ninval++ % AC_RING] = (struct ac_inval){++ac->clock, h, kind};
}

/* Whether path (hash h) was invalidated after ticket. */
static bool changed_since(const struct attrcache *ac, const char *path, uint64_t h, uint64_t ticket)
{
	uint64_t n = ac->ninval < AC_RING ? ac->ninval : AC_RING;
	bool have_parent = false;
	uint64_t ph = 0;
	for (uint64_t i = 1; i <= n; i++) {
		const struct ac_inval *v = &ac->ring[(ac->ninval - i) % AC_RING];
		if (v->clock <= ticket)
			return false;
		if (v->kind == AC_INVAL_ALL || v->hash == h)
			return true;
		if (v->kind == AC_INVAL_DIR) {
			if (!have_parent)
				ph = parent_fold_hash(path);
			have_parent = true;
			if (ph == v->hash)
				return true;
		}
	}
	/* every invalidation since ticket still in the ring, none of path;
	 * else too much happened to tell: do not trust it */
	return ac->ninval > AC_RING;
}

/* The descriptor's view e holds and until when (0: none that is still
 * good). */
static int64_t sd_held(const struct ac_ent *e, struct fscc_stat *out)
{
	if (!e || e->negative || !e->st.sd_asked ||
	    e->sd_expires_ns <= smb2_clock_now_ns(CLOCK_MONOTONIC))
		return 0;
	fscc_sd_view_copy(out, &e->st);
	return e->sd_expires_ns;
}

static struct ac_ent *store_sd(struct attrcache *ac, struct ac_ent *e, const char *path, uint64_t h,
			       const struct fscc_stat *st, const struct fscc_stat *old_sd,
			       int64_t old_sd_expires);

/* What an entry of path knew that the new attributes st (from a reply
 * whose class carries less) do not say, whatever the entry's age: the
 * file id (serverino; a CREATE, a CLOSE, FileNetworkOpenInformation carry
 * none) and the link count (listings carry none), kept while the id, or
 * the creation time, says it is still the same file; for our own change
 * of path (own: attrcache_set) the entry's file is the one changed
 * (Samba's creation time is the oldest of the times when the disk keeps
 * none, so setting an mtime may change it).  Returns st, or *now
 * completed. */
static const struct fscc_stat *keep_known(const struct ac_ent *e, const struct fscc_stat *st,
					  struct fscc_stat *now, bool own)
{
	if (!st || !e || e->negative || (st->file_id && st->nlink))
		return st;
	const struct fscc_stat *o = &e->st;
	bool same = st->file_id ? st->file_id == o->file_id
				: o->file_id && (own || st->creation_time == o->creation_time);
	if (!same || (!o->nlink && st->file_id))
		return st;
	*now = *st;
	now->file_id = o->file_id;
	if (!now->nlink)
		now->nlink = o->nlink;
	return now;
}

/* e's file (path's entry) has other names (hard links, nlink > 1,
 * serverino): their entries go too when it changes or one of its names
 * goes, since their link count, size and times are the same file's.
 * Found through the file-id index (whatever their own link count: a
 * listing's carry none). */
static void drop_links(struct attrcache *ac, const struct ac_ent *e)
{
	if (!e || e->negative || e->st.nlink < 2 || !e->st.file_id)
		return;
	uint64_t id = e->st.file_id;
	for (struct ac_ent *x = *idx_chain(ac, AC_BY_ID, id), *n; x; x = n) {
		n = x->inext[AC_BY_ID];
		if (x != e && x->st.file_id == id) {
			note_inval(ac, x->hash, AC_INVAL_PATH);
			ent_remove(ac, x);
		}
	}
}

/* A reply's attributes (st, or NULL: no such name) for path, whose entry
 * is e (or none); returns the entry now (NULL: out of memory). */
static struct ac_ent *store(struct attrcache *ac, struct ac_ent *e, const char *path, uint64_t h,
			    const struct fscc_stat *st)
{
	struct fscc_stat old, now;
	int64_t exp = sd_held(e, &old);
	st = keep_known(e, st, &now, false);
	return store_sd(ac, e, path, h, st, &old, exp);
}

static struct ac_ent *store_sd(struct attrcache *ac, struct ac_ent *e, const char *path, uint64_t h,
			       const struct fscc_stat *st, const struct fscc_stat *old_sd,
			       int64_t old_sd_expires)
{
	if (!e) {
		size_t n = strlen(path);
		e = malloc(sizeof(*e) + n + 1);
		if (!e)
			return NULL;
		memcpy(e->path, path, n + 1);
		e->hash = h;
		e->ipprev[AC_BY_ID] = NULL;
		e->dir_hash = parent_fold_hash(path);
		idx_link(ac, e, AC_BY_DIR, e->dir_hash);
		struct ac_ent **b = &ac->buckets[h & (ac->nbuckets - 1)];
		e->hnext = *b;
		*b = e;
		ac->count++;
	} else {
		lru_unlink(ac, e);
	}
	lru_push(ac, e);
	int64_t now = smb2_clock_now_ns(CLOCK_MONOTONIC);
	e->expires_ns = now + ac->ttl_ns;
	e->negative = st == NULL;
	e->sd_expires_ns = 0;
	if (st)
		e->st = *st;
	else
		memset(&e->st, 0, sizeof(e->st));
	if (st && st->sd_asked) {
		e->sd_expires_ns = now + ac->sd_ttl_ns;
	} else if (st && old_sd_expires) {
		fscc_sd_view_copy(&e->st, old_sd);
		e->sd_expires_ns = old_sd_expires;
	}
	id_index(ac, e);
	/* (e is the most recent: max >= 1 keeps it) */
	while (ac->count > ac->max)
		ent_remove(ac, ac->lru_tail);
	return e;
}

/* ---- dir records ---- */

static void names_free(struct ac_names *t)
{
	for (size_t i = 0; i < t->nb; i++)
		for (struct ac_name *x = t->b[i], *n; x; x = n) {
			n = x->next;
			free(x);
		}
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

static bool names_has_fold(const struct ac_names *t, uint64_t fold)
{
	if (!t->nb)
		return false;
	for (const struct ac_name *x = t->b[fold & (t->nb - 1)]; x; x = x->next)
		if (x->fold == fold)
			return true;
	return false;
}

/* 1 added, 0 already there, -1 out of memory. */
static int names_add(struct ac_names *t, const char *name, uint64_t fold)
{
	if (t->nb) {
		for (const struct ac_name *x = t->b[fold & (t->nb - 1)]; x; x = x->next)
			if (x->fold == fold && strcmp(x->name, name) == 0)
				return 0;
	}
	if (t->n >= t->nb) {
		size_t nb = t->nb ? 2 * t->nb : 16;
		struct ac_name **b = calloc(nb, sizeof(*b));
		if (!b)
			return -1;
		for (size_t i = 0; i < t->nb; i++)
			for (struct ac_name *x = t->b[i], *n; x; x = n) {
				n = x->next;
				x->next = b[x->fold & (nb - 1)];
				b[x->fold & (nb - 1)] = x;
			}
		free(t->b);
		t->b = b;
		t->nb = nb;
	}
	size_t len = strlen(name);
	struct ac_name *x = malloc(sizeof(*x) + len + 1);
	if (!x)
		return -1;
	memcpy(x->name, name, len + 1);
	x->fold = fold;
	x->next = t->b[fold & (t->nb - 1)];
	t->b[fold & (t->nb - 1)] = x;
	t->n++;
	return 1;
}

/* 1 removed, 0 not there. */
static int names_remove(struct ac_names *t, const char *name, uint64_t fold)
{
	if (!t->nb)
		return 0;
	for (struct ac_name **pp = &t->b[fold & (t->nb - 1)]; *pp; pp = &(*pp)->next) {
		struct ac_name *x = *pp;
		if (x->fold == fold && strcmp(x->name, name) == 0) {
			*pp = x->next;
			free(x);
			t->n--;
			return 1;
		}
	}
	return 0;
}

/* A DOS device name ("nul", "COM1.txt"), which a Windows server opens
 * whatever the directory holds. */
static bool dos_device(const char *name)
{
	static const char *const dev[] = {"con", "prn", "aux", "nul", "com", "lpt"};
	size_t base = strcspn(name, ".");
	for (size_t i = 0; i < sizeof(dev) / sizeof(*dev); i++) {
		const char *s = name;
		if (fold_at(&s) != dev[i][0] || fold_at(&s) != dev[i][1] || fold_at(&s) != dev[i][2])
			continue;
		if (base == 3 || (i >= 4 && base == 4 && name[3] >= '0' && name[3] <= '9'))
			return true;
	}
	return false;
}

/* Whether the server's answer for name could differ from "no such name"
 * while no listed name folds like it: names it refuses (the characters
 * Windows forbids, control characters, no UTF-8 form, too long), names it
 * may trim (a trailing dot or space), short-name aliases ("~") and DOS
 * devices.  Those are always asked. */
static bool name_answerable(const char *name)
{
	size_t len = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++, len++)
		if (*p < 0x20 || strchr("\"*:<>?\\|~", *p))
			return false;
	if (len == 0 || len > 255 || name[len - 1] == '.' || name[len - 1] == ' ')
		return false;
	return utf8_valid(name, len) && !dos_device(name);
}

static void dir_unlink(struct attrcache *ac, struct ac_dir *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		ac->dir_head = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		ac->dir_tail = d->prev;
	d->prev = d->next = NULL;
}

static void dir_push(struct attrcache *ac, struct ac_dir *d)
{
	d->prev = NULL;
	d->next = ac->dir_head;
	if (ac->dir_head)
		ac->dir_head->prev = d;
	ac->dir_head = d;
	if (!ac->dir_tail)
		ac->dir_tail = d;
}

/* The record no longer knows the directory's names. */
static void dir_drop_names(struct attrcache *ac, struct ac_dir *d)
{
	ac->dir_names -= d->names.n;
	names_free(&d->names);
	d->complete = false;
}

static void dir_remove(struct attrcache *ac, struct ac_dir *d)
{
	dir_drop_names(ac, d);
	dir_unlink(ac, d);
	ac->ndirs--;
	free(d);
}

static struct ac_dir *dir_find(struct attrcache *ac, const char *dir, uint64_t h)
{
	for (struct ac_dir *d = ac->dir_head; d; d = d->next)
		if (d->hash == h && strcmp(d->path, dir) == 0)
			return d;
	return NULL;
}

static struct ac_dir *dir_get(struct attrcache *ac, const char *dir, uint64_t h)
{
	struct ac_dir *d = dir_find(ac, dir, h);
	if (d) {
		dir_unlink(ac, d);
		dir_push(ac, d);
		return d;
	}
	size_t n = strlen(dir);
	d = calloc(1, sizeof(*d) + n + 1);
	if (!d)
		return NULL;
	memcpy(d->path, dir, n + 1);
	d->hash = h;
	d->backoff = 1;
	while (ac->ndirs >= ac->max_dirs && ac->dir_tail)
		dir_remove(ac, ac->dir_tail);
	dir_push(ac, d);
	ac->ndirs++;
	return d;
}

/* A fresh record (an expired one is emptied when met). */
static bool dir_fresh(struct attrcache *ac, struct ac_dir *d, int64_t now)
{
	if (d->complete && d->expires_ns <= now)
		dir_drop_names(ac, d);
	return d->complete;
}

/* Room for need more names, dropping the names of the least recently
 * used records other than keep. */
static bool dir_make_room(struct attrcache *ac, size_t need, const struct ac_dir *keep)
{
	for (struct ac_dir *d = ac->dir_tail; d && ac->dir_names + need > ac->max_names; d = d->prev)
		if (d != keep && d->complete)
			dir_drop_names(ac, d);
	return ac->dir_names + need <= ac->max_names;
}

/* Every record the server may take for dir (or below it, tree) forgets
 * its names. */
static void dir_forget(struct attrcache *ac, const char *dir, uint64_t h, bool tree)
{
	for (struct ac_dir *d = ac->dir_head; d; d = d->next)
		if (d->complete &&
		    (tree ? fold_in_tree(d->path, dir) : d->hash == h && fold_eq(d->path, dir)))
			dir_drop_names(ac, d);
}

/* 0: path's directory has a fresh record without path's name (folded). */
static int dir_lookup(struct attrcache *ac, const char *path)
{
	char dir[4096];
	const char *name;
	if (!ac->dir_head || !attrcache_split_parent(path, dir, sizeof(dir), &name) ||
	    !name_answerable(name))
		return -1;
	struct ac_dir *d = dir_find(ac, dir, fold_hash(dir));
	if (!d || !dir_fresh(ac, d, smb2_clock_now_ns(CLOCK_MONOTONIC)) ||
	    names_has_fold(&d->names, fold_hash(name)))
		return -1;
	d->answered++;
	dir_unlink(ac, d);
	dir_push(ac, d);
	return 0;
}

static struct attrcache_listing *listing_new(struct attrcache *ac, const char *dir, bool adaptive)
{
	size_t n = strlen(dir);
	struct attrcache_listing *l = calloc(1, sizeof(*l) + n + 1);
	if (!l)
		return NULL;
	memcpy(l->dir, dir, n + 1);
	l->ticket = ac->clock;
	l->start_ns = smb2_clock_now_ns(CLOCK_MONOTONIC);
	l->adaptive = adaptive;
	l->max = ac->max_names;
	return l;
}

struct attrcache_listing *attrcache_list_begin(struct attrcache *ac, const char *dir)
{
	if (!ac || !dir)
		return NULL;
	pthread_mutex_lock(&ac->mu);
	struct attrcache_listing *l = listing_new(ac, dir, false);
	pthread_mutex_unlock(&ac->mu);
	return l;
}

const char *attrcache_list_dir(const struct attrcache_listing *l)
{
	return l->dir;
}

void attrcache_list_add(struct attrcache_listing *l, const char *name)
{
	if (!l || (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))))
		return;
	l->count++;
	if (l->over)
		return;
	if (l->names.n >= l->max || names_add(&l->names, name, fold_hash(name)) < 0) {
		l->over = true;
		names_free(&l->names);
	}
}

/* Misses a listing of n names is worth: Samba answers a lookup of a
 * missing name in about as long as it lists 30-50 names. */
static unsigned listing_cost(size_t n)
{
	size_t c = n / 32;
	return c > 1000000 ? 1000000 : (unsigned)c;
}

void attrcache_list_end(struct attrcache *ac, struct attrcache_listing *l, int r)
{
	if (!ac || !l)
		return;
	uint64_t h = fold_hash(l->dir);
	pthread_mutex_lock(&ac->mu);
	struct ac_dir *d = dir_find(ac, l->dir, h);
	if (l->adaptive && d)
		d->listing = false;
	bool keep = r == 0 && !l->over && !changed_since(ac, l->dir, h, l->ticket);
	int64_t expires = l->start_ns + ac->ttl_ns;
	if (keep && !d)
		d = dir_get(ac, l->dir, h);
	if (d && r == 0)
		d->cost = listing_cost(l->count);
	/* a newer listing already in place stays */
	if (keep && d && d->complete && d->expires_ns >= expires)
		keep = false;
	if (keep && d) {
		dir_drop_names(ac, d);
		if (dir_make_room(ac, l->names.n, d)) {
			d->names = l->names;
			memset(&l->names, 0, sizeof(l->names));
			ac->dir_names += d->names.n;
			d->complete = true;
			d->expires_ns = expires;
			d->answered = 0;
			d->backoff = 1;
		}
	} else if (d && l->adaptive && d->backoff < 64) {
		d->backoff *= 2; /* listed for nothing: wait for more misses */
	}
	pthread_mutex_unlock(&ac->mu);
	names_free(&l->names);
	free(l);
}

void attrcache_dir_miss(struct attrcache *ac, const char *path)
{
	char dir[4096];
	const char *name;
	if (!ac || !path || !attrcache_split_parent(path, dir, sizeof(dir), &name) ||
	    !name_answerable(name))
		return;
	uint64_t h = fold_hash(dir);
	int64_t now = smb2_clock_now_ns(CLOCK_MONOTONIC);
	pthread_mutex_lock(&ac->mu);
	struct ac_dir *d = dir_get(ac, dir, h);
	if (d) {
		if (now - d->window_ns > ac->ttl_ns) {
			d->window_ns = now;
			d->misses = 0;
		}
		d->misses++;
	}
	pthread_mutex_unlock(&ac->mu);
}

struct attrcache_listing *attrcache_list_wanted(struct attrcache *ac, const char *path)
{
	char dir[4096];
	const char *name;
	if (!ac || !path || !attrcache_split_parent(path, dir, sizeof(dir), &name) ||
	    !name_answerable(name))
		return NULL;
	uint64_t h = fold_hash(dir);
	int64_t now = smb2_clock_now_ns(CLOCK_MONOTONIC);
	struct attrcache_listing *l = NULL;
	pthread_mutex_lock(&ac->mu);
	struct ac_dir *d = dir_find(ac, dir, h);
	if (d && !d->listing && !dir_fresh(ac, d, now)) {
		unsigned need = d->cost > ATTRCACHE_LIST_AFTER_MISSES ? d->cost
								      : ATTRCACHE_LIST_AFTER_MISSES;
		need *= d->backoff;
		bool busy = now - d->window_ns <= ac->ttl_ns && d->misses >= need;
		/* the last record answered more lookups than a listing costs,
		 * and lapsed just now: the program is still at it */
		bool paid = d->expires_ns && now - d->expires_ns <= ac->ttl_ns && d->answered >= need;
		if (busy || paid) {
			l = listing_new(ac, dir, true);
			if (l) {
				d->listing = true;
				d->misses = 0;
				d->answered = 0;
				d->window_ns = now;
			}
		}
	}
	pthread_mutex_unlock(&ac->mu);
	return l;
}

void attrcache_dir_remove(struct attrcache *ac, const char *path)
{
	char dir[4096];
	const char *name;
	if (!ac || !path || !attrcache_split_parent(path, dir, sizeof(dir), &name))
		return;
	uint64_t h = fold_hash(dir), fn = fold_hash(name);
	pthread_mutex_lock(&ac->mu);
	struct ac_dir *d = dir_find(ac, dir, h);
	if (d && d->complete)
		ac->dir_names -= (size_t)names_remove(&d->names, name, fn);
	pthread_mutex_unlock(&ac->mu);
}

int attrcache_dir_known(struct attrcache *ac, const char *dir)
{
	if (!ac || !dir)
		return 0;
	pthread_mutex_lock(&ac->mu);
	struct ac_dir *d = dir_find(ac, dir, fold_hash(dir));
	int r = d && dir_fresh(ac, d, smb2_clock_now_ns(CLOCK_MONOTONIC));
	pthread_mutex_unlock(&ac->mu);
	return r;
}

void attrcache_set_dir_limits(struct attrcache *ac, size_t max_dirs, size_t max_names)
{
	if (!ac)
		return;
	pthread_mutex_lock(&ac->mu);
	ac->max_dirs = max_dirs ? max_dirs : 1;
	ac->max_names = max_names;
	while (ac->ndirs > ac->max_dirs)
		dir_remove(ac, ac->dir_tail);
	dir_make_room(ac, 0, NULL);
	pthread_mutex_unlock(&ac->mu);
}

void attrcache_set_sd_ttl(struct attrcache *ac, double sec)
{
	if (!ac)
		return;
	pthread_mutex_lock(&ac->mu);
	ac->sd_ttl_ns = (int64_t)(sec * 1e9);
	pthread_mutex_unlock(&ac->mu);
}

int attrcache_get(struct attrcache *ac, const char *path, struct fscc_stat *st)
{
	/* (no cache with actimeo=0; FUSE may pass no path for a removed file) */
	if (!ac || !path)
		return -1;
	int r = -1;
	uint64_t h = fold_hash(path);
	int64_t now = smb2_clock_now_ns(CLOCK_MONOTONIC);
	pthread_mutex_lock(&ac->mu);
	struct ac_ent *e = find_exact(ac, path, h);
	if (e && e->expires_ns <= now) {
		/* the attributes lapsed; a descriptor's view that has not
		 * stays for the next fill (a listing's) to carry */
		if (e->negative || !e->st.sd_asked || e->sd_expires_ns <= now)
			ent_remove(ac, e);
		e = NULL;
	}
	if (e) {
		lru_unlink(ac, e);
		lru_push(ac, e);
		r = e->negative ? 0 : 1;
		if (!e->negative) {
			*st = e->st;
			if (st->sd_asked && e->sd_expires_ns <= now) {
				struct fscc_stat none = {0};
				fscc_sd_view_copy(st, &none); /* the descriptor's part lapsed */
			}
		}
	} else {
		r = dir_lookup(ac, path);
	}
	pthread_mutex_unlock(&ac->mu);
	return r;
}

int attrcache_get_held(struct attrcache *ac, const char *path, struct fscc_stat *st)
{
	if (!ac || !path)
		return -1;
	int r = -1;
	uint64_t h = fold_hash(path);
	pthread_mutex_lock(&ac->mu);
	struct ac_ent *e = find_exact(ac, path, h);
	if (e && !e->negative) {
		lru_unlink(ac, e);
		lru_push(ac, e);
		*st = e->st;
		r = 1;
	}
	pthread_mutex_unlock(&ac->mu);
	return r;
}

uint64_t attrcache_ticket(struct attrcache *ac)
{
	if (!ac)
		return 0;
	pthread_mutex_lock(&ac->mu);
	uint64_t t = ++ac->clock;
	pthread_mutex_unlock(&ac->mu);
	return t;
}

/* attrcache_fill under the mutex; returns path's entry now (NULL: none). */
static struct ac_ent *fill(struct attrcache *ac, const char *path, uint64_t h,
			   const struct fscc_stat *st, uint64_t ticket, bool *stored)
{
	struct ac_ent *e = find_exact(ac, path, h);
	*stored = false;
	if (!changed_since(ac, path, h, ticket) && !(e && e->ticket > ticket)) {
		e = store(ac, e, path, h, st);
		if (e) {
			e->ticket = ticket;
			*stored = true;
		}
	}
	return e;
}

bool attrcache_fill(struct attrcache *ac, const char *path, const struct fscc_stat *st,
		    uint64_t ticket)
{
	if (!ac || !path)
		return false;
	uint64_t h = fold_hash(path);
	bool stored;
	pthread_mutex_lock(&ac->mu);
	fill(ac, path, h, st, ticket, &stored);
	pthread_mutex_unlock(&ac->mu);
	return stored;
}

bool attrcache_current(struct attrcache *ac, const char *path, uint64_t ticket)
{
	if (!ac || !path)
		return false;
	uint64_t h = fold_hash(path);
	pthread_mutex_lock(&ac->mu);
	const struct ac_ent *e = find_exact(ac, path, h);
	bool r = !changed_since(ac, path, h, ticket) && !(e && e->ticket > ticket);
	pthread_mutex_unlock(&ac->mu);
	return r;
}

void attrcache_fill_merged(struct attrcache *ac, const char *path, struct fscc_stat *st,
			   uint64_t ticket)
{
	if (!ac || !path || !st)
		return;
	uint64_t h = fold_hash(path);
	bool stored;
	pthread_mutex_lock(&ac->mu);
	const struct ac_ent *e = fill(ac, path, h, st, ticket, &stored);
	if (e && !e->negative) {
		if (!st->nlink && st->file_id && e->st.file_id == st->file_id)
			st->nlink = e->st.nlink;
		if (!st->sd_asked && e->st.sd_asked && e->sd_expires_ns > smb2_clock_now_ns(CLOCK_MONOTONIC))
			fscc_sd_view_copy(st, &e->st);
	}
	pthread_mutex_unlock(&ac->mu);
}

void attrcache_set(struct attrcache *ac, const char *path, const struct fscc_stat *st,
		   uint64_t ticket)
{
	if (!ac || !path)
		return;
	uint64_t h = fold_hash(path);
	pthread_mutex_lock(&ac->mu);
	/* Changed by someone else while ours was on the wire: which came
	 * last is unknown, so keep neither. */
	bool other = changed_since(ac, path, h, ticket);
	struct fscc_stat old, now;
	struct ac_ent *e = find_exact(ac, path, h);
	int64_t exp = sd_held(e, &old);
	st = keep_known(e, st, &now, true);
	drop_links(ac, e);
	drop_variants(ac, path, h, false); /* (e too) */
	if (!st)
		dir_forget(ac, path, h, false);
	note_inval(ac, h, AC_INVAL_PATH);
	if (!other) {
		e = store_sd(ac, NULL, path, h, st, &old, exp);
		if (e)
			e->ticket = ac->clock; /* newer than every reply on the wire */
	}
	pthread_mutex_unlock(&ac->mu);
}

void attrcache_forget(struct attrcache *ac, const char *path)
{
	if (!ac || !path)
		return;
	uint64_t h = fold_hash(path);
	pthread_mutex_lock(&ac->mu);
	drop_links(ac, find_exact(ac, path, h));
	drop_variants(ac, path, h, false);
	dir_forget(ac, path, h, false);
	note_inval(ac, h, AC_INVAL_PATH);
	pthread_mutex_unlock(&ac->mu);
}

void attrcache_forget_entry(struct attrcache *ac, const char *path, bool negatives_only)
{
	if (!ac || !path)
		return;
	uint64_t h = fold_hash(path);
	pthread_mutex_lock(&ac->mu);
	drop_links(ac, find_exact(ac, path, h));
	drop_variants(ac, path, h, negatives_only);
	note_inval(ac, h, AC_INVAL_PATH);
	pthread_mutex_unlock(&ac->mu);
}

void attrcache_forget_tree(struct attrcache *ac, const char *path)
{
	if (!ac || !path)
		return;
	pthread_mutex_lock(&ac->mu);
	for (struct ac_ent *e = ac->lru_head, *n; e; e = n) {
		n = e->lnext;
		if (fold_in_tree(e->path, path))
			ent_remove(ac, e);
	}
	dir_forget(ac, path, 0, true);
	note_inval(ac, 0, AC_INVAL_ALL);
	pthread_mutex_unlock(&ac->mu);
}

void attrcache_forget_dir(struct attrcache *ac, const char *dir, bool negatives_only)
{
	if (!ac || !dir)
		return;
	uint64_t h = fold_hash(dir);
	pthread_mutex_lock(&ac->mu);
	/* dir's names, through the index (whatever the server takes for dir:
	 * a variant's names fold to the same parent hash) */
	for (struct ac_ent *e = *idx_chain(ac, AC_BY_DIR, h), *n; e; e = n) {
		n = e->inext[AC_BY_DIR];
		if (e->dir_hash == h && (!negatives_only || e->negative))
			ent_remove(ac, e);
	}
	drop_variants(ac, dir, h, negatives_only);
	if (!negatives_only)
		dir_forget(ac, dir, h, false);
	/* fills of dir and of its names on the wire are older */
	note_inval(ac, h, AC_INVAL_DIR);
	pthread_mutex_unlock(&ac->mu);
}

void attrcache_forget_parent(struct attrcache *ac, const char *path)
{
	if (!ac || !path)
		return;
	const char *slash = strrchr(path, '/');
	if (!slash)
		return;
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	char *parent = malloc(n + 1);
	if (!parent) {
		attrcache_forget_tree(ac, "/");
		return;
	}
	memcpy(parent, path, n);
	parent[n] = '\0';
	attrcache_forget(ac, parent);
	free(parent);
}

/* attrcache_touch_parent; gone: path was removed, its exact name leaves
 * the record (attrcache_dir_remove) instead. */
static void touch_parent(struct attrcache *ac, const char *path, uint64_t now_ft, bool gone)
{
	if (!ac || !path)
		return;
	char parent[4096];
	const char *name;
	if (!attrcache_split_parent(path, parent, sizeof(parent), &name)) {
		attrcache_forget_parent(ac, path);
		return;
	}
	uint64_t h = fold_hash(parent);
	pthread_mutex_lock(&ac->mu);
	struct ac_ent *e = ac->buckets[h & (ac->nbuckets - 1)];
	while (e) {
		struct ac_ent *next = e->hnext;
		if (e->hash == h && fold_eq(e->path, parent)) {
			if (strcmp(e->path, parent) == 0 && !e->negative) {
				e->st.last_write_time = now_ft;
				e->st.change_time = now_ft;
			} else {
				ent_remove(ac, e);
			}
		}
		e = next;
	}
	/* its record gains the name (made, or maybe not quite removed: a
	 * name too many only costs a lookup), or loses a removed one; a
	 * variant's forgets */
	uint64_t fn = fold_hash(name);
	for (struct ac_dir *d = ac->dir_head; d; d = d->next) {
		if (!d->complete || d->hash != h || !fold_eq(d->path, parent))
			continue;
		if (strcmp(d->path, parent) != 0 || (!gone && !dir_make_room(ac, 1, d))) {
			dir_drop_names(ac, d);
			continue;
		}
		if (gone) {
			ac->dir_names -= (size_t)names_remove(&d->names, name, fn);
			continue;
		}
		int a = names_add(&d->names, name, fn);
		if (a < 0)
			dir_drop_names(ac, d);
		else
			ac->dir_names += (size_t)a;
	}
	/* a listing or stat of the parent already on the wire is older */
	note_inval(ac, h, AC_INVAL_PATH);
	pthread_mutex_unlock(&ac->mu);
}

void attrcache_touch_parent(struct attrcache *ac, const char *path, uint64_t now_ft)
{
	touch_parent(ac, path, now_ft, false);
}

void attrcache_parent_removed(struct attrcache *ac, const char *path, uint64_t now_ft)
{
	touch_parent(ac, path, now_ft, true);
}

size_t attrcache_count(struct attrcache *ac)
{
	if (!ac)
		return 0;
	pthread_mutex_lock(&ac->mu);
	size_t n = ac->count;
	pthread_mutex_unlock(&ac->mu);
	return n;
}

/* Attribute and name cache: see attrcache.h. */
#include "attrcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ac_ent {
	struct ac_ent *hnext;          /* bucket chain */
	struct ac_ent *lprev, *lnext;  /* LRU list, most recent first */
	uint64_t hash;                 /* of the folded path */
	int64_t expires_ns;            /* CLOCK_MONOTONIC */
	bool negative;
	struct fscc_stat st;
	char path[];
};

/* Recent invalidations, to tell a fill whether its path changed after its
 * ticket.  Older tickets than the ring covers are simply not stored. */
#define AC_RING 64
struct ac_inval {
	uint64_t seq;
	uint64_t hash;
	bool all;                      /* a subtree: matches every path */
};

struct attrcache {
	pthread_mutex_t mu;
	int64_t ttl_ns;
	size_t max, count;
	struct ac_ent **buckets;
	size_t nbuckets;               /* a power of two */
	struct ac_ent *lru_head, *lru_tail;
	uint64_t seq;                  /* invalidations so far */
	struct ac_inval ring[AC_RING];
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The fold: ASCII letters lowered, non-ASCII bytes left out (so names a
 * server's Unicode case rules might equate share a bucket). */
static unsigned char fold_at(const char **s)
{
	while (**s && (unsigned char)**s >= 0x80)
		(*s)++;
	unsigned char ch = (unsigned char)**s;
	if (ch)
		(*s)++;
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

static uint64_t fold_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (unsigned char ch; (ch = fold_at(&s));)
		h = (h ^ ch) * 1099511628211ull;
	return h;
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
	if (!ac->buckets) {
		free(ac);
		return NULL;
	}
	ac->ttl_ns = (int64_t)(ttl_sec * 1e9);
	ac->max = max_entries;
	pthread_mutex_init(&ac->mu, NULL);
	return ac;
}

void attrcache_free(struct attrcache *ac)
{
	if (!ac)
		return;
	for (struct ac_ent *e = ac->lru_head, *n; e; e = n) {
		n = e->lnext;
		free(e);
	}
	free(ac->buckets);
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

static void ent_remove(struct attrcache *ac, struct ac_ent *e)
{
	struct ac_ent **pp = &ac->buckets[e->hash & (ac->nbuckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
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

/* Drops every entry the server may take for path. */
static void drop_variants(struct attrcache *ac, const char *path, uint64_t h)
{
	struct ac_ent *e = ac->buckets[h & (ac->nbuckets - 1)];
	while (e) {
		struct ac_ent *n = e->hnext;
		if (e->hash == h && fold_eq(e->path, path))
			ent_remove(ac, e);
		e = n;
	}
}

static void note_inval(struct attrcache *ac, uint64_t h, bool all)
{
	ac->seq++;
	struct ac_inval *v = &ac->ring[ac->seq % AC_RING];
	v->seq = ac->seq;
	v->hash = h;
	v->all = all;
}

/* Whether path (hash h) was invalidated after ticket. */
static bool changed_since(const struct attrcache *ac, uint64_t h, uint64_t ticket)
{
	if (ac->seq == ticket)
		return false;
	if (ac->seq - ticket >= AC_RING)
		return true; /* too much happened to tell: do not trust it */
	for (uint64_t s = ticket + 1; s <= ac->seq; s++) {
		const struct ac_inval *v = &ac->ring[s % AC_RING];
		if (v->all || v->hash == h)
			return true;
	}
	return false;
}

static void store(struct attrcache *ac, const char *path, uint64_t h, const struct fscc_stat *st)
{
	struct ac_ent *e = find_exact(ac, path, h);
	if (!e) {
		size_t n = strlen(path);
		e = malloc(sizeof(*e) + n + 1);
		if (!e)
			return;
		memcpy(e->path, path, n + 1);
		e->hash = h;
		struct ac_ent **b = &ac->buckets[h & (ac->nbuckets - 1)];
		e->hnext = *b;
		*b = e;
		ac->count++;
	} else {
		lru_unlink(ac, e);
	}
	lru_push(ac, e);
	e->expires_ns = now_ns() + ac->ttl_ns;
	e->negative = st == NULL;
	if (st)
		e->st = *st;
	else
		memset(&e->st, 0, sizeof(e->st));
	while (ac->count > ac->max)
		ent_remove(ac, ac->lru_tail);
}

int attrcache_get(struct attrcache *ac, const char *path, struct fscc_stat *st)
{
	/* (no cache with actimeo=0; FUSE may pass no path for a removed file) */
	if (!ac || !path)
		return -1;
	int r = -1;
	uint64_t h = fold_hash(path);
	pthread_mutex_lock(&ac->mu);
	struct ac_ent *e = find_exact(ac, path, h);
	if (e && e->expires_ns <= now_ns()) {
		ent_remove(ac, e);
		e = NULL;
	}
	if (e) {
		lru_unlink(ac, e);
		lru_push(ac, e);
		r = e->negative ? 0 : 1;
		if (!e->negative)
			*st = e->st;
	}
	pthread_mutex_unlock(&ac->mu);
	return r;
}

uint64_t attrcache_ticket(struct attrcache *ac)
{
	if (!ac)
		return 0;
	pthread_mutex_lock(&ac->mu);
	uint64_t t = ac->seq;
	pthread_mutex_unlock(&ac->mu);
	return t;
}

void attrcache_fill(struct attrcache *ac, const char *path, const struct fscc_stat *st,
		    uint64_t ticket)
{
	if (!ac || !path)
		return;
	uint64_t h = fold_hash(path);
	pthread_mutex_lock(&ac->mu);
	if (!changed_since(ac, h, ticket))
		store(ac, path, h, st);
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
	bool other = changed_since(ac, h, ticket);
	drop_variants(ac, path, h);
	note_inval(ac, h, false);
	if (!other)
		store(ac, path, h, st);
	pthread_mutex_unlock(&ac->mu);
}

void attrcache_forget(struct attrcache *ac, const char *path)
{
	if (!ac || !path)
		return;
	uint64_t h = fold_hash(path);
	pthread_mutex_lock(&ac->mu);
	drop_variants(ac, path, h);
	note_inval(ac, h, false);
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
	note_inval(ac, 0, true);
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

void attrcache_touch_parent(struct attrcache *ac, const char *path, uint64_t now_ft)
{
	if (!ac || !path)
		return;
	const char *slash = strrchr(path, '/');
	if (!slash)
		return;
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	char parent[4096];
	if (n >= sizeof(parent)) {
		attrcache_forget_parent(ac, path);
		return;
	}
	memcpy(parent, path, n);
	parent[n] = '\0';
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
	/* a listing or stat of the parent already on the wire is older */
	note_inval(ac, h, false);
	pthread_mutex_unlock(&ac->mu);
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

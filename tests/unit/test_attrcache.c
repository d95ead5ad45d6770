/* The fs layer's attribute and name cache (src/fs/attrcache.c). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attrcache.h"
#include "check.h"

static struct fscc_stat st_of(uint64_t size)
{
	struct fscc_stat s;
	memset(&s, 0, sizeof(s));
	s.end_of_file = size;
	return s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_fill_get(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat s = st_of(5), out;
	CHECK(ac != NULL);
	CHECK_EQ(attrcache_get(ac, "/a", &out), -1);
	attrcache_fill(ac, "/a", &s, attrcache_ticket(ac));
	CHECK_EQ(attrcache_get(ac, "/a", &out), 1);
	CHECK_EQ(out.end_of_file, 5);
	attrcache_fill(ac, "/b", NULL, attrcache_ticket(ac));
	CHECK_EQ(attrcache_get(ac, "/b", &out), 0);
	/* exact names only: a case variant is not answered */
	CHECK_EQ(attrcache_get(ac, "/A", &out), -1);
	attrcache_forget(ac, "/a");
	CHECK_EQ(attrcache_get(ac, "/a", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/b", &out), 0);
	attrcache_free(ac);
}

/* Creating "foo" drops the negative "FOO" and "Foo" (the server may treat
 * them as one name), also when they differ in non-ASCII letters. */
static void test_variants(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat s = st_of(1), out;
	uint64_t t = attrcache_ticket(ac);
	attrcache_fill(ac, "/d/FOO", NULL, t);
	attrcache_fill(ac, "/D/Foo", NULL, t);
	attrcache_fill(ac, "/d/bar", NULL, t);
	attrcache_fill(ac, "/d/\xc3\x84x", NULL, t); /* "Äx" */
	t = attrcache_ticket(ac);
	attrcache_set(ac, "/d/foo", &s, t);
	CHECK_EQ(attrcache_get(ac, "/d/FOO", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/D/Foo", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/foo", &out), 1);
	CHECK_EQ(attrcache_get(ac, "/d/bar", &out), 0);
	attrcache_forget(ac, "/d/\xc3\xa4x"); /* "äx" */
	CHECK_EQ(attrcache_get(ac, "/d/\xc3\x84x", &out), -1);
	attrcache_free(ac);
}

/* A reply that left the server before a local change must not be stored
 * after it. */
static void test_ticket_race(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat old = st_of(1), mine = st_of(2), out;
	uint64_t t = attrcache_ticket(ac);
	attrcache_forget(ac, "/f");          /* a write, meanwhile */
	attrcache_fill(ac, "/f", &old, t);
	CHECK_EQ(attrcache_get(ac, "/f", &out), -1);
	/* another path's change does not matter */
	t = attrcache_ticket(ac);
	attrcache_forget(ac, "/g");
	attrcache_fill(ac, "/f", &old, t);
	CHECK_EQ(attrcache_get(ac, "/f", &out), 1);
	/* our own change (set) beats an older fill */
	t = attrcache_ticket(ac);
	uint64_t t2 = attrcache_ticket(ac);
	attrcache_set(ac, "/f", &mine, t2);
	attrcache_fill(ac, "/f", &old, t);
	CHECK_EQ(attrcache_get(ac, "/f", &out), 1);
	CHECK_EQ(out.end_of_file, 2);
	/* set when someone else changed it meanwhile: neither is kept */
	t = attrcache_ticket(ac);
	attrcache_forget(ac, "/f");
	attrcache_set(ac, "/f", &mine, t);
	CHECK_EQ(attrcache_get(ac, "/f", &out), -1);
	/* a subtree invalidation meanwhile drops every older fill */
	t = attrcache_ticket(ac);
	attrcache_forget_tree(ac, "/x");
	attrcache_fill(ac, "/f", &old, t);
	CHECK_EQ(attrcache_get(ac, "/f", &out), -1);
	/* a reply never replaces one to a request made after it */
	struct fscc_stat newer = old;
	newer.end_of_file = 99;
	uint64_t t_old = attrcache_ticket(ac), t_new = attrcache_ticket(ac);
	attrcache_fill(ac, "/g", &newer, t_new);
	attrcache_fill(ac, "/g", &old, t_old);
	CHECK_EQ(attrcache_get(ac, "/g", &out), 1);
	CHECK_EQ(out.end_of_file, 99);
	/* too many invalidations to tell: not stored */
	t = attrcache_ticket(ac);
	for (int i = 0; i < 2000; i++) /* past the ring (AC_RING) */
		attrcache_forget(ac, "/other");
	attrcache_fill(ac, "/f", &old, t);
	CHECK_EQ(attrcache_get(ac, "/f", &out), -1);
	/* tickets alone take no room: a long request's reply (a big
	 * listing's) is stored after many others began and ended */
	t = attrcache_ticket(ac);
	for (int i = 0; i < 2000; i++)
		attrcache_fill(ac, "/g", &old, attrcache_ticket(ac));
	attrcache_forget(ac, "/other");
	attrcache_fill(ac, "/f", &old, t);
	CHECK_EQ(attrcache_get(ac, "/f", &out), 1);
	attrcache_free(ac);
}

/* Hard links: a file's other names go when one changes; a listing's
 * attributes take the link count and descriptor view the entry holds. */
static void test_links_and_merge(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat a = st_of(1), out;
	a.file_id = 42;
	a.nlink = 2;
	struct fscc_stat listed = a;
	listed.nlink = 0; /* (a listing carries none) */
	attrcache_fill(ac, "/a", &a, attrcache_ticket(ac));
	attrcache_fill(ac, "/d/b", &listed, attrcache_ticket(ac));
	struct fscc_stat c = st_of(3);
	attrcache_fill(ac, "/c", &c, attrcache_ticket(ac));
	/* another client changed /a (notify): /d/b is the same file */
	attrcache_forget_entry(ac, "/a", false);
	CHECK_EQ(attrcache_get(ac, "/a", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/b", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/c", &out), 1);
	/* ... and a fill of another name on the wire meanwhile is older */
	attrcache_fill(ac, "/a", &a, attrcache_ticket(ac));
	attrcache_fill(ac, "/d/b", &listed, attrcache_ticket(ac));
	uint64_t t = attrcache_ticket(ac);
	attrcache_forget(ac, "/a");
	attrcache_fill(ac, "/d/b", &listed, t);
	CHECK_EQ(attrcache_get(ac, "/d/b", &out), -1);
	/* our own change of one name drops the others */
	attrcache_fill(ac, "/a", &a, attrcache_ticket(ac));
	attrcache_fill(ac, "/d/b", &listed, attrcache_ticket(ac));
	attrcache_set(ac, "/a", &a, attrcache_ticket(ac));
	CHECK_EQ(attrcache_get(ac, "/a", &out), 1);
	CHECK_EQ(attrcache_get(ac, "/d/b", &out), -1);
	/* a file with one link: its other entries stay */
	struct fscc_stat one = a;
	one.nlink = 1;
	attrcache_fill(ac, "/a", &one, attrcache_ticket(ac));
	attrcache_fill(ac, "/d/b", &listed, attrcache_ticket(ac));
	attrcache_forget(ac, "/a");
	CHECK_EQ(attrcache_get(ac, "/d/b", &out), 1);

	/* merged fill: the link count of the same file, the view */
	struct fscc_stat sd = a;
	sd.sd_asked = sd.has_mode = true;
	sd.mode = 0640;
	attrcache_fill(ac, "/m", &sd, attrcache_ticket(ac));
	struct fscc_stat m = listed;
	attrcache_fill_merged(ac, "/m", &m, attrcache_ticket(ac));
	CHECK_EQ(m.nlink, 2);
	CHECK(m.sd_asked && m.has_mode && m.mode == 0640);
	CHECK_EQ(attrcache_get(ac, "/m", &out), 1);
	CHECK_EQ(out.nlink, 2);
	/* another file now (another id): nothing of the old one */
	m = listed;
	m.file_id = 43;
	attrcache_fill_merged(ac, "/m", &m, attrcache_ticket(ac));
	CHECK_EQ(m.nlink, 0);
	CHECK_EQ(m.file_id, 43);
	/* a fill refused (changed meanwhile) still merges what is held */
	attrcache_fill(ac, "/m", &sd, attrcache_ticket(ac));
	t = attrcache_ticket(ac);
	attrcache_touch_parent(ac, "/m/x", 1); /* (invalidates /m) */
	m = listed;
	attrcache_fill_merged(ac, "/m", &m, t);
	CHECK_EQ(m.nlink, 2);
	CHECK(m.sd_asked);
	attrcache_fill_merged(NULL, "/m", &m, 0);

	/* current: a listing's attributes until a later reply or a change */
	uint64_t tl = attrcache_ticket(ac);
	attrcache_fill(ac, "/c", &listed, tl);
	CHECK(attrcache_current(ac, "/c", tl));
	uint64_t to = attrcache_ticket(ac); /* an open, after the listing */
	struct fscc_stat grown = listed;
	grown.end_of_file = listed.end_of_file + 100;
	attrcache_fill(ac, "/c", &grown, to);
	CHECK(!attrcache_current(ac, "/c", tl));
	CHECK(attrcache_current(ac, "/c", to));
	attrcache_forget(ac, "/c");
	CHECK(!attrcache_current(ac, "/c", to));
	/* never filled, nothing changed: current (the kernel may have it) */
	CHECK(attrcache_current(ac, "/never", attrcache_ticket(ac)));
	CHECK(!attrcache_current(NULL, "/c", 0));
	attrcache_free(ac);
}

static void test_tree_and_parent(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat s = st_of(1), out;
	const char *paths[] = {"/", "/a", "/a/b", "/a/b/c", "/ab", "/A/x"};
	uint64_t t = attrcache_ticket(ac);
	for (unsigned i = 0; i < sizeof(paths) / sizeof(*paths); i++)
		attrcache_fill(ac, paths[i], &s, t);
	attrcache_forget_tree(ac, "/a");
	CHECK_EQ(attrcache_get(ac, "/a", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/a/b/c", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/A/x", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/ab", &out), 1);
	CHECK_EQ(attrcache_get(ac, "/", &out), 1);
	attrcache_forget_parent(ac, "/ab");
	CHECK_EQ(attrcache_get(ac, "/", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/ab", &out), 1);
	t = attrcache_ticket(ac);
	attrcache_fill(ac, "/q", &s, t);
	attrcache_fill(ac, "/q/r", &s, t);
	attrcache_forget_parent(ac, "/q/r/s");
	CHECK_EQ(attrcache_get(ac, "/q/r", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/q", &out), 1);
	/* a child made or removed: the parent's times move, it stays */
	t = attrcache_ticket(ac);
	attrcache_fill(ac, "/p", &s, t);
	attrcache_fill(ac, "/P", &s, t);
	attrcache_touch_parent(ac, "/p/new", 777);
	CHECK_EQ(attrcache_get(ac, "/p", &out), 1);
	CHECK_EQ(out.last_write_time, 777);
	CHECK_EQ(out.change_time, 777);
	CHECK_EQ(out.end_of_file, 1);
	CHECK_EQ(attrcache_get(ac, "/P", &out), -1); /* a variant: dropped */
	attrcache_fill(ac, "/", &s, attrcache_ticket(ac));
	attrcache_touch_parent(ac, "/top", 5);
	CHECK_EQ(attrcache_get(ac, "/", &out), 1);
	CHECK_EQ(out.last_write_time, 5);
	/* a stat of the parent on the wire meanwhile is older: not kept */
	t = attrcache_ticket(ac);
	attrcache_touch_parent(ac, "/z/x", 9);
	attrcache_fill(ac, "/z", &s, t);
	CHECK_EQ(attrcache_get(ac, "/z", &out), -1);
	attrcache_forget_tree(ac, "/");
	CHECK_EQ(attrcache_count(ac), 0);
	attrcache_free(ac);
}

static void test_bounds_and_expiry(void)
{
	struct attrcache *ac = attrcache_new(10, 4);
	struct fscc_stat s = st_of(1), out;
	char p[16];
	for (int i = 0; i < 10; i++) {
		snprintf(p, sizeof(p), "/f%d", i);
		attrcache_fill(ac, p, &s, attrcache_ticket(ac));
		if (i == 6)
			CHECK_EQ(attrcache_get(ac, "/f3", &out), 1); /* used: kept */
	}
	CHECK_EQ(attrcache_count(ac), 4);
	CHECK_EQ(attrcache_get(ac, "/f9", &out), 1);
	CHECK_EQ(attrcache_get(ac, "/f3", &out), 1);
	CHECK_EQ(attrcache_get(ac, "/f0", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/f6", &out), -1);
	attrcache_free(ac);

	ac = attrcache_new(0.05, 10);
	attrcache_fill(ac, "/e", &s, attrcache_ticket(ac));
	attrcache_fill(ac, "/n", NULL, attrcache_ticket(ac));
	CHECK_EQ(attrcache_get(ac, "/e", &out), 1);
	sleep_ms(80);
	CHECK_EQ(attrcache_get(ac, "/e", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/n", &out), -1);
	CHECK_EQ(attrcache_count(ac), 0);
	attrcache_free(ac);
}

/* The POSIX view of a security descriptor survives fills and sets of
 * attributes without one, for its own lifetime only; a lease holder
 * (attrcache_get_held) keeps it whatever its age. */
static void test_descriptor_view(void)
{
	struct attrcache *ac = attrcache_new(0.2, 10);
	struct fscc_stat sd = st_of(1), plain = st_of(2), out;
	sd.sd_asked = sd.has_mode = true;
	sd.mode = 0640;
	/* by default the view outlives the attributes (ATTRCACHE_SD_TTL_SEC) */
	attrcache_fill(ac, "/f", &sd, attrcache_ticket(ac));
	sleep_ms(250);
	CHECK_EQ(attrcache_get(ac, "/f", &out), -1);
	attrcache_fill(ac, "/f", &plain, attrcache_ticket(ac)); /* a listing's */
	CHECK_EQ(attrcache_get(ac, "/f", &out), 1);
	CHECK(out.end_of_file == 2 && out.sd_asked && out.mode == 0640);
	attrcache_forget(ac, "/f");
	attrcache_set_sd_ttl(ac, 0.2);
	attrcache_fill(ac, "/f", &sd, attrcache_ticket(ac));
	sleep_ms(120);
	attrcache_fill(ac, "/f", &plain, attrcache_ticket(ac)); /* a listing's */
	CHECK_EQ(attrcache_get(ac, "/f", &out), 1);
	CHECK(out.end_of_file == 2 && out.sd_asked && out.has_mode && out.mode == 0640);
	attrcache_set(ac, "/f", &plain, attrcache_ticket(ac));   /* a utimens' */
	CHECK_EQ(attrcache_get(ac, "/f", &out), 1);
	CHECK(out.sd_asked && out.mode == 0640);
	sleep_ms(120); /* the view's 0.2 s are over, the entry's are not */
	CHECK_EQ(attrcache_get(ac, "/f", &out), 1);
	CHECK(out.end_of_file == 2 && !out.sd_asked && !out.has_mode);
	CHECK_EQ(attrcache_get_held(ac, "/f", &out), 1);
	CHECK(out.sd_asked && out.mode == 0640);
	/* and a lapsed view is not carried into the next fill */
	attrcache_fill(ac, "/f", &plain, attrcache_ticket(ac));
	CHECK_EQ(attrcache_get_held(ac, "/f", &out), 1);
	CHECK(!out.sd_asked);
	/* a new descriptor replaces the old one; forget drops it */
	attrcache_fill(ac, "/f", &sd, attrcache_ticket(ac));
	attrcache_forget(ac, "/f");
	attrcache_fill(ac, "/f", &plain, attrcache_ticket(ac));
	CHECK_EQ(attrcache_get(ac, "/f", &out), 1);
	CHECK(!out.sd_asked);
	attrcache_free(ac);
}

/* ---- complete listings (dir records) ---- */

static void list_names(struct attrcache *ac, const char *dir, const char *const *names, int r)
{
	struct attrcache_listing *l = attrcache_list_begin(ac, dir);
	CHECK(l != NULL);
	for (; names && *names; names++)
		attrcache_list_add(l, *names);
	attrcache_list_end(ac, l, r);
}

static void test_dir_record(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat s = st_of(3), out;
	const char *const names[] = {".", "..", "a.txt", "B.txt", "\xc3\xa9", "sub", NULL};
	CHECK_EQ(attrcache_get(ac, "/d/c", &out), -1);
	list_names(ac, "/d", names, 0);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 1);
	CHECK_EQ(attrcache_count(ac), 0); /* names only, no entries */
	CHECK_EQ(attrcache_get(ac, "/d/c", &out), 0);
	CHECK_EQ(attrcache_get(ac, "/d/a.txt", &out), -1);
	/* the server may take these for listed names: asked */
	CHECK_EQ(attrcache_get(ac, "/d/A.TXT", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/b.txt", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/\xc3\x89", &out), -1); /* "É" */
	CHECK_EQ(attrcache_get(ac, "/d/e", &out), 0);         /* not "é" */
	/* only below the directory itself, by its exact path */
	CHECK_EQ(attrcache_get(ac, "/d/sub/x", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/D/c", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/dd/c", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d", &out), -1);
	/* an entry of its own wins */
	attrcache_fill(ac, "/d/late", &s, attrcache_ticket(ac));
	CHECK_EQ(attrcache_get(ac, "/d/late", &out), 1);
	/* a failed listing records nothing */
	list_names(ac, "/f", names, -5);
	CHECK_EQ(attrcache_dir_known(ac, "/f"), 0);
	CHECK_EQ(attrcache_get(ac, "/f/c", &out), -1);
	/* the root */
	list_names(ac, "/", names, 0);
	CHECK_EQ(attrcache_get(ac, "/zz", &out), 0);
	CHECK_EQ(attrcache_get(ac, "/a.txt", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/", &out), -1);
	/* a made directory: an empty record */
	list_names(ac, "/new", NULL, 0);
	CHECK_EQ(attrcache_get(ac, "/new/x", &out), 0);
	attrcache_free(ac);
}

/* Names the server may answer for although no listed name folds like
 * them are always asked. */
static void test_dir_record_asked_names(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat out;
	const char *const names[] = {"\xc4\xb1.txt", "\xc5\xbf", "\xe2\x84\xaa", "long name.txt", NULL};
	list_names(ac, "/d", names, 0);
	/* dotless i, long s, Kelvin sign: their other case is ASCII */
	CHECK_EQ(attrcache_get(ac, "/d/I.TXT", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/i.txt", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/S", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/k", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/j.txt", &out), 0);
	const char *asked[] = {"/d/LONGNA~1.TXT", "/d/x:stream", "/d/a*b", "/d/q?", "/d/trail.",
			       "/d/trail ", "/d/\xff", "/d/nul", "/d/COM1.txt", "/d/Aux.c", "/d/x\x01"};
	for (unsigned i = 0; i < sizeof(asked) / sizeof(*asked); i++)
		CHECK_EQ(attrcache_get(ac, asked[i], &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/null", &out), 0);
	CHECK_EQ(attrcache_get(ac, "/d/com10", &out), 0);
	CHECK_EQ(attrcache_get(ac, "/d/.hidden", &out), 0);
	attrcache_free(ac);
}

static void test_dir_record_changes(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat out;
	const char *const names[] = {"x", "X", "keep", NULL};
	list_names(ac, "/d", names, 0);
	/* our create adds the name, our removal takes it out */
	attrcache_touch_parent(ac, "/d/new", 1);
	CHECK_EQ(attrcache_get(ac, "/d/new", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/NEW", &out), -1);
	attrcache_dir_remove(ac, "/d/new");
	CHECK_EQ(attrcache_get(ac, "/d/new", &out), 0);
	/* removing "x" leaves "X", which the server may take for it */
	attrcache_dir_remove(ac, "/d/x");
	CHECK_EQ(attrcache_get(ac, "/d/x", &out), -1);
	attrcache_dir_remove(ac, "/d/X");
	CHECK_EQ(attrcache_get(ac, "/d/x", &out), 0);
	/* a rename by case: "Keep" added, "keep" removed */
	attrcache_touch_parent(ac, "/d/Keep", 1);
	attrcache_dir_remove(ac, "/d/keep");
	CHECK_EQ(attrcache_get(ac, "/d/keep", &out), -1);
	/* removing what is not there changes nothing */
	attrcache_dir_remove(ac, "/d/never");
	attrcache_dir_remove(ac, "/nodir/never");
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 1);
	/* a removal in one step: the parent's times move, the name goes */
	attrcache_touch_parent(ac, "/d/gone", 1);
	struct fscc_stat d = st_of(0);
	attrcache_fill(ac, "/d", &d, attrcache_ticket(ac));
	attrcache_parent_removed(ac, "/d/gone", 77);
	CHECK_EQ(attrcache_get(ac, "/d/gone", &out), 0);
	CHECK_EQ(attrcache_get(ac, "/d", &out), 1);
	CHECK_EQ(out.last_write_time, 77);
	attrcache_parent_removed(ac, "/d/never", 78);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 1);
	attrcache_forget(ac, "/d");
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	list_names(ac, "/d", names, 0);
	attrcache_dir_remove(ac, "/d/x");
	attrcache_dir_remove(ac, "/d/keep");
	attrcache_touch_parent(ac, "/d/Keep", 1);
	/* a change through a case variant of the directory: forgotten */
	attrcache_touch_parent(ac, "/D/y", 1);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	CHECK_EQ(attrcache_get(ac, "/d/zz", &out), -1);

	/* a failed change (effect unknown) drops the record */
	list_names(ac, "/d", names, 0);
	attrcache_forget_parent(ac, "/d/q");
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	/* so do forgetting the directory, its removal, a subtree above */
	list_names(ac, "/d", names, 0);
	attrcache_forget(ac, "/D");
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	list_names(ac, "/d", names, 0);
	attrcache_set(ac, "/d", NULL, attrcache_ticket(ac));
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	list_names(ac, "/a/d", names, 0);
	list_names(ac, "/ab", names, 0);
	attrcache_forget_tree(ac, "/A");
	CHECK_EQ(attrcache_dir_known(ac, "/a/d"), 0);
	CHECK_EQ(attrcache_dir_known(ac, "/ab"), 1);
	/* an entry below it or its own attributes do not */
	list_names(ac, "/d", names, 0);
	attrcache_forget(ac, "/d/keep");
	attrcache_touch_parent(ac, "/d/sub/x", 1);
	struct fscc_stat s = st_of(1);
	attrcache_set(ac, "/d", &s, attrcache_ticket(ac));
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 1);
	attrcache_free(ac);
}

static void test_dir_record_expiry(void)
{
	struct attrcache *ac = attrcache_new(0.05, 100);
	struct fscc_stat out;
	list_names(ac, "/d", NULL, 0);
	CHECK_EQ(attrcache_get(ac, "/d/x", &out), 0);
	sleep_ms(30);
	/* our changes do not make it younger */
	attrcache_touch_parent(ac, "/d/y", 1);
	attrcache_dir_remove(ac, "/d/y");
	sleep_ms(40);
	CHECK_EQ(attrcache_get(ac, "/d/x", &out), -1);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	/* the time is the listing's start, not its end */
	struct attrcache_listing *l = attrcache_list_begin(ac, "/e");
	sleep_ms(60);
	attrcache_list_end(ac, l, 0);
	CHECK_EQ(attrcache_dir_known(ac, "/e"), 0);
	attrcache_free(ac);
}

/* A listing on the wire when we changed the directory may predate the
 * change: it is not kept. */
static void test_dir_record_race(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat out;
	struct attrcache_listing *l = attrcache_list_begin(ac, "/d");
	attrcache_touch_parent(ac, "/d/made", 1); /* a create meanwhile */
	attrcache_list_end(ac, l, 0);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	CHECK_EQ(attrcache_get(ac, "/d/made", &out), -1);
	/* ... nor one taken before our change of a case variant */
	l = attrcache_list_begin(ac, "/d");
	attrcache_touch_parent(ac, "/D/made", 1);
	attrcache_list_end(ac, l, 0);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	/* a failed change meanwhile, a subtree invalidation, too many */
	l = attrcache_list_begin(ac, "/d");
	attrcache_forget_parent(ac, "/d/x");
	attrcache_list_end(ac, l, 0);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	l = attrcache_list_begin(ac, "/d");
	attrcache_forget_tree(ac, "/elsewhere");
	attrcache_list_end(ac, l, 0);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	l = attrcache_list_begin(ac, "/d");
	for (int i = 0; i < 2000; i++) /* past the ring (AC_RING) */
		attrcache_forget(ac, "/other");
	attrcache_list_end(ac, l, 0);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	/* a change of another directory or of an entry does not matter */
	l = attrcache_list_begin(ac, "/d");
	attrcache_touch_parent(ac, "/e/made", 1);
	attrcache_forget(ac, "/d/file");
	attrcache_list_end(ac, l, 0);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 1);
	/* an older listing ending late does not replace a newer one */
	struct attrcache_listing *old = attrcache_list_begin(ac, "/g");
	sleep_ms(2);
	l = attrcache_list_begin(ac, "/g");
	attrcache_list_add(l, "n");
	attrcache_list_end(ac, l, 0);
	attrcache_list_end(ac, old, 0);
	CHECK_EQ(attrcache_get(ac, "/g/n", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/g/m", &out), 0);
	attrcache_free(ac);
}

static void test_dir_record_bounds(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat out;
	const char *const five[] = {"1", "2", "3", "4", "5", NULL};
	const char *const eleven[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", NULL};
	attrcache_set_dir_limits(ac, 3, 10);
	list_names(ac, "/big", eleven, 0);
	CHECK_EQ(attrcache_dir_known(ac, "/big"), 0);
	list_names(ac, "/a", five, 0);
	list_names(ac, "/b", five, 0);
	CHECK_EQ(attrcache_get(ac, "/a/x", &out), 0); /* /a used last */
	list_names(ac, "/c", five, 0);                /* 15 names > 10 */
	CHECK_EQ(attrcache_dir_known(ac, "/b"), 0);
	CHECK_EQ(attrcache_dir_known(ac, "/a"), 1);
	CHECK_EQ(attrcache_dir_known(ac, "/c"), 1);
	/* a name added past the bound: some record goes, never a name */
	attrcache_touch_parent(ac, "/c/6", 1);
	CHECK_EQ(attrcache_get(ac, "/c/6", &out), -1);
	CHECK_EQ(attrcache_dir_known(ac, "/a"), 0);
	/* at most 3 directories tracked */
	attrcache_dir_miss(ac, "/m1/x");
	attrcache_dir_miss(ac, "/m2/x");
	attrcache_dir_miss(ac, "/m3/x");
	CHECK_EQ(attrcache_dir_known(ac, "/c"), 0);
	attrcache_free(ac);
}

/* Lookups of missing names that keep reaching the server: the next one
 * lists the directory. */
static void test_dir_adaptive(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat out;
	char p[32];
	for (int i = 0; i < ATTRCACHE_LIST_AFTER_MISSES; i++) {
		CHECK(attrcache_list_wanted(ac, "/m/next") == NULL);
		snprintf(p, sizeof(p), "/m/f%d", i);
		attrcache_dir_miss(ac, p);
	}
	/* names a record cannot answer do not list */
	CHECK(attrcache_list_wanted(ac, "/m/a:b") == NULL);
	struct attrcache_listing *l = attrcache_list_wanted(ac, "/m/next");
	CHECK(l != NULL);
	CHECK(strcmp(attrcache_list_dir(l), "/m") == 0);
	/* one at a time */
	CHECK(attrcache_list_wanted(ac, "/m/other") == NULL);
	attrcache_list_add(l, "f0");
	attrcache_list_end(ac, l, 0);
	CHECK_EQ(attrcache_get(ac, "/m/next", &out), 0);
	CHECK(attrcache_list_wanted(ac, "/m/next") == NULL); /* fresh */

	/* a failed listing: twice the misses before the next one */
	for (int i = 0; i < ATTRCACHE_LIST_AFTER_MISSES; i++)
		attrcache_dir_miss(ac, "/n/x");
	l = attrcache_list_wanted(ac, "/n/x");
	CHECK(l != NULL);
	attrcache_list_end(ac, l, -13);
	for (int i = 0; i < 2 * ATTRCACHE_LIST_AFTER_MISSES - 1; i++)
		attrcache_dir_miss(ac, "/n/x");
	CHECK(attrcache_list_wanted(ac, "/n/x") == NULL);
	attrcache_dir_miss(ac, "/n/x");
	l = attrcache_list_wanted(ac, "/n/x");
	CHECK(l != NULL);
	attrcache_list_end(ac, l, 0);
	CHECK_EQ(attrcache_dir_known(ac, "/n"), 1);
	attrcache_free(ac);

	/* misses older than the ttl do not count */
	ac = attrcache_new(0.05, 100);
	for (int i = 0; i < ATTRCACHE_LIST_AFTER_MISSES - 1; i++)
		attrcache_dir_miss(ac, "/w/x");
	sleep_ms(70);
	attrcache_dir_miss(ac, "/w/x");
	CHECK(attrcache_list_wanted(ac, "/w/x") == NULL);

	/* a record that answered many lookups and lapsed just now: listed
	 * again at the first lookup after it */
	list_names(ac, "/r", NULL, 0);
	for (int i = 0; i < ATTRCACHE_LIST_AFTER_MISSES; i++)
		CHECK_EQ(attrcache_get(ac, "/r/x", &out), 0);
	sleep_ms(60);
	CHECK_EQ(attrcache_get(ac, "/r/x", &out), -1);
	l = attrcache_list_wanted(ac, "/r/x");
	CHECK(l != NULL);
	attrcache_list_end(ac, l, 0);
	CHECK_EQ(attrcache_get(ac, "/r/x", &out), 0);
	/* ... but not one that answered few */
	sleep_ms(60);
	CHECK(attrcache_list_wanted(ac, "/r/x") == NULL);

	/* a big directory's last listing asks for more misses (n / 32) */
	struct attrcache_listing *big = attrcache_list_begin(ac, "/big");
	for (int i = 0; i < 640; i++) {
		snprintf(p, sizeof(p), "n%d", i);
		attrcache_list_add(big, p);
	}
	attrcache_list_end(ac, big, 0);
	sleep_ms(60);
	for (int i = 0; i < 19; i++)
		attrcache_dir_miss(ac, "/big/x");
	CHECK(attrcache_list_wanted(ac, "/big/x") == NULL);
	attrcache_dir_miss(ac, "/big/x");
	l = attrcache_list_wanted(ac, "/big/x");
	CHECK(l != NULL);
	attrcache_list_end(ac, l, 0);
	attrcache_free(ac);
}

/* actimeo=0: no cache, and every call is a no-op. */
/* Change notify's overflow: the directory and its names go, deeper
 * entries and other directories stay. */
static void test_forget_dir(void)
{
	struct attrcache *ac = attrcache_new(10, 100);
	struct fscc_stat s = st_of(4), out;
	const char *const names[] = {"a", "sub", NULL};
	uint64_t t = attrcache_ticket(ac);
	const char *const pos[] = {"/", "/d", "/d/a", "/d/sub", "/d/sub/x", "/e", "/dd/a"};
	for (unsigned i = 0; i < sizeof(pos) / sizeof(*pos); i++)
		attrcache_fill(ac, pos[i], &s, t);
	attrcache_fill(ac, "/d/missing", NULL, t);
	list_names(ac, "/d", names, 0);
	CHECK_EQ(attrcache_get(ac, "/d/missing", &out), 0);
	CHECK_EQ(attrcache_get(ac, "/d/other", &out), 0); /* from the record */
	/* a watch just made: only the negative entries go (not the record) */
	attrcache_fill(ac, "/dd/missing", NULL, attrcache_ticket(ac));
	CHECK_EQ(attrcache_get(ac, "/dd/missing", &out), 0);
	attrcache_forget_dir(ac, "/dd", true);
	attrcache_forget_dir(ac, "/d", true);
	CHECK_EQ(attrcache_get(ac, "/dd/missing", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/dd/a", &out), 1);
	CHECK_EQ(attrcache_get(ac, "/d/a", &out), 1);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 1);
	/* a fill that began before it is not stored */
	t = attrcache_ticket(ac);
	attrcache_forget_dir(ac, "/D", false);
	attrcache_fill(ac, "/d/late", NULL, t);
	CHECK_EQ(attrcache_get(ac, "/d/late", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/a", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/sub", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/missing", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/d/other", &out), -1);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 0);
	CHECK_EQ(attrcache_get(ac, "/d/sub/x", &out), 1);
	CHECK_EQ(attrcache_get(ac, "/dd/a", &out), 1);
	CHECK_EQ(attrcache_get(ac, "/e", &out), 1);
	CHECK_EQ(attrcache_get(ac, "/", &out), 1);
	attrcache_forget_dir(ac, "/", false);
	CHECK_EQ(attrcache_get(ac, "/", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/e", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/dd/a", &out), 1);
	CHECK_EQ(attrcache_get(ac, "/d/sub/x", &out), 1);
	attrcache_forget_dir(NULL, "/", false);
	/* one name: negative only, or its attributes without its record */
	list_names(ac, "/d", names, 0);
	attrcache_fill(ac, "/d/a", &s, attrcache_ticket(ac));
	attrcache_fill(ac, "/d/n", NULL, attrcache_ticket(ac));
	attrcache_forget_entry(ac, "/d/a", true);
	CHECK_EQ(attrcache_get(ac, "/d/a", &out), 1);
	attrcache_forget_entry(ac, "/d/N", true);
	CHECK_EQ(attrcache_get(ac, "/d/n", &out), 0); /* the record says missing */
	attrcache_fill(ac, "/d", &s, attrcache_ticket(ac));
	t = attrcache_ticket(ac);
	attrcache_forget_entry(ac, "/d", false);
	attrcache_fill(ac, "/d", &s, t); /* older than the change: dropped */
	CHECK_EQ(attrcache_get(ac, "/d", &out), -1);
	CHECK_EQ(attrcache_dir_known(ac, "/d"), 1);
	attrcache_forget_entry(NULL, "/d", false);
	/* a watch's forget spoils fills in flight of that directory's names
	 * only, not of others (nor deeper ones) */
	t = attrcache_ticket(ac);
	attrcache_forget_dir(ac, "/q", true);
	attrcache_fill(ac, "/q/m", NULL, t);
	attrcache_fill(ac, "/Q", &s, t);
	attrcache_fill(ac, "/e/m", NULL, t);
	attrcache_fill(ac, "/q/sub/m", NULL, t);
	attrcache_fill(ac, "/", &s, t);
	CHECK_EQ(attrcache_get(ac, "/q/m", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/Q", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/e/m", &out), 0);
	CHECK_EQ(attrcache_get(ac, "/q/sub/m", &out), 0);
	CHECK_EQ(attrcache_get(ac, "/", &out), 1);
	/* names directly in "/" */
	t = attrcache_ticket(ac);
	attrcache_forget_dir(ac, "/", true);
	attrcache_fill(ac, "/x", NULL, t);
	attrcache_fill(ac, "/e/x", NULL, t);
	CHECK_EQ(attrcache_get(ac, "/x", &out), -1);
	CHECK_EQ(attrcache_get(ac, "/e/x", &out), 0);
	CHECK_EQ(attrcache_get(ac, "/e/m", &out), 0);
	attrcache_free(ac);
}

static void test_off(void)
{
	struct fscc_stat s = st_of(1), out;
	struct attrcache *ac = attrcache_new(0, 100);
	CHECK(ac == NULL);
	attrcache_fill(ac, "/a", &s, attrcache_ticket(ac));
	attrcache_set(ac, "/a", &s, 0);
	attrcache_forget(ac, "/a");
	attrcache_forget_tree(ac, "/");
	attrcache_forget_parent(ac, "/a");
	CHECK_EQ(attrcache_get(ac, "/a", &out), -1);
	CHECK(attrcache_list_begin(ac, "/") == NULL);
	attrcache_list_add(NULL, "x");
	attrcache_list_end(ac, NULL, 0);
	attrcache_dir_miss(ac, "/a");
	CHECK(attrcache_list_wanted(ac, "/a") == NULL);
	attrcache_dir_remove(ac, "/a");
	CHECK_EQ(attrcache_dir_known(ac, "/"), 0);
	attrcache_free(ac);
}

int main(void)
{
	test_fill_get();
	test_variants();
	test_ticket_race();
	test_links_and_merge();
	test_tree_and_parent();
	test_bounds_and_expiry();
	test_descriptor_view();
	test_dir_record();
	test_dir_record_asked_names();
	test_dir_record_changes();
	test_dir_record_expiry();
	test_dir_record_race();
	test_dir_record_bounds();
	test_dir_adaptive();
	test_forget_dir();
	test_off();
	return check_done("attrcache");
}

/* The fs layer's attribute and name cache (src/fs/attrcache.c). */
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
	/* too many invalidations to tell: not stored */
	t = attrcache_ticket(ac);
	for (int i = 0; i < 100; i++)
		attrcache_forget(ac, "/other");
	attrcache_fill(ac, "/f", &old, t);
	CHECK_EQ(attrcache_get(ac, "/f", &out), -1);
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

/* actimeo=0: no cache, and every call is a no-op. */
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
	attrcache_free(ac);
}

int main(void)
{
	test_fill_get();
	test_variants();
	test_ticket_race();
	test_tree_and_parent();
	test_bounds_and_expiry();
	test_off();
	return check_done("attrcache");
}

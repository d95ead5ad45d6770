/* Unit tests for the extended-attribute codecs (src/wire/ea.c):
 * FILE_FULL_EA_INFORMATION lists and FILE_GET_EA_INFORMATION. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "smb2fs/buf.h"
#include "smb2fs/fscc.h"

struct seen {
	int n;
	char names[4][16];
	uint8_t values[4][16];
	uint16_t vlen[4];
	int stop_at;
};

static int collect(const struct fscc_ea *e, void *arg)
{
	struct seen *s = arg;
	if (s->n < 4) {
		memcpy(s->names[s->n], e->name, e->name_len < 15 ? e->name_len : 15);
		memcpy(s->values[s->n], e->value, e->value_len < 16 ? e->value_len : 16);
		s->vlen[s->n] = e->value_len;
	}
	s->n++;
	return s->n == s->stop_at ? 9 : 0;
}

/* Two entries as a server sends them: "color" = "blue" padded to 4
 * bytes, then "bin" = 00 01 02 (MS-FSCC 2.4.15). */
static const char two_hex[] =
	"14000000" "00" "05" "0400" "636f6c6f7200" "626c7565" "0000"
	"00000000" "00" "03" "0300" "62696e00" "000102";

static void test_walk(void)
{
	uint8_t b[64];
	size_t n = hex2bin(two_hex, b, sizeof(b));
	struct seen s = {0};
	CHECK_EQ(n, 35);
	CHECK_EQ(fscc_ea_walk(b, n, collect, &s), 0);
	CHECK_EQ(s.n, 2);
	CHECK(strcmp(s.names[0], "color") == 0);
	CHECK_EQ(s.vlen[0], 4);
	CHECK_MEM(s.values[0], "blue", 4);
	CHECK(strcmp(s.names[1], "bin") == 0);
	CHECK_EQ(s.vlen[1], 3);
	CHECK_MEM(s.values[1], "\0\1\2", 3);
	/* the callback stops the walk */
	struct seen t = {.stop_at = 1};
	CHECK_EQ(fscc_ea_walk(b, n, collect, &t), 9);
	CHECK_EQ(t.n, 1);
	/* empty: nothing */
	CHECK_EQ(fscc_ea_walk(NULL, 0, collect, &s), 0);
}

static void test_walk_malformed(void)
{
	uint8_t b[64], c[64];
	size_t n = hex2bin(two_hex, b, sizeof(b));
	struct seen s = {0};
	/* every truncation */
	for (size_t k = 1; k < n; k++)
		CHECK_EQ(fscc_ea_walk(b, k, collect, &s), -EBADMSG);
	/* NextEntryOffset past the end, unaligned, or too short for entry 1 */
	memcpy(c, b, n);
	c[0] = 0x40;
	CHECK_EQ(fscc_ea_walk(c, n, collect, &s), -EBADMSG);
	c[0] = 0x13;
	CHECK_EQ(fscc_ea_walk(c, n, collect, &s), -EBADMSG);
	c[0] = 0x0c;
	CHECK_EQ(fscc_ea_walk(c, n, collect, &s), -EBADMSG);
	/* a name without its NUL, with a NUL inside, or empty */
	memcpy(c, b, n);
	c[13] = 'x';
	CHECK_EQ(fscc_ea_walk(c, n, collect, &s), -EBADMSG);
	memcpy(c, b, n);
	c[9] = 0;
	CHECK_EQ(fscc_ea_walk(c, n, collect, &s), -EBADMSG);
	memcpy(c, b, n);
	c[5] = 0;
	CHECK_EQ(fscc_ea_walk(c, n, collect, &s), -EBADMSG);
	/* a value length past the entry */
	memcpy(c, b, n);
	c[6] = 0x09;
	CHECK_EQ(fscc_ea_walk(c, n, collect, &s), -EBADMSG);
}

static void test_build(void)
{
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(fscc_build_full_ea(&w, "color", "blue", 4), 0);
	uint8_t want[32];
	size_t n = hex2bin("00000000 00 05 0400 636f6c6f7200 626c7565", want, sizeof(want));
	CHECK_EQ(w.len, n);
	CHECK_MEM(w.p, want, n);
	/* and it parses back */
	struct seen s = {0};
	CHECK_EQ(fscc_ea_walk(w.p, w.len, collect, &s), 0);
	CHECK_EQ(s.n, 1);
	wbuf_free(&w);

	/* removal: no value */
	wbuf_init(&w);
	CHECK_EQ(fscc_build_full_ea(&w, "k", NULL, 0), 0);
	CHECK_EQ(w.len, 10);
	wbuf_free(&w);

	wbuf_init(&w);
	CHECK_EQ(fscc_build_get_ea(&w, "color"), 0);
	n = hex2bin("00000000 05 636f6c6f7200", want, sizeof(want));
	CHECK_EQ(w.len, n);
	CHECK_MEM(w.p, want, n);
	wbuf_free(&w);

	/* limits: the error sticks in the buffer */
	char name[300];
	memset(name, 'n', sizeof(name));
	name[256] = '\0';
	wbuf_init(&w);
	CHECK_EQ(fscc_build_full_ea(&w, name, "v", 1), -ERANGE);
	CHECK_EQ(w.err, -ERANGE);
	wbuf_free(&w);
	name[255] = '\0';
	wbuf_init(&w);
	CHECK_EQ(fscc_build_get_ea(&w, name), 0);
	CHECK_EQ(w.len, 4 + 1 + 255 + 1);
	wbuf_free(&w);
	static uint8_t big[65536];
	wbuf_init(&w);
	CHECK_EQ(fscc_build_full_ea(&w, "big", big, sizeof(big)), -E2BIG);
	wbuf_free(&w);
	wbuf_init(&w);
	CHECK_EQ(fscc_build_full_ea(&w, "big", big, sizeof(big) - 1), 0);
	wbuf_free(&w);
	wbuf_init(&w);
	CHECK_EQ(fscc_build_full_ea(&w, "", "v", 1), -EINVAL);
	wbuf_free(&w);
	wbuf_init(&w);
	CHECK_EQ(fscc_build_get_ea(&w, "caf\xc3\xa9"), -EINVAL);
	wbuf_free(&w);
}

int main(void)
{
	test_walk();
	test_walk_malformed();
	test_build();
	return check_done("ea");
}

/* The SFM name mapping (smb2fs/sfm.h): every reserved character both ways,
 * the trailing space and period, round trips, path limits. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smb2fs/sfm.h"
#include "smb2fs/utf16.h"

#define STREQ(a, b) (strcmp((a), (b)) == 0)

/* UTF-8 of a BMP code point, NUL-terminated (buf: 4 bytes). */
static const char *u8(unsigned cp, char *buf)
{
	if (cp < 0x80) {
		buf[0] = (char)cp;
		buf[1] = 0;
	} else if (cp < 0x800) {
		buf[0] = (char)(0xC0 | cp >> 6);
		buf[1] = (char)(0x80 | (cp & 0x3F));
		buf[2] = 0;
	} else {
		buf[0] = (char)(0xE0 | cp >> 12);
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		buf[2] = (char)(0x80 | (cp & 0x3F));
		buf[3] = 0;
	}
	return buf;
}

/* sfm_name_to_smb into a NUL-terminated static buffer. */
static const char *to_smb(const char *name)
{
	static char out[4096];
	size_t n = sfm_name_to_smb(name, strlen(name), out);
	out[n] = 0;
	return out;
}

static const char *from_smb(const char *name)
{
	static char out[4096];
	size_t n = sfm_name_from_smb(name, strlen(name), out);
	CHECK_EQ(n, strlen(out));
	return out;
}

/* The published table, written out: character -> private-use code point. */
static const struct {
	char ch;
	unsigned cp;
} table[] = {
	{'"', 0xF020}, {'*', 0xF021}, {':', 0xF022}, {'<', 0xF023},
	{'>', 0xF024}, {'?', 0xF025}, {'\\', 0xF026}, {'|', 0xF027},
};

static void test_each_character(void)
{
	char want[64], pu[4];

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		char name[8] = {'a', table[i].ch, 'b', 0};
		snprintf(want, sizeof(want), "a%sb", u8(table[i].cp, pu));
		CHECK(STREQ(to_smb(name), want));
		CHECK(STREQ(from_smb(want), name));
		/* alone, first and last too */
		char one[2] = {table[i].ch, 0};
		CHECK(STREQ(to_smb(one), u8(table[i].cp, pu)));
		CHECK(STREQ(from_smb(u8(table[i].cp, pu)), one));
	}
	for (unsigned c = 0x01; c <= 0x1F; c++) {
		char name[8] = {'x', (char)c, 'y', 0};
		snprintf(want, sizeof(want), "x%sy", u8(0xF000 + c, pu));
		CHECK(STREQ(to_smb(name), want));
		CHECK(STREQ(from_smb(want), name));
	}
	/* Nothing else changes: every other ASCII character stays. */
	for (unsigned c = 0x20; c < 0x80; c++) {
		if (c == '/' || strchr("\"*:<>?\\|", (int)c))
			continue;
		char name[4] = {(char)c, 'z', 0};
		CHECK(STREQ(to_smb(name), name));
	}
	/* U+F000 and U+F02A.. are no SFM code points and stay as they are. */
	CHECK(STREQ(from_smb("a\xEF\x80\x80"), "a\xEF\x80\x80"));
	CHECK(STREQ(from_smb("a\xEF\x80\xAA"), "a\xEF\x80\xAA"));
	CHECK(STREQ(from_smb("a\xEF\x81\x82"), "a\xEF\x81\x82"));
}

static void test_trailing_space_and_period(void)
{
	CHECK(STREQ(to_smb("a "), "a\xEF\x80\xA8"));
	CHECK(STREQ(to_smb("a."), "a\xEF\x80\xA9"));
	CHECK(STREQ(to_smb("a b.c"), "a b.c"));           /* only at the end */
	CHECK(STREQ(to_smb("a  "), "a \xEF\x80\xA8"));     /* only the last one */
	CHECK(STREQ(to_smb("..."), "..\xEF\x80\xA9"));
	CHECK(STREQ(to_smb(" "), "\xEF\x80\xA8"));
	CHECK(STREQ(to_smb(".a"), ".a"));
	/* "." and ".." are the directory and its parent, never names */
	CHECK(STREQ(to_smb("."), "."));
	CHECK(STREQ(to_smb(".."), ".."));

	CHECK(STREQ(from_smb("a\xEF\x80\xA8"), "a "));
	CHECK(STREQ(from_smb("a\xEF\x80\xA9"), "a."));
	CHECK(STREQ(from_smb("..\xEF\x80\xA9"), "..."));
	/* Inside a name they stay: the way out would not put them there. */
	CHECK(STREQ(from_smb("a\xEF\x80\xA8z"), "a\xEF\x80\xA8z"));
	CHECK(STREQ(from_smb("a\xEF\x80\xA9\xEF\x80\xA9"), "a\xEF\x80\xA9."));
	/* Names that would become the directory or its parent keep their form */
	CHECK(STREQ(from_smb("\xEF\x80\xA9"), "\xEF\x80\xA9"));
	CHECK(STREQ(from_smb(".\xEF\x80\xA9"), ".\xEF\x80\xA9"));
	CHECK(STREQ(from_smb("\xEF\x80\xA9\xEF\x80\xA9"), "\xEF\x80\xA9."));
	CHECK(STREQ(from_smb("."), "."));
	CHECK(STREQ(from_smb(".."), ".."));
	CHECK(STREQ(from_smb(""), ""));
}

/* Whether the UTF-8 name holds a code point of U+F001..U+F029. */
static bool has_sfm_point(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (p[0] == 0xEF && p[1] == 0x80 && p[2] > 0x80 && p[2] <= 0xA9)
			return true;
	return false;
}

static bool is_dot(const char *s)
{
	return STREQ(s, ".") || STREQ(s, "..");
}

/* Every name of up to 4 characters over an alphabet of the interesting
 * ones: the way out and back gives the name again (when it holds no SFM
 * code point itself), and the way back and out gives the server's name
 * again (when it ends in no real space or period and holds none of the
 * reserved characters, which no SMB server stores). */
static void test_round_trips(void)
{
	static const char *const alpha[] = {
		"a", " ", ".", ":", "\\", "*", "|", "\x01", "\x1f", "\xC3\xA9",
		"\xEF\x80\xA2", "\xEF\x80\xA8", "\xEF\x80\xA9", "\xEF\x80\x81", "\xF0\x9F\x98\x80",
	};
	const size_t na = sizeof(alpha) / sizeof(alpha[0]);
	unsigned long names = 0, bad_out = 0, bad_back = 0;
	for (size_t len = 1; len <= 4; len++) {
		size_t total = 1;
		for (size_t k = 0; k < len; k++)
			total *= na;
		for (size_t idx = 0; idx < total; idx++) {
			char name[64] = "";
			size_t v = idx;
			for (size_t k = 0; k < len; k++, v /= na)
				strcat(name, alpha[v % na]);
			names++;
			char smb[256], back[256];
			size_t n = sfm_name_to_smb(name, strlen(name), smb);
			smb[n] = 0;
			if (!utf8_valid(smb, n) || strpbrk(smb, "\"*:<>?\\|\x01\x1f") ||
			    (smb[n - 1] == ' ' || (smb[n - 1] == '.' && !is_dot(name))))
				bad_out++;
			sfm_name_from_smb(smb, n, back);
			if (!has_sfm_point(name) && !STREQ(back, name))
				bad_out++;
			/* the other way: name as the server's */
			size_t l = strlen(name);
			if (!strpbrk(name, "\"*:<>?\\|\x01\x1f") && name[l - 1] != ' ' &&
			    name[l - 1] != '.') {
				sfm_name_from_smb(name, l, back);
				n = sfm_name_to_smb(back, strlen(back), smb);
				smb[n] = 0;
				if (!STREQ(smb, name))
					bad_back++;
			}
		}
	}
	CHECK(names > 50000);
	CHECK_EQ(bad_out, 0);
	CHECK_EQ(bad_back, 0);
}

static int path(const char *p, bool map, char **out)
{
	return sfm_path_to_smb(p, map, out);
}

static void test_paths(void)
{
	char *s;

	CHECK_EQ(path("/", true, &s), 0);
	CHECK(s && STREQ(s, ""));
	free(s);
	CHECK_EQ(path("", true, &s), 0);
	CHECK(s && STREQ(s, ""));
	free(s);
	CHECK_EQ(path("//dir/sub/file.txt//", true, &s), 0);
	CHECK(s && STREQ(s, "dir\\sub\\file.txt"));
	free(s);
	/* every component is mapped, each with its own trailing character */
	CHECK_EQ(path("/a:b/c. /d./e\\f", true, &s), 0);
	CHECK(s && STREQ(s, "a\xEF\x80\xA2" "b\\c.\xEF\x80\xA8\\d\xEF\x80\xA9\\e\xEF\x80\xA6" "f"));
	free(s);
	/* nomapposix: as before, '\\' and ':' refused, the rest as given */
	CHECK_EQ(path("/a:b", false, &s), -EINVAL);
	CHECK(s == NULL);
	CHECK_EQ(path("/d/a\\b", false, &s), -EINVAL);
	CHECK_EQ(path("/d./x*? ", false, &s), 0);
	CHECK(s && STREQ(s, "d.\\x*? "));
	free(s);
	/* not UTF-8: no SMB form either way */
	CHECK_EQ(path("/bad\xFFname", true, &s), -EILSEQ);
	CHECK(s == NULL);
	CHECK_EQ(path("/bad\xFFname", false, &s), -EILSEQ);
	CHECK_EQ(path("/a:\xC3", true, &s), -EILSEQ);
}

static void test_lengths(void)
{
	char *s, buf[2048];

	/* 255 bytes is the longest ASCII name, 256 is too long */
	memset(buf, 0, sizeof(buf));
	buf[0] = '/';
	memset(buf + 1, 'n', 255);
	CHECK_EQ(path(buf, true, &s), 0);
	CHECK(s && strlen(s) == 255);
	free(s);
	buf[256] = 'n';
	CHECK_EQ(path(buf, true, &s), -ENAMETOOLONG);
	CHECK(s == NULL);
	CHECK_EQ(path(buf, false, &s), -ENAMETOOLONG);
	/* in the middle of a path too, and for a directory */
	char mid[600];
	snprintf(mid, sizeof(mid), "/d/%s/f", buf + 1);
	CHECK_EQ(path(mid, true, &s), -ENAMETOOLONG);
	/* 255 mapped characters: still 255 characters, 765 bytes of UTF-8 */
	memset(buf + 1, ':', 255);
	buf[256] = 0;
	CHECK_EQ(path(buf, true, &s), 0);
	CHECK(s && strlen(s) == 765);
	free(s);
	buf[256] = '*';
	CHECK_EQ(path(buf, true, &s), -ENAMETOOLONG);
	/* The limit counts UTF-16 units, as SMB does: 100 CJK characters
	 * (300 bytes) fit, 128 characters past U+FFFF (256 units) do not. */
	size_t o = 1;
	for (int i = 0; i < 100; i++, o += 3)
		memcpy(buf + o, "\xE4\xB8\xAD", 3);
	buf[o] = 0;
	CHECK_EQ(path(buf, true, &s), 0);
	free(s);
	o = 1;
	for (int i = 0; i < 127; i++, o += 4)
		memcpy(buf + o, "\xF0\x9F\x98\x80", 4);
	buf[o++] = 'a';
	buf[o] = 0;
	CHECK_EQ(path(buf, true, &s), 0); /* 255 units */
	free(s);
	buf[o++] = 'a';
	buf[o] = 0;
	CHECK_EQ(path(buf, true, &s), -ENAMETOOLONG);
	/* The whole path: 32,767 UTF-16 units at most (CREATE's 16-bit
	 * NameLength in bytes). */
	size_t comps = 32767 / 256; /* 127 components of 255 + separator */
	size_t plen = comps * 256;  /* with the leading '/' for each */
	char *big = malloc(plen + 300);
	CHECK(big != NULL);
	if (!big)
		return;
	for (size_t i = 0; i < comps; i++) {
		big[i * 256] = '/';
		memset(big + i * 256 + 1, 'p', 255);
	}
	big[plen] = 0;
	/* 127 * 255 + 126 separators = 32,511 units; add a last component */
	size_t left = 32767 - (comps * 255 + comps - 1) - 1;
	big[plen] = '/';
	memset(big + plen + 1, 'q', left);
	big[plen + 1 + left] = 0;
	CHECK_EQ(path(big, true, &s), 0);
	CHECK(s && strlen(s) == 32767);
	free(s);
	big[plen + 1 + left] = 'q';
	big[plen + 2 + left] = 0;
	CHECK_EQ(path(big, true, &s), -ENAMETOOLONG);
	free(big);
}

int main(void)
{
	test_each_character();
	test_trailing_space_and_period();
	test_round_trips();
	test_paths();
	test_lengths();
	return check_done("sfm");
}

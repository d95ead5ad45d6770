/* Unit tests for MS-FSCC parsing/building: directory listings, QUERY_INFO
 * results, SET_INFO buffers, FILETIME conversion. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smb2fs/buf.h"
#include "smb2fs/fscc.h"
#include "smb2fs/wire.h"

struct seen {
	int n;
	char names[8][32];
	struct fscc_stat st[8];
	int stop_at;
};

static int collect(const struct fscc_dirent *e, void *arg)
{
	struct seen *s = arg;
	if (s->n < 8) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", e->name);
		s->st[s->n] = e->st;
	}
	s->n++;
	if (s->stop_at && s->n == s->stop_at)
		return 7;
	return 0;
}

static size_t name_off(uint8_t cls)
{
	switch (cls) {
	case FileDirectoryInformation: return 64;
	case FileFullDirectoryInformation: return 68;
	case FileBothDirectoryInformation: return 94;
	case FileIdFullDirectoryInformation: return 80;
	default: return 104;  /* FileIdBothDirectoryInformation */
	}
}

/* Appends an entry (8-aligned) and links the previous one to it. */
static void add_entry(struct wbuf *w, uint8_t cls, size_t *prev, const char *name16hex,
		      uint64_t eof, uint32_t attrs, uint64_t id)
{
	uint8_t nm[128];
	size_t nl = hex2bin(name16hex, nm, sizeof(nm));
	wbuf_align(w, 8);
	size_t at = w->len;
	if (*prev != SIZE_MAX)
		wbuf_put_u32_at(w, *prev, (uint32_t)(at - *prev));
	wbuf_zero(w, name_off(cls));
	uint8_t *p = w->p + at;
	le64_store(p + 8, 0x100 + eof);   /* creation */
	le64_store(p + 16, 0x200 + eof);  /* access */
	le64_store(p + 24, 0x300 + eof);  /* write */
	le64_store(p + 32, 0x400 + eof);  /* change */
	le64_store(p + 40, eof);
	le64_store(p + 48, 4096);
	le32_store(p + 56, attrs);
	le32_store(p + 60, (uint32_t)nl);
	if (cls == FileIdBothDirectoryInformation)
		le64_store(p + 96, id);
	if (cls == FileIdFullDirectoryInformation)
		le64_store(p + 72, id);
	wbuf_bytes(w, nm, nl);
	*prev = at;
}

static int walk(uint8_t cls, const uint8_t *b, size_t n, struct seen *s)
{
	uint8_t *c = malloc(n ? n : 1);
	if (n)
		memcpy(c, b, n);
	memset(s, 0, sizeof(*s));
	int rc = fscc_dir_walk(cls, c, n, collect, s);
	free(c);
	return rc;
}

static void test_dir_golden(void)
{
	/* One FileIdBothDirectoryInformation entry, laid out by hand from
	 * MS-FSCC 2.4.17: name "ab" at offset 104, FileId at 96. */
	uint8_t b[128];
	size_t n = hex2bin(
		"00000000 07000000"
		"0100000000000000 0200000000000000 0300000000000000 0400000000000000"
		"0500000000000000 0010000000000000 20000000 04000000"
		"00000000 00 00 000000000000000000000000000000000000000000000000"
		"0000 efcdab8967452301 61006200", b, sizeof(b));
	CHECK_EQ(n, 108);
	struct seen s;
	CHECK_EQ(walk(FileIdBothDirectoryInformation, b, n, &s), 0);
	CHECK_EQ(s.n, 1);
	CHECK(strcmp(s.names[0], "ab") == 0);
	CHECK_EQ(s.st[0].creation_time, 1);
	CHECK_EQ(s.st[0].last_access_time, 2);
	CHECK_EQ(s.st[0].last_write_time, 3);
	CHECK_EQ(s.st[0].change_time, 4);
	CHECK_EQ(s.st[0].end_of_file, 5);
	CHECK_EQ(s.st[0].allocation_size, 4096);
	CHECK_EQ(s.st[0].file_attributes, FILE_ATTRIBUTE_ARCHIVE);
	CHECK_EQ(s.st[0].file_id, 0x0123456789abcdefull);
	CHECK_EQ(s.st[0].nlink, 0);
	/* Every truncation is rejected. */
	int bad = 0;
	for (size_t l = 1; l < n; l++)
		if (walk(FileIdBothDirectoryInformation, b, l, &s) != -EBADMSG)
			bad++;
	CHECK_EQ(bad, 0);
}

static void test_dir_classes(void)
{
	static const uint8_t classes[] = { FileDirectoryInformation, FileFullDirectoryInformation,
					   FileBothDirectoryInformation, FileIdFullDirectoryInformation,
					   FileIdBothDirectoryInformation };
	for (size_t c = 0; c < sizeof(classes); c++) {
		uint8_t cls = classes[c];
		struct wbuf w;
		struct seen s;
		size_t prev = SIZE_MAX;
		bool has_id = cls == FileIdFullDirectoryInformation || cls == FileIdBothDirectoryInformation;
		wbuf_init(&w);
		add_entry(&w, cls, &prev, "2e00", 0, FILE_ATTRIBUTE_DIRECTORY, 11);       /* "." */
		add_entry(&w, cls, &prev, "78007900", 10, FILE_ATTRIBUTE_ARCHIVE, 12);    /* "xy" */
		add_entry(&w, cls, &prev, "3dd800de 6100", 20, FILE_ATTRIBUTE_NORMAL, 13); /* U+1F600 "a" */
		CHECK(!w.err);
		CHECK_EQ(walk(cls, w.p, w.len, &s), 0);
		CHECK_EQ(s.n, 3);
		CHECK(strcmp(s.names[0], ".") == 0);
		CHECK(strcmp(s.names[1], "xy") == 0);
		CHECK(strcmp(s.names[2], "\xF0\x9F\x98\x80" "a") == 0);
		CHECK_EQ(s.st[1].end_of_file, 10);
		CHECK_EQ(s.st[1].last_write_time, 0x30a);
		CHECK_EQ(s.st[2].file_attributes, FILE_ATTRIBUTE_NORMAL);
		CHECK_EQ(s.st[0].file_attributes, FILE_ATTRIBUTE_DIRECTORY);
		CHECK_EQ(s.st[2].file_id, has_id ? 13 : 0);
		CHECK_EQ(s.st[1].nlink, 0);

		/* callback stop value is returned */
		memset(&s, 0, sizeof(s));
		s.stop_at = 2;
		CHECK_EQ(fscc_dir_walk(cls, w.p, w.len, collect, &s), 7);
		CHECK_EQ(s.n, 2);

		/* truncated at every length */
		int bad = 0;
		for (size_t l = 1; l < w.len; l++)
			if (walk(cls, w.p, l, &s) != -EBADMSG)
				bad++;
		CHECK_EQ(bad, 0);

		uint8_t *m = malloc(w.len);
		size_t second = le32_load(w.p);
		/* NextEntryOffset: too small (would overlap / loop), past end, huge */
		static const uint32_t bad_next[] = { 1, 8, 60, 0xFFFFFFFFu, 0x80000000u };
		for (size_t i = 0; i < sizeof(bad_next) / sizeof(bad_next[0]); i++) {
			memcpy(m, w.p, w.len);
			le32_store(m, bad_next[i]);
			CHECK_EQ(walk(cls, m, w.len, &s), -EBADMSG);
		}
		memcpy(m, w.p, w.len);
		le32_store(m, (uint32_t)w.len);  /* exactly to the end: no room for an entry */
		CHECK_EQ(walk(cls, m, w.len, &s), -EBADMSG);
		/* second entry's Next pointing back at itself is impossible (0 = end);
		 * pointing "backwards" is an unsigned huge value: covered above.
		 * Name length odd / overflowing / zero / lone surrogate: */
		memcpy(m, w.p, w.len);
		le32_store(m + second + 60, 3);
		CHECK_EQ(walk(cls, m, w.len, &s), -EBADMSG);
		memcpy(m, w.p, w.len);
		le32_store(m + second + 60, 0xFFFFFFFEu);
		CHECK_EQ(walk(cls, m, w.len, &s), -EBADMSG);
		memcpy(m, w.p, w.len);
		le32_store(m + second + 60, 0);  /* empty name: skipped, not fatal */
		CHECK_EQ(walk(cls, m, w.len, &s), 0);
		CHECK_EQ(s.n, 2);
		memcpy(m, w.p, w.len);
		le16_store(m + second + name_off(cls), 0xD800);  /* lone high surrogate "\xD800y" */
		/* no UTF-8 form: that entry is skipped, the others still listed */
		CHECK_EQ(walk(cls, w.p, w.len, &s), 0);
		int all = s.n;
		char first[32];
		memcpy(first, s.names[0], sizeof(first));
		CHECK_EQ(walk(cls, m, w.len, &s), 0);
		CHECK_EQ(s.n, all - 1);
		CHECK(strcmp(s.names[0], first) == 0);
		memcpy(m, w.p, w.len);
		le32_store(m + second + 60, 2);  /* shorter name still inside: fine */
		CHECK_EQ(walk(cls, m, w.len, &s), 0);
		CHECK(strcmp(s.names[1], "x") == 0);
		/* Misaligned but in-bounds NextEntryOffset is tolerated. */
		free(m);
		wbuf_free(&w);
	}
	struct seen s;
	CHECK_EQ(walk(FileIdBothDirectoryInformation, NULL, 0, &s), 0);
	CHECK_EQ(s.n, 0);
	CHECK_EQ(fscc_dir_walk(FileBasicInformation, (const uint8_t *)"", 0, collect, &s), -EINVAL);
}

struct skips {
	int n;
	char why[4][32];
	char name[4][32];
};

static void note_skip(const char *name, const char *why, void *arg)
{
	struct skips *k = arg;
	if (k->n < 4) {
		snprintf(k->why[k->n], sizeof(k->why[0]), "%s", why);
		snprintf(k->name[k->n], sizeof(k->name[0]), "%s", name ? name : "(none)");
	}
	k->n++;
}

struct both {
	struct seen s;
	struct skips k;
};

static int both_entry(const struct fscc_dirent *e, void *arg)
{
	return collect(e, &((struct both *)arg)->s);
}

static void both_skip(const char *name, const char *why, void *arg)
{
	note_skip(name, why, &((struct both *)arg)->k);
}

/* A server may send names no POSIX directory entry can have ('/' inside,
 * an embedded NUL, empty): those entries are left out, the rest listed. */
static void test_dir_bad_names(void)
{
	static const uint8_t classes[] = { FileDirectoryInformation, FileIdBothDirectoryInformation };
	for (size_t c = 0; c < sizeof(classes); c++) {
		uint8_t cls = classes[c];
		struct wbuf w;
		size_t prev = SIZE_MAX;
		wbuf_init(&w);
		add_entry(&w, cls, &prev, "6100", 1, FILE_ATTRIBUTE_ARCHIVE, 1);            /* "a" */
		add_entry(&w, cls, &prev, "78002f007900", 2, FILE_ATTRIBUTE_ARCHIVE, 2);    /* "x/y" */
		add_entry(&w, cls, &prev, "620000006300", 3, FILE_ATTRIBUTE_ARCHIVE, 3);    /* "b\0c" */
		add_entry(&w, cls, &prev, "2f00", 4, FILE_ATTRIBUTE_DIRECTORY, 4);          /* "/" */
		add_entry(&w, cls, &prev, "", 5, FILE_ATTRIBUTE_ARCHIVE, 5);                /* "" */
		add_entry(&w, cls, &prev, "7a00", 6, FILE_ATTRIBUTE_ARCHIVE, 6);            /* "z" */
		CHECK(!w.err);

		struct seen s;
		CHECK_EQ(walk(cls, w.p, w.len, &s), 0);
		CHECK_EQ(s.n, 2);
		CHECK(strcmp(s.names[0], "a") == 0);
		CHECK(strcmp(s.names[1], "z") == 0);
		CHECK_EQ(s.st[1].end_of_file, 6);

		struct both b;
		memset(&b, 0, sizeof(b));
		CHECK_EQ(fscc_dir_walk_ex(cls, w.p, w.len, both_entry, both_skip, &b), 0);
		CHECK_EQ(b.s.n, 2);
		CHECK_EQ(b.k.n, 4);
		CHECK(strcmp(b.k.name[0], "x/y") == 0 && strstr(b.k.why[0], "'/'"));
		CHECK(strcmp(b.k.name[1], "(none)") == 0 && strstr(b.k.why[1], "NUL"));
		CHECK(strcmp(b.k.name[2], "/") == 0 && strstr(b.k.why[2], "'/'"));
		CHECK(strcmp(b.k.name[3], "(none)") == 0 && strstr(b.k.why[3], "empty"));
		wbuf_free(&w);
	}
}

static void test_dir_unaligned(void)
{
	/* Two FileDirectoryInformation entries, the first with NextEntryOffset 66
	 * (not 8-aligned): tolerated as long as it stays in bounds. */
	struct wbuf w;
	wbuf_init(&w);
	wbuf_zero(&w, 66 + 66);
	le32_store(w.p, 66);
	le32_store(w.p + 60, 2);
	le16_store(w.p + 64, 'a');
	le32_store(w.p + 66 + 60, 2);
	le16_store(w.p + 66 + 64, 'b');
	struct seen s;
	CHECK_EQ(walk(FileDirectoryInformation, w.p, w.len, &s), 0);
	CHECK(s.n == 2 && strcmp(s.names[0], "a") == 0 && strcmp(s.names[1], "b") == 0);
	wbuf_free(&w);
}

static void test_info_parsers(void)
{
	uint8_t b[256];
	struct fscc_stat st;
	size_t n;

	memset(&st, 0, sizeof(st));
	n = hex2bin("0100000000000000 0200000000000000 0300000000000000 0400000000000000"
		    "21000000 00000000", b, sizeof(b));
	CHECK_EQ(fscc_parse_basic(b, n, &st), 0);
	CHECK(st.creation_time == 1 && st.last_access_time == 2 && st.last_write_time == 3 &&
	      st.change_time == 4 && st.file_attributes == 0x21);
	CHECK_EQ(fscc_parse_basic(b, 35, &st), -EBADMSG);

	memset(&st, 0, sizeof(st));
	n = hex2bin("0020000000000000 3412000000000000 02000000 00 01 0000", b, sizeof(b));
	CHECK_EQ(fscc_parse_standard(b, n, &st), 0);
	CHECK_EQ(st.allocation_size, 0x2000);
	CHECK_EQ(st.end_of_file, 0x1234);
	CHECK_EQ(st.nlink, 2);
	CHECK(st.file_attributes & FILE_ATTRIBUTE_DIRECTORY);
	CHECK_EQ(fscc_parse_standard(b, 21, &st), -EBADMSG);

	memset(&st, 0, sizeof(st));
	n = hex2bin("0100000000000000 0200000000000000 0300000000000000 0400000000000000"
		    "0010000000000000 0500000000000000 80000000 00000000", b, sizeof(b));
	CHECK_EQ(n, 56);
	CHECK_EQ(fscc_parse_network_open(b, n, &st), 0);
	CHECK(st.creation_time == 1 && st.change_time == 4 && st.allocation_size == 4096 &&
	      st.end_of_file == 5 && st.file_attributes == FILE_ATTRIBUTE_NORMAL);
	CHECK_EQ(fscc_parse_network_open(b, 51, &st), -EBADMSG);

	/* FileAllInformation: Basic 40, Standard 24, Internal 8, EA 4, Access 4,
	 * Position 8, Mode 4, Alignment 4, NameLength 4 + name "\x" */
	n = hex2bin("0100000000000000 0200000000000000 0300000000000000 0400000000000000"
		    "20000000 00000000"
		    "0010000000000000 0300000000000000 01000000 00 00 0000"
		    "7856341200000000"
		    "00000000 ff011f00 0000000000000000 00000000 00000000"
		    "04000000 5c007800", b, sizeof(b));
	CHECK_EQ(n, 40 + 24 + 8 + 4 + 4 + 8 + 4 + 4 + 4 + 4);
	memset(&st, 0xAA, sizeof(st));
	CHECK_EQ(fscc_parse_all(b, n, &st), 0);
	CHECK(st.creation_time == 1 && st.last_access_time == 2 && st.last_write_time == 3 &&
	      st.change_time == 4);
	CHECK_EQ(st.file_attributes, FILE_ATTRIBUTE_ARCHIVE);
	CHECK_EQ(st.allocation_size, 4096);
	CHECK_EQ(st.end_of_file, 3);
	CHECK_EQ(st.nlink, 1);
	CHECK_EQ(st.file_id, 0x12345678);
	CHECK_EQ(fscc_parse_all(b, 72, &st), 0);  /* name part truncated: fine */
	int bad = 0;
	for (size_t l = 0; l < 72; l++) {
		uint8_t *c = malloc(l ? l : 1);
		memcpy(c, b, l);
		if (fscc_parse_all(c, l, &st) != -EBADMSG)
			bad++;
		free(c);
	}
	CHECK_EQ(bad, 0);

	struct fscc_fs_full_size fs;
	n = hex2bin("0001000000000000 8000000000000000 9000000000000000 08000000 00020000",
		    b, sizeof(b));
	CHECK_EQ(fscc_parse_fs_full_size(b, n, &fs), 0);
	CHECK_EQ(fs.total_allocation_units, 256);
	CHECK_EQ(fs.caller_available_units, 128);
	CHECK_EQ(fs.actual_available_units, 144);
	CHECK_EQ(fs.sectors_per_unit, 8);
	CHECK_EQ(fs.bytes_per_sector, 512);
	CHECK_EQ(fscc_parse_fs_full_size(b, 31, &fs), -EBADMSG);
	CHECK_EQ(fscc_parse_fs_full_size(NULL, 0, &fs), -EBADMSG);
}

static void check_wbuf_hex(const struct wbuf *w, const char *hex, int line)
{
	uint8_t exp[256];
	size_t n = hex2bin(hex, exp, sizeof(exp));
	check_count++;
	if (w->err || w->len != n || memcmp(w->p, exp, n) != 0) {
		check_failures++;
		fprintf(stderr, "test_fscc.c:%d: builder output mismatch (len %zu, want %zu)\n",
			line, w->len, n);
	}
}

static void test_builders(void)
{
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(fscc_build_basic(&w, 0, 0x1122334455667788ull, 2, 0, FILE_ATTRIBUTE_HIDDEN), 0);
	check_wbuf_hex(&w, "0000000000000000 8877665544332211 0200000000000000 0000000000000000"
			   "02000000 00000000", __LINE__);
	wbuf_reset(&w);
	CHECK_EQ(fscc_build_end_of_file(&w, 0x100000001ull), 0);
	check_wbuf_hex(&w, "0100000001000000", __LINE__);
	wbuf_reset(&w);
	CHECK_EQ(fscc_build_disposition(&w, true), 0);
	check_wbuf_hex(&w, "01", __LINE__);
	wbuf_reset(&w);
	CHECK_EQ(fscc_build_disposition(&w, false), 0);
	check_wbuf_hex(&w, "00", __LINE__);
	wbuf_reset(&w);
	CHECK_EQ(fscc_build_rename(&w, true, "a\\b"), 0);
	check_wbuf_hex(&w, "01 00000000000000 0000000000000000 06000000 61005c006200 0000", __LINE__);
	wbuf_reset(&w);
	CHECK_EQ(fscc_build_rename(&w, false, "x"), 0);  /* padded to 24 */
	check_wbuf_hex(&w, "00 00000000000000 0000000000000000 02000000 7800 0000", __LINE__);
	wbuf_reset(&w);
	CHECK_EQ(fscc_build_rename(&w, false, "\xF0\x9F\x98\x80"), 0);
	check_wbuf_hex(&w, "00 00000000000000 0000000000000000 04000000 3dd800de 0000", __LINE__);
	wbuf_reset(&w);
	CHECK_EQ(fscc_build_rename(&w, false, ""), -EINVAL);
	CHECK_EQ(w.err, -EINVAL);
	wbuf_reset(&w);
	CHECK_EQ(fscc_build_rename(&w, false, "\xED\xA0\x80"), -EILSEQ);
	CHECK_EQ(w.len, 0);
	CHECK_EQ(w.err, -EILSEQ);  /* sticky: never sent as an empty rename */
	/* a builder into a buffer already in error keeps the first reason */
	CHECK_EQ(fscc_build_end_of_file(&w, 1), -EILSEQ);
	CHECK_EQ(w.len, 0);
	wbuf_free(&w);
}

static void test_filetime(void)
{
	int64_t sec;
	long nsec;
	CHECK_EQ(fscc_time_from_unix(0, 0), 116444736000000000ull);
	fscc_time_to_unix(116444736000000000ull, &sec, &nsec);
	CHECK(sec == 0 && nsec == 0);
	/* 2009-02-13 23:31:30 UTC = 1234567890 */
	CHECK_EQ(fscc_time_from_unix(1234567890, 123456700), 128790414901234567ull);
	fscc_time_to_unix(128790414901234567ull, &sec, &nsec);
	CHECK(sec == 1234567890 && nsec == 123456700);
	CHECK_EQ(fscc_time_from_unix(-1, 0), 116444735990000000ull);
	fscc_time_to_unix(116444735990000001ull, &sec, &nsec);
	CHECK(sec == -1 && nsec == 100);
	CHECK_EQ(fscc_time_from_unix(-11644473600LL, 0), 0);
	CHECK_EQ(fscc_time_from_unix(-11644473601LL, 0), 0);   /* before 1601: clamp */
	CHECK_EQ(fscc_time_from_unix(INT64_MAX, 999999999), UINT64_MAX);
	CHECK_EQ(fscc_time_from_unix(INT64_MIN, -1), 0);
	CHECK_EQ(fscc_time_from_unix(0, 1500000000L), 116444736015000000ull); /* nsec normalised */
	CHECK_EQ(fscc_time_from_unix(1, -500000000L), 116444736005000000ull);
	fscc_time_to_unix(0, &sec, &nsec);
	CHECK(sec == -11644473600LL && nsec == 0);
	fscc_time_to_unix(UINT64_MAX, &sec, &nsec);
	CHECK(sec > 0 && nsec >= 0 && nsec < 1000000000L);
}

int main(void)
{
	test_dir_golden();
	test_dir_classes();
	test_dir_unaligned();
	test_dir_bad_names();
	test_info_parsers();
	test_builders();
	test_filetime();
	return check_done("test_fscc");
}

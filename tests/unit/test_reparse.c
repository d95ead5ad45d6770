/* Unit tests for symbolic-link reparse data (src/wire/reparse.c,
 * MS-FSCC 2.1.2.4). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smb2fs/fscc.h"

/* tag, ReparseDataLength, Reserved, SubstituteNameOffset/Length,
 * PrintNameOffset/Length, Flags, then the names in UTF-16LE. */
static size_t build(uint8_t *b, const char *sub, const char *print, uint32_t flags)
{
	size_t sl = strlen(sub), pl = strlen(print);
	size_t data = 12 + 2 * (sl + pl);
	uint8_t *p = b;
	le32_store(p, IO_REPARSE_TAG_SYMLINK);
	le16_store(p + 4, (uint16_t)data);
	le16_store(p + 6, 0);
	le16_store(p + 8, 0);
	le16_store(p + 10, (uint16_t)(2 * sl));
	le16_store(p + 12, (uint16_t)(2 * sl));
	le16_store(p + 14, (uint16_t)(2 * pl));
	le32_store(p + 16, flags);
	p += 20;
	for (size_t i = 0; i < sl; i++, p += 2)
		le16_store(p, (uint8_t)sub[i]);
	for (size_t i = 0; i < pl; i++, p += 2)
		le16_store(p, (uint8_t)print[i]);
	return 8 + data;
}

static void test_parse(void)
{
	uint8_t b[256];
	char *t = NULL;
	bool rel = false;
	size_t n = build(b, "..\\dir\\file", "..\\dir\\file", SYMLINK_FLAG_RELATIVE);
	CHECK_EQ(fscc_parse_symlink_reparse(b, n, &t, &rel), 0);
	CHECK(t && strcmp(t, "../dir/file") == 0);
	CHECK(rel);
	free(t);
	/* absolute: the print name, not the NT form */
	n = build(b, "\\??\\C:\\target", "C:\\target", 0);
	CHECK_EQ(fscc_parse_symlink_reparse(b, n, &t, &rel), 0);
	CHECK(t && strcmp(t, "C:/target") == 0);
	CHECK(!rel);
	free(t);
	/* no print name: the substitute name */
	n = build(b, "sub", "", SYMLINK_FLAG_RELATIVE);
	CHECK_EQ(fscc_parse_symlink_reparse(b, n, &t, &rel), 0);
	CHECK(t && strcmp(t, "sub") == 0);
	free(t);
}

static void test_malformed(void)
{
	uint8_t b[256], c[256];
	char *t = (char *)1;
	bool rel;
	size_t n = build(b, "abc", "abc", 1);
	/* every truncation */
	for (size_t k = 0; k < n; k++) {
		CHECK_EQ(fscc_parse_symlink_reparse(b, k, &t, &rel), -EBADMSG);
		CHECK(t == NULL);
	}
	/* another tag */
	memcpy(c, b, n);
	le32_store(c, 0x80000013u); /* IO_REPARSE_TAG_DEDUP */
	CHECK_EQ(fscc_parse_symlink_reparse(c, n, &t, &rel), -EOPNOTSUPP);
	/* names outside PathBuffer, odd lengths, empty, a NUL inside */
	memcpy(c, b, n);
	le16_store(c + 12, 8); /* 8 + 6 > 12 bytes of names */
	CHECK_EQ(fscc_parse_symlink_reparse(c, n, &t, &rel), -EBADMSG);
	memcpy(c, b, n);
	le16_store(c + 14, 5);
	CHECK_EQ(fscc_parse_symlink_reparse(c, n, &t, &rel), -EBADMSG);
	memcpy(c, b, n);
	le16_store(c + 10, 0);
	le16_store(c + 14, 0);
	CHECK_EQ(fscc_parse_symlink_reparse(c, n, &t, &rel), -EBADMSG);
	memcpy(c, b, n);
	c[20 + 6 + 2] = 0; /* print name's second character */
	CHECK_EQ(fscc_parse_symlink_reparse(c, n, &t, &rel), -EBADMSG);
	/* a lone surrogate has no UTF-8 form */
	memcpy(c, b, n);
	le16_store(c + 26, 0xD800);
	CHECK_EQ(fscc_parse_symlink_reparse(c, n, &t, &rel), -EBADMSG);
	/* ReparseDataLength past the buffer */
	memcpy(c, b, n);
	le16_store(c + 4, (uint16_t)(n));
	CHECK_EQ(fscc_parse_symlink_reparse(c, n, &t, &rel), -EBADMSG);
}

int main(void)
{
	test_parse();
	test_malformed();
	return check_done("reparse");
}

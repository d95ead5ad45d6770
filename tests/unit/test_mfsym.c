/* Unit tests for the special-file formats (src/util/mfsym.c):
 * Minshall+French symlinks and SFU devices and FIFOs. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "smb2fs/mfsym.h"

/* The layout, byte for byte: a link to "/Volumes/ProNJF/ref" as a public
 * hex dump of a macOS-made link file shows it (MD5 of the target). */
static void test_mfsym_layout(void)
{
	static const char t[] = "/Volumes/ProNJF/ref";
	static const char head[] = "XSym\n0019\n086ccc9c5c27f3907e47a03c3423b91e\n/Volumes/ProNJF/ref\n";
	uint8_t buf[MFSYM_FILE_SIZE];
	CHECK_EQ(mfsym_build(t, strlen(t), buf), 0);
	CHECK_MEM(buf, head, strlen(head));
	size_t spaces = 0;
	for (size_t i = strlen(head); i < sizeof(buf); i++)
		spaces += buf[i] == ' ';
	CHECK_EQ(spaces, MFSYM_FILE_SIZE - strlen(head));

	char out[MFSYM_TARGET_MAX + 1];
	size_t n = 0;
	CHECK_EQ(mfsym_parse(buf, sizeof(buf), out, sizeof(out), &n), 0);
	CHECK_EQ(n, strlen(t));
	CHECK(strcmp(out, t) == 0);
	/* too small an output buffer */
	CHECK_EQ(mfsym_parse(buf, sizeof(buf), out, strlen(t), &n), -ERANGE);
}

static void test_mfsym_limits(void)
{
	uint8_t buf[MFSYM_FILE_SIZE];
	char t[MFSYM_TARGET_MAX + 2];
	char out[MFSYM_TARGET_MAX + 1];
	size_t n;
	memset(t, 'a', sizeof(t));
	/* the longest target fills the file: no newline after it */
	CHECK_EQ(mfsym_build(t, MFSYM_TARGET_MAX, buf), 0);
	CHECK_EQ(buf[MFSYM_FILE_SIZE - 1], 'a');
	CHECK_EQ(mfsym_parse(buf, sizeof(buf), out, sizeof(out), &n), 0);
	CHECK_EQ(n, MFSYM_TARGET_MAX);
	CHECK_EQ(mfsym_build(t, MFSYM_TARGET_MAX + 1, buf), -ENAMETOOLONG);
	CHECK_EQ(mfsym_build(t, 0, buf), -EINVAL);
	CHECK_EQ(mfsym_build("a\0b", 3, buf), -EINVAL);
	/* UTF-8 targets are bytes: the length counts bytes */
	static const char u[] = "\xc3\xbc/\xce\xba";
	CHECK_EQ(mfsym_build(u, strlen(u), buf), 0);
	CHECK_MEM(buf, "XSym\n0005\n", 10);
	CHECK_EQ(mfsym_parse(buf, sizeof(buf), out, sizeof(out), &n), 0);
	CHECK(strcmp(out, u) == 0);
}

static void test_mfsym_rejects(void)
{
	uint8_t good[MFSYM_FILE_SIZE], b[MFSYM_FILE_SIZE];
	char out[MFSYM_TARGET_MAX + 1];
	size_t n;
	CHECK_EQ(mfsym_build("target", 6, good), 0);
	/* every corrupted byte of the header, the digest or the target */
	for (size_t i = 0; i < 43 + 6; i++) {
		memcpy(b, good, sizeof(b));
		b[i] ^= 0x01;
		CHECK_EQ(mfsym_parse(b, sizeof(b), out, sizeof(out), &n), -EINVAL);
	}
	/* a length past what was read, or over the maximum */
	memcpy(b, good, sizeof(b));
	memcpy(b + 5, "1025", 4);
	CHECK_EQ(mfsym_parse(b, sizeof(b), out, sizeof(out), &n), -EINVAL);
	memcpy(b + 5, "0000", 4);
	CHECK_EQ(mfsym_parse(b, sizeof(b), out, sizeof(out), &n), -EINVAL);
	CHECK_EQ(mfsym_parse(good, 48, out, sizeof(out), &n), -EINVAL);
	CHECK_EQ(mfsym_parse(good, 49, out, sizeof(out), &n), 0);
	CHECK_EQ(mfsym_parse(NULL, 0, out, sizeof(out), &n), -EINVAL);
	/* a plain file of the right size */
	memset(b, 'x', sizeof(b));
	CHECK_EQ(mfsym_parse(b, sizeof(b), out, sizeof(out), &n), -EINVAL);
}

static void test_sfu(void)
{
	uint8_t buf[SFU_DEV_SIZE];
	uint32_t ma = 0, mi = 0;
	sfu_build_dev(false, 1, 3, buf);
	CHECK_MEM(buf, "IntxCHR\0\x01\0\0\0\0\0\0\0\x03\0\0\0\0\0\0\0", 24);
	CHECK_EQ(sfu_parse(buf, sizeof(buf), sizeof(buf), &ma, &mi), S_IFCHR);
	CHECK_EQ(ma, 1);
	CHECK_EQ(mi, 3);
	sfu_build_dev(true, 8, 0x12345, buf);
	CHECK_EQ(sfu_parse(buf, sizeof(buf), sizeof(buf), &ma, &mi), S_IFBLK);
	CHECK_EQ(ma, 8);
	CHECK_EQ(mi, 0x12345);
	/* an empty file is a FIFO, as are Linux's newer markers */
	CHECK_EQ(sfu_parse(NULL, 0, 0, &ma, &mi), S_IFIFO);
	CHECK_EQ(sfu_parse((const uint8_t *)"LnxFIFO", 8, 8, &ma, &mi), S_IFIFO);
	CHECK_EQ(sfu_parse((const uint8_t *)"LnxSOCK", 8, 8, &ma, &mi), S_IFSOCK);
	/* short, unknown, or numbers that do not fit */
	CHECK_EQ(sfu_parse(buf, 16, 16, &ma, &mi), 0);
	CHECK_EQ(sfu_parse((const uint8_t *)"IntxLNK\1", 8, 30, &ma, &mi), 0);
	CHECK_EQ(sfu_parse((const uint8_t *)"plain", 5, 5, &ma, &mi), 0);
	buf[12] = 1; /* major >= 2^32 */
	CHECK_EQ(sfu_parse(buf, sizeof(buf), sizeof(buf), &ma, &mi), 0);
}

int main(void)
{
	test_mfsym_layout();
	test_mfsym_limits();
	test_mfsym_rejects();
	test_sfu();
	return check_done("mfsym");
}

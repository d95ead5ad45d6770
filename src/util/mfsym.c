/* mfsymlinks and SFU special files: the formats only (smb2fs/mfsym.h). */
#include "smb2fs/mfsym.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "smb2fs/buf.h"

#define MAGIC "XSym\n"
#define LEN_OFF 5         /* "XSym\n" */
#define MD5_OFF 10        /* + "NNNN\n" */
#define TARGET_OFF 43     /* + 32 hex digits + "\n" */

static int md5_hex(const char *data, size_t len, char hex[33])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (!EVP_Digest(data, len, d, &n, EVP_md5(), NULL) || n != 16)
		return -ENOMEM;
	for (unsigned i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return 0;
}

int mfsym_build(const char *target, size_t tlen, uint8_t out[MFSYM_FILE_SIZE])
{
	char hex[33];
	if (!target || tlen == 0 || memchr(target, 0, tlen))
		return -EINVAL;
	if (tlen > MFSYM_TARGET_MAX)
		return -ENAMETOOLONG;
	int r = md5_hex(target, tlen, hex);
	if (r < 0)
		return r;
	memset(out, ' ', MFSYM_FILE_SIZE);
	char head[TARGET_OFF + 1];
	snprintf(head, sizeof(head), MAGIC "%04u\n%s\n", (unsigned)tlen, hex);
	memcpy(out, head, TARGET_OFF);
	memcpy(out + TARGET_OFF, target, tlen);
	if (tlen < MFSYM_TARGET_MAX)
		out[TARGET_OFF + tlen] = '\n';
	return 0;
}

int mfsym_parse(const uint8_t *buf, size_t len, char *target, size_t cap, size_t *tlen)
{
	if (!buf || len < TARGET_OFF || memcmp(buf, MAGIC, LEN_OFF) != 0 || buf[MD5_OFF - 1] != '\n' ||
	    buf[TARGET_OFF - 1] != '\n')
		return -EINVAL;
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t ch = buf[LEN_OFF + i];
		if (ch < '0' || ch > '9')
			return -EINVAL;
		n = n * 10 + (size_t)(ch - '0');
	}
	if (n == 0 || n > MFSYM_TARGET_MAX || TARGET_OFF + n > len)
		return -EINVAL;
	const char *t = (const char *)buf + TARGET_OFF;
	if (memchr(t, 0, n))
		return -EINVAL;
	char hex[33];
	if (md5_hex(t, n, hex) < 0)
		return -ENOMEM;
	/* the digest as written: lowercase hex (accept uppercase too) */
	if (strncasecmp(hex, (const char *)buf + MD5_OFF, 32) != 0)
		return -EINVAL;
	if (n + 1 > cap)
		return -ERANGE;
	memcpy(target, t, n);
	target[n] = '\0';
	*tlen = n;
	return 0;
}

void sfu_build_dev(bool block, uint32_t major, uint32_t minor, uint8_t out[SFU_DEV_SIZE])
{
	memcpy(out, block ? "IntxBLK" : "IntxCHR", 8); /* with its NUL */
	le64_store(out + 8, major);
	le64_store(out + 16, minor);
}

unsigned sfu_parse(const uint8_t *buf, size_t len, uint64_t eof, uint32_t *major, uint32_t *minor)
{
	if (eof == 0)
		return S_IFIFO;
	if (!buf || len < 8)
		return 0;
	if (memcmp(buf, "LnxFIFO", 8) == 0)
		return S_IFIFO;
	if (memcmp(buf, "LnxSOCK", 8) == 0)
		return S_IFSOCK;
	bool chr = memcmp(buf, "IntxCHR", 8) == 0;
	if (!chr && memcmp(buf, "IntxBLK", 8) != 0)
		return 0;
	if (len < SFU_DEV_SIZE)
		return 0;
	uint64_t ma = le64_load(buf + 8), mi = le64_load(buf + 16);
	if (ma > UINT32_MAX || mi > UINT32_MAX)
		return 0;
	*major = (uint32_t)ma;
	*minor = (uint32_t)mi;
	return chr ? S_IFCHR : S_IFBLK;
}

/* CSPRNG and secure wipe (thin wrappers so callers need no OpenSSL headers). */
#include <errno.h>
#include <limits.h>
#include <stddef.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "smb2fs/crypto.h"

int smb2_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	if (!buf && len)
		return -EINVAL;
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;
		if (RAND_bytes(p, n) != 1)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void smb2_secure_zero(void *p, size_t len)
{
	if (p && len)
		OPENSSL_cleanse(p, len);
}

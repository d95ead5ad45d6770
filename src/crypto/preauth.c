/* SMB 3.1.1 preauth integrity hash (MS-SMB2 3.2.5.2 / 3.3.5.4):
 * H_i = SHA-512(H_{i-1} || message), H_0 = 64 zero bytes. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "smb2fs/crypto.h"

static pthread_once_t sha512_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha512_md;

static void sha512_init(void)
{
	sha512_md = EVP_MD_fetch(NULL, "SHA512", NULL);
}

void smb2_preauth_init(struct smb2_preauth *p)
{
	memset(p->hash, 0, sizeof(p->hash));
}

int smb2_preauth_update(struct smb2_preauth *p, const uint8_t *msg, size_t len)
{
	EVP_MD_CTX *c;
	unsigned int n = 0;
	uint8_t out[64];
	int ok;

	if (!p || (!msg && len))
		return -EINVAL;
	if (pthread_once(&sha512_once, sha512_init) != 0 || !sha512_md)
		return -ENOSYS;
	c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	ok = EVP_DigestInit_ex2(c, sha512_md, NULL) &&
	     EVP_DigestUpdate(c, p->hash, sizeof(p->hash)) &&
	     EVP_DigestUpdate(c, msg, len) && EVP_DigestFinal_ex(c, out, &n) && n == 64;
	EVP_MD_CTX_free(c);
	if (!ok)
		return -EIO;
	/* Only replace the chain value once the new one is complete. */
	memcpy(p->hash, out, sizeof(out));
	return 0;
}

/* MD4 and RC4 for NTLM (MS-NLMP 3.3.1 NTOWF, 3.4.5.1 KXKEY/RC4K, 3.4.4.2
 * signature checksums).
 *
 * OpenSSL 3 moved both into the "legacy" provider, which the default library
 * context does not load.  Loading it there would change what every other
 * fetch in the process can find, so it is loaded into a private
 * OSSL_LIB_CTX (together with "default", which RC4's EVP plumbing needs) and
 * the two algorithms are fetched once.  The handles are immutable after the
 * pthread_once, so using them from several threads is safe. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "smb2fs/crypto.h"

static pthread_once_t legacy_once = PTHREAD_ONCE_INIT;
static OSSL_LIB_CTX *legacy_ctx;
static OSSL_PROVIDER *legacy_prov, *default_prov;
static EVP_MD *legacy_md4;
static EVP_CIPHER *legacy_rc4;
static const char *legacy_err;

static void legacy_init(void)
{
	legacy_ctx = OSSL_LIB_CTX_new();
	if (!legacy_ctx) {
		legacy_err = "OSSL_LIB_CTX_new failed";
		return;
	}
	legacy_prov = OSSL_PROVIDER_load(legacy_ctx, "legacy");
	if (!legacy_prov) {
		legacy_err = "OpenSSL legacy provider (ossl-modules/legacy.so) could not be loaded: "
			     "MD4/RC4 needed for NTLM are unavailable";
		return;
	}
	default_prov = OSSL_PROVIDER_load(legacy_ctx, "default");
	if (!default_prov) {
		legacy_err = "OpenSSL default provider could not be loaded into the NTLM context";
		return;
	}
	legacy_md4 = EVP_MD_fetch(legacy_ctx, "MD4", NULL);
	legacy_rc4 = EVP_CIPHER_fetch(legacy_ctx, "RC4", NULL);
	if (!legacy_md4 || !legacy_rc4)
		legacy_err = "MD4 or RC4 not found in the OpenSSL legacy provider";
}

static int legacy_ready(void)
{
	if (pthread_once(&legacy_once, legacy_init) != 0)
		return -ENOSYS;
	return legacy_err ? -ENOSYS : 0;
}

const char *smb2_legacy_error(void)
{
	if (pthread_once(&legacy_once, legacy_init) != 0)
		return "pthread_once failed";
	return legacy_err;
}

int smb2_md4(const uint8_t *data, size_t len, uint8_t out[16])
{
	unsigned int n = 0;
	int rc = legacy_ready();

	if (rc)
		return rc;
	if (!out || (!data && len))
		return -EINVAL;
	if (!EVP_Digest(data, len, out, &n, legacy_md4, NULL) || n != 16)
		return -EIO;
	return 0;
}

struct smb2_rc4_stream {
	EVP_CIPHER_CTX *c;
};

int smb2_rc4_stream_new(const uint8_t key[16], struct smb2_rc4_stream **out)
{
	struct smb2_rc4_stream *s;
	int rc = legacy_ready();

	if (rc)
		return rc;
	if (!key || !out)
		return -EINVAL;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->c = EVP_CIPHER_CTX_new();
	if (!s->c) {
		free(s);
		return -ENOMEM;
	}
	/* RC4's default key length is 128 bits, which is what NTLM uses. */
	if (!EVP_EncryptInit_ex2(s->c, legacy_rc4, key, NULL, NULL)) {
		smb2_rc4_stream_free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

int smb2_rc4_stream_update(struct smb2_rc4_stream *s, const uint8_t *in, uint8_t *out, size_t len)
{
	int outl = 0;

	if (!s || (len && (!in || !out)) || len > INT_MAX)
		return -EINVAL;
	if (len == 0)
		return 0;
	return EVP_EncryptUpdate(s->c, out, &outl, in, (int)len) && (size_t)outl == len ? 0 : -EIO;
}

void smb2_rc4_stream_free(struct smb2_rc4_stream *s)
{
	if (!s)
		return;
	EVP_CIPHER_CTX_free(s->c); /* wipes the key schedule */
	free(s);
}

int smb2_rc4(const uint8_t key[16], const uint8_t *in, uint8_t *out, size_t len)
{
	struct smb2_rc4_stream *s;
	int rc;

	if ((rc = smb2_rc4_stream_new(key, &s)))
		return rc;
	rc = smb2_rc4_stream_update(s, in, out, len);
	smb2_rc4_stream_free(s);
	return rc;
}

/* SMB 3.x key derivation (MS-SMB2 3.1.4.2): SP800-108 KDF in counter mode,
 * PRF = HMAC-SHA256, r = 32, L = output length in bits, with the 0x00
 * separator between Label and Context.  OpenSSL's KBKDF does exactly that
 * with its defaults (use-l and use-separator on), label -> "salt",
 * context -> "info". */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "smb2fs/crypto.h"
#include "smb2fs/wire.h"

static pthread_once_t kdf_once = PTHREAD_ONCE_INIT;
static EVP_KDF *kbkdf;

static void kdf_init(void)
{
	kbkdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
}

int smb2_kdf(const uint8_t *key, size_t key_len, const uint8_t *label, size_t label_len,
	     const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len)
{
	static const uint8_t empty[1];
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[7], *p = params;
	int ok;

	if (!key || !key_len || !out || !out_len || (!label && label_len) ||
	    (!context && context_len) || out_len > 0x1fffffff)
		return -EINVAL;
	if (pthread_once(&kdf_once, kdf_init) != 0 || !kbkdf)
		return -ENOSYS;
	kctx = EVP_KDF_CTX_new(kbkdf);
	if (!kctx)
		return -ENOMEM;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, (char *)"counter", 0);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, (char *)"HMAC", 0);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						 (void *)(label_len ? label : empty), label_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						 (void *)(context_len ? context : empty), context_len);
	*p = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(kctx);
	return ok ? 0 : -EIO;
}

/* Labels and contexts include their terminating NUL (MS-SMB2 3.2.5.3.1). */
#define LC(s) (const uint8_t *)(s), sizeof(s)

int smb2_derive_keys(uint16_t dialect, uint16_t cipher, const uint8_t session_key[16],
		     const uint8_t preauth_hash[64], struct smb2_keys *out)
{
	return smb2_derive_keys_len(dialect, cipher, session_key, 16, preauth_hash, out);
}

int smb2_derive_keys_len(uint16_t dialect, uint16_t cipher, const uint8_t *full_key,
			 size_t key_len, const uint8_t preauth_hash[64], struct smb2_keys *out)
{
	uint8_t session_key[16] = {0};
	const uint8_t *cipher_kdk = session_key;
	size_t cipher_kdk_len = 16, ckey;
	int rc;

	if (!full_key || !key_len || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(session_key, full_key, key_len < 16 ? key_len : 16);

	switch (cipher) {
	case 0: /* 3.0/3.0.2 have no cipher context: AES-128-CCM is implied */
	case SMB2_CIPHER_AES128_CCM:
	case SMB2_CIPHER_AES128_GCM:
		ckey = 16;
		break;
	case SMB2_CIPHER_AES256_CCM:
	case SMB2_CIPHER_AES256_GCM:
		ckey = 32; /* MS-SMB2 3.2.5.3.1: L = 256 for the AES-256 ciphers */
		if (dialect == SMB2_DIALECT_311 && key_len > 16) {
			cipher_kdk = full_key;
			cipher_kdk_len = key_len;
		}
		break;
	default:
		rc = -EINVAL;
		goto fail;
	}

	switch (dialect) {
	case SMB2_DIALECT_202:
	case SMB2_DIALECT_210:
		/* 2.x signs with HMAC-SHA256 keyed by the session key itself. */
		memcpy(out->signing, session_key, 16);
		smb2_secure_zero(session_key, sizeof(session_key));
		return 0;
	case SMB2_DIALECT_300:
	case SMB2_DIALECT_302:
		if ((rc = smb2_kdf(session_key, 16, LC("SMB2AESCMAC"), LC("SmbSign"),
				   out->signing, 16)) ||
		    /* client encrypts what the server takes in: "ServerIn " (with a space) */
		    (rc = smb2_kdf(session_key, 16, LC("SMB2AESCCM"), LC("ServerIn "),
				   out->encryption, ckey)) ||
		    (rc = smb2_kdf(session_key, 16, LC("SMB2AESCCM"), LC("ServerOut"),
				   out->decryption, ckey)) ||
		    (rc = smb2_kdf(session_key, 16, LC("SMB2APP"), LC("SmbRpc"),
				   out->application, 16)))
			break;
		smb2_secure_zero(session_key, sizeof(session_key));
		return 0;
	case SMB2_DIALECT_311:
		if (!preauth_hash) {
			rc = -EINVAL;
			break;
		}
		if ((rc = smb2_kdf(session_key, 16, LC("SMBSigningKey"), preauth_hash, 64,
				   out->signing, 16)) ||
		    (rc = smb2_kdf(cipher_kdk, cipher_kdk_len, LC("SMBC2SCipherKey"), preauth_hash,
				   64, out->encryption, ckey)) ||
		    (rc = smb2_kdf(cipher_kdk, cipher_kdk_len, LC("SMBS2CCipherKey"), preauth_hash,
				   64, out->decryption, ckey)) ||
		    (rc = smb2_kdf(session_key, 16, LC("SMBAppKey"), preauth_hash, 64,
				   out->application, 16)))
			break;
		smb2_secure_zero(session_key, sizeof(session_key));
		return 0;
	default:
		rc = -EINVAL;
		break;
	}
fail:
	smb2_secure_zero(session_key, sizeof(session_key));
	smb2_secure_zero(out, sizeof(*out));
	return rc;
}

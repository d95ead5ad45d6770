/* SMB 3.x encryption (MS-SMB2 3.1.4.3 encrypting, 3.2.5.1.1 decrypting):
 * AES-128/256 in CCM or GCM mode through OpenSSL's EVP AEAD interface.
 * The whole SMB2 message (or compound chain) is the plaintext, the
 * TRANSFORM_HEADER from Nonce to its end is the additional data, and the
 * 16-byte tag is the header's Signature.  CCM takes the first 11 bytes of
 * the Nonce field, GCM the first 12. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "smb2fs/crypto.h"
#include "smb2fs/wire.h"

#define TAG_LEN 16

static pthread_once_t seal_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *ciphers[4]; /* indexed by CipherId - 1 */

static void seal_init(void)
{
	static const char *const names[4] = { "AES-128-CCM", "AES-128-GCM", "AES-256-CCM",
					      "AES-256-GCM" };
	for (int i = 0; i < 4; i++)
		ciphers[i] = EVP_CIPHER_fetch(NULL, names[i], NULL);
}

static bool is_ccm(uint16_t cipher)
{
	return cipher == SMB2_CIPHER_AES128_CCM || cipher == SMB2_CIPHER_AES256_CCM;
}

size_t smb2_cipher_key_len(uint16_t cipher)
{
	switch (cipher) {
	case SMB2_CIPHER_AES128_CCM:
	case SMB2_CIPHER_AES128_GCM:
		return 16;
	case SMB2_CIPHER_AES256_CCM:
	case SMB2_CIPHER_AES256_GCM:
		return 32;
	default:
		return 0;
	}
}

size_t smb2_cipher_nonce_len(uint16_t cipher)
{
	if (!smb2_cipher_key_len(cipher))
		return 0;
	return is_ccm(cipher) ? 11 : 12;
}

int smb2_nonce_gen_init(struct smb2_nonce_gen *g, uint16_t cipher)
{
	if (!g || !smb2_cipher_key_len(cipher))
		return -EINVAL;
	memset(g, 0, sizeof(*g));
	g->cipher = cipher;
	return smb2_random(g->salt, sizeof(g->salt));
}

int smb2_nonce_next(struct smb2_nonce_gen *g, uint8_t nonce[16])
{
	if (!g || !nonce || !smb2_cipher_key_len(g->cipher))
		return -EINVAL;
	uint64_t n = __atomic_load_n(&g->next, __ATOMIC_RELAXED);
	do {
		if (n == UINT64_MAX)
			return -EOVERFLOW; /* the counter never wraps to a used value */
	} while (!__atomic_compare_exchange_n(&g->next, &n, n + 1, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	memset(nonce, 0, 16);
	le64_store(nonce, n);
	memcpy(nonce + 8, g->salt, smb2_cipher_nonce_len(g->cipher) - 8);
	return 0;
}

/* One AEAD pass.  Encrypt: the pieces (total bytes) go to out, tag is
 * written.  Decrypt: one piece, tag is the expected one; -EBADMSG when it
 * does not verify.  OpenSSL's CCM takes the plaintext in one call only, so
 * CCM pieces are first gathered into out and transformed in place. */
static int aead(uint16_t cipher, bool enc, const uint8_t *key, const uint8_t *nonce,
		size_t nonce_len, const uint8_t *aad, size_t aad_len, const struct smb2_iov *in,
		unsigned n, size_t total, uint8_t *out, uint8_t tag[TAG_LEN])
{
	size_t klen = smb2_cipher_key_len(cipher);
	bool ccm = is_ccm(cipher);
	EVP_CIPHER_CTX *c;
	int ok, outl = 0;

	if (!klen || !key || !nonce || (!aad && aad_len) || (!out && total) || !tag ||
	    total > INT_MAX || aad_len > INT_MAX ||
	    (ccm ? nonce_len < 7 || nonce_len > 13 : nonce_len != 12))
		return -EINVAL;
	if (pthread_once(&seal_once, seal_init) != 0 || !ciphers[cipher - 1])
		return -ENOSYS;
	if (ccm && n > 1) {
		size_t off = 0;
		for (unsigned i = 0; i < n; i++) {
			if (in[i].len)
				memcpy(out + off, in[i].p, in[i].len);
			off += in[i].len;
		}
	}
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return -ENOMEM;
	ok = EVP_CipherInit_ex2(c, ciphers[cipher - 1], NULL, NULL, enc ? 1 : 0, NULL) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL) > 0;
	/* CCM fixes the tag length (and, decrypting, the expected tag) before
	 * the key; GCM takes the expected tag at the end. */
	if (ok && ccm)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, enc ? NULL : tag) > 0;
	ok = ok && EVP_CipherInit_ex2(c, NULL, key, nonce, enc ? 1 : 0, NULL);
	if (ok && ccm)
		ok = EVP_CipherUpdate(c, NULL, &outl, NULL, (int)total); /* CCM needs the length first */
	if (ok && aad_len)
		ok = EVP_CipherUpdate(c, NULL, &outl, aad, (int)aad_len);
	if (ok && ccm) {
		const uint8_t *src = n > 1 ? out : (n ? in[0].p : out);
		/* Decrypting, this call also checks the tag. */
		ok = EVP_CipherUpdate(c, out, &outl, src, (int)total) > 0;
		if (ok && enc)
			ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) > 0;
	} else if (ok) {
		size_t off = 0;
		for (unsigned i = 0; ok && i < n; i++) {
			if (!in[i].len)
				continue;
			ok = EVP_CipherUpdate(c, out + off, &outl, in[i].p, (int)in[i].len);
			off += (size_t)outl;
		}
		if (ok && !enc)
			ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) > 0;
		ok = ok && EVP_CipherFinal_ex(c, out + off, &outl) > 0;
		if (ok && enc)
			ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) > 0;
	}
	EVP_CIPHER_CTX_free(c); /* cleanses the key schedule */
	if (ok)
		return 0;
	if (out && total)
		smb2_secure_zero(out, total); /* no unauthenticated byte leaves */
	return enc ? -EIO : -EBADMSG;
}

int smb2_aead_encrypt(uint16_t cipher, const uint8_t *key, const uint8_t *nonce, size_t nonce_len,
		      const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
		      size_t len, uint8_t tag[16])
{
	struct smb2_iov p = { in, len };
	if (!in && len)
		return -EINVAL;
	return aead(cipher, true, key, nonce, nonce_len, aad, aad_len, &p, 1, len, out, tag);
}

int smb2_aead_decrypt(uint16_t cipher, const uint8_t *key, const uint8_t *nonce, size_t nonce_len,
		      const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
		      size_t len, const uint8_t tag[16])
{
	struct smb2_iov p = { in, len };
	uint8_t t[TAG_LEN];
	if ((!in && len) || !tag)
		return -EINVAL;
	memcpy(t, tag, TAG_LEN);
	return aead(cipher, false, key, nonce, nonce_len, aad, aad_len, &p, 1, len, out, t);
}

int smb2_encrypt_msg(uint16_t cipher, const uint8_t *key, const uint8_t nonce[16],
		     uint64_t session_id, const struct smb2_iov *pieces, unsigned n,
		     uint8_t hdr[SMB2_TRANSFORM_HDR_SIZE], uint8_t *out)
{
	struct smb2_transform_hdr th = { .flags = SMB2_TRANSFORM_FLAG_ENCRYPTED,
					 .session_id = session_id };
	size_t total = 0;
	uint8_t tag[TAG_LEN];
	int rc;

	if (!nonce || !hdr || !out || !pieces || !n)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!pieces[i].p && pieces[i].len)
			return -EINVAL;
		total += pieces[i].len;
	}
	if (total > UINT32_MAX)
		return -EOVERFLOW;
	th.original_size = (uint32_t)total;
	memcpy(th.nonce, nonce, 16);
	rc = smb2_transform_hdr_encode(hdr, &th); /* Signature zero until the tag is known */
	if (rc)
		return rc;
	rc = aead(cipher, true, key, nonce, smb2_cipher_nonce_len(cipher), hdr + SMB2_TRANSFORM_AAD_OFF,
		  SMB2_TRANSFORM_AAD_LEN, pieces, n, total, out, tag);
	if (rc)
		return rc;
	memcpy(hdr + SMB2_TRANSFORM_SIGNATURE_OFF, tag, TAG_LEN);
	return 0;
}

int smb2_decrypt_msg(uint16_t cipher, const uint8_t *key, const uint8_t *frame, size_t len,
		     uint8_t *out, struct smb2_transform_hdr *th)
{
	struct smb2_transform_hdr h;
	int rc;

	if (!frame || !out)
		return -EINVAL;
	rc = smb2_transform_hdr_decode(frame, len, &h);
	if (rc)
		return rc;
	if (th)
		*th = h;
	/* The AAD is read from the frame before out (possibly the same
	 * memory, just after it) is written. */
	struct smb2_iov p = { frame + SMB2_TRANSFORM_HDR_SIZE, h.original_size };
	return aead(cipher, false, key, h.nonce, smb2_cipher_nonce_len(cipher),
		    frame + SMB2_TRANSFORM_AAD_OFF, SMB2_TRANSFORM_AAD_LEN, &p, 1, h.original_size,
		    out, h.signature);
}

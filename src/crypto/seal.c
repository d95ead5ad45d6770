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
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "smb2fs/crypto.h"
#include "smb2fs/wire.h"

#define TAG_LEN 16

static pthread_once_t seal_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *ciphers[4]; /* indexed by CipherId - 1 */
static EVP_CIPHER *ecbs[2];    /* AES-128-ECB, AES-256-ECB: the peek's counter blocks */

static void seal_init(void)
{
	static const char *const names[4] = { "AES-128-CCM", "AES-128-GCM", "AES-256-CCM",
					      "AES-256-GCM" };
	for (int i = 0; i < 4; i++)
		ciphers[i] = EVP_CIPHER_fetch(NULL, names[i], NULL);
	ecbs[0] = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	ecbs[1] = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
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

/* One AEAD pass on a context c that holds the key (and, CCM, the tag
 * length).  Encrypt: the pieces (total bytes) go to out, tag is written.
 * Decrypt: the pieces go to outs[i] (each may be its own input: in
 * place), tag is the expected one; -EBADMSG when it does not verify, with
 * every output zeroed.  OpenSSL's CCM takes the data in one call only, so
 * CCM encrypts gather the pieces into out first, and CCM decrypts take one
 * piece.  On failure c is left in an unknown state: the caller frees it. */
static int aead_ctx(EVP_CIPHER_CTX *c, bool ccm, bool enc, const uint8_t *nonce,
		    const uint8_t *aad, size_t aad_len, const struct smb2_iov *in, unsigned n,
		    size_t total, uint8_t *out, uint8_t *const *outs, uint8_t tag[TAG_LEN])
{
	int ok, outl = 0;
	size_t off = 0;

	if (ccm && n > 1) {
		if (!enc)
			return -EINVAL;
		for (unsigned i = 0; i < n; i++) {
			if (in[i].len)
				memcpy(out + off, in[i].p, in[i].len);
			off += in[i].len;
		}
		off = 0;
	}
	/* A keyed context takes a new nonce without a new key schedule. */
	ok = EVP_CipherInit_ex2(c, NULL, NULL, nonce, enc ? 1 : 0, NULL);
	/* CCM: the expected tag before the data; GCM: at the end. */
	if (ok && ccm && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) > 0;
	if (ok && ccm)
		ok = EVP_CipherUpdate(c, NULL, &outl, NULL, (int)total); /* CCM needs the length first */
	if (ok && aad_len)
		ok = EVP_CipherUpdate(c, NULL, &outl, aad, (int)aad_len);
	if (ok && ccm) {
		const uint8_t *src = n > 1 ? out : (n ? in[0].p : out);
		uint8_t *dst = outs ? outs[0] : out;
		/* Decrypting, this call also checks the tag. */
		ok = EVP_CipherUpdate(c, dst, &outl, src, (int)total) > 0;
		if (ok && enc)
			ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) > 0;
	} else if (ok) {
		for (unsigned i = 0; ok && i < n; i++) {
			if (!in[i].len)
				continue;
			uint8_t *dst = outs ? outs[i] : out + off;
			ok = EVP_CipherUpdate(c, dst, &outl, in[i].p, (int)in[i].len);
			off += (size_t)outl;
		}
		if (ok && !enc)
			ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) > 0;
		ok = ok && EVP_CipherFinal_ex(c, out ? out + off : NULL, &outl) > 0;
		if (ok && enc)
			ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) > 0;
	}
	if (ok)
		return 0;
	/* no unauthenticated byte leaves */
	if (outs) {
		for (unsigned i = 0; i < n; i++)
			if (in[i].len)
				smb2_secure_zero(outs[i], in[i].len);
	} else if (out && total) {
		smb2_secure_zero(out, total);
	}
	return enc ? -EIO : -EBADMSG;
}

/* A context for cipher with key set (the key schedule and, GCM, the hash
 * key are computed here once), ready for EVP_CipherInit_ex2 with a nonce. */
static EVP_CIPHER_CTX *ctx_new(uint16_t cipher, bool enc, const uint8_t *key)
{
	bool ccm = is_ccm(cipher);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return NULL;
	int ok = EVP_CipherInit_ex2(c, ciphers[cipher - 1], NULL, NULL, enc ? 1 : 0, NULL) &&
		 EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, ccm ? 11 : 12, NULL) > 0;
	/* CCM fixes the tag length before the key */
	if (ok && ccm)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, NULL) > 0;
	ok = ok && EVP_CipherInit_ex2(c, NULL, key, NULL, enc ? 1 : 0, NULL);
	if (!ok) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	return c;
}

static int aead(uint16_t cipher, bool enc, const uint8_t *key, const uint8_t *nonce,
		size_t nonce_len, const uint8_t *aad, size_t aad_len, const struct smb2_iov *in,
		unsigned n, size_t total, uint8_t *out, uint8_t tag[TAG_LEN])
{
	size_t klen = smb2_cipher_key_len(cipher);
	bool ccm = is_ccm(cipher);
	EVP_CIPHER_CTX *c;
	int ok;

	if (!klen || !key || !nonce || (!aad && aad_len) || (!out && total) || !tag ||
	    total > INT_MAX || aad_len > INT_MAX ||
	    (ccm ? nonce_len < 7 || nonce_len > 13 : nonce_len != 12))
		return -EINVAL;
	if (pthread_once(&seal_once, seal_init) != 0 || !ciphers[cipher - 1])
		return -ENOSYS;
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return -ENOMEM;
	ok = EVP_CipherInit_ex2(c, ciphers[cipher - 1], NULL, NULL, enc ? 1 : 0, NULL) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, (int)nonce_len, NULL) > 0;
	if (ok && ccm)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, NULL) > 0;
	ok = ok && EVP_CipherInit_ex2(c, NULL, key, NULL, enc ? 1 : 0, NULL);
	int r = ok ? aead_ctx(c, ccm, enc, nonce, aad, aad_len, in, n, total, out, NULL, tag)
		   : (enc ? -EIO : -EBADMSG);
	if (!ok && out && total)
		smb2_secure_zero(out, total);
	EVP_CIPHER_CTX_free(c); /* cleanses the key schedule */
	return r;
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

/* One use of a key: the connection's path with a key made for it. */
int smb2_encrypt_msg(uint16_t cipher, const uint8_t *key, const uint8_t nonce[16],
		     uint64_t session_id, const struct smb2_iov *pieces, unsigned n,
		     uint8_t hdr[SMB2_TRANSFORM_HDR_SIZE], uint8_t *out)
{
	struct smb2_aead_key *k;
	int rc = smb2_aead_key_new(cipher, key, true, &k);
	if (rc)
		return rc;
	rc = smb2_encrypt_msg_key(k, nonce, session_id, pieces, n, hdr, out);
	smb2_aead_key_free(k);
	return rc;
}

int smb2_decrypt_msg(uint16_t cipher, const uint8_t *key, const uint8_t *frame, size_t len,
		     uint8_t *out, struct smb2_transform_hdr *th)
{
	struct smb2_aead_key *k;
	int rc = smb2_aead_key_new(cipher, key, false, &k);
	if (rc)
		return rc;
	rc = smb2_decrypt_msg_key(k, frame, len, out, th);
	smb2_aead_key_free(k);
	return rc;
}

/* ---- Keys kept for a connection's life: the key schedule is computed once
 * per context, and contexts are reused from a small pool (senders and
 * waiters use the key from many threads at once; an EVP context is not
 * safe for concurrent use). */
#define POOL_MAX 8
struct smb2_aead_key {
	uint16_t cipher;
	bool enc;
	uint8_t key[32];
	pthread_mutex_t mu;
	unsigned npool;
	EVP_CIPHER_CTX *pool[POOL_MAX];
};

int smb2_aead_key_new(uint16_t cipher, const uint8_t *key, bool encrypt, struct smb2_aead_key **out)
{
	size_t kl = smb2_cipher_key_len(cipher);
	if (!kl || !key || !out)
		return -EINVAL;
	if (pthread_once(&seal_once, seal_init) != 0 || !ciphers[cipher - 1])
		return -ENOSYS;
	struct smb2_aead_key *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->cipher = cipher;
	k->enc = encrypt;
	memcpy(k->key, key, kl);
	pthread_mutex_init(&k->mu, NULL);
	/* one context now, so a bad key or a missing cipher fails here */
	k->pool[0] = ctx_new(cipher, encrypt, k->key);
	if (!k->pool[0]) {
		smb2_aead_key_free(k);
		return -ENOSYS;
	}
	k->npool = 1;
	*out = k;
	return 0;
}

void smb2_aead_key_free(struct smb2_aead_key *k)
{
	if (!k)
		return;
	for (unsigned i = 0; i < k->npool; i++)
		EVP_CIPHER_CTX_free(k->pool[i]); /* cleanses the key schedule */
	smb2_secure_zero(k->key, sizeof(k->key));
	pthread_mutex_destroy(&k->mu);
	free(k);
}

uint16_t smb2_aead_key_cipher(const struct smb2_aead_key *k)
{
	return k ? k->cipher : 0;
}

static EVP_CIPHER_CTX *key_ctx_get(struct smb2_aead_key *k)
{
	EVP_CIPHER_CTX *c = NULL;
	pthread_mutex_lock(&k->mu);
	if (k->npool)
		c = k->pool[--k->npool];
	pthread_mutex_unlock(&k->mu);
	return c ? c : ctx_new(k->cipher, k->enc, k->key);
}

/* A context whose pass failed is freed, not reused: its state is unknown. */
static void key_ctx_put(struct smb2_aead_key *k, EVP_CIPHER_CTX *c, bool ok)
{
	if (ok) {
		pthread_mutex_lock(&k->mu);
		if (k->npool < POOL_MAX) {
			k->pool[k->npool++] = c;
			c = NULL;
		}
		pthread_mutex_unlock(&k->mu);
	}
	EVP_CIPHER_CTX_free(c);
}

static int key_aead(struct smb2_aead_key *k, bool enc, const uint8_t *nonce, const uint8_t *aad,
		    const struct smb2_iov *in, unsigned n, size_t total, uint8_t *out,
		    uint8_t *const *outs, uint8_t tag[TAG_LEN])
{
	if (total > INT_MAX || k->enc != enc)
		return -EINVAL;
	EVP_CIPHER_CTX *c = key_ctx_get(k);
	if (!c) {
		if (out && total)
			smb2_secure_zero(out, total);
		return -ENOMEM;
	}
	int r = aead_ctx(c, is_ccm(k->cipher), enc, nonce, aad, SMB2_TRANSFORM_AAD_LEN, in, n, total,
			 out, outs, tag);
	key_ctx_put(k, c, r == 0);
	return r;
}

int smb2_encrypt_msg_key(struct smb2_aead_key *k, const uint8_t nonce[16], uint64_t session_id,
			 const struct smb2_iov *pieces, unsigned n,
			 uint8_t hdr[SMB2_TRANSFORM_HDR_SIZE], uint8_t *out)
{
	struct smb2_transform_hdr th = { .flags = SMB2_TRANSFORM_FLAG_ENCRYPTED,
					 .session_id = session_id };
	size_t total = 0;
	uint8_t tag[TAG_LEN];
	int rc;

	if (!k || !nonce || !hdr || !out || !pieces || !n)
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
	rc = smb2_transform_hdr_encode(hdr, &th);
	if (rc)
		return rc;
	rc = key_aead(k, true, nonce, hdr + SMB2_TRANSFORM_AAD_OFF, pieces, n, total, out, NULL, tag);
	if (rc)
		return rc;
	memcpy(hdr + SMB2_TRANSFORM_SIGNATURE_OFF, tag, TAG_LEN);
	return 0;
}

int smb2_decrypt_msg_key(struct smb2_aead_key *k, const uint8_t *frame, size_t len, uint8_t *out,
			 struct smb2_transform_hdr *th)
{
	struct smb2_transform_hdr h;
	int rc;

	if (!k || !frame || !out)
		return -EINVAL;
	rc = smb2_transform_hdr_decode(frame, len, &h);
	if (rc)
		return rc;
	if (th)
		*th = h;
	struct smb2_iov p = { frame + SMB2_TRANSFORM_HDR_SIZE, h.original_size };
	return key_aead(k, false, h.nonce, frame + SMB2_TRANSFORM_AAD_OFF, &p, 1, h.original_size,
			out, NULL, h.signature);
}

int smb2_decrypt_split_key(struct smb2_aead_key *k, const uint8_t hdr[SMB2_TRANSFORM_HDR_SIZE],
			   uint8_t *head, size_t head_len, uint8_t *tail, size_t tail_len)
{
	struct smb2_transform_hdr h;
	if (!k || !hdr || !head || (!tail && tail_len))
		return -EINVAL;
	if (is_ccm(k->cipher))
		return -EOPNOTSUPP; /* OpenSSL's CCM wants the ciphertext in one piece */
	int rc = smb2_transform_hdr_decode(hdr, SMB2_TRANSFORM_HDR_SIZE + head_len + tail_len, &h);
	if (rc) {
		smb2_secure_zero(head, head_len); /* the contract: nothing of the frame is left */
		if (tail_len)
			smb2_secure_zero(tail, tail_len);
		return rc;
	}
	struct smb2_iov in[2] = { { head, head_len }, { tail, tail_len } };
	uint8_t *outs[2] = { head, tail };
	return key_aead(k, false, h.nonce, hdr + SMB2_TRANSFORM_AAD_OFF, in, 2, head_len + tail_len,
			NULL, outs, h.signature);
}

int smb2_decrypt_peek_key(struct smb2_aead_key *k, const uint8_t hdr[SMB2_TRANSFORM_HDR_SIZE],
			  const uint8_t *ct, uint8_t *pt, size_t len)
{
	const uint8_t *nonce = hdr + SMB2_TRANSFORM_AAD_OFF; /* the AAD starts with the Nonce */
	uint8_t ctr[16];
	if (!k || !hdr || !ct || !pt || !len || len > 4096)
		return -EINVAL;
	if (le32_load(hdr) != SMB2_TRANSFORM_PROTOCOL_ID)
		return -EBADMSG;
	/* Both modes encrypt with AES in counter mode, so the first bytes'
	 * key stream is AES of consecutive counter blocks.  GCM (96-bit
	 * nonce): nonce || counter from 2 (1 makes the tag).  CCM (11-byte
	 * nonce, L = 4): flags L - 1 = 3 || nonce || counter from 1. */
	memset(ctr, 0, sizeof(ctr));
	if (is_ccm(k->cipher)) {
		ctr[0] = 3;
		memcpy(ctr + 1, nonce, 11);
		ctr[15] = 1;
	} else {
		memcpy(ctr, nonce, 12);
		ctr[15] = 2;
	}
	EVP_CIPHER *ecb = ecbs[smb2_cipher_key_len(k->cipher) == 32];
	EVP_CIPHER_CTX *c = ecb ? EVP_CIPHER_CTX_new() : NULL;
	int ok = c && EVP_EncryptInit_ex2(c, ecb, k->key, NULL, NULL) &&
		 EVP_CIPHER_CTX_set_padding(c, 0);
	for (size_t off = 0; ok && off < len; off += 16) {
		uint8_t ks[16];
		int outl = 0;
		ok = EVP_EncryptUpdate(c, ks, &outl, ctr, 16) && outl == 16;
		for (size_t i = 0; ok && i < 16 && off + i < len; i++)
			pt[off + i] = ct[off + i] ^ ks[i];
		smb2_secure_zero(ks, sizeof(ks));
		for (int i = 15; i >= 12 && ++ctr[i] == 0; i--)
			; /* 32-bit big-endian counter */
	}
	EVP_CIPHER_CTX_free(c); /* cleanses the key schedule */
	if (!ok) {
		smb2_secure_zero(pt, len);
		return -EIO;
	}
	return 0;
}

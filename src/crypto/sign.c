/* SMB2 message signing (MS-SMB2 3.1.4.1): the Signature field (header bytes
 * 48..63, SMB2_HDR_SIGNATURE_OFF) is zeroed, the MAC is taken over the whole message and its first 16
 * bytes are stored there.  2.0.2/2.1: HMAC-SHA256; 3.x: AES-128-CMAC;
 * 3.1.1 may negotiate AES-128-GMAC (SIGNING_CAPABILITIES): the GCM tag of an
 * empty plaintext with the message as additional data, under a nonce made
 * of the MessageId and the sender's role, several times faster than CMAC. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "smb2fs/crypto.h"
#include "smb2fs/wire.h"

static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *mac_hmac, *mac_cmac;
static EVP_CIPHER *cipher_gcm;

static void mac_init(void)
{
	mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	mac_cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	cipher_gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
}

struct seg {
	const uint8_t *p;
	size_t len;
};

/* AES-128-GMAC (RFC 4543): GCM with every segment as additional data and
 * no plaintext; the 16-byte tag is the MAC. */
static int gmac_segs(const uint8_t key[16], const uint8_t nonce[12], const struct seg *segs,
		     size_t nsegs, uint8_t out[16])
{
	EVP_CIPHER_CTX *c;
	uint8_t none[16];
	int ok, outl = 0;

	if (pthread_once(&mac_once, mac_init) != 0 || !cipher_gcm)
		return -ENOSYS;
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return -ENOMEM;
	ok = EVP_EncryptInit_ex2(c, cipher_gcm, key, nonce, NULL); /* 12-byte IV is GCM's default */
	for (size_t i = 0; ok && i < nsegs; i++) {
		/* EVP lengths are int: feed a large segment in pieces */
		size_t off = 0;
		while (ok && off < segs[i].len) {
			size_t n = segs[i].len - off > (1u << 30) ? (1u << 30) : segs[i].len - off;
			ok = EVP_EncryptUpdate(c, NULL, &outl, segs[i].p + off, (int)n);
			off += n;
		}
	}
	ok = ok && EVP_EncryptFinal_ex(c, none, &outl) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EIO;
}

/* MS-SMB2 3.1.4.1: MessageId, then a 32-bit field whose bit 0 says the
 * sender is the server and bit 1 that the message is a CANCEL request. */
static void gmac_nonce(const uint8_t *msg, uint8_t nonce[12])
{
	bool from_server = smb2_hdr_flags(msg) & SMB2_FLAGS_SERVER_TO_REDIR;
	uint16_t cmd = smb2_hdr_command(msg);
	le64_store(nonce, smb2_hdr_message_id(msg));
	nonce[8] = (uint8_t)((from_server ? 1 : 0) | (!from_server && cmd == SMB2_CANCEL ? 2 : 0));
	nonce[9] = nonce[10] = nonce[11] = 0;
}

/* One MAC over a list of segments; out receives the full MAC (32 bytes for
 * HMAC-SHA256, 16 for CMAC). */
static int mac_segs(enum smb2_sign_alg alg, const uint8_t *key, size_t key_len,
		    const struct seg *segs, size_t nsegs, uint8_t *out, size_t out_cap)
{
	EVP_MAC_CTX *c;
	EVP_MAC *mac;
	OSSL_PARAM params[2];
	size_t outl = 0, i;
	int ok;

	if (pthread_once(&mac_once, mac_init) != 0)
		return -ENOSYS;
	switch (alg) {
	case SMB2_SIGN_HMAC_SHA256:
		mac = mac_hmac;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
		break;
	case SMB2_SIGN_AES_CMAC:
		if (key_len != 16)
			return -EINVAL;
		mac = mac_cmac;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
							     (char *)"AES-128-CBC", 0);
		break;
	default:
		return -EINVAL;
	}
	if (!mac)
		return -ENOSYS;
	params[1] = OSSL_PARAM_construct_end();
	c = EVP_MAC_CTX_new(mac);
	if (!c)
		return -ENOMEM;
	/* HMAC accepts any key length, including 0; give it a valid pointer. */
	ok = EVP_MAC_init(c, key_len ? key : (const uint8_t *)"", key_len, params);
	for (i = 0; ok && i < nsegs; i++)
		if (segs[i].len)
			ok = EVP_MAC_update(c, segs[i].p, segs[i].len);
	ok = ok && EVP_MAC_final(c, out, &outl, out_cap) &&
	     outl == (alg == SMB2_SIGN_AES_CMAC ? 16u : 32u);
	EVP_MAC_CTX_free(c);
	return ok ? 0 : -EIO;
}

int smb2_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
		     uint8_t out[32])
{
	struct seg s = { data, len };

	if ((!key && key_len) || (!data && len) || !out)
		return -EINVAL;
	return mac_segs(SMB2_SIGN_HMAC_SHA256, key, key_len, &s, 1, out, 32);
}

int smb2_aes_cmac(const uint8_t key[16], const uint8_t *data, size_t len, uint8_t out[16])
{
	struct seg s = { data, len };

	if (!key || (!data && len) || !out)
		return -EINVAL;
	return mac_segs(SMB2_SIGN_AES_CMAC, key, 16, &s, 1, out, 16);
}

/* MAC over msg followed by tail (the message's last bytes, kept apart: WRITE
 * data), the signature field treated as zeros, without writing to msg (so
 * verify can run on a const, possibly shared, buffer). */
static int compute_sig(enum smb2_sign_alg alg, const uint8_t key[16], const uint8_t *msg,
		       size_t len, const uint8_t *tail, size_t tail_len,
		       uint8_t sig[SMB2_HDR_SIGNATURE_LEN])
{
	static const uint8_t zeros[SMB2_HDR_SIGNATURE_LEN];
	uint8_t full[32];
	int rc;

	if (!key || !msg || len < SMB2_HDR_SIZE || (!tail && tail_len))
		return -EINVAL;
	struct seg segs[4] = {
		{ msg, SMB2_HDR_SIGNATURE_OFF },
		{ zeros, SMB2_HDR_SIGNATURE_LEN },
		{ msg + SMB2_HDR_SIZE, len - SMB2_HDR_SIZE },
		{ tail, tail_len },
	};
	if (alg == SMB2_SIGN_AES_GMAC) {
		uint8_t nonce[12];
		gmac_nonce(msg, nonce);
		rc = gmac_segs(key, nonce, segs, 4, full);
	} else {
		rc = mac_segs(alg, key, 16, segs, 4, full, sizeof(full));
	}
	if (rc == 0)
		memcpy(sig, full, SMB2_HDR_SIGNATURE_LEN); /* HMAC-SHA256 is truncated to 16 */
	OPENSSL_cleanse(full, sizeof(full));
	return rc;
}

int smb2_sign_msg(enum smb2_sign_alg alg, const uint8_t key[16], uint8_t *msg, size_t len)
{
	return smb2_sign_msg_tail(alg, key, msg, len, NULL, 0);
}

int smb2_sign_msg_tail(enum smb2_sign_alg alg, const uint8_t key[16], uint8_t *msg, size_t len,
		       const uint8_t *tail, size_t tail_len)
{
	uint8_t sig[SMB2_HDR_SIGNATURE_LEN];
	int rc;

	if (!msg || len < SMB2_HDR_SIZE || (!tail && tail_len))
		return -EINVAL;
	/* The flag is part of the signed data, so it must be set first. */
	smb2_hdr_add_flags(msg, SMB2_FLAGS_SIGNED);
	rc = compute_sig(alg, key, msg, len, tail, tail_len, sig);
	if (rc)
		return rc;
	memcpy(msg + SMB2_HDR_SIGNATURE_OFF, sig, SMB2_HDR_SIGNATURE_LEN);
	return 0;
}

int smb2_verify_msg(enum smb2_sign_alg alg, const uint8_t key[16], const uint8_t *msg, size_t len)
{
	return smb2_verify_msg_tail(alg, key, msg, len, NULL, 0);
}

int smb2_verify_msg_tail(enum smb2_sign_alg alg, const uint8_t key[16], const uint8_t *msg,
			 size_t len, const uint8_t *tail, size_t tail_len)
{
	uint8_t sig[SMB2_HDR_SIGNATURE_LEN];
	int rc = compute_sig(alg, key, msg, len, tail, tail_len, sig);

	if (rc)
		return rc == -EINVAL && msg && len < SMB2_HDR_SIZE ? -EBADMSG : rc;
	/* Constant time, so a forger learns nothing from timing. */
	if (CRYPTO_memcmp(sig, msg + SMB2_HDR_SIGNATURE_OFF, SMB2_HDR_SIGNATURE_LEN) != 0)
		return -EBADMSG;
	return 0;
}

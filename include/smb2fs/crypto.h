/* SMB2/3 cryptography on OpenSSL 3 EVP: key derivation (SP800-108 KBKDF,
 * MS-SMB2 3.1.4.2), message signing (3.1.4.1), preauth integrity
 * (3.1.4.4 / 3.2.5.2).  No I/O.  Returns 0 or a negative errno. */
#ifndef SMB2FS_CRYPTO_H
#define SMB2FS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SP800-108 counter-mode KDF with HMAC-SHA256, r=32, L = out_len*8.
 * label and context are used exactly as given (include any trailing NUL). */
int smb2_kdf(const uint8_t *key, size_t key_len, const uint8_t *label, size_t label_len,
	     const uint8_t *context, size_t context_len, uint8_t *out, size_t out_len);

struct smb2_keys {
	uint8_t signing[16];
	uint8_t encryption[32]; /* client->server (ClientOut); 16 bytes used for AES-128 */
	uint8_t decryption[32]; /* server->client (ClientIn) */
	uint8_t application[16];
};
/* Derives the session keys for `dialect` from the 16-byte session key.
 * 2.0.2/2.1: signing = session key.  3.0/3.0.2: labels "SMB2AESCMAC" etc.
 * 3.1.1: labels "SMBSigningKey" etc. with the preauth hash as context.
 * cipher selects 16- or 32-byte encryption keys (0 = none negotiated). */
int smb2_derive_keys(uint16_t dialect, uint16_t cipher, const uint8_t session_key[16],
		     const uint8_t preauth_hash[64], struct smb2_keys *out);

/* Signing algorithm for a dialect: HMAC-SHA256 for 2.x, AES-CMAC for 3.x,
 * or what the 3.1.1 SIGNING_CAPABILITIES context chose. */
enum smb2_sign_alg { SMB2_SIGN_HMAC_SHA256 = 0, SMB2_SIGN_AES_CMAC = 1, SMB2_SIGN_AES_GMAC = 2 };

/* Signs one SMB2 message in place (msg starts at the 64-byte header): sets
 * SMB2_FLAGS_SIGNED, zeroes the Signature field, computes and writes it.
 * len covers the message only (for compounds: up to NextCommand). */
int smb2_sign_msg(enum smb2_sign_alg alg, const uint8_t key[16], uint8_t *msg, size_t len);
/* The same for a message held in two pieces: msg[0..len) (header and the
 * start of the body) followed by tail[0..tail_len) (WRITE data sent from the
 * caller's buffer, never copied).  The signature is the one over the joined
 * bytes; only msg is written. */
int smb2_sign_msg_tail(enum smb2_sign_alg alg, const uint8_t key[16], uint8_t *msg, size_t len,
		       const uint8_t *tail, size_t tail_len);
/* Verifies a received message's signature in constant time without
 * modifying it.  Returns 0 if valid, -EBADMSG if not. */
int smb2_verify_msg(enum smb2_sign_alg alg, const uint8_t key[16], const uint8_t *msg, size_t len);
/* The same for a message received in two pieces (READ data placed straight
 * into the caller's buffer): msg[0..len) followed by tail[0..tail_len). */
int smb2_verify_msg_tail(enum smb2_sign_alg alg, const uint8_t key[16], const uint8_t *msg,
			 size_t len, const uint8_t *tail, size_t tail_len);

/* The raw MACs behind signing, exposed for RFC 4231 / RFC 4493 vector tests
 * and for callers that MAC something other than an SMB2 message. */
int smb2_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
		     uint8_t out[32]);
int smb2_aes_cmac(const uint8_t key[16], const uint8_t *data, size_t len, uint8_t out[16]);

/* SHA-512 preauth integrity hash chain: H_i = SHA512(H_{i-1} || msg). */
struct smb2_preauth {
	uint8_t hash[64];
};
void smb2_preauth_init(struct smb2_preauth *p); /* all zeros */
int smb2_preauth_update(struct smb2_preauth *p, const uint8_t *msg, size_t len);

/* Cryptographically secure random bytes (RAND_bytes). */
int smb2_random(void *buf, size_t len);
/* Zeroes memory in a way the compiler keeps (OPENSSL_cleanse). */
void smb2_secure_zero(void *p, size_t len);

/* Legacy primitives needed by NTLM (MS-NLMP 3.3 NTOWF, 3.4.5.1 key exchange).
 * MD4 and RC4 live in OpenSSL 3's "legacy" provider; they are fetched once
 * from a private OSSL_LIB_CTX so the default context stays untouched.  Both
 * return -ENOSYS when the legacy provider cannot be loaded (see
 * smb2_legacy_error() for the reason). */
int smb2_md4(const uint8_t *data, size_t len, uint8_t out[16]);
/* RC4 with a 16-byte key over len bytes (in and out may be equal). */
int smb2_rc4(const uint8_t key[16], const uint8_t *in, uint8_t *out, size_t len);
/* An RC4 key stream that continues across calls: NTLM's sealing "handle"
 * (MS-NLMP 3.4.3/3.4.4.2) encrypts a message and then its checksum with one
 * stream.  Not safe for concurrent use of one stream. */
struct smb2_rc4_stream;
int smb2_rc4_stream_new(const uint8_t key[16], struct smb2_rc4_stream **out);
int smb2_rc4_stream_update(struct smb2_rc4_stream *s, const uint8_t *in, uint8_t *out, size_t len);
void smb2_rc4_stream_free(struct smb2_rc4_stream *s);
/* NULL when the legacy provider loaded, else a static reason string. */
const char *smb2_legacy_error(void);

#endif

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
/* The same from a session key of any length (Kerberos: 16 or 32 bytes),
 * MS-SMB2 3.2.5.3.1: Session.SessionKey is its first 16 bytes (zero-padded
 * when shorter) and keys signing, the application key and the 3.0.x and
 * AES-128 ciphers' keys; with 3.1.1 and an AES-256 cipher the encryption
 * and decryption keys come from the whole key (Session.FullSessionKey). */
int smb2_derive_keys_len(uint16_t dialect, uint16_t cipher, const uint8_t *session_key,
			 size_t key_len, const uint8_t preauth_hash[64], struct smb2_keys *out);

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

/* ---- Encryption (MS-SMB2 3.1.4.3 / 3.2.5.1.1): AEAD of a whole message or
 * compound chain behind a TRANSFORM_HEADER (wire.h).  cipher is a CipherId
 * (SMB2_CIPHER_AES128_CCM .. SMB2_CIPHER_AES256_GCM); key holds
 * smb2_cipher_key_len(cipher) bytes (smb2_keys.encryption / .decryption). */

/* 16 or 32 for a known cipher, 0 otherwise. */
size_t smb2_cipher_key_len(uint16_t cipher);
/* Bytes of the Nonce field the cipher uses: 11 (CCM) or 12 (GCM), 0 otherwise. */
size_t smb2_cipher_nonce_len(uint16_t cipher);

/* Nonces for one encryption key.  A nonce must never repeat under a key
 * (GCM loses both secrecy and integrity if it does), and random 88- or
 * 96-bit nonces only make a repeat unlikely; so each nonce is a 64-bit
 * counter (little-endian, first) followed by random bytes chosen once per
 * generator (3 for CCM, 4 for GCM), which keep two generators that might
 * share a key (a later channel of the same session) apart.  The unused
 * bytes of the 16-byte field are zero.  Thread-safe (atomic counter). */
struct smb2_nonce_gen {
	uint16_t cipher;
	uint8_t salt[4];
	uint64_t next; /* accessed atomically */
};
int smb2_nonce_gen_init(struct smb2_nonce_gen *g, uint16_t cipher);
/* The next nonce, as the TRANSFORM_HEADER's 16-byte Nonce field.
 * -EOVERFLOW once 2^64 - 1 nonces were taken (never in practice). */
int smb2_nonce_next(struct smb2_nonce_gen *g, uint8_t nonce[16]);

/* One piece of a message to encrypt (a WRITE's data kept apart). */
struct smb2_iov {
	const uint8_t *p;
	size_t len;
};
/* Encrypts the message made of pieces[0..n) (joined, it starts with an
 * SMB2 header; a chain is already linked) into out (as many bytes as the
 * pieces hold, not overlapping them), and writes the 52-byte transform
 * header for it into hdr: OriginalMessageSize, SessionId, nonce (the
 * 16-byte field as smb2_nonce_next gives it), Flags 0x0001, and the tag
 * as Signature.  The frame to send is hdr followed by out. */
int smb2_encrypt_msg(uint16_t cipher, const uint8_t *key, const uint8_t nonce[16],
		     uint64_t session_id, const struct smb2_iov *pieces, unsigned n,
		     uint8_t hdr[52], uint8_t *out);
/* Decrypts a received frame (transform header + ciphertext, len bytes):
 * the plaintext (len - 52 bytes: one message or a chain) goes to out,
 * which may be frame + 52 (in place).  -EBADMSG for a malformed header or
 * when the tag does not verify (out is then zeroed: no unauthenticated
 * byte is returned).  The caller checks th->session_id. */
struct smb2_transform_hdr;
int smb2_decrypt_msg(uint16_t cipher, const uint8_t *key, const uint8_t *frame, size_t len,
		     uint8_t *out, struct smb2_transform_hdr *th);

/* A key kept for a connection's life (one per direction): each use takes
 * a context whose AES key schedule (and GCM hash key) was computed once,
 * from a small pool, so many threads may use one key at once.  encrypt
 * says which direction the key serves.  Freeing cleanses the key and every
 * context.  The _key functions below are the ones above with such a key. */
struct smb2_aead_key;
int smb2_aead_key_new(uint16_t cipher, const uint8_t *key, bool encrypt, struct smb2_aead_key **out);
void smb2_aead_key_free(struct smb2_aead_key *k);
uint16_t smb2_aead_key_cipher(const struct smb2_aead_key *k);
int smb2_encrypt_msg_key(struct smb2_aead_key *k, const uint8_t nonce[16], uint64_t session_id,
			 const struct smb2_iov *pieces, unsigned n, uint8_t hdr[52], uint8_t *out);
int smb2_decrypt_msg_key(struct smb2_aead_key *k, const uint8_t *frame, size_t len, uint8_t *out,
			 struct smb2_transform_hdr *th);
/* Decrypts, in place, a frame received in two pieces: hdr is its 52-byte
 * transform header, head the first head_len bytes of the ciphertext, tail
 * the rest (READ data received straight into the reader's buffer).  0, or
 * -EBADMSG with both pieces zeroed.  GCM only (-EOPNOTSUPP for CCM, which
 * OpenSSL takes in one piece). */
int smb2_decrypt_split_key(struct smb2_aead_key *k, const uint8_t hdr[52], uint8_t *head,
			   size_t head_len, uint8_t *tail, size_t tail_len);
/* The first len (<= 4096) bytes of a frame's plaintext WITHOUT checking
 * the tag: only to choose which waiting request a big frame goes to (the
 * receiver must place its data before the whole frame can be verified).
 * Nothing peeked may be used until smb2_decrypt_split_key (or _msg_key)
 * has verified the same bytes. */
int smb2_decrypt_peek_key(struct smb2_aead_key *k, const uint8_t hdr[52], const uint8_t *ct,
			  uint8_t *pt, size_t len);

/* The raw AEAD behind them, exposed for published-vector tests (NIST,
 * the GCM specification): nonce_len 7..13 for CCM, 12 for GCM, 16-byte
 * tag.  in and out may be equal.  Decrypt returns -EBADMSG (out zeroed)
 * on a tag mismatch. */
int smb2_aead_encrypt(uint16_t cipher, const uint8_t *key, const uint8_t *nonce, size_t nonce_len,
		      const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
		      size_t len, uint8_t tag[16]);
int smb2_aead_decrypt(uint16_t cipher, const uint8_t *key, const uint8_t *nonce, size_t nonce_len,
		      const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
		      size_t len, const uint8_t tag[16]);

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

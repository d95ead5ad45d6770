/* NTLMSSP client with NTLMv2 (MS-NLMP).  Pure computation: builds the
 * NEGOTIATE (2.2.1.1) and AUTHENTICATE (2.2.1.3) messages and parses the
 * server's CHALLENGE (2.2.1.2), checking every offset and length in it.
 * When the server sends a timestamp the AUTHENTICATE carries a MIC over all
 * three messages (3.1.5.1.2); the SPNEGO mechListMIC is the NTLMSSP
 * signature (3.4.4.2) of the mechTypes list, made and checked here.
 *
 * Secrets: the password is reduced to its NT hash (MD4 of UTF-16LE) inside
 * ntlm_ctx_new and never stored; every key and intermediate buffer is wiped
 * with OPENSSL_cleanse before it is freed or goes out of scope. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "smb2fs/auth.h"
#include "smb2fs/buf.h"
#include "smb2fs/crypto.h"
#include "smb2fs/utf16.h"

/* NegotiateFlags (MS-NLMP 2.2.2.5) */
#define NTLMSSP_NEGOTIATE_UNICODE 0x00000001u
#define NTLMSSP_REQUEST_TARGET 0x00000004u
#define NTLMSSP_NEGOTIATE_SIGN 0x00000010u
#define NTLMSSP_NEGOTIATE_SEAL 0x00000020u
#define NTLMSSP_NEGOTIATE_NTLM 0x00000200u
#define NTLMSSP_NEGOTIATE_ANONYMOUS 0x00000800u
#define NTLMSSP_NEGOTIATE_ALWAYS_SIGN 0x00008000u
#define NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY 0x00080000u
#define NTLMSSP_NEGOTIATE_TARGET_INFO 0x00800000u
#define NTLMSSP_NEGOTIATE_128 0x20000000u
#define NTLMSSP_NEGOTIATE_KEY_EXCH 0x40000000u
#define NTLMSSP_NEGOTIATE_56 0x80000000u

#define CLIENT_FLAGS                                                                     \
	(NTLMSSP_NEGOTIATE_UNICODE | NTLMSSP_REQUEST_TARGET | NTLMSSP_NEGOTIATE_SIGN |   \
	 NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN |                        \
	 NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | NTLMSSP_NEGOTIATE_128 |            \
	 NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_56)

/* AV pair ids (2.2.2.1) */
#define MSV_AV_EOL 0
#define MSV_AV_FLAGS 6
#define MSV_AV_TIMESTAMP 7
#define MSV_AV_TARGET_NAME 9
#define MSV_AV_FLAG_MIC 0x00000002u /* MsvAvFlags: the AUTHENTICATE has a MIC */

#define NTLM_SIG "NTLMSSP"  /* 8 bytes with its NUL */
#define NEGOTIATE_LEN 32    /* no Version field */
#define CHALLENGE_FIXED 48  /* through TargetInfoFields */
#define AUTH_HDR_LEN 64     /* through NegotiateFlags */
#define AUTH_MIC_OFF 72     /* after the 8-byte Version */
#define AUTH_HDR_MIC_LEN 88 /* with Version and MIC */

struct ntlm_ctx {
	uint8_t *user;   /* UTF-16LE, as given */
	size_t user_len;
	uint8_t *domain; /* UTF-16LE */
	size_t domain_len;
	uint8_t *ws;     /* UTF-16LE workstation, may be empty */
	size_t ws_len;
	uint8_t *target; /* UTF-16LE MsvAvTargetName, may be empty */
	size_t target_len;
	uint8_t nt_hash[16];
	bool guest;
	uint8_t *neg;    /* our NEGOTIATE_MESSAGE, for the MIC */
	size_t neg_len;
	/* set by ntlm_authenticate */
	uint32_t flags;  /* NegotiateFlags of the AUTHENTICATE */
	bool mic_sent;
	bool have_key;
	uint8_t session_key[16]; /* ExportedSessionKey */
	/* test overrides (ntlm_ctx_set_test_overrides) */
	bool ov_cc, ov_key, ov_ts;
	uint8_t ov_client_challenge[8];
	uint8_t ov_session_key[16];
	uint64_t ov_timestamp;
};

static void free_secret(void *p, size_t n)
{
	if (p) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

/* UTF-8 -> UTF-16LE, malloc'ed (utf16_from_utf8_alloc: strict, and safe
 * for the password); NULL is "".  Freed with free_secret(p, *out_len + 2). */
static int to_utf16(const char *s, uint8_t **out, size_t *out_len)
{
	return utf16_from_utf8_alloc(s ? s : "", s ? strlen(s) : 0, out, out_len);
}

/* Upper-cases one UTF-16 code unit for NTOWFv2's Uppercase(User).  Windows
 * uses its full Unicode upcase table; this covers ASCII, Latin-1, Latin
 * Extended-A, basic Greek and Cyrillic, which is what user names use in
 * practice.  Anything else is left as is. */
static uint16_t upcase16(uint16_t c)
{
	if (c >= 'a' && c <= 'z')
		return (uint16_t)(c - 0x20);
	if (c < 0xe0)
		return c;
	if (c <= 0xfe)
		return c == 0xf7 ? c : (uint16_t)(c - 0x20);
	if (c == 0xff)
		return 0x178;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
		return (uint16_t)(c & ~1u);
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return (c & 1) ? c : (uint16_t)(c - 1);
	if (c >= 0x3b1 && c <= 0x3c9)
		return c == 0x3c2 ? 0x3a3 : (uint16_t)(c - 0x20);
	if (c >= 0x430 && c <= 0x44f)
		return (uint16_t)(c - 0x20);
	if (c >= 0x450 && c <= 0x45f)
		return (uint16_t)(c - 0x50);
	return c;
}

struct seg {
	const uint8_t *p;
	size_t len;
};

/* HMAC-MD5 over concatenated segments (MS-NLMP 6, HMAC_MD5). MD5 is in the
 * default provider, so the default library context is fine here. */
static int hmac_md5(const uint8_t key[16], const struct seg *segs, size_t nsegs, uint8_t out[16])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int ok;

	if (!c) {
		EVP_MAC_free(mac);
		return mac ? -ENOMEM : -ENOSYS;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"MD5", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = EVP_MAC_init(c, key, 16, params);
	for (size_t i = 0; ok && i < nsegs; i++)
		if (segs[i].len)
			ok = EVP_MAC_update(c, segs[i].p, segs[i].len);
	ok = ok && EVP_MAC_final(c, out, &outl, 16) && outl == 16;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	return ok ? 0 : -EIO;
}

/* NTOWFv2 = HMAC_MD5(NT hash, UNICODE(Uppercase(User) || UserDom)) (3.3.2) */
static int ntowfv2_from_hash(const uint8_t nt_hash[16], const uint8_t *user, size_t user_len,
			     const uint8_t *domain, size_t domain_len, uint8_t out[16])
{
	uint8_t *up = malloc(user_len ? user_len : 1);
	struct seg segs[2];
	int rc;

	if (!up)
		return -ENOMEM;
	for (size_t i = 0; i + 1 < user_len; i += 2)
		le16_store(up + i, upcase16(le16_load(user + i)));
	segs[0] = (struct seg){ up, user_len };
	segs[1] = (struct seg){ domain, domain_len };
	rc = hmac_md5(nt_hash, segs, 2, out);
	free_secret(up, user_len ? user_len : 1);
	return rc;
}

static int nt_hash_of(const char *password, uint8_t out[16])
{
	uint8_t *pw16;
	size_t pw16_len;
	int rc = to_utf16(password ? password : "", &pw16, &pw16_len);

	if (rc)
		return rc;
	rc = smb2_md4(pw16, pw16_len, out);
	free_secret(pw16, pw16_len + 2);
	return rc;
}

int ntlm_nt_hash(const char *password, uint8_t out[16])
{
	return out ? nt_hash_of(password, out) : -EINVAL;
}

int ntlm_ntowfv2(const char *password, const char *user, const char *domain, uint8_t out[16])
{
	uint8_t nt[16], *u = NULL, *d = NULL;
	size_t ul = 0, dl = 0;
	int rc;

	if (!out || !user)
		return -EINVAL;
	if ((rc = nt_hash_of(password, nt)))
		goto done;
	if ((rc = to_utf16(user, &u, &ul)) || (rc = to_utf16(domain ? domain : "", &d, &dl)))
		goto done;
	rc = ntowfv2_from_hash(nt, u, ul, d, dl, out);
done:
	OPENSSL_cleanse(nt, sizeof(nt));
	free(u);
	free(d);
	return rc;
}

int ntlm_v2_proof(const uint8_t response_key_nt[16], const uint8_t server_challenge[8],
		  const uint8_t *temp, size_t temp_len, uint8_t nt_proof[16],
		  uint8_t session_base_key[16])
{
	struct seg segs[2] = { { server_challenge, 8 }, { temp, temp_len } };
	struct seg proof = { nt_proof, 16 };
	int rc;

	if (!response_key_nt || !server_challenge || (!temp && temp_len) || !nt_proof ||
	    !session_base_key)
		return -EINVAL;
	if ((rc = hmac_md5(response_key_nt, segs, 2, nt_proof)))
		return rc;
	return hmac_md5(response_key_nt, &proof, 1, session_base_key);
}

int ntlm_ctx_new(const struct ntlm_creds *creds, struct ntlm_ctx **out)
{
	struct ntlm_ctx *c;
	int rc;

	if (!creds || !out)
		return -EINVAL;
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->guest = creds->guest;
	if ((rc = to_utf16(creds->user ? creds->user : "", &c->user, &c->user_len)) ||
	    (rc = to_utf16(creds->domain ? creds->domain : "", &c->domain, &c->domain_len)) ||
	    (rc = to_utf16(creds->workstation ? creds->workstation : "", &c->ws, &c->ws_len)) ||
	    (rc = to_utf16(creds->target_name ? creds->target_name : "", &c->target,
			   &c->target_len)))
		goto fail;
	/* The password is hashed at once and not kept (MS-NLMP 3.3.1 NTOWF).
	 * Anonymous needs no hash, and so works without the legacy provider. */
	if (!c->guest && creds->nt_hash)
		memcpy(c->nt_hash, creds->nt_hash, 16);
	else if (!c->guest && (rc = nt_hash_of(creds->password, c->nt_hash)))
		goto fail;
	*out = c;
	return 0;
fail:
	ntlm_ctx_free(c);
	return rc;
}

void ntlm_ctx_free(struct ntlm_ctx *ctx)
{
	if (!ctx)
		return;
	free_secret(ctx->user, ctx->user_len + 2);
	free_secret(ctx->domain, ctx->domain_len + 2);
	free_secret(ctx->ws, ctx->ws_len + 2);
	free(ctx->target);
	free(ctx->neg);
	OPENSSL_cleanse(ctx, sizeof(*ctx));
	free(ctx);
}

void ntlm_ctx_set_test_overrides(struct ntlm_ctx *ctx, const struct ntlm_test_overrides *o)
{
	if (!ctx || !o)
		return;
	ctx->ov_cc = o->client_challenge != NULL;
	if (o->client_challenge)
		memcpy(ctx->ov_client_challenge, o->client_challenge, 8);
	ctx->ov_key = o->exported_session_key != NULL;
	if (o->exported_session_key)
		memcpy(ctx->ov_session_key, o->exported_session_key, 16);
	ctx->ov_ts = o->timestamp != 0;
	ctx->ov_timestamp = o->timestamp;
}

void ntlm_ctx_set_test_timestamp(struct ntlm_ctx *ctx, uint64_t filetime)
{
	if (!ctx)
		return;
	ctx->ov_ts = true;
	ctx->ov_timestamp = filetime;
}

int ntlm_negotiate(struct ntlm_ctx *ctx, uint8_t **out, size_t *out_len)
{
	uint8_t *m, *copy;

	if (!ctx || !out || !out_len)
		return -EINVAL;
	/* 2.2.1.1: Signature, MessageType, NegotiateFlags, empty DomainName and
	 * Workstation fields (their payload offsets point at the end).  No
	 * Version field: NTLMSSP_NEGOTIATE_VERSION is not requested. */
	m = calloc(1, NEGOTIATE_LEN);
	copy = malloc(NEGOTIATE_LEN);
	if (!m || !copy) {
		free(m);
		free(copy);
		return -ENOMEM;
	}
	memcpy(m, NTLM_SIG, 8);
	le32_store(m + 8, 1);
	le32_store(m + 12, CLIENT_FLAGS);
	le32_store(m + 20, NEGOTIATE_LEN);
	le32_store(m + 28, NEGOTIATE_LEN);
	memcpy(copy, m, NEGOTIATE_LEN);
	free(ctx->neg);
	ctx->neg = copy;
	ctx->neg_len = NEGOTIATE_LEN;
	*out = m;
	*out_len = NEGOTIATE_LEN;
	return 0;
}

struct challenge {
	uint32_t flags;
	const uint8_t *server_challenge; /* 8 bytes */
	const uint8_t *target_info;      /* AV pairs through MsvAvEOL */
	size_t target_info_len;
	bool have_timestamp;
	uint64_t timestamp;
};

/* Checks that a (Len, MaxLen, Offset) field at `at` lies inside the message. */
static int field_in(const uint8_t *msg, size_t len, size_t at, const uint8_t **p, size_t *n)
{
	size_t flen = le16_load(msg + at), off = le32_load(msg + at + 4);

	if (off > len || flen > len - off)
		return -EBADMSG;
	*p = msg + off;
	*n = flen;
	return 0;
}

/* CHALLENGE_MESSAGE (2.2.1.2); nothing is read outside [msg, msg+len). */
static int parse_challenge(const uint8_t *msg, size_t len, struct challenge *ch)
{
	const uint8_t *tn, *ti;
	size_t tn_len, ti_len, pos = 0;
	int rc;

	memset(ch, 0, sizeof(*ch));
	if (!msg || len < CHALLENGE_FIXED)
		return -EBADMSG;
	if (memcmp(msg, NTLM_SIG, 8) != 0 || le32_load(msg + 8) != 2)
		return -EBADMSG;
	ch->flags = le32_load(msg + 20);
	ch->server_challenge = msg + 24;
	if ((rc = field_in(msg, len, 12, &tn, &tn_len)))
		return rc;
	if ((rc = field_in(msg, len, 40, &ti, &ti_len)))
		return rc;
	(void)tn;
	/* Walk the AV pairs (2.2.2.1) up to MsvAvEOL; each pair must fit. */
	while (ti_len > 0) {
		uint16_t id, avlen;

		if (ti_len - pos < 4)
			return -EBADMSG; /* ran off the end: no MsvAvEOL */
		id = le16_load(ti + pos);
		avlen = le16_load(ti + pos + 2);
		if (avlen > ti_len - pos - 4)
			return -EBADMSG;
		if (id == MSV_AV_EOL) {
			ch->target_info = ti;
			ch->target_info_len = pos + 4;
			break;
		}
		if (id == MSV_AV_FLAGS && avlen != 4)
			return -EBADMSG; /* build_target_info ORs into its 4 bytes */
		if (id == MSV_AV_TIMESTAMP) {
			if (avlen != 8)
				return -EBADMSG;
			ch->have_timestamp = true;
			ch->timestamp = le64_load(ti + pos + 4);
		}
		pos += 4u + avlen;
	}
	return 0;
}

/* FILETIME: 100 ns ticks since 1601-01-01 UTC. */
static uint64_t filetime_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec + 11644473600ull) * 10000000ull + (uint64_t)ts.tv_nsec / 100;
}

/* Writes one (Len, MaxLen, Offset) field and copies its payload. */
static void put_field(uint8_t *m, size_t at, size_t *off, const uint8_t *data, size_t n)
{
	le16_store(m + at, (uint16_t)n);
	le16_store(m + at + 2, (uint16_t)n);
	le32_store(m + at + 4, (uint32_t)*off);
	if (n)
		memcpy(m + *off, data, n);
	*off += n;
}

/* hdr_len is AUTH_HDR_LEN, or AUTH_HDR_MIC_LEN with a zero Version (the
 * VERSION flag is never negotiated, so 2.2.1.3 says Version MUST be zero)
 * and a zero MIC for the caller to fill in. */
static int build_auth(const struct ntlm_ctx *ctx, uint32_t flags, size_t hdr_len,
		      const uint8_t *lm, size_t lm_len, const uint8_t *nt, size_t nt_len,
		      const uint8_t *user, size_t user_len, const uint8_t *domain,
		      size_t domain_len, const uint8_t *enc_key, size_t enc_key_len, uint8_t **out,
		      size_t *out_len)
{
	size_t total = hdr_len, off = hdr_len;
	uint8_t *m;

	if (lm_len > 0xffff || nt_len > 0xffff || user_len > 0xffff || domain_len > 0xffff ||
	    ctx->ws_len > 0xffff)
		return -EOVERFLOW;
	total += lm_len + nt_len + user_len + domain_len + ctx->ws_len + enc_key_len;
	m = calloc(1, total);
	if (!m)
		return -ENOMEM;
	memcpy(m, NTLM_SIG, 8);
	le32_store(m + 8, 3);
	/* Payload order: DomainName, UserName, Workstation, LM, NT, session key. */
	put_field(m, 28, &off, domain, domain_len);
	put_field(m, 36, &off, user, user_len);
	put_field(m, 44, &off, ctx->ws, ctx->ws_len);
	put_field(m, 12, &off, lm, lm_len);
	put_field(m, 20, &off, nt, nt_len);
	put_field(m, 52, &off, enc_key, enc_key_len);
	le32_store(m + 60, flags);
	*out = m;
	*out_len = total;
	return 0;
}

/* The AV pairs the NTLMv2 response carries (3.1.5.1.2): the server's pairs
 * up to MsvAvEOL, MsvAvFlags with the MIC bit when a MIC is sent (ORed into
 * the server's pair if it sent one), our MsvAvTargetName (replacing any the
 * server sent), then MsvAvEOL.  Relies on parse_challenge's checks. */
static int build_target_info(const struct ntlm_ctx *ctx, const struct challenge *ch, bool mic,
			     uint8_t **out, size_t *out_len)
{
	const uint8_t *ti = ch->target_info;
	size_t in_len = ti ? ch->target_info_len - 4 : 0, pos = 0, o = 0;
	bool have_flags = false;
	uint8_t *p;

	if (ctx->target_len > 0xffff)
		return -EOVERFLOW;
	p = malloc(in_len + 8 + 4 + ctx->target_len + 4);
	if (!p)
		return -ENOMEM;
	while (pos < in_len) {
		uint16_t id = le16_load(ti + pos);
		size_t n = 4u + le16_load(ti + pos + 2);

		if (!(id == MSV_AV_TARGET_NAME && ctx->target_len)) {
			memcpy(p + o, ti + pos, n);
			if (id == MSV_AV_FLAGS && mic) {
				le32_store(p + o + 4, le32_load(p + o + 4) | MSV_AV_FLAG_MIC);
				have_flags = true;
			}
			o += n;
		}
		pos += n;
	}
	if (mic && !have_flags) {
		le16_store(p + o, MSV_AV_FLAGS);
		le16_store(p + o + 2, 4);
		le32_store(p + o + 4, MSV_AV_FLAG_MIC);
		o += 8;
	}
	if (ctx->target_len) {
		le16_store(p + o, MSV_AV_TARGET_NAME);
		le16_store(p + o + 2, (uint16_t)ctx->target_len);
		memcpy(p + o + 4, ctx->target, ctx->target_len);
		o += 4 + ctx->target_len;
	}
	le32_store(p + o, MSV_AV_EOL); /* AvId 0, AvLen 0 */
	*out = p;
	*out_len = o + 4;
	return 0;
}

int ntlm_mic(const uint8_t exported_key[16], const uint8_t *neg, size_t neg_len,
	     const uint8_t *chal, size_t chal_len, const uint8_t *auth, size_t auth_len,
	     uint8_t out[16])
{
	static const uint8_t zero_mic[16];
	struct seg segs[5];

	if (!exported_key || !neg || !chal || !auth || auth_len < AUTH_HDR_MIC_LEN || !out)
		return -EINVAL;
	segs[0] = (struct seg){ neg, neg_len };
	segs[1] = (struct seg){ chal, chal_len };
	segs[2] = (struct seg){ auth, AUTH_MIC_OFF };
	segs[3] = (struct seg){ zero_mic, sizeof(zero_mic) };
	segs[4] = (struct seg){ auth + AUTH_HDR_MIC_LEN, auth_len - AUTH_HDR_MIC_LEN };
	return hmac_md5(exported_key, segs, 5, out);
}

int ntlm_authenticate(struct ntlm_ctx *ctx, const uint8_t *challenge, size_t challenge_len,
		      uint8_t **out, size_t *out_len)
{
	struct challenge ch;
	uint8_t rkey[16], cc[8], proof[16], base_key[16], exported[16], enc_key[16], mic[16];
	uint8_t lm[24], *nt = NULL, *ti = NULL;
	size_t nt_len = 0, ti_len = 0;
	uint32_t flags;
	uint64_t ts;
	bool kx, want_mic;
	int rc;

	if (!ctx || !out || !out_len)
		return -EINVAL;
	*out = NULL;
	*out_len = 0;
	ctx->have_key = false;
	ctx->mic_sent = false;
	ctx->flags = 0;
	OPENSSL_cleanse(ctx->session_key, sizeof(ctx->session_key));
	if ((rc = parse_challenge(challenge, challenge_len, &ch)))
		return rc;
	/* OEM (8-bit) strings are not supported: every server since NT4 offers
	 * Unicode, and the NTLMv2 blob carries UTF-16 anyway. */
	if (!(ch.flags & NTLMSSP_NEGOTIATE_UNICODE))
		return -ENOTSUP;
	flags = CLIENT_FLAGS & ch.flags;

	if (ctx->guest) {
		/* Anonymous (3.1.5.1.2): empty user, LM response Z(1), empty NT
		 * response, no session key, so no key exchange, no signing and
		 * no MIC. */
		static const uint8_t z1[1] = {0};
		flags = (flags & ~(NTLMSSP_NEGOTIATE_KEY_EXCH | NTLMSSP_NEGOTIATE_SIGN |
				   NTLMSSP_NEGOTIATE_ALWAYS_SIGN)) |
			NTLMSSP_NEGOTIATE_ANONYMOUS;
		rc = build_auth(ctx, flags, AUTH_HDR_LEN, z1, sizeof(z1), NULL, 0, NULL, 0, NULL, 0,
				NULL, 0, out, out_len);
		if (rc == 0)
			ctx->flags = flags;
		return rc;
	}

	/* 3.1.5.1.2: a server that sends MsvAvTimestamp gets a MIC, which
	 * covers our NEGOTIATE, so that must have been made on this ctx. */
	want_mic = ch.have_timestamp;
	if (want_mic && !ctx->neg)
		return -EINVAL;
	if ((rc = build_target_info(ctx, &ch, want_mic, &ti, &ti_len)))
		return rc;
	/* MsvAvTimestamp, when present, must be echoed (3.1.5.1.2) so the
	 * server's clock check passes regardless of ours. */
	ts = ctx->ov_ts ? ctx->ov_timestamp : ch.have_timestamp ? ch.timestamp : filetime_now();
	if (ctx->ov_cc)
		memcpy(cc, ctx->ov_client_challenge, 8);
	else if ((rc = smb2_random(cc, 8)))
		goto out;

	/* NTLMv2 response (3.3.2): NTProofStr || temp, where
	 * temp = 01 01 Z(6) Time ClientChallenge Z(4) ServerName Z(4) and
	 * ServerName is the AV pair list from build_target_info. */
	nt_len = 16 + 28 + ti_len + 4;
	nt = calloc(1, nt_len);
	if (!nt) {
		rc = -ENOMEM;
		goto out;
	}
	nt[16] = 1;
	nt[17] = 1;
	le64_store(nt + 24, ts);
	memcpy(nt + 32, cc, 8);
	memcpy(nt + 44, ti, ti_len);

	if ((rc = ntowfv2_from_hash(ctx->nt_hash, ctx->user, ctx->user_len, ctx->domain,
				    ctx->domain_len, rkey)) ||
	    (rc = ntlm_v2_proof(rkey, ch.server_challenge, nt + 16, nt_len - 16, proof, base_key)))
		goto out;
	memcpy(nt, proof, 16);

	/* LMv2 (3.3.2); replaced by Z(24) when the server sent a timestamp
	 * (3.1.5.1.2: "the client SHOULD NOT send the LmChallengeResponse"). */
	if (ch.have_timestamp) {
		memset(lm, 0, sizeof(lm));
	} else {
		struct seg segs[2] = { { ch.server_challenge, 8 }, { cc, 8 } };
		if ((rc = hmac_md5(rkey, segs, 2, lm)))
			goto out;
		memcpy(lm + 16, cc, 8);
	}

	/* KXKEY for NTLMv2 is the SessionBaseKey (3.4.5.1).  With KEY_EXCH the
	 * exported key is fresh randomness sent RC4-encrypted under it (3.1.5.1.2). */
	kx = (flags & NTLMSSP_NEGOTIATE_KEY_EXCH) != 0;
	if (kx) {
		if (ctx->ov_key)
			memcpy(exported, ctx->ov_session_key, 16);
		else if ((rc = smb2_random(exported, 16)))
			goto out;
		if ((rc = smb2_rc4(base_key, exported, enc_key, 16)))
			goto out;
	} else {
		memcpy(exported, base_key, 16);
	}

	rc = build_auth(ctx, flags, want_mic ? AUTH_HDR_MIC_LEN : AUTH_HDR_LEN, lm, sizeof(lm), nt,
			nt_len, ctx->user, ctx->user_len, ctx->domain, ctx->domain_len, enc_key,
			kx ? 16 : 0, out, out_len);
	if (rc == 0 && want_mic) {
		rc = ntlm_mic(exported, ctx->neg, ctx->neg_len, challenge, challenge_len, *out,
			      *out_len, mic);
		if (rc == 0) {
			memcpy(*out + AUTH_MIC_OFF, mic, 16);
		} else {
			free_secret(*out, *out_len);
			*out = NULL;
			*out_len = 0;
		}
	}
	if (rc == 0) {
		memcpy(ctx->session_key, exported, 16);
		ctx->have_key = true;
		ctx->flags = flags;
		ctx->mic_sent = want_mic;
	}
out:
	free(ti);
	free_secret(nt, nt_len);
	OPENSSL_cleanse(rkey, sizeof(rkey));
	OPENSSL_cleanse(proof, sizeof(proof));
	OPENSSL_cleanse(base_key, sizeof(base_key));
	OPENSSL_cleanse(exported, sizeof(exported));
	OPENSSL_cleanse(enc_key, sizeof(enc_key));
	OPENSSL_cleanse(mic, sizeof(mic));
	OPENSSL_cleanse(lm, sizeof(lm));
	return rc;
}

int ntlm_session_key(const struct ntlm_ctx *ctx, uint8_t key[16])
{
	if (!ctx || !key)
		return -EINVAL;
	if (!ctx->have_key)
		return -ENOKEY; /* anonymous, or not authenticated yet */
	memcpy(key, ctx->session_key, 16);
	return 0;
}

bool ntlm_mic_sent(const struct ntlm_ctx *ctx)
{
	return ctx && ctx->mic_sent;
}

/* MD5 over concatenated segments (default provider, like hmac_md5). */
static int md5(const struct seg *segs, size_t nsegs, uint8_t out[16])
{
	EVP_MD *md = EVP_MD_fetch(NULL, "MD5", NULL);
	EVP_MD_CTX *c = md ? EVP_MD_CTX_new() : NULL;
	unsigned int outl = 0;
	int ok;

	if (!c) {
		EVP_MD_free(md);
		return md ? -ENOMEM : -ENOSYS;
	}
	ok = EVP_DigestInit_ex2(c, md, NULL);
	for (size_t i = 0; ok && i < nsegs; i++)
		if (segs[i].len)
			ok = EVP_DigestUpdate(c, segs[i].p, segs[i].len);
	ok = ok && EVP_DigestFinal_ex(c, out, &outl) && outl == 16;
	EVP_MD_CTX_free(c);
	EVP_MD_free(md);
	return ok ? 0 : -EIO;
}

/* SIGNKEY (3.4.5.2) and SEALKEY (3.4.5.3) with extended session security;
 * the magic constants are hashed with their terminating NUL. */
static int derive_keys(const uint8_t exported[16], uint32_t flags, bool client_to_server,
		       uint8_t sign_key[16], uint8_t seal_key[16])
{
	static const char c2s_sign[] = "session key to client-to-server signing key magic constant";
	static const char c2s_seal[] = "session key to client-to-server sealing key magic constant";
	static const char s2c_sign[] = "session key to server-to-client signing key magic constant";
	static const char s2c_seal[] = "session key to server-to-client sealing key magic constant";
	size_t seal_len = (flags & NTLMSSP_NEGOTIATE_128) ? 16 : (flags & NTLMSSP_NEGOTIATE_56) ? 7 : 5;
	struct seg sign[2] = {
		{ exported, 16 },
		{ (const uint8_t *)(client_to_server ? c2s_sign : s2c_sign), sizeof(c2s_sign) },
	};
	struct seg seal[2] = {
		{ exported, seal_len },
		{ (const uint8_t *)(client_to_server ? c2s_seal : s2c_seal), sizeof(c2s_seal) },
	};
	int rc = md5(sign, 2, sign_key);

	return rc ? rc : md5(seal, 2, seal_key);
}

int ntlm_sign_seal_keys(const uint8_t exported_key[16], bool client_to_server,
			uint8_t sign_key[16], uint8_t seal_key[16])
{
	if (!exported_key || !sign_key || !seal_key)
		return -EINVAL;
	return derive_keys(exported_key, NTLMSSP_NEGOTIATE_128, client_to_server, sign_key,
			   seal_key);
}

int ntlm_mac(const uint8_t sign_key[16], struct smb2_rc4_stream *seal, uint32_t seq,
	     const uint8_t *msg, size_t len, uint8_t out[16])
{
	uint8_t seqnum[4], h[16];
	struct seg segs[2] = { { seqnum, 4 }, { msg, len } };
	int rc;

	if (!sign_key || !out || (!msg && len))
		return -EINVAL;
	le32_store(seqnum, seq);
	if ((rc = hmac_md5(sign_key, segs, 2, h)))
		return rc;
	le32_store(out, 1); /* NTLMSSP_MESSAGE_SIGNATURE Version (2.2.2.9.2) */
	if (seal)
		rc = smb2_rc4_stream_update(seal, h, out + 4, 8);
	else
		memcpy(out + 4, h, 8);
	le32_store(out + 12, seq);
	OPENSSL_cleanse(h, sizeof(h));
	return rc;
}

/* The signature of the mechTypes list in one direction.  Each call starts
 * from SeqNum 0 and a fresh RC4 handle: the mechListMIC is the first (and
 * only) message this context signs in each direction. */
static int mech_list_sig(const struct ntlm_ctx *ctx, bool client_to_server, const uint8_t *data,
			 size_t len, uint8_t out[16])
{
	struct smb2_rc4_stream *handle = NULL;
	uint8_t sign_key[16], seal_key[16];
	int rc;

	if (!ctx || !out || (!data && len))
		return -EINVAL;
	if (!ctx->have_key)
		return -ENOKEY;
	/* Without extended session security the signature is the old
	 * CRC32-based one (3.4.4.1), which no NTLMv2 server picks. */
	if (!(ctx->flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY))
		return -ENOTSUP;
	if ((rc = derive_keys(ctx->session_key, ctx->flags, client_to_server, sign_key, seal_key)))
		goto out;
	if ((ctx->flags & NTLMSSP_NEGOTIATE_KEY_EXCH) &&
	    (rc = smb2_rc4_stream_new(seal_key, &handle)))
		goto out;
	rc = ntlm_mac(sign_key, handle, 0, data, len, out);
out:
	smb2_rc4_stream_free(handle);
	OPENSSL_cleanse(sign_key, sizeof(sign_key));
	OPENSSL_cleanse(seal_key, sizeof(seal_key));
	return rc;
}

int ntlm_sign_mech_list(struct ntlm_ctx *ctx, const uint8_t *data, size_t len, uint8_t out[16])
{
	return mech_list_sig(ctx, true, data, len, out);
}

int ntlm_verify_mech_list(struct ntlm_ctx *ctx, const uint8_t *data, size_t len,
			  const uint8_t *mic, size_t mic_len)
{
	uint8_t want[16];
	int rc;

	if (!mic && mic_len)
		return -EINVAL;
	if ((rc = mech_list_sig(ctx, false, data, len, want)))
		return rc;
	rc = mic_len == sizeof(want) && CRYPTO_memcmp(want, mic, sizeof(want)) == 0 ? 0 : -EBADMSG;
	OPENSSL_cleanse(want, sizeof(want));
	return rc;
}

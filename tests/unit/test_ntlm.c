/* NTLMSSP (MS-NLMP) and SPNEGO (RFC 4178 / MS-SPNG) tokens.  Expected values
 * are published vectors, the source cited above each; where none exists
 * (our own MIC and mechListMIC) they are recomputed here straight from the
 * spec with OpenSSL (ref_mic, ref_sig), not with the code under test. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "check.h"
#include "smb2fs/auth.h"
#include "smb2fs/buf.h"
#include "smb2fs/crypto.h"

static uint8_t *unhex(const char *s, size_t *n)
{
	size_t cap = strlen(s) / 2 + 1;
	uint8_t *p = malloc(cap);
	if (!p)
		abort();
	*n = hex2bin(s, p, cap);
	return p;
}

#define HEXEQ(buf, hex)                                                              \
	do {                                                                         \
		uint8_t want_[512];                                                  \
		size_t wn_ = hex2bin((hex), want_, sizeof(want_));                   \
		CHECK_MEM((buf), want_, wn_);                                        \
	} while (0)

/* Returns a pointer to an AUTHENTICATE_MESSAGE field's payload, checked. */
static const uint8_t *auth_field(const uint8_t *m, size_t len, size_t at, size_t *n)
{
	size_t flen = le16_load(m + at), off = le32_load(m + at + 4);
	CHECK(off <= len && flen <= len - off);
	if (!(off <= len && flen <= len - off)) {
		*n = 0;
		return m;
	}
	*n = flen;
	return m + off;
}

/* ---- Independent reference computations (OpenSSL directly, not the code
 * under test), for checks that have no published vector. */
static void ref_hmac_md5(const uint8_t key[16], const uint8_t *d, size_t n, uint8_t out[16])
{
	size_t ol = 0;
	CHECK(EVP_Q_mac(NULL, "HMAC", NULL, "MD5", NULL, key, 16, d, n, out, 16, &ol) != NULL);
	CHECK_EQ(ol, 16);
}

/* MS-NLMP 3.1.5.1.2: HMAC_MD5(key, NEGOTIATE || CHALLENGE || AUTHENTICATE
 * with its 16 bytes at offset 72 zeroed). */
static void ref_mic(const uint8_t key[16], const uint8_t *neg, size_t nl, const uint8_t *chal,
		    size_t cl, const uint8_t *auth, size_t al, uint8_t out[16])
{
	uint8_t *all = malloc(nl + cl + al);
	if (!all)
		abort();
	memcpy(all, neg, nl);
	memcpy(all + nl, chal, cl);
	memcpy(all + nl + cl, auth, al);
	memset(all + nl + cl + 72, 0, 16);
	ref_hmac_md5(key, all, nl + cl + al, out);
	free(all);
}

/* MS-NLMP 3.4.5.2/3.4.5.3 (128-bit, extended session security) and 3.4.4.2
 * with SeqNum 0 and a fresh RC4 handle. */
static void ref_sig(const uint8_t exported[16], bool client_to_server, bool key_exch,
		    const uint8_t *msg, size_t len, uint8_t out[16])
{
	const char *dir = client_to_server ? "client-to-server" : "server-to-client";
	char magic[80];
	uint8_t buf[16 + 80], sign_key[16], seal_key[16], *sm;
	unsigned int ml = 0;
	size_t n;

	n = (size_t)snprintf(magic, sizeof(magic), "session key to %s signing key magic constant", dir) + 1;
	memcpy(buf, exported, 16);
	memcpy(buf + 16, magic, n);
	CHECK(EVP_Digest(buf, 16 + n, sign_key, &ml, EVP_md5(), NULL) == 1);
	n = (size_t)snprintf(magic, sizeof(magic), "session key to %s sealing key magic constant", dir) + 1;
	memcpy(buf + 16, magic, n);
	CHECK(EVP_Digest(buf, 16 + n, seal_key, &ml, EVP_md5(), NULL) == 1);
	sm = calloc(1, 4 + len);
	if (!sm)
		abort();
	memcpy(sm + 4, msg, len); /* SeqNum 0 */
	ref_hmac_md5(sign_key, sm, 4 + len, buf);
	free(sm);
	memset(out, 0, 16);
	out[0] = 1;
	if (key_exch)
		CHECK_EQ(smb2_rc4(seal_key, buf, out + 4, 8), 0);
	else
		memcpy(out + 4, buf, 8);
}

/* Walks an AV pair list (MS-NLMP 2.2.2.1) as the server would. */
struct av_walk {
	int pairs, flags_pairs, target_pairs;
	uint32_t flags;
	const uint8_t *target;
	size_t target_len;
	size_t eol_end;   /* bytes through MsvAvEOL, 0 if none */
	int last_id;      /* id of the pair before MsvAvEOL */
};

static void walk_av(const uint8_t *p, size_t n, struct av_walk *w)
{
	size_t pos = 0;

	memset(w, 0, sizeof(*w));
	w->last_id = -1;
	while (n - pos >= 4) {
		uint16_t id = le16_load(p + pos), len = le16_load(p + pos + 2);
		if (len > n - pos - 4)
			return;
		if (id == 0) {
			w->eol_end = pos + 4;
			return;
		}
		w->pairs++;
		w->last_id = id;
		if (id == 6 && len == 4) {
			w->flags_pairs++;
			w->flags = le32_load(p + pos + 4);
		}
		if (id == 9) {
			w->target_pairs++;
			w->target = p + pos + 4;
			w->target_len = len;
		}
		pos += 4u + len;
	}
}

/* The AV pairs of an AUTHENTICATE's NTLMv2 response: NTProofStr(16), the
 * 28-byte blob header, the pairs, then Z(4) after MsvAvEOL. */
static void auth_avs(const uint8_t *m, size_t len, struct av_walk *w)
{
	size_t n;
	const uint8_t *nt = auth_field(m, len, 20, &n);
	static const uint8_t z4[4];

	CHECK(n > 48);
	if (n <= 48) {
		memset(w, 0, sizeof(*w));
		return;
	}
	walk_av(nt + 44, n - 48, w);
	CHECK_EQ(w->eol_end, n - 48);  /* MsvAvEOL is the last pair */
	CHECK_MEM(nt + n - 4, z4, 4);
}

/* A CHALLENGE_MESSAGE (2.2.1.2) without Version: empty TargetName, the
 * given TargetInfo, ServerChallenge 0123456789abcdef. */
static size_t make_challenge(uint8_t *buf, size_t cap, uint32_t flags, const uint8_t *info,
			     size_t info_len)
{
	static const uint8_t sc[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

	if (48 + info_len > cap)
		abort();
	memset(buf, 0, 48);
	memcpy(buf, "NTLMSSP", 8);
	buf[8] = 2;
	buf[16] = 48;
	for (int i = 0; i < 4; i++)
		buf[20 + i] = (uint8_t)(flags >> (8 * i));
	memcpy(buf + 24, sc, 8);
	buf[40] = buf[42] = (uint8_t)info_len;
	buf[41] = buf[43] = (uint8_t)(info_len >> 8);
	buf[44] = 48;
	if (info_len)
		memcpy(buf + 48, info, info_len);
	return 48 + info_len;
}

/* AV pairs: NbDomainName "D", MsvAvTimestamp, EOL */
#define AV_DOM "02000200" "4400"
#define AV_TS "07000800" "0011223344556677"
#define AV_EOL "00000000"

/* ---- MS-NLMP 4.2.4 "NTLMv2 Authentication" ----
 * User "User", UserDom "Domain", Passwd "Password", Workstation "COMPUTER",
 * ServerChallenge 0123456789abcdef, ClientChallenge aaaaaaaaaaaaaaaa,
 * RandomSessionKey 55..55, Time 0.  CHALLENGE_MESSAGE from 4.2.4.3. */
static const char *nlmp_challenge =
	"4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef"
	"00000000000000002400240044000000060070170000000f5300650072007600"
	"6500720002000c0044006f006d00610069006e0001000c005300650072007600"
	"6500720000000000";

static void test_nlmp_424(void)
{
	static const uint8_t cc[8] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
	uint8_t rsk[16], key[16], ntowf[16], proof[16], base[16], *chal, *msg = NULL;
	size_t chal_len, len = 0, n;
	const uint8_t *f;
	struct ntlm_ctx *ctx;
	struct ntlm_creds cr = { .user = "User", .domain = "Domain", .password = "Password",
				 .workstation = "COMPUTER" };
	struct ntlm_test_overrides ov = { .client_challenge = cc, .exported_session_key = rsk };

	memset(rsk, 0x55, sizeof(rsk));
	/* 4.2.4.1.1 NTOWFv2() */
	CHECK_EQ(ntlm_ntowfv2("Password", "User", "Domain", ntowf), 0);
	HEXEQ(ntowf, "0c868a403bfd7a93a3001ef22ef02e3f");
	/* The user name is upper-cased, so its case must not matter. */
	CHECK_EQ(ntlm_ntowfv2("Password", "uSeR", "Domain", key), 0);
	CHECK_MEM(key, ntowf, 16);

	chal = unhex(nlmp_challenge, &chal_len);
	CHECK_EQ(ntlm_ctx_new(&cr, &ctx), 0);
	ntlm_ctx_set_test_overrides(ctx, &ov);
	ntlm_ctx_set_test_timestamp(ctx, 0);
	CHECK_EQ(ntlm_session_key(ctx, key), -ENOKEY);
	CHECK_EQ(ntlm_authenticate(ctx, chal, chal_len, &msg, &len), 0);
	CHECK(msg != NULL && len >= 64);
	if (msg && len >= 64) {
		CHECK_MEM(msg, "NTLMSSP", 8);
		CHECK_EQ(le32_load(msg + 8), 3);
		/* No MsvAvTimestamp, so no MIC: no Version/MIC fields, the
		 * payload (DomainName first) starts at 64. */
		CHECK(!ntlm_mic_sent(ctx));
		CHECK_EQ(le32_load(msg + 32), 64);
		/* 4.2.4.2.1 LMv2 response (no MsvAvTimestamp in this challenge) */
		f = auth_field(msg, len, 12, &n);
		CHECK_EQ(n, 24);
		HEXEQ(f, "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
		/* 4.2.4.2.2 NTLMv2 response = NTProofStr || temp (4.2.4.1.3) */
		f = auth_field(msg, len, 20, &n);
		CHECK_EQ(n, 16 + 68);
		HEXEQ(f, "68cd0ab851e51c96aabc927bebef6a1c"
			 "01010000000000000000000000000000aaaaaaaaaaaaaaaa00000000"
			 "02000c0044006f006d00610069006e0001000c005300650072007600"
			 "6500720000000000" "00000000");
		/* 4.2.4.1.2 SessionBaseKey, from the NTLMv2 response we sent */
		CHECK_EQ(ntlm_v2_proof(ntowf, chal + 24, f + 16, n - 16, proof, base), 0);
		HEXEQ(proof, "68cd0ab851e51c96aabc927bebef6a1c");
		HEXEQ(base, "8de40ccadbc14a82f15cb0ad0de95ca3");
		/* 4.2.4.2.3 Encrypted Session Key = RC4(KXKEY, RandomSessionKey) */
		f = auth_field(msg, len, 52, &n);
		CHECK_EQ(n, 16);
		HEXEQ(f, "c5dad2544fc9799094ce1ce90bc9d03e");
		f = auth_field(msg, len, 28, &n);
		CHECK(n == 12 && memcmp(f, "D\0o\0m\0a\0i\0n\0", 12) == 0);
		f = auth_field(msg, len, 36, &n);
		CHECK(n == 8 && memcmp(f, "U\0s\0e\0r\0", 8) == 0);
		f = auth_field(msg, len, 44, &n);
		CHECK(n == 16 && memcmp(f, "C\0O\0M\0P\0U\0T\0E\0R\0", 16) == 0);
		/* KEY_EXCH|128|56|EXTENDED_SESSIONSECURITY|ALWAYS_SIGN|NTLM|SIGN|
		 * UNICODE: ours masked by the server's 0xe28a8233 (which has no
		 * REQUEST_TARGET, a client-only request bit) */
		CHECK_EQ(le32_load(msg + 60), 0xe0088211u);
	}
	CHECK_EQ(ntlm_session_key(ctx, key), 0);
	CHECK_MEM(key, rsk, 16);
	free(msg);
	ntlm_ctx_free(ctx);
	free(chal);
}

/* ---- MS-NLMP 4.2.4.4 GSS_WrapEx (NTLMv2, extended session security,
 * KEY_EXCH, 128-bit): RandomSessionKey 55..55, SeqNum 0, plaintext
 * UTF-16LE "Plaintext".  The sealing handle encrypts the message and then,
 * continuing the same RC4 stream, the checksum. */
static void test_nlmp_424_sign_seal(void)
{
	static const uint8_t plain[18] = { 'P', 0, 'l', 0, 'a', 0, 'i', 0, 'n', 0,
					   't', 0, 'e', 0, 'x', 0, 't', 0 };
	uint8_t rsk[16], sign[16], seal[16], s2c_sign[16], s2c_seal[16], ct[18], sig[16];
	uint8_t both[26], cks[8], *chal, *msg = NULL, *neg = NULL;
	size_t chal_len, len = 0, nl = 0;
	struct smb2_rc4_stream *h = NULL;
	struct ntlm_ctx *ctx;
	struct ntlm_creds cr = { .user = "User", .domain = "Domain", .password = "Password",
				 .workstation = "COMPUTER" };
	struct ntlm_test_overrides ov = { .exported_session_key = rsk };

	memset(rsk, 0x55, sizeof(rsk));
	/* SEALKEY / SIGNKEY, client-to-server */
	CHECK_EQ(ntlm_sign_seal_keys(rsk, true, sign, seal), 0);
	HEXEQ(seal, "59f600973cc4960a25480a7c196e4c58");
	HEXEQ(sign, "4788dc861b4782f35d43fd98fe1a2d39");
	/* The other direction uses the other constants. */
	CHECK_EQ(ntlm_sign_seal_keys(rsk, false, s2c_sign, s2c_seal), 0);
	CHECK(memcmp(s2c_sign, sign, 16) != 0 && memcmp(s2c_seal, seal, 16) != 0);

	/* Checksum before RC4: HMAC_MD5(SigningKey, SeqNum || Message)[0..7] */
	CHECK_EQ(ntlm_mac(sign, NULL, 0, plain, sizeof(plain), sig), 0);
	HEXEQ(sig, "01000000" "7035 2851 f256 4309" "00000000");
	/* SEAL(): data, then the checksum, from one RC4 handle */
	CHECK_EQ(smb2_rc4_stream_new(seal, &h), 0);
	if (h) {
		CHECK_EQ(smb2_rc4_stream_update(h, plain, ct, sizeof(ct)), 0);
		HEXEQ(ct, "54e50165bf1936dc996020c1811b0f06fb5f");
		CHECK_EQ(ntlm_mac(sign, h, 0, plain, sizeof(plain), sig), 0);
		HEXEQ(sig, "01000000" "7fb38ec5c55d4976" "00000000");
		smb2_rc4_stream_free(h);
	}
	/* The same stream, one-shot: RC4(plaintext || checksum) */
	memcpy(both, plain, 18);
	hex2bin("70352851f2564309", both + 18, 8);
	CHECK_EQ(smb2_rc4(seal, both, both, sizeof(both)), 0);
	HEXEQ(both, "54e50165bf1936dc996020c1811b0f06fb5f" "7fb38ec5c55d4976");

	/* Through a context with the 4.2.4 flags (KEY_EXCH|128|ESS): the
	 * mechListMIC signer uses these keys with a fresh handle, so its
	 * checksum is RC4(SealingKey, the published HMAC checksum). */
	chal = unhex(nlmp_challenge, &chal_len);
	CHECK_EQ(ntlm_ctx_new(&cr, &ctx), 0);
	ntlm_ctx_set_test_overrides(ctx, &ov);
	CHECK_EQ(ntlm_sign_mech_list(ctx, plain, sizeof(plain), sig), -ENOKEY);
	CHECK_EQ(ntlm_negotiate(ctx, &neg, &nl), 0);
	CHECK_EQ(ntlm_authenticate(ctx, chal, chal_len, &msg, &len), 0);
	CHECK_EQ(ntlm_sign_mech_list(ctx, plain, sizeof(plain), sig), 0);
	hex2bin("70352851f2564309", cks, 8);
	CHECK_EQ(smb2_rc4(seal, cks, cks, 8), 0);
	CHECK_MEM(sig + 4, cks, 8);
	HEXEQ(sig, "01000000");
	HEXEQ(sig + 12, "00000000");
	free(neg);
	free(msg);
	free(chal);
	ntlm_ctx_free(ctx);
}

/* ---- Microsoft Open Specifications blog, "SMB 2 and SMB 3 security in
 * Windows 10: the anatomy of signing and cryptographic keys", appendix: a
 * Windows 10 client against a Windows server (SMB 3.1.1, first channel).
 * The packets' SHA-512 preauth chain values are checked too (the blog prints
 * them), which proves the hex below was typed in correctly. */
static const char *blog_neg_resp = /* NEGOTIATE response; SPNEGO at 0x80, 0x140 bytes */
	"FE534D4240000100000000000000010001000000000000000100000000000000FFFE000000000000"
	"000000000000000000000000000000000000000000000000410001001103020039CBCAF329714942"
	"BDCE5D60F09AB3FB2F000000000080000000800000008000D8DAE5ADCBAED00109094AB095AED001"
	"80004001C00100006082013C06062B0601050502A08201303082012CA01A3018060A2B0601040182"
	"3702021E060A2B06010401823702020AA282010C048201084E45474F455854530100000000000000"
	"60000000700000007C7CC0FD06D6362D02DDE1CF343BFE292900F49750B4AA97934D9C4296B26E51"
	"FD370471B235E15A50DAE15BD5489C87000000000000000060000000010000000000000000000000"
	"5C33530DEAF90D4DB2EC4AE3786EC3084E45474F4558545303000000010000004000000098000000"
	"7C7CC0FD06D6362D02DDE1CF343BFE295C33530DEAF90D4DB2EC4AE3786EC3084000000058000000"
	"3056A05430523027802530233121301F06035504031318546F6B656E205369676E696E6720507562"
	"6C6963204B65793027802530233121301F06035504031318546F6B656E205369676E696E67205075"
	"626C6963204B6579010026000000000001002000010060A3C3B95C3C7CCD51EC536648D9B3AC74C4"
	"83CA5B65385A251117BEB30712E50000020004000000000001000200";
static const char *blog_ss_req1 = /* SESSION_SETUP #1; SPNEGO at 0x58, 0x4A bytes */
	"FE534D4240000100000000000100800000000000000000000200000000000000FFFE000000000000"
	"00000000000000000000000000000000000000000000000019000001010000000000000058004A00"
	"0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A"
	"04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000"
	"000F";
static const char *blog_ss_resp1 = /* STATUS_MORE_PROCESSING_REQUIRED; SPNEGO at 0x48, 0xB3 */
	"FE534D4240000100160000C00100010001000000000000000200000000000000FFFE000000000000"
	"190000000010000000000000000000000000000000000000090000004800B300A181B03081ADA003"
	"0A0101A10C060A2B06010401823702020AA281970481944E544C4D53535000020000000C000C0038"
	"00000015828AE20D1D8BA31179D008000000000000000050005000440000000A0092270000000F53"
	"005500540033003100310002000C0053005500540033003100310001000C00530055005400330031"
	"00310004000C0053005500540033003100310003000C0053005500540033003100310007000800A1"
	"A1F5ADCBAED00100000000";
static const char *blog_ss_req2 = /* SESSION_SETUP #2: the Windows AUTHENTICATE */
	"FE534D4240000100000000000100800000000000000000000300000000000000FFFE000000000000"
	"1900000000100000000000000000000000000000000000001900000101000000000000005800CF01"
	"0000000000000000A18201CB308201C7A0030A0101A28201AA048201A64E544C4D53535000030000"
	"001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000"
	"001000100096010000158288E2060380250000000FECAC77A5F385A8BF9C38C706EEEDDCD3530055"
	"005400330031003100610064006D0069006E006900730074007200610074006F0072004400520049"
	"0056004500520033003100310000000000000000000000000000000000000000000000000063078E"
	"B639FE03E20A231C3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F000000"
	"0002000C0053005500540033003100310001000C0053005500540033003100310004000C00530055"
	"00540033003100310003000C0053005500540033003100310007000800A1A1F5ADCBAED001060004"
	"00020000000800300030000000000000000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B"
	"8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016"
	"0063006900660073002F005300550054003300310031000000000000000000000000003B9BDFF38F"
	"5EE8F9663F11A0F4C03A78A31204100100000063775A9A5FD97F0600000000";
/* Final SESSION_SETUP response's security buffer: accept-completed + MIC. */
static const char *blog_final_resp =
	"A11B3019A0030A0100A3120410010000003B453CDC3524164200000000";

static void chain_check(struct smb2_preauth *p, const uint8_t *m, size_t n, const char *want)
{
	CHECK_EQ(smb2_preauth_update(p, m, n), 0);
	HEXEQ(p->hash, want);
}

static void test_blog_spnego_ntlm(void)
{
	static const uint8_t cc[8] = { 0xBC, 0x4A, 0xD0, 0x5F, 0x22, 0x3C, 0xC9, 0x0F };
	size_t nr_len, r1_len, s1_len, r2_len, n, tok_len, len = 0, nlen = 0;
	uint8_t *nr = unhex(blog_neg_resp, &nr_len), *r1 = unhex(blog_ss_req1, &r1_len);
	uint8_t *s1 = unhex(blog_ss_resp1, &s1_len), *r2 = unhex(blog_ss_req2, &r2_len);
	uint8_t exported[16], key[16], ntowf[16], proof[16], base[16], dec[16], *out = NULL;
	const uint8_t *tok, *f, *wnt, *wkey;
	struct smb2_preauth p;
	struct spnego_hints h;
	struct ntlm_ctx *ctx;
	int state;
	struct ntlm_creds cr = { .user = "administrator", .domain = "SUT311",
				 .password = "Password01!", .workstation = "DRIVER311",
				 .target_name = "cifs/SUT311" };
	const uint8_t *types, *mic;
	size_t types_len, mic_len;
	uint8_t *neg = NULL, want[16];
	size_t neg_len = 0;
	struct ntlm_test_overrides ov = { .client_challenge = cc, .exported_session_key = exported };

	hex2bin("270E1BA896585EEB7AF3472D3B4C75A7", exported, 16);
	/* Transcription check against the blog's printed chain values. */
	hex2bin("DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C736"
		"2B8C47122594CDE0CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426", p.hash, 64);
	chain_check(&p, nr, nr_len,
		    "324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE"
		    "3C94A79F36011E997E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513");
	chain_check(&p, r1, r1_len,
		    "AC0B0F2B9986257700365E416D142A6EDC96DF03594A19E52A15F6BD0D041CD5"
		    "D432F8ED42C55E33197A50C9EC00F1462B50C592211B1471A04B56088FDFD5F9");
	chain_check(&p, s1, s1_len,
		    "2729E3440DFDDD839E37193F6E8F20C20CEFB3469E453A70CD980EEC06B88357"
		    "40A73760085633364C8989895ECE81BF102DEEB14D4B7D48AFA76901A7A38387");
	chain_check(&p, r2, r2_len,
		    "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB79"
		    "28622DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01");

	/* Windows' NegTokenInit2 offers NEGOEX and NTLMSSP, not Kerberos. */
	CHECK_EQ(spnego_parse_hints(nr + 0x80, 0x140, &h), 0);
	CHECK(h.ntlmssp);
	CHECK(!h.krb5);
	/* Every truncation of it is refused. */
	for (size_t cut = 1; cut < 0x140; cut++)
		CHECK_EQ(spnego_parse_hints(nr + 0x80, cut, &h), -EBADMSG);

	/* Our NegTokenInit around the Windows NTLM NEGOTIATE is byte-identical
	 * to what Windows sent, and its mechTypes (after 60 48, OID spnego,
	 * A0 3E, 30 3C, A0 0E) is what spnego_ntlm_mech_types returns. */
	CHECK_EQ(spnego_wrap_ntlm_init(r1 + 0x58 + 0x22, 0x28, &out, &len), 0);
	CHECK_EQ(len, 0x4A);
	if (len == 0x4A)
		CHECK_MEM(out, r1 + 0x58, 0x4A);
	free(out);
	CHECK_EQ(spnego_ntlm_mech_types(&types, &types_len), 0);
	CHECK_EQ(types_len, 14);
	CHECK_MEM(types, r1 + 0x58 + 16, 14);
	HEXEQ(types, "300c060a2b06010401823702020a");

	/* NegTokenResp: accept-incomplete, supportedMech NTLMSSP, CHALLENGE. */
	CHECK_EQ(spnego_parse_resp(s1 + 0x48, 0xB3, &state, &tok, &tok_len, &mic, &mic_len), 0);
	CHECK_EQ(state, 1);
	CHECK_EQ(tok_len, 0x94);
	CHECK(tok == s1 + 0x48 + 0x1F);
	CHECK(mic == NULL && mic_len == 0);
	for (size_t cut = 0; cut < 0xB3; cut++)
		CHECK_EQ(spnego_parse_resp(s1 + 0x48, cut, &state, &tok, &n, NULL, NULL), -EBADMSG);
	CHECK_EQ(spnego_parse_resp(s1 + 0x48, 0xB3, &state, &tok, &tok_len, NULL, NULL), 0);

	/* Primitives against the blog's "NTLMv2 SessionKey calculation example". */
	CHECK_EQ(ntlm_ntowfv2("Password01!", "administrator", "SUT311", ntowf), 0);
	HEXEQ(ntowf, "AEE3959B44A815F1EB28C9511B4F533B");
	{
		/* NTLM AUTHENTICATE in req #2, after A1 82.. 30 82.. A0 03 0A 01 01
		 * A2 82.. 04 82.. (0x15 bytes of SPNEGO headers) */
		const uint8_t *wmsg = r2 + 0x58 + 0x15;
		size_t wlen = 0x1A6;
		wnt = auth_field(wmsg, wlen, 20, &n);
		CHECK_EQ(n, 238);
		CHECK_EQ(ntlm_v2_proof(ntowf, tok + 24, wnt + 16, n - 16, proof, base), 0);
		HEXEQ(proof, "63078EB639FE03E20A231C3AE3BF2308");
		HEXEQ(base, "B4CF22566926B1C069ACD80E4D73C814"); /* KeyExchangeKey */
		wkey = auth_field(wmsg, wlen, 52, &n);
		CHECK_EQ(n, 16);
		HEXEQ(wkey, "3B9BDFF38F5EE8F9663F11A0F4C03A78");
		CHECK_EQ(smb2_rc4(base, wkey, dec, 16), 0);
		CHECK_MEM(dec, exported, 16); /* ExportedSessionKey */
		/* Windows' MIC (offset 72, after its Version 06 03 80 25 ..
		 * 0F) over its NEGOTIATE, the CHALLENGE and its AUTHENTICATE */
		HEXEQ(wmsg + 72, "ECAC77A5F385A8BF9C38C706EEEDDCD3");
		CHECK_EQ(ntlm_mic(exported, r1 + 0x58 + 0x22, 0x28, tok, tok_len, wmsg, wlen, want), 0);
		CHECK_MEM(want, wmsg + 72, 16);
		ref_mic(exported, r1 + 0x58 + 0x22, 0x28, tok, tok_len, wmsg, wlen, want);
		CHECK_MEM(want, wmsg + 72, 16);
		/* Windows' NegTokenResp: negState accept-incomplete, the
		 * AUTHENTICATE, and its mechListMIC over the mechTypes */
		CHECK_EQ(spnego_parse_resp(r2 + 0x58, 0x1CF, &state, &f, &n, &mic, &mic_len), 0);
		CHECK_EQ(state, 1);
		CHECK(f == wmsg && n == wlen);
		CHECK_EQ(mic_len, 16);
		if (mic_len == 16)
			HEXEQ(mic, "0100000063775A9A5FD97F0600000000");
	}

	/* Our AUTHENTICATE for the same CHALLENGE: the server's MsvAvTimestamp
	 * is echoed, LMv2 is Z(24), the exported key is recoverable, and
	 * (timestamp present) it has a MIC, which needs our NEGOTIATE. */
	CHECK_EQ(ntlm_ctx_new(&cr, &ctx), 0);
	ntlm_ctx_set_test_overrides(ctx, &ov);
	out = NULL;
	CHECK_EQ(ntlm_authenticate(ctx, tok, tok_len, &out, &nlen), -EINVAL);
	CHECK(out == NULL);
	CHECK(!ntlm_mic_sent(ctx));
	CHECK_EQ(ntlm_negotiate(ctx, &neg, &neg_len), 0);
	CHECK_EQ(ntlm_authenticate(ctx, tok, tok_len, &out, &nlen), 0);
	CHECK(ntlm_mic_sent(ctx));
	if (out && nlen > 88) {
		static const uint8_t z24[24], z16[16];
		/* Version (64..72) zero: NTLMSSP_NEGOTIATE_VERSION is not set;
		 * the payload (DomainName first) starts after the MIC. */
		CHECK(!(le32_load(out + 60) & 0x02000000u));
		CHECK_MEM(out + 64, z16, 8);
		CHECK_EQ(le32_load(out + 32), 88);
		/* MIC at 72, recomputed independently over the three messages */
		CHECK(memcmp(out + 72, z16, 16) != 0);
		ref_mic(exported, neg, neg_len, tok, tok_len, out, nlen, want);
		CHECK_MEM(out + 72, want, 16);
		/* ... and it covers every byte of the AUTHENTICATE */
		out[nlen - 1] ^= 1;
		ref_mic(exported, neg, neg_len, tok, tok_len, out, nlen, want);
		CHECK(memcmp(out + 72, want, 16) != 0);
		out[nlen - 1] ^= 1;
		f = auth_field(out, nlen, 12, &n);
		CHECK(n == 24 && memcmp(f, z24, 24) == 0);
		wnt = auth_field(out, nlen, 20, &n);
		CHECK(n > 44);
		if (n > 44) {
			struct av_walk w;
			HEXEQ(wnt + 16, "0101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F00000000");
			/* The server's 76 bytes of pairs verbatim, then
			 * MsvAvFlags = MIC present, MsvAvTargetName, EOL, Z(4) */
			CHECK_EQ(n, 16 + 28 + 76 + 8 + 4 + 22 + 4 + 4);
			CHECK_MEM(wnt + 44, tok + 68, 76);
			HEXEQ(wnt + 44 + 76, "06000400" "02000000"
					     "09001600" "63006900660073002F005300550054003300310031"
					     "00000000" "00000000");
			auth_avs(out, nlen, &w);
			CHECK_EQ(w.flags_pairs, 1);
			CHECK_EQ(w.flags, 2);
			CHECK_EQ(w.target_pairs, 1);
			CHECK_EQ(w.target_len, 22);
			if (w.target_len == 22)
				HEXEQ(w.target, "63006900660073002F005300550054003300310031");
			CHECK_EQ(ntlm_v2_proof(ntowf, tok + 24, wnt + 16, n - 16, proof, base), 0);
			CHECK_MEM(wnt, proof, 16);
			wkey = auth_field(out, nlen, 52, &n);
			CHECK_EQ(n, 16);
			CHECK_EQ(smb2_rc4(base, wkey, dec, 16), 0);
			CHECK_MEM(dec, exported, 16);
		}
	}
	CHECK_EQ(ntlm_session_key(ctx, key), 0);
	CHECK_MEM(key, exported, 16);
	/* Our mechListMIC is the one Windows sent (same key, same flags
	 * KEY_EXCH|128|ESS, same mechTypes). */
	CHECK_EQ(ntlm_sign_mech_list(ctx, types, types_len, want), 0);
	HEXEQ(want, "0100000063775A9A5FD97F0600000000");
	free(out);
	free(neg);

	/* Final leg: accept-completed, no token, and the server's mechListMIC,
	 * which verifies with the server-to-client keys. */
	{
		size_t fl;
		uint8_t *fin = unhex(blog_final_resp, &fl), bad[16];
		CHECK_EQ(spnego_parse_resp(fin, fl, &state, &tok, &n, &mic, &mic_len), 0);
		CHECK_EQ(state, 0);
		CHECK(tok == NULL && n == 0);
		CHECK(mic == fin + fl - 16 && mic_len == 16);
		CHECK_EQ(ntlm_verify_mech_list(ctx, types, types_len, mic, mic_len), 0);
		CHECK_EQ(ntlm_verify_mech_list(ctx, types, types_len, mic, 15), -EBADMSG);
		for (size_t bit = 0; bit < 128; bit++) {
			memcpy(bad, mic, 16);
			bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			CHECK_EQ(ntlm_verify_mech_list(ctx, types, types_len, bad, 16), -EBADMSG);
		}
		/* Our own signature is not the server's. */
		CHECK_EQ(ntlm_verify_mech_list(ctx, types, types_len, want, 16), -EBADMSG);
		free(fin);
	}
	ntlm_ctx_free(ctx);
	free(nr);
	free(r1);
	free(s1);
	free(r2);
}

/* A NegTokenInit built by hand per RFC 4178 4.2.1 / MS-SPNG 2.2.1, shaped
 * like Samba's: mechTypes {MS krb5, krb5, NTLMSSP} and negHints with the
 * "not_defined_in_RFC4178@please_ignore" hintName. */
static void test_hints_handmade(void)
{
	static const uint8_t tok[] = {
		0x60, 0x5e, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02,
		0xa0, 0x54, 0x30, 0x52,
		0xa0, 0x24, 0x30, 0x22,
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02,
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
		0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a,
		0xa3, 0x2a, 0x30, 0x28, 0xa0, 0x26, 0x1b, 0x24,
		'n', 'o', 't', '_', 'd', 'e', 'f', 'i', 'n', 'e', 'd', '_', 'i', 'n', '_',
		'R', 'F', 'C', '4', '1', '7', '8', '@', 'p', 'l', 'e', 'a', 's', 'e', '_',
		'i', 'g', 'n', 'o', 'r', 'e',
	};
	uint8_t buf[sizeof(tok)];
	struct spnego_hints h;

	CHECK_EQ(sizeof(tok), 0x60);
	CHECK_EQ(spnego_parse_hints(tok, sizeof(tok), &h), 0);
	CHECK(h.ntlmssp && h.krb5);
	CHECK_EQ(spnego_parse_hints(NULL, 0, &h), 0);
	CHECK(!h.ntlmssp && !h.krb5);
	for (size_t cut = 1; cut < sizeof(tok); cut++)
		CHECK_EQ(spnego_parse_hints(tok, cut, &h), -EBADMSG);
	/* Wrong mechanism OID in the outer token. */
	memcpy(buf, tok, sizeof(tok));
	buf[9] = 0x03;
	CHECK_EQ(spnego_parse_hints(buf, sizeof(buf), &h), -EBADMSG);
	/* Inner length larger than its parent (mechTypes [0] says 0x60 > 0x52). */
	memcpy(buf, tok, sizeof(tok));
	buf[15] = 0x60;
	CHECK_EQ(spnego_parse_hints(buf, sizeof(buf), &h), -EBADMSG);
	/* mechTypes [0] swallowing negHints: data after its SEQUENCE. */
	memcpy(buf, tok, sizeof(tok));
	buf[15] = 0x50;
	CHECK_EQ(spnego_parse_hints(buf, sizeof(buf), &h), -EBADMSG);
	/* A mechTypes entry that is not an OID. */
	memcpy(buf, tok, sizeof(tok));
	buf[18] = 0x04;
	CHECK_EQ(spnego_parse_hints(buf, sizeof(buf), &h), -EBADMSG);
}

static void test_spnego_hostile(void)
{
	static const struct {
		const char *hex;
		const char *why;
	} bad[] = {
		{ "a184ffffffff3000", "4-byte length far past the end" },
		{ "a1850000000001300000", "5 length bytes" },
		{ "a1803000", "indefinite length" },
		{ "a181", "long form with its length byte missing" },
		{ "a1820005300300", "long-form length past the end" },
		{ "a10530100a0100", "nested SEQUENCE longer than its parent" },
		{ "a1083006a0040a020001", "negState of two bytes" },
		{ "a1073005a0030a0107", "negState out of range" },
		{ "a1093007a20504ffffffff", "OCTET STRING length in short form lying" },
		{ "a10b3009a20784ffffffff0000", "OCTET STRING with 4-byte huge length" },
		{ "a10a3008a2030400a0030a0100", "fields out of order" },
		{ "a1053003bf1f00", "high-tag-number form" },
		{ "a0053003a20100", "NegTokenInit where NegTokenResp is expected" },
		{ "a1053003a4020400", "unknown context tag" },
		{ "a1083006a2040401ff00", "trailing byte inside a field" },
		{ "a1063004a3020500", "mechListMIC that is not an OCTET STRING" },
		{ "a1083006a3020400a2020400", "mechListMIC before responseToken" },
	};
	const uint8_t *tok;
	size_t n, bl;
	int state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *b = unhex(bad[i].hex, &bl);
		int rc = spnego_parse_resp(b, bl, &state, &tok, &n, NULL, NULL);
		if (rc != -EBADMSG)
			fprintf(stderr, "hostile SPNEGO accepted: %s\n", bad[i].why);
		CHECK_EQ(rc, -EBADMSG);
		free(b);
	}
	/* A 300-byte token needs long-form lengths at every level. */
	{
		uint8_t big[300], *w = NULL;
		size_t wl = 0;
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)i;
		CHECK_EQ(spnego_wrap_resp(big, sizeof(big), NULL, 0, &w, &wl), 0);
		CHECK_EQ(spnego_parse_resp(w, wl, &state, &tok, &n, NULL, NULL), 0);
		CHECK_EQ(state, -1);
		CHECK(n == sizeof(big) && tok && memcmp(tok, big, n) == 0);
		free(w);
		w = NULL;
		CHECK_EQ(spnego_wrap_resp(big, 5, NULL, 0, &w, &wl), 0);
		if (w)
			HEXEQ(w, "a10b3009a20704050001020304");
		CHECK_EQ(wl, 13);
		free(w);
	}
}

/* NegTokenResp with and without mechListMIC [3] (RFC 4178 4.2.2). */
static void test_spnego_mech_list_mic(void)
{
	static const uint8_t tok5[5] = { 0, 1, 2, 3, 4 };
	uint8_t mic16[16], big[300], *w = NULL;
	const uint8_t *tok, *mic;
	size_t wl = 0, n, ml;
	int state;

	for (size_t i = 0; i < 16; i++)
		mic16[i] = (uint8_t)(0xf0 + i);
	CHECK_EQ(spnego_wrap_resp(tok5, 5, mic16, 16, &w, &wl), 0);
	CHECK_EQ(wl, 33);
	if (w && wl == 33) {
		HEXEQ(w, "a11f301d" "a207040500 01020304" "a3120410"
			 "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
		CHECK_EQ(spnego_parse_resp(w, wl, &state, &tok, &n, &mic, &ml), 0);
		CHECK_EQ(state, -1);
		CHECK(tok == w + 8 && n == 5);
		CHECK(mic == w + 17 && ml == 16);
		/* The mechListMIC is optional for the caller. */
		CHECK_EQ(spnego_parse_resp(w, wl, &state, &tok, &n, NULL, NULL), 0);
		CHECK(tok == w + 8 && n == 5);
		CHECK_EQ(spnego_parse_resp(w, wl, &state, &tok, &n, &mic, NULL), -EINVAL);
		for (size_t cut = 0; cut < wl; cut++)
			CHECK_EQ(spnego_parse_resp(w, cut, &state, &tok, &n, &mic, &ml), -EBADMSG);
	}
	free(w);
	/* No mic (NULL or length 0): no [3] field at all. */
	w = NULL;
	CHECK_EQ(spnego_wrap_resp(tok5, 5, mic16, 0, &w, &wl), 0);
	if (w)
		HEXEQ(w, "a10b3009a20704050001020304");
	CHECK_EQ(wl, 13);
	mic = tok5;
	ml = 99;
	CHECK_EQ(spnego_parse_resp(w, wl, &state, &tok, &n, &mic, &ml), 0);
	CHECK(mic == NULL && ml == 0);
	free(w);
	/* Long-form lengths around both fields. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	w = NULL;
	CHECK_EQ(spnego_wrap_resp(big, sizeof(big), big, 200, &w, &wl), 0);
	CHECK_EQ(spnego_parse_resp(w, wl, &state, &tok, &n, &mic, &ml), 0);
	CHECK(n == sizeof(big) && tok && memcmp(tok, big, n) == 0);
	CHECK(ml == 200 && mic && memcmp(mic, big, ml) == 0);
	free(w);
	/* Our NegTokenInit carries exactly spnego_ntlm_mech_types's bytes
	 * (60 xx, OID spnego, A0 xx, 30 xx, A0 0E, then the list). */
	{
		const uint8_t *types;
		size_t tl;
		w = NULL;
		CHECK_EQ(spnego_ntlm_mech_types(&types, &tl), 0);
		CHECK_EQ(spnego_wrap_ntlm_init(tok5, 5, &w, &wl), 0);
		CHECK(wl > 16 + tl);
		if (w && wl > 16 + tl) {
			HEXEQ(w + 14, "a00e");
			CHECK_MEM(w + 16, types, tl);
		}
		free(w);
	}
}

/* When a MIC is sent and what the NTLMv2 AV pairs then carry
 * (MS-NLMP 3.1.5.1.2), on hand-made CHALLENGEs. */
static void test_mic_rules(void)
{
	uint8_t info[128], chal[256], *neg = NULL, *out = NULL, key[16], sig[16], want[16];
	size_t il, cl, nl = 0, ol = 0;
	struct ntlm_creds cr = { .user = "u", .domain = "d", .password = "p",
				 .target_name = "cifs/127.0.0.1" };
	struct ntlm_ctx *ctx;
	struct av_walk w;

	/* The server's own MsvAvFlags (0x1, "account constrained") gets the
	 * MIC bit ORed in; there is still exactly one MsvAvFlags. */
	il = hex2bin(AV_DOM "06000400" "01000000" AV_TS AV_EOL, info, sizeof(info));
	cl = make_challenge(chal, sizeof(chal), 0xe28a8215u, info, il);
	CHECK_EQ(ntlm_ctx_new(&cr, &ctx), 0);
	CHECK_EQ(ntlm_negotiate(ctx, &neg, &nl), 0);
	CHECK_EQ(ntlm_authenticate(ctx, chal, cl, &out, &ol), 0);
	CHECK(ntlm_mic_sent(ctx));
	if (out) {
		auth_avs(out, ol, &w);
		CHECK_EQ(w.flags_pairs, 1);
		CHECK_EQ(w.flags, 3);
		CHECK_EQ(w.target_pairs, 1);
		CHECK_EQ(w.last_id, 9);
		CHECK_EQ(w.target_len, 28);
		if (w.target_len == 28)
			HEXEQ(w.target, "63006900660073002f003100320037002e0030002e0030002e003100");
		CHECK_EQ(ntlm_session_key(ctx, key), 0);
		ref_mic(key, neg, nl, chal, cl, out, ol, want);
		CHECK_MEM(out + 72, want, 16);
	}
	free(out);
	out = NULL;

	/* A MsvAvFlags that is not 4 bytes is malformed. */
	il = hex2bin(AV_DOM "06000200" "0100" AV_TS AV_EOL, info, sizeof(info));
	cl = make_challenge(chal, sizeof(chal), 0xe28a8215u, info, il);
	CHECK_EQ(ntlm_authenticate(ctx, chal, cl, &out, &ol), -EBADMSG);
	CHECK(out == NULL && !ntlm_mic_sent(ctx));
	CHECK_EQ(ntlm_sign_mech_list(ctx, info, 4, sig), -ENOKEY);

	/* A server-sent MsvAvTargetName is replaced by ours, not doubled. */
	il = hex2bin(AV_DOM "09000400" "78007800" AV_TS AV_EOL, info, sizeof(info));
	cl = make_challenge(chal, sizeof(chal), 0xe28a8215u, info, il);
	CHECK_EQ(ntlm_authenticate(ctx, chal, cl, &out, &ol), 0);
	if (out) {
		auth_avs(out, ol, &w);
		CHECK_EQ(w.target_pairs, 1);
		CHECK_EQ(w.target_len, 28);
		CHECK_EQ(w.flags_pairs, 1);
		CHECK_EQ(w.flags, 2);
	}
	free(out);
	out = NULL;

	/* No MsvAvTimestamp: no MIC, no MsvAvFlags, 64-byte header; the
	 * target name is still sent. */
	il = hex2bin(AV_DOM AV_EOL, info, sizeof(info));
	cl = make_challenge(chal, sizeof(chal), 0xe28a8215u, info, il);
	CHECK_EQ(ntlm_authenticate(ctx, chal, cl, &out, &ol), 0);
	CHECK(!ntlm_mic_sent(ctx));
	if (out) {
		CHECK_EQ(le32_load(out + 32), 64);
		auth_avs(out, ol, &w);
		CHECK_EQ(w.flags_pairs, 0);
		CHECK_EQ(w.target_pairs, 1);
		CHECK_EQ(w.pairs, 2);
	}
	free(out);
	out = NULL;

	/* No TargetInfo at all: just MsvAvTargetName and MsvAvEOL. */
	cl = make_challenge(chal, sizeof(chal), 0xe28a8215u, NULL, 0);
	CHECK_EQ(ntlm_authenticate(ctx, chal, cl, &out, &ol), 0);
	CHECK(!ntlm_mic_sent(ctx));
	if (out) {
		auth_avs(out, ol, &w);
		CHECK_EQ(w.pairs, 1);
		CHECK_EQ(w.target_pairs, 1);
	}
	free(out);
	out = NULL;
	ntlm_ctx_free(ctx);
	free(neg);
	neg = NULL;

	/* Without a target name: no MsvAvTargetName; the MIC bit still. */
	cr.target_name = NULL;
	il = hex2bin(AV_DOM AV_TS AV_EOL, info, sizeof(info));
	cl = make_challenge(chal, sizeof(chal), 0xe28a8215u, info, il);
	CHECK_EQ(ntlm_ctx_new(&cr, &ctx), 0);
	CHECK_EQ(ntlm_negotiate(ctx, &neg, &nl), 0);
	CHECK_EQ(ntlm_authenticate(ctx, chal, cl, &out, &ol), 0);
	CHECK(ntlm_mic_sent(ctx));
	if (out) {
		auth_avs(out, ol, &w);
		CHECK_EQ(w.target_pairs, 0);
		CHECK_EQ(w.flags_pairs, 1);
		CHECK_EQ(w.last_id, 6);
		CHECK_EQ(ntlm_session_key(ctx, key), 0);
		ref_mic(key, neg, nl, chal, cl, out, ol, want);
		CHECK_MEM(out + 72, want, 16);
	}
	free(out);
	out = NULL;
	ntlm_ctx_free(ctx);
	free(neg);
	neg = NULL;

	/* Anonymous: no key, so no MIC even with a timestamp, and no
	 * mechListMIC either way. */
	{
		struct ntlm_creds g = { .user = "", .guest = true, .target_name = "cifs/x" };
		const uint8_t *types;
		size_t tl;
		CHECK_EQ(spnego_ntlm_mech_types(&types, &tl), 0);
		CHECK_EQ(ntlm_ctx_new(&g, &ctx), 0);
		CHECK_EQ(ntlm_negotiate(ctx, &neg, &nl), 0);
		CHECK_EQ(ntlm_authenticate(ctx, chal, cl, &out, &ol), 0);
		CHECK(!ntlm_mic_sent(ctx));
		if (out)
			CHECK_EQ(le32_load(out + 32), 64);
		CHECK_EQ(ntlm_sign_mech_list(ctx, types, tl, sig), -ENOKEY);
		CHECK_EQ(ntlm_verify_mech_list(ctx, types, tl, sig, 16), -ENOKEY);
		free(out);
		free(neg);
		ntlm_ctx_free(ctx);
	}
}

/* mechListMIC both ways against the reference computation above: with
 * KEY_EXCH (checksum RC4-encrypted) and without (plain checksum). */
static void test_mech_list_roundtrip(void)
{
	static const struct {
		uint32_t flags;
		bool kx;
		int rc;
	} cases[] = {
		{ 0xe28a8215u, true, 0 },        /* KEY_EXCH|128|56|ESS|... */
		{ 0xa28a8215u, false, 0 },       /* no KEY_EXCH */
		{ 0xe2828215u, true, -ENOTSUP }, /* no extended session security */
	};
	struct ntlm_creds cr = { .user = "u", .domain = "d", .password = "p" };
	uint8_t info[64], chal[128], key[16], sig[16], want[16], srv[16], *neg = NULL, *out = NULL;
	size_t il, cl, nl = 0, ol = 0, tl;
	const uint8_t *types;
	struct ntlm_ctx *ctx;

	CHECK_EQ(spnego_ntlm_mech_types(&types, &tl), 0);
	il = hex2bin(AV_DOM AV_TS AV_EOL, info, sizeof(info));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cl = make_challenge(chal, sizeof(chal), cases[i].flags, info, il);
		CHECK_EQ(ntlm_ctx_new(&cr, &ctx), 0);
		CHECK_EQ(ntlm_sign_mech_list(ctx, types, tl, sig), -ENOKEY);
		CHECK_EQ(ntlm_negotiate(ctx, &neg, &nl), 0);
		CHECK_EQ(ntlm_authenticate(ctx, chal, cl, &out, &ol), 0);
		CHECK_EQ(ntlm_session_key(ctx, key), 0); /* random: not overridden */
		CHECK_EQ(ntlm_sign_mech_list(ctx, types, tl, sig), cases[i].rc);
		ref_sig(key, false, cases[i].kx, types, tl, srv);
		CHECK_EQ(ntlm_verify_mech_list(ctx, types, tl, srv, 16), cases[i].rc);
		if (cases[i].rc == 0) {
			ref_sig(key, true, cases[i].kx, types, tl, want);
			CHECK_MEM(sig, want, 16);
			/* any flipped bit, a different list, or a short MIC fails */
			for (size_t bit = 0; bit < 128; bit++) {
				srv[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				CHECK_EQ(ntlm_verify_mech_list(ctx, types, tl, srv, 16), -EBADMSG);
				srv[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			CHECK_EQ(ntlm_verify_mech_list(ctx, types, tl - 1, srv, 16), -EBADMSG);
			CHECK_EQ(ntlm_verify_mech_list(ctx, types, tl, srv, 8), -EBADMSG);
			CHECK_EQ(ntlm_verify_mech_list(ctx, types, tl, NULL, 0), -EBADMSG);
			CHECK_EQ(ntlm_verify_mech_list(ctx, types, tl, srv, 16), 0);
		}
		free(neg);
		free(out);
		neg = out = NULL;
		ntlm_ctx_free(ctx);
	}
}

/* Every offset and length of the CHALLENGE_MESSAGE is checked. */
static void test_challenge_hostile(void)
{
	struct ntlm_creds cr = { .user = "User", .domain = "Domain", .password = "Password" };
	struct ntlm_ctx *ctx;
	uint8_t *chal, *buf, *out;
	size_t clen, olen;

	chal = unhex(nlmp_challenge, &clen);
	buf = malloc(clen);
	CHECK_EQ(ntlm_ctx_new(&cr, &ctx), 0);
	/* Truncated at every length (each prefix copied to an exact-size heap
	 * buffer so ASan sees any over-read). */
	for (size_t cut = 0; cut < clen; cut++) {
		uint8_t *t = malloc(cut ? cut : 1);
		memcpy(t, chal, cut);
		out = NULL;
		CHECK_EQ(ntlm_authenticate(ctx, t, cut, &out, &olen), -EBADMSG);
		CHECK(out == NULL);
		free(t);
	}
#define MUTATE(off, val, expect)                                                     \
	do {                                                                         \
		memcpy(buf, chal, clen);                                             \
		buf[(off)] = (uint8_t)(val);                                         \
		out = NULL;                                                          \
		CHECK_EQ(ntlm_authenticate(ctx, buf, clen, &out, &olen), (expect)); \
		free(out);                                                           \
	} while (0)
	MUTATE(0, 'X', -EBADMSG);       /* signature */
	MUTATE(8, 3, -EBADMSG);         /* MessageType */
	MUTATE(12, 0xff, -EBADMSG);     /* TargetNameLen past the end */
	MUTATE(19, 0x80, -EBADMSG);     /* TargetNameOffset huge */
	MUTATE(40, 0xff, -EBADMSG);     /* TargetInfoLen past the end */
	MUTATE(47, 0xff, -EBADMSG);     /* TargetInfoOffset 0xff000044 */
	MUTATE(44, 0x45, -EBADMSG);     /* TargetInfoOffset +1: last pair cut */
	MUTATE(0x46, 0xff, -EBADMSG);   /* first AV pair length overflows */
	MUTATE(0x47, 0xff, -EBADMSG);
	MUTATE(0x64, 0x09, -EBADMSG);   /* MsvAvEOL replaced: no terminator */
	MUTATE(0x44, 0x07, -EBADMSG);   /* MsvAvTimestamp of 12 bytes */
	MUTATE(20, 0x32, -ENOTSUP);     /* no NTLMSSP_NEGOTIATE_UNICODE */
	/* TargetInfoOffset pointing exactly at the end with length 0 is legal. */
	memcpy(buf, chal, clen);
	buf[40] = buf[41] = buf[42] = buf[43] = 0;
	buf[44] = (uint8_t)clen;
	out = NULL;
	CHECK_EQ(ntlm_authenticate(ctx, buf, clen, &out, &olen), 0);
	free(out);
	ntlm_ctx_free(ctx);
	free(buf);
	free(chal);
}

static void test_negotiate_and_guest(void)
{
	struct ntlm_creds cr = { .user = "", .domain = "", .password = "", .guest = true };
	struct ntlm_ctx *ctx;
	uint8_t *m = NULL, *chal, key[16];
	size_t len = 0, clen, n;

	CHECK_EQ(ntlm_ctx_new(&cr, &ctx), 0);
	CHECK_EQ(ntlm_negotiate(ctx, &m, &len), 0);
	CHECK_EQ(len, 32);
	if (m && len == 32) {
		CHECK_MEM(m, "NTLMSSP", 8);
		CHECK_EQ(le32_load(m + 8), 1);
		/* UNICODE|REQUEST_TARGET|SIGN|NTLM|ALWAYS_SIGN|ESS|128|KEY_EXCH|56 */
		CHECK_EQ(le32_load(m + 12), 0xe0088215u);
	}
	free(m);
	chal = unhex(nlmp_challenge, &clen);
	m = NULL;
	CHECK_EQ(ntlm_authenticate(ctx, chal, clen, &m, &len), 0);
	if (m) {
		/* MS-NLMP 3.1.5.1.2: anonymous LmChallengeResponse is Z(1) */
		const uint8_t *lm = auth_field(m, len, 12, &n);
		CHECK_EQ(n, 1);
		CHECK(lm && lm[0] == 0);
		auth_field(m, len, 20, &n);
		CHECK_EQ(n, 0);
		auth_field(m, len, 36, &n);
		CHECK_EQ(n, 0);
		auth_field(m, len, 52, &n);
		CHECK_EQ(n, 0);
		CHECK(le32_load(m + 60) & 0x00000800u);   /* NEGOTIATE_ANONYMOUS */
		CHECK(!(le32_load(m + 60) & 0x40000000u)); /* no KEY_EXCH */
	}
	CHECK_EQ(ntlm_session_key(ctx, key), -ENOKEY);
	free(m);
	free(chal);
	ntlm_ctx_free(ctx);

	/* Malformed UTF-8 in credentials is refused, not mangled. */
	{
		struct ntlm_creds badcr = { .user = "a\xc0\x80", .domain = "", .password = "x" };
		struct ntlm_ctx *c2 = NULL;
		CHECK_EQ(ntlm_ctx_new(&badcr, &c2), -EILSEQ);
		CHECK(c2 == NULL);
	}
}

int main(void)
{
	if (smb2_legacy_error()) {
		/* NTLM cannot work at all without MD4/RC4: report, do not hide. */
		fprintf(stderr, "test_ntlm: %s\n", smb2_legacy_error());
		return 1;
	}
	test_nlmp_424();
	test_nlmp_424_sign_seal();
	test_blog_spnego_ntlm();
	test_hints_handmade();
	test_spnego_hostile();
	test_spnego_mech_list_mic();
	test_mic_rules();
	test_mech_list_roundtrip();
	test_challenge_hostile();
	test_negotiate_and_guest();
	return check_done("test_ntlm");
}

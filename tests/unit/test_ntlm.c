/* NTLMSSP (MS-NLMP) and SPNEGO (RFC 4178 / MS-SPNG) tokens.  Expected values
 * are published vectors; the source is cited above each. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smb2fs/auth.h"
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

static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Returns a pointer to an AUTHENTICATE_MESSAGE field's payload, checked. */
static const uint8_t *auth_field(const uint8_t *m, size_t len, size_t at, size_t *n)
{
	size_t flen = ld16(m + at), off = ld32(m + at + 4);
	CHECK(off <= len && flen <= len - off);
	if (!(off <= len && flen <= len - off)) {
		*n = 0;
		return m;
	}
	*n = flen;
	return m + off;
}

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
		CHECK_EQ(ld32(msg + 8), 3);
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
		CHECK_EQ(ld32(msg + 60), 0xe0088211u);
	}
	CHECK_EQ(ntlm_session_key(ctx, key), 0);
	CHECK_MEM(key, rsk, 16);
	free(msg);
	ntlm_ctx_free(ctx);
	free(chal);
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
				 .password = "Password01!", .workstation = "DRIVER311" };
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
	 * to what Windows sent. */
	CHECK_EQ(spnego_wrap_ntlm_init(r1 + 0x58 + 0x22, 0x28, &out, &len), 0);
	CHECK_EQ(len, 0x4A);
	if (len == 0x4A)
		CHECK_MEM(out, r1 + 0x58, 0x4A);
	free(out);

	/* NegTokenResp: accept-incomplete, supportedMech NTLMSSP, CHALLENGE. */
	CHECK_EQ(spnego_parse_resp(s1 + 0x48, 0xB3, &state, &tok, &tok_len), 0);
	CHECK_EQ(state, 1);
	CHECK_EQ(tok_len, 0x94);
	CHECK(tok == s1 + 0x48 + 0x1F);
	for (size_t cut = 0; cut < 0xB3; cut++)
		CHECK_EQ(spnego_parse_resp(s1 + 0x48, cut, &state, &tok, &n), -EBADMSG);
	CHECK_EQ(spnego_parse_resp(s1 + 0x48, 0xB3, &state, &tok, &tok_len), 0);

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
	}

	/* Our AUTHENTICATE for the same CHALLENGE: the server's MsvAvTimestamp
	 * is echoed, LMv2 is Z(24), and the exported key is recoverable. */
	CHECK_EQ(ntlm_ctx_new(&cr, &ctx), 0);
	ntlm_ctx_set_test_overrides(ctx, &ov);
	out = NULL;
	CHECK_EQ(ntlm_authenticate(ctx, tok, tok_len, &out, &nlen), 0);
	if (out) {
		static const uint8_t z24[24];
		f = auth_field(out, nlen, 12, &n);
		CHECK(n == 24 && memcmp(f, z24, 24) == 0);
		wnt = auth_field(out, nlen, 20, &n);
		CHECK(n > 44);
		if (n > 44) {
			HEXEQ(wnt + 16, "0101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F00000000");
			/* TargetInfo echoed verbatim (80 bytes, no MsvAvFlags added) */
			CHECK_EQ(n, 16 + 28 + 80 + 4);
			CHECK_MEM(wnt + 44, tok + 68, 80);
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
	free(out);
	ntlm_ctx_free(ctx);

	/* Final leg: accept-completed, no token, mechListMIC ignored. */
	{
		size_t fl;
		uint8_t *fin = unhex(blog_final_resp, &fl);
		CHECK_EQ(spnego_parse_resp(fin, fl, &state, &tok, &n), 0);
		CHECK_EQ(state, 0);
		CHECK(tok == NULL && n == 0);
		free(fin);
	}
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
	};
	const uint8_t *tok;
	size_t n, bl;
	int state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *b = unhex(bad[i].hex, &bl);
		int rc = spnego_parse_resp(b, bl, &state, &tok, &n);
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
		CHECK_EQ(spnego_wrap_resp(big, sizeof(big), &w, &wl), 0);
		CHECK_EQ(spnego_parse_resp(w, wl, &state, &tok, &n), 0);
		CHECK_EQ(state, -1);
		CHECK(n == sizeof(big) && tok && memcmp(tok, big, n) == 0);
		free(w);
		w = NULL;
		CHECK_EQ(spnego_wrap_resp(big, 5, &w, &wl), 0);
		if (w)
			HEXEQ(w, "a10b3009a20704050001020304");
		CHECK_EQ(wl, 13);
		free(w);
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
		CHECK_EQ(ld32(m + 8), 1);
		/* UNICODE|REQUEST_TARGET|SIGN|NTLM|ALWAYS_SIGN|ESS|128|KEY_EXCH|56 */
		CHECK_EQ(ld32(m + 12), 0xe0088215u);
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
		CHECK(ld32(m + 60) & 0x00000800u);   /* NEGOTIATE_ANONYMOUS */
		CHECK(!(ld32(m + 60) & 0x40000000u)); /* no KEY_EXCH */
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
	test_blog_spnego_ntlm();
	test_hints_handmade();
	test_spnego_hostile();
	test_challenge_hostile();
	test_negotiate_and_guest();
	return check_done("test_ntlm");
}

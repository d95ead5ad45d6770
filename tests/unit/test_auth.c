/* The authentication step (src/auth/auth.c) and its mechanisms, without a
 * server: SPNEGO framing of the first token, the replies that must fail,
 * the session key rules, the Kerberos error sentences, and the Kerberos
 * mechanism's "no ticket" path through real GSSAPI (no KDC needed). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <krb5.h>

#include "check.h"
#include "smb2fs/auth.h"

static const uint8_t nt_hash[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static bool contains(const uint8_t *p, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(p + i, needle, m) == 0)
			return true;
	return false;
}

/* The generic NegTokenInit is byte for byte the NTLM one, and Kerberos
 * lists the standard krb5 OID only. */
static void test_spnego_init(void)
{
	static const uint8_t tok[3] = {0xaa, 0xbb, 0xcc};
	const uint8_t *types;
	size_t types_len, a_len = 0, b_len = 0;
	uint8_t *a = NULL, *b = NULL;

	CHECK_EQ(spnego_ntlm_mech_types(&types, &types_len), 0);
	CHECK_EQ(spnego_wrap_init(types, types_len, tok, 3, &a, &a_len), 0);
	CHECK_EQ(spnego_wrap_ntlm_init(tok, 3, &b, &b_len), 0);
	CHECK(a && b && a_len == b_len && memcmp(a, b, a_len) == 0);
	free(a);
	free(b);

	static const uint8_t krb5_types[] = {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48,
					     0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
	CHECK_EQ(spnego_krb5_mech_types(&types, &types_len), 0);
	CHECK_EQ(types_len, sizeof(krb5_types));
	CHECK_MEM(types, krb5_types, sizeof(krb5_types));
	a = NULL;
	CHECK_EQ(spnego_wrap_init(types, types_len, tok, 3, &a, &a_len), 0);
	if (a) {
		struct spnego_hints h;
		/* the server-side parser reads it back as a krb5 offer */
		CHECK_EQ(spnego_parse_hints(a, a_len, &h), 0);
		CHECK(h.krb5 && !h.ntlmssp);
		CHECK(contains(a, a_len, tok, 3));
	}
	free(a);
	CHECK_EQ(spnego_wrap_init(NULL, 0, tok, 3, &a, &a_len), -EINVAL);

	/* A NegTokenResp with no responseToken (a lone mechListMIC). */
	static const uint8_t mic[2] = {0x11, 0x22};
	const uint8_t *t, *m;
	size_t tl, ml;
	int state;
	a = NULL;
	CHECK_EQ(spnego_wrap_resp(NULL, 0, mic, 2, &a, &a_len), 0);
	if (a) {
		CHECK_EQ(spnego_parse_resp(a, a_len, &state, &t, &tl, &m, &ml), 0);
		CHECK(t == NULL && tl == 0);
		CHECK(m && ml == 2 && memcmp(m, mic, 2) == 0);
	}
	free(a);
}

/* NTLM through the interface: a NegTokenInit carrying NTLMSSP NEGOTIATE;
 * replies that reject, carry nothing or are not DER fail with -EPROTO;
 * no key before the context is complete, none ever for anonymous. */
static void test_ntlm_driver(void)
{
	struct auth_cred cr = {.sec = AUTH_SEC_NTLMSSP, .server = "srv", .user = "alice",
			       .domain = "D", .nt_hash = nt_hash};
	struct auth_ctx *a = NULL;
	uint8_t *blob = NULL, *out = NULL, key[AUTH_MAX_KEY];
	size_t len = 0, out_len = 0, key_len = 0;

	CHECK_EQ(auth_new(&cr, &a), 0);
	CHECK(strcmp(auth_mech_name(a), "NTLM") == 0);
	CHECK_EQ(auth_start(a, &blob, &len), 0);
	CHECK(blob && contains(blob, len, "NTLMSSP\0\1\0\0\0", 12));
	free(blob);
	CHECK_EQ(auth_session_key(a, key, &key_len), -EINVAL);

	static const uint8_t reject[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x02};
	static const uint8_t empty_ok[] = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x01};
	static const uint8_t junk[] = {0x04, 0x02, 0x00};
	CHECK_EQ(auth_step(a, reject, sizeof(reject), &out, &out_len), -EPROTO);
	CHECK_EQ(auth_step(a, empty_ok, sizeof(empty_ok), &out, &out_len), -EPROTO);
	CHECK_EQ(auth_step(a, junk, sizeof(junk), &out, &out_len), -EPROTO);
	CHECK_EQ(auth_step(a, NULL, 0, &out, &out_len), -EPROTO);
	CHECK(out == NULL);
	/* SUCCESS before the context is complete: NTLM cannot finish on it */
	CHECK(auth_finish(a, NULL, 0) < 0);
	auth_free(a);

	/* Anonymous (sec=none): the login has no key and nothing to check. */
	cr.sec = AUTH_SEC_NONE;
	cr.nt_hash = NULL;
	a = NULL;
	CHECK_EQ(auth_new(&cr, &a), 0);
	CHECK_EQ(auth_start(a, &blob, &len), 0);
	free(blob);
	CHECK_EQ(auth_finish(a, NULL, 0), 0);
	CHECK_EQ(auth_session_key(a, key, &key_len), -ENOKEY);
	auth_free(a);

	/* NTLM without an NT hash is a caller bug. */
	cr.sec = AUTH_SEC_NTLMSSP;
	a = NULL;
	CHECK_EQ(auth_new(&cr, &a), -EINVAL);
	auth_free(a);
}

static bool has(const char *msg, const char *part)
{
	if (strstr(msg, part))
		return true;
	fprintf(stderr, "'%s' lacks '%s'\n", msg, part);
	return false;
}

/* The one-line causes mount errors name (krb5 codes from krb5.h). */
static void test_krb5_explain(void)
{
	char m[300];
	const char *spn = "cifs/fs1.example.test";
	const char *cc = "FILE:/tmp/krb5cc_1000";
	/* GSS_S_FAILURE = 13 << 16, GSS_S_NO_CRED = 7 << 16 */
	const uint32_t failure = 13u << 16, no_cred = 7u << 16, expired = 11u << 16;

	auth_krb5_explain(no_cred, -1765328189 /* KRB5_FCC_NOFILE */, spn, cc, NULL, m, sizeof(m));
	CHECK(has(m, "no Kerberos ticket in FILE:/tmp/krb5cc_1000 (run kinit)"));
	auth_krb5_explain(no_cred, -1765328243 /* KRB5_CC_NOTFOUND */, spn, NULL, NULL, m, sizeof(m));
	CHECK(has(m, "no Kerberos ticket in the default credential cache (run kinit)"));
	auth_krb5_explain(no_cred, 0, spn, cc, NULL, m, sizeof(m));
	CHECK(has(m, "run kinit"));
	auth_krb5_explain(failure, -1765328352 /* TKT_EXPIRED */, spn, cc, NULL, m, sizeof(m));
	CHECK(has(m, "ticket in FILE:/tmp/krb5cc_1000 has expired (run kinit)"));
	auth_krb5_explain(expired, 0, spn, cc, NULL, m, sizeof(m));
	CHECK(has(m, "has expired"));
	auth_krb5_explain(failure, -1765328377 /* S_PRINCIPAL_UNKNOWN */, spn, cc, NULL, m, sizeof(m));
	CHECK(has(m, "does not know the service principal cifs/fs1.example.test"));
	CHECK(has(m, "spn="));
	auth_krb5_explain(failure, -1765328347 /* AP_ERR_SKEW */, spn, cc, NULL, m, sizeof(m));
	CHECK(has(m, "clock skew"));
	auth_krb5_explain(failure, -1765328228 /* KDC_UNREACH */, spn, cc, NULL, m, sizeof(m));
	CHECK(has(m, "KDC unreachable"));
	auth_krb5_explain(failure, -1765328230 /* REALM_UNKNOWN */, spn, cc, NULL, m, sizeof(m));
	CHECK(has(m, "no KDC is known for the realm"));
	auth_krb5_explain(failure, -1765328378 /* C_PRINCIPAL_UNKNOWN */, spn, cc, "carol", m,
			  sizeof(m));
	CHECK(has(m, "does not know the principal carol"));
	auth_krb5_explain(failure, -1765328360 /* PREAUTH_FAILED */, spn, cc, "alice", m, sizeof(m));
	CHECK(has(m, "refused the key of alice"));
	/* anything else: GSSAPI's own words */
	auth_krb5_explain(failure, -1765328361 /* KDC_ERR_KEY_EXP */, spn, cc, NULL, m, sizeof(m));
	CHECK(has(m, "Kerberos error: "));
}

/* The Kerberos mechanism with a ccache that does not exist: GSSAPI says
 * so before any network traffic, and the message names the ccache. */
static void test_krb5_no_ticket(void)
{
	struct auth_cred cr = {.sec = AUTH_SEC_KRB5, .server = "127.0.0.1",
			       .ccache = "FILE:/nonexistent/smb2fs-test-ccache"};
	struct auth_ctx *a = NULL;

	setenv("KRB5_CONFIG", "/dev/null", 1);
	CHECK(auth_new(&cr, &a) < 0);
	CHECK(a != NULL);
	if (a) {
		CHECK(strcmp(auth_mech_name(a), "Kerberos") == 0);
		CHECK(has(auth_errmsg(a), "no Kerberos ticket in FILE:/nonexistent/smb2fs-test-ccache"));
	}
	auth_free(a);

	/* A keytab that is not there is named as such. */
	cr.ccache = NULL;
	cr.keytab = "/nonexistent/smb2fs.keytab";
	cr.user = "alice@EXAMPLE.TEST";
	a = NULL;
	CHECK(auth_new(&cr, &a) < 0);
	if (a)
		CHECK(has(auth_errmsg(a), "cannot read the keytab /nonexistent/smb2fs.keytab"));
	auth_free(a);
}

/* A service ticket for cifs/fs1.example.test@EXAMPLE.TEST as the KDC would
 * hand it over (its enc-part is opaque to the client: any bytes do). */
static const char fake_ticket_hex[] =
	"61693067a003020105a10e1b0c4558414d504c452e54455354a2233021a003020102a11a"
	"30181b04636966731b106673312e6578616d706c652e74657374a32b3029a003020112a2"
	"220420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/* What Samba 4.17 (MIT 1.20) answered in its SESSION_SETUP reply when its
 * clock was an hour ahead: the krb5 framing (60 .. OID, TOK_ID 03 00) of a
 * KRB-ERROR whose error-code (a6 03 02 01 xx) is 37, KRB_AP_ERR_SKEW. */
static const char skew_error_hex[] =
	"607206092a864886f71201020203007e633061a003020105a10302011ea411180f3230"
	"3236313133303037323333395aa50502030ea589a603020125a90d1b0b534d42324653"
	"2e54455354aa1c301aa003020103a11330111b04636966731b093132372e302e302e31"
	"ac0904073005a103020102";

/* A MEMORY ccache holding alice's "ticket" for cifs/fs1.example.test, so
 * GSSAPI makes an AP-REQ with no KDC. */
static bool store_fake_ticket(krb5_context kc, const char *name)
{
	uint8_t ticket[128], key[32];
	krb5_ccache cc = NULL;
	krb5_creds cr;
	bool ok = false;

	memset(&cr, 0, sizeof(cr));
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x40 + i);
	size_t tlen = hex2bin(fake_ticket_hex, ticket, sizeof(ticket));
	if (krb5_cc_resolve(kc, name, &cc) != 0 ||
	    krb5_parse_name(kc, "alice@EXAMPLE.TEST", &cr.client) != 0 ||
	    krb5_parse_name(kc, "cifs/fs1.example.test@EXAMPLE.TEST", &cr.server) != 0 ||
	    krb5_cc_initialize(kc, cc, cr.client) != 0)
		goto out;
	cr.keyblock.enctype = ENCTYPE_AES256_CTS_HMAC_SHA1_96;
	cr.keyblock.length = sizeof(key);
	cr.keyblock.contents = key;
	cr.times.authtime = cr.times.starttime = (krb5_timestamp)time(NULL);
	cr.times.endtime = cr.times.starttime + 3600;
	cr.ticket.length = (unsigned int)tlen;
	cr.ticket.data = (char *)ticket;
	ok = krb5_cc_store_cred(kc, cc, &cr) == 0;
out:
	krb5_free_principal(kc, cr.client);
	krb5_free_principal(kc, cr.server);
	if (cc)
		krb5_cc_close(kc, cc);
	return ok;
}

/* Logs in with that ticket and answers the AP-REQ with `reply` (a mech
 * token, wrapped in a NegTokenResp as a server's MORE_PROCESSING reply
 * carries it): auth_step's result, its message in msg. */
static int krb5_server_reply(const uint8_t *reply, size_t reply_len, char *msg, size_t len)
{
	struct auth_cred cr = {.sec = AUTH_SEC_KRB5, .server = "fs1.example.test",
			       .spn = "cifs/fs1.example.test@EXAMPLE.TEST",
			       .ccache = "MEMORY:smb2fs-test-krb-error"};
	struct auth_ctx *a = NULL;
	uint8_t *blob = NULL, *resp = NULL, *out = NULL;
	size_t blob_len = 0, resp_len = 0, out_len = 0;
	int r = -999;

	msg[0] = '\0';
	if (auth_new(&cr, &a) != 0 || auth_start(a, &blob, &blob_len) != 0) {
		fprintf(stderr, "no AP-REQ from the fake ticket: %s\n", auth_errmsg(a));
		goto out;
	}
	if (spnego_wrap_resp(reply, reply_len, NULL, 0, &resp, &resp_len) != 0)
		goto out;
	r = auth_step(a, resp, resp_len, &out, &out_len);
	snprintf(msg, len, "%s", auth_errmsg(a));
	CHECK(out == NULL);
out:
	free(blob);
	free(resp);
	free(out);
	auth_free(a);
	return r;
}

/* The server's KRB-ERROR in place of an AP-REP names its cause (clock
 * skew first of all), where a token that is no KRB-ERROR and does not
 * verify still says the server did not prove who it is. */
static void test_krb5_server_error(void)
{
	krb5_context kc;
	krb5_ccache cc;
	uint8_t tok[256];
	char m[300];

	setenv("KRB5_CONFIG", "/dev/null", 1);
	CHECK_EQ(krb5_init_context(&kc), 0);
	if (!store_fake_ticket(kc, "MEMORY:smb2fs-test-krb-error")) {
		CHECK(!"cannot make the test ccache");
		krb5_free_context(kc);
		return;
	}
	size_t n = hex2bin(skew_error_hex, tok, sizeof(tok));
	size_t code_at = 0;
	for (size_t i = 0; i + 5 <= n; i++)
		if (tok[i] == 0xa6 && tok[i + 1] == 0x03 && tok[i + 2] == 0x02 && tok[i + 3] == 0x01)
			code_at = i + 4;
	CHECK(code_at && tok[code_at] == 37);

	CHECK_EQ(krb5_server_reply(tok, n, m, sizeof(m)), -EACCES);
	CHECK(has(m, "the clocks of this machine and the KDC or server differ too much "
		     "(clock skew; set the time, e.g. with NTP)"));
	tok[code_at] = 33; /* KRB_AP_ERR_TKT_NYV: the server's clock is behind */
	CHECK_EQ(krb5_server_reply(tok, n, m, sizeof(m)), -EACCES);
	CHECK(has(m, "not valid yet") && has(m, "clock skew"));
	tok[code_at] = 41; /* KRB_AP_ERR_MODIFIED: e.g. the server's keytab is stale */
	CHECK_EQ(krb5_server_reply(tok, n, m, sizeof(m)), -EACCES);
	CHECK(has(m, "the server refused the Kerberos ticket ("));
	/* The same bytes as an AP-REP (TOK_ID 02 00): no KRB-ERROR, and it
	 * does not verify. */
	tok[code_at] = 37;
	tok[13] = 0x02; /* TOK_ID */
	CHECK_EQ(krb5_server_reply(tok, n, m, sizeof(m)), -EKEYREJECTED);
	CHECK(has(m, "does not prove it is cifs/fs1.example.test"));

	if (krb5_cc_resolve(kc, "MEMORY:smb2fs-test-krb-error", &cc) == 0)
		krb5_cc_destroy(kc, cc);
	krb5_free_context(kc);
}

int main(void)
{
	test_spnego_init();
	test_ntlm_driver();
	test_krb5_explain();
	test_krb5_no_ticket();
	test_krb5_server_error();
	return check_done("test_auth");
}

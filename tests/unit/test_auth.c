/* The authentication step (src/auth/auth.c) and its mechanisms, without a
 * server: SPNEGO framing of the first token, the replies that must fail,
 * the session key rules, the Kerberos error sentences, and the Kerberos
 * mechanism's "no ticket" path through real GSSAPI (no KDC needed). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	test_spnego_init();
	test_ntlm_driver();
	test_krb5_explain();
	test_krb5_no_ticket();
	return check_done("test_auth");
}

/* SPNEGO (RFC 4178, MS-SPNG) for NTLMSSP and Kerberos: just enough DER to
 * read the server's mechanism hints and NegTokenResp and to wrap our
 * mechanism tokens and mechListMIC.  Each mechTypes list is one constant,
 * so the bytes both mechListMICs cover are exactly the bytes our
 * NegTokenInit sent.
 * Every length is checked by der.c; nested values are read only inside the
 * value of their parent. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "der.h"
#include "smb2fs/auth.h"

/* 1.3.6.1.5.5.2 */
static const uint8_t oid_spnego[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
/* 1.3.6.1.4.1.311.2.2.10 */
static const uint8_t oid_ntlmssp[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a };
/* 1.2.840.113554.1.2.2 (RFC 4121) */
static const uint8_t oid_krb5[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02 };
/* 1.2.840.48018.1.2.2 (the OID older Windows uses for Kerberos) */
static const uint8_t oid_krb5_ms[] = { 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02 };

#define TAG_APP0 0x60  /* [APPLICATION 0] constructed: InitialContextToken */
#define TAG_SEQ 0x30
#define TAG_OID 0x06
#define TAG_OCTETS 0x04
#define TAG_ENUM 0x0a
#define TAG_CTX(n) (uint8_t)(0xa0 | (n))

/* MechTypeList: SEQUENCE { OID ntlmssp } */
static const uint8_t ntlm_mech_types[] = {
	TAG_SEQ, 0x0c, TAG_OID, 0x0a,
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a,
};

/* MechTypeList: SEQUENCE { OID krb5 }.  Only the standard OID: the
 * optimistic token GSSAPI makes is framed with it, and RFC 4178 wants that
 * token to be for the first mechanism listed.  No NTLM fallback: sec=krb5
 * means Kerberos or nothing. */
static const uint8_t krb5_mech_types[] = {
	TAG_SEQ, 0x0b, TAG_OID, 0x09,
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02,
};

int spnego_ntlm_mech_types(const uint8_t **der, size_t *len)
{
	if (!der || !len)
		return -EINVAL;
	*der = ntlm_mech_types;
	*len = sizeof(ntlm_mech_types);
	return 0;
}

int spnego_krb5_mech_types(const uint8_t **der, size_t *len)
{
	if (!der || !len)
		return -EINVAL;
	*der = krb5_mech_types;
	*len = sizeof(krb5_mech_types);
	return 0;
}

static bool oid_eq(const uint8_t *v, size_t n, const uint8_t *oid, size_t oid_len)
{
	return n == oid_len && memcmp(v, oid, n) == 0;
}

int spnego_parse_hints(const uint8_t *blob, size_t len, struct spnego_hints *hints)
{
	struct der_rd r, app, init, seq, types, list;
	const uint8_t *v;
	size_t n;
	uint8_t tag;
	int rc;

	if (!hints)
		return -EINVAL;
	memset(hints, 0, sizeof(*hints));
	/* MS-SMB2 3.2.5.2: the NEGOTIATE response may carry no buffer at all. */
	if (!blob || len == 0)
		return 0;

	der_rd_init(&r, blob, len);
	if ((rc = der_expect(&r, TAG_APP0, &v, &n)))
		return rc;
	der_rd_init(&app, v, n);
	if ((rc = der_expect(&app, TAG_OID, &v, &n)))
		return rc;
	if (!oid_eq(v, n, oid_spnego, sizeof(oid_spnego)))
		return -EBADMSG;
	/* innerContextToken: NegotiationToken CHOICE, negTokenInit [0] */
	if ((rc = der_expect(&app, TAG_CTX(0), &v, &n)))
		return rc;
	der_rd_init(&init, v, n);
	if ((rc = der_expect(&init, TAG_SEQ, &v, &n)))
		return rc;
	der_rd_init(&seq, v, n);
	/* NegTokenInit / NegTokenInit2 (MS-SPNG 2.2.1): [0] mechTypes, then
	 * reqFlags, mechToken, negHints / mechListMIC, which are skipped but
	 * must still be well-formed TLVs. */
	while (!der_rd_end(&seq)) {
		if ((rc = der_next(&seq, &tag, &v, &n)))
			return rc;
		if (tag != TAG_CTX(0))
			continue;
		der_rd_init(&types, v, n);
		if ((rc = der_expect(&types, TAG_SEQ, &v, &n)))
			return rc;
		if (!der_rd_end(&types))
			return -EBADMSG;
		der_rd_init(&list, v, n);
		while (!der_rd_end(&list)) {
			if ((rc = der_expect(&list, TAG_OID, &v, &n)))
				return rc;
			if (oid_eq(v, n, oid_ntlmssp, sizeof(oid_ntlmssp)))
				hints->ntlmssp = true;
			else if (oid_eq(v, n, oid_krb5, sizeof(oid_krb5)) ||
				 oid_eq(v, n, oid_krb5_ms, sizeof(oid_krb5_ms)))
				hints->krb5 = true;
		}
	}
	return 0;
}

/* Upper bound of the DER overhead of the wrappers below (each header is at
 * most 6 bytes, there are at most 7 levels, plus the two OIDs). */
#define WRAP_SLACK 96

int spnego_wrap_init(const uint8_t *types, size_t types_len, const uint8_t *mech_token,
		     size_t len, uint8_t **out, size_t *out_len)
{
	struct der_wr w;
	size_t mark, tok;
	int rc;

	if (!out || !out_len || !types || !types_len || types_len > 256 || (!mech_token && len) ||
	    len > 0xffff0000u)
		return -EINVAL;
	if ((rc = der_wr_init(&w, len + types_len + WRAP_SLACK)))
		return rc;
	/* Built back to front:
	 * 60 { OID spnego, A0 { 30 { A0 { mechTypes }, A2 { 04 token } } } } */
	der_wr_bytes(&w, mech_token, len);
	der_wr_hdr(&w, TAG_OCTETS, len);
	tok = der_wr_len(&w);
	der_wr_hdr(&w, TAG_CTX(2), tok);
	der_wr_bytes(&w, types, types_len);
	der_wr_hdr(&w, TAG_CTX(0), types_len);
	mark = der_wr_len(&w);
	der_wr_hdr(&w, TAG_SEQ, mark);
	mark = der_wr_len(&w);
	der_wr_hdr(&w, TAG_CTX(0), mark);
	der_wr_bytes(&w, oid_spnego, sizeof(oid_spnego));
	der_wr_hdr(&w, TAG_OID, sizeof(oid_spnego));
	mark = der_wr_len(&w);
	der_wr_hdr(&w, TAG_APP0, mark);
	return der_wr_take(&w, out, out_len);
}

int spnego_wrap_ntlm_init(const uint8_t *mech_token, size_t len, uint8_t **out, size_t *out_len)
{
	return spnego_wrap_init(ntlm_mech_types, sizeof(ntlm_mech_types), mech_token, len, out,
				out_len);
}

int spnego_wrap_resp(const uint8_t *mech_token, size_t len, const uint8_t *mic, size_t mic_len,
		     uint8_t **out, size_t *out_len)
{
	struct der_wr w;
	size_t mark;
	int rc;

	if (!mic)
		mic_len = 0;
	if (!out || !out_len || (!mech_token && len) || len > 0xffff0000u || mic_len > 0xffff)
		return -EINVAL;
	if ((rc = der_wr_init(&w, len + mic_len + WRAP_SLACK)))
		return rc;
	/* A1 { 30 { A2 { 04 token } [A3 { 04 mic }] } }: negState is optional
	 * from the client (RFC 4178 4.2.2). */
	if (mic_len) {
		der_wr_bytes(&w, mic, mic_len);
		der_wr_hdr(&w, TAG_OCTETS, mic_len);
		der_wr_hdr(&w, TAG_CTX(3), der_wr_len(&w));
	}
	if (mech_token) {
		mark = der_wr_len(&w);
		der_wr_bytes(&w, mech_token, len);
		der_wr_hdr(&w, TAG_OCTETS, len);
		der_wr_hdr(&w, TAG_CTX(2), der_wr_len(&w) - mark);
	}
	mark = der_wr_len(&w);
	der_wr_hdr(&w, TAG_SEQ, mark);
	mark = der_wr_len(&w);
	der_wr_hdr(&w, TAG_CTX(1), mark);
	return der_wr_take(&w, out, out_len);
}

int spnego_parse_resp(const uint8_t *blob, size_t len, int *neg_state,
		      const uint8_t **token, size_t *token_len,
		      const uint8_t **mic, size_t *mic_len)
{
	struct der_rd r, resp, seq, inner;
	const uint8_t *v, *tok = NULL, *m = NULL;
	size_t n, tok_len = 0, m_len = 0;
	uint8_t tag, last = 0;
	int rc, state = -1;

	if (!neg_state || !token || !token_len || !mic != !mic_len)
		return -EINVAL;
	*neg_state = -1;
	*token = NULL;
	*token_len = 0;
	if (mic) {
		*mic = NULL;
		*mic_len = 0;
	}
	if (!blob || len == 0)
		return -EBADMSG;

	der_rd_init(&r, blob, len);
	if ((rc = der_expect(&r, TAG_CTX(1), &v, &n))) /* negTokenResp [1] */
		return rc;
	der_rd_init(&resp, v, n);
	if ((rc = der_expect(&resp, TAG_SEQ, &v, &n)))
		return rc;
	der_rd_init(&seq, v, n);
	while (!der_rd_end(&seq)) {
		if ((rc = der_next(&seq, &tag, &v, &n)))
			return rc;
		/* Fields are context tagged [0]..[3] and appear in order, once. */
		if ((tag & 0xe0) != 0xa0 || (last && tag <= last))
			return -EBADMSG;
		last = tag;
		der_rd_init(&inner, v, n);
		switch (tag) {
		case TAG_CTX(0): /* negState ENUMERATED */
			if ((rc = der_expect(&inner, TAG_ENUM, &v, &n)))
				return rc;
			if (n != 1 || v[0] > 3)
				return -EBADMSG;
			state = v[0];
			break;
		case TAG_CTX(1): /* supportedMech OID: checked for form only */
			if ((rc = der_expect(&inner, TAG_OID, &v, &n)))
				return rc;
			break;
		case TAG_CTX(2): /* responseToken OCTET STRING */
			if ((rc = der_expect(&inner, TAG_OCTETS, &v, &n)))
				return rc;
			tok = v;
			tok_len = n;
			break;
		case TAG_CTX(3): /* mechListMIC OCTET STRING */
			if ((rc = der_expect(&inner, TAG_OCTETS, &v, &n)))
				return rc;
			m = v;
			m_len = n;
			break;
		default:
			return -EBADMSG;
		}
		if (!der_rd_end(&inner))
			return -EBADMSG;
	}
	*neg_state = state;
	*token = tok;
	*token_len = tok_len;
	if (mic) {
		*mic = m;
		*mic_len = m_len;
	}
	return 0;
}

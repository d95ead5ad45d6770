/* Authentication for SESSION_SETUP: a mechanism (NTLMv2 in NTLMSSP,
 * MS-NLMP; Kerberos through MIT GSSAPI, RFC 4121) wrapped in SPNEGO
 * (MS-SPNG / RFC 4178).  The session layer moves the tokens; NTLM and
 * SPNEGO are pure computation, Kerberos talks to the KDC through GSSAPI.
 * Returns 0 or a negative errno; -EBADMSG for a malformed server token. */
#ifndef SMB2FS_AUTH_H
#define SMB2FS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- The authentication step (auth.c): one mechanism in SPNEGO ----
 * SESSION_SETUP is a loop: auth_start gives the first security blob, each
 * STATUS_MORE_PROCESSING_REQUIRED reply's blob goes to auth_step for the
 * next one, and the STATUS_SUCCESS reply's blob to auth_finish (Kerberos
 * mutual authentication, the server's mechListMIC).  Then auth_session_key
 * gives the key, of whatever length the mechanism has (NTLM 16 bytes,
 * Kerberos 16 or 32). */
enum auth_sec {
	AUTH_SEC_NTLMSSP = 0, /* NTLMv2 with the NT hash */
	AUTH_SEC_KRB5,        /* Kerberos from a ccache or a keytab */
	AUTH_SEC_NONE,        /* anonymous NTLM: a guest session, no key */
};

/* What logging in (again) needs: never the password. */
struct auth_cred {
	enum auth_sec sec;
	const char *server;       /* the host name we connect to */
	/* NTLMSSP */
	const char *user;         /* UTF-8; also the Kerberos principal with a keytab */
	const char *domain;       /* may be NULL */
	const uint8_t *nt_hash;   /* 16 bytes */
	/* Kerberos */
	const char *spn;          /* service principal "cifs/host[@REALM]" or a GSS
				   * host-based name "cifs@host"; NULL: cifs@<server> */
	const char *ccache;       /* credential cache; NULL: KRB5CCNAME or the default */
	const char *keytab;       /* client keytab: tickets for `user` from it, into a
				   * private in-memory ccache; NULL: none */
	bool fresh_ticket;        /* renewing a session: a new service ticket from
				   * the KDC, not the cached one (which is about to
				   * end, or has by the server's clock) */
};

#define AUTH_MAX_KEY 64 /* longest session key a mechanism hands over */

struct auth_ctx;
int auth_new(const struct auth_cred *cred, struct auth_ctx **out);
void auth_free(struct auth_ctx *a);
/* "NTLM", "Kerberos": for messages. */
const char *auth_mech_name(const struct auth_ctx *a);
/* Seconds the established context stays valid (the Kerberos ticket's
 * remaining lifetime by our clock); 0: unlimited or unknown (NTLM). */
unsigned auth_lifetime(struct auth_ctx *a);
/* Who logged in, once established: the Kerberos client principal
 * ("alice@REALM"); -ENOENT for mechanisms that have none (NTLM). */
int auth_principal(struct auth_ctx *a, char *buf, size_t len);
/* Why the last call failed: a short phrase ("" if none). */
const char *auth_errmsg(const struct auth_ctx *a);
/* The first SESSION_SETUP blob (NegTokenInit, optimistic token). */
int auth_start(struct auth_ctx *a, uint8_t **blob, size_t *len);
/* A MORE_PROCESSING_REQUIRED reply's blob -> the next blob (malloc'ed).
 * -EPROTO: the reply is malformed or rejects us. */
int auth_step(struct auth_ctx *a, const uint8_t *blob, size_t len, uint8_t **out,
	      size_t *out_len);
/* The SUCCESS reply's blob (may be empty).  -EPROTO: malformed, or the
 * mechanism is not complete; -EKEYREJECTED: the server's mechListMIC does
 * not verify or (Kerberos) its AP-REP does not prove it holds the service
 * key. */
int auth_finish(struct auth_ctx *a, const uint8_t *blob, size_t len);
/* The session key; -ENOKEY for an anonymous login. */
int auth_session_key(struct auth_ctx *a, uint8_t key[AUTH_MAX_KEY], size_t *len);

/* The one-phrase explanation of a Kerberos failure (GSS major status and
 * its krb5 minor code), naming the SPN or the ccache when they are the
 * cause: "no Kerberos ticket in FILE:/tmp/x (run kinit)" and so on.
 * Exposed for tests. */
void auth_krb5_explain(uint32_t major, int32_t minor, const char *spn, const char *ccache,
		       const char *principal, char *msg, size_t len);

/* ---- NTLMSSP ---- */
struct ntlm_ctx;
struct ntlm_creds {
	const char *user;        /* UTF-8; "" with guest=true for anonymous/guest */
	const char *domain;      /* UTF-8; may be "" */
	const char *password;    /* UTF-8; ignored when nt_hash is given */
	const uint8_t *nt_hash;  /* 16-byte NT hash (ntlm_nt_hash), or NULL */
	const char *workstation; /* UTF-8; may be NULL */
	/* UTF-8 SPN of the server, e.g. "cifs/fileserver" (MS-NLMP 3.1.1.2
	 * ClientSuppliedTargetName), sent as MsvAvTargetName; NULL or "" = none */
	const char *target_name;
	bool guest;
};
/* The NT hash, MD4(UTF-16LE(password)) (MS-NLMP 3.3.1).  A client that must
 * log in again later keeps this instead of the password. */
int ntlm_nt_hash(const char *password, uint8_t out[16]);
/* Copies what it needs from creds (the password is reduced to its NT hash
 * at once and the copy is wiped on free). */
int ntlm_ctx_new(const struct ntlm_creds *creds, struct ntlm_ctx **out);
void ntlm_ctx_free(struct ntlm_ctx *ctx);
/* Type 1 NEGOTIATE_MESSAGE.  *out is malloc'ed; caller frees.  The context
 * keeps a copy: the AUTHENTICATE's MIC covers it. */
int ntlm_negotiate(struct ntlm_ctx *ctx, uint8_t **out, size_t *out_len);
/* Parses the type 2 CHALLENGE_MESSAGE (every offset checked) and builds the
 * type 3 AUTHENTICATE_MESSAGE with NTLMv2 response, key exchange
 * (NTLMSSP_NEGOTIATE_KEY_EXCH, RC4-encrypted random session key) when the
 * server offers it.  When the CHALLENGE carries MsvAvTimestamp (and the
 * login is not anonymous) the message also carries a MIC (MS-NLMP 3.1.5.1.2;
 * needs a prior ntlm_negotiate on this ctx, else -EINVAL) and the SPNEGO
 * layer must then send a mechListMIC (ntlm_sign_mech_list).
 * *out is malloc'ed. */
int ntlm_authenticate(struct ntlm_ctx *ctx, const uint8_t *challenge, size_t challenge_len,
		      uint8_t **out, size_t *out_len);
/* The 16-byte exported session key, valid after ntlm_authenticate. */
int ntlm_session_key(const struct ntlm_ctx *ctx, uint8_t key[16]);
/* True when the last AUTHENTICATE carried a MIC (MsvAvFlags bit 0x2): the
 * server then requires a SPNEGO mechListMIC. */
bool ntlm_mic_sent(const struct ntlm_ctx *ctx);
/* SPNEGO mechListMIC (MS-SPNG 3.1.5.1): the 16-byte NTLMSSP signature
 * (MS-NLMP 3.4.4.2, extended session security, SeqNum 0, a fresh RC4
 * handle) over `data`, the DER mechTypes list (spnego_ntlm_mech_types).
 * sign: ours, with the client-to-server keys.  verify: the server's, with
 * the server-to-client keys; 0 or -EBADMSG (also for mic_len != 16).
 * Both: -ENOKEY without a session key (anonymous, or before
 * ntlm_authenticate), -ENOTSUP without extended session security. */
int ntlm_sign_mech_list(struct ntlm_ctx *ctx, const uint8_t *data, size_t len, uint8_t out[16]);
int ntlm_verify_mech_list(struct ntlm_ctx *ctx, const uint8_t *data, size_t len,
			  const uint8_t *mic, size_t mic_len);

/* Deterministic overrides for published-vector tests only (MS-NLMP 4.2.4). */
struct ntlm_test_overrides {
	const uint8_t *client_challenge;      /* 8 bytes */
	const uint8_t *exported_session_key;  /* 16 bytes (random session key) */
	uint64_t timestamp;                   /* FILETIME; 0 = use server's/now */
};
void ntlm_ctx_set_test_overrides(struct ntlm_ctx *ctx, const struct ntlm_test_overrides *o);

/* Primitive exposed for vector tests: NTOWFv2 (MS-NLMP 3.3.2). */
int ntlm_ntowfv2(const char *password, const char *user, const char *domain, uint8_t out[16]);

/* Forces the NTLMv2 timestamp to exactly `filetime` (even 0, as in the
 * MS-NLMP 4.2.4 example), overriding the server's MsvAvTimestamp.  Tests only. */
void ntlm_ctx_set_test_timestamp(struct ntlm_ctx *ctx, uint64_t filetime);
/* Primitive exposed for vector tests (MS-NLMP 3.3.2): NTProofStr =
 * HMAC_MD5(ResponseKeyNT, ServerChallenge || temp) and SessionBaseKey =
 * HMAC_MD5(ResponseKeyNT, NTProofStr), from an NTLMv2 "temp" blob. */
int ntlm_v2_proof(const uint8_t response_key_nt[16], const uint8_t server_challenge[8],
		  const uint8_t *temp, size_t temp_len, uint8_t nt_proof[16],
		  uint8_t session_base_key[16]);
/* Primitive exposed for vector tests (MS-NLMP 3.1.5.1.2): MIC =
 * HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE) with
 * the AUTHENTICATE's MIC field (offset 72, 16 bytes) counted as zero. */
int ntlm_mic(const uint8_t exported_key[16], const uint8_t *neg, size_t neg_len,
	     const uint8_t *chal, size_t chal_len, const uint8_t *auth, size_t auth_len,
	     uint8_t out[16]);
/* Primitives exposed for vector tests (MS-NLMP 3.4.5.2 SIGNKEY, 3.4.5.3
 * SEALKEY with extended session security and 128-bit keys) and 3.4.4.2 MAC:
 * 01000000 || Checksum || SeqNum with Checksum = HMAC_MD5(sign_key,
 * SeqNum || msg)[0..7], RC4-encrypted with `seal` (KEY_EXCH) when non-NULL. */
int ntlm_sign_seal_keys(const uint8_t exported_key[16], bool client_to_server,
			uint8_t sign_key[16], uint8_t seal_key[16]);
struct smb2_rc4_stream;
int ntlm_mac(const uint8_t sign_key[16], struct smb2_rc4_stream *seal, uint32_t seq,
	     const uint8_t *msg, size_t len, uint8_t out[16]);

/* ---- SPNEGO ---- */
/* Mechanism OIDs the server listed in its NegTokenInit (NEGOTIATE response
 * security buffer).  An empty/absent blob means "no hints". */
struct spnego_hints {
	bool ntlmssp;
	bool krb5;   /* either the MS or the standard krb5 OID */
};
int spnego_parse_hints(const uint8_t *blob, size_t len, struct spnego_hints *hints);
/* The DER mechTypes SEQUENCE our NegTokenInit carries (30 0c 06 0a <NTLMSSP
 * OID>), byte for byte: what both mechListMICs are computed over.  Static
 * storage; always 0. */
int spnego_ntlm_mech_types(const uint8_t **der, size_t *len);
/* The same for Kerberos: 30 0b 06 09 <krb5 OID 1.2.840.113554.1.2.2>. */
int spnego_krb5_mech_types(const uint8_t **der, size_t *len);
/* NegTokenInit offering the mechTypes `types` (DER, as the two functions
 * above give) with mech_token as mechToken.  *out malloc'ed. */
int spnego_wrap_init(const uint8_t *types, size_t types_len, const uint8_t *mech_token,
		     size_t len, uint8_t **out, size_t *out_len);
/* NegTokenInit offering NTLMSSP with mech_token as mechToken. *out malloc'ed. */
int spnego_wrap_ntlm_init(const uint8_t *mech_token, size_t len, uint8_t **out, size_t *out_len);
/* NegTokenResp carrying responseToken (client's second leg; mech_token
 * NULL = none) and, when mic is given, mechListMIC [3]; mic NULL or
 * mic_len 0 = no mechListMIC.
 * *out malloc'ed. */
int spnego_wrap_resp(const uint8_t *mech_token, size_t len, const uint8_t *mic, size_t mic_len,
		     uint8_t **out, size_t *out_len);
/* Parses a server NegTokenResp: negState (-1 if absent; 0 accept-completed,
 * 1 accept-incomplete, 2 reject), responseToken and mechListMIC (both point
 * into blob; NULL/0 if absent).  mic and mic_len may both be NULL when the
 * caller does not want the mechListMIC. */
int spnego_parse_resp(const uint8_t *blob, size_t len, int *neg_state,
		      const uint8_t **token, size_t *token_len,
		      const uint8_t **mic, size_t *mic_len);

#endif

/* The authentication step of SESSION_SETUP: picks the mechanism for the
 * sec= mode and runs it inside SPNEGO (RFC 4178, MS-SPNG).  The mechanism
 * makes and reads its own tokens (mech_ntlm.c, mech_krb5.c); this file
 * wraps them, reads the server's NegTokenResp, and handles mechListMIC:
 * ours goes with the leg that completes the context whenever the
 * mechanism can make one (NTLM must, once its AUTHENTICATE has a MIC), or
 * alone when the server asks (negState request-mic); the server's is
 * verified whenever it sends one and we have a key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mech.h"
#include "smb2fs/auth.h"
#include "smb2fs/crypto.h"

#define NEG_REJECT 2      /* negState (RFC 4178 4.2.2) */
#define NEG_REQUEST_MIC 3

struct auth_ctx {
	const struct auth_mech_ops *ops;
	struct auth_mech *m;
	bool anonymous;   /* no key: no mechListMIC either way */
	bool established; /* the mechanism said MECH_DONE */
	bool mic_sent;
	bool mic_unsupported; /* NTLM without extended session security */
	char msg[256];
};

int auth_new(const struct auth_cred *cred, struct auth_ctx **out)
{
	if (!cred || !out)
		return -EINVAL;
	struct auth_ctx *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->ops = cred->sec == AUTH_SEC_KRB5 ? &auth_mech_krb5 : &auth_mech_ntlm;
	a->anonymous = cred->sec == AUTH_SEC_NONE;
	int r = a->ops->new(cred, &a->m, a->msg, sizeof(a->msg));
	if (r < 0) {
		/* keep the message for the caller: hand back the shell */
		a->m = NULL;
		*out = a;
		return r;
	}
	*out = a;
	return 0;
}

void auth_free(struct auth_ctx *a)
{
	if (!a)
		return;
	if (a->m)
		a->ops->free(a->m);
	smb2_secure_zero(a, sizeof(*a));
	free(a);
}

const char *auth_mech_name(const struct auth_ctx *a)
{
	return a ? a->ops->name : "?";
}

unsigned auth_lifetime(struct auth_ctx *a)
{
	return a && a->m && a->ops->lifetime ? a->ops->lifetime(a->m) : 0;
}

int auth_principal(struct auth_ctx *a, char *buf, size_t len)
{
	if (!a || !a->m || !a->ops->principal)
		return -ENOENT;
	return a->ops->principal(a->m, buf, len);
}

const char *auth_errmsg(const struct auth_ctx *a)
{
	return a ? a->msg : "";
}

static int fail(struct auth_ctx *a, int r, const char *what)
{
	snprintf(a->msg, sizeof(a->msg), "%s", what);
	return r;
}

int auth_start(struct auth_ctx *a, uint8_t **blob, size_t *len)
{
	const uint8_t *types;
	size_t types_len;
	uint8_t *tok = NULL;
	size_t tok_len = 0;

	if (!a || !a->m || !blob || !len)
		return -EINVAL;
	int r = a->ops->mech_types(&types, &types_len);
	if (r == 0)
		r = a->ops->start(a->m, &tok, &tok_len, a->msg, sizeof(a->msg));
	if (r < 0)
		return r;
	r = spnego_wrap_init(types, types_len, tok, tok_len, blob, len);
	smb2_secure_zero(tok, tok_len);
	free(tok);
	if (r < 0)
		return fail(a, r, "cannot build the SPNEGO token");
	return 0;
}

/* Our mechListMIC over the mechTypes we offered, or none (*mic NULL). */
static int make_mic(struct auth_ctx *a, uint8_t **mic, size_t *mic_len)
{
	const uint8_t *types;
	size_t types_len;

	*mic = NULL;
	*mic_len = 0;
	if (a->anonymous)
		return 0;
	int r = a->ops->mech_types(&types, &types_len);
	if (r == 0)
		r = a->ops->get_mic(a->m, types, types_len, mic, mic_len);
	/* A server without extended session security (pre-2000) cannot check
	 * one; it is required only with an NTLM MIC. */
	if (r == -ENOTSUP && !a->ops->mic_required(a->m)) {
		a->mic_unsupported = true;
		return 0;
	}
	if (r < 0)
		return fail(a, r, "cannot sign the SPNEGO mechanism list");
	a->mic_sent = true;
	return 0;
}

int auth_step(struct auth_ctx *a, const uint8_t *blob, size_t len, uint8_t **out, size_t *out_len)
{
	const uint8_t *in = NULL;
	size_t in_len = 0;
	uint8_t *tok = NULL, *mic = NULL;
	size_t tok_len = 0, mic_len = 0;
	int state = -1;

	if (!a || !a->m || !out || !out_len)
		return -EINVAL;
	if (spnego_parse_resp(blob, len, &state, &in, &in_len, NULL, NULL) < 0 ||
	    state == NEG_REJECT)
		return fail(a, -EPROTO, "malformed SESSION_SETUP reply");
	int r;
	if (a->established) {
		/* The context is complete; only a request for our MIC may
		 * still come (RFC 4178 5, negState request-mic). */
		if (in || state != NEG_REQUEST_MIC)
			return fail(a, -EPROTO, "malformed SESSION_SETUP reply");
		r = MECH_DONE;
	} else {
		if (!in)
			return fail(a, -EPROTO, "malformed SESSION_SETUP reply");
		r = a->ops->step(a->m, in, in_len, &tok, &tok_len, a->msg, sizeof(a->msg));
		if (r < 0)
			return r;
	}
	if (r == MECH_DONE) {
		a->established = true;
		if (!a->mic_sent) {
			r = make_mic(a, &mic, &mic_len);
			if (r < 0)
				goto out;
		}
	}
	r = spnego_wrap_resp(tok, tok_len, mic, mic_len, out, out_len);
	if (r < 0)
		fail(a, r, "cannot build the SPNEGO token");
out:
	if (tok)
		smb2_secure_zero(tok, tok_len);
	free(tok);
	free(mic);
	return r;
}

int auth_finish(struct auth_ctx *a, const uint8_t *blob, size_t len)
{
	const uint8_t *in = NULL, *smic = NULL;
	size_t in_len = 0, smic_len = 0;
	int state = -1;

	if (!a || !a->m)
		return -EINVAL;
	/* A guest or anonymous login has nothing to check (no key). */
	if (a->anonymous)
		return 0;
	if (len) {
		if (spnego_parse_resp(blob, len, &state, &in, &in_len, &smic, &smic_len) < 0 ||
		    state == NEG_REJECT)
			return fail(a, -EPROTO, "malformed SPNEGO reply to a successful login");
	}
	if (!a->established) {
		uint8_t *tok = NULL;
		size_t tok_len = 0;
		/* Kerberos: the AP-REP proves the server holds the service key
		 * (mutual authentication); without it there is no proof. */
		int r = a->ops->step(a->m, in, in_len, &tok, &tok_len, a->msg, sizeof(a->msg));
		free(tok);
		if (r < 0)
			return r;
		if (r != MECH_DONE || tok)
			return fail(a, -EPROTO, "login reply that ends the login before "
				    "authentication is complete");
		a->established = true;
	}
	/* The server's mechListMIC, when it sends one, proves it saw the same
	 * mechanism list and holds the same session key. */
	if (smic && !a->mic_unsupported) {
		const uint8_t *types;
		size_t types_len;
		int r = a->ops->mech_types(&types, &types_len);
		if (r == 0)
			r = a->ops->verify_mic(a->m, types, types_len, smic, smic_len);
		if (r < 0)
			return fail(a, -EKEYREJECTED, "the SPNEGO mechListMIC in its login reply does not "
				    "verify (tampered with, or not the server that checked the credentials)");
	}
	return 0;
}

int auth_session_key(struct auth_ctx *a, uint8_t key[AUTH_MAX_KEY], size_t *len)
{
	if (!a || !a->m || !key || !len)
		return -EINVAL;
	if (a->anonymous)
		return -ENOKEY;
	if (!a->established)
		return -EINVAL;
	return a->ops->session_key(a->m, key, AUTH_MAX_KEY, len);
}

/* NTLMSSP as an authentication mechanism (mech.h) over ntlmssp.c: two
 * legs, NEGOTIATE then AUTHENTICATE (which completes the context), and the
 * NTLMSSP signature as mechListMIC.  AUTH_SEC_NONE is the anonymous form
 * (a guest session: no key, no MIC). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mech.h"
#include "smb2fs/crypto.h"

struct auth_mech {
	struct ntlm_ctx *ntlm;
};

static int ntlm_new(const struct auth_cred *cred, struct auth_mech **out, char *msg, size_t len)
{
	/* MsvAvTargetName (MS-NLMP 2.2.2.1): the service this login is for,
	 * covered by the NTLMv2 proof, so it cannot be relayed elsewhere. */
	char spn[300];
	snprintf(spn, sizeof(spn), "cifs/%s", cred->server ? cred->server : "");
	bool guest = cred->sec == AUTH_SEC_NONE;
	struct ntlm_creds cr = {
		.user = guest || !cred->user ? "" : cred->user,
		.domain = guest || !cred->domain ? "" : cred->domain,
		.nt_hash = cred->nt_hash,
		.guest = guest,
		.target_name = spn,
	};
	if (!guest && !cred->nt_hash)
		return -EINVAL;
	struct auth_mech *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	int r = ntlm_ctx_new(&cr, &m->ntlm);
	if (r < 0) {
		snprintf(msg, len, "cannot start NTLM authentication: %s", strerror(-r));
		free(m);
		return r;
	}
	*out = m;
	return 0;
}

static int ntlm_start(struct auth_mech *m, uint8_t **tok, size_t *tok_len, char *msg, size_t len)
{
	int r = ntlm_negotiate(m->ntlm, tok, tok_len);
	if (r < 0)
		snprintf(msg, len, "cannot build the NTLM negotiate token: %s", strerror(-r));
	return r;
}

static int ntlm_step(struct auth_mech *m, const uint8_t *in, size_t in_len, uint8_t **tok,
		     size_t *tok_len, char *msg, size_t len)
{
	if (!in) {
		snprintf(msg, len, "malformed SESSION_SETUP reply");
		return -EPROTO;
	}
	int r = ntlm_authenticate(m->ntlm, in, in_len, tok, tok_len);
	if (r < 0) {
		snprintf(msg, len, "sent an NTLM challenge that cannot be answered (%s)", strerror(-r));
		return r;
	}
	return MECH_DONE;
}

static int ntlm_key(struct auth_mech *m, uint8_t *key, size_t cap, size_t *key_len)
{
	if (cap < 16)
		return -EINVAL;
	int r = ntlm_session_key(m->ntlm, key);
	if (r == 0)
		*key_len = 16;
	return r;
}

static int ntlm_get_mic(struct auth_mech *m, const uint8_t *data, size_t len, uint8_t **mic,
			size_t *mic_len)
{
	uint8_t *p = malloc(16);
	if (!p)
		return -ENOMEM;
	int r = ntlm_sign_mech_list(m->ntlm, data, len, p);
	if (r < 0) {
		free(p);
		return r;
	}
	*mic = p;
	*mic_len = 16;
	return 0;
}

static int ntlm_verify_mic(struct auth_mech *m, const uint8_t *data, size_t len,
			   const uint8_t *mic, size_t mic_len)
{
	return ntlm_verify_mech_list(m->ntlm, data, len, mic, mic_len);
}

static bool ntlm_mic_required(struct auth_mech *m)
{
	return ntlm_mic_sent(m->ntlm);
}

static void ntlm_free(struct auth_mech *m)
{
	ntlm_ctx_free(m->ntlm); /* wipes its keys */
	free(m);
}

const struct auth_mech_ops auth_mech_ntlm = {
	.name = "NTLM",
	.mech_types = spnego_ntlm_mech_types,
	.new = ntlm_new,
	.start = ntlm_start,
	.step = ntlm_step,
	.session_key = ntlm_key,
	.get_mic = ntlm_get_mic,
	.verify_mic = ntlm_verify_mic,
	.mic_required = ntlm_mic_required,
	.free = ntlm_free,
};

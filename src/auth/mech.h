/* One authentication mechanism behind SPNEGO (auth.c drives it).  Private
 * to src/auth: one file per mechanism (mech_ntlm.c, mech_krb5.c) fills an
 * auth_mech_ops table.  Every function returns 0 or a negative errno and
 * on failure leaves a short phrase in msg (no server name, no status: the
 * session layer builds the sentence). */
#ifndef SMB2FS_AUTH_MECH_H
#define SMB2FS_AUTH_MECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2fs/auth.h"

/* step() results besides errors */
#define MECH_DONE 0 /* context established (a last token may still go out) */
#define MECH_MORE 1 /* the server must answer *tok */

struct auth_mech;

struct auth_mech_ops {
	const char *name; /* "NTLM", "Kerberos": for messages */
	/* mechTypes of our NegTokenInit, DER (SEQUENCE OF OID), byte for
	 * byte: both mechListMICs cover exactly these bytes. */
	int (*mech_types)(const uint8_t **der, size_t *len);
	/* Copies what it needs from cred; *out is the mechanism's state. */
	int (*new)(const struct auth_cred *cred, struct auth_mech **out, char *msg, size_t len);
	/* The optimistic first token (malloc'ed). */
	int (*start)(struct auth_mech *m, uint8_t **tok, size_t *tok_len, char *msg, size_t len);
	/* The server's token -> MECH_MORE with *tok to send, or MECH_DONE
	 * (*tok may be NULL).  A NULL `in` is a final reply without one. */
	int (*step)(struct auth_mech *m, const uint8_t *in, size_t in_len, uint8_t **tok,
		    size_t *tok_len, char *msg, size_t len);
	/* The established context's session key (up to cap bytes). */
	int (*session_key)(struct auth_mech *m, uint8_t *key, size_t cap, size_t *key_len);
	/* mechListMIC over data: ours (malloc'ed) and the server's.  -ENOKEY
	 * when the context has no key (anonymous), -ENOTSUP when it cannot. */
	int (*get_mic)(struct auth_mech *m, const uint8_t *data, size_t len, uint8_t **mic,
		       size_t *mic_len);
	int (*verify_mic)(struct auth_mech *m, const uint8_t *data, size_t len, const uint8_t *mic,
			  size_t mic_len);
	/* Whether our last token obliges us to send a mechListMIC (NTLM with
	 * a MIC in AUTHENTICATE, MS-SPNG 3.1.5.1). */
	bool (*mic_required)(struct auth_mech *m);
	/* Who the established context logged in as ("alice@REALM"), for
	 * messages such as "run kinit alice@REALM"; optional (NULL op). */
	int (*principal)(struct auth_mech *m, char *buf, size_t len);
	/* Seconds the established context lasts; 0: unlimited (optional). */
	unsigned (*lifetime)(struct auth_mech *m);
	void (*free)(struct auth_mech *m);
};

extern const struct auth_mech_ops auth_mech_ntlm;
extern const struct auth_mech_ops auth_mech_krb5;

#endif

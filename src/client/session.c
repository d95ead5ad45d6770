/* Establishing a session: TCP connect -> NEGOTIATE -> SESSION_SETUP
 * (the authentication step of auth.h: NTLMv2 or Kerberos in SPNEGO) ->
 * TREE_CONNECT, with the 3.1.1 preauth
 * integrity chain and signing keys.  Every failure ends in one plain
 * sentence naming what failed and the NT status (client.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_i.h"
#include "smb2fs/auth.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

static const uint16_t all_dialects[] = {SMB2_DIALECT_202, SMB2_DIALECT_210, SMB2_DIALECT_300,
					SMB2_DIALECT_302, SMB2_DIALECT_311};

static const char *dialect_str(uint16_t d)
{
	switch (d) {
	case SMB2_DIALECT_202: return "2.0.2";
	case SMB2_DIALECT_210: return "2.1";
	case SMB2_DIALECT_300: return "3.0";
	case SMB2_DIALECT_302: return "3.0.2";
	case SMB2_DIALECT_311: return "3.1.1";
	default: return "unknown";
	}
}

/* "STATUS_X" for the statuses the messages explain, "STATUS_X (0x...)" or
 * "NT status 0x..." for the rest, so every status reaches the user. */
const char *status_desc(uint32_t st, char *buf, size_t len)
{
	const char *name = nt_status_name(st);
	if (name)
		snprintf(buf, len, "%s, 0x%08X", name, st);
	else
		snprintf(buf, len, "NT status 0x%08X", st);
	return buf;
}

static void user_desc(const struct smb2_client *c, char *buf, size_t len)
{
	if (c->guest)
		snprintf(buf, len, "guest");
	else if (c->krb5 && (!c->user || !*c->user))
		snprintf(buf, len, "the Kerberos ticket's principal");
	else if (c->domain && *c->domain)
		snprintf(buf, len, "%s\\%s", c->domain, c->user ? c->user : "");
	else
		snprintf(buf, len, "%s", c->user ? c->user : "");
}

/* A transport failure in the middle of the handshake. */
static void transport_msg(struct smb2_client *c, const char *step, int err, char *msg, size_t len)
{
	const char *why = strerror(-err);
	if (err == -ECONNRESET)
		why = "the server closed the connection";
	else if (err == -EBADMSG && c->have_key) {
		why = "the reply was not signed correctly, and signing is required";
		c->refused = true; /* an attack or a broken server, not a hiccup */
	}
	else if (err == -EBADMSG)
		why = "the server sent a malformed reply";
	snprintf(msg, len, "connection to %s:%u failed during %s: %s", c->server, c->port, step, why);
}

/* Asks for this one request to be signed although signing is not required
 * for the session (conn.c signs it when the session has a key). */
static void sign_this_request(struct wbuf *w)
{
	if (w->len >= SMB2_HDR_SIZE)  /* else w->err is set and it is never sent */
		smb2_hdr_add_flags(w->p, SMB2_FLAGS_SIGNED);
}

/* Sends one handshake request and waits for its reply.  w stays valid
 * (the preauth hash needs the bytes as sent); the caller frees it. */
static int handshake_call(struct smb2_client *c, struct wbuf *w, int enc, struct smb2_reply *rep,
			  const char *step, char *msg, size_t len)
{
	int e = wbuf_check(w, enc);  /* a failed encoding is never sent */
	if (e) {
		snprintf(msg, len, "cannot build the %s request: %s", step, strerror(-e));
		return e;
	}
	int r = smb2_conn_call(c->conn, w, 0, c->timeout_sec, rep);
	if (r < 0)
		transport_msg(c, step, r, msg, len);
	return r;
}

/* What this client offered in NEGOTIATE: VALIDATE_NEGOTIATE_INFO repeats it. */
struct neg_offer {
	uint16_t dialects[5];
	unsigned n;
	uint16_t security_mode;
	uint32_t capabilities;
};

static void make_offer(const struct smb2_client *c, struct neg_offer *o)
{
	o->n = 0;
	for (unsigned i = 0; i < 5; i++)
		if (all_dialects[i] >= c->min_dialect && all_dialects[i] <= c->max_dialect)
			o->dialects[o->n++] = all_dialects[i];
	o->security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED |
			   (c->require_signing ? SMB2_NEGOTIATE_SIGNING_REQUIRED : 0);
	o->capabilities = SMB2_GLOBAL_CAP_LARGE_MTU | (c->leasing ? SMB2_GLOBAL_CAP_LEASING : 0);
	/* 3.0/3.0.2 encrypt (AES-128-CCM) only when both say they can; 3.1.1
	 * picks its cipher from the ENCRYPTION_CAPABILITIES context, but Samba
	 * answers that context only when the capability is set too. */
	if (c->max_dialect >= SMB2_DIALECT_300)
		o->capabilities |= SMB2_GLOBAL_CAP_ENCRYPTION;
}

/* 3.1.1 ciphers in order of preference: GCM is several times faster than
 * CCM; 128-bit keys first as Windows does (AES-256 when the server wants it). */
static const uint16_t offered_ciphers[] = {SMB2_CIPHER_AES128_GCM, SMB2_CIPHER_AES128_CCM,
					   SMB2_CIPHER_AES256_GCM, SMB2_CIPHER_AES256_CCM};

static int negotiate(struct smb2_client *c, const struct neg_offer *o, struct smb2_preauth *pa,
		     struct smb2_negotiate_rsp *neg, struct smb2_reply *rep, char *msg, size_t len)
{
	const uint16_t *dialects = o->dialects;
	unsigned n = o->n;
	uint8_t salt[32];
	smb2_random(salt, sizeof(salt));
	/* Preference order: GMAC is several times cheaper than CMAC, which
	 * matters since every message is signed by default. */
	static const uint16_t sign_algs[] = {SMB2_SIGNING_AES_GMAC, SMB2_SIGNING_AES_CMAC,
					     SMB2_SIGNING_HMAC_SHA256};
	struct smb2_negotiate_req q = {
		.security_mode = o->security_mode,
		.capabilities = o->capabilities,
		.dialects = dialects,
		.n_dialects = n,
		.preauth_salt = salt,
		.preauth_salt_len = sizeof(salt),
		.sign_algs = sign_algs,
		.n_sign_algs = sizeof(sign_algs) / sizeof(sign_algs[0]),
		.ciphers = offered_ciphers,
		.n_ciphers = sizeof(offered_ciphers) / sizeof(offered_ciphers[0]),
		.netname = c->server,
	};
	memcpy(q.client_guid, c->client_guid, 16);

	struct wbuf w;
	req_start(c, &w, SMB2_NEGOTIATE);
	int r = handshake_call(c, &w, smb2_negotiate_encode(&w, &q), rep, "NEGOTIATE", msg, len);
	if (r < 0) {
		wbuf_free(&w);
		return r;
	}
	smb2_preauth_init(pa);
	smb2_preauth_update(pa, w.p, w.len);
	wbuf_free(&w);

	char sb[64];
	if (rep->hdr.status != STATUS_SUCCESS) {
		snprintf(msg, len, "server %s refused every SMB dialect from %s to %s (%s)", c->server,
			 dialect_str(dialects[0]), dialect_str(dialects[n - 1]),
			 status_desc(rep->hdr.status, sb, sizeof(sb)));
		return -EPROTONOSUPPORT;
	}
	r = smb2_negotiate_decode(rep->msg, rep->len, neg);
	if (r < 0) {
		snprintf(msg, len, "server %s sent a malformed NEGOTIATE reply", c->server);
		return -EPROTO;
	}
	bool offered = false;
	for (unsigned i = 0; i < n; i++)
		offered |= dialects[i] == neg->dialect;
	if (!offered) {
		snprintf(msg, len, "server %s chose SMB dialect 0x%04x, which was not offered (%s to %s)",
			 c->server, neg->dialect, dialect_str(dialects[0]), dialect_str(dialects[n - 1]));
		return -EPROTONOSUPPORT;
	}
	if (neg->dialect == SMB2_DIALECT_311) {
		if (neg->has_signing && neg->signing_alg != SMB2_SIGNING_AES_GMAC &&
		    neg->signing_alg != SMB2_SIGNING_AES_CMAC &&
		    neg->signing_alg != SMB2_SIGNING_HMAC_SHA256) {
			snprintf(msg, len, "server %s chose signing algorithm %u, which was not offered",
				 c->server, neg->signing_alg);
			return -EPROTO;
		}
		/* CipherId 0: no cipher in common (MS-SMB2 3.3.5.4). */
		bool known = !neg->has_cipher || neg->cipher == 0;
		for (unsigned i = 0; i < sizeof(offered_ciphers) / sizeof(offered_ciphers[0]); i++)
			known |= neg->cipher == offered_ciphers[i];
		if (!known) {
			snprintf(msg, len, "server %s chose cipher %u, which was not offered", c->server,
				 neg->cipher);
			return -EPROTO;
		}
		if (!neg->has_preauth || neg->preauth_hash_alg != SMB2_PREAUTH_HASH_SHA512) {
			snprintf(msg, len, "server %s negotiated SMB 3.1.1 without SHA-512 preauth integrity",
				 c->server);
			return -EPROTO;
		}
		smb2_preauth_update(pa, rep->msg, rep->len);
	}
	return 0;
}

static void set_limits(struct smb2_client *c, const struct smb2_negotiate_rsp *neg)
{
	c->dialect = neg->dialect;
	memcpy(c->server_guid, neg->server_guid, 16);
	c->server_caps = neg->capabilities;
	bool multi = neg->dialect >= SMB2_DIALECT_210 && (neg->capabilities & SMB2_GLOBAL_CAP_LARGE_MTU);
	/* Without multi-credit requests one message carries at most 64 KiB;
	 * with them we still stay at 1 MiB, FUSE's largest request. */
	uint32_t cap = multi ? 1024 * 1024 : 65536;
	c->max_read = neg->max_read_size < cap ? neg->max_read_size : cap;
	c->max_write = neg->max_write_size < cap ? neg->max_write_size : cap;
	c->max_trans = neg->max_transact_size < cap ? neg->max_transact_size : cap;
	/* rsize=/wsize= (mount.cifs): never more than asked, in whole pages */
	if (c->rsize_cap && c->max_read > c->rsize_cap)
		c->max_read = c->rsize_cap & ~4095u;
	if (c->wsize_cap && c->max_write > c->wsize_cap)
		c->max_write = c->wsize_cap & ~4095u;
	if (c->max_read < 4096)
		c->max_read = 4096;
	if (c->max_write < 4096)
		c->max_write = 4096;
	if (c->max_trans < 4096)
		c->max_trans = 4096;
	smb2_conn_set_multi_credit(c->conn, multi);
	if (neg->dialect == SMB2_DIALECT_311)
		c->cipher = neg->has_cipher ? neg->cipher : 0;
	else if (neg->dialect >= SMB2_DIALECT_300 && (neg->capabilities & SMB2_GLOBAL_CAP_ENCRYPTION))
		c->cipher = SMB2_CIPHER_AES128_CCM;
	else
		c->cipher = 0;
}

static const char *cipher_str(uint16_t cipher)
{
	switch (cipher) {
	case SMB2_CIPHER_AES128_CCM: return "AES-128-CCM";
	case SMB2_CIPHER_AES128_GCM: return "AES-128-GCM";
	case SMB2_CIPHER_AES256_CCM: return "AES-256-CCM";
	case SMB2_CIPHER_AES256_GCM: return "AES-256-GCM";
	default: return "none";
	}
}

/* Encryption the mount needs before a session exists: `seal`, or a floor
 * that was encrypted.  Returns 0 or -EPROTONOSUPPORT with msg. */
static int check_can_encrypt(struct smb2_client *c, char *msg, size_t len)
{
	if (c->cipher || (!c->seal_asked && !c->floor.encrypted))
		return 0;
	if (c->floor.encrypted)
		snprintf(msg, len, "the server no longer offers encryption (SMB %s), and this mount "
			 "started encrypted", dialect_str(c->dialect));
	else if (c->dialect < SMB2_DIALECT_300)
		snprintf(msg, len, "cannot encrypt with %s: it negotiated SMB %s, and encryption needs "
			 "SMB 3.0 or later (the 'seal' option)", c->server, dialect_str(c->dialect));
	else
		snprintf(msg, len, "cannot encrypt with %s: the server offers no cipher this client "
			 "supports (the 'seal' option requires encryption)", c->server);
	c->refused = true;
	return -EPROTONOSUPPORT;
}

/* A reconnect must reach the same server with at least what the first
 * session had (client_i.h, struct session_floor).  Returns 0 or -EPERM with
 * the reason in msg. */
static int check_negotiate_floor(struct smb2_client *c, char *msg, size_t len)
{
	const struct session_floor *f = &c->floor;
	if (!f->set)
		return 0;
	if (c->dialect != f->dialect)
		snprintf(msg, len, "the server now negotiates SMB %s, %s the SMB %s this mount started with",
			 dialect_str(c->dialect), c->dialect < f->dialect ? "below" : "not",
			 dialect_str(f->dialect));
	else if (memcmp(c->server_guid, f->server_guid, 16) != 0)
		snprintf(msg, len, "the server's GUID changed: another server answers at %s", c->server);
	else
		return 0;
	c->refused = true;
	return -EPERM;
}

static void logon_failure_msg(struct smb2_client *c, uint32_t st, char *msg, size_t len)
{
	char who[300], sb[64];
	const char *why;
	user_desc(c, who, sizeof(who));
	switch (st) {
	case STATUS_LOGON_FAILURE:
	case STATUS_WRONG_PASSWORD:
		why = "wrong user name or password";
		break;
	case STATUS_ACCOUNT_DISABLED: why = "the account is disabled"; break;
	case STATUS_ACCOUNT_LOCKED_OUT: why = "the account is locked out"; break;
	case STATUS_ACCOUNT_EXPIRED: why = "the account has expired"; break;
	case STATUS_PASSWORD_EXPIRED: why = "the password has expired"; break;
	case STATUS_PASSWORD_MUST_CHANGE: why = "the password must be changed first"; break;
	case STATUS_ACCOUNT_RESTRICTION: why = "an account restriction forbids this logon"; break;
	case STATUS_INVALID_LOGON_HOURS: why = "logons are not allowed at this time"; break;
	case STATUS_INVALID_WORKSTATION: why = "logons are not allowed from this machine"; break;
	default: why = NULL;
	}
	if (why)
		snprintf(msg, len, "cannot log in to %s as '%s': %s (%s)", c->server, who, why,
			 nt_status_name(st) ? nt_status_name(st) : "?");
	else
		snprintf(msg, len, "cannot log in to %s as '%s': %s", c->server, who,
			 status_desc(st, sb, sizeof(sb)));
}

/* One SESSION_SETUP round trip carrying blob.  pa is a new session's
 * 3.1.1 preauth hash; a re-login (pa NULL) hashes nothing, since its keys
 * are not derived again, and replaces no earlier session. */
static int session_setup_leg(struct smb2_client *c, struct smb2_preauth *pa, bool hash_reply,
			     const uint8_t *blob, size_t blob_len, struct smb2_reply *rep,
			     char *msg, size_t len)
{
	struct smb2_session_setup_req q = {
		.security_mode = SMB2_NEGOTIATE_SIGNING_ENABLED |
				 (c->require_signing ? SMB2_NEGOTIATE_SIGNING_REQUIRED : 0),
		.blob = blob,
		.blob_len = blob_len,
		/* MS-SMB2 3.2.4.2.3: lets the server drop the session this
		 * one replaces (its opens and locks) at once. */
		.previous_session_id = pa ? c->prev_session_id : 0,
	};
	struct wbuf w;
	req_start(c, &w, SMB2_SESSION_SETUP);
	int enc = smb2_session_setup_encode(&w, &q);
	if (!pa)  /* MS-SMB2 3.2.4.1.1: with the session's signing key */
		sign_this_request(&w);
	int r = handshake_call(c, &w, enc, rep, "SESSION_SETUP", msg, len);
	if (r < 0) {
		wbuf_free(&w);
		return r;
	}
	if (c->dialect == SMB2_DIALECT_311 && pa) {
		smb2_preauth_update(pa, w.p, w.len);
		/* The final (SUCCESS) reply is not part of the chain. */
		if (hash_reply && rep->hdr.status == STATUS_MORE_PROCESSING_REQUIRED)
			smb2_preauth_update(pa, rep->msg, rep->len);
	}
	wbuf_free(&w);
	return 0;
}

static enum smb2_sign_alg sign_alg_for(const struct smb2_client *c, const struct smb2_negotiate_rsp *neg)
{
	if (c->dialect < SMB2_DIALECT_300)
		return SMB2_SIGN_HMAC_SHA256;
	if (c->dialect == SMB2_DIALECT_311 && neg->has_signing)
		return (enum smb2_sign_alg)neg->signing_alg;
	return SMB2_SIGN_AES_CMAC;
}

/* A hostile server could answer MORE_PROCESSING_REQUIRED for ever. */
#define MAX_SETUP_LEGS 8

static void auth_cred_for(const struct smb2_client *c, struct auth_cred *cr)
{
	*cr = (struct auth_cred){
		.sec = c->guest ? AUTH_SEC_NONE : c->krb5 ? AUTH_SEC_KRB5 : AUTH_SEC_NTLMSSP,
		.server = c->server,
		.user = c->user,
		.domain = c->domain,
		.nt_hash = c->nt_hash,
		.spn = c->spn,
		.ccache = c->ccache,
		.keytab = c->keytab,
	};
}

/* "cannot log in to S with Kerberos: <why>" / "... as 'U': <why>". */
static void auth_fail_msg(struct smb2_client *c, struct auth_ctx *a, char *msg, size_t len)
{
	char who[300];
	if (c->krb5) {
		snprintf(msg, len, "cannot log in to %s with Kerberos: %s", c->server, auth_errmsg(a));
		return;
	}
	user_desc(c, who, sizeof(who));
	snprintf(msg, len, "cannot log in to %s as '%s': %s", c->server, who, auth_errmsg(a));
}

/* The SESSION_SETUP loop: the mechanism's tokens in SPNEGO (auth.h) until
 * the server says SUCCESS, then the mechanism's last check.  On success
 * the reply stays in *rep for the caller.  pa: see session_setup_leg; a
 * re-login that cannot even start (no fresh ticket) is -EKEYEXPIRED. */
static int run_auth(struct smb2_client *c, struct smb2_preauth *pa, struct auth_ctx *a,
		    struct smb2_reply *rep, struct smb2_session_setup_rsp *ss, char *msg, size_t len)
{
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	int r = auth_start(a, &blob, &blob_len);
	c->no_credential = r < 0 && r != -ENOMEM && c->krb5; /* no service ticket */
	if (r < 0) {
		auth_fail_msg(c, a, msg, len);
		return pa || r == -ENOMEM ? r : -EKEYEXPIRED;
	}
	for (int leg = 0;; leg++) {
		r = session_setup_leg(c, pa, true, blob, blob_len, rep, msg, len);
		smb2_secure_zero(blob, blob_len);
		free(blob);
		blob = NULL;
		if (r < 0)
			return r;
		uint32_t st = rep->hdr.status;
		if (st != STATUS_MORE_PROCESSING_REQUIRED && st != STATUS_SUCCESS) {
			if (c->krb5) {
				char sb[64];
				snprintf(msg, len, "cannot log in to %s with Kerberos: the server refused "
					 "the ticket (%s)", c->server, status_desc(st, sb, sizeof(sb)));
			} else {
				logon_failure_msg(c, st, msg, len);
			}
			return st == STATUS_LOGON_FAILURE || leg == 0 ? -EACCES : -EPERM;
		}
		c->session_id = rep->hdr.session_id;
		if (smb2_session_setup_decode(rep->msg, rep->len, ss) < 0) {
			snprintf(msg, len, "server %s sent a malformed SESSION_SETUP reply", c->server);
			return -EPROTO;
		}
		if (st == STATUS_SUCCESS)
			break;
		if (leg + 1 >= MAX_SETUP_LEGS) {
			snprintf(msg, len, "server %s: the login did not end after %d rounds", c->server,
				 MAX_SETUP_LEGS);
			return -EPROTO;
		}
		r = auth_step(a, ss->blob, ss->blob_len, &blob, &blob_len);
		smb2_reply_free(rep);
		if (r == -EPROTO) {
			snprintf(msg, len, "server %s sent a malformed SESSION_SETUP reply", c->server);
			return r;
		}
		if (r < 0) {
			/* NTLM: "server S sent an NTLM challenge that cannot be
			 * answered"; Kerberos: a KDC or ticket problem. */
			if (c->krb5)
				auth_fail_msg(c, a, msg, len);
			else
				snprintf(msg, len, "server %s %s", c->server, auth_errmsg(a));
			return r;
		}
	}
	/* A guest or null session has no key: nothing after this point could
	 * be signed or checked (not the 3.1.1 handshake, not VALIDATE_NEGOTIATE).
	 * Unasked for, it is the server (or whoever answers for it) choosing a
	 * weaker mount than the user's; refused as Windows 11 24H2 does. */
	uint16_t anon_flags = ss->session_flags & (SMB2_SESSION_FLAG_IS_GUEST | SMB2_SESSION_FLAG_IS_NULL);
	if (anon_flags && !c->guest) {
		char who[300];
		user_desc(c, who, sizeof(who));
		snprintf(msg, len, "server %s logged '%s' in %s; refusing (use -o guest to accept an "
			 "unauthenticated session)", c->server, who,
			 (anon_flags & SMB2_SESSION_FLAG_IS_NULL) ? "anonymously (null session)" : "as guest");
		c->refused = true;
		return -EACCES;
	}
	r = auth_finish(a, ss->blob, ss->blob_len);
	if (r == -EKEYREJECTED) {
		snprintf(msg, len, "server %s: %s", c->server, auth_errmsg(a));
		c->refused = true;
		return -EBADMSG;
	}
	if (r < 0) {
		snprintf(msg, len, "server %s sent a %s", c->server, auth_errmsg(a));
		return -EPROTO;
	}
	return 0;
}

/* A Kerberos session ends with its service ticket (Samba then answers
 * STATUS_NETWORK_SESSION_EXPIRED, up to a second before the ticket's end
 * by its clock).  client_run logs in again a little ahead of that, so
 * requests do not meet the expiry at all.  A re-login that did not move
 * the end (the TGT ends there too) is not repeated ahead of time. */
static void note_session_end(struct smb2_client *c, struct auth_ctx *a, bool renewal)
{
	unsigned life = auth_lifetime(a);
	if (!life) {
		c->session_end = c->renew_at = 0;
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	time_t end = now.tv_sec + (time_t)life;
	unsigned ahead = life / 8 < 2 ? 2 : life / 8 > 300 ? 300 : life / 8;
	bool later = !renewal || end > c->session_end + 1;
	c->renew_at = later ? end - (time_t)ahead : 0;
	c->session_end = end;
}

/* The mechanism for a login with the mount's credential; a renewal asks
 * for a new ticket (auth_cred.fresh_ticket).  *a is set even on failure
 * (the caller frees it); msg says why. */
static int auth_begin(struct smb2_client *c, bool renewal, struct auth_ctx **a, char *msg,
		      size_t len)
{
	struct auth_cred cr;
	auth_cred_for(c, &cr);
	cr.fresh_ticket = renewal;
	int r = auth_new(&cr, a);
	c->no_credential = r < 0 && r != -ENOMEM && c->krb5;
	if (r < 0) {
		if (*a && auth_errmsg(*a)[0])
			auth_fail_msg(c, *a, msg, len);
		else
			snprintf(msg, len, "cannot start %s authentication: %s",
				 c->krb5 ? "Kerberos" : "NTLM", strerror(-r));
	}
	return r;
}

static int session_setup(struct smb2_client *c, struct smb2_preauth *pa,
			 const struct smb2_negotiate_rsp *neg, char *msg, size_t len)
{
	struct auth_ctx *a = NULL;
	struct smb2_reply rep = {0};
	struct smb2_session_setup_rsp ss;

	int r = auth_begin(c, false, &a, msg, len);
	if (r < 0)
		goto out;
	r = run_auth(c, pa, a, &rep, &ss, msg, len);
	if (r < 0)
		goto out;

	bool need_sign = (neg->security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED) || c->require_signing;
	if (c->guest) {
		if (c->seal_asked || c->floor.encrypted) {
			snprintf(msg, len, "cannot encrypt a guest session on %s, but the 'seal' option "
				 "requires it", c->server);
			r = -EPERM;
			goto out;
		}
		if (c->sign_asked) {
			snprintf(msg, len, "cannot sign a guest session on %s, but the 'sign' option requires it",
				 c->server);
			r = -EPERM;
			goto out;
		}
		/* Servers do not require signing of guest sessions (no key). */
		r = 0;
		goto out;
	}
	if (c->floor.signing && !need_sign) {
		snprintf(msg, len, "the server no longer requires signing, and this mount (nosign) started "
			 "with it on");
		c->refused = true;
		r = -EPERM;
		goto out;
	}

	if (auth_principal(a, c->principal, sizeof(c->principal)) < 0)
		c->principal[0] = '\0';
	note_session_end(c, a, false);

	uint8_t skey[AUTH_MAX_KEY];
	size_t skey_len = 0;
	struct smb2_keys keys;
	r = auth_session_key(a, skey, &skey_len);
	if (r == 0)
		smb2_log_debug("logged in with %s, session key of %zu bytes", auth_mech_name(a),
			       skey_len);
	if (r == 0)
		r = smb2_derive_keys_len(c->dialect, c->cipher, skey, skey_len, pa->hash, &keys);
	smb2_secure_zero(skey, sizeof(skey));
	if (r < 0) {
		snprintf(msg, len, "cannot derive session keys: %s", strerror(-r));
		goto out;
	}
	enum smb2_sign_alg alg = sign_alg_for(c, neg);
	/* MS-SMB2 3.2.5.3.1: a 3.1.1 server signs the final SESSION_SETUP
	 * reply; checking it proves the whole (hashed) handshake was ours. */
	bool signed_rep = rep.hdr.flags & SMB2_FLAGS_SIGNED;
	if ((signed_rep || c->dialect == SMB2_DIALECT_311) &&
	    (!signed_rep || smb2_verify_msg(alg, keys.signing, rep.msg, rep.len) < 0)) {
		snprintf(msg, len, "server %s: the SESSION_SETUP reply has a bad signature", c->server);
		c->refused = true;
		r = -EBADMSG;
	} else {
		smb2_conn_set_signing(c->conn, alg, keys.signing, need_sign);
		c->signing = need_sign;
		c->have_key = true;
		/* MS-SMB2 3.2.5.3.1: the keys are installed whenever a cipher was
		 * negotiated, since a share may ask for encryption later; the
		 * session is encrypted from here on when the user or the server
		 * (SMB2_SESSION_FLAG_ENCRYPT_DATA) wants it. */
		bool seal = c->seal_asked || c->floor.encrypted ||
			    (ss.session_flags & SMB2_SESSION_FLAG_ENCRYPT_DATA);
		if (c->cipher)
			r = smb2_conn_set_encryption(c->conn, c->cipher, keys.encryption, keys.decryption,
						     c->session_id);
		if (r < 0) {
			snprintf(msg, len, "cannot install the encryption keys: %s", strerror(-r));
		} else if (seal && !c->cipher) {
			snprintf(msg, len, "server %s requires encryption but negotiated no cipher", c->server);
			r = -EPROTO;
		} else if (seal) {
			smb2_conn_seal(c->conn);
			c->encrypted = true;
		}
	}
	smb2_secure_zero(&keys, sizeof(keys));

out:
	smb2_reply_free(&rep);
	auth_free(a);
	if (r < 0 && r != -ECONNRESET)
		c->session_id = 0;
	return r;
}

int client_reauth(struct smb2_client *c, char *msg, size_t len)
{
	struct auth_ctx *a = NULL;
	struct smb2_reply rep = {0};
	struct smb2_session_setup_rsp ss;

	/* A guest session has nothing to log in with again, and no key to
	 * prove the new login is ours: it is rebuilt by reconnecting. */
	if (!c->have_key || !c->session_id) {
		snprintf(msg, len, "the session has no key to log in again with");
		return -ENOTCONN;
	}
	int r = auth_begin(c, true, &a, msg, len);
	if (r < 0) {
		r = r == -ENOMEM ? r : -EKEYEXPIRED;
		goto out;
	}
	/* Our requests carry the SessionId, so conn.c signs (or encrypts)
	 * them and checks the replies with the session's key, which a
	 * re-login keeps (MS-SMB2 3.3.5.5.2): the server's SUCCESS must come
	 * signed or sealed, or it did not come from the server. */
	r = run_auth(c, NULL, a, &rep, &ss, msg, len);
	if (r == 0 && !(rep.hdr.flags & SMB2_FLAGS_SIGNED) && !c->encrypted) {
		snprintf(msg, len, "server %s: the reply to the new login is not signed", c->server);
		r = -EBADMSG;
	}
	if (r == 0)
		note_session_end(c, a, true);
out:
	smb2_reply_free(&rep);
	auth_free(a);
	return r;
}

static int tree_connect(struct smb2_client *c, char *msg, size_t len)
{
	struct smb2_tree_connect_req q = {.path = c->unc};
	struct smb2_reply rep = {0};
	struct smb2_tree_connect_rsp t;
	struct wbuf w;
	char sb[64];

	req_start(c, &w, SMB2_TREE_CONNECT);
	/* MS-SMB2 3.2.4.1.1: on 3.1.1 the TREE_CONNECT is signed even when
	 * signing is not required (servers reject it otherwise). */
	if (c->dialect == SMB2_DIALECT_311 && c->have_key)
		sign_this_request(&w);
	int r = handshake_call(c, &w, smb2_tree_connect_encode(&w, &q), &rep, "TREE_CONNECT", msg, len);
	wbuf_free(&w);
	if (r < 0)
		return r;
	uint32_t st = rep.hdr.status;
	char who[300];
	user_desc(c, who, sizeof(who));
	r = -EIO;
	switch (st) {
	case STATUS_SUCCESS:
		r = smb2_tree_connect_decode(rep.msg, rep.len, &t);
		if (r < 0) {
			snprintf(msg, len, "server %s sent a malformed TREE_CONNECT reply", c->server);
			r = -EPROTO;
			break;
		}
		if (t.share_type != SMB2_SHARE_TYPE_DISK) {
			snprintf(msg, len, "cannot connect to %s: not a disk share (it is a %s share)", c->unc,
				 t.share_type == SMB2_SHARE_TYPE_PIPE ? "pipe" : "printer");
			r = -ENOTDIR;
			break;
		}
		if ((t.share_flags & SMB2_SHAREFLAG_ENCRYPT_DATA) && !c->encrypted) {
			if (c->dialect < SMB2_DIALECT_300) {
				snprintf(msg, len, "cannot connect to %s: the share requires encryption, "
					 "which needs SMB 3.0 or later (this connection negotiated SMB %s)",
					 c->unc, dialect_str(c->dialect));
				r = -EPROTONOSUPPORT;
				break;
			}
			if (!c->cipher || !c->have_key) {
				snprintf(msg, len, "cannot connect to %s: the share requires encryption, which "
					 "%s", c->unc, c->have_key ? "the server offers no cipher for"
								   : "a guest session cannot do");
				r = -EPROTONOSUPPORT;
				break;
			}
			/* MS-SMB2 3.2.5.5: the share's requests are encrypted
			 * from here on; this session has no other tree. */
			smb2_conn_seal(c->conn);
			c->encrypted = true;
		}
		c->tree_id = rep.hdr.tree_id;
		r = 0;
		break;
	case STATUS_BAD_NETWORK_NAME:
		snprintf(msg, len, "cannot connect to %s: share does not exist on the server (STATUS_BAD_NETWORK_NAME)",
			 c->unc);
		r = -ENOENT;
		break;
	case STATUS_ACCESS_DENIED:
		/* MS-SMB2 3.3.5.7: a share that requires encryption refuses
		 * a 2.x connection (which cannot encrypt) the same way. */
		if (c->dialect < SMB2_DIALECT_300)
			snprintf(msg, len, "cannot connect to %s: user '%s' is logged in but not allowed to "
				 "use this share, or the share requires encryption, which needs SMB 3.0 or "
				 "later and this connection negotiated SMB %s (STATUS_ACCESS_DENIED)", c->unc,
				 who, dialect_str(c->dialect));
		else
			snprintf(msg, len, "cannot connect to %s: user '%s' is logged in but not allowed to "
				 "use this share (STATUS_ACCESS_DENIED)", c->unc, who);
		r = -EACCES;
		break;
	case STATUS_NETWORK_ACCESS_DENIED:
		snprintf(msg, len, "cannot connect to %s: refused by a network-level restriction "
			 "(STATUS_NETWORK_ACCESS_DENIED)", c->unc);
		r = -EACCES;
		break;
	default:
		snprintf(msg, len, "cannot connect to %s as '%s': %s", c->unc, who, status_desc(st, sb, sizeof(sb)));
		r = nt_status_fail_err(st);
	}
	smb2_reply_free(&rep);
	return r;
}

/* MS-SMB2 3.2.5.14.12 / 2.2.31.4: on 3.0 and 3.0.2 a signed IOCTL has the
 * server confirm what NEGOTIATE (which is not signed) said, so a man in the
 * middle cannot have downgraded the dialect or dropped signing.  3.1.1 gets
 * the same from the preauth hash; 2.x and guest sessions cannot sign. */
static int validate_negotiate(struct smb2_client *c, const struct neg_offer *o,
			      const struct smb2_negotiate_rsp *neg, char *msg, size_t len)
{
	struct wbuf in, w;
	struct smb2_reply rep = {0};
	struct smb2_ioctl_rsp io;
	struct smb2_validate_negotiate_rsp v;
	struct smb2_validate_negotiate_req vq = {
		.capabilities = o->capabilities,
		.security_mode = o->security_mode,
		.dialects = o->dialects,
		.n_dialects = o->n,
	};

	memcpy(vq.guid, c->client_guid, sizeof(vq.guid));
	wbuf_init(&in);
	int enc = smb2_validate_negotiate_encode(&in, &vq);
	struct smb2_ioctl_req q = {
		.ctl_code = FSCTL_VALIDATE_NEGOTIATE_INFO,
		.file_id = {UINT64_MAX, UINT64_MAX},
		.input = in.p,
		.input_len = (uint32_t)in.len,
		.max_output_response = SMB2_VALIDATE_NEGOTIATE_RSP_SIZE,
		.flags = SMB2_0_IOCTL_IS_FSCTL,
	};
	req_start(c, &w, SMB2_IOCTL);
	sign_this_request(&w);
	/* A payload that failed to encode fails the request unsent. */
	int r = handshake_call(c, &w, enc ? enc : smb2_ioctl_encode(&w, &q), &rep,
			       "VALIDATE_NEGOTIATE_INFO", msg, len);
	wbuf_free(&w);
	wbuf_free(&in);
	if (r < 0)
		return r;
	r = -EPROTO;
	/* Encrypted, the reply is authenticated by the transform (conn.c
	 * refuses a plain one) and carries no signature. */
	if (!(rep.hdr.flags & SMB2_FLAGS_SIGNED) && !c->encrypted) {
		snprintf(msg, len, "server %s: the VALIDATE_NEGOTIATE_INFO reply is not signed", c->server);
	} else if (rep.hdr.status != STATUS_SUCCESS) {
		char sb[64];
		snprintf(msg, len, "server %s refused to validate the negotiation (%s)", c->server,
			 status_desc(rep.hdr.status, sb, sizeof(sb)));
	} else if (smb2_ioctl_decode(rep.msg, rep.len, &io) < 0 ||
		   smb2_validate_negotiate_decode(io.output, io.output_len, &v) < 0) {
		snprintf(msg, len, "server %s sent a malformed VALIDATE_NEGOTIATE_INFO reply", c->server);
	} else if (v.capabilities != neg->capabilities ||
		   memcmp(v.guid, neg->server_guid, sizeof(v.guid)) != 0 ||
		   v.security_mode != neg->security_mode || v.dialect != neg->dialect) {
		snprintf(msg, len, "server %s: the negotiation was tampered with (VALIDATE_NEGOTIATE_INFO "
			 "does not match NEGOTIATE)", c->server);
	} else {
		r = 0;
	}
	smb2_reply_free(&rep);
	return r;
}

int client_establish(struct smb2_client *c, char *msg, size_t len)
{
	struct neg_offer offer;
	struct smb2_preauth pa;
	struct smb2_negotiate_rsp neg;
	struct smb2_reply nrep = {0};

	c->session_id = 0;
	c->tree_id = 0;
	c->signing = false;
	c->have_key = false;
	c->encrypted = false;
	c->cipher = 0;
	c->refused = false;
	int r = smb2_conn_open(c->server, c->port, c->connect_timeout_sec, smb2_log_debug_on, &c->conn,
			       msg, len);
	if (r < 0) {
		c->conn = NULL;
		return r;
	}
	smb2_conn_set_stats(c->conn, &c->conn_stats);
	smb2_conn_set_notify(c->conn, lease_notify, c);
	/* a silent server fails this attempt after 2 x echo_interval
	 * (watchdog, conn.h), and an interrupt can end it */
	smb2_conn_set_echo(c->conn, c->echo_sec, 0);
	smb2_conn_set_intr(c->conn, client_interrupted, c);
	make_offer(c, &offer);
	r = negotiate(c, &offer, &pa, &neg, &nrep, msg, len);
	if (r == 0) {
		set_limits(c, &neg);
		r = check_negotiate_floor(c, msg, len);
		if (r == 0)
			r = check_can_encrypt(c, msg, len);
	}
	if (r == 0) {
		if (c->require_signing || (neg.security_mode & SMB2_NEGOTIATE_SIGNING_REQUIRED))
			smb2_log_debug("signing required by %s",
				       c->sign_asked ? "the sign option" :
				       c->require_signing ? "default (nosign turns it off)" : "the server");
		r = session_setup(c, &pa, &neg, msg, len);
	}
	if (r == 0)
		r = tree_connect(c, msg, len);
	if (r == 0 && c->have_key &&
	    (c->dialect == SMB2_DIALECT_300 || c->dialect == SMB2_DIALECT_302))
		r = validate_negotiate(c, &offer, &neg, msg, len);
	smb2_reply_free(&nrep);
	if (r < 0) {
		smb2_conn_free(c->conn);
		c->conn = NULL;
		return r;
	}
	c->prev_session_id = 0;
	smb2_conn_set_echo(c->conn, c->echo_sec, c->session_id); /* ECHOs from now on */
	smb2_log_debug("connected to %s: SMB %s, session 0x%llx, tree 0x%x, signing %s, encryption %s, "
		       "max read %u write %u", c->unc, dialect_str(c->dialect),
		       (unsigned long long)c->session_id, c->tree_id, c->signing ? "on" : "off",
		       c->encrypted ? cipher_str(c->cipher) : "off", c->max_read, c->max_write);
	return 0;
}

/* Best effort, short timeout: the server cleans up on disconnect anyway. */
static void send_goodbye(struct smb2_client *c, uint16_t cmd, int (*encode)(struct wbuf *w))
{
	struct smb2_reply rep = {0};
	struct wbuf w;
	req_start(c, &w, cmd);
	if (encode(&w) == 0 && smb2_conn_call(c->conn, &w, 0, 5, &rep) == 0)
		smb2_reply_free(&rep);
	wbuf_free(&w);
}

void client_teardown(struct smb2_client *c)
{
	if (!c->conn)
		return;
	if (smb2_conn_alive(c->conn)) {
		if (c->tree_id)
			send_goodbye(c, SMB2_TREE_DISCONNECT, smb2_tree_disconnect_encode);
		if (c->session_id)
			send_goodbye(c, SMB2_LOGOFF, smb2_logoff_encode);
	}
	smb2_conn_free(c->conn);
	c->conn = NULL;
	c->session_id = 0;
	c->tree_id = 0;
	smb2_stats_credits(&c->conn_stats, 0, 0); /* no connection: no credits */
}

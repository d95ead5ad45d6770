/* Kerberos as an authentication mechanism (mech.h) through MIT GSSAPI's
 * krb5 mechanism (RFC 4121), with mutual authentication: the AP-REQ goes
 * in our NegTokenInit, the server's AP-REP (in its final reply) proves it
 * holds the service key.  Our own SPNEGO code (auth.c) wraps the tokens,
 * as for NTLM, rather than GSSAPI's SPNEGO mechanism: one place decides
 * about mechListMIC, and sec=krb5 offers Kerberos alone (GSSAPI's SPNEGO
 * would also offer whatever other mechanisms are installed).
 *
 * Credentials: a ccache (the one named, else KRB5CCNAME, else the
 * default), or a client keytab: GSSAPI then gets tickets for the principal
 * from it by itself, into an in-memory ccache private to this process,
 * and again when they expire, so a reconnect needs nothing from the user.
 * This is the one part of src/auth that does I/O (to the KDC, and the
 * ccache / keytab files). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include "der.h"
#include "mech.h"
#include "smb2fs/crypto.h"

/* Minor codes of GSSAPI's krb5 mechanism (its "k5g" error table, whose
 * header MIT does not install): the ccache holds no ticket at all, or no
 * TGT to get a service ticket with. */
#define KG_BASE 39756032L
#define KG_TGT_MISSING (KG_BASE + 2)
#define KG_EMPTY_CCACHE (KG_BASE + 12)

struct auth_mech {
	gss_cred_id_t cred;
	gss_ctx_id_t ctx;
	gss_name_t target;
	char spn[300];       /* the service principal, as messages name it */
	char ccache[300];    /* where the tickets are, for messages */
	char principal[300]; /* keytab mode: whose keys */
	bool keytab;
	char fresh[64];      /* fresh_ticket: the private ccache seeded with the
			      * TGT only (destroyed with the mechanism) */
	OM_uint32 lifetime;  /* gss_init_sec_context's time_rec */
};

static void explain(const struct auth_mech *m, OM_uint32 major, OM_uint32 minor, char *msg,
		    size_t len)
{
	auth_krb5_explain(major, (int32_t)minor, m->spn, m->ccache,
			  m->keytab ? m->principal : NULL, msg, len);
}

/* GSSAPI's own text for a status code: the first of its messages (the
 * rest are read too, or GSSAPI keeps them allocated). */
static void status_text(OM_uint32 code, int type, char *buf, size_t len)
{
	OM_uint32 min2, ctx = 0;
	gss_OID mech = type == GSS_C_MECH_CODE ? (gss_OID)gss_mech_krb5 : GSS_C_NO_OID;

	buf[0] = '\0';
	do {
		gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
		if (GSS_ERROR(gss_display_status(&min2, code, type, mech, &ctx, &b)))
			break;
		if (!buf[0] && b.length)
			snprintf(buf, len, "%.*s", (int)b.length, (const char *)b.value);
		gss_release_buffer(&min2, &b);
	} while (ctx != 0);
}

/* The text for a krb5 minor code (KDC replies included).  The krb5
 * mechanism's minor codes are libkrb5's error codes, which libkrb5 names
 * itself; GSSAPI's display_status (which keeps a little memory for codes
 * it did not hand out) only for the rest. */
static void minor_text(OM_uint32 minor, char *buf, size_t len)
{
	krb5_context kc;
	int32_t code = (int32_t)minor;

	buf[0] = '\0';
	if (code >= KRB5KDC_ERR_NONE && code <= KRB5_ERR_INVALID_UTF8 &&
	    krb5_init_context(&kc) == 0) {
		const char *t = krb5_get_error_message(kc, code);
		if (t)
			snprintf(buf, len, "%s", t);
		krb5_free_error_message(kc, t);
		krb5_free_context(kc);
	}
	if (!buf[0])
		status_text(minor, GSS_C_MECH_CODE, buf, len);
}

static void major_text(OM_uint32 major, char *buf, size_t len)
{
	status_text(major, GSS_C_GSS_CODE, buf, len);
}

void auth_krb5_explain(uint32_t major, int32_t minor, const char *spn, const char *ccache,
		       const char *principal, char *msg, size_t len)
{
	char text[200];

	if (!spn)
		spn = "?";
	if (!ccache)
		ccache = "the default credential cache";
	switch (minor) {
	case KRB5_FCC_NOFILE:
	case KRB5_CC_NOTFOUND:
	case KG_EMPTY_CCACHE:
	case KG_TGT_MISSING:
		if (principal)
			snprintf(msg, len, "no Kerberos ticket for %s could be had from the keytab",
				 principal);
		else
			snprintf(msg, len, "no Kerberos ticket in %s (run kinit)", ccache);
		return;
	case KRB5KRB_AP_ERR_TKT_EXPIRED:
		if (principal)
			snprintf(msg, len, "the Kerberos ticket for %s has expired", principal);
		else
			snprintf(msg, len, "the Kerberos ticket in %s has expired (run kinit)", ccache);
		return;
	case KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN:
		snprintf(msg, len, "the KDC does not know the service principal %s (name the "
			 "server's principal with spn=)", spn);
		return;
	case KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN:
		snprintf(msg, len, "the KDC does not know the principal %s",
			 principal ? principal : "of the ticket");
		return;
	case KRB5KRB_AP_ERR_SKEW:
		snprintf(msg, len, "the clocks of this machine and the KDC or server differ too much "
			 "(clock skew; set the time, e.g. with NTP)");
		return;
	case KRB5_KDC_UNREACH:
		snprintf(msg, len, "cannot reach a KDC for the realm (KDC unreachable; check the "
			 "network and krb5.conf)");
		return;
	case KRB5_REALM_UNKNOWN:
	case KRB5_REALM_CANT_RESOLVE:
		snprintf(msg, len, "no KDC is known for the realm (check krb5.conf)");
		return;
	case KRB5_KT_NOTFOUND:
	case KRB5_KT_END:
		snprintf(msg, len, "the keytab has no key for %s", principal ? principal : "the user");
		return;
	case KRB5KDC_ERR_PREAUTH_FAILED:
		snprintf(msg, len, "the KDC refused the key of %s (wrong password or an old keytab)",
			 principal ? principal : "the user");
		return;
	case ENOENT:
	case EACCES:
		if (principal) {
			snprintf(msg, len, "cannot read the keytab: %s", strerror(minor));
			return;
		}
		break;
	default:
		break;
	}
	if (GSS_ROUTINE_ERROR(major) == GSS_S_NO_CRED && !minor) {
		snprintf(msg, len, "no Kerberos ticket in %s (run kinit)", ccache);
		return;
	}
	if (GSS_ROUTINE_ERROR(major) == GSS_S_CREDENTIALS_EXPIRED) {
		snprintf(msg, len, "the Kerberos ticket in %s has expired (run kinit)", ccache);
		return;
	}
	if (minor)
		minor_text((OM_uint32)minor, text, sizeof(text));
	else
		major_text(major, text, sizeof(text));
	snprintf(msg, len, "Kerberos error: %s", text[0] ? text : "unknown");
}

static int import_name(const char *s, gss_OID type, gss_name_t *out)
{
	OM_uint32 minor;
	gss_buffer_desc b = {.length = strlen(s), .value = (void *)s};
	return GSS_ERROR(gss_import_name(&minor, &b, type, out)) ? -EINVAL : 0;
}

/* The target: an explicit principal ("cifs/host[@REALM]", with a slash),
 * a GSS host-based name ("cifs@host"), or cifs@<server>, which krb5.conf's
 * rules (dns_canonicalize_hostname, domain_realm) turn into
 * cifs/<host>@<REALM> as mount.cifs's upcall does. */
static int target_name(struct auth_mech *m, const struct auth_cred *cred, char *msg, size_t len)
{
	char buf[300];
	int r;

	if (cred->spn && strchr(cred->spn, '/')) {
		snprintf(m->spn, sizeof(m->spn), "%s", cred->spn);
		r = import_name(cred->spn, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME, &m->target);
	} else {
		const char *at = cred->spn ? strchr(cred->spn, '@') : NULL;
		if (cred->spn && at)
			snprintf(buf, sizeof(buf), "%s", cred->spn);
		else
			snprintf(buf, sizeof(buf), "cifs@%s", cred->spn ? cred->spn : cred->server);
		at = strchr(buf, '@');
		snprintf(m->spn, sizeof(m->spn), "%.*s/%s", (int)(at - buf), buf, at + 1);
		r = import_name(buf, GSS_C_NT_HOSTBASED_SERVICE, &m->target);
	}
	if (r < 0)
		snprintf(msg, len, "'%s' is not a valid service principal name", m->spn);
	return r;
}

static bool is_tgt(krb5_const_principal p)
{
	return p->length == 2 && p->data[0].length == 6 && memcmp(p->data[0].data, "krbtgt", 6) == 0;
}

/* A new MEMORY ccache holding only the TGTs of `src` (a ccache name; NULL:
 * the default), into m->fresh: GSSAPI then asks the KDC for a new service
 * ticket instead of reusing the cached one.  As Samba's own re-login test
 * does, since a server ends the session when that ticket ends (and may
 * think it has, by its clock, before we do).  Nothing is written to the
 * user's ccache.  Returns 0 with m->fresh set, or -ENOENT (no principal:
 * the normal acquire then says what is missing). */
static int seed_fresh_ccache(struct auth_mech *m, const char *src)
{
	static unsigned serial;
	krb5_context kc;
	krb5_ccache in = NULL, out = NULL;
	krb5_principal me = NULL;
	krb5_cc_cursor cur;
	krb5_creds cr;
	int r = -ENOENT;

	if (krb5_init_context(&kc) != 0)
		return -ENOMEM;
	if ((src ? krb5_cc_resolve(kc, src, &in) : krb5_cc_default(kc, &in)) != 0 ||
	    krb5_cc_get_principal(kc, in, &me) != 0)
		goto out;
	snprintf(m->fresh, sizeof(m->fresh), "MEMORY:smb2fs-fresh-%ld-%u", (long)getpid(),
		 __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
	if (krb5_cc_resolve(kc, m->fresh, &out) != 0) {
		m->fresh[0] = '\0';
		goto out;
	}
	if (krb5_cc_initialize(kc, out, me) != 0 || krb5_cc_start_seq_get(kc, in, &cur) != 0) {
		krb5_cc_destroy(kc, out);
		out = NULL;
		m->fresh[0] = '\0';
		goto out;
	}
	while (krb5_cc_next_cred(kc, in, &cur, &cr) == 0) {
		if (is_tgt(cr.server))
			(void)krb5_cc_store_cred(kc, out, &cr);
		krb5_free_cred_contents(kc, &cr);
	}
	krb5_cc_end_seq_get(kc, in, &cur);
	r = 0;
out:
	if (out)
		krb5_cc_close(kc, out);
	if (in)
		krb5_cc_close(kc, in);
	if (me)
		krb5_free_principal(kc, me);
	krb5_free_context(kc);
	return r;
}

static void destroy_fresh_ccache(struct auth_mech *m)
{
	krb5_context kc;
	krb5_ccache cc;
	if (!m->fresh[0] || krb5_init_context(&kc) != 0)
		return;
	if (krb5_cc_resolve(kc, m->fresh, &cc) == 0)
		krb5_cc_destroy(kc, cc);
	krb5_free_context(kc);
	m->fresh[0] = '\0';
}

static int acquire(struct auth_mech *m, const struct auth_cred *cred, char *msg, size_t len)
{
	gss_key_value_element_desc el[2];
	gss_key_value_set_desc store = {.count = 0, .elements = el};
	gss_OID_set_desc mechs = {.count = 1, .elements = (gss_OID)gss_mech_krb5};
	gss_name_t me = GSS_C_NO_NAME;
	char mem[64];
	OM_uint32 major, minor;

	if (cred->keytab) {
		if (!cred->user || !*cred->user) {
			snprintf(msg, len, "keytab= needs username= (the principal whose key it holds)");
			return -EINVAL;
		}
		m->keytab = true;
		snprintf(m->principal, sizeof(m->principal), "%s", cred->user);
		/* One in-memory ccache per process: a reconnect finds the TGT
		 * from the last login, and nothing lands in anyone's ccache. */
		snprintf(mem, sizeof(mem), "MEMORY:smb2fs-%ld", (long)getpid());
		snprintf(m->ccache, sizeof(m->ccache), "%s", mem);
		el[store.count++] = (gss_key_value_element_desc){"client_keytab", cred->keytab};
		if (cred->fresh_ticket && seed_fresh_ccache(m, mem) == 0)
			el[store.count++] = (gss_key_value_element_desc){"ccache", m->fresh};
		else
			el[store.count++] = (gss_key_value_element_desc){"ccache", mem};
		if (import_name(cred->user, (gss_OID)GSS_KRB5_NT_PRINCIPAL_NAME, &me) < 0) {
			snprintf(msg, len, "'%s' is not a valid Kerberos principal", cred->user);
			return -EINVAL;
		}
	} else if (cred->ccache) {
		snprintf(m->ccache, sizeof(m->ccache), "%s", cred->ccache);
		el[store.count++] = (gss_key_value_element_desc){"ccache", cred->ccache};
	} else {
		const char *env = getenv("KRB5CCNAME");
		snprintf(m->ccache, sizeof(m->ccache), "%s",
			 env && *env ? env : "the default credential cache");
	}
	if (!m->keytab && cred->fresh_ticket && seed_fresh_ccache(m, cred->ccache) == 0) {
		store.count = 0;
		el[store.count++] = (gss_key_value_element_desc){"ccache", m->fresh};
	}
	major = gss_acquire_cred_from(&minor, me, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
				      store.count ? &store : GSS_C_NO_CRED_STORE, &m->cred, NULL,
				      NULL);
	if (me != GSS_C_NO_NAME) {
		OM_uint32 min2;
		gss_release_name(&min2, &me);
	}
	if (GSS_ERROR(major)) {
		/* GSSAPI falls back to the (empty) ccache when the keytab
		 * cannot give the principal's tickets, and says only that. */
		if (m->keytab && ((int32_t)minor == KRB5_FCC_NOFILE ||
				  (int32_t)minor == KRB5_CC_NOTFOUND)) {
			if (access(cred->keytab, R_OK) != 0)
				snprintf(msg, len, "cannot read the keytab %s: %s", cred->keytab,
					 strerror(errno));
			else
				snprintf(msg, len, "the keytab %s has no key for %s", cred->keytab,
					 m->principal);
		} else {
			explain(m, major, minor, msg, len);
		}
		return -EACCES;
	}
	return 0;
}

static void mech_krb5_free(struct auth_mech *m)
{
	OM_uint32 minor;
	if (!m)
		return;
	if (m->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &m->ctx, GSS_C_NO_BUFFER);
	if (m->target != GSS_C_NO_NAME)
		gss_release_name(&minor, &m->target);
	if (m->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &m->cred);
	destroy_fresh_ccache(m);
	free(m);
}

static int mech_krb5_new(const struct auth_cred *cred, struct auth_mech **out, char *msg, size_t len)
{
	struct auth_mech *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ctx = GSS_C_NO_CONTEXT;
	m->cred = GSS_C_NO_CREDENTIAL;
	m->target = GSS_C_NO_NAME;
	int r = target_name(m, cred, msg, len);
	if (r == 0)
		r = acquire(m, cred, msg, len);
	if (r < 0) {
		mech_krb5_free(m);
		return r;
	}
	*out = m;
	return 0;
}

/* Whether the server's token is a KRB-ERROR in the krb5 framing (RFC 4121
 * 4.1: [APPLICATION 0] { krb5 OID, TOK_ID 03 00, KRB-ERROR }): the server
 * could not accept our AP-REQ and says why instead of sending an AP-REP.
 * GSSAPI then gives the error's code as the minor status. */
static bool is_krb_error_token(const uint8_t *p, size_t n)
{
	static const uint8_t krb5_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
	struct der_rd r;
	const uint8_t *v, *oid;
	size_t vlen, oid_len;

	der_rd_init(&r, p, n);
	if (der_expect(&r, 0x60, &v, &vlen) < 0)
		return false;
	der_rd_init(&r, v, vlen);
	if (der_expect(&r, 0x06, &oid, &oid_len) < 0 || oid_len != sizeof(krb5_oid) ||
	    memcmp(oid, krb5_oid, sizeof(krb5_oid)) != 0)
		return false;
	return vlen - r.pos >= 2 && v[r.pos] == 0x03 && v[r.pos + 1] == 0x00;
}

/* The server's KRB-ERROR as a phrase.  Nothing authenticates it (anyone on
 * the path can send one), but it only ever explains a failed login. */
static void server_error(struct auth_mech *m, OM_uint32 major, OM_uint32 minor, char *msg,
			 size_t len)
{
	char text[200];

	switch ((int32_t)minor) {
	case KRB5KRB_AP_ERR_SKEW:
	case KRB5KRB_AP_ERR_TKT_EXPIRED:
		explain(m, major, minor, msg, len);
		return;
	case KRB5KRB_AP_ERR_TKT_NYV:
		snprintf(msg, len, "the server says the Kerberos ticket is not valid yet (its clock "
			 "is behind the KDC's: clock skew; set the time, e.g. with NTP)");
		return;
	default:
		break;
	}
	minor_text(minor, text, sizeof(text));
	snprintf(msg, len, "the server refused the Kerberos ticket (%s)",
		 text[0] ? text : "unknown error");
}

/* One gss_init_sec_context call: MECH_MORE with the token to send, or
 * MECH_DONE once the server's AP-REP verified. */
static int init_step(struct auth_mech *m, const uint8_t *in, size_t in_len, uint8_t **tok,
		     size_t *tok_len, char *msg, size_t len)
{
	gss_buffer_desc ib = {.length = in_len, .value = (void *)in};
	gss_buffer_desc ob = GSS_C_EMPTY_BUFFER;
	OM_uint32 major, minor, flags = 0;

	*tok = NULL;
	*tok_len = 0;
	major = gss_init_sec_context(&minor, m->cred, &m->ctx, m->target, (gss_OID)gss_mech_krb5,
				     GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG, 0,
				     GSS_C_NO_CHANNEL_BINDINGS, in ? &ib : GSS_C_NO_BUFFER, NULL,
				     &ob, &flags, &m->lifetime);
	if (GSS_ERROR(major)) {
		OM_uint32 min2;
		gss_release_buffer(&min2, &ob);
		if (in && is_krb_error_token(in, in_len)) {
			server_error(m, major, minor, msg, len);
			return -EACCES;
		}
		if (in) {
			/* The server's answer does not verify: whoever sent it
			 * does not hold the service key. */
			char text[200];
			minor_text(minor, text, sizeof(text));
			snprintf(msg, len, "its Kerberos reply (AP-REP) does not prove it is %s (%s)",
				 m->spn, text[0] ? text : "bad token");
			return -EKEYREJECTED;
		}
		explain(m, major, minor, msg, len);
		return -EACCES;
	}
	if (ob.length) {
		*tok = malloc(ob.length);
		if (!*tok) {
			gss_release_buffer(&minor, &ob);
			return -ENOMEM;
		}
		memcpy(*tok, ob.value, ob.length);
		*tok_len = ob.length;
	}
	gss_release_buffer(&minor, &ob);
	if (major & GSS_S_CONTINUE_NEEDED)
		return MECH_MORE;
	if (!(flags & GSS_C_MUTUAL_FLAG)) {
		snprintf(msg, len, "Kerberos gave no mutual authentication");
		free(*tok);
		*tok = NULL;
		return -EKEYREJECTED;
	}
	return MECH_DONE;
}

static int mech_krb5_start(struct auth_mech *m, uint8_t **tok, size_t *tok_len, char *msg, size_t len)
{
	int r = init_step(m, NULL, 0, tok, tok_len, msg, len);
	if (r == MECH_MORE)
		return 0;
	if (r == MECH_DONE) { /* mutual authentication always takes a reply */
		free(*tok);
		*tok = NULL;
		snprintf(msg, len, "Kerberos gave no mutual authentication");
		return -EKEYREJECTED;
	}
	return r;
}

static int mech_krb5_step(struct auth_mech *m, const uint8_t *in, size_t in_len, uint8_t **tok,
		     size_t *tok_len, char *msg, size_t len)
{
	if (!in || !in_len) {
		snprintf(msg, len, "its login reply has no Kerberos AP-REP, so it did not prove "
			 "it is %s", m->spn);
		return -EKEYREJECTED;
	}
	return init_step(m, in, in_len, tok, tok_len, msg, len);
}

static int mech_krb5_key(struct auth_mech *m, uint8_t *key, size_t cap, size_t *key_len)
{
	gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
	OM_uint32 major, minor;
	int r = -ENOKEY;

	major = gss_inquire_sec_context_by_oid(&minor, m->ctx, GSS_C_INQ_SSPI_SESSION_KEY, &set);
	if (GSS_ERROR(major) || !set || set->count < 1)
		goto out;
	gss_buffer_t k = &set->elements[0];
	if (k->length == 0 || k->length > cap) {
		r = -EOVERFLOW;
	} else {
		memcpy(key, k->value, k->length);
		*key_len = k->length;
		r = 0;
	}
out:
	if (set) {
		for (size_t i = 0; i < set->count; i++)
			smb2_secure_zero(set->elements[i].value, set->elements[i].length);
		gss_release_buffer_set(&minor, &set);
	}
	return r;
}

static int mech_krb5_get_mic(struct auth_mech *m, const uint8_t *data, size_t len, uint8_t **mic,
			size_t *mic_len)
{
	gss_buffer_desc in = {.length = len, .value = (void *)data};
	gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;

	if (GSS_ERROR(gss_get_mic(&minor, m->ctx, GSS_C_QOP_DEFAULT, &in, &out)))
		return -EIO;
	*mic = malloc(out.length ? out.length : 1);
	if (!*mic) {
		gss_release_buffer(&minor, &out);
		return -ENOMEM;
	}
	memcpy(*mic, out.value, out.length);
	*mic_len = out.length;
	gss_release_buffer(&minor, &out);
	return 0;
}

static int mech_krb5_verify_mic(struct auth_mech *m, const uint8_t *data, size_t len,
			   const uint8_t *mic, size_t mic_len)
{
	gss_buffer_desc in = {.length = len, .value = (void *)data};
	gss_buffer_desc tok = {.length = mic_len, .value = (void *)mic};
	OM_uint32 minor;

	return GSS_ERROR(gss_verify_mic(&minor, m->ctx, &in, &tok, NULL)) ? -EBADMSG : 0;
}

static bool mech_krb5_mic_required(struct auth_mech *m)
{
	(void)m;
	return false;
}

/* The initiator's name as GSSAPI displays it: "alice@REALM". */
static int mech_krb5_principal(struct auth_mech *m, char *buf, size_t len)
{
	gss_name_t me = GSS_C_NO_NAME;
	gss_buffer_desc b = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor, min2;
	int r = -ENOENT;

	if (m->ctx == GSS_C_NO_CONTEXT ||
	    GSS_ERROR(gss_inquire_context(&minor, m->ctx, &me, NULL, NULL, NULL, NULL, NULL, NULL)))
		return r;
	if (!GSS_ERROR(gss_display_name(&minor, me, &b, NULL)) && b.length && b.length < len) {
		snprintf(buf, len, "%.*s", (int)b.length, (const char *)b.value);
		r = 0;
	}
	gss_release_buffer(&min2, &b);
	gss_release_name(&min2, &me);
	return r;
}

static unsigned mech_krb5_lifetime(struct auth_mech *m)
{
	return m->lifetime == GSS_C_INDEFINITE ? 0 : (unsigned)m->lifetime;
}

const struct auth_mech_ops auth_mech_krb5 = {
	.name = "Kerberos",
	.mech_types = spnego_krb5_mech_types,
	.new = mech_krb5_new,
	.start = mech_krb5_start,
	.step = mech_krb5_step,
	.session_key = mech_krb5_key,
	.get_mic = mech_krb5_get_mic,
	.verify_mic = mech_krb5_verify_mic,
	.mic_required = mech_krb5_mic_required,
	.principal = mech_krb5_principal,
	.lifetime = mech_krb5_lifetime,
	.free = mech_krb5_free,
};

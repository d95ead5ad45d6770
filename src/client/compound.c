/* Compound requests: several messages in one frame, one round trip.
 *
 * The connection layer pads, links and signs the chain
 * (smb2_conn_submit_chain); this file builds the messages with the
 * client's ids, collects every reply (each request object is waited for
 * exactly once, also when an earlier one failed) and maps the statuses as
 * req_call does.  pchain_* is the one shape the path operations use:
 * CREATE + related acts + CLOSE (MS-SMB2 3.2.4.1.4: the later messages
 * carry SMB2_FLAGS_RELATED_OPERATIONS and FileId 0xFFFF..., and the server
 * uses the handle the CREATE opened).  A rerun after reconnect rebuilds
 * and resends the whole chain: it is one unit. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

void cmpd_init(struct cmpd *k, struct smb2_client *c)
{
	memset(k, 0, sizeof(*k));
	k->c = c;
	wbuf_init(&k->spare);
}

struct wbuf *cmpd_add(struct cmpd *k, uint16_t cmd, bool related, size_t payload, uint32_t ok2)
{
	if (k->n == SMB2_CHAIN_MAX) {
		/* A programming error; the spare buffer keeps callers simple. */
		wbuf_free(&k->spare);
		wbuf_init(&k->spare);
		if (!k->err)
			k->err = -E2BIG;
		return &k->spare;
	}
	struct cmpd_msg *m = &k->m[k->n++];
	req_start(k->c, &m->w, cmd);
	if (related && m->w.len >= SMB2_HDR_SIZE)
		smb2_hdr_add_flags(m->w.p, SMB2_FLAGS_RELATED_OPERATIONS);
	m->payload = payload;
	m->ok2 = ok2;
	return &m->w;
}

void cmpd_enc(struct cmpd *k, int enc)
{
	if (k->n == 0)
		return;
	int bad = wbuf_check(&k->m[k->n - 1].w, enc);
	if (bad && !k->err)
		k->err = bad;
}

int cmpd_run(struct cmpd *k)
{
	struct smb2_req *q[SMB2_CHAIN_MAX];
	int r = cmpd_submit(k, q);
	if (r == 0)
		cmpd_collect(k, q);
	return r;
}

int cmpd_submit(struct cmpd *k, struct smb2_req **q)
{
	if (k->err)
		return k->err;
	if (k->n == 0)
		return -EINVAL;
	struct wbuf *msgs[SMB2_CHAIN_MAX];
	size_t payload[SMB2_CHAIN_MAX];
	for (unsigned i = 0; i < k->n; i++) {
		msgs[i] = &k->m[i].w;
		payload[i] = k->m[i].payload;
	}
	if (smb2_log_debug_on && k->n > 1) {
		/* one line per frame, so a log reader can count round trips */
		char names[SMB2_CHAIN_MAX * 16] = "";
		size_t o = 0;
		for (unsigned i = 0; i < k->n && o < sizeof(names); i++)
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? "+" : "",
					      smb2_cmd_name(smb2_hdr_command(k->m[i].w.p)));
		smb2_log_debug("compound of %u: %s", k->n, names);
	}
	int r = smb2_conn_submit_chain(k->c->conn, msgs, payload, k->n, k->c->timeout_sec, q);
	if (r < 0)
		return smb2_conn_alive(k->c->conn) ? r : -ECONNRESET;
	return 0;
}

void cmpd_collect(struct cmpd *k, struct smb2_req **q)
{
	for (unsigned i = 0; i < k->n; i++) {
		struct cmpd_msg *m = &k->m[i];
		int w = smb2_conn_wait(k->c->conn, q[i], &m->rep);
		m->r = req_result(k->c, w, &m->rep, m->ok2, &m->status);
		if (m->r < 0)
			m->rep.msg = NULL; /* req_result freed it (or none came) */
	}
}

void cmpd_free(struct cmpd *k)
{
	for (unsigned i = 0; i < k->n; i++) {
		wbuf_free(&k->m[i].w);
		if (k->m[i].r == 0)
			smb2_reply_free(&k->m[i].rep);
	}
	k->n = 0;
	wbuf_free(&k->spare);
}

/* ---- CREATE + acts + CLOSE ---- */

void pchain_start_req(struct pchain *p, struct smb2_client *c, const struct smb2_create_req *q)
{
	memset(p, 0, sizeof(*p));
	cmpd_init(&p->k, c);
	struct wbuf *w = cmpd_add(&p->k, SMB2_CREATE, false, 0, 0);
	cmpd_enc(&p->k, smb2_create_encode(w, q));
}

void pchain_start(struct pchain *p, struct smb2_client *c, const char *smbpath, uint32_t access,
		  uint32_t disposition, uint32_t options, uint32_t attrs)
{
	struct smb2_create_req q;
	file_create_req(&q, smbpath, access, disposition, options, attrs);
	pchain_start_req(p, c, &q);
}

int pchain_create_rsp(struct pchain *p, struct smb2_create_rsp *cr)
{
	const struct cmpd_msg *m = &p->k.m[0];
	if (p->k.n == 0 || m->r < 0 || !m->rep.msg)
		return -ENOENT;
	return smb2_create_decode(m->rep.msg, m->rep.len, cr) == 0 ? 0 : -EIO;
}

struct wbuf *pchain_act(struct pchain *p, uint16_t cmd, size_t payload, uint32_t ok2)
{
	p->n_acts++;
	return cmpd_add(&p->k, cmd, true, payload, ok2);
}

void cmpd_set_info(struct cmpd *k, bool related, const struct smb2_fileid *id, uint8_t type,
		   uint8_t cls, uint32_t addl, const struct wbuf *d, int built)
{
	struct smb2_set_info_req q = {
		.info_type = type,
		.file_info_class = cls,
		.additional_information = addl,
		.file_id = *id,
		.buf = d->p,
		.buf_len = (uint32_t)d->len,
	};
	struct wbuf *w = cmpd_add(k, SMB2_SET_INFO, related, 0, 0);
	int bad = built < 0 ? built : d->err ? d->err : d->len > UINT32_MAX ? -EOVERFLOW : 0;
	cmpd_enc(k, bad ? bad : smb2_set_info_encode(w, &q));
}

void pchain_set_info(struct pchain *p, uint8_t type, uint8_t cls, uint32_t addl,
		     const struct wbuf *d, int built)
{
	p->n_acts++;
	cmpd_set_info(&p->k, true, &SMB2_FILEID_RELATED, type, cls, addl, d, built);
}

struct cmpd_msg *pchain_result(struct pchain *p, unsigned i)
{
	return &p->k.m[1 + i];
}

int pchain_run(struct pchain *p, bool close, uint16_t close_flags)
{
	struct smb2_client *c = p->k.c;
	int ci = -1;
	if (close) {
		struct smb2_close_req q = {.flags = close_flags, .file_id = SMB2_FILEID_RELATED};
		ci = (int)p->k.n;
		struct wbuf *w = cmpd_add(&p->k, SMB2_CLOSE, true, 0, 0);
		cmpd_enc(&p->k, smb2_close_encode(w, &q));
	}
	int r = cmpd_run(&p->k);
	if (r < 0)
		return r;
	struct cmpd_msg *cm = &p->k.m[0];
	/* The server fails the related acts with the CREATE's status (Samba,
	 * Windows), or with one of its own: the CREATE's is the answer. */
	if (cm->r < 0)
		return cm->r;
	bool opened = smb2_create_decode(cm->rep.msg, cm->rep.len, &p->cr) == 0;
	p->cr.contexts = NULL;
	p->cr.contexts_len = 0;
	if (!opened)
		smb2_log_error("malformed CREATE reply%s", close ? "" : "; a handle may stay open");
	for (unsigned i = 0; i < p->n_acts; i++)
		if (err_is_transport(pchain_result(p, i)->r))
			return pchain_result(p, i)->r;
	if (ci >= 0) {
		struct cmpd_msg *m = &p->k.m[ci];
		struct smb2_close_rsp cl;
		if (m->r == 0 && (close_flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB) &&
		    smb2_close_decode(m->rep.msg, m->rep.len, &cl) == 0 &&
		    (cl.flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB)) {
			p->closed_attrs = true;
			memset(&p->after, 0, sizeof(p->after));
			p->after.creation_time = cl.creation_time;
			p->after.last_access_time = cl.last_access_time;
			p->after.last_write_time = cl.last_write_time;
			p->after.change_time = cl.change_time;
			p->after.allocation_size = cl.allocation_size;
			p->after.end_of_file = cl.end_of_file;
			p->after.file_attributes = cl.file_attributes;
		}
		/* A server that did not take the related CLOSE (it should)
		 * still gets one: the handle must not stay open. */
		if (m->r < 0 && !err_is_transport(m->r) && opened) {
			smb2_log_debug("related CLOSE failed (%d); closing the handle by its id", m->r);
			(void)file_close_id(c, &p->cr.file_id);
		}
	}
	return opened ? 0 : -EIO;
}

void pchain_free(struct pchain *p)
{
	cmpd_free(&p->k);
}

/* Raw operations on a FileId: CREATE (with the file's identity), CLOSE,
 * QUERY_INFO and SET_INFO of one class.  No list, no retries: callers run
 * these inside client_run (reconnect.c) and own the FileIds they get. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

uint32_t file_access_for_flags(int flags)
{
	uint32_t a = FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE | FILE_READ_EA;
	int acc = flags & O_ACCMODE;
	if (acc == O_RDONLY || acc == O_RDWR)
		a |= FILE_READ_DATA;
	if (acc == O_WRONLY || acc == O_RDWR)
		a |= FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA;
	return a;
}

void fill_stat_from_create(const struct smb2_create_rsp *r, struct fscc_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->creation_time = r->creation_time;
	st->last_access_time = r->last_access_time;
	st->last_write_time = r->last_write_time;
	st->change_time = r->change_time;
	st->end_of_file = r->end_of_file;
	st->allocation_size = r->allocation_size;
	st->file_attributes = r->file_attributes;
}

int file_take_qfid(const struct smb2_create_context *cc, void *arg)
{
	struct file_identity *ident = arg;
	/* MS-SMB2 2.2.14.2.9: DiskFileId (16 bytes: file, volume) + 16 reserved;
	 * the file part is FileInternalInformation's IndexNumber (Samba: the
	 * same id its listings give) */
	if (strcmp(cc->name, "QFid") == 0 && cc->data_len >= 16) {
		memcpy(ident->disk_id, cc->data, 16);
		ident->known = true;
	}
	return 0;
}

void file_create_req(struct smb2_create_req *q, const char *smbpath, uint32_t access,
		     uint32_t disposition, uint32_t options, uint32_t attrs)
{
	*q = (struct smb2_create_req){
		.oplock_level = SMB2_OPLOCK_LEVEL_NONE,
		.impersonation_level = SMB2_IMPERSONATION_IMPERSONATION,
		.desired_access = access,
		.file_attributes = attrs,
		/* Share everything, as POSIX expects: other opens, rename and
		 * unlink of an open file must all still work. */
		.share_access = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
		.create_disposition = disposition,
		.create_options = options,
		.name = smbpath,
	};
}

/* What the reply's create contexts say: the identity, the lease and
 * whether the open is durable. */
struct reply_ctx {
	struct file_identity *ident;
	struct smb2_lease_ctx *lease;
	bool lease_ok;
	struct durable_ask *dh;
};

static int take_reply_ctx(const struct smb2_create_context *cc, void *arg)
{
	struct reply_ctx *x = arg;
	if (x->ident)
		file_take_qfid(cc, x->ident);
	if (x->lease && strcmp(cc->name, SMB2_CREATE_LEASE_TAG) == 0) {
		if (smb2_lease_ctx_decode(cc->data, cc->data_len, x->lease) < 0)
			return -EBADMSG;
		x->lease_ok = true;
	}
	if (x->dh && !x->dh->reclaim && strcmp(cc->name, SMB2_CREATE_DH2Q_TAG) == 0) {
		uint32_t flags;
		if (smb2_dh2q_rsp_decode(cc->data, cc->data_len, &x->dh->granted_timeout_ms,
					 &flags) < 0)
			return -EBADMSG;
		x->dh->granted = true;
	}
	return 0;
}

/* A lease counts only when the reply says so and names our key. */
static void lease_check(const struct smb2_create_rsp *cr, const struct lease_ask *ask, bool ok,
			struct smb2_lease_ctx *got)
{
	if (!ask || !ok || cr->oplock_level != SMB2_OPLOCK_LEVEL_LEASE ||
	    memcmp(got->key, ask->ctx.key, sizeof(got->key)) != 0)
		memset(got, 0, sizeof(*got));
}

int file_reply_lease(const struct smb2_create_rsp *cr, const struct lease_ask *ask,
		     struct smb2_lease_ctx *got)
{
	memset(got, 0, sizeof(*got));
	struct reply_ctx x = {.lease = got};
	if (cr->contexts_len &&
	    smb2_create_contexts_walk(cr->contexts, cr->contexts_len, take_reply_ctx, &x) < 0) {
		memset(got, 0, sizeof(*got));
		return -EIO;
	}
	lease_check(cr, ask, x.lease_ok, got);
	return 0;
}

int file_create_leased(struct smb2_client *c, const char *smbpath, uint32_t access,
		       uint32_t disposition, uint32_t options, uint32_t attrs, struct smb2_fileid *id,
		       struct smb2_create_rsp *out, struct file_identity *ident,
		       const struct lease_ask *ask, struct smb2_lease_ctx *got)
{
	return file_create_durable(c, smbpath, access, disposition, options, attrs, id, out, ident,
				   ask, got, NULL);
}

int file_create_durable(struct smb2_client *c, const char *smbpath, uint32_t access,
			uint32_t disposition, uint32_t options, uint32_t attrs, struct smb2_fileid *id,
			struct smb2_create_rsp *out, struct file_identity *ident,
			const struct lease_ask *ask, struct smb2_lease_ctx *got, struct durable_ask *dh)
{
	/* QFid asks the server for the file's on-disk identity, so a reopen
	 * after reconnect can tell it reached the same file.  A DH2C
	 * reconnect carries only itself and the lease (MS-SMB2 3.2.4.4;
	 * Samba refuses anything more with STATUS_INVALID_PARAMETER): the
	 * reclaimed open is the same open, its identity is not in doubt. */
	struct smb2_create_context ctxs[3];
	uint8_t lease_data[SMB2_LEASE_V2_SIZE];
	uint8_t dh_data[SMB2_DH2C_SIZE];
	unsigned n = 0;
	if (dh && dh->reclaim)
		ident = NULL;
	if (ident)
		ctxs[n++] = (struct smb2_create_context){.name = "QFid"};
	if (dh) {
		dh->granted = false;
		dh->granted_timeout_ms = 0;
		if (dh->reclaim) {
			ctxs[n] = (struct smb2_create_context){.name = SMB2_CREATE_DH2C_TAG,
							       .data = dh_data};
			ctxs[n++].data_len = smb2_dh2c_encode(&dh->old, dh->guid, 0, dh_data);
		} else {
			ctxs[n] = (struct smb2_create_context){.name = SMB2_CREATE_DH2Q_TAG,
							       .data = dh_data};
			ctxs[n++].data_len = smb2_dh2q_encode(dh->timeout_ms, 0, dh->guid, dh_data);
		}
	}
	if (ask) {
		ctxs[n] = (struct smb2_create_context){.name = SMB2_CREATE_LEASE_TAG, .data = lease_data};
		ctxs[n++].data_len = smb2_lease_ctx_encode(&ask->ctx, lease_data);
	}
	struct smb2_create_req q;
	file_create_req(&q, smbpath, access, disposition, options, attrs);
	q.contexts = n ? ctxs : NULL;
	q.n_contexts = n;
	if (ask)
		q.oplock_level = SMB2_OPLOCK_LEVEL_LEASE;
	struct smb2_reply rep;
	struct smb2_create_rsp cr;
	struct wbuf w;
	if (ident)
		memset(ident, 0, sizeof(*ident));
	if (got)
		memset(got, 0, sizeof(*got));
	req_start(c, &w, SMB2_CREATE);
	/* MS-SMB2 3.2.4.1.1 / 3.3.5.9.10: the same CreateGuid sent again
	 * with the replay flag lets the server answer with the open the lost
	 * reply was about instead of making another. */
	if (dh && dh->replay && !w.err && w.len >= SMB2_HDR_SIZE)
		smb2_hdr_add_flags(w.p, SMB2_FLAGS_REPLAY_OPERATION);
	int r = req_call(c, &w, smb2_create_encode(&w, &q), 0, &rep, 0, NULL);
	if (r < 0)
		return r;
	r = smb2_create_decode(rep.msg, rep.len, &cr);
	if (r < 0) {
		smb2_log_error("malformed CREATE reply for %s", smbpath);
		smb2_reply_free(&rep);
		return -EIO;
	}
	struct reply_ctx x = {.ident = ident, .lease = ask ? got : NULL, .dh = dh};
	if (n && cr.contexts_len &&
	    smb2_create_contexts_walk(cr.contexts, cr.contexts_len, take_reply_ctx, &x) < 0) {
		smb2_log_error("malformed create contexts in the CREATE reply for %s", smbpath);
		smb2_reply_free(&rep);
		file_close_id(c, &cr.file_id); /* the server did open it */
		return -EIO;
	}
	if (got)
		lease_check(&cr, ask, x.lease_ok, got);
	if (dh && dh->reclaim)
		dh->granted = true; /* the same open, durable as it was */
	*id = cr.file_id;
	if (ident)
		ident->creation_time = cr.creation_time;
	if (out) {
		*out = cr;
		out->contexts = NULL; /* points into the freed reply */
		out->contexts_len = 0;
	}
	smb2_reply_free(&rep);
	return 0;
}

int file_create_ident(struct smb2_client *c, const char *smbpath, uint32_t access,
		      uint32_t disposition, uint32_t options, uint32_t attrs, struct smb2_fileid *id,
		      struct smb2_create_rsp *out, struct file_identity *ident)
{
	return file_create_leased(c, smbpath, access, disposition, options, attrs, id, out, ident,
				  NULL, NULL);
}

int file_create(struct smb2_client *c, const char *smbpath, uint32_t access, uint32_t disposition,
		uint32_t options, uint32_t attrs, struct smb2_fileid *id, struct smb2_create_rsp *out)
{
	return file_create_ident(c, smbpath, access, disposition, options, attrs, id, out, NULL);
}

int file_close_id(struct smb2_client *c, const struct smb2_fileid *id)
{
	struct smb2_close_req q = {.flags = 0, .file_id = *id};
	struct smb2_reply rep;
	struct wbuf w;
	req_start(c, &w, SMB2_CLOSE);
	int r = req_call(c, &w, smb2_close_encode(&w, &q), 0, &rep, 0, NULL);
	if (r == 0)
		smb2_reply_free(&rep);
	return r;
}

/* QUERY_INFO of one file-information class on an open handle. */
int file_query_info(struct smb2_client *c, const struct smb2_fileid *id, uint8_t info_type,
		    uint8_t cls, uint32_t out_len, struct smb2_reply *rep, const uint8_t **buf,
		    uint32_t *buf_len)
{
	struct smb2_query_info_req q = {
		.info_type = info_type,
		.file_info_class = cls,
		.output_buffer_length = out_len,
		.file_id = *id,
	};
	struct smb2_query_info_rsp qr;
	struct wbuf w;
	req_start(c, &w, SMB2_QUERY_INFO);
	int r = req_call(c, &w, smb2_query_info_encode(&w, &q), 0, rep, 0, NULL);
	if (r < 0)
		return r;
	if (smb2_query_info_decode(rep->msg, rep->len, &qr) < 0) {
		smb2_reply_free(rep);
		smb2_log_error("malformed QUERY_INFO reply (class 0x%02x)", cls);
		return -EIO;
	}
	*buf = qr.buf;
	*buf_len = qr.buf_len;
	return 0;
}

/* SET_INFO of one file-information class on an open handle. */
int file_set_info(struct smb2_client *c, const struct smb2_fileid *id, uint8_t cls,
		  const struct wbuf *data)
{
	if (data->err)
		return data->err;
	if (data->len > UINT32_MAX)
		return -EOVERFLOW;
	struct smb2_set_info_req q = {
		.info_type = SMB2_0_INFO_FILE,
		.file_info_class = cls,
		.file_id = *id,
		.buf = data->p,
		.buf_len = (uint32_t)data->len,
	};
	struct smb2_reply rep;
	struct wbuf w;
	req_start(c, &w, SMB2_SET_INFO);
	int r = req_call(c, &w, smb2_set_info_encode(&w, &q), 0, &rep, 0, NULL);
	if (r == 0)
		smb2_reply_free(&rep);
	return r;
}

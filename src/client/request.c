/* Building requests with the client's ids and turning replies into
 * 0 / -errno, in one place for every operation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"
#include "smb2fs/sfm.h"

void req_start(struct smb2_client *c, struct wbuf *w, uint16_t cmd)
{
	struct smb2_hdr h;
	memset(&h, 0, sizeof(h));
	h.command = cmd;
	h.process_id = 0xFEFF;
	h.session_id = c->session_id;
	h.tree_id = c->tree_id;
	wbuf_init(w);
	/* A failure stays in w->err, which req_call refuses. */
	if (smb2_hdr_encode(w, &h) < 0)
		smb2_log_debug("cannot encode the %s header", smb2_cmd_name(cmd));
}

bool err_is_transport(int err)
{
	switch (err) {
	case ERR_SESSION_GONE:
	case ERR_SESSION_EXPIRED:
	case -ECONNRESET:
	case -ECONNABORTED:
	case -ENOTCONN:
	case -EPIPE:
	case -ESHUTDOWN:
	case -ETIMEDOUT:
		return true;
	default:
		return false;
	}
}

static bool status_means_session_gone(uint32_t s)
{
	return s == STATUS_USER_SESSION_DELETED || s == STATUS_NETWORK_NAME_DELETED;
}

int req_call(struct smb2_client *c, struct wbuf *w, int enc, size_t payload,
	     struct smb2_reply *rep, uint32_t ok2, uint32_t *status_out)
{
	int bad = wbuf_check(w, enc);
	if (bad) {
		wbuf_free(w);
		return bad;
	}
	int r = smb2_conn_call(c->conn, w, payload, c->timeout_sec, rep);
	wbuf_free(w);
	return req_result(c, r, rep, ok2, status_out);
}

int req_result(struct smb2_client *c, int r, struct smb2_reply *rep, uint32_t ok2,
	       uint32_t *status_out)
{
	if (r < 0) {
		/* A dead connection is the transport's failure whatever the
		 * cause (bad signature, malformed frame): reconnect and retry. */
		if (!smb2_conn_alive(c->conn))
			return -ECONNRESET;
		if (r == -ENOBUFS) {
			/* A live connection the server grants too few credits:
			 * reconnecting would not change that. */
			smb2_log_error("the server grants too few credits for this request");
			return -EIO;
		}
		return r;
	}
	uint32_t st = rep->hdr.status;
	if (status_out)
		*status_out = st;
	if (st == STATUS_SUCCESS || (ok2 && st == ok2))
		return 0;
	smb2_reply_free(rep);
	/* An expired session is logged in again, not replaced (MS-SMB2
	 * 3.2.4.2.3, client_run); a deleted one is rebuilt by reconnecting. */
	if (st == STATUS_NETWORK_SESSION_EXPIRED)
		return ERR_SESSION_EXPIRED;
	if (status_means_session_gone(st))
		return ERR_SESSION_GONE;
	/* A status the operation did not expect is a failure even when the
	 * table calls it informational: never report success without data. */
	return nt_status_fail_err(st);
}

int smb_path(const struct smb2_client *c, const char *p, char **out)
{
	/* sfm.c: the separators, the limits, and (mapposix, the default)
	 * the names SMB cannot store as their SFM private-use form. */
	if (!c->prefix)
		return sfm_path_to_smb(p, c->mapposix, out);
	/* A mount of //server/share/sub/dir: "/x" is "sub/dir/x" of the
	 * share, mapped and measured as a whole (the prefix's names too). */
	while (*p == '/')
		p++;
	size_t pl = strlen(c->prefix), n = strlen(p);
	char *full = malloc(pl + n + 3);
	if (!full) {
		*out = NULL;
		return -ENOMEM;
	}
	full[0] = '/';
	memcpy(full + 1, c->prefix, pl);
	full[pl + 1] = '/';
	memcpy(full + pl + 2, p, n + 1);
	int r = sfm_path_to_smb(full, c->mapposix, out);
	free(full);
	return r;
}

/* Modes and owners through security descriptors (secdesc.h).
 *
 * stat asks for the file's descriptor (OWNER | GROUP | DACL) in its own
 * compound, so the POSIX view costs no round trip: CREATE (with
 * READ_CONTROL) + QUERY_INFO(SMB2_0_INFO_SECURITY) + CLOSE (pathops.c
 * calls sec_add_query / sec_take).  chmod writes a DACL for the new mode
 * (owner, group and Everyone ACEs; other ACEs kept), chown the owner or
 * group SID; both read the descriptor back in the same frame, so the
 * attributes they leave need no request of their own.
 *
 * A server that refuses security queries for the share (not supported,
 * an unknown class, or access denied on a handle opened with READ_CONTROL)
 * turns the descriptors off for the mount, once, with a log line: from
 * then on stat shows the fs layer's file_mode/dir_mode and uid/gid, and
 * chmod/chown only toggle FILE_ATTRIBUTE_READONLY. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"
#include "smb2fs/secdesc.h"

#define SEC_INFO_ALL (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION)
#define STATUS_INVALID_OWNER 0xC000005Au

bool smb2_sd_active(struct smb2_client *c)
{
	return __atomic_load_n(&c->sd_map, __ATOMIC_RELAXED) != 0;
}

static void sd_turn_off(struct smb2_client *c, uint32_t status)
{
	if (__atomic_exchange_n(&c->sd_map, 0, __ATOMIC_RELAXED)) {
		const char *name = nt_status_name(status);
		smb2_log_info("the server refuses security queries on %s (%s): modes and owners "
			      "now come from file_mode=, dir_mode=, uid=, gid=", c->unc,
			      name ? name : "unknown status");
	}
}

/* The statuses that say the server cannot answer security queries at all. */
static bool sd_refused(uint32_t status)
{
	return status == STATUS_NOT_SUPPORTED || status == STATUS_NOT_IMPLEMENTED ||
	       status == STATUS_INVALID_INFO_CLASS || status == STATUS_INVALID_DEVICE_REQUEST ||
	       status == STATUS_ACCESS_DENIED;
}

void sec_add_query(struct cmpd *k, bool related, const struct smb2_fileid *id)
{
	struct smb2_query_info_req q = {
		.info_type = SMB2_0_INFO_SECURITY,
		.file_info_class = 0,
		.additional_information = SEC_INFO_ALL,
		.output_buffer_length = SD_MAX_SIZE,
		.file_id = *id,
	};
	struct wbuf *w = cmpd_add(k, SMB2_QUERY_INFO, related, SD_MAX_SIZE, 0);
	cmpd_enc(k, smb2_query_info_encode(w, &q));
}

/* Fills st's POSIX view from a parsed descriptor. */
static void sd_fill(const struct sd_desc *sd, struct fscc_stat *st)
{
	struct sd_posix px;
	sd_to_posix(sd, &px);
	st->sd_asked = true;
	st->has_mode = px.has_mode;
	st->mode = px.mode;
	st->has_uid = px.has_uid;
	st->uid = px.uid;
	st->has_gid = px.has_gid;
	st->gid = px.gid;
}

/* -o debug: one line per descriptor read (owner, group, each ACE). */
static void sd_log(const struct sd_desc *sd)
{
	char line[1024], sid[96];
	size_t o = 0;
	sd_sid_str(&sd->owner, sid, sizeof(sid));
	o += (size_t)snprintf(line + o, sizeof(line) - o, "descriptor: owner %s", sd->has_owner ? sid : "-");
	sd_sid_str(&sd->group, sid, sizeof(sid));
	if (o < sizeof(line))
		o += (size_t)snprintf(line + o, sizeof(line) - o, " group %s%s", sd->has_group ? sid : "-",
				      sd->dacl_null ? " NULL DACL" : sd->has_dacl ? "" : " no DACL");
	for (unsigned i = 0; i < sd->n_aces && o < sizeof(line); i++) {
		const struct sd_ace *a = &sd->aces[i];
		sid[0] = '\0';
		if (a->has_sid)
			sd_sid_str(&a->sid, sid, sizeof(sid));
		o += (size_t)snprintf(line + o, sizeof(line) - o, " [%u/%#x %s %#x]", a->type, a->flags, sid,
				      a->mask);
	}
	smb2_log_debug("%s", line);
}

/* Parses the QUERY_INFO reply m into *sd (sd_free it when 0 is returned).
 * 1: no descriptor (refused, turned off, or malformed: logged); 0: *sd;
 * or a transport error. */
static int sec_parse(struct smb2_client *c, const struct cmpd_msg *m, struct sd_desc *sd)
{
	if (err_is_transport(m->r))
		return m->r;
	if (m->r < 0) {
		if (sd_refused(m->status))
			sd_turn_off(c, m->status);
		else
			smb2_log_debug("security query failed (%d)", m->r);
		return 1;
	}
	struct smb2_query_info_rsp qr;
	int r = smb2_query_info_decode(m->rep.msg, m->rep.len, &qr);
	if (r == 0)
		r = sd_parse(qr.buf, qr.buf_len, sd);
	if (r < 0) {
		smb2_log_error("malformed security descriptor from the server (%d)", r);
		return 1;
	}
	if (smb2_log_debug_on)
		sd_log(sd);
	/* Samba with `nt acl support = no` answers every query with this
	 * placeholder (owner and group Everyone, no DACL at all): nothing to
	 * map, now or later */
	struct sd_sid everyone;
	sd_sid_everyone(&everyone);
	if (sd->dacl_null && sd->has_owner && sd_sid_eq(&sd->owner, &everyone)) {
		sd_free(sd);
		if (__atomic_exchange_n(&c->sd_map, 0, __ATOMIC_RELAXED))
			smb2_log_info("the server keeps no ACLs on %s (a NULL DACL owned by Everyone): modes "
				      "and owners now come from file_mode=, dir_mode=, uid=, gid=", c->unc);
		return 1;
	}
	return 0;
}

int sec_take(struct smb2_client *c, const struct cmpd_msg *m, struct fscc_stat *st)
{
	struct sd_desc sd;
	st->sd_asked = true;
	int r = sec_parse(c, m, &sd);
	if (r != 0)
		return r < 0 ? r : 0;
	sd_fill(&sd, st);
	sd_free(&sd);
	return 0;
}

/* ---- chmod / chown ---- */

struct sec_op {
	const char *path;          /* SMB path */
	struct smb2_file *f;       /* a handle of ours on the file, or NULL */
	bool chmod;
	unsigned mode;             /* chmod */
	uint32_t uid, gid;         /* chown; UINT32_MAX: unchanged */
	struct smb2_attrs *after;
	int attempts;
};

/* FileBasicInformation attributes for a new read-only state; 0 when the
 * file's attributes (attrs) need no change. */
static uint32_t readonly_attrs(uint32_t attrs, bool ro)
{
	if (attrs & FILE_ATTRIBUTE_DIRECTORY)
		return 0; /* READONLY on a directory means something else to Windows */
	if (ro == !!(attrs & FILE_ATTRIBUTE_READONLY))
		return 0;
	attrs = ro ? attrs | FILE_ATTRIBUTE_READONLY : attrs & ~FILE_ATTRIBUTE_READONLY;
	attrs &= ~FILE_ATTRIBUTE_NORMAL;
	return attrs ? attrs : FILE_ATTRIBUTE_NORMAL;
}


/* The second frame of chmod, or chown's acts, on the open handle id:
 * SET_INFOs, QUERY_INFO of the descriptor, CLOSE with the attributes.
 *
 * Samba keeps DOS attributes in an extended attribute, which the file's
 * owner may write only while the mode lets it write: so READONLY is set
 * before a DACL that takes the write bits away, and cleared after one
 * that gives them back.  With a DACL, the attribute is a courtesy to
 * Windows clients: its failure does not fail the chmod. */
static int finish(struct smb2_client *c, struct sec_op *so, const struct smb2_fileid *id,
		  struct wbuf *sec, int sec_built, uint32_t sec_addl, uint32_t new_attrs)
{
	struct cmpd k;
	cmpd_init(&k, c);
	unsigned n_set = 0;
	int basic_at = -1;
	struct wbuf basic;
	wbuf_init(&basic);
	bool ro_first = new_attrs && (new_attrs & FILE_ATTRIBUTE_READONLY);
	for (int step = 0; step < 2; step++) {
		bool do_basic = new_attrs && (step == 0) == ro_first;
		if (step == (ro_first ? 1 : 0) && sec) {
			cmpd_set_info(&k, false, id, SMB2_0_INFO_SECURITY, 0, sec_addl, sec, sec_built);
			n_set++;
		}
		if (do_basic) {
			int built = fscc_build_basic(&basic, 0, 0, 0, 0, new_attrs);
			basic_at = (int)k.n;
			cmpd_set_info(&k, false, id, SMB2_0_INFO_FILE, FileBasicInformation, 0, &basic, built);
			n_set++;
		}
	}
	bool query = smb2_sd_active(c);
	if (query)
		sec_add_query(&k, false, id);
	struct smb2_close_req cq = {.flags = SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB, .file_id = *id};
	unsigned ci = k.n;
	struct wbuf *w = cmpd_add(&k, SMB2_CLOSE, false, 0, 0);
	cmpd_enc(&k, smb2_close_encode(w, &cq));
	int r = cmpd_run(&k);
	wbuf_free(&basic);
	if (r < 0) {
		cmpd_free(&k);
		/* nothing went out: close what we opened */
		if (!err_is_transport(r))
			(void)file_close_id(c, id);
		return r;
	}
	for (unsigned i = 0; i < n_set && r == 0; i++) {
		if ((int)i == basic_at && sec && !err_is_transport(k.m[i].r)) {
			if (k.m[i].r < 0)
				smb2_log_debug("chmod %s: FILE_ATTRIBUTE_READONLY not changed (%d)",
					       so->path, k.m[i].r);
			continue;
		}
		r = k.m[i].r;
		if (r == -EACCES || k.m[i].status == STATUS_INVALID_OWNER)
			r = -EPERM; /* POSIX: not the owner (or not root) */
	}
	struct smb2_close_rsp cl;
	struct fscc_stat st;
	memset(&st, 0, sizeof(st));
	bool have = r == 0 && k.m[ci].r == 0 && smb2_close_decode(k.m[ci].rep.msg, k.m[ci].rep.len, &cl) == 0 &&
		    (cl.flags & SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
	if (have) {
		st.creation_time = cl.creation_time;
		st.last_access_time = cl.last_access_time;
		st.last_write_time = cl.last_write_time;
		st.change_time = cl.change_time;
		st.allocation_size = cl.allocation_size;
		st.end_of_file = cl.end_of_file;
		st.file_attributes = cl.file_attributes;
		if (query) {
			int qr = sec_take(c, &k.m[ci - 1], &st);
			if (qr < 0)
				have = false;
		}
	}
	if (so->after) {
		so->after->valid = have;
		if (have)
			so->after->st = st;
	}
	if (r == 0 && err_is_transport(k.m[ci].r))
		r = 0; /* a lost CLOSE reply: the server closes the handle itself */
	if (k.m[ci].r < 0 && !err_is_transport(k.m[ci].r))
		(void)file_close_id(c, id);
	cmpd_free(&k);
	return r;
}

/* CREATE + SET_INFO(FileBasicInformation: attrs) + CLOSE, after a chmod
 * gave the write bits back (best effort, as the attribute in finish). */
static void clear_readonly(struct smb2_client *c, struct sec_op *so, uint32_t attrs)
{
	struct pchain p;
	pchain_start(&p, c, so->path, FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE,
		     FILE_OPEN, 0, 0);
	struct wbuf d;
	wbuf_init(&d);
	int built = fscc_build_basic(&d, 0, 0, 0, 0, attrs);
	pchain_set_info(&p, SMB2_0_INFO_FILE, FileBasicInformation, 0, &d, built);
	int r = pchain_run(&p, true, 0);
	if (r == 0)
		r = pchain_result(&p, 0)->r;
	if (r == 0 && so->after && so->after->valid)
		so->after->st.file_attributes = attrs;
	else if (r < 0)
		smb2_log_debug("chmod %s: FILE_ATTRIBUTE_READONLY not cleared (%d)", so->path, r);
	pchain_free(&p);
	wbuf_free(&d);
}

struct find_lease {
	const char *path;
	struct lease_ask ask;
	bool found;
};

static bool find_lease(struct smb2_client *c, struct smb2_file *f, void *arg)
{
	struct find_lease *fl = arg;
	if (f->stale || !f->lease || strcmp(f->path, fl->path) != 0)
		return true;
	fl->found = lease_request(c, f->lease, &fl->ask);
	return !fl->found;
}

/* pchain_start, with our lease key on the file when a handle of ours
 * (f, else any on the path) holds one: an open without it would break our
 * own lease (Samba counts WRITE_DAC and FILE_WRITE_ATTRIBUTES opens
 * against it). */
static void chmod_start(struct pchain *p, struct smb2_client *c, const char *path, uint32_t access,
			struct smb2_file *f)
{
	memset(p, 0, sizeof(*p));
	cmpd_init(&p->k, c);
	struct smb2_create_req q;
	file_create_req(&q, path, access, FILE_OPEN, 0, 0);
	struct find_lease fl = {.path = path};
	struct smb2_create_context ctx;
	uint8_t data[SMB2_LEASE_V2_SIZE];
	struct lease_ask ask;
	if (f && !f->stale && lease_request(c, f->lease, &ask)) {
		fl.found = true;
		fl.ask = ask;
	} else {
		files_each(c, find_lease, &fl);
	}
	if (fl.found) {
		ask = fl.ask;
		ctx = (struct smb2_create_context){.name = SMB2_CREATE_LEASE_TAG, .data = data};
		ctx.data_len = smb2_lease_ctx_encode(&ask.ctx, data);
		q.contexts = &ctx;
		q.n_contexts = 1;
		q.oplock_level = SMB2_OPLOCK_LEVEL_LEASE;
	}
	struct wbuf *w = cmpd_add(&p->k, SMB2_CREATE, false, 0, 0);
	cmpd_enc(&p->k, smb2_create_encode(w, &q));
}

static int op_chmod(struct smb2_client *c, void *arg)
{
	struct sec_op *so = arg;
	bool sd = smb2_sd_active(c);
	so->attempts++;
	if (so->after)
		so->after->valid = false;
	struct pchain p;
	uint32_t access = FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE;
	if (sd)
		access |= READ_CONTROL | SD_WRITE_DAC;
	int r;
	/* The owner of a file without write bits may change its DACL but
	 * not its attributes (Samba maps w to FILE_WRITE_ATTRIBUTES): then
	 * the DACL first, and the attribute through a second handle. */
	for (;;) {
		chmod_start(&p, c, so->path, access, so->f);
		if (sd) {
			p.n_acts++;
			sec_add_query(&p.k, true, &SMB2_FILEID_RELATED);
		}
		r = pchain_run(&p, false, 0);
		if (r == -EACCES && sd && (access & FILE_WRITE_ATTRIBUTES)) {
			pchain_free(&p);
			access &= ~FILE_WRITE_ATTRIBUTES;
			continue;
		}
		break;
	}
	if (r < 0) {
		pchain_free(&p);
		return r == -EACCES ? -EPERM : r;
	}
	struct smb2_fileid id = p.cr.file_id;
	uint32_t new_attrs = readonly_attrs(p.cr.file_attributes, (so->mode & 0222) == 0);
	uint32_t later_attrs = 0;
	if (!(access & FILE_WRITE_ATTRIBUTES)) {
		/* clearing READONLY can wait for the write bits; setting it
		 * on a file that has none is left (Windows clients see the
		 * DACL anyway) */
		if (!(new_attrs & FILE_ATTRIBUTE_READONLY))
			later_attrs = new_attrs;
		new_attrs = 0;
	}
	struct wbuf sec;
	wbuf_init(&sec);
	int built = 0;
	bool send_sec = false;
	if (sd) {
		struct sd_desc cur;
		int pr = sec_parse(c, pchain_result(&p, 0), &cur);
		if (pr < 0) {
			pchain_free(&p);
			(void)file_close_id(c, &id);
			return pr;
		}
		if (pr == 0) {
			struct sd_sid owner, group;
			/* a descriptor without owner or group cannot say whose
			 * bits are whose: the Unix ids Samba would show */
			if (cur.has_owner && cur.has_group) {
				owner = cur.owner;
				group = cur.group;
				built = sd_build_mode(&sec, &cur, &owner, &group, so->mode & 0777);
				send_sec = true;
			} else {
				smb2_log_debug("chmod %s: the descriptor has no owner or group", so->path);
			}
			sd_free(&cur);
		}
	}
	pchain_free(&p);
	r = finish(c, so, &id, send_sec ? &sec : NULL, built, DACL_SECURITY_INFORMATION, new_attrs);
	wbuf_free(&sec);
	if (r == 0 && later_attrs)
		clear_readonly(c, so, later_attrs);
	return r;
}

static int op_chown(struct smb2_client *c, void *arg)
{
	struct sec_op *so = arg;
	so->attempts++;
	if (so->after)
		so->after->valid = false;
	struct smb2_create_rsp cr;
	struct smb2_fileid id;
	int r = file_create(c, so->path, READ_CONTROL | SD_WRITE_OWNER | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
			    FILE_OPEN, 0, 0, &id, &cr);
	if (r < 0)
		return r == -EACCES ? -EPERM : r;
	struct sd_desc sd = {0};
	uint32_t addl = 0;
	if (so->uid != UINT32_MAX) {
		sd.has_owner = true;
		sd_sid_unix_user(&sd.owner, so->uid);
		addl |= OWNER_SECURITY_INFORMATION;
	}
	if (so->gid != UINT32_MAX) {
		sd.has_group = true;
		sd_sid_unix_group(&sd.group, so->gid);
		addl |= GROUP_SECURITY_INFORMATION;
	}
	struct wbuf sec;
	wbuf_init(&sec);
	int built = sd_build(&sec, &sd);
	r = finish(c, so, &id, &sec, built, addl, 0);
	wbuf_free(&sec);
	return r;
}

int smb2_chmod(struct smb2_client *c, const char *path, struct smb2_file *f, unsigned mode,
	       struct smb2_attrs *after)
{
	/* the attributes the CLOSE returns must show what write() accepted */
	int r = wb_settle_path(c, path);
	if (r < 0)
		return r;
	char *p;
	r = smb_path(c, path, &p);
	if (r < 0)
		return r;
	struct sec_op so = {.path = p, .f = f, .chmod = true, .mode = mode, .after = after};
	r = client_run(c, op_chmod, &so);
	free(p);
	return r;
}

int smb2_chown(struct smb2_client *c, const char *path, uint32_t uid, uint32_t gid,
	       struct smb2_attrs *after)
{
	if (after)
		after->valid = false;
	if (uid == UINT32_MAX && gid == UINT32_MAX)
		return 0;
	if (!smb2_sd_active(c))
		return 0; /* no owners on this mount: accepted and ignored, as before */
	int r = wb_settle_path(c, path);
	if (r < 0)
		return r;
	char *p;
	r = smb_path(c, path, &p);
	if (r < 0)
		return r;
	struct sec_op so = {.path = p, .uid = uid, .gid = gid, .after = after};
	r = client_run(c, op_chown, &so);
	free(p);
	/* The server would not give the file away (Samba: only root and
	 * `admin users` may).  Accepted and ignored, as with descriptors off
	 * and as cifs does without cifsacl: tar and cp -p run as root here
	 * (the kernel lets root chown anything) and must not fail on every
	 * file; stat shows the owner the server kept. */
	if (r == -EPERM) {
		if (__atomic_fetch_add(&c->chown_refusals, 1, __ATOMIC_RELAXED) == 0)
			smb2_log_info("%s: the server refuses to change owners (%s); chown is accepted "
				      "and ignored where it does", c->unc, path);
		else
			smb2_log_debug("chown %s: refused by the server; ignored", path);
		r = 0;
	}
	return r;
}

/* ---- fstat with the descriptor ---- */

struct fstat_sd_args {
	struct smb2_file *f;
	struct fscc_stat *st;
};

/* QUERY_INFO(FileNetworkOpenInformation) + QUERY_INFO(security) on the
 * handle in one frame (every open asks for READ_CONTROL:
 * file_access_for_flags): st gets the attributes, k->m[1] holds the
 * descriptor's reply; the caller frees k. */
static int query_attrs_sd(struct smb2_client *c, const struct smb2_fileid *id, struct cmpd *k,
			  struct fscc_stat *st)
{
	cmpd_init(k, c);
	struct smb2_query_info_req q = {
		.info_type = SMB2_0_INFO_FILE,
		.file_info_class = FileNetworkOpenInformation,
		.output_buffer_length = 56,
		.file_id = *id,
	};
	struct wbuf *w = cmpd_add(k, SMB2_QUERY_INFO, false, 0, 0);
	cmpd_enc(k, smb2_query_info_encode(w, &q));
	sec_add_query(k, false, id);
	int r = cmpd_run(k);
	if (r == 0)
		r = k->m[0].r;
	struct smb2_query_info_rsp qr;
	memset(st, 0, sizeof(*st));
	if (r == 0 && (smb2_query_info_decode(k->m[0].rep.msg, k->m[0].rep.len, &qr) < 0 ||
		       fscc_parse_network_open(qr.buf, qr.buf_len, st) < 0))
		r = -EIO;
	return r;
}

int sec_stat_id(struct smb2_client *c, const struct smb2_fileid *id, struct fscc_stat *st)
{
	struct cmpd k;
	int r = query_attrs_sd(c, id, &k, st);
	if (r == 0)
		r = sec_take(c, &k.m[1], st);
	cmpd_free(&k);
	return r;
}

static int op_fstat_sd(struct smb2_client *c, void *arg)
{
	struct fstat_sd_args *a = arg;
	if (a->f->stale)
		return -ESTALE;
	return sec_stat_id(c, &a->f->id, a->st);
}

int smb2_fstat_sd(struct smb2_client *c, struct smb2_file *f, struct fscc_stat *st)
{
	if (!smb2_sd_active(c))
		return smb2_fstat(c, f, st);
	if (__atomic_load_n(&c->wb_files, __ATOMIC_RELAXED) != 0) {
		int r = wb_settle_file(c, f, true); /* as smb2_fstat: queued writes first */
		if (r < 0)
			return r;
	}
	memset(st, 0, sizeof(*st));
	struct fstat_sd_args a = {f, st};
	return client_run(c, op_fstat_sd, &a);
}

/* ---- the descriptors of a listing's entries ---- */

/* Compounds in flight at once (each CREATE + QUERY_INFO x2 + CLOSE takes 4
 * credits), fewer while the server's credit window is small. */
#define STAT_MANY_WINDOW 16

struct stat_many {
	char **paths;              /* SMB paths; NULL: skipped (res says why) */
	size_t n;
	struct fscc_stat *st;
	int *res;
};

static void many_add(struct cmpd *k, const char *path)
{
	struct smb2_create_req cq;
	file_create_req(&cq, path, FILE_READ_ATTRIBUTES | READ_CONTROL, FILE_OPEN, 0, 0);
	struct wbuf *w = cmpd_add(k, SMB2_CREATE, false, 0, 0);
	cmpd_enc(k, smb2_create_encode(w, &cq));
	sec_add_query(k, true, &SMB2_FILEID_RELATED);
	/* the link count, which a listing does not carry (hard links: rsync
	 * -H and tar look at st_nlink before st_ino) */
	link_add_query_std(k);
	struct smb2_close_req cl = {.file_id = SMB2_FILEID_RELATED};
	w = cmpd_add(k, SMB2_CLOSE, true, 0, 0);
	cmpd_enc(k, smb2_close_encode(w, &cl));
}

/* One entry's replies: 0 (st filled), its error, or a transport error
 * (returned through *lost). */
static int many_take(struct smb2_client *c, struct cmpd *k, struct fscc_stat *st, int *lost)
{
	struct cmpd_msg *cm = &k->m[0];
	if (cm->r < 0) {
		if (err_is_transport(cm->r))
			*lost = cm->r;
		return cm->r;
	}
	struct smb2_create_rsp cr;
	if (smb2_create_decode(cm->rep.msg, cm->rep.len, &cr) < 0) {
		smb2_log_error("malformed CREATE reply");
		return -EIO;
	}
	int r = 0;
	fill_stat_from_create(&cr, st);
	int t = sec_take(c, &k->m[1], st);
	if (t < 0) {
		*lost = t;
		r = t;
	}
	st->nlink = link_take_std(&k->m[2]);
	struct cmpd_msg *close = &k->m[3];
	if (close->r < 0 && !err_is_transport(close->r))
		(void)file_close_id(c, &cr.file_id);
	return r;
}

static int op_stat_many(struct smb2_client *c, void *arg)
{
	struct stat_many *sm = arg;
	size_t win = STAT_MANY_WINDOW;
	uint32_t credits = smb2_conn_window(c->conn);
	if (credits / 8 < win)
		win = credits / 8 ? credits / 8 : 1;
	struct cmpd *k = calloc(win, sizeof(*k));
	struct smb2_req *(*q)[SMB2_CHAIN_MAX] = calloc(win, sizeof(*q));
	int *sub = calloc(win, sizeof(*sub));
	size_t *at = calloc(win, sizeof(*at));
	int lost = 0;
	if (!k || !q || !sub || !at)
		lost = -ENOMEM;
	for (size_t next = 0; next < sm->n && !lost;) {
		size_t cnt = 0;
		for (; cnt < win && next < sm->n; next++) {
			if (!sm->paths[next])
				continue;
			at[cnt] = next;
			cmpd_init(&k[cnt], c);
			many_add(&k[cnt], sm->paths[next]);
			sub[cnt] = cmpd_submit(&k[cnt], q[cnt]);
			cnt++;
		}
		for (size_t i = 0; i < cnt; i++) {
			size_t j = at[i];
			if (sub[i] == 0) {
				cmpd_collect(&k[i], q[i]);
				memset(&sm->st[j], 0, sizeof(sm->st[j]));
				sm->res[j] = many_take(c, &k[i], &sm->st[j], &lost);
			} else {
				sm->res[j] = sub[i];
				if (err_is_transport(sub[i]))
					lost = sub[i];
			}
			cmpd_free(&k[i]);
		}
	}
	free(k);
	free(q);
	free(sub);
	free(at);
	return lost;
}

int smb2_stat_many(struct smb2_client *c, const char *dir, const char *const *names, size_t n,
		   struct fscc_stat *st, int *res)
{
	struct stat_many sm = {.n = n, .st = st, .res = res};
	sm.paths = calloc(n ? n : 1, sizeof(*sm.paths));
	if (!sm.paths)
		return -ENOMEM;
	size_t dl = strlen(dir);
	bool root = dl == 1 && dir[0] == '/';
	char *buf = NULL;
	size_t cap = 0;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t need = dl + strlen(names[i]) + 2;
		if (need > cap) {
			char *p = realloc(buf, need);
			if (!p) {
				r = -ENOMEM;
				break;
			}
			buf = p;
			cap = need;
		}
		snprintf(buf, need, "%s/%s", root ? "" : dir, names[i]);
		res[i] = smb_path(c, buf, &sm.paths[i]);
	}
	free(buf);
	if (r == 0)
		r = client_run(c, op_stat_many, &sm);
	for (size_t i = 0; i < n; i++)
		free(sm.paths[i]);
	free(sm.paths);
	return r;
}

/* ---- the mode of a file just created ---- */

struct created_args {
	struct smb2_file *f;
	const char *path;          /* SMB path */
	unsigned mode;
	struct fscc_stat *st;      /* out: the attributes (and descriptor) now */
	bool changed;
};


/* Frame 1: the attributes and the descriptor through the new handle.
 * Frame 2, when the server gave another mode: CREATE (our lease key) +
 * SET_INFO(DACL built from frame 1's descriptor) [+ the read-only
 * attribute, ordered as in finish] + QUERY_INFO(descriptor) + CLOSE with
 * the attributes: chmod in one frame, since the owner and group SIDs are
 * known already. */
static int op_created(struct smb2_client *c, void *arg)
{
	struct created_args *a = arg;
	a->changed = false;
	if (a->f->stale)
		return -ESTALE;
	struct cmpd k;
	int r = query_attrs_sd(c, &a->f->id, &k, a->st);
	struct sd_desc cur;
	int pr = 1;
	if (r == 0) {
		a->st->sd_asked = true;
		pr = sec_parse(c, &k.m[1], &cur);
		if (pr < 0)
			r = pr;
		else if (pr == 0)
			sd_fill(&cur, a->st);
	}
	cmpd_free(&k);
	if (r < 0 || pr != 0)
		return r;
	if (!a->st->has_mode || a->st->mode == (a->mode & 0777) || !cur.has_owner || !cur.has_group) {
		sd_free(&cur);
		return 0;
	}
	struct wbuf sec, basic;
	wbuf_init(&sec);
	wbuf_init(&basic);
	int sec_built = sd_build_mode(&sec, &cur, &cur.owner, &cur.group, a->mode & 0777);
	sd_free(&cur);
	uint32_t attrs = readonly_attrs(a->st->file_attributes, (a->mode & 0222) == 0);
	int basic_built = attrs ? fscc_build_basic(&basic, 0, 0, 0, 0, attrs) : 0;
	bool ro_first = attrs & FILE_ATTRIBUTE_READONLY;
	struct pchain p;
	chmod_start(&p, c, a->path, FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE |
				    READ_CONTROL | SD_WRITE_DAC, a->f);
	unsigned sec_at = ro_first ? 1 : 0, n_set = attrs ? 2 : 1;
	for (unsigned i = 0; i < n_set; i++) {
		if (i == sec_at)
			pchain_set_info(&p, SMB2_0_INFO_SECURITY, 0, DACL_SECURITY_INFORMATION, &sec, sec_built);
		else
			pchain_set_info(&p, SMB2_0_INFO_FILE, FileBasicInformation, 0, &basic, basic_built);
	}
	p.n_acts++;
	sec_add_query(&p.k, true, &SMB2_FILEID_RELATED);
	r = pchain_run(&p, true, SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB);
	if (r == 0)
		r = pchain_result(&p, sec_at)->r;
	if (r == 0) {
		a->changed = true;
		struct fscc_stat st;
		if (!p.closed_attrs) {
			r = -ENODATA; /* made, but what it left is unknown */
		} else {
			st = p.after;
			r = sec_take(c, pchain_result(&p, n_set), &st); /* a transport error: rerun */
			if (r == 0)
				*a->st = st;
		}
	}
	pchain_free(&p);
	wbuf_free(&sec);
	wbuf_free(&basic);
	return r == -EACCES ? -EPERM : r;
}

int smb2_created_mode(struct smb2_client *c, const char *path, struct smb2_file *f, unsigned mode,
		      struct fscc_stat *st, bool *changed)
{
	*changed = false;
	if (!smb2_sd_active(c))
		return -ENODATA;
	if (__atomic_load_n(&c->wb_files, __ATOMIC_RELAXED) != 0) {
		int r = wb_settle_file(c, f, true);
		if (r < 0)
			return r;
	}
	char *p;
	int r = smb_path(c, path, &p);
	if (r < 0)
		return r;
	struct created_args a = {.f = f, .path = p, .mode = mode, .st = st};
	r = client_run(c, op_created, &a);
	free(p);
	*changed = a.changed;
	return r;
}

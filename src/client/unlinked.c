/* Unlink of a file this mount has open (docs/posix.md).  POSIX keeps the
 * data of an unlinked file reachable through its open descriptors until
 * the last close; SMB deletes a file only when its last handle closes and
 * keeps the name until then (delete-pending: listed, and no new file can
 * take it).  libfuse hides such a file by renaming it to a name of its own
 * (.fuse_hidden*, the key here) and unlinks that after the last close; we
 * do not make that name on the server.  The file is renamed to a reserved
 * name in the mount's root instead (the share root, or the directory a
 * //server/share/sub/dir mount shows: smb_path puts it first, and the
 * root's listing hides the name the same way; our handles share delete, so
 * the server allows it; they follow the rename, handles.c), and marked
 * delete on close there, on the same handle in the same compound
 * (CREATE + SET_INFO rename + SET_INFO disposition + CLOSE: no moment
 * with the file under the reserved name and not delete-pending): the
 * name and its directory are free at once, and
 * the server deletes the file when our last handle on it closes.  Those
 * handles are closed for real, never kept by deferred close.  A stat of
 * the key goes through one of them (a delete-pending file cannot be
 * opened).  A reconnect reclaims our durable handles (handles.c), and
 * with them the delete-pending file; where the server refused that, it has
 * deleted the file (its handles went with the connection): the
 * descriptors are stale. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/crypto.h"
#include "smb2fs/fscc.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

/* key -> the reserved name the file waits under; under files_mu */
struct unlinked_name {
	char *key;
	char *smbpath;         /* SMB path of SMB2_UNLINKED_PREFIX "<hex>" in the
				* mount's root (our handles' path) */
	bool closed;           /* our last handle on it closed */
	struct unlinked_name *next;
};

bool smb2_path_reserved(const char *path)
{
	if (!path)
		return false;
	while (*path == '/')
		path++;
	return strncmp(path, SMB2_UNLINKED_PREFIX, strlen(SMB2_UNLINKED_PREFIX)) == 0 &&
	       !strchr(path, '/');
}

static void name_free(struct unlinked_name *u)
{
	free(u->key);
	free(u->smbpath);
	free(u);
}

/* The entry of key (files_mu held); prev receives the link to it. */
static struct unlinked_name *find(struct smb2_client *c, const char *key, struct unlinked_name ***prev)
{
	for (struct unlinked_name **pp = &c->unlinked; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			if (prev)
				*prev = pp;
			return *pp;
		}
	}
	return NULL;
}

int smb2_unlink_open(struct smb2_client *c, const char *path, const char *key)
{
	char *sp;
	int r = smb_path(c, path, &sp);
	if (r < 0)
		return r;
	if (!files_open_at(c, sp)) {
		free(sp);
		return smb2_unlink(c, path);
	}
	struct unlinked_name *u = calloc(1, sizeof(*u));
	char hidden[64];
	uint8_t rnd[8];
	smb2_random(rnd, sizeof(rnd));
	int n = snprintf(hidden, sizeof(hidden), "/" SMB2_UNLINKED_PREFIX);
	for (size_t i = 0; i < sizeof(rnd); i++)
		n += snprintf(hidden + (size_t)n, sizeof(hidden) - (size_t)n, "%02x", rnd[i]);
	if (!u || !(u->key = strdup(key)) || smb_path(c, hidden, &u->smbpath) < 0) {
		if (u)
			name_free(u);
		free(sp);
		return -ENOMEM;
	}
	/* Our handles first: a close from now on is never deferred (a kept
	 * handle would keep the delete-pending file). */
	files_mark_unlinked(c, sp);
	free(sp);
	/* (it closes our deferred handles of the file first) */
	int del_r;
	uint32_t del_status;
	r = path_rename_delete(c, path, u->smbpath, &del_r, &del_status);
	if (r < 0) {
		name_free(u);
		if (del_r == 0) {
			smb2_log_info("unlink of open file %s: cannot move it aside (%d); deleted in "
				      "place (its name stays until the last close)", path, r);
			return 0;
		}
		smb2_log_info("unlink of open file %s: cannot move it aside (%d); deleting it in place "
			      "(its name stays until the last close)", path, r);
		return smb2_unlink(c, path);
	}
	/* read-only (READONLY): the unlink around a chmod u+w (pathops.c) */
	if (del_r < 0 && del_status == STATUS_CANNOT_DELETE)
		del_r = smb2_unlink(c, hidden);
	if (del_r < 0)
		smb2_log_error("unlink of open file %s: moved to %s but cannot mark it for deletion: %d; "
			       "it stays on the server", path, hidden + 1, del_r);
	/* Entries whose last handle closed are normally forgotten by
	 * libfuse's unlink of the key just after; it skips that when the
	 * key's directory went meanwhile, so they are dropped here too (a
	 * late unlink of the key then asks the server, which says ENOENT,
	 * and libfuse ignores it). */
	struct unlinked_name *gone = NULL;
	pthread_mutex_lock(&c->files_mu);
	for (struct unlinked_name **pp = &c->unlinked; *pp;) {
		struct unlinked_name *e = *pp;
		if (e->closed) {
			*pp = e->next;
			e->next = gone;
			gone = e;
		} else {
			pp = &e->next;
		}
	}
	u->next = c->unlinked;
	c->unlinked = u;
	pthread_mutex_unlock(&c->files_mu);
	while (gone) {
		struct unlinked_name *next = gone->next;
		name_free(gone);
		gone = next;
	}
	return 0;
}

void unlinked_closed(struct smb2_client *c, const char *smbpath)
{
	pthread_mutex_lock(&c->files_mu);
	bool last = true;
	for (struct smb2_file *f = c->files; f && last; f = f->next)
		last = strcmp(f->path, smbpath) != 0;
	for (struct unlinked_name *u = last ? c->unlinked : NULL; u; u = u->next)
		if (strcmp(u->smbpath, smbpath) == 0)
			u->closed = true;
	pthread_mutex_unlock(&c->files_mu);
}

struct ustat_args {
	const char *smbpath;
	struct fscc_stat *st;
};

static bool live_handle(const struct smb2_file *f)
{
	return !f->stale && !f->deferred;
}

static int op_unlinked_stat(struct smb2_client *c, void *arg)
{
	struct ustat_args *a = arg;
	struct smb2_fileid id;
	if (!files_find_id(c, a->smbpath, live_handle, &id))
		return -ESTALE;
	int r = file_stat_id(c, &id, true, a->st);
	return r == -EBADF ? -ESTALE : r; /* closed meanwhile */
}

int smb2_unlinked_stat(struct smb2_client *c, const char *key, struct fscc_stat *st)
{
	pthread_mutex_lock(&c->files_mu);
	struct unlinked_name *u = find(c, key, NULL);
	char *sp = u ? strdup(u->smbpath) : NULL;
	pthread_mutex_unlock(&c->files_mu);
	if (!sp)
		return u ? -ENOMEM : -ENOENT;
	/* the size includes what write() accepted */
	int r = wb_drain_path(c, sp);
	if (r == 0) {
		memset(st, 0, sizeof(*st));
		struct ustat_args a = {sp, st};
		r = client_run(c, op_unlinked_stat, &a);
	}
	free(sp);
	return r;
}

bool smb2_unlinked_forget(struct smb2_client *c, const char *key)
{
	struct unlinked_name **prev;
	pthread_mutex_lock(&c->files_mu);
	struct unlinked_name *u = find(c, key, &prev);
	if (u)
		*prev = u->next;
	pthread_mutex_unlock(&c->files_mu);
	if (u)
		name_free(u);
	return u != NULL;
}

void unlinked_free_all(struct smb2_client *c)
{
	pthread_mutex_lock(&c->files_mu);
	struct unlinked_name *u = c->unlinked;
	c->unlinked = NULL;
	pthread_mutex_unlock(&c->files_mu);
	while (u) {
		struct unlinked_name *n = u->next;
		name_free(u);
		u = n;
	}
}

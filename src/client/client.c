/* Client object lifetime: config copy, first connect, orderly teardown. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/auth.h"
#include "smb2fs/log.h"

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void client_free(struct smb2_client *c)
{
	free(c->server);
	free(c->share);
	free(c->user);
	free(c->domain);
	free(c->ccache);
	free(c->keytab);
	free(c->spn);
	smb2_secure_zero(c->nt_hash, sizeof(c->nt_hash));
	free(c->unc);
	pthread_rwlock_destroy(&c->lock);
	pthread_mutex_destroy(&c->files_mu);
	lease_destroy(c);
	locks_destroy(c);
	free(c);
}

int smb2_client_connect(const struct smb2_config *cfg, struct smb2_client **out, char *errmsg,
			size_t errlen)
{
	if (!cfg->server || !*cfg->server || !cfg->share || !*cfg->share) {
		snprintf(errmsg, errlen, "no server or share given");
		return -EINVAL;
	}
	struct smb2_client *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(errmsg, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	/* Writer preference: a reconnect must not starve behind a stream of
	 * operations that each take the lock for reading. */
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c->lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&c->files_mu, NULL);
	lease_init(c);
	locks_init(c);

	c->server = strdup(cfg->server);
	c->share = strdup(cfg->share);
	c->user = dup_or_null(cfg->user);
	c->domain = dup_or_null(cfg->domain);
	c->guest = cfg->guest;
	c->krb5 = cfg->krb5 && !cfg->guest;
	c->ccache = dup_or_null(cfg->krb5_ccache);
	c->keytab = dup_or_null(cfg->krb5_keytab);
	c->spn = dup_or_null(cfg->spn);
	c->port = cfg->port ? cfg->port : 445;
	c->min_dialect = cfg->min_dialect ? cfg->min_dialect : SMB2_DIALECT_202;
	c->max_dialect = cfg->max_dialect ? cfg->max_dialect : SMB2_DIALECT_311;
	/* Sign by default (as Windows 11 24H2 does): an unsigned session
	 * lets anyone on the path rewrite replies.  Guest sessions have no
	 * key, so they sign only when asked, and then fail. */
	c->sign_asked = cfg->require_signing;
	c->seal_asked = cfg->seal;
	c->require_signing = cfg->require_signing || (!cfg->no_signing && !cfg->guest);
	c->timeout_sec = cfg->timeout_sec ? cfg->timeout_sec : 30;
	c->write_behind = !cfg->no_write_behind;
	c->read_for_write = cfg->read_for_write;
	c->mapposix = !cfg->no_mapposix;
	c->leasing = !cfg->no_leases;
	c->sd_map = !cfg->no_cifsacl;
	c->close_timeout_ms = cfg->close_timeout_ms;
	c->connect_timeout_sec = cfg->connect_timeout_sec ? cfg->connect_timeout_sec : 10;
	size_t ulen = strlen(cfg->server) + strlen(cfg->share) + 4;
	c->unc = malloc(ulen);
	if (!c->server || !c->share || !c->unc || (cfg->user && !c->user) ||
	    (cfg->domain && !c->domain) || (cfg->krb5_ccache && !c->ccache) ||
	    (cfg->krb5_keytab && !c->keytab) || (cfg->spn && !c->spn)) {
		client_free(c);
		snprintf(errmsg, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(c->unc, ulen, "\\\\%s\\%s", cfg->server, cfg->share);
	if (c->min_dialect > c->max_dialect) {
		client_free(c);
		snprintf(errmsg, errlen, "no SMB dialect in the requested range");
		return -EINVAL;
	}
	if (c->seal_asked && c->max_dialect < SMB2_DIALECT_300) {
		snprintf(errmsg, errlen, "the 'seal' option needs SMB 3.0 or later, but vers= allows at "
			 "most SMB %s", c->max_dialect == SMB2_DIALECT_210 ? "2.1" : "2.0.2");
		client_free(c);
		return -EINVAL;
	}
	/* Kerberos logs in again from the ccache or keytab: no password. */
	if (!c->guest && !c->krb5) {
		int hr = ntlm_nt_hash(cfg->password ? cfg->password : "", c->nt_hash);
		if (hr < 0) {
			client_free(c);
			snprintf(errmsg, errlen, "cannot hash the password for NTLM: %s", strerror(-hr));
			return hr;
		}
	}
	smb2_random(c->client_guid, sizeof(c->client_guid));
	if (cfg->debug)
		smb2_log_debug_on = true;

	int r = client_establish(c, errmsg, errlen);
	if (r < 0) {
		client_free(c);
		return r;
	}
	c->floor = (struct session_floor){.set = true, .dialect = c->dialect, .signing = c->signing,
					  .encrypted = c->encrypted};
	memcpy(c->floor.server_guid, c->server_guid, 16);
	c->state = CLIENT_UP;
	if (c->write_behind && wb_flusher_start(c) < 0)
		c->write_behind = false; /* without the flusher, writes go out at once */
	if (c->leasing && lease_worker_start(c) < 0)
		c->leasing = false; /* nobody would answer a break: ask for none */
	*out = c;
	return 0;
}

void smb2_client_destroy(struct smb2_client *c)
{
	if (!c)
		return;
	wb_flusher_stop(c);
	lease_worker_stop(c);
	pthread_rwlock_wrlock(&c->lock);
	/* Close what the filesystem layer left open (FUSE releases every
	 * handle before unmount, so normally nothing). */
	files_close_all(c, c->state == CLIENT_UP);
	unlinked_free_all(c);
	if (c->state == CLIENT_UP)
		client_teardown(c);
	else if (c->conn)
		smb2_conn_free(c->conn);
	c->conn = NULL;
	c->state = CLIENT_CLOSED;
	pthread_rwlock_unlock(&c->lock);
	client_free(c);
}

uint32_t smb2_client_max_read(const struct smb2_client *c)
{
	return c->max_read;
}

uint32_t smb2_client_max_write(const struct smb2_client *c)
{
	return c->max_write;
}

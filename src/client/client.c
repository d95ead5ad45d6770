/* Client object lifetime: config copy, first connect, orderly teardown. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_i.h"
#include "smb2fs/auth.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void client_free(struct smb2_client *c)
{
	free(c->server);
	free(c->share);
	free(c->prefix);
	free(c->prefix_smb);
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
	notify_destroy(c);
	free(c);
}

/* A mount of a directory inside the share (c->prefix): right after the
 * tree connect, that directory must exist and be one, or the mount fails
 * with a line naming it and the server's status.  (smb_path of "/" is the
 * prefix itself.) */
static int check_prefix(struct smb2_client *c, char *msg, size_t len)
{
	char *sp;
	int r = smb_path(c, "/", &sp);
	if (r < 0) {
		snprintf(msg, len, "cannot connect to %s: %s has no SMB name (%s)", c->unc, c->prefix,
			 r == -ENAMETOOLONG ? "a name or the path is too long" :
			 r == -EINVAL ? "nomapposix: it holds ':'" :
			 r == -EILSEQ ? "it is not UTF-8" : strerror(-r));
		return r;
	}
	c->prefix_smb = sp;
	/* CREATE + CLOSE in one frame */
	struct pchain p;
	pchain_start(&p, c, sp, FILE_READ_ATTRIBUTES | SYNCHRONIZE, FILE_OPEN, FILE_DIRECTORY_FILE, 0);
	r = pchain_run(&p, true, 0);
	uint32_t st = p.k.m[0].status;
	pchain_free(&p);
	if (r == 0)
		return 0;
	/* the statuses named below as such, any other with its number */
	const char *name = st ? nt_status_name(st) : NULL;
	char sb[64];
	if (name)
		snprintf(sb, sizeof(sb), "%s", name);
	else if (st)
		status_desc(st, sb, sizeof(sb));
	else
		snprintf(sb, sizeof(sb), "%s", strerror(r < 0 ? -r : EIO));
	switch (st) {
	case STATUS_OBJECT_NAME_NOT_FOUND:
	case STATUS_OBJECT_PATH_NOT_FOUND:
		snprintf(msg, len, "cannot connect to %s: %s does not exist on the share (%s)", c->unc,
			 c->prefix, sb);
		return -ENOENT;
	case STATUS_NOT_A_DIRECTORY:
		snprintf(msg, len, "cannot connect to %s: %s is not a directory (%s)", c->unc, c->prefix,
			 sb);
		return -ENOTDIR;
	case STATUS_ACCESS_DENIED:
		snprintf(msg, len, "cannot connect to %s: not allowed to open the directory %s (%s)",
			 c->unc, c->prefix, sb);
		return -EACCES;
	default:
		snprintf(msg, len, "cannot connect to %s: cannot open the directory %s (%s)", c->unc,
			 c->prefix, sb);
		return r < 0 ? r : -EIO;
	}
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
	notify_init(c);
	clock_gettime(CLOCK_MONOTONIC, &c->started);

	c->server = strdup(cfg->server);
	c->share = strdup(cfg->share);
	c->prefix = cfg->prefix && *cfg->prefix ? strdup(cfg->prefix) : NULL;
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
	c->echo_sec = cfg->echo_interval ? cfg->echo_interval : 10;
	if (c->echo_sec > 600)
		c->echo_sec = 600;
	c->soft = cfg->soft;
	c->write_behind = !cfg->no_write_behind;
	c->read_for_write = cfg->read_for_write;
	c->mapposix = !cfg->no_mapposix;
	c->leasing = !cfg->no_leases;
	c->sd_map = !cfg->no_cifsacl;
	c->close_timeout_ms = cfg->close_timeout_ms;
	c->rsize_cap = cfg->rsize;
	c->wsize_cap = cfg->wsize;
	c->connect_timeout_sec = cfg->connect_timeout_sec ? cfg->connect_timeout_sec : 10;
	size_t ulen = strlen(cfg->server) + strlen(cfg->share) + 4;
	c->unc = malloc(ulen);
	if (!c->server || !c->share || !c->unc || (cfg->prefix && *cfg->prefix && !c->prefix) ||
	    (cfg->user && !c->user) ||
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
	if (r == 0 && c->prefix) {
		r = check_prefix(c, errmsg, errlen);
		if (r < 0)
			client_teardown(c);
	}
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
	/* a hard mount's waits for a dead server end here */
	__atomic_store_n(&c->closing, true, __ATOMIC_RELEASE);
	wb_flusher_stop(c);
	lease_worker_stop(c);
	notify_stop(c);
	pthread_rwlock_wrlock(&c->lock);
	notify_conn_lost(c); /* what the watcher could not close */
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

void smb2_client_set_intr(struct smb2_client *c, smb2_intr_fn fn, void *arg)
{
	__atomic_store_n(&c->intr_arg, arg, __ATOMIC_RELAXED);
	__atomic_store_n(&c->intr, fn, __ATOMIC_RELEASE);
}

uint32_t smb2_client_max_read(const struct smb2_client *c)
{
	return c->max_read;
}

uint32_t smb2_client_max_write(const struct smb2_client *c)
{
	return c->max_write;
}

int smb2_client_stats(struct smb2_client *c, char *buf, size_t len)
{
	if (!buf || len == 0)
		return -EINVAL;
	buf[0] = '\0';
	size_t used = 0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* no client lock: every figure is an atomic counter, so the text
	 * can be had while a reconnect holds the lock */
#define LOAD(f) (unsigned long long)__atomic_load_n(&(f), __ATOMIC_RELAXED)
	smb2_stats_printf(buf, len, &used, "server: %s\n", c->unc);
	smb2_stats_printf(buf, len, &used, "uptime_s: %lld\n", (long long)(now.tv_sec - c->started.tv_sec));
	smb2_stats_format(&c->conn_stats, buf, len, &used);
	smb2_stats_printf(buf, len, &used, "open_handles: %llu\n", LOAD(c->open_files));
	smb2_stats_printf(buf, len, &used, "deferred_closes: %llu\n", LOAD(c->deferred));
	smb2_stats_printf(buf, len, &used, "reconnects: %llu\n", LOAD(c->n_reconnects));
	smb2_stats_printf(buf, len, &used, "reconnect_failures: %llu\n", LOAD(c->n_reconnect_failures));
	smb2_stats_printf(buf, len, &used, "session_renewals: %llu\n", LOAD(c->n_renewals));
	smb2_stats_printf(buf, len, &used, "session_renewal_failures: %llu\n",
			  LOAD(c->n_renewal_failures));
#undef LOAD
	return used >= len ? -ERANGE : (int)used;
}

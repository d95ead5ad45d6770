/* The single owner of recovery: when a call fails because the connection
 * dropped or the session/tree went away, rebuild conn -> session -> tree,
 * reopen every open file, bump the generation, and let the caller retry;
 * when the server says the session's login has expired, log in again on
 * the same session, which keeps everything else.
 * State machine: see client_i.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "client_i.h"
#include "smb2fs/clock.h"
#include "smb2fs/log.h"

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* After a reconnect failed, callers fail at once for this long instead of
 * each waiting out a full attempt of their own in the write lock. */
#define RECONNECT_HOLDOFF_SEC 5

#define COUNT(field) __atomic_add_fetch(&(field), 1, __ATOMIC_RELAXED)

bool client_interrupted(void *client)
{
	struct smb2_client *c = client;
	if (__atomic_load_n(&c->closing, __ATOMIC_ACQUIRE))
		return true;
	smb2_intr_fn fn = __atomic_load_n(&c->intr, __ATOMIC_ACQUIRE);
	return fn && fn(__atomic_load_n(&c->intr_arg, __ATOMIC_RELAXED));
}

/* Takes the client lock (for writing, or reading), asking every
 * SMB2_INTR_LOOK_MS whether the caller was interrupted: a hard mount's
 * reconnect can hold the lock for as long as the server is away.
 * 0, or -EINTR. */
static int lock_intr(struct smb2_client *c, bool write)
{
	/* free (the usual case): no deadline to compute */
	if ((write ? pthread_rwlock_trywrlock(&c->lock) : pthread_rwlock_tryrdlock(&c->lock)) == 0)
		return 0;
	for (;;) {
		struct timespec until;
		smb2_clock_after_ms(CLOCK_MONOTONIC, SMB2_INTR_LOOK_MS, &until);
		int r = write ? pthread_rwlock_clockwrlock(&c->lock, CLOCK_MONOTONIC, &until)
			      : pthread_rwlock_clockrdlock(&c->lock, CLOCK_MONOTONIC, &until);
		if (r == 0)
			return 0;
		if (r != ETIMEDOUT)
			return -r;
		if (client_interrupted(c))
			return -EINTR;
	}
}

/* Sleeps ms in slices; false (at once) when the caller is interrupted. */
static bool nap_intr(struct smb2_client *c, unsigned ms)
{
	while (ms) {
		unsigned n = ms > SMB2_INTR_LOOK_MS ? SMB2_INTR_LOOK_MS : ms;
		sleep_ms(n);
		ms -= n;
		if (client_interrupted(c))
			return false;
	}
	return true;
}

/* Rebuilds the session unless another thread already did it since `seen`.
 * hard: tries until the server answers, the caller is interrupted
 * (-EINTR) or the client closes; soft: for up to 2 x echo_interval
 * (-EHOSTDOWN).  give_up (soft, the server stopped answering): tears the
 * session down and records a failed reconnect without trying, so this
 * call and those in the holdoff fail at once; a later call tries again. */
static int reconnect(struct smb2_client *c, uint64_t seen, bool give_up)
{
	int r = 0;
	struct timespec asked;
	clock_gettime(CLOCK_MONOTONIC, &asked);
	r = lock_intr(c, true);
	if (r < 0)
		return r;
	if (c->state == CLIENT_CLOSED) {
		r = -ENOTCONN;
		goto out;
	}
	if (c->gen != seen && c->state == CLIENT_UP)
		goto out;
	/* Someone tried while we waited for the lock, or only just now, and
	 * the server was still unreachable: share that answer. */
	/* (no ticket: again after a second, so a kinit is soon seen) */
	time_t holdoff = c->no_credential ? 1 : RECONNECT_HOLDOFF_SEC;
	if (c->state == CLIENT_BROKEN && c->last_failed.tv_sec &&
	    asked.tv_sec - c->last_failed.tv_sec < holdoff) {
		r = c->no_credential ? -EKEYEXPIRED : -EHOSTDOWN;
		goto out;
	}
	c->state = CLIENT_BROKEN;
	if (c->session_id)
		c->prev_session_id = c->session_id;
	wb_conn_lost(c); /* no request object may outlive its connection */
	leases_conn_lost(c);
	locks_conn_lost(c);
	notify_conn_lost(c);
	client_teardown(c);
	if (give_up) {
		smb2_log_error("%s has not answered for %u s: operations fail with EIO until it "
			       "does (soft)", c->unc, 2 * c->echo_sec);
		clock_gettime(CLOCK_MONOTONIC, &c->last_failed);
		COUNT(c->n_reconnect_failures);
		r = -EHOSTDOWN;
		goto out;
	}

	/* Back off from 100 ms to 2 s: hard, until the server is back; soft,
	 * for up to 2 x echo_interval.  An attempt on a server that accepts
	 * the connection but does not answer ends after 2 x echo_interval
	 * (the new connection's watchdog). */
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned delay = 100, failures = 0;
	for (;;) {
		char msg[512];
		r = client_establish(c, msg, sizeof(msg));
		if (r < 0 && c->no_credential) {
			/* No ticket to log in with: retrying cannot help until
			 * the user runs kinit (said once per episode). */
			if (!c->renew_failing)
				smb2_log_error("reconnect to %s: %s; run kinit for %s (operations fail "
					       "with EKEYEXPIRED until then)", c->unc, msg,
					       c->principal[0] ? c->principal : "the mount's principal");
			c->renew_failing = true;
			clock_gettime(CLOCK_MONOTONIC, &c->last_failed);
			COUNT(c->n_reconnect_failures);
			r = -EKEYEXPIRED;
			goto out;
		}
		if (r < 0 && c->refused) {
			/* Weaker than the mount's floor, or a forgery: trying
			 * again at once would only ask the same attacker. */
			smb2_log_error("reconnect to %s refused: %s", c->unc, msg);
			clock_gettime(CLOCK_MONOTONIC, &c->last_failed);
			COUNT(c->n_reconnect_failures);
			r = -EHOSTDOWN;
			goto out;
		}
		if (r == 0) {
			/* MS-SMB2 3.2.4.1.1, 3.2.7.1: requests after a reconnect
			 * carry a higher ChannelSequence than those lost with
			 * the old connection (kept within 0x7FFF of the opens'
			 * initial 0, which the server compares against). */
			if (c->dialect >= SMB2_DIALECT_300) {
				c->channel_seq = (uint16_t)((c->channel_seq + 1) & 0x7FFF);
				if (!c->channel_seq)
					c->channel_seq = 1;
				smb2_conn_set_channel_sequence(c->conn, c->channel_seq);
			}
			r = files_reopen_all(c);
			if (r == 0)
				break;
			snprintf(msg, sizeof(msg), "connection lost again while reopening files");
			client_teardown(c);
		}
		if (client_interrupted(c)) {
			/* the state stays BROKEN: the next caller tries again */
			smb2_log_info("reconnect to %s interrupted: %s", c->unc, msg);
			r = -EINTR;
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (c->soft && now.tv_sec - t0.tv_sec >= (time_t)(2 * c->echo_sec)) {
			smb2_log_error("reconnect failed, giving up for now (soft): %s", msg);
			clock_gettime(CLOCK_MONOTONIC, &c->last_failed);
			COUNT(c->n_reconnect_failures);
			r = -EHOSTDOWN;
			goto out;
		}
		/* hard: one line at info, then at debug until the server is back */
		if (failures++ == 0)
			smb2_log_info("reconnect failed, retrying%s: %s",
				      c->soft ? "" : " until the server answers (hard)", msg);
		else
			smb2_log_debug("reconnect failed, retrying: %s", msg);
		if (!nap_intr(c, delay)) {
			r = -EINTR;
			goto out;
		}
		delay = delay * 2 > 2000 ? 2000 : delay * 2;
	}
	c->gen++;
	COUNT(c->n_reconnects);
	c->state = CLIENT_UP;
	c->last_failed.tv_sec = 0;
	c->renew_failing = false;
	smb2_log_info("reconnected to %s (generation %llu)", c->unc, (unsigned long long)c->gen);
out:
	pthread_rwlock_unlock(&c->lock);
	return r;
}

static time_t now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The session's login expired (a Kerberos session ends with its service
 * ticket), or is about to (`ahead`, c->renew_at): log in again on it,
 * unless another thread already did since `seen`.  The write lock keeps
 * new requests out meanwhile (MS-SMB2 3.2.4.2.3).  0: go on with the
 * operation; -EKEYEXPIRED: no fresh credential (the log says whose); a
 * transport errno: reconnect instead.  Ahead of time, a failure only
 * warns (and returns 0): the session is still good until it ends. */
static int renew_session(struct smb2_client *c, uint64_t gen, uint64_t seen, bool ahead)
{
	char msg[512];
	int r = 0;
	pthread_rwlock_wrlock(&c->lock);
	if (c->state != CLIENT_UP || c->gen != gen || c->auth_gen != seen)
		goto out; /* rebuilt or renewed meanwhile: just retry */
	if (ahead && !(c->renew_at && now_sec() >= c->renew_at))
		goto out;
	time_t was_end = c->session_end;
	r = client_reauth(c, msg, sizeof(msg));
	if (r < 0 && !smb2_conn_alive(c->conn))
		r = -ECONNRESET; /* e.g. a forged reply dropped it: reconnect */
	if (r == 0)
		COUNT(c->n_renewals);
	else
		COUNT(c->n_renewal_failures);
	if (ahead && r < 0) {
		c->renew_at = 0; /* the server's expiry will ask again */
		if (!err_is_transport(r))
			smb2_log_error("the session on %s ends in %lld s and cannot be renewed: %s; "
				       "run kinit for %s", c->unc, (long long)(was_end - now_sec()), msg,
				       c->principal[0] ? c->principal : "the mount's principal");
		r = 0;
		goto out;
	}
	if (r == 0) {
		c->auth_gen++;
		c->renew_failing = false;
		smb2_log_info("the session on %s %s; logged in again%s%s", c->unc,
			      ahead ? "was about to end" : "expired", c->principal[0] ? " as " : "",
			      c->principal);
		if (!c->renew_at && c->session_end)
			smb2_log_info("the session on %s still ends in %lld s: the credential ends "
				      "then too (kinit for %s extends it)", c->unc,
				      (long long)(c->session_end - now_sec()),
				      c->principal[0] ? c->principal : "the mount's principal");
	} else if (r == -EKEYEXPIRED) {
		/* Once per episode at error level: every operation until
		 * the user runs kinit ends here. */
		const char *p = c->principal[0] ? c->principal : "the mount's principal";
		if (c->renew_failing)
			smb2_log_debug("session on %s still expired: %s", c->unc, msg);
		else
			smb2_log_error("the session on %s expired and cannot be renewed: %s; run kinit "
				       "for %s (operations fail with EKEYEXPIRED until then)", c->unc,
				       msg, p);
		c->renew_failing = true;
	} else if (!err_is_transport(r)) {
		smb2_log_error("the session on %s expired and the server refused a new login: %s",
			       c->unc, msg);
	} else {
		smb2_log_info("the session on %s expired; logging in again failed: %s", c->unc, msg);
	}
out:
	pthread_rwlock_unlock(&c->lock);
	return r;
}

int client_run(struct smb2_client *c, int (*op)(struct smb2_client *c, void *arg), void *arg)
{
	int r = -EIO;
	bool renewed_ahead = false;
	for (int attempt = 0; attempt < 3; attempt++) {
		int lr = lock_intr(c, false);
		if (lr < 0)
			return lr;
		enum client_state st = c->state;
		uint64_t gen = c->gen, auth_gen = c->auth_gen;
		if (st == CLIENT_UP && !renewed_ahead && c->renew_at && now_sec() >= c->renew_at) {
			pthread_rwlock_unlock(&c->lock);
			renewed_ahead = true;
			/* ahead of time a failure only warns (renew_session); a
			 * lost connection shows in the operation, just after */
			(void)renew_session(c, gen, auth_gen, true);
			attempt--; /* not a failure of the operation */
			continue;
		}
		if (st == CLIENT_UP)
			r = op(c, arg);
		/* (whatever the operation made of it: a lost reply may read as
		 * a reset) the server stopped answering */
		bool silent = st == CLIENT_UP && err_is_transport(r) && c->conn &&
			      smb2_conn_error(c->conn) == -ETIMEDOUT;
		pthread_rwlock_unlock(&c->lock);
		if (st == CLIENT_CLOSED)
			return -ENOTCONN;
		if (st == CLIENT_UP && !err_is_transport(r))
			return r;
		if (st == CLIENT_UP && r == ERR_SESSION_EXPIRED) {
			int rr = renew_session(c, gen, auth_gen, false);
			if (rr == 0)
				continue;
			if (!err_is_transport(rr))
				return rr == -EKEYEXPIRED ? rr : -EACCES;
			/* the connection failed under the new login */
		}
		/* the caller gave up waiting for the server (FUSE interrupt) */
		if (client_interrupted(c))
			return -EINTR;
		/* soft: no reply for 2 x echo_interval (the watchdog, or a
		 * request's own timeout): EIO now, reconnect on a later call */
		if (c->soft && silent) {
			(void)reconnect(c, gen, true);
			return -EIO;
		}
		if (st == CLIENT_UP)
			smb2_log_info("connection to %s lost (%d), reconnecting", c->unc, r);
		int rr = reconnect(c, gen, false);
		if (rr < 0)
			return rr == -EHOSTDOWN ? -EIO : rr;
	}
	return err_is_transport(r) ? -EIO : r;
}

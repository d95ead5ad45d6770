/* The single owner of recovery: when a call fails because the connection
 * dropped or the session/tree went away, rebuild conn -> session -> tree,
 * reopen every open file, bump the generation, and let the caller retry.
 * State machine: see client_i.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "client_i.h"
#include "smb2fs/log.h"

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* After a reconnect failed, callers fail at once for this long instead of
 * each waiting out a full attempt of their own in the write lock. */
#define RECONNECT_HOLDOFF_SEC 5

/* Rebuilds the session unless another thread already did it since `seen`. */
static int reconnect(struct smb2_client *c, uint64_t seen)
{
	int r = 0;
	struct timespec asked;
	clock_gettime(CLOCK_MONOTONIC, &asked);
	pthread_rwlock_wrlock(&c->lock);
	if (c->state == CLIENT_CLOSED) {
		r = -ENOTCONN;
		goto out;
	}
	if (c->gen != seen && c->state == CLIENT_UP)
		goto out;
	/* Someone tried while we waited for the lock, or only just now, and
	 * the server was still unreachable: share that answer. */
	if (c->state == CLIENT_BROKEN && c->last_failed.tv_sec &&
	    asked.tv_sec - c->last_failed.tv_sec < RECONNECT_HOLDOFF_SEC) {
		r = -EHOSTDOWN;
		goto out;
	}
	c->state = CLIENT_BROKEN;
	if (c->session_id)
		c->prev_session_id = c->session_id;
	wb_conn_lost(c); /* no request object may outlive its connection */
	leases_conn_lost(c);
	client_teardown(c);

	/* Back off from 100 ms to 2 s, for up to the request timeout. */
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned delay = 100;
	for (;;) {
		char msg[512];
		r = client_establish(c, msg, sizeof(msg));
		if (r < 0 && c->refused) {
			/* Weaker than the mount's floor, or a forgery: trying
			 * again at once would only ask the same attacker. */
			smb2_log_error("reconnect to %s refused: %s", c->unc, msg);
			clock_gettime(CLOCK_MONOTONIC, &c->last_failed);
			r = -EHOSTDOWN;
			goto out;
		}
		if (r == 0) {
			r = files_reopen_all(c);
			if (r == 0)
				break;
			snprintf(msg, sizeof(msg), "connection lost again while reopening files");
			client_teardown(c);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= (time_t)c->timeout_sec) {
			smb2_log_error("reconnect failed, giving up for now: %s", msg);
			clock_gettime(CLOCK_MONOTONIC, &c->last_failed);
			r = -EHOSTDOWN;
			goto out;
		}
		smb2_log_info("reconnect failed, retrying: %s", msg);
		sleep_ms(delay);
		delay = delay * 2 > 2000 ? 2000 : delay * 2;
	}
	c->gen++;
	c->state = CLIENT_UP;
	c->last_failed.tv_sec = 0;
	smb2_log_info("reconnected to %s (generation %llu)", c->unc, (unsigned long long)c->gen);
out:
	pthread_rwlock_unlock(&c->lock);
	return r;
}

int client_run(struct smb2_client *c, int (*op)(struct smb2_client *c, void *arg), void *arg)
{
	int r = -EIO;
	for (int attempt = 0; attempt < 3; attempt++) {
		pthread_rwlock_rdlock(&c->lock);
		enum client_state st = c->state;
		uint64_t gen = c->gen;
		if (st == CLIENT_UP)
			r = op(c, arg);
		pthread_rwlock_unlock(&c->lock);
		if (st == CLIENT_CLOSED)
			return -ENOTCONN;
		if (st == CLIENT_UP && !err_is_transport(r))
			return r;
		if (st == CLIENT_UP)
			smb2_log_info("connection to %s lost (%d), reconnecting", c->unc, r);
		int rr = reconnect(c, gen);
		if (rr < 0)
			return rr == -EHOSTDOWN ? -EIO : rr;
	}
	return r == ERR_SESSION_GONE || err_is_transport(r) ? -EIO : r;
}

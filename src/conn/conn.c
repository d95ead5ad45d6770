/* SMB2 connection: credits, MessageIds, pending-request table, receiver
 * thread.  See include/smb2fs/conn.h for the request lifecycle and the
 * lock order. */
#include "smb2fs/conn.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "smb2fs/clock.h"
#include "smb2fs/log.h"
#include "smb2fs/ntstatus.h"
#include "smb2fs/stats.h"
#include "transport.h"

/* Largest frame accepted from the server: 8 MiB of READ payload plus
 * headers.  Anything larger is a protocol violation, not a buffer to grow. */
#define MAX_FRAME (8u * 1024 * 1024 + 4096)
/* Credits asked for on every request: enough for deep pipelines later,
 * and servers cap the total themselves. */
#define CREDIT_REQUEST 64
/* The most credits (granted + in flight) this side ever counts, whatever a
 * server grants: Samba's default ceiling, far beyond what a mount uses. */
#define MAX_CREDITS 8192
/* Interim STATUS_PENDING replies extend a request's wait by its timeout,
 * but never past this many timeouts after it was sent (30 s -> 5 min), so
 * a server that answers "pending" for ever cannot hold a caller for ever. */
#define PENDING_CAP_FACTOR 10
#define MID_UNSOLICITED UINT64_MAX
/* Final replies at least this big (READ data, large listings) are verified
 * by the thread that waits for them, not by the receiver: the MACs of
 * concurrent reads then run in parallel, and the receiver keeps reading. */
#define VERIFY_IN_WAITER_MIN (64u * 1024)

/* One request from submit to the end of its wait (conn.h). */
struct smb2_req {
	uint64_t mid;
	uint64_t sid;            /* SessionId the request was sent on */
	uint32_t tid;
	uint16_t charge;         /* credits it cost */
	uint16_t command;
	bool done;
	int err;
	struct smb2_reply rep;
	pthread_cond_t cond;
	/* times are CLOCK_MONOTONIC ns */
	int64_t started;           /* joined the pending table, just before the send */
	int64_t replied;           /* its final reply came (last_rx of the frame) */
	int64_t deadline;          /* judged then (judge_locked); moved by interim replies */
	int64_t hard_deadline;     /* ...but never past this (PENDING_CAP_FACTOR) */
	unsigned timeout_sec;
	uint16_t interim_credits;  /* granted by interim replies not yet trusted */
	uint64_t async_id;         /* from a trusted interim reply, for CANCEL */
	bool patient;              /* smb2_conn_no_deadline: an interim reply
				    * lifts the deadline altogether */
	void (*on_done)(void *arg); /* smb2_conn_on_done */
	void *on_done_arg;
	bool interim_seen;         /* an interim reply came (trusted or not) */
	bool verify_in_waiter;     /* done, but the signature is the waiter's to check */
	bool sealed;               /* sent encrypted: its replies must be too */
	bool decrypt_in_waiter;    /* done, but encrypted: rep.msg holds the transform
				    * header and the ciphertext of the head, the data
				    * is in dst, and the waiter decrypts and verifies */
	uint32_t reply_credits;    /* ...and the credits it grants wait for that */
	uint8_t *dst;              /* a READ's data may be received here (submit_read) */
	size_t dst_len;
	size_t dst_used;           /* ...this much was */
	bool filling;              /* the receiver is writing into dst: the waiter
				    * does not return (and dst stays ours) until it is done */
	struct smb2_req *next;
};

struct smb2_conn {
	int fd;
	bool debug;
	pthread_t reader;

	pthread_mutex_t mu;      /* protects everything below up to send_mu */
	pthread_cond_t credit_cond;
	bool dead;
	int dead_err;
	uint32_t credits;        /* granted and not yet used */
	uint32_t inflight;       /* charged to requests still waiting for replies */
	uint64_t next_mid;
	bool multi_credit;
	bool have_key;           /* a session key is installed */
	bool signing;            /* ...and signing is required both ways */
	enum smb2_sign_alg sign_alg;
	uint8_t sign_key[16];
	/* Encryption (smb2_conn_set_encryption): keys for seal_sid's session;
	 * with seal_on every request of that session is encrypted. */
	uint16_t cipher;
	bool seal_on;
	uint64_t seal_sid;
	struct smb2_aead_key *enc_k, *dec_k; /* set once, freed with the connection */
	struct smb2_nonce_gen nonces;
	struct smb2_req *pending; /* in-flight requests, newest first */
	smb2_notify_fn notify;   /* server-initiated messages go here */
	void *notify_arg;
	struct smb2_conn_stats *stats; /* the owner's counters (stats.h), or NULL */
	uint16_t channel_seq;    /* 3.x ChannelSequence of requests (0: none) */
	/* Watchdog (conn.h; watchdog_main): */
	pthread_t watchdog;
	pthread_cond_t wd_cond;  /* wakes it: settings changed, a probe, death */
	unsigned echo_sec;       /* echo_interval; 0: no watchdog */
	uint64_t echo_sid;       /* session ECHOs go out on; 0: none */
	int64_t probe_ns;        /* an interrupted waiter asked for a probe then */
	smb2_conn_intr_fn intr;  /* asked by waiters (smb2_conn_set_intr) */
	void *intr_arg;
	_Atomic int64_t last_rx; /* CLOCK_MONOTONIC ns of the last byte read (receiver) */
	/* Trusted replies (interim or final), for judge_locked: */
	int64_t answered;        /* last_rx of the last one */
	int64_t answered_sent;   /* the latest `started` of a request that got one */

	pthread_mutex_t send_mu; /* serializes writes to fd */
};

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

static double ms_since(int64_t t0)
{
	return (double)(smb2_clock_now_ns(CLOCK_MONOTONIC) - t0) / 1e6;
}

static struct timespec ns_timespec(int64_t ns)
{
	return (struct timespec){(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};
}

void smb2_reply_free(struct smb2_reply *r)
{
	if (!r)
		return;
	free(r->msg);
	r->msg = NULL;
	r->len = 0;
	r->tail_len = 0;
}

bool smb2_conn_alive(struct smb2_conn *c)
{
	pthread_mutex_lock(&c->mu);
	bool alive = !c->dead;
	pthread_mutex_unlock(&c->mu);
	return alive;
}

/* Called with c->mu held: a trusted reply to q came at rx (judge_locked). */
static void answered_locked(struct smb2_conn *c, const struct smb2_req *q, int64_t rx)
{
	c->answered = rx;
	if (q->started > c->answered_sent)
		c->answered_sent = q->started;
}

/* Called with c->mu held: q ends with err, or (0) with its trusted reply
 * in q->rep, received at last_rx (the frame's last byte, just stamped by
 * the receiver: no clock read here).  Its waiter wakes and its
 * smb2_conn_on_done hook runs. */
static void req_end_locked(struct smb2_conn *c, struct smb2_req *q, int err)
{
	q->done = true;
	q->err = err;
	if (!err) {
		q->replied = atomic_load_explicit(&c->last_rx, memory_order_relaxed);
		answered_locked(c, q, q->replied);
	}
	if (q->on_done)
		q->on_done(q->on_done_arg);
	pthread_cond_broadcast(&q->cond);
}

/* Called with c->mu held.  Fails every pending request; their waiters wake
 * up and return the error.  shutdown() makes the receiver's read return. */
static void kill_locked(struct smb2_conn *c, int err)
{
	if (!c->dead) {
		c->dead = true;
		c->dead_err = err;
		shutdown(c->fd, SHUT_RDWR);
		if (err != -ESHUTDOWN)
			smb2_log_debug("connection closed: %s", strerror(-err));
		pthread_cond_broadcast(&c->wd_cond);
	}
	for (struct smb2_req *p = c->pending; p; p = p->next)
		if (!p->done)
			req_end_locked(c, p, err);
	pthread_cond_broadcast(&c->credit_cond);
}

void smb2_conn_kill(struct smb2_conn *c, int err)
{
	pthread_mutex_lock(&c->mu);
	kill_locked(c, err);
	pthread_mutex_unlock(&c->mu);
}

void smb2_conn_set_multi_credit(struct smb2_conn *c, bool on)
{
	pthread_mutex_lock(&c->mu);
	c->multi_credit = on;
	pthread_mutex_unlock(&c->mu);
}

int smb2_conn_set_encryption(struct smb2_conn *c, uint16_t cipher, const uint8_t *enc_key,
			     const uint8_t *dec_key, uint64_t session_id)
{
	size_t kl = smb2_cipher_key_len(cipher);
	struct smb2_aead_key *ek = NULL, *dk = NULL;
	if (!kl || !enc_key || !dec_key || !session_id)
		return -EINVAL;
	/* the key schedules are computed here, once for the connection */
	int r = smb2_aead_key_new(cipher, enc_key, true, &ek);
	if (r == 0)
		r = smb2_aead_key_new(cipher, dec_key, false, &dk);
	pthread_mutex_lock(&c->mu);
	/* Set once: senders and waiters use the keys without the lock.  A
	 * session's keys never change (a re-authentication keeps them), so
	 * the same session again is a no-op; another one is refused. */
	bool again = r == 0 && c->cipher && c->cipher == cipher && c->seal_sid == session_id;
	if (r == 0 && c->cipher && !again)
		r = -EALREADY;
	if (again)
		goto out;
	if (r == 0)
		r = smb2_nonce_gen_init(&c->nonces, cipher);
	if (r == 0) {
		c->cipher = cipher;
		c->seal_sid = session_id;
		c->enc_k = ek;
		c->dec_k = dk;
		ek = dk = NULL;
	}
out:
	pthread_mutex_unlock(&c->mu);
	smb2_aead_key_free(ek);
	smb2_aead_key_free(dk);
	return r;
}

void smb2_conn_seal(struct smb2_conn *c)
{
	pthread_mutex_lock(&c->mu);
	if (c->cipher)
		c->seal_on = true;
	pthread_mutex_unlock(&c->mu);
}

void smb2_conn_set_signing(struct smb2_conn *c, enum smb2_sign_alg alg, const uint8_t key[16],
			   bool required)
{
	pthread_mutex_lock(&c->mu);
	c->have_key = true;
	c->signing = required;
	c->sign_alg = alg;
	memcpy(c->sign_key, key, 16);
	pthread_mutex_unlock(&c->mu);
}

uint32_t smb2_conn_window(struct smb2_conn *c)
{
	pthread_mutex_lock(&c->mu);
	uint32_t w = c->credits + c->inflight;
	pthread_mutex_unlock(&c->mu);
	return w;
}

static struct smb2_req *find_pending(struct smb2_conn *c, uint64_t mid)
{
	for (struct smb2_req *p = c->pending; p; p = p->next)
		if (p->mid == mid && !p->done)
			return p;
	return NULL;
}

static void unlink_pending(struct smb2_conn *c, struct smb2_req *q)
{
	for (struct smb2_req **pp = &c->pending; *pp; pp = &(*pp)->next) {
		if (*pp == q) {
			*pp = q->next;
			return;
		}
	}
}

/* A deadline no wait reaches (a patient request after its interim reply:
 * about 30 years after now). */
static int64_t no_deadline(int64_t now)
{
	return now + ((int64_t)1 << 30) * NS_PER_S;
}

/* Called with c->mu held.  Adds credits a trusted reply granted, keeping
 * granted + in flight at or below MAX_CREDITS; `retiring` is the charge of
 * the request this reply completes, about to leave the in-flight count. */
static void add_credits_locked(struct smb2_conn *c, uint32_t n, uint32_t retiring)
{
	uint32_t have = c->credits + c->inflight - retiring;
	uint32_t room = have < MAX_CREDITS ? MAX_CREDITS - have : 0;
	if (n > room)
		n = room;
	if (n) {
		c->credits += n;
		pthread_cond_broadcast(&c->credit_cond);
	}
	smb2_stats_credits(c->stats, c->credits, c->inflight - retiring);
}

/* Samba 4.17 signs the replies that follow a compound's (verified)
 * STATUS_NETWORK_SESSION_EXPIRED with a signature that does not verify.
 * They answer requests related to the one that failed (its FileId), which
 * fail with it whatever they say: such a reply is neither trusted nor
 * fatal; its request ends with -ECANCELED and its credits are not taken.
 * -EBADMSG when it matches no such request. */
static int fail_cascaded(struct smb2_conn *c, const struct smb2_hdr *h)
{
	pthread_mutex_lock(&c->mu);
	struct smb2_req *p = find_pending(c, h->message_id);
	if (!p || p->done || p->command != h->command || p->sid != h->session_id) {
		pthread_mutex_unlock(&c->mu);
		return -EBADMSG;
	}
	add_credits_locked(c, 0, p->charge);
	req_end_locked(c, p, -ECANCELED);
	pthread_mutex_unlock(&c->mu);
	smb2_log_debug("< %s mid=%llu after an expired session, signature not checked: failed with it",
		       smb2_cmd_name(h->command), (unsigned long long)h->message_id);
	return 0;
}

/* Handles one SMB2 message (not compound-split yet) from the server.
 * Takes ownership of msg.  Returns 0, or a negative errno that kills the
 * connection.  after_expired: the message before it in this compound
 * reply was a trusted "session expired" (fail_cascaded).
 *
 * Nothing a reply says is acted on before it is matched to a request and,
 * on a signed session, verified: credits, a longer wait and the reply
 * itself are all taken only from trusted replies. */
static int dispatch(struct smb2_conn *c, uint8_t *msg, size_t len, size_t tail_len, bool sealed,
		    bool after_expired)
{
	struct smb2_hdr h;
	int r = smb2_hdr_decode(msg, len, &h);
	if (r < 0) {
		free(msg);
		return r;
	}
	if (!(h.flags & SMB2_FLAGS_SERVER_TO_REDIR)) {
		free(msg);
		return -EPROTO;
	}

	/* Verify before taking the lock for the match, so senders and
	 * waiters are not held up by a MAC over up to 8 MiB.  The key is set
	 * once, before any request that a signed reply could answer. */
	pthread_mutex_lock(&c->mu);
	bool have_key = c->have_key, signing = c->signing;
	enum smb2_sign_alg alg = c->sign_alg;
	uint8_t key[16];
	memcpy(key, c->sign_key, sizeof(key));
	pthread_mutex_unlock(&c->mu);
	/* MS-SMB2 3.2.5.1.3: a signed reply must verify; a bad signature is
	 * always fatal.  (SessionId 0 replies are checked against the
	 * request below: only the first SESSION_SETUP may carry it.) */
	bool is_signed = h.flags & SMB2_FLAGS_SIGNED;
	bool verified = false, deferred = false;
	bool interim = h.status == STATUS_PENDING && (h.flags & SMB2_FLAGS_ASYNC_COMMAND);
	/* MS-SMB2 3.2.5.1.1: a message that came out of a verified transform
	 * is authenticated by its AEAD tag; its own signature is not used. */
	if (sealed) {
		verified = true;
	} else if (is_signed && have_key && h.session_id != 0 && h.message_id != MID_UNSOLICITED &&
	    !interim && len + tail_len >= VERIFY_IN_WAITER_MIN) {
		deferred = true; /* smb2_conn_wait verifies before anything is used */
	} else if (is_signed && have_key && h.session_id != 0 && h.message_id != MID_UNSOLICITED) {
		if (smb2_verify_msg(alg, key, msg, len) < 0) {
			smb2_secure_zero(key, sizeof(key));
			if (after_expired && (h.flags & SMB2_FLAGS_RELATED_OPERATIONS) &&
			    h.status != STATUS_SUCCESS) {
				free(msg);
				return fail_cascaded(c, &h);
			}
			/* debug level: the caller reports the failure (at mount
			 * time as its one error line), reconnect logs the rest */
			smb2_log_debug("bad signature on %s reply (mid=%llu): dropping the connection",
				       smb2_cmd_name(h.command), (unsigned long long)h.message_id);
			free(msg);
			return -EBADMSG;
		}
		verified = true;
	}
	smb2_secure_zero(key, sizeof(key));

	pthread_mutex_lock(&c->mu);
	if (h.message_id == MID_UNSOLICITED) {
		/* Oplock/lease break notification (MS-SMB2 2.2.23): the
		 * client's to handle, outside our lock. */
		smb2_notify_fn fn = c->notify;
		void *arg = c->notify_arg;
		pthread_mutex_unlock(&c->mu);
		smb2_log_debug("< %s unsolicited%s", smb2_cmd_name(h.command), fn ? "" : ", ignored");
		if (fn)
			fn(arg, msg, len);
		free(msg);
		return 0;
	}

	struct smb2_req *p = find_pending(c, h.message_id);
	if (!p) {
		/* A reply to a request whose waiter timed out (which killed
		 * the connection), or a server bug: dropped, credits and all. */
		pthread_mutex_unlock(&c->mu);
		smb2_log_debug("< %s mid=%llu for no waiting request, dropped", smb2_cmd_name(h.command),
			       (unsigned long long)h.message_id);
		free(msg);
		return 0;
	}
	/* A message whose data went into the request's buffer (read_big_frame)
	 * belongs to that request and no other. */
	if (h.command != p->command || (tail_len && p->dst_used != tail_len)) {
		pthread_mutex_unlock(&c->mu);
		free(msg);
		return -EPROTO;
	}
	/* The reply's SessionId is the server's to copy, not to choose: a
	 * reply that claims another session (0 included, which would skip
	 * the signature check below) is forged or broken.  A request sent
	 * with SessionId 0 is the first SESSION_SETUP, which gets its id here. */
	if (p->sid != 0 && h.session_id != p->sid) {
		pthread_mutex_unlock(&c->mu);
		smb2_log_debug("%s reply (mid=%llu) for session 0x%llx, sent on 0x%llx: dropping the connection",
			       smb2_cmd_name(h.command), (unsigned long long)h.message_id,
			       (unsigned long long)h.session_id, (unsigned long long)p->sid);
		free(msg);
		return -EBADMSG;
	}
	/* A request sent encrypted gets its replies (interim ones too)
	 * encrypted: a plain one is forged or a downgrade. */
	if (p->sealed && !sealed) {
		pthread_mutex_unlock(&c->mu);
		smb2_log_debug("unencrypted %s reply (mid=%llu) to an encrypted request: dropping the "
			       "connection", smb2_cmd_name(h.command), (unsigned long long)h.message_id);
		free(msg);
		return -EBADMSG;
	}
	/* A missing signature is fatal for a final reply on a session that
	 * signs (no exception for "session deleted/expired": unsigned, those
	 * are the words an attacker would use to force a new login). */
	bool must_sign = signing && p->sid != 0;
	bool trusted = !must_sign || verified || deferred;

	if (interim) {
		/* The final reply follows with the same MessageId (MS-SMB2
		 * 3.2.5.1.5).  A trusted interim reply extends the wait, up to
		 * the cap; an unsigned one on a signed session (MS-SMB2
		 * 3.3.4.2: servers SHOULD NOT sign them) extends nothing, and
		 * its credits wait for the final reply to verify. */
		int64_t rx = atomic_load_explicit(&c->last_rx, memory_order_relaxed);
		p->interim_seen = true;
		if (p->patient)
			p->deadline = no_deadline(rx);
		if (trusted) {
			if (!p->patient)
				p->deadline = rx + (int64_t)p->timeout_sec * NS_PER_S;
			if (!p->patient && p->deadline > p->hard_deadline)
				p->deadline = p->hard_deadline;
			answered_locked(c, p, rx);
			p->async_id = h.async_id;
			add_credits_locked(c, h.credits, 0);
		} else {
			uint32_t ic = (uint32_t)p->interim_credits + h.credits;
			p->interim_credits = ic > UINT16_MAX ? UINT16_MAX : (uint16_t)ic;
		}
		pthread_mutex_unlock(&c->mu);
		smb2_log_debug("< %s mid=%llu STATUS_PENDING async_id=0x%llx%s", smb2_cmd_name(h.command),
			       (unsigned long long)h.message_id, (unsigned long long)h.async_id,
			       trusted ? "" : " (unsigned: the wait is not extended)");
		free(msg);
		return 0;
	}
	if (!trusted) {
		pthread_mutex_unlock(&c->mu);
		char sb[48];
		bool session_words = h.status == STATUS_USER_SESSION_DELETED ||
				     h.status == STATUS_NETWORK_SESSION_EXPIRED;
		if (session_words)
			smb2_log_info("unsigned %s reply to %s on a signed session: treated as forged, "
				      "dropping the connection", nt_status_str(h.status, sb, sizeof(sb)),
				      smb2_cmd_name(h.command));
		else
			smb2_log_debug("missing signature on %s reply (mid=%llu): dropping the connection",
				       smb2_cmd_name(h.command), (unsigned long long)h.message_id);
		free(msg);
		return -EBADMSG;
	}
	if (deferred) {
		p->verify_in_waiter = true;
		p->reply_credits = (uint32_t)h.credits + p->interim_credits;
	} else {
		add_credits_locked(c, (uint32_t)h.credits + p->interim_credits, p->charge);
	}
	p->rep.msg = msg;
	p->rep.len = len;
	p->rep.tail_len = tail_len;
	p->rep.hdr = h;
	req_end_locked(c, p, 0);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

/* Splits a frame into its SMB2 messages (a compound reply chains them with
 * NextCommand) and dispatches each.  Takes ownership of frame. */
static int dispatch_frame(struct smb2_conn *c, uint8_t *frame, size_t len, bool sealed)
{
	size_t off = 0;
	bool after_expired = false;
	for (;;) {
		if (len - off < SMB2_HDR_SIZE) {
			free(frame);
			return -EBADMSG;
		}
		uint32_t next = smb2_hdr_next_command(frame + off);
		size_t mlen = next ? next : len - off;
		if (next && (next < SMB2_HDR_SIZE || next > len - off || next % 8)) {
			free(frame);
			return -EBADMSG;
		}
		if (off == 0 && !next)
			return dispatch(c, frame, len, 0, sealed, false);
		uint8_t *m = malloc(mlen);
		if (!m) {
			free(frame);
			return -ENOMEM;
		}
		memcpy(m, frame + off, mlen);
		struct smb2_hdr h;
		bool expired = smb2_hdr_decode(m, mlen, &h) == 0 &&
			       h.status == STATUS_NETWORK_SESSION_EXPIRED;
		int r = dispatch(c, m, mlen, 0, sealed, after_expired);
		if (r < 0 || !next) {
			free(frame);
			return r;
		}
		/* accepted (dispatch refuses an untrusted final reply) */
		after_expired = expired || after_expired;
		off += mlen;
	}
}

/* The transform step on the way in: an encrypted frame (MS-SMB2 3.2.5.1.1)
 * is decrypted with the session's key, and what it held (one message or a
 * compound chain, interim replies included) is dispatched as usual.  Any
 * other frame goes on as it is.  Takes ownership of frame. */
static int receive_frame(struct smb2_conn *c, uint8_t *frame, size_t len)
{
	if (!smb2_is_transform(frame, len))
		return dispatch_frame(c, frame, len, false);
	pthread_mutex_lock(&c->mu);
	struct smb2_aead_key *dk = c->dec_k;
	uint64_t sid = c->seal_sid;
	pthread_mutex_unlock(&c->mu);
	struct smb2_transform_hdr th;
	uint8_t *plain = NULL;
	int r = -EBADMSG; /* encrypted, and we hold no key for it */
	if (dk && len > SMB2_TRANSFORM_HDR_SIZE) {
		plain = malloc(len - SMB2_TRANSFORM_HDR_SIZE);
		r = plain ? smb2_decrypt_msg_key(dk, frame, len, plain, &th) : -ENOMEM;
		/* the tag covers SessionId, but it must be our session's too */
		if (r == 0 && th.session_id != sid)
			r = -EBADMSG;
	}
	free(frame);
	if (r < 0) {
		smb2_log_debug("an encrypted frame does not decrypt: dropping the connection");
		free(plain);
		return r;
	}
	return dispatch_frame(c, plain, th.original_size, true);
}

#define READ_RSP_HEAD (SMB2_HDR_SIZE + 16)
#define SEALED_HEAD (SMB2_TRANSFORM_HDR_SIZE + READ_RSP_HEAD)

/* Whether head (READ_RSP_HEAD bytes) starts a successful READ reply, alone
 * in its frame, whose data is the n bytes right after it. */
static bool read_rsp_head_ok(const uint8_t *head, size_t n, struct smb2_hdr *h)
{
	return smb2_hdr_decode(head, READ_RSP_HEAD, h) == 0 && h->command == SMB2_READ &&
	       h->next_command == 0 && h->status == STATUS_SUCCESS &&
	       (h->flags & SMB2_FLAGS_SERVER_TO_REDIR) && le16_load(head + SMB2_HDR_SIZE) == 17 &&
	       head[SMB2_HDR_SIZE + 2] == READ_RSP_HEAD && le32_load(head + SMB2_HDR_SIZE + 4) == n;
}

/* Called with c->mu held: the pending READ (submit_read) whose buffer takes
 * the n bytes of data of the reply to mid, marked as being filled; or NULL. */
static struct smb2_req *claim_dst_locked(struct smb2_conn *c, uint64_t mid, size_t n, bool sealed)
{
	struct smb2_req *p = find_pending(c, mid);
	if (!p || !p->dst || p->command != SMB2_READ || n > p->dst_len || p->sealed != sealed)
		return NULL;
	p->filling = true;
	return p;
}

/* Receives n bytes of READ data into p's buffer (claimed), then hands p
 * back to its waiter.  sealed_head (SEALED_HEAD bytes: the transform
 * header and the ciphertext of the message's head), when given, makes the
 * reply the waiter's to decrypt (smb2_conn_wait) and completes p at once;
 * else the plain head goes through dispatch.  p is not touched after. */
static int fill_dst(struct smb2_conn *c, struct smb2_req *p, size_t n, const uint8_t *head,
		    const uint8_t *sealed_head)
{
	/* nothing in the data is acted on before the waiter verifies it */
	int err = transport_read_stamped(c->fd, p->dst, n, &c->last_rx);
	size_t keep = sealed_head ? SEALED_HEAD : READ_RSP_HEAD;
	uint8_t *msg = err < 0 ? NULL : malloc(keep);
	if (msg)
		memcpy(msg, sealed_head ? sealed_head : head, keep);
	else if (err == 0)
		err = -ENOMEM;
	pthread_mutex_lock(&c->mu);
	p->filling = false;
	p->dst_used = err < 0 ? 0 : n;
	if (sealed_head && msg && !p->done) {
		p->rep.msg = msg;
		p->rep.len = SEALED_HEAD;
		p->rep.tail_len = n;
		p->decrypt_in_waiter = true;
		req_end_locked(c, p, 0); /* (the waiter checks the tag) */
		msg = NULL;
	} else {
		pthread_cond_broadcast(&p->cond); /* a waiter may wait for dst */
	}
	pthread_mutex_unlock(&c->mu);
	if (err < 0 || sealed_head) {
		free(msg);
		return err;
	}
	return dispatch(c, msg, READ_RSP_HEAD, n, false, false);
}

/* A frame of VERIFY_IN_WAITER_MIN bytes or more (the length header read).
 * When it is the successful reply to a READ submitted with a buffer of its
 * own (smb2_conn_submit_read) and its data is all of the rest of the
 * frame, the data is received straight into that buffer: no copy from a
 * frame buffer later.  Encrypted (AES-GCM), the same is done with the
 * ciphertext: the head's plaintext is peeked (unverified) only to find
 * the request, whose waiter then decrypts in place and verifies the tag,
 * so big replies are decrypted in parallel and never copied.  Anything
 * else is read whole, as a small frame is. */
static int read_big_frame(struct smb2_conn *c, size_t len)
{
	uint8_t head[SEALED_HEAD];
	int err = transport_read_stamped(c->fd, head, READ_RSP_HEAD, &c->last_rx);
	if (err < 0)
		return err;
	size_t got = READ_RSP_HEAD;
	struct smb2_hdr h;
	struct smb2_req *p = NULL;
	if (smb2_is_transform(head, got)) {
		if ((err = transport_read_stamped(c->fd, head + got, SEALED_HEAD - got, &c->last_rx)) < 0)
			return err;
		got = SEALED_HEAD;
		size_t n = len - got;
		struct smb2_transform_hdr th;
		uint8_t pt[READ_RSP_HEAD];
		pthread_mutex_lock(&c->mu);
		struct smb2_aead_key *dk = c->dec_k;
		uint64_t sid = c->seal_sid;
		pthread_mutex_unlock(&c->mu);
		uint16_t cipher = smb2_aead_key_cipher(dk);
		/* (decode reads the 52 header bytes only; len is the frame's) */
		if ((cipher == SMB2_CIPHER_AES128_GCM || cipher == SMB2_CIPHER_AES256_GCM) &&
		    smb2_transform_hdr_decode(head, len, &th) == 0 && th.session_id == sid &&
		    smb2_decrypt_peek_key(dk, head, head + SMB2_TRANSFORM_HDR_SIZE, pt, sizeof(pt)) == 0 &&
		    read_rsp_head_ok(pt, n, &h) && h.session_id == sid) {
			pthread_mutex_lock(&c->mu);
			p = claim_dst_locked(c, h.message_id, n, true);
			pthread_mutex_unlock(&c->mu);
		}
		if (p)
			return fill_dst(c, p, n, NULL, head);
	} else if (read_rsp_head_ok(head, len - got, &h)) {
		pthread_mutex_lock(&c->mu);
		p = claim_dst_locked(c, h.message_id, len - got, false);
		pthread_mutex_unlock(&c->mu);
		if (p)
			return fill_dst(c, p, len - got, head, NULL);
	}
	uint8_t *frame = malloc(len);
	if (!frame)
		return -ENOMEM;
	memcpy(frame, head, got);
	err = transport_read_stamped(c->fd, frame + got, len - got, &c->last_rx);
	if (err < 0) {
		free(frame);
		return err;
	}
	return receive_frame(c, frame, len);
}

static void *reader_main(void *arg)
{
	struct smb2_conn *c = arg;
	int err;

	for (;;) {
		/* (the body's read stamps last_rx: one clock read a frame) */
		uint8_t nb[4];
		err = transport_read_full(c->fd, nb, 4);
		if (err < 0)
			break;
		/* Direct TCP transport (MS-SMB2 2.1): a zero byte and a 24-bit
		 * big-endian length. */
		size_t len = (size_t)nb[1] << 16 | (size_t)nb[2] << 8 | nb[3];
		if (nb[0] != 0 || len < SMB2_HDR_SIZE || len > MAX_FRAME) {
			err = -EBADMSG;
			break;
		}
		if (len >= VERIFY_IN_WAITER_MIN) {
			if ((err = read_big_frame(c, len)) < 0)
				break;
			continue;
		}
		uint8_t *frame = malloc(len);
		if (!frame) {
			err = -ENOMEM;
			break;
		}
		err = transport_read_stamped(c->fd, frame, len, &c->last_rx);
		if (err < 0) {
			free(frame);
			break;
		}
		err = receive_frame(c, frame, len);
		if (err < 0)
			break;
	}
	if (err == -ENODATA)
		err = -ECONNRESET; /* orderly EOF: the server went away */
	smb2_conn_kill(c, err);
	/* What the server granted on this connection (leases) ended with it. */
	pthread_mutex_lock(&c->mu);
	smb2_notify_fn fn = c->notify;
	void *fn_arg = c->notify_arg;
	pthread_mutex_unlock(&c->mu);
	if (fn)
		fn(fn_arg, NULL, 0);
	return NULL;
}

static int submit_frame(struct smb2_conn *c, struct wbuf *const *msgs, const size_t *payload_len,
			unsigned n, const uint8_t *tail, size_t tail_len, uint8_t *dst, size_t dst_len,
			unsigned timeout_sec, bool no_wait, struct smb2_req **out);

/* Called with c->mu held: whether a request is waiting for a reply (the
 * watchdog's own ECHO included). */
static bool outstanding_locked(struct smb2_conn *c)
{
	for (struct smb2_req *p = c->pending; p; p = p->next)
		if (!p->done)
			return true;
	return false;
}

/* An SMB2 ECHO (MS-SMB2 2.2.28) on session sid, submitted without waiting
 * for credits: signed or encrypted as the session's other requests are
 * (submit_frame does both), so the server checks it against the session
 * (3.3.5.17) and its reply is trusted like any other. */
static int echo_submit(struct smb2_conn *c, uint64_t sid, struct smb2_req **out)
{
	struct smb2_hdr h = {.command = SMB2_ECHO, .process_id = 0xFEFF, .session_id = sid};
	struct wbuf w;
	wbuf_init(&w);
	int r = wbuf_check(&w, smb2_hdr_encode(&w, &h));
	if (r == 0)
		r = wbuf_check(&w, smb2_echo_encode(&w));
	size_t payload = 0;
	struct wbuf *msgs[1] = {&w};
	if (r == 0)
		r = submit_frame(c, msgs, &payload, 1, NULL, 0, NULL, 0, 0, true, out);
	wbuf_free(&w);
	return r;
}

/* The ECHO's smb2_conn_on_done hook (c->mu held): the watchdog collects
 * it and reckons again from its reply. */
static void echo_ended(void *arg)
{
	struct smb2_conn *c = arg;
	pthread_cond_broadcast(&c->wd_cond);
}

/* The watchdog (conn.h): declares the connection dead when nothing has
 * come from the server for 2 x echo_sec while a request waits (or, after
 * an interrupted waiter asked for a probe, for SMB2_PROBE_MS after it),
 * and sends an ECHO whenever the server has been quiet for echo_sec.  It
 * decides under c->mu from the receiver's last_rx stamp; the ECHO is sent
 * and collected like any request, its reply is just one more frame.  It
 * sleeps until the next of those times, and for as long as it is woken
 * (smb2_conn_set_echo, a probe, the ECHO's end, death) when none is due. */
static void *watchdog_main(void *arg)
{
	struct smb2_conn *c = arg;
	struct smb2_req *echo = NULL;
	pthread_mutex_lock(&c->mu);
	while (!c->dead) {
		if (echo && echo->done) {
			pthread_mutex_unlock(&c->mu);
			struct smb2_reply rep = {0};
			if (smb2_conn_wait(c, echo, &rep) == 0)
				smb2_reply_free(&rep);
			echo = NULL;
			pthread_mutex_lock(&c->mu);
			continue;
		}
		int64_t now = smb2_clock_now_ns(CLOCK_MONOTONIC), last = atomic_load(&c->last_rx);
		int64_t e = (int64_t)c->echo_sec * NS_PER_S, silent = now - last;
		bool probing = c->probe_ns && last < c->probe_ns;
		bool busy = outstanding_locked(c);
		if (e && busy && (silent >= 2 * e || (probing && now - c->probe_ns >= SMB2_PROBE_MS * NS_PER_MS))) {
			smb2_log_info("no reply from the server for %.1f s%s: the connection is dead",
				      (double)silent / 1e9, silent >= 2 * e ? "" : " (probed after an interrupt)");
			kill_locked(c, -ETIMEDOUT);
			break;
		}
		if (e && c->echo_sid && !echo && (silent >= e || probing)) {
			uint64_t sid = c->echo_sid;
			pthread_mutex_unlock(&c->mu);
			struct smb2_req *q = NULL;
			int r = echo_submit(c, sid, &q);
			pthread_mutex_lock(&c->mu);
			if (r == 0) {
				echo = q;
				q->on_done = echo_ended;
				q->on_done_arg = c;
			} else if (r != -EAGAIN) {
				smb2_log_debug("cannot send an ECHO: %s", strerror(-r));
			}
			if (r == 0)
				continue;
		}
		/* Sleep until just past the next point where something is due
		 * (an ECHO, the verdict, a probe's end).  A request that starts
		 * meanwhile is judged by the same points: last_rx only moves
		 * them later.  Only an idle connection with no session (no
		 * ECHO) can be past them all: it is looked at again an
		 * interval on.  With nothing due at all (no watchdog, no
		 * probe) the wait has no end: every change wakes it. */
		int64_t wake = INT64_MAX;
		int64_t due[3] = {e ? last + e : 0, e ? last + 2 * e : 0,
				  probing ? c->probe_ns + SMB2_PROBE_MS * NS_PER_MS : 0};
		for (int i = 0; i < 3; i++)
			if (due[i] > now && due[i] + NS_PER_MS < wake)
				wake = due[i] + NS_PER_MS;
		if (e && wake == INT64_MAX)
			wake = now + e;
		if (wake == INT64_MAX) {
			pthread_cond_wait(&c->wd_cond, &c->mu);
		} else {
			struct timespec until = ns_timespec(wake);
			pthread_cond_timedwait(&c->wd_cond, &c->mu, &until);
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (echo) { /* failed with the connection: collect it */
		struct smb2_reply rep = {0};
		if (smb2_conn_wait(c, echo, &rep) == 0)
			smb2_reply_free(&rep);
	}
	return NULL;
}

void smb2_conn_set_echo(struct smb2_conn *c, unsigned interval_sec, uint64_t session_id)
{
	if (interval_sec > 600)
		interval_sec = 600;
	pthread_mutex_lock(&c->mu);
	bool changed = c->echo_sec != interval_sec;
	c->echo_sec = interval_sec;
	c->echo_sid = session_id;
	pthread_cond_broadcast(&c->wd_cond);
	pthread_mutex_unlock(&c->mu);
	/* once per connection (the session's ECHOs keep the interval) */
	if (changed && interval_sec)
		transport_set_liveness(c->fd, 2 * interval_sec);
}

void smb2_conn_set_intr(struct smb2_conn *c, smb2_conn_intr_fn fn, void *arg)
{
	pthread_mutex_lock(&c->mu);
	c->intr = fn;
	c->intr_arg = arg;
	pthread_mutex_unlock(&c->mu);
}

int smb2_conn_error(struct smb2_conn *c)
{
	pthread_mutex_lock(&c->mu);
	int err = c->dead ? (c->dead_err ? c->dead_err : -ECONNRESET) : 0;
	pthread_mutex_unlock(&c->mu);
	return err;
}

/* Called with c->mu held, by a waiter whose caller was interrupted (it
 * looked at now): asks the watchdog for a probe, unless one is still
 * running or the last one ended less than SMB2_PROBE_MS ago (one ECHO per
 * probe, not per look). */
static void probe_locked(struct smb2_conn *c, int64_t now)
{
	bool running = c->probe_ns && atomic_load(&c->last_rx) < c->probe_ns;
	if (running || (c->probe_ns && now - c->probe_ns < SMB2_PROBE_MS * NS_PER_MS))
		return;
	c->probe_ns = now;
	pthread_cond_broadcast(&c->wd_cond);
}

int smb2_conn_open(const char *host, uint16_t port, unsigned timeout_sec, bool debug,
		   struct smb2_conn **out, char *err, size_t errlen)
{
	int fd = transport_connect(host, port, timeout_sec, err, errlen);
	if (fd < 0)
		return fd;

	struct smb2_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->fd = fd;
	c->debug = debug;
	c->credits = 1; /* MS-SMB2 3.2.4.1.2: one credit before NEGOTIATE */
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->send_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->credit_cond, &ca);
	pthread_cond_init(&c->wd_cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&c->last_rx, smb2_clock_now_ns(CLOCK_MONOTONIC));

	int r = pthread_create(&c->reader, NULL, reader_main, c);
	if (r == 0) {
		r = pthread_create(&c->watchdog, NULL, watchdog_main, c);
		if (r) {
			smb2_conn_kill(c, -ESHUTDOWN);
			pthread_join(c->reader, NULL);
		}
	}
	if (r) {
		close(fd);
		pthread_cond_destroy(&c->wd_cond);
		pthread_cond_destroy(&c->credit_cond);
		pthread_mutex_destroy(&c->mu);
		pthread_mutex_destroy(&c->send_mu);
		free(c);
		snprintf(err, errlen, "cannot start receiver thread: %s", strerror(r));
		return -r;
	}
	*out = c;
	return 0;
}

void smb2_conn_free(struct smb2_conn *c)
{
	if (!c)
		return;
	smb2_conn_kill(c, -ESHUTDOWN);
	pthread_join(c->reader, NULL);
	pthread_join(c->watchdog, NULL);
	/* Waiters hold no reference after their call returns; by contract no
	 * call is in progress when the owner frees the connection. */
	close(c->fd);
	smb2_secure_zero(c->sign_key, sizeof(c->sign_key));
	smb2_aead_key_free(c->enc_k); /* cleanses the keys */
	smb2_aead_key_free(c->dec_k);
	pthread_cond_destroy(&c->credit_cond);
	pthread_cond_destroy(&c->wd_cond);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->send_mu);
	free(c);
}

/* MS-SMB2 3.1.5.2: one credit per 64 KiB of payload. */
static uint16_t credit_charge_for(size_t payload_len)
{
	if (payload_len <= 65536)
		return 1;
	return (uint16_t)((payload_len - 1) / 65536 + 1);
}

static struct smb2_req *req_new(const struct wbuf *w, unsigned timeout_sec)
{
	struct smb2_req *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	q->command = smb2_hdr_command(w->p);
	q->sid = smb2_hdr_session_id(w->p);
	q->tid = smb2_hdr_tree_id(w->p);
	q->timeout_sec = timeout_sec;
	return q;
}

static void req_free(struct smb2_req *q)
{
	pthread_cond_destroy(&q->cond);
	smb2_reply_free(&q->rep);
	free(q);
}

/* Called with c->mu held.  Waits until `charge` credits are free.  Credits
 * come back with replies, so with nothing in flight a shortfall is final
 * (-ENOBUFS: the server grants too few), not a dead transport. */
static int admit_locked(struct smb2_conn *c, uint32_t charge, const struct timespec *limit)
{
	while (!c->dead && c->credits < charge) {
		if (c->inflight == 0)
			return -ENOBUFS;
		if (pthread_cond_timedwait(&c->credit_cond, &c->mu, limit) == ETIMEDOUT && !c->dead &&
		    c->credits < charge)
			return -ENOBUFS;
	}
	return c->dead ? (c->dead_err ? c->dead_err : -ECONNRESET) : 0;
}

/* The seal state for a request of session sid, read under c->mu: whether
 * it goes out encrypted, and then the key (set once, lives as long as c). */
struct seal_ctx {
	bool on;
	uint64_t sid;
	struct smb2_aead_key *key;
};
static void seal_ctx_locked(struct smb2_conn *c, uint64_t sid, struct seal_ctx *s)
{
	s->on = c->seal_on && sid != 0 && sid == c->seal_sid && c->enc_k;
	s->sid = sid;
	s->key = c->enc_k;
}

/* send: one frame made of pieces (the messages in place, a WRITE's data
 * from the caller's buffer), under the send lock.  Encrypted (MS-SMB2
 * 3.1.4.3), the frame is a transform header and the ciphertext of the
 * pieces joined: the one copy encryption makes anyway. */
static int send_pieces(struct smb2_conn *c, const struct smb2_iov *pieces, unsigned n,
		       struct seal_ctx *s)
{
	size_t len = 0;
	for (unsigned i = 0; i < n; i++)
		len += pieces[i].len;
	uint8_t th[SMB2_TRANSFORM_HDR_SIZE], *sealed = NULL;
	int err = 0;
	if (s->on) {
		uint8_t nonce[16];
		sealed = malloc(len ? len : 1);
		err = sealed ? smb2_nonce_next(&c->nonces, nonce) : -ENOMEM;
		if (!err)
			err = smb2_encrypt_msg_key(s->key, nonce, s->sid, pieces, n, th, sealed);
	}
	size_t frame_len = len + (s->on ? SMB2_TRANSFORM_HDR_SIZE : 0);
	if (!err && frame_len > 0xFFFFFF)
		err = -EMSGSIZE; /* the direct-TCP length field has 24 bits */
	if (!err) {
		uint8_t nb[4] = {0, (uint8_t)(frame_len >> 16), (uint8_t)(frame_len >> 8), (uint8_t)frame_len};
		struct iovec iov[SMB2_CHAIN_MAX + 2];
		int cnt = 0;
		iov[cnt++] = (struct iovec){nb, 4};
		if (s->on) {
			iov[cnt++] = (struct iovec){th, sizeof(th)};
			iov[cnt++] = (struct iovec){sealed, len};
		} else {
			for (unsigned i = 0; i < n; i++)
				iov[cnt++] = (struct iovec){(void *)pieces[i].p, pieces[i].len};
		}
		pthread_mutex_lock(&c->send_mu);
		err = transport_writev(c->fd, iov, cnt);
		pthread_mutex_unlock(&c->send_mu);
	}
	free(sealed);
	return err;
}

/* smb2_conn_submit_chain, and smb2_conn_submit_data: the last message
 * continues with tail (sent and signed from the caller's buffer).
 * no_wait (the watchdog's ECHO): -EAGAIN instead of waiting for credits. */
static int submit_frame(struct smb2_conn *c, struct wbuf *const *msgs, const size_t *payload_len,
			unsigned n, const uint8_t *tail, size_t tail_len, uint8_t *dst, size_t dst_len,
			unsigned timeout_sec, bool no_wait, struct smb2_req **out)
{
	if (n == 0 || n > SMB2_CHAIN_MAX || (!tail && tail_len) || (dst && n != 1))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (msgs[i]->err || msgs[i]->len < SMB2_HDR_SIZE)
			return msgs[i]->err ? msgs[i]->err : -EINVAL;
	if (timeout_sec == 0)
		timeout_sec = 30;

	struct smb2_req *q[SMB2_CHAIN_MAX] = {0};
	for (unsigned i = 0; i < n; i++) {
		q[i] = req_new(msgs[i], timeout_sec);
		if (!q[i]) {
			for (unsigned j = 0; j < i; j++)
				req_free(q[j]);
			return -ENOMEM;
		}
	}
	q[0]->dst = dst;
	q[0]->dst_len = dst ? dst_len : 0;
	int64_t now = smb2_clock_now_ns(CLOCK_MONOTONIC);
	int64_t limit = now + (int64_t)timeout_sec * PENDING_CAP_FACTOR * NS_PER_S;
	struct timespec admit_until = ns_timespec(limit);

	/* admit: credits and MessageIds for the whole chain at once */
	pthread_mutex_lock(&c->mu);
	uint32_t total = 0;
	for (unsigned i = 0; i < n; i++) {
		q[i]->charge = c->multi_credit && payload_len ? credit_charge_for(payload_len[i]) : 1;
		total += q[i]->charge;
	}
	bool short_of = c->credits < total;
	int err = no_wait && !c->dead && short_of ? -EAGAIN : admit_locked(c, total, &admit_until);
	if (err) {
		pthread_mutex_unlock(&c->mu);
		for (unsigned i = 0; i < n; i++)
			req_free(q[i]);
		return err;
	}
	/* the latency counts from here, before the send: a reply may be
	 * dispatched as soon as the request is out (now is still now unless
	 * admit waited for credits) */
	if (short_of)
		now = smb2_clock_now_ns(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < n; i++) {
		c->credits -= q[i]->charge;
		c->inflight += q[i]->charge;
		q[i]->mid = c->next_mid;
		c->next_mid += q[i]->charge;
		q[i]->started = now;
		q[i]->hard_deadline = limit;
		q[i]->next = c->pending;
		c->pending = q[i];
		smb2_stats_sent(c->stats, q[i]->command);
	}
	smb2_stats_credits(c->stats, c->credits, c->inflight);
	bool sign_all = c->signing, have_key = c->have_key;
	uint16_t chseq = c->channel_seq;
	enum smb2_sign_alg alg = c->sign_alg;
	uint8_t key[16];
	memcpy(key, c->sign_key, 16);
	struct seal_ctx seal;
	seal_ctx_locked(c, q[0]->sid, &seal);
	for (unsigned i = 0; i < n; i++)
		q[i]->sealed = seal.on;
	pthread_mutex_unlock(&c->mu);

	/* fill the header fields the connection owns, chain, sign */
	for (unsigned i = 0; i < n && !err; i++) {
		struct wbuf *w = msgs[i];
		/* MS-SMB2 3.2.4.1.4: every message but the last is padded to
		 * 8 bytes and NextCommand points past the padding, which the
		 * signature covers. */
		if (i + 1 < n)
			wbuf_align(w, 8);
		if (w->err) {
			err = w->err;
			break;
		}
		smb2_hdr_set_credit_charge(w->p, c->multi_credit ? q[i]->charge : 0);
		smb2_hdr_set_credit_request(w->p, CREDIT_REQUEST);
		smb2_hdr_set_next_command(w->p, i + 1 < n ? (uint32_t)w->len : 0);
		smb2_hdr_set_message_id(w->p, q[i]->mid);
		if (chseq && q[i]->command != SMB2_NEGOTIATE && q[i]->command != SMB2_CANCEL)
			smb2_hdr_set_channel_sequence(w->p, chseq);
		bool sign = sign_all || (have_key && (smb2_hdr_flags(w->p) & SMB2_FLAGS_SIGNED));
		const uint8_t *t = i + 1 == n ? tail : NULL;
		size_t tl = i + 1 == n ? tail_len : 0;
		/* An encrypted message is not signed (MS-SMB2 3.2.4.1.1): the
		 * transform's tag covers it.  A SESSION_SETUP is signed only
		 * when it logs in again on the session whose key we hold. */
		if (sign && !seal.on && q[i]->sid != 0 && q[i]->command != SMB2_NEGOTIATE &&
		    (q[i]->command != SMB2_SESSION_SETUP || have_key))
			err = smb2_sign_msg_tail(alg, key, w->p, w->len, t, tl);
	}
	smb2_secure_zero(key, sizeof(key));

	/* send: one frame, written from the messages and the tail in place */
	if (!err) {
		for (unsigned i = 0; i < n; i++)
			smb2_log_debug("> %s mid=%llu sid=0x%llx tid=0x%x%s%s", smb2_cmd_name(q[i]->command),
				       (unsigned long long)q[i]->mid, (unsigned long long)q[i]->sid, q[i]->tid,
				       n > 1 ? " (compound)" : "", seal.on ? " (encrypted)" : "");
		struct smb2_iov pieces[SMB2_CHAIN_MAX + 1];
		for (unsigned i = 0; i < n; i++)
			pieces[i] = (struct smb2_iov){msgs[i]->p, msgs[i]->len};
		pieces[n] = (struct smb2_iov){tail, tail_len};
		err = send_pieces(c, pieces, n + 1, &seal);
	}

	/* the wait starts when the request is on the wire */
	int64_t sent = smb2_clock_now_ns(CLOCK_MONOTONIC);
	pthread_mutex_lock(&c->mu);
	for (unsigned i = 0; i < n; i++)
		q[i]->deadline = sent + (int64_t)timeout_sec * NS_PER_S;
	if (err)
		kill_locked(c, err); /* completes every pending request, ours too */
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < n; i++)
		out[i] = q[i];
	return 0;
}

int smb2_conn_submit_chain(struct smb2_conn *c, struct wbuf *const *msgs, const size_t *payload_len,
			   unsigned n, unsigned timeout_sec, struct smb2_req **out)
{
	return submit_frame(c, msgs, payload_len, n, NULL, 0, NULL, 0, timeout_sec, false, out);
}

int smb2_conn_submit(struct smb2_conn *c, struct wbuf *req, size_t payload_len, unsigned timeout_sec,
		     struct smb2_req **out)
{
	return submit_frame(c, &req, &payload_len, 1, NULL, 0, NULL, 0, timeout_sec, false, out);
}

int smb2_conn_submit_read(struct smb2_conn *c, struct wbuf *req, size_t payload_len, void *dst,
			  size_t dst_len, unsigned timeout_sec, struct smb2_req **out)
{
	return submit_frame(c, &req, &payload_len, 1, NULL, 0, dst, dst_len, timeout_sec, false, out);
}

int smb2_conn_submit_data(struct smb2_conn *c, struct wbuf *req, const void *data, size_t data_len,
			  size_t payload_len, unsigned timeout_sec, struct smb2_req **out)
{
	return submit_frame(c, &req, &payload_len, 1, data, data_len, NULL, 0, timeout_sec, false, out);
}

/* The waiter's half of a big encrypted READ reply (read_big_frame): the
 * data is in q->dst, rep.msg holds the transform header and the head's
 * ciphertext.  Decrypts both in place and verifies the tag (-EBADMSG,
 * with both zeroed, when it fails); then the verified head must be the
 * one the receiver peeked at to choose q.  Leaves the plain head in
 * rep.msg, as for a plain READ received into dst. */
static int open_sealed_read(struct smb2_req *q, struct smb2_aead_key *dk)
{
	uint8_t *m = q->rep.msg;
	struct smb2_hdr h;
	if (smb2_decrypt_split_key(dk, m, m + SMB2_TRANSFORM_HDR_SIZE, READ_RSP_HEAD, q->dst,
				   q->rep.tail_len) < 0)
		return -EBADMSG;
	if (!read_rsp_head_ok(m + SMB2_TRANSFORM_HDR_SIZE, q->rep.tail_len, &h) ||
	    h.message_id != q->mid || h.session_id != q->sid)
		return -EPROTO;
	memmove(m, m + SMB2_TRANSFORM_HDR_SIZE, READ_RSP_HEAD);
	q->rep.len = READ_RSP_HEAD;
	q->rep.hdr = h;
	return 0;
}

/* The statistics of a request that ended (smb2_conn_wait): its status,
 * the time from send to reply, and the data of a READ or WRITE, which
 * both responses give as a 32-bit count at offset 4 of the body
 * (DataLength, Count: MS-SMB2 2.2.20, 2.2.22). */
static void count_ended(struct smb2_conn *c, const struct smb2_req *q, int err)
{
	if (!c->stats)
		return;
	uint32_t status = err ? 0 : q->rep.hdr.status;
	uint64_t us = 0, rd = 0, wr = 0;
	if (!err) {
		int64_t ns = q->replied - q->started;
		us = ns > 0 ? (uint64_t)ns / 1000 : 0;
		bool ok = status == STATUS_SUCCESS || status == STATUS_BUFFER_OVERFLOW;
		if (ok && q->rep.len >= SMB2_HDR_SIZE + 8 &&
		    (q->command == SMB2_READ || q->command == SMB2_WRITE)) {
			uint32_t n = le32_load(q->rep.msg + SMB2_HDR_SIZE + 4);
			if (q->command == SMB2_READ)
				rd = n;
			else
				wr = n;
		}
	}
	smb2_stats_ended(c->stats, q->command, err, status, us, rd, wr);
}

void smb2_conn_set_channel_sequence(struct smb2_conn *c, uint16_t seq)
{
	pthread_mutex_lock(&c->mu);
	c->channel_seq = seq;
	pthread_mutex_unlock(&c->mu);
}

void smb2_conn_set_stats(struct smb2_conn *c, struct smb2_conn_stats *s)
{
	pthread_mutex_lock(&c->mu);
	c->stats = s;
	smb2_stats_credits(s, c->credits, c->inflight);
	pthread_mutex_unlock(&c->mu);
}

/* Called with c->mu held: q's wait judged at now (its deadline, conn.h).
 * Returns when to judge it next, or 0 when it killed the connection (q
 * has ended then).  Past the deadline the connection goes, but once the
 * watchdog is armed with a session (its ECHOs) the watchdog's verdict
 * is the one that counts: while the server shows it is alive and past q
 * (it gave a trusted reply to a request sent after q, an ECHO or any
 * other, and one within 2 x echo_interval) q waits on, up to its hard
 * deadline.  The server keeps showing it, or stops and the watchdog
 * declares it dead.  An untrusted frame (an unsigned interim reply on a
 * signing session) vouches for nothing, and neither do the replies to
 * the rest of q's own compound. */
static int64_t judge_locked(struct smb2_conn *c, struct smb2_req *q, int64_t now)
{
	if (now < q->deadline)
		return q->deadline;
	int64_t e2 = 2 * (int64_t)c->echo_sec * NS_PER_S;
	if (e2 && c->echo_sid && now < q->hard_deadline && c->answered_sent > q->started &&
	    now - c->answered < e2)
		return c->answered + e2 < q->hard_deadline ? c->answered + e2 : q->hard_deadline;
	/* A server that stops answering is treated like a dropped
	 * connection, so reconnect takes over. */
	smb2_log_info("%s mid=%llu: no reply after %.0f s, dropping the connection",
		      smb2_cmd_name(q->command), (unsigned long long)q->mid,
		      (double)(now - q->started) / 1e9);
	kill_locked(c, -ETIMEDOUT); /* sets q->err */
	return 0;
}

/* Called with c->mu held: waits on q->cond until the time `until` (ns);
 * true when that time came.  *now: the time then, known without a clock
 * read when the wait timed out. */
static bool wait_until_locked(struct smb2_conn *c, struct smb2_req *q, int64_t until, int64_t *now)
{
	struct timespec ts = ns_timespec(until);
	if (pthread_cond_timedwait(&q->cond, &c->mu, &ts) == ETIMEDOUT) {
		*now = until;
		return true;
	}
	if (!q->done)
		*now = smb2_clock_now_ns(CLOCK_MONOTONIC);
	return false;
}

int smb2_conn_wait(struct smb2_conn *c, struct smb2_req *q, struct smb2_reply *rep)
{
	pthread_mutex_lock(&c->mu);
	int64_t now = q->done ? 0 : smb2_clock_now_ns(CLOCK_MONOTONIC);
	while (!q->done) {
		int64_t due = judge_locked(c, q, now);
		if (!due)
			break;
		/* with an interrupt check, look at it every SMB2_INTR_LOOK_MS */
		smb2_conn_intr_fn intr = c->intr;
		void *intr_arg = c->intr_arg;
		int64_t look = now + SMB2_INTR_LOOK_MS * NS_PER_MS;
		bool looking = intr && look < due;
		if (!wait_until_locked(c, q, looking ? look : due, &now) || !looking || q->done)
			continue;
		pthread_mutex_unlock(&c->mu);
		bool stop = intr(intr_arg);
		pthread_mutex_lock(&c->mu);
		if (stop && !q->done)
			probe_locked(c, now);
	}
	/* the caller's buffer is not given back while the receiver writes to
	 * it (a dead connection's read ends at once: kill shuts the socket) */
	while (q->filling)
		pthread_cond_wait(&q->cond, &c->mu);
	int err = q->err;
	if (!err && q->decrypt_in_waiter) {
		struct smb2_aead_key *dk = c->dec_k;
		pthread_mutex_unlock(&c->mu);
		err = open_sealed_read(q, dk);
		pthread_mutex_lock(&c->mu);
		if (!err) {
			add_credits_locked(c, (uint32_t)q->rep.hdr.credits + q->interim_credits, q->charge);
		} else {
			smb2_log_debug("%s reply (mid=%llu) does not decrypt or is not its own: dropping "
				       "the connection", smb2_cmd_name(q->command), (unsigned long long)q->mid);
			kill_locked(c, err);
		}
	} else if (!err && q->verify_in_waiter) {
		enum smb2_sign_alg alg = c->sign_alg;
		uint8_t key[16];
		memcpy(key, c->sign_key, sizeof(key));
		pthread_mutex_unlock(&c->mu);
		bool ok = smb2_verify_msg_tail(alg, key, q->rep.msg, q->rep.len, q->dst,
					       q->rep.tail_len) == 0;
		smb2_secure_zero(key, sizeof(key));
		pthread_mutex_lock(&c->mu);
		if (ok) {
			add_credits_locked(c, q->reply_credits, q->charge);
		} else {
			smb2_log_debug("bad signature on %s reply (mid=%llu): dropping the connection",
				       smb2_cmd_name(q->command), (unsigned long long)q->mid);
			kill_locked(c, -EBADMSG);
			err = -EBADMSG;
		}
	}
	unlink_pending(c, q);
	c->inflight -= q->charge;
	smb2_stats_credits(c->stats, c->credits, c->inflight);
	pthread_mutex_unlock(&c->mu);
	count_ended(c, q, err);

	if (err) {
		smb2_log_debug("< %s mid=%llu sid=0x%llx tid=0x%x error=%s %.3f ms", smb2_cmd_name(q->command),
			       (unsigned long long)q->mid, (unsigned long long)q->sid, q->tid, strerror(-err),
			       ms_since(q->started));
		req_free(q);
		return err;
	}
	if (smb2_log_debug_on) {
		char sbuf[48];
		smb2_log_debug_("< %s mid=%llu sid=0x%llx tid=0x%x %s %.3f ms", smb2_cmd_name(q->command),
				(unsigned long long)q->mid, (unsigned long long)q->rep.hdr.session_id,
				q->rep.hdr.tree_id, nt_status_str(q->rep.hdr.status, sbuf, sizeof(sbuf)),
				ms_since(q->started));
	}
	*rep = q->rep;
	q->rep.msg = NULL;
	req_free(q);
	return 0;
}

void smb2_conn_on_done(struct smb2_conn *c, struct smb2_req *q, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&c->mu);
	q->on_done = fn;
	q->on_done_arg = arg;
	if (q->done && fn)
		fn(arg);
	pthread_mutex_unlock(&c->mu);
}

void smb2_conn_no_deadline(struct smb2_conn *c, struct smb2_req *q)
{
	pthread_mutex_lock(&c->mu);
	q->patient = true;
	if (q->interim_seen)
		q->deadline = no_deadline(smb2_clock_now_ns(CLOCK_MONOTONIC));
	pthread_mutex_unlock(&c->mu);
}

bool smb2_conn_wait_for(struct smb2_conn *c, struct smb2_req *q, unsigned ms)
{
	int64_t now = smb2_clock_now_ns(CLOCK_MONOTONIC), end = now + (int64_t)ms * NS_PER_MS;
	pthread_mutex_lock(&c->mu);
	while (!q->done) {
		/* q's deadline as in smb2_conn_wait */
		int64_t due = judge_locked(c, q, now);
		if (!due || now >= end)
			break;
		wait_until_locked(c, q, due < end ? due : end, &now);
	}
	bool done = q->done;
	pthread_mutex_unlock(&c->mu);
	return done;
}

void smb2_conn_set_notify(struct smb2_conn *c, smb2_notify_fn fn, void *arg)
{
	pthread_mutex_lock(&c->mu);
	c->notify = fn;
	c->notify_arg = arg;
	pthread_mutex_unlock(&c->mu);
}

int smb2_conn_cancel(struct smb2_conn *c, struct smb2_req *q)
{
	/* MS-SMB2 3.2.4.24: same MessageId (no credit, no sequence number),
	 * the AsyncId once an interim reply gave one, signed as the session
	 * signs; the server sends no reply of its own to a CANCEL. */
	pthread_mutex_lock(&c->mu);
	if (q->done || c->dead) {
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	struct smb2_hdr h = {
		.command = SMB2_CANCEL,
		.message_id = q->mid,
		.session_id = q->sid,
		.tree_id = q->tid,
		.process_id = 0xFEFF,
		.async_id = q->async_id,
		.flags = q->async_id ? SMB2_FLAGS_ASYNC_COMMAND : 0,
	};
	struct seal_ctx seal;
	seal_ctx_locked(c, q->sid, &seal);
	bool sign = c->signing && q->sid != 0 && !seal.on;
	enum smb2_sign_alg alg = c->sign_alg;
	uint8_t key[16];
	memcpy(key, c->sign_key, sizeof(key));
	pthread_mutex_unlock(&c->mu);

	struct wbuf w;
	wbuf_init(&w);
	int r = wbuf_check(&w, smb2_hdr_encode(&w, &h));
	if (r == 0)
		r = wbuf_check(&w, smb2_cancel_encode(&w));
	if (r == 0 && sign)
		r = smb2_sign_msg(alg, key, w.p, w.len);
	smb2_secure_zero(key, sizeof(key));
	if (r == 0) {
		smb2_log_debug("> CANCEL mid=%llu async_id=0x%llx", (unsigned long long)h.message_id,
			       (unsigned long long)h.async_id);
		struct smb2_iov piece = {w.p, w.len};
		smb2_stats_sent(c->stats, SMB2_CANCEL);
		r = send_pieces(c, &piece, 1, &seal);
		if (r < 0)
			smb2_conn_kill(c, r);
	}
	wbuf_free(&w);
	return r;
}

bool smb2_conn_done(struct smb2_conn *c, struct smb2_req *q)
{
	pthread_mutex_lock(&c->mu);
	bool done = q->done;
	pthread_mutex_unlock(&c->mu);
	return done;
}

int smb2_conn_call(struct smb2_conn *c, struct wbuf *req, size_t payload_len,
		   unsigned timeout_sec, struct smb2_reply *rep)
{
	struct smb2_req *q;
	int r = smb2_conn_submit(c, req, payload_len, timeout_sec, &q);
	return r < 0 ? r : smb2_conn_wait(c, q, rep);
}

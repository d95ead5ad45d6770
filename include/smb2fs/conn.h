/* One TCP connection to an SMB2 server: framing, MessageId and credit
 * accounting, signing of outgoing and verification of incoming messages, and
 * one receiver thread that hands each reply to the thread waiting for it.
 *
 * Request lifecycle (each a separate step, so compounding and encryption can
 * be added without touching the others):
 *   build  - the caller encodes header + body into a wbuf (wire.h)
 *   admit  - smb2_conn_call waits for enough credits, assigns MessageId(s)
 *   sign   - when signing is on for the session, the message is signed
 *   send   - framed and written under the send lock
 *   match  - the receiver thread matches the reply by MessageId, verifies
 *            the signature, and only then takes its credits (total capped)
 *            and wakes the caller.  Interim STATUS_PENDING replies extend
 *            the wait by the timeout, up to 10 timeouts in all, and only
 *            when trusted (signed, on a session that signs).
 *
 * Lock order: conn.mu (credits, pending table, state) before conn.send_mu.
 * No lock is held while blocking on the socket except send_mu while writing.
 *
 * A connection is either ALIVE or DEAD.  It becomes DEAD on EOF, a socket
 * error, a malformed frame, a bad signature or a request timeout; every
 * waiting request then fails with -ECONNRESET (or -ETIMEDOUT / -EBADMSG for
 * the request that caused it) and later calls fail at once.  Reconnecting is
 * the client layer's job (client/reconnect.c): it builds a new connection. */
#ifndef SMB2FS_CONN_H
#define SMB2FS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2fs/buf.h"
#include "smb2fs/crypto.h"
#include "smb2fs/wire.h"

struct smb2_conn;

/* Opens a TCP connection (getaddrinfo, non-blocking connect with timeout,
 * TCP_NODELAY, keepalive) and starts the receiver thread.  On failure
 * returns -errno and writes "cannot reach HOST:PORT: reason" into err. */
int smb2_conn_open(const char *host, uint16_t port, unsigned timeout_sec, bool debug,
		   struct smb2_conn **out, char *err, size_t errlen);
/* Shuts the socket, fails pending requests, joins the receiver, frees. */
void smb2_conn_free(struct smb2_conn *c);
bool smb2_conn_alive(struct smb2_conn *c);
/* Forces the connection DEAD (e.g. a protocol violation seen above). */
void smb2_conn_kill(struct smb2_conn *c, int err);

/* After NEGOTIATE: whether the server does multi-credit requests
 * (2.1+ with LARGE_MTU); before that every request costs one credit. */
void smb2_conn_set_multi_credit(struct smb2_conn *c, bool on);
/* Installs the session's signing key (one session per connection).
 * required: sign every later request and reject unsigned replies (final
 * ones of every status, session-deleted/expired included: the connection
 * is dropped), and let only signed interim replies extend a wait.
 * Otherwise only requests whose header already has SMB2_FLAGS_SIGNED set
 * are signed (3.1.1 TREE_CONNECT), and replies are verified when they say
 * they are signed. */
void smb2_conn_set_signing(struct smb2_conn *c, enum smb2_sign_alg alg, const uint8_t key[16],
			   bool required);

/* Credits the server lets this connection have outstanding now (granted and
 * unused plus those charged to requests in flight).  A request costing more
 * than this would wait for ever: callers size multi-credit I/O to fit. */
uint32_t smb2_conn_window(struct smb2_conn *c);

struct smb2_reply {
	uint8_t *msg;        /* malloc'ed reply message (header + body) */
	size_t len;
	struct smb2_hdr hdr; /* decoded header */
};
void smb2_reply_free(struct smb2_reply *r);

/* Sends one request and waits for its final reply.
 * req holds the 64-byte header + body; the header's command, flags,
 * session_id and tree_id must be set by the caller; this function fills
 * credit_charge, credits requested, message_id and the signature.
 * payload_len is the READ/WRITE/QUERY size the request asks for, used to
 * compute CreditCharge (0 for small requests).
 * Returns 0 with *rep filled (any NT status - the caller checks
 * rep->hdr.status), or a negative errno when no reply came. */
int smb2_conn_call(struct smb2_conn *c, struct wbuf *req, size_t payload_len,
		   unsigned timeout_sec, struct smb2_reply *rep);

#endif

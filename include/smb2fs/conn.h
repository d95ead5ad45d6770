/* One TCP connection to an SMB2 server: framing, MessageId and credit
 * accounting, signing of outgoing and verification of incoming messages, and
 * one receiver thread that hands each reply to the thread waiting for it.
 *
 * Request lifecycle (each a separate step, so encryption can be added
 * without touching the others):
 *   build  - the caller encodes header + body into a wbuf (wire.h); a
 *            WRITE's data may stay in the caller's buffer (submit_data)
 *   admit  - submit waits for enough credits for the message or chain and
 *            assigns MessageId(s); a chain is padded and linked
 *   sign   - when signing is on for the session, each message is signed
 *   seal   - on an encrypted session the frame is instead encrypted as a
 *            whole (TRANSFORM_HEADER), and received ones are decrypted
 *            before the match
 *   send   - framed and written under the send lock (one gathered
 *            sendmsg, nothing joined); the caller gets one request object
 *            per message
 *   match  - the receiver thread verifies the signature (outside conn.mu),
 *            matches the reply by MessageId, only then takes its credits
 *            (total capped) and completes the request object.  Interim
 *            STATUS_PENDING replies extend the wait by the timeout, up to
 *            10 timeouts in all (the hard deadline), and only when
 *            trusted (signed, on a session that signs).
 *   wait   - the caller collects each reply (smb2_conn_wait), in any order.
 *
 * Lock order: conn.mu (credits, pending table, state) before conn.send_mu.
 * No lock is held while blocking on the socket except send_mu while writing.
 *
 * A connection is either ALIVE or DEAD.  It becomes DEAD on EOF, a socket
 * error, a malformed frame, a bad signature, a request timeout or the
 * watchdog's verdict (below).  A request past its deadline (timeout_sec
 * with no trusted interim reply) kills it unless the watchdog is armed
 * with a session and the server shows it is alive: a trusted reply to a
 * request sent after this one (an ECHO, or any other), and one within
 * 2 x E.  Then the request waits on up to its hard deadline, and a
 * server that stops answering is the watchdog's to declare dead.  Every waiting request then fails with
 * -ECONNRESET (or -ETIMEDOUT / -EBADMSG for the request that caused it;
 * -ETIMEDOUT for all of them when the server stopped answering) and later
 * calls fail at once.  Reconnecting is the client layer's job
 * (client/reconnect.c): it builds a new connection.
 *
 * Watchdog (one thread per connection, smb2_conn_set_echo): the receiver
 * stamps the time of every byte it reads.  With echo_interval E set, a
 * connection on which something is outstanding and nothing has been
 * received for 2 x E is declared dead (-ETIMEDOUT).  Once a session is
 * given, an SMB2 ECHO goes out on it (signed or encrypted as the session
 * is) whenever nothing has been received for E, idle or not, so a server
 * that answers is never declared dead however long a request takes (a
 * blocking LOCK, a big READ), and a dead one is noticed even when idle.
 * An interrupted waiter (smb2_conn_set_intr) asks for a probe: an ECHO at
 * once, and the connection is declared dead when nothing at all arrives
 * within SMB2_PROBE_MS.  The trade-off: a server that is alive but takes
 * longer than that over a synchronous request (no interim reply) and
 * the ECHO queued behind it loses the connection to one user's Ctrl-C,
 * for every user of the mount (a hard mount reconnects and retries
 * their requests); a probe as long as E / 2 would spare it, but then
 * Ctrl-C on a dead server would take up to 5 s with the default E of
 * 10 s instead of about 1.5 s. */
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

/* Dead-server detection (top comment): interval_sec (1..600; 0 turns the
 * watchdog off) and, once the session is set up, its SessionId for the
 * ECHOs (0: none sent; only the silence of outstanding requests counts,
 * as while negotiating).  When the interval changes (once per
 * connection), also sets the socket's TCP_USER_TIMEOUT and send timeout
 * to 2 x interval_sec. */
void smb2_conn_set_echo(struct smb2_conn *c, unsigned interval_sec, uint64_t session_id);
/* A waiter whose caller gave up (FUSE interrupt) asks for a probe; the
 * connection is declared dead when the server sends nothing within this
 * (the trade-off: top comment). */
#define SMB2_PROBE_MS 1500
/* How often a thread that waits for the server, or for the client while
 * it reconnects (client/reconnect.c) or for a blocking lock
 * (client/locks.c), asks whether its caller was interrupted. */
#define SMB2_INTR_LOOK_MS 100
/* fn(arg), asked from a thread waiting in smb2_conn_wait every
 * SMB2_INTR_LOOK_MS: whether that thread's caller was interrupted.  Then a probe
 * (top comment) decides whether the server is still there; the wait
 * itself goes on until the reply or the connection's end. */
typedef bool (*smb2_conn_intr_fn)(void *arg);
void smb2_conn_set_intr(struct smb2_conn *c, smb2_conn_intr_fn fn, void *arg);
/* Why the connection died (-ETIMEDOUT: the server stopped answering), or
 * 0 while it is alive. */
int smb2_conn_error(struct smb2_conn *c);

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

/* Encryption (MS-SMB2 3.1.4.3, 3.2.5.1.1).  Installs the session's
 * encryption (client->server) and decryption keys for cipher (a CipherId;
 * 16 or 32 bytes each), and a fresh nonce counter.  From then on an
 * encrypted frame from the server is decrypted (it must be for this
 * session; a bad tag drops the connection) and its messages are handled
 * as verified.  Requests are not encrypted until smb2_conn_seal.  Once
 * per connection: the same session again is a no-op (its keys do not
 * change), another session's keys are -EALREADY. */
int smb2_conn_set_encryption(struct smb2_conn *c, uint16_t cipher, const uint8_t *enc_key,
			     const uint8_t *dec_key, uint64_t session_id);
/* Encrypts every later request of that session (not signed then), and
 * requires every reply to one to be encrypted (interim ones too): a plain
 * reply drops the connection.  No-op without keys. */
void smb2_conn_seal(struct smb2_conn *c);

/* Credits the server lets this connection have outstanding now (granted and
 * unused plus those charged to requests in flight).  A request costing more
 * than this would wait for ever: callers size multi-credit I/O to fit. */
uint32_t smb2_conn_window(struct smb2_conn *c);

struct smb2_reply {
	uint8_t *msg;        /* malloc'ed reply message (header + body) */
	size_t len;
	size_t tail_len;     /* the message goes on with this many bytes in the
			      * buffer given to smb2_conn_submit_read (READ data) */
	struct smb2_hdr hdr; /* decoded header */
};
void smb2_reply_free(struct smb2_reply *r);

/* Request objects: submit one message (or a compound chain) and wait for
 * each reply separately, so a caller can have many requests in flight
 * (pipelined READs and WRITEs) or send related operations in one frame.
 *
 * smb2_conn_submit_chain admits the whole chain (credits and consecutive
 * MessageIds at once, waiting while other requests hold the credits),
 * pads every message but the last to 8 bytes and links it with NextCommand
 * (MS-SMB2 3.2.4.1.4), signs each message, and writes one frame.  The
 * caller encodes related messages itself (SMB2_FLAGS_RELATED_OPERATIONS and
 * FileId 0xFFFF.. after a CREATE).  On success out[0..n-1] are handles that
 * must each be passed to smb2_conn_wait exactly once; a send failure shows
 * up there.  Returns -ENOBUFS when the server will not grant the credits
 * (a healthy connection that cannot take this request), the buffer's own
 * error for a buffer in error, a transport error for a dead connection. */
#define SMB2_CHAIN_MAX 8
struct smb2_req;
int smb2_conn_submit_chain(struct smb2_conn *c, struct wbuf *const *msgs, const size_t *payload_len,
			   unsigned n, unsigned timeout_sec, struct smb2_req **out);
int smb2_conn_submit(struct smb2_conn *c, struct wbuf *req, size_t payload_len, unsigned timeout_sec,
		     struct smb2_req **out);
/* smb2_conn_submit for a message whose last data_len bytes are kept apart
 * (WRITE data: smb2_write_encode_head): they are signed with req and
 * written after it from data, never copied.  They are on the socket when
 * this returns, so data may be reused at once. */
int smb2_conn_submit_data(struct smb2_conn *c, struct wbuf *req, const void *data, size_t data_len,
			  size_t payload_len, unsigned timeout_sec, struct smb2_req **out);
/* smb2_conn_submit for a READ: when its reply succeeds and carries the data
 * right after the 16-byte READ response body, the data (up to dst_len) is
 * received straight into dst, verified with the rest of the message by
 * smb2_conn_wait, and the reply's tail_len says how much (decode it with
 * smb2_read_decode_split); otherwise the reply is whole in rep.msg.  dst
 * is written only until smb2_conn_wait returns (even after a failure). */
int smb2_conn_submit_read(struct smb2_conn *c, struct wbuf *req, size_t payload_len, void *dst,
			  size_t dst_len, unsigned timeout_sec, struct smb2_req **out);
/* Waits for the final reply of a submitted request and frees the handle.
 * Returns 0 with *rep (any NT status) or a negative errno (no reply: the
 * connection died, or this request timed out, which kills it: top
 * comment). */
int smb2_conn_wait(struct smb2_conn *c, struct smb2_req *q, struct smb2_reply *rep);
/* A request the server may rightly keep pending for as long as it likes
 * (a blocking LOCK waits for another client's unlock, MS-SMB2 3.3.5.14.2):
 * once an interim STATUS_PENDING reply came for it (before this call or
 * after, signed or not), its wait has no deadline.  The caller waits in
 * slices (smb2_conn_wait_for) and ends it with smb2_conn_cancel; a dead
 * connection still ends it at once.  Until the interim reply the usual
 * timeout applies. */
void smb2_conn_no_deadline(struct smb2_conn *c, struct smb2_req *q);
/* fn(arg) is called when q ends (reply in, or failed; at once if it
 * has), from the thread that ends it with the connection's lock held:
 * fn may only wake a waiter (sem_post), never take a lock or call into
 * the connection.  For one thread waiting for many long requests
 * (client/notify.c) instead of one smb2_conn_wait_for each. */
void smb2_conn_on_done(struct smb2_conn *c, struct smb2_req *q, void (*fn)(void *arg), void *arg);
/* Waits up to ms for q to end (reply in, or failed), with q's deadline
 * applied as in smb2_conn_wait (a request past it kills the connection).
 * true: ended, collect it with smb2_conn_wait; false: still waiting. */
bool smb2_conn_wait_for(struct smb2_conn *c, struct smb2_req *q, unsigned ms);
/* Asks the server to stop working on a submitted request (FUSE
 * interrupts).  The request still ends through smb2_conn_wait, usually
 * with STATUS_CANCELLED.  0, or a transport error. */
int smb2_conn_cancel(struct smb2_conn *c, struct smb2_req *q);
/* Server-initiated messages (MessageId 0xFFFFFFFFFFFFFFFF: oplock and lease
 * breaks) are handed to fn, from the receiver thread with no lock held;
 * msg is valid during the call only.  Without fn they are dropped.  When
 * the connection ends, fn is called once more with msg NULL (from the
 * receiver thread, before smb2_conn_free returns). */
typedef void (*smb2_notify_fn)(void *arg, const uint8_t *msg, size_t len);
void smb2_conn_set_notify(struct smb2_conn *c, smb2_notify_fn fn, void *arg);
/* Counts this connection's requests, replies, data and credits into s
 * (stats.h), which the caller owns and keeps past smb2_conn_free (a
 * client hands one to every connection it builds).  Set before the first
 * request; NULL (the default) counts nothing. */
struct smb2_conn_stats;
void smb2_conn_set_stats(struct smb2_conn *c, struct smb2_conn_stats *s);
/* SMB 3.x: the ChannelSequence (MS-SMB2 2.2.1.2) written into every
 * request's header from now on (NEGOTIATE and CANCEL excepted); 0, the
 * default, leaves the field zero.  The client raises it after each
 * reconnect (3.2.4.1.1), so the server can tell requests on the new
 * connection from stale ones of the old. */
void smb2_conn_set_channel_sequence(struct smb2_conn *c, uint16_t seq);
/* Whether smb2_conn_wait on q would return at once (reply in, or failed). */
bool smb2_conn_done(struct smb2_conn *c, struct smb2_req *q);

/* Sends one request and waits for its final reply (submit + wait).
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

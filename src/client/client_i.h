/* Client internals shared by the files of src/client.
 *
 * State machine (owned by reconnect.c; only it changes `state`):
 *
 *   UP --(transport error / session expired / tree gone on a call)--> BROKEN
 *   BROKEN --(reconnect: new conn, negotiate, session setup,
 *             tree connect, reopen every open file; gen++)--> UP
 *   BROKEN --(hard: reconnect keeps failing)--> keeps trying, backing off,
 *             until the server answers; a caller interrupted meanwhile
 *             (FUSE interrupt) returns -EINTR and leaves it BROKEN for
 *             the next caller
 *   BROKEN --(soft: reconnect keeps failing for 2 x echo_interval)--> BROKEN,
 *             the call fails with -EHOSTDOWN/-EIO; the next call tries again
 *   UP --(soft: the server stopped answering, the connection's watchdog
 *         said -ETIMEDOUT)--> BROKEN at once, the call fails with -EIO,
 *             calls in the holdoff too; a later call tries again
 *   BROKEN --(reconnect refused: below the session floor, guest, a bad
 *             signature)--> BROKEN at once, logged, calls get -EIO; tried
 *             again after the holdoff
 *   any --(destroy)--> CLOSED
 *
 * Locking: `lock` is a writer-preferring rwlock.  Every operation holds it
 * for reading while it uses conn / session_id / tree_id / file ids; the
 * reconnect path holds it for writing, so no operation sees a half-rebuilt
 * session.  `files_mu` protects the open-file list and nests inside `lock`;
 * a file's `wb.mu` (writeback.c) nests inside `files_mu` when both are held,
 * and may be held while waiting for a reply.  Order: lock -> files_mu ->
 * wb.mu -> conn.mu -> conn.send_mu.  lease_mu (lease.c) is a leaf. */
#ifndef SMB2FS_CLIENT_I_H
#define SMB2FS_CLIENT_I_H

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "smb2fs/buf.h"
#include "smb2fs/client.h"
#include "smb2fs/conn.h"
#include "smb2fs/crypto.h"
#include "smb2fs/stats.h"
#include "smb2fs/wire.h"

enum client_state { CLIENT_UP, CLIENT_BROKEN, CLIENT_CLOSED };

/* What the server says a file is, to recognise it again: the QFid
 * DiskFileId (volume + file number, which a file system may reuse once a
 * file is deleted) and the creation time (which a re-created file does not
 * share). */
struct file_identity {
	bool known;
	uint8_t disk_id[16];
	uint64_t creation_time;
};

/* writeback.c: data accepted from write() and not yet acknowledged. */
struct wb_chunk;
struct wb_queue {
	pthread_mutex_t mu;        /* serializes this file's writers and drains */
	uint8_t *buf;              /* gathering buffer for small sequential writes */
	size_t buf_len, buf_cap;
	uint64_t buf_off;
	struct wb_chunk *head, *tail; /* sealed chunks, oldest first */
	unsigned nchunks;
	int err;                   /* first failure, reported once by a later call */
	struct timespec since;     /* when the queue last went from empty to not */
};

/* lease.c: one lease per file path with open handles of ours (see the
 * file's top comment).  Fields under the client's lease_mu. */
struct smb2_lease {
	uint8_t key[16];
	char *path;            /* SMB path it is found by; follows renames;
				* NULL once the name leads to another file */
	uint32_t state;        /* caching granted and not broken since */
	uint32_t broken_to;    /* the last break's new state */
	uint64_t breaks;       /* breaks (and connection losses) applied */
	/* Break notifications for the key the receiver took, and how many
	 * of those the worker has applied: a grant while one is taken and
	 * not yet applied says nothing of what the kernel cached (the break
	 * may be another client's write the pages predate). */
	uint64_t breaks_rx, breaks_rx_done;
	/* the file's data as the last open with the key saw it (size, last
	 * write and change times of the CREATE reply) */
	uint64_t seen_size, seen_mtime, seen_ctime;
	bool seen;
	bool after_loss;       /* no grant since a lost connection: a break in
				* progress then may be one whose notice was lost */
	uint16_t epoch;
	unsigned refs;         /* handles of ours using the key (record lifetime) */
	unsigned live;         /* ... of which granted and not closing: while
				* there are any, the server keeps the lease */
	/* lease.c reclaimer: a break took R while handles of ours were
	 * open (set by the worker, cleared when R is granted again or the
	 * last handle closes); only such records are asked for it again */
	bool read_lost;
	unsigned reclaim_wait; /* ticks to the next try, */
	unsigned reclaim_gap;  /* ... and between tries (backs off) */
	unsigned reclaim_refused; /* tries refused since the last open */
	struct smb2_lease *next;
};

struct lease_work;

/* What an open asks for, and what it needs to judge the grant. */
struct lease_ask {
	struct smb2_lease_ctx ctx;
	bool had_read;         /* another handle of ours held R when we asked */
	uint64_t breaks;
	uint64_t breaks_rx;    /* smb2_lease.breaks_rx when we asked */
};

struct smb2_file {
	char *path;            /* share-relative, '\\'-separated, for reopen;
				* follows renames; read and changed under
				* files_mu or with the client lock held for writing */
	struct file_identity ident;
	int flags;             /* original POSIX flags (reopen drops O_CREAT/O_TRUNC/O_EXCL) */
	bool is_dir;
	struct smb2_fileid id;
	bool stale;            /* reopen after reconnect failed: ops return -ESTALE */
	/* LastWriteTime was set through this handle, so the server stops
	 * stamping its writes (MS-FSA; Samba's "sticky" write time): a later
	 * write's time is re-set before CLOSE, as POSIX wants.  Under files_mu. */
	bool mtime_set;
	uint64_t write_after_mtime_set; /* FILETIME of that write; 0 = none */
	bool write_behind;     /* writes go through wb (writeback.c) */
	struct wb_queue wb;
	struct smb2_lease *lease; /* NULL: none asked (lease.c) */
	bool keep_cache;       /* the kernel's pages were valid at open */
	/* LockSequence (locks.c): requests taken so far, and the last
	 * LockSequenceNumber each of the 64 indexes carried (atomics) */
	unsigned lock_seq_taken;
	uint8_t lock_seq_num[64];
	/* closed by FUSE, kept open under a read+handle lease (handles.c,
	 * deferred close); under files_mu */
	bool deferred;
	struct timespec deferred_at;
	/* unlinked while open: moved to a hidden name and delete-pending
	 * (unlinked.c); never kept open by deferred close.  Under files_mu. */
	bool unlinked;
	/* Durable v2 (handles.c): the server granted DH2Q on this open, so a
	 * reconnect reclaims it with DH2C (this FileId and CreateGuid) before
	 * it falls back to a reopen by name.  Under files_mu, or with the
	 * client lock held for writing. */
	bool durable;
	/* closed by us around a rename above it (handles.c, files_move_below)
	 * and not yet opened again: its reopen is a new handle for the lease
	 * (lease_closing was called), never a durable reclaim */
	bool reopen_new;
	uint8_t create_guid[16];
	uint32_t durable_timeout_ms; /* what the server granted */
	struct smb2_file *prev, *next;
};

/* A handle that can write data (and so has FILE_WRITE_ATTRIBUTES). */
static inline bool file_can_write(const struct smb2_file *f)
{
	return !f->is_dir && (f->flags & O_ACCMODE) != O_RDONLY;
}

/* What the first session established; a reconnect that comes back with
 * less is refused (MS-SMB2 does not require this; it is what keeps a
 * man in the middle from downgrading a mount by cutting its connection). */
struct session_floor {
	bool set;
	uint16_t dialect;
	uint8_t server_guid[16];
	bool signing;
	bool encrypted;        /* a session that was encrypted stays so */
};

struct smb2_client {
	/* configuration (owned copies) */
	char *server, *share, *user, *domain, *unc;
	uint8_t nt_hash[16];   /* the password, reduced at once; kept for reconnects */
	uint16_t port;
	bool guest;
	bool krb5;             /* log in with Kerberos; what it needs again: */
	char *ccache, *keytab, *spn; /* (client.h; NULL = default) */
	uint16_t min_dialect, max_dialect;
	bool require_signing;  /* sign every message: `sign`, or the default for
				* an authenticated (non-guest) session */
	bool sign_asked;       /* the user said `sign` (a guest session cannot) */
	bool seal_asked;       /* the user said `seal` */
	unsigned timeout_sec, connect_timeout_sec;
	unsigned echo_sec;     /* echo_interval (conn.h watchdog) */
	bool soft;             /* fail operations when the server is dead
				* (reconnect.c), instead of waiting (hard) */
	smb2_intr_fn intr;     /* smb2_client_set_intr; read atomically */
	void *intr_arg;
	bool closing;          /* destroy started: stop waiting for the server
				* (read and written atomically) */
	uint8_t client_guid[16];

	pthread_rwlock_t lock;
	enum client_state state;
	uint64_t gen;          /* bumped by every successful reconnect */
	struct session_floor floor;
	uint64_t prev_session_id; /* sent as PreviousSessionId on reconnect */
	uint16_t channel_seq;  /* 3.x ChannelSequence of every request: one more
				* per reconnect (MS-SMB2 3.2.4.1.1, 3.2.7.1) */
	bool refused;          /* the last establish failed on a security check
				* (guest, a weaker reconnect): not worth retrying */
	struct timespec last_failed; /* end of the last failed reconnect (monotonic) */
	uint64_t auth_gen;     /* bumped by every re-login on the same session */
	bool renew_failing;    /* the last re-login found no fresh credential:
				* the next failures log at debug level */
	bool no_credential;    /* the last login failed before asking the server:
				* no ticket to be had (a reconnect then fails
				* with EKEYEXPIRED at once) */
	char principal[256];   /* Kerberos: who the first login was ("" else),
				* named when a renewal needs `kinit` */
	time_t session_end;    /* monotonic s: when the login's ticket ends (0: never) */
	time_t renew_at;       /* ...and when to log in again ahead of that
				* (0: not before the server says it expired) */

	/* per-connection state, valid while UP */
	struct smb2_conn *conn;
	uint16_t dialect;
	uint8_t server_guid[16];
	uint32_t server_caps;
	uint32_t max_read, max_write, max_trans;
	uint32_t rsize_cap, wsize_cap; /* rsize=/wsize= (0: none), applied to the above */
	uint64_t session_id;
	uint32_t tree_id;
	bool signing;          /* every message signed */
	bool have_key;         /* session has a signing key (not guest) */
	uint16_t cipher;       /* negotiated CipherId; 0: the server cannot encrypt */
	bool encrypted;        /* every message encrypted (seal, session or share) */

	pthread_mutex_t files_mu;
	struct smb2_file *files;
	int open_files;        /* handles on the list, deferred and stale ones
				* too (atomic; statistics) */
	struct unlinked_name *unlinked; /* unlinked.c; under files_mu */
	int deferred;          /* handles on the list whose close is deferred (atomic) */
	unsigned close_timeout_ms; /* config: how long; 0 = never defer */
	bool write_behind;     /* config: queue writes (writeback.c) */
	bool read_for_write;   /* config: O_WRONLY opens ask for read access too */
	int sd_map;            /* security descriptors asked with the attributes
				* (security.c; atomic): config, cleared once
				* when the server refuses security queries */
	int chown_refusals;    /* chowns the server refused (atomic; logged once) */
	bool mapposix;         /* config: SFM names (smb_path, listings; sfm.h) */
	char *prefix;          /* config: the directory inside the share the mount
				* shows, "sub/dir" (smb_path puts it before every
				* path), or NULL */
	char *prefix_smb;      /* the same as an SMB path, "sub\\dir" (lease.c) */
	int wb_files;          /* open files with write-behind (atomic) */
	/* writeback.c's flusher: sends data queued for too long */
	pthread_t wb_flusher;
	bool wb_flusher_running, wb_flusher_stop;
	bool wb_kick;          /* writers left full chunks to send (wb_flusher_mu) */
	pthread_mutex_t wb_flusher_mu;
	pthread_cond_t wb_flusher_cond;

	/* lease.c */
	bool leasing;          /* config: ask for leases (not cache=none) */
	pthread_mutex_t lease_mu; /* a leaf: guards what follows */
	struct smb2_lease *leases;
	int leases_live;       /* sum of the records' live counts (atomic): a
				* cheap "none" for smb2_path_read_leased */
	struct lease_work *lease_head, *lease_tail; /* breaks for the worker */
	/* locks.c: the byte-range locks we hold; locks_mu is a leaf */
	pthread_mutex_t locks_mu;
	pthread_cond_t locks_cond;
	struct lk_owner *locks;
	unsigned lock_waiters;  /* blocking LOCKs waited for outside the client lock */
	pthread_cond_t lease_cond;
	pthread_t lease_worker;
	bool lease_worker_running, lease_stop;
	/* lease.c: takes read caching back for open files that lost it */
	pthread_cond_t reclaim_cond;
	pthread_t lease_reclaimer;
	bool lease_reclaimer_running;
	pthread_mutex_t lease_cb_mu; /* held while the callback runs */
	smb2_lease_cb lease_cb;
	void *lease_cb_arg;
	/* notify.c: directory watches (see its top comment) */
	pthread_mutex_t notify_mu;
	pthread_cond_t notify_cond; /* CLOCK_MONOTONIC */
	struct smb2_watch *watches;
	unsigned n_watches;     /* on the list, dropped ones too */
	long notify_ttl_ms;
	pthread_t notify_thread;
	bool notify_running, notify_stop;
	sem_t notify_sem;       /* wakes the watcher: a request ended, work asked */
	pthread_mutex_t notify_cb_mu; /* held while the callback runs */
	smb2_notify_cb notify_cb;
	void *notify_cb_arg;

	/* Statistics (docs/stats.md; smb2_client_stats formats them): the
	 * connection layer counts into conn_stats, which every connection
	 * session.c builds is given; the client's own events are counted
	 * here (all relaxed atomics, read without the client lock, so they
	 * can be read during a reconnect). */
	struct smb2_conn_stats conn_stats;
	uint64_t n_reconnects;        /* connections rebuilt (reconnect.c) */
	uint64_t n_reconnect_failures; /* reconnect attempts that gave up */
	uint64_t n_renewals;          /* re-logins on the same session (renew_session) */
	uint64_t n_renewal_failures;
	struct timespec started;      /* monotonic: the mount's first connect */
};

/* session.c: builds conn + session + tree.  Called with lock held for
 * writing (or before the client is shared).  On failure fills errmsg. */
int client_establish(struct smb2_client *c, char *errmsg, size_t errlen);
/* Logs in again on the session (same SessionId, a new ticket; keys, tree
 * and open files stay), which expired or is about to.  With the lock held
 * for writing.  -EKEYEXPIRED: no fresh credential could be
 * had (msg says why); a transport errno: reconnect instead; other errnos:
 * the server refused the new login. */
int client_reauth(struct smb2_client *c, char *msg, size_t len);
/* Tree disconnect + logoff + free conn (best effort). */
void client_teardown(struct smb2_client *c);
/* "STATUS_X, 0x..." (or "NT status 0x..." without a name) in buf, for
 * the sentences that tell the user what the server said. */
const char *status_desc(uint32_t st, char *buf, size_t len);

/* writeback.c: write-behind (see the file's top comment) */
bool wb_enabled_for(int flags);
void wb_init(struct wb_queue *q);
void wb_destroy(struct wb_queue *q);
/* The data of a write: a fill function (client.h), or else a buffer. */
struct wb_src {
	const uint8_t *mem;
	smb2_fill_fn fill;
	void *arg;
};
/* Queues the data and returns len, or an error kept from earlier writes. */
ssize_t wb_write(struct smb2_client *c, struct smb2_file *f, const struct wb_src *src, size_t len,
		 uint64_t off);
/* Sends everything queued and waits for it; returns the first kept error. */
int wb_drain(struct smb2_client *c, struct smb2_file *f);
/* wb_drain for every open file of ours on smbpath (before a path-based
 * stat, truncate or times change, or a read through another handle).
 * This, wb_drain_below and wb_settle_file return at once while no open
 * file has write-behind. */
int wb_drain_path(struct smb2_client *c, const char *smbpath);
/* The same for every open file of ours strictly below the directory dir
 * (before its rename closes their handles), in one run. */
int wb_drain_below(struct smb2_client *c, const char *dir);
bool wb_pending(struct smb2_file *f);
/* Before another handle's write or any handle's read of f's file: sends
 * what our handles on that file queued (f's own too if include_self). */
int wb_settle_file(struct smb2_client *c, struct smb2_file *f, bool include_self);
/* wb_drain_path for a POSIX path, cheap when nothing is queued anywhere:
 * called first by the path operations whose result queued writes change
 * (stat's size, truncate, times). */
int wb_settle_path(struct smb2_client *c, const char *posix_path);
/* A thread that sends data queued longer than a second (started after the
 * first connect, stopped before teardown). */
int wb_flusher_start(struct smb2_client *c);
void wb_flusher_stop(struct smb2_client *c);
/* reconnect, before the old connection goes: collect what is in flight;
 * whatever was not acknowledged is sent again on the new one. */
void wb_conn_lost(struct smb2_client *c);

/* lease.c (see its top comment) */
void lease_init(struct smb2_client *c);
void lease_destroy(struct smb2_client *c);
int lease_worker_start(struct smb2_client *c);
void lease_worker_stop(struct smb2_client *c);
/* The lease record for an open of smbpath (shared with our other handles
 * on it), referenced; NULL when leasing is off.  lease_drop at close. */
struct smb2_lease *lease_hold(struct smb2_client *c, const char *smbpath);
void lease_drop(struct smb2_client *c, struct smb2_lease *l);
/* Fills *ask for a CREATE; false when this connection has no leases. */
bool lease_request(struct smb2_client *c, struct smb2_lease *l, struct lease_ask *ask);
/* Records the CREATE reply's lease (got NULL: none granted) for a new
 * handle (or a reopen: new_handle false), and the file's size and times
 * the reply shows (cr; NULL: not recorded).  Returns whether the kernel's
 * cached pages of the file are still valid. */
bool lease_granted(struct smb2_client *c, struct smb2_lease *l, const struct lease_ask *ask,
		   const struct smb2_lease_ctx *got, const struct smb2_create_rsp *cr,
		   bool new_handle);
/* The lease lets a closed handle stay open (R and H). */
bool lease_caches_handle(struct smb2_client *c, struct smb2_lease *l);
/* A handle that was granted is about to be closed: with the last one the
 * server ends the lease, so opens in flight cannot count on it. */
void lease_closing(struct smb2_client *c, struct smb2_lease *l);
/* The name smbpath now leads to another file (unlinked, replaced). */
void lease_forget_path(struct smb2_client *c, const char *smbpath);
void leases_renamed(struct smb2_client *c, const char *from, const char *to);
/* The connection's notify callback (server-initiated messages). */
void lease_notify(void *arg, const uint8_t *msg, size_t len);
/* reconnect, with the client lock held for writing: every lease is gone. */
void leases_conn_lost(struct smb2_client *c);

/* locks.c (see its top comment) */
struct lk_owner;
void locks_init(struct smb2_client *c);
void locks_destroy(struct smb2_client *c);
/* f is closing: its locks go with it on the server; true when it held any. */
bool locks_file_closing(struct smb2_client *c, struct smb2_file *f);
/* reconnect, with the client lock held for writing, before the old
 * connection goes: ends the blocking LOCKs waiting on it (they start over). */
void locks_conn_lost(struct smb2_client *c);
/* files_reopen_all, after f was reopened by name (not after a durable
 * reclaim, which kept them): takes its locks again. */
void locks_reopened(struct smb2_client *c, struct smb2_file *f);
/* An O_APPEND write through f: waits for the file's append lock (one
 * byte past every POSIX range, exclusive) and gives it back after. */
int locks_append_begin(struct smb2_client *c, struct smb2_file *f);
void locks_append_end(struct smb2_client *c, struct smb2_file *f);

/* notify.c (see its top comment) */
#define NOTIFY_MAX 32
struct smb2_watch;
void notify_init(struct smb2_client *c);
/* Stops the watcher thread (closing the watches it can first). */
void notify_stop(struct smb2_client *c);
/* reconnect (client lock held for writing, before the old connection
 * goes) and destroy: ends every outstanding CHANGE_NOTIFY (the connection
 * is killed for it); the watches are opened again on the next one. */
void notify_conn_lost(struct smb2_client *c);
/* client_free: frees the watches (notify_conn_lost first). */
void notify_destroy(struct smb2_client *c);
/* Before our own rename or removal of smbdir: closes the watches at and
 * below it (outside client_run: it waits for the watcher thread). */
void notify_close_below(struct smb2_client *c, const char *smbdir);

/* reconnect.c */
/* Runs op(c, arg) with the read lock held, reconnecting and retrying when
 * the failure was the connection's or the session's, not the operation's.
 * hard: waits for the server for as long as it takes; soft: -EIO once it
 * has not answered for 2 x echo_interval; both: -EINTR when the caller is
 * interrupted while waiting. */
int client_run(struct smb2_client *c, int (*op)(struct smb2_client *c, void *arg), void *arg);
/* Whether the thread's caller was interrupted (smb2_client_set_intr), or
 * the client is being destroyed; the connection's interrupt check. */
bool client_interrupted(void *client);

/* request.c: request building and the common reply checks */
/* Starts a request: writes a 64-byte header for cmd with the client's
 * session and tree ids. */
void req_start(struct smb2_client *c, struct wbuf *w, uint16_t cmd);
/* Sends, waits, and maps the outcome: returns 0 with *rep when the status is
 * STATUS_SUCCESS or ok2 (0 = none), otherwise frees the reply and returns
 * -errno.  *status_out (may be NULL) gets the NT status of any reply.
 * enc is what the body's encoder returned: a failed encoding (or a buffer
 * in error) is never sent; its errno is returned.  Frees w. */
int req_call(struct smb2_client *c, struct wbuf *w, int enc, size_t payload,
	     struct smb2_reply *rep, uint32_t ok2, uint32_t *status_out);
/* The mapping req_call applies to what smb2_conn_call / smb2_conn_wait
 * returned (r) and the reply, for callers that send requests themselves. */
int req_result(struct smb2_client *c, int r, struct smb2_reply *rep, uint32_t ok2,
	       uint32_t *status_out);
/* Errors that mean "the connection or session is gone, retry after
 * reconnect" rather than "the operation failed". */
bool err_is_transport(int err);
#define ERR_SESSION_GONE (-10001) /* internal: session deleted or tree gone */
#define ERR_SESSION_EXPIRED (-10002) /* internal: log in again on the same session */

/* request.c: POSIX path -> share-relative SMB path (the mount's prefix
 * directory first, '/' -> '\\', no leading separator, names mapped as
 * the mount's mapposix says, the limits over the whole path) in *out
 * (malloc'ed).  -EILSEQ for a path that is not UTF-8 (it has no SMB form),
 * -ENAMETOOLONG, -EINVAL (nomapposix) for names SMB would read differently
 * ('\\', ':'), -ENOMEM: sfm_path_to_smb (smb2fs/sfm.h). */
int smb_path(const struct smb2_client *c, const char *posix_path, char **out);

/* files: open with a CREATE, close */
/* The CREATE request every open of ours sends (no oplock, share all). */
void file_create_req(struct smb2_create_req *q, const char *smbpath, uint32_t access,
		     uint32_t disposition, uint32_t options, uint32_t attrs);
int file_create(struct smb2_client *c, const char *smbpath, uint32_t access, uint32_t disposition,
		uint32_t options, uint32_t attrs, struct smb2_fileid *id, struct smb2_create_rsp *out);
int file_close_id(struct smb2_client *c, const struct smb2_fileid *id);
/* file_create that also asks for the file's identity (NULL: do not). */
int file_create_ident(struct smb2_client *c, const char *smbpath, uint32_t access,
		      uint32_t disposition, uint32_t options, uint32_t attrs, struct smb2_fileid *id,
		      struct smb2_create_rsp *out, struct file_identity *ident);
/* A durable v2 handle (3.x) asked for (DH2Q) or reclaimed (DH2C) by a
 * CREATE (fileid.c, file_create_durable). */
struct durable_ask {
	bool reclaim;          /* DH2C for `old` instead of DH2Q (no QFid then) */
	bool replay;           /* sent again after a lost connection: the
				* header's SMB2_FLAGS_REPLAY_OPERATION */
	struct smb2_fileid old;
	uint8_t guid[16];      /* the open's CreateGuid */
	uint32_t timeout_ms;   /* DH2Q: asked (0: the server's default) */
	bool granted;          /* out: the open is durable */
	uint32_t granted_timeout_ms;
};
/* file_create_leased with a durable handle (dh NULL: none). */
int file_create_durable(struct smb2_client *c, const char *smbpath, uint32_t access,
			uint32_t disposition, uint32_t options, uint32_t attrs, struct smb2_fileid *id,
			struct smb2_create_rsp *out, struct file_identity *ident,
			const struct lease_ask *ask, struct smb2_lease_ctx *got, struct durable_ask *dh);
/* file_create_ident that also asks for a lease (ask NULL: none); *got
 * receives the lease the reply granted, or state 0 when none. */
int file_create_leased(struct smb2_client *c, const char *smbpath, uint32_t access,
		       uint32_t disposition, uint32_t options, uint32_t attrs, struct smb2_fileid *id,
		       struct smb2_create_rsp *out, struct file_identity *ident,
		       const struct lease_ask *ask, struct smb2_lease_ctx *got);
/* A QFid create context of a CREATE reply into *(struct file_identity *)arg
 * (a smb2_create_contexts_walk callback). */
int file_take_qfid(const struct smb2_create_context *cc, void *arg);
/* The lease a CREATE reply (with its contexts) granted to ask's key, into
 * *got (state 0: none, or not our key).  -EIO: malformed contexts. */
int file_reply_lease(const struct smb2_create_rsp *cr, const struct lease_ask *ask,
		     struct smb2_lease_ctx *got);
/* SET_INFO of a prebuilt buffer on an open file, reconnect-safe; frees data.
 * built is the builder's result: a failed build is not sent. */
int file_handle_set_info(struct smb2_client *c, struct smb2_file *f, uint8_t cls, struct wbuf *data,
			 int built);
/* Copies the FileId of an open handle on smbpath that can write (prefer,
 * when it can, else any on the list; never a stale one).  false: none.
 * Called inside client_run, so the id stays valid for this run. */
bool files_writer_id(struct smb2_client *c, const char *smbpath, struct smb2_file *prefer,
		     struct smb2_fileid *id);
/* After a SET_INFO through the open handle id: it set LastWriteTime
 * (mtime_set), or it changed the data (end of file). */
void files_note_id(struct smb2_client *c, const struct smb2_fileid *id, bool mtime_set);
/* After a successful rename: open files at or below `from` now live at
 * `to` (SMB paths).  Called with the client lock held for reading. */
void files_renamed(struct smb2_client *c, const char *from, const char *to);
/* handles.c, the open-file table (the rest of its API is above and in
 * client.h: smb2_open / smb2_close, files_writer_id, files_note_id,
 * files_renamed). */
/* Data was written (or the size set) through f: the times bookkeeping. */
void files_wrote(struct smb2_client *c, struct smb2_file *f);
/* After a reconnect (client lock held for writing): reopens every open
 * file with its first access; one that is gone or became another file is
 * marked stale.  Returns a transport error to start over, else 0. */
int files_reopen_all(struct smb2_client *c);
/* Deferred closes (handles.c): close now the deferred handles of lease l
 * (it was broken), at or below smbpath (before we remove or rename it),
 * or deferred for longer than the limit.  Take the client lock themselves. */
void files_close_deferred_lease(struct smb2_client *c, const struct smb2_lease *l);
void files_close_deferred_below(struct smb2_client *c, const char *smbpath);
void files_close_deferred_expired(struct smb2_client *c);
/* Whether a handle of ours that FUSE has not closed is open on smbpath
 * (deferred and stale ones do not count). */
bool files_open_at(struct smb2_client *c, const char *smbpath);
/* Copies (id may be NULL) the FileId of the first handle on smbpath that
 * pred accepts (called under files_mu); false: none.  Inside client_run
 * the id stays valid for that run (a handle closed meanwhile answers
 * STATUS_FILE_CLOSED). */
bool files_find_id(struct smb2_client *c, const char *smbpath,
		   bool (*pred)(const struct smb2_file *f), struct smb2_fileid *id);
/* The handles on smbpath belong to an unlinked file: close them for real. */
void files_mark_unlinked(struct smb2_client *c, const char *smbpath);
/* Runs op (a rename of dir, through client_run) with every handle of ours
 * below dir closed around it: Samba refuses to rename a directory with
 * open files below.  Queued writes go out first; the handles are reopened
 * under their new paths (files_renamed, in op) as after a reconnect. */
int files_move_below(struct smb2_client *c, const char *dir,
		     int (*op)(struct smb2_client *c, void *arg), void *arg);
/* pathops.c, for unlinked.c: renames path (POSIX) to target (SMB path)
 * and marks it delete-on-close there, on the same handle in one compound.
 * Returns the rename's outcome; *del_r and *del_status the disposition's
 * (which the server applies also when the rename failed: the file is then
 * delete-pending under its own name). */
int path_rename_delete(struct smb2_client *c, const char *path, const char *target, int *del_r,
		       uint32_t *del_status);
/* unlinked.c: at destroy, forgets the unlinked files' names. */
void unlinked_free_all(struct smb2_client *c);
/* unlinked.c: a handle of an unlinked file (smbpath, its reserved name)
 * was closed and is off the list. */
void unlinked_closed(struct smb2_client *c, const char *smbpath);
/* At destroy: frees every handle still open (CLOSE first if send_close). */
void files_close_all(struct smb2_client *c, bool send_close);
/* Calls fn for each open file under files_mu until fn returns false. */
void files_each(struct smb2_client *c, bool (*fn)(struct smb2_client *c, struct smb2_file *f, void *arg),
		void *arg);
void fill_stat_from_create(const struct smb2_create_rsp *r, struct fscc_stat *st);
/* Access rights a handle opened with these POSIX flags needs; a reopen
 * after reconnect asks for exactly what the first open did. */
uint32_t file_access_for_flags(int flags);
/* QUERY_INFO / SET_INFO of one information class on an open handle.
 * On success *buf points into *rep, which the caller frees. */
int file_query_info(struct smb2_client *c, const struct smb2_fileid *id, uint8_t info_type,
		    uint8_t cls, uint32_t out_len, struct smb2_reply *rep, const uint8_t **buf,
		    uint32_t *buf_len);
int file_set_info(struct smb2_client *c, const struct smb2_fileid *id, uint8_t cls,
		  const struct wbuf *data);

/* compound.c: several requests in one frame (MS-SMB2 3.2.4.1.4).  A
 * related message (SMB2_FLAGS_RELATED_OPERATIONS) acts on the handle the
 * message before it opened or named: it carries SMB2_FILEID_RELATED. */
#define SMB2_FILEID_RELATED ((struct smb2_fileid){UINT64_MAX, UINT64_MAX})

struct cmpd_msg {
	struct wbuf w;
	size_t payload;        /* READ/QUERY size, for the CreditCharge */
	uint32_t ok2;          /* a second status that counts as success (0: none) */
	/* after cmpd_run: r as req_call maps it, rep valid when r == 0 */
	int r;
	uint32_t status;       /* the reply's NT status; 0 when none came */
	struct smb2_reply rep;
};

struct cmpd {
	struct smb2_client *c;
	unsigned n;
	int err;               /* first failed encoding: nothing is sent */
	struct cmpd_msg m[SMB2_CHAIN_MAX];
	struct wbuf spare;     /* handed out past SMB2_CHAIN_MAX */
};

void cmpd_init(struct cmpd *k, struct smb2_client *c);
/* Appends a message for cmd with the client's ids (related: flag set) and
 * returns the buffer to encode its body into; then cmpd_enc(k, encoder's
 * result).  Past SMB2_CHAIN_MAX it returns a spare buffer and the chain
 * fails with -E2BIG. */
struct wbuf *cmpd_add(struct cmpd *k, uint16_t cmd, bool related, size_t payload, uint32_t ok2);
void cmpd_enc(struct cmpd *k, int enc);
/* Sends the chain as one frame and waits for every reply.  Returns the
 * encoding error (nothing sent), or a transport error when the chain could
 * not be sent; otherwise 0, and each m[i].r tells that message's fate (a
 * transport error there: its reply was lost). */
int cmpd_run(struct cmpd *k);
/* cmpd_run in two steps, so several chains can be in flight at once:
 * submit (q gets SMB2_CHAIN_MAX request objects; the result as cmpd_run's
 * before any wait), then collect every reply (only after a 0 submit). */
int cmpd_submit(struct cmpd *k, struct smb2_req **q);
void cmpd_collect(struct cmpd *k, struct smb2_req **q);
/* Frees the buffers and the replies still held. */
void cmpd_free(struct cmpd *k);

/* A path operation in one round trip: CREATE of a path, related acts on the
 * new handle, and CLOSE (or not: then the caller gets the FileId). */
struct pchain {
	struct cmpd k;
	unsigned n_acts;
	struct smb2_create_rsp cr;  /* after pchain_run returned 0; no contexts */
	bool closed_attrs;          /* CLOSE had POSTQUERY_ATTRIB and the server filled it */
	struct fscc_stat after;     /* ... the attributes at close */
};
void pchain_start(struct pchain *p, struct smb2_client *c, const char *smbpath, uint32_t access,
		  uint32_t disposition, uint32_t options, uint32_t attrs);
/* pchain_start with a CREATE the caller built (file_create_req, then its
 * create contexts and oplock level: QFid, a lease). */
void pchain_start_req(struct pchain *p, struct smb2_client *c, const struct smb2_create_req *q);
/* After pchain_run returned 0: the CREATE reply with its contexts (valid
 * until pchain_free). */
int pchain_create_rsp(struct pchain *p, struct smb2_create_rsp *cr);
/* Appends a related act; encode its body with file_id SMB2_FILEID_RELATED,
 * then cmpd_enc(&p->k, result). */
struct wbuf *pchain_act(struct pchain *p, uint16_t cmd, size_t payload, uint32_t ok2);
/* SET_INFO (type, class, AdditionalInformation) of d's bytes on id; built
 * is what the encoder that filled d returned: a failed build, or a buffer
 * too long for the field, fails the compound instead of going out. */
void cmpd_set_info(struct cmpd *k, bool related, const struct smb2_fileid *id, uint8_t type,
		   uint8_t cls, uint32_t addl, const struct wbuf *d, int built);
/* The same as the chain's next act, on the CREATE's handle. */
void pchain_set_info(struct pchain *p, uint8_t type, uint8_t cls, uint32_t addl,
		     const struct wbuf *d, int built);
/* Act i's outcome (r, status, rep) after pchain_run. */
struct cmpd_msg *pchain_result(struct pchain *p, unsigned i);
/* Appends CLOSE when close (with close_flags: SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB
 * fills p->after), sends, waits.  Returns:
 *  - the CREATE's error when it failed (the related acts fail with it);
 *  - a transport error (rerun the chain) when the CREATE's or an act's reply
 *    was lost; a lost CLOSE reply is no error (the server closes the
 *    handles of a dropped connection itself);
 *  - -EIO for a malformed CREATE reply;
 *  - 0: the CREATE succeeded; the acts' outcomes are in pchain_result.
 * A CLOSE that failed otherwise is sent again on the real FileId. */
int pchain_run(struct pchain *p, bool close, uint16_t close_flags);
void pchain_free(struct pchain *p);

/* security.c: the QUERY_INFO of a file's descriptor (OWNER, GROUP, DACL)
 * on id (SMB2_FILEID_RELATED in a chain), and its reply into st's POSIX
 * view (sd_asked set; the has_* flags say what it told).  sec_take
 * returns 0 or a transport error; a server refusing the query turns
 * descriptors off for the mount. */
void sec_add_query(struct cmpd *k, bool related, const struct smb2_fileid *id);
/* links.c: a related QUERY_INFO of FileStandardInformation appended to a
 * chain (not counted as a pchain act), and the link count its reply gives
 * (0: none). */
void link_add_query_std(struct cmpd *k);
uint32_t link_take_std(const struct cmpd_msg *m);
int sec_take(struct smb2_client *c, const struct cmpd_msg *m, struct fscc_stat *st);
/* fileops.c: the attributes of an open FileId (FileNetworkOpenInformation),
 * with its descriptor in the same frame when sd and the mount maps them
 * (sec_stat_id); inside client_run. */
int file_stat_id(struct smb2_client *c, const struct smb2_fileid *id, bool sd, struct fscc_stat *st);
/* security.c: attributes and descriptor of an open FileId in one frame
 * (inside client_run; st cleared first). */
int sec_stat_id(struct smb2_client *c, const struct smb2_fileid *id, struct fscc_stat *st);

#endif

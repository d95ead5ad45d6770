/* The client API the filesystem layer calls, from many threads at once.
 *
 * One smb2_client is one server connection with one session and one tree
 * (the mounted share).  It reconnects by itself: when the connection drops or
 * the session expires, the next call re-negotiates, re-authenticates,
 * re-connects the tree and reopens open files, then retries the operation.
 *
 * Paths are POSIX-style, relative to the share root ("/", "/dir/file"), or
 * to the directory inside it the config names (prefix): the client puts
 * that before every path, converts separators and (mapposix) names SMB
 * cannot store,
 * and maps listed names back.  Every function returns 0 (or a byte
 * count) on success and a negative errno on failure, mapped from the NT
 * status through nt_status_err() plus per-operation overrides. */
#ifndef SMB2FS_CLIENT_H
#define SMB2FS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "smb2fs/fscc.h"

struct smb2_client;
struct smb2_file;

struct smb2_config {
	const char *server;       /* host name or address */
	const char *share;        /* share name */
	const char *prefix;       /* the directory inside the share the mount shows
				   * ("sub/dir", '/'-separated; mount.cifs's prefix
				   * path), or NULL for the share root: every path
				   * below is relative to it */
	uint16_t port;            /* 0 = 445 */
	const char *user;
	const char *domain;       /* may be NULL or "" */
	const char *password;     /* may be NULL (then empty) */
	bool guest;               /* sec=none: an anonymous (guest) login */
	bool krb5;                /* sec=krb5: Kerberos instead of NTLM (no password) */
	const char *krb5_ccache;  /* ccache to take tickets from; NULL: KRB5CCNAME or
				   * the default */
	const char *krb5_keytab;  /* client keytab instead, for the principal `user` */
	const char *spn;          /* service principal; NULL: cifs/<server> */
	uint16_t min_dialect;     /* 0 = SMB2_DIALECT_202 */
	uint16_t max_dialect;     /* 0 = SMB2_DIALECT_311 */
	bool require_signing;     /* `sign`: fail unless every message can be signed (guest too) */
	bool no_signing;          /* `nosign`: sign only when the server requires it.
				   * Neither: every authenticated session signs. */
	bool seal;                /* `seal`: encrypt every message (SMB 3.x), or fail */
	bool debug;               /* one log line per request and reply */
	unsigned timeout_sec;     /* per request; 0 = 30 */
	unsigned echo_interval;   /* seconds between ECHOs to a quiet server, which
				   * is declared dead after twice this; 0 = 10 */
	bool soft;                /* `soft`: operations fail with EIO once the server
				   * has not answered for 2 x echo_interval; default
				   * (`hard`): they wait for it to come back, and
				   * only an interrupt (smb2_client_set_intr) ends
				   * the wait, with EINTR */
	unsigned connect_timeout_sec; /* 0 = 10 */
	bool no_write_behind;     /* cache=none: every write waits for the server */
	bool no_leases;           /* cache=none: ask for no leases */
	unsigned close_timeout_ms; /* deferred close under a lease; 0 = none */
	bool read_for_write;      /* cache=loose: open O_WRONLY with read access too
				   * (the kernel's writeback cache reads partial pages);
				   * without it when the server refuses */
	bool no_cifsacl;          /* `nocifsacl`: never ask for security descriptors
				   * (stat has no POSIX view, chmod/chown only
				   * toggle FILE_ATTRIBUTE_READONLY) */
	bool no_mapposix;         /* `nomapposix`: names go out as they are, and those
				   * SMB cannot store are refused; default: the SFM
				   * private-use mapping both ways (smb2fs/sfm.h) */
	uint32_t rsize, wsize;    /* `rsize=`/`wsize=`: caps on the negotiated READ and
				   * WRITE sizes (rounded down to 4 KiB); 0 = none */
};

/* Connects, negotiates, logs in and connects the tree.  On failure returns a
 * negative errno and writes one human-readable line (no "smb2fs: " prefix,
 * no newline) into errmsg, e.g.
 *   cannot connect to \\srv\share: share does not exist on the server (STATUS_BAD_NETWORK_NAME)
 * The config is copied, except the password: only its NT hash is kept (for
 * reconnects) and wiped on destroy.
 * What this first session establishes (dialect, ServerGuid, signing, not
 * guest) is the floor every reconnect must meet (client_i.h). */
int smb2_client_connect(const struct smb2_config *cfg, struct smb2_client **out,
			char *errmsg, size_t errlen);
/* Closes every open file, disconnects the tree, logs off, frees. */
void smb2_client_destroy(struct smb2_client *c);

/* Negotiated limits (bytes) for sizing FUSE max_read / max_write. */
uint32_t smb2_client_max_read(const struct smb2_client *c);
/* The mount's statistics as text (docs/stats.md: lines of "key: value")
 * into buf, NUL-terminated.  Returns its length without the NUL, or
 * -ERANGE when len is too small (8 KiB always does).  Takes no lock a
 * reconnect holds: it answers at once, whatever the connection does. */
#define SMB2_STATS_TEXT_MAX 8192
int smb2_client_stats(struct smb2_client *c, char *buf, size_t len);
uint32_t smb2_client_max_write(const struct smb2_client *c);

/* Opens or creates.  flags are POSIX open flags (O_RDONLY/O_WRONLY/O_RDWR,
 * O_CREAT, O_EXCL, O_TRUNC, O_DIRECTORY); st (may be NULL) receives the
 * attributes from the CREATE reply. */
int smb2_open(struct smb2_client *c, const char *path, int flags, struct smb2_file **out,
	      struct fscc_stat *st);
/* Closes and frees f (also when the close fails on the wire).  A
 * read-only handle under a read+handle lease stays open on the server for
 * closetimeo, so the lease (and the kernel's pages) last until the next
 * open of the file. */
int smb2_close(struct smb2_client *c, struct smb2_file *f);
ssize_t smb2_pread(struct smb2_client *c, struct smb2_file *f, void *buf, size_t len, uint64_t off);
ssize_t smb2_pwrite(struct smb2_client *c, struct smb2_file *f, const void *buf, size_t len,
		    uint64_t off);
/* smb2_pwrite with the data taken from fill: called for consecutive pieces
 * in order, each byte once (copy the next n bytes into dst; 0 or -errno),
 * so queued data goes straight into write-behind's own buffers (a FUSE
 * write that arrived in a pipe is copied once). */
typedef int (*smb2_fill_fn)(void *arg, void *dst, size_t n);
ssize_t smb2_pwrite_fill(struct smb2_client *c, struct smb2_file *f, size_t len, uint64_t off,
			 smb2_fill_fn fill, void *arg);
/* Writes are queued (write-behind, unless the handle is O_SYNC/O_DIRECT
 * or the mount says cache=none): smb2_pwrite returns once the data is
 * queued, and an error of queued data is returned by the next pwrite,
 * smb2_flush, smb2_fsync or smb2_close of that handle. */
/* Sends what is queued and waits for it (close(2) -> FUSE flush). */
int smb2_flush(struct smb2_client *c, struct smb2_file *f);
/* smb2_flush, then FLUSH; 0 without a request on a handle that cannot write. */
int smb2_fsync(struct smb2_client *c, struct smb2_file *f);
int smb2_fstat(struct smb2_client *c, struct smb2_file *f, struct fscc_stat *st);
int smb2_ftruncate(struct smb2_client *c, struct smb2_file *f, uint64_t size);

/* Attributes an operation learned on the way, without a request of its
 * own (a CREATE or CLOSE reply, a QUERY_INFO compounded after a SET_INFO):
 * valid says whether it did. */
struct smb2_attrs {
	bool valid;
	struct fscc_stat st;
};

/* Path operations are one compound each (CREATE + act + CLOSE: one round
 * trip); a listing that fits two QUERY_DIRECTORY replies too. */
int smb2_stat(struct smb2_client *c, const char *path, struct fscc_stat *st);
/* Lists a directory ("." and ".." are passed through as the server sends them). */
int smb2_readdir(struct smb2_client *c, const char *path,
		 int (*cb)(const struct fscc_dirent *e, void *arg), void *arg);
/* st (may be NULL): the new directory's attributes. */
int smb2_mkdir(struct smb2_client *c, const char *path, struct smb2_attrs *st);
int smb2_rmdir(struct smb2_client *c, const char *path);
int smb2_unlink(struct smb2_client *c, const char *path);
/* Replaces an existing target when replace is true (POSIX rename). */
int smb2_rename(struct smb2_client *c, const char *from, const char *to, bool replace);
/* truncate and set_times act through a handle of ours that can write to
 * the path when one is open (f first, may be NULL), else open their own. */
/* after (may be NULL): the attributes the change left, when known. */
int smb2_truncate(struct smb2_client *c, const char *path, uint64_t size, struct smb2_attrs *after);
/* FILETIME values; 0 leaves a time unchanged.  A write through the same
 * handle after an explicit mtime sets mtime to the write's time again at
 * close (POSIX; the server stops stamping that handle's writes). */
int smb2_set_times(struct smb2_client *c, const char *path, struct smb2_file *f,
		   uint64_t atime, uint64_t mtime, struct smb2_attrs *after);
int smb2_statfs(struct smb2_client *c, struct fscc_fs_full_size *out);

/* Modes and owners (security.c).  While descriptors are on (the default;
 * config no_cifsacl turns them off) smb2_stat and smb2_mkdir read the
 * file's security descriptor in their compound and fill the POSIX view of
 * struct fscc_stat (sd_asked, has_mode/uid/gid); a server that refuses
 * security queries turns them off for the mount, once. */
bool smb2_sd_active(struct smb2_client *c);
/* smb2_fstat, and while descriptors are on the file's descriptor through
 * the same handle in the same frame. */
int smb2_fstat_sd(struct smb2_client *c, struct smb2_file *f, struct fscc_stat *st);
/* After a create through f (path): the new file's attributes and
 * descriptor through f (one frame), and when the server gave another mode
 * than mode, that chmod in one more frame.  st: the attributes now (with
 * the descriptor's view); *changed: the chmod was made.  -ENODATA when
 * descriptors are off. */
int smb2_created_mode(struct smb2_client *c, const char *path, struct smb2_file *f, unsigned mode,
		      struct fscc_stat *st, bool *changed);
/* smb2_stat of names in the directory dir (a listing's entries, for their
 * descriptors), up to 16 compounds in flight at once: res[i] gets the
 * result for names[i] and st[i] its attributes.  Returns 0, or an error
 * that failed them all. */
int smb2_stat_many(struct smb2_client *c, const char *dir, const char *const *names, size_t n,
		   struct fscc_stat *st, int *res);
/* mode's rwx bits as the file's DACL (owner, group and Everyone ACEs, the
 * others kept) while descriptors are on; and on a file (not a directory)
 * FILE_ATTRIBUTE_READONLY set when mode has no write bit, cleared when it
 * has one.  f (may be NULL): a handle of ours on the file, whose lease key
 * the chmod's own open uses, so it breaks none of our caching.  -EPERM
 * when the server refuses. */
int smb2_chmod(struct smb2_client *c, const char *path, struct smb2_file *f, unsigned mode,
	       struct smb2_attrs *after);
/* Owner and/or group (UINT32_MAX: unchanged) as Samba's Unix SIDs
 * (S-1-22-1-uid, S-1-22-2-gid); 0 without a request when descriptors are
 * off.  A change the server refuses is accepted and ignored (after->valid
 * false; logged once), so tar and cp -p as root do not fail. */
int smb2_chown(struct smb2_client *c, const char *path, uint32_t uid, uint32_t gid,
	       struct smb2_attrs *after);

/* Links and special files (links.c).  smb2_stat also fills nlink
 * (FileStandardInformation in its compound) and file_id (a QFid create
 * context, as smb2_mkdir). */
/* The server's file id of an open file (its QFid, asked for at open:
 * handles.c), 0 when the server gave none. */
uint64_t smb2_file_server_id(struct smb2_file *f);
/* The first len (at most 64 KiB) bytes of the file at path: CREATE + READ
 * + CLOSE in one round trip.  Returns the count (less at the end). */
ssize_t smb2_read_head(struct smb2_client *c, const char *path, void *buf, size_t len);
/* A new file (FILE_CREATE: -EEXIST when the name exists) holding data
 * (len bytes, at most 64 KiB), with attrs (e.g. FILE_ATTRIBUTE_SYSTEM):
 * CREATE + WRITE + CLOSE in one round trip; a file made but not written
 * is removed again.  after (may be NULL): its attributes at close. */
int smb2_create_with(struct smb2_client *c, const char *path, const void *data, size_t len,
		     uint32_t attrs, struct smb2_attrs *after);
/* A hard link: to becomes another name of from's file
 * (FileLinkInformation); -EEXIST when to exists. */
int smb2_link(struct smb2_client *c, const char *from, const char *to);
/* The target of a symlink the server keeps as a reparse point
 * (IO_REPARSE_TAG_SYMLINK; Windows): CREATE (FILE_OPEN_REPARSE_POINT) +
 * FSCTL_GET_REPARSE_POINT + CLOSE.  *target: malloc'ed POSIX form ('/').
 * -EINVAL: not a symlink reparse point. */
int smb2_read_reparse_link(struct smb2_client *c, const char *path, char **target);

/* Extended attributes (xattr.c): the SMB EAs (FileFullEaInformation) of
 * a file or directory.  name is the EA name (ASCII, 1-255 bytes; servers
 * compare names case-insensitively). */
/* The value into buf (size 0: only its length); -ENODATA when there is
 * none, -ERANGE when size is too small. */
ssize_t smb2_get_ea(struct smb2_client *c, const char *path, const char *name, void *buf,
		    size_t size);
/* cb for every EA's name (not NUL-terminated); a non-zero cb result stops
 * and is returned. */
int smb2_list_ea(struct smb2_client *c, const char *path,
		 int (*cb)(const char *name, size_t name_len, void *arg), void *arg);
/* Sets an EA (value up to 65535 bytes); len 0 removes it. */
int smb2_set_ea(struct smb2_client *c, const char *path, const char *name, const void *value,
		size_t len);

/* Leases (SMB 2.1+; off with cache=none): fn is called, from a thread of
 * the client's with no lock held, when the server takes caching of the
 * file at path (POSIX form) away from us, or a reconnect lost it: lost has
 * SMB2_LEASE_READ_CACHING (the kernel's pages and cached attributes of
 * the file may be stale: drop them) and/or SMB2_LEASE_WRITE_CACHING
 * (another client wants the data: a kernel writeback cache must send its
 * dirty pages now; the client sends what it queued itself after fn
 * returns).  fn NULL uninstalls; it waits for a call in progress. */
typedef void (*smb2_lease_cb)(void *arg, const char *path, uint32_t lost);
void smb2_client_set_lease_cb(struct smb2_client *c, smb2_lease_cb fn, void *arg);
/* Change notify (client/notify.c): fn is called, from the client's
 * watcher thread with no lock held, when another client (or we) changed
 * the watched directory dir (POSIX form): name (in dir) and action a
 * FILE_ACTION_* of fscc.h (added, removed, modified, renamed from, renamed
 * to); or name NULL and action SMB2_NOTIFY_ANY when anything in dir may
 * have changed (the server's overflow, the directory gone, a reconnect),
 * or SMB2_NOTIFY_WATCHED when the watch was just made (names that
 * appeared in dir before it are not reported).  Installing fn starts the
 * watcher; NULL uninstalls (waits for a call in progress; the watches
 * stay until destroy).  A watch lasts ttl_sec after it was last asked
 * for. */
#define SMB2_NOTIFY_ANY 0u
#define SMB2_NOTIFY_WATCHED 0x100u
typedef void (*smb2_notify_cb)(void *arg, const char *dir, const char *name, uint32_t action);
void smb2_client_set_notify_cb(struct smb2_client *c, smb2_notify_cb fn, void *arg,
			       unsigned ttl_sec);
/* Asks for the directory posix_dir to be watched (at most 32, the least
 * recently asked for closed first); cheap, never waits for the server:
 * the watcher thread makes the watch.  No-op without a callback. */
void smb2_notify_watch(struct smb2_client *c, const char *posix_dir);
/* A handle of ours (open, or closed and kept: closetimeo) holds a read
 * lease on the file at path (POSIX form): nobody else can change its data
 * or size until a break, which the lease callback reports. */
bool smb2_path_read_leased(struct smb2_client *c, const char *path);
/* Files unlinked while open wait for their last close under this name
 * prefix in the mount's root ("/", so the share root or the prefix
 * directory); such names are left out of the root's listing, and a lookup
 * of one is answered ENOENT. */
#define SMB2_UNLINKED_PREFIX ".smb2fs-deleted-"
bool smb2_path_reserved(const char *path);
/* Unlink of a file this mount has open (libfuse hides it under key, a
 * name of its own): the file moves to a reserved name at the share root
 * and is deleted by the server when our last handle on it closes; the
 * name and its directory are free at once.  With no handle of ours open
 * on it, a plain unlink. */
int smb2_unlink_open(struct smb2_client *c, const char *path, const char *key);
/* Attributes of the unlinked file known by key, through a handle of ours
 * (its name can no longer be opened): -ENOENT when key is no such file. */
int smb2_unlinked_stat(struct smb2_client *c, const char *key, struct fscc_stat *st);
/* libfuse's unlink of key after the last close: true when key was such a
 * file (the server deletes it itself), which is forgotten. */
bool smb2_unlinked_forget(struct smb2_client *c, const char *key);
/* The kernel's cached pages of f's file were still valid when f opened:
 * a read lease has been held by another handle of ours since it opened. */
bool smb2_file_keep_cache(const struct smb2_file *f);

/* Whether f may READ: opened for reading, or O_WRONLY that got read access
 * through read_for_write. */
bool smb2_file_can_read(struct smb2_client *c, const struct smb2_file *f);
/* smb2_flush for every handle of ours on f's file; returns f's kept
 * failure, else one another handle kept (left for that handle to report
 * too).  The kernel's writeback cache sends a file's dirty pages through
 * whichever writing handle it picks, so closing or syncing one descriptor
 * has to wait for all of them. */
int smb2_flush_file(struct smb2_client *c, struct smb2_file *f);

/* Byte-range locks (locks.c), as SMB2 LOCK requests through f.  A
 * blocking lock asks the interrupt check below (smb2_client_set_intr)
 * every SMB2_INTR_LOOK_MS; interrupted, the request is cancelled
 * (-EINTR). */
typedef bool (*smb2_intr_fn)(void *arg);
/* The same question for every operation: asked (from the thread running
 * it) while it waits for a server that does not answer, or for the
 * reconnect; then the operation ends with -EINTR (a probe ECHO first
 * tells a slow server from a dead one: a slow one's reply is still
 * waited for).  Set once, before the operations start. */
void smb2_client_set_intr(struct smb2_client *c, smb2_intr_fn fn, void *arg);
/* fcntl record lock: type F_RDLCK, F_WRLCK or F_UNLCK of [start,
 * start+len) (len 0: to the end of the file) for the POSIX lock owner
 * (FUSE lock_owner); all of an owner's locks on a file are held through
 * the handle it first locked through.  wait: F_SETLKW (blocks until the
 * server grants it, or until the client's interrupt check
 * (smb2_client_set_intr) says the caller gave up: cancelled, -EINTR);
 * without it a conflict is -EAGAIN.  *stale (may be
 * NULL): after a lock was taken, whether the file's cached data and
 * attributes may be older than another client's writes (no write
 * caching lease): drop them. */
int smb2_lock(struct smb2_client *c, struct smb2_file *f, uint64_t owner, int type, uint64_t start,
	      uint64_t len, bool wait, bool *stale);
/* Whether owner (is_flock: f's flock) holds locks on f's file: an
 * unlock that finds none sends nothing (libfuse unlocks at every close). */
bool smb2_lock_held(struct smb2_client *c, struct smb2_file *f, uint64_t owner, bool is_flock);
/* F_GETLK: *type in, F_UNLCK out when nobody else holds a conflicting
 * lock, else the type of what holds it (tried through f and given back). */
int smb2_lock_test(struct smb2_client *c, struct smb2_file *f, int *type, uint64_t start,
		   uint64_t len);
/* flock(2) on the open file f: LOCK_SH, LOCK_EX, LOCK_UN, | LOCK_NB (a
 * blocking one ends as smb2_lock's). */
int smb2_flock(struct smb2_client *c, struct smb2_file *f, int op, bool *stale);

/* Space and server-side copy (space.c).  Each first sends what this
 * mount's handles queued for the files involved, so the server acts on
 * the data write() accepted.  mode is fallocate(2)'s: 0 (allocate; the
 * size grows to off+len), FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE |
 * FALLOC_FL_KEEP_SIZE (the file is made sparse, the range deallocated),
 * FALLOC_FL_ZERO_RANGE (with or without KEEP_SIZE); anything else is
 * -EOPNOTSUPP. */
int smb2_fallocate(struct smb2_client *c, struct smb2_file *f, int mode, uint64_t off,
		   uint64_t len);
/* lseek SEEK_DATA (hole false) / SEEK_HOLE (true) from off, from the
 * server's allocated ranges (a server without them: all data).  -ENXIO at
 * or past the end of file, or for SEEK_DATA with no data after off. */
int smb2_seek_data(struct smb2_client *c, struct smb2_file *f, uint64_t off, bool hole,
		   uint64_t *out);
/* Copies up to len bytes of in's file at off_in to out's at off_out on
 * the server (FSCTL_SRV_COPYCHUNK_WRITE): no file data crosses the
 * connection.  Stops at in's end of file; returns the bytes copied (a
 * failure after some were copied returns those), or -errno. */
ssize_t smb2_copy_range(struct smb2_client *c, struct smb2_file *in, uint64_t off_in,
			struct smb2_file *out, uint64_t off_out, uint64_t len);

#endif

/* The daemon's attribute and name cache (one per mount, owned by the fs
 * layer): what the server said about a path, positive (attributes) or
 * negative (no such name), kept for actimeo seconds.
 *
 * Key: the POSIX path as FUSE passes it ("/dir/name").  Entries are hashed
 * by a folded form of the path (ASCII letters lowered, bytes >= 0x80
 * dropped), so every name a case-insensitive server may treat as the same
 * one lands in one bucket: invalidating a path drops all of them (a
 * negative "FOO" goes when "foo" is created), while a lookup only answers
 * from an entry with exactly its path.
 *
 * Bounds: at most max_entries (least recently used evicted first); an
 * expired entry is dropped when met.
 *
 * Races: a fill (attributes read from the server) takes a ticket before
 * its request and is dropped when the path was invalidated after the
 * ticket, so a reply that left the server before a local change never
 * overwrites the change.  attrcache_set is a local mutation's own result:
 * it invalidates older fills and is stored unless someone else changed the
 * path meanwhile.  Thread-safe (one mutex); a NULL cache (actimeo=0)
 * caches nothing.
 *
 * Complete listings ("dir records"): the cache may also know every name in
 * a directory, from a listing taken at most ttl ago (a readdir, a listing
 * taken because lookups of missing names in the directory kept reaching
 * the server, or an empty directory we just made).  While such a record is
 * fresh, attrcache_get answers "no such name" (0) for a name of that
 * directory with no entry of its own when no name of the record folds to
 * the same name (so "A.txt" is asked of the server when "a.txt" exists).
 * Our own changes keep the record a superset of the directory:
 * attrcache_touch_parent (a create, removal or rename in the directory)
 * adds the name, attrcache_dir_remove takes a removed name out, a failed
 * change (attrcache_forget_parent) drops the record.  The time is the
 * listing's and is never extended by our changes: another client's new
 * name is reported missing until the record lapses (as a negative entry
 * would be).  A listing that began before one of our changes in the
 * directory is not stored (the ticket rule). */
#ifndef SMB2FS_ATTRCACHE_H
#define SMB2FS_ATTRCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2fs/fscc.h"

struct attrcache;

#define ATTRCACHE_MAX_ENTRIES 32768
#define ATTRCACHE_SD_TTL_SEC 30
/* Dir records: a listing of more names is not kept, and all records
 * together hold at most this many names (least recently used records
 * dropped first); at most ATTRCACHE_MAX_DIRS directories are tracked. */
#define ATTRCACHE_MAX_DIR_NAMES 100000
#define ATTRCACHE_MAX_DIRS 256
/* Lookups of missing names in one directory answered by the server within
 * ttl after which the next one lists the directory instead (at least; more
 * for a directory whose last listing was big, see attrcache.c). */
#define ATTRCACHE_LIST_AFTER_MISSES 8

/* NULL (and no cache) when ttl_sec <= 0 or out of memory. */
struct attrcache *attrcache_new(double ttl_sec, size_t max_entries);
void attrcache_free(struct attrcache *ac);

/* How long a descriptor's view lasts (default ATTRCACHE_SD_TTL_SEC, or
 * the ttl if longer). */
void attrcache_set_sd_ttl(struct attrcache *ac, double sec);

/* 1: cached attributes in *st; 0: cached "no such name"; -1: not cached. */
int attrcache_get(struct attrcache *ac, const char *path, struct fscc_stat *st);

/* attrcache_get for a file whose read lease we hold (client.h,
 * smb2_path_read_leased): cached attributes whatever their age (1), else
 * -1.  Nobody else can change the file's data while the lease holds, and
 * a break drops the entry; another client's explicit change of times or
 * attributes breaks no lease, and shows once the lease is gone (as with
 * cifs). */
int attrcache_get_held(struct attrcache *ac, const char *path, struct fscc_stat *st);

/* Security descriptors (fscc_stat's sd_asked and what follows it): a
 * fill or set of attributes without the descriptor's view keeps the one
 * the replaced entry had, with that view's own age: it lapses
 * ATTRCACHE_SD_TTL_SEC (or actimeo, if longer) after the reply that
 * carried it (attrcache_get then returns the attributes without it),
 * whatever fills came since.  Modes and owners change rarely and cost
 * the server about 0.3 ms a file (Samba builds the ACL), so they are kept
 * longer than the rest, as NFS keeps attributes up to 60 s: another
 * client's chmod shows within that time, ours at once.  attrcache_get_held
 * returns it whatever its age: a descriptor change breaks no lease, and
 * shows once the lease is gone, as other attributes do. */

/* Taken before a request whose reply will fill the cache. */
uint64_t attrcache_ticket(struct attrcache *ac);
/* A reply's attributes (st) or "no such name" (st NULL).  Whether they
 * were stored: not when something changed path since ticket (or too much
 * changed to tell) or a later reply filled it. */
bool attrcache_fill(struct attrcache *ac, const char *path, const struct fscc_stat *st,
		    uint64_t ticket);
/* attrcache_fill of attributes st, which then gain what path's entry
 * knows that they do not say (whether this fill was stored or not): the
 * link count of the same file (a listing carries none) and a descriptor's
 * view that has not lapsed. */
/* Whether what a reply to a request taken with ticket said of path is
 * still the newest the cache knows: nothing changed path since, and no
 * later reply filled it (a listing's attributes must not reach the
 * kernel after an open's newer ones, fs_readdir). */
bool attrcache_current(struct attrcache *ac, const char *path, uint64_t ticket);
void attrcache_fill_merged(struct attrcache *ac, const char *path, struct fscc_stat *st,
			   uint64_t ticket);
/* The known result of our own change of path (st NULL: it is gone). */
void attrcache_set(struct attrcache *ac, const char *path, const struct fscc_stat *st,
		   uint64_t ticket);
/* path (and the names the server may treat as it) changed, and its
 * file's other names (hard links); a directory's record goes too. */
void attrcache_forget(struct attrcache *ac, const char *path);
/* dir, every name directly in it (negative ones too) and dir's record,
 * not what lies deeper: anything in dir may have changed (change notify's
 * overflow).  negatives_only: only the names cached as missing directly
 * in dir (a watch was just made: a name may have appeared before it). */
void attrcache_forget_dir(struct attrcache *ac, const char *dir, bool negatives_only);
/* attrcache_forget without a directory's record: path's attributes
 * changed, not the names in it (negatives_only: path now exists, what
 * is known of it as present stays; its file's other names go). */
void attrcache_forget_entry(struct attrcache *ac, const char *path, bool negatives_only);
/* path and everything below it (records included). */
void attrcache_forget_tree(struct attrcache *ac, const char *path);
/* The parent directory of path ("/a/b" -> "/a", "/a" -> "/"): after a
 * failed change in it, whose effect is unknown. */
void attrcache_forget_parent(struct attrcache *ac, const char *path);
/* An entry was made or removed in path's parent: its cached attributes
 * stay (the kernel re-checks a directory's permissions after every such
 * change; asking the server each time would cost a round trip per file),
 * with LastWriteTime and ChangeTime moved to now_ft (a FILETIME), and its
 * record gains path's name. */
void attrcache_touch_parent(struct attrcache *ac, const char *path, uint64_t now_ft);
/* attrcache_touch_parent after path was removed: its exact name leaves
 * the parent's record instead (as attrcache_dir_remove). */
void attrcache_parent_removed(struct attrcache *ac, const char *path, uint64_t now_ft);

/* ---- complete listings (dir records) ---- */

/* A listing being taken: begun before its request (ticket and time), given
 * every name, ended with the request's result. */
struct attrcache_listing;
/* NULL with no cache or out of memory (then nothing is recorded). */
struct attrcache_listing *attrcache_list_begin(struct attrcache *ac, const char *dir);
/* The directory's path (for the request). */
const char *attrcache_list_dir(const struct attrcache_listing *l);
/* One name of the listing ("." and ".." are ignored). */
void attrcache_list_add(struct attrcache_listing *l, const char *name);
/* r == 0: the listing was complete; it becomes dir's record unless dir
 * changed locally since begin (or it is too big).  Frees l. */
void attrcache_list_end(struct attrcache *ac, struct attrcache_listing *l, int r);

/* The server said path does not exist: counted against its directory. */
void attrcache_dir_miss(struct attrcache *ac, const char *path);
/* Whether the lookup of path (which has no entry) should list path's
 * directory instead of asking for path alone: enough misses there lately,
 * or its last record answered many lookups and lapsed.  Returns a begun
 * listing of the directory (one at a time per directory), else NULL. */
struct attrcache_listing *attrcache_list_wanted(struct attrcache *ac, const char *path);
/* path was removed by us (unlink, rmdir, rename away): its exact name
 * leaves its directory's record. */
void attrcache_dir_remove(struct attrcache *ac, const char *path);
/* 1: a fresh record of dir exists; 0: not (for tests). */
int attrcache_dir_known(struct attrcache *ac, const char *dir);
/* For tests: lower the dir record bounds. */
void attrcache_set_dir_limits(struct attrcache *ac, size_t max_dirs, size_t max_names);

/* Splits "/a/b" into its parent ("/a", into buf) and name ("b"); false for
 * "/" and parents that do not fit. */
bool attrcache_split_parent(const char *path, char *buf, size_t cap, const char **name);

/* For tests: entries held now. */
size_t attrcache_count(struct attrcache *ac);

#endif

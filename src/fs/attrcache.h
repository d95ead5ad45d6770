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
 * caches nothing. */
#ifndef SMB2FS_ATTRCACHE_H
#define SMB2FS_ATTRCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "smb2fs/fscc.h"

struct attrcache;

#define ATTRCACHE_MAX_ENTRIES 32768

/* NULL (and no cache) when ttl_sec <= 0 or out of memory. */
struct attrcache *attrcache_new(double ttl_sec, size_t max_entries);
void attrcache_free(struct attrcache *ac);

/* 1: cached attributes in *st; 0: cached "no such name"; -1: not cached. */
int attrcache_get(struct attrcache *ac, const char *path, struct fscc_stat *st);

/* Taken before a request whose reply will fill the cache. */
uint64_t attrcache_ticket(struct attrcache *ac);
/* A reply's attributes (st) or "no such name" (st NULL). */
void attrcache_fill(struct attrcache *ac, const char *path, const struct fscc_stat *st,
		    uint64_t ticket);
/* The known result of our own change of path (st NULL: it is gone). */
void attrcache_set(struct attrcache *ac, const char *path, const struct fscc_stat *st,
		   uint64_t ticket);
/* path (and the names the server may treat as it) changed. */
void attrcache_forget(struct attrcache *ac, const char *path);
/* path and everything below it. */
void attrcache_forget_tree(struct attrcache *ac, const char *path);
/* The parent directory of path ("/a/b" -> "/a", "/a" -> "/"). */
void attrcache_forget_parent(struct attrcache *ac, const char *path);
/* An entry was made or removed in path's parent: its cached attributes
 * stay (the kernel re-checks a directory's permissions after every such
 * change; asking the server each time would cost a round trip per file),
 * with LastWriteTime and ChangeTime moved to now_ft (a FILETIME). */
void attrcache_touch_parent(struct attrcache *ac, const char *path, uint64_t now_ft);

/* For tests: entries held now. */
size_t attrcache_count(struct attrcache *ac);

#endif

/* MS-FSCC information classes used by smb2fs: parsers for what the server
 * returns in QUERY_DIRECTORY / QUERY_INFO, builders for SET_INFO buffers.
 * Pure, bounds-checked; same conventions as wire.h. */
#ifndef SMB2FS_FSCC_H
#define SMB2FS_FSCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2fs/buf.h"

/* file attributes (MS-FSCC 2.6) */
#define FILE_ATTRIBUTE_READONLY 0x00000001u
#define FILE_ATTRIBUTE_HIDDEN 0x00000002u
#define FILE_ATTRIBUTE_SYSTEM 0x00000004u
#define FILE_ATTRIBUTE_DIRECTORY 0x00000010u
#define FILE_ATTRIBUTE_ARCHIVE 0x00000020u
#define FILE_ATTRIBUTE_NORMAL 0x00000080u
#define FILE_ATTRIBUTE_SPARSE_FILE 0x00000200u
#define FILE_ATTRIBUTE_REPARSE_POINT 0x00000400u

/* File information classes (MS-FSCC 2.4) */
#define FileDirectoryInformation 0x01
#define FileFullDirectoryInformation 0x02
#define FileBothDirectoryInformation 0x03
#define FileBasicInformation 0x04
#define FileStandardInformation 0x05
#define FileInternalInformation 0x06
#define FileRenameInformation 0x0A
#define FileLinkInformation 0x0B /* same layout as FileRenameInformation (2.4.27.2) */
#define FileNamesInformation 0x0C
#define FileDispositionInformation 0x0D
#define FileFullEaInformation 0x0F
#define FileAllInformation 0x12
#define FileAllocationInformation 0x13
#define FileEndOfFileInformation 0x14
#define FileIdBothDirectoryInformation 0x25
#define FileIdFullDirectoryInformation 0x26
#define FileNetworkOpenInformation 0x22
/* File system information classes (MS-FSCC 2.5) */
#define FileFsSizeInformation 0x03
#define FileFsFullSizeInformation 0x07
#define FileFsAttributeInformation 0x05

/* Attributes common to directory entries and QUERY_INFO results. */
struct fscc_stat {
	uint64_t creation_time;     /* FILETIME: 100 ns since 1601-01-01 UTC */
	uint64_t last_access_time;
	uint64_t last_write_time;
	uint64_t change_time;
	uint64_t end_of_file;
	uint64_t allocation_size;
	uint32_t file_attributes;
	uint64_t file_id;           /* 0 when the class has none */
	uint32_t nlink;             /* 0 when the class has none */
	/* The POSIX view of the file's security descriptor (secdesc.h),
	 * filled by the client when it asked for the descriptor: sd_asked
	 * says it did (and the server answered or refused), the has_* flags
	 * which of mode, uid, gid the descriptor told.  All false for
	 * listings, which carry no descriptor. */
	bool sd_asked, has_mode, has_uid, has_gid;
	uint16_t mode;              /* rwxrwxrwx bits */
	uint32_t uid, gid;
	/* What a regular file's contents say it stands for (mfsym.h: an
	 * mfsymlink, an SFU fifo or device), filled by the fs layer once it
	 * looked (special_checked); special is 0 or S_IFLNK, S_IFIFO, S_IFCHR,
	 * S_IFBLK; special_size the symlink target's length in bytes. */
	bool special_checked;
	uint32_t special;
	uint32_t special_size;
	uint32_t rdev_major, rdev_minor;
};

/* Copies the descriptor's view (sd_asked through gid) from src to dst. */
static inline void fscc_sd_view_copy(struct fscc_stat *dst, const struct fscc_stat *src)
{
	dst->sd_asked = src->sd_asked;
	dst->has_mode = src->has_mode;
	dst->mode = src->mode;
	dst->has_uid = src->has_uid;
	dst->uid = src->uid;
	dst->has_gid = src->has_gid;
	dst->gid = src->gid;
}

/* One entry of a FileIdBothDirectoryInformation (or FileIdFull / FileFull /
 * FileDirectory / FileBoth) listing.  `name` is UTF-8, NUL-terminated, owned
 * by the iterator callback's caller (valid during the callback only). */
struct fscc_dirent {
	const char *name;
	struct fscc_stat st;
};

/* Walks a directory listing of class `info_class` (one of the *Directory*
 * classes above) in buf.  NextEntryOffset chains are checked: each offset
 * must move forward, be 8-byte aligned per MS-FSCC (tolerated if not), and
 * keep the entry inside buf; names are converted from UTF-16LE (surrogate
 * pairs included).  An entry whose name is no POSIX name (empty, contains
 * '/' or NUL, or has no UTF-8 form) is skipped; the others are listed.
 * cb returning non-zero stops the walk and is returned.
 * Returns 0, or -EBADMSG for a malformed listing. */
int fscc_dir_walk(uint8_t info_class, const uint8_t *buf, size_t len,
		  int (*cb)(const struct fscc_dirent *e, void *arg), void *arg);
/* The same, calling skipped (if not NULL) for each entry left out: name is
 * its UTF-8 form, or NULL when it has none; why is a short reason. */
int fscc_dir_walk_ex(uint8_t info_class, const uint8_t *buf, size_t len,
		     int (*cb)(const struct fscc_dirent *e, void *arg),
		     void (*skipped)(const char *name, const char *why, void *arg), void *arg);

/* FILE_NOTIFY_INFORMATION (MS-FSCC 2.4.42), the entries of a CHANGE_NOTIFY
 * reply.  name: UTF-8, relative to the watched directory, as the server
 * sent it ('\\' separators with a tree watch), NUL-terminated, valid
 * during the callback only. */
#define FILE_ACTION_ADDED 1u
#define FILE_ACTION_REMOVED 2u
#define FILE_ACTION_MODIFIED 3u
#define FILE_ACTION_RENAMED_OLD_NAME 4u
#define FILE_ACTION_RENAMED_NEW_NAME 5u
struct fscc_notify {
	uint32_t action;
	const char *name;
};
/* Walks the entries in buf: each must lie inside buf (NextEntryOffset
 * moving forward, at least the 12-byte fixed part), with a non-empty,
 * even-length name inside its entry that converts from UTF-16LE, and an
 * action 1..5.  cb returning non-zero stops the walk and is returned.
 * An empty buf has no entries (0).  Returns 0 or -EBADMSG (malformed:
 * nothing after the bad entry is read). */
int fscc_notify_walk(const uint8_t *buf, size_t len,
		     int (*cb)(const struct fscc_notify *e, void *arg), void *arg);

/* QUERY_INFO result parsers. */
int fscc_parse_basic(const uint8_t *buf, size_t len, struct fscc_stat *st);       /* times + attrs */
int fscc_parse_standard(const uint8_t *buf, size_t len, struct fscc_stat *st);    /* sizes, nlink, directory bit */
int fscc_parse_network_open(const uint8_t *buf, size_t len, struct fscc_stat *st);
int fscc_parse_all(const uint8_t *buf, size_t len, struct fscc_stat *st);         /* basic+standard+internal */

struct fscc_fs_full_size {
	uint64_t total_allocation_units;
	uint64_t caller_available_units;
	uint64_t actual_available_units;
	uint32_t sectors_per_unit;
	uint32_t bytes_per_sector;
};
int fscc_parse_fs_full_size(const uint8_t *buf, size_t len, struct fscc_fs_full_size *fs);

/* SET_INFO buffer builders (append to w).  A failure is also recorded in
 * w->err, as for the encoders in wire.h. */
/* Times: 0 = leave unchanged (MS-FSCC 2.4.7); attrs 0 = unchanged. */
SMB2FS_MUST_CHECK int fscc_build_basic(struct wbuf *w, uint64_t creation, uint64_t access, uint64_t write,
		     uint64_t change, uint32_t attrs);
SMB2FS_MUST_CHECK int fscc_build_end_of_file(struct wbuf *w, uint64_t eof);
SMB2FS_MUST_CHECK int fscc_build_disposition(struct wbuf *w, bool delete_pending);
/* FileRenameInformation (SMB2 form, MS-FSCC 2.4.42.2): new_name is UTF-8,
 * relative to the share root, using '\\'. */
SMB2FS_MUST_CHECK int fscc_build_rename(struct wbuf *w, bool replace_if_exists, const char *new_name);

/* Extended attributes (src/wire/ea.c).  FILE_FULL_EA_INFORMATION
 * (MS-FSCC 2.4.15): a list of entries, each NextEntryOffset (u32, 0 on
 * the last, entries 4-byte aligned), Flags (u8), EaNameLength (u8),
 * EaValueLength (u16), the name (ASCII) with a NUL, the value. */
#define FSCC_EA_NAME_MAX 255
#define FSCC_EA_VALUE_MAX 65535
struct fscc_ea {
	const char *name;           /* not NUL-terminated: name_len bytes */
	uint8_t name_len;
	uint8_t flags;
	const uint8_t *value;
	uint16_t value_len;
};
/* Calls cb for each entry of buf; a non-zero cb result stops the walk and
 * is returned.  -EBADMSG: an entry overruns buf, an offset goes backwards
 * or is not aligned, a name lacks its NUL or holds one. */
int fscc_ea_walk(const uint8_t *buf, size_t len, int (*cb)(const struct fscc_ea *e, void *arg),
		 void *arg);
/* One FILE_FULL_EA_INFORMATION entry (the list's last: NextEntryOffset 0)
 * for SET_INFO: a value_len of 0 removes the EA.  -EINVAL: an empty name,
 * one with NUL or non-ASCII bytes; -ERANGE: a name over 255 bytes;
 * -E2BIG: a value over 65535 bytes. */
SMB2FS_MUST_CHECK int fscc_build_full_ea(struct wbuf *w, const char *name, const void *value,
					 size_t value_len);
/* FILE_GET_EA_INFORMATION (MS-FSCC 2.4.15.1) naming one EA, the input of
 * a QUERY_INFO of FileFullEaInformation: NextEntryOffset 0, EaNameLength,
 * the name with its NUL.  Errors as fscc_build_full_ea. */
SMB2FS_MUST_CHECK int fscc_build_get_ea(struct wbuf *w, const char *name);

/* Reparse points (src/wire/reparse.c).  FSCTL_GET_REPARSE_POINT (MS-FSCC
 * 2.3.27) returns a REPARSE_DATA_BUFFER; a symbolic link's (2.1.2.4):
 * ReparseTag, ReparseDataLength, Reserved, SubstituteNameOffset/Length,
 * PrintNameOffset/Length (bytes from the start of PathBuffer), Flags,
 * PathBuffer (UTF-16LE). */
#define FSCTL_GET_REPARSE_POINT 0x000900A8u
#define IO_REPARSE_TAG_SYMLINK 0xA000000Cu
#define SYMLINK_FLAG_RELATIVE 0x00000001u
/* The target of a symbolic link's reparse data as a POSIX path: the
 * print name (the substitute name when there is none) in UTF-8 with '\'
 * turned into '/'; *out is malloc'ed, *relative says SYMLINK_FLAG_RELATIVE.
 * -EBADMSG: a malformed buffer (a name outside it, odd lengths, no UTF-8
 * form, a NUL inside); -EOPNOTSUPP: another reparse tag; -ENOMEM. */
int fscc_parse_symlink_reparse(const uint8_t *buf, size_t len, char **out, bool *relative);

/* FILETIME <-> Unix time. */
uint64_t fscc_time_from_unix(int64_t sec, long nsec);
void fscc_time_to_unix(uint64_t ft, int64_t *sec, long *nsec);

#endif

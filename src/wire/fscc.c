/* MS-FSCC information classes: directory listings, QUERY_INFO parsers,
 * SET_INFO builders, FILETIME conversion. */
#include "smb2fs/fscc.h"
#include "smb2fs/utf16.h"
#include "smb2fs/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Offsets inside a directory entry, per class. */
struct dir_layout {
	size_t name_off;   /* FileName */
	size_t file_id_off; /* FileId, 0 = none */
};

static int dir_layout(uint8_t cls, struct dir_layout *l)
{
	switch (cls) {
	case FileDirectoryInformation:       /* MS-FSCC 2.4.10 */
		*l = (struct dir_layout){ 64, 0 };
		return 0;
	case FileFullDirectoryInformation:   /* MS-FSCC 2.4.14 */
		*l = (struct dir_layout){ 68, 0 };
		return 0;
	case FileBothDirectoryInformation:   /* MS-FSCC 2.4.8 */
		*l = (struct dir_layout){ 94, 0 };
		return 0;
	case FileIdFullDirectoryInformation: /* MS-FSCC 2.4.18 */
		*l = (struct dir_layout){ 80, 72 };
		return 0;
	case FileIdBothDirectoryInformation: /* MS-FSCC 2.4.17 */
		*l = (struct dir_layout){ 104, 96 };
		return 0;
	default:
		return -EINVAL;
	}
}

/* Why a name from the server cannot be a POSIX directory entry, or NULL.
 * Sets *name to its UTF-8 form when it has one (the caller frees). */
static const char *dirent_name(const uint8_t *n16, size_t len, char **name, int *rc)
{
	*name = NULL;
	*rc = 0;
	if (len == 0)
		return "empty name";
	for (size_t i = 0; i < len; i += 2)
		if (le16_load(n16 + i) == 0)
			return "NUL in the name";
	*rc = utf16_to_utf8(n16, len, name);
	if (*rc < 0)
		return "no UTF-8 form";
	if (strchr(*name, '/'))
		return "'/' in the name";
	return NULL;
}

int fscc_dir_walk(uint8_t info_class, const uint8_t *buf, size_t len,
		  int (*cb)(const struct fscc_dirent *e, void *arg), void *arg)
{
	return fscc_dir_walk_ex(info_class, buf, len, cb, NULL, arg);
}

/* MS-FSCC 2.4.8 / 2.4.10 / 2.4.14 / 2.4.17 / 2.4.18 */
int fscc_dir_walk_ex(uint8_t info_class, const uint8_t *buf, size_t len,
		     int (*cb)(const struct fscc_dirent *e, void *arg),
		     void (*skipped)(const char *name, const char *why, void *arg), void *arg)
{
	struct dir_layout l;
	size_t pos = 0;

	if (dir_layout(info_class, &l) < 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	if (!buf)
		return -EBADMSG;
	for (;;) {
		size_t ext = len - pos;
		if (ext < l.name_off)
			return -EBADMSG;
		const uint8_t *p = buf + pos;
		uint32_t next = le32_load(p);
		uint32_t name_len = le32_load(p + 60);
		if (next) {
			/* must move forward past this whole entry and stay inside */
			if (next > ext || next < l.name_off)
				return -EBADMSG;
			ext = next;
		}
		if ((name_len & 1) || name_len > ext - l.name_off)
			return -EBADMSG;

		struct fscc_dirent e;
		char *name = NULL;
		memset(&e, 0, sizeof(e));
		e.st.creation_time = le64_load(p + 8);
		e.st.last_access_time = le64_load(p + 16);
		e.st.last_write_time = le64_load(p + 24);
		e.st.change_time = le64_load(p + 32);
		e.st.end_of_file = le64_load(p + 40);
		e.st.allocation_size = le64_load(p + 48);
		e.st.file_attributes = le32_load(p + 56);
		if (l.file_id_off)
			e.st.file_id = le64_load(p + l.file_id_off);
		int rc;
		const char *why = dirent_name(p + l.name_off, name_len, &name, &rc);
		if (rc == -ENOMEM)
			return rc;
		/* A name POSIX cannot hold (no UTF-8 form, as NTFS allows lone
		 * surrogates; a '/' or NUL; empty) is left out of the listing:
		 * it cannot be named through the mount, and the rest of the
		 * directory must stay readable. */
		if (why) {
			if (skipped)
				skipped(name, why, arg);
			free(name);
		} else {
			e.name = name;
			rc = cb ? cb(&e, arg) : 0;
			free(name);
			if (rc)
				return rc;
		}
		if (!next)
			return 0;
		pos += next;
	}
}

/* MS-FSCC 2.4.7 FileBasicInformation (40 bytes) */
int fscc_parse_basic(const uint8_t *buf, size_t len, struct fscc_stat *st)
{
	if (!st)
		return -EINVAL;
	if (!buf || len < 36)  /* trailing Reserved(4) tolerated if absent */
		return -EBADMSG;
	st->creation_time = le64_load(buf);
	st->last_access_time = le64_load(buf + 8);
	st->last_write_time = le64_load(buf + 16);
	st->change_time = le64_load(buf + 24);
	st->file_attributes = le32_load(buf + 32);
	return 0;
}

/* MS-FSCC 2.4.41 FileStandardInformation (24 bytes) */
int fscc_parse_standard(const uint8_t *buf, size_t len, struct fscc_stat *st)
{
	if (!st)
		return -EINVAL;
	if (!buf || len < 22)  /* trailing Reserved(2) tolerated if absent */
		return -EBADMSG;
	st->allocation_size = le64_load(buf);
	st->end_of_file = le64_load(buf + 8);
	st->nlink = le32_load(buf + 16);
	if (buf[21])
		st->file_attributes |= FILE_ATTRIBUTE_DIRECTORY;
	return 0;
}

/* MS-FSCC 2.4.34 FileNetworkOpenInformation (56 bytes) */
int fscc_parse_network_open(const uint8_t *buf, size_t len, struct fscc_stat *st)
{
	if (!st)
		return -EINVAL;
	memset(st, 0, sizeof(*st)); /* what the class does not carry is unknown */
	if (!buf || len < 52)
		return -EBADMSG;
	st->creation_time = le64_load(buf);
	st->last_access_time = le64_load(buf + 8);
	st->last_write_time = le64_load(buf + 16);
	st->change_time = le64_load(buf + 24);
	st->allocation_size = le64_load(buf + 32);
	st->end_of_file = le64_load(buf + 40);
	st->file_attributes = le32_load(buf + 48);
	return 0;
}

/* MS-FSCC 2.4.2 FileAllInformation: Basic(40) Standard(24) Internal(8)
 * EA(4) Access(4) Position(8) Mode(4) Alignment(4) Name(4+n).  Only the
 * first three are needed; a server may truncate the name part. */
int fscc_parse_all(const uint8_t *buf, size_t len, struct fscc_stat *st)
{
	if (!st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	if (!buf || len < 40 + 24 + 8)
		return -EBADMSG;
	fscc_parse_basic(buf, 40, st);
	fscc_parse_standard(buf + 40, 24, st);
	st->file_id = le64_load(buf + 64);  /* 2.4.22 FileInternalInformation */
	return 0;
}

/* MS-FSCC 2.5.4 FileFsFullSizeInformation (32 bytes) */
int fscc_parse_fs_full_size(const uint8_t *buf, size_t len, struct fscc_fs_full_size *fs)
{
	if (!fs)
		return -EINVAL;
	memset(fs, 0, sizeof(*fs));
	if (!buf || len < 32)
		return -EBADMSG;
	fs->total_allocation_units = le64_load(buf);
	fs->caller_available_units = le64_load(buf + 8);
	fs->actual_available_units = le64_load(buf + 16);
	fs->sectors_per_unit = le32_load(buf + 24);
	fs->bytes_per_sector = le32_load(buf + 28);
	return 0;
}

/* MS-FSCC 2.4.7 */
int fscc_build_basic(struct wbuf *w, uint64_t creation, uint64_t access, uint64_t write,
		     uint64_t change, uint32_t attrs)
{
	if (!w)
		return -EINVAL;
	wbuf_u64(w, creation);
	wbuf_u64(w, access);
	wbuf_u64(w, write);
	wbuf_u64(w, change);
	wbuf_u32(w, attrs);
	wbuf_u32(w, 0);
	return w->err;
}

/* MS-FSCC 2.4.13 */
int fscc_build_end_of_file(struct wbuf *w, uint64_t eof)
{
	if (!w)
		return -EINVAL;
	wbuf_u64(w, eof);
	return w->err;
}

/* MS-FSCC 2.4.11 */
int fscc_build_disposition(struct wbuf *w, bool delete_pending)
{
	if (!w)
		return -EINVAL;
	wbuf_u8(w, delete_pending ? 1 : 0);
	return w->err;
}

/* MS-FSCC 2.4.42.2 (SMB2 form): ReplaceIfExists(1) Reserved(7)
 * RootDirectory(8) FileNameLength(4) FileName.  A UTF-16 NUL follows the
 * name (not counted) and the buffer is at least 24 bytes, the size of the
 * native structure, which some servers insist on. */
int fscc_build_rename(struct wbuf *w, bool replace_if_exists, const char *new_name)
{
	if (!w)
		return -EINVAL;
	/* An empty target would rename to the share root's name. */
	if (!new_name || !*new_name)
		return wbuf_fail(w, -EINVAL);
	size_t start = w->len;
	wbuf_u8(w, replace_if_exists ? 1 : 0);
	wbuf_zero(w, 7);
	wbuf_u64(w, 0);
	wbuf_u32(w, 0);  /* FileNameLength, patched */
	long n = utf16_from_utf8(w, new_name, strlen(new_name));
	if (n < 0) {
		w->len = start;  /* w->err is set: the buffer is never sent */
		return (int)n;
	}
	if (n > 0xFFFFFFFFL)
		return wbuf_fail(w, -EOVERFLOW);
	wbuf_put_u32_at(w, start + 16, (uint32_t)n);
	wbuf_u16(w, 0);
	if (w->len - start < 24)
		wbuf_zero(w, 24 - (w->len - start));
	return w->err;
}

#define FT_UNIX_EPOCH_SEC 11644473600LL  /* seconds from 1601 to 1970 */
#define FT_PER_SEC 10000000LL

/* MS-DTYP 2.3.3 FILETIME */
uint64_t fscc_time_from_unix(int64_t sec, long nsec)
{
	/* Fold nsec outside [0, 1e9) into sec, saturating. */
	int64_t q = nsec / 1000000000L;
	long rem = nsec % 1000000000L;
	if (rem < 0) {
		rem += 1000000000L;
		q--;
	}
	if (q > 0 && sec > INT64_MAX - q)
		return UINT64_MAX;
	if (q < 0 && sec < INT64_MIN - q)
		return 0;
	sec += q;
	if (sec < -FT_UNIX_EPOCH_SEC)
		return 0;  /* before 1601: clamp */
	if (sec > INT64_MAX - FT_UNIX_EPOCH_SEC)
		return UINT64_MAX;
	uint64_t s = (uint64_t)(sec + FT_UNIX_EPOCH_SEC);
	uint64_t frac = (uint64_t)(rem / 100);
	if (s > (UINT64_MAX - frac) / FT_PER_SEC)
		return UINT64_MAX;
	return s * FT_PER_SEC + frac;
}

void fscc_time_to_unix(uint64_t ft, int64_t *sec, long *nsec)
{
	*sec = (int64_t)(ft / FT_PER_SEC) - FT_UNIX_EPOCH_SEC;
	*nsec = (long)(ft % FT_PER_SEC) * 100;
}

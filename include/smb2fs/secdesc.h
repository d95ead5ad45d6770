/* Security descriptors (MS-DTYP 2.4.6, self-relative form), SIDs (2.4.2),
 * ACLs and ACEs (2.4.4, 2.4.5): a pure, bounds-checked codec, and the
 * mapping between a descriptor and POSIX owner, group and mode bits.
 *
 * Samba shows a POSIX file's owner as S-1-22-1-<uid>, its group as
 * S-1-22-2-<gid>, and its mode as three allow ACEs (owner, group, Everyone
 * S-1-1-0); an ACL set through SMB it maps back onto the mode.  The
 * mapping here reads rights the way the Linux cifs client's `cifsacl` does
 * (a class gets r for FILE_READ_DATA, w for FILE_WRITE_DATA together with
 * FILE_APPEND_DATA, x for FILE_EXECUTE; the GENERIC_* bits too) and writes
 * FILE_GENERIC_READ for r, FILE_GENERIC_WRITE for w and FILE_EXECUTE (with
 * READ_CONTROL and SYNCHRONIZE) for x: Samba reads any of READ_DATA,
 * READ_EA, READ_ATTRIBUTES as r (so an ACE for no bits has no rights at
 * all), and what we set reads back the same from Samba and from the
 * file's POSIX mode.
 *
 * Same conventions as wire.h: decoders return 0 or -EBADMSG and never read
 * outside the buffer they were given; builders append to a wbuf and record
 * a failure in it. */
#ifndef SMB2FS_SECDESC_H
#define SMB2FS_SECDESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2fs/buf.h"

/* SECURITY_INFORMATION bits for QUERY_INFO / SET_INFO (MS-DTYP 2.4.7) */
#define OWNER_SECURITY_INFORMATION 0x00000001u
#define GROUP_SECURITY_INFORMATION 0x00000002u
#define DACL_SECURITY_INFORMATION 0x00000004u
#define SACL_SECURITY_INFORMATION 0x00000008u

/* SECURITY_DESCRIPTOR Control (MS-DTYP 2.4.6) */
#define SE_OWNER_DEFAULTED 0x0001u
#define SE_GROUP_DEFAULTED 0x0002u
#define SE_DACL_PRESENT 0x0004u
#define SE_DACL_DEFAULTED 0x0008u
#define SE_SACL_PRESENT 0x0010u
#define SE_DACL_AUTO_INHERITED 0x0400u
#define SE_SACL_AUTO_INHERITED 0x0800u
#define SE_DACL_PROTECTED 0x1000u
#define SE_SELF_RELATIVE 0x8000u

/* ACE types and flags (MS-DTYP 2.4.4.1) */
#define ACCESS_ALLOWED_ACE_TYPE 0x00
#define ACCESS_DENIED_ACE_TYPE 0x01
#define SYSTEM_AUDIT_ACE_TYPE 0x02
#define SYSTEM_ALARM_ACE_TYPE 0x03
#define ACCESS_ALLOWED_CALLBACK_ACE_TYPE 0x09
#define ACCESS_DENIED_CALLBACK_ACE_TYPE 0x0A
#define SYSTEM_MANDATORY_LABEL_ACE_TYPE 0x11
#define OBJECT_INHERIT_ACE 0x01u
#define CONTAINER_INHERIT_ACE 0x02u
#define NO_PROPAGATE_INHERIT_ACE 0x04u
#define INHERIT_ONLY_ACE 0x08u
#define INHERITED_ACE 0x10u

/* Access rights wire.h does not name (MS-DTYP 2.4.3) */
#define SD_WRITE_DAC 0x00040000u
#define SD_WRITE_OWNER 0x00080000u
#define SD_GENERIC_EXECUTE 0x20000000u
/* MS-SMB2 2.2.13.1.1: the generic file rights, as Samba builds its ACEs */
#define SD_FILE_GENERIC_READ 0x00120089u    /* READ_CONTROL SYNCHRONIZE READ_DATA READ_EA READ_ATTRIBUTES */
#define SD_FILE_GENERIC_WRITE 0x00120116u   /* READ_CONTROL SYNCHRONIZE WRITE_DATA APPEND WRITE_EA WRITE_ATTRIBUTES */
#define SD_FILE_GENERIC_EXECUTE 0x001200A0u /* READ_CONTROL SYNCHRONIZE EXECUTE READ_ATTRIBUTES */
/* What x alone is written as: Samba reads FILE_READ_ATTRIBUTES (and
 * FILE_READ_EA) as r, so --x cannot carry them. */
#define SD_FILE_EXECUTE_ONLY 0x00120020u    /* READ_CONTROL SYNCHRONIZE EXECUTE */

#define SD_SID_MAX_SUB 15   /* SubAuthorityCount limit (MS-DTYP 2.4.2.2) */
#define SD_MAX_SIZE 65536   /* what we ask the server for; bigger is refused */

struct sd_sid {
	uint8_t revision;    /* 1 */
	uint8_t nsub;        /* 0..15 */
	uint64_t authority;  /* 48-bit IdentifierAuthority (big-endian on the wire) */
	uint32_t sub[SD_SID_MAX_SUB];
};

struct sd_ace {
	uint8_t type, flags;
	uint16_t size;       /* AceSize */
	/* types with Mask + SID first (allowed, denied, audit, alarm, their
	 * callback forms, mandatory label): has_sid, mask and sid */
	bool has_sid;
	uint32_t mask;
	struct sd_sid sid;
	const uint8_t *raw;  /* the whole ACE, inside the parsed buffer */
};

/* A parsed descriptor.  Pointers (aces, ace raw bytes) point into the
 * buffer given to sd_parse and into an array sd_free releases. */
struct sd_desc {
	uint16_t control;
	bool has_owner, has_group;
	struct sd_sid owner, group;
	/* DACL: has_dacl when SE_DACL_PRESENT with an ACL; SE_DACL_PRESENT
	 * with offset 0 is a NULL DACL (no protection: dacl_null) */
	bool has_dacl, dacl_null;
	uint8_t dacl_revision;
	uint16_t n_aces;
	struct sd_ace *aces; /* malloc'd, n_aces entries */
};

/* SIDs */
/* Parses the SID at buf (len bytes available): fills *s and *used (its
 * size).  Returns 0 or -EBADMSG. */
int sd_sid_parse(const uint8_t *buf, size_t len, struct sd_sid *s, size_t *used);
size_t sd_sid_size(const struct sd_sid *s);
void sd_sid_write(struct wbuf *w, const struct sd_sid *s);
bool sd_sid_eq(const struct sd_sid *a, const struct sd_sid *b);
/* "S-1-22-1-1000"; returns the length written (out always terminated),
 * as snprintf would. */
int sd_sid_str(const struct sd_sid *s, char *out, size_t cap);
/* Parses "S-1-5-32-544" (decimal fields); 0 or -EINVAL. */
int sd_sid_from_str(const char *str, struct sd_sid *s);
/* S-1-22-1-<uid>, S-1-22-2-<gid> (Samba's Unix users and groups), S-1-1-0 */
void sd_sid_unix_user(struct sd_sid *s, uint32_t uid);
void sd_sid_unix_group(struct sd_sid *s, uint32_t gid);
void sd_sid_everyone(struct sd_sid *s);
/* The uid/gid of an S-1-22-1-x / S-1-22-2-x SID; false for any other SID. */
bool sd_sid_unix_id(const struct sd_sid *s, bool group, uint32_t *id);

/* Parses a self-relative descriptor.  Every offset, size and count is
 * checked against len (an ACL against its AclSize, an ACE against its
 * AceSize).  The SACL, if any, is not decoded.  Returns 0, -EBADMSG for a
 * malformed descriptor, or -ENOMEM; *sd is valid (and needs sd_free) only
 * on success. */
int sd_parse(const uint8_t *buf, size_t len, struct sd_desc *sd);
void sd_free(struct sd_desc *sd);

/* Builds a self-relative descriptor holding what sd has: owner when
 * has_owner, group when has_group, the DACL when has_dacl (its ACEs from
 * type/flags/mask/sid when has_sid, else copied from raw).  Control gets
 * SE_SELF_RELATIVE, and SE_DACL_PRESENT with a DACL.  0 or the error. */
SMB2FS_MUST_CHECK int sd_build(struct wbuf *w, const struct sd_desc *sd);

/* ---- POSIX mapping ---- */

struct sd_posix {
	bool has_uid, has_gid;  /* owner / group is a Unix SID (S-1-22-x) */
	uint32_t uid, gid;
	bool has_mode;          /* the DACL said what the mode is */
	uint16_t mode;          /* rwxrwxrwx bits (0777 at most) */
};

/* The POSIX view of a descriptor: uid and gid from S-1-22 SIDs; the mode
 * from the DACL's ACEs that apply to the object itself (not INHERIT_ONLY):
 * those for the owner's SID give the user bits, for the group's SID the
 * group bits, for Everyone the other bits; deny ACEs take away bits that
 * an earlier ACE did not grant.  No DACL or a NULL DACL (which protects
 * nothing): has_mode false. */
void sd_to_posix(const struct sd_desc *sd, struct sd_posix *out);

/* rwx (3 bits) -> the rights of one ACE, and the reverse as sd_to_posix
 * reads them. */
uint32_t sd_rights_from_rwx(unsigned rwx);
unsigned sd_rwx_from_rights(uint32_t mask);

/* A descriptor carrying only a DACL for mode (low 9 bits) on a file whose
 * owner and group SIDs are owner and group: allow ACEs for owner, group and
 * Everyone first (each even with no rights, so the server's mapping sees
 * every class), then cur's ACEs (cur may be NULL) that are not for those
 * three SIDs or that are INHERIT_ONLY (a directory's defaults), in their
 * order.  (An owner keeps READ_CONTROL and WRITE_DAC without an ACE, on
 * Windows and on Samba: chmod 000 does not lock the owner out of the next
 * chmod; an extra right in the owner's ACE would read back as r.) */
SMB2FS_MUST_CHECK int sd_build_mode(struct wbuf *w, const struct sd_desc *cur,
				    const struct sd_sid *owner, const struct sd_sid *group,
				    unsigned mode);

#endif

/* Security descriptors: the self-relative SECURITY_DESCRIPTOR codec
 * (MS-DTYP 2.4.6), SIDs (2.4.2.2), ACLs (2.4.5) and ACEs (2.4.4), and the
 * POSIX mapping (secdesc.h says what it reads and writes). */
#include "smb2fs/secdesc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smb2fs/wire.h"

#define SD_HDR_SIZE 20   /* Revision .. OffsetDacl */
#define ACL_HDR_SIZE 8
#define ACE_HDR_SIZE 4

/* ---- SIDs ---- */

int sd_sid_parse(const uint8_t *buf, size_t len, struct sd_sid *s, size_t *used)
{
	memset(s, 0, sizeof(*s));
	if (!buf || len < 8)
		return -EBADMSG;
	s->revision = buf[0];
	s->nsub = buf[1];
	if (s->revision != 1 || s->nsub > SD_SID_MAX_SUB)
		return -EBADMSG;
	size_t need = 8 + 4 * (size_t)s->nsub;
	if (len < need)
		return -EBADMSG;
	for (int i = 0; i < 6; i++)
		s->authority = s->authority << 8 | buf[2 + i];
	for (unsigned i = 0; i < s->nsub; i++)
		s->sub[i] = le32_load(buf + 8 + 4 * i);
	if (used)
		*used = need;
	return 0;
}

size_t sd_sid_size(const struct sd_sid *s)
{
	return 8 + 4 * (size_t)s->nsub;
}

void sd_sid_write(struct wbuf *w, const struct sd_sid *s)
{
	if (s->nsub > SD_SID_MAX_SUB || s->authority >> 48) {
		wbuf_fail(w, -EINVAL);
		return;
	}
	wbuf_u8(w, s->revision ? s->revision : 1);
	wbuf_u8(w, s->nsub);
	for (int i = 5; i >= 0; i--)
		wbuf_u8(w, (uint8_t)(s->authority >> (8 * i)));
	for (unsigned i = 0; i < s->nsub; i++)
		wbuf_u32(w, s->sub[i]);
}

bool sd_sid_eq(const struct sd_sid *a, const struct sd_sid *b)
{
	if (a->nsub != b->nsub || a->authority != b->authority)
		return false;
	for (unsigned i = 0; i < a->nsub; i++)
		if (a->sub[i] != b->sub[i])
			return false;
	return true;
}

int sd_sid_str(const struct sd_sid *s, char *out, size_t cap)
{
	size_t o = 0;
	int n = snprintf(out, cap, "S-%u-%" PRIu64, (unsigned)s->revision, s->authority);
	if (n < 0)
		return n;
	o = (size_t)n;
	for (unsigned i = 0; i < s->nsub && i < SD_SID_MAX_SUB; i++) {
		n = snprintf(o < cap ? out + o : NULL, o < cap ? cap - o : 0, "-%" PRIu32, s->sub[i]);
		if (n < 0)
			return n;
		o += (size_t)n;
	}
	return (int)o;
}

static int parse_dec(const char **p, uint64_t max, uint64_t *v)
{
	const char *q = *p;
	uint64_t x = 0;
	if (*q < '0' || *q > '9')
		return -EINVAL;
	for (; *q >= '0' && *q <= '9'; q++) {
		x = x * 10 + (uint64_t)(*q - '0');
		if (x > max)
			return -EINVAL;
	}
	*p = q;
	*v = x;
	return 0;
}

int sd_sid_from_str(const char *str, struct sd_sid *s)
{
	uint64_t v;
	memset(s, 0, sizeof(*s));
	if (!str || (str[0] != 'S' && str[0] != 's') || str[1] != '-')
		return -EINVAL;
	const char *p = str + 2;
	if (parse_dec(&p, 255, &v) < 0 || v != 1 || *p++ != '-')
		return -EINVAL;
	s->revision = 1;
	if (parse_dec(&p, (1ull << 48) - 1, &s->authority) < 0)
		return -EINVAL;
	while (*p == '-') {
		p++;
		if (s->nsub == SD_SID_MAX_SUB || parse_dec(&p, UINT32_MAX, &v) < 0)
			return -EINVAL;
		s->sub[s->nsub++] = (uint32_t)v;
	}
	return *p ? -EINVAL : 0;
}

void sd_sid_unix_user(struct sd_sid *s, uint32_t uid)
{
	*s = (struct sd_sid){.revision = 1, .nsub = 2, .authority = 22, .sub = {1, uid}};
}

void sd_sid_unix_group(struct sd_sid *s, uint32_t gid)
{
	*s = (struct sd_sid){.revision = 1, .nsub = 2, .authority = 22, .sub = {2, gid}};
}

void sd_sid_everyone(struct sd_sid *s)
{
	*s = (struct sd_sid){.revision = 1, .nsub = 1, .authority = 1, .sub = {0}};
}

bool sd_sid_unix_id(const struct sd_sid *s, bool group, uint32_t *id)
{
	if (s->authority != 22 || s->nsub != 2 || s->sub[0] != (group ? 2u : 1u))
		return false;
	*id = s->sub[1];
	return true;
}

/* ---- descriptor ---- */

static bool ace_has_sid(uint8_t type)
{
	switch (type) {
	case ACCESS_ALLOWED_ACE_TYPE:
	case ACCESS_DENIED_ACE_TYPE:
	case SYSTEM_AUDIT_ACE_TYPE:
	case SYSTEM_ALARM_ACE_TYPE:
	case ACCESS_ALLOWED_CALLBACK_ACE_TYPE:
	case ACCESS_DENIED_CALLBACK_ACE_TYPE:
	case SYSTEM_MANDATORY_LABEL_ACE_TYPE:
		return true;
	default:
		return false;
	}
}

/* The ACL at buf[off..len): header, then AceCount ACEs inside AclSize. */
static int parse_acl(const uint8_t *buf, size_t len, size_t off, struct sd_desc *sd)
{
	if (off > len || len - off < ACL_HDR_SIZE)
		return -EBADMSG;
	const uint8_t *a = buf + off;
	uint8_t rev = a[0];
	uint16_t acl_size = le16_load(a + 2), count = le16_load(a + 4);
	if ((rev != 2 && rev != 4) || acl_size < ACL_HDR_SIZE || acl_size > len - off)
		return -EBADMSG;
	/* each ACE takes at least its header: a count the ACL cannot hold
	 * is refused before anything is allocated */
	if ((size_t)count * ACE_HDR_SIZE > (size_t)acl_size - ACL_HDR_SIZE)
		return -EBADMSG;
	sd->dacl_revision = rev;
	sd->aces = count ? calloc(count, sizeof(*sd->aces)) : NULL;
	if (count && !sd->aces)
		return -ENOMEM;
	size_t pos = ACL_HDR_SIZE;
	for (unsigned i = 0; i < count; i++) {
		if (acl_size - pos < ACE_HDR_SIZE)
			return -EBADMSG;
		const uint8_t *e = a + pos;
		struct sd_ace *ace = &sd->aces[i];
		ace->type = e[0];
		ace->flags = e[1];
		ace->size = le16_load(e + 2);
		if (ace->size < ACE_HDR_SIZE || ace->size > acl_size - pos || (ace->size & 3))
			return -EBADMSG;
		ace->raw = e;
		if (ace_has_sid(ace->type)) {
			if (ace->size < ACE_HDR_SIZE + 4)
				return -EBADMSG;
			ace->mask = le32_load(e + 4);
			if (sd_sid_parse(e + 8, ace->size - 8u, &ace->sid, NULL) < 0)
				return -EBADMSG;
			ace->has_sid = true;
		}
		pos += ace->size;
		sd->n_aces = (uint16_t)(i + 1);
	}
	return 0;
}

int sd_parse(const uint8_t *buf, size_t len, struct sd_desc *sd)
{
	memset(sd, 0, sizeof(*sd));
	if (!buf || len < SD_HDR_SIZE || len > SD_MAX_SIZE)
		return -EBADMSG;
	if (buf[0] != 1)
		return -EBADMSG;
	sd->control = le16_load(buf + 2);
	uint32_t off_owner = le32_load(buf + 4), off_group = le32_load(buf + 8);
	uint32_t off_dacl = le32_load(buf + 16);
	if (!(sd->control & SE_SELF_RELATIVE))
		return -EBADMSG;
	/* offsets 0 mean "none"; any other must point past the header */
	uint32_t offs[3] = {off_owner, off_group, off_dacl};
	for (int i = 0; i < 3; i++)
		if (offs[i] && (offs[i] < SD_HDR_SIZE || offs[i] >= len))
			return -EBADMSG;
	int r = 0;
	if (off_owner) {
		r = sd_sid_parse(buf + off_owner, len - off_owner, &sd->owner, NULL);
		sd->has_owner = r == 0;
	}
	if (r == 0 && off_group) {
		r = sd_sid_parse(buf + off_group, len - off_group, &sd->group, NULL);
		sd->has_group = r == 0;
	}
	if (r == 0 && (sd->control & SE_DACL_PRESENT)) {
		if (off_dacl) {
			r = parse_acl(buf, len, off_dacl, sd);
			sd->has_dacl = r == 0;
		} else {
			sd->dacl_null = true;
		}
	}
	if (r < 0)
		sd_free(sd);
	return r;
}

void sd_free(struct sd_desc *sd)
{
	if (!sd)
		return;
	free(sd->aces);
	sd->aces = NULL;
	sd->n_aces = 0;
	sd->has_dacl = false;
}

static void write_ace(struct wbuf *w, const struct sd_ace *a)
{
	if (!a->has_sid) {
		if (!a->raw || a->size < ACE_HDR_SIZE) {
			wbuf_fail(w, -EINVAL);
			return;
		}
		wbuf_bytes(w, a->raw, a->size);
		return;
	}
	size_t size = ACE_HDR_SIZE + 4 + sd_sid_size(&a->sid);
	/* callback ACEs carry application data after the SID: keep it */
	size_t extra = 0;
	if (a->raw && a->size > size)
		extra = a->size - size;
	size += extra;
	if (size > UINT16_MAX) {
		wbuf_fail(w, -EOVERFLOW);
		return;
	}
	wbuf_u8(w, a->type);
	wbuf_u8(w, a->flags);
	wbuf_u16(w, (uint16_t)size);
	wbuf_u32(w, a->mask);
	sd_sid_write(w, &a->sid);
	if (extra)
		wbuf_bytes(w, a->raw + a->size - extra, extra);
}

int sd_build(struct wbuf *w, const struct sd_desc *sd)
{
	if (!w)
		return -EINVAL;
	if (!sd)
		return wbuf_fail(w, -EINVAL);
	size_t base = w->len;
	uint16_t control = SE_SELF_RELATIVE | (sd->has_dacl ? SE_DACL_PRESENT : 0) |
			   (sd->control & (SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED));
	wbuf_u8(w, 1);           /* Revision */
	wbuf_u8(w, 0);           /* Sbz1 */
	wbuf_u16(w, control);
	wbuf_zero(w, 16);        /* offsets, patched below */
	if (w->err)
		return w->err;
	if (sd->has_owner) {
		wbuf_put_u32_at(w, base + 4, (uint32_t)(w->len - base));
		sd_sid_write(w, &sd->owner);
	}
	if (sd->has_group) {
		wbuf_put_u32_at(w, base + 8, (uint32_t)(w->len - base));
		sd_sid_write(w, &sd->group);
	}
	if (sd->has_dacl) {
		size_t acl = w->len;
		wbuf_put_u32_at(w, base + 16, (uint32_t)(acl - base));
		wbuf_u8(w, sd->dacl_revision ? sd->dacl_revision : 2);
		wbuf_u8(w, 0);
		wbuf_u16(w, 0);  /* AclSize, patched */
		wbuf_u16(w, sd->n_aces);
		wbuf_u16(w, 0);
		for (unsigned i = 0; i < sd->n_aces && !w->err; i++)
			write_ace(w, &sd->aces[i]);
		if (!w->err && w->len - acl > UINT16_MAX)
			return wbuf_fail(w, -EOVERFLOW);
		wbuf_put_u16_at(w, acl + 2, (uint16_t)(w->len - acl));
	}
	if (!w->err && w->len - base > SD_MAX_SIZE)
		return wbuf_fail(w, -EOVERFLOW);
	return w->err;
}

/* ---- POSIX mapping ---- */

unsigned sd_rwx_from_rights(uint32_t mask)
{
	unsigned m = 0;
	if (mask & GENERIC_ALL)
		return 7;
	if ((mask & GENERIC_READ) || (mask & FILE_READ_DATA))
		m |= 4;
	if ((mask & GENERIC_WRITE) ||
	    (mask & (FILE_WRITE_DATA | FILE_APPEND_DATA)) == (FILE_WRITE_DATA | FILE_APPEND_DATA))
		m |= 2;
	if ((mask & SD_GENERIC_EXECUTE) || (mask & FILE_EXECUTE))
		m |= 1;
	return m;
}

uint32_t sd_rights_from_rwx(unsigned rwx)
{
	uint32_t mask = 0;
	if (rwx & 4)
		mask |= SD_FILE_GENERIC_READ;
	if (rwx & 2)
		mask |= SD_FILE_GENERIC_WRITE;
	if (rwx & 1)
		mask |= SD_FILE_EXECUTE_ONLY;
	return mask;
}

/* One ACE's effect on a class: allowed bits not denied before are
 * granted, denied bits not granted before are denied. */
static void apply(uint8_t type, unsigned rwx, unsigned *granted, unsigned *denied)
{
	if (type == ACCESS_ALLOWED_ACE_TYPE)
		*granted |= rwx & ~*denied;
	else
		*denied |= rwx & ~*granted;
}

void sd_to_posix(const struct sd_desc *sd, struct sd_posix *out)
{
	memset(out, 0, sizeof(*out));
	if (sd->has_owner)
		out->has_uid = sd_sid_unix_id(&sd->owner, false, &out->uid);
	if (sd->has_group)
		out->has_gid = sd_sid_unix_id(&sd->group, true, &out->gid);
	if (!sd->has_dacl)
		return;
	struct sd_sid everyone;
	sd_sid_everyone(&everyone);
	unsigned g[3] = {0}, d[3] = {0}; /* user, group, other */
	for (unsigned i = 0; i < sd->n_aces; i++) {
		const struct sd_ace *a = &sd->aces[i];
		if (!a->has_sid || (a->flags & INHERIT_ONLY_ACE) ||
		    (a->type != ACCESS_ALLOWED_ACE_TYPE && a->type != ACCESS_DENIED_ACE_TYPE))
			continue;
		unsigned rwx = sd_rwx_from_rights(a->mask);
		if (sd->has_owner && sd_sid_eq(&a->sid, &sd->owner))
			apply(a->type, rwx, &g[0], &d[0]);
		if (sd->has_group && sd_sid_eq(&a->sid, &sd->group))
			apply(a->type, rwx, &g[1], &d[1]);
		if (sd_sid_eq(&a->sid, &everyone))
			apply(a->type, rwx, &g[2], &d[2]);
	}
	out->has_mode = true;
	out->mode = (uint16_t)(g[0] << 6 | g[1] << 3 | g[2]);
}

int sd_build_mode(struct wbuf *w, const struct sd_desc *cur, const struct sd_sid *owner,
		  const struct sd_sid *group, unsigned mode)
{
	if (!w)
		return -EINVAL;
	if (!owner || !group)
		return wbuf_fail(w, -EINVAL);
	struct sd_sid everyone;
	sd_sid_everyone(&everyone);
	size_t n_keep = 0, cap = 3 + (cur && cur->has_dacl ? cur->n_aces : 0);
	if (cap > UINT16_MAX)
		return wbuf_fail(w, -EOVERFLOW);
	struct sd_ace *aces = calloc(cap, sizeof(*aces));
	if (!aces)
		return wbuf_fail(w, -ENOMEM);
	const struct sd_sid *sids[3] = {owner, group, &everyone};
	for (int i = 0; i < 3; i++) {
		aces[i].type = ACCESS_ALLOWED_ACE_TYPE;
		aces[i].has_sid = true;
		aces[i].sid = *sids[i];
		aces[i].mask = sd_rights_from_rwx((mode >> (6 - 3 * i)) & 7);
	}
	for (unsigned i = 0; cur && cur->has_dacl && i < cur->n_aces; i++) {
		const struct sd_ace *a = &cur->aces[i];
		bool mine = a->has_sid && !(a->flags & INHERIT_ONLY_ACE) &&
			    (sd_sid_eq(&a->sid, owner) || sd_sid_eq(&a->sid, group) ||
			     sd_sid_eq(&a->sid, &everyone));
		if (!mine)
			aces[3 + n_keep++] = *a;
	}
	struct sd_desc sd = {
		.control = cur ? cur->control & (SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED) : 0,
		.has_dacl = true,
		.dacl_revision = cur && cur->dacl_revision ? cur->dacl_revision : 2,
		.n_aces = (uint16_t)(3 + n_keep),
		.aces = aces,
	};
	int r = sd_build(w, &sd);
	free(aces);
	return r;
}

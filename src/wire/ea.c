/* Extended attributes: FILE_FULL_EA_INFORMATION lists (MS-FSCC 2.4.15)
 * and FILE_GET_EA_INFORMATION (2.4.15.1).  Pure and bounds-checked; every
 * length from the server is checked against the entry it sits in. */
#include "wire_int.h"

#include <string.h>

#include "smb2fs/fscc.h"

#define EA_FIXED 8 /* NextEntryOffset, Flags, EaNameLength, EaValueLength */

int fscc_ea_walk(const uint8_t *buf, size_t len, int (*cb)(const struct fscc_ea *e, void *arg),
		 void *arg)
{
	size_t off = 0;
	if (len == 0)
		return 0;
	if (!buf)
		return -EBADMSG;
	for (;;) {
		if (len - off < EA_FIXED)
			return -EBADMSG;
		const uint8_t *p = buf + off;
		uint32_t next = le32_load(p);
		struct fscc_ea e = {
			.flags = p[4],
			.name_len = p[5],
			.value_len = le16_load(p + 6),
		};
		/* the entry's room: up to the next one, or the rest of buf */
		size_t room = next ? next : len - off;
		if (next && (next > len - off || next % 4 != 0))
			return -EBADMSG;
		size_t need = EA_FIXED + (size_t)e.name_len + 1 + e.value_len;
		if (e.name_len == 0 || need > room)
			return -EBADMSG;
		e.name = (const char *)p + EA_FIXED;
		if (memchr(e.name, 0, e.name_len) || p[EA_FIXED + e.name_len] != 0)
			return -EBADMSG;
		e.value = p + EA_FIXED + e.name_len + 1;
		int r = cb(&e, arg);
		if (r)
			return r;
		if (!next)
			return 0;
		off += next;
	}
}

static int ea_name_check(const char *name, size_t *len)
{
	if (!name)
		return -EINVAL;
	size_t n = strlen(name);
	if (n == 0)
		return -EINVAL;
	if (n > FSCC_EA_NAME_MAX)
		return -ERANGE;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
			return -EINVAL;
	*len = n;
	return 0;
}

int fscc_build_full_ea(struct wbuf *w, const char *name, const void *value, size_t value_len)
{
	size_t n;
	if (!w)
		return -EINVAL;
	int r = ea_name_check(name, &n);
	if (r < 0)
		return wire_fail(w, r);
	if (value_len > FSCC_EA_VALUE_MAX)
		return wire_fail(w, -E2BIG);
	if (value_len && !value)
		return wire_fail(w, -EINVAL);
	wbuf_u32(w, 0);                  /* NextEntryOffset: the only entry */
	wbuf_u8(w, 0);                   /* Flags */
	wbuf_u8(w, (uint8_t)n);
	wbuf_u16(w, (uint16_t)value_len);
	wbuf_bytes(w, name, n);
	wbuf_u8(w, 0);
	if (value_len)
		wbuf_bytes(w, value, value_len);
	return wire_done(w);
}

int fscc_build_get_ea(struct wbuf *w, const char *name)
{
	size_t n;
	if (!w)
		return -EINVAL;
	int r = ea_name_check(name, &n);
	if (r < 0)
		return wire_fail(w, r);
	wbuf_u32(w, 0);                  /* NextEntryOffset */
	wbuf_u8(w, (uint8_t)n);
	wbuf_bytes(w, name, n);
	wbuf_u8(w, 0);
	return wire_done(w);
}

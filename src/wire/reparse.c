/* Reparse data of symbolic links (MS-FSCC 2.1.2.4), as
 * FSCTL_GET_REPARSE_POINT returns it.  Pure and bounds-checked. */
#include "wire_int.h"

#include <stdlib.h>
#include <string.h>

#include "smb2fs/fscc.h"
#include "smb2fs/utf16.h"

#define SYMLINK_HDR 20 /* tag, data length, reserved, 4 name fields, flags */

int fscc_parse_symlink_reparse(const uint8_t *buf, size_t len, char **out, bool *relative)
{
	*out = NULL;
	if (!buf || len < 8)
		return -EBADMSG;
	uint32_t tag = le32_load(buf);
	size_t data_len = le16_load(buf + 4);
	if (tag != IO_REPARSE_TAG_SYMLINK)
		return -EOPNOTSUPP;
	if (8 + data_len > len || data_len < SYMLINK_HDR - 8)
		return -EBADMSG;
	size_t sub_off = le16_load(buf + 8), sub_len = le16_load(buf + 10);
	size_t pr_off = le16_load(buf + 12), pr_len = le16_load(buf + 14);
	uint32_t flags = le32_load(buf + 16);
	size_t path_len = 8 + data_len - SYMLINK_HDR; /* PathBuffer's size */
	if (sub_off + sub_len > path_len || pr_off + pr_len > path_len || sub_len % 2 || pr_len % 2)
		return -EBADMSG;
	const uint8_t *path = buf + SYMLINK_HDR;
	const uint8_t *name = pr_len ? path + pr_off : path + sub_off;
	size_t name_len = pr_len ? pr_len : sub_len;
	if (name_len == 0)
		return -EBADMSG;
	for (size_t i = 0; i < name_len; i += 2)
		if (name[i] == 0 && name[i + 1] == 0)
			return -EBADMSG; /* no POSIX path holds a NUL */
	char *s = NULL;
	int r = utf16_to_utf8(name, name_len, &s);
	if (r < 0)
		return r == -ENOMEM ? -ENOMEM : -EBADMSG;
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\\')
			s[i] = '/';
	*out = s;
	*relative = flags & SYMLINK_FLAG_RELATIVE;
	return 0;
}

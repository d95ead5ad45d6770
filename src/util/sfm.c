/* POSIX names <-> SMB names: the SFM private-use mapping (sfm.h). */
#include "smb2fs/sfm.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smb2fs/utf16.h"

/* U+F020 + i stands for sfm_chars[i].  The last two (space, period) are
 * mapped only as the last character of a name. */
static const char sfm_chars[] = "\"*:<>?\\| .";
#define SFM_BASE 0xF000u
#define SFM_FIRST_CHAR 0x20u           /* U+F020 */
#define SFM_LAST 0x29u                 /* U+F029 */
#define SFM_SPACE 0x28u                /* U+F028 */
#define SFM_PERIOD 0x29u               /* U+F029 */

/* The low byte (cp - U+F000) of the code point ch maps to, or 0. */
static unsigned sfm_code(unsigned char ch, bool last)
{
	if (ch >= 0x01 && ch <= 0x1F)
		return ch;
	if (ch == ' ')
		return last ? SFM_SPACE : 0;
	if (ch == '.')
		return last ? SFM_PERIOD : 0;
	const char *p = ch ? memchr(sfm_chars, ch, SFM_SPACE - SFM_FIRST_CHAR) : NULL;
	return p ? SFM_FIRST_CHAR + (unsigned)(p - sfm_chars) : 0;
}

static bool is_dot_or_dotdot(const char *s, size_t len)
{
	return (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.');
}

size_t sfm_name_to_smb(const char *name, size_t len, char *out)
{
	if (is_dot_or_dotdot(name, len)) {
		memcpy(out, name, len);
		return len;
	}
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];
		unsigned code = sfm_code(ch, i + 1 == len);
		if (!code) {
			out[o++] = (char)ch;
			continue;
		}
		/* U+F000 + code in UTF-8: EF 80 (80 + code), code < 0x40. */
		out[o++] = (char)0xEF;
		out[o++] = (char)0x80;
		out[o++] = (char)(0x80 | code);
	}
	return o;
}

size_t sfm_name_from_smb(const char *name, size_t len, char *out)
{
	const unsigned char *u = (const unsigned char *)name;
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		unsigned code = 0;
		if (len - i >= 3 && u[i] == 0xEF && u[i + 1] == 0x80 && u[i + 2] > 0x80 &&
		    u[i + 2] <= 0x80 + SFM_LAST)
			code = u[i + 2] - 0x80u;
		/* The space and period come back only where the way out puts
		 * them, so every listed name maps out to the stored one. */
		if ((code == SFM_SPACE || code == SFM_PERIOD) && i + 3 != len)
			code = 0;
		if (!code) {
			out[o++] = name[i++];
			continue;
		}
		out[o++] = code < SFM_FIRST_CHAR ? (char)code : sfm_chars[code - SFM_FIRST_CHAR];
		i += 3;
	}
	/* "\uF029" and ".\uF029" would list as the directory itself or its
	 * parent: such names keep their stored form. */
	if (is_dot_or_dotdot(out, o)) {
		memcpy(out, name, len);
		o = len;
	}
	out[o] = '\0';
	return o;
}

/* UTF-16 code units of the valid UTF-8 s[0..len): one per character, two
 * for those past U+FFFF (4-byte sequences). */
static size_t utf16_units(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch & 0xC0) != 0x80)
			n += ch >= 0xF0 ? 2 : 1;
	}
	return n;
}

int sfm_path_to_smb(const char *p, bool map, char **out)
{
	*out = NULL;
	size_t len = strlen(p);
	/* Linux names are bytes; SMB names are Unicode.  A name with no
	 * UTF-16 form is refused here, before any request is built. */
	if (!utf8_valid(p, len))
		return -EILSEQ;
	if (!map && strpbrk(p, "\\:"))
		return -EINVAL;
	while (len && *p == '/') {
		p++;
		len--;
	}
	while (len && p[len - 1] == '/')
		len--;
	/* First the limits, over the components as given: mapping changes
	 * no character count. */
	size_t units = 0;
	for (size_t i = 0; i <= len;) {
		const char *slash = memchr(p + i, '/', len - i);
		size_t n = slash ? (size_t)(slash - (p + i)) : len - i;
		size_t cu = utf16_units(p + i, n);
		if (cu > SFM_NAME_MAX)
			return -ENAMETOOLONG;
		units += cu + (slash ? 1 : 0);
		i += n + 1;
	}
	if (units > SFM_PATH_MAX)
		return -ENAMETOOLONG;
	/* A mapped byte becomes 3; len is far below SIZE_MAX / 3 here. */
	char *s = malloc(3 * len + 1);
	if (!s)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i <= len;) {
		const char *slash = memchr(p + i, '/', len - i);
		size_t n = slash ? (size_t)(slash - (p + i)) : len - i;
		if (map) {
			o += sfm_name_to_smb(p + i, n, s + o);
		} else {
			memcpy(s + o, p + i, n);
			o += n;
		}
		if (slash)
			s[o++] = '\\';
		i += n + 1;
	}
	s[o] = '\0';
	*out = s;
	return 0;
}

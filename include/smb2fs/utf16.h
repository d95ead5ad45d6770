/* UTF-8 <-> UTF-16LE conversion with surrogate pairs.  Invalid input
 * (overlong or truncated UTF-8, lone surrogates, NUL inside a name) is an
 * error (-EILSEQ), never silently replaced. */
#ifndef SMB2FS_UTF16_H
#define SMB2FS_UTF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2fs/buf.h"

/* Appends the UTF-16LE form of s[0..len) to w (no terminator).
 * Returns the number of bytes appended or a negative errno, which is also
 * recorded in w->err (-EILSEQ for invalid input; nothing is appended). */
SMB2FS_MUST_CHECK long utf16_from_utf8(struct wbuf *w, const char *s, size_t len);
/* The same conversion into a newly allocated buffer: *out holds *out_len
 * bytes of UTF-16LE followed by a 2-byte NUL (not counted; so "" gives a
 * valid pointer and length 0).  Returns 0, or -EILSEQ (invalid input, as
 * utf16_from_utf8), -ENOMEM, -EINVAL, with *out NULL.  For secrets (a
 * password): the buffer is allocated once and never moved, so no copy is
 * left behind, and on failure what was written is zeroed before it is
 * freed; the caller zeroes *out_len + 2 bytes before freeing it. */
SMB2FS_MUST_CHECK int utf16_from_utf8_alloc(const char *s, size_t len, uint8_t **out,
					    size_t *out_len);
/* Whether s[0..len) is strict UTF-8 without NUL, as utf16_from_utf8 wants. */
bool utf8_valid(const char *s, size_t len);
/* Converts len bytes of UTF-16LE (len must be even) into a newly allocated,
 * NUL-terminated UTF-8 string in *out.  Returns 0 or a negative errno. */
int utf16_to_utf8(const uint8_t *p, size_t len, char **out);

#endif

/* Strict UTF-8 <-> UTF-16LE conversion (RFC 3629, RFC 2781). */
#include "smb2fs/utf16.h"

#include <errno.h>
#include <stdlib.h>

/* Decodes one UTF-8 scalar at s[*i..len); returns it or -1 if invalid. */
static long utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[*i];
	size_t n;
	uint32_t cp, min;

	if (c < 0x80) {
		(*i)++;
		return c;
	} else if ((c & 0xE0) == 0xC0) {
		n = 1; cp = c & 0x1F; min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 2; cp = c & 0x0F; min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 3; cp = c & 0x07; min = 0x10000;
	} else {
		return -1;
	}
	if (n > len - *i - 1)
		return -1;
	for (size_t k = 1; k <= n; k++) {
		unsigned char cc = s[*i + k];
		if ((cc & 0xC0) != 0x80)
			return -1;
		cp = cp << 6 | (cc & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	*i += n + 1;
	return (long)cp;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (!s)
		return len == 0;
	while (i < len)
		if (utf8_next(u, len, &i) <= 0)
			return false;
	return true;
}

long utf16_from_utf8(struct wbuf *w, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t start = w->len;
	size_t i = 0;

	if (w->err)
		return w->err;
	if (!s && len)
		return wbuf_fail(w, -EINVAL);
	while (i < len) {
		long cp = utf8_next(u, len, &i);
		if (cp <= 0) {  /* invalid, or NUL inside a name */
			/* Nothing half-converted stays, and the buffer is
			 * poisoned so the message cannot be sent without it. */
			w->len = start;
			return wbuf_fail(w, -EILSEQ);
		}
		if (cp >= 0x10000) {
			uint32_t v = (uint32_t)cp - 0x10000;
			wbuf_u16(w, (uint16_t)(0xD800 | (v >> 10)));
			wbuf_u16(w, (uint16_t)(0xDC00 | (v & 0x3FF)));
		} else {
			wbuf_u16(w, (uint16_t)cp);
		}
	}
	if (w->err) {
		w->len = start < w->len ? start : w->len;
		return w->err;
	}
	return (long)(w->len - start);
}

/* Zeroes n bytes in a way the compiler keeps (as wbuf_free_secure). */
static void wipe(uint8_t *p, size_t n)
{
	volatile uint8_t *v = p;
	for (size_t i = 0; i < n; i++)
		v[i] = 0;
}

int utf16_from_utf8_alloc(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0;

	if (!out || !out_len)
		return -EINVAL;
	*out = NULL;
	*out_len = 0;
	if (!s && len)
		return -EINVAL;
	/* Each UTF-8 byte yields at most one UTF-16 unit (a 4-byte sequence
	 * yields a surrogate pair), plus the terminator. */
	if (len > (SIZE_MAX - 2) / 2)
		return -ENOMEM;
	uint8_t *p = malloc(len * 2 + 2);
	if (!p)
		return -ENOMEM;
	while (i < len) {
		long cp = utf8_next(u, len, &i);
		if (cp <= 0) {  /* invalid, or NUL inside the string */
			wipe(p, o);
			free(p);
			return -EILSEQ;
		}
		if (cp >= 0x10000) {
			uint32_t v = (uint32_t)cp - 0x10000;
			le16_store(p + o, (uint16_t)(0xD800 | (v >> 10)));
			le16_store(p + o + 2, (uint16_t)(0xDC00 | (v & 0x3FF)));
			o += 4;
		} else {
			le16_store(p + o, (uint16_t)cp);
			o += 2;
		}
	}
	le16_store(p + o, 0);
	*out = p;
	*out_len = o;
	return 0;
}

int utf16_to_utf8(const uint8_t *p, size_t len, char **out)
{
	*out = NULL;
	if (len & 1)
		return -EILSEQ;
	if (!p && len)
		return -EINVAL;
	/* Worst case: 3 UTF-8 bytes per UTF-16 unit (BMP), 4 per pair (= 2 units). */
	size_t units = len / 2;
	if (units > (SIZE_MAX - 1) / 3)
		return -ENOMEM;
	char *s = malloc(units * 3 + 1);
	if (!s)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < units; i++) {
		uint32_t cp = le16_load(p + 2 * i);
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			if (i + 1 >= units)
				goto bad;
			uint32_t lo = le16_load(p + 2 * (i + 1));
			if (lo < 0xDC00 || lo > 0xDFFF)
				goto bad;
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			i++;
		} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
			goto bad;
		} else if (cp == 0) {
			goto bad;
		}
		if (cp < 0x80) {
			s[o++] = (char)cp;
		} else if (cp < 0x800) {
			s[o++] = (char)(0xC0 | cp >> 6);
			s[o++] = (char)(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			s[o++] = (char)(0xE0 | cp >> 12);
			s[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			s[o++] = (char)(0x80 | (cp & 0x3F));
		} else {
			s[o++] = (char)(0xF0 | cp >> 18);
			s[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
			s[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
			s[o++] = (char)(0x80 | (cp & 0x3F));
		}
	}
	s[o] = '\0';
	*out = s;
	return 0;
bad:
	free(s);
	return -EILSEQ;
}

/* Bounded little-endian reader (sticky error) and growable writer. */
#include "smb2fs/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rbuf_init(struct rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->pos = 0;
	r->err = false;
}

/* Returns a pointer to n bytes at pos and advances, or NULL and sets err. */
static const uint8_t *rbuf_take(struct rbuf *r, size_t n)
{
	if (r->err || r->pos > r->len || n > r->len - r->pos) {
		r->err = true;
		return NULL;
	}
	const uint8_t *q = r->p + r->pos;
	r->pos += n;
	return q;
}

uint8_t rbuf_u8(struct rbuf *r)
{
	const uint8_t *q = rbuf_take(r, 1);
	return q ? q[0] : 0;
}

uint16_t rbuf_u16(struct rbuf *r)
{
	const uint8_t *q = rbuf_take(r, 2);
	return q ? le16_load(q) : 0;
}

uint32_t rbuf_u32(struct rbuf *r)
{
	const uint8_t *q = rbuf_take(r, 4);
	return q ? le32_load(q) : 0;
}

uint64_t rbuf_u64(struct rbuf *r)
{
	const uint8_t *q = rbuf_take(r, 8);
	return q ? le64_load(q) : 0;
}

void rbuf_bytes(struct rbuf *r, void *dst, size_t n)
{
	const uint8_t *q = rbuf_take(r, n);
	if (n == 0)
		return;
	if (q)
		memcpy(dst, q, n);
	else
		memset(dst, 0, n);
}

const uint8_t *rbuf_ptr(struct rbuf *r, size_t n)
{
	return rbuf_take(r, n);
}

void rbuf_skip(struct rbuf *r, size_t n)
{
	(void)rbuf_take(r, n);
}

void rbuf_seek(struct rbuf *r, size_t pos)
{
	if (pos > r->len) {
		r->err = true;
		return;
	}
	r->pos = pos;
}

size_t rbuf_left(const struct rbuf *r)
{
	if (r->err || r->pos > r->len)
		return 0;
	return r->len - r->pos;
}

const uint8_t *rbuf_at(struct rbuf *r, size_t off, size_t n)
{
	if (off > r->len || n > r->len - off) {
		r->err = true;
		return NULL;
	}
	if (!r->p) {
		/* empty buffer: only (0, 0) is in range; return a non-NULL dummy */
		static const uint8_t empty[1];
		return empty;
	}
	return r->p + off;
}

void wbuf_init(struct wbuf *w)
{
	w->p = NULL;
	w->len = 0;
	w->cap = 0;
	w->err = 0;
}

void wbuf_free(struct wbuf *w)
{
	free(w->p);
	wbuf_init(w);
}

void wbuf_free_secure(struct wbuf *w)
{
	if (w->p && w->cap) {
		volatile uint8_t *v = w->p;
		for (size_t i = 0; i < w->cap; i++)
			v[i] = 0;
	}
	wbuf_free(w);
}

void wbuf_reset(struct wbuf *w)
{
	w->len = 0;
	w->err = 0;
}

int wbuf_fail(struct wbuf *w, int err)
{
	if (!w->err)
		w->err = err < 0 ? err : -EINVAL;
	return w->err;
}

int wbuf_check(struct wbuf *w, int rc)
{
	return rc < 0 ? wbuf_fail(w, rc) : w->err;
}

bool wbuf_reserve(struct wbuf *w, size_t n)
{
	if (w->err)
		return false;
	if (n > SIZE_MAX - w->len) {
		wbuf_fail(w, -EOVERFLOW);
		return false;
	}
	size_t need = w->len + n;
	if (need <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	uint8_t *np = realloc(w->p, cap);
	if (!np) {
		wbuf_fail(w, -ENOMEM);
		return false;
	}
	w->p = np;
	w->cap = cap;
	return true;
}

void wbuf_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (n == 0 || !wbuf_reserve(w, n))
		return;
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

void wbuf_zero(struct wbuf *w, size_t n)
{
	if (n == 0 || !wbuf_reserve(w, n))
		return;
	memset(w->p + w->len, 0, n);
	w->len += n;
}

void wbuf_u8(struct wbuf *w, uint8_t v)
{
	wbuf_bytes(w, &v, 1);
}

void wbuf_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2];
	le16_store(b, v);
	wbuf_bytes(w, b, 2);
}

void wbuf_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4];
	le32_store(b, v);
	wbuf_bytes(w, b, 4);
}

void wbuf_u64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];
	le64_store(b, v);
	wbuf_bytes(w, b, 8);
}

void wbuf_align(struct wbuf *w, size_t a)
{
	if (a < 2)
		return;
	size_t rem = w->len & (a - 1);
	if (rem)
		wbuf_zero(w, a - rem);
}

void wbuf_put_u16_at(struct wbuf *w, size_t off, uint16_t v)
{
	if (w->err)
		return;
	if (off > w->len || w->len - off < 2) {
		wbuf_fail(w, -EINVAL);
		return;
	}
	le16_store(w->p + off, v);
}

void wbuf_put_u32_at(struct wbuf *w, size_t off, uint32_t v)
{
	if (w->err)
		return;
	if (off > w->len || w->len - off < 4) {
		wbuf_fail(w, -EINVAL);
		return;
	}
	le32_store(w->p + off, v);
}

/* Minimal, bounds-checked DER (X.690 8.1) for SPNEGO tokens. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "der.h"

void der_rd_init(struct der_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->pos = 0;
}

bool der_rd_end(const struct der_rd *r)
{
	return r->pos >= r->len;
}

int der_next(struct der_rd *r, uint8_t *tag, const uint8_t **val, size_t *vlen)
{
	size_t pos = r->pos, left, n;
	uint8_t t, l;

	if (pos >= r->len || r->len - pos < 2)
		return -EBADMSG;
	t = r->p[pos++];
	/* SPNEGO only uses low tag numbers; the high-tag form is refused. */
	if ((t & 0x1f) == 0x1f)
		return -EBADMSG;
	l = r->p[pos++];
	if (l < 0x80) {
		n = l;
	} else {
		size_t k = l & 0x7f;
		/* 0x80 is BER's indefinite length (not DER); more than 4 length
		 * bytes would describe more than any SMB buffer can hold. */
		if (k == 0 || k > 4 || r->len - pos < k)
			return -EBADMSG;
		n = 0;
		while (k--)
			n = n << 8 | r->p[pos++];
	}
	left = r->len - pos;
	if (n > left)
		return -EBADMSG;
	*tag = t;
	*val = r->p + pos;
	*vlen = n;
	r->pos = pos + n;
	return 0;
}

int der_expect(struct der_rd *r, uint8_t tag, const uint8_t **val, size_t *vlen)
{
	struct der_rd save = *r;
	uint8_t t;
	int rc = der_next(r, &t, val, vlen);

	if (rc)
		return rc;
	if (t != tag) {
		*r = save;
		return -EBADMSG;
	}
	return 0;
}

int der_wr_init(struct der_wr *w, size_t cap)
{
	w->buf = malloc(cap ? cap : 1);
	w->cap = cap;
	w->start = cap;
	w->err = !w->buf;
	return w->buf ? 0 : -ENOMEM;
}

void der_wr_free(struct der_wr *w)
{
	free(w->buf);
	w->buf = NULL;
	w->cap = w->start = 0;
}

size_t der_wr_len(const struct der_wr *w)
{
	return w->cap - w->start;
}

void der_wr_bytes(struct der_wr *w, const void *p, size_t n)
{
	if (w->err || n > w->start) {
		w->err = true;
		return;
	}
	w->start -= n;
	if (n)
		memcpy(w->buf + w->start, p, n);
}

void der_wr_hdr(struct der_wr *w, uint8_t tag, size_t content_len)
{
	uint8_t h[6];
	size_t n = 0, i;

	if (content_len > 0xffffffffu) {
		w->err = true;
		return;
	}
	h[0] = tag;
	if (content_len < 0x80) {
		h[1] = (uint8_t)content_len;
		n = 2;
	} else {
		/* Minimal long form: as few length bytes as the value needs. */
		size_t k = content_len > 0xffffff ? 4 : content_len > 0xffff ? 3 :
			   content_len > 0xff ? 2 : 1;
		h[1] = (uint8_t)(0x80 | k);
		for (i = 0; i < k; i++)
			h[2 + i] = (uint8_t)(content_len >> (8 * (k - 1 - i)));
		n = 2 + k;
	}
	der_wr_bytes(w, h, n);
}

int der_wr_take(struct der_wr *w, uint8_t **out, size_t *out_len)
{
	size_t n = der_wr_len(w);
	uint8_t *p;

	if (w->err) {
		der_wr_free(w);
		return -ENOMEM;
	}
	p = malloc(n ? n : 1);
	if (!p) {
		der_wr_free(w);
		return -ENOMEM;
	}
	memcpy(p, w->buf + w->start, n);
	der_wr_free(w);
	*out = p;
	*out_len = n;
	return 0;
}

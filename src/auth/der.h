/* Minimal DER for SPNEGO (X.690): a bounded TLV reader and a writer that
 * builds back to front, so nested lengths are known when headers are written.
 * Private to src/auth. */
#ifndef SMB2FS_AUTH_DER_H
#define SMB2FS_AUTH_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct der_rd {
	const uint8_t *p;
	size_t len;
	size_t pos;
};

void der_rd_init(struct der_rd *r, const uint8_t *p, size_t len);
bool der_rd_end(const struct der_rd *r);
/* Reads the next TLV; its value lies wholly inside the reader's range.
 * Returns 0 or -EBADMSG (truncated, indefinite or >4-byte length, high-tag
 * form).  Does not advance on error. */
int der_next(struct der_rd *r, uint8_t *tag, const uint8_t **val, size_t *vlen);
/* der_next that also requires the tag. */
int der_expect(struct der_rd *r, uint8_t tag, const uint8_t **val, size_t *vlen);

/* Back-to-front writer over a buffer of fixed capacity. */
struct der_wr {
	uint8_t *buf;
	size_t cap;
	size_t start; /* data lives in buf[start..cap) */
	bool err;
};

int der_wr_init(struct der_wr *w, size_t cap);
void der_wr_free(struct der_wr *w);
size_t der_wr_len(const struct der_wr *w);
/* Prepends raw bytes. */
void der_wr_bytes(struct der_wr *w, const void *p, size_t n);
/* Prepends tag and length for the `content_len` bytes already written after
 * it; use der_wr_len() before and after writing the content to get it. */
void der_wr_hdr(struct der_wr *w, uint8_t tag, size_t content_len);
/* Hands the finished encoding to the caller (malloc'ed); frees w. */
int der_wr_take(struct der_wr *w, uint8_t **out, size_t *out_len);

#endif

/* Bounded little-endian readers and writers used by every codec.
 *
 * Readers never touch memory outside [p, p+len): a read past the end sets the
 * sticky `err` flag and yields zeros, so decoders can read a run of fields and
 * check `err` once.  Writers grow on demand and carry a sticky errno: an
 * allocation failure, or an encoder that cannot represent its input (invalid
 * UTF-8, a length too big for its field), records why, later writes do
 * nothing, and the send path refuses the buffer.  Neither does I/O. */
#ifndef SMB2FS_BUF_H
#define SMB2FS_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* For encoders and builders: a result that says whether the message is
 * complete must not be dropped. */
#define SMB2FS_MUST_CHECK __attribute__((warn_unused_result))

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t pos;
	bool err;
};

void rbuf_init(struct rbuf *r, const void *p, size_t len);
uint8_t rbuf_u8(struct rbuf *r);
uint16_t rbuf_u16(struct rbuf *r);
uint32_t rbuf_u32(struct rbuf *r);
uint64_t rbuf_u64(struct rbuf *r);
/* Copies n bytes into dst (zero-filled on error). */
void rbuf_bytes(struct rbuf *r, void *dst, size_t n);
/* Returns a pointer to the next n bytes and advances, or NULL + err. */
const uint8_t *rbuf_ptr(struct rbuf *r, size_t n);
void rbuf_skip(struct rbuf *r, size_t n);
/* Absolute seek within the buffer; pos > len sets err. */
void rbuf_seek(struct rbuf *r, size_t pos);
size_t rbuf_left(const struct rbuf *r);
/* Checks that [off, off+n) lies inside the buffer; returns a pointer to it or
 * NULL (and sets err).  n == 0 returns a non-NULL pointer only if off <= len. */
const uint8_t *rbuf_at(struct rbuf *r, size_t off, size_t n);

struct wbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	int err;      /* 0, or the first failure as a negative errno */
};

void wbuf_init(struct wbuf *w);
void wbuf_free(struct wbuf *w);
/* Overwrites the contents with zeros before freeing (for key material). */
void wbuf_free_secure(struct wbuf *w);
/* Empties the buffer and clears its error, for reuse. */
void wbuf_reset(struct wbuf *w);
/* Records err (a negative errno) unless an earlier error is already
 * recorded; returns the buffer's error (the first one). */
int wbuf_fail(struct wbuf *w, int err);
/* After an encoder returned rc: records rc if it is an error, then returns
 * the buffer's error (0 when the buffer is fit to send). */
int wbuf_check(struct wbuf *w, int rc);
void wbuf_u8(struct wbuf *w, uint8_t v);
void wbuf_u16(struct wbuf *w, uint16_t v);
void wbuf_u32(struct wbuf *w, uint32_t v);
void wbuf_u64(struct wbuf *w, uint64_t v);
void wbuf_bytes(struct wbuf *w, const void *src, size_t n);
void wbuf_zero(struct wbuf *w, size_t n);
/* Pads with zeros to a multiple of `a` (a power of two). */
void wbuf_align(struct wbuf *w, size_t a);
/* Patches already-written bytes at `off` (-EINVAL if out of range). */
void wbuf_put_u16_at(struct wbuf *w, size_t off, uint16_t v);
void wbuf_put_u32_at(struct wbuf *w, size_t off, uint32_t v);
/* Makes room for n more bytes; returns false (err set) on failure. */
bool wbuf_reserve(struct wbuf *w, size_t n);

/* Plain LE loads/stores for fixed-size arrays the caller has bounds-checked. */
static inline uint16_t le16_load(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t le32_load(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t le64_load(const uint8_t *p)
{
	return (uint64_t)le32_load(p) | (uint64_t)le32_load(p + 4) << 32;
}
static inline void le16_store(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void le32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void le64_store(uint8_t *p, uint64_t v)
{
	le32_store(p, (uint32_t)v);
	le32_store(p + 4, (uint32_t)(v >> 32));
}

#endif

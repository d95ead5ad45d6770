/* Helpers shared by the SMB2 codecs (private to src/wire). */
#ifndef SMB2FS_WIRE_INT_H
#define SMB2FS_WIRE_INT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2fs/buf.h"
#include "smb2fs/wire.h"

/* Positions r just after the header of msg and checks the body's
 * StructureSize.  The fixed part (structure_size rounded down to even, per
 * MS-SMB2 2.2: odd sizes mean "fixed part + variable buffer") must fit.
 * Returns 0 or -EBADMSG. */
int wire_body_begin(struct rbuf *r, const uint8_t *msg, size_t len, uint16_t structure_size);

/* Validates a (offset, length) pair taken from a response: offset is from
 * the header start; the buffer must lie after the fixed part of the body
 * (min_off) and inside the message.  A zero length is accepted with any
 * offset (servers send offset 0) and yields *out = NULL.  Returns 0 or
 * -EBADMSG. */
int wire_buffer(const uint8_t *msg, size_t len, uint64_t off, uint64_t n, size_t min_off,
		const uint8_t **out);

/* Decodes the shape QUERY_DIRECTORY and QUERY_INFO responses share
 * (MS-SMB2 2.2.34, 2.2.38): StructureSize 9, OutputBufferOffset (u16),
 * OutputBufferLength (u32), buffer.  Returns 0 or -EBADMSG. */
int wire_out_buffer_decode(const uint8_t *msg, size_t len, const uint8_t **buf, uint32_t *buf_len);

/* Fixed part length of a body with the given StructureSize. */
static inline size_t wire_fixed(uint16_t structure_size) { return (size_t)(structure_size & ~1u); }

/* An encoder's exit: 0, or the buffer's sticky error. */
static inline int wire_done(const struct wbuf *w) { return w->err; }

/* An encoder's failure: recorded in w (the first error wins, so the
 * message cannot be sent) and returned. */
static inline int wire_fail(struct wbuf *w, int err) { return wbuf_fail(w, err); }

/* A message-relative offset for a u16 field, or -EOVERFLOW recorded in w. */
static inline int wire_off16(struct wbuf *w, size_t off, uint16_t *out)
{
	*out = off > 0xFFFF ? 0 : (uint16_t)off;
	return off > 0xFFFF ? wire_fail(w, -EOVERFLOW) : 0;
}

#endif

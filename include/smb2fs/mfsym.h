/* Special files stored as regular files, for servers that have no POSIX
 * file types (src/util/mfsym.c).  Pure: no I/O.
 *
 * Minshall+French symlinks ("mfsymlinks", as cifs, macOS and Docker for
 * Windows store them): a regular file of exactly MFSYM_FILE_SIZE bytes,
 *   "XSym\n" + the target's length as 4 decimal digits + "\n"
 *   + the MD5 of the target as 32 lowercase hex digits + "\n"
 *   + the target + "\n" (when the target is shorter than 1024 bytes),
 * padded with spaces to the full size.
 *
 * Services for Unix ("sfu", as cifs's sfu option): a file with the
 * SYSTEM attribute whose contents say what it is: empty = a FIFO;
 * "IntxCHR\0" or "IntxBLK\0" + major + minor (64-bit little-endian each)
 * = a character or block device; "LnxFIFO\0" / "LnxSOCK\0" (what newer
 * cifs writes) = a FIFO / a socket. */
#ifndef SMB2FS_MFSYM_H
#define SMB2FS_MFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MFSYM_FILE_SIZE 1067
#define MFSYM_TARGET_MAX 1024

/* Writes the MFSYM_FILE_SIZE bytes of a link to target (tlen bytes, no
 * NUL inside) into out.  -ENAMETOOLONG over MFSYM_TARGET_MAX bytes,
 * -EINVAL for an empty target or one holding a NUL, -ENOMEM (MD5). */
int mfsym_build(const char *target, size_t tlen, uint8_t out[MFSYM_FILE_SIZE]);
/* The target of a link file's first len bytes: copied into target (cap
 * bytes, NUL-terminated; -ERANGE when it does not fit), its length in
 * *tlen.  -EINVAL: not an mfsymlink (too short, wrong magic, length or
 * digest). */
int mfsym_parse(const uint8_t *buf, size_t len, char *target, size_t cap, size_t *tlen);

/* The kinds (POSIX S_IF* type bits) sfu_parse returns. */
#define SFU_HEAD_SIZE 24
#define SFU_DEV_SIZE 24
/* A device file's contents: "IntxCHR\0" (block false) or "IntxBLK\0",
 * then major and minor as 64-bit little-endian. */
void sfu_build_dev(bool block, uint32_t major, uint32_t minor, uint8_t out[SFU_DEV_SIZE]);
/* What an SFU file of size eof whose first len bytes are buf stands for:
 * S_IFIFO, S_IFSOCK, S_IFCHR or S_IFBLK (with *major, *minor), or 0 (a
 * regular file).  An empty file is a FIFO (buf may be NULL then). */
unsigned sfu_parse(const uint8_t *buf, size_t len, uint64_t eof, uint32_t *major, uint32_t *minor);

#endif

/* POSIX names <-> SMB names.
 *
 * A Linux name may hold any byte but '/' and NUL; an SMB name may not hold
 * " * : < > ? \ | or the controls U+0001..U+001F, and Windows drops a
 * trailing space or period.  The "Services for Macintosh" (SFM) scheme,
 * which macOS's SMB client and cifs's `mapposix` use, stores each of those
 * as a code point of the private-use range U+F001..U+F029 instead, so such
 * names round-trip and every client using the scheme sees the same name:
 *
 *   0x01..0x1F -> U+F001..U+F01F
 *   "  *  :  <  >  ?  \  |   -> U+F020 .. U+F027 (in this order)
 *   a trailing space, period -> U+F028, U+F029
 *
 * The way back maps those code points to the characters again (U+F028 and
 * U+F029 only as the last character of a name, where the way out puts
 * them).  A name that already holds one of these private-use code points
 * goes out unchanged and comes back with the character it stands for (as
 * cifs does): both names reach the same file.
 *
 * Pure functions, no I/O, no global state. */
#ifndef SMB2FS_SFM_H
#define SMB2FS_SFM_H

#include <stdbool.h>
#include <stddef.h>

/* The longest name component SMB can carry, in UTF-16 code units
 * (MS-FSCC 2.1.5: 255 characters; Samba and NTFS report it as
 * MaximumComponentNameLength).  An ASCII name of 256 bytes is over it. */
#define SFM_NAME_MAX 255
/* The longest path, in UTF-16 code units: CREATE's NameLength is 16 bits
 * of bytes (MS-SMB2 2.2.13), and Windows allows 32,767 characters. */
#define SFM_PATH_MAX 32767

/* The SMB form of the name component name[0..len) (UTF-8, no '/'): each
 * character above mapped to its code point.  out must have room for
 * 3 * len bytes (a mapped byte becomes 3 bytes of UTF-8); no NUL is added.
 * The components "." and ".." are copied unchanged.  Returns the length
 * written. */
size_t sfm_name_to_smb(const char *name, size_t len, char *out);

/* The POSIX form of the name component name[0..len) the server returned
 * (UTF-8): the code points above mapped back.  out must have room for
 * len + 1 bytes (the result is never longer); it is NUL-terminated.  A
 * name that would become "." or ".." is copied unchanged.  Returns the
 * length written (without the NUL). */
size_t sfm_name_from_smb(const char *name, size_t len, char *out);

/* The SMB path of the POSIX path posix_path relative to the share ("/",
 * "/dir/name"; leading and trailing '/' dropped): its components joined
 * by '\', each mapped by sfm_name_to_smb when map is true.  *out is
 * malloc'ed, NUL-terminated UTF-8 (NULL on failure).  Returns 0, or
 *   -EILSEQ        the path is not strict UTF-8 (it has no SMB form),
 *   -ENAMETOOLONG  a component over SFM_NAME_MAX UTF-16 units, or the
 *                  whole path over SFM_PATH_MAX,
 *   -EINVAL        map is false and a name holds '\' (the SMB separator)
 *                  or ':' (an alternate data stream, MS-FSCC 2.1.5):
 *                  either would reach another object than the one named,
 *   -ENOMEM. */
int sfm_path_to_smb(const char *posix_path, bool map, char **out);

#endif

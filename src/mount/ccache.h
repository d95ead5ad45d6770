/* The credential cache of another user, for cruid= (ccache.c). */
#ifndef SMB2FS_MOUNT_CCACHE_H
#define SMB2FS_MOUNT_CCACHE_H

#include <stddef.h>
#include <sys/types.h>

/* The name of uid's default Kerberos ccache ("FILE:/tmp/krb5cc_1000"),
 * malloc'ed into *out.  Returns 0, or a negative errno with one line
 * ("smb2fs: ...") in err.  Forks: call before any thread starts. */
int ccache_for_uid(uid_t uid, char **out, char *err, size_t errlen);

#endif

/* TCP transport: connect with a timeout, exact reads, gathered writes. */
#ifndef SMB2FS_TRANSPORT_H
#define SMB2FS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Returns a connected socket, or -errno with "cannot reach HOST:PORT: why"
 * in err. */
int transport_connect(const char *host, uint16_t port, unsigned timeout_sec, char *err,
		      size_t errlen);
/* Reads exactly n bytes: 0, -ENODATA on EOF, or -errno. */
int transport_read_full(int fd, void *buf, size_t n);
/* Writes the cnt pieces of iov completely, in order, with as few sendmsg
 * calls as the socket allows (no SIGPIPE); iov is used up.  0 or -errno. */
int transport_writev(int fd, struct iovec *iov, int cnt);

#endif

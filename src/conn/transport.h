/* TCP transport: connect with a timeout, exact reads, gathered writes. */
#ifndef SMB2FS_TRANSPORT_H
#define SMB2FS_TRANSPORT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Returns a connected socket, or -errno with "cannot reach HOST:PORT: why"
 * in err. */
int transport_connect(const char *host, uint16_t port, unsigned timeout_sec, char *err,
		      size_t errlen);
/* Reads exactly n bytes: 0, -ENODATA on EOF, or -errno. */
int transport_read_full(int fd, void *buf, size_t n);
/* transport_read_full that stores CLOCK_MONOTONIC (ns) in *stamp (may be
 * NULL) after every read that returned data: the server's last sign of
 * life, for the watchdog, also in the middle of a big frame. */
int transport_read_stamped(int fd, void *buf, size_t n, _Atomic int64_t *stamp);
/* TCP_USER_TIMEOUT and the send timeout (SO_SNDTIMEO) both dead_sec:
 * unacknowledged data and a write the server does not take end the
 * connection then (the watchdog judges the rest, conn.h). */
void transport_set_liveness(int fd, unsigned dead_sec);
/* Writes the cnt pieces of iov completely, in order, with as few sendmsg
 * calls as the socket allows (no SIGPIPE); iov is used up.  0 or -errno. */
int transport_writev(int fd, struct iovec *iov, int cnt);

#endif

/* TCP transport for SMB2 (MS-SMB2 2.1 direct TCP, port 445). */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "smb2fs/clock.h"

#define SEND_TIMEOUT_SEC 60

static int connect_one(const struct addrinfo *ai, unsigned timeout_sec)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (r < 0 && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	if (r < 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		do
			r = poll(&pfd, 1, (int)timeout_sec * 1000);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			close(fd);
			return -ETIMEDOUT;
		}
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			close(fd);
			return -soerr;
		}
	}
	/* Back to blocking: the receiver thread blocks in read(). */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	/* A server that stops reading (zero window) must not wedge every
	 * sender behind the send lock: writes give up after this long, and
	 * so does the kernel on unacknowledged data.  The connection's
	 * watchdog tightens this to 2 x echo_interval (smb2_conn_set_echo). */
	transport_set_liveness(fd, SEND_TIMEOUT_SEC);
	return fd;
}

int transport_connect(const char *host, uint16_t port, unsigned timeout_sec, char *err,
		      size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char portstr[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	int g = getaddrinfo(host, portstr, &hints, &res);
	if (g) {
		snprintf(err, errlen, "cannot reach %s:%u: %s", host, port, gai_strerror(g));
		return -EHOSTUNREACH;
	}
	int fd = -ECONNREFUSED;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai, timeout_sec ? timeout_sec : 10);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errlen, "cannot reach %s:%u: %s", host, port,
			 fd == -ETIMEDOUT ? "no answer (connection timed out)" : strerror(-fd));
	return fd;
}

int transport_read_full(int fd, void *buf, size_t n)
{
	return transport_read_stamped(fd, buf, n, NULL);
}

int transport_read_stamped(int fd, void *buf, size_t n, _Atomic int64_t *stamp)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ENODATA;
		if (stamp)
			atomic_store_explicit(stamp, smb2_clock_now_ns(CLOCK_MONOTONIC),
					      memory_order_relaxed);
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

void transport_set_liveness(int fd, unsigned dead_sec)
{
	/* TCP's own bounds, so that no write waits for ever, watchdog or
	 * not: data the server does not acknowledge (TCP_USER_TIMEOUT) and a
	 * write it does not take (a zero window, SO_SNDTIMEO: every other
	 * sender waits behind the send lock) end the connection after
	 * dead_sec, the watchdog's bound when it is on (conn.c).  Whether
	 * the server still answers, busy or idle, is the watchdog's to judge
	 * (its ECHOs); TCP keepalive keeps the system's timing. */
	unsigned user_timeout_ms = dead_sec * 1000;
	struct timeval snd = {.tv_sec = dead_sec};
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof(user_timeout_ms));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
}

int transport_writev(int fd, struct iovec *iov, int cnt)
{
	struct iovec *v = iov;

	while (cnt && v->iov_len == 0) {
		v++;
		cnt--;
	}
	while (cnt) {
		struct msghdr mh = {.msg_iov = v, .msg_iovlen = (size_t)cnt};
		ssize_t r = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		size_t done = (size_t)r;
		while (cnt && done >= v->iov_len) {
			done -= v->iov_len;
			v++;
			cnt--;
		}
		if (cnt) {
			v->iov_base = (uint8_t *)v->iov_base + done;
			v->iov_len -= done;
		}
	}
	return 0;
}

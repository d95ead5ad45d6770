/* Time points for timed waits (pthread_cond_timedwait, clock-locks). */
#ifndef SMB2FS_CLOCK_H
#define SMB2FS_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Now on clk, in nanoseconds. */
static inline int64_t smb2_clock_now_ns(clockid_t clk)
{
	struct timespec now;
	clock_gettime(clk, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* *out = now on clk + ms milliseconds. */
static inline void smb2_clock_after_ms(clockid_t clk, long ms, struct timespec *out)
{
	clock_gettime(clk, out);
	out->tv_sec += ms / 1000;
	out->tv_nsec += (ms % 1000) * 1000000L;
	if (out->tv_nsec >= 1000000000L) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000L;
	}
}

#endif

/* Timestamped log lines to stderr; one fprintf per line so lines from
 * concurrent threads do not interleave (stdio locks the stream). */
#include "smb2fs/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

bool smb2_log_debug_on;

static void vlog(const char *level, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%02d:%02d:%02d.%06ld smb2fs %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000, level, line);
}

void smb2_log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("error", fmt, ap);
	va_end(ap);
}

void smb2_log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("info", fmt, ap);
	va_end(ap);
}

void smb2_log_debug_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("debug", fmt, ap);
	va_end(ap);
}

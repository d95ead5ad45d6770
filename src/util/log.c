/* Timestamped log lines to stderr; one fprintf per line so lines from
 * concurrent threads do not interleave (stdio locks the stream). */
#include "smb2fs/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

bool smb2_log_debug_on;
static bool to_syslog;

void smb2_log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID, LOG_DAEMON);
	to_syslog = true;
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;

	if (to_syslog && level[0] != 'd') {
		vsyslog(level[0] == 'e' ? LOG_ERR : LOG_INFO, fmt, ap);
		return;
	}
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

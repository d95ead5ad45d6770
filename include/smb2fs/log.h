/* Logging to stderr (or, once daemonized, wherever stderr was pointed).
 * Library layers log only at debug level, and only when debug logging was
 * switched on (the `debug` mount option).  Never pass secrets to these. */
#ifndef SMB2FS_LOG_H
#define SMB2FS_LOG_H

#include <stdbool.h>

extern bool smb2_log_debug_on;

/* Once the process is a daemon with stderr on /dev/null, errors and info
 * go to syslog (daemon facility) instead; debug lines stay on stderr. */
void smb2_log_use_syslog(const char *ident);

void smb2_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void smb2_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void smb2_log_debug_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define smb2_log_debug(...)                                                          \
	do {                                                                         \
		if (smb2_log_debug_on)                                               \
			smb2_log_debug_(__VA_ARGS__);                                \
	} while (0)

#endif

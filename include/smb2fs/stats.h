/* Per-mount request statistics (docs/stats.md).
 *
 * The counters live with their owner.  This struct is the connection
 * layer's: conn.c counts every request it sends and every reply or
 * failure it hands back, by SMB2 command, with the data bytes of READs
 * and WRITEs and the time from send to reply, and keeps the current
 * connection's credit figures in it.  It outlives connections: the client
 * owns one for the mount and hands it to every connection it builds
 * (smb2_conn_set_stats), so the counts run across reconnects.  The client
 * counts its own events (reconnects, session renewals) and open handles
 * itself, and formats the whole (smb2_client_stats, client.h).
 *
 * Every field is updated with relaxed atomic operations and no lock, so
 * counting costs a few additions per request; a reader sees each counter
 * whole but the counters not as one snapshot (a request may show as sent
 * and not yet answered). */
#ifndef SMB2FS_STATS_H
#define SMB2FS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "smb2fs/wire.h"

/* Latency buckets, upper bounds in microseconds (the last is open):
 * <100 us, <1 ms, <10 ms, <100 ms, <1 s, >= 1 s. */
#define SMB2_STATS_NBUCKETS 6

struct smb2_cmd_stats {
	uint64_t requests;     /* sent (a chain counts each of its messages) */
	uint64_t errors;       /* ended without a reply, or with an error status */
	uint64_t replies;      /* final replies received (latency counted) */
	uint64_t latency_us;   /* sum over the replies */
};

struct smb2_conn_stats {
	struct smb2_cmd_stats cmd[SMB2_NCOMMANDS];
	uint64_t latency_hist[SMB2_STATS_NBUCKETS];
	uint64_t bytes_read;     /* data of successful READ replies */
	uint64_t bytes_written;  /* data the server acknowledged in WRITE replies */
	uint64_t timeouts;       /* requests that got no reply in time (dropped the connection) */
	/* The current connection (gauges, 0 between connections): */
	uint32_t credits;        /* granted and not yet used */
	uint32_t in_flight;      /* charged to requests waiting for replies */
};

/* Whether an NT status counts as an error in the statistics: severity
 * "error" (0xC...), except STATUS_MORE_PROCESSING_REQUIRED, which is a
 * login's ordinary next leg.  Warnings (STATUS_BUFFER_OVERFLOW,
 * STATUS_NO_MORE_FILES) are not errors. */
int smb2_stats_status_is_error(uint32_t status);

/* The connection layer's counting (conn.c).  s may be NULL: nothing. */
void smb2_stats_sent(struct smb2_conn_stats *s, uint16_t cmd);
/* A request ended: err < 0 (no reply), else its reply's status, the
 * microseconds from send to reply, and the data bytes it read or wrote. */
void smb2_stats_ended(struct smb2_conn_stats *s, uint16_t cmd, int err, uint32_t status,
		      uint64_t latency_us, uint64_t read, uint64_t written);
void smb2_stats_credits(struct smb2_conn_stats *s, uint32_t credits, uint32_t in_flight);

/* Appends the connection layer's lines to buf (len bytes, *used so far;
 * the text stays NUL-terminated and is cut at len).  docs/stats.md. */
void smb2_stats_format(const struct smb2_conn_stats *s, char *buf, size_t len, size_t *used);
/* printf into buf at *used, as smb2_stats_format. */
void smb2_stats_printf(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif

/* The connection layer's statistics (src/conn/stats.c): what counts as an
 * error, the latency buckets' edges, the data counts, and the text
 * (docs/stats.md), cut cleanly at the buffer's end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smb2fs/ntstatus.h"
#include "smb2fs/stats.h"

static const char *line(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == ':')
			return p;
	return NULL;
}

int main(void)
{
	CHECK(!smb2_stats_status_is_error(STATUS_SUCCESS));
	CHECK(!smb2_stats_status_is_error(STATUS_PENDING));
	CHECK(!smb2_stats_status_is_error(STATUS_BUFFER_OVERFLOW));
	CHECK(!smb2_stats_status_is_error(STATUS_NO_MORE_FILES));
	CHECK(!smb2_stats_status_is_error(STATUS_MORE_PROCESSING_REQUIRED));
	CHECK(smb2_stats_status_is_error(STATUS_OBJECT_NAME_NOT_FOUND));
	CHECK(smb2_stats_status_is_error(STATUS_ACCESS_DENIED));

	/* NULL counts nothing and does not crash */
	smb2_stats_sent(NULL, SMB2_READ);
	smb2_stats_ended(NULL, SMB2_READ, 0, 0, 1, 1, 1);
	smb2_stats_credits(NULL, 1, 1);

	struct smb2_conn_stats s;
	memset(&s, 0, sizeof(s));
	/* bucket edges: <100, <1000, <10000, <100000, <1000000, >= */
	const uint64_t lat[] = {0, 99, 100, 999, 1000, 9999, 10000, 99999, 100000, 999999,
				1000000, 5000000};
	for (size_t i = 0; i < sizeof(lat) / sizeof(lat[0]); i++) {
		smb2_stats_sent(&s, SMB2_CREATE);
		smb2_stats_ended(&s, SMB2_CREATE, 0, STATUS_SUCCESS, lat[i], 0, 0);
	}
	CHECK_EQ(s.latency_hist[0], 2);
	CHECK_EQ(s.latency_hist[1], 2);
	CHECK_EQ(s.latency_hist[2], 2);
	CHECK_EQ(s.latency_hist[3], 2);
	CHECK_EQ(s.latency_hist[4], 2);
	CHECK_EQ(s.latency_hist[5], 2);
	CHECK_EQ(s.cmd[SMB2_CREATE].requests, 12);
	CHECK_EQ(s.cmd[SMB2_CREATE].replies, 12);
	CHECK_EQ(s.cmd[SMB2_CREATE].errors, 0);

	/* errors: an error status (a reply: latency counted), no reply (not) */
	smb2_stats_sent(&s, SMB2_CREATE);
	smb2_stats_ended(&s, SMB2_CREATE, 0, STATUS_OBJECT_NAME_NOT_FOUND, 500, 0, 0);
	smb2_stats_sent(&s, SMB2_READ);
	smb2_stats_ended(&s, SMB2_READ, -ETIMEDOUT, 0, 0, 0, 0);
	smb2_stats_sent(&s, SMB2_READ);
	smb2_stats_ended(&s, SMB2_READ, -ECONNRESET, 0, 0, 0, 0);
	CHECK_EQ(s.cmd[SMB2_CREATE].errors, 1);
	CHECK_EQ(s.cmd[SMB2_CREATE].replies, 13);
	CHECK_EQ(s.cmd[SMB2_READ].errors, 2);
	CHECK_EQ(s.cmd[SMB2_READ].replies, 0);
	CHECK_EQ(s.timeouts, 1);

	/* data */
	smb2_stats_sent(&s, SMB2_READ);
	smb2_stats_ended(&s, SMB2_READ, 0, STATUS_SUCCESS, 300, 65536, 0);
	smb2_stats_sent(&s, SMB2_WRITE);
	smb2_stats_ended(&s, SMB2_WRITE, 0, STATUS_SUCCESS, 700, 0, 1048576);
	CHECK_EQ(s.bytes_read, 65536);
	CHECK_EQ(s.bytes_written, 1048576);
	/* commands out of range are ignored */
	smb2_stats_sent(&s, 0x7777);
	smb2_stats_ended(&s, 0x7777, 0, 0, 1, 1, 1);
	CHECK_EQ(s.bytes_read, 65536);
	smb2_stats_credits(&s, 250, 6);

	char buf[4096];
	size_t used = 0;
	buf[0] = '\0';
	smb2_stats_format(&s, buf, sizeof(buf), &used);
	CHECK_EQ(used, strlen(buf));
	CHECK(used > 0 && buf[used - 1] == '\n');
	CHECK(line(buf, "requests") && strncmp(line(buf, "requests"), "requests: 17\n", 13) == 0);
	CHECK(line(buf, "errors") && strncmp(line(buf, "errors"), "errors: 3\n", 10) == 0);
	CHECK(line(buf, "bytes_read") && strncmp(line(buf, "bytes_read"), "bytes_read: 65536\n", 18) == 0);
	CHECK(line(buf, "latency_us") &&
	      strncmp(line(buf, "latency_us"),
		      "latency_us: <100:2 <1000:5 <10000:2 <100000:2 <1000000:2 >=1000000:2\n", 69) == 0);
	CHECK(line(buf, "credits") &&
	      strncmp(line(buf, "credits"), "credits: granted 250 in_flight 6\n", 33) == 0);
	CHECK(line(buf, "cmd.READ") &&
	      strncmp(line(buf, "cmd.READ"), "cmd.READ: requests 3 errors 2 mean_us 300\n", 42) == 0);
	CHECK(line(buf, "cmd.WRITE") != NULL);
	CHECK(line(buf, "cmd.CLOSE") == NULL); /* never sent: no line */

	/* cut at the buffer's end: NUL-terminated, used == len says so */
	char small[40];
	used = 0;
	smb2_stats_format(&s, small, sizeof(small), &used);
	CHECK_EQ(used, sizeof(small));
	CHECK(strlen(small) == sizeof(small) - 1);
	smb2_stats_printf(small, sizeof(small), &used, "more");
	CHECK_EQ(used, sizeof(small));
	return check_done("stats");
}

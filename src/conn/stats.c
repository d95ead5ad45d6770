/* Request statistics of the connection layer (stats.h): relaxed atomic
 * counters, and their text (docs/stats.md). */
#include "smb2fs/stats.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "smb2fs/ntstatus.h"

static const uint64_t bucket_max_us[SMB2_STATS_NBUCKETS - 1] = {100, 1000, 10000, 100000, 1000000};

#define ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)
#define GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

int smb2_stats_status_is_error(uint32_t status)
{
	return (status >> 30) == 3 && status != STATUS_MORE_PROCESSING_REQUIRED;
}

void smb2_stats_sent(struct smb2_conn_stats *s, uint16_t cmd)
{
	if (s && cmd < SMB2_NCOMMANDS)
		ADD(s->cmd[cmd].requests, 1);
}

void smb2_stats_ended(struct smb2_conn_stats *s, uint16_t cmd, int err, uint32_t status,
		      uint64_t latency_us, uint64_t read, uint64_t written)
{
	if (!s || cmd >= SMB2_NCOMMANDS)
		return;
	struct smb2_cmd_stats *cs = &s->cmd[cmd];
	if (err < 0 || smb2_stats_status_is_error(status))
		ADD(cs->errors, 1);
	if (err == -ETIMEDOUT)
		ADD(s->timeouts, 1);
	if (err < 0)
		return;
	ADD(cs->replies, 1);
	ADD(cs->latency_us, latency_us);
	unsigned b = 0;
	while (b < SMB2_STATS_NBUCKETS - 1 && latency_us >= bucket_max_us[b])
		b++;
	ADD(s->latency_hist[b], 1);
	if (read)
		ADD(s->bytes_read, read);
	if (written)
		ADD(s->bytes_written, written);
}

void smb2_stats_credits(struct smb2_conn_stats *s, uint32_t credits, uint32_t in_flight)
{
	if (!s)
		return;
	__atomic_store_n(&s->credits, credits, __ATOMIC_RELAXED);
	__atomic_store_n(&s->in_flight, in_flight, __ATOMIC_RELAXED);
}

void smb2_stats_printf(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	if (*used >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	*used = (size_t)n >= len - *used ? len : *used + (size_t)n;
}

static unsigned long long mean(uint64_t sum, uint64_t n)
{
	return n ? (unsigned long long)((sum + n / 2) / n) : 0;
}

void smb2_stats_format(const struct smb2_conn_stats *s, char *buf, size_t len, size_t *used)
{
	uint64_t requests = 0, errors = 0, replies = 0, lat = 0;
	struct smb2_cmd_stats cs[SMB2_NCOMMANDS];
	for (unsigned i = 0; i < SMB2_NCOMMANDS; i++) {
		cs[i].requests = GET(s->cmd[i].requests);
		cs[i].errors = GET(s->cmd[i].errors);
		cs[i].replies = GET(s->cmd[i].replies);
		cs[i].latency_us = GET(s->cmd[i].latency_us);
		requests += cs[i].requests;
		errors += cs[i].errors;
		replies += cs[i].replies;
		lat += cs[i].latency_us;
	}
	smb2_stats_printf(buf, len, used, "requests: %llu\n", (unsigned long long)requests);
	smb2_stats_printf(buf, len, used, "errors: %llu\n", (unsigned long long)errors);
	smb2_stats_printf(buf, len, used, "timeouts: %llu\n", (unsigned long long)GET(s->timeouts));
	smb2_stats_printf(buf, len, used, "bytes_read: %llu\n", (unsigned long long)GET(s->bytes_read));
	smb2_stats_printf(buf, len, used, "bytes_written: %llu\n",
			  (unsigned long long)GET(s->bytes_written));
	smb2_stats_printf(buf, len, used, "latency_mean_us: %llu\n", mean(lat, replies));
	smb2_stats_printf(buf, len, used, "latency_us:");
	for (unsigned b = 0; b < SMB2_STATS_NBUCKETS; b++) {
		if (b < SMB2_STATS_NBUCKETS - 1)
			smb2_stats_printf(buf, len, used, " <%llu:%llu", (unsigned long long)bucket_max_us[b],
					  (unsigned long long)GET(s->latency_hist[b]));
		else
			smb2_stats_printf(buf, len, used, " >=%llu:%llu",
					  (unsigned long long)bucket_max_us[b - 1],
					  (unsigned long long)GET(s->latency_hist[b]));
	}
	smb2_stats_printf(buf, len, used, "\n");
	smb2_stats_printf(buf, len, used, "credits: granted %u in_flight %u\n", GET(s->credits),
			  GET(s->in_flight));
	for (unsigned i = 0; i < SMB2_NCOMMANDS; i++) {
		if (!cs[i].requests && !cs[i].replies)
			continue; /* never sent */
		smb2_stats_printf(buf, len, used, "cmd.%s: requests %llu errors %llu mean_us %llu\n",
				  smb2_cmd_name((uint16_t)i), (unsigned long long)cs[i].requests,
				  (unsigned long long)cs[i].errors, mean(cs[i].latency_us, cs[i].replies));
	}
}

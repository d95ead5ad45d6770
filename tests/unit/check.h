/* Minimal test helpers: each CHECK prints file:line and the expression on
 * failure and counts it; check_done() prints a summary and returns the exit
 * status (0 only when every check passed and at least one ran). */
#ifndef SMB2FS_TEST_CHECK_H
#define SMB2FS_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK(expr)                                                                  \
	do {                                                                         \
		check_count++;                                                       \
		if (!(expr)) {                                                       \
			check_failures++;                                            \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
		}                                                                    \
	} while (0)

#define CHECK_EQ(a, b)                                                               \
	do {                                                                         \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);      \
		check_count++;                                                       \
		if (check_a_ != check_b_) {                                          \
			check_failures++;                                            \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", \
				__FILE__, __LINE__, #a, check_a_, #b, check_b_);     \
		}                                                                    \
	} while (0)

#define CHECK_MEM(a, b, n)                                                           \
	do {                                                                         \
		check_count++;                                                       \
		if (memcmp((a), (b), (n)) != 0) {                                    \
			check_failures++;                                            \
			fprintf(stderr, "%s:%d: CHECK_MEM failed: %s != %s (%zu bytes)\n", \
				__FILE__, __LINE__, #a, #b, (size_t)(n));            \
		}                                                                    \
	} while (0)

static inline int check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return (check_failures == 0 && check_count > 0) ? 0 : 1;
}

/* Parses a hex string (whitespace ignored) into out; returns byte count. */
static inline size_t hex2bin(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (; *hex; hex++) {
		int v;
		char c = *hex;
		if (c >= '0' && c <= '9') v = c - '0';
		else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
		else continue;
		if (hi < 0) hi = v;
		else { if (n < cap) out[n] = (unsigned char)(hi << 4 | v); n++; hi = -1; }
	}
	return n;
}

#endif

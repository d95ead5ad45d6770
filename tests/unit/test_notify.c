/* Unit tests for CHANGE_NOTIFY (src/wire/notify.c): the request, the
 * response, and FILE_NOTIFY_INFORMATION walking (MS-FSCC 2.4.42), with
 * malformed buffers rejected without reading past them. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smb2fs/buf.h"
#include "smb2fs/fscc.h"
#include "smb2fs/wire.h"

/* One entry at p: next, action, the ASCII name in UTF-16LE; its size. */
static size_t entry(uint8_t *p, uint32_t next, uint32_t action, const char *name)
{
	size_t n = strlen(name);
	le32_store(p, next);
	le32_store(p + 4, action);
	le32_store(p + 8, (uint32_t)(2 * n));
	for (size_t i = 0; i < n; i++)
		le16_store(p + 12 + 2 * i, (uint8_t)name[i]);
	return 12 + 2 * n;
}

struct seen {
	unsigned n;
	uint32_t action[8];
	char name[8][32];
};

static int collect(const struct fscc_notify *e, void *arg)
{
	struct seen *s = arg;
	if (s->n < 8) {
		s->action[s->n] = e->action;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", e->name);
	}
	s->n++;
	return 0;
}

static int stop(const struct fscc_notify *e, void *arg)
{
	(void)e;
	(void)arg;
	return 7;
}

static void test_walk(void)
{
	uint8_t b[256];
	memset(b, 0, sizeof(b));
	entry(b, 24, FILE_ACTION_ADDED, "a.txt");                 /* 22 -> padded to 24 */
	entry(b + 24, 24, FILE_ACTION_RENAMED_OLD_NAME, "old");   /* 18 -> 24 */
	size_t last = entry(b + 48, 0, FILE_ACTION_RENAMED_NEW_NAME, "new");
	struct seen s = {0};
	CHECK_EQ(fscc_notify_walk(b, 48 + last, collect, &s), 0);
	CHECK_EQ(s.n, 3);
	CHECK_EQ(s.action[0], FILE_ACTION_ADDED);
	CHECK(strcmp(s.name[0], "a.txt") == 0);
	CHECK_EQ(s.action[1], FILE_ACTION_RENAMED_OLD_NAME);
	CHECK(strcmp(s.name[1], "old") == 0);
	CHECK(strcmp(s.name[2], "new") == 0);

	/* empty buffer: no entries */
	s.n = 0;
	CHECK_EQ(fscc_notify_walk(NULL, 0, collect, &s), 0);
	CHECK_EQ(s.n, 0);

	/* every truncation of the buffer is malformed, never read past */
	for (size_t len = 1; len < 48 + last; len++) {
		uint8_t *copy = malloc(len);
		memcpy(copy, b, len);
		s.n = 0;
		CHECK_EQ(fscc_notify_walk(copy, len, collect, &s), -EBADMSG);
		free(copy);
	}
}

static void test_malformed(void)
{
	uint8_t b[64];
	struct seen s = {0};
	size_t n;

	memset(b, 0, sizeof(b));
	n = entry(b, 0, FILE_ACTION_ADDED, "x");
	le32_store(b + 8, 3); /* odd name length */
	CHECK_EQ(fscc_notify_walk(b, n, collect, &s), -EBADMSG);
	le32_store(b + 8, 0); /* empty name */
	CHECK_EQ(fscc_notify_walk(b, n, collect, &s), -EBADMSG);
	le32_store(b + 8, 0xFFFFFFF0u); /* name past the buffer (no wrap) */
	CHECK_EQ(fscc_notify_walk(b, n, collect, &s), -EBADMSG);

	n = entry(b, 0, 9, "x"); /* unknown action */
	CHECK_EQ(fscc_notify_walk(b, n, collect, &s), -EBADMSG);

	n = entry(b, 8, FILE_ACTION_ADDED, "x"); /* next inside the fixed part */
	CHECK_EQ(fscc_notify_walk(b, n, collect, &s), -EBADMSG);
	n = entry(b, 64, FILE_ACTION_ADDED, "x"); /* next past the buffer */
	CHECK_EQ(fscc_notify_walk(b, n, collect, &s), -EBADMSG);
	/* name longer than its entry */
	entry(b, 16, FILE_ACTION_ADDED, "abcdef");
	entry(b + 16, 0, FILE_ACTION_ADDED, "y");
	CHECK_EQ(fscc_notify_walk(b, 30, collect, &s), -EBADMSG);
	/* a lone surrogate has no UTF-8 form */
	n = entry(b, 0, FILE_ACTION_ADDED, "x");
	le16_store(b + 12, 0xD800);
	CHECK_EQ(fscc_notify_walk(b, n, collect, &s), -EBADMSG);
	/* the callback stops the walk */
	n = entry(b, 0, FILE_ACTION_ADDED, "x");
	CHECK_EQ(fscc_notify_walk(b, n, stop, &s), 7);
	CHECK_EQ(fscc_notify_walk(b, n, NULL, &s), -EINVAL);
}

static void test_request(void)
{
	struct wbuf w;
	wbuf_init(&w);
	struct smb2_change_notify_req q = {
		.flags = 0, .output_buffer_length = 4096, .file_id = {0x1122, 0x3344},
		.completion_filter = FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_DIR_NAME};
	CHECK_EQ(smb2_change_notify_encode(&w, &q), 0);
	CHECK_EQ(w.len, 32);
	CHECK_EQ(le16_load(w.p), 32);
	CHECK_EQ(le32_load(w.p + 4), 4096);
	CHECK_EQ(le64_load(w.p + 8), 0x1122);
	CHECK_EQ(le64_load(w.p + 16), 0x3344);
	CHECK_EQ(le32_load(w.p + 24), 3);
	wbuf_free(&w);

	wbuf_init(&w);
	q.completion_filter = 0;
	CHECK_EQ(smb2_change_notify_encode(&w, &q), -EINVAL);
	wbuf_free(&w);
	wbuf_init(&w);
	q.completion_filter = 1;
	q.flags = 2;
	CHECK_EQ(smb2_change_notify_encode(&w, &q), -EINVAL);
	wbuf_free(&w);
}

static void test_response(void)
{
	uint8_t m[SMB2_HDR_SIZE + 8 + 16];
	memset(m, 0, sizeof(m));
	uint8_t *b = m + SMB2_HDR_SIZE;
	le16_store(b, 9);
	le16_store(b + 2, SMB2_HDR_SIZE + 8);
	le32_store(b + 4, 16);
	const uint8_t *buf = NULL;
	uint32_t n = 0;
	CHECK_EQ(smb2_change_notify_decode(m, sizeof(m), &buf, &n), 0);
	CHECK(buf == m + SMB2_HDR_SIZE + 8);
	CHECK_EQ(n, 16);
	le32_store(b + 4, 17); /* past the message */
	CHECK_EQ(smb2_change_notify_decode(m, sizeof(m), &buf, &n), -EBADMSG);
	le32_store(b + 4, 0); /* empty: fine */
	CHECK_EQ(smb2_change_notify_decode(m, sizeof(m), &buf, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(smb2_change_notify_decode(m, SMB2_HDR_SIZE + 4, &buf, &n), -EBADMSG);
}

int main(void)
{
	test_walk();
	test_malformed();
	test_request();
	test_response();
	return check_done("notify");
}

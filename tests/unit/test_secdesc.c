/* Unit tests for the security descriptor codec and the POSIX mapping
 * (src/wire/secdesc.c): SIDs, a descriptor as Samba sends it, builds that
 * parse back, every truncation and a set of malformed descriptors. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smb2fs/buf.h"
#include "smb2fs/secdesc.h"
#include "smb2fs/wire.h"

/* What Samba 4.17 answered for a file of mode 0751 owned by a Samba user
 * (owner: a domain SID) and group gid 994: owner rwx, group r-x, Everyone
 * --x.  Layout: header, owner, group, DACL. */
static const char samba_751[] =
	"01 00 04 80 14 00 00 00 30 00 00 00 00 00 00 00 40 00 00 00"  /* hdr */
	"01 05 00 00 00 00 00 05 15 00 00 00 d0 c0 41 f5 9b 4a 92 08"  /* owner */
	"1d 20 88 81 e8 03 00 00"
	"01 02 00 00 00 00 00 16 02 00 00 00 e2 03 00 00"              /* group */
	"02 00 58 00 03 00 00 00"                                      /* ACL */
	"00 00 24 00 ff 01 1e 00"                                      /* owner ACE */
	"01 05 00 00 00 00 00 05 15 00 00 00 d0 c0 41 f5 9b 4a 92 08"
	"1d 20 88 81 e8 03 00 00"
	"00 00 18 00 a9 00 12 00 01 02 00 00 00 00 00 16 02 00 00 00 e2 03 00 00"
	"00 00 14 00 a0 00 12 00 01 01 00 00 00 00 00 01 00 00 00 00";

static size_t load(const char *hex, uint8_t *out, size_t cap)
{
	return hex2bin(hex, out, cap);
}

static void test_sids(void)
{
	struct sd_sid s, t;
	char str[128];
	CHECK_EQ(sd_sid_from_str("S-1-22-1-1000", &s), 0);
	CHECK_EQ(s.nsub, 2);
	CHECK_EQ(s.authority, 22);
	uint32_t id = 0;
	CHECK(sd_sid_unix_id(&s, false, &id) && id == 1000);
	CHECK(!sd_sid_unix_id(&s, true, &id));
	sd_sid_unix_user(&t, 1000);
	CHECK(sd_sid_eq(&s, &t));
	sd_sid_unix_group(&t, 7);
	CHECK(sd_sid_unix_id(&t, true, &id) && id == 7);
	CHECK(!sd_sid_eq(&s, &t));
	sd_sid_str(&s, str, sizeof(str));
	CHECK(strcmp(str, "S-1-22-1-1000") == 0);
	CHECK_EQ(sd_sid_from_str("S-1-5-21-4114648784-143808155-2173167069-1000", &s), 0);
	CHECK_EQ(sd_sid_str(&s, str, sizeof(str)), (int)strlen("S-1-5-21-4114648784-143808155-2173167069-1000"));
	CHECK(strcmp(str, "S-1-5-21-4114648784-143808155-2173167069-1000") == 0);
	/* a short buffer gets a terminated prefix and the full length */
	char small[8];
	CHECK_EQ(sd_sid_str(&s, small, sizeof(small)), (int)strlen(str));
	CHECK(strlen(small) == 7);
	/* bad strings */
	CHECK(sd_sid_from_str("S-2-1-0", &s) < 0);
	CHECK(sd_sid_from_str("S-1-", &s) < 0);
	CHECK(sd_sid_from_str("S-1-5-", &s) < 0);
	CHECK(sd_sid_from_str("S-1-5-4294967296", &s) < 0);
	CHECK(sd_sid_from_str("S-1-281474976710656", &s) < 0);
	CHECK(sd_sid_from_str("S-1-1-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", &s) < 0);
	CHECK(sd_sid_from_str("X-1-1-0", &s) < 0);
	CHECK(sd_sid_from_str(NULL, &s) < 0);
	/* wire form: 6-byte big-endian authority, LE sub-authorities */
	struct wbuf w;
	wbuf_init(&w);
	sd_sid_from_str("S-1-5-32-544", &s);
	sd_sid_write(&w, &s);
	uint8_t want[16];
	size_t n = load("01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00", want, sizeof(want));
	CHECK_EQ(w.len, n);
	CHECK_MEM(w.p, want, n);
	size_t used = 0;
	CHECK_EQ(sd_sid_parse(w.p, w.len, &t, &used), 0);
	CHECK_EQ(used, 16);
	CHECK(sd_sid_eq(&s, &t));
	for (size_t cut = 0; cut < w.len; cut++)
		CHECK(sd_sid_parse(w.p, cut, &t, &used) < 0);
	w.p[0] = 2; /* revision */
	CHECK(sd_sid_parse(w.p, w.len, &t, &used) < 0);
	w.p[0] = 1;
	uint8_t big[8 + 64] = {1, 16};
	CHECK(sd_sid_parse(big, sizeof(big), &t, &used) < 0);
	wbuf_free(&w);
}

static void test_parse_samba(void)
{
	uint8_t b[256];
	size_t n = load(samba_751, b, sizeof(b));
	CHECK_EQ(n, 0x40 + 0x58);
	struct sd_desc sd;
	CHECK_EQ(sd_parse(b, n, &sd), 0);
	CHECK(sd.has_owner && sd.has_group && sd.has_dacl && !sd.dacl_null);
	CHECK_EQ(sd.n_aces, 3);
	CHECK_EQ(sd.aces[0].mask, 0x1e01ff);
	CHECK_EQ(sd.aces[1].mask, 0x1200a9);
	CHECK_EQ(sd.aces[2].mask, 0x1200a0);
	struct sd_posix px;
	sd_to_posix(&sd, &px);
	CHECK(px.has_mode);
	CHECK_EQ(px.mode, 0751);
	CHECK(!px.has_uid); /* a domain SID: no Unix id */
	CHECK(px.has_gid && px.gid == 994);

	/* build parses back to the same descriptor */
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(sd_build(&w, &sd), 0);
	CHECK_EQ(w.len, n);
	CHECK_MEM(w.p, b, n);
	wbuf_free(&w);
	sd_free(&sd);

	/* every truncation is refused, never read past */
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		memcpy(p, b, cut);
		CHECK(sd_parse(p, cut, &sd) < 0);
		free(p);
	}
}

/* Patches one field of a copy of the Samba descriptor and expects a
 * refusal. */
static void expect_bad(size_t off, const uint8_t *val, size_t vlen, const char *what)
{
	uint8_t b[256];
	size_t n = load(samba_751, b, sizeof(b));
	memcpy(b + off, val, vlen);
	struct sd_desc sd;
	int r = sd_parse(b, n, &sd);
	if (r == 0) {
		fprintf(stderr, "accepted: %s\n", what);
		sd_free(&sd);
	}
	CHECK(r == -EBADMSG);
}

static void test_malformed(void)
{
	const uint8_t zero4[4] = {0}, big4[4] = {0xff, 0xff, 0, 0}, off1[4] = {1, 0, 0, 0};
	const uint8_t past[4] = {0x98, 0, 0, 0}, last[4] = {0x97, 0, 0, 0};
	const uint8_t near_end[4] = {0x90, 0, 0, 0};
	expect_bad(0, (const uint8_t[]){2}, 1, "revision 2");
	expect_bad(3, (const uint8_t[]){0x00}, 1, "not self-relative");
	expect_bad(4, big4, 4, "owner offset past the end");
	expect_bad(4, off1, 4, "owner offset inside the header");
	expect_bad(8, past, 4, "group offset == length");
	expect_bad(8, last, 4, "group SID cut by the end");
	expect_bad(16, big4, 4, "DACL offset past the end");
	expect_bad(16, last, 4, "DACL header cut by the end");
	expect_bad(0x40, (const uint8_t[]){3}, 1, "ACL revision 3");
	expect_bad(0x42, (const uint8_t[]){0x59, 0}, 2, "AclSize past the end");
	expect_bad(0x42, (const uint8_t[]){0x07, 0}, 2, "AclSize below its header");
	expect_bad(0x44, (const uint8_t[]){4, 0}, 2, "AceCount beyond the ACL");
	expect_bad(0x44, (const uint8_t[]){0xff, 0xff}, 2, "AceCount 65535");
	expect_bad(0x4a, (const uint8_t[]){0x25, 0}, 2, "AceSize not a multiple of 4");
	expect_bad(0x4a, (const uint8_t[]){0x02, 0}, 2, "AceSize below its header");
	expect_bad(0x4a, (const uint8_t[]){0x54, 0}, 2, "AceSize past the ACL");
	expect_bad(0x4a, (const uint8_t[]){0x0c, 0}, 2, "ACE too short for its SID");
	expect_bad(0x51, (const uint8_t[]){9}, 1, "ACE SID count past its ACE");
	expect_bad(0x50, (const uint8_t[]){7}, 1, "ACE SID revision");
	expect_bad(4, near_end, 4, "owner SID cut by the end");
	(void)zero4;

	/* DACL offset 0 with SE_DACL_PRESENT: a NULL DACL, no mode */
	uint8_t b[256];
	size_t n = load(samba_751, b, sizeof(b));
	memset(b + 16, 0, 4);
	struct sd_desc sd;
	CHECK_EQ(sd_parse(b, n, &sd), 0);
	CHECK(sd.dacl_null && !sd.has_dacl);
	struct sd_posix px;
	sd_to_posix(&sd, &px);
	CHECK(!px.has_mode);
	sd_free(&sd);
	/* no SE_DACL_PRESENT: no DACL whatever the offset says */
	n = load(samba_751, b, sizeof(b));
	b[2] &= (uint8_t)~SE_DACL_PRESENT;
	CHECK_EQ(sd_parse(b, n, &sd), 0);
	CHECK(!sd.has_dacl && !sd.dacl_null);
	sd_free(&sd);
	/* absurd sizes are refused before anything is read */
	CHECK(sd_parse(b, SD_MAX_SIZE + 1, &sd) < 0);
	CHECK(sd_parse(NULL, 20, &sd) < 0);
	CHECK(sd_parse(b, 19, &sd) < 0);
	/* unknown ACE types are kept whole and rebuilt byte for byte */
	n = load(samba_751, b, sizeof(b));
	b[0x48 + 0x24 + 0x18] = 0x07; /* third ACE: an object ACE type */
	CHECK_EQ(sd_parse(b, n, &sd), 0);
	CHECK(!sd.aces[2].has_sid);
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(sd_build(&w, &sd), 0);
	CHECK_EQ(w.len, n);
	CHECK_MEM(w.p, b, n);
	wbuf_free(&w);
	sd_to_posix(&sd, &px);
	CHECK_EQ(px.mode, 0750); /* the unknown ACE gives nothing */
	sd_free(&sd);
}

static void test_rights(void)
{
	for (unsigned m = 0; m < 8; m++)
		CHECK_EQ(sd_rwx_from_rights(sd_rights_from_rwx(m)), m);
	CHECK_EQ(sd_rwx_from_rights(GENERIC_ALL), 7);
	CHECK_EQ(sd_rwx_from_rights(GENERIC_READ), 4);
	CHECK_EQ(sd_rwx_from_rights(GENERIC_WRITE), 2);
	CHECK_EQ(sd_rwx_from_rights(SD_GENERIC_EXECUTE), 1);
	CHECK_EQ(sd_rwx_from_rights(0x1f01ff), 7);             /* FILE_ALL_ACCESS */
	CHECK_EQ(sd_rwx_from_rights(0x12019f), 6);             /* Samba's rw- */
	CHECK_EQ(sd_rwx_from_rights(SD_FILE_GENERIC_EXECUTE), 1);
	CHECK_EQ(sd_rwx_from_rights(FILE_WRITE_DATA), 0);      /* w needs append too */
	CHECK_EQ(sd_rwx_from_rights(FILE_READ_ATTRIBUTES | READ_CONTROL), 0);
	/* x alone carries nothing Samba reads as r */
	CHECK_EQ(sd_rights_from_rwx(1) & (FILE_READ_DATA | FILE_READ_EA | FILE_READ_ATTRIBUTES), 0);
	CHECK_EQ(sd_rights_from_rwx(0), 0);
}

/* An ACL in the Samba descriptor's place: each {type, flags, sid, mask}. */
struct ace_spec {
	uint8_t type, flags;
	const char *sid;
	uint32_t mask;
};

static void make_sd(struct sd_desc *sd, const char *owner, const char *group,
		    const struct ace_spec *aces, unsigned n)
{
	memset(sd, 0, sizeof(*sd));
	sd->has_owner = sd_sid_from_str(owner, &sd->owner) == 0;
	sd->has_group = sd_sid_from_str(group, &sd->group) == 0;
	sd->has_dacl = true;
	sd->n_aces = (uint16_t)n;
	sd->aces = calloc(n ? n : 1, sizeof(*sd->aces));
	for (unsigned i = 0; i < n; i++) {
		sd->aces[i].type = aces[i].type;
		sd->aces[i].flags = aces[i].flags;
		sd->aces[i].mask = aces[i].mask;
		sd->aces[i].has_sid = sd_sid_from_str(aces[i].sid, &sd->aces[i].sid) == 0;
	}
}

static void test_to_posix(void)
{
	struct sd_desc sd;
	struct sd_posix px;
	const struct ace_spec plain[] = {
		{0, 0, "S-1-22-1-1000", 0x12019f},
		{0, 0, "S-1-22-2-100", 0x120089},
		{0, 0, "S-1-1-0", 0},
	};
	make_sd(&sd, "S-1-22-1-1000", "S-1-22-2-100", plain, 3);
	sd_to_posix(&sd, &px);
	CHECK(px.has_uid && px.uid == 1000 && px.has_gid && px.gid == 100);
	CHECK(px.has_mode && px.mode == 0640);
	sd_free(&sd);

	/* deny before allow takes bits away; inherit-only ACEs and other
	 * SIDs do not count; Everyone is "other" only */
	const struct ace_spec mixed[] = {
		{1, 0, "S-1-22-1-1000", FILE_WRITE_DATA | FILE_APPEND_DATA},
		{0, 0, "S-1-22-1-1000", 0x1f01ff},
		{0, INHERIT_ONLY_ACE | OBJECT_INHERIT_ACE, "S-1-22-2-100", 0x1f01ff},
		{0, 0, "S-1-22-1-2000", 0x1f01ff},
		{0, 0, "S-1-1-0", 0x120089},
		{2, 0, "S-1-22-2-100", 0x1f01ff}, /* audit: ignored */
	};
	make_sd(&sd, "S-1-22-1-1000", "S-1-22-2-100", mixed, 6);
	sd_to_posix(&sd, &px);
	CHECK_EQ(px.mode, 0504);
	sd_free(&sd);

	/* an allow before a deny keeps its bits */
	const struct ace_spec order[] = {
		{0, 0, "S-1-22-2-100", 0x120089},
		{1, 0, "S-1-22-2-100", 0x1f01ff},
	};
	make_sd(&sd, "S-1-22-1-1000", "S-1-22-2-100", order, 2);
	sd_to_posix(&sd, &px);
	CHECK_EQ(px.mode, 0040);
	sd_free(&sd);

	/* the same SID as owner and group gets both classes */
	const struct ace_spec same[] = {{0, 0, "S-1-5-21-1-2-3-500", 0x1200a9}};
	make_sd(&sd, "S-1-5-21-1-2-3-500", "S-1-5-21-1-2-3-500", same, 1);
	sd_to_posix(&sd, &px);
	CHECK_EQ(px.mode, 0550);
	CHECK(!px.has_uid && !px.has_gid);
	sd_free(&sd);

	/* no DACL: no mode */
	make_sd(&sd, "S-1-22-1-1", "S-1-22-2-1", NULL, 0);
	sd.has_dacl = false;
	sd_to_posix(&sd, &px);
	CHECK(!px.has_mode && px.has_uid && px.uid == 1);
	sd_free(&sd);
}

static void test_build_mode(void)
{
	struct sd_sid owner, group;
	sd_sid_from_str("S-1-5-21-1-2-3-1000", &owner);
	sd_sid_unix_group(&group, 994);
	/* every mode maps back to itself through parse + sd_to_posix with
	 * the owner and group the file has */
	for (unsigned mode = 0; mode < 0777; mode += 7) {
		struct wbuf w;
		wbuf_init(&w);
		CHECK_EQ(sd_build_mode(&w, NULL, &owner, &group, mode), 0);
		struct sd_desc sd;
		CHECK_EQ(sd_parse(w.p, w.len, &sd), 0);
		CHECK(!sd.has_owner && !sd.has_group && sd.has_dacl);
		CHECK_EQ(sd.n_aces, 3);
		sd.has_owner = sd.has_group = true;
		sd.owner = owner;
		sd.group = group;
		struct sd_posix px;
		sd_to_posix(&sd, &px);
		CHECK_EQ(px.mode, mode);
		sd_free(&sd);
		wbuf_free(&w);
	}
	/* ACEs of other SIDs and inherit-only ones are kept, in order, after
	 * the three; the old owner/group/Everyone ACEs go */
	const struct ace_spec cur_aces[] = {
		{0, 0, "S-1-5-21-1-2-3-1000", 0x1f01ff},
		{0, 0, "S-1-22-1-4242", 0x120089},
		{0, INHERIT_ONLY_ACE | CONTAINER_INHERIT_ACE, "S-1-3-0", 0x1f01ff},
		{0, 0, "S-1-1-0", 0x1f01ff},
		{1, 0, "S-1-22-2-994", 0x120116},
	};
	struct sd_desc cur;
	make_sd(&cur, "S-1-5-21-1-2-3-1000", "S-1-22-2-994", cur_aces, 5);
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(sd_build_mode(&w, &cur, &owner, &group, 0640), 0);
	struct sd_desc sd;
	CHECK_EQ(sd_parse(w.p, w.len, &sd), 0);
	CHECK_EQ(sd.n_aces, 5);
	struct sd_sid s4242;
	sd_sid_from_str("S-1-22-1-4242", &s4242);
	CHECK(sd_sid_eq(&sd.aces[3].sid, &s4242));
	CHECK_EQ(sd.aces[4].flags, INHERIT_ONLY_ACE | CONTAINER_INHERIT_ACE);
	CHECK_EQ(sd.aces[0].mask, SD_FILE_GENERIC_READ | SD_FILE_GENERIC_WRITE);
	CHECK_EQ(sd.aces[1].mask, SD_FILE_GENERIC_READ);
	CHECK_EQ(sd.aces[2].mask, 0);
	sd_free(&sd);
	sd_free(&cur);
	wbuf_free(&w);
	/* bad arguments fail the buffer */
	wbuf_init(&w);
	CHECK(sd_build_mode(&w, NULL, NULL, &group, 0644) < 0);
	CHECK(w.err < 0);
	wbuf_free(&w);
	/* a SID that cannot be written fails the build */
	struct sd_desc bad = {.has_owner = true};
	bad.owner.nsub = 16;
	wbuf_init(&w);
	CHECK(sd_build(&w, &bad) < 0);
	wbuf_free(&w);
}

int main(void)
{
	test_sids();
	test_parse_samba();
	test_malformed();
	test_rights();
	test_to_posix();
	test_build_mode();
	return check_done("secdesc");
}

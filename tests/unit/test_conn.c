/* Connection layer against a scripted in-process server on loopback:
 * MessageId matching with replies out of order, interim STATUS_PENDING,
 * credit windows, multi-credit charges, signing verification, a WRITE
 * sent with its data apart, READ data received into the caller's buffer,
 * and hostile frames killing the connection
 * instead of being read out of bounds. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "smb2fs/conn.h"
#include "smb2fs/crypto.h"
#include "smb2fs/ntstatus.h"
#include "smb2fs/wire.h"

enum script {
	S_ECHO_REVERSED,   /* collect N requests, answer them in reverse order, with an interim first */
	S_OVERSIZE,        /* answer with a frame header claiming 64 MiB */
	S_SHORT_HEADER,    /* answer with a 10-byte frame */
	S_SIGNED,          /* answer signed with the key, last one with a bad signature */
	S_CREDITS,         /* grant exactly one credit per reply; check charges */
	S_MULTI,           /* grant 16 credits on the first reply, then record charges */
	S_FORGED_SID,      /* answer unsigned with SessionId 0 (would dodge verification) */
	S_SLOW_PENDING,    /* interim replies every 0.7 s, the final one after 2.1 s */
	S_STRAY_CREDITS,   /* a reply to no request granting 5000 credits, then the real one */
	S_HUGE_GRANT,      /* grant 65535 credits */
	S_UNSIGNED_DELETED, /* unsigned STATUS_USER_SESSION_DELETED on a signed session */
	S_ENDLESS_PENDING, /* signed interim replies every 0.25 s, never a final one */
	S_UNSIGNED_PENDING, /* unsigned interims: first with 10 credits + signed final;
			     * then only unsigned interims for 2.5 s */
	S_COMPOUND,        /* one frame of 3 chained signed messages: check, answer each */
	S_CHAIN_EXPIRED,   /* a chain of 3 answered in one frame: the first signed
			    * (chain_first_status), the related two with bad
			    * signatures, as Samba 4.17 does after an expired one */
	S_CANCEL,          /* interim reply, then expect a signed async CANCEL, answer CANCELLED */
	S_NOTIFY,          /* an oplock break notification before the reply */
	S_BIG_SIGNED,      /* 100 KiB signed replies (verified by the waiter), the second corrupted */
	S_WRITE_DATA,      /* one signed WRITE whose data was sent apart: check it, answer */
	S_READ_DATA,       /* signed READ replies: data right after the body, then
			    * 8 bytes further on, then too long, then corrupted */
	S_READ_STALL,      /* a READ reply that stops halfway through its data */
	S_SEALED_READ,     /* encrypted READ requests, answered encrypted: data right
			    * after the body, then 8 bytes further on, then with
			    * one byte flipped (sealed_plain: a plain signed reply) */
	S_SILENT,          /* read every request, answer none (a hung server) */
	S_ECHO_KEEPS,      /* first request: 64 credits; then answer each ECHO at
			    * once and any other request 3.5 s after it came */
};

struct server {
	int lfd;
	uint16_t port;
	enum script script;
	int nreq;
	pthread_t th;
	int seen_charge_total;
	uint16_t charges[8];
	uint64_t mids[8];
	int nseen;
	uint64_t max_mid_seen;
	int mid_collision;
	int chain_ok;              /* S_COMPOUND: messages seen well-formed */
	uint32_t chain_first_status; /* S_CHAIN_EXPIRED */
	int cancel_ok;             /* S_CANCEL: the CANCEL was well-formed */
	int write_ok;              /* S_WRITE_DATA: the WRITE arrived whole and signed */
	int echoes;                /* S_ECHO_KEEPS: ECHOs answered */
};

/* S_WRITE_DATA: the data the client sends, and its byte pattern. */
#define WRITE_DATA_LEN (3u * 1024 * 1024 + 17)
static uint8_t write_byte(size_t i)
{
	return (uint8_t)(i * 31 + (i >> 12));
}

static const uint8_t sign_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static int read_full(int fd, void *b, size_t n)
{
	uint8_t *p = b;
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int read_msg(int fd, uint8_t **msg, size_t *len)
{
	uint8_t nb[4];
	if (read_full(fd, nb, 4))
		return -1;
	*len = (size_t)nb[1] << 16 | (size_t)nb[2] << 8 | nb[3];
	*msg = malloc(*len);
	return read_full(fd, *msg, *len);
}

static bool forge_sid;
/* S_SEALED_READ: the cipher and the keys, as the client sees them */
static uint16_t seal_cipher = SMB2_CIPHER_AES128_GCM;
static const uint8_t seal_ckey[32] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 9, 10, 11, 12, 13, 14, 15, 16,
				      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t seal_skey[32] = {0xa1, 0xb2, 0xc3, 0xd4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 0x99};
static bool sealed_plain; /* S_SEALED_READ: answer the first request in the clear */
static size_t reply_pad; /* extra body bytes, for replies the waiter verifies */
static uint64_t forge_mid; /* nonzero: reply with this MessageId instead */

/* Sends w as one frame (direct-TCP length first) and frees it.
 * MSG_NOSIGNAL: the client may be gone (scripts that never finish). */
static int send_frame(int fd, struct wbuf *w)
{
	uint8_t nb[4] = {0, (uint8_t)(w->len >> 16), (uint8_t)(w->len >> 8), (uint8_t)w->len};
	int r = 0;
	if (send(fd, nb, 4, MSG_NOSIGNAL) != 4 || send(fd, w->p, w->len, MSG_NOSIGNAL) != (ssize_t)w->len)
		r = -1;
	wbuf_free(w);
	return r;
}

static int send_reply(int fd, const uint8_t *req, uint32_t status, uint16_t credits, bool async,
		      bool sign, bool corrupt)
{
	struct smb2_hdr h;
	smb2_hdr_decode(req, SMB2_HDR_SIZE, &h);
	if (forge_mid)
		h.message_id = forge_mid;
	h.next_command = 0; /* each reply in a frame of its own */
	if (forge_sid)
		h.session_id = 0;
	h.flags = SMB2_FLAGS_SERVER_TO_REDIR | (async ? SMB2_FLAGS_ASYNC_COMMAND : 0);
	h.status = status;
	h.credits = credits;
	h.async_id = async ? 0x77 : 0;
	memset(h.signature, 0, 16);
	struct wbuf w;
	wbuf_init(&w);
	if (smb2_hdr_encode(&w, &h) < 0)
		abort();
	/* ECHO response body (StructureSize 4) */
	wbuf_u16(&w, 4);
	wbuf_u16(&w, 0);
	wbuf_zero(&w, reply_pad);
	if (sign)
		smb2_sign_msg(SMB2_SIGN_AES_CMAC, sign_key, w.p, w.len);
	if (corrupt)
		w.p[w.len - 1] ^= 1;
	return send_frame(fd, &w);
}

/* The replies to the chain in req (n messages) in one frame: the first
 * with status first, signed; the others related, with `status` and a
 * signature that does not verify. */
static int send_chain_reply(int fd, const uint8_t *req, size_t len, int n, uint32_t first,
			    uint32_t status)
{
	struct wbuf w;
	wbuf_init(&w);
	size_t off = 0;
	for (int i = 0; i < n && off + SMB2_HDR_SIZE <= len; i++) {
		struct smb2_hdr h;
		smb2_hdr_decode(req + off, SMB2_HDR_SIZE, &h);
		uint32_t next = smb2_hdr_next_command(req + off);
		size_t start = w.len;
		h.next_command = i + 1 < n ? 72 : 0; /* 64 + 4, padded to 8 */
		h.flags = SMB2_FLAGS_SERVER_TO_REDIR | (i ? SMB2_FLAGS_RELATED_OPERATIONS : 0);
		h.status = i ? status : first;
		h.credits = 1;
		memset(h.signature, 0, 16);
		if (smb2_hdr_encode(&w, &h) < 0)
			abort();
		wbuf_u16(&w, 4);
		wbuf_u16(&w, 0);
		if (i + 1 < n)
			wbuf_zero(&w, 4);
		smb2_sign_msg(SMB2_SIGN_AES_CMAC, sign_key, w.p + start, w.len - start);
		if (i)
			w.p[start + 48] ^= 1; /* the signature */
		off += next ? next : len;
	}
	return send_frame(fd, &w);
}

/* A signed READ reply carrying n pattern bytes at DataOffset 80 + pad;
 * corrupt flips a data byte after signing; stall: send half and stop. */
static int send_read_reply(int fd, const uint8_t *req, size_t n, size_t pad, bool corrupt,
			   bool stall)
{
	struct smb2_hdr h;
	smb2_hdr_decode(req, SMB2_HDR_SIZE, &h);
	h.next_command = 0;
	h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
	h.status = STATUS_SUCCESS;
	h.credits = 8;
	memset(h.signature, 0, 16);
	struct wbuf w;
	wbuf_init(&w);
	if (smb2_hdr_encode(&w, &h) < 0)
		abort();
	wbuf_u16(&w, 17);
	wbuf_u8(&w, (uint8_t)(SMB2_HDR_SIZE + 16 + pad)); /* DataOffset */
	wbuf_u8(&w, 0);
	wbuf_u32(&w, (uint32_t)n);
	wbuf_u32(&w, 0);
	wbuf_u32(&w, 0);
	wbuf_zero(&w, pad);
	for (size_t i = 0; i < n; i++)
		wbuf_u8(&w, write_byte(i));
	smb2_sign_msg(SMB2_SIGN_AES_CMAC, sign_key, w.p, w.len);
	if (corrupt)
		w.p[w.len - 7] ^= 1;
	uint8_t nb[4] = {0, (uint8_t)(w.len >> 16), (uint8_t)(w.len >> 8), (uint8_t)w.len};
	size_t send_len = stall ? w.len / 2 : w.len;
	int r = 0;
	if (send(fd, nb, 4, MSG_NOSIGNAL) != 4 ||
	    send(fd, w.p, send_len, MSG_NOSIGNAL) != (ssize_t)send_len)
		r = -1;
	if (stall)
		sleep(3);
	wbuf_free(&w);
	return r;
}

/* S_SEALED_READ: an encrypted READ reply with n pattern bytes at DataOffset
 * 80 + pad to the encrypted request req (a whole frame); tamper flips a
 * ciphertext byte of the data. */
static int send_sealed_read_reply(int fd, const uint8_t *req, size_t req_len, size_t n,
				  size_t pad, bool tamper, uint64_t seq)
{
	uint8_t *plain = malloc(req_len);
	struct smb2_transform_hdr th;
	if (smb2_decrypt_msg(seal_cipher, seal_ckey, req, req_len, plain, &th) != 0) {
		free(plain);
		return -1;
	}
	struct smb2_hdr h;
	smb2_hdr_decode(plain, SMB2_HDR_SIZE, &h);
	free(plain);
	h.next_command = 0;
	h.flags = SMB2_FLAGS_SERVER_TO_REDIR;
	h.status = STATUS_SUCCESS;
	h.credits = 8;
	memset(h.signature, 0, 16);
	struct wbuf w;
	wbuf_init(&w);
	if (smb2_hdr_encode(&w, &h) < 0)
		abort();
	wbuf_u16(&w, 17);
	wbuf_u8(&w, (uint8_t)(SMB2_HDR_SIZE + 16 + pad));
	wbuf_u8(&w, 0);
	wbuf_u32(&w, (uint32_t)n);
	wbuf_u32(&w, 0);
	wbuf_u32(&w, 0);
	wbuf_zero(&w, pad);
	for (size_t i = 0; i < n; i++)
		wbuf_u8(&w, write_byte(i));
	uint8_t nonce[16] = {0}, hdr[SMB2_TRANSFORM_HDR_SIZE];
	nonce[0] = (uint8_t)seq;
	nonce[10] = 0x5e; /* the server's own nonces */
	uint8_t *out = malloc(w.len);
	struct smb2_iov piece = {w.p, w.len};
	if (smb2_encrypt_msg(seal_cipher, seal_skey, nonce, th.session_id, &piece, 1, hdr, out) != 0)
		abort();
	if (tamper)
		out[w.len - 1000] ^= 0x40;
	size_t len = sizeof(hdr) + w.len;
	uint8_t nb[4] = {0, (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
	int r = 0;
	if (send(fd, nb, 4, MSG_NOSIGNAL) != 4 || send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != sizeof(hdr) ||
	    send(fd, out, w.len, MSG_NOSIGNAL) != (ssize_t)w.len)
		r = -1;
	free(out);
	wbuf_free(&w);
	return r;
}

static double now_s(void);

static void *server_main(void *arg)
{
	struct server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	uint8_t *reqs[64];
	size_t lens[64];
	int n = 0;
	switch (s->script) {
	case S_ECHO_REVERSED:
		/* first request alone (it holds the only credit), grant plenty */
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			send_reply(fd, reqs[0], STATUS_SUCCESS, 64, false, false, false);
			free(reqs[0]);
		}
		while (n < s->nreq && read_msg(fd, &reqs[n], &lens[n]) == 0)
			n++;
		for (int i = n - 1; i >= 0; i--) {
			send_reply(fd, reqs[i], STATUS_PENDING, 1, true, false, false);
			send_reply(fd, reqs[i], STATUS_SUCCESS, 1, true, false, false);
			free(reqs[i]);
		}
		break;
	case S_OVERSIZE:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			uint8_t nb[4] = {0, 0xff, 0xff, 0xff};
			if (write(fd, nb, 4) != 4)
				break;
			free(reqs[0]);
		}
		break;
	case S_SHORT_HEADER:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			uint8_t junk[14] = {0, 0, 0, 10, 0xfe, 'S', 'M', 'B'};
			if (write(fd, junk, sizeof(junk)) != (ssize_t)sizeof(junk))
				break;
			free(reqs[0]);
		}
		break;
	case S_SIGNED:
		for (int i = 0; i < 2 && read_msg(fd, &reqs[0], &lens[0]) == 0; i++) {
			send_reply(fd, reqs[0], STATUS_SUCCESS, 8, false, true, i == 1);
			free(reqs[0]);
		}
		break;
	case S_MULTI:
		while (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			struct smb2_hdr h;
			smb2_hdr_decode(reqs[0], lens[0], &h);
			if (s->nseen < 8) {
				s->charges[s->nseen] = h.credit_charge;
				s->mids[s->nseen] = h.message_id;
				s->nseen++;
			}
			send_reply(fd, reqs[0], STATUS_SUCCESS, s->nseen == 1 ? 16 : h.credit_charge, false,
				   false, false);
			free(reqs[0]);
		}
		break;
	case S_SLOW_PENDING:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			for (int i = 0; i < 3; i++) {
				send_reply(fd, reqs[0], STATUS_PENDING, 1, true, false, false);
				usleep(700 * 1000);
			}
			send_reply(fd, reqs[0], STATUS_SUCCESS, 1, true, false, false);
			free(reqs[0]);
		}
		break;
	case S_STRAY_CREDITS:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			forge_mid = 999;
			send_reply(fd, reqs[0], STATUS_SUCCESS, 5000, false, false, false);
			forge_mid = 0;
			send_reply(fd, reqs[0], STATUS_SUCCESS, 1, false, false, false);
			free(reqs[0]);
		}
		break;
	case S_HUGE_GRANT:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			send_reply(fd, reqs[0], STATUS_SUCCESS, 65535, false, false, false);
			free(reqs[0]);
		}
		break;
	case S_UNSIGNED_DELETED:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			send_reply(fd, reqs[0], STATUS_USER_SESSION_DELETED, 1, false, false, false);
			free(reqs[0]);
		}
		break;
	case S_ENDLESS_PENDING:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			/* bounded: 30 s at most, or until the client is gone */
			for (int i = 0; i < 120; i++) {
				if (send_reply(fd, reqs[0], STATUS_PENDING, 1, true, true, false) < 0)
					break;
				usleep(250 * 1000);
			}
			free(reqs[0]);
		}
		break;
	case S_UNSIGNED_PENDING:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			send_reply(fd, reqs[0], STATUS_PENDING, 10, true, false, false);
			usleep(300 * 1000);
			send_reply(fd, reqs[0], STATUS_SUCCESS, 1, true, true, false);
			free(reqs[0]);
		}
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			for (int i = 0; i < 8; i++) {
				if (send_reply(fd, reqs[0], STATUS_PENDING, 1, true, false, false) < 0)
					break;
				usleep(300 * 1000);
			}
			send_reply(fd, reqs[0], STATUS_SUCCESS, 1, true, true, false);
			free(reqs[0]);
		}
		break;
	case S_COMPOUND:
		/* first: a plain request to grant credits */
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			send_reply(fd, reqs[0], STATUS_SUCCESS, 16, false, true, false);
			free(reqs[0]);
		}
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			/* walk the chain: 8-aligned NextCommand, consecutive
			 * MessageIds, each message signed on its own */
			size_t off = 0;
			uint64_t mid0 = smb2_hdr_message_id(reqs[0]);
			for (int i = 0; i < 3; i++) {
				uint32_t next = smb2_hdr_next_command(reqs[0] + off);
				size_t mlen = next ? next : lens[0] - off;
				bool ok = (i < 2 ? next % 8 == 0 && next >= 64 : next == 0) &&
					  off + mlen <= lens[0] &&
					  smb2_hdr_message_id(reqs[0] + off) == mid0 + (uint64_t)i &&
					  smb2_verify_msg(SMB2_SIGN_AES_CMAC, sign_key, reqs[0] + off, mlen) == 0;
				s->chain_ok += ok;
				if (!ok || off + SMB2_HDR_SIZE > lens[0])
					break;
				send_reply(fd, reqs[0] + off, STATUS_SUCCESS, 1, false, true, false);
				off += mlen;
			}
			free(reqs[0]);
		}
		break;
	case S_CHAIN_EXPIRED:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			send_reply(fd, reqs[0], STATUS_SUCCESS, 16, false, true, false);
			free(reqs[0]);
		}
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			send_chain_reply(fd, reqs[0], lens[0], 3, s->chain_first_status,
					 STATUS_NETWORK_SESSION_EXPIRED);
			free(reqs[0]);
		}
		/* then plain requests, answered (the connection lives on) */
		while (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			send_reply(fd, reqs[0], STATUS_SUCCESS, 1, false, true, false);
			free(reqs[0]);
		}
		break;
	case S_BIG_SIGNED:
		reply_pad = 100 * 1024;
		for (int i = 0; i < 2 && read_msg(fd, &reqs[0], &lens[0]) == 0; i++) {
			send_reply(fd, reqs[0], STATUS_SUCCESS, 8, false, true, i == 1);
			free(reqs[0]);
		}
		reply_pad = 0;
		break;
	case S_WRITE_DATA:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			/* one message: header, the 48-byte body, the data at
			 * DataOffset, all under one signature */
			const uint8_t *m = reqs[0];
			bool ok = lens[0] == SMB2_HDR_SIZE + 48 + WRITE_DATA_LEN &&
				  smb2_hdr_command(m) == SMB2_WRITE &&
				  le16_load(m + SMB2_HDR_SIZE) == 49 &&
				  le16_load(m + SMB2_HDR_SIZE + 2) == SMB2_HDR_SIZE + 48 &&
				  le32_load(m + SMB2_HDR_SIZE + 4) == WRITE_DATA_LEN &&
				  le64_load(m + SMB2_HDR_SIZE + 8) == 4096 &&
				  smb2_verify_msg(SMB2_SIGN_AES_CMAC, sign_key, m, lens[0]) == 0;
			for (size_t i = 0; ok && i < WRITE_DATA_LEN; i++)
				ok = m[SMB2_HDR_SIZE + 48 + i] == write_byte(i);
			s->write_ok = ok;
			send_reply(fd, reqs[0], STATUS_SUCCESS, 1, false, true, false);
			free(reqs[0]);
		}
		break;
	case S_READ_DATA:
		for (int i = 0; i < 4 && read_msg(fd, &reqs[0], &lens[0]) == 0; i++) {
			static const size_t sizes[4] = {200000, 100000, 300000, 150000};
			send_read_reply(fd, reqs[0], sizes[i], i == 1 ? 8 : 0, i == 3, false);
			free(reqs[0]);
		}
		break;
	case S_READ_STALL:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			send_read_reply(fd, reqs[0], 200000, 0, false, true);
			free(reqs[0]);
		}
		break;
	case S_CANCEL:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			send_reply(fd, reqs[0], STATUS_PENDING, 4, true, true, false);
			if (read_msg(fd, &reqs[1], &lens[1]) == 0) {
				const uint8_t *m = reqs[1];
				s->cancel_ok = lens[1] >= SMB2_HDR_SIZE + 4 && smb2_hdr_command(m) == SMB2_CANCEL &&
					       smb2_hdr_message_id(m) == smb2_hdr_message_id(reqs[0]) &&
					       (smb2_hdr_flags(m) & SMB2_FLAGS_ASYNC_COMMAND) &&
					       le64_load(m + SMB2_HDR_ASYNC_ID_OFF) == 0x77 &&
					       smb2_verify_msg(SMB2_SIGN_AES_CMAC, sign_key, m, lens[1]) == 0;
				free(reqs[1]);
			}
			send_reply(fd, reqs[0], STATUS_CANCELLED, 1, true, true, false);
			free(reqs[0]);
		}
		break;
	case S_NOTIFY:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			forge_mid = UINT64_MAX;
			send_reply(fd, reqs[0], STATUS_SUCCESS, 0, false, false, false);
			forge_mid = 0;
			send_reply(fd, reqs[0], STATUS_SUCCESS, 1, false, false, false);
			free(reqs[0]);
		}
		break;
	case S_SEALED_READ:
		for (int i = 0; i < 3 && read_msg(fd, &reqs[0], &lens[0]) == 0; i++) {
			if (sealed_plain) { /* a plain reply to an encrypted request */
				uint8_t *pl = malloc(lens[0]);
				if (smb2_decrypt_msg(seal_cipher, seal_ckey, reqs[0], lens[0], pl, NULL) == 0)
					send_read_reply(fd, pl, 200000, 0, false, false);
				free(pl);
			} else
				send_sealed_read_reply(fd, reqs[0], lens[0], i == 1 ? 100000 : 200000,
						       i == 1 ? 8 : 0, i == 2, (uint64_t)i + 1);
			free(reqs[0]);
		}
		break;
	case S_FORGED_SID:
		if (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			forge_sid = true;
			send_reply(fd, reqs[0], STATUS_SUCCESS, 8, false, false, false);
			forge_sid = false;
			free(reqs[0]);
		}
		break;
	case S_CREDITS:
		while (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			struct smb2_hdr h;
			smb2_hdr_decode(reqs[0], lens[0], &h);
			uint16_t charge = h.credit_charge ? h.credit_charge : 1;
			s->seen_charge_total += charge;
			if (h.message_id + charge - 1 > s->max_mid_seen || s->max_mid_seen == 0)
				s->max_mid_seen = h.message_id + charge - 1;
			/* grant back exactly what was charged: the window stays
			 * at one credit, so requests must be serialized */
			send_reply(fd, reqs[0], STATUS_SUCCESS, charge, false, false, false);
			free(reqs[0]);
		}
		break;
	case S_SILENT:
		while (read_msg(fd, &reqs[0], &lens[0]) == 0) {
			s->nseen++;
			free(reqs[0]);
		}
		break;
	case S_ECHO_KEEPS: {
		if (read_msg(fd, &reqs[0], &lens[0]) != 0)
			break;
		send_reply(fd, reqs[0], STATUS_SUCCESS, 64, false, false, false);
		free(reqs[0]);
		uint8_t *slow = NULL;
		double slow_at = 0;
		for (;;) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			if (poll(&pfd, 1, 50) > 0) {
				uint8_t *m;
				size_t ml;
				if (read_msg(fd, &m, &ml) != 0)
					break;
				if (smb2_hdr_command(m) == SMB2_ECHO) {
					s->echoes++;
					send_reply(fd, m, STATUS_SUCCESS, 1, false, false, false);
					free(m);
				} else {
					slow = m;
					slow_at = now_s();
				}
			}
			if (slow && now_s() - slow_at >= 3.5) {
				send_reply(fd, slow, STATUS_SUCCESS, 1, false, false, false);
				free(slow);
				break;
			}
		}
		break;
	}
	}
	/* wait for the client to go away */
	char b;
	while (read(fd, &b, 1) > 0)
		;
	close(fd);
	return NULL;
}

static void server_start(struct server *s, enum script sc, int nreq)
{
	memset(s, 0, sizeof(*s));
	s->script = sc;
	s->nreq = nreq;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(s->lfd, (struct sockaddr *)&a, sizeof(a));
	socklen_t al = sizeof(a);
	getsockname(s->lfd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	listen(s->lfd, 1);
	pthread_create(&s->th, NULL, server_main, s);
}

static void server_stop(struct server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static unsigned call_timeout = 5;

/* Starts a scripted server and connects to it. */
static struct smb2_conn *connect_scripted(struct server *s, enum script sc, int nreq)
{
	struct smb2_conn *c = NULL;
	char err[256];
	server_start(s, sc, nreq);
	CHECK_EQ(smb2_conn_open("127.0.0.1", s->port, 5, false, &c, err, sizeof(err)), 0);
	return c;
}

static void disconnect_scripted(struct server *s, struct smb2_conn *c)
{
	smb2_conn_free(c);
	server_stop(s);
}

static int echo_call(struct smb2_conn *c, size_t payload, uint32_t *status, uint64_t *mid)
{
	struct smb2_hdr h = {.command = SMB2_ECHO, .session_id = 0x1234};
	struct wbuf w;
	struct smb2_reply rep;
	wbuf_init(&w);
	if (smb2_hdr_encode(&w, &h) < 0 || smb2_echo_encode(&w) < 0)
		abort();
	int r = smb2_conn_call(c, &w, payload, call_timeout, &rep);
	if (r == 0) {
		*status = rep.hdr.status;
		if (mid)
			*mid = rep.hdr.message_id;
		/* the reply must be the one for this request */
		CHECK_EQ(rep.hdr.message_id, smb2_hdr_message_id(w.p));
		smb2_reply_free(&rep);
	}
	wbuf_free(&w);
	return r;
}

struct caller {
	struct smb2_conn *c;
	int r;
	uint32_t status;
};

static void *caller_main(void *arg)
{
	struct caller *k = arg;
	k->r = echo_call(k->c, 0, &k->status, NULL);
	return NULL;
}

static void test_out_of_order(void)
{
	enum { N = 8 };
	struct server s;
	struct smb2_conn *c;
	uint32_t st;
	c = connect_scripted(&s, S_ECHO_REVERSED, N);
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	struct caller k[N];
	pthread_t th[N];
	for (int i = 0; i < N; i++) {
		k[i] = (struct caller){.c = c, .r = -1};
		pthread_create(&th[i], NULL, caller_main, &k[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(k[i].r, 0);
		CHECK_EQ(k[i].status, STATUS_SUCCESS); /* interim PENDING skipped */
	}
	CHECK(smb2_conn_alive(c));
	disconnect_scripted(&s, c);
}

static void test_hostile_frame(enum script sc)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st;
	c = connect_scripted(&s, sc, 1);
	int r = echo_call(c, 0, &st, NULL);
	CHECK(r < 0);
	CHECK(!smb2_conn_alive(c));
	/* later calls fail at once */
	CHECK(echo_call(c, 0, &st, NULL) < 0);
	disconnect_scripted(&s, c);
}

static void test_signing(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st;
	c = connect_scripted(&s, S_SIGNED, 2);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	CHECK_EQ(st, STATUS_SUCCESS);
	/* second reply is corrupted: fatal */
	CHECK(echo_call(c, 0, &st, NULL) < 0);
	CHECK(!smb2_conn_alive(c));
	disconnect_scripted(&s, c);
}

/* Interim replies show the server is working: a request whose final reply
 * comes after 2.1 s must not time out at 1 s (MS-SMB2 3.2.5.1.5). */
static void test_interim_extends_deadline(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st = 0;
	c = connect_scripted(&s, S_SLOW_PENDING, 1);
	call_timeout = 1;
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	call_timeout = 5;
	CHECK_EQ(st, STATUS_SUCCESS);
	CHECK(smb2_conn_alive(c));
	disconnect_scripted(&s, c);
}

/* A reply claiming SessionId 0 must not slip past signature checks. */
static void test_forged_session_id(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st;
	c = connect_scripted(&s, S_FORGED_SID, 1);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	CHECK(echo_call(c, 0, &st, NULL) < 0);
	CHECK(!smb2_conn_alive(c));
	disconnect_scripted(&s, c);
}

static void test_credits(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st;
	uint64_t mid1, mid2;
	c = connect_scripted(&s, S_CREDITS, 0);
	CHECK_EQ(echo_call(c, 0, &st, &mid1), 0);
	/* window is 1 credit: a 128 KiB request needs 2 and would wait for
	 * ever, so with multi-credit off it must cost 1 */
	CHECK_EQ(echo_call(c, 200000, &st, &mid2), 0);
	CHECK_EQ(mid2, mid1 + 1);
	/* the window the client sizes multi-credit I/O by */
	CHECK_EQ(smb2_conn_window(c), 1);
	disconnect_scripted(&s, c);
	CHECK_EQ(s.seen_charge_total, 2);
}

/* MS-SMB2 3.1.5.2: with multi-credit on, a 200000-byte request costs
 * ceil(200000 / 65536) = 4 credits and consumes 4 MessageIds. */
static void test_multi_credit(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st;
	c = connect_scripted(&s, S_MULTI, 0);
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	smb2_conn_set_multi_credit(c, true);
	CHECK_EQ(echo_call(c, 200000, &st, NULL), 0);
	CHECK_EQ(echo_call(c, 65536, &st, NULL), 0);
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	CHECK_EQ(smb2_conn_window(c), 16);
	disconnect_scripted(&s, c);
	CHECK_EQ(s.nseen, 4);
	CHECK_EQ(s.charges[1], 4);
	CHECK_EQ(s.charges[2], 1);
	CHECK_EQ(s.charges[3], 1);
	CHECK_EQ(s.mids[2], s.mids[1] + 4);
	CHECK_EQ(s.mids[3], s.mids[2] + 1);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One call against a script, then the credit window the client counts. */
static uint32_t window_after_one_call(enum script sc)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st;
	c = connect_scripted(&s, sc, 1);
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	uint32_t w = smb2_conn_window(c);
	disconnect_scripted(&s, c);
	return w;
}

/* Credits come only from replies that matched a request (a stray reply
 * granting thousands does not grow the window), and whatever a server
 * grants, the total stays at a sane maximum (8192). */
static void test_credit_trust(void)
{
	CHECK_EQ(window_after_one_call(S_STRAY_CREDITS), 1);
	CHECK_EQ(window_after_one_call(S_HUGE_GRANT), 8192);
}

/* An unsigned "session deleted" on a signed session is what an attacker
 * would send to force a new login: the connection is dropped instead. */
static void test_unsigned_session_deleted_is_forged(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st = 0;
	c = connect_scripted(&s, S_UNSIGNED_DELETED, 1);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	CHECK_EQ(echo_call(c, 0, &st, NULL), -EBADMSG);
	CHECK(!smb2_conn_alive(c));
	disconnect_scripted(&s, c);
}

/* Signed interim replies for ever: the wait ends at 10 timeouts. */
static void test_endless_pending_is_capped(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st = 0;
	c = connect_scripted(&s, S_ENDLESS_PENDING, 1);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	call_timeout = 1;
	double t0 = now_s();
	CHECK_EQ(echo_call(c, 0, &st, NULL), -ETIMEDOUT);
	double took = now_s() - t0;
	call_timeout = 5;
	CHECK(took > 8.5 && took < 12.0);
	CHECK(!smb2_conn_alive(c));
	disconnect_scripted(&s, c);
}

/* Unsigned interim replies on a signed session extend nothing; their
 * credits count only once the signed final reply has verified. */
static void test_unsigned_interim(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st = 0;
	c = connect_scripted(&s, S_UNSIGNED_PENDING, 2);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	CHECK_EQ(smb2_conn_window(c), 11);
	call_timeout = 1;
	double t0 = now_s();
	CHECK_EQ(echo_call(c, 0, &st, NULL), -ETIMEDOUT);
	double took = now_s() - t0;
	call_timeout = 5;
	CHECK(took < 2.0);
	disconnect_scripted(&s, c);
}

static void echo_msg(struct wbuf *w)
{
	struct smb2_hdr h = {.command = SMB2_ECHO, .session_id = 0x1234};
	wbuf_init(w);
	CHECK_EQ(smb2_hdr_encode(w, &h), 0);
	CHECK_EQ(smb2_echo_encode(w), 0);
}

/* A compound: one frame, every message but the last padded to 8 bytes and
 * linked by NextCommand, consecutive MessageIds, each signed on its own;
 * the replies are waited for separately, in any order. */
static void test_compound_chain(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st;
	c = connect_scripted(&s, S_COMPOUND, 0);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	struct wbuf w[3];
	struct wbuf *msgs[3] = {&w[0], &w[1], &w[2]};
	for (int i = 0; i < 3; i++)
		echo_msg(&w[i]);
	wbuf_u8(&w[1], 0xAB); /* an odd length, to need padding */
	struct smb2_req *q[3];
	CHECK_EQ(smb2_conn_submit_chain(c, msgs, NULL, 3, 5, q), 0);
	for (int i = 2; i >= 0; i--) {
		struct smb2_reply rep;
		CHECK_EQ(smb2_conn_wait(c, q[i], &rep), 0);
		CHECK_EQ(rep.hdr.message_id, smb2_hdr_message_id(w[i].p));
		smb2_reply_free(&rep);
	}
	for (int i = 0; i < 3; i++)
		wbuf_free(&w[i]);
	CHECK(smb2_conn_alive(c));
	disconnect_scripted(&s, c);
	CHECK_EQ(s.chain_ok, 3);
}

/* Samba 4.17 signs the replies after a compound's "session expired" with
 * a signature that does not verify: those requests fail with the first
 * (-ECANCELED) and the connection stays.  The same bad signatures after a
 * first reply that did not say "expired" still drop it. */
static void test_chain_after_expired(uint32_t first)
{
	struct server s;
	struct smb2_conn *c = NULL;
	char err[256];
	server_start(&s, S_CHAIN_EXPIRED, 0);
	s.chain_first_status = first; /* read once the chain has come */
	CHECK_EQ(smb2_conn_open("127.0.0.1", s.port, 5, false, &c, err, sizeof(err)), 0);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	uint32_t st;
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	struct wbuf w[3];
	struct wbuf *msgs[3] = {&w[0], &w[1], &w[2]};
	for (int i = 0; i < 3; i++)
		echo_msg(&w[i]);
	struct smb2_req *q[3];
	CHECK_EQ(smb2_conn_submit_chain(c, msgs, NULL, 3, 5, q), 0);
	struct smb2_reply rep;
	CHECK_EQ(smb2_conn_wait(c, q[0], &rep), 0);
	CHECK_EQ(rep.hdr.status, first);
	smb2_reply_free(&rep);
	bool expired = first == STATUS_NETWORK_SESSION_EXPIRED;
	for (int i = 1; i < 3; i++) {
		int r = smb2_conn_wait(c, q[i], &rep);
		CHECK(r < 0);
		if (expired)
			CHECK_EQ(r, -ECANCELED);
	}
	for (int i = 0; i < 3; i++)
		wbuf_free(&w[i]);
	CHECK_EQ(smb2_conn_alive(c), expired);
	if (expired)
		CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	disconnect_scripted(&s, c);
}

/* CANCEL (MS-SMB2 3.2.4.24): same MessageId, the AsyncId of the interim
 * reply, signed; the request then ends with the server's final reply. */
static void test_cancel(void)
{
	struct server s;
	struct smb2_conn *c;
	c = connect_scripted(&s, S_CANCEL, 1);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	struct wbuf w;
	echo_msg(&w);
	struct smb2_req *q;
	CHECK_EQ(smb2_conn_submit(c, &w, 0, 5, &q), 0);
	usleep(200 * 1000); /* let the interim reply (and its AsyncId) arrive */
	CHECK_EQ(smb2_conn_cancel(c, q), 0);
	struct smb2_reply rep;
	CHECK_EQ(smb2_conn_wait(c, q, &rep), 0);
	CHECK_EQ(rep.hdr.status, STATUS_CANCELLED);
	smb2_reply_free(&rep);
	wbuf_free(&w);
	disconnect_scripted(&s, c);
	CHECK_EQ(s.cancel_ok, 1);
}

/* A patient request (a blocking LOCK): after its interim reply it waits
 * past its timeout, in slices, until the caller cancels it. */
static void test_no_deadline(void)
{
	struct server s;
	struct smb2_conn *c;
	c = connect_scripted(&s, S_CANCEL, 1);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	struct wbuf w;
	echo_msg(&w);
	struct smb2_req *q;
	CHECK_EQ(smb2_conn_submit(c, &w, 0, 1, &q), 0);
	smb2_conn_no_deadline(c, q);
	double t0 = now_s();
	int slices = 0;
	while (!smb2_conn_wait_for(c, q, 100) && now_s() - t0 < 2.5)
		slices++;
	CHECK(slices >= 20);     /* still waiting 2.5 s on, past the 1 s timeout */
	CHECK(smb2_conn_alive(c));
	CHECK_EQ(smb2_conn_cancel(c, q), 0);
	CHECK(smb2_conn_wait_for(c, q, 5000));
	struct smb2_reply rep;
	CHECK_EQ(smb2_conn_wait(c, q, &rep), 0);
	CHECK_EQ(rep.hdr.status, STATUS_CANCELLED);
	smb2_reply_free(&rep);
	wbuf_free(&w);
	disconnect_scripted(&s, c);
	CHECK_EQ(s.cancel_ok, 1);
}

static int notified;
static void on_notify(void *arg, const uint8_t *msg, size_t len)
{
	(void)arg;
	if (len >= SMB2_HDR_SIZE && smb2_hdr_message_id(msg) == UINT64_MAX)
		notified++;
}

/* Server-initiated messages reach the client's callback. */
static void test_notify(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st;
	c = connect_scripted(&s, S_NOTIFY, 1);
	smb2_conn_set_notify(c, on_notify, NULL);
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	CHECK_EQ(notified, 1);
	disconnect_scripted(&s, c);
}

/* Large replies are verified by their waiter: a good one is delivered and
 * its credits counted only then; a bad one kills the connection. */
static void test_big_reply_verified_by_waiter(void)
{
	struct server s;
	struct smb2_conn *c;
	uint32_t st;
	c = connect_scripted(&s, S_BIG_SIGNED, 2);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0);
	CHECK_EQ(smb2_conn_window(c), 8);
	CHECK_EQ(echo_call(c, 0, &st, NULL), -EBADMSG);
	CHECK(!smb2_conn_alive(c));
	disconnect_scripted(&s, c);
}

/* A WRITE whose data is sent from the caller's buffer (no copy after the
 * header): one frame, the data in place, signed as one message; megabytes,
 * so the socket takes it in several pieces. */
static void test_write_data_apart(void)
{
	struct server s;
	struct smb2_conn *c;
	c = connect_scripted(&s, S_WRITE_DATA, 1);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	uint8_t *data = malloc(WRITE_DATA_LEN);
	for (size_t i = 0; i < WRITE_DATA_LEN; i++)
		data[i] = write_byte(i);
	struct smb2_hdr h = {.command = SMB2_WRITE, .session_id = 0x1234};
	struct smb2_write_req wq = {.offset = 4096, .data_len = WRITE_DATA_LEN};
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(smb2_hdr_encode(&w, &h), 0);
	CHECK_EQ(smb2_write_encode_head(&w, &wq), 0);
	CHECK_EQ(w.len, SMB2_HDR_SIZE + 48);
	struct smb2_req *q;
	CHECK_EQ(smb2_conn_submit_data(c, &w, data, WRITE_DATA_LEN, WRITE_DATA_LEN, 5, &q), 0);
	memset(data, 0, WRITE_DATA_LEN); /* on the socket already: ours again */
	struct smb2_reply rep;
	CHECK_EQ(smb2_conn_wait(c, q, &rep), 0);
	CHECK_EQ(rep.hdr.status, STATUS_SUCCESS);
	smb2_reply_free(&rep);
	CHECK(smb2_conn_alive(c));
	wbuf_free(&w);
	free(data);
	disconnect_scripted(&s, c);
	CHECK_EQ(s.write_ok, 1);
}

static int read_call(struct smb2_conn *c, uint8_t *dst, size_t dst_len, unsigned timeout,
		     struct smb2_reply *rep)
{
	struct smb2_hdr h = {.command = SMB2_READ, .session_id = 0x1234};
	struct smb2_read_req rq = {.length = (uint32_t)dst_len};
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(smb2_hdr_encode(&w, &h), 0);
	CHECK_EQ(smb2_read_encode(&w, &rq), 0);
	struct smb2_req *q;
	int r = smb2_conn_submit_read(c, &w, dst_len, dst, dst_len, timeout, &q);
	if (r == 0)
		r = smb2_conn_wait(c, q, rep);
	wbuf_free(&w);
	return r;
}

static bool is_pattern(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != write_byte(i))
			return false;
	return true;
}

/* READ data is received straight into the caller's buffer when the reply
 * has it right after the body (and it fits), verified with the message;
 * any other layout arrives whole; a bad signature still fails. */
static void test_read_into_buffer(void)
{
	struct server s;
	struct smb2_conn *c;
	struct smb2_reply rep;
	struct smb2_read_rsp rr;
	enum { CAP = 256 * 1024 };
	uint8_t *dst = calloc(1, CAP);
	c = connect_scripted(&s, S_READ_DATA, 4);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	/* data in place: received into dst */
	CHECK_EQ(read_call(c, dst, CAP, 5, &rep), 0);
	CHECK_EQ(rep.tail_len, 200000);
	CHECK_EQ(rep.len, SMB2_HDR_SIZE + 16);
	CHECK_EQ(smb2_read_decode_split(rep.msg, rep.len, rep.tail_len, &rr), 0);
	CHECK_EQ(rr.data_len, 200000);
	CHECK(is_pattern(dst, 200000));
	CHECK_EQ(smb2_read_decode(rep.msg, rep.len, &rr), -EBADMSG); /* not whole */
	smb2_reply_free(&rep);
	/* padding before the data: the reply is whole, dst untouched */
	memset(dst, 0, CAP);
	CHECK_EQ(read_call(c, dst, CAP, 5, &rep), 0);
	CHECK_EQ(rep.tail_len, 0);
	CHECK_EQ(smb2_read_decode(rep.msg, rep.len, &rr), 0);
	CHECK_EQ(rr.data_len, 100000);
	CHECK(is_pattern(rr.data, 100000));
	CHECK_EQ(dst[0], 0);
	smb2_reply_free(&rep);
	/* more than dst holds: whole, for the caller to refuse */
	CHECK_EQ(read_call(c, dst, 200000, 5, &rep), 0);
	CHECK_EQ(rep.tail_len, 0);
	CHECK_EQ(rep.len, SMB2_HDR_SIZE + 16 + 300000);
	CHECK_EQ(dst[0], 0);
	smb2_reply_free(&rep);
	/* a corrupted one received into dst fails verification */
	CHECK_EQ(read_call(c, dst, CAP, 5, &rep), -EBADMSG);
	CHECK(!smb2_conn_alive(c));
	disconnect_scripted(&s, c);
	free(dst);
}

/* Encrypted READ replies: with GCM the data is decrypted in place in the
 * caller's buffer by the waiter (zero copy), with CCM the frame is
 * decrypted whole; padding before the data makes a whole reply; a flipped
 * ciphertext byte fails (-EBADMSG, the buffer holds no plaintext, the
 * connection is dropped), and so does a plain reply to a sealed request. */
static void sealed_read_round(uint16_t cipher, bool plain)
{
	struct server s;
	struct smb2_conn *c;
	struct smb2_reply rep;
	struct smb2_read_rsp rr;
	enum { CAP = 256 * 1024 };
	uint8_t *dst = calloc(1, CAP);
	bool gcm = cipher == SMB2_CIPHER_AES128_GCM || cipher == SMB2_CIPHER_AES256_GCM;
	seal_cipher = cipher;
	sealed_plain = plain;
	c = connect_scripted(&s, S_SEALED_READ, 3);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	CHECK_EQ(smb2_conn_set_encryption(c, cipher, seal_ckey, seal_skey, 0x1234), 0);
	CHECK_EQ(smb2_conn_set_encryption(c, cipher, seal_ckey, seal_skey, 0x1234), 0);
	CHECK_EQ(smb2_conn_set_encryption(c, cipher, seal_ckey, seal_skey, 0x1235), -EALREADY);
	smb2_conn_seal(c);
	if (plain) {
		CHECK_EQ(read_call(c, dst, CAP, 5, &rep), -EBADMSG);
		CHECK(!smb2_conn_alive(c));
		CHECK_EQ(dst[0], 0);
		disconnect_scripted(&s, c);
		free(dst);
		sealed_plain = false;
		return;
	}
	/* data in place */
	CHECK_EQ(read_call(c, dst, CAP, 5, &rep), 0);
	if (gcm) {
		CHECK_EQ(rep.tail_len, 200000);
		CHECK_EQ(rep.len, SMB2_HDR_SIZE + 16);
		CHECK_EQ(smb2_read_decode_split(rep.msg, rep.len, rep.tail_len, &rr), 0);
		CHECK(is_pattern(dst, 200000));
	} else {
		CHECK_EQ(rep.tail_len, 0);
		CHECK_EQ(smb2_read_decode(rep.msg, rep.len, &rr), 0);
		CHECK(is_pattern(rr.data, 200000));
	}
	CHECK_EQ(rr.data_len, 200000);
	CHECK_EQ(rep.hdr.command, SMB2_READ);
	smb2_reply_free(&rep);
	/* padding before the data: whole */
	memset(dst, 0, CAP);
	CHECK_EQ(read_call(c, dst, CAP, 5, &rep), 0);
	CHECK_EQ(rep.tail_len, 0);
	CHECK_EQ(smb2_read_decode(rep.msg, rep.len, &rr), 0);
	CHECK_EQ(rr.data_len, 100000);
	CHECK(is_pattern(rr.data, 100000));
	CHECK_EQ(dst[0], 0);
	smb2_reply_free(&rep);
	/* one flipped byte: an error, and no plaintext left in dst */
	CHECK_EQ(read_call(c, dst, CAP, 5, &rep), -EBADMSG);
	CHECK(!smb2_conn_alive(c));
	size_t nz = 0;
	for (size_t i = 0; i < CAP; i++)
		nz += dst[i] != 0;
	CHECK_EQ(nz, 0);
	disconnect_scripted(&s, c);
	free(dst);
}

static void test_sealed_read(void)
{
	sealed_read_round(SMB2_CIPHER_AES128_GCM, false);
	sealed_read_round(SMB2_CIPHER_AES256_GCM, false);
	sealed_read_round(SMB2_CIPHER_AES128_CCM, false);
	sealed_read_round(SMB2_CIPHER_AES256_CCM, false);
	sealed_read_round(SMB2_CIPHER_AES128_GCM, true);
}

/* A reply that stops in the middle of its data: the wait times out and
 * returns only once the receiver has stopped writing into the buffer. */
static void test_read_stall(void)
{
	struct server s;
	struct smb2_conn *c;
	struct smb2_reply rep;
	uint8_t *dst = calloc(1, 256 * 1024);
	c = connect_scripted(&s, S_READ_STALL, 1);
	smb2_conn_set_signing(c, SMB2_SIGN_AES_CMAC, sign_key, true);
	CHECK_EQ(read_call(c, dst, 256 * 1024, 1, &rep), -ETIMEDOUT);
	CHECK(!smb2_conn_alive(c));
	free(dst); /* ours again: the receiver is done with it */
	disconnect_scripted(&s, c);
}

static void test_refused(void)
{
	struct server s;
	struct smb2_conn *c = NULL;
	char err[256] = "";
	/* a port nothing listens on: take one, close it */
	server_start(&s, S_SHORT_HEADER, 0);
	uint16_t port = s.port;
	shutdown(s.lfd, SHUT_RDWR);
	close(s.lfd);
	pthread_cancel(s.th);
	pthread_join(s.th, NULL);
	int r = smb2_conn_open("127.0.0.1", port, 2, false, &c, err, sizeof(err));
	CHECK_EQ(r, -ECONNREFUSED);
	CHECK(strstr(err, "cannot reach 127.0.0.1:") != NULL);
	CHECK(strstr(err, "Connection refused") != NULL);
}

/* The watchdog: a server that reads but never answers is declared dead
 * after 2 x echo_interval (-ETIMEDOUT, long before the request's own
 * timeout), with no session given as well (no ECHO: while negotiating). */
static void test_watchdog_silent(void)
{
	struct server s;
	struct smb2_conn *c = connect_scripted(&s, S_SILENT, 0);
	smb2_conn_set_echo(c, 1, 0);
	uint32_t st;
	double t0 = now_s();
	unsigned saved = call_timeout;
	call_timeout = 30;
	CHECK_EQ(echo_call(c, 0, &st, NULL), -ETIMEDOUT);
	call_timeout = saved;
	double took = now_s() - t0;
	CHECK(took >= 1.9 && took < 3.5);
	CHECK(!smb2_conn_alive(c));
	CHECK_EQ(smb2_conn_error(c), -ETIMEDOUT);
	disconnect_scripted(&s, c);
	CHECK_EQ(s.nseen, 1); /* no ECHO without a session */
}

/* A slow request on a server that answers ECHOs: alive past 2 x
 * echo_interval, and the reply comes. */
static void test_watchdog_echo_keeps_alive(void)
{
	struct server s;
	struct smb2_conn *c = connect_scripted(&s, S_ECHO_KEEPS, 0);
	uint32_t st;
	CHECK_EQ(echo_call(c, 0, &st, NULL), 0); /* 64 credits */
	smb2_conn_set_echo(c, 1, 0x1234);
	struct smb2_hdr h = {.command = SMB2_FLUSH, .session_id = 0x1234};
	struct wbuf w;
	wbuf_init(&w);
	CHECK_EQ(smb2_hdr_encode(&w, &h), 0);
	CHECK_EQ(smb2_echo_encode(&w), 0);
	struct smb2_reply rep;
	double t0 = now_s();
	CHECK_EQ(smb2_conn_call(c, &w, 0, 10, &rep), 0);
	CHECK(now_s() - t0 >= 3.4);
	CHECK_EQ(rep.hdr.status, STATUS_SUCCESS);
	smb2_reply_free(&rep);
	wbuf_free(&w);
	CHECK(smb2_conn_alive(c));
	disconnect_scripted(&s, c);
	CHECK(s.echoes >= 2);
}

static double intr_after;
static bool intr_fn(void *arg)
{
	(void)arg;
	return now_s() >= intr_after;
}

/* An interrupted waiter's probe: a silent server is declared dead
 * SMB2_PROBE_MS after the interrupt, long before 2 x echo_interval. */
static void test_watchdog_probe(void)
{
	struct server s;
	struct smb2_conn *c = connect_scripted(&s, S_SILENT, 0);
	smb2_conn_set_echo(c, 30, 0x1234);
	double t0 = now_s();
	intr_after = t0 + 0.5;
	smb2_conn_set_intr(c, intr_fn, NULL);
	uint32_t st;
	unsigned saved = call_timeout;
	call_timeout = 30;
	CHECK_EQ(echo_call(c, 0, &st, NULL), -ETIMEDOUT);
	call_timeout = saved;
	double took = now_s() - t0;
	CHECK(took >= 0.5 + SMB2_PROBE_MS / 1000.0 - 0.1 && took < 3.5);
	disconnect_scripted(&s, c);
}

int main(void)
{
	test_out_of_order();
	test_hostile_frame(S_OVERSIZE);
	test_hostile_frame(S_SHORT_HEADER);
	test_signing();
	test_forged_session_id();
	test_interim_extends_deadline();
	test_credits();
	test_multi_credit();
	test_credit_trust();
	test_compound_chain();
	test_chain_after_expired(STATUS_NETWORK_SESSION_EXPIRED);
	test_chain_after_expired(STATUS_SUCCESS);
	test_cancel();
	test_big_reply_verified_by_waiter();
	test_write_data_apart();
	test_read_into_buffer();
	test_read_stall();
	test_sealed_read();
	test_notify();
	test_unsigned_session_deleted_is_forged();
	test_endless_pending_is_capped();
	test_no_deadline();
	test_unsigned_interim();
	test_refused();
	test_watchdog_silent();
	test_watchdog_echo_keeps_alive();
	test_watchdog_probe();
	return check_done("conn");
}

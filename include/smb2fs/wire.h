/* SMB2 message codecs (MS-SMB2 section 2.2).  Pure: no I/O, no globals.
 *
 * Conventions
 * - Encoders append ONE complete SMB2 message body to a wbuf whose offset 0 is
 *   the start of that message's 64-byte header (the header is written first by
 *   smb2_hdr_encode).  Offsets inside the body are therefore relative to w->p.
 * - Decoders take the whole SMB2 message (header + body, NOT the 4-byte
 *   transport frame) and fill a struct whose pointer fields point INTO that
 *   message (no copies): the struct is valid while the message is.
 * - Every return is 0 or a negative errno: -EBADMSG for truncated or
 *   inconsistent input (bad StructureSize, offset/length outside the message),
 *   -EINVAL for bad arguments, -ENOMEM.
 * - An encoder that fails also records its errno in the wbuf's sticky error
 *   (-EILSEQ: a string is not valid UTF-8; -EOVERFLOW: a length or offset
 *   does not fit its field; -EINVAL, -ENOMEM), and the send path refuses a
 *   buffer in error: a failed encoding never leaves with an empty or
 *   truncated field.  Encoders are SMB2FS_MUST_CHECK.
 * - Strings given to encoders are UTF-8; the codec converts to UTF-16LE.
 *   Path separators are the caller's business.
 */
#ifndef SMB2FS_WIRE_H
#define SMB2FS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smb2fs/buf.h"
#include "smb2fs/fscc.h" /* FILE_ATTRIBUTE_* for CREATE */

#define SMB2_HDR_SIZE 64
#define SMB2_PROTOCOL_ID 0x424d53feu /* "\xfeSMB" read as LE u32 */

enum smb2_cmd {
	SMB2_NEGOTIATE = 0x0000,
	SMB2_SESSION_SETUP = 0x0001,
	SMB2_LOGOFF = 0x0002,
	SMB2_TREE_CONNECT = 0x0003,
	SMB2_TREE_DISCONNECT = 0x0004,
	SMB2_CREATE = 0x0005,
	SMB2_CLOSE = 0x0006,
	SMB2_FLUSH = 0x0007,
	SMB2_READ = 0x0008,
	SMB2_WRITE = 0x0009,
	SMB2_LOCK = 0x000A,
	SMB2_IOCTL = 0x000B,
	SMB2_CANCEL = 0x000C,
	SMB2_ECHO = 0x000D,
	SMB2_QUERY_DIRECTORY = 0x000E,
	SMB2_CHANGE_NOTIFY = 0x000F,
	SMB2_QUERY_INFO = 0x0010,
	SMB2_SET_INFO = 0x0011,
	SMB2_OPLOCK_BREAK = 0x0012,
	SMB2_NCOMMANDS
};
/* "NEGOTIATE", "SESSION_SETUP", ... as Wireshark names them; "UNKNOWN" otherwise. */
const char *smb2_cmd_name(uint16_t cmd);

/* Header flags (2.2.1) */
#define SMB2_FLAGS_SERVER_TO_REDIR 0x00000001u
#define SMB2_FLAGS_ASYNC_COMMAND 0x00000002u
#define SMB2_FLAGS_RELATED_OPERATIONS 0x00000004u
#define SMB2_FLAGS_SIGNED 0x00000008u
#define SMB2_FLAGS_DFS_OPERATIONS 0x10000000u
#define SMB2_FLAGS_REPLAY_OPERATION 0x20000000u /* 3.x: a request sent again */

/* Dialects */
#define SMB2_DIALECT_202 0x0202
#define SMB2_DIALECT_210 0x0210
#define SMB2_DIALECT_300 0x0300
#define SMB2_DIALECT_302 0x0302
#define SMB2_DIALECT_311 0x0311
#define SMB2_DIALECT_WILDCARD 0x02FF

/* SecurityMode */
#define SMB2_NEGOTIATE_SIGNING_ENABLED 0x0001
#define SMB2_NEGOTIATE_SIGNING_REQUIRED 0x0002
/* Capabilities */
#define SMB2_GLOBAL_CAP_DFS 0x00000001u
#define SMB2_GLOBAL_CAP_LEASING 0x00000002u
#define SMB2_GLOBAL_CAP_LARGE_MTU 0x00000004u
#define SMB2_GLOBAL_CAP_MULTI_CHANNEL 0x00000008u
#define SMB2_GLOBAL_CAP_PERSISTENT_HANDLES 0x00000010u
#define SMB2_GLOBAL_CAP_DIRECTORY_LEASING 0x00000020u
#define SMB2_GLOBAL_CAP_ENCRYPTION 0x00000040u

/* 3.1.1 negotiate contexts (2.2.3.1) */
#define SMB2_PREAUTH_INTEGRITY_CAPABILITIES 0x0001
#define SMB2_ENCRYPTION_CAPABILITIES 0x0002
#define SMB2_NETNAME_NEGOTIATE_CONTEXT_ID 0x0005
#define SMB2_SIGNING_CAPABILITIES 0x0008
#define SMB2_PREAUTH_HASH_SHA512 0x0001
#define SMB2_CIPHER_AES128_CCM 0x0001
#define SMB2_CIPHER_AES128_GCM 0x0002
#define SMB2_CIPHER_AES256_CCM 0x0003
#define SMB2_CIPHER_AES256_GCM 0x0004
#define SMB2_SIGNING_HMAC_SHA256 0x0000
#define SMB2_SIGNING_AES_CMAC 0x0001
#define SMB2_SIGNING_AES_GMAC 0x0002

/* 2.2.1.1 / 2.2.1.2: one struct for both forms; ASYNC_COMMAND in flags
 * selects whether async_id or (reserved, tree_id) is on the wire. */
struct smb2_hdr {
	uint16_t credit_charge;
	uint32_t status;        /* ChannelSequence/Reserved in requests */
	uint16_t command;
	uint16_t credits;       /* CreditRequest / CreditResponse */
	uint32_t flags;
	uint32_t next_command;
	uint64_t message_id;
	uint64_t async_id;      /* async form only */
	uint32_t process_id;    /* sync form: Reserved (0xFEFF in requests) */
	uint32_t tree_id;       /* sync form only */
	uint64_t session_id;
	uint8_t signature[16];
};

/* Writes 64 bytes. */
SMB2FS_MUST_CHECK int smb2_hdr_encode(struct wbuf *w, const struct smb2_hdr *h);
/* Checks ProtocolId and StructureSize (64); len >= 64. */
int smb2_hdr_decode(const uint8_t *msg, size_t len, struct smb2_hdr *h);

/* Offsets of the header fields in an encoded message (2.2.1.1 async,
 * 2.2.1.2 sync; both forms share every offset but 32..39). */
#define SMB2_HDR_CREDIT_CHARGE_OFF 6   /* CreditCharge, u16 */
#define SMB2_HDR_STATUS_OFF 8          /* Status / ChannelSequence+Reserved, u32 */
#define SMB2_HDR_COMMAND_OFF 12        /* Command, u16 */
#define SMB2_HDR_CREDITS_OFF 14        /* CreditRequest / CreditResponse, u16 */
#define SMB2_HDR_FLAGS_OFF 16          /* Flags, u32 */
#define SMB2_HDR_NEXT_COMMAND_OFF 20   /* NextCommand, u32 */
#define SMB2_HDR_MESSAGE_ID_OFF 24     /* MessageId, u64 */
#define SMB2_HDR_ASYNC_ID_OFF 32       /* AsyncId, u64 (async form) */
#define SMB2_HDR_TREE_ID_OFF 36        /* TreeId, u32 (sync form) */
#define SMB2_HDR_SESSION_ID_OFF 40     /* SessionId, u64 */
#define SMB2_HDR_SIGNATURE_OFF 48      /* Signature, 16 bytes, up to the end */
#define SMB2_HDR_SIGNATURE_LEN 16

/* Accessors for single fields of an encoded message, for the layers that
 * read or patch a header in place (conn: credits, MessageId, chaining;
 * crypto: signing).  msg must hold at least SMB2_HDR_SIZE bytes: the caller
 * checks that (smb2_hdr_decode does) before calling them. */
/* 2.2.1.2 Command */
static inline uint16_t smb2_hdr_command(const uint8_t *msg)
{
	return le16_load(msg + SMB2_HDR_COMMAND_OFF);
}
/* 2.2.1.2 Flags */
static inline uint32_t smb2_hdr_flags(const uint8_t *msg)
{
	return le32_load(msg + SMB2_HDR_FLAGS_OFF);
}
static inline void smb2_hdr_set_flags(uint8_t *msg, uint32_t flags)
{
	le32_store(msg + SMB2_HDR_FLAGS_OFF, flags);
}
/* Sets the given Flags bits, keeping the others. */
static inline void smb2_hdr_add_flags(uint8_t *msg, uint32_t flags)
{
	smb2_hdr_set_flags(msg, smb2_hdr_flags(msg) | flags);
}
/* 2.2.1.2 CreditCharge */
static inline void smb2_hdr_set_credit_charge(uint8_t *msg, uint16_t charge)
{
	le16_store(msg + SMB2_HDR_CREDIT_CHARGE_OFF, charge);
}
/* 2.2.1.2 CreditRequest (a request's view of the Credits field) */
static inline void smb2_hdr_set_credit_request(uint8_t *msg, uint16_t credits)
{
	le16_store(msg + SMB2_HDR_CREDITS_OFF, credits);
}
/* 2.2.1.2 NextCommand: offset of the next message of a compound, or 0 */
static inline uint32_t smb2_hdr_next_command(const uint8_t *msg)
{
	return le32_load(msg + SMB2_HDR_NEXT_COMMAND_OFF);
}
static inline void smb2_hdr_set_next_command(uint8_t *msg, uint32_t next)
{
	le32_store(msg + SMB2_HDR_NEXT_COMMAND_OFF, next);
}
/* 2.2.1.2 MessageId */
static inline uint64_t smb2_hdr_message_id(const uint8_t *msg)
{
	return le64_load(msg + SMB2_HDR_MESSAGE_ID_OFF);
}
static inline void smb2_hdr_set_message_id(uint8_t *msg, uint64_t mid)
{
	le64_store(msg + SMB2_HDR_MESSAGE_ID_OFF, mid);
}
/* 2.2.1.2 TreeId: sync form only (in the async form these bytes are the
 * high half of AsyncId). */
static inline uint32_t smb2_hdr_tree_id(const uint8_t *msg)
{
	return le32_load(msg + SMB2_HDR_TREE_ID_OFF);
}
/* 2.2.1.2 SessionId */
static inline uint64_t smb2_hdr_session_id(const uint8_t *msg)
{
	return le64_load(msg + SMB2_HDR_SESSION_ID_OFF);
}
/* 2.2.1.2 ChannelSequence (3.x requests: the low half of the Status field) */
static inline void smb2_hdr_set_channel_sequence(uint8_t *msg, uint16_t seq)
{
	le16_store(msg + 8, seq);
}

struct smb2_fileid {
	uint64_t persistent;
	uint64_t volatile_;
};

/* ---- ERROR response (2.2.2) ---- */
struct smb2_error_rsp {
	uint8_t context_count;
	const uint8_t *data;  /* ErrorData, byte_count bytes */
	uint32_t byte_count;
};
int smb2_error_decode(const uint8_t *msg, size_t len, struct smb2_error_rsp *r);

/* ---- NEGOTIATE (2.2.3 / 2.2.4) ---- */
struct smb2_negotiate_req {
	uint16_t security_mode;
	uint32_t capabilities;
	uint8_t client_guid[16];
	const uint16_t *dialects;
	unsigned n_dialects;
	/* Contexts are sent only when dialects include 3.1.1. */
	const uint8_t *preauth_salt; /* 32 bytes recommended */
	size_t preauth_salt_len;
	const uint16_t *ciphers;     /* may be empty: then no ENCRYPTION ctx */
	unsigned n_ciphers;
	const uint16_t *sign_algs;   /* may be empty: then no SIGNING ctx */
	unsigned n_sign_algs;
	const char *netname;         /* may be NULL: then no NETNAME ctx */
};
SMB2FS_MUST_CHECK int smb2_negotiate_encode(struct wbuf *w, const struct smb2_negotiate_req *q);

struct smb2_negotiate_rsp {
	uint16_t security_mode;
	uint16_t dialect;
	uint8_t server_guid[16];
	uint32_t capabilities;
	uint32_t max_transact_size;
	uint32_t max_read_size;
	uint32_t max_write_size;
	uint64_t system_time;
	uint64_t server_start_time;
	const uint8_t *sec_blob;
	size_t sec_blob_len;
	/* 3.1.1 contexts that were present (0 / false when absent). */
	bool has_preauth;
	uint16_t preauth_hash_alg;
	bool has_cipher;
	uint16_t cipher;
	bool has_signing;
	uint16_t signing_alg;
};
int smb2_negotiate_decode(const uint8_t *msg, size_t len, struct smb2_negotiate_rsp *r);

/* ---- SESSION_SETUP (2.2.5 / 2.2.6) ---- */
#define SMB2_SESSION_FLAG_BINDING 0x01
#define SMB2_SESSION_FLAG_IS_GUEST 0x0001
#define SMB2_SESSION_FLAG_IS_NULL 0x0002
#define SMB2_SESSION_FLAG_ENCRYPT_DATA 0x0004
struct smb2_session_setup_req {
	uint8_t flags;
	uint8_t security_mode;
	uint32_t capabilities;
	uint64_t previous_session_id;
	const uint8_t *blob;
	size_t blob_len;
};
SMB2FS_MUST_CHECK int smb2_session_setup_encode(struct wbuf *w, const struct smb2_session_setup_req *q);
struct smb2_session_setup_rsp {
	uint16_t session_flags;
	const uint8_t *blob;
	size_t blob_len;
};
int smb2_session_setup_decode(const uint8_t *msg, size_t len, struct smb2_session_setup_rsp *r);

/* ---- LOGOFF, TREE_DISCONNECT, ECHO, CANCEL: 4-byte bodies ---- */
SMB2FS_MUST_CHECK int smb2_logoff_encode(struct wbuf *w);
SMB2FS_MUST_CHECK int smb2_tree_disconnect_encode(struct wbuf *w);
SMB2FS_MUST_CHECK int smb2_echo_encode(struct wbuf *w);
SMB2FS_MUST_CHECK int smb2_cancel_encode(struct wbuf *w);
/* Checks the StructureSize 4 body of LOGOFF/TREE_DISCONNECT/ECHO/FLUSH replies,
 * or StructureSize 2 for a SET_INFO reply (MS-SMB2 2.2.40); the command is
 * taken from the message's header. */
int smb2_empty_rsp_decode(const uint8_t *msg, size_t len);

/* ---- TREE_CONNECT (2.2.9 / 2.2.10) ---- */
#define SMB2_SHARE_TYPE_DISK 0x01
#define SMB2_SHARE_TYPE_PIPE 0x02
#define SMB2_SHARE_TYPE_PRINT 0x03
#define SMB2_SHAREFLAG_ENCRYPT_DATA 0x00008000u
struct smb2_tree_connect_req {
	uint16_t flags;
	const char *path; /* "\\\\server\\share", UTF-8 */
};
SMB2FS_MUST_CHECK int smb2_tree_connect_encode(struct wbuf *w, const struct smb2_tree_connect_req *q);
struct smb2_tree_connect_rsp {
	uint8_t share_type;
	uint32_t share_flags;
	uint32_t capabilities;
	uint32_t maximal_access;
};
int smb2_tree_connect_decode(const uint8_t *msg, size_t len, struct smb2_tree_connect_rsp *r);

/* ---- CREATE (2.2.13 / 2.2.14) ---- */
#define SMB2_OPLOCK_LEVEL_NONE 0x00
#define SMB2_OPLOCK_LEVEL_II 0x01
#define SMB2_OPLOCK_LEVEL_EXCLUSIVE 0x08
#define SMB2_OPLOCK_LEVEL_BATCH 0x09
#define SMB2_OPLOCK_LEVEL_LEASE 0xFF
#define SMB2_IMPERSONATION_IMPERSONATION 0x00000002u
/* access mask */
#define FILE_READ_DATA 0x00000001u
#define FILE_LIST_DIRECTORY 0x00000001u
#define FILE_WRITE_DATA 0x00000002u
#define FILE_ADD_FILE 0x00000002u
#define FILE_APPEND_DATA 0x00000004u
#define FILE_READ_EA 0x00000008u
#define FILE_WRITE_EA 0x00000010u
#define FILE_EXECUTE 0x00000020u
#define FILE_DELETE_CHILD 0x00000040u
#define FILE_READ_ATTRIBUTES 0x00000080u
#define FILE_WRITE_ATTRIBUTES 0x00000100u
#define DELETE 0x00010000u
#define READ_CONTROL 0x00020000u
#define SYNCHRONIZE 0x00100000u
#define MAXIMUM_ALLOWED 0x02000000u
#define GENERIC_ALL 0x10000000u
#define GENERIC_WRITE 0x40000000u
#define GENERIC_READ 0x80000000u
/* share access */
#define FILE_SHARE_READ 0x1u
#define FILE_SHARE_WRITE 0x2u
#define FILE_SHARE_DELETE 0x4u
/* create disposition */
#define FILE_SUPERSEDE 0u
#define FILE_OPEN 1u
#define FILE_CREATE 2u
#define FILE_OPEN_IF 3u
#define FILE_OVERWRITE 4u
#define FILE_OVERWRITE_IF 5u
/* create options */
#define FILE_DIRECTORY_FILE 0x00000001u
#define FILE_WRITE_THROUGH 0x00000002u
#define FILE_NON_DIRECTORY_FILE 0x00000040u
#define FILE_DELETE_ON_CLOSE 0x00001000u
#define FILE_OPEN_REPARSE_POINT 0x00200000u
/* create action */
#define FILE_SUPERSEDED 0u
#define FILE_OPENED 1u
#define FILE_CREATED 2u
#define FILE_OVERWRITTEN 3u

struct smb2_create_context {
	char name[5];         /* 4-char tag ("MxAc", "QFid", "DH2Q", "RqLs"), NUL-terminated */
	const uint8_t *data;
	size_t data_len;
};

struct smb2_create_req {
	uint8_t oplock_level;
	uint32_t impersonation_level;
	uint32_t desired_access;
	uint32_t file_attributes;
	uint32_t share_access;
	uint32_t create_disposition;
	uint32_t create_options;
	const char *name;     /* UTF-8, already using '\\', no leading '\\'; "" = share root */
	const struct smb2_create_context *contexts;
	unsigned n_contexts;
};
SMB2FS_MUST_CHECK int smb2_create_encode(struct wbuf *w, const struct smb2_create_req *q);

struct smb2_create_rsp {
	uint8_t oplock_level;
	uint8_t flags;
	uint32_t create_action;
	uint64_t creation_time, last_access_time, last_write_time, change_time;
	uint64_t allocation_size;
	uint64_t end_of_file;
	uint32_t file_attributes;
	struct smb2_fileid file_id;
	const uint8_t *contexts;  /* raw context chain, validated */
	size_t contexts_len;
};
int smb2_create_decode(const uint8_t *msg, size_t len, struct smb2_create_rsp *r);
/* Walks a create-context chain (request or response form, 2.2.13.2).
 * Calls cb for each; a non-zero cb return stops and is returned.  Every
 * Next/NameOffset/DataOffset is bounds-checked: -EBADMSG on a bad chain. */
int smb2_create_contexts_walk(const uint8_t *chain, size_t len,
			      int (*cb)(const struct smb2_create_context *c, void *arg), void *arg);

/* ---- Leases: the RqLs create context (2.2.13.2.8, 2.2.13.2.10,
 * 2.2.14.2.10, 2.2.14.2.11), the break notification (2.2.23), its
 * acknowledgment (2.2.24.2) and the server's response (2.2.25.2) ---- */
#define SMB2_CREATE_LEASE_TAG "RqLs"
#define SMB2_LEASE_NONE 0x00u
#define SMB2_LEASE_READ_CACHING 0x01u
#define SMB2_LEASE_HANDLE_CACHING 0x02u
#define SMB2_LEASE_WRITE_CACHING 0x04u
#define SMB2_LEASE_FLAG_BREAK_IN_PROGRESS 0x02u
#define SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET 0x04u
#define SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED 0x01u
#define SMB2_LEASE_V1_SIZE 32
#define SMB2_LEASE_V2_SIZE 52
struct smb2_lease_ctx {
	uint8_t key[16];
	uint32_t state;          /* SMB2_LEASE_* caching bits */
	uint32_t flags;
	bool v2;                 /* 3.x form: parent key and epoch */
	uint8_t parent_key[16];
	uint16_t epoch;
};
/* The RqLs context data (v1: 32 bytes, v2: 52) into out; returns its length. */
size_t smb2_lease_ctx_encode(const struct smb2_lease_ctx *l, uint8_t out[SMB2_LEASE_V2_SIZE]);
/* An RqLs response context's data: 32 bytes are v1, 52 are v2, anything
 * else -EBADMSG. */
int smb2_lease_ctx_decode(const uint8_t *data, size_t len, struct smb2_lease_ctx *l);
struct smb2_lease_break {
	uint16_t new_epoch;
	uint32_t flags;          /* SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED */
	uint8_t key[16];
	uint32_t current_state, new_state;
	uint32_t reason, access_mask_hint, share_mask_hint;
};
/* An OPLOCK_BREAK message from the server (header + body): 1 with *b for
 * a lease break notification, 0 for an oplock break notification
 * (StructureSize 24; we never ask for oplocks, so nothing is filled),
 * -EBADMSG for anything else. */
int smb2_break_notify_decode(const uint8_t *msg, size_t len, struct smb2_lease_break *b);
/* Lease Break Acknowledgment body: the state the client keeps. */
SMB2FS_MUST_CHECK int smb2_lease_ack_encode(struct wbuf *w, const uint8_t key[16], uint32_t state);
/* Lease Break Response (the reply to the acknowledgment). */
int smb2_lease_ack_rsp_decode(const uint8_t *msg, size_t len, uint8_t key[16], uint32_t *state);

/* ---- Durable handles v2 (3.x only): DH2Q (2.2.13.2.11), its response
 * (2.2.14.2.12) and DH2C (2.2.13.2.12) ---- */
#define SMB2_CREATE_DH2Q_TAG "DH2Q"
#define SMB2_CREATE_DH2C_TAG "DH2C"
#define SMB2_DHANDLE_FLAG_PERSISTENT 0x00000002u
#define SMB2_DH2Q_SIZE 32
#define SMB2_DH2Q_RSP_SIZE 8
#define SMB2_DH2C_SIZE 36
/* The DH2Q context data: Timeout (ms; 0 = the server's default), Flags
 * (only SMB2_DHANDLE_FLAG_PERSISTENT), 8 reserved bytes, CreateGuid. */
size_t smb2_dh2q_encode(uint32_t timeout_ms, uint32_t flags, const uint8_t guid[16],
			uint8_t out[SMB2_DH2Q_SIZE]);
/* A DH2Q response context's data (8 bytes or more): the granted timeout
 * and flags; -EBADMSG when shorter. */
int smb2_dh2q_rsp_decode(const uint8_t *data, size_t len, uint32_t *timeout_ms, uint32_t *flags);
/* The DH2C context data: the open's FileId, its CreateGuid, Flags. */
size_t smb2_dh2c_encode(const struct smb2_fileid *id, const uint8_t guid[16], uint32_t flags,
			uint8_t out[SMB2_DH2C_SIZE]);

/* ---- CLOSE (2.2.15 / 2.2.16) ---- */
#define SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB 0x0001
struct smb2_close_req {
	uint16_t flags;
	struct smb2_fileid file_id;
};
SMB2FS_MUST_CHECK int smb2_close_encode(struct wbuf *w, const struct smb2_close_req *q);
struct smb2_close_rsp {
	uint16_t flags;
	uint64_t creation_time, last_access_time, last_write_time, change_time;
	uint64_t allocation_size;
	uint64_t end_of_file;
	uint32_t file_attributes;
};
int smb2_close_decode(const uint8_t *msg, size_t len, struct smb2_close_rsp *r);

/* ---- FLUSH (2.2.17 / 2.2.18) ---- */
SMB2FS_MUST_CHECK int smb2_flush_encode(struct wbuf *w, const struct smb2_fileid *id);

/* ---- LOCK (2.2.26 / 2.2.27) ---- */
#define SMB2_LOCKFLAG_SHARED_LOCK 0x00000001u
#define SMB2_LOCKFLAG_EXCLUSIVE_LOCK 0x00000002u
#define SMB2_LOCKFLAG_UNLOCK 0x00000004u
#define SMB2_LOCKFLAG_FAIL_IMMEDIATELY 0x00000010u
/* Elements one request carries at most (ours: a few unlocks at once). */
#define SMB2_LOCK_MAX 64
struct smb2_lock_element {
	uint64_t offset;
	uint64_t length;
	uint32_t flags;   /* SHARED or EXCLUSIVE (| FAIL_IMMEDIATELY), or UNLOCK */
};
struct smb2_lock_req {
	uint32_t sequence; /* LockSequenceNumber (4 bits) | LockSequenceIndex << 4; 0: none */
	struct smb2_fileid file_id;
	const struct smb2_lock_element *locks;
	uint16_t count;    /* 1..SMB2_LOCK_MAX */
};
SMB2FS_MUST_CHECK int smb2_lock_encode(struct wbuf *w, const struct smb2_lock_req *q);
/* Checks the 4-byte LOCK response body; 0 or -EBADMSG. */
int smb2_lock_decode(const uint8_t *msg, size_t len);

/* ---- CHANGE_NOTIFY (2.2.35 / 2.2.36) ---- */
#define SMB2_WATCH_TREE 0x0001u
/* CompletionFilter */
#define FILE_NOTIFY_CHANGE_FILE_NAME 0x00000001u
#define FILE_NOTIFY_CHANGE_DIR_NAME 0x00000002u
#define FILE_NOTIFY_CHANGE_ATTRIBUTES 0x00000004u
#define FILE_NOTIFY_CHANGE_SIZE 0x00000008u
#define FILE_NOTIFY_CHANGE_LAST_WRITE 0x00000010u
struct smb2_change_notify_req {
	uint16_t flags;                /* SMB2_WATCH_TREE or 0 */
	uint32_t output_buffer_length;
	struct smb2_fileid file_id;    /* an open directory */
	uint32_t completion_filter;    /* FILE_NOTIFY_CHANGE_*; not 0 */
};
SMB2FS_MUST_CHECK int smb2_change_notify_encode(struct wbuf *w, const struct smb2_change_notify_req *q);
/* The response's buffer (FILE_NOTIFY_INFORMATION entries, fscc.h), which
 * may be empty; 0 or -EBADMSG. */
int smb2_change_notify_decode(const uint8_t *msg, size_t len, const uint8_t **buf, uint32_t *buf_len);

/* ---- READ (2.2.19 / 2.2.20) ---- */
struct smb2_read_req {
	uint8_t flags;
	uint32_t length;
	uint64_t offset;
	struct smb2_fileid file_id;
	uint32_t minimum_count;
	uint32_t remaining_bytes;
};
SMB2FS_MUST_CHECK int smb2_read_encode(struct wbuf *w, const struct smb2_read_req *q);
struct smb2_read_rsp {
	const uint8_t *data;
	uint32_t data_len;
	uint32_t data_remaining;
};
int smb2_read_decode(const uint8_t *msg, size_t len, struct smb2_read_rsp *r);
/* A READ reply whose last tail_len bytes were received into the caller's
 * buffer (smb2_conn_submit_read): those must be the data, all of it
 * (r->data is NULL: the data is in that buffer). */
int smb2_read_decode_split(const uint8_t *msg, size_t len, size_t tail_len,
			   struct smb2_read_rsp *r);

/* ---- WRITE (2.2.21 / 2.2.22) ---- */
#define SMB2_WRITEFLAG_WRITE_THROUGH 0x00000001u
struct smb2_write_req {
	uint64_t offset;
	struct smb2_fileid file_id;
	const uint8_t *data;
	uint32_t data_len;
	uint32_t flags;
};
SMB2FS_MUST_CHECK int smb2_write_encode(struct wbuf *w, const struct smb2_write_req *q);
/* The same without the data (q->data is not read): DataOffset and Length
 * say data_len bytes follow the body, which the caller sends from its own
 * buffer (smb2_conn_submit_data), so the data is not copied. */
SMB2FS_MUST_CHECK int smb2_write_encode_head(struct wbuf *w, const struct smb2_write_req *q);
struct smb2_write_rsp {
	uint32_t count;
};
int smb2_write_decode(const uint8_t *msg, size_t len, struct smb2_write_rsp *r);

/* ---- QUERY_DIRECTORY (2.2.33 / 2.2.34) ---- */
#define SMB2_RESTART_SCANS 0x01
#define SMB2_RETURN_SINGLE_ENTRY 0x02
#define SMB2_INDEX_SPECIFIED 0x04
#define SMB2_REOPEN 0x10
struct smb2_query_directory_req {
	uint8_t info_class;       /* FileIdBothDirectoryInformation etc., see fscc.h */
	uint8_t flags;
	uint32_t file_index;
	struct smb2_fileid file_id;
	const char *pattern;      /* UTF-8, e.g. "*" */
	uint32_t output_buffer_length;
};
SMB2FS_MUST_CHECK int smb2_query_directory_encode(struct wbuf *w, const struct smb2_query_directory_req *q);
struct smb2_query_directory_rsp {
	const uint8_t *buf;
	uint32_t buf_len;
};
int smb2_query_directory_decode(const uint8_t *msg, size_t len, struct smb2_query_directory_rsp *r);

/* ---- QUERY_INFO (2.2.37 / 2.2.38) ---- */
#define SMB2_0_INFO_FILE 0x01
#define SMB2_0_INFO_FILESYSTEM 0x02
#define SMB2_0_INFO_SECURITY 0x03
#define SMB2_0_INFO_QUOTA 0x04
struct smb2_query_info_req {
	uint8_t info_type;
	uint8_t file_info_class;
	uint32_t output_buffer_length;
	uint32_t additional_information;
	uint32_t flags;
	struct smb2_fileid file_id;
	const uint8_t *input;
	uint32_t input_len;
};
SMB2FS_MUST_CHECK int smb2_query_info_encode(struct wbuf *w, const struct smb2_query_info_req *q);
struct smb2_query_info_rsp {
	const uint8_t *buf;
	uint32_t buf_len;
};
int smb2_query_info_decode(const uint8_t *msg, size_t len, struct smb2_query_info_rsp *r);

/* ---- SET_INFO (2.2.39 / 2.2.40) ---- */
struct smb2_set_info_req {
	uint8_t info_type;
	uint8_t file_info_class;
	uint32_t additional_information;
	struct smb2_fileid file_id;
	const uint8_t *buf;
	uint32_t buf_len;
};
SMB2FS_MUST_CHECK int smb2_set_info_encode(struct wbuf *w, const struct smb2_set_info_req *q);

/* ---- IOCTL (2.2.31 / 2.2.32) ---- */
#define SMB2_0_IOCTL_IS_FSCTL 0x00000001u
#define FSCTL_VALIDATE_NEGOTIATE_INFO 0x00140204u
struct smb2_ioctl_req {
	uint32_t ctl_code;
	struct smb2_fileid file_id;
	const uint8_t *input;
	uint32_t input_len;
	uint32_t max_input_response;
	uint32_t max_output_response;
	uint32_t flags;
};
SMB2FS_MUST_CHECK int smb2_ioctl_encode(struct wbuf *w, const struct smb2_ioctl_req *q);
struct smb2_ioctl_rsp {
	uint32_t ctl_code;
	struct smb2_fileid file_id;
	const uint8_t *input;
	uint32_t input_len;
	const uint8_t *output;
	uint32_t output_len;
	uint32_t flags;
};
int smb2_ioctl_decode(const uint8_t *msg, size_t len, struct smb2_ioctl_rsp *r);

/* FSCTL_VALIDATE_NEGOTIATE_INFO: what the client said in NEGOTIATE, and what
 * the server answered, repeated over a signed IOCTL (3.2.5.14.12). */
/* 2.2.31.4 VALIDATE_NEGOTIATE_INFO Request (the IOCTL's input buffer) */
struct smb2_validate_negotiate_req {
	uint32_t capabilities;
	uint8_t guid[16];          /* the client's ClientGuid */
	uint16_t security_mode;
	const uint16_t *dialects;
	unsigned n_dialects;       /* 1..65535 */
};
/* Appends the payload (not an SMB2 message: the IOCTL's Input) to w.
 * -EINVAL without dialects, -EOVERFLOW for more than DialectCount holds;
 * both recorded in w like every encoder's failure. */
SMB2FS_MUST_CHECK int smb2_validate_negotiate_encode(struct wbuf *w,
						     const struct smb2_validate_negotiate_req *q);
/* 2.2.32.6 VALIDATE_NEGOTIATE_INFO Response (the IOCTL's output buffer) */
#define SMB2_VALIDATE_NEGOTIATE_RSP_SIZE 24
struct smb2_validate_negotiate_rsp {
	uint32_t capabilities;
	uint8_t guid[16];          /* the server's ServerGuid */
	uint16_t security_mode;
	uint16_t dialect;
};
/* Decodes the IOCTL's output buffer (smb2_ioctl_rsp.output/output_len);
 * -EBADMSG when shorter than 24 bytes (bytes after them are ignored). */
int smb2_validate_negotiate_decode(const uint8_t *out, size_t len,
				   struct smb2_validate_negotiate_rsp *r);

/* Space and server-side copy payloads (fsctl.c): the IOCTL Input/Output
 * buffers of MS-SMB2 2.2.31.1 / 2.2.32.1-3 and MS-FSCC 2.3, and the
 * FileAllocationInformation SET_INFO buffer (MS-FSCC 2.4.4). */
#define FSCTL_SRV_REQUEST_RESUME_KEY 0x00140078u
#define FSCTL_SRV_COPYCHUNK 0x001440F2u
#define FSCTL_SRV_COPYCHUNK_WRITE 0x001480F2u
#define FSCTL_SET_SPARSE 0x000900C4u
#define FSCTL_SET_ZERO_DATA 0x000980C8u
#define FSCTL_QUERY_ALLOCATED_RANGES 0x000940CFu
#define SMB2_RESUME_KEY_SIZE 24
#define SMB2_COPYCHUNK_RSP_SIZE 12
#define SMB2_COPYCHUNK_MAX_CHUNKS 256   /* what we ever put in one request */
struct smb2_copychunk {
	uint64_t src_off, dst_off;
	uint32_t len;
};
/* SRV_COPYCHUNK_COPY: -EINVAL for no chunks or more than
 * SMB2_COPYCHUNK_MAX_CHUNKS (recorded in w). */
SMB2FS_MUST_CHECK int smb2_copychunk_encode(struct wbuf *w, const uint8_t key[SMB2_RESUME_KEY_SIZE],
					    const struct smb2_copychunk *chunks, unsigned n);
/* SRV_REQUEST_RESUME_KEY's ResumeKey (the Context after it is ignored);
 * -EBADMSG when shorter than 24 bytes. */
int smb2_resume_key_decode(const uint8_t *out, size_t len, uint8_t key[SMB2_RESUME_KEY_SIZE]);
/* SRV_COPYCHUNK_RESPONSE.  After STATUS_SUCCESS: what was copied; after
 * STATUS_INVALID_PARAMETER: the server's limits (chunks per request,
 * bytes per chunk, bytes per request).  -EBADMSG when short. */
struct smb2_copychunk_rsp {
	uint32_t chunks_written;
	uint32_t chunk_bytes_written;
	uint32_t total_bytes_written;
};
int smb2_copychunk_rsp_decode(const uint8_t *out, size_t len, struct smb2_copychunk_rsp *r);
/* FILE_SET_SPARSE_BUFFER (MS-FSCC 2.3.64): one BOOLEAN. */
SMB2FS_MUST_CHECK int smb2_set_sparse_encode(struct wbuf *w, bool sparse);
/* FILE_ZERO_DATA_INFORMATION (MS-FSCC 2.3.70): [off, end) reads as zeros;
 * -EINVAL when end < off. */
SMB2FS_MUST_CHECK int smb2_zero_data_encode(struct wbuf *w, uint64_t off, uint64_t end);
/* FILE_ALLOCATED_RANGE_BUFFER (MS-FSCC 2.3.34): the query's input, and
 * each element of its output. */
struct smb2_alloc_range {
	uint64_t off, len;
};
SMB2FS_MUST_CHECK int smb2_alloc_range_encode(struct wbuf *w, uint64_t off, uint64_t len);
/* The output of FSCTL_QUERY_ALLOCATED_RANGES: up to max ranges into out,
 * *n how many.  -EBADMSG when len is not a multiple of 16, a range wraps
 * past 2^64, or the ranges are not in increasing order without overlap;
 * -E2BIG when more than max. */
int smb2_alloc_ranges_decode(const uint8_t *out, size_t len, struct smb2_alloc_range *ranges,
			     size_t max, size_t *n);
/* FileAllocationInformation (MS-FSCC 2.4.4): AllocationSize. */
SMB2FS_MUST_CHECK int smb2_allocation_info_encode(struct wbuf *w, uint64_t size);

/* ---- TRANSFORM_HEADER (2.2.41): an encrypted message or compound chain
 * (OriginalMessageSize bytes) follows it in the same frame ---- */
#define SMB2_TRANSFORM_PROTOCOL_ID 0x424d53fdu /* "\xfdSMB" read as LE u32 */
#define SMB2_TRANSFORM_HDR_SIZE 52
#define SMB2_TRANSFORM_SIGNATURE_OFF 4  /* Signature: the AEAD tag, 16 bytes */
#define SMB2_TRANSFORM_NONCE_OFF 20     /* Nonce, 16 bytes (11 used by CCM, 12 by GCM) */
/* 3.1.4.3: the AEAD's additional data is the header from Nonce to the end. */
#define SMB2_TRANSFORM_AAD_OFF SMB2_TRANSFORM_NONCE_OFF
#define SMB2_TRANSFORM_AAD_LEN (SMB2_TRANSFORM_HDR_SIZE - SMB2_TRANSFORM_AAD_OFF)
#define SMB2_TRANSFORM_FLAG_ENCRYPTED 0x0001
struct smb2_transform_hdr {
	uint8_t signature[16];
	uint8_t nonce[16];
	uint32_t original_size;
	uint16_t flags;        /* Flags (3.1.1) / EncryptionAlgorithm (3.0.x): 0x0001 */
	uint64_t session_id;
};
/* Whether a received frame starts with the transform ProtocolId. */
static inline bool smb2_is_transform(const uint8_t *frame, size_t len)
{
	return len >= 4 && le32_load(frame) == SMB2_TRANSFORM_PROTOCOL_ID;
}
/* Writes the 52 bytes (Reserved zero).  -EINVAL when original_size cannot
 * hold an SMB2 header. */
int smb2_transform_hdr_encode(uint8_t out[SMB2_TRANSFORM_HDR_SIZE],
			      const struct smb2_transform_hdr *h);
/* Decodes the header of a whole received frame (transform header and the
 * encrypted bytes, no 4-byte transport header).  -EBADMSG for a short
 * frame, another ProtocolId, Flags other than 0x0001, or an
 * OriginalMessageSize that is not exactly the rest of the frame or is
 * shorter than an SMB2 header. */
int smb2_transform_hdr_decode(const uint8_t *frame, size_t len, struct smb2_transform_hdr *h);

#endif

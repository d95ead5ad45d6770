/* Durable handles v2: the DH2Q request and response contexts and the DH2C
 * reconnect context (MS-SMB2 2.2.13.2.11, 2.2.14.2.12, 2.2.13.2.12). */
#include "wire_int.h"

#include <string.h>

/* 2.2.13.2.11: Timeout, Flags, Reserved (8), CreateGuid (16). */
size_t smb2_dh2q_encode(uint32_t timeout_ms, uint32_t flags, const uint8_t guid[16],
			uint8_t out[SMB2_DH2Q_SIZE])
{
	memset(out, 0, SMB2_DH2Q_SIZE);
	le32_store(out, timeout_ms);
	le32_store(out + 4, flags & SMB2_DHANDLE_FLAG_PERSISTENT);
	memcpy(out + 16, guid, 16);
	return SMB2_DH2Q_SIZE;
}

/* 2.2.14.2.12: Timeout, Flags. */
int smb2_dh2q_rsp_decode(const uint8_t *data, size_t len, uint32_t *timeout_ms, uint32_t *flags)
{
	if (!data || len < SMB2_DH2Q_RSP_SIZE)
		return -EBADMSG;
	*timeout_ms = le32_load(data);
	*flags = le32_load(data + 4);
	return 0;
}

/* 2.2.13.2.12: FileId (Persistent, Volatile), CreateGuid, Flags. */
size_t smb2_dh2c_encode(const struct smb2_fileid *id, const uint8_t guid[16], uint32_t flags,
			uint8_t out[SMB2_DH2C_SIZE])
{
	memset(out, 0, SMB2_DH2C_SIZE);
	le64_store(out, id->persistent);
	le64_store(out + 8, id->volatile_);
	memcpy(out + 16, guid, 16);
	le32_store(out + 32, flags & SMB2_DHANDLE_FLAG_PERSISTENT);
	return SMB2_DH2C_SIZE;
}

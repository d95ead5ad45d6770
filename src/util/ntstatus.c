/* NT status names and the single NT status -> errno table (MS-ERREF 2.3).
 * The reasoning for each row is in docs/errno-map.md.  The table MUST stay
 * sorted by code: it is searched with bsearch (the unit test checks order). */
#include "smb2fs/ntstatus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct nt_status_entry {
	uint32_t code;
	int err;
	const char *name;
};

#define E(code, err) { code, err, #code }

static const struct nt_status_entry nt_table[] = {
	E(STATUS_SUCCESS, 0),
	E(STATUS_PENDING, EINPROGRESS),
	E(STATUS_NOTIFY_ENUM_DIR, 0),
	E(STATUS_BUFFER_OVERFLOW, EOVERFLOW),
	E(STATUS_NO_MORE_FILES, ENODATA),
	E(STATUS_STOPPED_ON_SYMLINK, EOPNOTSUPP),
	E(STATUS_UNSUCCESSFUL, EIO),
	E(STATUS_NOT_IMPLEMENTED, EOPNOTSUPP),
	E(STATUS_INVALID_INFO_CLASS, EOPNOTSUPP),
	E(STATUS_INFO_LENGTH_MISMATCH, EIO),
	E(STATUS_INVALID_HANDLE, EBADF),
	E(STATUS_INVALID_PARAMETER, EINVAL),
	E(STATUS_NO_SUCH_DEVICE, ENODEV),
	E(STATUS_NO_SUCH_FILE, ENOENT),
	E(STATUS_INVALID_DEVICE_REQUEST, EOPNOTSUPP),
	E(STATUS_END_OF_FILE, ENODATA),
	E(STATUS_MORE_PROCESSING_REQUIRED, EIO),
	E(STATUS_NO_MEMORY, ENOMEM),
	E(STATUS_ACCESS_DENIED, EACCES),
	E(STATUS_BUFFER_TOO_SMALL, ERANGE),
	E(STATUS_OBJECT_NAME_INVALID, EINVAL),
	E(STATUS_OBJECT_NAME_NOT_FOUND, ENOENT),
	E(STATUS_OBJECT_NAME_COLLISION, EEXIST),
	E(STATUS_OBJECT_PATH_INVALID, ENOTDIR),
	E(STATUS_OBJECT_PATH_NOT_FOUND, ENOENT),
	E(STATUS_OBJECT_PATH_SYNTAX_BAD, EINVAL),
	E(STATUS_SHARING_VIOLATION, EBUSY),
	E(STATUS_QUOTA_EXCEEDED, EDQUOT),
	E(STATUS_EAS_NOT_SUPPORTED, EOPNOTSUPP),
	E(STATUS_FILE_LOCK_CONFLICT, EACCES),
	E(STATUS_LOCK_NOT_GRANTED, EAGAIN),
	E(STATUS_DELETE_PENDING, ENOENT),
	E(STATUS_PRIVILEGE_NOT_HELD, EPERM),
	E(STATUS_WRONG_PASSWORD, EACCES),
	E(STATUS_LOGON_FAILURE, EACCES),
	E(STATUS_ACCOUNT_RESTRICTION, EACCES),
	E(STATUS_INVALID_LOGON_HOURS, EACCES),
	E(STATUS_INVALID_WORKSTATION, EACCES),
	E(STATUS_PASSWORD_EXPIRED, EKEYEXPIRED),
	E(STATUS_ACCOUNT_DISABLED, EACCES),
	E(STATUS_RANGE_NOT_LOCKED, ENOLCK),
	E(STATUS_DISK_FULL, ENOSPC),
	E(STATUS_FILE_INVALID, EIO),
	E(STATUS_INSUFFICIENT_RESOURCES, EAGAIN),
	E(STATUS_MEDIA_WRITE_PROTECTED, EROFS),
	E(STATUS_BAD_IMPERSONATION_LEVEL, EACCES),
	E(STATUS_BAD_TOKEN_TYPE, EACCES),
	E(STATUS_IO_TIMEOUT, ETIMEDOUT),
	E(STATUS_FILE_IS_A_DIRECTORY, EISDIR),
	E(STATUS_NOT_SUPPORTED, EOPNOTSUPP),
	E(STATUS_INVALID_NETWORK_RESPONSE, EPROTO),
	E(STATUS_NETWORK_NAME_DELETED, ECONNRESET),
	E(STATUS_NETWORK_ACCESS_DENIED, EACCES),
	E(STATUS_BAD_NETWORK_NAME, ENOENT),
	E(STATUS_REQUEST_NOT_ACCEPTED, ECONNREFUSED),
	E(STATUS_NOT_SAME_DEVICE, EXDEV),
	E(STATUS_FILE_RENAMED, ESTALE),
	E(STATUS_DIRECTORY_NOT_EMPTY, ENOTEMPTY),
	E(STATUS_NOT_A_DIRECTORY, ENOTDIR),
	E(STATUS_NAME_TOO_LONG, ENAMETOOLONG),
	E(STATUS_TOO_MANY_OPENED_FILES, EMFILE),
	E(STATUS_CANCELLED, EINTR),
	E(STATUS_CANNOT_DELETE, EACCES),
	E(STATUS_FILE_DELETED, ENOENT),
	E(STATUS_FILE_CLOSED, EBADF),
	E(STATUS_ACCOUNT_EXPIRED, EKEYEXPIRED),
	E(STATUS_USER_SESSION_DELETED, ECONNRESET),
	E(STATUS_CONNECTION_DISCONNECTED, ECONNRESET),
	E(STATUS_CONNECTION_RESET, ECONNRESET),
	E(STATUS_PASSWORD_MUST_CHANGE, EKEYEXPIRED),
	E(STATUS_NOT_FOUND, ENOENT),
	E(STATUS_ACCOUNT_LOCKED_OUT, EACCES),
	E(STATUS_NETWORK_UNREACHABLE, ENETUNREACH),
	E(STATUS_HOST_UNREACHABLE, EHOSTUNREACH),
	E(STATUS_TOO_MANY_LINKS, EMLINK),
	E(STATUS_IO_REPARSE_TAG_NOT_HANDLED, EOPNOTSUPP),
	E(STATUS_NETWORK_SESSION_EXPIRED, ECONNRESET),
	E(STATUS_FILE_SYSTEM_LIMITATION, EFBIG),
	E(STATUS_DISK_QUOTA_EXCEEDED, EDQUOT),
	E(STATUS_FILE_TOO_LARGE, EFBIG),
	E(STATUS_INVALID_SIGNATURE, EIO),
};

#undef E

size_t nt_status_table_entry(size_t idx, uint32_t *code, int *err, const char **name)
{
	size_t n = sizeof(nt_table) / sizeof(nt_table[0]);
	if (idx < n) {
		*code = nt_table[idx].code;
		*err = nt_table[idx].err;
		*name = nt_table[idx].name;
	}
	return n;
}

static int cmp_entry(const void *key, const void *elem)
{
	uint32_t k = *(const uint32_t *)key;
	uint32_t c = ((const struct nt_status_entry *)elem)->code;
	return k < c ? -1 : k > c ? 1 : 0;
}

static const struct nt_status_entry *lookup(uint32_t status)
{
	return bsearch(&status, nt_table, sizeof(nt_table) / sizeof(nt_table[0]),
		       sizeof(nt_table[0]), cmp_entry);
}

const char *nt_status_name(uint32_t status)
{
	const struct nt_status_entry *e = lookup(status);
	return e ? e->name : NULL;
}

const char *nt_status_str(uint32_t status, char *buf, unsigned buflen)
{
	const char *n = nt_status_name(status);
	if (!buf || buflen == 0)
		return n ? n : "NT status";
	if (n)
		snprintf(buf, buflen, "%s", n);
	else
		snprintf(buf, buflen, "NT status 0x%08X", (unsigned)status);
	return buf;
}

int nt_status_err(uint32_t status)
{
	const struct nt_status_entry *e = lookup(status);
	if (e)
		return -e->err;
	/* Unknown success/informational codes are not failures. */
	if ((status >> 30) < 2)
		return 0;
	return -EIO;
}

int nt_status_fail_err(uint32_t status)
{
	int e = nt_status_err(status);
	return e ? e : -EIO;
}
